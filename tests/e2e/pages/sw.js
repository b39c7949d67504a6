// sw.js — module service worker serving api.js's api over a MessagePort from the page.
import { makeApi, serveApi } from './api.js';

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));
self.addEventListener('message', (e) => {
  if (!e.data || !e.data.connect) return;
  const port = e.ports[0];
  const api = makeApi((writer, i) => port.postMessage({ report: [writer, i] }));
  const handle = serveApi(api, (m) => port.postMessage(m));
  port.onmessage = (m) => handle(m.data);
});
