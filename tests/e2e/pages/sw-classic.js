// sw-classic.js — a classic service worker: importScripts the classic build at top level
// (SPEC §8), then on a message opens a store with self.syncore.openStore, writes and
// reads back, and answers over the message port.
importScripts('/js-glue/syncore.classic.js');

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));
self.addEventListener('message', (e) => {
  if (!e.data || !e.data.connect) return;
  const port = e.ports[0];
  port.onmessage = async (m) => {
    const { id } = m.data;
    try {
      const store = await self.syncore.openStore({ name: 'swclassic', collections: { notes: {} } });
      await store.put('notes', { id: 'n1', text: 'from the classic service worker' });
      const record = await store.get('notes', 'n1');
      await store.close();
      port.postMessage({ id, value: { record, exports: Object.keys(self.syncore) } });
    } catch (err) {
      port.postMessage({ id, error: { code: err.code, message: String((err && err.stack) || err) } });
    }
  };
});
