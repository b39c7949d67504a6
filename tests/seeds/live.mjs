// live.mjs — Live: a change pushed by one device reaches an open second device through the
// server's `poke` (GET /sync/events, SPEC §4) well before the interval would have pulled it.
// Both devices sync by themselves (sync.auto) with an hour's interval and B never writes, so
// within the test's deadline only a poke can make B pull.
import { same, until } from './lib.mjs';

const AUTO = { auto: true, reconnectDebounceMs: 300, intervalMs: 3600000 };

export const tests = [
  { name: 'a change pushed by one device reaches an open second device by poke, long before the interval',
    async fn(h) {
      const cols = { visits: {} };
      const a = await h.device('writer', cols, { sync: AUTO }), b = await h.device('watcher', cols, { sync: AUTO });
      for (const d of [a, b]) await d.page.waitForFunction(() => window.store.status().lastSyncAt && !window.store.status().syncing);
      for (let i = 1; i <= 3; i++) {
        await a.put('visits', { id: `v${i}`, pet: 'Rex', n: i });   // auto: the write triggers A's push
        await until(`B receiving v${i} live`, async () => (await b.events('change')).some((e) => e.origin === 'remote' && e.ids.includes(`v${i}`)), 15000);
        same(await b.get('visits', `v${i}`), { id: `v${i}`, pet: 'Rex', n: i }, `B holds v${i}`);
      }
    } },
  { name: 'the event stream never opens without its token: after token() failed it opens with one, and pokes arrive',
    async fn(h) {
      const cols = { visits: {} };
      const a = await h.device('writer2', cols, { sync: AUTO });
      const ctx = await h.newContext();
      // B's token service fails for its first 2.5 s: its first sync fails, and the stream must
      // not open without a token (the server would refuse it and the browser give up for good).
      await ctx.addInitScript(() => { window.__failTokensFor = 2500; });
      const b = await h.device('watcher2', cols, { sync: AUTO, ctx });
      await a.page.waitForFunction(() => window.store.status().lastSyncAt && !window.store.status().syncing);
      await until('B\'s token service back', async () => b.call(() => Date.now() >= window.tokenFailUntil), 10000);
      await a.put('visits', { id: 'w1', pet: 'Rex', n: 1 });
      // Only the stream can make B pull within the deadline (an hour's interval, no writes on B).
      await until('B receiving w1 live', async () => (await b.events('change')).some((e) => e.origin === 'remote' && e.ids.includes('w1')), 20000);
      same(await b.get('visits', 'w1'), { id: 'w1', pet: 'Rex', n: 1 }, 'B holds w1');
    } },
];
