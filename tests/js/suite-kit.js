// suite-kit.js — what the browser suites share: assertions that say what differed, a
// deadline poll (no sleeping-and-hoping), and a scripted stand-in server behind the
// pluggable `remote.transport` (SPEC §11) for answers the real server never sends —
// wrong shapes, impossible times, lost answers. Used by api-suite.js and sync-suite.js.

export const fail = (msg) => { throw new Error(msg); };
export const check = (cond, msg) => { if (!cond) fail(msg); };
export const same = (a, b, what) => {
  const ja = JSON.stringify(a), jb = JSON.stringify(b);
  if (ja !== jb) fail(`${what}: expected ${jb}, got ${ja}`);
};
export async function rejects(promise, code, what) {
  try { await promise; } catch (e) {
    if (e.code !== code) fail(`${what}: expected ${code}, got ${e.code} (${e.message})`);
    check(typeof e.message === 'string' && e.message.length > 8, `${what}: the message says nothing`);
    return e;
  }
  return fail(`${what}: expected ${code}, but it succeeded`);
}
// Poll cond() until it holds or the deadline passes (then fail with what).
export async function until(cond, what, ms = 10000) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) fail(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// The stand-in server: a plain object the test steers.
//   remote.pulls    queue of pull answers: an array of changes, or fn(request) → a body
//                   (object or JSON text); empty → no changes
//   remote.answerPush(body, apply)  optional: the push answer; apply(body) is the default one
//   remote.serverIds  collections whose tmp_ creates get server ids (srv-1, srv-2, …)
//   remote.pushes, remote.calls ('pull' | 'push', in order), remote.cursors (of each pull)
//   remote.applied  op_id → how often the stand-in applied it (idempotent: a resent op_id
//                   is answered `duplicate` with the original result, SPEC §11)
export function scriptedRemote() {
  const remote = { pulls: [], pushes: [], calls: [], cursors: [], answerPush: null, serverIds: [], applied: new Map() };
  const results = new Map();
  let nextId = 0;
  const now = () => new Date().toISOString();
  const apply = (body) => ({ server_time: now(), results: body.ops.map((op) => {
    if (results.has(op.op_id)) return { ...results.get(op.op_id), status: 'duplicate' };
    const id = remote.serverIds.includes(op.collection) && op.id.startsWith('tmp_') ? `srv-${++nextId}` : op.id;
    const version = op.base_version + 1;
    const result = { op_id: op.op_id, status: 'applied', id, version,
      record: { collection: op.collection, id, version, data: op.kind === 'delete' ? null : op.data, updated_at: op.updated_at,
                deleted_at: op.kind === 'delete' ? op.updated_at : null, hlc: op.hlc, device_id: body.device_id } };
    results.set(op.op_id, result);
    remote.applied.set(op.op_id, (remote.applied.get(op.op_id) || 0) + 1);
    return result;
  }) });
  remote.transport = {
    async pull(request) {
      remote.calls.push('pull');
      remote.cursors.push(request.cursor);
      const next = remote.pulls.shift() || [];
      if (typeof next === 'function') return next(request);
      return { server_time: now(), changes: next, cursor: String(Date.now()), has_more: false, remaining: 0 };
    },
    async push(body) {
      remote.calls.push('push');
      remote.pushes.push(body);
      return remote.answerPush ? remote.answerPush(body, apply) : apply(body);
    },
  };
  return remote;
}

// A change as another device would have made it (SPEC §4 pull shape).
export function remoteChange(collection, id, version, data, extra = {}) {
  return { seq: version, collection, id, version, data, updated_at: new Date().toISOString(), deleted_at: null,
           hlc: `${String(Date.now()).padStart(15, '0')}-00000-other`, device_id: 'other', ...extra };
}
