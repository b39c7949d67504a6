// sync-suite.js — what a sync does with answers it must not trust and networks that
// flap (issue 7, client findings 1–5 and 13), as an app meets it through the public API.
// A scripted stand-in server (suite-kit.js) sends what the real one never does: wrong
// shapes, impossible times, lost answers, a stream that reconnects on every edge. Run by
// api-suite.js in every context and over every backend; tests/js/sync-e2e.mjs covers
// the same findings against the real server.
// runSyncSuite({ open, test, collections, storage }) adds its results through test().

import { check, same, until, scriptedRemote, remoteChange } from './suite-kit.js';

const lostAnswer = (body, apply) => {
  apply(body);                       // the server applied it; the answer never arrives
  throw Object.assign(new Error('network error on /push: the answer was lost'), { status: 0, retryAfter: 0 });
};

export async function runSyncSuite({ open, test, collections, storage }) {
  const withRemote = (remote, extra = {}) => open({ remote: { url: 'http://127.0.0.1:1/unused', transport: remote.transport }, ...extra });
  const state = async (s, coll) => JSON.stringify([await s.list(coll, { includeDeleted: true }), await s.outbox(), await s.conflicts()]);

  await test('a record deleted before it was ever pushed keeps its tombstone in a local-only store; nothing is queued', async () => {
    const s = await open();
    await s.put('flocks', { id: 'a1', name: 'A' });
    await s.put('flocks', { id: 'a2', name: 'B' });
    same(await s.delete('flocks', 'a1'), true, 'delete → true');
    same(await s.list('flocks', { includeDeleted: true }), [{ id: 'a1', _deleted: true }, { id: 'a2', name: 'B' }], 'includeDeleted shows the tombstone');
    same(await s.list('flocks'), [{ id: 'a2', name: 'B' }], 'list skips it');
    same(await s.count('flocks'), 1, 'count agrees with list');
    same(await s.get('flocks', 'a1'), null, 'get → null');
    same((await s.outbox()).map((o) => o.recordId), ['a2'], 'no op for the never-pushed record');
    same(s.status().pending, 1, 'status().pending');
    same(await s.delete('flocks', 'a1'), false, 'a second delete finds only the tombstone');
    await s.close();
  });

  await test('a create deleted before its first sync sends nothing and keeps its tombstone after it', async () => {
    const remote = scriptedRemote();
    const r = await withRemote(remote);
    await r.put('flocks', { id: 'b1', name: 'gone' });
    await r.put('flocks', { id: 'b2', name: 'kept' });
    await r.delete('flocks', 'b1');
    const res = await r.sync();
    same([res.pushed, res.error], [1, undefined], 'one op pushed');
    same(remote.pushes.flatMap((b) => b.ops.map((o) => o.id)), ['b2'], 'nothing sent for the deleted create');
    same(await r.list('flocks', { includeDeleted: true }), [{ id: 'b1', _deleted: true }, { id: 'b2', name: 'kept' }], 'the tombstone outlives the sync');
    await r.close();
  });

  await test('a page fetched ahead is used only when the round asks for it', async () => {
    const remote = scriptedRemote();
    const page = (cursor, changes, more) => () => ({ server_time: new Date().toISOString(), changes, cursor, has_more: more, remaining: more ? 1 : 0 });
    remote.pulls.push(page('c1', [remoteChange('flocks', 'a', 1, { name: 'a' })], true),
      page('c2', [remoteChange('flocks', 'b', 1, { name: 'b' })], true),
      page('c3', [remoteChange('flocks', 'c', 1, { name: 'c' })], false));
    const s = await withRemote(remote);
    let r = await s.sync();
    same([r.error, r.pulled], [undefined, 3], 'three pages pulled');
    same(remote.cursors.slice(1), ['c1', 'c2'], 'each page asked for once, in order');
    // A page that fails whole says there is more: the page after it (fetched ahead) must not
    // be applied; the next sync asks again from the stored cursor.
    remote.pulls.push(page('c4', [remoteChange('flocks', 'evil', 1, { name: 'x', since: '2025-02-30T10:00:00Z' })], true),
      page('c5', [remoteChange('flocks', 'ahead', 1, { name: 'fetched ahead' })], false),
      page('c6', [remoteChange('flocks', 'retry', 1, { name: 'the retry' })], false));
    r = await s.sync();
    check(r.error && r.error.includes("'evil'"), `the bad page fails the round: ${r.error}`);
    await until(() => remote.cursors.length === 5, 'the page fetched ahead');
    same(remote.cursors.slice(3), ['c3', 'c4'], 'the bad page, and the one after it fetched ahead');
    r = await s.sync();
    same([r.error, r.pulled], [undefined, 1], 'the retry pulls one page');
    same(remote.cursors[5], 'c3', 'the retry asks from the stored cursor, not the page fetched ahead');
    same((await s.list('flocks')).map((x) => x.id).sort(), ['a', 'b', 'c', 'retry'], 'nothing of the page fetched ahead was applied');
    await s.close();
  });

  // A round's pages are pipelined (storage.js run): page n+1 is applied while IndexedDB
  // saves page n. A save that fails must take every page applied on top of it with it.
  if (storage === 'idb') await test('a page whose save fails ends the round; nothing applied after it is kept; the next sync resumes', async () => {
    const cursors = [], pages = { '': ['a', 'c1'], c1: ['b', 'c2'], c2: ['c', 'c3'], c3: ['d', null] };
    let thrown = false;
    const transport = {
      async pull({ cursor }) {
        cursors.push(cursor || '');
        // The third page is handed over only after the failed save, so its step meets the reload.
        if (cursor === 'c2') await until(() => thrown, 'the injected failure');
        const [id, next] = pages[cursor || ''];
        return { server_time: new Date().toISOString(), changes: [remoteChange('flocks', id, 1, { name: id })],
          cursor: next || 'c4', has_more: !!next, remaining: next ? 1 : 0 };
      },
      async push() { throw Object.assign(new Error('offline (test)'), { status: 0 }); },
    };
    const s = await open({ remote: { url: 'http://127.0.0.1:1/unused', transport } });
    const put = IDBObjectStore.prototype.put;
    let logPuts = 0;
    IDBObjectStore.prototype.put = function (...args) {   // the second commit of the round fails
      if (this.name === 'log' && ++logPuts === 2) { thrown = true; throw new DOMException('disk full (injected)', 'QuotaExceededError'); }
      return put.apply(this, args);
    };
    let r;
    try { r = await s.sync(); } finally { IDBObjectStore.prototype.put = put; }
    check(r.error && /quota/.test(r.error), `the round fails with the save: ${JSON.stringify(r)}`);
    const kept = (await s.list('flocks')).map((x) => x.id);
    check(kept.length < 4, `not every page was kept: ${kept}`);
    same(kept, ['a', 'b', 'c', 'd'].slice(0, kept.length), 'a prefix of the pages, in order');
    const from = cursors.length;
    r = await s.sync();
    same(r.error, undefined, 'the next sync');
    same(cursors[from], ['', 'c1', 'c2', 'c3'][kept.length], 'it asks from the cursor saved with the last kept page');
    same((await s.list('flocks')).map((x) => x.id), ['a', 'b', 'c', 'd'], 'every page, once');
    await s.close();
    const again = await open();
    same((await again.list('flocks')).map((x) => x.id), ['a', 'b', 'c', 'd'], 'the same after reopening');
    await again.close();
  });

  await test('a pulled page with an impossible time fails whole: nothing changes, the cursor stays, the next sync retries', async () => {
    const remote = scriptedRemote();
    const s = await withRemote(remote);
    await s.put('flocks', { id: 'mine', name: 'local', since: '2025-01-01T00:00:00Z' });
    await s.sync();
    await s.patch('flocks', 'mine', { name: 'unpushed edit' });
    const before = await state(s, 'flocks');
    const bad = [
      [{ name: 'x', since: '2025-02-30T10:00:00Z' }, {}, 'since'],         // Feb 30 in a timeField
      [{ name: 'x' }, { updated_at: 'not a time' }, 'updated_at'],        // updated_at that does not parse
    ];
    for (const [data, extra, field] of bad) {
      remote.pulls.push([remoteChange('flocks', 'fine', 1, { name: 'fine' }), remoteChange('flocks', 'evil', 1, data, extra)]);
      const r = await s.sync();
      check(r.error && r.error.includes("'evil'") && r.error.includes(field), `sync() names the record and the field: ${r.error}`);
      same([r.pulled, r.pushed], [0, 0], 'nothing pulled, the round stopped');
      same(s.status().lastError, r.error, 'status().lastError says so');
      same(await state(s, 'flocks'), before, 'nothing stored changed');
    }
    const tried = remote.cursors.slice(-2);
    same(tried[0], tried[1], 'the failed page is asked for again from the same cursor');
    remote.pulls.push([remoteChange('flocks', 'evil', 1, { name: 'x', since: '2025-02-28T10:00:00+01:00' })]);
    const r = await s.sync();
    same(remote.cursors[remote.cursors.length - 2], tried[0], 'the retry starts from the same cursor');
    same([r.error, r.pulled], [undefined, 1], 'the corrected page applies');
    same((await s.get('flocks', 'evil')).since, '2025-02-28T09:00:00.000Z', 'normalized');
    same(s.status().lastError, null, 'lastError cleared');
    await s.close();
  });

  await test('a push answer of the wrong shape is a failed attempt: every op stays queued, the retry applies each once', async () => {
    const remote = scriptedRemote();
    const s = await withRemote(remote);
    for (const id of ['r1', 'r2', 'r3']) await s.put('flocks', { id, name: id });
    const ids = (await s.outbox()).map((o) => o.opId);
    const mangles = {
      'fewer results than ops': (a) => ({ ...a, results: a.results.slice(0, 2) }),
      'a result for an op_id not sent': (a) => ({ ...a, results: [...a.results.slice(0, 2), { ...a.results[2], op_id: 'never-sent' }] }),
      'one op answered twice': (a) => ({ ...a, results: [a.results[0], a.results[1], a.results[0]] }),
    };
    for (const [what, mangle] of Object.entries(mangles)) {
      remote.answerPush = (body, apply) => mangle(apply(body));
      const r = await s.sync();
      check(r.error && /push response/.test(r.error), `${what}: sync() reports the error: ${r.error}`);
      same(r.pushed, 0, `${what}: nothing acknowledged`);
      const ops = await s.outbox();
      same(ops.map((o) => o.opId), ids, `${what}: every op queued with its op_id`);
      same(ops.map((o) => o.status), ['pending', 'pending', 'pending'], `${what}: pending again`);
      same(s.status().lastError, r.error, `${what}: status().lastError`);
    }
    remote.answerPush = null;
    const r = await s.sync();
    same([r.error, r.pushed], [undefined, 3], 'the retry is acknowledged');
    same(ids.map((id) => remote.applied.get(id)), [1, 1, 1], 'the server applied each op exactly once');
    same((await s.outbox()).length, 0, 'outbox empty');
    await s.close();
  });

  await test('a flapping network syncs once: online edges, the stream reconnect and its pokes share one debounce', async () => {
    const remote = scriptedRemote();
    let stream = null;
    remote.transport.events = (onPoke, onState) => { stream = { onPoke, onState }; onState(true); return () => { stream = null; }; };
    const scope = typeof self !== 'undefined' ? self : globalThis;
    const s = await withRemote(remote, { sync: { auto: true, reconnectDebounceMs: 300, intervalMs: 3600000 } });
    await until(() => remote.cursors.length === 1 && !s.status().syncing, 'the sync on open');
    for (let i = 0; i < 4; i++) {
      scope.dispatchEvent(new Event('offline'));
      stream.onState(false);                  // the event stream fails with the network
      scope.dispatchEvent(new Event('online'));
      stream.onState(true);                   // … reconnects
      stream.onPoke();                        // … and the server pokes it to catch up
    }
    await until(() => remote.cursors.length >= 2 && !s.status().syncing, 'the debounced sync');
    await new Promise((r) => setTimeout(r, 900));   // three debounce windows: proves a negative
    same(remote.cursors.length, 2, 'four edges inside the window start one sync');
    stream.onState(false);                    // the stream alone drops and comes back (no edge)
    stream.onState(true);
    await until(() => remote.cursors.length === 3 && !s.status().syncing, 'a catch-up sync after the stream reconnects');
    await s.close();
  });

  await test('an op whose answer was lost is resent before the pull: an edit made on top of it is no conflict', async () => {
    const remote = scriptedRemote();
    const s = await withRemote(remote);
    await s.put('workouts', { id: 'w1', sets: 1 });
    await s.sync();
    await s.patch('workouts', 'w1', { sets: 2 });
    const [op] = await s.outbox();
    remote.answerPush = lostAnswer;
    check((await s.sync()).error, 'the lost answer is an error');
    remote.answerPush = null;
    remote.pulls.push([remoteChange('workouts', 'w1', 3, { sets: 3 })]);   // another device, on top of our v2
    remote.calls.length = 0;
    const r = await s.sync();
    same(remote.calls.slice(0, 2), ['push', 'pull'], 'the op in doubt goes before the pull');
    same(remote.pushes[remote.pushes.length - 1].ops.map((o) => o.op_id), [op.opId], 'resent with its op_id');
    same([r.conflicts, r.error], [0, undefined], 'no conflict');
    same(await s.conflicts(), [], 'none stored');
    same(await s.get('workouts', 'w1'), { id: 'w1', sets: 3 }, 'the newer edit arrived');
    same(remote.applied.get(op.opId), 1, 'applied once');
    same((await s.outbox()).length, 0, 'outbox empty');
    await s.close();
  });

  await test('a temp-id create whose answer was lost gets its real id from the resend, never shows twice', async () => {
    const remote = scriptedRemote();
    remote.serverIds = ['pets'];
    const s = await withRemote(remote, { collections: { ...collections, pets: { idFrom: 'server' } } });
    const pet = await s.put('pets', { name: 'Rex' });
    check(pet.id.startsWith('tmp_'), 'a temp id');
    remote.answerPush = lostAnswer;
    await s.sync();
    remote.answerPush = null;
    remote.pulls.push([remoteChange('pets', 'srv-1', 2, { name: 'Max' })]);   // renamed elsewhere
    const seen = [], reads = [];
    s.on('change', () => { reads.push(s.list('pets').then((l) => seen.push(l.map((p) => p.id)))); });
    const r = await s.sync();
    same([r.conflicts, r.error], [0, undefined], 'a clean round');
    await Promise.all(reads);   // what each change event's read saw
    check(seen.length > 0 && seen.every((ids) => ids.length === 1), `the pet never shows twice: ${JSON.stringify(seen)}`);
    same(await s.list('pets'), [{ id: 'srv-1', name: 'Max' }], 'one pet, real id, the newer name');
    same(await s.get('pets', pet.id), { id: 'srv-1', name: 'Max' }, 'the temp id reaches the real record');
    await s.close();
  });

  await test('a server answer with a repeated key changes nothing', async () => {
    const remote = scriptedRemote();
    const s = await withRemote(remote);
    await s.put('flocks', { id: 'f1', name: 'mine' });
    await s.sync();
    const before = await state(s, 'flocks');
    const change = JSON.stringify(remoteChange('flocks', 'x', 1, { name: 'first' })).replace('"name":"first"', '"name":"first","name":"second"');
    remote.pulls.push(() => `{"changes":[${change}],"cursor":"9","has_more":false}`);
    const r = await s.sync();
    check(r.error && r.error.includes("'name' appears twice"), `named: ${r.error}`);
    same(await state(s, 'flocks'), before, 'nothing stored changed');
    await s.close();
  });
}
