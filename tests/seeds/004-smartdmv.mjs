// 004-smartdmv.mjs — seed 004, the SmartDMV vet clinic (SPEC §10.5), on the reference
// server started with `--server-ids pets,appointments --derive
// appointments.clientId=pets.ownerId@petId` (lib.mjs): a pet and its appointment created
// offline get real ids, the appointment's petId follows and the server-derived clientId
// arrives; a pull pages through has_more over a few thousand records; conflicts name their
// affected fields; auto-sync fires on a real reconnect and not on a start that was already
// online. Collection configuration: docs/RECIPES.md § SmartDMV.
import { same, check, until } from './lib.mjs';
import { client, tokenFor, op } from '../server/lib.mjs';

export const SMARTDMV = {
  pets: { idFrom: 'server', strategy: 'merge-fields', fieldStrategy: 'ask', indexes: ['ownerId'] },
  appointments: { idFrom: 'server', refs: { petId: 'pets' }, strategy: 'merge-fields', fieldStrategy: 'ask',
                  timeFields: ['date'], indexes: ['petId', 'date'] },
};
const AUTO = { auto: true, reconnectDebounceMs: 300, intervalMs: 3600000 };

export const tests = [
  { name: 'pet and appointment created offline get real ids; petId follows; the derived clientId arrives',
    async fn(h) {
      const a = await h.device('front-desk', SMARTDMV), b = await h.device('exam-room', SMARTDMV);
      await a.offline(true);
      const pet = await a.put('pets', { name: 'Rex', species: 'dog', ownerId: 'user-7' });
      check(pet.id.startsWith('tmp_'), `a temporary id: ${pet.id}`);
      const appt = await a.put('appointments', { title: 'Checkup', type: 'checkup', date: '2025-03-01 10:00:00+01:00',
                                                 durationMinutes: 30, petId: pet.id, practitionerId: 456, practiceId: 1 });
      same([appt.date, appt.clientId], ['2025-03-01T09:00:00.000Z', undefined], 'stored in UTC, no clientId in the request');
      await a.offline(false);
      const r = await a.sync();
      same([r.pushed, r.failed], [2, 0], 'both pushed, the pet first');
      const [p] = await a.list('pets');
      const [ap] = await a.list('appointments');
      check(!p.id.startsWith('tmp_') && !ap.id.startsWith('tmp_'), `real ids: ${p.id}, ${ap.id}`);
      same([await a.count('pets'), await a.count('appointments')], [1, 1], 'no copy left under the temporary ids');
      same([(await a.get('pets', pet.id)).id, (await a.get('appointments', appt.id)).id], [p.id, ap.id],
           'an app still holding a temporary id finds the record under its real id');
      same([ap.petId, ap.clientId], [p.id, 'user-7'], 'petId follows the remap; clientId derived from the pet\'s owner');
      const pushes = (await a.sent('/sync/push')).map((x) => JSON.parse(x.body).ops);
      check(pushes.flat().every((o) => o.collection !== 'appointments' || !String(o.data.petId).startsWith('tmp_')),
            'the appointment never travelled with a temporary petId');
      await b.sync();
      same([await b.get('pets', p.id), await b.get('appointments', ap.id)], [p, ap], 'the other device sees them under their real ids');
    } },

  { name: 'pull pages through has_more over 3,000 appointments',
    async fn(h) {
      const admin = client(h.server, tokenFor('clinic', h.space));
      for (let k = 0; k < 3; k++) {
        const ops = Array.from({ length: 1000 }, (_, i) => op('create', 'appointments', `appt-${k * 1000 + i}`,
          { title: `Visit ${k * 1000 + i}`, petId: 'pet-1', date: '2025-03-02T10:00:00.000Z' }));
        same((await admin.push(ops, 'clinic')).results.filter((x) => x.status === 'applied').length, 1000, 'seeded');
      }
      const d = await h.device('tablet', SMARTDMV);
      const r = await d.sync();
      same([r.pulled, r.error], [3000, undefined], 'all pulled');
      const pages = await d.events('progress').then((e) => e.filter((x) => x.phase === 'pull'));
      same(pages.map((p) => p.done), [500, 1000, 1500, 2000, 2500, 3000], 'six pages of 500 until has_more is false');
      same(pages.map((p) => p.total), Array(6).fill(3000), 'the total known from the first page (remaining)');
      same(await d.count('appointments', { where: { petId: 'pet-1' } }), 3000, 'all stored');
      same((await d.sync()).pulled, 0, 'the cursor holds: nothing twice');
    } },

  { name: 'conflicts name their affected fields',
    async fn(h) {
      const a = await h.device('desk', SMARTDMV), b = await h.device('vet', SMARTDMV);
      await a.put('pets', { name: 'Tom', species: 'cat', ownerId: 'user-9' });
      await a.sync();
      const [pet] = await a.list('pets');
      await a.put('appointments', { title: 'Vaccines', date: '2025-04-01T09:00:00Z', durationMinutes: 20, petId: pet.id });
      await a.sync();
      await b.sync();
      const [appt] = await b.list('appointments');
      await a.offline(true); await b.offline(true);
      await a.patch('appointments', appt.id, { title: 'Vaccines + checkup', date: '2025-04-01T10:00:00Z' });
      await b.patch('appointments', appt.id, { title: 'Rabies shot', durationMinutes: 30 });
      await a.offline(false); await b.offline(false);
      await a.sync();
      same((await b.sync()).conflicts, 1, 'one conflict');
      const [c] = await b.conflicts();
      const differing = [...new Set([...Object.keys(c.local), ...Object.keys(c.remote)])]
        .filter((k) => JSON.stringify(c.local[k]) !== JSON.stringify(c.remote[k])).sort();
      check(c.fields.includes('title'), `the field both changed is named: ${c.fields}`);
      same([...c.fields].sort(), differing, 'the affected fields are exactly those that differ');
      await b.resolve(c.id, { ...c.local, title: 'Rabies shot + checkup' });
      await b.sync(); await a.sync();
      same((await a.get('appointments', appt.id)).title, 'Rabies shot + checkup', 'the merged record reached the other device');
    } },

  { name: 'auto-sync fires on a real reconnect only, not on a start that was already online',
    async fn(h) {
      const a = await h.device('online-start', { visits: {} }, { sync: AUTO });
      let pulls = 0;
      await a.page.route('**/sync/pull*', (route) => { pulls++; route.continue(); });
      await a.page.waitForFunction(() => !window.store.status().syncing && window.store.status().lastSyncAt);
      const before = pulls;
      await a.call(() => window.dispatchEvent(new Event('online')));
      await new Promise((r) => setTimeout(r, 900));   // three debounces: proves a negative, nothing to poll for
      same(pulls, before, 'no sync on an online event without a real offline→online edge');
      await a.offline(true);
      await a.put('visits', { id: 'v1', pet: 'Rex' });
      same((await a.status()).pending, 1, 'queued while offline');
      await a.offline(false);
      await until('the reconnect sync', async () => (await a.status()).pending === 0, 15000);
      // A store opened while offline has seen a real edge once the network is back.
      const b = await h.device('offline-start', { visits: {} }, { sync: AUTO, openOffline: true });
      await b.put('visits', { id: 'v2', pet: 'Tom' });
      await b.offline(false);
      await until('the first reconnect of a store opened offline', async () => (await b.status()).pending === 0, 15000);
      same((await b.list('visits')).map((v) => v.id), ['v1', 'v2'], 'and it pulled what the other pushed');
    } },
];
