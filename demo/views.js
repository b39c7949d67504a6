// views.js — the demo's three data sections: the flocks as cards, the daily production
// log with this week's figures, and the health log. Each render function reads the store
// and returns the section's element; app.js swaps it in whenever the store changes.
// Days ("today", "last 7 days") are the viewer's local days; stored times are UTC.
import { h, formatTime } from '../js-glue/ui/shared.js';
import { openEditor } from './editor.js';
import { flockName, formatDay } from './labels.js';

const number = (n, digits = 0) => (Number.isFinite(n) ? n.toLocaleString(undefined, { maximumFractionDigits: digits }) : '—');
const startOfLocalDay = (d = new Date()) => new Date(d.getFullYear(), d.getMonth(), d.getDate());
const daysAgo = (n) => { const d = startOfLocalDay(); d.setDate(d.getDate() - n); return d; };

function sectionHead(title, lead, ...actions) {
  return h('div', { class: 'section-head' },
    h('div', null, h('h1', { id: 'section-title' }, title), lead ? h('p', { class: 'lead' }, lead) : ''),
    h('div', { class: 'head-actions' }, actions));
}

function empty(text, action) {
  return h('div', { class: 'empty' }, h('p', null, text), action || '');
}

function actionButtons(app, collection, record, flocks, { history = false } = {}) {
  const name = record.name || `${collection} entry`;
  return h('div', { class: 'row-actions' },
    h('button', { class: 'ghost', 'aria-label': `Edit ${name}`, onclick: () => openEditor(app.store, collection, { record, flocks }) }, 'Edit'),
    history ? h('button', { class: 'ghost', 'aria-label': `History of ${name}`, onclick: () => app.showHistory(collection, record.id) }, 'History') : '',
    h('button', { class: 'ghost danger', 'aria-label': `Delete ${name}`, onclick: () => app.store.delete(collection, record.id) }, 'Delete'));
}

function sumBy(rows, since, field) {
  return rows.filter((r) => new Date(r.date) >= since).reduce((n, r) => n + (Number(r[field]) || 0), 0);
}

export async function renderFlocks(app, flocks) {
  const production = await app.store.list('dailyProduction', { orderBy: 'date', desc: true });
  const today = startOfLocalDay();
  const add = h('button', { class: 'primary', onclick: () => openEditor(app.store, 'flocks', { defaults: { hens: 0 }, flocks }) }, 'Add flock');
  const cards = flocks.map((f) => {
    const mine = production.filter((p) => p.flockId === f.id);
    const eggsToday = sumBy(mine, today, 'eggs');
    const week = sumBy(mine, daysAgo(6), 'eggs');
    const rate = f.hens ? Math.round((week / 7 / f.hens) * 100) : null;
    return h('article', { class: 'card flock', 'aria-labelledby': `flock-${f.id}` },
      h('div', { class: 'card-top' },
        h('div', null, h('h2', { id: `flock-${f.id}` }, f.name), h('p', { class: 'muted' }, [f.breed, f.house].filter(Boolean).join(' · ') || '—')),
        h('div', { class: 'hens' }, h('strong', null, number(f.hens)), h('span', null, 'hens'))),
      h('dl', { class: 'figures' },
        h('div', null, h('dt', null, 'Eggs today'), h('dd', null, number(eggsToday))),
        h('div', null, h('dt', null, 'Last 7 days'), h('dd', null, number(week))),
        h('div', null, h('dt', null, 'Lay rate'), h('dd', null, rate === null ? '—' : `${rate}%`))),
      f.housedOn ? h('p', { class: 'muted small' }, `Housed ${formatDay(f.housedOn)}`) : '',
      f.notes ? h('p', { class: 'notes' }, f.notes) : '',
      actionButtons(app, 'flocks', f, flocks));
  });
  return h('section', { 'aria-labelledby': 'section-title' },
    sectionHead('Flocks', `${flocks.length} ${flocks.length === 1 ? 'flock' : 'flocks'}, ${number(flocks.reduce((n, f) => n + (Number(f.hens) || 0), 0))} hens`, add),
    flocks.length ? h('div', { class: 'cards' }, cards)
      : empty('No flocks yet. Add your first flock, or import an EGGlogU backup.', h('a', { href: '#import', class: 'button' }, 'Import legacy data')));
}

function table(caption, columns, rows) {
  return h('div', { class: 'table-card' }, h('table', { class: 'log' },
    h('caption', { class: 'sr' }, caption),
    h('thead', null, h('tr', null, columns.map((c) => h('th', { scope: 'col', class: c.cls || null }, c.label)))),
    h('tbody', null, rows.map((r) => h('tr', null, columns.map((c) => h('td', { class: c.cls || null, 'data-label': c.label }, c.cell(r))))))));
}

export async function renderProduction(app, flocks) {
  const rows = await app.store.list('dailyProduction', { orderBy: 'date', desc: true });
  const week = daysAgo(6);
  const eggs = sumBy(rows, week, 'eggs'), broken = sumBy(rows, week, 'broken'), feed = sumBy(rows, week, 'feedKg');
  const add = h('button', { class: 'primary', disabled: !flocks.length, onclick: () => openEditor(app.store, 'dailyProduction',
    { defaults: { flockId: flocks[0] && flocks[0].id, date: new Date().toISOString(), eggs: 0, broken: 0 }, flocks }) }, 'Log production');
  const stats = h('dl', { class: 'stats' },
    h('div', null, h('dt', null, 'Eggs today'), h('dd', null, number(sumBy(rows, startOfLocalDay(), 'eggs')))),
    h('div', null, h('dt', null, 'Eggs, 7 days'), h('dd', null, number(eggs))),
    h('div', null, h('dt', null, 'Broken, 7 days'), h('dd', null, eggs ? `${number((broken / eggs) * 100, 1)}%` : '—')),
    h('div', null, h('dt', null, 'Feed, 7 days'), h('dd', null, `${number(feed, 1)} kg`)));
  const columns = [
    { label: 'Collected', cell: (r) => h('time', { datetime: r.date }, formatTime(r.date, { withDate: true })) },
    { label: 'Flock', cell: (r) => flockName(r.flockId) },
    { label: 'Eggs', cls: 'num', cell: (r) => number(r.eggs) },
    { label: 'Broken', cls: 'num', cell: (r) => number(r.broken) },
    { label: 'Feed (kg)', cls: 'num', cell: (r) => number(r.feedKg, 1) },
    { label: 'Notes', cls: 'notes', cell: (r) => r.notes || '' },
    { label: 'Actions', cls: 'actions-cell', cell: (r) => actionButtons(app, 'dailyProduction', { ...r, name: `${flockName(r.flockId)} entry` }, flocks) },
  ];
  return h('section', { 'aria-labelledby': 'section-title' },
    sectionHead('Daily production', 'Eggs collected, breakage and feed, per flock.', add), stats,
    rows.length ? table('Production log, newest first', columns, rows)
      : empty(flocks.length ? 'Nothing logged yet.' : 'Add a flock first, then log its production.'));
}

export async function renderHealth(app, flocks) {
  const rows = await app.store.list('health', { orderBy: 'date', desc: true });
  const add = h('button', { class: 'primary', disabled: !flocks.length, onclick: () => openEditor(app.store, 'health',
    { defaults: { flockId: flocks[0] && flocks[0].id, date: new Date().toISOString(), type: 'Vaccine' }, flocks }) }, 'Add health entry');
  const columns = [
    { label: 'Date', cell: (r) => h('time', { datetime: r.date }, formatTime(r.date, { withDate: true })) },
    { label: 'Flock', cell: (r) => flockName(r.flockId) },
    { label: 'Type', cell: (r) => h('span', { class: `pill ${String(r.type || 'note').toLowerCase()}` }, r.type || 'Note') },
    { label: 'Product or finding', cell: (r) => r.name || '' },
    { label: 'Notes', cls: 'notes', cell: (r) => r.notes || '' },
    { label: 'Actions', cls: 'actions-cell', cell: (r) => actionButtons(app, 'health', r, flocks, { history: true }) },
  ];
  return h('section', { 'aria-labelledby': 'section-title' },
    sectionHead('Health log', 'Vaccinations, treatments, outbreaks and check-ups. The latest edit wins; History shows what it replaced.', add),
    rows.length ? table('Health log, newest first', columns, rows) : empty('No health entries yet.'));
}
