// run.mjs — the JS API suite (api-suite.js) in a browser engine (tests/engines/launch.mjs:
// Chromium by default, Firefox ESR, WebKitGTK), in every context (window, module worker,
// module service worker) over every backend that context offers there (idb and memory
// everywhere, opfs in the dedicated worker where the engine has OPFS sync access handles;
// where it has none, opening an opfs store must fail with SC_STORAGE). Fresh profile per run.
// Usage: node tests/js/run.mjs [--engine chromium|firefox|webkit] [--fast] [context] [storage]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch } from '../engines/launch.mjs';
import { startServer } from '../e2e/server.mjs';

const MATRIX = [['window', 'idb'], ['window', 'memory'], ['worker', 'idb'], ['worker', 'opfs'], ['worker', 'memory'],
  ['sw', 'idb'], ['sw', 'memory']];
const args = process.argv.slice(2);
const at = args.indexOf('--engine');
const engine = at >= 0 ? args.splice(at, 2)[1] : 'chromium';
// --fast (make test's cross-engine subset): the suite in each context on idb only.
const fast = args.includes('--fast') && Boolean(args.splice(args.indexOf('--fast'), 1));
const [onlyContext, onlyStorage] = args;

const server = await startServer();
const dir = mkdtempSync(join(tmpdir(), 'syncore-js-'));
const browser = await launch(engine, { profile: dir, origin: server.url });
let passed = 0, failed = 0;
const report = (ok, label, error) => {
  if (ok) passed++; else failed++;
  console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${label}${ok ? '' : `\n       ${String(error).split('\n').join('\n       ')}`}`);
};
try {
  for (const [context, storage] of MATRIX) {
    if ((onlyContext && onlyContext !== context) || (onlyStorage && onlyStorage !== storage) || (fast && storage !== 'idb')) continue;
    const tag = `[${engine} ${context}/${storage}]`;
    const page = await browser.newPage(`${server.url}/tests/js/pages/suite.html?context=${context}&storage=${storage}`);
    const results = await page.waitFor(() => window.suiteResult, null, 180000);
    if (!results.length) report(false, `${tag} no results`, 'the suite ran no test');
    for (const r of results) report(r.ok, `${tag} ${r.name}`, r.error);
    for (const e of page.errors) console.log(`  ${tag} page error: ${e}`);
    await page.close();
  }
} finally {
  await browser.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
console.log(`# js api suite (${engine}): ${passed} passed, ${failed} failed`);
process.exit(failed || !passed ? 1 : 0);
