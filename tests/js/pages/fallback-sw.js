// Module service worker for the Background Sync fallback tests (Firefox, WebKit): only
// syncore's handleSyncEvents, as an app writes it; where the browser has no Background Sync
// it syncs the stores remembered by offline writes on start-up, `online` and a page
// becoming visible, and posts 'sync-fallback-done' to the pages. The pass-through fetch
// handler makes navigations start the worker (browsers skip workers without one).
import { openStore, handleSyncEvents } from '../../../js-glue/syncore.js';

async function token() {
  const r = await fetch('/auth/dev-token', { method: 'POST', headers: { 'Content-Type': 'application/json' },
                                             body: JSON.stringify({ sub: 'farmer', space: 'farm', ttl: 600 }) });
  return (await r.json()).token;
}

handleSyncEvents((name) => openStore({ name, storage: 'idb', collections: { items: {} },
  remote: { url: `${self.location.origin}/sync`, token }, sync: { auto: false } }));

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));
self.addEventListener('fetch', () => {});
