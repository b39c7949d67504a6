// rest.js — a remote.transport (SPEC §11) for a per-resource REST backend: seed 000's
// feeding-log API (`GET {url}?since=`, `POST {url}`, `PUT`/`DELETE {url}/:client_id`,
// `{success, record}` and `409 {success: false, conflict: true, server_record}`), so an app
// keeps its backend and gets syncore's outbox, conflicts and merge.
//
// The backend has no versions and no change sequence, only the time it last wrote a row
// (`timeField`). So that time is the version (its epoch milliseconds): a push names the time
// its edit started from as `last_known_updated_at`, and the backend's 409 is a `conflict`
// carrying its record; a 404 on PUT/DELETE is a conflict with `record: null` (SPEC §11, the
// core treats it as delete-vs-edit). Each op carries its op_id as `idempotency_key`, so a
// resend after a lost answer repeats the first answer instead of writing twice. A 429, a 5xx,
// a network failure or an unreadable answer fails the whole push (the core retries it on its
// schedule; the ops already written answer from their idempotency keys); another 4xx rejects
// that op with the backend's message. Pull asks `?since=` with the overlapping window of
// cursor.js, so rows stamped in the same millisecond or committed late are not lost. The first
// pull from an empty cursor (the first sync after the upgrade) first calls the one-time
// `POST {url}/backfill-client-ids`. What this backend cannot give: docs/ADAPTERS.md.

import { createAuthorizedFetch, transportError, parseRetryAfter } from '../transport.js';
import { parseCursor, sinceOf, advanceCursor, msOf, hlcOf } from './cursor.js';

const DEVICE = 'rest';

// options = { url, collection, idField: 'client_id', timeField: 'updated_at', deletedField: 'deleted_at',
//             serverFields: ['id', 'created_at'], overlapMs: 10000, backfill: 'backfill-client-ids' | false,
//             token, timeoutMs, fetch }
export function createRestTransport(options) {
  if (!options || typeof options.url !== 'string' || typeof options.collection !== 'string') {
    throw new TypeError('createRestTransport: options need a url (the resource, e.g. …/api/feedings) and a collection');
  }
  const url = options.url.replace(/\/+$/, '');
  const collection = options.collection;
  const idField = options.idField || 'client_id';
  const timeField = options.timeField || 'updated_at';
  const deletedField = options.deletedField || 'deleted_at';
  const serverFields = new Set(options.serverFields || ['id', 'created_at']);
  const overlapMs = options.overlapMs ?? 10000;
  const backfill = options.backfill === undefined ? 'backfill-client-ids' : options.backfill;
  const send = createAuthorizedFetch(options);

  async function call(method, path, body) {
    const init = { method, headers: {} };
    if (body !== undefined) { init.body = JSON.stringify(body); init.headers['Content-Type'] = 'application/json'; }
    const res = await send(url + path, init);
    let text;
    try { text = await res.text(); } catch (e) { throw transportError(`truncated answer on ${method} ${path}: ${e.message}`, 0, 0, e); }
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { /* judged below */ }
    const retryable = res.status === 429 || res.status >= 500 || res.status === 401;
    if (retryable) {
      const why = json && json.error ? `: ${json.error}` : '';
      throw transportError(`HTTP ${res.status} on ${method} ${url}${path}${why}`, res.status, parseRetryAfter(res.headers.get('Retry-After')));
    }
    if (json === null && res.status === 200) {
      // The backend may have written a row whose answer got cut: retryable, same idempotency key.
      throw transportError(`unreadable answer on ${method} ${url}${path}`, 0, 0);
    }
    const date = Date.parse(res.headers.get('Date') || '');
    return { status: res.status, json, serverMs: Number.isFinite(date) ? date : NaN };
  }

  // A backend row → a SPEC §4 record. Its time is its version.
  function toRecord(row) {
    if (!row || typeof row !== 'object') return null;
    const ms = msOf(row[timeField]);
    const id = row[idField];
    if (typeof id !== 'string' || !Number.isInteger(ms) || ms < 1) {
      throw transportError(`the backend sent a row without a ${idField} or a readable ${timeField}: ${JSON.stringify(row).slice(0, 200)}`, 0, 0);
    }
    const deleted = row[deletedField] != null;
    const data = {};
    for (const [k, v] of Object.entries(row)) {
      if (k !== idField && k !== timeField && k !== deletedField && !serverFields.has(k)) data[k] = v;
    }
    return { collection, id, version: ms, data: deleted ? null : data, updated_at: new Date(ms).toISOString(),
             deleted_at: deleted ? new Date(msOf(row[deletedField]) || ms).toISOString() : null,
             hlc: hlcOf(ms, DEVICE), device_id: DEVICE };
  }

  async function pushOne(op) {
    const base = op.base_version ? new Date(op.base_version).toISOString() : undefined;
    const path = `/${encodeURIComponent(op.id)}`;
    let answer;
    if (op.kind === 'create') {
      answer = await call('POST', '', { ...op.data, [idField]: op.id, idempotency_key: op.op_id });
    } else if (op.kind === 'update') {
      answer = await call('PUT', path, { ...op.data, [idField]: op.id, last_known_updated_at: base, idempotency_key: op.op_id });
    } else {
      answer = await call('DELETE', path, { last_known_updated_at: base, idempotency_key: op.op_id });
    }
    const { status, json } = answer;
    const result = { op_id: op.op_id, id: op.id };
    if (status === 200 && json && json.success) {
      const record = toRecord(json.record);
      return { answer, result: { ...result, status: 'applied', version: record.version, record } };
    }
    if (status === 409 || (json && json.conflict)) {
      const record = toRecord(json && json.server_record);
      return { answer, result: { ...result, status: 'conflict', version: record ? record.version : 0, record } };
    }
    if (status === 404 && op.kind !== 'create') {
      return { answer, result: { ...result, status: 'conflict', version: 0, record: null } };
    }
    const why = json && (json.error || json.message) ? json.error || json.message : `HTTP ${status}`;
    return { answer, result: { ...result, status: 'rejected', version: 0, record: null, error: String(why) } };
  }

  return {
    async push(body) {
      const results = [];
      let serverMs = NaN;
      for (const op of body.ops) {
        if (op.collection !== collection) {
          results.push({ op_id: op.op_id, id: op.id, status: 'rejected', version: 0, record: null,
                         error: `this REST backend holds only '${collection}', not '${op.collection}'` });
          continue;
        }
        const { answer, result } = await pushOne(op);   // one request per op, oldest first
        if (Number.isFinite(answer.serverMs)) serverMs = answer.serverMs;
        results.push(result);
      }
      const out = { results };
      if (Number.isFinite(serverMs)) out.server_time = new Date(serverMs).toISOString();
      return out;
    },

    async pull({ cursor }) {
      const c = parseCursor(cursor);
      if (c.t === null && backfill) {
        const r = await call('POST', `/${backfill}`, {});
        if (r.status !== 200 && r.status !== 404) throw transportError(`backfill answered HTTP ${r.status}`, r.status, 0);
      }
      const since = sinceOf(c, overlapMs);
      const { status, json, serverMs } = await call('GET', since === null ? '' : `?since=${encodeURIComponent(new Date(since).toISOString())}`);
      const rows = Array.isArray(json) ? json : json && Array.isArray(json.records) ? json.records : null;
      if (status !== 200 || !rows) throw transportError(`GET ${url} answered HTTP ${status} without a list of records`, status === 200 ? 0 : status, 0);
      const records = rows.map(toRecord);
      const { fresh, next } = advanceCursor(c, records.map((r) => ({ collection, id: r.id, ms: r.version, r })), serverMs, overlapMs);
      const out = { changes: fresh.map((f) => f.r), cursor: next, has_more: false, remaining: 0 };
      if (Number.isFinite(serverMs)) out.server_time = new Date(serverMs).toISOString();
      return out;
    },
  };
}
