// core.js — loads the wasm module and is the only JS that touches its memory: JSON in,
// JSON out through sc_call, errors as SyncoreError with the C core's code names, the
// bridge to the in-heap VFS (wasm/src/vfs_mem.c), and a raw SQL entry for tests.
// Persistence (when an image is loaded, persisted, reloaded) is storage.js's business
// (with storage-idb.js and storage-opfs.js); syncore.js (the public API) builds on both.
//
// Internal API (for syncore.js, sw.js and the tests):
//   const core = await loadCore({ wasmBinary? })        one module per context (cached)
//   core.codes                        { SC_OK: 0, SC_BAD_INPUT: 1, … } from sc_constants_json
//   core.writes                       { put: true, get: false, … } from sc_methods_json
//   core.open(config) → pStore        sc_open (config = docs/CORE_API.md "open"); throws SyncoreError
//   core.call(pStore, method, input)  sc_call_with_body → parsed JSON; throws SyncoreError(message, code)
//   core.close(pStore)
//   core.normalizeTime(value, assumeOffsetMinutes) → 'YYYY-…Z'; throws SyncoreError
//   normalizeTimeSync(value, assumeOffsetMinutes)   the same on the loaded module (SPEC §2
//                                     normalizeTime: RangeError/TypeError with code SC_BAD_INPUT)
//   core.chunkSize                    bytes per VFS chunk
//   core.image(name, create) → pImage | 0, core.deleteImage(name)
//   core.imageSize(pImage), core.lockLevel(pImage)      0 = no transaction open
//   core.loadImage(pImage, size, chunks)   chunks: iterable of [index, Uint8Array] (bytes from chunk index on: one chunk or a run of them); marks nothing dirty
//   core.dirtyChunks(pImage) → [[index, Uint8Array copy], …]; core.clearDirty(pImage)
//   core.keepOriginals(pImage); core.dirtyRecord(pImage) → {record: ArrayBuffer, indexes}
//                                     the dirty chunks as one log record of what changed (vfs_mem.h)
//   core.sqlOpen(name) → pDb; core.sql(pDb, text) → rows (arrays); core.sqlClose(pDb)
// Lazy images (pages read on demand, where the browser has JSPI: core.jspi):
//   core.openAsync / callAsync / sqlOpenAsync / sqlAsync   the same through WebAssembly.promising: a
//                                     page the image lacks suspends the module while
//                                     core.setFetcher(pImage, async (group) => …) writes it in
//   core.setLazy(pImage, size), core.groupPresent/setPresent(pImage, group), core.absentCount,
//   core.groupPtr(pImage, group), core.trim(pImage, maxBytes), core.residentBytes(pImage)
//   core.setWhole(pImage), core.trackReads(pImage, on), core.tracked(pImage, group)
//   core.busy                         an async call is suspended: nothing else may enter
// Names of exported C functions must match wasm/exports.json and wasm/src/wasm_exports.c.

import createSyncoreModule from './syncore-core.mjs';

export class SyncoreError extends Error {
  constructor(message, code, options) {
    super(message, options);
    this.name = 'SyncoreError';
    this.code = code;
  }
}

// A persistence failure: the storage layers throw this for IndexedDB/OPFS errors.
export function storageError(message, cause) {
  return new SyncoreError(message, 'SC_STORAGE', cause ? { cause } : undefined);
}

const encoder = new TextEncoder();
const TIME_TEXT = 256;      // bytes of a time string normalizeTime passes without allocating
const decoder = new TextDecoder();
let modulePromise = null;
let loadedCore = null;      // the context's Core once loaded (normalizeTimeSync needs it)

// JSPI (WebAssembly.Suspending / promising): present in Chromium and Firefox, absent in
// WebKit and Node 20 (docs/BROWSERS.md). Where it is, the host's fetch import suspends the module.
export const jspiAvailable = () => typeof WebAssembly === 'object' && typeof WebAssembly.Suspending === 'function'
  && typeof WebAssembly.promising === 'function';

// The module's instantiation with the fetch import wrapped in WebAssembly.Suspending
// (emscripten 3.1.6 knows no JSPI: its loader's instantiateWasm hook is the way in). The
// import is found by its library name (wasm/library.js); the fetchers are the Core's.
function jspiModule(wasmBinary) {
  const host = { fetchers: new Map(), error: null, suspending: false };
  let failed;
  const failure = new Promise((_, reject) => { failed = reject; });
  const instantiateWasm = (info, receive) => {
    const env = info.a || info.env || {};
    const key = Object.keys(env).find((k) => typeof env[k] === 'function' && env[k].name === '_sc_host_fetch');
    if (key) {
      host.suspending = true;
      env[key] = new WebAssembly.Suspending(async (pImage, group) => {
        const fetcher = host.fetchers.get(pImage >>> 0);
        if (!fetcher) return 1;
        try { await fetcher(group); return 0; } catch (err) { host.error = err; return 1; }
      });
    }
    const url = new URL('./syncore.wasm', import.meta.url);
    const bytes = () => fetch(url, { credentials: 'same-origin' }).then((r) => {
      if (!r.ok) throw new Error(`failed to load ${url} (HTTP ${r.status})`);
      return r.arrayBuffer();
    });
    const made = wasmBinary ? WebAssembly.instantiate(wasmBinary, info)
      : typeof WebAssembly.instantiateStreaming === 'function'
        ? WebAssembly.instantiateStreaming(fetch(url, { credentials: 'same-origin' }), info).catch(() => bytes().then((b) => WebAssembly.instantiate(b, info)))
        : bytes().then((b) => WebAssembly.instantiate(b, info));
    made.then((result) => receive(result.instance, result.module), failed);
    return {};
  };
  const options = wasmBinary ? { wasmBinary, instantiateWasm } : { instantiateWasm };
  return Promise.race([createSyncoreModule(options), failure]).then((m) => new Core(m, host));
}

function makeModule(wasmBinary) {
  if (jspiAvailable()) return jspiModule(wasmBinary);
  return createSyncoreModule(wasmBinary ? { wasmBinary } : {}).then((m) => new Core(m, null));
}

// Load (once per context) and return the Core. options.wasmBinary: an ArrayBuffer or
// Uint8Array of syncore.wasm (Node tests, or hosts that fetch it themselves).
export function loadCore(options = {}) {
  if (options.wasmBinary) {
    return makeModule(options.wasmBinary).then((core) => {
      if (!loadedCore) loadedCore = core;
      return core;
    });
  }
  if (!modulePromise) {
    modulePromise = makeModule(null).then((core) => (loadedCore = core)).catch((err) => {
      modulePromise = null;
      throw new SyncoreError(`syncore: cannot load syncore.wasm (${err && err.message || err})`, 'SC_STORAGE', { cause: err });
    });
  }
  return modulePromise;
}

// SPEC §2 normalizeTime, synchronous: the module must be loaded (await loadCore()).
export function normalizeTimeSync(value, assumeOffsetMinutes = 0) {
  if (!loadedCore) throw new SyncoreError('syncore: normalizeTime needs the module loaded (await ready first)', 'SC_INTERNAL');
  const typeError = (message) => Object.assign(new TypeError(message), { code: 'SC_BAD_INPUT' });
  if (value instanceof Date) value = value.getTime();
  if (typeof value !== 'string' && typeof value !== 'number') throw typeError(`normalizeTime: expected a string, a number or a Date, got ${value === null ? 'null' : typeof value}`);
  if (typeof value === 'number' && !Number.isFinite(value)) throw Object.assign(new RangeError('normalizeTime: not a finite time'), { code: 'SC_BAD_INPUT' });
  if (!Number.isInteger(assumeOffsetMinutes)) throw typeError('normalizeTime: assumeOffsetMinutes must be an integer');
  try {
    return loadedCore.normalizeTime(value, assumeOffsetMinutes);
  } catch (err) {
    if (err.code !== 'SC_BAD_INPUT') throw err;
    throw Object.assign(new RangeError(err.message), { code: 'SC_BAD_INPUT' });
  }
}

// The raw export behind one of emscripten's Module._name wrappers (before its first call
// the wrapper names it as Module["asm"]["<minified name>"]; after, it is the export).
function rawExport(m, name) {
  const f = m[`_${name}`];
  if (typeof f !== 'function') return null;
  const named = /Module\["asm"\]\["(\w+)"\]/.exec(String(f));
  if (named) return typeof m.asm[named[1]] === 'function' ? m.asm[named[1]] : null;
  return /\[native code\]/.test(String(f)) ? f : null;
}

class Core {
  constructor(m, host) {
    this.m = m;
    this.pSlot = m._malloc(16) >>> 0;       // out-pointer slots for every sync call (they never nest)
    this.pAsyncSlot = this.pSlot + 8;       // … and for the one suspendable call in flight
    this.hasCore = typeof m._sc_open === 'function';
    this.codes = this.hasCore ? JSON.parse(this.readString(m._sc_constants_json())) : {};
    this.writes = this.hasCore ? JSON.parse(this.readString(m._sc_methods_json())) : {};
    this.names = Object.fromEntries(Object.entries(this.codes).map(([name, value]) => [value, name]));
    this.chunkSize = m._sc_vfs_chunk_size();
    this.groupChunks = m._sc_vfs_group_chunks();
    // JSPI: the calls that may read the database, entered so that a fetch can suspend them.
    this.host = host;
    this.busy = false;
    this.gate = Promise.resolve();
    const promising = (name) => { const f = rawExport(m, name); return f ? WebAssembly.promising(f) : null; };
    this.async = host && host.suspending && this.hasCore
      ? { open: promising('sc_open'), call: promising('sc_call_with_body'), sqlOpen: promising('sc_sql_open'),
          sql: promising('sc_sql_exec') } : null;
    this.jspi = !!(this.async && Object.values(this.async).every(Boolean));
  }

  // Run an async entry into the module alone (one suspended call at a time per module;
  // sync entries meanwhile are refused: see checkIdle), fetches allowed for its span.
  suspendable(entry) {
    const run = this.gate.then(async () => {
      this.busy = true;
      this.host.error = null;
      this.m._sc_vfs_may_suspend(1);
      try { return await entry(); } finally { this.m._sc_vfs_may_suspend(0); this.busy = false; }
    });
    this.gate = run.catch(() => {});
    return run;
  }

  checkIdle() {
    if (this.busy) throw new SyncoreError('syncore: the module is waiting for storage; try again', 'SC_BUSY');
  }

  // The fetch failure behind the last call's error, if any (a stale group: see storage.js).
  takeFetchError() {
    const err = this.host && this.host.error;
    if (this.host) this.host.error = null;
    return err;
  }

  // ---------------------------------------------------------------- memory
  get heap() { return this.m.HEAPU8; }        // re-read after every call: memory may grow

  allocString(text) { return this.allocBytes(encoder.encode(text)); }

  // bytes, NUL-terminated, in a malloc'd block (free it).
  allocBytes(bytes) {
    const p = this.m._malloc(bytes.length + 1) >>> 0;
    if (!p) throw new SyncoreError('syncore: out of memory', this.names[7] || 'SC_NO_MEMORY');
    this.heap.set(bytes, p);
    this.heap[p + bytes.length] = 0;
    return p;
  }

  readString(p) {
    p >>>= 0;
    if (!p) return null;
    const heap = this.heap;
    const end = heap.indexOf(0, p);
    return decoder.decode(heap.subarray(p, end));
  }

  readPointer(slot) {
    return new DataView(this.heap.buffer).getUint32(slot, true);
  }

  // Read and free (with free) a C string written into an out slot.
  takeString(slot, freeFn) {
    const p = this.readPointer(slot);
    if (!p) return null;
    try { return this.readString(p); } finally { freeFn(p); }
  }

  error(code, message) {
    return new SyncoreError(message || `syncore: error ${code}`, this.names[code] || 'SC_INTERNAL');
  }

  requireCore() {
    if (!this.hasCore) throw new SyncoreError('syncore: this wasm build has no core (smoke build)', 'SC_INTERNAL');
  }

  // ---------------------------------------------------------------- the core's calls
  // Each call in two halves around the entry into the module: sync (entry's value) or async
  // (entry's promise, through WebAssembly.promising, for lazy images).
  open(config) { this.checkIdle(); return this.openCall(config, (...a) => this.m._sc_open(...a), false); }
  openAsync(config) { return this.suspendable(() => this.openCall(config, this.async.open, true)); }

  openCall(config, entry, isAsync) {
    this.requireCore();
    const m = this.m;
    const pConfig = this.allocString(JSON.stringify(config));
    const ppStore = isAsync ? this.pAsyncSlot : this.pSlot, ppzErr = ppStore + 4;
    const finish = (rc) => {
      const pStore = this.readPointer(ppStore);
      const message = this.takeString(ppzErr, (p) => m._sc_free(p));
      if (rc !== 0) {
        if (pStore) m._sc_close(pStore);
        throw this.error(rc, message);
      }
      return pStore;
    };
    new DataView(this.heap.buffer).setBigUint64(ppStore, 0n, true);
    return this.around(() => entry(pConfig, 0, ppStore, ppzErr), finish, () => m._free(pConfig), isAsync);
  }

  // finish(entry()) then cleanup(), synchronously or once entry's promise settled.
  around(entry, finish, cleanup, isAsync) {
    if (!isAsync) { try { return finish(entry()); } finally { cleanup(); } }
    return (async () => { try { return finish(await entry()); } finally { cleanup(); } })();
  }

  call(pStore, method, input) { this.checkIdle(); return this.callWith(pStore, method, input, (...a) => this.m._sc_call_with_body(...a), false); }
  callAsync(pStore, method, input) { return this.suspendable(() => this.callWith(pStore, method, input, this.async.call, true)); }

  // A server answer's body given as text (a pulled page) goes in beside the input, as it
  // came: not escaped into the input's JSON and unescaped again (sc_call_with_body).
  callWith(pStore, method, input, entry, isAsync) {
    this.requireCore();
    const m = this.m;
    let body = null;
    if (input && input.answer && typeof input.answer.body === 'string') {
      body = input.answer.body;
      input = { ...input, answer: { ...input.answer, body: null } };
    }
    const pMethod = this.allocString(method);
    const pInput = this.allocString(JSON.stringify(input === undefined ? {} : input));
    const pBody = body === null ? 0 : this.allocString(body);
    const ppzOut = isAsync ? this.pAsyncSlot : this.pSlot;
    const finish = (rc) => {
      const out = this.takeString(ppzOut, (p) => m._sc_free(p));
      if (rc !== 0) throw this.error(rc, this.readString(m._sc_errmsg(pStore)));
      return out === null ? null : JSON.parse(out);
    };
    new DataView(this.heap.buffer).setUint32(ppzOut, 0, true);
    return this.around(() => entry(pStore, pMethod, pInput, pBody, ppzOut), finish,
      () => { m._free(pMethod); m._free(pInput); if (pBody) m._free(pBody); }, isAsync);
  }

  closeAsync(pStore) { return this.suspendable(async () => this.close(pStore)); }

  close(pStore) {
    this.requireCore();
    const rc = this.m._sc_close(pStore);
    if (rc !== 0) throw this.error(rc, 'syncore: close failed');
  }

  // A string or a number goes in as it is (sc_normalize_time_raw: no JSON either way, no
  // allocation for a string that fits the scratch area); anything else as JSON.
  normalizeTime(value, assumeOffsetMinutes = 0) {
    this.requireCore();
    if (typeof value !== 'string' && typeof value !== 'number') return this.normalizeTimeJson(value, assumeOffsetMinutes);
    const m = this.m;
    const pText = this.pTime ||= m._malloc(TIME_TEXT + 25 + 160) >>> 0, pOut = pText + TIME_TEXT, pErr = pOut + 25;
    if (!pText) throw new SyncoreError('syncore: out of memory', 'SC_NO_MEMORY');
    let pValue = 0, pOwn = 0, length = 0;
    if (typeof value === 'string') {
      const { read, written } = encoder.encodeInto(value, this.heap.subarray(pText, pText + TIME_TEXT - 1));
      if (read === value.length) { this.heap[pText + written] = 0; pValue = pText; length = written; }
      else { const bytes = encoder.encode(value); pValue = pOwn = this.allocBytes(bytes); length = bytes.length; }   // (rare: over 255 bytes)
    }
    try {
      const rc = m._sc_normalize_time_raw(pValue, length, typeof value === 'number' ? value : 0, assumeOffsetMinutes | 0, pOut, pErr);
      if (rc !== 0) throw this.error(rc, this.readString(pErr));
      return String.fromCharCode.apply(null, this.heap.subarray(pOut, pOut + 24));
    } finally {
      if (pOwn) m._free(pOwn);
    }
  }

  normalizeTimeJson(value, assumeOffsetMinutes) {
    const m = this.m;
    const pValue = this.allocString(JSON.stringify(value));
    const ppzOut = this.pSlot, ppzErr = this.pSlot + 4;
    try {
      new DataView(this.heap.buffer).setBigUint64(ppzOut, 0n, true);
      const rc = m._sc_normalize_time(pValue, assumeOffsetMinutes | 0, ppzOut, ppzErr);
      const out = this.takeString(ppzOut, (p) => m._sc_free(p));
      const message = this.takeString(ppzErr, (p) => m._sc_free(p));
      if (rc !== 0) throw this.error(rc, message);
      return JSON.parse(out);
    } finally {
      m._free(pValue);
    }
  }

  // ---------------------------------------------------------------- VFS bridge
  image(name, create) {
    const pName = this.allocString(name);
    try { return this.m._sc_vfs_image(pName, create ? 1 : 0) >>> 0; } finally { this.m._free(pName); }
  }

  deleteImage(name) {
    const pName = this.allocString(name);
    try { return this.m._sc_vfs_delete(pName); } finally { this.m._free(pName); }
  }

  imageSize(pImage) { return this.m._sc_vfs_size(pImage) >>> 0; }
  lockLevel(pImage) { return this.m._sc_vfs_lock_level(pImage); }
  dirtyCount(pImage) { return this.m._sc_vfs_dirty_count(pImage); }
  clearDirty(pImage) { this.m._sc_vfs_clear_dirty(pImage); }

  // Replace the image (size + the given chunks). Chunks not given keep their bytes
  // (a full load passes every stored chunk; a refresh only the changed ones). Bytes longer
  // than a chunk fill the chunks after index too (a group, a whole file). A function instead
  // of bytes is a delta: it is handed the chunk as it is (a live view of the image, after
  // the resize) and changes it in place. On a lazy image only chunks of present groups are
  // written (an absent group is rebuilt from storage when it is fetched).
  loadImage(pImage, size, chunks) {
    if (this.m._sc_vfs_resize(pImage, size) !== 0) throw storageError('syncore: out of memory loading the database');
    const data = this.m._sc_vfs_data(pImage) >>> 0, cs = this.chunkSize, gc = this.groupChunks;
    // A lazy image keeps its groups apart (no data pointer): a chunk of an absent group is
    // skipped (rebuilt when the group is fetched), one of a present group goes into it.
    const at = data || !size ? (index) => data + index * cs : (index) => {
      const g = Math.floor(index / gc);
      return this.groupPresent(pImage, g) ? this.groupPtr(pImage, g) + (index % gc) * cs : -1;
    };
    for (const [index, bytes] of chunks) {
      const offset = index * cs, p = offset < size ? at(index) : -1;
      if (p < 0) continue;
      const heap = this.heap;   // after groupPtr: memory may grow
      if (typeof bytes === 'function') { bytes(heap.subarray(p, p + Math.min(cs, size - offset))); continue; }
      // (a whole image may be handed as runs of several chunks; a group's chunks one by one)
      const length = Math.min(bytes.byteLength, data ? size - offset : Math.min(cs, size - offset));
      heap.set(new Uint8Array(bytes.buffer || bytes, bytes.byteOffset || 0, length), p);
    }
  }

  keepOriginals(pImage) {
    if (this.m._sc_vfs_keep_originals(pImage) !== 0) throw storageError('syncore: out of memory opening the database');
  }

  dirtyRecord(pImage) {
    const m = this.m;
    const length = m._sc_vfs_encode(pImage, this.pSlot);
    if (length < 0) throw storageError('syncore: out of memory saving the database');
    const pOut = this.readPointer(this.pSlot);
    try {
      const record = this.heap.slice(pOut, pOut + length).buffer, view = new DataView(record), indexes = [];
      for (let i = 0, count = view.getUint32(0, true); i < count; i++) indexes.push(view.getUint32(4 + i * 16, true));
      return { record, indexes };
    } finally { m._free(pOut); }
  }

  dirtyChunks(pImage) {
    const m = this.m, size = this.imageSize(pImage), out = [];
    const base = m._sc_vfs_data(pImage) >>> 0;
    for (let i = m._sc_vfs_next_dirty(pImage, 0); i >= 0; i = m._sc_vfs_next_dirty(pImage, i + 1)) {
      const offset = i * this.chunkSize;
      const end = Math.min(size, offset + this.chunkSize);
      out.push([i, this.heap.slice(base + offset, base + end)]);
    }
    return out;
  }

  // ---------------------------------------------------------------- raw SQL (tests, diagnostics)
  // (SQLite reads the file's header when it opens it: on a lazy image, sqlOpenAsync.)
  sqlOpen(name) { this.checkIdle(); return this.sqlOpenCall(name, (...a) => this.m._sc_sql_open(...a), false); }
  sqlOpenAsync(name) { return this.suspendable(() => this.sqlOpenCall(name, this.async.sqlOpen, true)); }

  sqlOpenCall(name, entry, isAsync) {
    const pName = this.allocString(name), slot = isAsync ? this.pAsyncSlot : this.pSlot;
    const finish = (rc) => {
      const pDb = this.readPointer(slot);
      if (rc !== 0) { if (pDb) this.m._sc_sql_close(pDb); throw storageError(`syncore: cannot open ${name} (SQLite ${rc})`); }
      return pDb;
    };
    return this.around(() => entry(pName, slot), finish, () => this.m._free(pName), isAsync);
  }

  sql(pDb, text) { this.checkIdle(); return this.sqlCall(pDb, text, (...a) => this.m._sc_sql_exec(...a), false); }
  sqlAsync(pDb, text) { return this.suspendable(() => this.sqlCall(pDb, text, this.async.sql, true)); }

  sqlCall(pDb, text, entry, isAsync) {
    const pText = this.allocString(text), slot = isAsync ? this.pAsyncSlot : this.pSlot;
    const finish = (rc) => {
      const out = this.takeString(slot, (p) => this.m._free(p));
      if (rc !== 0) throw storageError(`SQLite ${rc}: ${out}`);
      return JSON.parse(out);
    };
    new DataView(this.heap.buffer).setUint32(slot, 0, true);
    return this.around(() => entry(pDb, pText, slot), finish, () => this.m._free(pText), isAsync);
  }

  // ---------------------------------------------------------------- lazy images
  setFetcher(pImage, fetcher) { if (this.host) { if (fetcher) this.host.fetchers.set(pImage, fetcher); else this.host.fetchers.delete(pImage); } }
  setLazy(pImage, size) {
    if (this.m._sc_vfs_set_lazy(pImage, size) !== 0) throw storageError('syncore: out of memory opening the database');
  }
  groupPresent(pImage, group) { return this.m._sc_vfs_group_present(pImage, group) !== 0; }
  setPresent(pImage, group) { this.m._sc_vfs_set_present(pImage, group); }
  absentCount(pImage) { return this.m._sc_vfs_absent_count(pImage); }
  // A lazy image keeps each group apart: the address of group's bytes (allocated if needed).
  groupPtr(pImage, group) {
    const p = this.m._sc_vfs_group_ptr(pImage, group) >>> 0;
    if (!p) throw storageError('syncore: out of memory reading the database');
    return p;
  }
  residentBytes(pImage) { return this.m._sc_vfs_resident_bytes(pImage); }
  trim(pImage, maxBytes) { return this.m._sc_vfs_trim(pImage, maxBytes); }
  // A lazy image with every group present made contiguous (true), or left as it is (false:
  // a group absent, or no memory).
  setWhole(pImage) { return this.m._sc_vfs_set_whole(pImage) === 0; }
  // Read tracking (quick open): on forgets the marks; tracked(g) says whether group g was read.
  trackReads(pImage, on) { return this.m._sc_vfs_track(pImage, on ? 1 : 0) === 0; }
  tracked(pImage, group) { return this.m._sc_vfs_tracked(pImage, group) !== 0; }

  sqlClose(pDb) { this.m._sc_sql_close(pDb); }
}
