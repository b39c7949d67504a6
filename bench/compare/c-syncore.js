// c-syncore.js — syncore through its public API (SPEC §2) only: openStore with the storage
// under test, the collection on strategy 'ask' (a pulled change to a record with an unpushed
// edit is a conflict kept aside, the local edit held), sync.auto off, and store.sync() over
// its own HTTP transport (createHttpTransport) against the real server. Push is held off —
// the transport's push answers as a network failure (status 0) — so syncore does the same
// work as the peers (pull and apply; the unpushed edits stay queued) and ends in the same state.
import { openStore, createHttpTransport } from '/js-glue/syncore.bundle.js';   // the single-file build an app ships
import { COLLECTION } from './data.mjs';

export const describe = { label: 'syncore', settings: "strategy 'ask', sync.auto off, store.sync() over its HTTP transport, push held off",
  durability: { idb: "IndexedDB durability 'strict' (its own, not changeable)", opfs: 'OPFS sync access handle flush per commit' } };

export async function open({ name, remote, storage = 'idb', cacheSize }) {
  const url = `${remote.base}/sync`;
  const http = createHttpTransport({ url, token: remote.token });
  const transport = {
    pull: (request) => http.pull(request),
    push: async () => { throw Object.assign(new Error('bench: push held off'), { status: 0, retryAfter: 0 }); },
  };
  const store = await openStore({ name: `bench-${name}`, storage, remote: { url, transport },
    collections: { [COLLECTION]: { strategy: 'ask' } }, sync: { auto: false }, ...(cacheSize ? { cacheSize } : {}) });
  let progress = null;
  store.on('progress', (p) => { progress = { ...p, at: performance.now() }; });
  return {
    progress: () => progress,
    async sync() {
      const r = await store.sync();
      if (r.error && !/push held off/.test(r.error)) throw new Error(`bench: syncore sync failed: ${r.error}`);
      return r.pulled;
    },
    async edit(pairs) { for (const [id, data] of pairs) await store.put(COLLECTION, { id, ...data }); },
    write: (id, data) => store.put(COLLECTION, { id, ...data }),
    pending: async () => store.status().pending,
    count: () => store.count(COLLECTION),
    async state() {
      const records = (await store.list(COLLECTION)).map((r) => [r.id, r]);
      const conflicts = (await store.conflicts()).map((c) => [c.recordId, c.remote]);
      return { records, conflicts, pending: store.status().pending };
    },
    close: () => store.close(),
  };
}
