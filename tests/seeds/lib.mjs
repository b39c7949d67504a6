// lib.mjs — the harness every seed scenario runs on: one real build/syncore-server (SQLite,
// --dev tokens, serving the repository as static files), one headless Debian Chromium, and
// per device a browser context of its own (its own profile: IndexedDB, service workers,
// offline emulation) with one page holding one store. Each test gets a partition of its
// own (a JWT `space`), so scenarios never see each other's data. The scenario files
// (000-*.mjs … faults.mjs) export `tests`; run.mjs runs them. Assertion helpers and
// `until` (poll with a deadline, never sleep-and-hope) live here too.
import { chromium } from 'playwright-core';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { startServer, ROOT, tmp, until } from '../server/lib.mjs';

export { until, ROOT };

// The flags every browser test uses (COMMON brief); tests/js/sync-e2e.mjs imports them too.
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

export function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

// Deep equality of JSON values, object keys in any order.
const canon = (v) => (Array.isArray(v) ? v.map(canon) : v && typeof v === 'object'
  ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon(v[k])])) : v);
export const same = (a, b, what) => {
  const x = JSON.stringify(canon(a)), y = JSON.stringify(canon(b));
  if (x !== y) throw new Error(`${what}: expected ${y}, got ${x}`);
};
export const check = (c, what) => { if (!c) throw new Error(what); };

// mulberry32: a small seeded PRNG, so a failing run replays with its seed (one copy: the
// bench's deterministic data uses the same generator).
export { mulberry32 as prng } from '../../bench/compare/data.mjs';

// The reference server as every seed needs it: seed 004's server ids and derived clientId.
export const SERVER_FLAGS = ['--rate', '0', '--server-ids', 'pets,appointments',
  '--derive', 'appointments.clientId=pets.ownerId@petId'];

export async function startHarness() {
  const dbDir = tmp('syncore-seeds-db-');
  const server = await startServer(`sqlite:${join(dbDir, 'seeds.db')}`, ['--static', ROOT, ...SERVER_FLAGS]);
  const browser = await launchBrowser();
  const contexts = new Set();
  let testNo = 0;
  const h = {
    server, browser,
    origin: server.base,
    space: 'none',
    // A fresh partition for the next test; the contexts of the last one are closed.
    async nextTest(label) {
      for (const c of contexts) await c.close().catch(() => {});
      contexts.clear();
      h.space = `${label.replace(/[^A-Za-z0-9]/g, '').slice(0, 24)}${++testNo}`;
    },
    async newContext() {
      const ctx = await browser.newContext();
      contexts.add(ctx);
      return ctx;
    },
    // One device: its own context, a page on `origin`, a store named `name` with `collections`.
    // opts: { skewMs, sync: {...}, adapter: {kind: 'rest'|'delta', options}, origin, remoteUrl, deviceId, ctx,
    //         openOffline: the page loads online, the store opens with the network off }
    async device(name, collections, opts = {}) {
      const ctx = opts.ctx || await h.newContext();
      const page = await ctx.newPage();
      const label = name;
      page.on('pageerror', (e) => console.log(`  [${label}] page error: ${e.message}`));
      const origin = opts.origin || h.origin;
      await page.goto(`${origin}/tests/seeds/pages/device.html?skewMs=${opts.skewMs || 0}&space=${h.space}`);
      await page.waitForFunction(() => window.libReady);
      if (opts.openOffline) { await ctx.setOffline(true); await page.waitForFunction(() => !navigator.onLine); }
      await page.evaluate((o) => window.openDevice(o), {
        name: `${name}-${h.space}`, collections, sync: opts.sync || { auto: false }, adapter: opts.adapter || null,
        remoteUrl: opts.remoteUrl || null, deviceId: opts.deviceId || null,
      });
      return makeDevice(ctx, page);
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => {});
      await browser.close();
      await server.stop();
      rmSync(dbDir, { recursive: true, force: true });
    },
  };
  return h;
}

function makeDevice(ctx, page) {
  const call = (fn, arg) => page.evaluate(fn, arg);
  const d = {
    ctx, page, call,
    sync: () => call(() => window.store.sync()),
    put: (coll, rec) => call(([c, r]) => window.store.put(c, r), [coll, rec]),
    patch: (coll, id, f) => call(([c, i, x]) => window.store.patch(c, i, x), [coll, id, f]),
    get: (coll, id) => call(([c, i]) => window.store.get(c, i), [coll, id]),
    del: (coll, id) => call(([c, i]) => window.store.delete(c, i), [coll, id]),
    list: (coll, o = {}) => call(([c, x]) => window.store.list(c, x), [coll, o]),
    count: (coll, o = {}) => call(([c, x]) => window.store.count(c, x), [coll, o]),
    conflicts: () => call(() => window.store.conflicts()),
    resolve: (id, choice) => call(([i, c]) => window.store.resolve(i, c), [id, choice]),
    outbox: () => call(() => window.store.outbox()),
    status: () => call(() => window.store.status()),
    events: (ev) => call((e) => window.events.filter((x) => !e || x.ev === e), ev),
    // The browser's offline emulation (network off for the whole context, `offline` event fired).
    async offline(on) {
      await ctx.setOffline(on);
      await page.waitForFunction((v) => navigator.onLine === !v, on);
    },
    // The request bodies this device sent to a path (recorded by the page's fetch hook).
    sent: (pathPart) => call((p) => window.sentBodies.filter((b) => b.url.includes(p)), pathPart),
  };
  return d;
}

// Runs `tests` (from the scenario files) on one harness; `only` filters by name substring.
export async function runTests(files, only) {
  const h = await startHarness();
  let passed = 0, failed = 0;
  const t00 = Date.now();
  const timings = [];
  try {
    for (const { file, tests } of files) {
      for (const t of tests) {
        const name = `${file}: ${t.name}`;
        if (only && !name.includes(only)) continue;
        await h.nextTest(file);
        const t0 = Date.now();
        try {
          await t.fn(h);
          passed++;
          console.log(`  ok   ${name} (${Date.now() - t0} ms)`);
        } catch (e) {
          failed++;
          console.log(`  FAIL ${name}\n       ${String(e.stack || e).split('\n').slice(0, 5).join('\n       ')}`);
        }
        timings.push([name, Date.now() - t0]);
      }
    }
  } finally {
    await h.close();
  }
  console.log(`# seed scenarios: ${passed} passed, ${failed} failed in ${Math.round((Date.now() - t00) / 1000)} s`);
  return { passed, failed, timings };
}
