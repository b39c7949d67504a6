// c-idb.js — raw IndexedDB doing syncore's work by hand: records (data + server version, base
// version, pending flag), an outbox, conflicts and the cursor in four object stores; one
// readwrite transaction per pulled page (records, conflicts, cursor) and one per write
// (record + outbox entry), all with durability 'strict'. The merge is peer.mjs's rule in JS.
import { pullInto, decide, request, completed } from './peer.mjs';

export const describe = { label: 'raw IndexedDB', settings: 'one readwrite transaction per page / per write',
  durability: "IndexedDB durability 'strict'" };

export async function open({ name, remote }) {
  const r = indexedDB.open(`bench-idb-${name}`, 1);
  r.onupgradeneeded = () => {
    const db = r.result;
    db.createObjectStore('records', { keyPath: 'id' });
    db.createObjectStore('outbox', { autoIncrement: true });
    db.createObjectStore('conflicts', { keyPath: 'recordId' });
    db.createObjectStore('meta', { keyPath: 'key' });
  };
  const db = await request(r);
  const rw = (stores) => db.transaction(stores, 'readwrite', { durability: 'strict' });
  const ro = (stores) => db.transaction(stores, 'readonly');

  const store = {
    async cursor() { return (await request(ro('meta').objectStore('meta').get('cursor')))?.value ?? ''; },
    async applyPage(page) {
      const tx = rw(['records', 'conflicts', 'meta']);
      const records = tx.objectStore('records');
      const conflicts = tx.objectStore('conflicts');
      for (const c of page.changes) {
        records.get(c.id).onsuccess = (e) => {
          const local = e.target.result;
          const what = decide(local, c);
          if (what === 'conflict') conflicts.put({ recordId: c.id, remote: c.data, version: c.version });
          else if (what === 'apply') {
            records.put({ id: c.id, data: c.data, version: c.version, base_version: c.version, pending: false, deleted: !!c.deleted_at });
          }
        };
      }
      tx.objectStore('meta').put({ key: 'cursor', value: page.cursor });
      await completed(tx);
    },
  };
  return {
    sync: () => pullInto(remote, store),
    async edit(pairs) {
      const tx = rw(['records', 'outbox']);
      const records = tx.objectStore('records');
      const outbox = tx.objectStore('outbox');
      const now = new Date().toISOString();
      for (const [id, data] of pairs) {
        records.get(id).onsuccess = (e) => {
          const rec = e.target.result;
          records.put({ ...rec, data, pending: true });
          outbox.add({ recordId: id, kind: 'update', data, base_version: rec.base_version, createdAt: now });
        };
      }
      await completed(tx);
    },
    async write(id, data) {
      const tx = rw(['records', 'outbox']);
      tx.objectStore('records').put({ id, data, version: 0, base_version: 0, pending: true, deleted: false });
      tx.objectStore('outbox').add({ recordId: id, kind: 'create', data, base_version: 0, createdAt: new Date().toISOString() });
      await completed(tx);
    },
    pending: () => request(ro('outbox').objectStore('outbox').count()),
    async state() {
      const tx = ro(['records', 'conflicts', 'outbox']);
      const [recs, confs, pending] = await Promise.all([request(tx.objectStore('records').getAll()),
        request(tx.objectStore('conflicts').getAll()), request(tx.objectStore('outbox').count())]);
      return { records: recs.filter((x) => !x.deleted).map((x) => [x.id, x.data]),
        conflicts: confs.map((x) => [x.recordId, x.remote]), pending };
    },
    async close() { db.close(); },
  };
}
