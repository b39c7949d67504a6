// The protocol conformance suite (docs/PROTOCOL.md), run once per storage backend.
// Every test uses its own partition (a fresh `sub`), so they share one server.
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  startServer, client, tokenFor, jwt, op, uid, hlc, until, rawRequest, openEvents,
  writeStaticTree, tmp, SECRET,
} from './lib.mjs';

const RECORD_KEYS = ['collection', 'data', 'deleted_at', 'device_id', 'hlc', 'id', 'updated_at', 'version'];

export function conformanceTests(backend) {
  const T = [];
  const test = (name, fn) => T.push([name, fn]);
  let srv;        // the default server: SERVER_ARGS below
  // --auth-fail-burst: the 401 tests below send ~30 bad tokens from one address
  // (the default budget, 20, is the security suite's to test).
  const SERVER_ARGS = ['--server-ids', 'pets,appointments', '--derive', 'appointments.clientId=pets.ownerId@petId',
    '--auth-fail-burst', '1000'];
  const fresh = () => client(srv, tokenFor(uid('user')));

  test('setup: start the server', async () => { srv = await startServer(backend.freshDb(), SERVER_ARGS); });

  test('dev_token_should_issue_a_working_token_and_reject_a_bad_body', async () => {
    let r = await fetch(`${srv.base}/auth/dev-token`, { method: 'POST', body: JSON.stringify({ sub: 'dev1', ttl: 60 }) });
    assert.equal(r.status, 200);
    const { token, expires_at } = await r.json();
    assert.match(expires_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(Math.abs(Date.parse(expires_at) - Date.now() - 60000) < 5000);
    assert.equal((await client(srv, token).pull()).changes.length >= 0, true);
    r = await fetch(`${srv.base}/auth/dev-token`, { method: 'POST', body: '{"space":"x"}' });
    assert.equal(r.status, 400);
  });

  test('push_create_should_apply_version_1_and_pull_should_return_it', async () => {
    const c = fresh();
    const o = op('create', 'flocks', 'f1', { name: 'Hens', count: 12, nested: { a: [1, 2] } });
    const res = await c.push([o], 'dev-A');
    assert.match(res.server_time, /Z$/);
    assert.equal(res.results.length, 1);
    const r = res.results[0];
    assert.deepEqual([r.op_id, r.status, r.id, r.version], [o.op_id, 'applied', 'f1', 1]);
    assert.deepEqual(Object.keys(r.record).sort(), RECORD_KEYS);
    assert.deepEqual(r.record.data, o.data);
    assert.equal(r.record.deleted_at, null);
    assert.equal(r.record.hlc, o.hlc);
    assert.equal(r.record.updated_at, o.updated_at);
    assert.equal(r.record.device_id, 'dev-A');
    const page = await c.pull('');
    assert.equal(page.changes.length, 1);
    assert.deepEqual(Object.keys(page.changes[0]).sort(), [...RECORD_KEYS, 'seq'].sort());
    assert.equal(page.changes[0].seq, 1);
    assert.deepEqual(page.changes[0].data, o.data);
    assert.equal(page.has_more, false);
    assert.equal(page.remaining, 0);
    assert.equal(typeof page.cursor, 'string');
    const again = await c.pull(page.cursor);
    assert.deepEqual([again.changes.length, again.cursor, again.has_more], [0, page.cursor, false]);
  });

  test('update_should_check_base_version_and_conflict_with_the_current_record', async () => {
    const c = fresh();
    await c.push([op('create', 'notes', 'n1', { t: 'a' })]);
    let r = (await c.push([op('update', 'notes', 'n1', { t: 'b' }, 1)])).results[0];
    assert.deepEqual([r.status, r.version, r.record.data.t], ['applied', 2, 'b']);
    r = (await c.push([op('update', 'notes', 'n1', { t: 'stale' }, 1)])).results[0];
    assert.deepEqual([r.status, r.id, r.version, r.record.version, r.record.data.t], ['conflict', 'n1', 2, 2, 'b']);
    r = (await c.push([op('update', 'notes', 'never', { t: 'x' }, 3)])).results[0];
    assert.deepEqual([r.status, r.version, r.record], ['conflict', 0, null]);
    r = (await c.push([op('delete', 'notes', 'never', null, 1)])).results[0];
    assert.deepEqual([r.status, r.version, r.record], ['conflict', 0, null]);
    const { changes } = await c.pullAll();
    assert.equal(changes.length, 1);
    assert.equal(changes[0].data.t, 'b');
  });

  test('delete_should_make_a_tombstone_and_an_update_on_its_version_resurrects', async () => {
    const c = fresh();
    await c.push([op('create', 'notes', 'n1', { t: 'a' })]);
    const del = op('delete', 'notes', 'n1', undefined, 1);
    let r = (await c.push([del])).results[0];
    assert.deepEqual([r.status, r.version, r.record.data, r.record.deleted_at], ['applied', 2, null, del.updated_at]);
    let { changes } = await c.pullAll();
    assert.deepEqual([changes[0].data, changes[0].deleted_at, changes[0].version], [null, del.updated_at, 2]);
    r = (await c.push([op('create', 'notes', 'n1', { t: 'again' })])).results[0];
    assert.deepEqual([r.status, r.record.version, r.record.data], ['conflict', 2, null]);
    r = (await c.push([op('update', 'notes', 'n1', { t: 'back' }, 2)])).results[0];
    assert.deepEqual([r.status, r.version, r.record.deleted_at, r.record.data.t], ['applied', 3, null, 'back']);
    ({ changes } = await c.pullAll());
    assert.deepEqual([changes.length, changes[0].version, changes[0].deleted_at], [1, 3, null]);
  });

  test('create_on_a_live_record_should_conflict', async () => {
    const c = fresh();
    await c.push([op('create', 'notes', 'n1', { t: 'a' })]);
    const r = (await c.push([op('create', 'notes', 'n1', { t: 'b' })])).results[0];
    assert.deepEqual([r.status, r.version, r.record.data.t], ['conflict', 1, 'a']);
  });

  test('replayed_op_id_should_answer_duplicate_with_the_original_result', async () => {
    const c = fresh();
    const o = op('create', 'notes', 'n1', { t: 'a' });
    const first = (await c.push([o])).results[0];
    const replay = (await c.push([o])).results[0];
    assert.deepEqual({ ...replay, status: 'applied' }, first, 'still at that version: the original record');
    await c.push([op('update', 'notes', 'n1', { t: 'later' }, 1)]);
    const res = await c.push([o, o]);
    for (const r of res.results) {
      assert.equal(r.status, 'duplicate');
      // Moved on: the original id and version, record null (no copy of old data is kept).
      assert.deepEqual({ ...r, status: 'applied' }, { ...first, record: null });
    }
    const { changes } = await c.pullAll();
    assert.equal(changes[0].version, 2);
    const same = op('create', 'notes', 'n2', { t: 'x' });
    const both = await c.push([same, same]);
    assert.deepEqual(both.results.map((r) => r.status), ['applied', 'duplicate']);
  });

  test('replay_after_a_server_restart_should_still_be_duplicate', async () => {
    const db = backend.freshDb();
    let s = await startServer(db);
    const token = tokenFor(uid('user'));
    const o = op('create', 'notes', 'n1', { t: 'a' });
    const first = (await client(s, token).push([o])).results[0];
    await s.stop();
    s = await startServer(db);
    try {
      const r = (await client(s, token).push([o])).results[0];
      assert.deepEqual({ ...r, status: 'applied' }, first);
      assert.equal(r.status, 'duplicate');
    } finally { await s.stop(); }
  });

  test('invalid_ops_should_be_rejected_one_by_one_and_change_nothing', async () => {
    const c = fresh();
    const future = Date.now() + 10 * 60 * 1000;
    const bad = [
      ['data carries id', op('create', 'notes', 'a', { id: 'a', t: 1 })],
      ['no hlc', op('create', 'notes', 'b', { t: 1 }, 0, { hlc: undefined })],
      ['malformed hlc', op('create', 'notes', 'c', { t: 1 }, 0, { hlc: '12-3-d1' })],
      ['hlc device', op('create', 'notes', 'c2', { t: 1 }, 0, { hlc: hlc(Date.now(), 0, 'bad device!') })],
      ['Feb 30', op('create', 'notes', 'd', { t: 1 }, 0, { updated_at: '2025-02-30T00:00:00Z' })],
      ['unparseable time', op('create', 'notes', 'e', { t: 1 }, 0, { updated_at: 'yesterday' })],
      ['future updated_at', op('create', 'notes', 'f', { t: 1 }, 0, { updated_at: new Date(future).toISOString() })],
      ['future hlc', op('create', 'notes', 'g', { t: 1 }, 0, { hlc: hlc(future) })],
      ['collection name', op('create', 'no-tes', 'h', { t: 1 })],
      ['collection too long', op('create', 'c'.repeat(65), 'h2', { t: 1 })],
      ['id too long', op('create', 'notes', 'i'.repeat(129), { t: 1 })],
      ['empty id', op('create', 'notes', '', { t: 1 })],
      ['kind', op('upsert', 'notes', 'j', { t: 1 })],
      ['negative base', op('update', 'notes', 'k', { t: 1 }, -1)],
      ['fractional base', op('update', 'notes', 'l', { t: 1 }, 1.5)],
      ['string base', op('update', 'notes', 'm', { t: 1 }, '1')],
      ['data not object', op('update', 'notes', 'n', [1, 2], 0)],
      ['data missing', op('create', 'notes', 'o', undefined)],
      ['no op_id', op('create', 'notes', 'p', { t: 1 }, 0, { op_id: undefined })],
      ['huge data', op('create', 'notes', 'q', { blob: 'x'.repeat(1024 * 1024 + 10) })],
    ];
    const good = op('create', 'notes', 'ok', { t: 1 });
    const res = await c.push([...bad.map((b) => b[1]), 42, good]);
    assert.equal(res.results.length, bad.length + 2);
    bad.forEach(([why, o], i) => {
      const r = res.results[i];
      assert.equal(r.status, 'rejected', `${why}: ${JSON.stringify(r)}`);
      assert.equal(typeof r.error, 'string', why);
      assert.ok(r.error.length > 3, why);
      assert.equal(r.record, null, why);
      if (o.op_id !== undefined) assert.equal(r.op_id, o.op_id, why);
    });
    assert.equal(res.results[bad.length].status, 'rejected');
    assert.equal(res.results[bad.length + 1].status, 'applied');
    const { changes } = await c.pullAll();
    assert.deepEqual(changes.map((x) => x.id), ['ok']);
    assert.equal(changes[0].seq, 1, 'rejected ops took no seq');
  });

  test('malformed_bodies_should_be_400_with_a_message', async () => {
    const c = fresh();
    const cases = [
      ['not json', 'hello'],
      ['trailing bytes', '{"device_id":"d1","ops":[]} x'],
      ['array', '[]'],
      ['no ops', '{"device_id":"d1"}'],
      ['ops not array', '{"device_id":"d1","ops":{}}'],
      ['no device', '{"ops":[]}'],
      ['bad device', '{"device_id":"a b","ops":[]}'],
      ['empty', ''],
      ['deep', `{"device_id":"d1","ops":[{"data":${'['.repeat(70)}${']'.repeat(70)}}]}`],
    ];
    for (const [why, body] of cases) {
      const r = await c.pushRaw(body);
      assert.equal(r.status, 400, why);
      assert.equal(typeof JSON.parse(r.body).error, 'string', why);
    }
    const latin1 = Buffer.concat([Buffer.from('{"device_id":"d1","ops":[],"x":"'), Buffer.from([0xe9]), Buffer.from('"}')]);
    assert.equal((await c.pushRaw(latin1)).status, 400, 'invalid UTF-8');
    const ok = await c.pushRaw('{"device_id":"d1","ops":[]}');
    assert.deepEqual([ok.status, JSON.parse(ok.body).results], [200, []]);
  });

  test('oversized_bodies_and_too_many_ops_should_be_413', async () => {
    const c = fresh();
    const big = Buffer.alloc(16 * 1024 * 1024 + 1, 0x20);
    const r = await c.pushRaw(big).catch((e) => ({ status: 'error', e }));
    assert.equal(r.status, 413);
    const ops = Array.from({ length: 1001 }, (_, i) => op('create', 'notes', `n${i}`, {}));
    const r2 = await c.pushRaw(JSON.stringify({ device_id: 'd1', ops }));
    assert.equal(r2.status, 413);
    assert.equal((await c.pullAll()).changes.length, 0);
    const ok = await c.push(ops.slice(0, 1000));
    assert.equal(ok.results.filter((x) => x.status === 'applied').length, 1000);
  });

  test('pull_should_page_with_limit_has_more_and_remaining_and_send_each_record_once', async () => {
    const c = fresh();
    await c.push(['a', 'b', 'c', 'd', 'e'].map((id) => op('create', 'notes', id, { v: 0 })));
    let page = await c.pull('', 2);
    assert.deepEqual([page.changes.map((x) => x.id), page.has_more, page.remaining], [['a', 'b'], true, 3]);
    await c.push([op('update', 'notes', 'a', { v: 1 }, 1), op('update', 'notes', 'c', { v: 1 }, 1)]);
    await c.push([op('update', 'notes', 'c', { v: 2 }, 2)]);
    const seen = [...page.changes];
    while (page.has_more) {
      page = await c.pull(page.cursor, 2);
      seen.push(...page.changes);
    }
    assert.deepEqual(seen.map((x) => `${x.id}${x.version}`), ['a1', 'b1', 'd1', 'e1', 'a2', 'c3']);
    const seqs = seen.map((x) => x.seq);
    assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y));
    const full = await c.pull('');
    assert.deepEqual(full.changes.map((x) => `${x.id}${x.version}`), ['b1', 'd1', 'e1', 'a2', 'c3']);
    assert.equal(full.remaining, 0);
  });

  // The count of what is left rides in the cursor (<seq>.<purged>.<left>): only the first
  // page counts; has_more is still whether anything is left, so a forged count can only
  // make a client's own progress wrong, never keep it pulling.
  test('pull_should_carry_its_count_in_the_cursor_and_read_a_two_part_cursor', async () => {
    const c = fresh();
    await c.push(['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((id) => op('create', 'notes', id, { v: 0 })));
    let page = await c.pull('', 2);
    assert.deepEqual([page.has_more, page.remaining, page.cursor.split('.').length], [true, 5, 3]);
    assert.equal(page.cursor.split('.')[2], '5');
    page = await c.pull(page.cursor, 2);
    assert.deepEqual([page.changes.map((x) => x.id), page.has_more, page.remaining], [['c', 'd'], true, 3]);
    const twoPart = page.cursor.split('.').slice(0, 2).join('.');
    const counted = await c.pull(twoPart, 2);
    assert.deepEqual([counted.changes.map((x) => x.id), counted.remaining], [['e', 'f'], 1]);
    await c.push([op('create', 'notes', 'h', { v: 0 }), op('create', 'notes', 'i', { v: 0 })]);
    const seen = [...counted.changes.map((x) => x.id)];
    page = counted;
    while (page.has_more) {
      page = await c.pull(page.cursor, 2);
      seen.push(...page.changes.map((x) => x.id));
      if (page.has_more) assert.ok(page.remaining >= 1, `remaining while more is left: ${page.remaining}`);
    }
    assert.deepEqual([seen, page.remaining], [['e', 'f', 'g', 'h', 'i'], 0]);
    const [seq, purged] = page.cursor.split('.');
    const forged = await c.pull(`${seq}.${purged}.999`, 2);
    assert.deepEqual([forged.changes.length, forged.has_more, forged.remaining], [0, false, 0]);
    for (const q of ['?cursor=1.2.3.4', '?cursor=1.2.', '?cursor=1.2.x']) assert.equal((await c.pullRaw(q)).status, 400, q);
  });

  test('bad_cursor_and_limit_should_be_400', async () => {
    const c = fresh();
    for (const q of ['?cursor=zz', '?cursor=-1', '?cursor=1e3', '?cursor=1.', '?cursor=1.x', '?cursor=.1', '?limit=0', '?limit=5001', '?limit=abc', '?limit=']) {
      const r = await c.pullRaw(q);
      assert.equal(r.status, 400, q);
      assert.equal(typeof JSON.parse(r.body).error, 'string');
    }
    assert.equal((await c.pullRaw('?limit=5000')).status, 200);
    assert.equal((await c.pullRaw('')).status, 200);
  });

  test('cursor_ahead_of_the_server_should_be_410', async () => {
    const c = fresh();
    await c.push([op('create', 'notes', 'a', {})]);
    const r = await c.pullRaw('?cursor=99999');
    assert.equal(r.status, 410);
  });

  test('cursor_older_than_purged_tombstones_should_be_410', async () => {
    const s = await startServer(backend.freshDb(), ['--tombstone-retention', '1']);
    try {
      const c = client(s, tokenFor(uid('user')));
      const createB = op('create', 'notes', 'b', {});
      await c.push([op('create', 'notes', 'a', {}), createB]);
      const { cursor } = await c.pullAll();
      await c.push([op('delete', 'notes', 'a', undefined, 1)]);
      await until('tombstone purge', async () => (await c.pullRaw(`?cursor=${cursor}`)).status === 410, 15000, 200);
      const full = await c.pullAll();
      assert.deepEqual(full.changes.map((x) => x.id), ['b']);
      assert.equal((await c.pullRaw(`?cursor=${full.cursor}`)).status, 200);
      const r = (await c.push([op('update', 'notes', 'a', { t: 1 }, 2)])).results[0];
      assert.deepEqual([r.status, r.version, r.record], ['conflict', 0, null]);
      // Op results outlive the tombstones (--op-retention, 3x by default): a push whose
      // answer was lost before the purge is still recognised when resent after it.
      const resent = (await c.push([createB])).results[0];
      assert.deepEqual([resent.status, resent.id, resent.version], ['duplicate', 'b', 1]);
    } finally { await s.stop(); }
  });

  test('op_retention_shorter_than_tombstone_retention_should_refuse_to_start', async () => {
    const { spawnSync } = await import('node:child_process');
    const { BIN } = await import('./lib.mjs');
    const r = spawnSync(BIN, ['--db', backend.freshDb(), '--tombstone-retention', '100', '--op-retention', '10'],
      { encoding: 'utf8', timeout: 10000 });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /--op-retention is shorter than --tombstone-retention/);
  });

  test('partitions_should_be_isolated_by_space_else_sub', async () => {
    const a = client(srv, tokenFor(uid('alice')));
    const b = client(srv, tokenFor(uid('bob')));
    const space = uid('space');
    const s1 = client(srv, tokenFor(uid('carol'), space));
    const s2 = client(srv, tokenFor(uid('dave'), space));
    await a.push([op('create', 'notes', 'secret', { t: 'alice' })]);
    assert.equal((await b.pullAll()).changes.length, 0);
    let r = (await b.push([op('update', 'notes', 'secret', { t: 'bob' }, 1)])).results[0];
    assert.deepEqual([r.status, r.record], ['conflict', null]);
    r = (await b.push([op('create', 'notes', 'secret', { t: 'bob' })])).results[0];
    assert.equal(r.status, 'applied');
    assert.equal((await a.pullAll()).changes[0].data.t, 'alice');
    await s1.push([op('create', 'notes', 'shared', { t: 1 })]);
    assert.deepEqual((await s2.pullAll()).changes.map((x) => x.id), ['shared']);
  });

  test('missing_forged_expired_and_malformed_tokens_should_be_401', async () => {
    const exp = Math.floor(Date.now() / 1000) + 600;
    const tokens = {
      missing: null,
      garbage: 'abc.def.ghi',
      forged: jwt({ sub: 'u', exp }, { secret: 'other-secret' }),
      expired: jwt({ sub: 'u', exp: Math.floor(Date.now() / 1000) - 5 }),
      'alg none': `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'u', exp })).toString('base64url')}.`,
      'alg HS512': jwt({ sub: 'u', exp }, { header: { alg: 'HS512' } }),
      'no sub': jwt({ exp }),
      'no exp': jwt({ sub: 'u' }),
      'sub not string': jwt({ sub: 5, exp }),
      'tampered payload': (() => { const t = jwt({ sub: 'u', exp }).split('.'); t[1] = Buffer.from(JSON.stringify({ sub: 'admin', exp })).toString('base64url'); return t.join('.'); })(),
    };
    for (const [why, token] of Object.entries(tokens)) {
      const headers = token ? { authorization: `Bearer ${token}` } : {};
      const r = await fetch(`${srv.base}/sync/pull`, { headers });
      assert.equal(r.status, 401, why);
      assert.equal(typeof (await r.json()).error, 'string');
      const p = await fetch(`${srv.base}/sync/push`, { method: 'POST', headers, body: '{"device_id":"d","ops":[]}' });
      assert.equal(p.status, 401, why);
      const e = await fetch(`${srv.base}/sync/events${token ? `?access_token=${token}` : ''}`);
      assert.equal(e.status, 401, why);
    }
    assert.equal((await fetch(`${srv.base}/sync/pull`, { headers: { authorization: `Bearer ${jwt({ sub: 'u', exp, iat: 1, extra: [1] })}` } })).status, 200);
  });

  test('rate_limit_should_answer_429_with_retry_after', async () => {
    const s = await startServer(backend.freshDb(), ['--rate', '2', '--burst', '5']);
    try {
      const token = tokenFor(uid('user'));
      const c = client(s, token);
      const statuses = [];
      for (let i = 0; i < 8; i++) statuses.push((await c.pullRaw('')).status);
      assert.deepEqual(statuses.slice(0, 5), [200, 200, 200, 200, 200]);
      assert.ok(statuses.includes(429), JSON.stringify(statuses));
      const r = await c.pullRaw('');
      assert.equal(r.status, 429);
      assert.ok(Number(r.headers.get('retry-after')) >= 1);
      assert.equal((await client(s, tokenFor(uid('other'))).pullRaw('')).status, 200, 'other tokens unaffected');
    } finally { await s.stop(); }
  });

  test('server_ids_and_derived_fields_should_come_back_in_results', async () => {
    const c = fresh();
    const pet = op('create', 'pets', 'tmp_pet1', { name: 'Rex', ownerId: 'owner-7' });
    let r = (await c.push([pet])).results[0];
    assert.equal(r.status, 'applied');
    assert.notEqual(r.id, 'tmp_pet1');
    assert.match(r.id, /^[0-9a-f-]{36}$/);
    assert.equal(r.record.id, r.id);
    const petId = r.id;
    const appt = op('create', 'appointments', 'tmp_a1', { petId, at: '2025-01-01T10:00:00.000Z', clientId: 'forged' });
    r = (await c.push([appt])).results[0];
    assert.equal(r.status, 'applied');
    assert.equal(r.record.data.clientId, 'owner-7');
    const again = (await c.push([appt])).results[0];
    assert.deepEqual([again.status, again.id, again.record.data.clientId], ['duplicate', r.id, 'owner-7']);
    const orphan = (await c.push([op('create', 'appointments', 'tmp_a2', { petId: 'nope' })])).results[0];
    assert.equal(orphan.record.data.clientId, null);
    const plain = (await c.push([op('create', 'notes', 'tmp_keep', {})])).results[0];
    assert.equal(plain.id, 'tmp_keep');
    const { changes } = await c.pullAll();
    assert.ok(changes.every((x) => !x.id.startsWith('tmp_') || x.collection === 'notes'));
  });

  test('static_files_should_have_mime_types_and_no_path_traversal', async () => {
    const root = tmp('syncore-static-');
    const outside = tmp('syncore-outside-');
    writeFileSync(join(outside, 'secret.txt'), 'TOP SECRET');
    writeStaticTree(root);
    mkdirSync(join(root, 'sub'));
    writeFileSync(join(root, 'sub', 'index.html'), 'sub index');
    symlinkSync(join(outside, 'secret.txt'), join(root, 'link.txt'));
    const s = await startServer(backend.freshDb(), ['--static', root]);
    try {
      const types = { '/app.wasm': 'application/wasm', '/mod.mjs': 'text/javascript', '/classic.js': 'text/javascript',
        '/manifest.webmanifest': 'application/manifest+json', '/': 'text/html', '/index.html': 'text/html', '/style.css': 'text/css' };
      for (const [path, type] of Object.entries(types)) {
        const r = await fetch(`${s.base}${path}`);
        assert.equal(r.status, 200, path);
        assert.ok(r.headers.get('content-type').startsWith(type), `${path}: ${r.headers.get('content-type')}`);
      }
      assert.deepEqual(new Uint8Array(await (await fetch(`${s.base}/app.wasm`)).arrayBuffer()), new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
      assert.equal(await (await fetch(`${s.base}/sub/`)).text(), 'sub index');
      // Revalidation: the ETag names the file's version; naming it again answers 304 (no body)
      // until the file changes.
      const first = await fetch(`${s.base}/app.wasm`);
      const etag = first.headers.get('etag');
      assert.match(etag || '', /^"[0-9a-f]+-[0-9a-f]+-[0-9a-f]+"$/);
      assert.equal(first.headers.get('cache-control'), 'no-cache');
      const again = await rawRequest(s.port, `GET /app.wasm HTTP/1.1\r\nHost: x\r\nIf-None-Match: W/"x", ${etag}\r\nConnection: close\r\n\r\n`);
      assert.match(again, /^HTTP\/1\.1 304/);
      assert.ok(!again.includes('asm'), 'a 304 has no body');
      const other = await fetch(`${s.base}/app.wasm`, { headers: { 'if-none-match': '"0-0-0"' } });
      assert.equal(other.status, 200);
      writeFileSync(join(root, 'app.wasm'), new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 0]));
      const changed = await fetch(`${s.base}/app.wasm`, { headers: { 'if-none-match': etag } });
      assert.equal(changed.status, 200, 'a changed file is sent again');
      assert.notEqual(changed.headers.get('etag'), etag);
      assert.equal((await fetch(`${s.base}/missing.js`)).status, 404);
      const rel = join('..', outside.split('/').pop(), 'secret.txt');
      for (const path of [`/${rel}`, `/%2e%2e/${rel.slice(3)}`, `/sub/../../${rel.slice(3)}`, '/..%2f..%2fetc/passwd', '/../../../../etc/passwd', '/link.txt', '/sub/..', '/.']) {
        const raw = await rawRequest(s.port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
        assert.ok(!raw.includes('TOP SECRET') && !raw.includes('root:'), path);
        assert.match(raw, /^HTTP\/1\.1 (404|403|400)/, `${path}: ${raw.slice(0, 40)}`);
      }
    } finally { await s.stop(); }
  });

  test('cors_preflight_should_answer_with_the_configured_origin', async () => {
    const s = await startServer(backend.freshDb(), ['--cors', 'https://app.example']);
    try {
      const r = await fetch(`${s.base}/sync/push`, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' } });
      assert.equal(r.status, 204);
      assert.equal(r.headers.get('access-control-allow-origin'), 'https://app.example');
      assert.match(r.headers.get('access-control-allow-headers'), /Authorization, Content-Type/);
      assert.match(r.headers.get('access-control-allow-methods'), /GET, POST, OPTIONS/);
      const g = await client(s, tokenFor(uid('u'))).pullRaw('');
      assert.equal(g.headers.get('access-control-allow-origin'), 'https://app.example');
      const e = await fetch(`${s.base}/sync/pull`);
      assert.equal(e.status, 401);
      assert.equal(e.headers.get('access-control-allow-origin'), 'https://app.example');
    } finally { await s.stop(); }
    const plain = await fetch(`${srv.base}/sync/push`, { method: 'OPTIONS' });
    assert.equal(plain.headers.get('access-control-allow-origin'), null);
  });

  test('events_should_poke_only_the_streams_of_the_changed_partition', async () => {
    const token = tokenFor(uid('user'));
    const c = client(srv, token);
    const mine = await openEvents(srv, token);
    const viaHeader = await openEvents(srv, token, { query: false });
    const other = await openEvents(srv, tokenFor(uid('other')));
    try {
      assert.equal(mine.status, 200);
      assert.match(mine.headers.get('content-type'), /^text\/event-stream/);
      for (const s of [mine, viaHeader, other]) await s.next((b) => b.includes(': connected'));
      await client(srv, tokenFor(uid('third'))).push([op('create', 'notes', 'x', {})]);
      await c.push([op('create', 'notes', 'a', {})]);
      assert.equal(await mine.next((b) => b.includes('event: poke')), 'event: poke\ndata: {}');
      await viaHeader.next((b) => b.includes('event: poke'));
      await c.push([op('create', 'notes', 'b', {})]);
      await mine.next((b) => b.includes('event: poke'));
      assert.equal(other.blocks.filter((b) => b.includes('poke')).length, 0);
      const conflictOnly = (await c.push([op('create', 'notes', 'a', {})])).results[0];
      assert.equal(conflictOnly.status, 'conflict');
    } finally { mine.close(); viaHeader.close(); other.close(); }
  });

  test('events_should_send_ping_heartbeats', async () => {
    const s = await startServer(backend.freshDb(), ['--ping-ms', '200']);
    try {
      const ev = await openEvents(s, tokenFor(uid('user')));
      await ev.next((b) => b === ': ping', 5000);
      await ev.next((b) => b === ': ping', 5000);
      ev.close();
    } finally { await s.stop(); }
  });

  test('unknown_paths_and_wrong_methods_should_be_404_and_405', async () => {
    assert.equal((await fetch(`${srv.base}/nope`)).status, 404);
    const r = await fetch(`${srv.base}/sync/push`);
    assert.equal(r.status, 405);
    assert.match(r.headers.get('allow'), /POST/);
    assert.equal((await fetch(`${srv.base}/sync/pull`, { method: 'POST' })).status, 405);
  });

  test('every_request_should_log_one_json_line', async () => {
    const before = srv.logs.length;
    await fetch(`${srv.base}/healthz`);
    await until('log line', () => srv.logs.slice(before).some((l) => l.includes('/healthz')));
    for (const l of srv.logs) JSON.parse(l);
    const line = JSON.parse(srv.logs.slice(before).find((l) => l.includes('/healthz')));
    assert.deepEqual([line.method, line.status, typeof line.ms, line.msg], ['GET', 200, 'number', 'request']);
  });

  test('teardown: stop the server', async () => { await srv.stop(); });
  return T;
}
