// run.mjs — `make bench`: syncore and the stores a PWA developer would pick instead, side by
// side in ONE headless Debian Chromium session (flags as tests/js), every contestant in a
// dedicated worker (syncore also in a service worker), against the real build/syncore-server
// (SQLite, --dev, started here on 127.0.0.1, serving the pages too via --static).
//
// Per contestant and repetition, in a partition of its own: the server gets BASE creates; the
// contestant's first sync pulls them (workload 2); it makes EDITS local edits (untimed); the
// server gets UPDATES updates (CONFLICTS of them to edited records) and CREATES creates from
// another device; the contestant pulls them (workload 1); a new worker opens the store until
// the pending count returns (3); WRITES single durable writes (4). After each sync the
// contestant's records, conflicts and pending count are checked equal to the judge of
// data.mjs (computed from the generated data alone); any difference fails the run. Workload
// 5 (normalizeTime against plain JS) runs in a worker of its own; 6 (gzipped bytes) gzips
// the files each worker loaded. Order rotates each repetition and reverses every other one.
// Medians with min–max go to the "Client" section of docs/BENCHMARKS.md (unless --no-write).
//
// Env: BENCH_REPS (3), BENCH_BASE (20000), BENCH_EDITS (2000), BENCH_CONFLICTS (1500),
// BENCH_UPDATES (10000), BENCH_CREATES (10000), BENCH_WRITES (200), BENCH_TIMES (1000000),
// BENCH_DEADLINE_S (no new run after it; the report covers the runs done),
// BENCH_ONLY (comma list of contestant keys; nothing written), BENCH_MILLION=1 (million.mjs after the
// rest, its own section "Client: a million records"), BENCH_ONLY=million (that alone).
// --smoke: one repetition of tiny sizes, nothing written (the harness loads and judges each).
import { readFileSync, rmSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { chromium } from 'playwright-core';
import { startServer, tokenFor, hlc, tmp, ROOT } from '../../tests/server/lib.mjs';
import { writeBenchmarkSection } from '../doc.mjs';
import { COLLECTION, DEFAULT_SIZES, scenario, remoteChanges, recordId, recordData, judge, judgeFirstSync } from './data.mjs';
import { report, pct } from './report.mjs';
import { sampleRenderers } from './memory.mjs';

const SMOKE = process.argv.includes('--smoke');
const WRITE = !process.argv.includes('--no-write') && !SMOKE && !process.env.BENCH_ONLY;
const env = (k, d) => Number(process.env[k] || d);
const SIZES = SMOKE ? { base: 300, edits: 40, conflicts: 30, updates: 150, creates: 150 }
  : Object.fromEntries(Object.entries(DEFAULT_SIZES).map(([k, v]) => [k, env(`BENCH_${k.toUpperCase()}`, v)]));
const REPS = SMOKE ? 1 : env('BENCH_REPS', 3);
const WRITES = SMOKE ? 10 : env('BENCH_WRITES', 200);
const TIMES = SMOKE ? 10000 : env('BENCH_TIMES', 1000000);
// After this many seconds no new contestant run starts; the report covers the runs completed.
const DEADLINE = Date.now() + env('BENCH_DEADLINE_S', 1e9) * 1000;
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

// key → where it runs. Order here is the order of the table's columns.
const ALL = [
  { key: 'syncore-idb', contestant: 'syncore', storage: 'idb', where: 'worker', label: 'syncore idb' },
  { key: 'syncore-opfs', contestant: 'syncore', storage: 'opfs', where: 'worker', label: 'syncore opfs' },
  { key: 'syncore-sw', contestant: 'syncore', storage: 'idb', where: 'service-worker', label: 'syncore idb, service worker' },
  { key: 'idb', contestant: 'idb', where: 'worker' },
  { key: 'dexie', contestant: 'dexie', where: 'worker' },
  { key: 'sahpool', contestant: 'sahpool', where: 'worker' },
  { key: 'wasqlite', contestant: 'wasqlite', where: 'worker' },
  { key: 'pouchdb', contestant: 'pouchdb', where: 'worker' },
];
const only = process.env.BENCH_ONLY?.split(',');
const MILLION_ONLY = process.env.BENCH_ONLY === 'million';     // workload 7 alone
const MILLION = MILLION_ONLY || process.env.BENCH_MILLION === '1';
const VARIANTS = MILLION_ONLY ? [] : only ? ALL.filter((v) => only.includes(v.key)) : ALL;
if (!VARIANTS.length && !MILLION_ONLY) throw new Error(`BENCH_ONLY matches none of ${ALL.map((v) => v.key)} (or 'million')`);

const sc = scenario(SIZES);
const expectFirst = judgeFirstSync(sc);
const expectEnd = judge(sc);
const same = (got, want, what) => {
  if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`bench: ${what}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
};

// ---------------------------------------------------------------- server side

const t0 = Date.now();
const dbDir = tmp('syncore-bench-db-');
// One client address does all the seeding: no rate limit, and no per-address connection cap
// (Node's fetch does not always reuse its connection for large bodies; the server keeps an
// idle one for --idle-timeout, so 64 of them refused the million seeding after ~600 pushes).
const server = await startServer(`sqlite:${join(dbDir, 'bench.db')}`, ['--static', ROOT, '--rate', '0', '--max-connections-per-ip', '0']);
let opSeq = 0;

async function push(token, device, ops) {
  for (let k = 0; k < ops.length; k += 1000) {
    const body = JSON.stringify({ device_id: device, ops: ops.slice(k, k + 1000) });
    const r = await fetch(`${server.base}/sync/push`, { method: 'POST', headers: { authorization: `Bearer ${token}`,
      'content-type': 'application/json' }, body });
    const out = await r.json();
    if (r.status !== 200) throw new Error(`bench: seeding push ${r.status}: ${JSON.stringify(out).slice(0, 300)}`);
    const bad = out.results.find((x) => x.status !== 'applied');
    if (bad) throw new Error(`bench: seeding op not applied: ${JSON.stringify(bad).slice(0, 300)}`);
  }
}
const op = (kind, i, gen, base, device) => {
  const now = Date.now();
  return { op_id: `seed-${process.pid}-${++opSeq}`, collection: COLLECTION, id: recordId(i), kind, base_version: base,
    data: recordData(gen, i), updated_at: new Date(now).toISOString(), hlc: hlc(now, opSeq % 100000, device) };
};
const seedBase = (token) => push(token, 'origin', Array.from({ length: SIZES.base }, (_, i) => op('create', i, 'base', 0, 'origin')));
const seedRemote = (token) => push(token, 'other',
  remoteChanges(sc).map((c) => op(c.kind, c.i, c.gen, c.kind === 'update' ? 1 : 0, 'other')));

// ---------------------------------------------------------------- browser side

const profile = tmp('syncore-bench-profile-');
const context = await chromium.launchPersistentContext(profile, { executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ARGS, headless: true,
  handleSIGINT: false, handleSIGTERM: false });
const browserVersion = context.browser()?.version() || '';
// Interrupted: close the browser and stop the server before going (they are ours alone).
let stopping = null;
const stopAll = () => (stopping ??= Promise.allSettled([context.close(), server.stop()]).then(() => {
  rmSync(profile, { recursive: true, force: true });
  rmSync(dbDir, { recursive: true, force: true });
}));
for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => stopAll().then(() => process.exit(130)));
const results = Object.fromEntries(VARIANTS.map((v) => [v.key, []]));
const describes = {};
const loaded = {};
const times = [];

async function openPage(tag) {
  const page = await context.newPage();
  page.on('pageerror', (e) => console.log(`  [${tag}] page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') console.log(`  [${tag}] console: ${m.text()}`); });
  await page.goto(`${server.base}/bench/compare/bench.html`);
  await page.waitForFunction(() => window.benchReady, null, { timeout: 60000 });
  return page;
}

async function clearOrigin(page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('Storage.clearDataForOrigin', { origin: server.base, storageTypes: 'all' });
  await cdp.detach();
}

async function runOne(v, rep) {
  const token = tokenFor(`bench-${v.key}-r${rep}-${process.pid}`, undefined, 7200);
  const remote = { base: server.base, token };
  const name = `${v.key.replace(/[^A-Za-z0-9_-]/g, '_')}-r${rep}`;
  const seedT = Date.now();
  await seedBase(token);
  const memory = sampleRenderers(profile, 500);
  const page = await openPage(v.key);
  const call = (msg) => page.evaluate((m) => window.call(m), msg);
  try {
    await page.evaluate((k) => window.startWorker(k), v.where);
    const opened = await call({ cmd: 'open', contestant: v.contestant, name, remote, storage: v.storage, sizes: SIZES });
    describes[v.key] = opened.describe;
    const first = await call({ cmd: 'sync' });
    same(first.pulled, SIZES.base, `${v.key}: changes pulled by the first sync`);
    same(await call({ cmd: 'state' }), expectFirst, `${v.key}: state after the first sync`);
    const edit = await call({ cmd: 'edit' });
    await seedRemote(token);
    const pull = await call({ cmd: 'sync' });
    same(pull.pulled, sc.pull, `${v.key}: changes pulled into the store with edits`);
    same(await call({ cmd: 'state' }), expectEnd, `${v.key}: state after the pull`);
    let cold = null;
    if (v.where === 'worker') {
      await call({ cmd: 'close' });
      cold = await page.evaluate((m) => window.coldOpen(m), { contestant: v.contestant, name, remote, storage: v.storage, sizes: SIZES });
      same(cold.pending, SIZES.edits, `${v.key}: pending count after the cold open`);
    }
    const writes = (await call({ cmd: 'write', n: WRITES })).times;
    if (!loaded[v.key] && v.where === 'worker') loaded[v.key] = await call({ cmd: 'resources' });
    await call({ cmd: 'close' });
    const r = { first: first.ms, pull: pull.ms, edit: edit.ms, cold, writes, open: opened.ms, peakBytes: memory.stop().peakBytes };
    results[v.key].push(r);
    console.log(`  rep ${rep + 1} ${v.key.padEnd(12)} first sync ${fmt(SIZES.base / first.ms * 1000)}/s, pull ${fmt(sc.pull / pull.ms * 1000)}/s, ` +
      `cold ${cold ? cold.openMs.toFixed(0) + ' ms' : '–'}, write p50 ${pct(writes, 0.5).toFixed(2)} ms ` +
      `(edits ${edit.ms.toFixed(0)} ms, peak renderer ${(r.peakBytes / 2 ** 20).toFixed(0)} MiB, seeding+run ${((Date.now() - seedT) / 1000).toFixed(0)} s)`);
  } finally {
    memory.stop();
    await clearOrigin(page).catch(() => {});
    await page.close();
  }
}

async function runTimes() {
  const page = await openPage('normalizeTime');
  try {
    await page.evaluate(() => window.startWorker('worker'));
    const r = await page.evaluate((n) => window.call({ cmd: 'normalize', n }), TIMES);
    if (r.mismatches.length) throw new Error(`bench: normalizeTime and plain JS differ: ${JSON.stringify(r.mismatches)}`);
    times.push(r);
    console.log(`  normalizeTime ×${fmt(TIMES)}: syncore ${r.syncoreMs.toFixed(0)} ms, plain JS ${r.jsMs.toFixed(0)} ms (${fmt(r.errors)} rejected by both)`);
  } finally {
    await page.close();
  }
}

const fmt = (x) => Math.round(x).toLocaleString('en-US');

let million = null;
try {
  reps: for (let rep = 0; rep < (MILLION_ONLY ? 0 : REPS); rep++) {
    const rot = VARIANTS.map((_, i) => VARIANTS[(i + rep) % VARIANTS.length]);
    for (const v of rep % 2 ? rot.reverse() : rot) {
      if (Date.now() > DEADLINE) { console.log(`  BENCH_DEADLINE_S reached: no more runs (the report says how many each got)`); break reps; }
      await runOne(v, rep);
    }
    await runTimes();
  }
  if (MILLION) {
    const { runMillion } = await import('./million.mjs');
    million = await runMillion({ context, server, openPage, profile, browserVersion });
  }
} finally {
  await stopAll();
}

// ---------------------------------------------------------------- shipped bytes

// The files under /js-glue/ and /node_modules/ a contestant's worker loaded, gzip -9 each.
function shipped(urls) {
  const files = [...new Set((urls || []).map((u) => new URL(u).pathname).filter((p) => /^\/(js-glue|node_modules)\//.test(p)))];
  let raw = 0, gz = 0;
  for (const f of files) {
    const b = readFileSync(join(ROOT, f));
    raw += b.length;
    gz += gzipSync(b, { level: 9 }).length;
  }
  return { files, raw, gz };
}
const bytes = Object.fromEntries(Object.entries(loaded).map(([k, urls]) => [k, shipped(urls)]));
if (SMOKE) {
  for (const [k, b] of Object.entries(bytes)) {
    if (k !== 'idb' && !b.files.length) throw new Error(`bench: ${k} loaded no library files?`);
    console.log(`  ${k}: ${b.files.join(' ')}`);
  }
  console.log(`smoke: ${VARIANTS.length} contestants loaded, synced and judged equal in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  process.exit(0);
}

if (million && !process.argv.includes('--no-write')) writeBenchmarkSection(ROOT, 'Client: a million records', million.section);
if (MILLION_ONLY) process.exit(0);
const version = (pkg) => JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')).version;
const text = report({
  sizes: SIZES, reps: REPS, writes: WRITES, timesN: TIMES, variants: VARIANTS, results, describes, bytes, times,
  env: { browserVersion, playwright: version('playwright-core'), cpu: cpus()[0]?.model?.trim() || 'unknown CPU', cores: cpus().length,
    memGiB: Math.round(totalmem() / 2 ** 30), serverMode: process.env.BENCH_SERVER_MODE || 'debug',
    commit: (() => { try { return execFileSync('git', ['-C', ROOT, 'describe', '--always', '--dirty'], { encoding: 'utf8' }).trim(); } catch { return 'unknown'; } })(), date: new Date().toISOString().slice(0, 10), elapsed: (Date.now() - t0) / 1000,
    packages: { dexie: version('dexie'), sqlite: version('@sqlite.org/sqlite-wasm'), wasqlite: version('@journeyapps/wa-sqlite'),
      pouchdb: version('pouchdb') } },
});
console.log('\n' + text);
if (WRITE) writeBenchmarkSection(ROOT, 'Client', text);
