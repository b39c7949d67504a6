// sw.js — the demo's module service worker. It keeps the app shell (every file listed in
// shell.json, which `make demo` writes when it stages the demo) in the Cache API so the
// farm opens with no network after the first visit, and it runs syncore's Background Sync:
// a write made offline registers a `sync` tag, and when the connection returns the
// browser wakes this worker, which opens that device's store and syncs it, page or no page.
import { openStore, handleSyncEvents } from '../js-glue/syncore.js';
import { storeOptions, deviceOfStore } from './config.js';

const CACHE = 'egglogu-demo-shell';

// At the top level: listeners added later are not woken for sync events.
handleSyncEvents((name) => openStore(storeOptions(deviceOfStore(name), { auto: false })));

async function precache() {
  const cache = await caches.open(CACHE);
  const shell = await (await fetch('./shell.json', { cache: 'no-store' })).json();
  await cache.addAll(shell.files.map((f) => new Request(f, { cache: 'no-store' })));
}

self.addEventListener('install', (e) => e.waitUntil(precache().then(() => self.skipWaiting())));
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));

// Network first, so a running server always serves fresh code; each good answer refreshes
// the cache; with no network the cached copy answers (pages whatever their ?device=).
// Known offline, the cache answers first: no request is tried that can only fail.
async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  const match = () => cache.match(request, { ignoreSearch: request.mode === 'navigate' });
  if (self.navigator.onLine === false) {
    const cached = await match();
    if (cached) return cached;
  }
  try {
    const response = await fetch(request);
    if (response.ok) cache.put(request, response.clone()).catch(() => {});
    return response;
  } catch (e) {
    const cached = await match();
    if (cached) return cached;
    throw e;
  }
}

self.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/sync/') || url.pathname.startsWith('/auth/')) return;
  e.respondWith(networkFirst(e.request));
});
