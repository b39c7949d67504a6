// ui.js — mounts <syncore-status> and <syncore-conflicts> over stores whose network the test
// scripts: the real HTTP transport to the reference server, wrapped so a test can hold a
// push mid-sync (to see the progress bar), fail pushes with a 503, or have the server's
// answer reject the ops of chosen records. Two memory stores in one page are two devices.
import * as lib from '../../../js-glue/syncore.js';
import '../../../js-glue/ui/index.js';

const faults = { rejectIds: new Set(), failPushes: 0, holdAfter: Infinity, hold: null, pushes: 0 };
window.faults = faults;
window.held = () => { let release; faults.hold = new Promise((r) => { release = r; }); return release; };

async function token() {
  const r = await fetch('/auth/dev-token', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ sub: 'ui-tester', space: `ui-${window.run}`, ttl: 600 }) });
  return (await r.json()).token;
}

function scripted(real) {
  return {
    async push(body) {
      if (++faults.pushes > faults.holdAfter && faults.hold) await faults.hold;
      if (faults.failPushes > 0) {
        faults.failPushes--;
        throw Object.assign(new Error('HTTP 503 on /push: the server is restarting'), { status: 503, retryAfter: 0 });
      }
      const rejected = body.ops.filter((o) => faults.rejectIds.has(o.id));
      const rest = body.ops.filter((o) => !faults.rejectIds.has(o.id));
      const raw = rest.length ? await real.push({ ...body, ops: rest }) : { server_time: new Date().toISOString(), results: [] };
      const answer = typeof raw === 'string' ? JSON.parse(raw) : raw;    // the HTTP transport hands over the text
      for (const o of rejected) answer.results.push({ op_id: o.op_id, status: 'rejected', id: o.id, error: 'eggs must not be negative' });
      return answer;
    },
    pull: (request) => real.pull(request),
  };
}

window.run = Date.now();
window.openDevice = (name, collections, sync = {}) => {
  const remote = { url: `${location.origin}/sync`, token };
  return lib.openStore({ name: `${name}-${window.run}`, storage: 'memory', collections,
    remote: { ...remote, transport: scripted(lib.createHttpTransport(remote)) },
    sync: { auto: false, retrySchedule: [], ...sync } });
};
window.mount = (store) => {
  for (const el of document.querySelectorAll('syncore-status, syncore-conflicts')) {
    el.labels = { notes: { name: 'Note', fields: { title: 'Title', body: 'Body', qty: 'Quantity' } } };
    el.recordTitle = (collection, record) => (collection === 'notes' ? record.title : null);
    el.store = store;
  }
  window.events = [];
  for (const type of ['syncore-resolved', 'syncore-discarded', 'syncore-retried', 'syncore-restored']) {
    document.addEventListener(type, (e) => window.events.push({ type, ...e.detail }));
  }
};
await lib.ready;
window.uiReady = true;
