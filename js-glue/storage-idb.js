// storage-idb.js — the storage layer: which backend a store lives on (a small IndexedDB
// registry), the IndexedDB persistence of the database image, the memory backend, and
// the commit protocol every persistent backend shares: run the call on the in-heap image,
// persist its dirty chunks in ONE transaction guarded by a compare-and-swap on the stored
// txId (on IndexedDB: one log record per commit, folded into the chunk store by a
// checkpoint every so many commits), resolve on `complete`, tell other contexts (docs/STORAGE.md: design, invariants,
// failure modes). OPFS persistence is storage-opfs.js; the module and calls are core.js.
//
// Internal API (for syncore.js and the tests):
//   const db = await openDatabase(core, { name, storage, config })
//                                    storage 'auto'|'idb'|'opfs'|'memory'; config = sc_open's (path/vfs added here)
//   db.backend                       the backend the store lives on
//   await db.call(method, input)     → the core's result, durable when resolved
//   db.read(method, input)           synchronous call on the image as this context last saw it
//                                    (for reads; anything it dirtied is persisted in the background)
//   await db.refresh()               load other contexts' commits now (normally done on their broadcast)
//   await db.sql(text)               raw SQL on the store's database (tests, diagnostics)
//   db.onRemoteCommit(fn) → off      fn({ changed, txId }) after another context committed
//                                    (changed = the core's `changed` list, or null if unknown)
//   await db.close()
//   await deleteStoredDatabase(name) removes a store's IndexedDB data and registry entry

import { SyncoreError, storageError } from './core.js';
import { openOpfsPersister, opfsAvailable } from './storage-opfs.js';

const NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;
const BACKENDS = ['auto', 'idb', 'opfs', 'memory'];
// Methods that normally write nothing: they skip the Web Lock (a write would still be
// persisted with the CAS). Must match the read-only methods of docs/CORE_API.md.
const READ_METHODS = new Set(['get', 'list', 'count', 'conflicts', 'archive', 'outbox', 'status',
  'normalizeTime', 'nextWakeAt', 'pullRequest']);
const VFS_NAME = 'sc-mem';   // must match VFS_MEM_NAME in wasm/src/vfs_mem.h

// ---------------------------------------------------------------- IndexedDB helpers

function request(req) {
  return new Promise((resolve, reject) => { req.onsuccess = () => resolve(req.result); req.onerror = () => reject(req.error); });
}

function idbError(what, err) {
  const name = err && err.name;
  const why = name === 'QuotaExceededError' ? 'storage quota exceeded'
    : name === 'InvalidStateError' ? 'the database was closed, deleted or upgraded by another context'
    : (err && err.message) || String(err);
  return storageError(`syncore: ${what}: ${why}`, err);
}

function openIdb(dbName, upgrade, version = 1) {
  return new Promise((resolve, reject) => {
    let settled = false, req;
    try { req = indexedDB.open(dbName, version); } catch (err) { reject(idbError(`cannot open IndexedDB ${dbName}`, err)); return; }
    req.onupgradeneeded = (event) => upgrade(req.result, event.oldVersion);
    req.onsuccess = () => { if (settled) req.result.close(); else { settled = true; resolve(req.result); } };
    req.onerror = () => { settled = true; reject(idbError(`cannot open IndexedDB ${dbName}`, req.error)); };
    req.onblocked = () => {
      if (!settled) { settled = true; reject(storageError(`syncore: IndexedDB ${dbName} is blocked by another context`)); }
    };
  });
}

// Run body(tx) in one transaction; resolves with body's value once the transaction completed.
function transact(db, stores, mode, body, what) {
  return new Promise((resolve, reject) => {
    let tx, value, failure = null;
    try { tx = db.transaction(stores, mode, mode === 'readwrite' ? { durability: 'strict' } : undefined); }
    catch (err) { reject(idbError(what, err)); return; }
    tx.oncomplete = () => resolve(value);
    tx.onabort = () => reject(failure instanceof SyncoreError ? failure : idbError(what, failure || tx.error));
    Promise.resolve().then(() => body(tx, (err) => { failure = err; tx.abort(); })).then((v) => { value = v; },
      (err) => { failure = failure || err; try { tx.abort(); } catch (_) { /* already finished */ } });
  });
}

// ---------------------------------------------------------------- registry: name → backend

let registryPromise = null;
function registry() {
  if (!registryPromise) {
    registryPromise = openIdb('syncore-registry', (db) => db.createObjectStore('stores', { keyPath: 'name' }));
    registryPromise.catch(() => { registryPromise = null; });
  }
  return registryPromise;
}

// The backend a store lives on: an existing store keeps its own; a new one gets the
// requested backend (idb for auto). Read-and-create in one transaction: no race.
async function resolveBackend(name, requested) {
  const db = await registry();
  return transact(db, ['stores'], 'readwrite', async (tx, fail) => {
    const stores = tx.objectStore('stores');
    const entry = await request(stores.get(name));
    const backend = entry ? entry.backend : requested === 'auto' ? 'idb' : requested;
    if (entry && requested !== 'auto' && requested !== backend) {
      fail(storageError(`syncore: store "${name}" was created on ${backend}, cannot open it on ${requested}`));
    } else if (!entry && backend === 'opfs' && !opfsAvailable()) {
      fail(storageError('syncore: storage "opfs" needs a dedicated worker with OPFS sync access handles'));
    } else if (!entry) {
      stores.put({ name, backend, createdAt: new Date().toISOString() });
    }
    return backend;
  }, 'cannot read the store registry');
}

// ---------------------------------------------------------------- persisters
// A persister stores one image. load() → {txId, steps}, changesSince(txId) → {txId, steps
// that bring an image at txId to the stored state}, where steps = [{size, chunks}] applied
// in order (each: resize the image to size, then write chunks = [[index, bytes]…]; OPFS and
// memory give a single {size, chunks} instead); commit(baseTxId, size, chunks, chunkSize,
// readChunk) → new txId, or a SyncoreError with .conflict = true when the stored txId is not
// baseTxId. readChunk(index) copies a chunk of the image being committed; commit() calls it
// synchronously, before its first await.

// The IndexedDB layout (docs/STORAGE.md "IndexedDB layout"): a chunk store holding the image
// as of the last checkpoint (meta.base), and a log of one record per commit after it.
const IDB_VERSION = 2;             // 1: chunks + meta only (opened and upgraded in place)
const FOLD_RECORDS = 64;           // fold the log into the chunks when it would exceed this many records
const FOLD_BYTES = 1 << 20;        // … or this many bytes (a commit this big is written as chunks directly)

const SHADOW_MAX = 1024;           // chunks remembered as last committed (4 MiB), to log deltas against
const GAP = 8;                     // unchanged bytes that end a changed range of a delta

// The ranges where `after` differs from `before` (or from zeros when before is null), as
// u32 offset, u32 length, bytes…; null when that is no smaller than after itself.
function encodeDelta(before, after) {
  const n = after.length, parts = [];
  let size = 0;
  for (let i = 0; i < n;) {
    if ((before ? before[i] : 0) === after[i]) { i++; continue; }
    let last = i;
    for (let j = i + 1; j < n && j - last <= GAP; j++) if ((before ? before[j] : 0) !== after[j]) last = j;
    parts.push(i, last + 1);
    size += 8 + last + 1 - i;
    if (size >= n) return null;
    i = last + 1;
  }
  const out = new Uint8Array(size), view = new DataView(out.buffer);
  let at = 0;
  for (let k = 0; k < parts.length; k += 2) {
    view.setUint32(at, parts[k], true);
    view.setUint32(at + 4, parts[k + 1] - parts[k], true);
    out.set(after.subarray(parts[k], parts[k + 1]), at + 8);
    at += 8 + parts[k + 1] - parts[k];
  }
  return out;
}

function applyDelta(base, delta) {
  const view = new DataView(delta.buffer, delta.byteOffset, delta.byteLength);
  for (let at = 0; at < delta.byteLength;) {
    const offset = view.getUint32(at, true), length = view.getUint32(at + 4, true);
    base.set(delta.subarray(at + 8, at + 8 + length), offset);
    at += 8 + length;
  }
  return base;
}

// One log record's data: u32 count, count × (u32 index, u32 length, u32 body length, u32 kind),
// then the bodies. kind 0: the chunk's bytes; 1: a delta on the chunk as the previous
// commit left it; 2: a delta on zeros. shadow: index → the chunk as last committed (or absent).
const RAW = 0, DELTA = 1, SPARSE = 2;
function encodeRecord(chunks, shadow) {
  const entries = chunks.map(([index, data]) => {
    const before = shadow.get(index);
    const delta = before && before.length === data.length ? encodeDelta(before, data) : null;
    if (delta) return [index, data.length, DELTA, delta];
    const sparse = encodeDelta(null, data);
    return sparse ? [index, data.length, SPARSE, sparse] : [index, data.length, RAW, data];
  });
  const head = 4 + entries.length * 16;
  const bytes = new Uint8Array(entries.reduce((n, e) => n + e[3].byteLength, head));
  const view = new DataView(bytes.buffer);
  view.setUint32(0, entries.length, true);
  let offset = head;
  entries.forEach(([index, length, kind, body], i) => {
    view.setUint32(4 + i * 16, index, true);
    view.setUint32(8 + i * 16, length, true);
    view.setUint32(12 + i * 16, body.byteLength, true);
    view.setUint32(16 + i * 16, kind, true);
    bytes.set(body, offset);
    offset += body.byteLength;
  });
  return bytes.buffer;
}

// → [[index, bytes | (current chunk bytes) → bytes]…] (a delta needs the image as replayed so far).
function decodeRecord(buffer) {
  const view = new DataView(buffer), count = view.getUint32(0, true), chunks = [];
  let offset = 4 + count * 16;
  for (let i = 0; i < count; i++) {
    const index = view.getUint32(4 + i * 16, true), length = view.getUint32(8 + i * 16, true);
    const bodyLength = view.getUint32(12 + i * 16, true), kind = view.getUint32(16 + i * 16, true);
    const body = new Uint8Array(buffer, offset, bodyLength);
    if (kind === RAW) chunks.push([index, body]);
    else if (kind === SPARSE) chunks.push([index, applyDelta(new Uint8Array(length), body)]);
    else if (kind === DELTA) {
      chunks.push([index, (current) => {
        if (current.length !== length) throw storageError(`syncore: log record does not fit chunk ${index} (${current.length} bytes, expected ${length})`);
        return applyDelta(current, body);
      }]);
    }
    else throw storageError(`syncore: unknown log record chunk kind ${kind}`);
    offset += bodyLength;
  }
  return chunks;
}

// meta as stored; a version-1 store (no log yet) is a checkpoint at its txId.
function readMeta(value) {
  const meta = value || { txId: 0, size: 0 };
  return { txId: meta.txId, size: meta.size, chunkSize: meta.chunkSize,
    base: meta.base === undefined ? meta.txId : meta.base, baseSize: meta.baseSize === undefined ? meta.size : meta.baseSize };
}

class IdbPersister {
  constructor(db, name) {
    this.db = db, this.name = name, this.closed = false;
    this.base = 0;                 // the checkpoint the image was built on (meta.base)
    this.log = new Map();          // txId → {indexes, bytes} of the log records after base this context applied
    this.shadow = new Map();       // index → the chunk as this context last committed it, while nothing else changed it
    db.onversionchange = () => { db.close(); this.closed = true; };
  }

  static async open(name) {
    const db = await openIdb(`syncore:${name}`, (d, oldVersion) => {
      if (oldVersion < 1) {
        d.createObjectStore('meta');
        d.createObjectStore('chunks').createIndex('tx', 'tx');
      }
      if (oldVersion < 2) d.createObjectStore('log');
    }, IDB_VERSION);
    return new IdbPersister(db, name);
  }

  check(what) {
    if (this.closed) throw storageError(`syncore: ${what}: the IndexedDB database of "${this.name}" was deleted or upgraded by another context`);
  }

  // Log records (key > after) as steps; remembers their chunk indexes for the next fold.
  async readLog(tx, after) {
    const log = tx.objectStore('log'), range = IDBKeyRange.lowerBound(after, true);
    const [keys, values] = await Promise.all([request(log.getAllKeys(range)), request(log.getAll(range))]);
    return keys.map((txId, i) => {
      const chunks = decodeRecord(values[i].data);
      this.log.set(txId, { indexes: chunks.map(([index]) => index), bytes: values[i].data.byteLength });
      return { size: values[i].size, chunks };
    });
  }

  // sinceTxId null: everything (chunks + the whole log). Otherwise what changed after it:
  // the log records after it, or, when a checkpoint folded some of them away meanwhile,
  // the chunks the checkpoints rewrote after it (index tx) and the log after the checkpoint.
  async read(sinceTxId) {
    this.check('cannot read the store');
    return transact(this.db, ['meta', 'chunks', 'log'], 'readonly', async (tx) => {
      const chunks = tx.objectStore('chunks');
      const meta = readMeta(await request(tx.objectStore('meta').get('meta')));
      if (meta.txId === sinceTxId) return { txId: meta.txId, chunkSize: meta.chunkSize, steps: [] };
      this.shadow.clear();           // the image changes (or is replaced): deltas restart from full chunks
      let steps;
      if (sinceTxId !== null && meta.base <= sinceTxId) {
        steps = await this.readLog(tx, sinceTxId);
      } else {
        const source = sinceTxId === null ? chunks : chunks.index('tx');
        const range = sinceTxId === null ? undefined : IDBKeyRange.lowerBound(sinceTxId, true);
        const [keys, values] = await Promise.all([request(source.getAllKeys(range)), request(source.getAll(range))]);
        this.log.clear();
        steps = [{ size: meta.baseSize, chunks: keys.map((k, i) => [k, values[i].data]) }, ...await this.readLog(tx, meta.base)];
      }
      this.base = meta.base;
      return { txId: meta.txId, chunkSize: meta.chunkSize, steps };
    }, 'cannot read the store');
  }

  load() { return this.read(null); }
  changesSince(txId) { return this.read(txId); }

  // One strict transaction: the CAS on meta, then either one log record (+ meta), or — when
  // the log would grow past FOLD_RECORDS/FOLD_BYTES — a checkpoint: every chunk changed since
  // the last one, as it is now, into the chunk store, the log emptied, meta.base = txId.
  async commit(baseTxId, size, chunks, chunkSize, readChunk) {
    this.check('cannot save');
    const txId = baseTxId + 1, base = this.base;
    let bytes = 0;
    for (const { bytes: n } of this.log.values()) bytes += n;
    const record = encodeRecord(chunks, this.shadow);
    const fold = this.log.size + 1 > FOLD_RECORDS || bytes + record.byteLength > FOLD_BYTES;
    const limit = Math.ceil(size / chunkSize);
    let folded = null;
    if (fold) {                      // copied now, before any await: the image is this commit's state
      const dirty = new Map(chunks);
      const indexes = new Set(dirty.keys());
      for (const { indexes: list } of this.log.values()) for (const i of list) indexes.add(i);
      folded = [...indexes].filter((i) => i < limit).sort((a, b) => a - b).map((i) => [i, dirty.get(i) || readChunk(i)]);
    }
    const done = transact(this.db, ['meta', 'chunks', 'log'], 'readwrite', async (tx, fail) => {
      const metaStore = tx.objectStore('meta');
      const stored = readMeta(await request(metaStore.get('meta')));
      if (stored.txId !== baseTxId || stored.base !== base) {
        const err = storageError(`syncore: another context saved "${this.name}" first (txId ${stored.txId}, expected ${baseTxId})`);
        err.conflict = true;
        fail(err);
        return;
      }
      if (fold) {
        const store = tx.objectStore('chunks');
        for (const [index, data] of folded) store.put({ tx: txId, data }, index);
        store.delete(IDBKeyRange.lowerBound(limit));
        tx.objectStore('log').delete(IDBKeyRange.upperBound(txId));
        metaStore.put({ txId, size, chunkSize, base: txId, baseSize: size }, 'meta');
      } else {
        tx.objectStore('log').put({ size, data: record }, txId);
        metaStore.put({ txId, size, chunkSize, base, baseSize: stored.baseSize }, 'meta');
      }
    }, `cannot save "${this.name}"`);
    try { await done; } catch (err) { this.shadow.clear(); throw err; }
    if (fold) { this.base = txId; this.log.clear(); } else {
      this.log.set(txId, { indexes: chunks.map(([index]) => index), bytes: record.byteLength });
    }
    if (this.shadow.size + chunks.length > SHADOW_MAX) this.shadow.clear();
    if (chunks.length <= SHADOW_MAX) for (const [index, data] of chunks) this.shadow.set(index, data);
    for (const [index, data] of this.shadow) if (index * chunkSize + data.length > size) this.shadow.delete(index);   // truncated
    return txId;
  }

  close() { this.db.close(); this.closed = true; }
}

const memoryPersister = () => ({ load: async () => ({ txId: 0, size: 0, chunks: [] }),
  changesSince: async (txId) => ({ txId, size: null, chunks: [] }), commit: async (base) => base + 1, close() {} });

// ---------------------------------------------------------------- the shared commit protocol

let imageCount = 0;
const openStorages = new Map();   // `${backend}:${name}` → Storage, shared by a context's connections

class Storage {
  constructor(core, name, backend, persister) {
    this.core = core;
    this.name = name;
    this.backend = backend;
    this.persister = persister;
    this.path = `${backend}:${name}:${++imageCount}`;   // the VFS image; unique per Storage
    this.txId = 0, this.refs = 0;
    this.generation = 0;           // bumped when the image was replaced under open handles
    this.queue = Promise.resolve();
    this.listeners = new Set();
    this.shared = backend !== 'memory';
    this.channel = null;
  }

  async load() {
    const core = this.core;
    core.deleteImage(this.path);
    this.pImage = core.image(this.path, true);
    const state = await this.persister.load(core.chunkSize);
    if (state.chunkSize && state.chunkSize !== core.chunkSize) {
      throw storageError(`syncore: "${this.name}" was stored with ${state.chunkSize}-byte chunks, this build uses ${core.chunkSize}`);
    }
    this.apply(state);
    core.clearDirty(this.pImage);
    this.txId = state.txId;
    this.generation++;
    if (this.shared && typeof BroadcastChannel === 'function') {
      this.channel = new BroadcastChannel(`syncore:${this.name}`);
      this.channel.onmessage = (event) => this.onMessage(event.data);
    }
  }

  // Write a persister's state into the image: its steps in order, or one {size, chunks}.
  // A chunk given as a function is a delta: it maps the chunk as replayed so far to its new bytes.
  apply(state) {
    for (const step of state.steps || [state]) {
      const chunks = step.chunks.map(([index, data]) => [index, typeof data === 'function' ? data(this.readChunk(index)) : data]);
      this.core.loadImage(this.pImage, step.size, chunks);
    }
  }

  // A copy of chunk index of the image as it is now (a persister's checkpoint).
  readChunk(index) {
    const core = this.core, size = core.imageSize(this.pImage), offset = index * core.chunkSize;
    const base = core.m._sc_vfs_data(this.pImage) >>> 0;
    return core.heap.slice(base + offset, base + Math.min(size, offset + core.chunkSize));
  }

  serialize(task) {
    const run = this.queue.then(task);
    this.queue = run.catch(() => {});
    return run;
  }

  // Bring the image up to the stored state (other contexts' commits).
  async refresh() {
    const state = await this.persister.changesSince(this.txId);
    if (state.txId === this.txId) return false;
    if (this.core.dirtyCount(this.pImage) > 0) { await this.discard(); return true; }   // never mix images
    this.apply(state);
    this.core.clearDirty(this.pImage);
    this.txId = state.txId;
    return true;
  }

  onMessage(message) {
    if (!message || message.txId === undefined) return;
    this.serialize(async () => {
      if (message.txId > this.txId) await this.refresh();
      for (const fn of this.listeners) {
        try { fn({ changed: message.changed || null, txId: message.txId }); } catch (err) { setTimeout(() => { throw err; }); }
      }
    }).catch(() => { /* the next write refreshes again */ });
  }

  // Run fn() (synchronous core work) on a fresh image and persist what it dirtied.
  // Resolves with fn's value once durable; fn's own error is rethrown after persisting.
  run(fn, { write = true, changedOf = null } = {}) {
    return this.serialize(() => {
      if (write && this.shared && typeof navigator !== 'undefined' && navigator.locks) {
        return navigator.locks.request(`syncore:${this.name}`, () => this.attempt(fn, changedOf, true));
      }
      return this.attempt(fn, changedOf, false);
    });
  }

  async attempt(fn, changedOf, locked) {
    const core = this.core;
    this.checkUsable();
    for (let tries = 0; ; tries++) {
      if (locked || tries > 0) await this.refresh();
      let value, error = null;
      try { value = fn(); } catch (err) { error = err; }
      if (core.lockLevel(this.pImage) !== 0) {
        throw new SyncoreError('syncore: a call left a transaction open; nothing was saved', 'SC_INTERNAL', { cause: error });
      }
      const chunks = core.dirtyChunks(this.pImage);
      if (chunks.length === 0) { if (error) throw error; return value; }
      core.clearDirty(this.pImage);   // copies taken: what a sync read dirties meanwhile stays marked
      try {
        this.txId = await this.persister.commit(this.txId, core.imageSize(this.pImage), chunks, core.chunkSize,
          (index) => this.readChunk(index));
      } catch (err) {
        try { await this.discard(); } catch (reloadErr) { this.broken = reloadErr; throw reloadErr; }
        if (err.conflict && tries < 3) continue;
        throw err instanceof SyncoreError ? err : storageError(`syncore: cannot save "${this.name}"`, err);
      }
      if (this.channel) this.channel.postMessage({ txId: this.txId, changed: changedOf ? changedOf(value) : null });
      if (error) throw error;
      return value;
    }
  }

  // After a failed persist that could not even reload, the image holds unsaved data: refuse.
  checkUsable() {
    if (this.broken) throw storageError(`syncore: "${this.name}" could not be reloaded after a failed save; reopen it`, this.broken);
  }

  // The image is ahead of storage after a failed persist: reload it whole; handles reopen.
  async discard() {
    const core = this.core;
    const state = await this.persister.load(core.chunkSize);
    this.apply(state);
    core.clearDirty(this.pImage);
    this.txId = state.txId;
    this.generation++;
  }

  onRemoteCommit(fn) { this.listeners.add(fn); return () => this.listeners.delete(fn); }

  async release() {
    if (--this.refs > 0) return;
    const key = `${this.backend}:${this.name}`;
    if (openStorages.get(key) === this.entry) openStorages.delete(key);
    await this.queue;
    if (this.channel) this.channel.close();
    this.persister.close();
    this.core.deleteImage(this.path);
  }
}

// The Storage of a store in this context (shared by its connections).
export async function openStorage(core, { name, storage = 'auto' }) {
  if (typeof name !== 'string' || !NAME_RE.test(name)) throw new SyncoreError('syncore: name must match [A-Za-z0-9_-]{1,64}', 'SC_BAD_INPUT');
  if (!BACKENDS.includes(storage)) throw new SyncoreError(`syncore: storage must be one of ${BACKENDS.join(', ')}`, 'SC_BAD_INPUT');
  if (storage === 'memory') {
    const s = new Storage(core, name, 'memory', memoryPersister());
    await s.load();
    s.refs = 1;
    return s;
  }
  if (typeof indexedDB === 'undefined') throw storageError('syncore: IndexedDB is not available in this context');
  const backend = await resolveBackend(name, storage);
  const key = `${backend}:${name}`;
  const cached = openStorages.get(key);
  if (cached && (await cached.catch(() => null))?.persister.closed) openStorages.delete(key);   // its database went away
  if (!openStorages.has(key)) {
    const opening = (async () => {
      const persister = backend === 'opfs' ? await openOpfsPersister(name) : await IdbPersister.open(name);
      const s = new Storage(core, name, backend, persister);
      try { await s.load(); } catch (err) { persister.close(); throw err; }
      return s;
    })();
    openStorages.set(key, opening);
    opening.catch(() => openStorages.delete(key));
  }
  const s = await openStorages.get(key);
  s.entry = openStorages.get(key);
  s.refs++;
  return s;
}

class Database {
  constructor(core, storage, config) {
    this.core = core;
    this.storage = storage;
    this.backend = storage.backend;
    this.config = { ...config, path: storage.path, vfs: VFS_NAME };
    this.pStore = 0, this.generation = -1, this.closed = false;
  }

  // Open (or reopen after the image was replaced) the core's handle. Inside run().
  ensureOpen() {
    if (this.closed) throw new SyncoreError('syncore: the store is closed', 'SC_CLOSED');
    if (this.pStore && this.generation === this.storage.generation) return;
    if (this.pStore) { this.core.close(this.pStore); this.pStore = 0; }
    this.pStore = this.core.open(this.config);
    this.generation = this.storage.generation;
  }

  call(method, input) {
    return this.storage.run(() => { this.ensureOpen(); return this.core.call(this.pStore, method, input); },
      { write: !READ_METHODS.has(method), changedOf: (result) => (result && result.changed) || null });
  }

  read(method, input) {
    this.storage.checkUsable();
    this.ensureOpen();
    const value = this.core.call(this.pStore, method, input);
    if (this.core.dirtyCount(this.storage.pImage) > 0) this.storage.run(() => undefined).catch(() => {});
    return value;
  }

  refresh() { return this.storage.serialize(() => this.storage.refresh()); }

  sql(text) {
    const readOnly = /^\s*(select|pragma\s+(integrity_check|quick_check|page_count|user_version\s*;?\s*$))/i.test(text);
    return this.storage.run(() => {
      if (this.closed) throw new SyncoreError('syncore: the store is closed', 'SC_CLOSED');
      const pDb = this.core.sqlOpen(this.storage.path);
      try { return this.core.sql(pDb, text); } finally { this.core.sqlClose(pDb); }
    }, { write: !readOnly });
  }

  onRemoteCommit(fn) { return this.storage.onRemoteCommit(fn); }

  async close() {
    if (this.closed) return;
    await this.storage.run(() => {
      this.closed = true;
      if (this.pStore) this.core.close(this.pStore);
      this.pStore = 0;
    }, { write: false });
    await this.storage.release();
  }
}

export async function openDatabase(core, { name, storage = 'auto', config = {} }) {
  const s = await openStorage(core, { name, storage });
  const db = new Database(core, s, { ...config, name });
  if (core.hasCore) {
    try { await s.run(() => db.ensureOpen()); } catch (err) { await s.release(); throw err; }
  }
  return db;
}

// Remove a store's IndexedDB data and its registry entry (tests, "delete my data").
export async function deleteStoredDatabase(name) {
  await request(indexedDB.deleteDatabase(`syncore:${name}`));
  const db = await registry();
  await transact(db, ['stores'], 'readwrite', (tx) => { tx.objectStore('stores').delete(name); }, 'cannot update the registry');
}
