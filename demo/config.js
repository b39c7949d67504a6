// config.js — the demo farm's store configuration, shared by the page and its service
// worker: which device this window is (`?device=b` opens a second store, hence a second
// device id, on the same farm), the collections and how each one syncs, the dev token, and
// how an EGGlogU `egglogu_data` blob maps onto the collections.

export const SPACE = 'demo-farm';
export const DEVICES = { a: 'Device A', b: 'Device B' };
const STORE_PREFIX = 'egglogu-demo';

export const deviceFromLocation = (loc) => (new URLSearchParams(loc.search).get('device') === 'b' ? 'b' : 'a');
export const storeName = (device) => (device === 'b' ? `${STORE_PREFIX}-b` : STORE_PREFIX);
export const deviceOfStore = (name) => (name === `${STORE_PREFIX}-b` ? 'b' : 'a');

// Flocks ask on every concurrent edit (they are few and matter); production rows merge
// field by field and ask only when both devices changed the same field; the health log is
// last-write-wins, the overwritten version kept in the record's history. Deleting on one
// device while the other edits asks everywhere. A flock's `housedOn` is a calendar day, not a
// moment, so it is no timeField; `date` fields are moments, stored in UTC.
export const COLLECTIONS = {
  flocks: { strategy: 'ask', onDelete: 'ask', indexes: ['name'] },
  dailyProduction: { strategy: 'merge-fields', fieldStrategy: 'ask', onDelete: 'ask',
                     indexes: ['flockId', 'date'], timeFields: ['date'] },
  health: { strategy: 'lww', onDelete: 'ask', indexes: ['flockId', 'date'], timeFields: ['date'] },
  farm: { strategy: 'lww' },
  auditLog: { strategy: 'append-only', timeFields: ['at'] },
};

export const LEGACY_KEY = 'egglogu_data';
export const LEGACY_MAPPING = {
  flocks: 'flocks',
  dailyProduction: 'dailyProduction',
  vaccines: 'health',
  medications: 'health',
  outbreaks: 'health',
  farm: { collection: 'farm', singleton: true },
  auditLog: 'auditLog',
};

// A dev token from the reference server's --dev endpoint. Offline, asking would only fail
// (and a stream opened without a token is refused for good): wait for the connection.
export async function devToken() {
  const nav = self.navigator;
  if (nav && nav.onLine === false) await new Promise((r) => self.addEventListener('online', r, { once: true }));
  const res = await fetch('/auth/dev-token', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ sub: 'demo-farmer', space: SPACE, ttl: 12 * 3600 }),
  });
  if (!res.ok) throw new Error(`dev-token: HTTP ${res.status}`);
  return (await res.json()).token;
}

export function storeOptions(device, { auto = true } = {}) {
  return {
    name: storeName(device),
    storage: 'idb',
    remote: { url: `${self.location.origin}/sync`, token: devToken },
    collections: COLLECTIONS,
    sync: { auto, reconnectDebounceMs: 1500, intervalMs: 60000, retrySchedule: [5, 15, 60, 300] },
  };
}
