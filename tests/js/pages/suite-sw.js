// Module service worker: runs the API suite on request from suite.html (static imports only).
import * as lib from '../../../js-glue/syncore.js';
import { runApiSuite } from '../api-suite.js';

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));
self.addEventListener('message', (e) => {
  const [port] = e.ports;
  e.waitUntil(runApiSuite(lib, e.data).then((r) => port.postMessage(r),
    (err) => port.postMessage([{ name: 'sw', ok: false, error: String(err.stack || err) }])));
});
