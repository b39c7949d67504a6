/*
** main.c — syncore-server: flags (SPEC §7, §11), start-up, the background
** threads that are not HTTP (tombstone retention sweep; on PostgreSQL the
** LISTEN loop that turns other servers' commits into SSE pokes), and an orderly
** stop on SIGINT/SIGTERM. Everything a request does is http.c's and below.
*/
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <openssl/rand.h>

#include "auth.h"
#include "buf.h"
#include "config.h"
#include "db.h"
#include "events.h"
#include "http.h"
#include "sync.h"

static const char usage[] =
  "usage: syncore-server [--listen HOST:PORT] [--db sqlite:PATH | --db postgres://…]\n"
  "         --jwt-secret-file FILE [--jwt-audience AUD] [--jwt-issuer ISS] [--dev]\n"
  "         [--static DIR] [--cors ORIGIN]\n"
  "         [--server-ids coll,coll] [--derive coll.field=source.field@refField]…\n"
  "         [--max-body BYTES] [--max-ops N] [--max-depth N] [--max-nodes N] [--max-id N]\n"
  "         [--max-record BYTES] [--max-page-bytes BYTES]\n"
  "         [--rate PER_SECOND] [--burst N] [--auth-fail-rate PER_SECOND] [--auth-fail-burst N]\n"
  "         [--tombstone-retention SECONDS] [--op-retention SECONDS] [--future-tolerance SECONDS] [--threads N]\n"
  "         [--max-connections N] [--max-connections-per-ip N] [--idle-timeout SECONDS]\n"
  "         [--header-timeout SECONDS] [--max-streams-per-token N] [--max-streams-per-partition N]\n"
  "         [--ping-ms MS] [--legacy-spaces name,name]\n"
  "Defaults: --listen 127.0.0.1:8080 --db sqlite:syncore.db --max-body 16777216 --max-ops 1000\n"
  "  --max-depth 64 --max-nodes 262144 --max-id 128 --max-record 1048576\n"
  "  --max-page-bytes 8388608 --rate 50 --burst 100 --auth-fail-rate 1 --auth-fail-burst 20\n"
  "  --tombstone-retention 2592000 --op-retention 7776000 --future-tolerance 300 --threads 8 --max-connections 16384\n"
  "  --max-connections-per-ip 64 --idle-timeout 30 --header-timeout 10\n"
  "  --max-streams-per-token 16 --max-streams-per-partition 256 --ping-ms 15000\n"
  "  (--rate 0 / --auth-fail-rate 0 / --max-connections-per-ip 0 turn a limit off).\n"
  "  The secret file must hold at least 32 bytes. --dev listens on loopback only.\n"
  "  --legacy-spaces: on the first start over data from before the u:/s: partition\n"
  "  prefixes, the listed partitions become spaces (s:NAME), every other one a user's (u:NAME).\n"
  "  Port 0 picks a free port (logged).\n";

static pthread_mutex_t stop_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t stop_cv = PTHREAD_COND_INITIALIZER;
static int stopping;

static int die(const char *fmt, const char *arg) {
  char msg[512];
  snprintf(msg, sizeof msg, fmt, arg);
  http_log("fatal", msg, NULL);
  return 2;
}

static int parse_number(const char *s, double lo, double hi, double *out) {
  char *end = NULL;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || v < lo || v > hi) return -1;
  *out = v;
  return 0;
}

static int parse_listen(srv_config *c, const char *arg) {
  const char *colon = strrchr(arg, ':');
  double port;
  if (!colon || parse_number(colon + 1, 0, 65535, &port) != 0) return -1;
  size_t n = (size_t)(colon - arg);
  if (n >= 2 && arg[0] == '[' && arg[n - 1] == ']') { arg++; n -= 2; }
  if (n == 0 || n >= sizeof c->listen_host) return -1;
  memcpy(c->listen_host, arg, n);
  c->listen_host[n] = 0;
  c->listen_port = (unsigned short)port;
  return 0;
}

/* 127.0.0.0/8 or ::1 (the host is an address: http.c accepts nothing else). */
static int listen_is_loopback(const char *host) {
  struct in_addr v4;
  struct in6_addr v6;
  if (inet_pton(AF_INET, host, &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  if (inet_pton(AF_INET6, host, &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return 0;
}

static int read_secret(srv_config *c, const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  size_t n = fread(c->jwt_secret, 1, sizeof c->jwt_secret, f);
  int more = fgetc(f) != EOF;
  fclose(f);
  if (more) return -1;
  while (n > 0 && strchr(" \t\r\n", c->jwt_secret[n - 1])) n--;
  c->jwt_secret_len = n;
  return n > 0 ? 0 : -1;
}

static int parse_server_ids(srv_config *c, const char *arg) {
  char copy[4096];
  if (strlen(arg) >= sizeof copy) return -1;
  strcpy(copy, arg);
  for (char *save = NULL, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    if (c->server_id_count >= SRV_MAX_SERVER_IDS || strlen(t) > 64 || !t[0]) return -1;
    strcpy(c->server_ids[c->server_id_count++], t);
  }
  return 0;
}

/* appointments.clientId=pets.ownerId@petId */
static int parse_derive(srv_config *c, const char *arg) {
  if (c->derive_count >= SRV_MAX_DERIVE) return -1;
  srv_derive *d = &c->derive[c->derive_count];
  char fmt[64];
  snprintf(fmt, sizeof fmt, "%%64[A-Za-z0-9_].%%128[^=]=%%64[A-Za-z0-9_].%%128[^@]@%%128s%%n");
  int used = 0;
  if (sscanf(arg, fmt, d->target, d->field, d->source, d->source_field, d->ref_field, &used) != 5 ||
      (size_t)used != strlen(arg))
    return -1;
  c->derive_count++;
  return 0;
}

static void defaults(srv_config *c) {
  sync_config_defaults(c);   /* the limits of the push/pull rules */
  strcpy(c->listen_host, "127.0.0.1");
  c->listen_port = 8080;
  c->db_url = "sqlite:syncore.db";
  c->threads = 8;
  c->auth_fail_rate = 1;
  c->auth_fail_burst = 20;
  c->max_connections_per_ip = 64;
  c->idle_timeout_s = 30;
  c->header_timeout_s = 10;
  c->max_streams_per_token = 16;
  c->max_streams_per_partition = 256;
  c->rate = 50;
  c->burst = 100;
  c->sse_ping_ms = 15000;
  c->max_connections = 16384;
}

static int parse_args(srv_config *c, int argc, char **argv) {
  const char *secret_file = NULL;
  int op_retention_set = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    double num = 0;
    int takes = 1;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) { fputs(usage, stdout); exit(0); }
    else if (!strcmp(a, "--dev")) { c->dev = 1; takes = 0; }
    else if (!v) return die("flag %s needs a value", a);
    else if (!strcmp(a, "--listen")) { if (parse_listen(c, v)) return die("bad --listen %s (HOST:PORT)", v); }
    else if (!strcmp(a, "--db")) c->db_url = v;
    else if (!strcmp(a, "--jwt-secret-file")) secret_file = v;
    else if (!strcmp(a, "--jwt-audience")) c->jwt_audience = v;
    else if (!strcmp(a, "--jwt-issuer")) c->jwt_issuer = v;
    else if (!strcmp(a, "--legacy-spaces")) c->legacy_spaces = v;
    else if (!strcmp(a, "--max-nodes")) { if (parse_number(v, 64, 1e8, &num)) return die("bad --max-nodes %s", v); c->max_nodes = (size_t)num; }
    else if (!strcmp(a, "--max-page-bytes")) { if (parse_number(v, 1024, 1e10, &num)) return die("bad --max-page-bytes %s", v); c->max_page_bytes = (size_t)num; }
    else if (!strcmp(a, "--auth-fail-rate")) { if (parse_number(v, 0, 1e9, &num)) return die("bad --auth-fail-rate %s", v); c->auth_fail_rate = num; }
    else if (!strcmp(a, "--auth-fail-burst")) { if (parse_number(v, 1, 1e9, &num)) return die("bad --auth-fail-burst %s", v); c->auth_fail_burst = num; }
    else if (!strcmp(a, "--max-connections-per-ip")) { if (parse_number(v, 0, 1e6, &num)) return die("bad --max-connections-per-ip %s", v); c->max_connections_per_ip = (unsigned)num; }
    else if (!strcmp(a, "--idle-timeout")) { if (parse_number(v, 1, 86400, &num)) return die("bad --idle-timeout %s", v); c->idle_timeout_s = (unsigned)num; }
    else if (!strcmp(a, "--header-timeout")) { if (parse_number(v, 1, 3600, &num)) return die("bad --header-timeout %s", v); c->header_timeout_s = (unsigned)num; }
    else if (!strcmp(a, "--max-streams-per-token")) { if (parse_number(v, 1, 1e6, &num)) return die("bad --max-streams-per-token %s", v); c->max_streams_per_token = (unsigned)num; }
    else if (!strcmp(a, "--max-streams-per-partition")) { if (parse_number(v, 1, 1e6, &num)) return die("bad --max-streams-per-partition %s", v); c->max_streams_per_partition = (unsigned)num; }
    else if (!strcmp(a, "--static")) c->static_dir = v;
    else if (!strcmp(a, "--cors")) c->cors_origin = v;
    else if (!strcmp(a, "--server-ids")) { if (parse_server_ids(c, v)) return die("bad --server-ids %s", v); }
    else if (!strcmp(a, "--derive")) { if (parse_derive(c, v)) return die("bad --derive %s (coll.field=source.field@refField)", v); }
    else if (!strcmp(a, "--max-body")) { if (parse_number(v, 1024, 1e10, &num)) return die("bad --max-body %s", v); c->max_body = (size_t)num; }
    else if (!strcmp(a, "--max-ops")) { if (parse_number(v, 1, 1e6, &num)) return die("bad --max-ops %s", v); c->max_ops = (int)num; }
    else if (!strcmp(a, "--max-depth")) { if (parse_number(v, 2, 64, &num)) return die("bad --max-depth %s (2-64)", v); c->max_depth = (int)num; }
    else if (!strcmp(a, "--max-id")) { if (parse_number(v, 1, 4096, &num)) return die("bad --max-id %s", v); c->max_id = (int)num; }
    else if (!strcmp(a, "--max-record")) { if (parse_number(v, 16, 1e9, &num)) return die("bad --max-record %s", v); c->max_record = (size_t)num; }
    else if (!strcmp(a, "--rate")) { if (parse_number(v, 0, 1e9, &num)) return die("bad --rate %s", v); c->rate = num; }
    else if (!strcmp(a, "--burst")) { if (parse_number(v, 1, 1e9, &num)) return die("bad --burst %s", v); c->burst = num; }
    else if (!strcmp(a, "--tombstone-retention")) { if (parse_number(v, 1, 1e10, &num)) return die("bad --tombstone-retention %s", v); c->tombstone_retention_ms = (int64_t)(num * 1000); }
    else if (!strcmp(a, "--op-retention")) { if (parse_number(v, 1, 1e10, &num)) return die("bad --op-retention %s", v); c->op_retention_ms = (int64_t)(num * 1000); op_retention_set = 1; }
    else if (!strcmp(a, "--future-tolerance")) { if (parse_number(v, 0, 1e9, &num)) return die("bad --future-tolerance %s", v); c->future_tolerance_ms = (int64_t)(num * 1000); }
    else if (!strcmp(a, "--threads")) { if (parse_number(v, 1, 256, &num)) return die("bad --threads %s", v); c->threads = (unsigned)num; }
    else if (!strcmp(a, "--max-connections")) { if (parse_number(v, 16, 1e6, &num)) return die("bad --max-connections %s", v); c->max_connections = (unsigned)num; }
    else if (!strcmp(a, "--ping-ms")) { if (parse_number(v, 10, 3.6e6, &num)) return die("bad --ping-ms %s", v); c->sse_ping_ms = (int)num; }
    else return die("unknown flag %s (see --help)", a);
    i += takes;
  }
  if (!op_retention_set && c->op_retention_ms < 3 * c->tombstone_retention_ms) c->op_retention_ms = 3 * c->tombstone_retention_ms;
  if (c->op_retention_ms < c->tombstone_retention_ms) {
    char why[64];
    snprintf(why, sizeof why, "%lld s < %lld s", (long long)(c->op_retention_ms / 1000),
             (long long)(c->tombstone_retention_ms / 1000));
    return die("--op-retention is shorter than --tombstone-retention (%s): an op in doubt across a purge"
               " would be applied twice", why);
  }
  if (c->dev && !listen_is_loopback(c->listen_host))
    return die("--dev mints any token for anyone: it listens on a loopback address only, not %s",
               c->listen_host);
  if (secret_file) {
    if (read_secret(c, secret_file) != 0) return die("cannot read a non-empty secret (<= 4096 bytes) from %s", secret_file);
    if (c->jwt_secret_len < AUTH_MIN_KEY)
      return die("the secret in %s is shorter than 32 bytes (HS256 needs a key as long as its hash)", secret_file);
    c->jwt_secret_path = secret_file;
  } else if (c->dev) {
    if (RAND_bytes(c->jwt_secret, 32) != 1) return die("%s", "cannot draw a random --dev secret");
    c->jwt_secret_len = 32;
    http_log("warn", "no --jwt-secret-file: --dev uses a random secret for this run", NULL);
  } else {
    return die("%s", "--jwt-secret-file is required (or --dev)");
  }
  return 0;
}

/* ---------------------------------------------------------------- background */

typedef struct bg_ctx {
  const srv_config *cfg;
  db_pool *pool;
} bg_ctx;

/* Wait up to ms for stop; returns 1 when stopping. */
static int wait_stop(int64_t ms) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  int64_t ns = ts.tv_nsec + (ms % 1000) * 1000000;
  ts.tv_sec += (time_t)(ms / 1000 + ns / 1000000000);
  ts.tv_nsec = (long)(ns % 1000000000);
  pthread_mutex_lock(&stop_mu);
  while (!stopping && pthread_cond_timedwait(&stop_cv, &stop_mu, &ts) == 0) {}
  int s = stopping;
  pthread_mutex_unlock(&stop_mu);
  return s;
}

static void *retention_main(void *arg) {
  bg_ctx *bg = arg;
  int64_t every = bg->cfg->tombstone_retention_ms / 4;
  if (every < 1000) every = 1000;
  if (every > 60000) every = 60000;
  do {
    db_conn *conn = db_acquire(bg->pool);
    int64_t purged = 0;
    const db_backend *be = db_pool_backend(bg->pool);
    int64_t now = sync_now_ms();
    if (be->purge(conn, now - bg->cfg->tombstone_retention_ms, now - bg->cfg->op_retention_ms, &purged) != DB_OK) {
      http_log("error", "tombstone sweep failed", NULL);
    } else if (purged > 0) {
      char extra[64];
      snprintf(extra, sizeof extra, ",\"purged\":%lld", (long long)purged);
      http_log("info", "tombstones purged", extra);
    }
    db_release(bg->pool, conn);
  } while (!wait_stop(every));
  return NULL;
}

static void on_remote_change(const char *partition, void *ctx) {
  (void)ctx;
  events_poke(partition);
}

static void *listen_main(void *arg) {
  bg_ctx *bg = arg;
  const db_backend *be = db_pool_backend(bg->pool);
  db_conn *conn = NULL;
  char why[256];
  while (!wait_stop(conn ? 0 : 1)) {
    if (!conn) {
      if (db_pool_connect_extra(bg->pool, &conn, why, sizeof why) != DB_OK) {
        http_log("error", "LISTEN connection failed", NULL);
        conn = NULL;
        if (wait_stop(1000)) break;
        continue;
      }
      events_poke(NULL);   /* changes may have happened while we were not listening */
    }
    if (be->listen(conn, 500, on_remote_change, NULL) != DB_OK) {
      http_log("error", "LISTEN lost, reconnecting", NULL);
      be->disconnect(conn);
      conn = NULL;
    }
  }
  if (conn) be->disconnect(conn);
  return NULL;
}

static void raise_fd_limit(unsigned want) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  rlim_t target = (rlim_t)want + 256;
  if (rl.rlim_cur >= target) return;
  rl.rlim_cur = target < rl.rlim_max ? target : rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
}

int main(int argc, char **argv) {
  srv_config cfg;
  db_pool *pool = NULL;
  char why[512];
  sigset_t stop_set;
  defaults(&cfg);
  if (parse_args(&cfg, argc, argv) != 0) { fputs(usage, stderr); return 2; }
  signal(SIGPIPE, SIG_IGN);
  sigemptyset(&stop_set);
  sigaddset(&stop_set, SIGINT);
  sigaddset(&stop_set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_set, NULL);   /* every thread inherits it; main sigwaits */
  raise_fd_limit(cfg.max_connections);
  if (db_pool_open(cfg.db_url, cfg.threads + 1, cfg.legacy_spaces, &pool, why, sizeof why) != DB_OK)
    return die("%s", why);
  if (events_start(cfg.sse_ping_ms, cfg.max_streams_per_token, cfg.max_streams_per_partition) != 0) return die("%s", "cannot start the heartbeat thread");
  unsigned short port = 0;
  struct MHD_Daemon *daemon = http_start(&cfg, pool, &port);
  if (!daemon) { db_pool_close(pool); return 2; }
  bg_ctx bg = {&cfg, pool};
  pthread_t retention, listener;
  pthread_create(&retention, NULL, retention_main, &bg);
  int listening = db_pool_shared(pool) && pthread_create(&listener, NULL, listen_main, &bg) == 0;
  srv_buf extra = {0};
  buf_printf(&extra, ",\"host\":\"%s\",\"port\":%u,\"db\":\"%s\",\"threads\":%u", cfg.listen_host,
             (unsigned)port, db_pool_backend(pool)->name, cfg.threads);
  http_log("info", "listening", extra.data);
  buf_free(&extra);
  int sig = 0;
  sigwait(&stop_set, &sig);
  http_log("info", "stopping", NULL);
  pthread_mutex_lock(&stop_mu);
  stopping = 1;
  pthread_cond_broadcast(&stop_cv);
  pthread_mutex_unlock(&stop_mu);
  http_stop(daemon);
  pthread_join(retention, NULL);
  if (listening) pthread_join(listener, NULL);
  db_pool_close(pool);
  http_log("info", "stopped", NULL);
  return 0;
}
