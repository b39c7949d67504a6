// The demo's module service worker: caches the app shell, and runs syncore's sync on
// Background Sync / periodic sync events with the store opened inside the worker.
import { openStore, handleSyncEvents } from '../js-glue/syncore.js';
import { storeOptions } from './config.js';

const SHELL = 'syncore-demo-v1';
const FILES = ['./', './index.html', './app.js', './config.js', './manifest.webmanifest',
  '../js-glue/syncore.js', '../js-glue/core.js', '../js-glue/syncore-core.mjs', '../js-glue/syncore.wasm',
  '../js-glue/storage.js', '../js-glue/storage-idb.js', '../js-glue/storage-opfs.js', '../js-glue/transport.js', '../js-glue/triggers.js', '../js-glue/sw.js'];

handleSyncEvents(() => openStore({ ...storeOptions, sync: { ...storeOptions.sync, auto: false } }));

self.addEventListener('install', (e) => e.waitUntil(caches.open(SHELL).then((c) => c.addAll(FILES)).then(() => self.skipWaiting())));
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));
self.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== 'GET' || url.pathname.startsWith('/sync') || url.pathname.startsWith('/auth')) return;
  // Network first (fresh code while online), the cached shell when offline.
  e.respondWith(fetch(e.request).catch(() => caches.match(e.request)));
});
