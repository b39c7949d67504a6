// Module service worker for the Background Sync test: syncore's handleSyncEvents opens the
// store inside the worker on a `sync` event and runs store.sync() in waitUntil, then tells
// the pages what happened.
import { openStore, handleSyncEvents } from '../../../js-glue/syncore.js';

async function token() {
  const r = await fetch('/auth/dev-token', { method: 'POST', headers: { 'Content-Type': 'application/json' },
                                             body: JSON.stringify({ sub: 'farmer', space: 'farm', ttl: 600 }) });
  return (await r.json()).token;
}

const storeFor = handleSyncEvents((name) => openStore({ name, storage: 'idb', collections: { items: {} },
  remote: { url: `${self.location.origin}/sync`, token }, sync: { auto: false } }));

self.addEventListener('sync', (event) => {
  const name = event.tag.replace('syncore:', '');
  event.waitUntil(storeFor(name).then((s) => s.sync()).then(async (result) => {
    for (const c of await self.clients.matchAll()) c.postMessage({ bgsync: event.tag, result });
  }));
});
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));
