// idb-txn.mjs — p50 of one strict IndexedDB transaction of each shape in headless Chromium
// (idb-txn-worker.js): the floor under syncore's durable write. Usage: node bench/perf/idb-txn.mjs
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startServer } from '../../tests/e2e/server.mjs';

const profile = mkdtempSync(join(tmpdir(), 'syncore-idbtxn-'));
const server = await startServer();
const browser = await chromium.launchPersistentContext(profile, { executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'], headless: true });
try {
  const page = await browser.newPage();
  await page.goto(`${server.url}/bench/perf/pull.html`);
  const out = await page.evaluate(() => new Promise((resolve, reject) => {
    const w = new Worker('./idb-txn-worker.js', { type: 'module' });
    w.onmessage = (e) => resolve(e.data);
    w.onerror = (e) => reject(new Error(e.message));
  }));
  for (const [name, p50s] of Object.entries(out)) console.log(`${p50s.map((x) => x.toFixed(2)).join(' / ')} ms  ${name}`);
} finally {
  await browser.close();
  server.close();
  rmSync(profile, { recursive: true, force: true });
}
