// sw.js — what a PWA's service worker needs from syncore (SPEC §6), and SPEC §3's fallback
// where a browser has no Background Sync (Firefox, Safari/WebKit: docs/BROWSERS.md).
//
// requestBackgroundSync(name): called by syncore.js after a write made offline. With
// Background Sync it registers the tag `syncore:<name>`, and the browser fires `sync` once
// connectivity returns, page or no page. Without it, the name is remembered in IndexedDB
// (database `syncore-sync-requests`) for the service worker's fallback triggers.
// handleSyncEvents(openFn): call at the top level of the service worker script (listeners
// added later are not woken); on `sync` and `periodicsync` it opens the store lazily and
// runs store.sync() inside waitUntil. Without Background Sync it syncs the remembered
// stores instead on the worker's start-up, on `online` (its own, where the engine fires it
// in workers, and the pages' forwarded) and when a page becomes visible again
// (`visibilitychange`, forwarded: a worker has no document), and tells its window clients
// `{ syncore: 'sync-fallback-done', reason, name, result }` after each.
// watchSyncFallback(): page side, called by openStore; forwards `online` and
// `visibilitychange` to the controlling service worker where Background Sync is absent.
// Pages learn what changed through the store's own BroadcastChannel (syncore.js).

const TAG_PREFIX = 'syncore:';
const REQUESTS_DB = 'syncore-sync-requests';
const FALLBACK_MESSAGE = 'sync-fallback';

function inServiceWorker() {
  return typeof ServiceWorkerGlobalScope !== 'undefined' && self instanceof ServiceWorkerGlobalScope;
}

function registration() {
  if (inServiceWorker()) return Promise.resolve(self.registration);
  if (typeof navigator !== 'undefined' && navigator.serviceWorker && navigator.serviceWorker.controller) {
    return navigator.serviceWorker.ready;
  }
  return Promise.resolve(null);
}

// 'sync-event' where this browser has Background Sync, else 'fallback' (status().backgroundSync).
export function backgroundSyncMode() {
  if (inServiceWorker()) return self.registration && self.registration.sync ? 'sync-event' : 'fallback';
  return typeof SyncManager === 'function' ? 'sync-event' : 'fallback';
}

// ---------------------------------------------------------------- remembered requests (IndexedDB)

function requestsDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(REQUESTS_DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore('names');
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function withRequests(mode, fn) {
  const db = await requestsDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction('names', mode);
      const out = fn(tx.objectStore('names'));
      tx.oncomplete = () => resolve(out.result);
      tx.onabort = tx.onerror = () => reject(tx.error);
    });
  } finally { db.close(); }
}

const rememberRequest = (name) => withRequests('readwrite', (names) => names.put(new Date().toISOString(), name));
const rememberedRequests = () => withRequests('readonly', (names) => names.getAllKeys());
const forgetRequest = (name) => withRequests('readwrite', (names) => names.delete(name));

// Best effort: a failure to register or remember leaves the page's own triggers.
export function requestBackgroundSync(name) {
  registration()
    .then((reg) => (reg && reg.sync ? reg.sync.register(TAG_PREFIX + name)
      : typeof indexedDB !== 'undefined' && rememberRequest(name)))
    .catch(() => {});
}

// ---------------------------------------------------------------- page side: forward the triggers

let watching = false;
export function watchSyncFallback() {
  if (watching || typeof window === 'undefined' || typeof document === 'undefined') return;
  if (!navigator.serviceWorker || backgroundSyncMode() === 'sync-event') return;
  watching = true;
  const forward = (reason) => {
    const sw = navigator.serviceWorker.controller;
    if (sw && navigator.onLine !== false) sw.postMessage({ syncore: FALLBACK_MESSAGE, reason });
  };
  window.addEventListener('online', () => forward('online'));
  document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') forward('visible'); });
}

// ---------------------------------------------------------------- worker side

// openFn(name) → Promise<Store>; the same store is reused across events.
export function handleSyncEvents(openFn) {
  const stores = new Map();
  const storeFor = (name) => {
    if (!stores.has(name)) {
      const opening = Promise.resolve(openFn(name));
      opening.catch(() => stores.delete(name));
      stores.set(name, opening);
    }
    return stores.get(name);
  };
  const run = async (name) => {
    const store = await storeFor(name);
    const result = await store.sync();
    if (result.error) throw new Error(result.error);   // the browser retries a failed sync event later
    return result;
  };
  const onTag = (event) => {
    if (event.tag.startsWith(TAG_PREFIX)) event.waitUntil(run(event.tag.slice(TAG_PREFIX.length)));
  };
  self.addEventListener('sync', onTag);
  self.addEventListener('periodicsync', onTag);
  if (backgroundSyncMode() === 'fallback') handleFallbackTriggers(storeFor);
  return storeFor;
}

// Sync every remembered store; a store stays remembered until one of its syncs succeeds.
// One pass at a time; a trigger during a pass runs one more pass after it.
function handleFallbackTriggers(storeFor) {
  let running = null, again = null;
  const pass = async (reason) => {
    if (navigator.onLine === false) return;
    for (const name of await rememberedRequests()) {
      const result = await storeFor(name).then((store) => store.sync(), (e) => ({ error: e.message }));
      if (!result.error) await forgetRequest(name);
      const clients = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
      for (const c of clients) c.postMessage({ syncore: 'sync-fallback-done', reason, name, result });
    }
  };
  const trigger = (reason) => {
    if (running) { again ||= running.then(() => { again = null; return trigger(reason); }); return again; }
    running = pass(reason).catch(() => {}).finally(() => { running = null; });
    return running;
  };
  trigger('startup');
  self.addEventListener('online', () => trigger('online'));
  self.addEventListener('message', (event) => {
    if (event.data && event.data.syncore === FALLBACK_MESSAGE) event.waitUntil(trigger(String(event.data.reason)));
  });
}
