// faults.mjs — Faults: three devices write and sync through fault-proxy.mjs, which drops,
// delays, duplicates and truncates answers and answers 500/429 at random (seeded:
// SEEDS_SEED=n replays a run). Then the proxy heals, and every device must converge to the
// server's state with nothing acknowledged lost: each device's own records end at the last
// value it wrote; the shared ones agree everywhere. Also: a truncated push answer changes
// nothing locally and the op is settled exactly once.
import { same, check, prng } from './lib.mjs';
import { client, tokenFor } from '../server/lib.mjs';
import { startFaultProxy } from './fault-proxy.mjs';

const COLS = { notes: { strategy: 'lww', indexes: ['owner'] } };
// Long enough that no op gives up while faults last (failed ops would wait for retryFailed()).
const SYNC = { auto: false, batchSize: 5, retrySchedule: Array(30).fill(1) };

async function serverState(h) {
  const { changes } = await client(h.server, tokenFor('judge', h.space)).pullAll();
  return changes.filter((c) => c.data).map((c) => ({ id: c.id, ...c.data })).sort((x, y) => (x.id < y.id ? -1 : 1));
}

export const tests = [
  { name: 'through a proxy that drops, delays, duplicates, truncates and answers 500/429: after healing all converge, nothing acknowledged lost',
    async fn(h) {
      const seed = Number(process.env.SEEDS_SEED || 424242);
      const rnd = prng(seed);
      const proxy = await startFaultProxy(h.origin, { rnd: prng(seed + 1) });
      try {
        const names = ['d1', 'd2', 'd3'];
        const devs = [];
        for (const n of names) devs.push(await h.device(n, COLS, { origin: proxy.url, sync: SYNC }));
        const last = {};        // id → the last value its owner wrote (own records)
        let errors = 0;
        for (let round = 0; round < 8; round++) {
          for (let k = 0; k < devs.length; k++) {
            const d = devs[k];
            for (let w = 0; w < 3; w++) {
              const own = `${names[k]}-${Math.floor(rnd() * 4)}`;
              const value = `${own}@${round}.${w}`;
              await d.put('notes', { id: own, owner: names[k], text: value });
              last[own] = value;
              if (rnd() < 0.5) await d.put('notes', { id: `shared-${Math.floor(rnd() * 3)}`, owner: 'all', text: `${names[k]}@${round}.${w}` });
            }
            const r = await d.sync();
            if (r.error) errors++;
          }
        }
        const met = Object.entries(proxy.log).filter(([f, n]) => f !== 'pass' && n > 0).map(([f]) => f);
        check(met.length >= 4, `seed ${seed}: the run met most faults: ${JSON.stringify(proxy.log)}`);
        check(errors > 0, `seed ${seed}: some rounds failed under faults`);
        proxy.heal();
        for (const d of devs) await d.call(() => window.store.retryFailed());
        for (let i = 0; i < 2; i++) for (const d of devs) same((await d.sync()).error, undefined, `seed ${seed}: a healed round succeeds`);
        const truth = await serverState(h);
        for (const [id, value] of Object.entries(last)) {
          same(truth.find((r) => r.id === id)?.text, value, `seed ${seed}: ${id} ends at its owner's last write`);
        }
        for (const d of devs) {
          same(await d.list('notes'), truth, `seed ${seed}: a device converged to the server's state`);
          same((await d.outbox()).length, 0, `seed ${seed}: nothing left queued`);
        }
        console.log(`      faults met (seed ${seed}): ${JSON.stringify(proxy.log)}`);
      } finally { await proxy.stop(); }
    } },

  { name: 'a truncated push answer changes nothing locally; the op is settled exactly once',
    async fn(h) {
      const a = await h.device('trunc', COLS);
      await a.put('notes', { id: 'n1', text: 'hello' });
      await a.page.route('**/sync/push', async (route) => {
        const res = await route.fetch();
        await route.fulfill({ status: 200, body: (await res.text()).slice(0, 20), headers: { 'content-type': 'application/json' } });
      });
      const r1 = await a.sync();
      check(r1.error && r1.pushed === 0, `the truncated answer is an error: ${JSON.stringify(r1)}`);
      same(await a.get('notes', 'n1'), { id: 'n1', text: 'hello' }, 'the record is untouched');
      await a.page.unroute('**/sync/push');
      const r2 = await a.sync();
      same(r2.pushed + r2.pulled, 1, 'settled once: by the duplicate answer or by pulling its own applied change');
      same((await a.outbox()).length, 0, 'outbox empty');
      const b = await h.device('trunc-peer', COLS);
      await b.sync();
      same(await b.list('notes'), [{ id: 'n1', text: 'hello' }], 'the server applied it exactly once');
    } },
];
