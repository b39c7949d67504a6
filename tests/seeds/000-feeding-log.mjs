// 000-feeding-log.mjs — seed 000, the baby-feeding log (SPEC §10.1), twice: against the
// reference server and, unchanged, through js-glue/adapters/rest.js against a stand-in of
// the seed's own REST backend (standins/feedings-rest.mjs); then the adapter's failure modes
// (5xx, a lost answer, same-millisecond and late commits under a `since` cursor, backfill).
// Collection configuration: docs/RECIPES.md § Feeding log.
import { same, check, until } from './lib.mjs';
import { startFeedingsBackend } from './standins/feedings-rest.mjs';

export const FEEDINGS = { feedings: { strategy: 'ask', onDelete: 'ask', timeFields: ['feeding_time'] } };
const sorted = (a) => [...a].sort();

// The scenario, whatever the backend: `mk(name)` makes a device; `holdPush(device, during)`
// intercepts that device's next write request and runs `during` before letting it through.
async function feedingLog(mk, holdPush) {
  const a = await mk('A'), b = await mk('B');
  // Created offline on A; another device sees it. The seed's time lands in UTC.
  await a.offline(true);
  const rec = await a.put('feedings', { feeding_time: '2025-01-01 13:00:00+01:00', food_type: 'Breast milk', notes: 'Full feeding' });
  same(rec.feeding_time, '2025-01-01T12:00:00.000Z', '"2025-01-01 13:00:00+01:00" is stored in UTC');
  same((await a.status()).pending, 1, 'queued while offline');
  await a.offline(false);
  same((await a.sync()).pushed, 1, 'A pushed the offline create');
  same((await b.sync()).pulled, 1, 'B pulled it');
  same(await b.get('feedings', rec.id), rec, 'B sees the clean record');
  // Editing feeding_time keeps the record (identity is the id, never the time).
  const edited = await b.patch('feedings', rec.id, { feeding_time: '2025-01-01T12:30:00+00:00' });
  same(edited.id, rec.id, 'editing feeding_time keeps the id');
  same((await b.sync()).pushed, 1, 'B pushed the time edit');
  await a.sync();
  const onA = await a.list('feedings');
  same([onA.length, onA[0].id, onA[0].feeding_time], [1, rec.id, '2025-01-01T12:30:00.000Z'], 'one record on A, moved in time');

  // Both edit offline: one conflict with local, remote, base and the differing fields; each of
  // Keep Mine, Keep Other and a merged record converges both devices.
  const rounds = [
    ['mine', (mine) => mine],
    ['theirs', (mine, theirs) => theirs],
    ['merged', (mine, theirs) => ({ ...theirs, notes: `${theirs.notes} + ${mine.notes}` })],
  ];
  let i = 0;
  for (const [how, pick] of rounds) {
    i++;
    const base = await b.get('feedings', rec.id);
    await a.offline(true);
    await b.offline(true);
    const theirs = await a.patch('feedings', rec.id, { food_type: `Formula ${i}`, notes: `A${i}` });
    const mine = await b.patch('feedings', rec.id, { notes: `B${i}`, food_type: base.food_type });
    await a.offline(false);
    same((await a.sync()).pushed, 1, `round ${how}: A first`);
    await b.offline(false);
    same((await b.sync()).conflicts, 1, `round ${how}: B gets exactly one conflict`);
    await b.sync();
    const cs = await b.conflicts();
    same(cs.length, 1, `round ${how}: still one conflict per record after another sync`);
    const [c] = cs;
    same([c.kind, c.recordId, c.local.notes, c.remote.notes, c.base.notes], ['edit-edit', rec.id, `B${i}`, `A${i}`, base.notes],
         `round ${how}: the conflict holds local, remote and base`);
    same(sorted(c.fields), ['food_type', 'notes'], `round ${how}: the differing fields`);
    same((await b.outbox()).map((o) => o.status), ['held'], `round ${how}: the local edit stays queued, held`);
    const want = { ...pick(mine, theirs), id: rec.id };
    await b.resolve(c.id, how === 'merged' ? want : how);
    await b.sync();
    await a.sync();
    same(await b.get('feedings', rec.id), want, `round ${how}: B holds the choice`);
    same(await a.get('feedings', rec.id), want, `round ${how}: A converged on it`);
    same([(await a.outbox()).length, (await b.outbox()).length, (await b.conflicts()).length], [0, 0, 0], `round ${how}: settled`);
  }

  // A push conflict (the other device wrote between this one's pull and push) keeps the op queued.
  await b.patch('feedings', rec.id, { notes: 'B pushes late' });
  await holdPush(b, async () => { await a.patch('feedings', rec.id, { notes: 'A got there first' }); await a.sync(); });
  same((await b.sync()).conflicts, 1, 'the push answered conflict');
  same((await b.outbox()).map((o) => o.status), ['held'], 'the op stays queued, held');
  const [pc] = await b.conflicts();
  same([pc.local.notes, pc.remote.notes], ['B pushes late', 'A got there first'], 'the push conflict carries the server record');
  check((await a.events('change')).some((e) => e.origin === 'remote'), 'A saw remote change events');
}

function holdPushMatching(pattern, method) {
  return async (dev, during) => {
    let held = false;
    await dev.page.route(pattern, async (route) => {
      if (!held && route.request().method() === method) { held = true; await during(); }
      await route.continue();
    });
  };
}

async function restBackend(h) {
  const be = await startFeedingsBackend();
  const mk = (name) => h.device(name, FEEDINGS, { adapter: { kind: 'rest', options: { url: be.url, collection: 'feedings', token: be.token } } });
  return { be, mk };
}

const getJson = async (url, token) => (await fetch(url, { headers: { authorization: `Bearer ${token}` } })).json();

export const tests = [
  { name: 'feeding log on the reference server: offline create, time edit, Keep Mine / Keep Other / merged, push conflict',
    fn: (h) => feedingLog((n) => h.device(n, FEEDINGS), holdPushMatching('**/sync/push', 'POST')) },

  { name: 'feeding log through the REST adapter against the seed\'s backend',
    async fn(h) {
      const { be, mk } = await restBackend(h);
      try {
        await feedingLog(mk, holdPushMatching(`${be.url}/*`, 'PUT'));
        const writes = be.requests.filter((r) => r.method !== 'GET' && !r.url.includes('backfill'));
        check(writes.every((r) => JSON.parse(r.body).idempotency_key), 'every write carries an idempotency_key');
        check(writes.filter((r) => r.method === 'PUT').every((r) => JSON.parse(r.body).last_known_updated_at), 'every PUT names its base time');
        same(be.rows.size, 1, 'the backend holds one row');
      } finally { await be.stop(); }
    } },

  { name: 'REST adapter: backfill once, 5xx retried, a lost answer settled once, nothing sent twice',
    async fn(h) {
      const { be, mk } = await restBackend(h);
      try {
        be.addLegacy({ feeding_time: '2024-12-31T23:00:00.000Z', food_type: 'Formula', notes: 'before the upgrade' });
        const a = await mk('A');
        same((await a.sync()).pulled, 1, 'the first sync backfilled the legacy row and pulled it');
        await a.sync();
        same(be.requests.filter((r) => r.url.includes('backfill-client-ids')).length, 1, 'the backfill ran once');
        // 503: the push fails, the op waits and is delivered by the next round.
        be.failNext(1, 503);
        const r1 = await a.put('feedings', { feeding_time: '2025-01-02T08:00:00Z', food_type: 'Breast milk', notes: 'x' });
        const s1 = await a.sync();
        check(s1.error && s1.pushed === 0, `a 503 fails the round: ${JSON.stringify(s1)}`);
        const [op] = await a.outbox();
        same([op.status, op.attempts], ['pending', 1], 'the op waits out its backoff');
        same((await a.sync()).pushed, 1, 'a manual sync delivers it');
        // A lost answer: the row is written, the answer never arrives; the resend is not a second row.
        be.loseNextAnswer();
        const r2 = await a.put('feedings', { feeding_time: '2025-01-02T09:00:00Z', food_type: 'Formula', notes: 'lost answer' });
        check((await a.sync()).error, 'the cut answer is an error');
        const s2 = await a.sync();
        same([(await a.outbox()).length, s2.failed], [0, 0], 'the in-doubt op settled');
        same(be.rows.size, 3, 'three rows: legacy, 503 then delivered, lost answer — none twice');
        same((await getJson(be.url, be.token)).records.filter((r) => r.client_id === r2.id).length, 1, 'the lost-answer row once');
        const b = await mk('B');
        await b.sync();
        same(sorted((await b.list('feedings')).map((r) => r.notes)), ['before the upgrade', 'lost answer', 'x'], 'B has every row');
        same(await b.get('feedings', r1.id), await a.get('feedings', r1.id), 'and the same data');
        // A row gone from the backend (a 404 on PUT) is delete-vs-edit: asked, under onDelete 'ask'.
        be.rows.delete(r1.id);
        await a.patch('feedings', r1.id, { notes: 'edited after the row went' });
        same((await a.sync()).conflicts, 1, 'the 404 is a conflict');
        const [gone] = await a.conflicts();
        same([gone.kind, gone.recordId, gone.remote], ['delete-edit', r1.id, null], 'deleted there, edited here');
      } finally { await be.stop(); }
    } },

  { name: 'REST adapter: rows written in the same millisecond or committed late are not lost by `since`',
    async fn(h) {
      const { be, mk } = await restBackend(h);
      try {
        const a = await mk('A'), b = await mk('B');
        const frozen = Date.now();
        be.clock = () => frozen;                      // every row stamped in one millisecond
        await a.put('feedings', { feeding_time: '2025-01-03T08:00:00Z', food_type: 'Formula', notes: 'same ms 1' });
        await a.sync();
        same((await b.sync()).pulled, 1, 'B pulled the first');
        await a.put('feedings', { feeding_time: '2025-01-03T09:00:00Z', food_type: 'Formula', notes: 'same ms 2' });
        await a.sync();
        same((await getJson(`${be.url}?since=${new Date(frozen).toISOString()}`, be.token)).records.length, 0,
             'the backend really skips it for since = newest seen');
        same((await b.sync()).pulled, 1, 'B pulled the second, and not the first again');
        be.clock = () => Date.now();
        // A late commit: A's row is stamped, then B writes and pulls past it, then A's commits.
        be.commitDelayMs = 1500;
        await a.put('feedings', { feeding_time: '2025-01-03T10:00:00Z', food_type: 'Formula', notes: 'late' });
        const aSync = a.sync();
        await until('A\'s create reaching the backend', () => be.requests.some((r) => r.body.includes('"late"')));
        await b.put('feedings', { feeding_time: '2025-01-03T11:00:00Z', food_type: 'Formula', notes: 'after' });
        await b.sync();
        const afterB = await getJson(be.url, be.token);
        const newest = afterB.records.find((r) => r.notes === 'after').updated_at;
        same((await aSync).pushed, 1, 'A\'s late commit landed');
        same((await getJson(`${be.url}?since=${newest}`, be.token)).records.length, 0, 'the backend skips it for since = newest seen');
        same((await b.sync()).pulled, 1, 'B pulled the late row through the overlap');
        same(sorted((await b.list('feedings')).map((r) => r.notes)), ['after', 'late', 'same ms 1', 'same ms 2'], 'B has every row once');
        await a.sync();
        same(await a.count('feedings'), 4, 'A too');
      } finally { await be.stop(); }
    } },
];
