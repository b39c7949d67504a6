// runner.js — the worker half of `make bench` (the dedicated worker of worker.js and the
// service worker of sw.js both run it): opens one contestant and runs the commands run.mjs
// sends through the page — open, sync (timed pull apply), edit (the local edits, untimed),
// write (single durable writes, each timed), state (digests of records and conflicts and the
// pending count, judged by run.mjs), coldOpen, normalize, resources (what was loaded, for the
// shipped bytes). Times are performance.now() differences taken inside the worker.
import { scenario, recordId, recordData, digestPairs } from './data.mjs';
import { compareNormalize } from './normtime.js';

export function createRunner(loaders) {
  let contestant = null;
  let sc = null;
  const load = async (name) => {
    if (!loaders[name]) throw new Error(`bench: unknown contestant ${name}`);
    return loaders[name]();
  };
  const commands = {
    async open({ contestant: which, name, remote, storage, sizes, cacheSize }) {
      const mod = await load(which);
      sc = scenario(sizes);
      const t = performance.now();
      contestant = await mod.open({ name, remote, storage, cacheSize });
      const d = mod.describe;
      const durability = typeof d.durability === 'object' ? d.durability[storage ?? 'idb'] : d.durability;
      return { ms: performance.now() - t, describe: { ...d, durability, version: d.version?.() ?? null } };
    },
    // Cold open: load, open and count pending, timed from this worker's start.
    async coldOpen(msg) {
      const mod = await load(msg.contestant);
      sc = scenario(msg.sizes);
      const t = performance.now();
      contestant = await mod.open({ name: msg.name, remote: msg.remote, storage: msg.storage });
      const pending = await contestant.pending();
      const now = performance.now();
      return { openMs: now - t, sinceStartMs: now, pending };
    },
    async sync() {
      const t = performance.now();
      const pulled = await contestant.sync();
      return { ms: performance.now() - t, pulled };
    },
    async edit() {
      const pairs = sc.edited.map((i) => [recordId(i), recordData('edit', i)]);
      const t = performance.now();
      await contestant.edit(pairs);
      return { ms: performance.now() - t, edits: pairs.length };
    },
    async write({ n }) {
      const times = [];
      for (let k = 0; k < n; k++) {
        const id = recordId(sc.total + k), data = recordData('write', k);
        const t = performance.now();
        await contestant.write(id, data);
        times.push(performance.now() - t);
      }
      return { times };
    },
    async state() {
      const s = await contestant.state();
      return { records: digestPairs(s.records), conflicts: digestPairs(s.conflicts), pending: s.pending };
    },
    count: () => contestant.count(),
    progress: () => contestant?.progress?.() ?? null,
    async close() { await contestant?.close(); contestant = null; return true; },
    async normalize({ n }) {
      const { normalizeTime, ready } = await import('/js-glue/syncore.js');
      await ready;
      return compareNormalize(normalizeTime, n);
    },
    resources() {
      return performance.getEntriesByType('resource').map((e) => e.name);
    },
  };
  return async (msg) => {
    if (!commands[msg.cmd]) throw new Error(`bench: unknown command ${msg.cmd}`);
    return commands[msg.cmd](msg);
  };
}

// The contestants a dedicated worker can load (dynamic import: not in a service worker).
export const LOADERS = {
  syncore: () => import('./c-syncore.js'),
  idb: () => import('./c-idb.js'),
  dexie: () => import('./c-dexie.js'),
  sahpool: () => import('./c-sahpool.js'),
  wasqlite: () => import('./c-wasqlite.js'),
  pouchdb: () => import('./c-pouchdb.js'),
};
