// status.js — <syncore-status>: where a store stands with its server, for a PWA's header.
// Shows online/offline and syncing, the pending and failed counts, the last sync in the
// viewer's zone, a "Sync now" button, a progress bar while a sync runs over several
// batches or pages, and a panel of the failed/rejected operations with Retry and Discard.
// It reads store.status() and store.outbox() and calls sync()/retryFailed()/discard();
// it keeps no state of its own beyond what is on screen. Parts: bar, indicator, text,
// sync-button, progress, failed-button, panel, op, retry-button, discard-button.
import { h, timeElement, plural, SyncoreElement, BASE_CSS } from './shared.js';

const STYLE = `${BASE_CSS}
:host { display: inline-block; max-width: 100%; }
.bar { display: flex; align-items: center; gap: .6em; flex-wrap: wrap; }
.indicator { display: inline-flex; align-items: center; gap: .4em; font-weight: 600; font-size: .875em;
  padding: .3em .7em; border-radius: 999px; background: var(--_soft); white-space: nowrap; }
.dot { width: .6em; height: .6em; border-radius: 50%; background: var(--_ok); flex: none; }
.offline .dot { background: var(--_muted); }
.syncing .dot { background: var(--_accent); animation: pulse 1s ease-in-out infinite; }
.failed .dot { background: var(--_danger); }
@keyframes pulse { 50% { opacity: .3; } }
@media (prefers-reduced-motion: reduce) { .syncing .dot { animation: none; } }
.text { font-size: .875em; color: var(--_muted); }
.text strong { color: var(--_fg); font-weight: 600; }
.error { color: var(--_danger); }
.failed-button { color: var(--_danger); border-color: color-mix(in srgb, var(--_danger) 40%, var(--_line)); }
.progress { display: flex; align-items: center; gap: .5em; font-size: .8em; color: var(--_muted); width: 100%; }
progress { flex: 1; min-width: 6em; height: .5em; accent-color: var(--_accent); }
.panel { margin-top: .5em; border: 1px solid var(--_line); border-radius: var(--_radius); background: var(--_bg);
  padding: .75em; box-shadow: 0 6px 24px rgb(0 0 0 / .08); }
.panel h2 { font-size: 1em; margin: 0 0 .5em; }
.panel ul { list-style: none; margin: 0 0 .75em; padding: 0; }
.op { display: flex; gap: .75em; align-items: center; justify-content: space-between; padding: .5em 0;
  border-top: 1px solid var(--_line); }
.op .what { font-size: .875em; }
.op .why { display: block; color: var(--_danger); font-size: .85em; margin-top: .15em; }
@media (max-width: 480px) { .last { display: none; } .op { flex-direction: column; align-items: stretch; } }
`;

const KIND_WORD = { create: 'New', update: 'Change to', delete: 'Deletion of' };
const STATUS_WORD = { failed: 'Could not reach the server', rejected: 'Rejected by the server' };

export class SyncoreStatusElement extends SyncoreElement {
  constructor() {
    super();
    this._progress = null;     // the last 'progress' event of the running sync
    this._panelOpen = false;
    this._ops = [];            // failed and rejected ops shown in the panel
    this._opsFor = -1;         // the failed count _ops was loaded for
    this._busy = false;
    this._held = 0;            // ops held back by an unresolved conflict (from outbox())
    this._heldKey = '';
    this.shadowRoot.append(h('style', null, STYLE));
    this._root = this.shadowRoot.appendChild(h('div', { part: 'root' }));
  }

  storeEvents() {
    return [
      ['status', () => this.render()],
      ['change', () => this.render()],
      ['progress', (p) => { this._progress = p; this.render(); }],
    ];
  }

  async syncNow() {
    if (!this.store) return null;
    const result = await this.store.sync();
    this._progress = null;
    this.render();
    return result;
  }

  _status() {
    const s = this.store.status();
    if (!s.syncing) this._progress = null;
    return s;
  }

  render() {
    if (!this.store) { this._root.replaceChildren(); return; }
    const s = this._status();
    const state = s.syncing ? 'syncing' : !s.online ? 'offline' : s.failed ? 'failed' : 'online';
    const word = { syncing: 'Syncing…', offline: 'Offline', failed: 'Online', online: 'Online' }[state];
    const parts = [];
    const held = this._heldCount(s);
    if (s.pending && held === s.pending) parts.push(h('strong', null, plural(held, 'change')), ' waiting on a conflict');
    else if (s.pending) parts.push(h('strong', null, plural(s.pending, 'change')), s.online ? ' waiting to sync' : ' saved on this device');
    else if (s.failed) parts.push(h('strong', null, plural(s.failed, 'change')), ' could not sync');
    else parts.push(s.online ? 'All changes synced' : 'Everything is saved on this device');
    const last = s.lastSyncAt ? h('span', { class: 'last' }, ' · Last sync ', timeElement(s.lastSyncAt)) : null;
    const error = s.lastError && s.online && !s.syncing ? h('span', { class: 'error' }, ` · Last sync failed: ${s.lastError}`) : null;
    const bar = h('div', { class: `bar ${state}`, part: 'bar' },
      h('span', { class: 'indicator', part: 'indicator' }, h('span', { class: 'dot', 'aria-hidden': 'true' }), word),
      h('span', { class: 'text', part: 'text', role: 'status', 'aria-live': 'polite' }, ...parts, last, error),
      s.failed ? h('button', { class: 'failed-button', part: 'failed-button', 'aria-expanded': String(this._panelOpen),
        'aria-controls': 'failed-panel', 'aria-label': `Review ${plural(s.failed, 'change')} that could not sync`,
        onclick: () => this._togglePanel() }, `Review ${s.failed} failed`) : null,
      h('button', { class: 'primary', part: 'sync-button', disabled: s.syncing || !s.online,
        title: s.online ? null : 'You are offline: changes sync when the connection is back',
        onclick: () => this.syncNow() }, s.syncing ? 'Syncing…' : 'Sync now'),
    );
    const p = this._progress;
    const progress = p && s.syncing && p.total > 0 && p.done < p.total
      ? h('div', { class: 'progress', part: 'progress' },
          h('progress', { max: p.total, value: p.done, 'aria-label': 'Sync progress' }),
          `${p.phase === 'push' ? 'Sending' : 'Receiving'} ${p.done.toLocaleString()} of ${p.total.toLocaleString()}`)
      : null;
    if (!s.failed) this._panelOpen = false;
    const focused = this.shadowRoot.activeElement && this.shadowRoot.activeElement.getAttribute('part');
    this._root.replaceChildren(bar, progress || '', this._panelOpen ? this._panel() : '');
    if (this._panelOpen && !this._busy) this._loadOps(s.failed);
    if (focused) { const again = this._root.querySelector(`[part="${focused}"]`); if (again) again.focus(); }
  }

  // status() counts ops held back by a conflict as pending; the outbox tells them apart.
  _heldCount(s) {
    if (!s.conflicts || !s.pending) return 0;
    const key = `${s.pending}/${s.conflicts}`;
    if (this._heldKey !== key) {
      this._heldKey = key;
      this.store.outbox().then((ops) => {
        this._held = ops.filter((o) => o.status === 'held').length;
        if (this._heldKey === key) this.render();
      }, () => {});
    }
    return this._held || 0;
  }

  _togglePanel() {
    this._panelOpen = !this._panelOpen;
    this._opsFor = -1;
    this.render();
  }

  async _loadOps(failedCount) {
    if (this._opsFor === failedCount) return;      // loaded for this count already: no render loop
    this._busy = true;
    this._opsFor = failedCount;
    try {
      const ops = (await this.store.outbox()).filter((o) => o.status === 'failed' || o.status === 'rejected');
      for (const o of ops) {
        const record = o.kind === 'delete' ? null : await this.store.get(o.collection, o.recordId).catch(() => null);
        o.title = this.titleOf(o.collection, record, o.recordId);
      }
      this._ops = ops;
    } finally { this._busy = false; }
    this.render();
  }

  _panel() {
    const items = this._ops.map((o) => h('li', { class: 'op', part: 'op' },
      h('span', { class: 'what' }, `${KIND_WORD[o.kind] || o.kind} ${this.collectionName(o.collection).toLowerCase()} “${o.title}”`,
        h('span', { class: 'why' }, `${STATUS_WORD[o.status]}${o.lastError ? `: ${o.lastError}` : ''}`)),
      h('button', { class: 'danger', part: 'discard-button', 'aria-label': `Discard the change to “${o.title}”`,
        onclick: () => this._discard(o) }, 'Discard')));
    return h('section', { class: 'panel', part: 'panel', id: 'failed-panel', 'aria-labelledby': 'failed-title' },
      h('h2', { id: 'failed-title' }, 'Changes that could not sync'),
      h('ul', null, items),
      h('button', { class: 'primary', part: 'retry-button', onclick: () => this._retry() }, 'Retry all'));
  }

  async _retry() {
    const n = await this.store.retryFailed();
    this._ops = [];
    this._opsFor = -1;
    this.announce('syncore-retried', { count: n });
    this.render();
  }

  async _discard(op) {
    await this.store.discard(op.opId);
    this._ops = this._ops.filter((o) => o.opId !== op.opId);
    this._opsFor = -1;
    this.announce('syncore-discarded', { opId: op.opId, collection: op.collection, recordId: op.recordId });
    this.render();
  }
}
