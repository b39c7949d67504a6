/*
** test_vfs_mem.c — the in-heap VFS: dirty-chunk tracking, lock levels between
** transactions, and the host's persist/reload cycle (copy dirty chunks out, load them
** into a fresh image or under a live connection) producing intact databases.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vfs_mem.h"

static sqlite3 *open_db(const char *name) {
  sqlite3 *db = NULL;
  assert_int_equal(vfs_mem_register(0), SQLITE_OK);
  assert_int_equal(sqlite3_open_v2(name, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, VFS_MEM_NAME), SQLITE_OK);
  return db;
}

static void exec(sqlite3 *db, const char *sql) {
  char *err = NULL;
  int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
  if (rc != SQLITE_OK) fail_msg("%s: %s", sql, err ? err : "?");
}

static int64_t scalar(sqlite3 *db, const char *sql) {
  sqlite3_stmt *stmt = NULL;
  int64_t value;
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
  value = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  return value;
}

static void assert_integrity_ok(sqlite3 *db) {
  sqlite3_stmt *stmt = NULL;
  assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
  assert_string_equal((const char *)sqlite3_column_text(stmt, 0), "ok");
  sqlite3_finalize(stmt);
}

static vfs_mem_image *image_of(const char *name) {
  vfs_mem_image *image = NULL;
  assert_int_equal(vfs_mem_image_find(name, 0, &image), SQLITE_OK);
  return image;
}

/* What the host does after a commit: copy each dirty chunk into its storage. */
static void persist(vfs_mem_image *image, unsigned char *storage, size_t *pSize) {
  int64_t chunk;
  size_t size = vfs_mem_image_size(image);
  for (chunk = vfs_mem_image_next_dirty(image, 0); chunk >= 0; chunk = vfs_mem_image_next_dirty(image, chunk + 1)) {
    size_t off = (size_t)chunk * VFS_MEM_CHUNK;
    size_t n = size - off < VFS_MEM_CHUNK ? size - off : VFS_MEM_CHUNK;
    memcpy(storage + off, vfs_mem_image_data(image) + off, n);
  }
  *pSize = size;
  vfs_mem_image_clear_dirty(image);
}

static void vfs_mem_should_mark_only_the_chunks_a_commit_touched(void **state) {
  sqlite3 *db = open_db("t1.db");
  vfs_mem_image *image = image_of("t1.db");
  size_t total;
  (void)state;
  exec(db, "PRAGMA page_size=4096; CREATE TABLE t(x); INSERT INTO t VALUES(1);");
  for (int i = 0; i < 200; i++) exec(db, "INSERT INTO t VALUES(randomblob(3000))");
  total = vfs_mem_image_size(image) / VFS_MEM_CHUNK;
  vfs_mem_image_clear_dirty(image);
  exec(db, "UPDATE t SET x = 2 WHERE rowid = 1");
  assert_true(vfs_mem_image_dirty_count(image) >= 1);
  assert_true(vfs_mem_image_dirty_count(image) <= 3);   /* header page + the leaf */
  assert_true(total > 100);
  assert_int_equal(vfs_mem_image_next_dirty(image, 0), 0); /* page 1: the change counter */
  sqlite3_close(db);
  assert_int_equal(vfs_mem_image_delete("t1.db"), SQLITE_OK);
}

static void vfs_mem_should_hold_no_lock_between_transactions(void **state) {
  sqlite3 *db = open_db("t2.db");
  vfs_mem_image *image = image_of("t2.db");
  (void)state;
  exec(db, "CREATE TABLE t(x)");
  assert_int_equal(vfs_mem_image_lock_level(image), SQLITE_LOCK_NONE);
  exec(db, "BEGIN; INSERT INTO t VALUES(1);");
  assert_true(vfs_mem_image_lock_level(image) >= SQLITE_LOCK_RESERVED);
  exec(db, "COMMIT");
  assert_int_equal(vfs_mem_image_lock_level(image), SQLITE_LOCK_NONE);
  assert_int_equal(vfs_mem_image_delete("t2.db"), SQLITE_BUSY);
  sqlite3_close(db);
  assert_int_equal(vfs_mem_image_open_count(image), 0);
  assert_int_equal(vfs_mem_image_delete("t2.db"), SQLITE_OK);
}

static void persisted_chunks_should_reload_into_an_intact_database(void **state) {
  static unsigned char storage[8 << 20];
  size_t size = 0;
  sqlite3 *db = open_db("t3.db");
  vfs_mem_image *copy = NULL;
  int64_t persisted_rows;
  (void)state;
  exec(db, "CREATE TABLE t(x); CREATE INDEX tx ON t(x);");
  persist(image_of("t3.db"), storage, &size);
  for (int i = 0; i < 50; i++) {
    exec(db, "INSERT INTO t VALUES(randomblob(500)); INSERT INTO t VALUES(randomblob(900));"
             "DELETE FROM t WHERE rowid IN (SELECT min(rowid) FROM t);");
    persist(image_of("t3.db"), storage, &size);
  }
  persisted_rows = scalar(db, "SELECT count(*) FROM t");
  exec(db, "INSERT INTO t VALUES('not persisted')");   /* a commit the host never saw */
  assert_int_equal(vfs_mem_image_find("t3-copy.db", 1, &copy), SQLITE_OK);
  assert_int_equal(vfs_mem_image_resize(copy, size), SQLITE_OK);
  memcpy(vfs_mem_image_data(copy), storage, size);
  sqlite3_close(db);
  db = open_db("t3-copy.db");
  assert_integrity_ok(db);
  assert_int_equal(scalar(db, "SELECT count(*) FROM t WHERE x = 'not persisted'"), 0);
  assert_int_equal(scalar(db, "SELECT count(*) FROM t"), persisted_rows);
  assert_int_equal(persisted_rows, 50);
  sqlite3_close(db);
  assert_int_equal(vfs_mem_image_delete("t3.db"), SQLITE_OK);
  assert_int_equal(vfs_mem_image_delete("t3-copy.db"), SQLITE_OK);
}

/* Another context committed: the host replaces the image under an open connection
** between transactions, and that connection must see the new state, not its cache. */
static void connection_should_see_an_image_replaced_between_transactions(void **state) {
  sqlite3 *mine = open_db("t4.db"), *theirs;
  vfs_mem_image *image = image_of("t4.db"), *other = NULL;
  (void)state;
  exec(mine, "CREATE TABLE t(x); INSERT INTO t VALUES(1);");
  assert_int_equal(scalar(mine, "SELECT count(*) FROM t"), 1);   /* warm the cache */
  assert_int_equal(vfs_mem_image_find("t4-other.db", 1, &other), SQLITE_OK);
  assert_int_equal(vfs_mem_image_resize(other, vfs_mem_image_size(image)), SQLITE_OK);
  memcpy(vfs_mem_image_data(other), vfs_mem_image_data(image), vfs_mem_image_size(image));
  theirs = open_db("t4-other.db");
  exec(theirs, "INSERT INTO t SELECT randomblob(2000) FROM (SELECT 1 UNION SELECT 2 UNION SELECT 3)");
  sqlite3_close(theirs);
  assert_int_equal(vfs_mem_image_resize(image, vfs_mem_image_size(other)), SQLITE_OK);
  memcpy(vfs_mem_image_data(image), vfs_mem_image_data(other), vfs_mem_image_size(other));
  assert_int_equal(scalar(mine, "SELECT count(*) FROM t"), 4);
  exec(mine, "INSERT INTO t VALUES(5)");
  assert_integrity_ok(mine);
  sqlite3_close(mine);
  assert_int_equal(vfs_mem_image_delete("t4.db"), SQLITE_OK);
  assert_int_equal(vfs_mem_image_delete("t4-other.db"), SQLITE_OK);
}

static void shrinking_the_file_should_mark_the_cut_chunk_and_report_the_size(void **state) {
  sqlite3 *db = open_db("t5.db");
  vfs_mem_image *image = image_of("t5.db");
  size_t before;
  (void)state;
  exec(db, "CREATE TABLE t(x); INSERT INTO t SELECT randomblob(100000) FROM (SELECT 1 UNION SELECT 2);");
  before = vfs_mem_image_size(image);
  vfs_mem_image_clear_dirty(image);
  exec(db, "DELETE FROM t; VACUUM;");
  assert_true(vfs_mem_image_size(image) < before);
  assert_true(vfs_mem_image_dirty_count(image) >= 1);
  assert_int_equal(vfs_mem_image_next_dirty(image, (int64_t)(vfs_mem_image_size(image) / VFS_MEM_CHUNK) + 1), -1);
  assert_integrity_ok(db);
  sqlite3_close(db);
  assert_int_equal(vfs_mem_image_delete("t5.db"), SQLITE_OK);
}

static void a_second_writer_should_get_busy_while_the_first_holds_the_write_lock(void **state) {
  sqlite3 *a = open_db("t6.db"), *b;
  (void)state;
  exec(a, "CREATE TABLE t(x)");
  b = open_db("t6.db");
  exec(a, "BEGIN IMMEDIATE; INSERT INTO t VALUES(1);");
  assert_int_equal(sqlite3_exec(b, "INSERT INTO t VALUES(2)", NULL, NULL, NULL), SQLITE_BUSY);
  exec(a, "COMMIT");
  exec(b, "INSERT INTO t VALUES(2)");
  assert_int_equal(scalar(a, "SELECT count(*) FROM t"), 2);
  sqlite3_close(a);
  sqlite3_close(b);
  assert_int_equal(vfs_mem_image_delete("t6.db"), SQLITE_OK);
}

/* The host's replay of one commit record (js-glue/storage-idb.js decodeRecord + apply),
** written here from the format in vfs_mem.h: resize storage to size, then per entry the
** chunk's bytes, or ranges onto the chunk as stored (kind 1) or onto zeros (kind 2). */
static uint32_t get_u32(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

static void replay(const unsigned char *rec, size_t length, unsigned char *storage, size_t *pSize, size_t size) {
  uint32_t count = get_u32(rec);
  size_t at = 4 + (size_t)count * 16;
  if (size < *pSize) memset(storage + size, 0, *pSize - size);
  for (uint32_t i = 0; i < count; i++) {
    const unsigned char *e = rec + 4 + i * 16;
    uint32_t index = get_u32(e), len = get_u32(e + 4), body = get_u32(e + 8), kind = get_u32(e + 12);
    unsigned char *chunk = storage + (size_t)index * VFS_MEM_CHUNK;
    assert_true(at + body <= length);
    if (kind == 0) {
      assert_int_equal(body, len);
      memcpy(chunk, rec + at, len);
    } else {
      assert_true(kind == 1 || kind == 2);
      assert_true(body < len);   /* a delta is only written when smaller */
      if (kind == 2) memset(chunk, 0, len);
      else assert_true(((size_t)index + 1) * VFS_MEM_CHUNK <= *pSize);   /* onto a chunk the previous state had */
      for (size_t d = at; d < at + body;) {
        uint32_t off = get_u32(rec + d), n = get_u32(rec + d + 4);
        assert_true(off + n <= len);
        memcpy(chunk + off, rec + d + 8, n);
        d += 8 + n;
      }
    }
    at += body;
  }
  assert_int_equal(at, length);
  *pSize = size;
}

static void commit_records_should_replay_to_the_same_image_and_hold_only_what_changed(void **state) {
  (void)state;
  static unsigned char storage[4 << 20];
  size_t stored = 0, raw_bytes = 0, record_bytes = 0;
  sqlite3 *db = open_db("enc.db");
  vfs_mem_image *image = image_of("enc.db");
  assert_int_equal(vfs_mem_image_keep_originals(image), SQLITE_OK);
  exec(db, "PRAGMA journal_mode=MEMORY; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
  exec(db, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)"
           " INSERT INTO t SELECT i, printf('%0300d', i) FROM n");
  for (int round = 0; round < 12; round++) {
    unsigned char *rec = NULL;
    size_t length = 0;
    assert_int_equal(vfs_mem_image_encode(image, &rec, &length), SQLITE_OK);
    replay(rec, length, storage, &stored, vfs_mem_image_size(image));
    if (round > 1) { raw_bytes += vfs_mem_image_dirty_count(image) * VFS_MEM_CHUNK; record_bytes += length; }
    free(rec);
    vfs_mem_image_clear_dirty(image);
    assert_int_equal(stored, vfs_mem_image_size(image));
    assert_memory_equal(storage, vfs_mem_image_data(image), stored);
    /* The next commit: small updates scattered over the table, a delete, some growth, and
    ** once a VACUUM that shrinks the file. */
    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE t SET v = printf('%%0300d', id * %d) WHERE id %% 37 = %d", round + 2, round);
    exec(db, sql);
    snprintf(sql, sizeof sql, "DELETE FROM t WHERE id %% 101 = %d", round);
    exec(db, sql);
    if (round == 5) exec(db, "INSERT INTO t(v) SELECT v FROM t WHERE id < 400");
    if (round == 8) exec(db, "VACUUM");
  }
  assert_true(record_bytes * 4 < raw_bytes);   /* scattered small updates: far less than their chunks */
  assert_integrity_ok(db);
  sqlite3_close(db);
  assert_int_equal(vfs_mem_image_delete("enc.db"), SQLITE_OK);
}

/* Lazy images: the fetch hook hands out groups of lazy_storage (a stored database). */
static unsigned char lazy_storage[8 << 20];
static size_t lazy_fetches;
static int lazy_fail;

static int lazy_fetch(vfs_mem_image *image, size_t group) {
  size_t off = group * VFS_MEM_GROUP, size = vfs_mem_image_size(image);
  if (lazy_fail) return SQLITE_IOERR;
  memcpy(vfs_mem_image_group(image, group), lazy_storage + off, size - off < VFS_MEM_GROUP ? size - off : VFS_MEM_GROUP);
  lazy_fetches++;
  return SQLITE_OK;
}

/* The bytes of a lazy image (every group present) equal expected. */
static void assert_lazy_equal(vfs_mem_image *image, const unsigned char *expected, size_t size) {
  assert_null(vfs_mem_image_data(image));
  for (size_t off = 0; off < size; off += VFS_MEM_GROUP) {
    size_t n = size - off < VFS_MEM_GROUP ? size - off : VFS_MEM_GROUP;
    assert_true(vfs_mem_image_group_present(image, off / VFS_MEM_GROUP));
    assert_memory_equal(vfs_mem_image_group(image, off / VFS_MEM_GROUP), expected + off, n);
  }
}

static size_t lazy_store(int with_free_pages) {
  size_t size = 0;
  sqlite3 *db = open_db("lazy-src.db");
  exec(db, "PRAGMA journal_mode=MEMORY; CREATE TABLE small(y); CREATE TABLE t(id INTEGER PRIMARY KEY, x BLOB)");
  exec(db, "INSERT INTO small VALUES(42)");
  exec(db, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)"
           " INSERT INTO t SELECT i, randomblob(200) FROM n");
  if (with_free_pages) exec(db, "DELETE FROM t WHERE id > 12000");
  persist(image_of("lazy-src.db"), lazy_storage, &size);
  sqlite3_close(db);
  assert_int_equal(vfs_mem_image_delete("lazy-src.db"), SQLITE_OK);
  return size;
}

static vfs_mem_image *lazy_image(const char *name, size_t size) {
  vfs_mem_image *image = NULL;
  assert_int_equal(vfs_mem_image_find(name, 1, &image), SQLITE_OK);
  assert_int_equal(vfs_mem_image_set_lazy(image, size), SQLITE_OK);
  assert_int_equal(vfs_mem_image_absent_count(image), (size + VFS_MEM_GROUP - 1) / VFS_MEM_GROUP);
  return image;
}

static void a_lazy_image_should_fetch_only_the_groups_a_query_reads(void **state) {
  size_t size = lazy_store(0), groups = (size + VFS_MEM_GROUP - 1) / VFS_MEM_GROUP;
  vfs_mem_image *image;
  sqlite3 *db;
  (void)state;
  assert_true(groups >= 12);
  vfs_mem_set_fetch(lazy_fetch);
  image = lazy_image("lazy.db", size);
  lazy_fetches = 0;
  db = open_db("lazy.db");
  assert_int_equal(scalar(db, "SELECT y FROM small"), 42);
  assert_int_equal(scalar(db, "SELECT length(x) FROM t WHERE id = 12345"), 200);
  assert_true(lazy_fetches >= 2 && lazy_fetches <= 4);   /* the schema's group, a path down t */
  assert_int_equal(vfs_mem_image_absent_count(image), groups - lazy_fetches);
  /* a fetch that fails fails the statement, changes nothing, and the next one works */
  lazy_fail = 1;
  assert_int_not_equal(sqlite3_exec(db, "SELECT sum(length(x)) FROM t", NULL, NULL, NULL), SQLITE_OK);
  assert_int_equal(vfs_mem_image_lock_level(image), SQLITE_LOCK_NONE);
  assert_int_equal(vfs_mem_image_dirty_count(image), 0);
  lazy_fail = 0;
  assert_int_equal(scalar(db, "SELECT count(*) FROM t"), 20000);
  assert_integrity_ok(db);
  assert_int_equal(vfs_mem_image_absent_count(image), 0);
  assert_int_equal(vfs_mem_image_size(image), size);
  assert_lazy_equal(image, lazy_storage, size);
  /* a page cache of three groups: the least recently used give their memory back, and a
  ** query needing them fetches them again */
  size_t before = lazy_fetches;
  assert_true(vfs_mem_image_trim(image, 3 * VFS_MEM_GROUP) > 0);
  assert_true(vfs_mem_image_resident_bytes(image) <= 3 * VFS_MEM_GROUP);
  assert_int_equal(vfs_mem_image_absent_count(image), groups - 3);
  assert_int_equal(scalar(db, "SELECT count(*) FROM t WHERE length(x) = 200"), 20000);
  assert_int_equal(lazy_fetches - before, groups - 3);
  assert_lazy_equal(image, lazy_storage, size);
  sqlite3_close(db);
  vfs_mem_set_fetch(NULL);
  assert_int_equal(vfs_mem_image_delete("lazy.db"), SQLITE_OK);
}

/* Read tracking marks exactly the groups SQLite read (a fresh lazy image fetches just
** those); a lazy image with every group present becomes one contiguous block again, with
** the same bytes, and goes on taking writes. */
static void tracking_should_mark_the_groups_read_and_a_full_lazy_image_become_whole(void **state) {
  size_t size = lazy_store(0), groups = (size + VFS_MEM_GROUP - 1) / VFS_MEM_GROUP;
  (void)state;
  vfs_mem_set_fetch(lazy_fetch);
  vfs_mem_image *image = lazy_image("track.db", size);
  assert_int_equal(vfs_mem_image_track(image, 1), SQLITE_OK);
  sqlite3 *db = open_db("track.db");
  assert_int_equal(scalar(db, "SELECT length(x) FROM t WHERE id = 777"), 200);
  size_t marked = 0;
  for (size_t g = 0; g < groups; g++) {
    assert_int_equal(vfs_mem_image_tracked(image, g), vfs_mem_image_group_present(image, g));
    marked += (size_t)vfs_mem_image_tracked(image, g);
  }
  assert_true(marked >= 2 && marked < groups);
  assert_int_equal(vfs_mem_image_track(image, 0), SQLITE_OK);
  assert_int_equal(vfs_mem_image_set_whole(image), SQLITE_MISUSE);   /* groups still absent */
  assert_null(vfs_mem_image_data(image));
  assert_int_equal(scalar(db, "SELECT count(*) FROM t WHERE length(x) = 200"), 20000);
  size_t after = 0;
  for (size_t g = 0; g < groups; g++) after += (size_t)vfs_mem_image_tracked(image, g);
  assert_int_equal(after, marked);   /* no marks while tracking is off */
  assert_int_equal(vfs_mem_image_absent_count(image), 0);
  assert_int_equal(vfs_mem_image_set_whole(image), SQLITE_OK);
  assert_non_null(vfs_mem_image_data(image));
  assert_memory_equal(vfs_mem_image_data(image), lazy_storage, size);
  exec(db, "INSERT INTO t VALUES(30000, randomblob(200))");
  assert_true(vfs_mem_image_dirty_count(image) > 0);
  assert_int_equal(scalar(db, "SELECT count(*) FROM t"), 20001);
  assert_integrity_ok(db);
  sqlite3_close(db);
  vfs_mem_set_fetch(NULL);
  assert_int_equal(vfs_mem_image_delete("track.db"), SQLITE_OK);
}

/* A write on a lazy image fetches what it changes first: its record is against the
** stored bytes, so it replays onto storage; a shrink (VACUUM) keeps the cut group whole. */
static void writes_on_a_lazy_image_should_replay_onto_what_was_stored(void **state) {
  size_t size = lazy_store(1), stored = size;
  static unsigned char replayed[8 << 20];
  vfs_mem_image *image;
  sqlite3 *db;
  (void)state;
  memcpy(replayed, lazy_storage, size);
  vfs_mem_set_fetch(lazy_fetch);
  image = lazy_image("lazy-w.db", size);
  assert_int_equal(vfs_mem_image_keep_originals(image), SQLITE_OK);
  db = open_db("lazy-w.db");
  exec(db, "PRAGMA journal_mode=MEMORY");
  for (int round = 0; round < 3; round++) {
    unsigned char *rec = NULL;
    size_t length = 0;
    if (round == 0) exec(db, "UPDATE t SET x = zeroblob(200) WHERE id IN (997, 1994, 2991, 3988, 4985)");
    if (round == 1) exec(db, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4000)"
                             " INSERT INTO t(x) SELECT zeroblob(150) || randomblob(50) FROM n");   /* onto free pages */
    if (round == 2) { exec(db, "DELETE FROM t WHERE id > 5000"); exec(db, "VACUUM"); }
    if (round == 0) assert_true(vfs_mem_image_absent_count(image) > 0);   /* the update read only its rows */
    assert_int_equal(vfs_mem_image_encode(image, &rec, &length), SQLITE_OK);
    replay(rec, length, replayed, &stored, vfs_mem_image_size(image));
    free(rec);
    vfs_mem_image_clear_dirty(image);
  }
  assert_true(stored < size);
  assert_int_equal(scalar(db, "SELECT count(*) FROM t WHERE x = zeroblob(200)"), 5);
  assert_int_equal(scalar(db, "SELECT count(*) FROM t"), 5000);
  assert_integrity_ok(db);   /* reads every group still absent */
  assert_int_equal(vfs_mem_image_absent_count(image), 0);
  assert_int_equal(vfs_mem_image_size(image), stored);
  assert_lazy_equal(image, replayed, stored);
  sqlite3_close(db);
  vfs_mem_set_fetch(NULL);
  assert_int_equal(vfs_mem_image_delete("lazy-w.db"), SQLITE_OK);
}

/* A new store is lazy from its first byte: it grows in groups, never as one block, and its
** page cache gives back what storage holds. */
static void a_new_lazy_image_should_grow_in_groups_and_keep_to_its_cache(void **state) {
  size_t stored = 0;
  vfs_mem_image *image = NULL;
  unsigned char *rec = NULL;
  size_t length = 0;
  (void)state;
  assert_int_equal(vfs_mem_image_find("lazy-new.db", 1, &image), SQLITE_OK);
  assert_int_equal(vfs_mem_image_set_lazy(image, 0), SQLITE_OK);
  assert_int_equal(vfs_mem_image_keep_originals(image), SQLITE_OK);
  sqlite3 *db = open_db("lazy-new.db");
  exec(db, "PRAGMA journal_mode=MEMORY; CREATE TABLE t(id INTEGER PRIMARY KEY, x BLOB)");
  exec(db, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 12000)"
           " INSERT INTO t SELECT i, randomblob(200) FROM n");
  assert_null(vfs_mem_image_data(image));
  size_t size = vfs_mem_image_size(image), groups = (size + VFS_MEM_GROUP - 1) / VFS_MEM_GROUP;
  assert_true(groups >= 8);
  assert_int_equal(vfs_mem_image_resident_bytes(image), groups * VFS_MEM_GROUP);
  assert_int_equal(vfs_mem_image_trim(image, VFS_MEM_GROUP), 0);   /* nothing persisted yet: all dirty */
  memset(lazy_storage, 0, sizeof lazy_storage);
  assert_int_equal(vfs_mem_image_encode(image, &rec, &length), SQLITE_OK);
  replay(rec, length, lazy_storage, &stored, size);
  free(rec);
  vfs_mem_image_clear_dirty(image);
  assert_int_equal(vfs_mem_image_trim(image, 2 * VFS_MEM_GROUP), groups - 2);
  assert_true(vfs_mem_image_resident_bytes(image) <= 2 * VFS_MEM_GROUP);
  vfs_mem_set_fetch(lazy_fetch);
  assert_int_equal(scalar(db, "SELECT count(*) FROM t WHERE length(x) = 200"), 12000);
  sqlite3_close(db);   /* SQLite's own cache still held pages it wrote: a new connection reads all */
  db = open_db("lazy-new.db");
  assert_integrity_ok(db);
  assert_lazy_equal(image, lazy_storage, size);
  sqlite3_close(db);
  vfs_mem_set_fetch(NULL);
  assert_int_equal(vfs_mem_image_delete("lazy-new.db"), SQLITE_OK);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(vfs_mem_should_mark_only_the_chunks_a_commit_touched),
    cmocka_unit_test(commit_records_should_replay_to_the_same_image_and_hold_only_what_changed),
    cmocka_unit_test(vfs_mem_should_hold_no_lock_between_transactions),
    cmocka_unit_test(persisted_chunks_should_reload_into_an_intact_database),
    cmocka_unit_test(connection_should_see_an_image_replaced_between_transactions),
    cmocka_unit_test(shrinking_the_file_should_mark_the_cut_chunk_and_report_the_size),
    cmocka_unit_test(a_second_writer_should_get_busy_while_the_first_holds_the_write_lock),
    cmocka_unit_test(a_lazy_image_should_fetch_only_the_groups_a_query_reads),
    cmocka_unit_test(tracking_should_mark_the_groups_read_and_a_full_lazy_image_become_whole),
    cmocka_unit_test(writes_on_a_lazy_image_should_replay_onto_what_was_stored),
    cmocka_unit_test(a_new_lazy_image_should_grow_in_groups_and_keep_to_its_cache),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
