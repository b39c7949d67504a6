// egglogu-delta.mjs — a stand-in of seed 001's proposed delta endpoint (EGGlogU), written
// from the seed document, for js-glue/adapters/delta.js's tests. Node `http`, in memory.
//   POST /api/v1/sync/delta  {since?, deltas: [{collection, records}]} → {status, synced_at, deltas}
//   GET  /api/v1/sync/delta?since=<ISO>                              → {status, synced_at, deltas}
// Collections are the blob's paths (`flocks`, `feed.purchases`, …); every record has `id`,
// `_updatedAt` and `_deletedAt` and is kept whole. The seed's last-write-wins: a record is
// taken when its `_updatedAt` is not older than the one kept (a soft delete keeps the fields);
// `auditLog` is append-only (union: an id kept is never overwritten). The POST answers the
// records changed after `since` whose state is not what that request sent (the server's own
// deltas). Validation as the seed's security notes ask: an `_updatedAt` that does not parse or
// lies more than 5 minutes ahead makes the request a 400. Test hooks: `failNext(n, status)`,
// `loseNextAnswer()`, `requests` (method, url, body), `collections` (path → Map id → record).
import { send, cutAnswer, serveJson } from './http.mjs';

const FUTURE_MS = 5 * 60 * 1000;

export async function startDeltaBackend({ token = 'egg-token', appendOnly = ['auditLog'] } = {}) {
  const collections = new Map();
  const be = { collections, requests: [], failures: [], loseAnswers: 0,
    // The next n POSTs (GETs too with reads: true) answer `status`.
    failNext(n, status = 503, { reads = false } = {}) { for (let i = 0; i < n; i++) be.failures.push({ status, reads }); },
    loseNextAnswer() { be.loseAnswers++; } };
  const coll = (name) => { if (!collections.has(name)) collections.set(name, new Map()); return collections.get(name); };

  function changedSince(sinceMs, except) {
    const deltas = [];
    for (const [name, recs] of collections) {
      const records = [...recs.values()].filter((r) => Date.parse(r._updatedAt) > sinceMs && except(name, r));
      if (records.length) deltas.push({ collection: name, records });
    }
    return deltas;
  }

  function handle(req, res, body) {
    const url = new URL(req.url, 'http://x');
    if (url.pathname !== '/api/v1/sync/delta') return send(res, 404, { error: 'not found' });
    if (req.headers.authorization !== `Bearer ${token}`) return send(res, 401, { error: 'unauthorized' });
    const f = be.failures[0] && (req.method !== 'GET' || be.failures[0].reads) ? be.failures.shift() : null;
    if (f) return send(res, f.status, { error: `injected ${f.status}` });
    const now = Date.now();
    if (req.method === 'GET') {
      const since = url.searchParams.get('since');
      const sinceMs = since ? Date.parse(since) : -Infinity;
      if (since && !Number.isFinite(sinceMs)) return send(res, 400, { error: 'since is not a time' });
      return send(res, 200, { status: 'ok', synced_at: new Date(now).toISOString(), deltas: changedSince(sinceMs, () => true) });
    }
    if (req.method !== 'POST') return send(res, 405, { error: 'method not allowed' });
    let json;
    try { json = JSON.parse(body); } catch { return send(res, 400, { error: 'body is not JSON' }); }
    if (!json || !Array.isArray(json.deltas)) return send(res, 400, { error: 'deltas must be an array' });
    for (const d of json.deltas) {
      if (!d || typeof d.collection !== 'string' || !Array.isArray(d.records)) return send(res, 400, { error: 'each delta is {collection, records}' });
      for (const r of d.records) {
        const ms = Date.parse(r && r._updatedAt);
        if (!r || typeof r.id !== 'string') return send(res, 400, { error: `${d.collection}: a record without an id` });
        if (!Number.isFinite(ms)) return send(res, 400, { error: `${d.collection}/${r.id}: _updatedAt is not a time` });
        if (ms > now + FUTURE_MS) return send(res, 400, { error: `${d.collection}/${r.id}: _updatedAt is in the future` });
      }
    }
    const sent = new Set();
    for (const d of json.deltas) {
      const recs = coll(d.collection);
      for (const r of d.records) {
        const kept = recs.get(r.id);
        if (kept && appendOnly.includes(d.collection)) continue;
        if (kept && Date.parse(r._updatedAt) < Date.parse(kept._updatedAt)) continue;
        recs.set(r.id, r._deletedAt && kept ? { ...kept, ...r } : r);
        sent.add(`${d.collection}\u0000${r.id}\u0000${r._updatedAt}`);
      }
    }
    const sinceMs = json.since ? Date.parse(json.since) : -Infinity;
    const deltas = changedSince(sinceMs, (name, r) => !sent.has(`${name}\u0000${r.id}\u0000${r._updatedAt}`));
    if (be.loseAnswers > 0) { be.loseAnswers--; return cutAnswer(res); }
    return send(res, 200, { status: 'ok', synced_at: new Date().toISOString(), deltas });
  }

  const http = await serveJson({ handle, requests: be.requests, methods: 'GET, POST, OPTIONS',
                                 failBody: (e) => ({ error: String(e) }) });
  be.url = `http://127.0.0.1:${http.port}/api/v1/sync/delta`;
  be.token = token;
  be.stop = http.stop;
  return be;
}
