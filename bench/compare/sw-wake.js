// sw-wake.js — the module service worker of the million-record run (million.mjs): on a `sync`
// event (dispatched over the DevTools protocol while the worker is stopped) syncore's
// handleSyncEvents opens the store and runs store.sync(), which pushes the pending write.
// It tells the pages when this worker started, when the first push request left and when
// the sync finished (epoch milliseconds).
import { openStore, handleSyncEvents } from '/js-glue/syncore.bundle.js';
import { COLLECTION } from './data.mjs';

const startedAt = performance.timeOrigin;
let firstPushAt = null;
const realFetch = self.fetch.bind(self);
self.fetch = (input, init) => {
  const url = String(input?.url ?? input);
  if (firstPushAt === null && url.endsWith('/sync/push')) firstPushAt = performance.timeOrigin + performance.now();
  return realFetch(input, init);
};

// The store 'bench-<sub>' belongs to the partition <sub>: the dev token is asked for by name.
const storeFor = handleSyncEvents((name) => openStore({ name, storage: 'idb',
  collections: { [COLLECTION]: { strategy: 'ask' } }, sync: { auto: false },
  remote: { url: `${self.location.origin}/sync`, token: async () => {
    const r = await realFetch('/auth/dev-token', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ sub: name.replace(/^bench-/, ''), ttl: 3600 }) });
    return (await r.json()).token;
  } } }));

self.addEventListener('sync', (event) => {
  const name = event.tag.replace('syncore:', '');
  event.waitUntil(storeFor(name).then((s) => s.sync()).then(async (result) => {
    const msg = { wake: { startedAt, firstPushAt, doneAt: performance.timeOrigin + performance.now(), result } };
    for (const c of await self.clients.matchAll({ includeUncontrolled: true })) c.postMessage(msg);
  }));
});
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));
