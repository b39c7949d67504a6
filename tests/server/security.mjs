// The server security suite: one test per server finding of issue 7 (6–17; 18 is
// make test's dist-flags compile, mk/core.mk), against the real binary, on
// 127.0.0.1 only. Tests that touch storage run on both backends; the others run
// once, in the SQLite pass (backend.once). Each is bounded: a fixed number of
// requests and connections, and deadlines on every wait. Where a finding is about
// memory the server's peak RSS is read from /proc/<pid>/status (VmHWM, reset
// through /proc/<pid>/clear_refs before the attack) and printed.
import assert from 'node:assert/strict';
import { linkSync, mkdirSync, readFileSync, symlinkSync, writeFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import {
  BIN, ROOT, startServer, client, tokenFor, jwt, op, uid, until, tmp, SECRET,
} from './lib.mjs';

const MiB = 1 << 20;

// ---------------------------------------------------------------- helpers
function memKb(pid) {
  const st = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number(st.match(new RegExp(`^${k}:\\s+(\\d+)`, 'm'))[1]);
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}
function resetPeak(pid) { writeFileSync(`/proc/${pid}/clear_refs`, '5'); }
const mb = (kb) => (kb / 1024).toFixed(0);
// Peak RSS growth (MB) while fn runs.
async function peakGrowth(srv, what, fn) {
  const pid = srv.child.pid;
  resetPeak(pid);
  const before = memKb(pid).rss;
  await fn();
  const after = memKb(pid);
  console.log(`      ${what}: RSS ${mb(before)} MB before, peak ${mb(after.hwm)} MB (+${mb(after.hwm - before)} MB)`);
  return (after.hwm - before) / 1024;
}

// One raw HTTP request whose body is streamed in 1 MiB chunks as long as the server
// reads; resolves with what the server answered once the socket closes (or 20 s).
function streamRequest(port, head, bodyBytes) {
  return new Promise((res) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '', sent = 0, done = false;
    const chunk = Buffer.alloc(MiB, 0x30);
    const finish = () => { if (!done) { done = true; clearTimeout(timer); s.destroy(); res({ out, sent }); } };
    const timer = setTimeout(finish, 20000);
    const pump = () => {
      while (!done && sent < bodyBytes) {
        const n = Math.min(MiB, bodyBytes - sent);
        sent += n;
        if (!s.write(n === MiB ? chunk : chunk.subarray(0, n))) { s.once('drain', pump); return; }
      }
    };
    s.on('connect', () => { s.write(head); pump(); });
    s.on('data', (d) => { out += d; if (/^HTTP\/1\.1 \d{3}/.test(out) && out.includes('\r\n\r\n')) setTimeout(finish, 50); });
    s.on('error', finish);
    s.on('close', finish);
  });
}

// Open a socket and report whether the server closed it within ms.
function closedWithin(port, ms, send = null) {
  return new Promise((res) => {
    const s = net.connect(port, '127.0.0.1', () => { if (send) s.write(send); });
    const timer = setTimeout(() => res({ closed: false, sock: s }), ms);
    s.on('close', () => { clearTimeout(timer); res({ closed: true, sock: s }); });
    s.on('error', () => {});
  });
}

function runToExit(args, ms = 10000) {
  return new Promise((res) => {
    const child = spawn(BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); res({ code: 'running', err }); }, ms);
    child.on('exit', (code) => { clearTimeout(timer); res({ code, err }); });
  });
}

const b64u = (x) => Buffer.from(x).toString('base64url');
function signRaw(payloadText, secret = SECRET) {
  const crypto = globalThis.__crypto;
  const h = b64u('{"alg":"HS256","typ":"JWT"}');
  const p = b64u(payloadText);
  return `${h}.${p}.${crypto.createHmac('sha256', secret).update(`${h}.${p}`).digest('base64url')}`;
}
globalThis.__crypto = await import('node:crypto');

const soon = () => Math.floor(Date.now() / 1000) + 600;
const pullStatus = async (srv, token, query = '') =>
  (await fetch(`${srv.base}/sync/pull${query}`, { headers: { authorization: `Bearer ${token}` } })).status;

// ---------------------------------------------------------------- the suite
export function securityTests(backend) {
  const T = [];
  const test = (name, fn) => T.push([name, fn]);
  const once = (name, fn) => { if (backend.once) test(name, fn); };
  let srv;
  test('setup: start the server', async () => { srv = await startServer(backend.freshDb()); });

  // 6
  test('f06_a_space_should_never_reach_a_sub_of_the_same_name_and_control_characters_are_refused', async () => {
    const name = uid('alice');
    const alice = client(srv, tokenFor(name));
    await alice.push([op('create', 'notes', 'secret', { t: 'alice only' })]);
    const mallory = client(srv, jwt({ sub: uid('mallory'), space: name, exp: soon() }));
    assert.equal((await mallory.pull()).changes.length, 0, 'space=alice must not read sub=alice');
    await mallory.push([op('create', 'notes', 'planted', { t: 'x' })]);
    const mine = await alice.pull();
    assert.deepEqual(mine.changes.map((c) => c.id), ['secret'], 'space=alice must not write into sub=alice');
    for (const sub of [`${name}\u0000x`, `${name}\tx`, `${name}\u007f`]) {
      assert.equal(await pullStatus(srv, jwt({ sub, exp: soon() })), 401, JSON.stringify(sub));
      assert.equal(await pullStatus(srv, jwt({ sub: 'ok', space: sub, exp: soon() })), 401, JSON.stringify(sub));
    }
  });

  // 6: data stored before the prefixes keeps working after the migration.
  test('f06_partitions_stored_before_the_u_s_prefixes_should_migrate', async () => {
    const url = backend.freshDb();
    const s0 = await startServer(url);            // creates the schema (already marked migrated)
    await s0.stop();
    const rec = (p, id, seq) => `('${p}','notes','${id}',1,'{"t":"${id}"}','2025-01-01T00:00:00.000Z',NULL,`
      + `'001735689600000-00000-d1','d1',${seq},1)`;
    const oldResult = `"id":"n-user","version":1,"record":{"collection":"notes","id":"n-user","version":1,`
      + `"data":{"t":"n-user"},"updated_at":"2025-01-01T00:00:00.000Z","deleted_at":null,`
      + `"hlc":"001735689600000-00000-d1","device_id":"d1"}`;
    const t = backend.shared ? 'syncore_' : '';
    backend.query(url, [
      backend.shared ? 'DELETE FROM syncore_meta' : 'PRAGMA user_version = 0',
      `INSERT INTO ${t}partitions(name, seq) VALUES('olduser', 1), ('oldteam', 1)`,
      `INSERT INTO ${t}records(partition, collection, id, version, data, updated_at, deleted_at, hlc, device_id, seq, changed_ms) VALUES ${rec('olduser', 'n-user', 1)}, ${rec('oldteam', 'n-team', 1)}`,
      `INSERT INTO ${t}op_results(partition, op_id, result, created_ms) VALUES('olduser', 'op-old', '${oldResult}', ${Date.now()})`,
    ].join(';\n') + ';');
    const s = await startServer(url, ['--legacy-spaces', 'oldteam,other']);
    try {
      assert.ok(s.logs.some((l) => l.includes('partitions renamed')), 'the migration is logged');
      const ids = async (tok) => (await client(s, tok).pull()).changes.map((c) => c.id);
      assert.deepEqual(await ids(tokenFor('olduser')), ['n-user']);
      assert.deepEqual(await ids(jwt({ sub: 'x', space: 'oldteam', exp: soon() })), ['n-team']);
      assert.deepEqual(await ids(tokenFor('oldteam')), [], 'sub=oldteam is not the space');
      assert.deepEqual(await ids(jwt({ sub: 'x', space: 'olduser', exp: soon() })), [], 'space=olduser is not the user');
      const o = op('create', 'notes', 'n-user', { t: 'n-user' });
      o.op_id = 'op-old';
      const r = (await client(s, tokenFor('olduser')).push([o])).results[0];
      assert.deepEqual([r.status, r.id, r.version, r.record.data.t], ['duplicate', 'n-user', 1, 'n-user'], 'old op results replay');
      const next = await client(s, tokenFor('olduser')).push([op('update', 'notes', 'n-user', { t: 'v2' }, 1)]);
      assert.equal(next.results[0].status, 'applied');
      assert.equal((await client(s, tokenFor('olduser')).pull()).changes[0].seq, 2, 'the seq carried over');
    } finally { await s.stop(); }
    const again = await startServer(url, ['--legacy-spaces', 'olduser']);   // runs once only
    try {
      assert.deepEqual((await client(again, tokenFor('olduser')).pull()).changes.map((c) => c.id), ['n-user']);
    } finally { await again.stop(); }
  });

  // 7
  once('f07_bodies_without_a_valid_token_should_be_refused_on_the_headers', async () => {
    const s = await startServer(backend.freshDb());
    try {
      const heads = Array.from({ length: 20 }, (_, i) => `POST /sync/push HTTP/1.1\r\nHost: x\r\n`
        + `${i % 2 ? `Authorization: Bearer ${jwt({ sub: 'u', exp: soon() }, { secret: 'wrong-secret-wrong-secret-wrong!!' })}\r\n` : ''}`
        + `Content-Type: application/json\r\nContent-Length: ${15 * MiB}\r\n\r\n`);
      let answers;
      const growth = await peakGrowth(s, '20 unauthenticated 15 MiB bodies', async () => {
        answers = await Promise.all(heads.map((h) => streamRequest(s.port, h, 15 * MiB)));
      });
      // A client still sending when the server closes may see a reset, not the answer.
      for (const a of answers) assert.ok(a.out === '' || /^HTTP\/1\.1 (401|429)/.test(a.out), a.out.slice(0, 80));
      assert.ok(growth < 40, `peak RSS grew ${growth.toFixed(0)} MB`);
      // A client that waits after its head gets the 401 before sending a byte of body.
      const polite = await new Promise((res) => {
        const sock = net.connect(s.port, '127.0.0.1', () => sock.write(heads[0]));
        let out = '';
        const timer = setTimeout(() => { sock.destroy(); res(out); }, 3000);
        sock.on('data', (d) => { out += d; if (out.includes('\r\n\r\n')) { clearTimeout(timer); sock.destroy(); res(out); } });
        sock.on('error', () => { clearTimeout(timer); res(out); });
      });
      // (the 21st failure from this address: 429, the budget of failed authentications is spent)
      assert.match(polite, /^HTTP\/1\.1 (401|429)/, 'answered on the head alone');
      assert.equal((await fetch(`${s.base}/healthz`)).status, 200);
    } finally { await s.stop(); }
  });

  // 8
  once('f08_a_body_not_shaped_like_a_push_should_be_refused_before_a_tree_is_built', async () => {
    const c = client(srv, tokenFor(uid('pad')));
    const pad = `{"device_id":"d1","ops":[],"pad":[${'0,'.repeat(8 * MiB - 40)}0]}`;
    const nested = `{"device_id":"d1","ops":[[${'0,'.repeat(8 * MiB - 40)}0]]}`;
    let r1, r2;
    const growth = await peakGrowth(srv, '16 MiB push bodies of zeros (pad key, then inside ops)', async () => {
      r1 = await c.pushRaw(pad);
      r2 = await c.pushRaw(nested);
    });
    assert.equal(r1.status, 400, r1.body);
    assert.match(JSON.parse(r1.body).error, /device_id.*ops/);
    assert.equal(r2.status, 413, r2.body);
    assert.match(JSON.parse(r2.body).error, /max-nodes/);
    assert.ok(growth < 80, `peak RSS grew ${growth.toFixed(0)} MB`);
  });

  // 9
  test('f09_a_pull_page_should_stop_at_max_page_bytes', async () => {
    const s = await startServer(backend.freshDb(), ['--rate', '0']);
    try {
      const c = client(s, tokenFor(uid('big')));
      const blob = 'x'.repeat(MiB - 64);
      for (let b = 0; b < 6; b++)
        await c.push(Array.from({ length: 6 }, (_, i) => op('create', 'blobs', `b${b}-${i}`, { blob })));
      let first;
      const growth = await peakGrowth(s, `${backend.name}: pull limit=5000 over 36 records of 1 MiB`, async () => {
        first = await c.pull('', 5000);
      });
      assert.ok(first.changes.length >= 1 && first.changes.length <= 9, `page of ${first.changes.length} (8 MiB cap)`);
      assert.equal(first.has_more, true);
      assert.equal(first.remaining, 36 - first.changes.length);
      const all = await c.pullAll('', 5000);
      assert.equal(new Set(all.changes.map((x) => x.id)).size, 36);
      assert.equal(all.changes.length, 36);
      assert.ok(growth < 40, `peak RSS grew ${growth.toFixed(0)} MB`);
    } finally { await s.stop(); }
  });

  // 9: out of memory fails the request, not the process.
  test('f09_running_out_of_memory_should_fail_the_request_not_the_server', async () => {
    const url = backend.freshDb();
    const env = { MALLOC_ARENA_MAX: '1' };
    const probe = await startServer(url, ['--threads', '2'], { env });
    const vm = Number(readFileSync(`/proc/${probe.child.pid}/status`, 'utf8').match(/^VmSize:\s+(\d+)/m)[1]);
    const c0 = client(probe, tokenFor('oom'));
    const blob = 'y'.repeat(MiB - 64);
    for (let b = 0; b < 10; b++)
      await c0.push(Array.from({ length: 6 }, (_, i) => op('create', 'blobs', `b${b}-${i}`, { blob })));
    await probe.stop();
    // Room for the server as it starts plus 120 MiB: a 60 MiB page (rows + text) cannot fit.
    const s = await startServer(url, ['--threads', '2', '--rate', '0', '--max-page-bytes', String(1 << 30)],
      { env, wrap: ['prlimit', `--as=${(vm + 120 * 1024) * 1024}`, '--'] });
    try {
      const c = client(s, tokenFor('oom'));
      const big = await c.pullRaw('?limit=5000');
      assert.ok([500, 503].includes(big.status), `status ${big.status}`);
      assert.equal(s.exited(), null, 'the server is still running');
      assert.equal((await fetch(`${s.base}/healthz`)).status, 200);
      const small = await c.pull('', 2);
      assert.equal(small.changes.length, 2);
    } finally { await s.stop(); }
  });

  // 10
  once('f10_event_streams_should_be_capped_per_token_and_per_partition', async () => {
    let s = srv;   // the defaults first: 16 streams a token
    const ctls = [];
    const open = async (token) => {
      const ctl = new AbortController();
      ctls.push(ctl);
      const r = await fetch(`${s.base}/sync/events?access_token=${encodeURIComponent(token)}`, { signal: ctl.signal });
      return r.status;
    };
    try {
      const one = tokenFor(uid('streams'));
      const first = [];
      for (let i = 0; i < 17; i++) first.push(await open(one));
      assert.deepEqual(first.slice(0, 16), Array(16).fill(200));
      assert.equal(first[16], 429, 'the 17th stream of one token');
      for (const c of ctls.splice(0)) c.abort();
      s = await startServer(backend.freshDb(), ['--rate', '0', '--max-streams-per-partition', '20']);
      const sub = uid('streams');
      for (let i = 0; i < 16; i++) assert.equal(await open(tokenFor(sub)), 200);
      const others = [];
      for (let i = 0; i < 5; i++) others.push(await open(jwt({ sub, exp: soon() + i + 1 })));
      assert.deepEqual(others, [200, 200, 200, 200, 429], 'the 21st stream of one partition');
      assert.equal(await open(tokenFor(uid('else'))), 200, 'other partitions are not affected');
    } finally { for (const c of ctls) c.abort(); if (s !== srv) await s.stop(); }
  });

  once('f10_a_request_head_trickled_in_should_be_cut_at_the_header_timeout', async () => {
    const s = srv;   // the default --header-timeout, 10 s
    {
      const t0 = Date.now();
      const sock = net.connect(s.port, '127.0.0.1');
      let closedAt = 0;
      sock.on('close', () => { closedAt = Date.now(); });
      sock.on('error', () => {});
      await new Promise((r) => sock.once('connect', r));
      sock.write('GET /healthz HTTP/1.1\r\n');
      for (let i = 0; i < 14 && !closedAt; i++) {          // one byte a second: never idle
        sock.write('X');
        await new Promise((r) => setTimeout(r, 1000));
      }
      assert.ok(closedAt, 'still open after 14 s of trickling');
      assert.ok(closedAt - t0 >= 9000 && closedAt - t0 < 12500, `closed after ${closedAt - t0} ms`);
      assert.equal((await fetch(`${s.base}/healthz`)).status, 200, 'a normal request still works');
      sock.destroy();
    }
  });

  once('f10_connections_should_be_limited_per_address', async () => {
    const s = await startServer(backend.freshDb());
    const socks = [];
    try {
      const results = await Promise.all(Array.from({ length: 72 }, () => closedWithin(s.port, 1500)));
      for (const r of results) socks.push(r.sock);
      const closed = results.filter((r) => r.closed).length;
      assert.ok(closed >= 8, `${closed} of 72 connections closed by the server (limit 64)`);
      assert.ok(closed <= 8 + 2, `${closed} closed: the first 64 must stay`);
    } finally { for (const k of socks) k.destroy(); await s.stop(); }
  });

  // 11
  once('f11_rate_limits_should_hold_across_token_spellings_copies_and_failed_authentications', async () => {
    const s = await startServer(backend.freshDb(), ['--rate', '0.1', '--burst', '3']);
    try {
      const sub = uid('rl');
      const token = tokenFor(sub);
      const [h, p, sig] = token.split('.');
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const last = alphabet.indexOf(sig.at(-1));
      const spellings = [0, 1, 2, 3].map((k) => `${h}.${p}.${sig.slice(0, -1)}${alphabet[(last & ~3) | k]}`);
      const statuses = [];
      for (const t of spellings) statuses.push(await pullStatus(s, t));
      assert.deepEqual(statuses.sort(), [200, 401, 401, 401], 'only the canonical spelling');
      // Two more on the canonical token, then another token of the same partition.
      assert.equal(await pullStatus(s, token), 200);
      assert.equal(await pullStatus(s, token), 200);
      assert.equal(await pullStatus(s, jwt({ sub, exp: soon() + 7 })), 429, 'the budget is the partition\'s');
      // Failed authentications from one address: 20 (3 spent above), then 429.
      const bad = jwt({ sub: 'x', exp: soon() }, { secret: 'not-the-secret-not-the-secret-123' });
      const fails = [];
      for (let i = 0; i < 24; i++) fails.push(await pullStatus(s, bad));
      assert.deepEqual(fails.slice(0, 16), Array(16).fill(401));
      assert.equal(fails.at(-1), 429);
      const r = await fetch(`${s.base}/sync/pull`, { headers: { authorization: `Bearer ${bad}` } });
      assert.ok(Number(r.headers.get('retry-after')) >= 1);
    } finally { await s.stop(); }
  });

  // 12
  once('f12_static_files_should_refuse_dotfiles_and_the_servers_own_files', async () => {
    const dir = tmp('syncore-static-');
    try {
      writeFileSync(join(dir, 'index.html'), '<!doctype html>');
      writeFileSync(join(dir, '.env'), 'SECRET=1');
      mkdirSync(join(dir, '.git'));
      writeFileSync(join(dir, '.git', 'config'), '[core]');
      mkdirSync(join(dir, '.well-known'));
      writeFileSync(join(dir, '.well-known', 'assetlinks.json'), '[]');
      symlinkSync('.env', join(dir, 'env-link'));
      const s = await startServer(`sqlite:${join(dir, 'data.db')}`, ['--static', dir], { dir });
      try {
        await client(s, tokenFor(uid('st'))).push([op('create', 'notes', 'n', { t: 'in the db' })]);
        linkSync(join(dir, 'data.db'), join(dir, 'copy.bin'));
        const get = async (path) => (await fetch(`${s.base}${path}`)).status;
        assert.equal(await get('/index.html'), 200);
        assert.equal(await get('/.well-known/assetlinks.json'), 200);
        for (const path of ['/.env', '/.git/config', '/env-link', '/key', '/data.db', '/data.db-wal', '/data.db-shm', '/copy.bin'])
          assert.notEqual(await get(path), 200, path);
      } finally { await s.stop(); }
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });

  // 13
  test('f13_an_op_repeating_a_key_should_be_rejected_and_store_nothing', async () => {
    const s = await startServer(backend.freshDb(), ['--server-ids', 'pets,appointments',
      '--derive', 'appointments.clientId=pets.ownerId@petId']);
    try {
      const c = client(s, tokenFor(uid('dup')));
      const pet = (await c.push([op('create', 'pets', 'tmp_p', { ownerId: 'owner-1' })])).results[0];
      const base = op('create', 'appointments', 'a1', {});
      const opText = JSON.stringify(base).replace('"data":{}',
        `"data":{"petId":"${pet.id}","clientId":"forged","clientId":"x","petId":"p999"}`);
      const r = await c.pushRaw(`{"device_id":"d1","ops":[${opText}]}`);
      assert.equal(r.status, 200, r.body);
      const res = JSON.parse(r.body).results[0];
      assert.deepEqual([res.status, res.op_id], ['rejected', base.op_id]);
      assert.match(res.error, /repeats the key/);
      const twiceOpId = JSON.stringify(op('create', 'notes', 'n2', {})).replace('{"op_id"', '{"op_id":"other","op_id"');
      const r2 = JSON.parse((await c.pushRaw(`{"device_id":"d1","ops":[${twiceOpId}]}`)).body).results[0];
      assert.equal(r2.status, 'rejected');
      assert.equal((await c.pushRaw(`{"device_id":"d1","device_id":"d2","ops":[]}`)).status, 400);
      const { changes } = await c.pullAll();
      assert.deepEqual(changes.map((x) => x.collection), ['pets'], 'nothing else stored');
    } finally { await s.stop(); }
  });

  // 14
  once('f14_jwt_time_claims_audience_issuer_secret_length_and_dev_binding', async () => {
    const now = Math.floor(Date.now() / 1000);
    assert.equal(await pullStatus(srv, jwt({ sub: 'u', exp: soon(), nbf: now + 3600 })), 401, 'nbf in the future');
    assert.equal(await pullStatus(srv, jwt({ sub: 'u', exp: soon(), nbf: now - 10 })), 200, 'nbf passed');
    assert.equal(await pullStatus(srv, jwt({ sub: 'u', exp: soon(), iat: now + 86400 })), 401, 'iat in the future');
    assert.equal(await pullStatus(srv, signRaw('{"sub":"u","exp":1e999}')), 401, 'exp 1e999');
    assert.equal(await pullStatus(srv, signRaw(`{"sub":"u","exp":${soon()},"exp":${soon()}}`)), 401, 'exp twice');
    const dir = tmp('syncore-jwt-');
    try {
      writeFileSync(join(dir, 'short'), 'k\n');
      const short = await runToExit(['--listen', '127.0.0.1:0', '--db', `sqlite:${join(dir, 'a.db')}`, '--jwt-secret-file', join(dir, 'short')]);
      assert.equal(short.code, 2, 'a one-byte secret is refused');
      assert.match(short.err, /32 bytes/);
      const open = await runToExit(['--listen', '0.0.0.0:0', '--db', `sqlite:${join(dir, 'b.db')}`, '--dev'], 5000);
      assert.equal(open.code, 2, '--dev on 0.0.0.0 is refused');
      assert.match(open.err, /loopback/);
    } finally { rmSync(dir, { recursive: true, force: true }); }
    const s = await startServer(backend.freshDb(), ['--jwt-audience', 'syncore-api', '--jwt-issuer', 'https://id.example']);
    try {
      const iss = 'https://id.example';
      assert.equal(await pullStatus(s, jwt({ sub: 'u', exp: soon() })), 401, 'no aud/iss');
      assert.equal(await pullStatus(s, jwt({ sub: 'u', exp: soon(), aud: 'other', iss })), 401, 'wrong aud');
      assert.equal(await pullStatus(s, jwt({ sub: 'u', exp: soon(), aud: 'syncore-api', iss: 'https://evil' })), 401, 'wrong iss');
      assert.equal(await pullStatus(s, jwt({ sub: 'u', exp: soon(), aud: 'syncore-api', iss })), 200);
      assert.equal(await pullStatus(s, jwt({ sub: 'u', exp: soon(), aud: ['x', 'syncore-api'], iss })), 200, 'aud array');
    } finally { await s.stop(); }
  });

  // 15
  test('f15_a_garbage_cursor_or_limit_should_be_400', async () => {
    const token = tokenFor(uid('cur'));
    for (const q of ['?cursor=%00%01garbage%ff', '?cursor=%001', '?cursor=5%00', '?cursor=1&limit=5%00', '?cursor=%ff'])
      assert.equal(await pullStatus(srv, token, q), 400, q);
    assert.equal(await pullStatus(srv, token, '?cursor='), 200, 'an empty cursor is from the start');
  });

  // 16
  test('f16_op_results_should_not_keep_a_copy_of_every_version', async () => {
    const url = backend.freshDb();
    const s = await startServer(url, ['--rate', '0']);
    try {
      const c = client(s, tokenFor(uid('disk')));
      const blob = 'z'.repeat(100 * 1024);
      let v = (await c.push([op('create', 'docs', 'd', { blob, n: 0 })])).results[0].version;
      for (let i = 1; i <= 20; i++) v = (await c.push([op('update', 'docs', 'd', { blob, n: i }, v)])).results[0].version;
      assert.equal(v, 21);
      const t = backend.shared ? 'syncore_' : '';
      const bytes = Number(backend.query(url, `SELECT coalesce(sum(${backend.shared ? 'octet_length' : 'length'}(result)), 0) FROM ${t}op_results;`).trim());
      console.log(`      ${backend.name}: 21 applied ops of a 100 KiB record keep ${bytes} bytes of op results`);
      assert.ok(bytes < 21 * 200, `${bytes} bytes of op results`);
    } finally { await s.stop(); }
  });

  // 17
  once('f17_the_pinned_cjson_should_carry_the_later_security_fixes', async () => {
    const h = readFileSync(join(ROOT, 'build/third_party/cjson/cJSON.h'), 'utf8');
    const v = ['MAJOR', 'MINOR', 'PATCH'].map((k) => Number(h.match(new RegExp(`CJSON_VERSION_${k} (\\d+)`))[1]));
    assert.ok(v[0] > 1 || (v[0] === 1 && (v[1] > 7 || (v[1] === 7 && v[2] >= 18))), `cJSON ${v.join('.')}`);
    const fetch = readFileSync(join(ROOT, 'scripts/fetch.sh'), 'utf8');
    assert.match(fetch, /cjson_\$CJSON_VERSION\.orig\.tar\.gz \\\n\s+[0-9a-f]{64}/, 'pinned by sha256');
  });

  test('teardown: stop the server', async () => { await srv.stop(); });
  return T;
}
