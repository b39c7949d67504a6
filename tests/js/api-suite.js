// api-suite.js — the whole local JS API (SPEC §2, §3, §11), as an app meets it. The same
// suite runs in a window, a module worker and a module service worker, over every
// storage backend (tests/js/run.mjs drives it). Conflicts are produced through a
// scripted `remote.transport` (the pluggable transport of SPEC §11), so this suite needs
// no server; tests/e2e/ and tests/server/ exercise the real one. sync-suite.js (answers
// the sync must not trust, flapping networks) runs as part of it.
// runApiSuite(lib, { storage, prefix }) → [{ name, ok, error }]

import { check, rejects, same, fail, scriptedRemote, remoteChange, until } from './suite-kit.js';
import { runSyncSuite } from './sync-suite.js';

const COLLECTIONS = {
  flocks: { strategy: 'lww', indexes: ['name', 'hens'], timeFields: ['since'] },
  workouts: { strategy: 'ask', onDelete: 'ask' },
  notes: { strategy: 'merge-fields', fieldStrategy: 'lww' },
  breeds: { readOnly: true },
  audit: { strategy: 'append-only' },
};

export async function runApiSuite(lib, { storage, prefix }) {
  const { openStore, normalizeTime, ready } = lib;
  const results = [];
  let n = 0;
  const open = (extra = {}) => openStore({ name: `${prefix}-${storage}-${n}`, storage, collections: COLLECTIONS,
                                           sync: { auto: false }, ...extra });
  const test = async (name, fn) => {
    n += 1;
    try { await fn(); results.push({ name, ok: true }); } catch (e) { results.push({ name, ok: false, error: String(e && e.stack || e) }); }
  };

  await ready;

  // An engine without OPFS sync access handles (WebKitGTK): the opfs backend must refuse
  // clearly and 'auto' must still work (on idb), instead of the whole suite.
  if (storage === 'opfs' && typeof FileSystemSyncAccessHandle !== 'function') {
    await test('no OPFS sync access handles here: an opfs store is SC_STORAGE with a message; auto opens on idb', async () => {
      const e = await rejects(openStore({ name: `${prefix}-opfs-absent`, storage: 'opfs', collections: COLLECTIONS, sync: { auto: false } }),
        'SC_STORAGE', 'opening an opfs store');
      check(/opfs/i.test(e.message), `the message names the backend: ${e.message}`);
      const s = await openStore({ name: `${prefix}-opfs-absent`, storage: 'auto', collections: COLLECTIONS, sync: { auto: false } });
      same((await s.put('flocks', { id: 'a', name: 'A' })).id, 'a', 'auto store works');
      await s.close();
    });
    return results;
  }

  await test('put generates an id, get returns the clean record, patch keeps the id', async () => {
    const s = await open();
    const a = await s.put('flocks', { name: 'Barn A', hens: 120, since: '2025-01-01 13:00:00+01:00' });
    check(typeof a.id === 'string' && a.id.length >= 16, 'a generated id');
    same(a.since, '2025-01-01T12:00:00.000Z', 'timeFields are normalized to UTC');
    same(Object.keys(a).sort(), ['hens', 'id', 'name', 'since'], 'no sync metadata inside the record');
    const b = await s.patch('flocks', a.id, { hens: 119, since: '2025-02-01' });
    same(b.id, a.id, 'patch keeps the id');
    same(b.hens, 119, 'patched field');
    same(b.name, 'Barn A', 'other fields kept');
    same(await s.get('flocks', a.id), b, 'get after patch');
    same(await s.count('flocks'), 1, 'upsert never duplicates');
    await s.put('flocks', { ...b, hens: 118 });
    same(await s.count('flocks'), 1, 'put with the same id is an update');
    same(await s.get('flocks', 'nope'), null, 'missing → null');
    await s.close();
  });

  await test('delete is a tombstone: get null, list skips it, includeDeleted shows it', async () => {
    const s = await open();
    const a = await s.put('flocks', { id: 'f1', name: 'A', hens: 1 });
    await s.put('flocks', { id: 'f2', name: 'B', hens: 2 });
    same(await s.delete('flocks', a.id), true, 'delete → true');
    same(await s.delete('flocks', a.id), false, 'second delete → false');
    same(await s.delete('flocks', 'never'), false, 'delete of a missing record → false');
    same(await s.get('flocks', a.id), null, 'deleted → null');
    same((await s.list('flocks')).map((r) => r.id), ['f2'], 'list skips tombstones');
    await rejects(s.patch('flocks', 'f1', { hens: 3 }), 'SC_NOT_FOUND', 'patch of a deleted record');
    await s.close();
  });

  await test('list and count: where, orderBy, desc, limit, offset on indexed fields', async () => {
    const s = await open();
    for (let i = 0; i < 20; i++) await s.put('flocks', { id: `f${String(i).padStart(2, '0')}`, name: i % 2 ? 'odd' : 'even', hens: 100 - i });
    same((await s.list('flocks', { limit: 3 })).map((r) => r.id), ['f00', 'f01', 'f02'], 'orders by id unless told');
    same((await s.list('flocks', { where: { name: 'odd' }, orderBy: 'hens', limit: 2 })).map((r) => r.hens), [81, 83], 'where + orderBy + limit');
    same((await s.list('flocks', { orderBy: 'hens', desc: true, offset: 1, limit: 2 })).map((r) => r.hens), [99, 98], 'desc + offset');
    same(await s.count('flocks', { where: { name: 'even' } }), 10, 'count where');
    same(await s.count('flocks', { where: { name: 'none' } }), 0, 'count of nothing');
    await rejects(s.list('flocks', { limit: -1 }), 'SC_BAD_INPUT', 'negative limit');
    await s.close();
  });

  await test('bad input gets the right code and leaves the store as it was', async () => {
    const s = await open();
    await s.put('flocks', { id: 'keep', name: 'K', hens: 5 });
    const before = JSON.stringify([await s.list('flocks', { includeDeleted: true }), await s.outbox()]);
    await rejects(s.put('nope', { id: 'x' }), 'SC_UNKNOWN_COLLECTION', 'unknown collection');
    await rejects(s.put('flocks', 'not a record'), 'SC_BAD_INPUT', 'a string as record');
    await rejects(s.put('flocks', { id: 42 }), 'SC_BAD_INPUT', 'a numeric id');
    await rejects(s.put('flocks', { id: 'x'.repeat(129) }), 'SC_BAD_INPUT', 'an id over 128 characters');
    await rejects(s.put('flocks', { id: 'keep', since: '2025-02-30' }), 'SC_BAD_INPUT', 'Feb 30 in a timeField');
    await rejects(s.put('flocks', { id: 'big', pad: 'x'.repeat(1100000) }), 'SC_BAD_INPUT', 'an oversized record');
    await rejects(s.put('breeds', { id: 'b1', name: 'Leghorn' }), 'SC_READ_ONLY', 'a write to readOnly');
    await rejects(s.delete('breeds', 'b1'), 'SC_READ_ONLY', 'a delete in readOnly');
    await rejects(s.patch('flocks', 'keep', { id: 'other' }), 'SC_BAD_INPUT', 'changing id in a patch');
    await rejects(s.patch('flocks', 'missing', { hens: 1 }), 'SC_NOT_FOUND', 'patch of a missing record');
    await rejects(s.resolve('no-such-conflict', 'mine'), 'SC_NOT_FOUND', 'resolve of an unknown conflict');
    await rejects(s.importLegacy('{"flocks": [', { flocks: 'flocks' }), 'SC_BAD_INPUT', 'a malformed legacy blob');
    const after = JSON.stringify([await s.list('flocks', { includeDeleted: true }), await s.outbox()]);
    same(after, before, 'nothing changed by rejected calls');
    await s.close();
    await rejects(s.get('flocks', 'keep'), 'SC_CLOSED', 'a closed store');
  });

  await test('openStore rejects bad options with SC_BAD_INPUT and a message', async () => {
    const base = { name: `${prefix}-${storage}-opts`, storage, collections: COLLECTIONS, sync: { auto: false } };
    await rejects(openStore({ ...base, name: 'has space' }), 'SC_BAD_INPUT', 'a bad name');
    await rejects(openStore({ ...base, storage: 'floppy' }), 'SC_BAD_INPUT', 'an unknown storage');
    await rejects(openStore({ ...base, collections: undefined }), 'SC_BAD_INPUT', 'no collections');
    await rejects(openStore({ ...base, collections: { x: { strategy: 'coin-flip' } } }), 'SC_BAD_INPUT', 'an unknown strategy');
    await rejects(openStore({ ...base, collections: { 'bad name!': {} } }), 'SC_BAD_INPUT', 'a bad collection name');
    await rejects(openStore({ ...base, sync: { auto: false, intervalMs: -5 } }), 'SC_BAD_INPUT', 'a negative interval');
    await rejects(openStore({ ...base, deviceId: 'no spaces allowed' }), 'SC_BAD_INPUT', 'a bad device id');
    await rejects(openStore({ ...base, cacheSize: 4096 }), 'SC_BAD_INPUT', 'a cache under 1 MiB');
    await rejects(openStore({ ...base, cacheSize: '64MB' }), 'SC_BAD_INPUT', 'a cache size as text');
  });

  await test('append-only: put over an existing id, patch and delete fail', async () => {
    const s = await open();
    await s.put('audit', { id: 'a1', what: 'created flock' });
    await rejects(s.put('audit', { id: 'a1', what: 'changed' }), 'SC_BAD_INPUT', 'put over an existing id');
    await rejects(s.patch('audit', 'a1', { what: 'x' }), 'SC_BAD_INPUT', 'patch');
    await rejects(s.delete('audit', 'a1'), 'SC_BAD_INPUT', 'delete');
    same((await s.get('audit', 'a1')).what, 'created flock', 'unchanged');
    await s.close();
  });

  await test('outbox: one op per write, coalesced before push, create+delete sends nothing', async () => {
    const s = await open();
    await s.put('flocks', { id: 'c1', name: 'A' });
    await s.patch('flocks', 'c1', { name: 'B' });
    await s.patch('flocks', 'c1', { hens: 3 });
    let ops = await s.outbox();
    same(ops.length, 1, 'updates to an unpushed record coalesce');
    same([ops[0].kind, ops[0].status, ops[0].attempts, ops[0].recordId], ['create', 'pending', 0, 'c1'], 'the op');
    check(/^\d{4}-\d\d-\d\dT/.test(ops[0].createdAt), 'createdAt is ISO');
    await s.put('flocks', { id: 'c2', name: 'gone' });
    await s.delete('flocks', 'c2');
    ops = await s.outbox();
    same(ops.map((o) => o.recordId), ['c1'], 'a create deleted before push sends nothing');
    const st = s.status();
    same([st.pending, st.failed, st.conflicts, st.syncing], [1, 0, 0, false], 'status counts');
    await s.close();
  });

  await test('change events carry collection, ids and origin local; on() unsubscribes', async () => {
    const s = await open();
    const seen = [];
    const off = s.on('change', (e) => seen.push(e));
    await s.put('flocks', { id: 'e1', name: 'A' });
    await s.delete('flocks', 'e1');
    off();
    await s.put('flocks', { id: 'e2', name: 'B' });
    same(seen, [{ collection: 'flocks', ids: ['e1'], origin: 'local' }, { collection: 'flocks', ids: ['e1'], origin: 'local' }], 'events');
    await rejects((async () => s.on('nope', () => {}))(), 'SC_BAD_INPUT', 'unknown event');
    await s.close();
  });

  await test('sync through a transport; ask conflict held, resolved mine/theirs; lww loser archived', async () => {
    const remote = scriptedRemote();
    const s = await open({ remote: { url: 'http://127.0.0.1:1/unused', transport: remote.transport } });
    await s.put('workouts', { id: 'w1', sets: 3 });
    await s.put('flocks', { id: 'f1', name: 'local-old' });
    let r = await s.sync();
    same([r.pushed, r.failed, r.conflicts], [2, 0, 0], 'first sync pushed both');
    same((await s.outbox()).length, 0, 'acknowledged ops leave the outbox');
    await s.put('flocks', { id: 'f9', name: 'to delete' });
    await s.sync();
    same(await s.delete('flocks', 'f9'), true, 'delete of a synced record');
    same(await s.list('flocks', { includeDeleted: true }), [{ id: 'f1', name: 'local-old' }, { id: 'f9', _deleted: true }], 'includeDeleted shows the tombstone');
    same((await s.outbox()).map((o) => o.kind), ['delete'], 'the delete is queued');
    await s.sync();
    // Both sides edit: the server's version moves past our base.
    await s.patch('workouts', 'w1', { sets: 4 });
    await s.patch('flocks', 'f1', { name: 'local-new' });
    const conflictsSeen = [];
    s.on('conflict', (c) => conflictsSeen.push(c));
    remote.pulls.push([
      { seq: 10, collection: 'workouts', id: 'w1', version: 2, data: { sets: 5 }, updated_at: new Date().toISOString(), deleted_at: null, hlc: '999999999999999-00000-zz', device_id: 'zz' },
      { seq: 11, collection: 'flocks', id: 'f1', version: 2, data: { name: 'remote-newer' }, updated_at: new Date().toISOString(), deleted_at: null, hlc: '999999999999999-00000-zz', device_id: 'zz' },
    ]);
    r = await s.sync();
    same(r.conflicts, 1, 'one ask conflict');
    const [c] = await s.conflicts();
    same([c.collection, c.recordId, c.kind, c.local.sets, c.remote.sets, c.base.sets, c.fields], ['workouts', 'w1', 'edit-edit', 4, 5, 3, ['sets']], 'the conflict');
    same(conflictsSeen.length, 1, 'a conflict event');
    same((await s.outbox()).find((o) => o.recordId === 'w1').status, 'held', 'the local edit is held back');
    same((await s.get('workouts', 'w1')).sets, 4, 'the local edit stays visible');
    same((await s.get('flocks', 'f1')).name, 'remote-newer', 'lww: the newer remote side won silently');
    const arch = await s.archive({ collection: 'flocks', recordId: 'f1' });
    check(arch.length >= 1 && arch[0].data.name === 'local-new', `the loser is in the archive: ${JSON.stringify(arch)}`);
    const resolved = await s.resolve(c.id, 'mine');
    same(resolved.sets, 4, 'mine keeps the local record');
    same((await s.conflicts()).length, 0, 'resolved');
    await rejects(s.resolve(c.id, 'theirs'), 'SC_NOT_FOUND', 'resolving twice');
    r = await s.sync();
    const last = remote.pushes[remote.pushes.length - 1].ops.find((o) => o.id === 'w1');
    same([last.base_version, last.data.sets], [2, 4], 'mine rebased onto the server version');
    await s.close();
  });

  await test('failed push retries on the schedule, then failed; retryFailed and discard', async () => {
    const remote = scriptedRemote();
    remote.answerPush = () => { const e = new Error('boom'); e.status = 503; e.retryAfter = 0; throw e; };
    const s = await open({ remote: { url: 'http://x/unused', transport: remote.transport },
                           sync: { auto: false, retrySchedule: [0, 0] } });
    await s.put('flocks', { id: 'r1', name: 'A' });
    for (let i = 0; i < 3; i++) await s.sync();
    const [op] = await s.outbox();
    same([op.status, op.attempts], ['failed', 3], 'failed after the schedule');
    check(op.lastError && op.lastError.includes('boom'), `lastError names the failure: ${op.lastError}`);
    same(s.status().failed, 1, 'status().failed');
    same(await s.retryFailed(), 1, 'retryFailed');
    same((await s.outbox())[0].status, 'pending', 'pending again');
    for (let i = 0; i < 3; i++) await s.sync();
    same(await s.discard(op.opId), true, 'discard a failed op');
    same(await s.get('flocks', 'r1'), null, 'never on the server → gone');
    same((await s.outbox()).length, 0, 'outbox empty');
    await s.close();
  });

  await test('importLegacy: nested paths, singletons, unmapped, kept timestamps', async () => {
    const s = await open();
    const blob = JSON.stringify({ flocks: [{ id: 'f1', name: 'A' }, { name: 'no id' }], farm: { name: 'Granja' },
                                  feed: { purchases: [{ id: 'p1', kg: 10 }] }, extra: [1] });
    const out = await s.importLegacy(blob, { flocks: 'flocks', farm: { collection: 'notes', singleton: true }, 'feed.purchases': 'notes' });
    same(out.imported, { flocks: 2, notes: 2 }, 'imported counts');
    same(out.unmapped, ['extra'], 'unmapped paths');
    same((await s.get('notes', 'farm')).name, 'Granja', 'singleton under its path');
    same((await s.get('notes', 'p1')).kg, 10, 'nested path');
    same(await s.count('flocks'), 2, 'a record without id got one');
    same((await s.outbox()).length, 4, 'queued as creates');
    await s.close();
  });

  await test('normalizeTime: forms, rejections as RangeError/TypeError with SC_BAD_INPUT', async () => {
    same(normalizeTime('2025-01-01 13:00:00+01:00'), '2025-01-01T12:00:00.000Z', 'space and offset');
    same(normalizeTime('2025-01-01t12:00z'), '2025-01-01T12:00:00.000Z', 'lower case, no seconds');
    same(normalizeTime('2025-01-01T12:00:00.123456Z'), '2025-01-01T12:00:00.123Z', 'truncated digits');
    same(normalizeTime('2025-01-01', { assumeOffsetMinutes: 60 }), '2024-12-31T23:00:00.000Z', 'date at an offset');
    same(normalizeTime(0), '1970-01-01T00:00:00.000Z', 'epoch ms');
    same(normalizeTime(new Date(Date.UTC(2024, 1, 29))), '2024-02-29T00:00:00.000Z', 'a Date');
    for (const bad of ['2025-02-30', '2025-13-01', '2025-01-01T24:00', '2025-01-01T12:00:60', 'garbage']) {
      try { normalizeTime(bad); fail(`${bad} accepted`); } catch (e) {
        check(e instanceof RangeError && e.code === 'SC_BAD_INPUT', `${bad}: ${e.name} ${e.code}`);
      }
    }
    try { normalizeTime({}); fail('an object accepted'); } catch (e) { check(e instanceof TypeError && e.code === 'SC_BAD_INPUT', 'TypeError'); }
    for (const bad of [NaN, Infinity, 1.5, '２０２５-01-01', '2025-01-01\u0000Z', `2025-01-01T12:00:00Z${'x'.repeat(300)}`]) {
      try { normalizeTime(bad); fail(`${String(bad).slice(0, 40)} accepted`); } catch (e) {
        check(e instanceof RangeError && e.code === 'SC_BAD_INPUT' && e.message.length > 0, `${String(bad).slice(0, 40)}: ${e.name} ${e.code} ${e.message}`);
      }
    }
    // A string longer than the glue's scratch area (256 bytes) takes another way into the module.
    same(normalizeTime(`${' '.repeat(300)}2025-01-01T12:00:00Z`), '2025-01-01T12:00:00.000Z', 'a long string, mostly spaces');
  });

  await test('reopening the store keeps its data, device id and outbox', async () => {
    const name = `${prefix}-${storage}-reopen`;
    const s1 = await openStore({ name, storage, collections: COLLECTIONS, sync: { auto: false } });
    await s1.put('flocks', { id: 'p1', name: 'persist' });
    await s1.close();
    const s2 = await openStore({ name, storage, collections: COLLECTIONS, sync: { auto: false } });
    const got = await s2.get('flocks', 'p1');
    if (storage === 'memory') same(got, null, 'memory persists nothing');
    else {
      same(got && got.name, 'persist', 'the record survived close/open');
      same((await s2.outbox()).length, 1, 'the outbox survived');
    }
    await s2.close();
  });

  await test("with sync.auto, Keep mine pushes the rebased edit by itself (it changes no record here)", async () => {
    const remote = scriptedRemote();
    const s = await open({ remote: { url: 'http://127.0.0.1:1/unused', transport: remote.transport },
                           sync: { auto: true, intervalMs: 3600000, reconnectDebounceMs: 0 } });
    await s.put('workouts', { id: 'w1', sets: 3 });
    await until(async () => (await s.outbox()).length === 0 && !s.status().syncing, 'the create pushed by the write trigger');
    remote.pulls.push([remoteChange('workouts', 'w1', 2, { sets: 5 })]);
    await s.patch('workouts', 'w1', { sets: 4 });
    await until(async () => (await s.conflicts()).length === 1 && !s.status().syncing, 'the ask conflict');
    const [c] = await s.conflicts();
    const before = remote.pushes.length;
    await s.resolve(c.id, 'mine');
    await until(async () => remote.pushes.slice(before).some((b) => b.ops.some((o) => o.id === 'w1' && o.data.sets === 4)),
      'the rebased edit on the wire without a manual sync()');
    await until(async () => (await s.outbox()).length === 0, 'the outbox empty');
    await s.close();
  });

  await runSyncSuite({ open, test, collections: COLLECTIONS, storage });
  return results;
}
