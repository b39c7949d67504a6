// storage.js — the storage layer: which backend a store lives on (a small IndexedDB
// registry), the memory backend, and the commit protocol every persistent backend shares:
// run the call on the in-heap image, persist its dirty chunks in ONE transaction guarded by
// a compare-and-swap on the stored txId, resolve on `complete`, tell other contexts
// (docs/STORAGE.md: design, invariants, failure modes). How an image is kept is the
// persisters': IndexedDB in storage-idb.js, OPFS in storage-opfs.js; the module and calls
// are core.js.
//
// Internal API (for syncore.js and the tests):
//   const db = await openDatabase(core, { name, storage, config, cacheBytes })
//                                    cacheBytes: a lazy image's page cache (default CACHE_BYTES);
//                                    lazyMinBytes: the size from which a store opens lazily (tests)
//                                    storage 'auto'|'idb'|'opfs'|'memory'; config = sc_open's (path/vfs added here);
//                                    core may be a promise of it: the store is read while the module loads
//   db.backend                       the backend the store lives on
//   await db.call(method, input)     → the core's result, durable when resolved
//   await db.callPipelined(m, input, since) → { value, durable, generation }: resolved once the
//                                    commit is issued; durable settles when it is saved; a step
//                                    whose previous one (since = its generation) was undone fails
//   db.read(method, input)           synchronous call on the image as this context last saw it
//                                    (for reads; anything it dirtied is persisted in the background);
//                                    on a lazy store it fails (SC_BUSY/SC_STORAGE) where it would
//                                    have to wait for a group not read yet: use readAsync
//   await db.readAsync(method, input) the same, able to wait for storage
//   db.lazy                          groups are read on demand (idb where the browser has JSPI)
//   await db.refresh()               load other contexts' commits now (normally done on their broadcast)
//   await db.sql(text)               raw SQL on the store's database (tests, diagnostics)
//   db.onRemoteCommit(fn) → off      fn({ changed, txId }) after another context committed
//                                    (changed = the core's `changed` list, or null if unknown)
//   await db.close()
//   await deleteStoredDatabase(name) removes a store's IndexedDB data and registry entry

import { SyncoreError, storageError, jspiAvailable } from './core.js';
import { IdbPersister, openIdb, request, transact } from './storage-idb.js';
import { openOpfsPersister, opfsAvailable } from './storage-opfs.js';


const NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;
const BACKENDS = ['auto', 'idb', 'opfs', 'memory'];
const VFS_NAME = 'sc-mem';   // must match VFS_MEM_NAME in wasm/src/vfs_mem.h
const FOLD_IDLE_MS = 150;    // quiet time after a commit before a due checkpoint is written
const LEASE_MS = 20;         // longest a context keeps the write lock across back-to-back writes
const READ_AHEAD = 8;        // groups a lazy image reads per fetch: the one missed and absent ones after it
const FILL_GROUPS = 16;      // groups a quick-opened image reads per background step (4 MiB)
const FILL_DELAY_MS = 100;   // … starting this long after the open, when its first calls are done

// Pipelined steps that go out in one commit (Storage.run): durable settles with it; changed
// holds each step's `changed` list (null: unknown) for the broadcast.
function newGroup() {
  const group = { changed: [] };
  group.durable = new Promise((resolve, reject) => { group.ok = () => resolve(); group.fail = reject; });
  group.durable.catch(() => {});   // each step's caller observes its own copy
  return group;
}
const CACHE_BYTES = 256 << 20; // the groups a lazy image keeps in memory between calls (and when it fetches)

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
// requested backend (idb for auto). Read-and-create in one transaction: no race. A store
// already registered is only read (a readonly transaction: no strict commit to wait for).
async function resolveBackend(name, requested) {
  const db = await registry();
  const known = await transact(db, ['stores'], 'readonly', (tx) => request(tx.objectStore('stores').get(name)),
    'cannot read the store registry');
  const mismatch = (backend) => requested !== 'auto' && requested !== backend
    && storageError(`syncore: store "${name}" was created on ${backend}, cannot open it on ${requested}`);
  if (known) {
    if (mismatch(known.backend)) throw mismatch(known.backend);
    return known.backend;
  }
  return transact(db, ['stores'], 'readwrite', async (tx, fail) => {
    const stores = tx.objectStore('stores');
    const entry = await request(stores.get(name));
    const backend = entry ? entry.backend : requested === 'auto' ? 'idb' : requested;
    if (entry && mismatch(backend)) {
      fail(mismatch(backend));
    } else if (!entry && backend === 'opfs' && !opfsAvailable()) {
      fail(storageError('syncore: storage "opfs" needs a dedicated worker with OPFS sync access handles'));
    } else if (!entry) {
      stores.put({ name, backend, createdAt: new Date().toISOString() });
    }
    return backend;
  }, 'cannot read the store registry');
}

// A persister's `wants`: what commit() is handed of a call's changes — 'record' (the core's
// encoding of what changed, {record, indexes}), 'chunks' ([[index, bytes]…]) or 'none'.
const memoryPersister = () => ({ wants: 'none', load: async () => ({ txId: 0, size: 0, chunks: [] }),
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
    this.heardTxId = 0;            // the newest txId another context announced
    this.inflight = null;          // { done, settled } the commit in flight of pipelined steps (run)
    this.group = null;             // pipelined steps run since it was issued, to go out in the next commit
    this.saveFailure = null;       // { err, generation } the last pipelined save that failed
    this.lease = null;             // the write lock while this context holds it (writeLock)
    this.cacheBytes = CACHE_BYTES; // a lazy image's page cache (fetchInto, attempt trim to it)
    this.quick = false;            // opened with the groups meta.hot names, the rest read after (fillSoon)
    this.filling = false;          // … and those are being read now
    this.closingHot = null;        // those groups, as the last connection closing found them (probeOpen)
    this.writesQueued = 0;
    this.generation = 0;           // bumped when the image was replaced under open handles
    this.queue = Promise.resolve();
    this.listeners = new Set();
    this.shared = backend !== 'memory';
    this.channel = null;
  }

  // pending: the persister's load() if already started (openStorage reads while the module loads).
  async load(pending = null) {
    const core = this.core;
    let state = await (pending || this.persister.load());
    if (state.lazy && !core.jspi) {   // the module could not be set up for JSPI after all
      this.persister.lazy = this.persister.lazyImage = false;
      state = await this.persister.load();
    }
    core.deleteImage(this.path);
    this.pImage = core.image(this.path, true);
    if (this.persister.wants === 'record') core.keepOriginals(this.pImage);
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
  // A chunk given as a function is a delta, applied in place onto the chunk as replayed so far.
  apply(state) {
    if (state.lazy) {   // every group absent (a store may turn lazy at a reload, never back)
      if (!this.lazy) this.core.setFetcher(this.pImage, (group) => this.fetchInto(group));
      this.lazy = true;
      this.core.setLazy(this.pImage, state.lazy.size);
    }
    for (const step of state.steps || [state]) {
      this.core.loadImage(this.pImage, step.size, step.chunks);
    }
    if (state.hot) this.install(state.hot);   // the groups the first calls read (meta.hot)
    if (state.lazy && state.lazy.fill) this.fillSoon();   // a quick open (or reload): whole again after
  }

  // Lazy images: bring absent group g into the image, as of the state the image is at, with
  // the absent groups around it (READ_AHEAD: tables grow in runs of pages, so the next read
  // is often near) in the same transaction. The module's fetch import calls this while a
  // call waits; imageBytes calls it directly.
  async fetchInto(group) {
    const core = this.core, groupBytes = core.groupChunks * core.chunkSize;
    const size = core.imageSize(this.pImage), count = Math.ceil(size / groupBytes), wanted = [group];
    for (let g = Math.max(0, group - 1); g < count && wanted.length < READ_AHEAD; g++) {
      if (g !== group && !core.groupPresent(this.pImage, g)) wanted.push(g);
    }
    // The page cache stays within cacheBytes: clean groups this state holds anyway, the
    // least recently used first, make room (read again when needed: storage has them).
    core.trim(this.pImage, Math.max(0, this.cacheBytes - wanted.length * groupBytes));
    this.install(await this.persister.fetchGroups(wanted, this.txId, core.chunkSize));
  }

  // Write groups read from storage ([[g, bytes]…], as of the state the image is at) into a
  // lazy image, each one still absent.
  install(groups) {
    const core = this.core, groupBytes = core.groupChunks * core.chunkSize, size = core.imageSize(this.pImage);
    for (const [g, bytes] of groups) {
      if (core.groupPresent(this.pImage, g)) continue;
      const at = core.groupPtr(this.pImage, g);   // may grow memory: the heap view after it
      core.heap.set(bytes.subarray(0, Math.max(0, Math.min(groupBytes, size - g * groupBytes))), at);
      core.setPresent(this.pImage, g);
    }
  }

  // Quick open (storage-idb.js read): the image opened with only the groups its first calls
  // read; the others are read here, FILL_GROUPS per step in the queue (calls go between
  // steps), and once all are in the image is whole again, as if it had been read whole at
  // open: pipelined sync rounds, checkpoints from memory. A step that fails (another context
  // checkpointed past this state, IndexedDB failed) ends the filling: the store stays read on
  // demand, which is correct, only slower.
  fillSoon() {
    this.quick = true;
    if (this.filling) return;
    this.filling = true;
    const step = () => this.serialize(async () => {
      const core = this.core, groupBytes = core.groupChunks * core.chunkSize;
      if (!this.lazy || this.persister.closed) return false;
      const wanted = [], count = Math.ceil(core.imageSize(this.pImage) / groupBytes);
      for (let g = 0; g < count && wanted.length < FILL_GROUPS; g++) if (!core.groupPresent(this.pImage, g)) wanted.push(g);
      if (wanted.length) this.install(await this.persister.fetchGroups(wanted, this.txId, core.chunkSize));
      if (core.absentCount(this.pImage) > 0) return true;
      if (core.setWhole(this.pImage)) {
        this.lazy = false;
        this.persister.lazyImage = false;
        core.setFetcher(this.pImage, null);
      }
      return false;
    });
    const next = () => step().then((more) => { if (more) setTimeout(next); else this.filling = false; }, () => { this.filling = false; });
    setTimeout(next, FILL_DELAY_MS);
  }

  // (inside the queue) A copy of the whole image, every absent group read in on the way
  // (tests, diagnostics).
  async imageBytes() {
    const core = this.core, size = core.imageSize(this.pImage), groupBytes = core.groupChunks * core.chunkSize;
    const out = new Uint8Array(size);
    for (let at = 0; at < size; at += groupBytes) {
      if (this.lazy && !core.groupPresent(this.pImage, at / groupBytes)) await this.fetchInto(at / groupBytes);
      out.set(this.readBytes(at, at + groupBytes), at);
    }
    return out;
  }

  // (A lazy image holds its groups apart: offset and end within one group.)
  readBytes(offset, end) {
    const core = this.core, size = core.imageSize(this.pImage), from = Math.min(size, offset), to = Math.min(size, end);
    const data = core.m._sc_vfs_data(this.pImage) >>> 0;
    if (data || from === to) return core.heap.slice(data + from, data + to);
    const groupBytes = core.groupChunks * core.chunkSize, g = Math.floor(from / groupBytes);
    const at = core.groupPtr(this.pImage, g) + from - g * groupBytes;
    return core.heap.slice(at, at + to - from);
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
    if (message.txId > this.heardTxId) this.heardTxId = message.txId;
    this.serialize(async () => {
      if (message.txId > this.txId) { await this.settle(); await this.refresh(); }
      for (const fn of this.listeners) {
        try { fn({ changed: message.changed || null, txId: message.txId }); } catch (err) { setTimeout(() => { throw err; }); }
      }
    }).catch(() => { /* the next write refreshes again */ });
  }

  // Run fn() (the core's work) on a fresh image and persist what it dirtied.
  // Resolves with fn's value once durable; fn's own error is rethrown after persisting.
  // pipelined (a sync round's steps, syncore.js): resolves with { value, durable, generation }
  // before the step is saved, so the caller fetches and hands over the next page while
  // IndexedDB writes; durable settles when it is saved. One commit is in flight at a time:
  // steps that finish while it is written are deferred and go out together in the next one
  // (group commit: each page still commits with its cursor, only never alone). Every other
  // call first brings storage up to the image (settle), so only consecutive pipelined
  // steps ever run on an image ahead of storage. `since`: the generation the previous step
  // returned; if the image was reloaded since (that step's save failed, or storage replaced
  // the image), the step would run on a state its input does not follow from: it fails.
  run(fn, { write = true, changedOf = null, pipelined = false, since } = {}) {
    const locked = write && this.shared && typeof navigator !== 'undefined' && !!navigator.locks;
    if (locked) this.writesQueued++;
    return this.serialize(async () => {
      try {
        if (!pipelined || this.lazy) {
          await this.settle();
          if (pipelined) this.checkSince(since);
          const value = locked ? (await this.writeLock(), await this.attempt(fn, changedOf, true))
            : await this.attempt(fn, changedOf, false);
          return pipelined ? { value, durable: Promise.resolve(), generation: this.generation } : value;
        }
        this.checkSince(since);
        if (locked) await this.writeLock();
        return await this.attempt(fn, changedOf, locked, true);
      } finally {
        if (this.lazy) this.core.trim(this.pImage, this.cacheBytes);   // the page cache, between calls
        if (locked) {
          this.writesQueued--;
          clearTimeout(this.leaseTimer);
          this.leaseTimer = setTimeout(() => { if (this.writesQueued === 0) this.dropLease(); });
        }
      }
    });
  }

  // (inside the queue) Bring storage up to the image: wait for the commit in flight, commit
  // the steps deferred behind it, until neither is left; then a due checkpoint. Returns the
  // failure of a save (the image was reloaded without it), else null.
  async settle() {
    if (!this.inflight && !this.group) return null;
    for (;;) {
      const failed = await this.settleFlight();
      if (failed) return failed;
      if (!this.group) break;
      this.commitGroup();
    }
    await this.scheduleFold();
    return null;
  }

  // (inside the queue) Wait for the commit in flight, if any. Failed: the image, ahead of
  // storage, is reloaded; the steps deferred behind it fail with it (they ran on it).
  async settleFlight() {
    const flight = this.inflight;
    if (!flight) return null;
    this.inflight = null;
    try {
      await flight.done;
      return null;
    } catch (err) {
      try { await this.discard(); } catch (reloadErr) { this.broken = reloadErr; }
      this.saveFailure = { err, generation: this.generation };
      if (this.group) { this.group.fail(err); this.group = null; }
      return err;
    }
  }

  // What the calls since the last commit changed, as the persister takes it; the marks are
  // cleared (copies taken: what a sync read dirties meanwhile stays marked).
  takeChanges() {
    const core = this.core, wants = this.persister.wants;
    const changes = wants === 'record' ? core.dirtyRecord(this.pImage) : wants === 'chunks' ? core.dirtyChunks(this.pImage) : null;
    core.clearDirty(this.pImage);
    return changes;
  }

  // A pipelined step's `durable`: settles with the save it waits on, failing as saveError.
  durableOf(saving) {
    return saving.then(() => undefined, (err) => { throw this.saveError(err); });
  }

  // (inside the queue) Commit the image's dirty chunks — the pipelined steps of this.group —
  // without waiting: it becomes the commit in flight. Once it is saved the steps deferred
  // meanwhile go out in turn (queued), and once all is quiet a due checkpoint is written.
  commitGroup() {
    const core = this.core, group = this.group || newGroup();
    this.group = null;
    const changes = this.takeChanges();
    const changed = group.changed.some((c) => !Array.isArray(c)) ? null : group.changed.flat();
    const done = this.persister.commit(this.txId, core.imageSize(this.pImage), changes, core.chunkSize).then((txId) => {
      this.txId = txId;
      if (this.channel) this.channel.postMessage({ txId, changed });
    });
    const flight = { done, settled: false };
    this.inflight = flight;
    done.then(group.ok, group.fail);
    done.finally(() => { flight.settled = true; }).then(() => this.serialize(async () => {
      if (this.inflight !== flight) return;
      if (await this.settleFlight()) return;
      if (this.group) this.commitGroup(); else await this.scheduleFold();
    }), () => this.serialize(() => this.settle())).catch(() => {});
    return group;
  }

  // The store's Web Lock ('syncore:<name>'), kept between writes that follow each other:
  // given back once no write is queued at the next task, or before a write once it has been
  // held LEASE_MS, so another context waits at most about that long behind a burst.
  writeLock() {
    if (this.lease && this.lease.since !== null && performance.now() - this.lease.since > LEASE_MS) this.dropLease();
    if (!this.lease) {
      const lease = { since: null, release: null };
      const held = new Promise((resolve) => { lease.release = resolve; });
      lease.acquired = new Promise((resolve, reject) => {
        navigator.locks.request(`syncore:${this.name}`, () => { lease.since = performance.now(); resolve(); return held; })
          .catch(reject);
      });
      this.lease = lease;
    }
    return this.lease.acquired;
  }

  dropLease() {
    if (this.lease) { this.lease.release(); this.lease = null; }
  }

  async attempt(fn, changedOf, locked, pipelined = false) {
    const core = this.core;
    this.checkUsable();
    for (let tries = 0; ; tries++) {
      // Under the lock, the stored state is read first only when another context announced
      // a newer commit (or cannot announce one): otherwise the image is run on as it is, and
      // the compare-and-swap of the commit catches a commit not heard of (discard, re-run).
      if (tries > 0 || (locked && (!this.channel || this.heardTxId > this.txId))) {
        const failed = await this.settle();
        if (failed && pipelined) throw this.saveError(failed);
        await this.refresh();
      }
      // A write's commit transaction is begun now, to be set up while the core works (not
      // on a lazy image, whose call may wait for a group and outlive it).
      const early = locked && !pipelined && !this.lazy && this.persister.begin ? this.persister.begin() : null;
      try {
        let value, error = null;
        try { value = await fn(); } catch (err) { error = err; }
        const fetchError = this.lazy ? core.takeFetchError() : null;
        if (fetchError && error) {
          // A group could not be read: the call failed before changing anything it kept. When
          // another context checkpointed past this image's state, reload it and run again.
          if (fetchError.stale && tries < 3 && core.lockLevel(this.pImage) === 0) { await this.discard(); continue; }
          error = fetchError;
        }
        if (core.lockLevel(this.pImage) !== 0) {
          throw new SyncoreError('syncore: a call left a transaction open; nothing was saved', 'SC_INTERNAL', { cause: error });
        }
        if (core.dirtyCount(this.pImage) === 0) {
          if (error) throw error;
          if (!pipelined) return value;
          // Nothing of its own to save, but it ran on what is deferred or in flight (if anything).
          const on = this.group ? this.group.durable : this.inflight ? this.inflight.done : Promise.resolve();
          return { value, durable: this.durableOf(on), generation: this.generation };
        }
        if (pipelined && !error) {
          const group = this.group ||= newGroup();
          group.changed.push(changedOf ? changedOf(value) : null);
          const durable = this.durableOf(group.durable);
          // A commit still being written: this step goes out with the next one.
          if (this.inflight && !this.inflight.settled) return { value, durable, generation: this.generation };
          const failed = await this.settleFlight();   // written already: no wait
          if (failed) throw this.saveError(failed);
          this.commitGroup();
          return { value, durable, generation: this.generation };
        }
        if (pipelined) await this.settle();   // a step that failed: what went before is saved first
        if (core.dirtyCount(this.pImage) === 0) throw error;
        const changes = this.takeChanges();
        try {
          this.txId = await this.persister.commit(this.txId, core.imageSize(this.pImage), changes, core.chunkSize, early);
        } catch (err) {
          try { await this.discard(); } catch (reloadErr) { this.broken = reloadErr; throw reloadErr; }
          if (err.conflict && tries < 3) continue;
          throw this.saveError(err);
        }
        if (this.channel) this.channel.postMessage({ txId: this.txId, changed: changedOf ? changedOf(value) : null });
        await this.scheduleFold();
        if (error) throw error;   // (a pipelined step comes this way only with an error)
        return value;
      } finally { early?.release(); }
    }
  }

  // (pipelined) Refuse a step whose previous step's image is gone: its save failed (that
  // failure), or the image was reloaded for another reason (a conflict: start again).
  checkSince(since) {
    if (since === undefined || since === this.generation) return;
    const f = this.saveFailure;
    if (f && f.generation === this.generation) throw this.saveError(f.err);
    const err = storageError(`syncore: "${this.name}" was reloaded during the sync round`);
    err.conflict = true;
    throw err;
  }

  // A failed save as the caller sees it; `conflict` (another context saved first) kept, so a
  // sync round can start again from what is stored.
  saveError(err) {
    const out = err instanceof SyncoreError ? err : storageError(`syncore: cannot save "${this.name}"`, err);
    if (err.conflict) out.conflict = true;
    return out;
  }

  // After a commit: a log the persister wants folded 'now' is checkpointed at once; one it
  // would fold once things are quiet ('idle', storage-idb.js foldDue) after FOLD_IDLE_MS
  // without a commit, inside the queue. Either way from the image as committed (foldNow);
  // release() folds what is due before closing.
  async scheduleFold() {
    clearTimeout(this.foldTimer);
    const due = this.persister.foldDue ? this.persister.foldDue(this.core.imageSize(this.pImage)) : null;
    if (due === 'now') await this.foldNow();
    else if (due === 'idle') this.foldTimer = setTimeout(() => this.serialize(() => this.foldNow()).catch(() => {}), FOLD_IDLE_MS);
  }

  // (inside the queue) A lazy image's checkpoint is made from storage (the image may not
  // hold the groups it writes); any other's from the image as committed.
  async foldNow() {
    const core = this.core, size = core.imageSize(this.pImage);
    if (this.inflight || this.group || core.dirtyCount(this.pImage) > 0 || core.lockLevel(this.pImage) !== 0
        || !this.persister.foldDue(size)) return;   // the image must be exactly what is stored
    if (this.lazy) this.persister.checkpointFromStorage(this.txId, size, core.chunkSize);
    else this.persister.checkpoint(this.txId, size, core.chunkSize, (offset, end) => this.readBytes(offset, end), this.closingHot);
  }

  // After a failed persist that could not even reload, the image holds unsaved data: refuse.
  checkUsable() {
    if (this.broken) throw storageError(`syncore: "${this.name}" could not be reloaded after a failed save; reopen it`, this.broken);
  }

  // The image is ahead of storage after a failed persist: reload it whole; handles reopen.
  async discard() {
    const core = this.core;
    const state = await this.persister.load();
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
    await this.serialize(() => this.settle()).catch(() => {});
    clearTimeout(this.foldTimer);
    clearTimeout(this.leaseTimer);
    this.dropLease();
    if (this.persister.foldDue && !this.broken) {
      try { await this.foldNow(); await this.persister.flush(); } catch (_) { /* the log keeps everything */ }
      if (this.closingHot) await this.persister.saveHot(this.txId, this.closingHot).catch(() => { /* a hint */ });
    }
    if (this.channel) this.channel.close();
    this.persister.close();
    this.core.setFetcher(this.pImage, null);
    this.core.deleteImage(this.path);
  }
}

// The Storage of a store in this context (shared by its connections). core may be a promise:
// the registry and the stored image are read meanwhile.
export async function openStorage(coreOrPromise, { name, storage = 'auto', lazyMinBytes }) {
  if (typeof name !== 'string' || !NAME_RE.test(name)) throw new SyncoreError('syncore: name must match [A-Za-z0-9_-]{1,64}', 'SC_BAD_INPUT');
  if (!BACKENDS.includes(storage)) throw new SyncoreError(`syncore: storage must be one of ${BACKENDS.join(', ')}`, 'SC_BAD_INPUT');
  if (storage === 'memory') {
    const s = new Storage(await coreOrPromise, name, 'memory', memoryPersister());
    await s.load();
    s.refs = 1;
    return s;
  }
  if (typeof indexedDB === 'undefined') throw storageError('syncore: IndexedDB is not available in this context');
  // The registry only says which backend the name lives on, and nearly every store is on
  // IndexedDB: its database is opened and read at the same time (a cold open's longest wait),
  // and let go — deleted if this open made it — when the registry names another backend.
  const early = storage !== 'opfs' && !openStorages.has(`idb:${name}`) ? openIdbEarly(name, lazyMinBytes) : null;
  let backend;
  try { backend = await resolveBackend(name, storage); } catch (err) { dropEarly(early, name); throw err; }
  const key = `${backend}:${name}`;
  const cached = openStorages.get(key);
  if (cached && (await cached.catch(() => null))?.persister.closed) openStorages.delete(key);   // its database went away
  if (openStorages.has(key) || backend !== 'idb') dropEarly(early, name, backend !== 'idb');
  if (!openStorages.has(key)) {
    const opening = (async () => {
      let { persister, reading } = backend === 'idb' && early ? await early
        : await (backend === 'opfs' ? openOpfsPersister(name) : IdbPersister.open(name, { lazy: jspiAvailable(), lazyMinBytes }))
          .then((p) => ({ persister: p, reading: null }));
      try {
        if (!reading) { reading = persister.load(); reading.catch(() => {}); }   // awaited below, after the module
        const s = new Storage(await coreOrPromise, name, backend, persister);
        await s.load(reading);
        return s;
      } catch (err) { persister.close(); throw err; }
    })();
    openStorages.set(key, opening);
    opening.catch(() => openStorages.delete(key));
  }
  const s = await openStorages.get(key);
  s.entry = openStorages.get(key);
  s.refs++;
  return s;
}

// An IndexedDB store's database opened and its read started ahead of the registry's answer:
// → Promise<{ persister, reading }>.
function openIdbEarly(name, lazyMinBytes) {
  const early = IdbPersister.open(name, { lazy: jspiAvailable(), lazyMinBytes }).then((persister) => {
    const reading = persister.load();
    reading.catch(() => {});
    return { persister, reading };
  });
  early.catch(() => {});
  return early;
}

// Let an early open go unused: closed, and its database deleted when this open made it for
// a name the registry puts on another backend (remove).
function dropEarly(early, name, remove = true) {
  early?.then(({ persister, reading }) => reading.catch(() => {}).then(() => {
    const made = persister.created;
    persister.close();
    if (made && remove) indexedDB.deleteDatabase(`syncore:${name}`);
  }), () => {});
}

class Database {
  constructor(core, storage, config) {
    this.core = core;
    this.storage = storage;
    this.backend = storage.backend;
    this.config = { ...config, path: storage.path, vfs: VFS_NAME };
    this.pStore = 0, this.generation = -1, this.closed = false;
  }

  get lazy() { return this.storage.lazy; }

  // Where the module has JSPI every call into it is async (one at a time per module, so
  // that a store waiting for a group never has another store's call run under it).
  get waits() { return this.core.jspi; }

  // Open (or reopen after the image was replaced) the core's handle. Inside run(). Async
  // where calls are (the open reads the schema, which a lazy image may have to fetch).
  ensureOpen() {
    if (this.closed) throw new SyncoreError('syncore: the store is closed', 'SC_CLOSED');
    if (this.pStore && this.generation === this.storage.generation) return undefined;
    const generation = this.storage.generation, old = this.pStore;
    this.pStore = 0;
    if (!this.waits) {
      if (old) this.core.close(old);
      this.pStore = this.core.open(this.config);
      this.generation = generation;
      return undefined;
    }
    return (old ? this.core.closeAsync(old) : Promise.resolve()).then(() => this.core.openAsync(this.config))
      .then((pStore) => { this.pStore = pStore; this.generation = generation; });
  }

  // The core's call, able to wait for storage where calls are async (after opening if needed).
  invoke(method, input) {
    if (!this.waits) { this.ensureOpen(); return this.core.call(this.pStore, method, input); }
    return Promise.resolve(this.ensureOpen()).then(() => this.core.callAsync(this.pStore, method, input));
  }

  // A method the core says writes nothing skips the Web Lock (a write would still be
  // persisted through the CAS); unknown names take it and fail in the core.
  call(method, input, pipeline = {}) {
    return this.storage.run(() => this.invoke(method, input),
      { write: this.core.writes[method] !== false, changedOf: (result) => (result && result.changed) || null, ...pipeline });
  }

  // The same, resolving once the commit is issued: { value, durable, generation } (storage.run
  // pipelined); since: the generation the previous step of the same sequence returned.
  callPipelined(method, input, since) { return this.call(method, input, { pipelined: true, since }); }

  read(method, input) {
    this.storage.checkUsable();
    if (this.waits && (!this.pStore || this.generation !== this.storage.generation)) {
      throw new SyncoreError('syncore: the store is not open yet; use readAsync', 'SC_BUSY');
    }
    if (!this.waits) this.ensureOpen();
    const value = this.core.call(this.pStore, method, input);
    if (this.core.dirtyCount(this.storage.pImage) > 0) this.storage.run(() => undefined).catch(() => {});
    return value;
  }

  // A read that may wait: where calls are async in this context's queue (no Web Lock), else read().
  async readAsync(method, input) {
    if (!this.waits) return this.read(method, input);
    return this.storage.run(() => this.invoke(method, input), { write: false });
  }

  refresh() { return this.storage.serialize(() => this.storage.refresh()); }

  sql(text) {
    const readOnly = /^\s*(select|pragma\s+(integrity_check|quick_check|page_count|user_version\s*;?\s*$))/i.test(text);
    return this.storage.run(async () => {
      if (this.closed) throw new SyncoreError('syncore: the store is closed', 'SC_CLOSED');
      if (!this.waits) {
        const pDb = this.core.sqlOpen(this.storage.path);
        try { return this.core.sql(pDb, text); } finally { this.core.sqlClose(pDb); }
      }
      const pDb = await this.core.sqlOpenAsync(this.storage.path);
      return this.core.sqlAsync(pDb, text).finally(() => this.core.sqlClose(pDb));
    }, { write: !readOnly });
  }

  onRemoteCommit(fn) { return this.storage.onRemoteCommit(fn); }

  // (the last connection closing, inside its call) The groups a cold open of this state and
  // its first status() read, for the next open to read those first (a quick open, meta.hot):
  // a second handle opened and asked status() while the VFS marks every group read. An open
  // may write (ops left inflight are reset): the closing call then saves it like any call.
  // null on a lazy image (a group it lacks cannot be waited for here) or when anything fails.
  probeOpen() {
    const core = this.core, pImage = this.storage.pImage;
    if (this.storage.lazy || core.busy || !core.trackReads(pImage, true)) return null;
    try {
      const pStore = core.open(this.config);
      try { core.call(pStore, 'status', {}); } finally { core.close(pStore); }
    } catch { return null; } finally { core.trackReads(pImage, false); }
    const groupBytes = core.groupChunks * core.chunkSize, hot = [];
    for (let g = 0; g * groupBytes < core.imageSize(pImage); g++) if (core.tracked(pImage, g)) hot.push(g);
    return hot;
  }

  async close() {
    if (this.closed) return;
    await this.storage.run(() => {
      this.closed = true;
      if (this.storage.refs === 1 && this.pStore && this.storage.persister.saveHot) this.storage.closingHot = this.probeOpen();
      const old = this.pStore;
      this.pStore = 0;
      if (old && this.waits) return this.core.closeAsync(old);
      if (old) this.core.close(old);
      return undefined;
    }, { write: false });
    await this.storage.release();
  }
}

export async function openDatabase(coreOrPromise, { name, storage = 'auto', config = {}, cacheBytes, lazyMinBytes }) {
  const s = await openStorage(coreOrPromise, { name, storage, lazyMinBytes });
  if (cacheBytes) s.cacheBytes = Math.max(s.refs > 1 ? s.cacheBytes : 0, cacheBytes);   // the largest any connection asks
  const core = s.core;
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
