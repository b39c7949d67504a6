// 003-ironflow.mjs — seed 003, the IronFlow workout log (SPEC §10.4): the seed's conflict
// matrix, one strategy per entity (workout ask, profile lww, volume max, recovery lww, the
// exercise library server-authoritative and read-only); a week offline with 5,000 queued ops
// pushed oldest first in batches with progress; a device clock 2 h fast does not win with a
// stale edit; a server answering 503 walks the retry schedule to `failed`, and retryFailed()
// delivers. Collection configuration: docs/RECIPES.md § IronFlow.
import { same, check, until } from './lib.mjs';
import { client, tokenFor, op } from '../server/lib.mjs';

export const IRONFLOW = {
  workouts: { strategy: 'ask', onDelete: 'latest', indexes: ['date'] },
  profile: { strategy: 'lww' },
  volume: { strategy: 'max', maxFields: ['chest', 'back', 'legs'] },
  recovery: { strategy: 'lww' },
  exercises: { strategy: 'server-wins', readOnly: true },
  sets: { strategy: 'ask', indexes: ['n'] },
};
const later = () => new Promise((r) => setTimeout(r, 1100));   // past the second device offsets agree within

export const tests = [
  { name: 'the per-entity matrix: workout asks, profile and recovery last-write-wins, volume takes the max, exercises read-only',
    async fn(h) {
      // The app's backend publishes the exercise library into the user's partition.
      const admin = client(h.server, tokenFor('coach', h.space));
      const pushed = await admin.push([op('create', 'exercises', 'bench', { name: 'Bench Press', muscle: 'chest' })], 'admin');
      same(pushed.results[0].status, 'applied', 'the library is on the server');
      const phone = await h.device('phone', IRONFLOW), tablet = await h.device('tablet', IRONFLOW);
      await phone.put('workouts', { id: 'w1', date: '2025-01-15', sets: ['Bench Press 3x225'] });
      await phone.put('profile', { id: 'me', units: 'lb', bodyweight: 180 });
      await phone.put('volume', { id: '2025-W03', chest: 6, back: 4, legs: 0 });
      await phone.put('recovery', { id: '2025-01-15', sleep: 7 });
      await phone.sync();
      await tablet.sync();
      same((await tablet.get('exercises', 'bench')).name, 'Bench Press', 'the library reached the device');
      const ro = await tablet.call(() => window.store.put('exercises', { id: 'bench', name: 'Mine' }).then(() => 'written', (e) => e.code));
      same(ro, 'SC_READ_ONLY', 'the library is read-only on the device');
      await phone.offline(true); await tablet.offline(true);
      await phone.patch('workouts', 'w1', { sets: ['Bench Press 3x225'], completedAt: '14:15' });
      await phone.patch('volume', '2025-W03', { chest: 12, back: 4 });
      await phone.patch('profile', 'me', { bodyweight: 181 });
      await phone.patch('recovery', '2025-01-15', { sleep: 6 });
      await later();
      await tablet.patch('workouts', 'w1', { sets: ['Bench Press 3x225', 'Squat 3x315'], completedAt: '14:20' });
      await tablet.patch('volume', '2025-W03', { chest: 9, back: 11, legs: 5 });
      await tablet.patch('profile', 'me', { bodyweight: 182 });
      await tablet.patch('recovery', '2025-01-15', { sleep: 8 });
      await phone.offline(false); await tablet.offline(false);
      await phone.sync();
      same((await tablet.sync()).conflicts, 1, 'exactly one question: the workout');
      const [c] = await tablet.conflicts();
      same([c.collection, c.recordId, c.kind, c.fields.sort()], ['workouts', 'w1', 'edit-edit', ['completedAt', 'sets']], 'the workout conflict');
      await tablet.resolve(c.id, 'mine');   // [ Keep Tablet ]
      await tablet.sync();
      await phone.sync();
      for (const d of [phone, tablet]) {
        same((await d.get('workouts', 'w1')).completedAt, '14:20', 'the chosen workout everywhere');
        same((await d.get('profile', 'me')).bodyweight, 182, 'profile: the later edit, silently');
        same((await d.get('recovery', '2025-01-15')).sleep, 8, 'recovery: the later edit, silently');
        same(await d.get('volume', '2025-W03'), { id: '2025-W03', chest: 12, back: 11, legs: 5 }, 'volume: the maximum of each counter');
        same((await d.conflicts()).length, 0, 'nothing left to ask');
      }
      const arch = await tablet.call(() => window.store.archive({ collection: 'profile', recordId: 'me' }));
      check(arch.some((v) => v.data && v.data.bodyweight === 181), 'the lost profile edit is in the archive');
      // The server changes the library: the devices follow, whatever they held.
      await admin.push([op('update', 'exercises', 'bench', { name: 'Barbell Bench Press', muscle: 'chest' }, 1)], 'admin');
      await phone.sync();
      same((await phone.get('exercises', 'bench')).name, 'Barbell Bench Press', 'server-authoritative updates arrive');
    } },

  { name: 'a week offline: 5,000 queued ops push oldest first in batches with progress; another device pages them in',
    async fn(h) {
      const a = await h.device('week', IRONFLOW, { sync: { auto: false, batchSize: 250 } });
      await a.offline(true);
      await a.call(async () => { for (let i = 0; i < 5000; i++) await window.store.put('sets', { id: `s${String(i).padStart(5, '0')}`, n: i }); });
      same((await a.status()).pending, 5000, '5,000 pending');
      await a.offline(false);
      const r = await a.sync();
      same([r.pushed, r.failed, r.error], [5000, 0, undefined], 'all pushed');
      const progress = await a.events('progress').then((e) => e.filter((x) => x.phase === 'push'));
      same(progress.length, 20, 'one progress event a batch');
      check(progress.every((p, i) => p.total === 5000 && p.done === Math.min(5000, (i + 1) * 250)), `progress counts up to the total: ${JSON.stringify(progress.slice(0, 3))}`);
      const ids = (await a.sent('/sync/push')).flatMap((b) => JSON.parse(b.body).ops.map((o) => o.id));
      same(ids.length, 5000, 'each op sent once');
      check(ids.every((id, i) => i === 0 || ids[i - 1] < id), 'oldest first');
      const b = await h.device('other', IRONFLOW);
      same((await b.sync()).pulled, 5000, 'B pulled all');
      const pulls = await b.events('progress').then((e) => e.filter((x) => x.phase === 'pull'));
      same(pulls.length, 10, 'ten pages of 500 (has_more)');
      same(pulls.map((p) => p.total), Array(10).fill(5000), 'pull total = done + remaining');
      same(await b.count('sets'), 5000, 'B holds all');
    } },

  { name: 'a device clock 2 h fast does not win with a stale edit',
    async fn(h) {
      const fast = await h.device('fast', IRONFLOW, { skewMs: 2 * 3600 * 1000 }), slow = await h.device('slow', IRONFLOW);
      await fast.sync();                 // learns the server's clock
      await fast.put('profile', { id: 'me', weight: 80 });
      same((await fast.sync()).pushed, 1, 'the fast device is not refused as future');
      await slow.sync();
      await fast.patch('profile', 'me', { weight: 81 });     // the stale edit, made first
      await later();
      await slow.patch('profile', 'me', { weight: 79 });     // the real latest edit
      await slow.sync();
      await fast.sync();
      await slow.sync();
      same((await fast.get('profile', 'me')).weight, 79, 'the later edit wins on the fast device');
      same((await slow.get('profile', 'me')).weight, 79, 'and on the other');
      const arch = await fast.call(() => window.store.archive({ collection: 'profile', recordId: 'me' }));
      check(arch.some((v) => v.data && v.data.weight === 81), 'the stale edit is in the archive');
    } },

  { name: 'a server answering 503 walks the retry schedule to failed; retryFailed() delivers',
    async fn(h) {
      const schedule = [0.2, 0.4, 0.8];
      const a = await h.device('retry', IRONFLOW, { sync: { auto: true, retrySchedule: schedule, intervalMs: 3600000, reconnectDebounceMs: 50 } });
      await a.page.waitForFunction(() => window.store.status().lastSyncAt);
      const attempts = [];
      await a.page.route('**/sync/push', (route) => { attempts.push(Date.now()); route.fulfill({ status: 503, body: '{"error":"down"}' }); });
      await a.put('workouts', { id: 'w9', date: '2025-01-16', sets: ['Deadlift 1x405'] });
      await until('the op to become failed', async () => (await a.outbox()).some((o) => o.status === 'failed'), 20000);
      const [o] = await a.outbox();
      same([o.status, o.attempts, attempts.length], ['failed', 4, 4], 'the first try and one retry per step of the schedule');
      check(/503/.test(o.lastError), `the error is kept: ${o.lastError}`);
      for (let k = 1; k < attempts.length; k++) {
        check(attempts[k] - attempts[k - 1] >= schedule[k - 1] * 1000 - 50, `retry ${k} waited its step (${attempts[k] - attempts[k - 1]} ms)`);
      }
      same((await a.status()).failed, 1, 'status counts it failed');
      await a.page.unroute('**/sync/push');
      await a.call(() => window.store.retryFailed());
      await until('retryFailed() delivering', async () => (await a.outbox()).length === 0, 10000);
      const peer = await h.device('peer', IRONFLOW);
      await peer.sync();
      same((await peer.get('workouts', 'w9')).sets, ['Deadlift 1x405'], 'the server has it');
    } },
];
