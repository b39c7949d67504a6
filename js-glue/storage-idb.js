// storage-idb.js — the IndexedDB persister: one store's database image kept in IndexedDB
// as a chunk store (the image as of the last checkpoint) plus a log of one record per
// commit after it, each commit ONE readwrite transaction with durability 'strict' guarded
// by a compare-and-swap on the stored txId (docs/STORAGE.md "IndexedDB layout"). When to
// commit, locks and other contexts are storage.js's; this file only keeps bytes.

import { SyncoreError, storageError } from './core.js';

// ---------------------------------------------------------------- IndexedDB helpers

export function request(req) {
  return new Promise((resolve, reject) => { req.onsuccess = () => resolve(req.result); req.onerror = () => reject(req.error); });
}

function idbError(what, err) {
  const name = err && err.name;
  const why = name === 'QuotaExceededError' ? 'storage quota exceeded'
    : name === 'InvalidStateError' ? 'the database was closed, deleted or upgraded by another context'
    : (err && err.message) || String(err);
  return storageError(`syncore: ${what}: ${why}`, err);
}

export function openIdb(dbName, upgrade, version = 1) {
  return new Promise((resolve, reject) => {
    let settled = false, req;
    try { req = indexedDB.open(dbName, version); } catch (err) { reject(idbError(`cannot open IndexedDB ${dbName}`, err)); return; }
    req.onupgradeneeded = (event) => upgrade(req.result, event.oldVersion, req.transaction);
    req.onsuccess = () => { if (settled) req.result.close(); else { settled = true; resolve(req.result); } };
    req.onerror = () => { settled = true; reject(idbError(`cannot open IndexedDB ${dbName}`, req.error)); };
    req.onblocked = () => {
      if (!settled) { settled = true; reject(storageError(`syncore: IndexedDB ${dbName} is blocked by another context`)); }
    };
  });
}

// Run body(tx) in one transaction (or in `started`, one already open); resolves with body's
// value once the transaction completed.
export function transact(db, stores, mode, body, what, started = null) {
  return new Promise((resolve, reject) => {
    let tx = started, value, failure = null;
    if (!tx) {
      try { tx = db.transaction(stores, mode, mode === 'readwrite' ? { durability: 'strict' } : undefined); }
      catch (err) { reject(idbError(what, err)); return; }
    }
    tx.oncomplete = () => resolve(value);
    tx.onabort = () => reject(failure instanceof SyncoreError ? failure : idbError(what, failure || tx.error));
    Promise.resolve().then(() => body(tx, (err) => { failure = err; tx.abort(); })).then((v) => { value = v; },
      (err) => { failure = failure || err; try { tx.abort(); } catch (_) { /* already finished */ } });
  });
}

// ---------------------------------------------------------------- persisters
// A persister stores one image. load() → {txId, steps}, changesSince(txId) → {txId, steps
// that bring an image at txId to the stored state}, where steps = [{size, chunks}] applied
// in order (each: resize the image to size, then write chunks = [[index, bytes]…]; OPFS and
// memory give a single {size, chunks} instead); commit(baseTxId, size, changes, chunkSize)
// → new txId, or a SyncoreError with .conflict = true when the stored txId is not baseTxId;
// changes is what the persister's `wants` names (storage.js). The IndexedDB persister also
// has foldDue(size), checkpoint(txId, size, chunkSize, readBytes) — readBytes(offset, end)
// copies a range of the image, called synchronously — and flush().

// The IndexedDB layout (docs/STORAGE.md "IndexedDB: log and checkpoints"): a group store
// holding the image as of the last checkpoint (meta.base) in values of GROUP_CHUNKS chunks,
// and a log of one record per commit after it.
const IDB_VERSION = 3;             // 1: chunks + meta; 2: + log; 3: groups (copy-on-write) instead of chunks (upgraded in place)
const GROUP_CHUNKS = 64;           // chunks per group value (256 KiB with 4 KiB chunks)
const FOLD_RECORDS = 128;          // fold the log into the groups when it would exceed this many records
const FOLD_BYTES = 1 << 20;        // … or this many bytes, or a quarter of the image if that is more
const FOLD_BATCH = 16;             // groups per transaction of a lazy image's checkpoint (4 MiB)
const LAZY_MIN_BYTES = 64 << 20;   // a store this large when opened is read on demand (where the module can wait)
const HOT_MAX = 64;                // most groups (16 MiB) an open of a lazy store reads ahead from meta.hot
const LAZY_LOG_BYTES = 64 << 20;   // a lazy image folds past a quarter of this when idle, past all of it at once

function applyDelta(base, delta) {
  const view = new DataView(delta.buffer, delta.byteOffset, delta.byteLength);
  for (let at = 0; at < delta.byteLength;) {
    const offset = view.getUint32(at, true), length = view.getUint32(at + 4, true);
    base.set(delta.subarray(at + 8, at + 8 + length), offset);
    at += 8 + length;
  }
  return base;
}

// One log record's data (encoded by the core, wasm/src/vfs_mem.h vfs_mem_image_encode):
// u32 count, count × (u32 index, u32 length, u32 body length, u32 kind), then the bodies.
// kind 0: the chunk's bytes; 1: a delta on the chunk as the previous commit left it; 2: a
// delta on zeros; a delta is ranges of u32 offset, u32 length, bytes.
const RAW = 0, DELTA = 1, SPARSE = 2;
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

// meta as stored: {txId, size, chunkSize, base, baseSize, groups}; groups[g] is the
// checkpoint that wrote group g, its value's key being [g, groups[g]]. Stores of the earlier
// layouts are upgraded before this reads them (migrateChunks).
function readMeta(value) {
  const meta = value || { txId: 0, size: 0 };
  return { txId: meta.txId, size: meta.size, chunkSize: meta.chunkSize, base: meta.base || 0, baseSize: meta.baseSize || 0,
    groups: meta.groups || [], hot: meta.hot || [] };
}

// Whether a store is opened quickly (storage.js "quick open"): the last connection to close
// it named the groups an open and its first status() read (meta.hot), at most HOT_MAX of
// them and at most half of the image (past that, reading it whole in one go costs about the same).
function quick(meta) {
  const groups = Math.ceil(meta.size / (GROUP_CHUNKS * (meta.chunkSize || 1)));
  return meta.hot.length > 0 && meta.hot.length <= HOT_MAX && meta.hot.length * 2 <= groups;
}

// Version 1 or 2 → 3, inside the upgrade transaction: the chunk store becomes groups of
// GROUP_CHUNKS chunks, each keyed [g, base] (version 1's meta had no base: its txId is one),
// then is deleted; meta gains the group map. The log (version 2) is kept as it is.
function migrateChunks(tx) {
  const chunks = tx.objectStore('chunks'), groups = tx.objectStore('groups'), metaStore = tx.objectStore('meta');
  const meta = metaStore.get('meta'), keys = chunks.getAllKeys(), values = chunks.getAll();
  values.onsuccess = () => {
    const old = meta.result;
    tx.db.deleteObjectStore('chunks');
    if (!old) return;
    const chunkSize = old.chunkSize, base = old.base === undefined ? old.txId : old.base;
    const baseSize = old.baseSize === undefined ? old.size : old.baseSize;
    const count = Math.ceil(baseSize / (GROUP_CHUNKS * chunkSize));
    const datas = Array.from({ length: count }, (_, g) => new Uint8Array(Math.min(baseSize - g * GROUP_CHUNKS * chunkSize, GROUP_CHUNKS * chunkSize)));
    keys.result.forEach((index, i) => {
      const g = Math.floor(index / GROUP_CHUNKS);
      if (g < count) datas[g].set(new Uint8Array(values.result[i].data).subarray(0, datas[g].length - (index % GROUP_CHUNKS) * chunkSize), (index % GROUP_CHUNKS) * chunkSize);
    });
    datas.forEach((data, g) => groups.put(data.buffer, [g, base]));
    metaStore.put({ txId: old.txId, size: old.size, chunkSize, base, baseSize, groups: datas.map(() => base) }, 'meta');
  };
}

function sameList(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// A log record as this context keeps it: the chunk indexes it wrote and its size in bytes
// (for checkpoints); for a lazy image also the image size it left and its chunks by group
// (group → [[index, bytes | delta]…], for rebuilding groups: fetchGroups).
function logEntry(lazy, size, data, chunks) {
  const entry = { indexes: chunks.map(([index]) => index), bytes: data.byteLength };
  if (lazy) {
    entry.size = size;
    entry.byGroup = new Map();
    for (const chunk of chunks) {
      const g = Math.floor(chunk[0] / GROUP_CHUNKS);
      if (!entry.byGroup.has(g)) entry.byGroup.set(g, []);
      entry.byGroup.get(g).push(chunk);
    }
  }
  return entry;
}

// The error of a group fetch that cannot rebuild the state the image is at: another
// context checkpointed past it. The call is re-run on a reloaded image (storage.js).
function staleError(name, g) {
  const err = storageError(`syncore: "${name}" moved on while group ${g} was read; reloading`);
  err.stale = true;
  return err;
}

export class IdbPersister {
  // lazy: load() reads meta and the log only; the image's groups are read on demand
  // (fetchGroups, for a lazy image, storage.js) — where the module can wait (JSPI).
  constructor(db, name, lazy = false, lazyMinBytes = LAZY_MIN_BYTES) {
    this.db = db, this.name = name, this.closed = false;
    this.lazy = lazy;              // the module can wait for a group (JSPI)
    this.lazyImage = false;        // … and this store is read on demand (lazyMinBytes; once so, for good)
    this.lazyMinBytes = lazyMinBytes;
    this.wants = 'record';         // commit() takes the core's record of what changed
    this.base = 0;                 // the checkpoint the image was built on (meta.base), as this context last knew it
    this.meta = readMeta(null);    // meta as this context last read or wrote it (a commit's guess of base and groups)
    this.log = new Map();          // txId → logEntry() of the log records after base this context applied
    this.folding = null;           // the checkpoint being written in the background, if any
    this.foldAt = 0;               // after a failed checkpoint: the log size to wait for before the next try
    db.onversionchange = () => { db.close(); this.closed = true; };
  }

  // (persister.created: this open made the database, which did not exist before)
  static async open(name, { lazy = false, lazyMinBytes } = {}) {
    let created = false;
    const db = await openIdb(`syncore:${name}`, (d, oldVersion, tx) => {
      created = oldVersion === 0;
      if (oldVersion < 1) d.createObjectStore('meta');
      if (oldVersion < 2) d.createObjectStore('log');
      d.createObjectStore('groups');
      if (oldVersion >= 1) migrateChunks(tx);
    }, IDB_VERSION);
    const persister = new IdbPersister(db, name, lazy, lazyMinBytes);
    persister.created = created;
    return persister;
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
      this.log.set(txId, logEntry(this.lazyImage, values[i].size, values[i].data, chunks));
      return { size: values[i].size, chunks };
    });
  }

  // sinceTxId null: everything (the groups of meta + the whole log). Otherwise what changed
  // after it: the log records after it, or, when a checkpoint folded some of them away
  // meanwhile, the groups checkpoints wrote after it and the log after the checkpoint.
  async read(sinceTxId) {
    this.check('cannot read the store');
    return transact(this.db, ['meta', 'groups', 'log'], 'readonly', async (tx) => {
      const store = tx.objectStore('groups');
      const meta = readMeta(await request(tx.objectStore('meta').get('meta')));
      this.meta = meta;
      if (meta.txId === sinceTxId) return { txId: meta.txId, chunkSize: meta.chunkSize, steps: [] };
      let steps;
      if (sinceTxId !== null && meta.base <= sinceTxId) {
        steps = await this.readLog(tx, sinceTxId);
      } else if (this.lazy && (this.lazyImage || (sinceTxId === null && (meta.size >= this.lazyMinBytes || quick(meta))))) {
        // The image starts over with every group absent: only the log is read (kept, for
        // rebuilding groups); a group is read when SQLite first needs it (fetchGroups).
        // An open (not a refresh) also reads, in this transaction, the groups the store's last
        // close found an open and its first status() read (meta.hot), so its first calls wait
        // for no fetch. A quick open (a store below lazyMinBytes: quick()) then has storage.js
        // read the rest in the background, the image whole again after.
        const fill = !this.lazyImage && meta.size < this.lazyMinBytes;
        this.lazyImage = true;
        this.log.clear();
        const groupBytes = GROUP_CHUNKS * meta.chunkSize;
        const wanted = sinceTxId === null && meta.hot.length <= HOT_MAX ? meta.hot.filter((g) => g * groupBytes < meta.size) : [];
        const values = Promise.all(wanted.map((g) => g * groupBytes < meta.baseSize ? request(store.get([g, meta.groups[g]])) : null));
        await this.readLog(tx, meta.base);   // (the hot groups are read meanwhile)
        this.base = meta.base;
        const after = this.logUpTo(meta.txId);
        const hot = (await values).map((value, i) => [wanted[i], this.rebuild(wanted[i], value, meta, after, meta.chunkSize)]);
        return { txId: meta.txId, chunkSize: meta.chunkSize, lazy: { size: meta.size, fill }, hot, steps: [] };
      } else {
        const wanted = meta.groups.map((v, g) => [g, v]).filter(([, v]) => sinceTxId === null || v > sinceTxId);
        const values = await Promise.all(wanted.map((key) => request(store.get(key))));
        const missing = values.findIndex((v) => !(v instanceof ArrayBuffer));
        if (missing >= 0) throw storageError(`syncore: "${this.name}" is damaged: group ${wanted[missing][0]} of checkpoint ${meta.base} is missing`);
        this.log.clear();
        const chunks = wanted.map(([g], i) => [g * GROUP_CHUNKS, new Uint8Array(values[i])]);   // a group fills its chunks
        steps = [{ size: meta.baseSize, chunks }, ...await this.readLog(tx, meta.base)];
      }
      this.base = meta.base;
      return { txId: meta.txId, chunkSize: meta.chunkSize, steps };
    }, 'cannot read the store');
  }

  load() { return this.read(null); }
  changesSince(txId) { return this.read(txId); }

  // Groups' bytes as of state txId (the image's), for a lazy image, in one readonly
  // transaction → Map g → bytes: the group value meta names (zeros past the checkpoint's
  // size) + the log records after it, replayed as a load does (cut at each record's size, its
  // chunks of g written). Invariant 8 (docs/STORAGE.md): no record between that value and
  // base touched g, and every one after base up to txId is in this.log. A value newer
  // than txId means another context checkpointed past this state: staleError.
  async fetchGroups(wanted, txId, chunkSize) {
    this.check('cannot read the store');
    const groupBytes = GROUP_CHUNKS * chunkSize;
    return transact(this.db, ['meta', 'groups'], 'readonly', async (tx) => {
      const meta = readMeta(await request(tx.objectStore('meta').get('meta')));
      const after = this.logUpTo(txId);
      const one = async (g) => {
        const stored = g * groupBytes < meta.baseSize, from = stored ? meta.groups[g] : meta.base;
        if (from === undefined || from > txId) throw staleError(this.name, g);
        return [g, this.rebuild(g, stored ? await request(tx.objectStore('groups').get([g, from])) : null, meta, after, chunkSize)];
      };
      return new Map(await Promise.all(wanted.map(one)));
    }, 'cannot read the store');
  }

  // The log records this context keeps, up to txId, in order: [[txId, entry]…].
  logUpTo(txId) {
    return [...this.log.keys()].filter((t) => t <= txId).sort((a, b) => a - b).map((t) => [t, this.log.get(t)]);
  }

  // Group g's bytes: the value of the checkpoint meta names for it (null for a group past
  // the checkpoint's size: zeros), then the records of `after` past that checkpoint replayed.
  rebuild(g, value, meta, after, chunkSize) {
    const groupBytes = GROUP_CHUNKS * chunkSize, start = g * groupBytes, stored = start < meta.baseSize;
    const from = stored ? meta.groups[g] : meta.base, bytes = new Uint8Array(groupBytes);
    if (stored) {
      if (!(value instanceof ArrayBuffer)) throw storageError(`syncore: "${this.name}" is damaged: group ${g} of checkpoint ${from} is missing`);
      bytes.set(new Uint8Array(value, 0, Math.min(value.byteLength, groupBytes)));
    }
    for (const [t, { size, byGroup }] of after) {
      if (t <= from) continue;
      if (size < start + groupBytes) bytes.fill(0, Math.max(0, size - start));
      for (const [index, body] of byGroup.get(g) || []) {
        const offset = index * chunkSize - start;
        if (index * chunkSize >= size) continue;
        const length = Math.min(chunkSize, size - index * chunkSize);
        if (typeof body === 'function') body(bytes.subarray(offset, offset + length));
        else bytes.set(body.subarray(0, length), offset);
      }
    }
    return bytes;
  }

  // The groups a checkpoint of an image of size bytes writes: those the log touched.
  foldGroups(size, chunkSize) {
    const limit = Math.ceil(size / (GROUP_CHUNKS * chunkSize)), touched = new Set();
    for (const { indexes } of this.log.values()) for (const i of indexes) touched.add(Math.floor(i / GROUP_CHUNKS));
    return [...touched].filter((g) => g < limit).sort((a, b) => a - b);
  }

  // How much the log asks for a checkpoint: 'now' past 4 × FOLD_RECORDS records or
  // max(4 × FOLD_BYTES, the image's size) bytes; 'idle' past FOLD_RECORDS or max(FOLD_BYTES,
  // a quarter of the image) — storage.js then folds once the store has been idle a moment,
  // so a burst of commits (a long pull) is not slowed by checkpoints; null otherwise.
  foldDue(size) {
    if (this.folding || this.log.size < this.foldAt) return null;
    let bytes = 0;
    for (const { bytes: n } of this.log.values()) bytes += n;
    // A lazy image keeps the log's records in memory (and reads them all at open): its
    // thresholds stop growing with the image at LAZY_LOG_BYTES.
    const image = this.lazyImage ? Math.min(size, LAZY_LOG_BYTES) : size;
    if (this.log.size > 4 * FOLD_RECORDS || bytes > Math.max(4 * FOLD_BYTES, image)) return 'now';
    return this.log.size > FOLD_RECORDS || bytes > Math.max(FOLD_BYTES, image / 4) ? 'idle' : null;
  }

  // A checkpoint of the image as it is now — state txId, every log record up to it known to
  // this context — written in the background: the groups the log touched are copied now.
  // hot: the groups an open and its first status() read in this state (meta.hot, for a quick
  // open), or null to keep what meta says.
  checkpoint(txId, size, chunkSize, readBytes, hot = null) {
    if (this.folding) return;
    const groupBytes = GROUP_CHUNKS * chunkSize, limit = Math.ceil(size / groupBytes);
    const groups = this.foldGroups(size, chunkSize).map((g) => [g, readBytes(g * groupBytes, Math.min(size, (g + 1) * groupBytes))]);
    this.background(this.fold({ txId, size, base: this.base, limit, groups, hot }));
  }

  // A checkpoint being written: none other starts meanwhile; a failed one leaves the log
  // whole and is tried again 16 commits on.
  background(folding) {
    this.folding = folding.then(() => { this.foldAt = 0; }, () => { this.foldAt = this.log.size + 16; })
      .finally(() => { this.folding = null; });
  }

  // A lazy image's checkpoint at txId, made from storage alone: each group the log touched,
  // rebuilt as of txId (fetchGroups: its value + the records up to txId), FOLD_BATCH groups
  // per transaction, so neither the image nor memory needs the whole store; then meta moves
  // as in fold(). A checkpoint another context made past txId makes it stale: dropped.
  checkpointFromStorage(txId, size, chunkSize) {
    if (this.folding) return;
    const groupBytes = GROUP_CHUNKS * chunkSize, limit = Math.ceil(size / groupBytes), base = this.base;
    const groups = this.foldGroups(size, chunkSize);
    this.background((async () => {
      for (let i = 0; i < groups.length; i += FOLD_BATCH) {
        const batch = groups.slice(i, i + FOLD_BATCH);
        const bytes = await this.fetchGroups(batch, txId, chunkSize);
        await transact(this.db, ['groups'], 'readwrite', (tx) => {
          for (const g of batch) tx.objectStore('groups').put(bytes.get(g).slice(0, Math.min(groupBytes, size - g * groupBytes)).buffer, [g, txId]);
        }, `cannot checkpoint "${this.name}"`);
      }
      await this.nameCheckpoint({ txId, size, base, limit, groups });
    })());
  }

  // The checkpoint being written, if any (close waits for it).
  flush() { return this.folding || Promise.resolve(); }

  // One strict transaction: the CAS on meta's txId, one log record, meta. Its three requests
  // go out at once, meta's new value guessed from what this context last knew of the
  // checkpoint (base, baseSize, groups): when the stored meta arrives — before the
  // transaction can commit — a txId other than baseTxId aborts it (the record and meta put
  // with it), and a checkpoint this context had not heard of is written over the guess.
  // Checkpoints are storage.js's to start (foldDue, checkpoint).
  // A commit's transaction begun before the call it will save runs, so IndexedDB sets it up
  // and reads meta while the core works: commit(…, early) writes in it while it is still
  // open; release() aborts it when the call saved nothing (else it ends by itself, unused).
  begin() {
    if (this.closed) return null;
    let tx;
    try { tx = this.db.transaction(['meta', 'log'], 'readwrite', { durability: 'strict' }); } catch { return null; }
    const early = { tx, read: tx.objectStore('meta').get('meta'), used: false, over: false };
    tx.oncomplete = tx.onabort = () => { early.over = true; };
    early.release = () => { if (!early.used && !early.over) { try { tx.abort(); } catch { /* finished */ } } };
    return early;
  }

  async commit(baseTxId, size, { record, indexes }, chunkSize, early = null) {
    this.check('cannot save');
    const txId = baseTxId + 1, known = this.meta, entry = { size, data: record };
    let written = { txId, size, chunkSize, base: known.base, baseSize: known.baseSize, groups: known.groups, hot: known.hot };
    let started = null, read = null;
    if (early && !early.over && early.read.readyState === 'pending') {   // still open (a put would throw if not)
      try { early.tx.objectStore('log').put(entry, txId); started = early.tx; read = early.read; early.used = true; } catch { /* closed */ }
    }
    await transact(this.db, ['meta', 'log'], 'readwrite', (tx, fail) => {
      const metaStore = tx.objectStore('meta');
      if (!read) { read = metaStore.get('meta'); tx.objectStore('log').put(entry, txId); }
      metaStore.put(written, 'meta');
      read.onsuccess = () => {
        const stored = readMeta(read.result);
        if (stored.txId !== baseTxId) {
          const err = storageError(`syncore: another context saved "${this.name}" first (txId ${stored.txId}, expected ${baseTxId})`);
          err.conflict = true;
          fail(err);
        } else if (stored.base !== written.base || stored.baseSize !== written.baseSize || !sameList(stored.groups, written.groups)
                   || !sameList(stored.hot, written.hot)) {
          written = { ...written, base: stored.base, baseSize: stored.baseSize, groups: stored.groups, hot: stored.hot };
          metaStore.put(written, 'meta');
        }
        // Nothing more to ask: commit once the puts are done, without waiting for their
        // success events to come back here first.
        if (typeof tx.commit === 'function') tx.commit();
      };
    }, `cannot save "${this.name}"`, started);
    this.meta = written;
    this.log.set(txId, this.lazyImage ? logEntry(true, size, record, decodeRecord(record)) : { indexes, bytes: record.byteLength });
    return txId;
  }

  // A checkpoint at txId, copy-on-write so commits go on meanwhile: the groups are
  // put under new keys [g, txId] in a transaction of their own (the group store only, so
  // commits are not held behind it); then one small transaction moves meta to them — unless
  // another context checkpointed since base (its checkpoint stands, ours is dropped) —
  // deletes the log up to txId and every group value meta no longer names (the replaced
  // ones, and any a crashed fold left). Until that commits nothing refers to the new values.
  async fold({ txId, size, base, limit, groups, hot }) {
    await transact(this.db, ['groups'], 'readwrite', (tx) => {
      const store = tx.objectStore('groups');
      for (const [g, data] of groups) store.put(data.buffer, [g, txId]);
    }, `cannot checkpoint "${this.name}"`);
    await this.nameCheckpoint({ txId, size, base, limit, groups: groups.map(([g]) => g), hot });
  }

  // A checkpoint's second transaction: its group values (put under [g, txId]) named in meta.
  async nameCheckpoint({ txId, size, base, limit, groups, hot = null }) {
    this.check('cannot checkpoint');
    const moved = await transact(this.db, ['meta', 'groups', 'log'], 'readwrite', async (tx) => {
      const metaStore = tx.objectStore('meta'), store = tx.objectStore('groups');
      const stored = readMeta(await request(metaStore.get('meta')));
      if (stored.base !== base) {
        // Another context checkpointed first: drop our values only — not those meta names (a
        // context that reached the same txId checkpoints under the same keys, with the same
        // bytes), nor a third context's, in flight from the new base, still to be named.
        for (const g of groups) if (stored.groups[g] !== txId) store.delete([g, txId]);
        this.meta = stored;
        return stored.base;
      }
      const versions = stored.groups.slice(0, limit);
      while (versions.length < limit) versions.push(txId);   // grown: every new group was dirty
      for (const g of groups) versions[g] = txId;
      metaStore.put(this.meta = { ...stored, base: txId, baseSize: size, groups: versions, hot: hot || stored.hot }, 'meta');
      tx.objectStore('log').delete(IDBKeyRange.upperBound(txId));
      // Any other checkpoint in flight started from the old base and will be dropped: every
      // value not named now is garbage (replaced groups, a crashed checkpoint's).
      const keep = new Set(versions.map((v, g) => `${g}:${v}`));
      for (const key of await request(store.getAllKeys())) if (!keep.has(`${key[0]}:${key[1]}`)) store.delete(key);
      return txId;
    }, `cannot checkpoint "${this.name}"`);
    if (moved > this.base) this.base = moved;
    for (const t of this.log.keys()) if (t <= this.base) this.log.delete(t);
  }

  // meta.hot (what a quick open reads) for state txId, when no checkpoint wrote it: a hint,
  // put only if meta is still at txId and says otherwise.
  async saveHot(txId, hot) {
    this.check('cannot save');
    if (this.meta.txId === txId && sameList(this.meta.hot, hot)) return;   // a checkpoint at close wrote it, or it was so
    await transact(this.db, ['meta'], 'readwrite', async (tx) => {
      const metaStore = tx.objectStore('meta'), stored = await request(metaStore.get('meta'));
      if (stored && stored.txId === txId && !sameList(readMeta(stored).hot, hot)) metaStore.put(this.meta = readMeta({ ...stored, hot }), 'meta');
    }, `cannot save "${this.name}"`);
  }

  close() { this.db.close(); this.closed = true; }
}
