// lib.mjs — what the demo and UI-part tests share: the reference server serving the staged
// demo (build/demo/www, `make demo-stage`) and another serving the repository (for the UI
// parts' page), each on a random port with a throw-away SQLite file; headless Debian
// Chromium with one browser context per device, a watch on every context
// for console errors, page errors and HTTP error answers (none is allowed), numbered
// screenshots into build/test/demo/, and a tiny test runner.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startServer, ROOT, tmp } from '../server/lib.mjs';

export const SHOTS = join(ROOT, 'build/test/demo');
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];
export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 860 };
export const ZONE = 'America/Sao_Paulo';        // UTC-3 all year: local times differ visibly from UTC

export const check = (cond, what) => { if (!cond) throw new Error(what); };
export const same = (a, b, what) => {
  if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`${what}: expected ${JSON.stringify(b)}, got ${JSON.stringify(a)}`);
};

export async function startWorld() {
  rmSync(SHOTS, { recursive: true, force: true });
  mkdirSync(SHOTS, { recursive: true });
  const dbDir = tmp('syncore-demo-db-');
  const server = await startServer(`sqlite:${join(dbDir, 'demo.db')}`, ['--static', join(ROOT, 'build/demo/www')]);
  // The UI parts' own page (tests/demo/pages/) is served from the repository root.
  const repo = await startServer(`sqlite:${join(dbDir, 'ui.db')}`, ['--static', ROOT]);
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ARGS, headless: true });
  const problems = [];
  const contexts = [];
  let shot = 0;
  const world = {
    server, repo, problems,
    // A device: its own context (profile, storage, network), like a second phone or laptop.
    async device(label, { viewport = DESKTOP } = {}) {
      const context = await browser.newContext({ viewport, timezoneId: ZONE, locale: 'en-GB' });
      contexts.push(context);
      // Offline, Chromium itself logs each refused request of a sync already under way when the
      // network went; those are the network's, not the page's. Anything else is a problem.
      const offlineNoise = (m) => context.offline && m.text().includes('net::ERR_INTERNET_DISCONNECTED') &&
        /\/(sync|auth)\//.test(m.location().url || '');
      context.on('console', (m) => { if (m.type() === 'error' && !offlineNoise(m)) problems.push(`[${label}] console error: ${m.text()} (${m.location().url})`); });
      context.on('serviceworker', (w) => w.on('console', (m) => {
        if (m.type() === 'error' && !offlineNoise(m)) problems.push(`[${label}] service worker console error: ${m.text()}`);
      }));
      context.on('weberror', (e) => problems.push(`[${label}] uncaught: ${e.error().message}`));
      context.on('response', (r) => { if (r.status() >= 400) problems.push(`[${label}] HTTP ${r.status()} ${r.url()}`); });
      context.on('requestfailed', (r) => {
        const why = r.failure() && r.failure().errorText;
        if (!context.offline && why !== 'net::ERR_ABORTED') problems.push(`[${label}] request failed while online: ${r.url()} ${why}`);
      });
      const setOffline = async (offline) => { context.offline = offline; await context.setOffline(offline); };
      return { context, label, setOffline, world };
    },
    async shot(page, name) {
      const file = join(SHOTS, `${String(++shot).padStart(2, '0')}-${name}.png`);
      await page.screenshot({ path: file });
      return file;
    },
    async closeDevices() {
      for (const c of contexts.splice(0)) { c.offline = true; await c.close().catch(() => {}); }
    },
    async stop() {
      await browser.close();
      await server.stop();
      await repo.stop();
      rmSync(dbDir, { recursive: true, force: true });
    },
  };
  return world;
}

// Runs the tests in order; a test fails on its own error or on any problem its pages reported.
export async function runTests(title, tests, world, only) {
  let passed = 0, failed = 0;
  for (const t of tests) {
    if (only && !t.name.includes(only)) continue;
    const t0 = Date.now();
    world.problems.length = 0;
    try {
      await t.fn(world);
      check(world.problems.length === 0, `the pages reported problems:\n         ${world.problems.join('\n         ')}`);
      passed++;
      console.log(`  ok   ${t.name} (${Date.now() - t0} ms)`);
    } catch (e) {
      failed++;
      console.log(`  FAIL ${t.name}\n       ${String(e.stack || e).split('\n').slice(0, 5).join('\n       ')}`);
    }
    await world.closeDevices();
  }
  console.log(`# ${title}: ${passed} passed, ${failed} failed`);
  return { passed, failed };
}
