// 001-egglogu.mjs — seed 001, EGGlogU (SPEC §10.2), twice: on the reference server and
// through js-glue/adapters/delta.js against a stand-in of the seed's delta endpoint
// (standins/egglogu-delta.mjs). A generated 5 MB `egglogu_data` with every collection the
// seed lists (nested paths, the `farm`/`settings` singletons, the append-only `auditLog`) is
// imported on one device and pulled whole by another; one edit sends one record; delete-vs-edit
// asks (the seed's dialog, Keep Mine / Accept Deletion); a silent last-write-wins keeps the loser
// in the archive. Collection configuration: docs/RECIPES.md § EGGlogU.
import { same, check } from './lib.mjs';
import { startDeltaBackend } from './standins/egglogu-delta.mjs';

// The seed's table of collections: blob path → syncore collection.
const PATHS = ['flocks', 'dailyProduction', 'vaccines', 'medications', 'outbreaks', 'feed.purchases', 'feed.consumption',
  'clients', 'finances.income', 'finances.expenses', 'finances.receivables', 'inventory', 'environment', 'checklist',
  'logbook', 'personnel', 'biosecurity.visitors', 'biosecurity.zones', 'biosecurity.pestSightings', 'biosecurity.protocols',
  'traceability.batches', 'productionPlans', 'users'];
const nameOf = (path) => path.replace(/\.(\w)/g, (_, c) => c.toUpperCase());   // feed.purchases → feedPurchases
export const EGGLOGU = Object.fromEntries([
  ...PATHS.map((p) => [nameOf(p), { strategy: 'lww' }]),
  ['auditLog', { strategy: 'append-only' }],
  ['farm', { strategy: 'merge-fields', fieldStrategy: 'lww' }],
  ['settings', { strategy: 'merge-fields', fieldStrategy: 'lww' }],
]);
EGGLOGU.flocks = { strategy: 'lww', onDelete: 'ask', indexes: ['name'] };
EGGLOGU.dailyProduction = { strategy: 'lww', indexes: ['flockId', 'date'] };
export const MAPPING = Object.fromEntries([
  ...PATHS.map((p) => [p, nameOf(p)]), ['auditLog', 'auditLog'],
  ['farm', { collection: 'farm', singleton: true }], ['settings', { collection: 'settings', singleton: true }],
]);
const DELTA_PATHS = Object.fromEntries([...PATHS.map((p) => [nameOf(p), p]), ['auditLog', 'auditLog'], ['farm', 'farm'], ['settings', 'settings']]);

// Runs in the page: a farm of about 5 MB, most of it daily production, as localStorage held it.
function makeFarm([paths, daily]) {
  const blob = { farm: { name: 'Granja Sol', country: 'CL', hens: 20000 }, settings: { lang: 'es', currency: 'CLP' },
                 auditLog: [], legacyJunk: { old: true } };
  const put = (path, recs) => {
    const parts = path.split('.');
    let o = blob;
    for (const p of parts.slice(0, -1)) o = o[p] || (o[p] = {});
    o[parts[parts.length - 1]] = recs;
  };
  for (const path of paths) {
    const n = path === 'dailyProduction' ? daily : path === 'flocks' ? 40 : 12;
    put(path, Array.from({ length: n }, (_, i) => {
      const r = { id: `${path}-${i}`, name: path === 'flocks' ? `Layer Group ${i}` : `${path} ${i}`, note: 'x'.repeat(path === 'dailyProduction' ? 120 : 40) };
      if (path === 'dailyProduction') Object.assign(r, { flockId: `flocks-${i % 40}`, date: `2024-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')}`, eggs: 400 + (i % 97), broken: i % 7 });
      if (i % 2) r._updatedAt = '2024-06-15T14:32:00.000Z';
      return r;
    }));
  }
  for (let i = 0; i < 30; i++) blob.auditLog.push({ id: `audit-${i}`, what: `action ${i}`, at: '2024-06-15T14:32:00.000Z' });
  const text = JSON.stringify(blob);
  window.farmBlob = text;
  return text.length;
}

const expectedCounts = (daily) => Object.fromEntries([...PATHS.map((p) => [nameOf(p), p === 'dailyProduction' ? daily : p === 'flocks' ? 40 : 12]),
  ['auditLog', 30], ['farm', 1], ['settings', 1]]);
const totalOf = (daily) => Object.values(expectedCounts(daily)).reduce((a, b) => a + b, 0);
// 21,000 daily records make the 5 MB farm; the delta adapter's run uses a 0.5 MB one unless SEEDS_FULL=1.
const FULL = 21000;
const DELTA_DAILY = process.env.SEEDS_FULL ? FULL : 2000;

// `opsIn(body)`: the records one push request carried (the protocol's ops, the delta's records).
async function egglogu(mk, pushPath, opsIn, daily) {
  const TOTAL = totalOf(daily);
  const t0 = Date.now();
  const lap = (what) => { if (process.env.SEEDS_VERBOSE) console.log(`      ${what}: ${Date.now() - t0} ms`); };
  const a = await mk('A');
  const size = await a.call(makeFarm, [PATHS, daily]);
  const mb = daily === FULL ? 5 : 0.5;
  check(size > mb * 1e6, `the blob is over ${mb} MB (${size} bytes)`);
  const out = await a.call((m) => window.store.importLegacy(window.farmBlob, m), MAPPING);
  same(out.imported, expectedCounts(daily), 'every collection imported');
  lap('imported');
  same(out.unmapped, ['legacyJunk'], 'the unmapped path is named');
  same((await a.get('farm', 'farm')).name, 'Granja Sol', 'the farm singleton');
  same(await a.count('dailyProduction', { where: { flockId: 'flocks-3' } }), daily / 40, 'indexed count');
  const ra = await a.sync();
  same([ra.pushed, ra.failed, ra.error], [TOTAL, 0, undefined], 'the whole farm pushed');
  lap('pushed');
  const b = await mk('B');
  const rb = await b.sync();
  lap('pulled');
  same(rb.pulled, TOTAL, 'B pulled the whole farm');
  for (const [coll, n] of Object.entries(expectedCounts(daily))) same(await b.count(coll), n, `B holds every ${coll}`);
  same(await b.get('feedPurchases', 'feed.purchases-3'), await a.get('feedPurchases', 'feed.purchases-3'), 'a nested record arrived intact');
  same(await b.get('settings', 'settings'), { id: 'settings', lang: 'es', currency: 'CLP' }, 'the settings singleton');

  lap('checked');
  // One edit: only that record travels.
  const before = (await a.sent(pushPath)).length;
  await a.patch('dailyProduction', 'dailyProduction-5', { eggs: 1 });
  same((await a.sync()).pushed, 1, 'one op acknowledged');
  const pushes = (await a.sent(pushPath)).slice(before);
  same(pushes.length, 1, 'one push request');
  same(opsIn(JSON.parse(pushes[0].body)), [['dailyProduction-5', 1]], 'carrying only the edited record');
  await b.sync();
  same((await b.get('dailyProduction', 'dailyProduction-5')).eggs, 1, 'B got the edit');

  lap('one edit');
  // Delete vs edit asks. The seed's dialog is built from the conflict; Keep Mine and Accept Deletion.
  await b.offline(true);
  await b.patch('flocks', 'flocks-3', { hens: 480 });
  await b.patch('flocks', 'flocks-4', { hens: 470 });
  await a.del('flocks', 'flocks-3');
  await a.del('flocks', 'flocks-4');
  await a.sync();
  await b.offline(false);
  same((await b.sync()).conflicts, 2, 'two delete-vs-edit conflicts');
  const cs = await b.conflicts();
  same(cs.map((c) => [c.kind, c.recordId, c.remote]), [['delete-edit', 'flocks-3', null], ['delete-edit', 'flocks-4', null]], 'deleted remotely, edited here');
  same(`Flock '${cs[0].local.name}' was deleted on another device but you made changes. Keep your version or accept deletion?`,
       "Flock 'Layer Group 3' was deleted on another device but you made changes. Keep your version or accept deletion?", 'the seed\'s wording');
  await b.resolve(cs[0].id, 'mine');     // [Keep Mine]
  await b.resolve(cs[1].id, 'theirs');   // [Accept Deletion]
  await b.sync();
  await a.sync();
  for (const d of [a, b]) {
    same((await d.get('flocks', 'flocks-3')).hens, 480, 'Keep Mine brings the flock back everywhere');
    same(await d.get('flocks', 'flocks-4'), null, 'Accept Deletion deletes it everywhere');
  }

  lap('delete-edit');
  // Concurrent edits of one production record: the newer wins silently, the loser is archived.
  await a.offline(true);
  await b.offline(true);
  await a.patch('dailyProduction', 'dailyProduction-7', { eggs: 111 });
  // B's edit is the later one: by more than the second within which devices' server offsets agree.
  await new Promise((r) => setTimeout(r, 1100));
  await b.patch('dailyProduction', 'dailyProduction-7', { eggs: 222 });
  await a.offline(false);
  await a.sync();
  await b.offline(false);
  same((await b.sync()).conflicts, 0, 'last-write-wins asks nothing');
  await a.sync();
  for (const d of [a, b]) same((await d.get('dailyProduction', 'dailyProduction-7')).eggs, 222, 'the later edit wins on both');
  const arch = await b.call(() => window.store.archive({ collection: 'dailyProduction', recordId: 'dailyProduction-7' }));
  check(arch.some((v) => v.data && v.data.eggs === 111), `the overwritten version is in the archive: ${JSON.stringify(arch)}`);
  // The append-only audit log merges by union.
  await a.put('auditLog', { id: 'audit-a', what: 'A was here' });
  await b.put('auditLog', { id: 'audit-b', what: 'B was here' });
  await a.sync(); await b.sync(); await a.sync();
  for (const d of [a, b]) same(await d.count('auditLog'), 32, 'the audit log is the union');
}

export const tests = [
  { name: 'EGGlogU on the reference server: 5 MB importLegacy, whole pull, one-record delta, delete-vs-edit asks, LWW archive',
    fn: (h) => egglogu((n) => h.device(n, EGGLOGU, { sync: { auto: false, batchSize: 500 } }), '/sync/push',
                       (body) => body.ops.map((o) => [o.id, 1]), FULL) },

  { name: 'EGGlogU through the delta adapter against the seed\'s delta endpoint',
    async fn(h) {
      const be = await startDeltaBackend();
      try {
        const options = { url: be.url, collections: DELTA_PATHS, token: be.token };
        await egglogu((n) => h.device(n, EGGLOGU, { sync: { auto: false, batchSize: 500 }, adapter: { kind: 'delta', options } }),
                      '/api/v1/sync/delta', (body) => body.deltas.flatMap((d) => d.records.map((r) => [r.id, 1])), DELTA_DAILY);
        same(be.collections.get('feed.purchases').size, 12, 'the backend keeps the nested path');
        same(be.collections.get('flocks').get('flocks-4')._deletedAt !== null, true, 'the accepted deletion is a soft delete');
      } finally { await be.stop(); }
    } },
];

// Devices A and B on a fresh stand-in of the delta endpoint, which stops after fn.
async function withDeltaPair(h, fn) {
  const be = await startDeltaBackend();
  try {
    const options = { url: be.url, collections: DELTA_PATHS, token: be.token };
    const mk = (n) => h.device(n, EGGLOGU, { adapter: { kind: 'delta', options } });
    await fn(be, await mk('A'), await mk('B'));
  } finally { await be.stop(); }
}

tests.push({ name: 'delta adapter: a 503 and a lost answer; the record lands once and both devices converge',
  fn: (h) => withDeltaPair(h, async (be, a, b) => {
    await a.put('flocks', { id: 'f1', name: 'Barn 1', hens: 100 });
    be.failNext(1, 503);
    const r1 = await a.sync();
    check(r1.error && r1.pushed === 0, `a 503 fails the round: ${JSON.stringify(r1)}`);
    same((await a.outbox()).map((o) => [o.status, o.attempts]), [['pending', 1]], 'the op waits out its backoff');
    await a.sync();
    same((await a.outbox()).length, 0, 'the next round delivered it');
    await a.patch('flocks', 'f1', { hens: 101 });
    be.loseNextAnswer();
    check((await a.sync()).error, 'the cut answer is an error');
    const r2 = await a.sync();
    same([r2.failed, (await a.outbox()).length], [0, 0], 'the in-doubt op settled');
    same(be.collections.get('flocks').size, 1, 'one flock on the backend');
    same(be.collections.get('flocks').get('f1').hens, 101, 'at the last edit');
    await b.sync();
    same(await b.get('flocks', 'f1'), { id: 'f1', name: 'Barn 1', hens: 101 }, 'B converged');
    same(await a.get('flocks', 'f1'), await b.get('flocks', 'f1'), 'both devices agree');
  }) });

tests.push({ name: 'delta adapter: a record the endpoint kept in another state (its own last-write-wins) is a conflict the core settles',
  fn: (h) => withDeltaPair(h, async (be, a, b) => {
    await a.put('dailyProduction', { id: 'd1', flockId: 'f1', date: '2025-02-01', eggs: 400 });
    await a.sync();
    await b.sync();
    await b.patch('dailyProduction', 'd1', { eggs: 390 });
    // A writes between B's pull and B's push: the endpoint keeps A's (newer) and answers it.
    let held = false;
    await b.page.route(be.url, async (route) => {
      if (!held && route.request().method() === 'POST') {
        held = true;
        await new Promise((r) => setTimeout(r, 1100));   // A's edit is the later one
        await a.patch('dailyProduction', 'd1', { eggs: 410 });
        await a.sync();
      }
      await route.continue();
    });
    const rb = await b.sync();
    same([rb.conflicts, rb.failed], [0, 0], 'last-write-wins settles it silently');
    same(be.collections.get('dailyProduction').get('d1').eggs, 410, 'the endpoint kept the later edit');
    same([(await a.get('dailyProduction', 'd1')).eggs, (await b.get('dailyProduction', 'd1')).eggs], [410, 410], 'both devices hold it');
    const arch = await b.call(() => window.store.archive({ collection: 'dailyProduction', recordId: 'd1' }));
    check(arch.some((v) => v.data && v.data.eggs === 390), `B's overwritten edit is in its archive: ${JSON.stringify(arch)}`);
    same((await b.outbox()).length, 0, 'nothing left queued');
  }) });
