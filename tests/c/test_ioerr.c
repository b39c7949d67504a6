/* test_ioerr.c — a storage failure in the middle of a query is an error, never a short
** answer (issue 11: row loops that stopped on anything but a row cut results short
** silently on NOMEM or I/O). The store runs on a VFS whose Nth file read fails; for
** every N each read either answers whole or fails with SC_STORAGE naming the disk error.
** (SQLite rolls the call's transaction back on an I/O error, so a loop that stopped short
** used to surface, if at all, as "cannot commit - no transaction is active".) */
#include "sc_testkit.h"
#include "sqlite3.h"

/* A VFS over the default one whose file reads fail once a countdown runs out: an I/O
** error in the middle of a scan (SQLite itself recycles cache pages when malloc fails,
** so an allocator that fails rarely reaches a row loop; a failing read always does). */
static long countdown = -1;   /* < 0: never fail; 0: every read fails from now on */
static sqlite3_vfs *base_vfs;
typedef struct shim_file { sqlite3_file f; sqlite3_file *real; } shim_file;
#define REAL(p) (((shim_file *)(p))->real)

static int shim_close(sqlite3_file *p) {
  int rc = REAL(p)->pMethods ? REAL(p)->pMethods->xClose(REAL(p)) : SQLITE_OK;
  free(REAL(p));
  return rc;
}
static int shim_read(sqlite3_file *p, void *buf, int n, sqlite3_int64 off) {
  if (countdown == 0) return SQLITE_IOERR_READ;
  if (countdown > 0) countdown--;
  return REAL(p)->pMethods->xRead(REAL(p), buf, n, off);
}
static int shim_write(sqlite3_file *p, const void *b, int n, sqlite3_int64 o) { return REAL(p)->pMethods->xWrite(REAL(p), b, n, o); }
static int shim_truncate(sqlite3_file *p, sqlite3_int64 n) { return REAL(p)->pMethods->xTruncate(REAL(p), n); }
static int shim_sync(sqlite3_file *p, int flags) { return REAL(p)->pMethods->xSync(REAL(p), flags); }
static int shim_size(sqlite3_file *p, sqlite3_int64 *n) { return REAL(p)->pMethods->xFileSize(REAL(p), n); }
static int shim_lock(sqlite3_file *p, int l) { return REAL(p)->pMethods->xLock(REAL(p), l); }
static int shim_unlock(sqlite3_file *p, int l) { return REAL(p)->pMethods->xUnlock(REAL(p), l); }
static int shim_check(sqlite3_file *p, int *out) { return REAL(p)->pMethods->xCheckReservedLock(REAL(p), out); }
static int shim_fcntl(sqlite3_file *p, int op, void *arg) { return REAL(p)->pMethods->xFileControl(REAL(p), op, arg); }
static int shim_sector(sqlite3_file *p) { return REAL(p)->pMethods->xSectorSize(REAL(p)); }
static int shim_caps(sqlite3_file *p) { return REAL(p)->pMethods->xDeviceCharacteristics(REAL(p)); }
static const sqlite3_io_methods shim_io = {1, shim_close, shim_read, shim_write, shim_truncate, shim_sync, shim_size,
                                           shim_lock, shim_unlock, shim_check, shim_fcntl, shim_sector, shim_caps,
                                           NULL, NULL, NULL, NULL, NULL, NULL};

static int shim_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *p, int flags, int *out) {
  (void)vfs;
  shim_file *sf = (shim_file *)p;
  sf->f.pMethods = NULL;
  if (!(sf->real = calloc(1, (size_t)base_vfs->szOsFile))) return SQLITE_NOMEM;
  int rc = base_vfs->xOpen(base_vfs, name, sf->real, flags, out);
  if (rc != SQLITE_OK) { free(sf->real); sf->real = NULL; return rc; }
  sf->f.pMethods = &shim_io;
  return SQLITE_OK;
}
static int shim_delete(sqlite3_vfs *v, const char *n, int s) { (void)v; return base_vfs->xDelete(base_vfs, n, s); }
static int shim_access(sqlite3_vfs *v, const char *n, int f, int *o) { (void)v; return base_vfs->xAccess(base_vfs, n, f, o); }
static int shim_full(sqlite3_vfs *v, const char *n, int k, char *o) { (void)v; return base_vfs->xFullPathname(base_vfs, n, k, o); }
static int shim_random(sqlite3_vfs *v, int n, char *o) { (void)v; return base_vfs->xRandomness(base_vfs, n, o); }
static int shim_sleep(sqlite3_vfs *v, int us) { (void)v; return base_vfs->xSleep(base_vfs, us); }
static int shim_time(sqlite3_vfs *v, double *t) { (void)v; return base_vfs->xCurrentTime(base_vfs, t); }
static int shim_err(sqlite3_vfs *v, int n, char *o) { (void)v; return base_vfs->xGetLastError(base_vfs, n, o); }

static void register_shim(void) {
  static sqlite3_vfs shim;
  base_vfs = sqlite3_vfs_find(NULL);
  assert_non_null(base_vfs);
  memset(&shim, 0, sizeof shim);
  shim.iVersion = 1;
  shim.szOsFile = (int)sizeof(shim_file);
  shim.mxPathname = base_vfs->mxPathname;
  shim.zName = "faulty";
  shim.xOpen = shim_open; shim.xDelete = shim_delete; shim.xAccess = shim_access; shim.xFullPathname = shim_full;
  shim.xRandomness = shim_random; shim.xSleep = shim_sleep; shim.xCurrentTime = shim_time; shim.xGetLastError = shim_err;
  assert_int_equal(sqlite3_vfs_register(&shim, 0), SQLITE_OK);
}

static const char *PATH = "/tmp/syncore-test-ioerr.db";
static const char *CFG = "{\"name\":\"t\",\"deviceId\":\"dA\",\"path\":\"%s\",\"vfs\":\"faulty\",\"collections\":{\"a\":{}}}";
enum { N_RECORDS = 300 };

/* Another connection writes the file: the store's page cache is stale, so its next query
** reads every page it touches from the file again. */
static void touch_file(const char *sql) {
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open(PATH, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
}

static sc_store *open_file(tk_env *env) {
  char cfg[512];
  snprintf(cfg, sizeof cfg, CFG, PATH);
  return tk_open_at(env, cfg);
}

/* One read on a cold page cache with the Nth file read failing: whole or an error. */
static int read_with_failure_at(tk_env *env, const char *method, const char *input, const char *array, long n) {
  sc_store *st = open_file(env);
  char *out = NULL;
  touch_file("UPDATE side SET n=n+1");
  countdown = n;
  int rc = sc_call(st, method, input, &out);
  int hit = countdown == 0;
  countdown = -1;
  if (rc == SC_OK) {
    cJSON *j = cJSON_Parse(out);
    assert_non_null(j);
    if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, array)) != N_RECORDS)
      fail_msg("%s with read %ld failing answered %d of %d", method, n,
               cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, array)), N_RECORDS);
    cJSON_Delete(j);
  } else {
    assert_int_equal(rc, SC_ESTORAGE);
    assert_null(out);
    if (!strstr(sc_errmsg(st), "disk I/O error"))   /* the failure itself, not a later symptom of it */
      fail_msg("%s with read %ld failing: %s", method, n, sc_errmsg(st));
  }
  sc_free(out);
  sc_close(st);
  return hit;
}

static void reads_should_fail_rather_than_answer_short_when_the_disk_fails(void **state) {
  tk_env *env = *state;
  unlink(PATH);
  sc_store *st = open_file(env);
  char pad[2001];
  memset(pad, 'x', sizeof pad - 1);
  pad[sizeof pad - 1] = 0;
  for (int i = 0; i < N_RECORDS; i++)   /* ~2 KB each: the outbox and records span many pages */
    cJSON_Delete(tk_call(st, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"r%03d\",\"pad\":\"%s\"}}", i, pad));
  cJSON_Delete(tk_call(st, "pushRequest", "{\"limit\":1000}"));   /* each op now holds its ~2 KB payload */
  assert_int_equal(sc_close(st), SC_OK);
  touch_file("CREATE TABLE side(n); INSERT INTO side VALUES(0)");
  struct { const char *method, *input, *array; } reads[] = {
    {"outbox", "{}", "ops"},
    {"list", "{\"collection\":\"a\"}", "records"},
  };
  for (size_t r = 0; r < sizeof reads / sizeof reads[0]; r++) {
    long n = 0;
    while (read_with_failure_at(env, reads[r].method, reads[r].input, reads[r].array, n)) n++;
    assert_true(n > 10);   /* the sweep went through the query's allocations */
  }
  unlink(PATH);
}

static int setup(void **state) {
  static tk_env env = {1735732800000LL, 7};
  *state = &env;
  return 0;
}

int main(void) {
  register_shim();
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(reads_should_fail_rather_than_answer_short_when_the_disk_fails, setup, NULL),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
