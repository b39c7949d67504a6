// million.mjs — workload 7 of `make bench`, behind BENCH_MILLION=1 (run.mjs calls it after the
// rest, in the same Chromium session and against the same server): BENCH_MILLION_N (1,000,000)
// creates pushed to a partition, a first sync of all of them from build/syncore-server into an
// empty syncore 'idb' store in a dedicated worker (pulled count and store count checked), one
// local write, then a module service worker (sw-wake.js) registered, stopped, and woken by a
// `sync` event dispatched over the DevTools protocol: the time from the dispatch to its first
// push request leaving, and to its sync finishing. Peak renderer memory (memory.mjs) for the
// first sync and for the wake-up. Each step has a deadline (BENCH_MILLION_TIMEOUT_S, 1200 s);
// a step that misses it is reported as not finished, never as a figure.
import { COLLECTION, recordId, recordData } from './data.mjs';
import { hlc, tokenFor } from '../../tests/server/lib.mjs';
import { sampleRenderers } from './memory.mjs';

const N = Number(process.env.BENCH_MILLION_N || 1000000);
const TIMEOUT_MS = Number(process.env.BENCH_MILLION_TIMEOUT_S || 1200) * 1000;
// The first sync's cacheSize (docs/API.md), should its store be read on demand: a pull of
// random ids into a store larger than its page cache reads again, page after page, the groups
// it gave back (docs/STORAGE.md "The page cache"); 3 GiB holds the million-record store.
const CACHE = Number(process.env.BENCH_MILLION_CACHE || 3 * 2 ** 30);
const fmtInt = (x) => Math.round(x).toLocaleString('en-US');
const mib = (b) => `${fmtInt(b / 2 ** 20)} MiB`;

function deadline(promise, what) {
  let timer;
  return Promise.race([promise, new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not finished within ${TIMEOUT_MS / 1000} s`)), TIMEOUT_MS);
  })]).finally(() => clearTimeout(timer));
}

async function seed(server, token) {
  for (let k = 0; k < N; k += 1000) {
    const now = Date.now();
    const ops = [];
    for (let i = k; i < Math.min(N, k + 1000); i++) {
      ops.push({ op_id: `million-${process.pid}-${i}`, collection: COLLECTION, id: recordId(i), kind: 'create', base_version: 0,
        data: recordData('million', i), updated_at: new Date(now).toISOString(), hlc: hlc(now, i % 100000, 'origin') });
    }
    const r = await fetch(`${server.base}/sync/push`, { method: 'POST', body: JSON.stringify({ device_id: 'origin', ops }),
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
    if (r.status !== 200) throw new Error(`bench: million seeding push ${r.status}: ${(await r.text()).slice(0, 200)}`);
  }
}

export async function runMillion({ context, server, openPage, profile, browserVersion }) {
  const sub = `million-${process.pid}`;
  const token = tokenFor(sub, undefined, 7200);
  const remote = { base: server.base, token };
  const figures = {};
  const lines = ['## Client: a million records', ''];
  const seedT = Date.now();
  await seed(server, token);
  figures.seedS = (Date.now() - seedT) / 1000;
  console.log(`  million: seeded ${fmtInt(N)} creates in ${figures.seedS.toFixed(0)} s`);

  let mem = sampleRenderers(profile);
  const page = await openPage('million');
  const call = (msg, what) => deadline(page.evaluate((m) => window.call(m), msg), what);
  try {
    await page.evaluate(() => window.startWorker('worker'));
    // The first sync's page cache holds the whole store (see CACHE below); the woken service
    // worker opens it with the default cache.
    await call({ cmd: 'open', contestant: 'syncore', name: sub, remote, storage: 'idb', cacheSize: CACHE }, 'open');
    const syncT = Date.now();
    try {
      const first = await call({ cmd: 'sync' }, 'million first sync').catch(async (e) => {
        // Where the deadline struck: how far the pull had come (syncore's 'progress' events).
        const p = await page.evaluate(() => window.call({ cmd: 'progress' })).catch(() => null);
        if (p) e.message += ` (${fmtInt(p.done)} of ${fmtInt(p.total)} changes applied after ${fmtInt((Date.now() - syncT) / 1000)} s)`;
        throw e;
      });
      figures.first = { ms: first.ms, pulled: first.pulled, memory: mem.stop() };
      if (first.pulled !== N) throw new Error(`bench: million first sync pulled ${first.pulled}, expected ${N}`);
      const count = await call({ cmd: 'count' }, 'count');
      if (count !== N) throw new Error(`bench: million store holds ${count} records, expected ${N}`);
      console.log(`  million: first sync ${(first.ms / 1000).toFixed(1)} s, peak renderer ${mib(figures.first.memory.peakBytes)}`);
      await call({ cmd: 'write', n: 1 }, 'write');
      await call({ cmd: 'close' }, 'close');
    } catch (e) {
      figures.first ??= { error: e.message, memory: mem.stop() };
      throw e;
    }
    await page.evaluate(() => window.stopWorker());

    // The woken service worker.
    const cdp = await context.newCDPSession(page);
    const regs = new Map();
    const versions = new Map();
    cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => { for (const r of e.registrations) regs.set(r.scopeURL, r.registrationId); });
    cdp.on('ServiceWorker.workerVersionUpdated', (e) => { for (const v of e.versions) versions.set(v.versionId, v); });
    await cdp.send('ServiceWorker.enable');
    await page.evaluate(() => window.listenForWake());
    await page.evaluate(() => navigator.serviceWorker.register('./sw-wake.js', { type: 'module', scope: './wake/' }));
    const scope = `${server.base}/bench/compare/wake/`;
    const until = async (what, fn) => {
      const end = Date.now() + 30000;
      while (!fn()) { if (Date.now() > end) throw new Error(`bench: timed out waiting for ${what}`); await new Promise((r) => setTimeout(r, 20)); }
    };
    await until('the wake service worker to activate', () => [...versions.values()].some((v) => v.scriptURL.endsWith('sw-wake.js') && v.status === 'activated'));
    await cdp.send('ServiceWorker.stopAllWorkers');
    await until('the service worker to stop', () => [...versions.values()].filter((v) => v.scriptURL.endsWith('sw-wake.js'))
      .every((v) => v.runningStatus === 'stopped'));
    mem = sampleRenderers(profile, 50);
    const dispatchedAt = Date.now();
    await cdp.send('ServiceWorker.dispatchSyncEvent', { origin: server.base, registrationId: regs.get(scope),
      tag: `syncore:bench-${sub}`, lastChance: false });
    const wake = await deadline(page.evaluate(() => window.wakeReport()), 'service worker wake-up');
    figures.wake = { startMs: wake.startedAt - dispatchedAt, firstPushMs: wake.firstPushAt - dispatchedAt,
      doneMs: wake.doneAt - dispatchedAt, pushed: wake.result.pushed, error: wake.result.error, memory: mem.stop() };
    if (wake.result.pushed !== 1) throw new Error(`bench: woken service worker pushed ${wake.result.pushed} ops (${wake.result.error})`);
    console.log(`  million: woken service worker pushed after ${fmtInt(figures.wake.firstPushMs)} ms`);
    await cdp.detach();
  } catch (e) {
    figures.error = e.message;
    console.log(`  million: ${e.message}`);
  } finally {
    await page.close().catch(() => {});
  }

  lines.push(`Measured by \`BENCH_ONLY=million make bench-client\` (bench/compare/million.mjs; also after the rest with ` +
    `\`BENCH_MILLION=1\`) on ${new Date().toISOString().slice(0, 10)}, headless Debian Chromium ${browserVersion}, the real ` +
    `\`build/syncore-server\` (SQLite) on 127.0.0.1: ${fmtInt(N)} creates pushed to one partition (${fmtInt(figures.seedS)} s), then:`, '');
  const f = figures.first;
  if (f?.ms) {
    lines.push(`- first sync into an empty syncore \`idb\` store in a dedicated worker: ${(f.ms / 1000).toFixed(1)} s ` +
      `(${fmtInt(N / (f.ms / 1000))} records/s; target < 60 s; the store opened empty, so it is held whole, not read on demand); ` +
      `peak memory of its renderer process ${mib(f.memory.peakBytes)}.`);
  } else {
    lines.push(`- first sync into an empty syncore \`idb\` store: did not finish (${f?.error ?? figures.error}); ` +
      `peak renderer memory until then ${f ? mib(f.memory.peakBytes) : '–'}.`);
  }
  const w = figures.wake;
  if (w) {
    lines.push(`- a stopped module service worker woken by a \`sync\` event over the DevTools protocol ` +
      '(`ServiceWorker.dispatchSyncEvent`), syncore `handleSyncEvents`: worker started after ' +
      `${fmtInt(w.startMs)} ms, first push request sent after ${fmtInt(w.firstPushMs)} ms (target ≤ 300 ms), sync done after ` +
      `${fmtInt(w.doneMs)} ms; peak memory of its renderer process ${mib(w.memory.peakBytes)} ` +
      `(${mib(w.memory.startBytes)} before the event).`);
  } else if (f?.ms) {
    lines.push(`- the woken service worker: not measured (${figures.error}).`);
  }
  lines.push('', 'Memory is the peak VmRSS of the renderer process that did the work (the busiest one while sampling; the',
    "worker and the service worker live in a renderer process), sampled from /proc every 200 ms (50 ms for the wake-up).");
  return { figures, section: lines.join('\n') + '\n' };
}
