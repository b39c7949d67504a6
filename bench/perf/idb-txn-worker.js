// idb-txn-worker.js — what one strict IndexedDB transaction of each shape costs in this
// browser, without syncore: the floor under syncore's durable write (a commit is `meta` read +
// log record put + `meta` put, docs/STORAGE.md) next to raw IndexedDB's one put. p50 of 200,
// three rounds, in a dedicated worker. Run by idb-txn.mjs.
const db = await new Promise((resolve, reject) => {
  const r = indexedDB.open(`idb-txn-${Date.now()}`, 1);
  r.onupgradeneeded = () => { for (const s of ['rec', 'meta', 'log']) r.result.createObjectStore(s); };
  r.onsuccess = () => resolve(r.result);
  r.onerror = () => reject(r.error);
});
const record = { id: 'x', data: 'y'.repeat(300) };
const logRecord = { size: 100000, data: new Uint8Array(1500).buffer };   // a one-record commit's delta
const meta = { txId: 1, size: 100000, chunkSize: 4096, base: 0, baseSize: 0, groups: Array.from({ length: 40 }, (_, i) => i), hot: [] };
const strict = (stores, body) => new Promise((resolve, reject) => {
  const tx = db.transaction(stores, 'readwrite', { durability: 'strict' });
  body(tx);
  tx.oncomplete = resolve;
  tx.onabort = () => reject(tx.error);
});
const shapes = {
  'one put (raw IndexedDB)': (i) => strict(['rec'], (tx) => { tx.objectStore('rec').put(record, i); }),
  'two puts (record + outbox entry)': (i) => strict(['rec'], (tx) => { tx.objectStore('rec').put(record, i); tx.objectStore('rec').put(record, -i - 1); }),
  'log put + meta put': (i) => strict(['meta', 'log'], (tx) => { tx.objectStore('log').put(logRecord, i); tx.objectStore('meta').put(meta, 'meta'); }),
  'meta get + log put + meta put, commit() after the get (syncore)': (i) => strict(['meta', 'log'], (tx) => {
    const read = tx.objectStore('meta').get('meta');
    tx.objectStore('log').put(logRecord, i);
    tx.objectStore('meta').put(meta, 'meta');
    read.onsuccess = () => tx.commit();
  }),
};
const out = {};
for (let round = 0; round < 3; round++) {
  for (const [name, run] of Object.entries(shapes)) {
    const times = [];
    for (let i = 0; i < 200; i++) { const t = performance.now(); await run(round * 1000 + i); times.push(performance.now() - t); }
    (out[name] ||= []).push(times.sort((a, b) => a - b)[100]);
  }
}
postMessage(out);
