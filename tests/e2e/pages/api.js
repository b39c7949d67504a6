// api.js — what the browser tests drive in every context (window, dedicated worker,
// service worker): open a store through core.js + storage.js, run SQL or core
// calls on it, and write loops that report each write whose promise resolved.
import { loadCore } from '/js-glue/core.js';
import { openDatabase, deleteStoredDatabase } from '/js-glue/storage.js';
import { IdbPersister } from '/js-glue/storage-idb.js';

// ?lazy on the page (run.mjs --lazy): every IndexedDB store that is not empty opens lazily
// (where the browser has JSPI), so the whole suite runs on lazy images too.
const LAZY_MIN = typeof location !== 'undefined' && /[?&]lazy\b/.test(location.search) ? 1 : undefined;

export function makeApi(report = () => {}) {
  const dbs = new Map();
  const remote = [];
  const db = (name) => {
    if (!dbs.has(name)) throw new Error(`test: ${name} not open`);
    return dbs.get(name);
  };
  return {
    async open(name, storage = 'auto', config = {}, lazyMinBytes = LAZY_MIN) {
      const core = await loadCore();
      const d = await openDatabase(core, { name, storage, config, lazyMinBytes });
      d.onRemoteCommit((event) => remote.push(event));
      dbs.set(name, d);
      return d.backend;
    },
    sql: (name, text) => db(name).sql(text),
    call: (name, method, input) => db(name).call(method, input),
    read: (name, method, input) => db(name).read(method, input),
    refresh: (name) => db(name).refresh(),
    remoteCommits: () => remote.length,
    async close(name) { await db(name).close(); dbs.delete(name); },
    deleteStored: (name) => deleteStoredDatabase(name),
    // Insert rows (writer, i) for i in [from, to); report(i) after each resolved write.
    async writeLoop(name, writer, from, to, pad = 0) {
      for (let i = from; i < to; i++) {
        await db(name).sql(`INSERT INTO t(writer, i, pad) VALUES('${writer}', ${i}, randomblob(${pad}))`);
        report(writer, i);
      }
      return to - from;
    },
    // Like writeLoop, but a rejected write is counted instead of ending the loop.
    async writeLoopTolerant(name, writer, from, to) {
      const failed = [];
      for (let i = from; i < to; i++) {
        try {
          await db(name).sql(`INSERT INTO t(writer, i, pad) VALUES('${writer}', ${i}, randomblob(200))`);
          report(writer, i);
        } catch (e) { failed.push(e.code); }
      }
      return failed;
    },
    // Core puts of records {id: writer-i, writer, i} into collection notes.
    async putLoop(name, writer, from, to) {
      for (let i = from; i < to; i++) {
        await db(name).call('put', { collection: 'notes', record: { id: `${writer}-${i}`, writer, i } });
        report(writer, i);
      }
      return to - from;
    },
    // The image this context holds: txId and an FNV-1a digest of its bytes.
    async image(name) {
      const { storage } = db(name);
      const bytes = await storage.serialize(() => storage.imageBytes()), size = bytes.length;
      let hash = 2166136261;
      for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ bytes[i], 16777619) >>> 0;
      return { txId: storage.txId, size, digest: hash };
    },
    // A lazy image's groups: how many the image has, how many are not read in yet.
    groups(name) {
      const { core, storage } = db(name);
      const total = Math.ceil(core.imageSize(storage.pImage) / (core.groupChunks * core.chunkSize));
      return { lazy: !!storage.lazy, quick: !!storage.quick, jspi: core.jspi, total, absent: core.absentCount(storage.pImage), txId: storage.txId,
        resident: core.residentBytes(storage.pImage) };
    },
    // A lazy image's page cache size (bytes).
    setCache(name, bytes) { db(name).storage.cacheBytes = bytes; },
    // Stop hearing other contexts' commit broadcasts (to make this context fall behind).
    deafen(name) { db(name).storage.channel.onmessage = null; },
    // Stop announcing this context's commits (others then only learn of them by their CAS).
    mute(name) { db(name).storage.channel.postMessage = () => {}; },
    // What the IndexedDB of a store holds: meta, the log's txIds, the number of chunks.
    idbState: (name) => rawIdb(`syncore:${name}`, async (idb) => {
      const tx = idb.transaction(['meta', 'groups', 'log'], 'readonly');
      const get = (req) => new Promise((resolve, reject) => { req.onsuccess = () => resolve(req.result); req.onerror = () => reject(req.error); });
      return { meta: await get(tx.objectStore('meta').get('meta')), log: await get(tx.objectStore('log').getAllKeys()),
        groups: await get(tx.objectStore('groups').count()), version: idb.version };
    }),
    // Write the image of open store src as a store dst in an older layout, as those
    // IndexedDB persisters wrote it: version 1 (4 KiB chunks + meta, no log) or 2 (the same
    // chunks, an empty log, meta with its checkpoint).
    async writeLegacyCopy(src, dst, version = 1) {
      const { core, storage } = db(src);
      const bytes = await storage.serialize(() => storage.imageBytes()), size = bytes.length, chunkSize = core.chunkSize;
      const idb = await new Promise((resolve, reject) => {
        const req = indexedDB.open(`syncore:${dst}`, version);
        req.onupgradeneeded = () => {
          req.result.createObjectStore('meta');
          req.result.createObjectStore('chunks').createIndex('tx', 'tx');
          if (version >= 2) req.result.createObjectStore('log');
        };
        req.onsuccess = () => resolve(req.result); req.onerror = () => reject(req.error);
      });
      await new Promise((resolve, reject) => {
        const tx = idb.transaction(['meta', 'chunks'], 'readwrite');
        for (let at = 0; at < size; at += chunkSize) tx.objectStore('chunks').put({ tx: 7, data: bytes.slice(at, at + chunkSize) }, at / chunkSize);
        tx.objectStore('meta').put(version >= 2 ? { txId: 7, size, chunkSize, base: 7, baseSize: size } : { txId: 7, size, chunkSize }, 'meta');
        tx.oncomplete = resolve; tx.onabort = () => reject(tx.error);
      });
      idb.close();
      return size;
    },
    // A second persister on store name, loaded now (its base is the current checkpoint).
    async stalePersister(name) {
      const p = await IdbPersister.open(name);
      const state = await p.load();
      (self.staleP ||= new Map()).set(name, { p, txId: state.txId, size: state.steps[0].size });
      return { base: p.base, txId: state.txId };
    },
    // Let that persister checkpoint from its (by now stale) base; resolves when it is done.
    async staleCheckpoint(name) {
      const { p, txId, size } = self.staleP.get(name);
      p.checkpoint(txId, size, 4096, (offset, end) => new Uint8Array(Math.max(0, Math.min(size, end) - offset)));
      await p.flush();
      p.close();
    },
    // Put a group value no meta names (as a checkpoint between its two transactions leaves it).
    putGroupValue: (name, key) => rawIdb(`syncore:${name}`, (idb) => new Promise((resolve, reject) => {
      const tx = idb.transaction('groups', 'readwrite');
      tx.objectStore('groups').put(new ArrayBuffer(8), key);
      tx.oncomplete = resolve; tx.onabort = () => reject(tx.error);
    })),
    groupKeys: (name) => rawIdb(`syncore:${name}`, (idb) => new Promise((resolve, reject) => {
      const req = idb.transaction('groups').objectStore('groups').getAllKeys();
      req.onsuccess = () => resolve(req.result); req.onerror = () => reject(req.error);
    })),
    changedIds: () => remote.flatMap((e) => (e.changed || []).flatMap((c) => c.ids)),
    error: async (fn) => { try { await fn(); return null; } catch (e) { return { code: e.code, message: e.message }; } },
    async openError(name, storage) {
      try { await this.open(name, storage); return null; } catch (e) { return { code: e.code, message: e.message }; }
    },
  };
}

// Run fn(db) on a plain connection to an existing IndexedDB database, then close it.
async function rawIdb(dbName, fn) {
  const idb = await new Promise((resolve, reject) => {
    const req = indexedDB.open(dbName);
    req.onsuccess = () => resolve(req.result); req.onerror = () => reject(req.error);
  });
  try { return await fn(idb); } finally { idb.close(); }
}

// Serve the api over postMessage ({id, method, args} → {id, value | error}).
export function serveApi(api, post) {
  return async (message) => {
    const { id, method, args } = message;
    try {
      post({ id, value: await api[method](...args) });
    } catch (e) {
      post({ id, error: { code: e.code, message: e.message, name: e.name } });
    }
  };
}
