// 002-packing-list.mjs — seed 002, the packing-list app (SPEC §10.3): several devices per
// user make random interleaved offline edits (seeded, replayable: SEEDS_SEED=n) and converge;
// edits of different fields merge; the service worker's `sync` and `periodicsync` events,
// dispatched through the DevTools protocol while no page of the app is open, deliver the
// queue; and where a browser has no Background Sync, the worker's start-up does.
// Collection configuration: docs/RECIPES.md § Packing list (must match pages/sw-packing.js).
import { same, check, until, prng } from './lib.mjs';
import { client, tokenFor } from '../server/lib.mjs';

export const PACKING = { items: { strategy: 'merge-fields', fieldStrategy: 'lww', onDelete: 'latest', indexes: ['list'] } };

const state = (d) => d.list('items');

async function serverState(h) {
  const c = client(h.server, tokenFor('judge', h.space));
  const { changes } = await c.pullAll();
  return changes.filter((ch) => ch.data).map((ch) => ({ id: ch.id, ...ch.data })).sort((x, y) => (x.id < y.id ? -1 : 1));
}

// A page of the app controlled by the packing worker (sw-packing.js) in context `ctx`.
async function appPage(h, ctx, { nobgsync = false } = {}) {
  const dev = await h.device('packing', PACKING, { ctx });
  const q = `space=${h.space}${nobgsync ? '&nobgsync=1' : ''}`;
  await dev.call(async ([query, nb]) => {
    if (nb) Object.defineProperty(ServiceWorkerRegistration.prototype, 'sync', { get: () => undefined });
    await navigator.serviceWorker.register(`./sw-packing.js?${query}`, { type: 'module', scope: './' });
    await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller) await new Promise((r) => navigator.serviceWorker.addEventListener('controllerchange', r, { once: true }));
  }, [q, nobgsync]);
  return dev;
}

// The DevTools protocol's ServiceWorker domain, from a blank page of the same profile (the
// app's own pages are closed: nothing but the worker can sync).
async function devtools(ctx, origin) {
  const blank = await ctx.newPage();
  const cdp = await ctx.newCDPSession(blank);
  const regs = new Map();
  const versions = [];
  cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => { for (const r of e.registrations) if (!r.isDeleted) regs.set(r.scopeURL, r.registrationId); });
  cdp.on('ServiceWorker.workerVersionUpdated', (e) => { versions.push(...e.versions); });
  await cdp.send('ServiceWorker.enable');
  const scope = `${origin}/tests/seeds/pages/`;
  const registrationId = await until('the worker registration', () => regs.get(scope));
  return {
    cdp, scope, versions,
    sync: (tag) => cdp.send('ServiceWorker.dispatchSyncEvent', { origin, registrationId, tag, lastChance: false }),
    periodicSync: (tag) => cdp.send('ServiceWorker.dispatchPeriodicSyncEvent', { origin, registrationId, tag }),
    async restartWorker() {
      await cdp.send('ServiceWorker.stopAllWorkers');
      await cdp.send('ServiceWorker.startWorker', { scopeURL: scope });
    },
  };
}

const hasItem = (h, id) => async () => (await serverState(h)).some((r) => r.id === id);

export const tests = [
  { name: 'three devices, seeded random interleaved offline edits, converge to the server\'s state',
    async fn(h) {
      const seed = Number(process.env.SEEDS_SEED || 20250101);
      const rnd = prng(seed);
      const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
      const devs = [await h.device('p1', PACKING), await h.device('p2', PACKING), await h.device('p3', PACKING)];
      const ids = Array.from({ length: 10 }, (_, i) => `item${i}`);
      for (let round = 0; round < 5; round++) {
        const away = devs.filter(() => rnd() < 0.6);
        for (const d of away) await d.offline(true);
        for (let k = 0; k < 12; k++) {
          const d = pick(devs), id = pick(ids);
          const cur = await d.get('items', id);
          const r = rnd();
          if (!cur || r < 0.15) await d.put('items', { id, name: `thing ${id}`, list: pick(['beach', 'ski']), packed: false, qty: 1 });
          else if (r < 0.3) await d.del('items', id);
          else if (r < 0.65) await d.patch('items', id, { packed: rnd() < 0.5 });
          else await d.patch('items', id, { qty: 1 + Math.floor(rnd() * 5) });
        }
        for (const d of away) await d.offline(false);
        for (const d of [...devs].sort(() => rnd() - 0.5)) await d.sync();
      }
      for (let i = 0; i < 2; i++) for (const d of devs) await d.sync();
      const truth = await serverState(h);
      check(truth.length > 0, `seed ${seed}: something survived`);
      for (const d of devs) {
        same(await state(d), truth, `seed ${seed}: a device converged to the server's state`);
        same([(await d.outbox()).length, (await d.conflicts()).length], [0, 0], `seed ${seed}: nothing left queued or open`);
      }
    } },

  { name: 'edits of different fields of one item made offline merge on every device',
    async fn(h) {
      const a = await h.device('a', PACKING), b = await h.device('b', PACKING);
      await a.put('items', { id: 'tent', name: 'Tent', list: 'camping', packed: false, qty: 1 });
      await a.sync();
      await b.sync();
      await a.offline(true); await b.offline(true);
      await a.patch('items', 'tent', { packed: true });
      await b.patch('items', 'tent', { qty: 2 });
      await a.offline(false); await b.offline(false);
      await a.sync();
      same((await b.sync()).conflicts, 0, 'no question asked');
      await a.sync();
      const want = { id: 'tent', name: 'Tent', list: 'camping', packed: true, qty: 2 };
      same([await a.get('items', 'tent'), await b.get('items', 'tent')], [want, want], 'both fields kept on both devices');
    } },

  { name: 'a write made offline is delivered by Background Sync; sync and periodicsync dispatched through DevTools with no page open deliver the queue',
    async fn(h) {
      const ctx = await h.newContext();
      const app = await appPage(h, ctx);
      const tag = `syncore:packing-${h.space}`;
      await app.offline(true);
      await app.put('items', { id: 'boots', name: 'Boots', list: 'ski', packed: false, qty: 1 });
      await app.page.waitForFunction(async (t) => (await (await navigator.serviceWorker.ready).sync.getTags()).includes(t), tag);
      await app.call(() => window.store.close());
      await app.page.close();                              // no page of the app is open any more
      await ctx.setOffline(false);
      await until('the browser\'s Background Sync delivering the offline write', hasItem(h, 'boots'), 30000);
      // From here on the pages register nothing: only the events dispatched below can sync.
      const dt = await devtools(ctx, h.origin);
      for (const [id, dispatch] of [['goggles', () => dt.sync(tag)], ['poles', () => dt.periodicSync(tag)]]) {
        const dev = await h.device('packing', PACKING, { ctx });
        await dev.call(() => Object.defineProperty(ServiceWorkerRegistration.prototype, 'sync', { get: () => undefined }));
        await dev.offline(true);
        await dev.put('items', { id, name: id, list: 'ski', packed: false, qty: 1 });
        await dev.call(() => window.store.close());
        await dev.page.close();
        await ctx.setOffline(false);
        await dispatch();
        await until(`the dispatched event delivering '${id}'`, hasItem(h, id), 20000);
      }
      const peer = await h.device('peer', PACKING);
      await peer.sync();
      same((await peer.list('items')).map((r) => r.id), ['boots', 'goggles', 'poles'], 'another device got all three');
      const back = await h.device('packing', PACKING, { ctx });
      same((await back.outbox()).length, 0, 'the app, opened again, finds its outbox emptied by the worker');
    } },

  { name: 'without Background Sync (registration.sync removed), the worker\'s start-up delivers the queue',
    async fn(h) {
      const ctx = await h.newContext();
      const app = await appPage(h, ctx, { nobgsync: true });
      await app.offline(true);
      await app.put('items', { id: 'map', name: 'Map', list: 'hike', packed: false, qty: 1 });
      await app.call(() => window.store.close());
      await app.page.close();
      await ctx.setOffline(false);
      const dt = await devtools(ctx, h.origin);
      await dt.restartWorker();                            // the browser starts the worker again (no event to wait on)
      await until('the worker\'s start-up delivering the offline write', hasItem(h, 'map'), 20000);
    } },
];
