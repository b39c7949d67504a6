// c-wasqlite.js — wa-sqlite as PowerSync ships it (npm @journeyapps/wa-sqlite: the Asyncify
// build dist/wa-sqlite-async.mjs with src/examples/IDBBatchAtomicVFS.js, the VFS PowerSync's
// web SDK uses for IndexedDB) in this dedicated worker. IDBBatchAtomicVFS writes a
// transaction's pages as one IndexedDB transaction (SQLITE_IOCAP_BATCH_ATOMIC, no journal
// file); PRAGMA synchronous=FULL makes those transactions durability 'strict'. Connection
// settings as PowerSync's web SDK opens it: temp_store MEMORY, cache_size 50 MiB
// (its cacheSizeKb default). The schema and the merge in SQL are sql.mjs's; one transaction
// per pulled page and per write.
import SQLiteESMFactory from '/node_modules/@journeyapps/wa-sqlite/dist/wa-sqlite-async.mjs';
import * as SQLite from '/node_modules/@journeyapps/wa-sqlite/src/sqlite-api.js';
import { IDBBatchAtomicVFS } from '/node_modules/@journeyapps/wa-sqlite/src/examples/IDBBatchAtomicVFS.js';
import { pullInto } from './peer.mjs';
import * as SQL from './sql.mjs';

let api = null;
export const describe = { label: 'wa-sqlite IDBBatchAtomic', settings: "dedicated worker, Asyncify build, lockPolicy 'exclusive', temp_store MEMORY, cache_size 50 MiB (PowerSync's defaults), merge in SQL (json_each)",
  durability: "synchronous=FULL (IndexedDB 'strict')", version: () => api?.libversion?.() };

export async function open({ name, remote }) {
  if (!api) {
    const module = await SQLiteESMFactory();
    api = SQLite.Factory(module);
    api.vfs_register(await IDBBatchAtomicVFS.create('bench-idbbatch', module, { lockPolicy: 'exclusive' }), true);
  }
  const sqlite3 = api;
  const db = await sqlite3.open_v2(`${name}.db`);
  // One statement with binds; → rows as arrays.
  async function run(sql, binds) {
    const out = [];
    for await (const stmt of sqlite3.statements(db, sql)) {
      if (binds) sqlite3.bind_collection(stmt, binds);
      while ((await sqlite3.step(stmt)) === SQLite.SQLITE_ROW) out.push(sqlite3.row(stmt));
    }
    return out;
  }
  async function txn(fn) {
    await sqlite3.exec(db, 'BEGIN IMMEDIATE');
    try { await fn(); await sqlite3.exec(db, 'COMMIT'); } catch (e) { await sqlite3.exec(db, 'ROLLBACK'); throw e; }
  }
  await sqlite3.exec(db, 'PRAGMA temp_store=MEMORY; PRAGMA cache_size=-51200; PRAGMA synchronous=FULL');
  for (const s of SQL.SCHEMA) await run(s);

  const store = {
    async cursor() { return (await run(SQL.CURSOR))[0]?.[0] ?? ''; },
    applyPage: (_page, text) => txn(async () => { for (const s of SQL.APPLY_PAGE) await run(s, [text]); }),
  };
  const pending = async () => (await run(SQL.PENDING))[0][0];
  return {
    sync: () => pullInto(remote, store),
    edit: (pairs) => txn(async () => {
      const now = new Date().toISOString();
      for (const [id, data] of pairs) for (const s of SQL.EDIT) await run(s, SQL.bindsFor(s, [id, JSON.stringify(data), now]));
    }),
    write: (id, data) => txn(async () => {
      const now = new Date().toISOString();
      for (const s of SQL.CREATE) await run(s, SQL.bindsFor(s, [id, JSON.stringify(data), now]));
    }),
    pending,
    async state() {
      return { records: (await run(SQL.RECORDS)).map(([id, d]) => [id, JSON.parse(d)]),
        conflicts: (await run(SQL.CONFLICTS)).map(([id, d]) => [id, JSON.parse(d)]), pending: await pending() };
    },
    close: () => sqlite3.close(db),
  };
}
