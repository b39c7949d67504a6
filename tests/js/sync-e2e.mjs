// sync-e2e.mjs — several contexts of one browser profile on one store, against the real
// server's static pages: two pages and a module service worker write at once; every write is
// kept and each context sees the others' changes. (The seed apps' scenarios are in
// tests/seeds/, one file per seed; this file reuses their launcher and assertions.)
// Usage: node tests/js/sync-e2e.mjs [name-substring]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startServer, ROOT, tmp } from '../server/lib.mjs';
import { CHROMIUM, CHROMIUM_ARGS, same, check } from '../seeds/lib.mjs';

const only = process.argv[2];
const tests = [];
const test = (name, fn) => tests.push({ name, fn });

const dbDir = tmp('syncore-e2e-db-');
const server = await startServer(`sqlite:${join(dbDir, 'e2e.db')}`, ['--static', ROOT, '--rate', '0']);
const profile = mkdtempSync(join(tmpdir(), 'syncore-e2e-'));
const browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
let run = 0;

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
