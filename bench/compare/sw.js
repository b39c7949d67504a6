// sw.js — the module service worker syncore also runs the pull apply in: the same runner as
// worker.js, with syncore imported statically (a service worker may not import() at run
// time). Each message carries a MessagePort for the answer; the work runs inside waitUntil.
import { createRunner } from './runner.js';
import * as syncore from './c-syncore.js';

const run = createRunner({ syncore: async () => syncore });
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));
self.addEventListener('message', (e) => {
  const port = e.ports[0];
  e.waitUntil((async () => {
    try {
      port.postMessage({ ok: true, out: await run(e.data) });
    } catch (err) {
      port.postMessage({ ok: false, error: String(err?.stack || err) });
    }
  })());
});
