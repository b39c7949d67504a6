// Module service worker for the multi-context test: on request, opens the store named in
// the message and writes `count` records as writer 'sw', answering on the port when done.
import { openStore } from '../../../js-glue/syncore.js';

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));
self.addEventListener('message', (e) => {
  const [port] = e.ports;
  const { name, collections, count } = e.data;
  e.waitUntil((async () => {
    const store = await openStore({ name, storage: 'idb', collections, sync: { auto: false } });
    const seen = new Set();
    store.on('change', (ev) => { if (ev.origin === 'other-context') seen.add(ev.ids[0].split('-')[0]); });
    for (let i = 0; i < count; i++) await store.put('items', { id: `sw-${i}`, writer: 'sw', i });
    const deadline = Date.now() + 20000;
    while (seen.size < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    port.postMessage({ done: count, sawOthers: [...seen].sort() });
    await store.close();
  })().catch((err) => port.postMessage({ error: String(err.stack || err) })));
});
