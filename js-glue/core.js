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
//   core.call(pStore, method, input)  sc_call → parsed JSON; throws SyncoreError(message, code)
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
const decoder = new TextDecoder();
let modulePromise = null;
let loadedCore = null;      // the context's Core once loaded (normalizeTimeSync needs it)

// Load (once per context) and return the Core. options.wasmBinary: an ArrayBuffer or
// Uint8Array of syncore.wasm (Node tests, or hosts that fetch it themselves).
export function loadCore(options = {}) {
  if (options.wasmBinary) {
    return createSyncoreModule({ wasmBinary: options.wasmBinary }).then((m) => {
      const core = new Core(m);
      if (!loadedCore) loadedCore = core;
      return core;
    });
  }
  if (!modulePromise) {
    modulePromise = createSyncoreModule({}).then((m) => (loadedCore = new Core(m))).catch((err) => {
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

class Core {
  constructor(m) {
    this.m = m;
    this.pSlot = m._malloc(8) >>> 0;        // out-pointer slots for every call (calls never nest)
    this.hasCore = typeof m._sc_open === 'function';
    this.codes = this.hasCore ? JSON.parse(this.readString(m._sc_constants_json())) : {};
    this.writes = this.hasCore ? JSON.parse(this.readString(m._sc_methods_json())) : {};
    this.names = Object.fromEntries(Object.entries(this.codes).map(([name, value]) => [value, name]));
    this.chunkSize = m._sc_vfs_chunk_size();
  }

  // ---------------------------------------------------------------- memory
  get heap() { return this.m.HEAPU8; }        // re-read after every call: memory may grow

  allocString(text) {
    const bytes = encoder.encode(text);
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
  open(config) {
    this.requireCore();
    const m = this.m;
    const pConfig = this.allocString(JSON.stringify(config));
    const ppStore = this.pSlot, ppzErr = this.pSlot + 4;
    try {
      new DataView(this.heap.buffer).setBigUint64(ppStore, 0n, true);
      const rc = m._sc_open(pConfig, 0, ppStore, ppzErr);
      const pStore = this.readPointer(ppStore);
      const message = this.takeString(ppzErr, (p) => m._sc_free(p));
      if (rc !== 0) {
        if (pStore) m._sc_close(pStore);
        throw this.error(rc, message);
      }
      return pStore;
    } finally {
      m._free(pConfig);
    }
  }

  call(pStore, method, input) {
    this.requireCore();
    const m = this.m;
    const pMethod = this.allocString(method);
    const pInput = this.allocString(JSON.stringify(input === undefined ? {} : input));
    const ppzOut = this.pSlot;
    try {
      new DataView(this.heap.buffer).setUint32(ppzOut, 0, true);
      const rc = m._sc_call(pStore, pMethod, pInput, ppzOut);
      const out = this.takeString(ppzOut, (p) => m._sc_free(p));
      if (rc !== 0) throw this.error(rc, this.readString(m._sc_errmsg(pStore)));
      return out === null ? null : JSON.parse(out);
    } finally {
      m._free(pMethod);
      m._free(pInput);
    }
  }

  close(pStore) {
    this.requireCore();
    const rc = this.m._sc_close(pStore);
    if (rc !== 0) throw this.error(rc, 'syncore: close failed');
  }

  normalizeTime(value, assumeOffsetMinutes = 0) {
    this.requireCore();
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
  // the resize) and changes it in place.
  loadImage(pImage, size, chunks) {
    if (this.m._sc_vfs_resize(pImage, size) !== 0) throw storageError('syncore: out of memory loading the database');
    const base = this.m._sc_vfs_data(pImage) >>> 0;
    const heap = this.heap;
    for (const [index, bytes] of chunks) {
      const offset = index * this.chunkSize;
      if (offset >= size) continue;
      if (typeof bytes === 'function') {
        bytes(heap.subarray(base + offset, base + Math.min(size, offset + this.chunkSize)));
        continue;
      }
      const n = Math.min(bytes.byteLength, size - offset);
      heap.set(new Uint8Array(bytes.buffer || bytes, bytes.byteOffset || 0, n), base + offset);
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
  sqlOpen(name) {
    const pName = this.allocString(name);
    try {
      const rc = this.m._sc_sql_open(pName, this.pSlot);
      const pDb = this.readPointer(this.pSlot);
      if (rc !== 0) { if (pDb) this.m._sc_sql_close(pDb); throw storageError(`syncore: cannot open ${name} (SQLite ${rc})`); }
      return pDb;
    } finally { this.m._free(pName); }
  }

  sql(pDb, text) {
    const pText = this.allocString(text);
    try {
      new DataView(this.heap.buffer).setUint32(this.pSlot, 0, true);
      const rc = this.m._sc_sql_exec(pDb, pText, this.pSlot);
      const out = this.takeString(this.pSlot, (p) => this.m._free(p));
      if (rc !== 0) throw storageError(`SQLite ${rc}: ${out}`);
      return JSON.parse(out);
    } finally { this.m._free(pText); }
  }

  sqlClose(pDb) { this.m._sc_sql_close(pDb); }
}
