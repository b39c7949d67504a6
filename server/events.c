/*
** events.c — the SSE hub. Invariants:
**   1. A stream is in the hub (bucket of its partition's hash) from events_response
**      until MHD frees its response (stream_free); the hub holds one reference,
**      every poke/ping in flight another, so a stream outlives its last user.
**   2. `suspended` is set and MHD_suspend_connection is called only by the content
**      reader, under the stream's lock, and only when nothing is pending; whoever
**      adds pending output under that lock and finds `suspended` clears it and
**      resumes the connection (after dropping every lock of ours: MHD takes its
**      own, and the free callback may run under it and take the hub lock).
**   3. Lock order: hub → (nothing); stream → MHD. No MHD call with the hub lock.
** Disconnects of idle clients are found by the heartbeat's failing write.
** Caps: a token holds at most --max-streams-per-token streams and a partition
** --max-streams-per-partition (tokens are told apart by a key http.c derives from
** the signature), so one credential cannot pin the server's connections.
*/
#include "events.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BUCKETS 1024

typedef struct stream {
  struct stream *prev, *next;       /* bucket list, under hub_mu */
  unsigned bucket;
  atomic_int refs;
  pthread_mutex_t mu;
  struct MHD_Connection *conn;
  uint64_t token_key;
  int hello, poke, ping, closed, suspended;   /* under mu */
  char partition[];
} stream;

static pthread_mutex_t hub_mu = PTHREAD_MUTEX_INITIALIZER;
static stream *buckets[BUCKETS];
static size_t stream_count;
static int hub_closing;
static pthread_t ping_thread;
static int ping_started;
static pthread_mutex_t ping_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ping_cv = PTHREAD_COND_INITIALIZER;
static int ping_stop;
static int ping_interval_ms;
static unsigned cap_token, cap_partition;

static unsigned hash_partition(const char *s) {
  uint32_t h = 2166136261u;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
  return h % BUCKETS;
}

static void stream_unref(stream *s) {
  if (atomic_fetch_sub(&s->refs, 1) == 1) {
    pthread_mutex_destroy(&s->mu);
    free(s);
  }
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
  static const char hello[] = "retry: 3000\n: connected\n\n";
  static const char poke[] = "event: poke\ndata: {}\n\n";
  static const char ping[] = ": ping\n\n";
  stream *s = cls;
  size_t n = 0;
  (void)pos;
  pthread_mutex_lock(&s->mu);
  if (s->closed) { pthread_mutex_unlock(&s->mu); return MHD_CONTENT_READER_END_OF_STREAM; }
  if (s->hello && max >= sizeof hello - 1) {
    memcpy(buf, hello, sizeof hello - 1); n += sizeof hello - 1; s->hello = 0;
  }
  if (s->poke && max - n >= sizeof poke - 1) {
    memcpy(buf + n, poke, sizeof poke - 1); n += sizeof poke - 1; s->poke = 0; s->ping = 0;
  }
  if (s->ping && max - n >= sizeof ping - 1) {
    memcpy(buf + n, ping, sizeof ping - 1); n += sizeof ping - 1; s->ping = 0;
  }
  if (n == 0) {
    s->suspended = 1;
    MHD_suspend_connection(s->conn);
  }
  pthread_mutex_unlock(&s->mu);
  return (ssize_t)n;
}

static void unlink_locked(stream *s) {
  if (s->prev) s->prev->next = s->next;
  else buckets[s->bucket] = s->next;
  if (s->next) s->next->prev = s->prev;
  stream_count--;
}

static void stream_free(void *cls) {
  stream *s = cls;
  pthread_mutex_lock(&hub_mu);
  unlink_locked(s);
  pthread_mutex_unlock(&hub_mu);
  stream_unref(s);
}

/* The stream joins the hub only when the caps allow, counted under the hub lock
** (so concurrent opens cannot overshoot); the MHD response is made after. */
int events_open(const char *partition, uint64_t token_key, struct MHD_Connection *conn,
                struct MHD_Response **pResp) {
  size_t n = strlen(partition);
  unsigned same_partition = 0, same_token = 0;
  *pResp = NULL;
  stream *s = calloc(1, sizeof *s + n + 1);
  if (!s) return EVENTS_FAILED;
  memcpy(s->partition, partition, n + 1);
  pthread_mutex_init(&s->mu, NULL);
  atomic_init(&s->refs, 1);
  s->conn = conn;
  s->token_key = token_key;
  s->hello = 1;
  s->bucket = hash_partition(partition);
  pthread_mutex_lock(&hub_mu);
  for (stream *o = buckets[s->bucket]; o; o = o->next) {
    if (strcmp(o->partition, partition) != 0) continue;
    same_partition++;
    if (o->token_key == token_key) same_token++;
  }
  int full = cap_token && same_token >= cap_token ? EVENTS_TOKEN_FULL
           : cap_partition && same_partition >= cap_partition ? EVENTS_PARTITION_FULL : EVENTS_OK;
  if (full == EVENTS_OK) {
    s->closed = hub_closing;
    s->next = buckets[s->bucket];
    if (s->next) s->next->prev = s;
    buckets[s->bucket] = s;
    stream_count++;
  }
  pthread_mutex_unlock(&hub_mu);
  if (full != EVENTS_OK) {
    pthread_mutex_destroy(&s->mu);
    free(s);
    return full;
  }
  struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 1024, stream_read, s,
                                                            stream_free);
  if (!r) {
    pthread_mutex_lock(&hub_mu);
    unlink_locked(s);
    pthread_mutex_unlock(&hub_mu);
    stream_unref(s);
    return EVENTS_FAILED;
  }
  *pResp = r;
  return EVENTS_OK;
}

/* Take a reference on every stream matching partition (NULL = all). */
static stream **collect(const char *partition, size_t *pCount) {
  stream **out = NULL;
  size_t n = 0, cap = 0;
  pthread_mutex_lock(&hub_mu);
  unsigned first = partition ? hash_partition(partition) : 0;
  unsigned last = partition ? first + 1 : BUCKETS;
  for (unsigned b = first; b < last; b++) {
    for (stream *s = buckets[b]; s; s = s->next) {
      if (partition && strcmp(s->partition, partition) != 0) continue;
      if (n == cap) {
        cap = cap ? cap * 2 : 16;
        stream **grown = realloc(out, cap * sizeof *out);
        if (!grown) abort();
        out = grown;
      }
      atomic_fetch_add(&s->refs, 1);
      out[n++] = s;
    }
  }
  pthread_mutex_unlock(&hub_mu);
  *pCount = n;
  return out;
}

enum { WAKE_POKE, WAKE_PING, WAKE_CLOSE };

static void wake(const char *partition, int what) {
  size_t n = 0;
  stream **list = collect(partition, &n);
  for (size_t i = 0; i < n; i++) {
    stream *s = list[i];
    int resume = 0;
    pthread_mutex_lock(&s->mu);
    if (what == WAKE_POKE) s->poke = 1;
    else if (what == WAKE_PING) s->ping = 1;
    else s->closed = 1;
    if (s->suspended) { s->suspended = 0; resume = 1; }
    pthread_mutex_unlock(&s->mu);
    if (resume) MHD_resume_connection(s->conn);
    stream_unref(s);
  }
  free(list);
}

void events_poke(const char *partition) { wake(partition, WAKE_POKE); }

size_t events_count(void) {
  pthread_mutex_lock(&hub_mu);
  size_t n = stream_count;
  pthread_mutex_unlock(&hub_mu);
  return n;
}

static void *ping_main(void *arg) {
  (void)arg;
  pthread_mutex_lock(&ping_mu);
  while (!ping_stop) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ns = ts.tv_nsec + (int64_t)(ping_interval_ms % 1000) * 1000000;
    ts.tv_sec += ping_interval_ms / 1000 + (time_t)(ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
    if (pthread_cond_timedwait(&ping_cv, &ping_mu, &ts) != 0 && !ping_stop) {
      pthread_mutex_unlock(&ping_mu);
      wake(NULL, WAKE_PING);
      pthread_mutex_lock(&ping_mu);
    }
  }
  pthread_mutex_unlock(&ping_mu);
  return NULL;
}

int events_start(int ping_ms, unsigned per_token, unsigned per_partition) {
  ping_interval_ms = ping_ms > 0 ? ping_ms : 15000;
  cap_token = per_token;
  cap_partition = per_partition;
  if (pthread_create(&ping_thread, NULL, ping_main, NULL) != 0) return -1;
  ping_started = 1;
  return 0;
}

void events_stop(int wait_ms) {
  pthread_mutex_lock(&hub_mu);
  hub_closing = 1;
  pthread_mutex_unlock(&hub_mu);
  wake(NULL, WAKE_CLOSE);
  for (int waited = 0; waited < wait_ms && events_count() > 0; waited += 10) {
    struct timespec ts = {0, 10 * 1000000};
    nanosleep(&ts, NULL);
    wake(NULL, WAKE_CLOSE);
  }
  if (ping_started) {
    pthread_mutex_lock(&ping_mu);
    ping_stop = 1;
    pthread_cond_signal(&ping_cv);
    pthread_mutex_unlock(&ping_mu);
    pthread_join(ping_thread, NULL);
    ping_started = 0;
  }
}
