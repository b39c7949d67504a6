// cursor.js — a pull cursor for backends that can only answer "everything changed after
// time T" (seed 000's `?since=`, seed 001's `?since=`), shared by rest.js and delta.js.
//
// A plain `since = newest time seen` loses records: two written in the same millisecond
// when the pull saw only the first, or one stamped at T that commits after a pull already
// went past T (a long transaction, a slow request, a client-stamped time). So the cursor
// asks again from `t - overlapMs` every time (the window overlaps the last one) and keeps
// the (record, time) pairs it has already delivered inside that window, so the overlap is
// not delivered twice. `t` advances to the server's clock of the answer (or to the newest
// time seen when the server sends no clock), never backwards. A record stamped or committed
// more than overlapMs behind the cursor is still lost: docs/ADAPTERS.md says how to size it.
//
// The cursor travels through the core as an opaque string (SPEC §4): JSON of
// { v: 1, t: ms, seen: { "<collection>\u0000<id>": ms } }. An empty string is the start.

const VERSION = 1;

export function parseCursor(text) {
  if (!text) return { t: null, seen: {} };
  let c;
  try { c = JSON.parse(text); } catch { c = null; }
  if (!c || c.v !== VERSION || (c.t !== null && !Number.isFinite(c.t)) || typeof c.seen !== 'object' || !c.seen) {
    throw new Error(`adapter cursor is not one this adapter wrote: ${String(text).slice(0, 80)}`);
  }
  return { t: c.t, seen: c.seen };
}

// The `since` to ask for (ms, or null for everything).
export function sinceOf(cursor, overlapMs) {
  return cursor.t === null ? null : Math.max(0, cursor.t - overlapMs);
}

const keyOf = (collection, id) => `${collection}\u0000${id}`;

// records: [{ collection, id, ms }] as the backend answered them (ms = the record's time).
// → { fresh: the records not yet delivered, next: the cursor string to hand the core }.
export function advanceCursor(cursor, records, serverMs, overlapMs) {
  const seen = { ...cursor.seen };
  const fresh = [];
  let newest = cursor.t === null ? 0 : cursor.t;
  for (const r of records) {
    const key = keyOf(r.collection, r.id);
    if (r.ms > newest) newest = r.ms;
    if (seen[key] === r.ms) continue;              // delivered by an earlier, overlapping window
    seen[key] = r.ms;
    fresh.push(r);
  }
  const t = Math.max(cursor.t === null ? 0 : cursor.t, Number.isFinite(serverMs) ? serverMs : newest);
  // The next window starts at t - overlapMs: pairs older than that can never come back.
  const floor = t - overlapMs;
  for (const key of Object.keys(seen)) if (seen[key] <= floor) delete seen[key];
  return { fresh, next: JSON.stringify({ v: VERSION, t, seen }) };
}

// A time field → epoch ms, or NaN.
export function msOf(value) {
  if (typeof value === 'number') return value;
  return typeof value === 'string' ? Date.parse(value) : NaN;
}

// The core orders last-write-wins by hlc (SPEC §11); a backend keeping only a time gets an
// hlc made from that time, counter 0, under a device id naming the backend.
export function hlcOf(ms, device) {
  return `${String(Math.max(0, Math.floor(ms))).padStart(15, '0')}-00000-${device}`;
}
