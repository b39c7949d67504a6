// pull-worker.js — the work bench/perf/run.mjs times, in a dedicated worker (or the
// service worker, sw.js imports this file): syncore on 'idb' applying a pull served by an
// in-memory transport (no network), the cold open of a store until the pending count answers,
// and single durable writes next to raw IndexedDB doing one strict put each.
// Records are EGGlogU-shaped daily rows of about 300 bytes, deterministic.
import { openStore, ready } from '../../js-glue/syncore.js';
import { loadCore } from '../../js-glue/core.js';
import { openDatabase } from '../../js-glue/storage.js';
import { recordId as benchId, recordData as benchData } from '../compare/data.mjs';

const COLLECTIONS = { days: { strategy: 'merge-fields', fieldStrategy: 'ask' } };
const NOTES = 'x'.repeat(180);

// uuid: random-looking ids (as make bench's), whose inserts land all over the records B-tree.
function uuidOf(i) { let a = Math.imul(i + 1, 0x9e3779b1) >>> 0, out = ''; for (let k = 0; k < 32; k++) { a = Math.imul(a ^ (a >>> 15), 0x85ebca6b) + k >>> 0; out += (a >>> 28).toString(16); } return out; }
// shape 'bench': make bench's records (bench/compare/data.mjs: 17 fields, 6 of them decimals).
function row(i, v, eggs, uuid = false, shape) {
  if (shape === 'bench') return { id: benchId(i), collection: 'days', version: v, updated_at: '2026-01-01T00:00:00.000Z', deleted_at: null,
    hlc: `000001767225600${String(v).padStart(3, '0')}-00000-server`, device_id: 'server', data: benchData(v === 1 ? 'base' : 'update', i) };
  return { id: uuid ? uuidOf(i) : `f${i % 40}:d${i}`, collection: 'days', version: v, updated_at: '2026-01-01T00:00:00.000Z', deleted_at: null,
    hlc: `000001767225600${String(v).padStart(3, '0')}-00000-server`, device_id: 'server',
    data: { flockId: `f${i % 40}`, date: `2026-01-${String(1 + (i % 28)).padStart(2, '0')}`, eggs, notes: `${NOTES}${v}` } };
}

// A transport serving `changes` in pages of `limit` from memory, its cursors counting on from
// `base` (the cursor a store synced from an earlier transport holds); push acknowledges
// nothing (fails).
function memoryTransport(changes, pageSize, timing, base = 0, text = false) {
  return {
    async pull({ cursor, limit }) {
      const from = Math.max(0, Number(cursor || 0) - base), n = Math.min(limit, pageSize);
      if (timing && from === 0) timing.start = performance.now();
      const page = changes.slice(from, from + n);
      const next = from + page.length;
      const body = { changes: page, cursor: String(base + next), has_more: next < changes.length, remaining: changes.length - next,
        server_time: '2026-01-01T00:00:00.000Z' };
      return text ? JSON.stringify(body) : body;   // text: as the HTTP transport resolves
    },
    async push() { const e = new Error('offline (bench)'); e.status = 0; throw e; },
    events() { return () => {}; },
  };
}

async function pullInto(store, timing, total) {
  await new Promise((resolve, reject) => {
    const off = store.on('progress', (p) => { if (p.phase === 'pull' && p.done >= total) { timing.end = performance.now(); off(); resolve(); } });
    store.sync().then((r) => {   // the round ended (push is held off: its error is expected)
      if (timing.end === undefined) reject(new Error(`round ended before the pull was applied: ${JSON.stringify(r)}`));
    }, reject);
  });
  return total / ((timing.end - timing.start) / 1000);
}

const work = {
  // The core alone on the memory backend: pullResponse page after page, timed around the call
  // (JSON across the boundary included), and around the wasm call only.
  // warm: a first pass into a throwaway store before the timed one (wasm tiered up).
  async coreOnly({ name, n, page, warm }) {
    if (warm) await work.coreOnly({ name: `${name}-warm`, n, page });
    const core = await loadCore();
    const db = await openDatabase(core, { name, storage: 'memory', config: { collections: COLLECTIONS } });
    const call = core.call.bind(core);
    let inCore = 0;
    core.call = (...a) => { const t = performance.now(); try { return call(...a); } finally { inCore += performance.now() - t; } };
    const changes = Array.from({ length: n }, (_, i) => row(i, 1, i % 50));
    let total = 0;
    for (let from = 0; from < n; from += page) {
      const response = { changes: changes.slice(from, from + page), cursor: String(from + page), has_more: from + page < n, server_time: '2026-01-01T00:00:00.000Z' };
      const t = performance.now();
      await db.call('pullResponse', { response });
      total += performance.now() - t;
    }
    await db.close();
    return { rate: n / (total / 1000), coreRate: n / (inCore / 1000) };
  },
  // First sync: N changes into an empty store.
  async firstSync({ name, n, page, storage = 'idb', text, uuid, shape }) {
    const changes = Array.from({ length: n }, (_, i) => row(i, 1, i % 50, uuid, shape));
    const timing = {};
    const store = await openStore({ name, storage, collections: COLLECTIONS, sync: { auto: false },
      remote: { transport: memoryTransport(changes, page, timing, 0, text) } });
    globalThis.__perf = null;
    const rate = await pullInto(store, timing, n);
    const perf = globalThis.__perf;
    const count = await store.count('days');
    await store.close();
    return { perf, rate, count };
  },
  // A store of N records with `edits` unpushed edits; a pull of N changes, `clash` of the edited ones on the same field.
  async pullApply({ name, n, page, edits, clash, uuid, text, shape }) {
    const seed = Array.from({ length: n }, (_, i) => row(i, 1, i % 50, uuid, shape));
    const store = await openStore({ name, storage: 'idb', collections: COLLECTIONS, sync: { auto: false },
      remote: { transport: memoryTransport(seed, 5000, null) } });
    await store.sync();
    for (let i = 0; i < edits; i++) await store.patch('days', row(i, 1, 0, uuid, shape).id, { eggs: 1000 + i });
    await store.close();
    const changes = Array.from({ length: n }, (_, i) => { const r = row(i, 2, i % 50, uuid, shape); if (i < edits && i >= clash) r.data.eggs = 1000 + i; else if (i < clash) r.data.eggs = 5000 + i; return r; });
    const timing = {};
    if (globalThis.profileTimed) await globalThis.profileTimed(true);   // profile.mjs: only the timed part
    const again = await openStore({ name, storage: 'idb', collections: COLLECTIONS, sync: { auto: false },
      remote: { transport: memoryTransport(changes, page, timing, n, text) } });
    globalThis.__perf = null;
    let conflicts = 0;
    again.on('conflict', () => { conflicts++; });
    const rate = await pullInto(again, timing, n);
    const status = await again.status();
    await again.close();
    return { perf: globalThis.__perf, rate, conflicts, storeConflicts: status.conflicts, pending: status.pending };
  },
  // Cold open of an existing store in this new worker until the pending count answers: ms since
  // the worker started (module load included), and the parts.
  async coldOpen({ name }) {
    await ready;
    const tReady = performance.now();
    const store = await openStore({ name, storage: 'idb', collections: COLLECTIONS, sync: { auto: false } });
    const tOpen = performance.now();
    const pending = (await store.status()).pending;   // the pending count
    const ms = performance.now();
    // (diagnostics: whether it opened quickly, and the groups it had not read by then)
    const st = store._db.storage, quick = { quick: Boolean(st.quick), absent: st.lazy ? st.core.absentCount(st.pImage) : 0 };
    await store.close();
    // The part of the open that is IndexedDB: every group and log record, read again raw.
    const t = performance.now();
    const db = await new Promise((res, rej) => { const r = indexedDB.open(`syncore:${name}`); r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
    const [groups, log] = await new Promise((res, rej) => {
      const tx = db.transaction(['groups', 'log'], 'readonly'), out = [];
      tx.objectStore('groups').getAll().onsuccess = (e) => { out[0] = e.target.result; };
      tx.objectStore('log').getAll().onsuccess = (e) => { out[1] = e.target.result; };
      tx.oncomplete = () => res(out); tx.onerror = () => rej(tx.error);
    });
    db.close();
    return { ms, module: tReady, open: tOpen - tReady, count: ms - tOpen, pending, ...quick, idbRead: performance.now() - t,
      groups: groups.length, logRecords: log.length, logBytes: log.reduce((n, r) => n + r.data.byteLength, 0) };
  },
  // k single durable writes (syncore put) vs raw IndexedDB strict one-put transactions.
  async writes({ name, k }) {
    const store = await openStore({ name, storage: 'idb', collections: COLLECTIONS, sync: { auto: false } });
    const times = [];
    for (let i = 0; i < k; i++) {
      const t = performance.now();
      await store.put('days', { id: `w${i}`, ...row(i, 1, 1).data });
      times.push(performance.now() - t);
    }
    await store.close();
    const db = await new Promise((res, rej) => { const r = indexedDB.open(`raw-${name}`, 1); r.onupgradeneeded = () => r.result.createObjectStore('days'); r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
    const raw = [];
    for (let i = 0; i < k; i++) {
      const t = performance.now();
      await new Promise((res, rej) => { const tx = db.transaction('days', 'readwrite', { durability: 'strict' }); tx.objectStore('days').put({ id: `w${i}`, ...row(i, 1, 1).data }, `w${i}`); tx.oncomplete = res; tx.onabort = () => rej(tx.error); });
      raw.push(performance.now() - t);
    }
    db.close();
    const p50 = (a) => a.slice().sort((x, y) => x - y)[a.length >> 1];
    return { syncore: p50(times), raw: p50(raw) };
  },
};

export async function handle(msg) {
  try { return { id: msg.id, ok: await work[msg.work](msg.args) }; } catch (e) { return { id: msg.id, error: String(e && e.stack || e) }; }
}
if (typeof WorkerGlobalScope !== 'undefined' && !(typeof ServiceWorkerGlobalScope !== 'undefined' && self instanceof ServiceWorkerGlobalScope)) {
  self.onmessage = async (e) => self.postMessage(await handle(e.data));
}
