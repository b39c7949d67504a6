// Helpers for the server suites: a throw-away PostgreSQL 15, server processes on
// random ports, HTTP/JWT/SSE helpers. Node 20 standard library only.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, chownSync, openSync, closeSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import net from 'node:net';
import crypto from 'node:crypto';

export const ROOT = resolve(new URL('../..', import.meta.url).pathname);
export const BIN = process.env.SYNCORE_SERVER_BIN || join(ROOT, 'build/syncore-server');
export const SECRET = 'conformance-secret-of-at-least-32-bytes';
const PG_BIN = '/usr/lib/postgresql/15/bin';

export function tmp(prefix) { return mkdtempSync(join(tmpdir(), prefix)); }

export async function until(what, fn, ms = 10000, every = 20) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

export function freePort() {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); });
    s.on('error', rej);
  });
}

// ---------------------------------------------------------------- PostgreSQL
// initdb refuses to run as root: as root we run it as the `postgres` system user
// (created by Debian's postgresql package, which `scripts/deps.sh server` installs).
export async function startPostgres() {
  const dir = tmp('syncore-pg-');
  const isRoot = process.getuid() === 0;
  let asUser = (cmd, args) => [cmd, args];
  if (isRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
    asUser = (cmd, args) => ['runuser', ['-u', 'postgres', '--', cmd, ...args]];
  }
  const run = (cmd, args) => { const [c, a] = asUser(cmd, args); execFileSync(c, a, { stdio: 'pipe' }); };
  const port = await freePort();
  const data = join(dir, 'data');
  run(`${PG_BIN}/initdb`, ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync']);
  run(`${PG_BIN}/pg_ctl`, ['-D', data, '-l', join(dir, 'log'), '-w', '-o',
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300`, 'start']);
  let n = 0;
  const pg = {
    port,
    url: (db = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${db}`,
    psql(sql, db = 'postgres') {
      return execFileSync(`${PG_BIN}/psql`, ['-X', '-q', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', db, '-tAc', sql]).toString();
    },
    freshDb() { const name = `t${process.pid}_${++n}`; pg.psql(`CREATE DATABASE ${name}`); return pg.url(name); },
    stop() {
      try { run(`${PG_BIN}/pg_ctl`, ['-D', data, '-m', 'immediate', '-w', 'stop']); } catch {}
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return pg;
}

// ---------------------------------------------------------------- server
// logToFile: the server's stderr goes to a file instead of a pipe (benchmarks: a
// pipe nobody drains while wrk runs synchronously would stall the server).
// dir: where the key file (and log) go, instead of a fresh temporary directory (the
// caller removes it); wrap: a command run in front (['prlimit', '--as=N', '--']);
// env: extra environment; listen: instead of 127.0.0.1:0; dev: false drops --dev;
// bin: another server binary (a benchmark's baseline).
export async function startServer(dbUrl, extra = [], { secret = SECRET, logToFile = false, dir: ownDir,
  wrap = [], env = {}, listen = '127.0.0.1:0', dev = true, bin = BIN } = {}) {
  const dir = ownDir || tmp('syncore-srv-');
  const keyFile = join(dir, 'key');
  writeFileSync(keyFile, secret + '\n');
  const args = ['--listen', listen, '--db', dbUrl, '--jwt-secret-file', keyFile, ...(dev ? ['--dev'] : []), ...extra];
  const logPath = join(dir, 'server.log');
  const logFd = logToFile ? openSync(logPath, 'w') : null;
  const cmd = wrap.length ? wrap[0] : bin;
  const child = spawn(cmd, wrap.length ? [...wrap.slice(1), bin, ...args] : args,
    { stdio: ['ignore', 'ignore', logToFile ? logFd : 'pipe'], env: { ...process.env, ...env } });
  if (logFd !== null) closeSync(logFd);
  const logs = [];
  let buf = '';
  let exited = null;
  child.on('exit', (code, sig) => { exited = { code, sig }; });
  child.stderr?.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) { logs.push(buf.slice(0, i)); buf = buf.slice(i + 1); }
  });
  const line = await until('server start', () => {
    if (exited) throw new Error(`server exited ${JSON.stringify(exited)}: ${logs.join('\n')}${buf}`);
    const lines = logToFile ? readFileSync(logPath, 'utf8').split('\n') : logs;
    return lines.find((l) => l.includes('"listening"'));
  }, 15000);
  const port = JSON.parse(line).port;
  return {
    port, logs, child, exited: () => exited,
    base: `http://127.0.0.1:${port}`,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      await until('server stop', () => exited, 10000);
      if (!ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------- JWT
const b64u = (b) => Buffer.from(b).toString('base64url');
export function jwt(claims, { secret = SECRET, alg = 'HS256', header } = {}) {
  const h = b64u(JSON.stringify(header ?? { alg, typ: 'JWT' }));
  const p = b64u(JSON.stringify(claims));
  const sig = crypto.createHmac('sha256', secret).update(`${h}.${p}`).digest();
  return `${h}.${p}.${b64u(sig)}`;
}
export function tokenFor(sub, space, ttl = 3600) {
  const claims = { sub, exp: Math.floor(Date.now() / 1000) + ttl };
  if (space) claims.space = space;
  return jwt(claims);
}
export const uid = (p = 'x') => `${p}${crypto.randomBytes(6).toString('hex')}`;

// ---------------------------------------------------------------- protocol
export function hlc(ms = Date.now(), counter = 0, device = 'd1') {
  return `${String(ms).padStart(15, '0')}-${String(counter).padStart(5, '0')}-${device}`;
}
export function op(kind, collection, id, data, base = 0, fields = {}) {
  const now = Date.now();
  const o = { op_id: uid('op'), collection, id, kind, base_version: base,
    updated_at: new Date(now).toISOString(), hlc: hlc(now) };
  if (data !== undefined) o.data = data;
  return Object.assign(o, fields);
}

export function client(srv, token) {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const c = {
    async push(ops, device_id = 'd1') {
      const r = await fetch(`${srv.base}/sync/push`, { method: 'POST', headers, body: JSON.stringify({ device_id, ops }) });
      const body = await r.json();
      if (r.status !== 200) throw Object.assign(new Error(`push ${r.status}: ${JSON.stringify(body)}`), { status: r.status, body });
      return body;
    },
    async pushRaw(body, extraHeaders = {}) {
      const r = await fetch(`${srv.base}/sync/push`, { method: 'POST', headers: { ...headers, ...extraHeaders }, body });
      return { status: r.status, headers: r.headers, body: await r.text() };
    },
    async pullRaw(query) {
      const r = await fetch(`${srv.base}/sync/pull${query}`, { headers });
      return { status: r.status, headers: r.headers, body: await r.text() };
    },
    async pull(cursor = '', limit) {
      const q = `?cursor=${encodeURIComponent(cursor)}${limit ? `&limit=${limit}` : ''}`;
      const r = await c.pullRaw(q);
      if (r.status !== 200) throw Object.assign(new Error(`pull ${r.status}: ${r.body}`), { status: r.status });
      return JSON.parse(r.body);
    },
    async pullAll(cursor = '', limit = 500) {
      const changes = [];
      for (;;) {
        const page = await c.pull(cursor, limit);
        changes.push(...page.changes);
        cursor = page.cursor;
        if (!page.has_more) return { changes, cursor };
      }
    },
  };
  return c;
}

// A raw HTTP/1.1 request over a socket (fetch would normalize `..` away).
export function rawRequest(port, text) {
  return new Promise((res, rej) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(text));
    let out = '';
    s.on('data', (d) => { out += d; });
    s.on('end', () => res(out));
    s.on('error', rej);
    s.setTimeout(5000, () => { s.destroy(); rej(new Error('raw request timed out')); });
  });
}

// An SSE stream read through fetch; `next(pred)` waits for an event or comment.
export async function openEvents(srv, token, { query = true } = {}) {
  const ctl = new AbortController();
  const url = `${srv.base}/sync/events${query ? `?access_token=${encodeURIComponent(token)}` : ''}`;
  const r = await fetch(url, { signal: ctl.signal, headers: query ? {} : { authorization: `Bearer ${token}` } });
  const reader = r.body.getReader();
  const dec = new TextDecoder();
  let text = '';
  const blocks = [];
  let done = false;
  (async () => {
    try {
      for (;;) {
        const { value, done: d } = await reader.read();
        if (d) break;
        text += dec.decode(value, { stream: true });
        let i;
        while ((i = text.indexOf('\n\n')) >= 0) { blocks.push(text.slice(0, i)); text = text.slice(i + 2); }
      }
    } catch {}
    done = true;
  })();
  return {
    status: r.status, headers: r.headers, blocks,
    async next(pred, ms = 5000) {
      return until('SSE block', () => { const i = blocks.findIndex(pred); return i >= 0 ? blocks.splice(i, 1)[0] : (done ? (() => { throw new Error('stream ended'); })() : null); }, ms, 10);
    },
    close() { ctl.abort(); },
  };
}

export function writeStaticTree(dir) {
  const files = {
    'index.html': '<!doctype html><title>x</title>', 'app.wasm': Buffer.from([0, 97, 115, 109, 1, 0, 0, 0]),
    'mod.mjs': 'export const x = 1;', 'classic.js': 'var x = 1;', 'manifest.webmanifest': '{"name":"x"}',
    'style.css': 'body{}',
  };
  for (const [n, c] of Object.entries(files)) writeFileSync(join(dir, n), c);
  return files;
}
