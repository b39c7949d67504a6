// c-dexie.js — Dexie 4 with the tables seed 000 proposes (feeding_records keyed '++id' with a
// client_id index, conflicts, sync_queue; here `records` holds EGGlogU rows) plus a meta table
// for the cursor. The merge runs in JS inside one Dexie 'rw' transaction per page: the page's
// records and queued operations are looked up by client_id, peer.mjs's version rule decides,
// bulkPut writes. Durability: Dexie's chromeTransactionDurability 'strict'.
import Dexie from '/node_modules/dexie/dist/dexie.mjs';
import { pullInto, decide } from './peer.mjs';

export const describe = { label: 'Dexie 4', settings: "seed 000's tables, '++id' + client_id index; one rw transaction per page / per write",
  durability: "chromeTransactionDurability 'strict'", version: () => Dexie.version };

export async function open({ name, remote }) {
  const db = new Dexie(`bench-dexie-${name}`, { chromeTransactionDurability: 'strict' });
  db.version(1).stores({
    records: '++id, &client_id, updated_at',
    conflicts: '++id, client_id, timestamp, resolved',
    sync_queue: '++id, client_id, operation, created_at, retry_count',
    meta: 'key',
  });
  await db.open();

  const store = {
    async cursor() { return (await db.meta.get('cursor'))?.value ?? ''; },
    applyPage: (page) => db.transaction('rw', db.records, db.conflicts, db.sync_queue, db.meta, async () => {
      const ids = page.changes.map((c) => c.id);
      const [rows, queued, open] = await Promise.all([db.records.where('client_id').anyOf(ids).toArray(),
        db.sync_queue.where('client_id').anyOf(ids).toArray(), db.conflicts.where('client_id').anyOf(ids).toArray()]);
      const byId = new Map(rows.map((r) => [r.client_id, r]));
      const base = new Map(queued.map((q) => [q.client_id, q.last_known_version]));
      const conflictKey = new Map(open.map((c) => [c.client_id, c.id]));
      const put = [], conflicts = [], now = new Date().toISOString();
      for (const c of page.changes) {
        const row = byId.get(c.id);
        const local = row && { version: row.version, base_version: base.get(c.id) ?? row.version, pending: base.has(c.id) };
        const what = decide(local, c);
        if (what === 'conflict') {
          conflicts.push({ ...(conflictKey.has(c.id) ? { id: conflictKey.get(c.id) } : {}), client_id: c.id,
            local_data: row.data, server_data: c.data, version: c.version, timestamp: now, resolved: 0 });
        } else if (what === 'apply') {
          put.push({ ...(row ? { id: row.id } : {}), client_id: c.id, data: c.data, version: c.version,
            deleted: c.deleted_at ? 1 : 0, updated_at: c.updated_at });
        }
      }
      await Promise.all([db.records.bulkPut(put), db.conflicts.bulkPut(conflicts), db.meta.put({ key: 'cursor', value: page.cursor })]);
    }),
  };
  return {
    sync: () => pullInto(remote, store),
    edit: (pairs) => db.transaction('rw', db.records, db.sync_queue, async () => {
      const rows = await db.records.where('client_id').anyOf(pairs.map(([id]) => id)).toArray();
      const byId = new Map(rows.map((r) => [r.client_id, r]));
      const now = new Date().toISOString();
      await db.records.bulkPut(pairs.map(([id, data]) => ({ ...byId.get(id), data, updated_at: now })));
      await db.sync_queue.bulkAdd(pairs.map(([id, data]) => ({ client_id: id, operation: 'update', payload: data,
        last_known_version: byId.get(id).version, idempotency_key: crypto.randomUUID(), created_at: now, retry_count: 0 })));
    }),
    write: (id, data) => db.transaction('rw', db.records, db.sync_queue, async () => {
      const now = new Date().toISOString();
      await db.records.add({ client_id: id, data, version: 0, deleted: 0, updated_at: now });
      await db.sync_queue.add({ client_id: id, operation: 'create', payload: data, last_known_version: 0,
        idempotency_key: crypto.randomUUID(), created_at: now, retry_count: 0 });
    }),
    pending: () => db.sync_queue.count(),
    state: () => db.transaction('r', db.records, db.conflicts, db.sync_queue, async () => {
      const [recs, confs, pending] = await Promise.all([db.records.toArray(), db.conflicts.toArray(), db.sync_queue.count()]);
      return { records: recs.filter((r) => !r.deleted).map((r) => [r.client_id, r.data]),
        conflicts: confs.filter((c) => !c.resolved).map((c) => [c.client_id, c.server_data]), pending };
    }),
    async close() { db.close(); },
  };
}
