// delta.js — a remote.transport (SPEC §11) for seed 001's delta endpoint (EGGlogU):
// `POST {url}` with `{since, deltas: [{collection, records}]}` answering the server's own
// deltas, and `GET {url}?since=` answering `{synced_at, deltas}`. Records carry `id`,
// `_updatedAt` and `_deletedAt` beside their fields; one payload holds several collections,
// named by the blob's dotted paths (`feed.purchases`), which `collections` maps to syncore's
// names (`feedPurchases`).
//
// The backend keeps no versions and gives no per-record answers; it keeps, per record, the
// newest `_updatedAt` (seed 001's last-write-wins). So the adapter stamps `_updatedAt` with the
// push time (server-corrected): a record reaches the backend as new, and other devices' `since`
// windows see it, however long it waited offline. The edit's own clock travels in one more
// field, `_hlc`, by which the other devices' cores order last-write-wins. The POST asks for
// everything changed since just before the push: a pushed record the answer holds in another
// state lost on the backend and is a `conflict` carrying the backend's record (the core then
// applies the collection's strategy: lww archives the loser, ask asks); one it does not mention
// was taken, `applied` at its stamp. The stamp's milliseconds are the version. A 400 for a batch
// is retried op by op, so one bad record is `rejected` alone and never blocks the others. Pull
// asks `?since=` with cursor.js's overlapping window (same-millisecond and late records are
// not lost). What this backend cannot give: docs/ADAPTERS.md.

import { createAuthorizedFetch, transportError, parseRetryAfter } from '../transport.js';
import { parseCursor, sinceOf, advanceCursor, msOf, hlcOf } from './cursor.js';

const DEVICE = 'delta';
const META = new Set(['id', '_updatedAt', '_deletedAt', '_hlc']);
const HLC_RE = /^\d{15}-\d{5}-([A-Za-z0-9_-]{1,64})$/;

// options = { url, collections: { syncoreName: 'backend.path' | true }, overlapMs: 30000, token, timeoutMs, fetch }
export function createDeltaTransport(options) {
  if (!options || typeof options.url !== 'string' || !options.collections || typeof options.collections !== 'object') {
    throw new TypeError('createDeltaTransport: options need a url (…/api/v1/sync/delta) and collections { name: "path" }');
  }
  const url = options.url.replace(/\/+$/, '');
  const overlapMs = options.overlapMs ?? 30000;
  const pathOf = new Map();
  const nameOf = new Map();
  for (const [name, path] of Object.entries(options.collections)) {
    const p = path === true ? name : String(path);
    pathOf.set(name, p);
    nameOf.set(p, name);
  }
  const send = createAuthorizedFetch(options);
  let offsetMs = 0;   // backend clock − ours, from synced_at

  async function call(method, query, body) {
    const init = { method, headers: {} };
    if (body !== undefined) { init.body = JSON.stringify(body); init.headers['Content-Type'] = 'application/json'; }
    const sentAt = Date.now();
    const res = await send(url + query, init);
    let text;
    try { text = await res.text(); } catch (e) { throw transportError(`truncated answer on ${method} ${url}: ${e.message}`, 0, 0, e); }
    let json = null;
    try { json = JSON.parse(text); } catch { /* judged below */ }
    if (res.status !== 200) {
      const why = json && json.error ? `: ${json.error}` : '';
      throw transportError(`HTTP ${res.status} on ${method} ${url}${why}`, res.status, parseRetryAfter(res.headers.get('Retry-After')));
    }
    if (!json || typeof json !== 'object' || !Array.isArray(json.deltas)) {
      throw transportError(`unreadable answer on ${method} ${url}: expected {synced_at, deltas: [...]}`, 0, 0);
    }
    const syncedMs = msOf(json.synced_at);
    if (Number.isFinite(syncedMs)) offsetMs = syncedMs - Math.round((sentAt + Date.now()) / 2);
    return { json, syncedMs };
  }

  // The backend's records → SPEC §4 changes (collections this store does not map are skipped).
  function changesOf(deltas) {
    const out = [];
    for (const d of deltas) {
      const name = d && nameOf.get(d.collection);
      if (!name || !Array.isArray(d.records)) continue;
      for (const r of d.records) {
        const ms = msOf(r && r._updatedAt);
        if (!r || typeof r.id !== 'string' || !Number.isInteger(ms) || ms < 1) {
          throw transportError(`the backend sent a ${d.collection} record without an id or a readable _updatedAt`, 0, 0);
        }
        const data = {};
        for (const [k, v] of Object.entries(r)) if (!META.has(k)) data[k] = v;
        const deleted = r._deletedAt != null;
        const edit = typeof r._hlc === 'string' && HLC_RE.exec(r._hlc);
        out.push({ collection: name, id: r.id, version: ms, data: deleted ? null : data,
                   updated_at: new Date(ms).toISOString(), deleted_at: deleted ? new Date(msOf(r._deletedAt) || ms).toISOString() : null,
                   hlc: edit ? r._hlc : hlcOf(ms, DEVICE), device_id: edit ? edit[1] : DEVICE });
      }
    }
    return out;
  }

  // One POST for these ops → one result per op.
  async function pushOps(ops) {
    const stampMs = Date.now() + offsetMs;
    const byPath = new Map();
    const sent = new Map();
    ops.forEach((op, i) => {
      const ms = stampMs + i;   // distinct per record of the batch; every one newer than the push began
      const at = new Date(ms).toISOString();
      const meta = { id: op.id, _updatedAt: at, _deletedAt: op.kind === 'delete' ? at : null, _hlc: op.hlc };
      const rec = op.kind === 'delete' ? meta : { ...op.data, ...meta };
      const path = pathOf.get(op.collection);
      if (!byPath.has(path)) byPath.set(path, []);
      byPath.get(path).push(rec);
      sent.set(`${op.collection}\u0000${op.id}`, { op, ms, rec });
    });
    const deltas = [...byPath].map(([collection, records]) => ({ collection, records }));
    const { json, syncedMs } = await call('POST', '', { since: new Date(stampMs - 1).toISOString(), deltas });
    const theirs = new Map(changesOf(json.deltas).map((c) => [`${c.collection}\u0000${c.id}`, c]));
    const results = ops.map((op) => {
      const { ms, rec } = sent.get(`${op.collection}\u0000${op.id}`);
      const other = theirs.get(`${op.collection}\u0000${op.id}`);
      if (other && (other.version !== ms || (other.data === null) !== (op.kind === 'delete'))) {
        return { op_id: op.op_id, id: op.id, status: 'conflict', version: other.version, record: other };
      }
      const [record] = changesOf([{ collection: pathOf.get(op.collection), records: [rec] }]);
      return { op_id: op.op_id, id: op.id, status: 'applied', version: ms, record };
    });
    return { results, syncedMs };
  }

  return {
    async push(body) {
      const unknown = body.ops.filter((op) => !pathOf.has(op.collection));
      const known = body.ops.filter((op) => pathOf.has(op.collection));
      const results = unknown.map((op) => ({ op_id: op.op_id, id: op.id, status: 'rejected', version: 0, record: null,
                                            error: `createDeltaTransport: no backend path for collection '${op.collection}'` }));
      let syncedMs = NaN;
      if (known.length) {
        try {
          const r = await pushOps(known);
          results.push(...r.results);
          syncedMs = r.syncedMs;
        } catch (e) {
          if (e.status !== 400 || known.length === 1) {
            if (e.status === 400) return { results: [{ op_id: known[0].op_id, id: known[0].id, status: 'rejected', version: 0, record: null, error: e.message }] };
            throw e;
          }
          for (const op of known) {   // find the bad record: the others still go
            try { results.push(...(await pushOps([op])).results); } catch (e1) {
              if (e1.status !== 400) throw e1;
              results.push({ op_id: op.op_id, id: op.id, status: 'rejected', version: 0, record: null, error: e1.message });
            }
          }
        }
      }
      const out = { results };
      if (Number.isFinite(syncedMs)) out.server_time = new Date(syncedMs).toISOString();
      return out;
    },

    async pull({ cursor }) {
      const c = parseCursor(cursor);
      const since = sinceOf(c, overlapMs);
      const { json, syncedMs } = await call('GET', since === null ? '' : `?since=${encodeURIComponent(new Date(since).toISOString())}`);
      const changes = changesOf(json.deltas);
      const { fresh, next } = advanceCursor(c, changes.map((ch) => ({ collection: ch.collection, id: ch.id, ms: ch.version, ch })), syncedMs, overlapMs);
      const out = { changes: fresh.map((f) => f.ch), cursor: next, has_more: false, remaining: 0 };
      if (Number.isFinite(syncedMs)) out.server_time = new Date(syncedMs).toISOString();
      return out;
    },
  };
}
