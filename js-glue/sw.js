// sw.js — what a PWA's service worker needs from syncore (SPEC §6).
//
// requestBackgroundSync(name): called by syncore.js after a write made offline; asks
// the browser to fire a `sync` event (tag `syncore:<name>`) once connectivity returns,
// even when no page is open. handleSyncEvents(openFn): call at the top level of the
// service worker script (listeners added later are not woken); on `sync` and
// `periodicsync` it opens the store lazily and runs store.sync() inside waitUntil. Where the
// browser has no Background Sync (no `registration.sync`), the stores named in
// `options.stores` sync at the worker's start-up and on `online` instead (SPEC §3).
// Pages learn what changed through the store's own BroadcastChannel (syncore.js).

const TAG_PREFIX = 'syncore:';

function registration() {
  if (typeof ServiceWorkerGlobalScope !== 'undefined' && self instanceof ServiceWorkerGlobalScope) {
    return Promise.resolve(self.registration);
  }
  if (typeof navigator !== 'undefined' && navigator.serviceWorker && navigator.serviceWorker.controller) {
    return navigator.serviceWorker.ready;
  }
  return Promise.resolve(null);
}

// Best effort: where a browser has no Background Sync, the worker start-up, `online`
// and `visibilitychange` triggers cover the gap.
export function requestBackgroundSync(name) {
  registration()
    .then((reg) => reg && reg.sync && reg.sync.register(TAG_PREFIX + name))
    .catch(() => {});
}

// openFn(name) → Promise<Store>; the same store is reused across events.
// options = { stores: [names] } — what a worker without Background Sync syncs when it starts.
export function handleSyncEvents(openFn, options = {}) {
  const stores = new Map();
  const storeFor = (name) => {
    if (!stores.has(name)) stores.set(name, Promise.resolve(openFn(name)));
    return stores.get(name);
  };
  const run = async (name) => {
    const store = await storeFor(name);
    const result = await store.sync();
    if (result.error) throw new Error(result.error);   // the browser retries a failed sync event later
    return result;
  };
  self.addEventListener('sync', (event) => {
    if (event.tag.startsWith(TAG_PREFIX)) event.waitUntil(run(event.tag.slice(TAG_PREFIX.length)));
  });
  self.addEventListener('periodicsync', (event) => {
    if (event.tag.startsWith(TAG_PREFIX)) event.waitUntil(run(event.tag.slice(TAG_PREFIX.length)));
  });
  const names = Array.isArray(options.stores) ? options.stores : [];
  if (names.length && !(self.registration && self.registration.sync)) {
    const all = () => Promise.all(names.map((name) => run(name).catch(() => {})));   // the next start-up tries again
    all();
    self.addEventListener('online', all);
  }
  return storeFor;
}
