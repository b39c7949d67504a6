// importer.js — the "Import legacy data" section: moves an EGGlogU `egglogu_data` blob
// from this origin's localStorage (or pasted text) into the store with importLegacy, once.
// "Load the sample farm" plays the old app: it writes a sample blob where EGGlogU kept it.
// A malformed blob is refused by the store with a message and changes nothing.
import { h, formatTime } from '../js-glue/ui/shared.js';
import { LEGACY_KEY, LEGACY_MAPPING, DEVICES } from './config.js';
import { LABELS } from './labels.js';
import { sampleLegacyBlob } from './sample-legacy.js';

const DONE_KEY = 'egglogu_data_imported';
let view = null;

function describeBlob(text) {
  try {
    const blob = JSON.parse(text);
    const n = (v) => (Array.isArray(v) ? v.length : 0);
    const health = n(blob.vaccines) + n(blob.medications) + n(blob.outbreaks);
    return `${n(blob.flocks)} flocks, ${n(blob.dailyProduction)} production entries, ${health} health entries`;
  } catch {
    return 'not readable as JSON';
  }
}

function summary(result) {
  const parts = Object.entries(result.imported).filter(([, n]) => n).map(([c, n]) => `${n} × ${(LABELS[c] && LABELS[c].name) || c}`);
  return h('div', { class: 'result' },
    h('p', null, h('strong', null, 'Imported: '), parts.join(', ') || 'nothing'),
    result.unmapped.length ? h('p', { class: 'muted' }, 'Not imported (this demo has no place for them): ', result.unmapped.join(', ')) : '');
}

async function runImport(app, text, out) {
  out.replaceChildren();
  try {
    const result = await app.store.importLegacy(text, LEGACY_MAPPING);
    localStorage.setItem(DONE_KEY, JSON.stringify({ at: new Date().toISOString(), device: app.device, result }));
    out.replaceChildren(summary(result));
    return true;
  } catch (e) {
    out.replaceChildren(h('p', { class: 'form-error', role: 'alert' }, `Not imported: ${e.message}. Nothing was changed.`));
    return false;
  }
}

function localCard(app) {
  const card = h('div', { class: 'card' }, h('h2', null, 'From this browser'));
  const out = h('div', { 'aria-live': 'polite' });
  const fill = () => {
    const text = localStorage.getItem(LEGACY_KEY);
    const done = JSON.parse(localStorage.getItem(DONE_KEY) || 'null');
    const body = [];
    if (!text) {
      body.push(h('p', null, `No ${LEGACY_KEY} in this browser's localStorage. Load a sample farm there, as the old EGGlogU app would have left it.`),
        h('button', { class: 'primary', onclick: () => { localStorage.setItem(LEGACY_KEY, JSON.stringify(sampleLegacyBlob())); fill(); } }, 'Load the sample farm'));
    } else {
      body.push(h('p', null, h('code', null, LEGACY_KEY), ` found: ${(text.length / 1024).toFixed(1)} KB — ${describeBlob(text)}.`));
      if (done) {
        body.push(h('p', { class: 'muted' }, `Imported ${formatTime(done.at, { withDate: true })} on ${DEVICES[done.device] || done.device}. `,
          'It is on the server now, so every device has it; importing again would overwrite later edits.'));
      } else {
        body.push(h('button', { class: 'primary', onclick: async () => { if (await runImport(app, localStorage.getItem(LEGACY_KEY), out)) fill(); } }, 'Import legacy data'));
      }
    }
    card.replaceChildren(card.firstChild, ...body, out);
  };
  fill();
  return { card, fill };
}

function pasteCard(app) {
  const area = h('textarea', { id: 'legacy-paste', rows: 5, spellcheck: 'false', placeholder: '{"flocks": [...], "dailyProduction": [...]}' });
  const out = h('div', { 'aria-live': 'polite' });
  return h('div', { class: 'card' }, h('h2', null, 'From a backup file'),
    h('label', { for: 'legacy-paste', class: 'field wide' }, h('span', null, `Paste an ${LEGACY_KEY} export`), area),
    h('div', { class: 'actions' }, h('button', { onclick: () => runImport(app, area.value, out) }, 'Import pasted data')), out);
}

export function renderImport(app) {
  if (view && view.el.isConnected) { view.fill(); return null; }
  const local = localCard(app);
  const el = h('section', { 'aria-labelledby': 'section-title' },
    h('div', { class: 'section-head' }, h('div', null, h('h1', { id: 'section-title' }, 'Import legacy data'),
      h('p', { class: 'lead' }, 'Bring in what the old EGGlogU app stored in one localStorage blob. Records keep their ids and ages, ',
        'and are queued to sync like any edit.'))),
    h('div', { class: 'cards two' }, local.card, pasteCard(app)));
  view = { el, fill: local.fill };
  return el;
}
