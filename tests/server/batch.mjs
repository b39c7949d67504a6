// Pushes combined into one transaction (server/writers.h; PostgreSQL only, where pushes
// to one partition that wait for each other are applied together by one writer thread,
// their connections suspended meanwhile). Judged from the tests' own model, not from
// the server's word:
//   - concurrent pushes to one partition and to several at once: every op's answer is
//     one a serial order of the pushes gives (each record's applied versions 1..n, each
//     once; one winner per contested create; a shared op_id applied once, the others
//     duplicate; conflicts answer a version and record that existed), and the pulled
//     end state is exactly the applied ops', partition by partition;
//   - a push that PostgreSQL refuses inside a batch fails alone, with nothing of it
//     stored; the others of its batch are applied as if it never came;
//   - pushes waiting for their partition hold no HTTP thread: with --threads 2, two
//     dozen wait while the server still answers a pull and a push to another
//     partition, and they are applied as one batch, each with its own answer;
//   - the bodies of queued pushes stay within --max-body × --threads bytes (beyond it
//     a push is applied by its own thread, which waits meanwhile);
//   - a client that leaves while its push waits does not wedge the partition (its
//     push is applied, its retry answered duplicate), and a server stopped while
//     pushes wait applies and answers them before it exits.
// Batches are made certain, not hoped for: a psql session holds the partitions' rows
// locked while the pushes arrive, so the first push of each partition waits in
// PostgreSQL and the others queue behind it in the server; the server's log line says
// which batch answered each push.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { startServer, client, tokenFor, op, uid, until } from './lib.mjs';

const PSQL = '/usr/lib/postgresql/15/bin/psql';

// A psql session holding the rows of `partitions` locked until release().
async function holdPartitions(backend, db, partitions) {
  const names = partitions.map((p) => `'${p}'`).join(',');
  const child = spawn(PSQL, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', db], { stdio: ['pipe', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  child.stdin.write(`BEGIN; SELECT name FROM syncore_partitions WHERE name IN (${names}) FOR UPDATE;\n`);
  await until('the test\'s row locks', () => {
    if (err) throw new Error(`psql: ${err}`);
    return backend.query(db, "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'"
      + " AND query LIKE '%FOR UPDATE%'").trim() === '1';
  });
  return {
    // until `n` pushes wait in PostgreSQL for a partition's lock
    waiters: (n) => until(`${n} pushes waiting for the lock`, () => Number(backend.query(db,
      "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO syncore_partitions%'")) >= n),
    release: () => new Promise((res) => { child.on('exit', res); child.stdin.end('COMMIT;\n'); }),
  };
}

// A push on a connection of its own (fetch reuses idle connections, and MHD reads a
// connection only on the thread that accepted it: one that waits as a batch's leader
// would hold back a push reusing its connection until that batch is done).
function pushFresh(srv, token, ops, device_id = 'd1') {
  const body = JSON.stringify({ device_id, ops });
  return new Promise((res, rej) => {
    const rq = http.request(`${srv.base}/sync/push`, { method: 'POST', agent: false, headers: {
      authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
    (r) => { let text = ''; r.on('data', (d) => { text += d; }); r.on('end', () => res({ status: r.statusCode, body: text })); });
    rq.on('error', rej);
    rq.end(body);
  });
}
async function pushFreshOk(srv, token, ops, device_id) {
  const r = await pushFresh(srv, token, ops, device_id);
  if (r.status !== 200) throw new Error(`push ${r.status}: ${r.body}`);
  return JSON.parse(r.body);
}

// A push on a connection of its own: `sent` once the request is written out, `answer`
// when the answer is in (both settle; `answer` is observed, so a failure is not
// reported as unhandled before the test awaits it).
function pushSent(srv, token, ops, device_id) {
  const body = JSON.stringify({ device_id, ops });
  let sent;
  const sentP = new Promise((res) => { sent = res; });
  const answer = new Promise((res, rej) => {
    const rq = http.request(`${srv.base}/sync/push`, { method: 'POST', agent: false, headers: {
      authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
    (r) => { let text = ''; r.on('data', (d) => { text += d; }); r.on('end', () => res({ status: r.statusCode, body: text })); });
    rq.on('error', rej);
    rq.end(body, sent);
  });
  answer.catch(() => {});
  return { ops, sent: sentP, answer };
}

// p, or an error after ms: what must be answered while pushes wait for a locked
// partition (a server whose threads those pushes held would never answer).
function within(what, p, ms = 10000) {
  let timer;
  const late = new Promise((_, rej) => { timer = setTimeout(() => rej(new Error(`${what}: no answer in ${ms / 1000} s`)), ms); });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

const pushLines = (srv) => srv.logs.filter((l) => l.includes('"path":"/sync/push"')).map((l) => JSON.parse(l));
const settle = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- the model
// Every push made and its answer; judge() checks them and the pulled state.
function partitionModel(name) {
  return { name, pushes: [] };
}

function judge(m, pulled) {
  const applied = new Map();            // id -> Map(version -> op)
  const byOpId = new Map();             // op_id -> results
  for (const { ops, res } of m.pushes) {
    assert.equal(res.results.length, ops.length, `${m.name}: one result per op`);
    ops.forEach((o, i) => {
      const r = res.results[i];
      assert.equal(r.op_id, o.op_id, `${m.name}: results in the ops' order`);
      if (!byOpId.has(o.op_id)) byOpId.set(o.op_id, []);
      byOpId.get(o.op_id).push({ o, r });
      if (o.collection === 'bad collection') {
        assert.equal(r.status, 'rejected', `${m.name}: ${JSON.stringify(r)}`);
        return;
      }
      if (r.status === 'applied') {
        assert.equal(r.id, o.id);
        assert.deepEqual(r.record.data, o.data, `${m.name}: applied record is the op's`);
        if (!applied.has(o.id)) applied.set(o.id, new Map());
        const versions = applied.get(o.id);
        assert.ok(!versions.has(r.version), `${m.name}: ${o.id} v${r.version} applied twice`);
        versions.set(r.version, o);
        if (o.kind === 'create') assert.equal(r.version, 1);
        else assert.equal(r.version, o.base_version + 1, `${m.name}: update applied on its base`);
      }
    });
  }
  // every applied record: versions 1..n, each once
  for (const [id, versions] of applied) {
    const max = Math.max(...versions.keys());
    for (let v = 1; v <= max; v++) assert.ok(versions.has(v), `${m.name}: ${id} has v${max} but no v${v}`);
  }
  // a shared op_id: applied once, the others duplicate of it
  for (const [opId, uses] of byOpId) {
    const wins = uses.filter((u) => u.r.status === 'applied');
    if (uses[0].o.collection === 'bad collection') continue;
    if (uses.length > 1 || uses[0].r.status === 'duplicate') {
      assert.equal(wins.length, 1, `${m.name}: ${opId} applied ${wins.length} times`);
      for (const u of uses) if (u !== wins[0]) {
        assert.equal(u.r.status, 'duplicate', `${m.name}: ${JSON.stringify(u.r)}`);
        assert.equal(u.r.version, wins[0].r.version);
        if (u.r.record) assert.deepEqual(u.r.record.data, wins[0].o.data);
      }
    }
  }
  // conflicts: a version that existed, with that version's record
  for (const { ops, res } of m.pushes) {
    ops.forEach((o, i) => {
      const r = res.results[i];
      if (r.status !== 'conflict') return;
      const versions = applied.get(o.id);
      if (o.kind === 'create') assert.ok(versions?.has(1), `${m.name}: create of ${o.id} conflicted with nothing`);
      else assert.notEqual(r.version, o.base_version, `${m.name}: update on the right base conflicted`);
      if (r.version > 0) {
        assert.ok(versions?.has(r.version), `${m.name}: conflict names ${o.id} v${r.version}, never applied`);
        assert.deepEqual(r.record.data, versions.get(r.version).data, `${m.name}: conflict record of ${o.id} v${r.version}`);
      }
    });
  }
  // the end state: exactly the applied records at their last version, seqs increasing
  let last = 0;
  for (const ch of pulled) { assert.ok(ch.seq > last, `${m.name}: seq ${ch.seq} after ${last}`); last = ch.seq; }
  const state = new Map(pulled.map((ch) => [ch.id, ch]));
  assert.equal(state.size, applied.size, `${m.name}: ${state.size} records pulled, ${applied.size} applied`);
  for (const [id, versions] of applied) {
    const max = Math.max(...versions.keys());
    const ch = state.get(id);
    assert.ok(ch, `${m.name}: ${id} applied but not pulled`);
    assert.equal(ch.version, max, `${m.name}: ${id}`);
    assert.deepEqual(ch.data, versions.get(max).data, `${m.name}: ${id} data`);
  }
}

// One client's push of round `round` to partition `p` (index pi): unique creates, a
// create every client contests, an update of the shared counter on the version this
// client last saw, an op_id every client sends, and (some rounds) a rejected op.
function roundOps(p, pi, clientNo, round, seen) {
  const tag = { p: pi, c: clientNo, round };
  const ops = [
    op('create', 'items', `u-${clientNo}-${round}-a`, { ...tag, k: 'a' }),
    op('create', 'items', `u-${clientNo}-${round}-b`, { ...tag, k: 'b' }),
    op('create', 'items', `shared-${round}`, { ...tag, k: 'shared' }),
    op('update', 'items', 'ctr', { ...tag, k: 'ctr' }, seen.ctr),
    { ...p.dups[round] },
  ];
  if ((clientNo + round) % 3 === 0) ops.push(op('create', 'bad collection', `r-${clientNo}-${round}`, { x: 1 }));
  return ops;
}

export function batchTests(backend) {
  const tests = [];
  tests.push(['concurrent_pushes_to_one_and_to_many_partitions_should_answer_as_a_serial_order_would', async () => {
    const db = backend.freshDb();
    const srv = await startServer(db, ['--rate', '0', '--threads', '24']);
    const PARTS = 4, CLIENTS = 5, ROUNDS = 8;
    try {
      const parts = Array.from({ length: PARTS }, (_, i) => {
        const sub = uid(`batch${i}-`);
        const token = tokenFor(sub);
        return { sub, token, c: client(srv, token), model: partitionModel(`u:${sub}`),
          dups: Array.from({ length: ROUNDS }, (_, r) => op('create', 'items', `d-${r}`, { p: i, k: 'dup', r })) };
      });
      // the counter record, which also creates each partition's row
      for (const [i, p] of parts.entries()) {
        const ops = [op('create', 'items', 'ctr', { p: i, k: 'ctr0' })];
        p.model.pushes.push({ ops, res: await p.c.push(ops) });
      }
      const seen = parts.map(() => Array.from({ length: CLIENTS }, () => ({ ctr: 1 })));
      const pushOnce = async (pi, clientNo, round, fresh = false) => {
        const p = parts[pi];
        const ops = roundOps(p, pi, clientNo, round, seen[pi][clientNo]);
        const res = fresh ? await pushFreshOk(srv, p.token, ops, `dev${clientNo}`) : await p.c.push(ops, `dev${clientNo}`);
        p.model.pushes.push({ ops, res });
        const ctr = res.results[3];
        if (ctr.status === 'applied' || ctr.status === 'conflict') seen[pi][clientNo].ctr = ctr.version;
      };
      // round 0 while the partitions are locked (on PostgreSQL): certain batches
      const lock = backend.shared ? await holdPartitions(backend, db, parts.map((p) => p.model.name)) : null;
      const first = [];
      for (let pi = 0; pi < PARTS; pi++) for (let k = 0; k < CLIENTS; k++) first.push(pushOnce(pi, k, 0, true));
      const firstDone = Promise.all(first);
      firstDone.catch(() => {});   // awaited below, after the lock is gone
      // (not every partition's first push need reach PostgreSQL: MHD may have given its
      // connection to a thread that waits on another partition's lock)
      if (lock) { try { await lock.waiters(1); await settle(400); } finally { await lock.release(); } }
      await firstDone;
      // then every client of every partition at once, round after round
      const loops = [];
      for (let pi = 0; pi < PARTS; pi++) {
        for (let k = 0; k < CLIENTS; k++) {
          loops.push((async () => { for (let r = 1; r < ROUNDS; r++) await pushOnce(pi, k, r); })());
        }
      }
      await Promise.all(loops);
      for (const p of parts) judge(p.model, (await p.c.pullAll('', 37)).changes);
      if (backend.shared) {
        const combined = pushLines(srv).filter((l) => l.batch > 1);
        assert.ok(combined.length >= PARTS, `only ${combined.length} pushes answered from a batch of several`);
        assert.ok(combined.every((l) => l.status === 200 && !l.retried), 'a batch failed');
      }
    } finally { await srv.stop(); }
  }]);

  if (!backend.shared) return tests;

  // One try: a plug push waits for the locked partition, the others (one of them
  // poisoned) queue behind it and are taken as one batch when the lock goes. Returns
  // whether the poisoned push did share a batch (it should, each push on a connection
  // of its own; the judgement holds either way).
  const poisonedTry = async (srv, backend, db) => {
    const sub = uid('poison-');
    const token = tokenFor(sub);
    const c = client(srv, token);
    await c.push([op('create', 'items', 'first', { k: 'first' })]);
    const lock = await holdPartitions(backend, db, [`u:${sub}`]);
    const plug = pushFreshOk(srv, token, [op('create', 'items', 'plug', { k: 'plug' })], 'plug');
    plug.catch(() => {});
    try { await lock.waiters(1); } catch (e) { await lock.release(); throw e; }
    const good = Array.from({ length: 4 }, (_, i) => [
      op('create', 'items', `good-${i}`, { i }),
      op('create', 'items', 'contested', { i }),
      op('update', 'items', 'first', { by: i }, 1),
    ]);
    const rejectedToo = [op('create', 'bad collection', 'r1', { x: 1 }), op('create', 'items', 'beside-rejected', { x: 2 })];
    const poisonOps = [op('create', 'items', 'poison-ok', { fine: true }), op('create', 'items', 'poison', { poison: true })];
    const answers = Promise.all([...good, rejectedToo].map((ops, i) => pushFreshOk(srv, token, ops, `dev${i}`)));
    const poisoned = pushFresh(srv, token, poisonOps, 'devp');
    answers.catch(() => {});     // awaited below, after the lock is gone
    poisoned.catch(() => {});
    await settle(400);
    await lock.release();
    await plug;
    const res = await answers;
    const bad = await poisoned;

    assert.equal(bad.status, 500, bad.body);
    assert.match(JSON.parse(bad.body).error, /nothing was applied/);
    // the good pushes: as if the poisoned one never came
    good.forEach((ops, i) => assert.equal(res[i].results[0].status, 'applied', JSON.stringify(res[i].results[0])));
    const contested = res.slice(0, 4).map((r) => r.results[1]);
    assert.equal(contested.filter((r) => r.status === 'applied').length, 1, JSON.stringify(contested));
    const updates = res.slice(0, 4).map((r) => r.results[2]);
    assert.equal(updates.filter((r) => r.status === 'applied').length, 1, JSON.stringify(updates));
    assert.deepEqual(res[4].results.map((r) => r.status), ['rejected', 'applied']);
    // nothing of the poisoned push stayed: neither its good op's record nor its op result
    const { changes } = await c.pullAll();
    const ids = new Set(changes.map((ch) => ch.id));
    assert.ok(!ids.has('poison-ok') && !ids.has('poison'), [...ids].join(','));
    for (const id of ['first', 'plug', 'contested', 'beside-rejected', 'good-0', 'good-1', 'good-2', 'good-3'])
      assert.ok(ids.has(id), `${id} missing`);
    assert.equal(changes.find((ch) => ch.id === 'first').version, 2);
    const again = await c.push([poisonOps[0]], 'devp');
    assert.equal(again.results[0].status, 'applied', 'the refused push left its op result behind');
    // did it share a transaction with good pushes (which then failed and was retried push by push)?
    const lines = pushLines(srv).filter((l) => l.partition === `u:${sub}`);
    const badLine = lines.find((l) => l.status === 500);
    if (!(badLine.batch >= 2 && badLine.retried)) return false;
    const mates = lines.filter((l) => l.status === 200 && l.batch === badLine.batch && l.retried);
    assert.equal(mates.length, badLine.batch - 1, JSON.stringify(lines));
    return true;
  };

  tests.push(['a_push_postgres_refuses_inside_a_batch_should_fail_alone_and_leave_nothing', async () => {
    const db = backend.freshDb();
    const srv = await startServer(db, ['--rate', '0', '--threads', '16']);
    try {
      // PostgreSQL refuses a record holding "poison" (a failure only the database sees)
      await client(srv, tokenFor(uid('init-'))).push([op('create', 'items', 'x', {})]);
      backend.query(db, "ALTER TABLE syncore_records ADD CONSTRAINT test_no_poison"
        + " CHECK (data IS NULL OR data NOT LIKE '%poison%')");
      let shared = 0;
      for (let i = 0; i < 5 && !shared; i++) shared += await poisonedTry(srv, backend, db) ? 1 : 0;
      assert.ok(shared, 'in 5 tries the poisoned push never shared a batch');
    } finally { await srv.stop(); }
  }]);

  // A partition whose row a psql session holds, a push waiting for it in PostgreSQL
  // (the plug) and more queued behind it in the server.
  const lockedPartition = async (srv, db, prefix) => {
    const sub = uid(prefix);
    const token = tokenFor(sub);
    const c = client(srv, token);
    const model = partitionModel(`u:${sub}`);
    const firstOps = [op('create', 'items', 'ctr', { k: 'ctr0' })];
    model.pushes.push({ ops: firstOps, res: await c.push(firstOps) });
    const lock = await holdPartitions(backend, db, [model.name]);
    const plug = pushSent(srv, token, [op('create', 'items', 'plug', { k: 'plug' })], 'plug');
    try { await lock.waiters(1); } catch (e) { await lock.release(); throw e; }
    return { sub, token, c, model, lock, plug };
  };

  tests.push(['pushes_waiting_for_a_locked_partition_should_hold_no_http_thread_and_each_get_its_own_answer', async () => {
    const db = backend.freshDb();
    const srv = await startServer(db, ['--rate', '0', '--threads', '2']);
    const N = 24, POISONED = 11;
    try {
      await client(srv, tokenFor(uid('init-'))).push([op('create', 'items', 'x', {})]);
      backend.query(db, "ALTER TABLE syncore_records ADD CONSTRAINT test_no_poison"
        + " CHECK (data IS NULL OR data NOT LIKE '%poison%')");
      const { token, c, model, lock, plug } = await lockedPartition(srv, db, 'many-');
      const shared = op('create', 'items', 'dup', { k: 'dup' });
      const pushes = [];
      let other;
      try {
        for (let i = 0; i < N; i++) {
          const ops = i === POISONED
            ? [op('create', 'items', 'poison-ok', { fine: true }), op('create', 'items', 'poison', { poison: true })]
            : [op('create', 'items', `own-${i}`, { i }), op('create', 'items', 'contested', { i }),
              op('update', 'items', 'ctr', { i }, 1), { ...shared }];
          if (i % 5 === 0 && i !== POISONED) ops.push(op('create', 'bad collection', `r-${i}`, { i }));
          pushes.push(pushSent(srv, token, ops, `dev${i}`));
        }
        await Promise.all(pushes.map((p) => p.sent));
        // all of them wait, and both HTTP threads still serve: a pull of the locked
        // partition, a push to another one (applied by another writer)
        await within('a pull while pushes wait', c.pull());
        other = await within('a push to another partition while pushes wait',
          client(srv, tokenFor(uid('other-'))).push([op('create', 'items', 'o', { o: 1 })]));
      } finally { await lock.release(); }
      assert.equal(other.results[0].status, 'applied');
      const plugged = await within('the plug\'s answer', plug.answer);
      assert.equal(plugged.status, 200, plugged.body);
      model.pushes.push({ ops: plug.ops, res: JSON.parse(plugged.body) });
      const answers = await within('the answers of the pushes that waited', Promise.all(pushes.map((p) => p.answer)));
      answers.forEach((a, i) => {
        if (i === POISONED) {
          assert.equal(a.status, 500, a.body);
          assert.match(JSON.parse(a.body).error, /nothing was applied/);
          return;
        }
        assert.equal(a.status, 200, a.body);
        model.pushes.push({ ops: pushes[i].ops, res: JSON.parse(a.body) });
      });
      const { changes } = await c.pullAll();
      assert.ok(!changes.some((ch) => ch.id.startsWith('poison')), 'the refused push left a record');
      judge(model, changes);
      // they were queued though two threads serve HTTP: the refused push's batch held
      // more than two pushes, and was run again push by push
      const bad = pushLines(srv).find((l) => l.partition === model.name && l.status === 500);
      assert.ok(bad.retried && bad.batch > 2, JSON.stringify(bad));
    } finally { await srv.stop(); }
  }]);

  tests.push(['queued_pushes_should_stay_within_their_byte_budget_the_rest_applied_by_their_own_thread', async () => {
    // --max-body 4096 and --threads 1: a budget of 4096 bytes of queued bodies, two of
    // these pushes of about 1.5 KB beside the plug; the third is applied by the HTTP
    // thread itself (which waits for the lock meanwhile, as pushes did before writers)
    const db = backend.freshDb();
    const srv = await startServer(db, ['--rate', '0', '--threads', '1', '--max-body', '4096']);
    const N = 8;
    try {
      const { token, c, model, lock, plug } = await lockedPartition(srv, db, 'budget-');
      const pushes = [];
      try {
        for (let i = 0; i < N; i++) {
          pushes.push(pushSent(srv, token, [op('create', 'items', `b-${i}`, { i, pad: 'x'.repeat(1200) }),
            op('update', 'items', 'ctr', { i }, 1)], `dev${i}`));
        }
        await Promise.all(pushes.map((p) => p.sent));
      } finally { await lock.release(); }
      const plugged = await within('the plug\'s answer', plug.answer);
      model.pushes.push({ ops: plug.ops, res: JSON.parse(plugged.body) });
      const answers = await within('the answers of the pushes that waited', Promise.all(pushes.map((p) => p.answer)));
      answers.forEach((a, i) => {
        assert.equal(a.status, 200, a.body);
        model.pushes.push({ ops: pushes[i].ops, res: JSON.parse(a.body) });
      });
      judge(model, (await c.pullAll()).changes);
      const batches = pushLines(srv).filter((l) => l.partition === model.name).map((l) => l.batch || 1);
      assert.ok(Math.max(...batches) <= 2, `a batch beyond the budget: ${batches}`);
    } finally { await srv.stop(); }
  }]);

  tests.push(['a_client_gone_while_its_push_waits_should_not_wedge_the_partition', async () => {
    const db = backend.freshDb();
    const srv = await startServer(db, ['--rate', '0', '--threads', '2']);
    try {
      const { token, c, model, lock, plug } = await lockedPartition(srv, db, 'gone-');
      const goneOps = [op('create', 'items', 'gone', { k: 'gone' })];
      let after;
      try {
        // a client that sends its push and leaves before the answer
        const body = JSON.stringify({ device_id: 'gone', ops: goneOps });
        const sock = net.connect(srv.port, '127.0.0.1');
        sock.on('error', () => {});
        await new Promise((res) => sock.write(`POST /sync/push HTTP/1.1\r\nHost: 127.0.0.1\r\n`
          + `Authorization: Bearer ${token}\r\nContent-Type: application/json\r\n`
          + `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`, res));
        await within('a pull while pushes wait', c.pull());   // the server read it meanwhile
        sock.destroy();
        after = pushSent(srv, token, [op('create', 'items', 'after', { k: 'after' })], 'after');
        await after.sent;
        await within('a pull while pushes wait', c.pull());
      } finally { await lock.release(); }
      assert.equal((await within('the plug\'s answer', plug.answer)).status, 200);
      assert.equal((await within('the answer of the push after', after.answer)).status, 200);
      const next = await c.push([op('create', 'items', 'next', { k: 'next' })]);
      assert.equal(next.results[0].status, 'applied');
      // the push of the client that left was applied all the same: its retry is a duplicate
      const ids = new Set((await c.pullAll()).changes.map((ch) => ch.id));
      for (const id of ['ctr', 'plug', 'gone', 'after', 'next']) assert.ok(ids.has(id), `${id} missing`);
      const again = await c.push(goneOps, 'gone');
      assert.equal(again.results[0].status, 'duplicate', JSON.stringify(again.results[0]));
      // and it has its log line with what it did (ctr, plug, gone, after, next: one op applied each)
      await until('the log line of the push whose client left', () => pushLines(srv)
        .filter((l) => l.partition === model.name && l.ops === 1 && l.applied === 1).length === 5);
    } finally { await srv.stop(); }
    assert.deepEqual(srv.exited(), { code: 0, sig: null });
  }]);

  tests.push(['a_server_stopped_while_pushes_wait_should_apply_and_answer_them_first', async () => {
    const db = backend.freshDb();
    const srv = await startServer(db, ['--rate', '0', '--threads', '2']);
    let ids;
    try {
      const { token, c, lock, plug } = await lockedPartition(srv, db, 'stop-');
      const pushes = [plug];
      try {
        for (let i = 0; i < 5; i++) pushes.push(pushSent(srv, token, [op('create', 'items', `w-${i}`, { i })], `dev${i}`));
        await Promise.all(pushes.map((p) => p.sent));
        await within('a pull while pushes wait', c.pull());
        srv.child.kill('SIGTERM');
        await until('the server stopping', () => srv.logs.some((l) => l.includes('"stopping"')));
      } finally { await lock.release(); }
      for (const a of await within('the answers of the pushes that waited', Promise.all(pushes.map((p) => p.answer))))
        assert.equal(a.status, 200, a.body);
      await until('the server exit', () => srv.exited());
      assert.deepEqual(srv.exited(), { code: 0, sig: null });
      const again = await startServer(db, ['--rate', '0']);
      try { ids = new Set((await client(again, token).pullAll()).changes.map((ch) => ch.id)); } finally { await again.stop(); }
    } finally { await srv.stop(); }
    for (const id of ['ctr', 'plug', 'w-0', 'w-1', 'w-2', 'w-3', 'w-4']) assert.ok(ids.has(id), `${id} missing`);
  }]);
  return tests;
}
