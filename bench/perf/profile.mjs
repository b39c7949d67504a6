// profile.mjs — a CPU profile of the core's pull apply in Chromium (CDP Profiler), on the page's
// main thread: bench/perf/pull-worker.js's coreOnly (pullResponse pages on the memory backend).
// Build the wasm with names first (a --profiling-funcs link), e.g.
//   make WASM_OUT=build/wasm-prof WASM_LDFLAGS="<the usual flags> --profiling-funcs" build/wasm-prof/syncore.mjs
//   cp build/wasm-prof/syncore.wasm js-glue/ && node bench/perf/profile.mjs
// Prints self time by function, top PROF_TOP (40). env: PERF_N (5000), PERF_PAGE (500),
// PROF_WORK (coreOnly; any work of pull-worker.js, e.g. firstSync) with PROF_ARGS (JSON, merged
// into { name, n, page }, e.g. '{"uuid":true,"text":true}').
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startServer } from '../../tests/e2e/server.mjs';

const WORK = process.env.PROF_WORK || 'coreOnly', EXTRA = JSON.parse(process.env.PROF_ARGS || '{}');
const N = Number(process.env.PERF_N || 5000), PAGE = Number(process.env.PERF_PAGE || 500), TOP = Number(process.env.PROF_TOP || 40);
const profile = mkdtempSync(join(tmpdir(), 'syncore-prof-'));
const server = await startServer();
const browser = await chromium.launchPersistentContext(profile, { executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run'], headless: true });
try {
  const page = await browser.newPage();
  await page.goto(`${server.url}/bench/perf/pull.html`);
  await page.waitForFunction(() => window.perfReady);
  await page.evaluate(async () => { window.perfWork = await import('./pull-worker.js'); });
  // a warm-up run, then the profiled one
  const go = (id, name) => page.evaluate(([i, w, a]) => window.perfWork.handle({ id: i, work: w, args: a }),
    [id, WORK, { name, n: N, page: PAGE, ...EXTRA }]);
  await go(0, 'w');
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
  // A work that marks its timed part (pullApply: after its store is set up) starts the profile there.
  if (WORK === 'pullApply') {
    await page.exposeFunction('profileTimedStart', () => cdp.send('Profiler.start'));
    await page.evaluate(() => { window.profileTimed = () => window.profileTimedStart(); });
  } else {
    await cdp.send('Profiler.start');
  }
  const r = await go(1, 'p');
  const { profile: prof } = await cdp.send('Profiler.stop');
  console.log('run:', JSON.stringify(r.ok || r.error));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = prof.timeDeltas;
  let total = 0;
  prof.samples.forEach((id, i) => {
    const n = byId.get(id), name = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').pop()}`;
    self.set(name, (self.get(name) || 0) + (dt[i] || 0)); total += dt[i] || 0;
  });
  const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, TOP);
  for (const [name, us] of rows) console.log(`${(100 * us / total).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(1).padStart(8)} ms  ${name}`);
} finally {
  await browser.close();
  server.close();
  rmSync(profile, { recursive: true, force: true });
}
