// storage-opfs.js — OPFS persistence of a store's database image, for stores kept in
// one dedicated worker (SPEC §5): synchronous access handles on two files in the origin
// private file system, syncore/<name>.db (the SQLite image itself) and
// syncore/<name>.journal (a redo record of the last commit). A commit writes the record
// of its dirty chunks to the journal and flushes it (the commit point), then writes the
// chunks into the image and flushes that; opening replays a valid journal, so a crash
// anywhere leaves the previous or the new state whole. Sync access handles are
// exclusive: a second worker opening the same store gets SC_STORAGE. The commit
// protocol around it (locks, CAS, reload) is storage.js's Storage; this module only
// implements its persister interface: load(), changesSince(txId), commit(), close().

import { storageError } from './core.js';

const MAGIC = 0x314a4353;   // 'SCJ1'
const HEADER = 32;          // magic u32, count u32, chunkSize u32, checksum u32, txId f64, size f64

export function opfsAvailable() {
  return typeof FileSystemSyncAccessHandle === 'function'
    && typeof DedicatedWorkerGlobalScope === 'function' && self instanceof DedicatedWorkerGlobalScope
    && typeof navigator !== 'undefined' && navigator.storage && typeof navigator.storage.getDirectory === 'function';
}

function fnv1a(hash, bytes) {
  for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ bytes[i], 16777619) >>> 0;
  return hash;
}

class OpfsPersister {
  constructor(name, image, journal) {
    this.name = name;
    this.image = image;
    this.journal = journal;
    this.txId = 0;
    this.wants = 'chunks';
  }

  // Read the journal record: { txId, size, chunkSize, chunks } or null when torn/absent.
  readJournal() {
    const length = this.journal.getSize();
    if (length < HEADER) return null;
    const bytes = new Uint8Array(length);
    this.journal.read(bytes, { at: 0 });
    const view = new DataView(bytes.buffer);
    if (view.getUint32(0, true) !== MAGIC) return null;
    const count = view.getUint32(4, true), chunkSize = view.getUint32(8, true), checksum = view.getUint32(12, true);
    const txId = view.getFloat64(16, true), size = view.getFloat64(24, true);
    let offset = HEADER + count * 4;
    if (offset > length) return null;
    const chunks = [];
    for (let i = 0; i < count; i++) {
      const index = view.getUint32(HEADER + i * 4, true);
      const n = Math.max(0, Math.min(chunkSize, size - index * chunkSize));
      if (offset + n > length) return null;
      chunks.push([index, bytes.subarray(offset, offset + n)]);
      offset += n;
    }
    const sum = fnv1a(fnv1a(2166136261, bytes.subarray(16, 32)), bytes.subarray(HEADER, offset));
    return sum === checksum ? { txId, size, chunkSize, chunks } : null;
  }

  apply(record) {
    for (const [index, data] of record.chunks) this.image.write(data, { at: index * record.chunkSize });
    this.image.truncate(record.size);
    this.image.flush();
  }

  async load() {
    const record = this.readJournal();
    if (record) { this.apply(record); this.txId = record.txId; }
    const size = this.image.getSize();
    const bytes = new Uint8Array(size);
    this.image.read(bytes, { at: 0 });
    return { txId: this.txId, size, chunks: [[0, bytes]] };   // the whole file from chunk 0
  }

  async changesSince() {
    return { txId: this.txId, size: null, chunks: [] };   // exclusive: nobody else writes
  }

  async commit(baseTxId, size, chunks, chunkSize) {
    const txId = baseTxId + 1;
    try {
      const body = chunks.reduce((n, [, data]) => n + data.byteLength, 0);
      const bytes = new Uint8Array(HEADER + chunks.length * 4 + body);
      const view = new DataView(bytes.buffer);
      view.setUint32(0, MAGIC, true);
      view.setUint32(4, chunks.length, true);
      view.setUint32(8, chunkSize, true);
      view.setFloat64(16, txId, true);
      view.setFloat64(24, size, true);
      let offset = HEADER + chunks.length * 4;
      chunks.forEach(([index, data], i) => {
        view.setUint32(HEADER + i * 4, index, true);
        bytes.set(data, offset);
        offset += data.byteLength;
      });
      view.setUint32(12, fnv1a(fnv1a(2166136261, bytes.subarray(16, 32)), bytes.subarray(HEADER)), true);
      this.journal.write(bytes, { at: 0 });
      this.journal.truncate(bytes.length);
      this.journal.flush();                                   // the commit point
      this.apply({ chunks, chunkSize, size });
    } catch (err) {
      throw storageError(`syncore: cannot save "${this.name}" to OPFS: ${err && err.name === 'QuotaExceededError' ? 'storage quota exceeded' : err && err.message}`, err);
    }
    this.txId = txId;
    return txId;
  }

  close() {
    try { this.image.close(); } catch (_) { /* already closed */ }
    try { this.journal.close(); } catch (_) { /* already closed */ }
  }
}

export async function openOpfsPersister(name) {
  if (!opfsAvailable()) throw storageError('syncore: storage "opfs" needs a dedicated worker with OPFS sync access handles');
  const handles = [];
  try {
    const root = await navigator.storage.getDirectory();
    const dir = await root.getDirectoryHandle('syncore', { create: true });
    for (const file of [`${name}.db`, `${name}.journal`]) {
      const handle = await dir.getFileHandle(file, { create: true });
      handles.push(await handle.createSyncAccessHandle());
    }
  } catch (err) {
    for (const h of handles) h.close();
    const busy = err && err.name === 'NoModificationAllowedError';
    throw storageError(busy ? `syncore: OPFS store "${name}" is open in another worker (OPFS allows one)`
      : `syncore: cannot open OPFS store "${name}": ${err && err.message}`, err);
  }
  return new OpfsPersister(name, handles[0], handles[1]);
}
