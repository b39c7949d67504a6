/*
** http.c — requests in, answers out. Each request gets a context (method, URL,
** body so far, what to log). Everything that can be decided on the request head
** is decided on the access handler's first call, before any body byte is read:
** the bearer token of a /sync/ route is verified (auth.c) and charged to its
** partition's rate budget (ratelimit.c) — a failure, charged to the client
** address's budget of failed authentications, is answered 401/429 at once and
** MHD closes the connection without reading the body — and a Content-Length
** beyond --max-body is answered 413 the same way. Only then is a body
** accumulated (up to --max-body). Routes: /sync/push, /sync/pull, /sync/events,
** /auth/dev-token (--dev), /healthz, else --static files. A push to a backend
** that combines pushes (PostgreSQL) is parsed here, queued for its partition's
** writer (writers.h) and its connection suspended, so this thread serves its other
** connections meanwhile; the writer resumes it and the answer goes out from here.
** The log line is written when MHD reports the request complete, so it carries the
** final status.
** Connections are capped per client address (MHD), silent ones time out (MHD),
** and slow request heads are cut by conns.c.
*/
#include "http.h"

#include <arpa/inet.h>
#include <cJSON.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "auth.h"
#include "buf.h"
#include "conns.h"
#include "events.h"
#include "files.h"
#include "json_guard.h"
#include "ratelimit.h"
#include "sync.h"
#include "time.h"
#include "writers.h"

typedef struct req {
  int64_t start_ms;
  char method[16];
  char *url;
  srv_buf body;
  int too_large;
  int authorized;        /* the token was verified on the first call */
  uint64_t token_key;    /* tells a token's event streams from another's */
  unsigned status;
  int ops, applied, batch, retried;
  char partition[AUTH_PARTITION_MAX + 1];
  char error[200];
  /* a push handed to the writers: its connection is suspended meanwhile */
  int push_state;
  int handed;            /* counted in pushes_out until the request completes */
  struct MHD_Connection *conn;
  writers_entry push;
} req;

enum { PUSH_NONE, PUSH_QUEUED, PUSH_DONE };

static const srv_config *cfg;
static db_pool *pool;
static writers *push_writers;   /* NULL: pushes are applied in the thread that received them */
/* Pushes handed to the writers whose request has not completed: http_stop lets
** their answers go out before it stops MHD. */
static pthread_mutex_t pushes_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pushes_cv = PTHREAD_COND_INITIALIZER;
static unsigned pushes_out;

void http_log(const char *level, const char *msg, const char *extra) {
  char ts[SC_TIME_TEXT_LEN + 1];
  srv_buf b = {0};
  if (sc_time_format(sync_now_ms(), ts) != 0) ts[0] = 0;
  buf_puts(&b, "{\"ts\":\"");
  buf_puts(&b, ts);
  buf_puts(&b, "\",\"level\":");
  buf_json_str(&b, level);
  buf_puts(&b, ",\"msg\":");
  buf_json_str(&b, msg);
  if (extra) buf_puts(&b, extra);
  buf_puts(&b, "}\n");
  fwrite(b.data, 1, b.len, stderr);
  buf_free(&b);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  req *r = *con_cls;
  (void)cls;
  if (!r) return;
  if (r->push_state == PUSH_DONE) {
    /* Applied, but the connection closed before its answer (the client went away
    ** while its push waited): the job is freed here, the log still says what it did. */
    sync_reply reply;
    sync_push_answer(r->push.job, &reply);
    r->ops = reply.ops;
    r->applied = reply.applied;
    r->batch = reply.batch;
    r->retried = reply.retried;
    free(reply.body);
  }
  if (r->handed) {
    pthread_mutex_lock(&pushes_mu);
    if (--pushes_out == 0) pthread_cond_broadcast(&pushes_cv);
    pthread_mutex_unlock(&pushes_mu);
  }
  srv_buf x = {0};
  buf_puts(&x, ",\"method\":");
  buf_json_str(&x, r->method);
  buf_puts(&x, ",\"path\":");
  buf_json_str(&x, r->url);
  buf_printf(&x, ",\"status\":%u,\"ms\":%lld", r->status, (long long)(sync_now_ms() - r->start_ms));
  if (r->partition[0]) { buf_puts(&x, ",\"partition\":"); buf_json_str(&x, r->partition); }
  if (r->ops) buf_printf(&x, ",\"ops\":%d,\"applied\":%d", r->ops, r->applied);
  if (r->batch > 1) buf_printf(&x, ",\"batch\":%d%s", r->batch, r->retried ? ",\"retried\":true" : "");
  if (r->error[0]) { buf_puts(&x, ",\"error\":"); buf_json_str(&x, r->error); }
  if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK) buf_printf(&x, ",\"terminated\":%d", (int)toe);
  http_log(r->status >= 500 ? "error" : "info", "request", x.data);
  buf_free(&x);
  buf_free(&r->body);
  free(r->url);
  free(r);
  *con_cls = NULL;
  conns_request_done(conn);
}

static void add_cors(struct MHD_Response *resp) {
  if (!cfg->cors_origin) return;
  MHD_add_response_header(resp, "Access-Control-Allow-Origin", cfg->cors_origin);
  MHD_add_response_header(resp, "Access-Control-Expose-Headers", "Retry-After");
  MHD_add_response_header(resp, "Vary", "Origin");
}

static enum MHD_Result queue(struct MHD_Connection *conn, req *r, unsigned status,
                             struct MHD_Response *resp) {
  add_cors(resp);
  r->status = status;
  enum MHD_Result ret = MHD_queue_response(conn, status, resp);
  MHD_destroy_response(resp);
  return ret;
}

/* Queue a JSON body (takes ownership of body, a malloc'd string; NULL — memory ran
** out building it — answers a fixed 503). */
static enum MHD_Result queue_json(struct MHD_Connection *conn, req *r, unsigned status, char *body,
                                  int retry_after) {
  static const char no_memory[] = "{\"error\":\"the server is out of memory: retry later\"}";
  struct MHD_Response *resp =
      body ? MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE)
           : MHD_create_response_from_buffer(sizeof no_memory - 1, (void *)no_memory, MHD_RESPMEM_PERSISTENT);
  if (!body) { status = 503; retry_after = 1; }
  if (!resp) { free(body); return MHD_NO; }
  MHD_add_response_header(resp, "Content-Type", "application/json");
  MHD_add_response_header(resp, "Cache-Control", "no-store");
  if (status == 401) MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
  if (retry_after > 0) {
    char v[16];
    snprintf(v, sizeof v, "%d", retry_after);
    MHD_add_response_header(resp, "Retry-After", v);
  }
  return queue(conn, r, status, resp);
}

static enum MHD_Result queue_error(struct MHD_Connection *conn, req *r, unsigned status,
                                   const char *message, int retry_after) {
  sync_reply reply;
  snprintf(r->error, sizeof r->error, "%s", message);
  sync_error_reply(&reply, (int)status, message);
  return queue_json(conn, r, status, reply.body, retry_after);
}

/* FNV-1a of the token's signature: canonical base64url makes it one key per token. */
static uint64_t token_key_of(const char *token) {
  const char *sig = strrchr(token, '.');
  uint64_t h = 1469598103934665603ull;
  for (const char *p = sig ? sig + 1 : token; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
  return h;
}

/* Verify the caller's token; on failure queues the 401/429 and returns -1. An
** address that keeps failing is answered 429 before its tokens are even checked. */
static int authorize(struct MHD_Connection *conn, req *r, int allow_query, enum MHD_Result *pRet,
                     int64_t now_ms) {
  const char *token = NULL;
  char addr[INET6_ADDRSTRLEN + 1];
  conns_client_address(conn, addr, sizeof addr);
  int wait = ratelimit_peek(RL_AUTH_FAIL, addr, strlen(addr), now_ms);
  if (wait > 0) {
    *pRet = queue_error(conn, r, 429, "too many failed authentications from this address", wait);
    return -1;
  }
  const char *header = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
  if (header && strncasecmp(header, "Bearer ", 7) == 0) {
    token = header + 7;
    while (*token == ' ') token++;
  }
  if (!token && allow_query)
    token = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "access_token");
  auth_claims claims;
  char why[160];
  const auth_policy policy = {cfg->jwt_secret, cfg->jwt_secret_len, cfg->jwt_audience, cfg->jwt_issuer};
  if (!token) snprintf(why, sizeof why, "missing bearer token (Authorization: Bearer <JWT>)");
  if (!token || auth_verify(&policy, token, now_ms, &claims, why, sizeof why) != 0) {
    ratelimit_take(RL_AUTH_FAIL, addr, strlen(addr), now_ms);
    *pRet = queue_error(conn, r, 401, why, 0);
    return -1;
  }
  memcpy(r->partition, claims.partition, sizeof r->partition);
  r->token_key = token_key_of(token);
  wait = ratelimit_take(RL_REQUEST, r->partition, strlen(r->partition), now_ms);
  if (wait > 0) {
    *pRet = queue_error(conn, r, 429, "too many requests for this partition", wait);
    return -1;
  }
  r->authorized = 1;
  return 0;
}

static enum MHD_Result reply_sync(struct MHD_Connection *conn, req *r, sync_reply *reply) {
  if (reply->status != 200) {
    const char *msg = strstr(reply->body, "\"error\":\"");
    if (msg) snprintf(r->error, sizeof r->error, "%.*s", (int)strcspn(msg + 9, "\""), msg + 9);
  }
  return queue_json(conn, r, (unsigned)reply->status, reply->body, 0);
}

static enum MHD_Result route_dev_token(struct MHD_Connection *conn, req *r, int64_t now_ms) {
  static const char *const keys[] = {"sub", "space", "ttl", NULL};
  const json_limits lim = {4, 64, keys};
  char why[200];
  const char *text = r->body.data ? r->body.data : "";
  int status = json_scan(text, r->body.len, &lim, why, sizeof why);
  if (status != JSON_OK) return queue_error(conn, r, (unsigned)status, why, 0);
  cJSON *root = cJSON_ParseWithOpts(text, NULL, 1);
  const cJSON *sub = cJSON_GetObjectItemCaseSensitive(root, "sub");
  const cJSON *space = cJSON_GetObjectItemCaseSensitive(root, "space");
  const cJSON *ttl = cJSON_GetObjectItemCaseSensitive(root, "ttl");
  enum MHD_Result ret;
  if (!cJSON_IsObject(root) || json_duplicate_key(root) || !cJSON_IsString(sub) || !sub->valuestring[0] ||
      strlen(sub->valuestring) > AUTH_CLAIM_MAX || !auth_claim_text_ok(sub->valuestring) ||
      (space && !cJSON_IsNull(space) &&
       (!cJSON_IsString(space) || !space->valuestring[0] || strlen(space->valuestring) > AUTH_CLAIM_MAX ||
        !auth_claim_text_ok(space->valuestring))) ||
      (ttl && !cJSON_IsNull(ttl) && (!cJSON_IsNumber(ttl) || ttl->valuedouble < 1 || ttl->valuedouble > 31536000))) {
    ret = queue_error(conn, r, 400,
                      "body must be {\"sub\": string, \"space\"?: string, \"ttl\"?: seconds 1-31536000}", 0);
    cJSON_Delete(root);
    return ret;
  }
  int64_t lifetime = cJSON_IsNumber(ttl) ? (int64_t)ttl->valuedouble : 3600;
  int64_t iat = now_ms / 1000, exp = iat + lifetime;
  char *token = NULL;
  char expires[SC_TIME_TEXT_LEN + 1];
  if (auth_sign(cfg->jwt_secret, cfg->jwt_secret_len, sub->valuestring,
                cJSON_IsString(space) ? space->valuestring : NULL, iat, exp, &token) != 0) {
    cJSON_Delete(root);
    return queue_error(conn, r, 500, "cannot sign a token", 0);
  }
  sc_time_format(exp * 1000, expires);
  srv_buf b = {0};
  buf_puts(&b, "{\"token\":");
  buf_json_str(&b, token);
  buf_puts(&b, ",\"expires_at\":");
  buf_json_str(&b, expires);
  buf_puts(&b, "}");
  free(token);
  cJSON_Delete(root);
  return queue_json(conn, r, 200, buf_take(&b), 0);
}

static enum MHD_Result answer_push(struct MHD_Connection *conn, req *r, sync_reply *reply) {
  r->ops = reply->ops;
  r->applied = reply->applied;
  r->batch = reply->batch;
  r->retried = reply->retried;
  if (reply->changed && !db_pool_shared(pool)) events_poke(r->partition);
  return reply_sync(conn, r, reply);
}

/* A writer thread: r's push is applied. After the resume r is MHD's thread's again
** (which calls the access handler, and so route_push, once more). */
static void on_push_done(writers_entry *e) {
  req *r = e->ctx;
  r->push_state = PUSH_DONE;
  MHD_resume_connection(r->conn);
}

/* With writers, a push is parsed here, queued, and its connection suspended: this
** thread goes on with its other connections, and the push joins whatever else its
** partition has queued meanwhile. The answer is sent when the writer resumes it. */
static enum MHD_Result route_push(struct MHD_Connection *conn, req *r, int64_t now_ms) {
  sync_reply reply;
  const char *body = r->body.data ? r->body.data : "";
  if (r->push_state == PUSH_DONE) {
    sync_push_answer(r->push.job, &reply);
    r->push_state = PUSH_NONE;
    return answer_push(conn, r, &reply);
  }
  if (!push_writers) {
    sync_push(cfg, pool, r->partition, body, r->body.len, now_ms, &reply);
    return answer_push(conn, r, &reply);
  }
  r->push.job = sync_push_parse(cfg, body, r->body.len, now_ms, &reply);
  if (!r->push.job) return answer_push(conn, r, &reply);
  r->push.bytes = r->body.len;
  buf_free(&r->body);   /* the job holds the tree */
  r->push.done = on_push_done;
  r->push.ctx = r;
  r->conn = conn;
  r->push_state = PUSH_QUEUED;
  r->handed = 1;
  pthread_mutex_lock(&pushes_mu);
  pushes_out++;
  pthread_mutex_unlock(&pushes_mu);
  MHD_suspend_connection(conn);   /* before queueing: the writer may be done at once */
  writers_submit(push_writers, r->partition, &r->push);
  return MHD_YES;
}

static enum MHD_Result route_events(struct MHD_Connection *conn, req *r) {
  struct MHD_Response *resp = NULL;
  int rc = events_open(r->partition, r->token_key, conn, &resp);
  if (rc == EVENTS_TOKEN_FULL)
    return queue_error(conn, r, 429, "too many event streams open for this token", 5);
  if (rc == EVENTS_PARTITION_FULL)
    return queue_error(conn, r, 429, "too many event streams open for this partition", 5);
  if (rc != EVENTS_OK) return queue_error(conn, r, 500, "cannot open a stream", 0);
  MHD_add_response_header(resp, "Content-Type", "text/event-stream");
  MHD_add_response_header(resp, "Cache-Control", "no-cache");
  MHD_add_response_header(resp, "X-Accel-Buffering", "no");
  return queue(conn, r, 200, resp);
}

static enum MHD_Result route_preflight(struct MHD_Connection *conn, req *r) {
  struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
  if (!resp) return MHD_NO;
  if (cfg->cors_origin) {
    MHD_add_response_header(resp, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    MHD_add_response_header(resp, "Access-Control-Allow-Headers", "Authorization, Content-Type");
    MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
  }
  return queue(conn, r, 204, resp);
}

static enum MHD_Result method_not_allowed(struct MHD_Connection *conn, req *r, const char *allow) {
  sync_reply reply;
  snprintf(r->error, sizeof r->error, "method not allowed");
  sync_error_reply(&reply, 405, "method not allowed");
  struct MHD_Response *resp =
      MHD_create_response_from_buffer(strlen(reply.body), reply.body, MHD_RESPMEM_MUST_FREE);
  if (!resp) return MHD_NO;
  MHD_add_response_header(resp, "Content-Type", "application/json");
  MHD_add_response_header(resp, "Allow", allow);
  return queue(conn, r, 405, resp);
}

static enum MHD_Result dispatch(struct MHD_Connection *conn, req *r) {
  int64_t now_ms = sync_now_ms();
  int is_get = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
  int is_post = strcmp(r->method, "POST") == 0;
  enum MHD_Result ret = MHD_NO;
  sync_reply reply;
  if (strcmp(r->method, "OPTIONS") == 0) return route_preflight(conn, r);
  if (r->too_large) {
    char why[96];
    snprintf(why, sizeof why, "body larger than %zu bytes", cfg->max_body);
    return queue_error(conn, r, 413, why, 0);
  }
  if (strcmp(r->url, "/sync/push") == 0) {
    if (!is_post) return method_not_allowed(conn, r, "POST, OPTIONS");
    if (!r->authorized && authorize(conn, r, 0, &ret, now_ms) != 0) return ret;
    return route_push(conn, r, now_ms);
  }
  if (strcmp(r->url, "/sync/pull") == 0) {
    if (!is_get) return method_not_allowed(conn, r, "GET, OPTIONS");
    if (!r->authorized && authorize(conn, r, 0, &ret, now_ms) != 0) return ret;
    const char *cursor = NULL, *limit = NULL;
    size_t cursor_len = 0, limit_len = 0;
    if (MHD_lookup_connection_value_n(conn, MHD_GET_ARGUMENT_KIND, "cursor", 6, &cursor, &cursor_len) != MHD_YES)
      cursor = NULL;
    if (MHD_lookup_connection_value_n(conn, MHD_GET_ARGUMENT_KIND, "limit", 5, &limit, &limit_len) != MHD_YES)
      limit = NULL;
    sync_pull(cfg, pool, r->partition, cursor, cursor ? cursor_len : 0, limit, limit ? limit_len : 0,
              now_ms, &reply);
    return reply_sync(conn, r, &reply);
  }
  if (strcmp(r->url, "/sync/events") == 0) {
    if (!is_get) return method_not_allowed(conn, r, "GET, OPTIONS");
    if (!r->authorized && authorize(conn, r, 1, &ret, now_ms) != 0) return ret;
    return route_events(conn, r);
  }
  if (cfg->dev && strcmp(r->url, "/auth/dev-token") == 0) {
    if (!is_post) return method_not_allowed(conn, r, "POST, OPTIONS");
    return route_dev_token(conn, r, now_ms);
  }
  if (strcmp(r->url, "/healthz") == 0 && is_get)
    return queue_json(conn, r, 200, db_strdup("{\"ok\":true}"), 0);
  if (cfg->static_dir && is_get && strncmp(r->url, "/sync/", 6) != 0) {
    unsigned status = 404;
    const char *inm = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    struct MHD_Response *resp = files_response(r->url, inm, &status);
    if (resp) return queue(conn, r, status, resp);
    return queue_error(conn, r, status, status == 403 ? "forbidden" : "not found", 0);
  }
  return queue_error(conn, r, 404, "not found", 0);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls) {
  req *r = *con_cls;
  (void)cls; (void)version;
  if (!r) {
    r = calloc(1, sizeof *r);
    if (!r) return MHD_NO;
    r->start_ms = sync_now_ms();
    snprintf(r->method, sizeof r->method, "%s", method);
    r->url = db_strdup(url);
    *con_cls = r;
    conns_request_started(conn);
    /* The head is all there is so far: a /sync/ request whose token fails is
    ** answered now, and MHD closes the connection without reading the body. */
    int is_get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    int is_sync = (strcmp(url, "/sync/push") == 0 && strcmp(method, "POST") == 0) ||
                  ((strcmp(url, "/sync/pull") == 0 || strcmp(url, "/sync/events") == 0) && is_get);
    int64_t now_ms = sync_now_ms();
    enum MHD_Result ret = MHD_NO;
    if (is_sync && authorize(conn, r, strcmp(url, "/sync/events") == 0, &ret, now_ms) != 0) return ret;
    const char *length = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    if (length && strtoull(length, NULL, 10) > cfg->max_body) {
      r->too_large = 1;
      /* Far beyond the limit, or from anyone without a valid token: answer at once
      ** and let MHD close the connection. Otherwise (an authorized client a little
      ** over) read and drop the body first: most clients (fetch included) report
      ** a network error, not the 413, when the server stops reading. */
      if (!is_sync || strtoull(length, NULL, 10) / 16 > cfg->max_body) return dispatch(conn, r);
    }
    return MHD_YES;
  }
  if (*upload_data_size) {
    if (!r->too_large && r->body.len + *upload_data_size <= cfg->max_body) {
      buf_append(&r->body, upload_data, *upload_data_size);
    } else {
      r->too_large = 1;
      buf_free(&r->body);
    }
    *upload_data_size = 0;
    return MHD_YES;
  }
  if (r->status) return MHD_YES;   /* answered early */
  return dispatch(conn, r);
}

static int parse_listen(const char *host, unsigned short port, struct sockaddr_storage *ss, int *pV6) {
  memset(ss, 0, sizeof *ss);
  struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    *pV6 = 0;
    return 0;
  }
  if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    *pV6 = 1;
    return 0;
  }
  return -1;
}

struct MHD_Daemon *http_start(const srv_config *config, db_pool *db, unsigned short *pPort) {
  struct sockaddr_storage ss;
  int v6 = 0;
  cfg = config;
  pool = db;
  ratelimit_init(RL_REQUEST, cfg->rate, cfg->burst);
  ratelimit_init(RL_AUTH_FAIL, cfg->auth_fail_rate, cfg->auth_fail_burst);
  if (parse_listen(cfg->listen_host, cfg->listen_port, &ss, &v6) != 0) {
    http_log("error", "--listen host must be an IPv4 or IPv6 address", NULL);
    return NULL;
  }
  const char *private_paths[] = {db_pool_file(pool), cfg->jwt_secret_path, NULL};
  if (!private_paths[0]) private_paths[0] = cfg->jwt_secret_path, private_paths[1] = NULL;
  if (cfg->static_dir && files_init(cfg->static_dir, private_paths) != 0) {
    http_log("error", "--static is not a directory", NULL);
    return NULL;
  }
  char why[256];
  if (db_pool_batches(pool) && !(push_writers = writers_start(cfg, pool, cfg->threads, why, sizeof why))) {
    http_log("error", why, NULL);
    return NULL;
  }
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                   MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0);
  struct MHD_Daemon *d = MHD_start_daemon(
      flags, 0, NULL, NULL, on_request, NULL,
      MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
      MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)cfg->threads,
      MHD_OPTION_CONNECTION_LIMIT, (unsigned int)cfg->max_connections,
      MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)cfg->max_connections_per_ip,
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)cfg->idle_timeout_s,
      MHD_OPTION_NOTIFY_CONNECTION, conns_notify, NULL,
      MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)1024,
      MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
      MHD_OPTION_END);
  if (!d) {
    http_log("error", "cannot listen (address in use or not permitted?)", NULL);
    writers_stop(push_writers);
    writers_free(push_writers);
    push_writers = NULL;
    return NULL;
  }
  if (conns_start(cfg->header_timeout_s, cfg->idle_timeout_s) != 0) {
    http_log("error", "cannot start the request deadline thread", NULL);
    MHD_stop_daemon(d);
    writers_stop(push_writers);
    writers_free(push_writers);
    push_writers = NULL;
    return NULL;
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
  *pPort = info ? info->port : cfg->listen_port;
  return d;
}

/* Up to ms for the answers of the pushes the writers resumed to go out. */
static void wait_pushes_answered(int ms) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += ms / 1000;
  until.tv_nsec += (ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) { until.tv_sec++; until.tv_nsec -= 1000000000L; }
  pthread_mutex_lock(&pushes_mu);
  while (pushes_out > 0 && pthread_cond_timedwait(&pushes_cv, &pushes_mu, &until) == 0) {}
  pthread_mutex_unlock(&pushes_mu);
}

void http_stop(struct MHD_Daemon *daemon) {
  if (!daemon) return;
  MHD_quiesce_daemon(daemon);
  events_stop(3000);
  writers_stop(push_writers);   /* every suspended push applied and resumed: MHD may stop */
  wait_pushes_answered(3000);
  MHD_stop_daemon(daemon);
  writers_free(push_writers);
  push_writers = NULL;
  conns_stop();
}
