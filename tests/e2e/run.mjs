// run.mjs — browser tests of the wasm module and its persistence (docs/STORAGE.md), in one
// engine (tests/engines/launch.mjs: Chromium by default, Firefox ESR, WebKitGTK with a
// persistent profile), pages served from 127.0.0.1:
// durability across reload, browser restart, a crashed renderer and a SIGKILLed browser;
// several contexts (pages, a worker, the service worker) writing one store; backend
// registry rules; storage failures surfacing as SC_STORAGE; the IndexedDB log (replay,
// a crash during a checkpoint, catching up across checkpoints, the version-1 layout).
// Every test uses a fresh profile. Tests that need one engine's own tools (Chromium's
// renderer crash, init scripts) say so and are listed as not run elsewhere. Prints one line
// per test and "N passed, N failed".
// Usage: node tests/e2e/run.mjs [--engine chromium|firefox|webkit] [--fast] [name-substring]
// --fast: the cross-engine subset make test runs (SIGKILL and a restart on the same profile,
// two pages and a worker).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, until as untilFor } from '../engines/launch.mjs';
import { startServer } from './server.mjs';

const TABLE = 'CREATE TABLE IF NOT EXISTS t(writer TEXT, i INTEGER, pad BLOB, PRIMARY KEY(writer, i))';
const argv = process.argv.slice(2);
const engineAt = argv.indexOf('--engine');
const engine = engineAt >= 0 ? argv.splice(engineAt, 2)[1] : 'chromium';
const fastOnly = argv.includes('--fast') && Boolean(argv.splice(argv.indexOf('--fast'), 1));
// --lazy: every store that is not empty opens lazily (pages read on demand) where the engine has JSPI.
const lazyImages = argv.includes('--lazy') && Boolean(argv.splice(argv.indexOf('--lazy'), 1));
const tests = [];
const test = (name, fn, { only, fast = false } = {}) => tests.push({ name, fn, only, fast });
let server;
const cleanups = [];

function check(cond, message) { if (!cond) throw new Error(message); }
function equal(actual, expected, what) {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}
const until = untilFor;

function profile() {
  const dir = mkdtempSync(join(tmpdir(), 'syncore-e2e-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// The writes a page (and its workers) reported resolved so far: a Set of i.
async function resolved(page, writer) {
  return new Set(await page.evaluate((w) => window.resolvedWrites[w] || [], writer));
}
// Poll until at least n writes of writer resolved; → that snapshot (each of them must survive).
function resolvedAtLeast(page, writer, n) {
  return until(() => resolved(page, writer).then((set) => set.size >= n && set), 30000, `${n} resolved writes of ${writer}`);
}

// A browser of this run's engine on profile dir (WebKit: MiniBrowser with its data in dir).
async function launchBrowser(dir) {
  const browser = await launch(engine, { profile: dir, origin: server.url, persistent: true });
  cleanups.push(() => browser.close().catch(() => {}));
  return browser;
}

async function harness(browser) {
  const page = await browser.newPage(`${server.url}/tests/e2e/pages/harness.html${lazyImages ? '?lazy' : ''}`);
  await page.waitFor(() => window.harnessReady === true, null, 20000);
  return page;
}
async function reloadHarness(page) {
  await page.reload();
  await page.waitFor(() => window.harnessReady === true, null, 20000);
}

async function rows(page, name, writer) {
  const out = await page.evaluate(([n, w]) => H.sql(n, `SELECT i FROM t WHERE writer = '${w}' ORDER BY i`), [name, writer]);
  return new Set(out.map((r) => r[0]));
}
async function integrity(page, name) {
  return (await page.evaluate((n) => H.sql(n, 'PRAGMA integrity_check'), name))[0][0];
}
function assertAllPresent(present, resolved, what) {
  const missing = [...resolved].filter((i) => !present.has(i));
  check(missing.length === 0, `${what}: ${missing.length} resolved writes lost (e.g. ${missing.slice(0, 5)})`);
}
async function openWithTable(page, name, storage = 'auto') {
  const backend = await page.evaluate(([n, s]) => H.open(n, s), [name, storage]);
  await page.evaluate(([n, sql]) => H.sql(n, sql), [name, TABLE]);
  return backend;
}

// ---------------------------------------------------------------- tests

test('idb store keeps every write across reload and browser restart', async () => {
  const dir = profile();
  let browser = await launchBrowser(dir);
  let page = await harness(browser);
  equal(await openWithTable(page, 'dur'), 'idb', 'auto backend of a new store');
  await page.evaluate(() => H.writeLoop('dur', 'a', 0, 200, 100));
  await reloadHarness(page);
  await page.evaluate(() => H.open('dur'));
  equal((await rows(page, 'dur', 'a')).size, 200, 'rows after reload');
  await browser.close();
  browser = await launchBrowser(dir);
  page = await harness(browser);
  await page.evaluate(() => H.open('dur'));
  equal((await rows(page, 'dur', 'a')).size, 200, 'rows after restart');
  equal(await integrity(page, 'dur'), 'ok', 'integrity_check');
});

// Chromium's renderer crash: the page's process dies, the browser lives on.
async function crashRenderer(page) {
  await page.raw.goto('chrome://crash').catch(() => {});
  await until(() => page.raw.isClosed() || page.raw.evaluate(() => 1).then(() => false, () => true), 10000, 'the crash');
}

test('writes interrupted by a renderer crash lose nothing resolved', async () => {
  const browser = await launchBrowser(profile());
  const page = await harness(browser);
  await openWithTable(page, 'crash');
  await page.start(() => H.writeLoop('crash', 'c', 0, 1e6, 3000));
  const done = await resolvedAtLeast(page, 'c', 150);
  await crashRenderer(page);
  const after = await harness(browser);
  await after.evaluate(() => H.open('crash'));
  equal(await integrity(after, 'crash'), 'ok', 'integrity_check');
  const present = await rows(after, 'crash', 'c');
  assertAllPresent(present, done, 'after renderer crash');
}, { only: ['chromium'] });

test('opfs writes in a worker interrupted by a renderer crash lose nothing resolved', async () => {
  const browser = await launchBrowser(profile());
  const page = await harness(browser);
  await page.evaluate(async (sql) => { window.W = H.worker(); await W.open('ocrash', 'opfs'); await W.sql('ocrash', sql); }, TABLE);
  await page.start(() => W.writeLoop('ocrash', 'o', 0, 1e6, 3000));
  const done = await resolvedAtLeast(page, 'o', 150);
  await crashRenderer(page);
  const after = await harness(browser);
  const out = await until(() => after.evaluate(async () => {
    const w = H.worker();
    const err = await w.openError('ocrash', 'auto');      // the crashed worker's handles may take a moment to go
    if (err) return null;
    return { check: (await w.sql('ocrash', 'PRAGMA integrity_check'))[0][0], rows: (await w.sql('ocrash', "SELECT i FROM t WHERE writer='o'")).map((r) => r[0]) };
  }), 10000, 'the store to reopen in a new worker');
  equal(out.check, 'ok', 'integrity_check');
  assertAllPresent(new Set(out.rows), done, 'after renderer crash (opfs)');
}, { only: ['chromium'] });

test('writes interrupted by SIGKILL of the browser lose nothing resolved', async () => {
  const dir = profile();
  const browser = await launchBrowser(dir);
  const page = await harness(browser);
  await openWithTable(page, 'kill');
  await page.start(() => H.writeLoop('kill', 'k', 0, 1e6, 3000));
  const done = await resolvedAtLeast(page, 'k', 150);
  await browser.kill();          // the browser and its children, mid-stream
  const again = await launchBrowser(dir);
  const after = await harness(again);
  await after.evaluate(() => H.open('kill'));
  equal(await integrity(after, 'kill'), 'ok', 'integrity_check');
  assertAllPresent(await rows(after, 'kill', 'k'), done, 'after SIGKILL');
}, { fast: true });

test('two pages and a worker writing one store concurrently keep every write', async () => {
  const browser = await launchBrowser(profile());
  const [p1, p2] = [await harness(browser), await harness(browser)];
  await openWithTable(p1, 'conc');
  await p2.evaluate(() => H.open('conc'));
  await p1.evaluate(() => { window.W = H.worker(); return W.open('conc'); });
  const n = 60;
  const jobs = [
    await p1.start((k) => H.writeLoop('conc', 'p1', 0, k, 500), n),
    await p2.start((k) => H.writeLoop('conc', 'p2', 0, k, 500), n),
    await p1.start((k) => W.writeLoop('conc', 'w', 0, k, 500), n),
  ];
  for (const job of jobs) await job.wait();
  for (const page of [p1, p2]) {
    await page.evaluate(() => H.refresh('conc'));
    equal((await page.evaluate(() => H.sql('conc', 'SELECT count(*) FROM t')))[0][0], 3 * n, 'rows seen by each page');
  }
  check(await p2.evaluate(() => H.remoteCommits()) > 0, 'page 2 was told of other contexts\' commits');
  equal(await integrity(p1, 'conc'), 'ok', 'integrity_check');
  const fresh = await harness(browser);
  await fresh.evaluate(() => H.open('conc'));
  for (const w of ['p1', 'p2', 'w']) equal((await rows(fresh, 'conc', w)).size, n, `rows of ${w} in a fresh page`);
}, { fast: true });

test('without Web Locks the compare-and-swap still keeps every resolved write', async () => {
  const browser = await launchBrowser(profile());
  await browser.context.addInitScript(() => Object.defineProperty(Navigator.prototype, 'locks', { get: () => undefined }));
  const [p1, p2] = [await harness(browser), await harness(browser)];
  await openWithTable(p1, 'nolock');
  await p2.evaluate(() => H.open('nolock'));
  const n = 60;
  const jobs = await Promise.all([p1, p2].map((p, k) => p.start(([w, m]) => H.writeLoopTolerant('nolock', w, 0, m), [`p${k}`, n])));
  const failed = [];
  for (const job of jobs) failed.push(await job.wait());
  for (const codes of failed) check(codes.every((c) => c === 'SC_STORAGE'), `failures are SC_STORAGE: ${codes}`);
  const done = [await resolved(p1, 'p0'), await resolved(p2, 'p1')];
  const fresh = await harness(browser);
  await fresh.evaluate(() => H.open('nolock'));
  equal(await integrity(fresh, 'nolock'), 'ok', 'integrity_check');
  for (const [k, w] of ['p0', 'p1'].entries()) assertAllPresent(await rows(fresh, 'nolock', w), done[k], `writer ${w}`);
  const total = (await fresh.evaluate(() => H.sql('nolock', 'SELECT count(*) FROM t')))[0][0];
  equal(total, done[0].size + done[1].size, 'rows = resolved writes (no failed write half-saved)');
  console.log(`     (${2 * n - total} of ${2 * n} writes rejected after 3 lost compare-and-swaps)`);
}, { only: ['chromium'] });

test('core puts from two pages and a worker all land; others hear of them', async () => {
  const browser = await launchBrowser(profile());
  const [p1, p2] = [await harness(browser), await harness(browser)];
  const config = { collections: { notes: { indexes: ['writer'] } } };
  await p1.evaluate((c) => H.open('core1', 'auto', c), config);
  await p2.evaluate((c) => H.open('core1', 'auto', c), config);
  await p1.evaluate((c) => { window.W = H.worker(); return W.open('core1', 'auto', c); }, config);
  const n = 40;
  const jobs = [
    await p1.start((k) => H.putLoop('core1', 'p1', 0, k), n),
    await p2.start((k) => H.putLoop('core1', 'p2', 0, k), n),
    await p1.start((k) => W.putLoop('core1', 'w', 0, k), n),
  ];
  for (const job of jobs) await job.wait();
  const fresh = await harness(browser);
  await fresh.evaluate((c) => H.open('core1', 'auto', c), config);
  equal(await fresh.evaluate(() => H.call('core1', 'count', { collection: 'notes' })), { count: 3 * n }, 'count in a fresh page');
  equal((await fresh.evaluate(() => H.call('core1', 'status', {}))).pending, 3 * n, 'one queued op per put');
  equal(await fresh.evaluate(() => H.read('core1', 'get', { collection: 'notes', id: 'w-7' })), { record: { id: 'w-7', writer: 'w', i: 7 } }, 'a worker record read synchronously');
  const heard = await until(() => p2.evaluate(() => H.changedIds()).then((ids) => ids.filter((id) => !id.startsWith('p2-')).length >= 2 * n && ids), 10000, 'page 2 to hear of the others\' puts');
  check(heard.includes('w-0') && heard.includes('p1-39'), 'remote commit notices carry the changed ids');
  equal(await integrity(fresh, 'core1'), 'ok', 'integrity_check');
});

test('the service worker writes the same store as the page', async () => {
  const browser = await launchBrowser(profile());
  const page = await harness(browser);
  await openWithTable(page, 'swstore');
  await page.evaluate(() => H.writeLoop('swstore', 'page', 0, 10));
  await page.evaluate(async () => { window.S = await H.sw(); await S.open('swstore'); await S.writeLoop('swstore', 'sw', 0, 25); });
  await until(() => page.evaluate(() => H.sql('swstore', "SELECT count(*) FROM t WHERE writer='sw'")).then((r) => r[0][0] === 25), 10000, 'the page to see the service worker\'s rows');
  equal((await page.evaluate(() => S.sql('swstore', "SELECT count(*) FROM t WHERE writer='page'")))[0][0], 10, 'rows the service worker sees');
  equal(await integrity(page, 'swstore'), 'ok', 'integrity_check');
});

test('a classic worker loads syncore.classic.js and finds the wasm next to it', async () => {
  const browser = await launchBrowser(profile());
  const page = await harness(browser);
  const result = await page.evaluate(() => H.classicWorker().probe());
  check(result.ok, `classic worker: ${JSON.stringify(result)}`);
});

test('a module worker runs syncore.bundle.js (one file) with the exports of syncore.js', async () => {
  const browser = await launchBrowser(profile());
  const page = await harness(browser);
  const out = await page.evaluate(() => H.bundleWorker().probe());
  equal(out.record, { id: 'b1', text: 'from the bundle' }, `record written and read in the worker (${out.error || ''})`);
  equal(out.exports, await page.evaluate(() => H.syncoreExports()), 'the bundle exports what syncore.js does');
});

test('a classic service worker runs syncore.classic.js on idb', async () => {
  const browser = await launchBrowser(profile());
  const page = await harness(browser);
  const out = await page.evaluate(async () => (await H.sw('./sw-classic.js', 'classic')).probe());
  equal(out.record, { id: 'n1', text: 'from the classic service worker' }, 'record written and read in the worker');
  check(out.exports.includes('openStore'), `self.syncore exports openStore: ${out.exports}`);
});

test('a store keeps its backend: opfs in a worker, mismatches are SC_STORAGE', async () => {
  const browser = await launchBrowser(profile());
  const page = await harness(browser);
  await openWithTable(page, 'reg', 'idb');
  equal((await page.evaluate(() => H.openError('reg', 'opfs')))?.code, 'SC_STORAGE', 'idb store opened as opfs');
  equal(await page.evaluate(() => H.open('reg', 'auto')), 'idb', 'auto keeps idb');
  equal((await page.evaluate(() => H.openError('newopfs', 'opfs')))?.code, 'SC_STORAGE', 'opfs in a window');
  if (!await page.evaluate(() => Boolean(navigator.storage && navigator.storage.getDirectory))) {
    // No OPFS in this engine (WebKitGTK): a worker's opfs store is refused, auto takes idb.
    const out = await page.evaluate(async () => {
      const w = H.worker();
      return [await w.openError('o1', 'opfs'), await w.open('o1', 'auto')];
    });
    equal([out[0]?.code, out[1]], ['SC_STORAGE', 'idb'], 'opfs refused in a worker without OPFS, auto on idb');
    check(/opfs/i.test(out[0].message), `the message names opfs: ${out[0].message}`);
  } else await opfsRules(page);
  await page.evaluate(() => H.open('m1', 'memory'));
  await page.evaluate(() => H.sql('m1', 'CREATE TABLE t(x); INSERT INTO t VALUES(1)'));
  await page.evaluate(() => H.close('m1'));
  await page.evaluate(() => H.open('m1', 'memory'));
  equal((await page.evaluate(() => H.sql('m1', "SELECT count(*) FROM sqlite_master WHERE name = 't'")))[0][0], 0, 'memory keeps nothing');
});

async function opfsRules(page) {
  const backend = await page.evaluate(async () => {
    const w = H.worker();
    const b = await w.open('o1', 'opfs');
    await w.sql('o1', 'CREATE TABLE t(writer TEXT, i INTEGER, pad BLOB)');
    await w.writeLoop('o1', 'w', 0, 40, 3000);
    const second = await H.worker().openError('o1', 'auto');   // sync access handles are exclusive
    await w.close('o1');
    return [b, second && second.code];
  });
  equal(backend, ['opfs', 'SC_STORAGE'], 'opfs backend and its exclusivity');
  const reopened = await page.evaluate(async () => {
    const w = H.worker();
    const b = await w.open('o1', 'auto');
    return [b, (await w.sql('o1', 'SELECT count(*) FROM t'))[0][0], (await w.sql('o1', 'PRAGMA integrity_check'))[0][0]];
  });
  equal(reopened, ['opfs', 40, 'ok'], 'opfs store reopened by auto in a new worker');
  equal((await page.evaluate(() => H.openError('o1', 'idb')))?.code, 'SC_STORAGE', 'opfs store opened as idb');
  // An open reads an IndexedDB store while the registry is read; the database it made for a
  // name the registry puts on opfs (auto in the new worker, idb here) does not stay behind.
  await until(() => page.evaluate(async () => !(await indexedDB.databases()).some((d) => d.name === 'syncore:o1')), 5000,
    'no IndexedDB database left behind for the opfs store');
}

test('a quota error is SC_STORAGE and loses nothing stored before', async () => {
  const browser = await launchBrowser(profile());
  const page = await harness(browser);
  await openWithTable(page, 'q1');
  await page.evaluate(() => H.writeLoop('q1', 'q', 0, 20));
  const err = await page.evaluate(async () => {
    const put = IDBObjectStore.prototype.put;
    IDBObjectStore.prototype.put = function () { throw new DOMException('quota (injected)', 'QuotaExceededError'); };
    try { return await H.error(() => H.writeLoop('q1', 'q', 20, 21)); } finally { IDBObjectStore.prototype.put = put; }
  });
  equal(err?.code, 'SC_STORAGE', 'failed write');
  check(/quota/i.test(err.message), `message names the quota: ${err.message}`);
  equal((await rows(page, 'q1', 'q')).size, 20, 'rows right after the failure (image discarded)');
  await page.evaluate(() => H.writeLoop('q1', 'q', 20, 25));
  await reloadHarness(page);
  await page.evaluate(() => H.open('q1'));
  equal((await rows(page, 'q1', 'q')).size, 25, 'rows after reload');
  equal(await integrity(page, 'q1'), 'ok', 'integrity_check');
});

test('a database deleted under an open store makes writes SC_STORAGE', async () => {
  const browser = await launchBrowser(profile());
  const [p1, p2] = [await harness(browser), await harness(browser)];
  await openWithTable(p1, 'gone');
  await p2.evaluate(() => new Promise((resolve, reject) => {
    const req = indexedDB.deleteDatabase('syncore:gone');
    req.onsuccess = resolve; req.onerror = () => reject(req.error);
  }));
  const err = await p1.evaluate(() => H.error(() => H.writeLoop('gone', 'g', 0, 1)));
  equal(err?.code, 'SC_STORAGE', 'write after deletion');
  check(/deleted/.test(err.message), `message says why: ${err.message}`);
  await p1.evaluate(() => H.open('gone'));                 // opening again starts from what is stored
  equal((await p1.evaluate(() => H.sql('gone', "SELECT count(*) FROM sqlite_master WHERE name = 't'")))[0][0], 0, 'a fresh store');
  await openWithTable(p1, 'gone');
  await p1.evaluate(() => H.writeLoop('gone', 'g', 0, 3));
  equal((await rows(p1, 'gone', 'g')).size, 3, 'writes work again');
});

// ---------------------------------------------------------------- the IndexedDB log and its checkpoints

const idbState = (page, name) => page.evaluate((n) => H.idbState(n), name);
const image = (page, name) => page.evaluate((n) => H.image(n), name);
async function reopened(page, name) {
  await reloadHarness(page);
  await page.evaluate((n) => H.open(n), name);
}

test('idb commits are log records replayed on reload, before and after checkpoints', async () => {
  const browser = await launchBrowser(profile());
  const page = await harness(browser);
  await openWithTable(page, 'replay');
  await page.evaluate(() => H.writeLoop('replay', 'r', 0, 20, 300));
  let state = await idbState(page, 'replay');
  check(state.log.length >= 20 && state.meta.base < state.meta.txId, `20 writes are 20 log records: ${JSON.stringify(state)}`);
  let before = await image(page, 'replay');
  await reopened(page, 'replay');
  equal(await image(page, 'replay'), before, 'image rebuilt from chunks + log (txId, size, digest)');
  equal((await rows(page, 'replay', 'r')).size, 20, 'rows after replay');
  await page.evaluate(() => H.writeLoop('replay', 'r', 20, 200, 3000));
  await until(async () => (await idbState(page, 'replay')).meta.base > 20, 10000, 'the checkpoint once the writes stop');
  await page.evaluate(() => H.writeLoop('replay', 'r', 200, 205, 3000));
  state = await idbState(page, 'replay');
  check(state.meta.base > 20 && state.log.length > 0 && state.log.length <= 128, `checkpointed, then logged again: base ${state.meta.base}, ${state.log.length} records`);
  check(state.log.every((t) => t > state.meta.base && t <= state.meta.txId), 'the log holds only records after the checkpoint');
  before = await image(page, 'replay');
  await reopened(page, 'replay');
  equal(await image(page, 'replay'), before, 'image after checkpoints + replay');
  equal((await rows(page, 'replay', 'r')).size, 205, 'rows after reload');
  equal(await integrity(page, 'replay'), 'ok', 'integrity_check');
});

test('a renderer crash during a checkpoint keeps the previous commit whole', async () => {
  const browser = await launchBrowser(profile());
  const page = await harness(browser);
  await openWithTable(page, 'ckpt');
  // Hold the checkpoint's transaction open (its writes issued, not committed) and say so.
  await page.evaluate(() => {
    const del = IDBObjectStore.prototype.delete;
    IDBObjectStore.prototype.delete = function (...args) {
      const out = del.apply(this, args);
      if (this.name === 'log') {
        const spin = () => { this.get(0).onsuccess = spin; };
        spin();
        window.folding = true;
      }
      return out;
    };
  });
  await page.start(() => H.writeLoop('ckpt', 'c', 0, 1e6, 3000));
  await page.waitFor(() => window.folding === true, null, 30000);
  const held = await resolved(page, 'c');
  await new Promise((r) => setTimeout(r, 300));
  equal((await resolved(page, 'c')).size, held.size, 'no write resolves while the checkpoint is held');
  await crashRenderer(page);
  const after = await harness(browser);
  await after.evaluate(() => H.open('ckpt'));
  equal(await integrity(after, 'ckpt'), 'ok', 'integrity_check');
  const present = await rows(after, 'ckpt', 'c');
  assertAllPresent(present, held, 'after a crash during a checkpoint');
  equal(present.size, held.size, 'the checkpointing commit is absent, nothing else');
  const state = await idbState(after, 'ckpt');
  check(state.log.length > 0 && state.meta.base < state.meta.txId, `the log was not folded: ${JSON.stringify(state)}`);
  await after.evaluate((k) => H.writeLoop('ckpt', 'c', k, k + 80, 3000), held.size);
  await until(async () => (await idbState(after, 'ckpt')).meta.base > state.meta.txId, 10000, 'a later checkpoint');
  await reopened(after, 'ckpt');
  equal((await rows(after, 'ckpt', 'c')).size, held.size + 80, 'rows after the next checkpoint and reload');
  equal(await integrity(after, 'ckpt'), 'ok', 'integrity_check after reload');
}, { only: ['chromium'] });

test('a checkpoint that fails after writing its groups changes nothing; a later one collects them', async () => {
  const browser = await launchBrowser(profile());
  const page = await harness(browser);
  await openWithTable(page, 'cow');
  // Every checkpoint's second transaction (the one that moves meta) fails; its groups stay behind.
  await page.evaluate(() => {
    const del = IDBObjectStore.prototype.delete;
    window.failFolds = true;
    window.failedFolds = 0;
    IDBObjectStore.prototype.delete = function (...args) {
      if (this.name === 'log' && window.failFolds) { window.failedFolds++; throw new DOMException('checkpoint failed (injected)', 'UnknownError'); }
      return del.apply(this, args);
    };
  });
  await page.evaluate(() => H.writeLoop('cow', 'c', 0, 300, 3000));
  await until(() => page.evaluate(() => window.failedFolds > 0), 10000, 'a checkpoint attempted (and failed) once the writes stop');
  let state = await idbState(page, 'cow');
  equal(state.meta.base, 0, 'no checkpoint took effect');
  equal(state.log.length, state.meta.txId, 'every commit (the table and the 300 writes) is in the log');
  check(state.groups > state.meta.groups.length, `groups of the failed checkpoints are stored, unnamed: ${state.groups} values, meta names ${state.meta.groups.length}`);
  const before = await image(page, 'cow');
  await reopened(page, 'cow');
  equal(await image(page, 'cow'), before, 'the image rebuilt from the log alone');
  await page.evaluate(() => H.writeLoop('cow', 'c', 300, 310, 3000));
  await until(async () => (await idbState(page, 'cow')).meta.base > 0, 10000, 'a checkpoint after the failures');
  state = await idbState(page, 'cow');
  equal(state.groups, state.meta.groups.length, 'the checkpoint deleted every group value meta does not name');
  check(state.log.every((t) => t > state.meta.base), 'the log holds only records after the checkpoint');
  await reopened(page, 'cow');
  equal((await rows(page, 'cow', 'c')).size, 310, 'rows after the checkpoint and reload');
  equal(await integrity(page, 'cow'), 'ok', 'integrity_check');
});

test('a checkpoint dropped because another came first deletes only its own group values', async () => {
  const browser = await launchBrowser(profile());
  const page = await harness(browser);
  await openWithTable(page, 'race');
  await page.evaluate(() => H.writeLoop('race', 'r', 0, 200, 3000));
  await until(async () => (await idbState(page, 'race')).meta.base > 0, 10000, 'a first checkpoint');
  await page.evaluate(() => H.writeLoop('race', 'r', 200, 210, 3000));   // in the log after it
  const stale = await page.evaluate(() => H.stalePersister('race'));   // context A: that checkpoint + 10 records
  await page.evaluate(() => H.writeLoop('race', 'r', 210, 400, 3000));
  await until(async () => (await idbState(page, 'race')).meta.base > stale.txId, 10000, 'a checkpoint after A loaded');
  // Context D, checkpointing from the new base, has put its values but not named them yet.
  const inFlight = [0, 1e9];
  await page.evaluate((k) => H.putGroupValue('race', k), inFlight);
  await page.evaluate(() => H.staleCheckpoint('race'));   // A's checkpoint: its base is stale, so it is dropped
  const keys = await page.evaluate(() => H.groupKeys('race'));
  check(keys.some(([g, v]) => g === inFlight[0] && v === inFlight[1]), 'the other checkpoint\'s unnamed value is kept');
  check(!keys.some(([, v]) => v === stale.txId), `A's own values are deleted: ${JSON.stringify(keys)}`);
  const state = await idbState(page, 'race');
  check(state.meta.base > stale.txId, 'the checkpoint that came first stands');
  check(state.meta.groups.every((v, g) => keys.some(([kg, kv]) => kg === g && kv === v)), 'every value meta names is there');
  await reopened(page, 'race');
  equal((await rows(page, 'race', 'r')).size, 400, 'rows after reload');
  equal(await integrity(page, 'race'), 'ok', 'integrity_check');
});

test('a context that missed commits catches up across checkpoints', async () => {
  const browser = await launchBrowser(profile());
  const [p1, p2] = [await harness(browser), await harness(browser)];
  await openWithTable(p1, 'catch');
  await p2.evaluate(() => H.open('catch'));
  await p2.evaluate(() => H.writeLoop('catch', 'p2', 0, 5));
  await p1.evaluate(() => H.refresh('catch'));
  await p2.evaluate(() => H.deafen('catch'));
  await p1.evaluate(() => H.writeLoop('catch', 'p1', 0, 150, 3000));
  const behind = (await image(p2, 'catch')).txId;
  await until(async () => (await idbState(p1, 'catch')).meta.base > behind, 10000, 'a checkpoint folding commits page 2 has not seen');
  await p2.evaluate(() => H.refresh('catch'));
  equal(await image(p2, 'catch'), await image(p1, 'catch'), 'page 2 caught up to the same image (txId, size, digest)');
  await p1.evaluate(() => { window.W = H.worker(); return W.open('catch'); });
  await p1.evaluate(() => W.writeLoop('catch', 'w', 0, 100, 3000));
  await p2.evaluate(() => H.writeLoop('catch', 'p2', 5, 10));     // catches up under the lock, then writes
  await p1.evaluate(() => H.refresh('catch'));
  equal(await image(p2, 'catch'), await image(p1, 'catch'), 'the same image after page 2 wrote on top');
  const fresh = await harness(browser);
  await fresh.evaluate(() => H.open('catch'));
  for (const [w, n] of [['p1', 150], ['p2', 10], ['w', 100]]) equal((await rows(fresh, 'catch', w)).size, n, `rows of ${w} in a fresh page`);
  equal(await integrity(fresh, 'catch'), 'ok', 'integrity_check');
});

test('a write reads the stored state first only when another context announced a commit', async () => {
  const browser = await launchBrowser(profile());
  const [p1, p2] = [await harness(browser), await harness(browser)];
  await openWithTable(p1, 'noread');
  await p2.evaluate(() => H.open('noread'));
  // Count the IndexedDB transactions page 1 opens, by mode.
  await p1.evaluate(() => {
    window.txModes = { readonly: 0, readwrite: 0 };
    const open = IDBDatabase.prototype.transaction;
    IDBDatabase.prototype.transaction = function (stores, mode, options) {
      window.txModes[mode || 'readonly']++;
      return open.call(this, stores, mode, options);
    };
  });
  await p1.evaluate(() => H.writeLoop('noread', 'p1', 0, 20));
  const alone = await p1.evaluate(() => ({ ...window.txModes }));
  equal(alone, { readonly: 0, readwrite: 20 }, 'transactions of 20 writes nobody else interleaved');
  await p2.evaluate(() => H.writeLoop('noread', 'p2', 0, 1));
  await until(() => p1.evaluate(() => window.txModes.readonly > 0), 10000, 'page 1 to hear of page 2\'s commit');
  await p1.evaluate(() => H.writeLoop('noread', 'p1', 20, 21));
  equal((await rows(p1, 'noread', 'p2')).size, 1, 'page 2\'s write seen by page 1');
  equal((await rows(p1, 'noread', 'p1')).size, 21, 'page 1\'s writes');
  equal(await integrity(p1, 'noread'), 'ok', 'integrity_check');
});

for (const version of [1, 2]) {
  test(`a store in the version-${version} IndexedDB layout opens, upgrades and keeps its data`, async () => {
    const browser = await launchBrowser(profile());
    const page = await harness(browser);
    await openWithTable(page, 'src');
    await page.evaluate(() => H.writeLoop('src', 's', 0, 300, 3000));   // about 4 groups
    await page.evaluate((v) => H.writeLegacyCopy('src', 'legacy', v), version);
    const digest = (await image(page, 'src')).digest;
    await page.evaluate(() => H.open('legacy'));
    equal((await image(page, 'legacy')).digest, digest, 'the old layout loads as it was');
    let state = await idbState(page, 'legacy');
    check(state.version === 3 && state.groups > 0 && state.log.length === 0, `upgraded to groups: ${JSON.stringify(state)}`);
    await page.evaluate(() => H.writeLoop('legacy', 's', 300, 310, 500));
    state = await idbState(page, 'legacy');
    equal([state.meta.base, state.log.length], [7, 10], 'the old data is the checkpoint, new commits go to the log');
    await reopened(page, 'legacy');
    equal((await rows(page, 'legacy', 's')).size, 310, 'rows after reload');
    await page.evaluate(() => H.writeLoop('legacy', 's', 310, 500, 3000));
    await until(async () => (await idbState(page, 'legacy')).meta.base > 17, 10000, 'a checkpoint into the migrated groups');
    await reopened(page, 'legacy');
    equal((await rows(page, 'legacy', 's')).size, 500, 'rows after a checkpoint and reload');
    equal(await integrity(page, 'legacy'), 'ok', 'integrity_check');
  });
}

test('a store its last connection closed opens quickly: the groups its open reads first, the rest after; a write meanwhile is kept', async () => {
  const browser = await launchBrowser(profile());
  const p1 = await harness(browser);
  await openWithTable(p1, 'quick');
  await p1.evaluate(() => H.sql('quick', "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 2399)"
    + " INSERT INTO t SELECT 'a', i, randomblob(3000) FROM n"));   // about 8 MB: some 30 groups
  await p1.evaluate(() => H.writeLoop('quick', 'a', 2400, 2410));
  const closed = await image(p1, 'quick');
  await p1.evaluate(() => H.close('quick'));
  const { meta } = await idbState(p1, 'quick');
  const total = Math.ceil(closed.size / (256 << 10));
  check(meta.hot.length > 0 && meta.hot.length * 2 <= total && meta.hot.includes(0),
    `the closing connection named the groups an open reads (group 0, the schema's, among them): ${meta.hot} of ${total}`);
  const p2 = await harness(browser);
  await p2.evaluate(() => H.open('quick', 'auto', {}, 64 << 20));   // (the default, also under --lazy)
  const opened = await p2.evaluate(() => H.groups('quick'));
  check(opened.quick === opened.jspi, `opened quickly where the engine has JSPI (read whole where not): ${JSON.stringify(opened)}`);
  await p2.evaluate(() => H.writeLoop('quick', 'b', 0, 30));   // while the rest is read in
  await until(() => p2.evaluate(() => H.groups('quick')).then((g) => !g.lazy && g.absent === 0), 10000, 'the image whole again');
  equal((await rows(p2, 'quick', 'a')).size, 2410, 'every row read whole');
  equal((await rows(p2, 'quick', 'b')).size, 30, 'the writes made while it filled');
  equal(await integrity(p2, 'quick'), 'ok', 'integrity_check');
  await p2.evaluate(() => H.writeLoop('quick', 'c', 0, 5));   // and after, on the whole image
  // A save that fails reloads the image (quickly again, since meta names the groups): it is
  // whole again after, and the failed write is not there.
  const failed = await p2.evaluate(async () => {
    const put = IDBObjectStore.prototype.put;
    IDBObjectStore.prototype.put = function () { throw new DOMException('quota (injected)', 'QuotaExceededError'); };
    try { return await H.error(() => H.writeLoop('quick', 'd', 0, 1)); } finally { IDBObjectStore.prototype.put = put; }
  });
  equal(failed?.code, 'SC_STORAGE', 'the injected failure');
  await until(() => p2.evaluate(() => H.groups('quick')).then((g) => !g.lazy && g.absent === 0), 10000, 'whole again after the reload');
  equal((await rows(p2, 'quick', 'd')).size, 0, 'the failed write is not kept');
  await p1.evaluate(() => H.open('quick', 'auto', {}, 1 << 30));   // read whole
  equal(await image(p1, 'quick'), await image(p2, 'quick'), 'the same image as a context that read the store whole');
}, { fast: true });   // every engine: Firefox opens quickly too (JSPI), WebKit reads whole

test('a lazy idb store reads only the groups it needs; a group a checkpoint moved on is re-read', async () => {
  const browser = await launchBrowser(profile());
  const [p1, p2] = [await harness(browser), await harness(browser)];
  await openWithTable(p1, 'lazy');
  await p1.evaluate(() => H.sql('lazy', "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 2399)"
    + " INSERT INTO t SELECT 'a', i, randomblob(3000) FROM n"));   // about 8 MB: some 30 groups
  await p1.evaluate(() => H.writeLoop('lazy', 'a', 2400, 2410));
  await until(async () => (await idbState(p1, 'lazy')).meta.base > 0, 10000, 'a first checkpoint');
  await p2.evaluate(() => H.open('lazy', 'auto', {}, 1));   // any store that is not empty opens lazily
  const opened = await p2.evaluate(() => H.groups('lazy'));
  check(opened.jspi && opened.lazy, `this Chromium has JSPI and the store opened lazily: ${JSON.stringify(opened)}`);
  check(opened.total >= 24 && opened.absent >= opened.total - 8, `only the schema's groups read at open: ${JSON.stringify(opened)}`);
  equal(await p2.evaluate(() => H.sql('lazy', "SELECT i FROM t WHERE writer = 'a' AND i = 377")), [[377]], 'a point read');
  const afterRead = await p2.evaluate(() => H.groups('lazy'));
  check(afterRead.absent > 0 && afterRead.absent < opened.total, `a point read fetched a few groups: ${JSON.stringify(afterRead)}`);
  // Page 2 stops hearing commits; page 1 writes on and checkpoints past page 2's state, so the
  // groups page 2 has not read are stored only as of a later state: its next read must notice,
  // reload and run again on the current state — not mix the two.
  await p2.evaluate(() => H.deafen('lazy'));
  await p1.evaluate(() => H.sql('lazy', "UPDATE t SET pad = zeroblob(3000) WHERE i % 3 = 0"));
  await p1.evaluate(() => H.writeLoop('lazy', 'b', 0, 200, 3000));
  await until(async () => (await idbState(p1, 'lazy')).meta.base > afterRead.txId, 10000, 'a checkpoint past page 2');
  equal(await p2.evaluate(() => H.sql('lazy', "SELECT count(*), sum(pad = zeroblob(3000)) FROM t")), [[2610, 804]],
    'page 2 reads the current state whole (rows, updated rows)');
  check((await p2.evaluate(() => H.groups('lazy'))).txId > afterRead.txId, 'page 2 reloaded at the newer state');
  equal(await integrity(p2, 'lazy'), 'ok', 'integrity_check on page 2');
  // A page cache of 1 MiB: a whole-table read stays within it (between calls and while
  // it fetches), and reads what it gave back again.
  await p2.evaluate(() => H.setCache('lazy', 1 << 20));
  equal(await p2.evaluate(() => H.sql('lazy', "SELECT count(*), sum(length(pad)) FROM t")), [[2610, (2400 + 4 + 200) * 3000 + 6]],
    'a full scan with a small cache (rows a 2400-2409 not a multiple of 3 hold randomblob(0): 1 byte)');
  const small = await p2.evaluate(() => H.groups('lazy'));
  check(small.resident <= 1 << 20 && small.absent >= small.total - 4, `the cache kept to 1 MiB: ${JSON.stringify(small)}`);
  equal(await integrity(p2, 'lazy'), 'ok', 'integrity_check with a small cache');
  await p2.evaluate(() => H.writeLoop('lazy', 'c', 0, 5));
  await p1.evaluate(() => H.refresh('lazy'));
  equal(await image(p2, 'lazy'), await image(p1, 'lazy'), 'the same image in both pages after page 2 wrote');
  await reopened(p1, 'lazy');
  equal((await rows(p1, 'lazy', 'c')).size, 5, 'page 2\'s writes after a reload');
}, { only: ['chromium'] });

test('a commit keeps a checkpoint another context wrote since this one last read meta', async () => {
  const browser = await launchBrowser(profile());
  const [p1, p2] = [await harness(browser), await harness(browser)];
  await openWithTable(p1, 'guess');
  await p2.evaluate(() => H.open('guess'));
  await p2.evaluate(() => H.writeLoop('guess', 'p2', 0, 5));
  await p1.evaluate(() => H.writeLoop('guess', 'p1', 0, 200, 3000));
  await until(async () => (await idbState(p1, 'guess')).meta.base > 0, 10000, 'page 1\'s checkpoint');
  const folded = (await idbState(p1, 'guess')).meta;
  // Page 2 heard page 1's commits, not its checkpoint (checkpoints are not announced): its
  // commits go out guessing the old base and groups, and must write the stored ones instead.
  await p2.evaluate(() => H.writeLoop('guess', 'p2', 5, 10));
  const after = (await idbState(p1, 'guess')).meta;
  equal([after.base, after.baseSize, after.groups], [folded.base, folded.baseSize, folded.groups], 'meta still names page 1\'s checkpoint');
  equal(after.txId, folded.txId + 5, 'page 2\'s five commits');
  await reopened(p1, 'guess');
  equal((await rows(p1, 'guess', 'p2')).size, 10, 'page 2\'s rows after a reload');
  equal((await rows(p1, 'guess', 'p1')).size, 200, 'page 1\'s rows after a reload');
  equal(await integrity(p1, 'guess'), 'ok', 'integrity_check');
});

test('back-to-back writes keep the write lock a moment; another context still gets it', async () => {
  const browser = await launchBrowser(profile());
  const [p1, p2] = [await harness(browser), await harness(browser)];
  await openWithTable(p1, 'lease');
  await p2.evaluate(() => H.open('lease'));
  await p1.evaluate(() => {
    window.lockRequests = 0;
    const request = LockManager.prototype.request;
    LockManager.prototype.request = function (...args) { window.lockRequests++; return request.apply(this, args); };
  });
  await p1.evaluate(() => H.writeLoop('lease', 'p1', 0, 100));
  const requests = await p1.evaluate(() => window.lockRequests);
  check(requests >= 1 && requests < 100, `100 back-to-back writes asked for the lock fewer times: ${requests}`);
  // While page 1 writes on without a pause, page 2's writes are not held off until it stops.
  const [p1Done, p2Done] = await Promise.all([
    p1.evaluate(() => H.writeLoop('lease', 'p1', 100, 400).then(() => performance.timeOrigin + performance.now())),
    p2.evaluate(() => H.writeLoop('lease', 'p2', 0, 5).then(() => performance.timeOrigin + performance.now())),
  ]);
  check(p2Done < p1Done, 'page 2\'s five writes finished while page 1 was still writing');
  equal((await rows(p1, 'lease', 'p2')).size, 5, 'page 2\'s rows');
  equal((await rows(p2, 'lease', 'p1')).size, 400, 'page 1\'s rows');
  equal(await integrity(p2, 'lease'), 'ok', 'integrity_check');
});

test('a write from another context between two pages of a sync round is kept; the round starts again and completes', async () => {
  const browser = await launchBrowser(profile());
  const [p1, p2] = [await harness(browser), await harness(browser)];
  // Page 1 syncs three pages; the second is held until page 2 has written.
  await p1.evaluate(async () => {
    const { openStore } = await import('/js-glue/syncore.js');
    window.cursors = [];
    window.gate = new Promise((resolve) => { window.openGate = resolve; });
    const pages = { '': ['a', 'c1'], c1: ['b', 'c2'], c2: ['c', null] };
    const transport = {
      async pull({ cursor }) {
        window.cursors.push(cursor || '');
        if (cursor === 'c1') await window.gate;
        const [id, next] = pages[cursor || ''];
        return { server_time: new Date().toISOString(), cursor: next || 'c3', has_more: !!next, remaining: next ? 1 : 0,
          changes: [{ collection: 'notes', id, version: 1, data: { text: id }, updated_at: new Date().toISOString(), deleted_at: null,
            hlc: `${String(Date.now()).padStart(15, '0')}-00000-other`, device_id: 'other' }] };
      },
      async push() { throw Object.assign(new Error('offline (test)'), { status: 0 }); },
    };
    window.store = await openStore({ name: 'pipe', storage: 'idb', collections: { notes: {} }, sync: { auto: false },
      remote: { url: 'http://127.0.0.1:1/unused', transport } });
    window.round = window.store.sync();
  });
  await until(() => p1.evaluate(() => window.cursors.includes('c1')), 10000, 'page 1 asking for its second page');
  // Page 2 writes without announcing it: page 1 learns of it only when its next save loses the CAS.
  await p2.evaluate(() => H.open('pipe', 'idb', { collections: { notes: {} } }));
  await p2.evaluate(() => H.mute('pipe'));
  await p2.evaluate(() => H.call('pipe', 'put', { collection: 'notes', record: { id: 'p2', text: 'from page 2' } }));
  const r = await p1.evaluate(async () => { window.openGate(); return window.round; });
  equal(r.error, 'offline (test)', 'the round pulls to the end; only the push of page 2\'s op fails (offline here)');
  equal(await p1.evaluate(() => window.cursors.filter((c) => c === 'c1').length), 2, 'the second page asked for again (the round started over)');
  equal(await p1.evaluate(async () => (await window.store.list('notes')).map((n) => n.id)), ['a', 'b', 'c', 'p2'], 'every page and page 2\'s write');
  equal(await p1.evaluate(async () => (await window.store.outbox()).map((o) => o.recordId)), ['p2'], 'page 2\'s op queued');
});

// ---------------------------------------------------------------- runner

const filter = argv[0] || '';
server = await startServer();
let passed = 0, failed = 0, notRun = 0;
for (const t of tests.filter((x) => x.name.includes(filter) && (!fastOnly || x.fast))) {
  if (t.only && !t.only.includes(engine)) {
    notRun++;
    console.log(`--   ${t.name} (needs ${t.only.join('/')}: not run on ${engine})`);
    continue;
  }
  const started = Date.now();
  try {
    await Promise.race([t.fn(), new Promise((_, reject) => setTimeout(() => reject(new Error('test timed out (120 s)')), 120000))]);
    passed++;
    console.log(`ok   [${engine}] ${t.name} (${Date.now() - started} ms)`);
  } catch (err) {
    failed++;
    console.log(`FAIL [${engine}] ${t.name}: ${err && err.stack || err}`);
  }
  for (const fn of cleanups.splice(0).reverse()) await fn();
}
await server.close();
console.log(`# storage e2e (${engine}): ${notRun} not run here`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed || !passed ? 1 : 0);
