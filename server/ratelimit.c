/*
** ratelimit.c — token buckets in a fixed table of slots (open addressing by key
** hash, a few probes). When the probes find no free slot the stalest one is
** reused: a forgotten bucket starts full, which only ever errs on the side of
** letting a client through. Memory is bounded whatever the number of tokens.
*/
#include "ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

#define SLOTS 8192
#define PROBES 8

typedef struct slot {
  uint64_t key;      /* 0 = empty */
  double tokens;
  int64_t last_ms;
} slot;

static slot slots[SLOTS];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static double cfg_rate[RL__N], cfg_burst[RL__N];

void ratelimit_init(int cls, double rate, double burst) {
  cfg_rate[cls] = rate;
  cfg_burst[cls] = burst < 1 ? 1 : burst;
}

/* FNV-1a of the class and the key: the classes never share a bucket. */
static uint64_t hash_key(int cls, const char *p, size_t n) {
  uint64_t h = (1469598103934665603ull ^ (unsigned)cls) * 1099511628211ull;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
  return h ? h : 1;
}

static int take(int cls, const char *key, size_t key_len, int64_t now_ms, int consume) {
  if (cfg_rate[cls] <= 0) return 0;
  double rate = cfg_rate[cls], burst = cfg_burst[cls];
  uint64_t h = hash_key(cls, key, key_len);
  int wait = 0;
  pthread_mutex_lock(&mu);
  slot *use = NULL, *stalest = NULL;
  for (unsigned i = 0; i < PROBES; i++) {
    slot *s = &slots[(h + i) % SLOTS];
    if (s->key == h) { use = s; break; }
    if (!stalest || s->key == 0 || (stalest->key != 0 && s->last_ms < stalest->last_ms)) {
      if (!stalest || stalest->key != 0) stalest = s;
    }
  }
  if (!use && !consume) { pthread_mutex_unlock(&mu); return 0; }   /* unknown: a full bucket */
  if (!use) {
    use = stalest;
    use->key = h;
    use->tokens = burst;
    use->last_ms = now_ms;
  }
  double elapsed = (double)(now_ms - use->last_ms) / 1000.0;
  if (elapsed > 0) {
    use->tokens = fmin(burst, use->tokens + elapsed * rate);
    use->last_ms = now_ms;
  }
  if (use->tokens >= 1.0) {
    if (consume) use->tokens -= 1.0;
  } else {
    wait = (int)ceil((1.0 - use->tokens) / rate);
    if (wait < 1) wait = 1;
  }
  pthread_mutex_unlock(&mu);
  return wait;
}

int ratelimit_take(int cls, const char *key, size_t key_len, int64_t now_ms) {
  return take(cls, key, key_len, now_ms, 1);
}

int ratelimit_peek(int cls, const char *key, size_t key_len, int64_t now_ms) {
  return take(cls, key, key_len, now_ms, 0);
}
