// c-pouchdb.js — PouchDB 9 (dist/pouchdb.min.js, its default 'idb' adapter) with durability
// 'strict' forced on its readwrite IndexedDB transactions (peer.mjs; PouchDB asks for none and
// Chromium's default is 'relaxed'). Documents: 'r:<id>' a record with its server version,
// base version and pending flag, 'o:<n>' an outbox entry, 'c:<id>' a conflict kept aside,
// '_local/cursor' the cursor. A pulled page is one allDocs (the page's records and their
// conflicts) and one bulkDocs, then the cursor: PouchDB has no transaction across both, so
// the cursor commits right after the page (a crash between them replays the page, which the
// version rule makes harmless). The merge is peer.mjs's rule in JS.
import { pullInto, decide, forceStrictDurability } from './peer.mjs';

export const describe = { label: 'PouchDB 9 (strict)', settings: "adapter 'idb'; allDocs + bulkDocs per page, bulkDocs per write",
  durability: "'strict' forced on its readwrite transactions", version: () => self.PouchDB.version };

async function loadPouch() {
  if (self.PouchDB) return;
  // A classic script: evaluate it in this module worker's global scope.
  const src = await (await fetch('/node_modules/pouchdb/dist/pouchdb.min.js')).text();
  (0, eval)(src);
}

export async function open({ name, remote }) {
  await loadPouch();
  forceStrictDurability();
  const db = new self.PouchDB(`bench-pouch-${name}`, { adapter: 'idb' });
  await db.info();
  const local = await db.get('_local/cursor').catch(() => ({ _id: '_local/cursor', value: '' }));
  let cursorDoc = local;
  let seq = (await db.allDocs({ startkey: 'o:', endkey: 'o:\ufff0' })).rows.length;
  const outboxId = () => `o:${String(seq++).padStart(10, '0')}`;

  const store = {
    async cursor() { return cursorDoc.value; },
    async applyPage(page) {
      const keys = [];
      for (const c of page.changes) keys.push(`r:${c.id}`, `c:${c.id}`);
      const rows = (await db.allDocs({ keys, include_docs: true })).rows;
      const docs = new Map(rows.filter((r) => r.doc).map((r) => [r.id, r.doc]));
      const write = [];
      for (const c of page.changes) {
        const rec = docs.get(`r:${c.id}`);
        const what = decide(rec, c);
        if (what === 'conflict') {
          const prev = docs.get(`c:${c.id}`);
          write.push({ _id: `c:${c.id}`, ...(prev ? { _rev: prev._rev } : {}), remote: c.data, version: c.version });
        } else if (what === 'apply') {
          write.push({ _id: `r:${c.id}`, ...(rec ? { _rev: rec._rev } : {}), data: c.data, version: c.version,
            base_version: c.version, pending: false, deleted: !!c.deleted_at });
        }
      }
      const out = await db.bulkDocs(write);
      const bad = out.find((x) => x.error);
      if (bad) throw new Error(`bench: pouchdb bulkDocs: ${JSON.stringify(bad)}`);
      const put = await db.put({ ...cursorDoc, value: page.cursor });
      cursorDoc = { ...cursorDoc, _rev: put.rev, value: page.cursor };
    },
  };
  return {
    sync: () => pullInto(remote, store),
    async edit(pairs) {
      const rows = (await db.allDocs({ keys: pairs.map(([id]) => `r:${id}`), include_docs: true })).rows;
      const now = new Date().toISOString();
      const docs = [];
      pairs.forEach(([id, data], k) => {
        const rec = rows[k].doc;
        docs.push({ ...rec, data, pending: true },
          { _id: outboxId(), recordId: id, kind: 'update', data, base_version: rec.base_version, createdAt: now });
      });
      const out = await db.bulkDocs(docs);
      if (out.some((x) => x.error)) throw new Error('bench: pouchdb edit failed');
    },
    async write(id, data) {
      const out = await db.bulkDocs([{ _id: `r:${id}`, data, version: 0, base_version: 0, pending: true, deleted: false },
        { _id: outboxId(), recordId: id, kind: 'create', data, base_version: 0, createdAt: new Date().toISOString() }]);
      if (out.some((x) => x.error)) throw new Error('bench: pouchdb write failed');
    },
    pending: async () => (await db.allDocs({ startkey: 'o:', endkey: 'o:\ufff0' })).rows.length,
    async state() {
      const recs = (await db.allDocs({ startkey: 'r:', endkey: 'r:\ufff0', include_docs: true })).rows;
      const confs = (await db.allDocs({ startkey: 'c:', endkey: 'c:\ufff0', include_docs: true })).rows;
      return { records: recs.filter((r) => !r.doc.deleted).map((r) => [r.id.slice(2), r.doc.data]),
        conflicts: confs.map((r) => [r.id.slice(2), r.doc.remote]), pending: await this.pending() };
    },
    close: () => db.close(),
  };
}
