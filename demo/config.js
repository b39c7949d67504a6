// The demo's store configuration, shared by the page and its service worker.
export const STORE_NAME = 'demo-farm';

export async function devToken() {
  const res = await fetch('/auth/dev-token', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ sub: 'demo-user', space: 'demo-farm', ttl: 3600 }),
  });
  if (!res.ok) throw new Error(`dev-token: HTTP ${res.status}`);
  return (await res.json()).token;
}

export const storeOptions = {
  name: STORE_NAME,
  storage: 'idb',
  remote: { url: `${self.location.origin}/sync`, token: devToken },
  collections: {
    flocks: { strategy: 'lww', indexes: ['name'], timeFields: ['updated'] },
    logs: { strategy: 'ask', onDelete: 'ask', indexes: ['flockId'], refs: { flockId: 'flocks' }, timeFields: ['at'] },
  },
  sync: { auto: true, reconnectDebounceMs: 2000, intervalMs: 60000 },
};
