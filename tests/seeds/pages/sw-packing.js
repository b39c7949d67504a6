// Module service worker of the packing-list scenario (002): syncore's handleSyncEvents opens
// the store `packing-<space>` inside the worker and runs store.sync() on `sync` and
// `periodicsync` (must match PACKING in 002-packing-list.mjs). ?space= is the test's partition; ?nobgsync=1 plays a browser without
// Background Sync (registration.sync removed), where the worker's start-up syncs the stores
// the pages asked to sync instead (sw.js's fallback).
import { openStore, handleSyncEvents } from '../../../js-glue/syncore.js';

const params = new URLSearchParams(self.location.search);
const space = params.get('space');
if (params.has('nobgsync')) Object.defineProperty(ServiceWorkerRegistration.prototype, 'sync', { get: () => undefined });
const PACKING = { items: { strategy: 'merge-fields', fieldStrategy: 'lww', onDelete: 'latest', indexes: ['list'] } };

async function token() {
  const r = await fetch('/auth/dev-token', { method: 'POST', headers: { 'Content-Type': 'application/json' },
                                             body: JSON.stringify({ sub: 'packer', space, ttl: 3600 }) });
  return (await r.json()).token;
}

handleSyncEvents((name) => openStore({ name, storage: 'idb', collections: PACKING,
  remote: { url: `${self.location.origin}/sync`, token }, sync: { auto: false } }));
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));
