// sql.mjs — the schema and statements both SQLite-in-the-browser contestants run (the official
// SQLite wasm on opfs-sahpool, wa-sqlite on IDBBatchAtomicVFS): records with their server
// version, base version and pending flag beside the data, an outbox, conflicts kept aside, the
// cursor. The merge is SQL: a pulled page goes in as its raw JSON text (?1) and json_each
// walks it — the conflicts first (pending records whose base the change moved past), then the
// upsert that leaves pending records alone. Each statement takes its binds as ?1, ?2, ?3.

export const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS records(id TEXT PRIMARY KEY, data TEXT, version INTEGER NOT NULL,
     base_version INTEGER NOT NULL, pending INTEGER NOT NULL DEFAULT 0, deleted INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID`,
  `CREATE TABLE IF NOT EXISTS outbox(seq INTEGER PRIMARY KEY, record_id TEXT NOT NULL, kind TEXT NOT NULL,
     data TEXT, base_version INTEGER NOT NULL, created_at TEXT NOT NULL)`,
  'CREATE TABLE IF NOT EXISTS conflicts(record_id TEXT PRIMARY KEY, remote TEXT, version INTEGER NOT NULL) WITHOUT ROWID',
  'CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID',
];

// One pulled page (?1 = the answer's text), in one transaction with BEGIN/COMMIT around.
export const APPLY_PAGE = [
  `INSERT INTO conflicts(record_id, remote, version)
     SELECT c.value->>'id', json(c.value->'data'), c.value->>'version'
       FROM json_each(?1, '$.changes') c JOIN records r ON r.id = c.value->>'id'
      WHERE r.pending AND (c.value->>'version') > r.base_version
   ON CONFLICT(record_id) DO UPDATE SET remote = excluded.remote, version = excluded.version`,
  `INSERT INTO records(id, data, version, base_version, pending, deleted)
     SELECT c.value->>'id', json(c.value->'data'), c.value->>'version', c.value->>'version', 0,
            (c.value->>'deleted_at') IS NOT NULL
       FROM json_each(?1, '$.changes') c WHERE 1
   ON CONFLICT(id) DO UPDATE SET data = excluded.data, version = excluded.version,
     base_version = excluded.version, deleted = excluded.deleted
   WHERE records.pending = 0 AND excluded.version > records.version`,
  `INSERT INTO meta(key, value) VALUES ('cursor', ?1->>'cursor')
   ON CONFLICT(key) DO UPDATE SET value = excluded.value`,
];

// A local edit of a synced record (?1 id, ?2 data JSON, ?3 time): record + outbox entry.
export const EDIT = [
  'UPDATE records SET data = ?2, pending = 1 WHERE id = ?1',
  `INSERT INTO outbox(record_id, kind, data, base_version, created_at)
     SELECT ?1, 'update', ?2, base_version, ?3 FROM records WHERE id = ?1`,
];

// A local create (?1 id, ?2 data JSON, ?3 time): record + outbox entry.
export const CREATE = [
  `INSERT INTO records(id, data, version, base_version, pending) VALUES (?1, ?2, 0, 0, 1)
   ON CONFLICT(id) DO UPDATE SET data = excluded.data, pending = 1`,
  `INSERT INTO outbox(record_id, kind, data, base_version, created_at) VALUES (?1, 'create', ?2, 0, ?3)`,
];

export const CURSOR = "SELECT value FROM meta WHERE key = 'cursor'";
export const RECORDS = 'SELECT id, data FROM records WHERE NOT deleted';
export const CONFLICTS = 'SELECT record_id, remote FROM conflicts';
export const PENDING = 'SELECT count(*) FROM outbox';

// The binds a statement takes: the first n of binds, n its highest ?N (SQLite wasm refuses extra ones).
export function bindsFor(sql, binds) {
  let n = 0;
  for (const m of sql.matchAll(/\?(\d+)/g)) n = Math.max(n, Number(m[1]));
  return binds.slice(0, n);
}
