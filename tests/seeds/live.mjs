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
];
