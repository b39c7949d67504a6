// sync-e2e.mjs — the seed apps' scenarios (SPEC §10) in headless Chromium against the real
// server (build/syncore-server, SQLite, --dev tokens), each device a page with its own
// IndexedDB store, all in one partition. Pages are served by the server's own --static.
// Usage: node tests/js/sync-e2e.mjs [name-substring]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startServer, ROOT, tmp } from '../server/lib.mjs';

const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];
const only = process.argv[2];
const tests = [];
const test = (name, fn) => tests.push({ name, fn });
const same = (a, b, what) => {
  if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`${what}: expected ${JSON.stringify(b)}, got ${JSON.stringify(a)}`);
};
const check = (c, what) => { if (!c) throw new Error(what); };

const dbDir = tmp('syncore-e2e-db-');
const server = await startServer(`sqlite:${join(dbDir, 'e2e.db')}`, ['--static', ROOT, '--rate', '0',
  '--server-ids', 'pets,appointments', '--derive', 'appointments.clientId=pets.ownerId@petId']);
const profile = mkdtempSync(join(tmpdir(), 'syncore-e2e-'));
const browser = await chromium.launchPersistentContext(profile, { executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ARGS, headless: true });
let run = 0;

async function device(name, collections, { skewMs = 0, extra = {} } = {}) {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.log(`  [${name}] page error: ${e.message}`));
  await page.goto(`${server.base}/tests/js/pages/device.html?skewMs=${skewMs}`);
  await page.waitForFunction(() => window.libReady);
  await page.evaluate(([n, c, x]) => window.openDevice(n, c, x), [`${name}-${run}`, collections, extra]);
  const call = (fn, arg) => page.evaluate(fn, arg);
  return { page, call, sync: () => call(() => window.store.sync()) };
}

test('bad server answers change nothing: a truncated push answer is retried and acknowledged once', async () => {
  const cols = { notes: { strategy: 'lww' } };
  const a = await device('trunc', cols);
  await a.call(() => window.store.put('notes', { id: 'n1', text: 'hello' }));
  await a.page.route('**/sync/push', async (route) => {
    const res = await route.fetch();
    await route.fulfill({ status: 200, body: (await res.text()).slice(0, 20), headers: { 'content-type': 'application/json' } });
  });
  const r1 = await a.sync();
  check(r1.error && r1.pushed === 0, `the truncated answer is an error: ${JSON.stringify(r1)}`);
  same((await a.call(() => window.store.get('notes', 'n1'))).text, 'hello', 'the record is untouched');
  await a.page.unroute('**/sync/push');
  const r2 = await a.sync();
  same(r2.pushed + r2.pulled, 1, 'the op is settled once: by the duplicate answer or by pulling its own applied change');
  same((await a.call(() => window.store.outbox())).length, 0, 'outbox empty');
  const b = await device('trunc-peer', cols);
  await b.sync();
  const seen = await b.call(() => window.store.list('notes'));
  same(seen, [{ id: 'n1', text: 'hello' }], 'the server applied it exactly once');
});

test('two pages and the service worker write one store at once: every write kept, each saw the others', async () => {
  const cols = { items: { strategy: 'lww', indexes: ['writer'] } };
  const name = `shared-${Date.now()}`;
  const count = 60;
  const pages = [];
  for (const who of ['p1', 'p2']) {
    const page = await browser.newPage();
    await page.goto(`${server.base}/tests/js/pages/device.html`);
    await page.waitForFunction(() => window.libReady);
    await page.evaluate(async ([n, c]) => {
      window.store = await window.lib.openStore({ name: n, storage: 'idb', collections: c, sync: { auto: false } });
      window.others = new Set();
      window.store.on('change', (e) => { if (e.origin === 'other-context') window.others.add(e.ids[0].split('-')[0]); });
    }, [name, cols]);
    pages.push({ who, page });
  }
  const swDone = pages[0].page.evaluate(async ([n, c, k]) => {
    const reg = await navigator.serviceWorker.register('./ctx-sw.js', { type: 'module', scope: './' });
    const sw = reg.installing || reg.waiting || reg.active;
    if (sw.state !== 'activated') await new Promise((r) => sw.addEventListener('statechange', () => sw.state === 'activated' && r()));
    const { port1, port2 } = new MessageChannel();
    const answer = new Promise((r) => { port1.onmessage = (e) => r(e.data); });
    sw.postMessage({ name: n, collections: c, count: k }, [port2]);
    return answer;
  }, [name, cols, count]);
  const writes = pages.map(({ who, page }) => page.evaluate(async ([w, k]) => {
    for (let i = 0; i < k; i++) await window.store.put('items', { id: `${w}-${i}`, writer: w, i });
  }, [who, count]));
  await Promise.all(writes);
  const sw = await swDone;
  check(!sw.error, `service worker: ${sw.error}`);
  same(sw.sawOthers, ['p1', 'p2'], 'the service worker saw both pages\' changes');
  for (const { who, page } of pages) {
    await page.waitForFunction(() => window.others.size >= 2, null, { timeout: 20000 });
    const others = await page.evaluate(() => [...window.others].sort());
    same(others, ['p1', 'p2', 'sw'].filter((x) => x !== who), `${who} saw the other contexts`);
  }
  // A fresh context reads what IndexedDB holds: every resolved write of every context.
  const fresh = await browser.newPage();
  await fresh.goto(`${server.base}/tests/js/pages/device.html`);
  await fresh.waitForFunction(() => window.libReady);
  const counts = await fresh.evaluate(async ([n, c]) => {
    const s = await window.lib.openStore({ name: n, storage: 'idb', collections: c, sync: { auto: false } });
    const out = {};
    for (const w of ['p1', 'p2', 'sw']) out[w] = await s.count('items', { where: { writer: w } });
    out.outbox = (await s.outbox()).length;
    return out;
  }, [name, cols]);
  same(counts, { p1: count, p2: count, sw: count, outbox: 3 * count }, 'every write is stored, each with its op');
});

let passed = 0, failed = 0;
try {
  for (const t of tests) {
    if (only && !t.name.includes(only)) continue;
    run++;
    const t0 = Date.now();
    try { await t.fn(); passed++; console.log(`  ok   ${t.name} (${Date.now() - t0} ms)`); } catch (e) {
      failed++; console.log(`  FAIL ${t.name}\n       ${String(e.stack || e).split('\n').slice(0, 4).join('\n       ')}`);
    }
    for (const p of browser.pages()) await p.close();
  }
} finally {
  await browser.close();
  await server.stop();
  rmSync(profile, { recursive: true, force: true });
  rmSync(dbDir, { recursive: true, force: true });
}
console.log(`# sync e2e: ${passed} passed, ${failed} failed`);
process.exit(failed || !passed ? 1 : 0);
