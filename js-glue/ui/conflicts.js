// conflicts.js — <syncore-conflicts>: a badge with the number of unresolved conflicts and
// a modal dialog to resolve them. Edit-vs-edit shows both versions side by side (and the
// base where there is one) with the differing fields marked, and offers Keep mine, Keep
// theirs and Merge (a choice per differing field); delete-vs-edit is put in words, keep
// yours or accept the deletion. showArchive(collection, recordId) opens the same dialog on
// the versions of one record that lost a silent last-write-wins. Deciding is the store's:
// this element only calls conflicts(), resolve(), archive() and put().
// Parts: badge, dialog, table, actions, close-button. Events: syncore-resolved, syncore-restored.
import { h, timeElement, plural, SyncoreElement, BASE_CSS } from './shared.js';

const STYLE = `${BASE_CSS}
:host { display: inline-block; }
.badge { display: inline-flex; align-items: center; gap: .45em; font-weight: 600; color: var(--_danger);
  border-color: color-mix(in srgb, var(--_danger) 45%, var(--_line)); background: color-mix(in srgb, var(--_danger) 7%, var(--_bg)); }
.count { display: inline-grid; place-items: center; min-width: 1.5em; height: 1.5em; border-radius: 999px; padding: 0 .35em;
  background: var(--_danger); color: #fff; font-size: .85em; }
dialog { border: none; border-radius: calc(var(--_radius) * 1.4); padding: 0; width: min(44rem, calc(100vw - 1rem));
  max-height: calc(100dvh - 1rem); color: var(--_fg); background: var(--_bg); box-shadow: 0 20px 60px rgb(0 0 0 / .25); }
dialog::backdrop { background: rgb(20 28 22 / .45); }
.inner { padding: 1.1em 1.25em 1.25em; }
header { display: flex; align-items: flex-start; gap: .75em; }
header h2:focus { outline: none; }
header h2 { flex: 1; font-size: 1.15em; line-height: 1.3; margin: .1em 0 0; }
.close { border: none; font-size: 1.4em; line-height: 1; padding: .1em .45em; min-height: 0; }
.nav { display: flex; align-items: center; gap: .4em; font-size: .85em; color: var(--_muted); margin: .35em 0 0; }
.nav button { padding: .2em .6em; min-height: 2em; }
.lead { color: var(--_muted); margin: .6em 0 1em; font-size: .95em; }
.table-wrap { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; font-size: .9em; }
th, td { text-align: left; padding: .55em .6em; border-bottom: 1px solid var(--_line); vertical-align: top; overflow-wrap: anywhere; }
thead th { font-size: .8em; text-transform: uppercase; letter-spacing: .04em; color: var(--_muted); font-weight: 600; }
tbody th { font-weight: 600; width: 26%; }
tr.diff { background: color-mix(in srgb, var(--_warn) 9%, var(--_bg)); }
tr.diff th::before { content: ''; display: inline-block; width: .5em; height: .5em; border-radius: 50%; background: var(--_warn); margin-right: .45em; }
td.base, th.base { color: var(--_muted); }
.before { display: none; color: var(--_muted); font-weight: 400; font-size: .85em; margin-top: .2em; }
td.gone { color: var(--_muted); font-style: italic; }
label.pick { display: flex; gap: .45em; align-items: flex-start; cursor: pointer; }
label.pick input { margin-top: .2em; accent-color: var(--_accent); }
.actions { display: flex; flex-wrap: wrap; gap: .5em; justify-content: flex-end; margin-top: 1.1em; }
.version { border: 1px solid var(--_line); border-radius: var(--_radius); padding: .75em; margin-bottom: .75em; }
.version p { margin: 0 0 .5em; font-size: .85em; color: var(--_muted); }
.empty { color: var(--_muted); }
@media (max-width: 520px) { .base { display: none; } .before { display: block; } .actions button { flex: 1 1 auto; } }
`;

const SIDE = { mine: 'local', theirs: 'remote' };

export class SyncoreConflictsElement extends SyncoreElement {
  constructor() {
    super();
    this._conflicts = [];
    this._count = -1;
    this._view = null;          // { kind: 'conflict', index, merge, picks } | { kind: 'archive', … }
    this.shadowRoot.append(h('style', null, STYLE));
    this._badge = this.shadowRoot.appendChild(h('button', { class: 'badge', part: 'badge', 'aria-haspopup': 'dialog',
      hidden: true, onclick: () => this.open() }));
    this._dialog = this.shadowRoot.appendChild(h('dialog', { part: 'dialog', 'aria-labelledby': 'title',
      onclose: () => { this._view = null; } }));
    this._live = this.shadowRoot.appendChild(h('div', { class: 'sr', role: 'status', 'aria-live': 'polite' }));
  }

  storeEvents() {
    const check = () => { if (this.store.status().conflicts !== this._count) this.refresh(); };
    return [['conflict', () => this.refresh()], ['status', check], ['change', check]];
  }

  get count() { return Math.max(this._count, 0); }

  async refresh() {
    if (!this.store) return;
    this._conflicts = await this.store.conflicts();
    this._count = this._conflicts.length;
    this.render();
  }

  render() {
    if (!this.store) { this._badge.hidden = true; return; }
    if (this._count < 0) { this._count = 0; this.refresh(); return; }
    const n = this._count;
    this._badge.hidden = n === 0;
    this._badge.setAttribute('aria-label', `${plural(n, 'sync conflict')} to review`);
    this._badge.replaceChildren(h('span', { class: 'count', 'aria-hidden': 'true' }, String(n)), n === 1 ? 'Conflict' : 'Conflicts');
    const v = this._view;
    if (v && v.kind === 'conflict') {
      if (!n) { this.close(); return; }
      v.index = Math.min(v.index, n - 1);
      this._show(this._conflictView(this._conflicts[v.index], v));
    }
  }

  open(index = 0) {
    if (!this._conflicts.length) return;
    this._view = { kind: 'conflict', index, merge: false, picks: {} };
    this.render();
  }

  close() {
    this._view = null;
    if (this._dialog.open) this._dialog.close();
  }

  async showArchive(collection, recordId) {
    const [versions, current] = await Promise.all([this.store.archive({ collection, recordId }), this.store.get(collection, recordId)]);
    this._view = { kind: 'archive', collection, recordId };
    const title = this.titleOf(collection, current || (versions[0] && versions[0].data), recordId);
    const cards = versions.map((ver, i) => h('section', { class: 'version', 'aria-label': `Version ${i + 1}` },
      h('p', null, 'Replaced ', timeElement(ver.archivedAt), ver.updatedAt ? [' · edited ', timeElement(ver.updatedAt)] : '',
        ver.deviceId ? ` on device ${String(ver.deviceId).slice(0, 8)}` : ''),
      this._table(collection, [['Value', ver.data]], new Set()),
      h('div', { class: 'actions' }, h('button', { onclick: () => this._restore(collection, recordId, ver.data, title) },
        'Restore this version'))));
    this._show([
      this._header(`History of “${title}”`),
      h('p', { class: 'lead' }, 'Versions replaced by a newer edit from another device (the newer edit won automatically), newest first.'),
      versions.length ? cards : h('p', { class: 'empty' }, 'No version of this record has been overwritten.'),
    ]);
  }

  _show(content) {
    const focused = this.shadowRoot.activeElement;
    const key = focused && focused.dataset.key;
    this._dialog.replaceChildren(h('div', { class: 'inner' }, content));
    if (!this._dialog.open) this._dialog.showModal();
    // Keep focus on the control that was used; else on the new heading, read out first.
    const again = key && this._dialog.querySelector(`[data-key="${CSS.escape(key)}"]`);
    if (again && !again.disabled) again.focus();
    else if (focused && !this._dialog.contains(focused)) this._dialog.querySelector('h2').focus();
  }

  _header(title, nav) {
    return h('header', null, h('div', { style: 'flex:1' }, h('h2', { id: 'title', tabindex: '-1' }, title), nav || ''),
      h('button', { class: 'close', part: 'close-button', 'aria-label': 'Close', onclick: () => this.close() }, '×'));
  }

  _conflictView(c, v) {
    const what = this.collectionName(c.collection);
    const title = this.titleOf(c.collection, c.local || c.remote || c.base, c.recordId);
    const n = this._conflicts.length;
    const nav = n > 1 ? h('p', { class: 'nav' }, `Conflict ${v.index + 1} of ${n}`,
      h('button', { 'data-key': 'prev', 'aria-label': 'Previous conflict', disabled: v.index === 0, onclick: () => this._go(-1) }, '‹'),
      h('button', { 'data-key': 'next', 'aria-label': 'Next conflict', disabled: v.index === n - 1, onclick: () => this._go(1) }, '›')) : null;
    // Edit-vs-edit marks what differs between the two; a deletion leaves one side, marked where it left the base.
    const alive = c.local || c.remote;
    const diff = c.kind === 'edit-edit' ? new Set(c.fields) : new Set(c.base ? c.fields.filter((f) =>
      JSON.stringify(alive[f]) !== JSON.stringify(c.base[f])) : []);
    const btn = (label, onclick, cls) => h('button', { class: cls || null, 'data-key': label, onclick }, label);
    let heading, lead, columns, actions;
    if (c.kind === 'delete-edit') {
      heading = `${what} “${title}” was deleted on another device`;
      lead = 'You changed it on this device. Keep your version, or accept the deletion?';
      columns = [['Yours', c.local]];
      actions = [btn('Accept deletion', () => this._resolve(c, 'theirs', 'accepted the deletion'), 'danger'),
                 btn('Keep mine', () => this._resolve(c, 'mine', 'kept your version'), 'primary')];
    } else if (c.kind === 'edit-delete') {
      heading = `You deleted ${what.toLowerCase()} “${title}”, but it was changed on another device`;
      lead = 'Keep it deleted, or restore the version from the other device?';
      columns = [['Theirs', c.remote]];
      actions = [btn('Restore theirs', () => this._resolve(c, 'theirs', 'restored their version')),
                 btn('Keep deleted', () => this._resolve(c, 'mine', 'kept it deleted'), 'primary')];
    } else {
      heading = `${what} “${title}” was changed on two devices`;
      lead = v.merge ? 'Choose, for each marked field, which value to keep.'
        : `${plural(diff.size, 'field differs', 'fields differ')} between your version (this device) and theirs (another device), marked below.`;
      columns = [['Yours', c.local], ['Theirs', c.remote]];
      actions = v.merge
        ? [btn('Cancel', () => { v.merge = false; this.render(); }),
           btn('Save merged', () => this._resolve(c, this._merged(c, v.picks), 'saved the merged version'), 'primary')]
        : [btn('Merge…', () => { v.merge = true; v.picks = {}; this.render(); }),
           btn('Keep theirs', () => this._resolve(c, 'theirs', 'kept their version')),
           btn('Keep mine', () => this._resolve(c, 'mine', 'kept your version'), 'primary')];
    }
    if (c.base) columns.push(['Before', c.base, 'base']);
    return [
      this._header(heading, nav),
      h('p', { class: 'lead' }, lead),
      this._table(c.collection, columns, diff, v.merge ? v : null),
      h('div', { class: 'actions', part: 'actions' }, actions),
    ];
  }

  // columns: [[heading, record, class?]]; a differing row in merge mode gets a radio per side.
  _table(collection, columns, diff, merge) {
    const hidden = this.hiddenFields(collection);
    const fields = [];
    for (const [, rec] of columns) for (const k of Object.keys(rec || {})) if (!hidden.has(k) && !fields.includes(k)) fields.push(k);
    const known = Object.keys((this.labels[collection] && this.labels[collection].fields) || {});
    const blank = (v) => v === undefined || v === null || v === '';
    const shown = [...known.filter((k) => fields.includes(k)), ...fields.filter((k) => !known.includes(k))]   // the app's order
      .filter((f) => diff.has(f) || columns.some(([, rec]) => rec && !blank(rec[f])));                       // no all-empty rows
    const base = columns.find((col) => col[2] === 'base');
    const rows = shown.map((f) => {
      const label = this.fieldLabel(collection, f);
      const differs = diff.has(f);
      const cells = columns.map(([heading, rec, cls], i) => {
        if (!rec) return h('td', { class: `gone ${cls || ''}` }, 'deleted');
        const text = f in rec ? this.valueText(collection, f, rec[f]) : '—';
        if (!merge || !differs || cls === 'base') return h('td', { class: cls || null }, text);
        const side = i === 0 ? 'mine' : 'theirs';
        return h('td', null, h('label', { class: 'pick' },
          h('input', { type: 'radio', name: `pick-${f}`, value: side, 'data-key': `pick-${f}-${side}`,
            checked: (merge.picks[f] || 'mine') === side, 'aria-label': `${label}: use ${heading.toLowerCase()}, ${text}`,
            onchange: () => { merge.picks[f] = side; } }), h('span', null, text)));
      });
      const before = differs && base && base[1] ? h('div', { class: 'before' }, 'Before: ', this.valueText(collection, f, base[1][f])) : '';
      return h('tr', { class: differs ? 'diff' : null },
        h('th', { scope: 'row' }, label, differs ? h('span', { class: 'sr' }, ' (differs)') : '', before), cells);
    });
    return h('div', { class: 'table-wrap' }, h('table', { part: 'table' },
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Field'),
        columns.map(([heading, , cls]) => h('th', { scope: 'col', class: cls || null }, heading)))),
      h('tbody', null, rows)));
  }

  // Fields that differ take the picked side (mine unless told); the rest are the same on both.
  _merged(c, picks) {
    const merged = { id: c.recordId };
    const keys = new Set([...Object.keys(c.local || {}), ...Object.keys(c.remote || {})]);
    for (const k of keys) {
      if (k === 'id') continue;
      const from = c.fields.includes(k) ? c[SIDE[picks[k] || 'mine']] : (k in c.local ? c.local : c.remote);
      if (from && k in from) merged[k] = from[k];
    }
    return merged;
  }

  _go(step) {
    this._view.index += step;
    this._view.merge = false;
    this.render();
  }

  async _resolve(c, choice, said) {
    try {
      await this.store.resolve(c.id, choice);
    } catch (e) {
      this._live.textContent = `Could not resolve: ${e.message}`;
      return;
    }
    this._live.textContent = `Resolved: you ${said}.`;
    this.announce('syncore-resolved', { conflictId: c.id, collection: c.collection, recordId: c.recordId,
      choice: typeof choice === 'string' ? choice : 'merge' });
    if (this._view) this._view.merge = false;
    await this.refresh();
  }

  async _restore(collection, recordId, data, title) {
    await this.store.put(collection, { ...data, id: recordId });
    this._live.textContent = `Restored an earlier version of “${title}”.`;
    this.announce('syncore-restored', { collection, recordId });
    this.close();
  }
}
