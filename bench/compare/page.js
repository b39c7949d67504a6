// page.js — the page run.mjs drives: starts the contestant's worker (a dedicated module worker,
// or the module service worker sw.js for syncore) and relays commands to it.
//   window.startWorker(kind)  kind 'worker' | 'service-worker' → ms until it can take commands
//   window.call(msg)          → the worker's answer (rejects with its error)
//   window.coldOpen(msg)      terminates the dedicated worker, starts a new one, opens the store
//                             and counts pending → { ms (page-side, new Worker → answer), ...worker's }
let worker = null;
let kind = 'worker';
let next = 0;
const waiting = new Map();

function failAll(error) {
  for (const { reject } of waiting.values()) reject(new Error(error));
  waiting.clear();
}

function newWorker() {
  const w = new Worker('./worker.js', { type: 'module' });
  w.onmessage = (e) => {
    const p = waiting.get(e.data.id);
    if (!p) return;
    waiting.delete(e.data.id);
    if (e.data.ok) p.resolve(e.data.out); else p.reject(new Error(e.data.error));
  };
  w.onerror = (e) => failAll(`worker error: ${e.message || 'failed to load'}`);
  return w;
}

async function swCall(msg) {
  const reg = await navigator.serviceWorker.ready;
  return new Promise((resolve, reject) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = (e) => (e.data.ok ? resolve(e.data.out) : reject(new Error(e.data.error)));
    reg.active.postMessage(msg, [ch.port2]);
  });
}

window.startWorker = async (which) => {
  const t = performance.now();
  kind = which;
  if (which === 'service-worker') {
    await navigator.serviceWorker.register('./sw.js', { type: 'module', scope: './' });
    await navigator.serviceWorker.ready;
  } else {
    worker?.terminate();
    worker = newWorker();
  }
  return performance.now() - t;
};

window.call = (msg) => {
  if (kind === 'service-worker') return swCall(msg);
  return new Promise((resolve, reject) => {
    const id = ++next;
    waiting.set(id, { resolve, reject });
    worker.postMessage({ id, ...msg });
  });
};

window.coldOpen = async (msg) => {
  worker?.terminate();
  const t = performance.now();
  worker = newWorker();
  const out = await window.call({ ...msg, cmd: 'coldOpen' });
  return { ms: performance.now() - t, ...out };
};

window.stopWorker = () => { worker?.terminate(); worker = null; };

// The million-record run's woken service worker reports through a message (sw-wake.js).
let wake = null;
window.listenForWake = () => {
  wake = new Promise((resolve) => navigator.serviceWorker.addEventListener('message', (e) => { if (e.data?.wake) resolve(e.data.wake); }));
};
window.wakeReport = () => wake;

window.benchReady = true;
