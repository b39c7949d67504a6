// worker.js — the dedicated (module) worker every contestant runs in: answers page.js's
// messages { id, ...command } with { id, ok, out } or { id, ok: false, error }.
import { createRunner, LOADERS } from './runner.js';

const run = createRunner(LOADERS);
self.onmessage = async (e) => {
  const { id, ...msg } = e.data;
  try {
    self.postMessage({ id, ok: true, out: await run(msg) });
  } catch (err) {
    self.postMessage({ id, ok: false, error: String(err?.stack || err) });
  }
};
