#!/usr/bin/env node
// make bench-server: push and pull throughput of build/syncore-server on SQLite
// and PostgreSQL, beside the same server's throughput for a static file of the
// same size as a pull answer, measured in the same run (the ratio is the figure
// that travels between machines). Writes the "Server" section of docs/BENCHMARKS.md.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, startPostgres, startServer, client, tokenFor, op, tmp } from '../../tests/server/lib.mjs';
import { writeBenchmarkSection } from '../doc.mjs';

const SECONDS = Number(process.env.BENCH_SECONDS || 5);
const CONNS = Number(process.env.BENCH_CONNECTIONS || 16);
const OPS = Number(process.env.BENCH_OPS || 10);
const LIMIT = 100;

const PARTITIONS = Number(process.env.BENCH_PARTITIONS || 64);

function wrk(url, token, extra = [], env = {}) {
  const args = ['-t2', `-c${CONNS}`, `-d${SECONDS}s`, '--latency', ...extra];
  if (token) args.push('-H', `Authorization: Bearer ${token}`);
  args.push(url);
  const out = execFileSync('wrk', args, { env: { ...process.env, BENCH_OPS: String(OPS), ...env } }).toString();
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]);
  const p50 = /50%\s+([\d.]+\w+)/.exec(out)?.[1] ?? '?';
  const p99 = /99%\s+([\d.]+\w+)/.exec(out)?.[1] ?? '?';
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  if (non2xx) throw new Error(`wrk ${url}: ${non2xx} non-2xx answers\n${out}`);
  return { rps, p50, p99 };
}

// BENCH_BASELINE_BIN: another build of the server (say, from before a change) measured in
// the same run on PostgreSQL, for a before/after figure under the same load.
const BASELINE = process.env.BENCH_BASELINE_BIN;

// The push lines the server logged since `from` (a byte offset of its log): every push
// must have applied all its ops (the workload is fresh creates; a push answered
// otherwise measures something else), and how many pushes shared a transaction.
function pushLog(logPath, from) {
  const text = readFileSync(logPath, 'utf8');
  let pushes = 0, ops = 0, applied = 0, batched = 0;
  for (const line of text.slice(from).split('\n')) {
    if (!line.includes('"path":"/sync/push"') || !line.includes('"status":200')) continue;
    const l = JSON.parse(line);
    pushes++;
    ops += l.ops;
    applied += l.applied;
    batched += l.batch || 1;
  }
  if (applied !== ops) throw new Error(`${pushes} pushes applied ${applied} of their ${ops} ops: not fresh creates`);
  return { end: text.length, perTransaction: pushes ? batched / pushes : 0 };
}

async function measure(name, dbUrl, bin) {
  const dir = tmp('syncore-bench-');
  const logDir = tmp('syncore-bench-log-');
  const logPath = join(logDir, 'server.log');
  const srv = await startServer(dbUrl, ['--rate', '0', '--threads', '4', '--static', dir], { logToFile: true, bin, dir: logDir });
  try {
    const token = tokenFor('bench');
    const c = client(srv, token);
    for (let i = 0; i < 10; i++) {
      await c.push(Array.from({ length: 100 }, (_, k) => op('create', 'items', `seed-${i}-${k}`,
        { name: `item ${k}`, qty: k, tags: ['a', 'b'] })));
    }
    // One client, one push at a time: the latency a push costs when nothing waits on a lock
    // (before the wrk runs: execFileSync blocks this process, its idle sockets go stale).
    const lat = [];
    for (let i = 0; i < 100; i++) {
      const ops = Array.from({ length: OPS }, (_, k) => op('create', 'items', `lat-${i}-${k}`, { name: 'x', qty: k }));
      const t0 = process.hrtime.bigint();
      await c.push(ops);
      lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    lat.sort((a, b) => a - b);
    const pullUrl = `${srv.base}/sync/pull?cursor=&limit=${LIMIT}`;
    const sample = await (await fetch(pullUrl, { headers: { authorization: `Bearer ${token}` } })).text();
    writeFileSync(join(dir, 'same-size.json'), 'x'.repeat(sample.length));
    const staticR = wrk(`${srv.base}/same-size.json`);
    const pull = wrk(pullUrl, token);
    let log = pushLog(logPath, 0);
    const push = wrk(`${srv.base}/sync/push`, token, ['-s', join(ROOT, 'bench/server/push.lua')]);
    log = pushLog(logPath, log.end);
    push.perTransaction = log.perTransaction;
    const tokensFile = join(dir, 'tokens.txt');
    writeFileSync(tokensFile, Array.from({ length: PARTITIONS }, (_, i) => tokenFor(`bench-p${i}`)).join('\n') + '\n');
    const pushMany = wrk(`${srv.base}/sync/push`, token, ['-s', join(ROOT, 'bench/server/push.lua')],
      { BENCH_TOKENS: tokensFile });
    pushMany.perTransaction = pushLog(logPath, log.end).perTransaction;
    return { name, bytes: sample.length, staticR, pull, push, pushMany, latency: { p10: lat[10], p50: lat[50] } };
  } finally {
    await srv.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(logDir, { recursive: true, force: true });
  }
}

const results = [];
const sqliteDir = tmp('syncore-bench-db-');
try {
  results.push(await measure('SQLite', `sqlite:${join(sqliteDir, 'bench.sqlite')}`));
  const pg = await startPostgres();
  try {
    results.push(await measure('PostgreSQL 15', pg.freshDb()));
    if (BASELINE) results.push(await measure('PostgreSQL 15, baseline build', pg.freshDb(), BASELINE));
  } finally { pg.stop(); }
} finally { rmSync(sqliteDir, { recursive: true, force: true }); }

const cpu = readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1] ?? 'unknown CPU';
const cores = readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm).length;
const f = (x) => x.toFixed(0);
const lines = [
  '## Server',
  '',
  `Measured by \`make bench-server\` (bench/server/bench.mjs) on ${new Date().toISOString().slice(0, 10)}:`,
  `${cpu}, ${cores} cores shared by the load generator and the server; wrk -t2 -c${CONNS} -d${SECONDS}s;`,
  `server built with \`MODE=${process.env.BENCH_MODE || 'debug'}\` (${process.env.BENCH_MODE === 'dist' ? '-O2' : '-O1 -g'}), run with \`--threads 4 --rate 0\`, one JSON log line per request (to a file).`,
  'Pull: one token, 1,000 records,',
  `\`limit=${LIMIT}\` from the start (a ${results[0].bytes}-byte answer). Push: ${OPS} fresh creates per request.`,
  'Static: the same server answering a file of the pull answer\'s size; the ratio column is',
  'protocol throughput / static throughput from the same run, the figure to compare across machines.',
  '',
  '| backend | request | req/s | ops/s | p50 | p99 | ratio to static |',
  '|---|---|---:|---:|---:|---:|---:|',
];
for (const r of results) {
  lines.push(`| ${r.name} | static file, ${r.bytes} B | ${f(r.staticR.rps)} | | ${r.staticR.p50} | ${r.staticR.p99} | 1.00 |`);
  lines.push(`| ${r.name} | pull, ${LIMIT} changes | ${f(r.pull.rps)} | ${f(r.pull.rps * LIMIT)} changes | ${r.pull.p50} | ${r.pull.p99} | ${(r.pull.rps / r.staticR.rps).toFixed(2)} |`);
  lines.push(`| ${r.name} | push, ${OPS} creates, one partition | ${f(r.push.rps)} | ${f(r.push.rps * OPS)} ops | ${r.push.p50} | ${r.push.p99} | ${(r.push.rps / r.staticR.rps).toFixed(2)} |`);
  lines.push(`| ${r.name} | push, ${OPS} creates, ${PARTITIONS} partitions in turn | ${f(r.pushMany.rps)} | ${f(r.pushMany.rps * OPS)} ops | ${r.pushMany.p50} | ${r.pushMany.p99} | ${(r.pushMany.rps / r.staticR.rps).toFixed(2)} |`);
}
if (results.length >= 2) {
  const [sq, pg, base] = results;
  lines.push('', `PostgreSQL / SQLite push throughput: ${(pg.push.rps / sq.push.rps).toFixed(2)} to one partition,`,
    `${(pg.pushMany.rps / sq.pushMany.rps).toFixed(2)} to ${PARTITIONS} partitions. A PostgreSQL transaction costs two round trips`,
    '(one pipeline for BEGIN, the partition lock and the op_ids and records named, one for the',
    'multi-row inserts and upserts, the seq with its NOTIFY, and COMMIT; server/db_pg.c); the pushes to a partition that',
    'arrive while its transaction runs wait without a thread (their connections suspended) and the next',
    'transaction applies them together (server/writers.c). Pushes per PostgreSQL transaction, mean over the',
    `pushes: ${results.slice(1).map((r) => `${r.name} ${r.push.perTransaction.toFixed(1)} to one partition, ${r.pushMany.perTransaction.toFixed(1)} to ${PARTITIONS}`).join('; ')}.`);
  lines.push('', 'One client pushing one request at a time (no lock waits), p50 / p10 per push of ' + OPS + ' creates:',
    results.map((r) => `${r.name} ${r.latency.p50.toFixed(2)} / ${r.latency.p10.toFixed(2)} ms`).join('; ') + '.');
  if (base) lines.push('', `Against the baseline build (\`BENCH_BASELINE_BIN\`, ${process.env.BENCH_BASELINE_NAME || 'another build'}),`,
    `same run: ${(pg.push.rps / base.push.rps).toFixed(2)}× the push throughput to one partition,`,
    `${(pg.pushMany.rps / base.pushMany.rps).toFixed(2)}× to ${PARTITIONS} partitions.`);
}
lines.push('', 'SQLite serializes writers in one process (one push transaction at a time, WAL, synchronous=NORMAL);',
  'PostgreSQL here runs with fsync off (a throw-away test cluster), so its push figure is an upper bound.',
  'Pushes to one partition are serialized by design (docs/PROTOCOL.md §4.2: the partition row lock is',
  `what keeps pull from skipping a change); the ${PARTITIONS}-partition rows spread the same load over`,
  `${PARTITIONS} tokens, which run in parallel. The baseline build, when given, is whatever binary`,
  'BENCH_BASELINE_BIN names (its own build flags). Command: `make MODE=dist bench-server`.', '');
const section = lines.join('\n');
console.log(section);

writeBenchmarkSection(ROOT, 'Server', section);
