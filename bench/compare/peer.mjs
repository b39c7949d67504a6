// peer.mjs — what every contestant other than syncore shares: fetching the pull pages from
// the real server (the same GET /sync/pull pages syncore's transport fetches, SPEC §4) and the
// version rule of the merge the JS contestants run by hand. A change to a record with an
// unpushed local edit whose base version the change moved past is a conflict kept aside (the
// local edit stays); any other newer change is applied; an older or equal one is skipped.
import { PAGE } from './data.mjs';

// Pull every page from the db's cursor on; db.applyPage(page, text) commits a page and its
// cursor (text: the raw answer, for the contestants that merge in SQL). → changes pulled.
export async function pullInto(remote, db) {
  let cursor = await db.cursor();
  let pulled = 0;
  for (;;) {
    const url = `${remote.base}/sync/pull?cursor=${encodeURIComponent(cursor)}&limit=${PAGE}`;
    const res = await fetch(url, { headers: { Authorization: `Bearer ${remote.token}` } });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`bench: pull answered ${res.status}: ${text.slice(0, 200)}`);
    const page = JSON.parse(text);
    await db.applyPage(page, text);
    pulled += page.changes.length;
    cursor = page.cursor;
    if (!page.has_more) return pulled;
  }
}

// local: { version, base_version, pending } or undefined → 'apply' | 'conflict' | 'skip'.
export function decide(local, change) {
  if (local && local.pending) return change.version > local.base_version ? 'conflict' : 'skip';
  if (local && change.version <= local.version) return 'skip';
  return 'apply';
}

// Promise helpers for raw IndexedDB requests and transactions.
export const request = (r) => new Promise((resolve, reject) => {
  r.onsuccess = () => resolve(r.result);
  r.onerror = () => reject(r.error);
});
export const completed = (tx) => new Promise((resolve, reject) => {
  tx.oncomplete = () => resolve();
  tx.onerror = () => reject(tx.error);
  tx.onabort = () => reject(tx.error || new Error('transaction aborted'));
});

// Force durability 'strict' on every readwrite transaction of this worker (for libraries that
// do not ask for one: Chromium's default is 'relaxed'). Each contestant runs in a worker of its
// own, so nothing else is touched.
export function forceStrictDurability() {
  const orig = IDBDatabase.prototype.transaction;
  if (orig.strictPatched) return;
  const patched = function transaction(stores, mode, options) {
    return orig.call(this, stores, mode, mode === 'readwrite' ? { ...options, durability: 'strict' } : options);
  };
  patched.strictPatched = true;
  IDBDatabase.prototype.transaction = patched;
}
