// bench.js — the in-page half of `make bench-client` (run.mjs drives it): the same work on
// syncore (storage 'idb'), PouchDB 9 (its default 'idb' adapter, pouchdb-find for queries)
// and raw IndexedDB (the floor: one readwrite transaction per write). Every system is behind
// one small adapter so each phase runs the identical loop; results are milliseconds from
// performance.now(). Correctness of the work is checked (row counts, read-back values) so a
// fast wrong answer cannot pass as a fast one; speed itself is never asserted.
//
// window.runWork(system, { n, queries, tag }) → { single, bulk, update, query, ... } (ms, bytes)
// window.coldOpen(system, { n, tag })         → ms for open + first read of the store runWork filled

import * as syncore from '../../js-glue/syncore.js';

const FLOCKS = 40;                                   // a query by flockId returns about n / 40 rows
const COLL = 'daily';
const COLLECTIONS = { [COLL]: { strategy: 'lww', indexes: ['flockId', 'date'] } };

// EGGlogU daily production rows: one per flock per day, id = `${flockId}:${date}`.
export function makeRecords(n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const day = Math.floor(i / FLOCKS);
    const flockId = `flock-${String(i % FLOCKS).padStart(2, '0')}`;
    const date = new Date(Date.UTC(2025, 0, 1) + day * 86400000).toISOString().slice(0, 10);
    out.push({ id: `${flockId}:${date}`, flockId, date, eggs: 180 + ((i * 37) % 60),
               notes: i % 3 ? '' : 'two cracked, nest boxes cleaned' });
  }
  return out;
}
const flockOf = (q) => `flock-${String(q % FLOCKS).padStart(2, '0')}`;

function check(cond, what) { if (!cond) throw new Error(`bench: ${what}`); }

// ---------------------------------------------------------------- adapters

function syncoreAdapter() {
  let s;
  return {
    async open(name) { s = await syncore.openStore({ name, storage: 'idb', collections: COLLECTIONS }); },
    put: (r) => s.put(COLL, r),
    async bulk(rs) {
      const out = await s.importLegacy({ [COLL]: rs }, { [COLL]: COLL });
      check(out.imported[COLL] === rs.length, `syncore imported ${JSON.stringify(out.imported)}`);
    },
    update: (id, eggs) => s.patch(COLL, id, { eggs }),
    query: (flockId) => s.list(COLL, { where: { flockId } }),
    get: (id) => s.get(COLL, id),
    close: () => s.close(),
  };
}

// PouchDB opens its transactions with the browser's default durability, which Chromium 121+
// treats as 'relaxed' (no flush before `complete`). 'pouchdb-strict' forces 'strict' on its
// readwrite transactions, the same promise syncore and the floor make; each system runs in
// a page of its own, so the patch touches nothing else.
function forceStrictDurability() {
  const orig = IDBDatabase.prototype.transaction;
  IDBDatabase.prototype.transaction = function transaction(stores, mode, options) {
    return orig.call(this, stores, mode, mode === 'readwrite' ? { ...options, durability: 'strict' } : options);
  };
}

function pouchAdapter(strict) {
  if (strict && !window.strictPatched) { forceStrictDurability(); window.strictPatched = true; }
  let db;
  const toDoc = ({ id, ...rest }) => ({ _id: id, ...rest });
  return {
    async open(name) { db = new window.PouchDB(name, { adapter: 'idb' }); await db.info(); },
    put: (r) => db.put(toDoc(r)),
    async bulk(rs) {
      const out = await db.bulkDocs(rs.map(toDoc));
      check(out.every((x) => x.ok), 'pouchdb bulkDocs had errors');
    },
    async update(id, eggs) { const d = await db.get(id); d.eggs = eggs; await db.put(d); },
    // Not timed as queries: the index definition and its first build over the stored docs.
    async prepareQuery() {
      await db.createIndex({ index: { fields: ['flockId'] } });
      await db.find({ selector: { flockId: flockOf(0) } });
    },
    // find's default limit is 25: ask for every match, like the others return.
    query: async (flockId) => (await db.find({ selector: { flockId }, limit: 1e9 })).docs,
    // The alternative a PouchDB app designs for: the flock as an _id prefix, no secondary index.
    queryAlt: async (flockId) => (await db.allDocs({ startkey: `${flockId}:`, endkey: `${flockId}:\ufff0`, include_docs: true })).rows,
    get: (id) => db.get(id),
    close: () => db.close(),
  };
}

function idbAdapter(durability) {
  let db;
  const done = (tx) => new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve(); tx.onerror = () => reject(tx.error); tx.onabort = () => reject(tx.error);
  });
  const req = (r) => new Promise((resolve, reject) => { r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
  const rw = () => db.transaction(COLL, 'readwrite', { durability });
  return {
    async open(name) {
      const r = indexedDB.open(name, 1);
      r.onupgradeneeded = () => r.result.createObjectStore(COLL, { keyPath: 'id' }).createIndex('flockId', 'flockId');
      db = await req(r);
    },
    async put(rec) { const tx = rw(); tx.objectStore(COLL).put(rec); await done(tx); },
    async bulk(rs) { const tx = rw(); const st = tx.objectStore(COLL); for (const r of rs) st.put(r); await done(tx); },
    async update(id, eggs) {
      const tx = rw(); const st = tx.objectStore(COLL);
      const g = st.get(id);
      g.onsuccess = () => { const rec = g.result; rec.eggs = eggs; st.put(rec); };
      await done(tx);
    },
    query: (flockId) => req(db.transaction(COLL, 'readonly').objectStore(COLL).index('flockId').getAll(flockId)),
    get: (id) => req(db.transaction(COLL, 'readonly').objectStore(COLL).get(id)),
    async close() { db.close(); },
  };
}

const ADAPTERS = { syncore: syncoreAdapter, pouchdb: () => pouchAdapter(false), 'pouchdb-strict': () => pouchAdapter(true),
                   idb: () => idbAdapter('strict'), 'idb-relaxed': () => idbAdapter('relaxed') };

// What each system hands IndexedDB: put/add calls and the bytes of their values (typed
// arrays and blobs by length, strings by length, numbers 8), to explain write amplification.
const written = { calls: 0, bytes: 0 };
function sizeOf(v, depth = 0) {
  if (v === null || v === undefined || depth > 8) return 0;
  if (typeof v === 'string') return v.length;
  if (typeof v === 'number' || typeof v === 'boolean') return 8;
  if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return v.byteLength;
  if (v instanceof Blob) return v.size;
  if (typeof v === 'object') { let n = 0; for (const k in v) n += k.length + sizeOf(v[k], depth + 1); return n; }
  return 0;
}
for (const m of ['put', 'add']) {
  const orig = IDBObjectStore.prototype[m];
  IDBObjectStore.prototype[m] = function counted(value, key) { written.calls++; written.bytes += sizeOf(value); return orig.call(this, value, key); };
}

// ---------------------------------------------------------------- phases

async function usage() {
  const e = await navigator.storage.estimate();
  return e.usage;
}

async function timed(fn) { const t = performance.now(); await fn(); return performance.now() - t; }

window.runWork = async (system, { n, queries, tag }) => {
  const recs = makeRecords(n);
  const expectRows = recs.filter((r) => r.flockId === flockOf(0)).length;
  const res = {};
  const u0 = await usage();

  // (b) bulk load into a store of its own, first, so its size is measured alone.
  let a = ADAPTERS[system]();
  await a.open(`bulk-${tag}`);
  res.bulk = await timed(() => a.bulk(recs));
  check((await a.get(recs[n - 1].id)).eggs === recs[n - 1].eggs, `${system}: bulk read-back`);
  await a.close();
  const u1 = await usage();
  res.sizeBulk = u1 - u0;

  // (a) N single durable writes, each awaited; (c) N updates of them; (d) queries.
  a = ADAPTERS[system]();
  await a.open(`main-${tag}`);
  const w0 = { ...written };
  res.single = await timed(async () => { for (const r of recs) await a.put(r); });
  res.singlePuts = (written.calls - w0.calls) / n;
  res.singleBytes = (written.bytes - w0.bytes) / n;
  res.update = await timed(async () => { for (const r of recs) await a.update(r.id, r.eggs + 1); });
  check((await a.get(recs[7].id)).eggs === recs[7].eggs + 1, `${system}: update read-back`);
  if (a.prepareQuery) res.queryPrepare = await timed(() => a.prepareQuery());
  const run = (fn) => timed(async () => {
    for (let q = 0; q < queries; q++) {
      const rows = await fn(flockOf(q));
      check(rows.length === expectRows, `${system}: query returned ${rows.length} rows, expected ${expectRows}`);
    }
  });
  res.query = await run(a.query);
  if (a.queryAlt) res.queryAlt = await run(a.queryAlt);
  res.rows = expectRows;
  await a.close();
  res.sizeMain = (await usage()) - u1;
  return res;
};

// (e) in a fresh page: open the store runWork filled and read one record. syncore's module
// load (fetch + compile, before openStore can start) is reported apart as loadedAt.syncore.
window.coldOpen = async (system, { n, tag }) => {
  const want = makeRecords(n)[Math.floor(n / 2)];
  const a = ADAPTERS[system]();
  let rec;
  const ms = await timed(async () => { await a.open(`main-${tag}`); rec = await a.get(want.id); });
  check(rec && rec.eggs === want.eggs + 1, `${system}: cold read got ${JSON.stringify(rec)}`);
  await a.close();
  return ms;
};

await syncore.ready;
window.loadedAt.syncore = performance.now();
window.benchReady = true;
