// feedings-rest.mjs — a stand-in of seed 000's backend (the baby-feeding log), written from
// the seed document, for js-glue/adapters/rest.js's tests. Node `http`, in memory:
//   feeding_records(id SERIAL, client_id UUID UNIQUE, feeding_time TIMESTAMPTZ, food_type,
//                   notes, created_at, updated_at)  — plus deleted_at (soft delete, so that
//                   `?since=` can tell other devices about deletes; the seed is silent)
//   GET    /api/feedings?since=<ISO>            records with updated_at > since (none: all)
//   POST   /api/feedings                        create          → {success, record}
//   PUT    /api/feedings/:client_id             update          → {success, record}
//   DELETE /api/feedings/:client_id             soft delete     → {success, record}
//   POST   /api/feedings/backfill-client-ids    client_id for legacy rows → {success, backfilled}
// A write naming `last_known_updated_at` other than the row's updated_at is
// `409 {success: false, conflict: true, server_record}` (the seed's push conflict); an
// `idempotency_key` seen before repeats the first answer. updated_at is the server's clock
// (NOW()), so two writes can share a millisecond — which is what breaks `since` cursors.
// Test hooks: `clock` (a function giving ms), `commitDelayMs` (the next write is stamped now
// but visible only that much later: a long transaction), `failNext(n, status)`,
// `loseNextAnswer()` (apply, then cut the connection), `requests` (what arrived).
import { send, cutAnswer, serveJson } from './http.mjs';
import { randomUUID } from 'node:crypto';

export async function startFeedingsBackend({ token = 'feed-token' } = {}) {
  const rows = new Map();          // client_id → row (visible)
  const legacy = [];               // rows from before the migration: no client_id yet
  const answers = new Map();       // idempotency_key → [status, body]
  let serial = 0;
  const be = {
    clock: () => Date.now(),
    commitDelayMs: 0,
    failures: [],
    loseAnswers: 0,
    requests: [],
    rows,
    // The next n writes (POST/PUT/DELETE; reads too with reads: true) answer `status`.
    failNext(n, status = 503, { retryAfter = null, reads = false } = {}) { for (let i = 0; i < n; i++) be.failures.push({ status, retryAfter, reads }); },
    loseNextAnswer() { be.loseAnswers++; },
    addLegacy(fields) { legacy.push({ id: ++serial, client_id: null, ...fields, created_at: iso(be.clock()), updated_at: iso(be.clock()), deleted_at: null }); },
  };

  const iso = (ms) => new Date(ms).toISOString();
  const stamp = (prev) => {
    let ms = be.clock();
    if (prev && Date.parse(prev.updated_at) >= ms) ms = Date.parse(prev.updated_at) + 1;   // per record, time moves on
    return ms;
  };
  const normalizeTime = (v) => {
    const ms = typeof v === 'string' ? Date.parse(v.replace(' ', 'T')) : NaN;
    return Number.isFinite(ms) ? iso(ms) : null;
  };

  async function write(res, key, fn) {
    if (key && answers.has(key)) return send(res, ...answers.get(key));
    const [status, body, row] = fn();
    const delay = be.commitDelayMs;
    be.commitDelayMs = 0;
    if (delay) await new Promise((r) => setTimeout(r, delay));   // stamped already, visible only now
    if (row) rows.set(row.client_id, row);
    if (key && status === 200) answers.set(key, [status, body]);
    if (be.loseAnswers > 0) { be.loseAnswers--; return cutAnswer(res); }
    return send(res, status, body);
  }

  function fields(body) {
    const out = {};
    for (const k of ['feeding_time', 'food_type', 'notes']) if (k in body) out[k] = body[k];
    if ('feeding_time' in out) {
      const t = normalizeTime(out.feeding_time);
      if (!t) return { error: `feeding_time is not a time: ${JSON.stringify(out.feeding_time)}` };
      out.feeding_time = t;
    }
    return { out };
  }

  async function handle(req, res, body) {
    const url = new URL(req.url, 'http://x');
    const m = url.pathname.match(/^\/api\/feedings(?:\/([^/]+))?$/);
    if (!m) return send(res, 404, { success: false, error: 'not found' });
    if (req.headers.authorization !== `Bearer ${token}`) return send(res, 401, { success: false, error: 'unauthorized' });
    const f = be.failures[0] && (req.method !== 'GET' || be.failures[0].reads) ? be.failures.shift() : null;
    if (f) return send(res, f.status, { success: false, error: `injected ${f.status}` }, f.retryAfter ? { 'Retry-After': String(f.retryAfter) } : {});
    const id = m[1] && decodeURIComponent(m[1]);
    if (req.method === 'GET' && !id) {
      const since = url.searchParams.get('since');
      const sinceMs = since ? Date.parse(since) : -Infinity;
      if (since && !Number.isFinite(sinceMs)) return send(res, 400, { success: false, error: 'since is not a time' });
      const records = [...rows.values()].filter((r) => Date.parse(r.updated_at) > sinceMs)
        .sort((a, b) => Date.parse(a.updated_at) - Date.parse(b.updated_at));
      return send(res, 200, { success: true, records });
    }
    if (req.method === 'POST' && id === 'backfill-client-ids') {
      let n = 0;
      for (const r of legacy.splice(0)) {
        r.client_id = randomUUID();
        r.updated_at = iso(stamp(null));
        rows.set(r.client_id, r);
        n++;
      }
      return send(res, 200, { success: true, backfilled: n });
    }
    let json;
    try { json = body ? JSON.parse(body) : {}; } catch { return send(res, 400, { success: false, error: 'body is not JSON' }); }
    const key = json.idempotency_key;
    if (req.method === 'POST' && !id) {
      const cid = json.client_id;
      if (typeof cid !== 'string' || !cid) return send(res, 400, { success: false, error: 'client_id is required' });
      const { out, error } = fields(json);
      if (error) return send(res, 400, { success: false, error });
      return write(res, key, () => {
        if (rows.has(cid)) return [409, { success: false, conflict: true, server_record: rows.get(cid) }];
        const now = iso(stamp(null));
        const row = { id: ++serial, client_id: cid, feeding_time: null, food_type: null, notes: null, ...out,
                      created_at: now, updated_at: now, deleted_at: null };
        return [200, { success: true, record: row }, row];
      });
    }
    if ((req.method === 'PUT' || req.method === 'DELETE') && id) {
      const { out, error } = req.method === 'PUT' ? fields(json) : { out: {} };
      if (error) return send(res, 400, { success: false, error });
      return write(res, key, () => {
        const cur = rows.get(id);
        if (!cur) return [404, { success: false, error: `no feeding ${id}` }];
        if (json.last_known_updated_at !== undefined && Date.parse(json.last_known_updated_at) !== Date.parse(cur.updated_at)) {
          return [409, { success: false, conflict: true, server_record: cur }];
        }
        const now = iso(stamp(cur));
        const row = req.method === 'PUT' ? { ...cur, ...out, updated_at: now, deleted_at: null }
                                         : { ...cur, updated_at: now, deleted_at: now };
        return [200, { success: true, record: row }, row];
      });
    }
    return send(res, 405, { success: false, error: 'method not allowed' });
  }

  const http = await serveJson({ handle, requests: be.requests, methods: 'GET, POST, PUT, DELETE, OPTIONS',
                                 exposeHeaders: 'Date, Retry-After', failBody: (e) => ({ success: false, error: String(e) }) });
  be.url = `http://127.0.0.1:${http.port}/api/feedings`;
  be.token = token;
  be.stop = http.stop;
  return be;
}
