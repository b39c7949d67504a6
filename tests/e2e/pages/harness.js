// harness.js — the window side of the browser tests: window.H is api.js's api; H.worker()
// starts a module dedicated worker serving the same api; H.sw() registers the module
// service worker and returns a proxy to it; reports of resolved writes go to
// window.resolvedWrites (writer → [i, …]), which the test script polls on every engine.
import { makeApi, serveApi } from './api.js';

window.resolvedWrites = {};
const report = (writer, i) => { (window.resolvedWrites[writer] ||= []).push(i); };

function proxy(post, onMessage) {
  let next = 0;
  const waiting = new Map();
  onMessage((data) => {
    if (data && data.report) { report(data.report[0], data.report[1]); return; }
    const w = waiting.get(data.id);
    if (!w) return;
    waiting.delete(data.id);
    if (data.error) w.reject(Object.assign(new Error(data.error.message), data.error)); else w.resolve(data.value);
  });
  return new Proxy({}, {
    get: (_, method) => (method === 'then' ? undefined : (...args) => new Promise((resolve, reject) => {
      const id = ++next;
      waiting.set(id, { resolve, reject });
      post({ id, method, args });
    })),
  });
}

const api = makeApi(report);
api.worker = () => {
  const worker = new Worker(`./worker.js${location.search}`, { type: 'module' });   // ?lazy passes on
  return proxy((m) => worker.postMessage(m), (fn) => { worker.onmessage = (e) => fn(e.data); });
};
api.classicWorker = () => {
  const worker = new Worker('./worker-classic.js');
  return proxy((m) => worker.postMessage(m), (fn) => { worker.onmessage = (e) => fn(e.data); });
};
api.bundleWorker = () => {
  const worker = new Worker('./worker-bundle.js', { type: 'module' });
  return proxy((m) => worker.postMessage(m), (fn) => { worker.onmessage = (e) => fn(e.data); });
};
api.syncoreExports = async () => Object.keys(await import('/js-glue/syncore.js')).sort();
api.sw = async (script = './sw.js', type = 'module') => {
  const reg = await navigator.serviceWorker.register(script, { type, scope: './' });
  const sw = reg.installing || reg.waiting || reg.active;
  if (sw.state !== 'activated') await new Promise((r) => sw.addEventListener('statechange', () => sw.state === 'activated' && r()));
  const channel = new MessageChannel();
  sw.postMessage({ connect: true }, [channel.port2]);
  return proxy((m) => channel.port1.postMessage(m), (fn) => { channel.port1.onmessage = (e) => fn(e.data); });
};
api.serve = serveApi;
window.H = api;
window.harnessReady = true;
