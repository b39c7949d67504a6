// run.mjs — quick client performance figures while `make bench` (the side-by-side harness)
// is built: syncore alone on 'idb' in a dedicated worker, one headless Chromium, fresh
// profile, pages from 127.0.0.1. Prints records/s for the first sync and pull apply, the
// cold open to pendingCount, and single durable writes next to raw strict IndexedDB.
// Usage: node bench/perf/run.mjs [work...]   env: PERF_N (20000), PERF_PAGE (500), PERF_REPS (3)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startServer } from '../../tests/e2e/server.mjs';

const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];
const N = Number(process.env.PERF_N || 20000), PAGE = Number(process.env.PERF_PAGE || 500), REPS = Number(process.env.PERF_REPS || 3);
const only = process.argv.slice(2);
const want = (w) => !only.length || only.includes(w);
const median = (a) => a.slice().sort((x, y) => x - y)[a.length >> 1];

const profile = mkdtempSync(join(tmpdir(), 'syncore-perf-'));
const server = await startServer();
const browser = await chromium.launchPersistentContext(profile, { executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ARGS, headless: true });
try {
  const page = await browser.newPage();
  page.on('console', (m) => console.log('  [page]', m.text()));
  await page.goto(`${server.url}/bench/perf/pull.html`);
  await page.waitForFunction(() => window.perfReady);
  const run = async (work, args) => {
    const r = await page.evaluate(([w, a]) => window.runInWorker(w, a), [work, args]);
    if (!r || r.error || !r.ok) throw new Error(`${work}: ${r ? r.error || JSON.stringify(r) : "no answer"}`);
    return r.ok;
  };
  const out = {};
  for (let rep = 0; rep < REPS; rep++) {
    if (want('first')) (out.first ||= []).push(await run('firstSync', { name: `first${rep}`, n: N, page: PAGE }));
    if (want('first-uuid')) (out.firstUuid ||= []).push(await run('firstSync', { name: `firstu${rep}`, n: N, page: PAGE, uuid: true, text: true }));
    if (want('first-bench')) (out.firstBench ||= []).push(await run('firstSync', { name: `firstb${rep}`, n: N, page: PAGE, text: true, shape: 'bench' }));
    if (want('core')) (out.core ||= []).push(await run('coreOnly', { name: `core${rep}`, n: N, page: PAGE }));
    if (want('core-warm')) (out.coreWarm ||= []).push(await run('coreOnly', { name: `corew${rep}`, n: N, page: PAGE, warm: true }));
    if (want('first-memory')) (out.firstMemory ||= []).push(await run('firstSync', { name: `firstm${rep}`, n: N, page: PAGE, storage: 'memory' }));
    if (want('pull')) (out.pull ||= []).push(await run('pullApply', { name: `pull${rep}`, n: N, page: PAGE, edits: 2000, clash: 1500 }));
    if (want('pull-uuid')) (out.pullUuid ||= []).push(await run('pullApply', { name: `pullu${rep}`, n: N, page: PAGE, edits: 2000, clash: 1500, uuid: true, text: true }));
    if (want('pull-bench')) (out.pullBench ||= []).push(await run('pullApply', { name: `pullb${rep}`, n: N, page: PAGE, edits: 2000, clash: 1500, text: true, shape: 'bench' }));
    if (want('open')) {   // the store of the pull apply (or of the first sync when only that ran)
      if (!out.pull && !out.first) await run('pullApply', { name: `pull${rep}`, n: N, page: PAGE, edits: 2000, clash: 1500 });
      (out.open ||= []).push(await run('coldOpen', { name: out.pullBench ? `pullb${rep}` : out.pull ? `pull${rep}` : `first${rep}` }));
    }
    if (want('write')) (out.write ||= []).push(await run('writes', { name: `write${rep}`, k: 200 }));
  }
  if (out.first) console.log(`first sync, ${N} in pages of ${PAGE}: ${median(out.first.map((r) => r.rate)).toFixed(0)} records/s`, JSON.stringify(out.first));
  if (out.firstUuid) console.log(`first sync, random ids, answers as text: ${median(out.firstUuid.map((r) => r.rate)).toFixed(0)} records/s`, JSON.stringify(out.firstUuid));
  if (out.core) console.log(`pullResponse alone on the memory backend: ${median(out.core.map((r) => r.rate)).toFixed(0)} records/s (inside core.call: ${median(out.core.map((r) => r.coreRate)).toFixed(0)}/s)`);
  if (out.coreWarm) console.log(`pullResponse alone, second pass in the worker: ${median(out.coreWarm.map((r) => r.rate)).toFixed(0)} records/s (inside core.call: ${median(out.coreWarm.map((r) => r.coreRate)).toFixed(0)}/s)`);
  if (out.firstMemory) console.log(`first sync on the memory backend (core + glue, nothing persisted): ${median(out.firstMemory.map((r) => r.rate)).toFixed(0)} records/s`);
  if (out.pull) console.log(`pull apply, ${N} into ${N} with 2000 edits: ${median(out.pull.map((r) => r.rate)).toFixed(0)} records/s`, JSON.stringify(out.pull));
  if (out.firstBench) console.log(`first sync, make bench's records, answers as text: ${median(out.firstBench.map((r) => r.rate)).toFixed(0)} records/s`, JSON.stringify(out.firstBench));
  if (out.pullBench) console.log(`pull apply, make bench's records, answers as text: ${median(out.pullBench.map((r) => r.rate)).toFixed(0)} records/s`, JSON.stringify(out.pullBench));
  if (out.pullUuid) console.log(`pull apply, random ids, answers as text: ${median(out.pullUuid.map((r) => r.rate)).toFixed(0)} records/s`, JSON.stringify(out.pullUuid));
  if (out.open) console.log(`cold open until pendingCount: ${median(out.open.map((r) => r.ms)).toFixed(1)} ms`, JSON.stringify(out.open));
  if (out.write) console.log(`durable write p50: syncore ${median(out.write.map((r) => r.syncore)).toFixed(2)} ms, raw IndexedDB ${median(out.write.map((r) => r.raw)).toFixed(2)} ms`);
} finally {
  await browser.close();
  server.close();
  rmSync(profile, { recursive: true, force: true });
}
