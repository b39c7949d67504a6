// c-sahpool.js — the official SQLite wasm (npm @sqlite.org/sqlite-wasm) on its opfs-sahpool VFS
// in this dedicated worker: OPFS sync access handles, synchronous SQLite calls, rollback
// journal, PRAGMA synchronous=FULL, and the same 50 MiB page cache and in-memory temp store as
// the wa-sqlite contestant (PowerSync's defaults) so the two SQLite stacks differ only in VFS. The schema and the merge in SQL are sql.mjs's; one
// transaction per pulled page and per write.
import sqlite3InitModule from '/node_modules/@sqlite.org/sqlite-wasm/dist/index.mjs';
import { pullInto } from './peer.mjs';
import * as SQL from './sql.mjs';

let sqlite3 = null;
export const describe = { label: 'SQLite wasm opfs-sahpool', settings: 'dedicated worker, journal_mode DELETE, temp_store MEMORY, cache_size 50 MiB, merge in SQL (json_each)',
  durability: 'synchronous=FULL (OPFS flush per transaction)', version: () => sqlite3?.version?.libVersion };

export async function open({ name, remote }) {
  sqlite3 ??= await sqlite3InitModule({ print: () => {}, printErr: () => {} });
  const pool = await sqlite3.installOpfsSAHPoolVfs({ name: 'bench-sahpool', directory: '/bench-sahpool' });
  const db = new pool.OpfsSAHPoolDb(`/${name}.db`);
  db.exec('PRAGMA journal_mode=DELETE; PRAGMA synchronous=FULL; PRAGMA temp_store=MEMORY; PRAGMA cache_size=-51200;');
  for (const s of SQL.SCHEMA) db.exec(s);
  const txn = (fn) => { db.exec('BEGIN IMMEDIATE'); try { fn(); db.exec('COMMIT'); } catch (e) { db.exec('ROLLBACK'); throw e; } };
  const rows = (sql) => db.exec({ sql, returnValue: 'resultRows' });

  const store = {
    async cursor() { return db.selectValue(SQL.CURSOR) ?? ''; },
    async applyPage(_page, text) { txn(() => { for (const s of SQL.APPLY_PAGE) db.exec({ sql: s, bind: [text] }); }); },
  };
  return {
    sync: () => pullInto(remote, store),
    async edit(pairs) {
      const now = new Date().toISOString();
      txn(() => { for (const [id, data] of pairs) for (const s of SQL.EDIT) db.exec({ sql: s, bind: SQL.bindsFor(s, [id, JSON.stringify(data), now]) }); });
    },
    async write(id, data) {
      const now = new Date().toISOString();
      txn(() => { for (const s of SQL.CREATE) db.exec({ sql: s, bind: SQL.bindsFor(s, [id, JSON.stringify(data), now]) }); });
    },
    pending: async () => db.selectValue(SQL.PENDING),
    async state() {
      return { records: rows(SQL.RECORDS).map(([id, d]) => [id, JSON.parse(d)]),
        conflicts: rows(SQL.CONFLICTS).map(([id, d]) => [id, JSON.parse(d)]), pending: db.selectValue(SQL.PENDING) };
    },
    async close() { db.close(); pool.pauseVfs?.(); },
  };
}
