// Many pushers and pullers at once for a bounded time; afterwards every puller
// must hold exactly the server's state — no change skipped (the sequence-gap
// bug), none delivered twice, seqs strictly increasing. On PostgreSQL two server
// processes share the database and clients alternate between them.
import assert from 'node:assert/strict';
import { startServer, client, tokenFor, op, uid } from './lib.mjs';

export function concurrencyTests(backend, { seconds = 8, pushers = 6, pullers = 4 } = {}) {
  return [[`concurrent_pushers_and_pullers_should_never_skip_or_repeat_a_change (${seconds}s)`, async () => {
    const db = backend.freshDb();
    const servers = [await startServer(db, ['--rate', '0'])];
    if (backend.shared) servers.push(await startServer(db, ['--rate', '0']));
    try {
      const token = tokenFor(uid('load'));
      const clients = servers.map((s) => client(s, token));
      const truth = new Map();   // id -> highest version acknowledged by a push
      const stopAt = Date.now() + seconds * 1000;
      let pushed = 0, conflicts = 0;
      const ids = Array.from({ length: 40 }, (_, i) => `r${i}`);

      const pusher = async (n) => {
        const c = clients[n % clients.length];
        const known = new Map();
        let round = 0;
        while (Date.now() < stopAt) {
          const batch = [];
          for (let k = 0; k < 5; k++) {
            if ((round + k) % 2) batch.push(op('create', 'items', `p${n}-${round}-${k}`, { n, round }));
            else {
              const id = ids[(round * 7 + k + n) % ids.length];
              const v = known.get(id) ?? 0;
              batch.push(v ? op('update', 'items', id, { n, round }, v) : op('create', 'items', id, { n, round }));
            }
          }
          const res = await c.push(batch, `dev${n}`);
          for (const r of res.results) {
            if (r.status === 'applied') {
              pushed++;
              known.set(r.id, r.version);
              if ((truth.get(r.id) ?? 0) < r.version) truth.set(r.id, r.version);
            } else if (r.status === 'conflict') {
              conflicts++;
              known.set(r.id, r.version);
            } else throw new Error(`unexpected ${JSON.stringify(r)}`);
          }
          round++;
        }
      };

      const puller = async (n) => {
        const c = clients[(n + 1) % clients.length];
        const state = new Map();
        const seen = new Set();
        let cursor = '', lastSeq = 0, pages = 0;
        const page = async () => {
          const p = await c.pull(cursor, 37);
          for (const ch of p.changes) {
            assert.ok(ch.seq > lastSeq, `seq went back: ${ch.seq} after ${lastSeq}`);
            lastSeq = ch.seq;
            const key = `${ch.id}@${ch.version}`;
            assert.ok(!seen.has(key), `change delivered twice: ${key}`);
            seen.add(key);
            assert.ok((state.get(ch.id) ?? 0) < ch.version, `older version after newer: ${key}`);
            state.set(ch.id, ch.version);
          }
          cursor = p.cursor;
          pages++;
          return p.has_more;
        };
        while (Date.now() < stopAt) await page();
        return { state, page, pages: () => pages };
      };

      // Pullers' failures are collected, not left unhandled while pushers run.
      const pulls = Array.from({ length: pullers }, (_, i) => puller(i).catch((error) => ({ error })));
      await Promise.all(Array.from({ length: pushers }, (_, i) => pusher(i)));
      const finished = await Promise.all(pulls);
      for (const p of finished) if (p.error) throw p.error;
      const server = new Map((await clients[0].pullAll('', 5000)).changes.map((ch) => [ch.id, ch.version]));
      assert.deepEqual(new Map([...server].sort()), new Map([...truth].sort()), 'server state = acknowledged pushes');
      for (const p of finished) {
        while (await p.page()) { /* drain */ }
        assert.equal(p.state.size, server.size);
        for (const [id, v] of server) assert.equal(p.state.get(id), v, `puller has ${id}@${p.state.get(id)}, server ${v}`);
      }
      console.log(`      ${backend.name}: ${pushed} ops applied, ${conflicts} conflicts, ${server.size} records, ` +
        `${finished.map((p) => p.pages()).join('/')} pages pulled, ${servers.length} server(s)`);
    } finally { for (const s of servers) await s.stop(); }
  }]];
}

// Thousands of idle SSE streams on the worker threads, all poked by one push.
export function sseScaleTests(backend, { streams = 2000 } = {}) {
  return [[`events_should_hold_${streams}_idle_streams_and_poke_them_all`, async () => {
    const net = await import('node:net');
    const s = await startServer(backend.freshDb(), ['--rate', '0', '--threads', '4', '--max-connections-per-ip', '0',
      '--max-streams-per-token', String(streams), '--max-streams-per-partition', String(streams)]);
    const socks = [];
    try {
      const token = tokenFor(uid('many'));
      const got = { hello: 0, poke: 0 };
      await Promise.all(Array.from({ length: streams }, () => new Promise((res, rej) => {
        const sock = net.connect(s.port, '127.0.0.1', () => sock.write(`GET /sync/events?access_token=${token} HTTP/1.1\r\nHost: x\r\n\r\n`));
        let text = '', hello = false, poke = false;
        sock.on('data', (d) => {
          text += d;
          if (!hello && text.includes(': connected')) { hello = true; got.hello++; res(); }
          if (!poke && text.includes('event: poke')) { poke = true; got.poke++; }
        });
        sock.on('error', rej);
        socks.push(sock);
      })));
      assert.equal(got.hello, streams);
      const { until } = await import('./lib.mjs');
      await client(s, token).push([op('create', 'notes', 'x', {})]);
      await until('all pokes', () => got.poke === streams, 15000);
      console.log(`      ${backend.name}: ${streams} streams open and poked`);
    } finally {
      for (const k of socks) k.destroy();
      await s.stop();
    }
  }]];
}

// Several servers on one PostgreSQL: a push on one pokes streams on the other
// (LISTEN/NOTIFY).
export function crossServerTests(backend) {
  if (!backend.shared) return [];
  return [['events_should_poke_streams_on_another_server_of_the_same_database', async () => {
    const { openEvents } = await import('./lib.mjs');
    const db = backend.freshDb();
    const a = await startServer(db), b = await startServer(db);
    try {
      const token = tokenFor(uid('user'));
      const ev = await openEvents(a, token);
      await ev.next((x) => x.includes(': connected'));
      await client(b, token).push([op('create', 'notes', 'x', {})]);
      await ev.next((x) => x.includes('event: poke'), 5000);
      ev.close();
    } finally { await a.stop(); await b.stop(); }
  }]];
}
