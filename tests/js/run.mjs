// run.mjs — the JS API suite (api-suite.js) in headless Debian Chromium, in every context
// (window, module worker, module service worker) over every backend that context offers
// (idb and memory everywhere, opfs in the dedicated worker). Fresh profile per run.
// Usage: node tests/js/run.mjs [context] [storage]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startServer } from '../e2e/server.mjs';

const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];
const MATRIX = [['window', 'idb'], ['window', 'memory'], ['worker', 'idb'], ['worker', 'opfs'], ['worker', 'memory'],
  ['sw', 'idb'], ['sw', 'memory']];
const [onlyContext, onlyStorage] = process.argv.slice(2);

const server = await startServer();
const dir = mkdtempSync(join(tmpdir(), 'syncore-js-'));
const browser = await chromium.launchPersistentContext(dir, { executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ARGS, headless: true });
let passed = 0, failed = 0;
try {
  for (const [context, storage] of MATRIX) {
    if ((onlyContext && onlyContext !== context) || (onlyStorage && onlyStorage !== storage)) continue;
    const page = await browser.newPage();
    page.on('pageerror', (e) => console.log(`  [${context}/${storage}] page error: ${e.message}`));
    await page.goto(`${server.url}/tests/js/pages/suite.html?context=${context}&storage=${storage}`);
    const handle = await page.waitForFunction(() => window.suiteResult, null, { timeout: 120000 });
    const results = await handle.jsonValue();
    if (!results.length) { failed++; console.log(`  FAIL [${context}/${storage}] no results`); }
    for (const r of results) {
      if (r.ok) passed++; else failed++;
      console.log(`  ${r.ok ? 'ok  ' : 'FAIL'} [${context}/${storage}] ${r.name}${r.ok ? '' : `\n       ${r.error.split('\n').join('\n       ')}`}`);
    }
    await page.close();
  }
} finally {
  await browser.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
console.log(`# js api suite: ${passed} passed, ${failed} failed`);
process.exit(failed || !passed ? 1 : 0);
