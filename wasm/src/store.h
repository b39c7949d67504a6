/*
** store.h — the store handle and the SQLite schema every module works on.
**
** Tables (one SQLite file):
**   records(coll, id, data, deleted, hlc, updated_at, device_id,       -- the local view
**           version,                                                  -- newest server version known, 0 = never on server
**           base_version, base_data, base_deleted, base_hlc,          -- the server state the local
**           base_updated_at, base_device_id)                          --   edit started from (= the view when clean)
**   outbox(seq, op_id, coll, record_id, kind, status, attempts, next_attempt_at, last_error,
**          created_at, sent, payload)                                 -- outbox.c owns its rules
**   conflicts(id, coll, record_id, kind, local, remote, base, fields, remote_*, created_at)
**   archive(coll, record_id, data, version, hlc, updated_at, device_id, archived_at)
**   meta(key, value)    idmap(coll, temp_id, real_id)    resync_seen(coll, id)
**   resync_absent(coll, id)   -- kept through a full resync only for an op already sent:
**                                its `duplicate` answer is stale (the record was purged since)
** `data` is the record's JSON object without `id` (NULL for a tombstone). A record has a
** local unpushed change exactly when outbox rows exist for it. Callers run every
** method inside one transaction (api.c); nothing in this module begins one.
*/
#ifndef SC_STORE_H
#define SC_STORE_H

#include <stdint.h>
#include "syncore.h"
#include "hlc.h"
#include "rules.h"
#include "util.h"
#include "sqlite3.h"

enum { SC_STRAT_LWW, SC_STRAT_MERGE_FIELDS, SC_STRAT_ASK, SC_STRAT_SERVER_WINS,
       SC_STRAT_CLIENT_WINS, SC_STRAT_MAX, SC_STRAT_APPEND_ONLY };
enum { SC_ONDEL_ASK, SC_ONDEL_DELETE_WINS, SC_ONDEL_EDIT_WINS, SC_ONDEL_LATEST,
       SC_ONDEL_REMOTE, SC_ONDEL_LOCAL /* defaults of server-wins / client-wins */ };


typedef struct sc_coll {
  char *name;
  int strategy;
  int field_ask;          /* merge-fields: both sides changed a field → ask */
  int on_delete;
  int server_ids;         /* idFrom 'server': local creates get tmp_ ids */
  int read_only;
  cJSON *max_fields;      /* array of strings, or NULL */
  cJSON *refs;            /* object field → collection name, or NULL */
  cJSON *time_fields;     /* array of strings, or NULL */
  cJSON *indexes;         /* array of strings, or NULL */
} sc_coll;

#define SC_STMT_CACHE 64

typedef struct sc_cached_stmt {
  const char *key;        /* the literal store_prep was given (its address names it), or NULL */
  char *sql;              /* owned copy of the text */
  uint32_t hash;
  sqlite3_stmt *stmt;
  int busy;               /* handed out by store_prep, not yet back through store_done */
} sc_cached_stmt;

struct sc_store {
  sqlite3 *db;
  sc_cached_stmt stmts[SC_STMT_CACHE];   /* store.c's statement cache */
  int nstmts;
  sc_hooks hooks;
  sc_hlc clock;
  char *name;
  sc_coll *colls;
  int ncoll;
  int batch_size;
  int64_t *retry;         /* retrySchedule, seconds */
  int nretry;
  int64_t max_record_bytes;
  char *errmsg;
  cJSON *new_conflicts;   /* ids of the conflicts the current call opened (merge.c), or NULL */
};

/* One record row, fully loaded. All pointers owned (store_rec_free). */
typedef struct sc_rec {
  int exists;
  char *id;
  cJSON *data;            /* NULL when deleted */
  int deleted;
  char *hlc, *updated_at, *device_id;
  int64_t version;
  int64_t base_version;
  cJSON *base_data;
  int base_deleted;
  char *base_hlc, *base_updated_at, *base_device_id;
} sc_rec;

/* Set the store's message from printf arguments and return code (for `return store_fail(...)`). */
int store_fail(sc_store *st, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A failure of SQLite: SC_ESTORAGE with sqlite's message and what was being done. */
/* One step of a query: 1 when it gave a row; 0 when it is done or failed. A failure
** (anything but SQLITE_ROW / SQLITE_DONE: NOMEM, I/O, corruption) sets *pRc, if it was
** still SC_OK, to the storage error "while <doing>": a loop never ends short silently. */
int store_row(sc_store *st, sqlite3_stmt *stmt, const char *doing, int *pRc);
int store_sqlfail(sc_store *st, const char *doing);

/* Parse config_json into st (name, collections, sync settings). SC_OK or SC_EBADINPUT
** with st->errmsg set. st must be zeroed. */
int store_config(sc_store *st, const cJSON *config);
/* Open the database at path (vfs may be NULL), create the schema and indexes, load or
** create the device id and clock state. SC_OK or SC_ESTORAGE / SC_EBADINPUT. */
int store_open_db(sc_store *st, const char *path, const char *vfs, const char *device_id);
/* Free everything st holds (closes the db); st itself is not freed. */
void store_release(sc_store *st);

/* The collection config named name, or NULL. */
const sc_coll *store_coll(const sc_store *st, const char *name);

/* Prepare sql, from the store's statement cache when it was prepared before; SC_OK or
** SC_ESTORAGE with a message. Every statement goes back through store_done. sql must be a
** string literal (the cache finds it by its address); a text built at run time, whose
** buffer may later hold another text, goes through store_prep_text (found by content). */
int store_prep(sc_store *st, const char *sql, sqlite3_stmt **pStmt);
int store_prep_text(sc_store *st, const char *sql, sqlite3_stmt **pStmt);
/* Give a statement of store_prep back: a cached one is reset for the next use, any
** other finalized. NULL is a no-op. */
void store_done(sc_store *st, sqlite3_stmt *stmt);
/* Reset every cached statement still handed out (api.c, at the end of each call). */
void store_stmts_idle(sc_store *st);
/* Finalize every cached statement (before closing the database; store_release does it). */
void store_stmts_free(sc_store *st);
/* Run sql (no results): a literal (store_exec) or a text built at run time (store_exec_text). */
int store_exec(sc_store *st, const char *sql);
int store_exec_text(sc_store *st, const char *sql);
/* Bind a string or NULL. */
void store_bind_text(sqlite3_stmt *stmt, int i, const char *s);
/* Bind a JSON value as its text (NULL → SQL NULL). Returns SC_OK or SC_ENOMEM. */
int store_bind_json(sqlite3_stmt *stmt, int i, const cJSON *v);
/* Column as an owned string (NULL stays NULL). */
char *store_col_text(sqlite3_stmt *stmt, int i);
/* Column parsed as JSON (NULL or unparsable → NULL). */
cJSON *store_col_json(sqlite3_stmt *stmt, int i);

/* meta table. get: *pOut owned by caller, NULL when absent. */
int store_meta_get(sc_store *st, const char *key, char **pOut);
int store_meta_set(sc_store *st, const char *key, const char *value);
int store_meta_get_int(sc_store *st, const char *key, int64_t *pOut);
int store_meta_set_int(sc_store *st, const char *key, int64_t value);
/* Merge the persisted clock state into st->clock: another context (tab, worker) sharing
** this database may have ticked or seen the server since. Run inside the write lock. */
int store_sync_clock(sc_store *st);
/* Persist the clock state (meta). */
int store_save_clock(sc_store *st);

/* Load (coll, id) into *rec (rec->exists = 0 when absent). rec must be zeroed or freed. */
int store_rec_load(sc_store *st, const char *coll, const char *id, sc_rec *rec);
/* The same without the JSON of data and base_data (data is an empty object unless
** deleted, base_data NULL): for a record whose data is about to be replaced whole. */
int store_rec_load_head(sc_store *st, const char *coll, const char *id, sc_rec *rec);
/* Insert or replace the row for rec (rec->id must be set). */
int store_rec_save(sc_store *st, const char *coll, const sc_rec *rec);
/* Delete the row (no tombstone). */
int store_rec_remove(sc_store *st, const char *coll, const char *id);
void store_rec_free(sc_rec *rec);
/* Make the base_* fields a copy of the current view (a clean record). SC_OK/SC_ENOMEM. */
int store_rec_set_base_from_view(sc_rec *rec);
/* Set the view from the base (undo local edits). */
int store_rec_set_view_from_base(sc_rec *rec);
/* Replace an owned string field. */
int store_set_str(char **field, const char *value);

/* Stamp rec as a local write now: a fresh hlc (sc_hlc_tick), updated_at from its
** corrected physical time, this device's id. SC_OK or SC_ENOMEM. */
int store_stamp(sc_store *st, sc_rec *rec);

/* {"id": id, ...data} — a fresh record object; NULL on no memory or data == NULL. */
cJSON *store_record_json(const char *id, const cJSON *data);

/* Does (coll, id) have outbox rows (a local unpushed change)? */
int store_has_ops(sc_store *st, const char *coll, const char *id, int *pHas);

/* Number of ms now, via the hooks. */
int64_t store_now(const sc_store *st);

/* Validate and normalize an app record's data (without id) for coll: timeFields
** normalized to canonical UTC, size ≤ maxRecordBytes. SC_OK or SC_EBADINPUT with
** the message in st. what names the source ("record", "fields"). */
int store_check_data(sc_store *st, const sc_coll *c, cJSON *data, const char *what);

/* Append a {collection, ids} change to a changed list (array) unless already there. */
int store_changed_add(cJSON *changed, const char *coll, const char *id);

/* The same for many additions (a pull page): a hash index over a changed list, so each
** addition costs O(1) instead of a scan of the list (ids are compared by text, never by
** hash alone). The list must not change other than through the set while it is in use. */
typedef struct sc_changed_slot { uint32_t hash; const char *coll, *id; } sc_changed_slot;
typedef struct sc_changed_set { cJSON *changed; sc_changed_slot *slots; size_t cap, n; } sc_changed_set;
int store_changed_set_init(sc_changed_set *set, cJSON *changed);   /* SC_OK or SC_ENOMEM */
/* Add every (collection, id) of the changed list more (not kept) to the set's list. */
int store_changed_set_merge(sc_changed_set *set, const cJSON *more);
void store_changed_set_free(sc_changed_set *set);


#endif /* SC_STORE_H */
