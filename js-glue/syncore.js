// syncore.js — the public API of SPEC §2 over the wasm core.
//
// Everything that decides (validation, merge, outbox, retry schedule, conflicts) is C
// behind core.js; this file only sequences calls, moves bodies between the core and the
// transport, and turns results into events. Persistence and cross-context coherence are
// storage.js's; when to sync is triggers.js's; Background Sync is sw.js's.

import { loadCore, SyncoreError } from './core.js';
import { openDatabase } from './storage.js';
import { createHttpTransport } from './transport.js';
import { createTriggers } from './triggers.js';
import { requestBackgroundSync, backgroundSyncMode, watchSyncFallback } from './sw.js';

export { SyncoreError, createHttpTransport };
export { handleSyncEvents } from './sw.js';

const NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;
const PULL_LIMIT = 500;
const AHEAD_PAGES = 2;   // pages a sync round fetches before it asks for them
const SYNC_DEFAULTS = { auto: true, reconnectDebounceMs: 5000, intervalMs: 1800000, batchSize: 100,
                        retrySchedule: [30, 60, 300, 900, 3600] };
const EVENTS = ['change', 'status', 'progress', 'conflict'];

let loadedCore = null;
// Loading starts at import; no top-level await (module service workers forbid it).
export const ready = loadCore().then((core) => { loadedCore = core; return core; });
ready.catch(() => {});

// SPEC §2: synchronous, so it needs the module loaded (`await ready`, or any openStore).
export function normalizeTime(value, options = {}) {
  if (!loadedCore) throw new SyncoreError('normalizeTime: the wasm module is still loading; await `ready` (or openStore) first', 'SC_CLOSED');
  if (value instanceof Date) value = value.getTime();
  if (typeof value !== 'string' && typeof value !== 'number') {
    const err = new TypeError(`normalizeTime: expected a string, a number of epoch milliseconds or a Date, not ${value === null ? 'null' : typeof value}`);
    err.code = 'SC_BAD_INPUT';
    throw err;
  }
  const offset = options.assumeOffsetMinutes || 0;
  try {
    return loadedCore.normalizeTime(value, offset);
  } catch (e) {
    const err = new RangeError(e.message);
    err.code = e.code || 'SC_BAD_INPUT';
    throw err;
  }
}

function badInput(message) {
  return new SyncoreError(message, 'SC_BAD_INPUT');
}

function checkOptions(options) {
  if (!options || typeof options !== 'object') throw badInput('openStore: options must be an object');
  if (typeof options.name !== 'string' || !NAME_RE.test(options.name)) {
    throw badInput('openStore: name must match [A-Za-z0-9_-]{1,64}');
  }
  const storage = options.storage || 'auto';
  if (!['auto', 'idb', 'opfs', 'memory'].includes(storage)) {
    throw badInput(`openStore: storage must be 'auto', 'idb', 'opfs' or 'memory', not ${JSON.stringify(storage)}`);
  }
  if (!options.collections || typeof options.collections !== 'object' || Array.isArray(options.collections)) {
    throw badInput('openStore: collections must be an object of name → CollectionConfig');
  }
  if (options.remote !== undefined && (!options.remote || (typeof options.remote.url !== 'string' && !options.remote.transport))) {
    throw badInput('openStore: remote needs a url (or a transport)');
  }
  if (options.cacheSize !== undefined && !(Number.isSafeInteger(options.cacheSize) && options.cacheSize >= 1 << 20)) {
    throw badInput('openStore: cacheSize must be a whole number of bytes, at least 1 MiB');
  }
  const sync = options.sync === undefined ? {} : options.sync;
  if (!sync || typeof sync !== 'object') throw badInput('openStore: sync must be an object');
  for (const key of ['reconnectDebounceMs', 'intervalMs']) {
    if (sync[key] !== undefined && !(Number.isFinite(sync[key]) && sync[key] >= 0)) {
      throw badInput(`openStore: sync.${key} must be a number of milliseconds ≥ 0`);
    }
  }
  return storage;
}

export async function openStore(options) {
  const storage = checkOptions(options);
  const sync = { ...SYNC_DEFAULTS, ...(options.sync || {}) };
  const config = {
    name: options.name,
    deviceId: options.deviceId ?? null,
    collections: options.collections,
    sync: { batchSize: sync.batchSize, retrySchedule: sync.retrySchedule },
  };
  const db = await openDatabase(ready, { name: options.name, storage, config, cacheBytes: options.cacheSize });   // reads the store while the module loads
  if (options.remote) watchSyncFallback();
  const store = new Store(db, options, sync);
  // status() is synchronous; on a store read on demand it answers from the last status
  // read when the module is busy or the pages it needs are not read yet: read one now.
  if (db.lazy) {
    try { store._status = await db.readAsync('status', {}); } catch (err) { await store.close().catch(() => {}); throw err; }
  }
  return store;
}

// The cursor of the page after a pulled one, when the page says there is more: a guess
// for fetching ahead, never trusted (the core parses and checks the page). A body as text
// is read at its tail, where the reference server writes {…,"cursor":…,"has_more":true,…}.
function nextCursor(body) {
  if (body && typeof body === 'object') return body.has_more === true && typeof body.cursor === 'string' ? body.cursor : null;
  if (typeof body !== 'string') return null;
  const m = /"cursor":"([0-9A-Za-z._~-]{1,200})","has_more":true[^"]*("remaining":\d+)?}\s*$/.exec(body.slice(-300));
  return m ? m[1] : null;
}

class Store {
  constructor(db, options, sync) {
    this._db = db;
    this._name = options.name;
    this._sync = sync;
    this._listeners = new Map(EVENTS.map((e) => [e, new Set()]));
    this._closed = false;
    this._running = null;       // the sync() promise while one runs
    this._again = false;        // a write arrived during a sync: run once more
    this._online = typeof navigator === 'undefined' || navigator.onLine !== false;
    this._lastStatus = null;
    this._status = null;        // the core's last status answer (status() falls back on it, see openStore)
    const remote = options.remote;
    this._transport = remote ? (remote.transport || createHttpTransport(remote)) : null;
    this._offRemote = db.onRemoteCommit((commit) => this._onOtherContext(commit));
    this._triggers = null;
    if (this._transport && sync.auto) {
      this._triggers = createTriggers({
        sync,
        transport: this._transport,
        requestSync: (reason) => this._autoSync(reason),
        nextWakeAt: async () => {
          const { at } = await this._db.readAsync('nextWakeAt', {});
          return at ? Date.parse(at) : null;
        },
        onOnlineChange: (online) => { this._online = online; this._emitStatus(); },
      });
      this._online = this._triggers.isOnline();
    }
  }

  // ---------------------------------------------------------------- plumbing

  _check() {
    if (this._closed) throw new SyncoreError(`store '${this._name}' is closed`, 'SC_CLOSED');
  }

  async _write(method, input) {
    this._check();
    const out = await this._db.call(method, input);
    this._announce(out.changed, 'local');
    if (this._transport && out.changed && out.changed.length) {
      if (this._triggers) this._triggers.onWrite();
      // Offline: let the service worker sync when the connection is back, page or no page.
      if (typeof navigator !== 'undefined' && navigator.onLine === false) requestBackgroundSync(this._name);
    }
    return out;
  }

  async _read(method, input) {
    this._check();
    return this._db.readAsync(method, input);
  }

  _emit(event, payload) {
    for (const fn of this._listeners.get(event)) {
      try { fn(payload); } catch (e) { setTimeout(() => { throw e; }); }   // a listener's bug is not ours
    }
  }

  _announce(changed, origin) {
    if (!changed || !changed.length) return;
    for (const c of changed) this._emit('change', { collection: c.collection, ids: c.ids, origin });
    this._emitStatus();
  }

  // storage.js has loaded the other context's commit when this runs.
  _onOtherContext(commit) {
    if (this._closed) return;
    for (const c of (commit && commit.changed) || []) {
      this._emit('change', { collection: c.collection, ids: c.ids, origin: 'other-context' });
    }
    this._emitStatus();
  }

  // Every write ends here: skip the core's status query when nobody listens.
  _emitStatus() {
    if (this._closed || this._listeners.get('status').size === 0) return;
    const s = this.status();
    const key = JSON.stringify(s);
    if (key === this._lastStatus) return;
    this._lastStatus = key;
    this._emit('status', s);
  }

  // ---------------------------------------------------------------- local API

  async put(collection, record) {
    return (await this._write('put', { collection, record })).record;
  }
  async patch(collection, id, fields) {
    return (await this._write('patch', { collection, id, fields })).record;
  }
  async get(collection, id) {
    return (await this._read('get', { collection, id })).record;
  }
  async delete(collection, id) {
    return (await this._write('delete', { collection, id })).deleted;
  }
  async list(collection, options = {}) {
    return (await this._read('list', { collection, ...options })).records;
  }
  async count(collection, options = {}) {
    return (await this._read('count', { collection, ...options })).count;
  }
  async conflicts() {
    return (await this._read('conflicts', {})).conflicts;
  }
  async resolve(conflictId, choice) {
    const input = typeof choice === 'string' ? { conflictId, choice } : { conflictId, merged: choice };
    if (choice === null || (typeof choice !== 'string' && typeof choice !== 'object')) {
      throw badInput("resolve: choice must be 'mine', 'theirs' or a merged record");
    }
    const out = await this._write('resolve', input);
    // 'mine' changes no record here (no `changed`), yet queues the rebased edit: sync as after a write.
    if (this._triggers) this._triggers.onWrite();
    return out.record;
  }
  async archive({ collection, recordId } = {}) {
    return (await this._read('archive', { collection, recordId })).versions;
  }
  async outbox() {
    return (await this._read('outbox', {})).ops;
  }
  async retryFailed() {
    const out = await this._write('retryFailed', {});
    if (this._triggers) this._autoSync('retry');
    return out.retried;
  }
  async discard(opId) {
    return (await this._write('discard', { opId })).discarded;
  }
  async importLegacy(blob, mapping, options = {}) {
    if (typeof blob === 'string') {
      try { blob = JSON.parse(blob); } catch (e) { throw badInput(`importLegacy: the blob is not JSON: ${e.message}`); }
    }
    const out = await this._write('importLegacy', { blob, mapping, pending: options.pending !== false });
    return { imported: out.imported, unmapped: out.unmapped };
  }

  status() {
    const online = this._triggers ? this._online : typeof navigator === 'undefined' || navigator.onLine !== false;
    const backgroundSync = backgroundSyncMode();
    if (this._closed) return { online, syncing: false, pending: 0, failed: 0, conflicts: 0, lastSyncAt: null, lastError: null, backgroundSync };
    let s;
    try {
      s = this._status = this._db.read('status', {});
    } catch (err) {   // a store read on demand, or another store's call waiting for storage
      if (!this._db.waits || !this._status) throw err;
      s = this._status;   // busy, or a page not read yet: the last answer, and a fresh one soon
      if (!this._statusSoon && !(this._statusAt > Date.now() - 50)) {
        this._statusSoon = this._db.readAsync('status', {}).then((fresh) => { this._status = fresh; this._statusAt = Date.now(); })
          .catch(() => {}).finally(() => { this._statusSoon = null; this._emitStatus(); });
      }
    }
    return { online, syncing: this._running !== null, pending: s.pending, failed: s.failed,
             conflicts: s.conflicts, lastSyncAt: s.lastSyncAt, lastError: s.lastError, backgroundSync };
  }

  on(event, fn) {
    if (!this._listeners.has(event)) throw badInput(`on: unknown event '${event}' (one of ${EVENTS.join(', ')})`);
    if (typeof fn !== 'function') throw badInput('on: the listener must be a function');
    this._listeners.get(event).add(fn);
    return () => this._listeners.get(event).delete(fn);
  }

  async close() {
    if (this._closed) return;
    if (this._running) await this._running.catch(() => {});
    this._closed = true;
    if (this._triggers) this._triggers.stop();
    this._offRemote();
    await this._db.close();
  }

  // ---------------------------------------------------------------- sync

  sync() {
    if (this._closed) return Promise.reject(new SyncoreError(`store '${this._name}' is closed`, 'SC_CLOSED'));
    return this._startSync(true);
  }

  _autoSync(reason) {
    if (this._closed || !this._transport) return;
    if (this._running) { if (['write', 'poke', 'reconnect'].includes(reason)) this._again = true; return; }
    this._startSync(false);
  }

  _startSync(force) {
    if (this._running) return this._running;
    if (!this._transport) {
      return Promise.resolve({ pulled: 0, pushed: 0, conflicts: 0, failed: 0, error: 'no remote configured' });
    }
    this._running = this._runSyncLocked(force).finally(() => {
      this._running = null;
      this._emitStatus();
      if (this._triggers) this._triggers.rearm();
      if (this._again && !this._closed) { this._again = false; this._autoSync('again'); }
    });
    this._emitStatus();
    return this._running;
  }

  // Never two syncs at once for a store, across contexts too: one Web Lock per store.
  async _runSyncLocked(force) {
    const locks = typeof navigator !== 'undefined' && navigator.locks;
    if (!locks) return this._runSync(force);
    return locks.request(`syncore-sync:${this._name}`, () => this._runSync(force));
  }

  // The round is the core's (syncStep, wasm/src/round.c): it names each request, this
  // loop makes it through the transport and hands back the answer or the failure. Steps are
  // pipelined (storage.js run): the next page is fetched and applied while IndexedDB saves
  // the one before; what a step announces is emitted once it is saved. A step whose save
  // lost to another context's commit (a write between two pages) starts the round again
  // from what is stored: the page it carried is pulled again.
  async _runSync(force) {
    for (let restart = 0; ; restart++) {
      let step = null, saved = Promise.resolve(), since;
      try {
        const call = async (input) => {
          const { value, durable, generation } = await this._db.callPipelined('syncStep', input, since);
          since = generation;
          saved = saved.then(() => durable).then(() => this._emitStep(value));
          // A failed save is met at the next step or at `await saved`, not unhandled meanwhile.
          durable.catch(() => {});
          saved.catch(() => {});
          return value;
        };
        step = await call({ start: { force, batchSize: this._sync.batchSize, pullLimit: PULL_LIMIT } });
        // Pages fetched before the round asks for them (query → answer): the next two, so the
        // fetch of a page and the reading of its body both happen while the core applies.
        const ahead = new Map();
        const fetchAhead = (query, depth) => {
          const key = JSON.stringify(query);
          let answer = ahead.get(key);
          if (!answer) ahead.set(key, answer = this._send({ kind: 'pull', query }));
          if (depth > 1) answer.then((a) => {
            const next = a.status === 200 ? nextCursor(a.body) : null;
            if (next !== null && ahead.has(key) && !this._closed) fetchAhead({ ...query, cursor: next }, depth - 1);
          });
        };
        while (step.request && !this._closed) {
          const { request } = step;
          const key = request.kind === 'pull' ? JSON.stringify(request.query) : null;
          const answer = key !== null && ahead.has(key) ? await ahead.get(key) : await this._send(request);
          if (key !== null && ahead.has(key)) ahead.delete(key); else ahead.clear();
          const cursor = request.kind === 'pull' && answer.status === 200 ? nextCursor(answer.body) : null;
          // The round most likely asks for the pages after this one next (same query, each
          // page's cursor); if it asks anything else, those answers are dropped. A pull
          // changes nothing, and the core still checks whatever it is handed.
          if (cursor !== null) fetchAhead({ ...request.query, cursor }, AHEAD_PAGES);
          step = await call({ answer });
        }
        await saved;
      } catch (e) {
        if (this._closed) return { pulled: 0, pushed: 0, conflicts: 0, failed: 0, error: e.message };
        if (e.conflict && restart < 2) continue;
        try { step = await this._db.call('syncStep', { end: { error: e.message } }); } catch { step = null; }
        return { pulled: 0, pushed: 0, conflicts: 0, failed: 0, ...(step && step.result), error: e.message };
      }
      return step.result || { pulled: 0, pushed: 0, conflicts: 0, failed: 0, error: 'store closed during sync' };
    }
  }

  // One request through the transport: the answer {status: 200, body} or the failure.
  async _send(request) {
    try {
      const body = request.kind === 'push' ? await this._transport.push(request.body)
        : await this._transport.pull(request.query);
      return { status: 200, body };
    } catch (e) {
      return { status: e.status ?? 0, retryAfter: e.retryAfter || 0, error: e.message };
    }
  }

  _emitStep(step) {
    this._announce(step.changed, 'remote');
    for (const c of step.newConflicts || []) this._emit('conflict', c);
    if (step.progress) this._emit('progress', step.progress);
  }
}
