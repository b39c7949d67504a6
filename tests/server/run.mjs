#!/usr/bin/env node
// make test-server: the conformance suite, the concurrency test and the SSE scale
// test against build/syncore-server on SQLite and on a throw-away PostgreSQL 15.
// the combined-push tests (batch.mjs) and the security suite (security.mjs).
// Usage: node tests/server/run.mjs [--only sqlite|postgres] [--suite conformance|security] [--grep TEXT] [--seconds N]
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, startPostgres, tmp } from './lib.mjs';
import { conformanceTests } from './conformance.mjs';
import { concurrencyTests, sseScaleTests, crossServerTests } from './concurrency.mjs';
import { securityTests } from './security.mjs';
import { batchTests } from './batch.mjs';

const argv = process.argv.slice(2);
const arg = (name, dflt) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : dflt; };
const only = arg('--only');
const grep = arg('--grep');
const seconds = Number(arg('--seconds', '8'));
const suite = arg('--suite');

if (!existsSync(BIN)) { console.error(`${BIN} missing: run make server`); process.exit(2); }

const cleanups = [];
let failed = 0, passed = 0;
async function runSuite(backend) {
  console.log(`# ${backend.name}`);
  const tests = [];
  if (!suite || suite === 'conformance')
    tests.push(...conformanceTests(backend), ...crossServerTests(backend), ...concurrencyTests(backend, { seconds }), ...batchTests(backend), ...sseScaleTests(backend));
  if (!suite || suite === 'security') tests.push(...securityTests(backend));
  for (const [name, fn] of tests) {
    const always = name.startsWith('setup') || name.startsWith('teardown');
    if (grep && !always && !name.includes(grep)) continue;
    const t0 = Date.now();
    try {
      await fn();
      passed++;
      console.log(`  ok   ${name} (${Date.now() - t0} ms)`);
    } catch (e) {
      failed++;
      console.log(`  FAIL ${name}\n${String(e.stack || e).split('\n').map((l) => `       ${l}`).join('\n')}`);
      if (name.startsWith('setup')) return;
    }
  }
}

try {
  if (!only || only === 'sqlite') {
    const dir = tmp('syncore-sqlite-');
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    let n = 0;
    await runSuite({ name: 'sqlite', shared: false, once: true, freshDb: () => `sqlite:${join(dir, `db${++n}.sqlite`)}`,
      query: (url, sql) => execFileSync('sqlite3', [url.slice(7)], { input: sql }).toString() });
  }
  if (!only || only === 'postgres') {
    const pg = await startPostgres();
    cleanups.push(() => pg.stop());
    await runSuite({ name: 'postgres', shared: true, freshDb: () => pg.freshDb(),
      query: (url, sql) => pg.psql(sql, url.slice(url.lastIndexOf('/') + 1)) });
  }
} catch (e) {
  failed++;
  console.error(e);
} finally {
  for (const c of cleanups.reverse()) { try { await c(); } catch (e) { console.error(e); } }
}
console.log(`# server tests: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
