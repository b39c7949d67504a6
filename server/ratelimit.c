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
static double cfg_rate, cfg_burst;

void ratelimit_init(double rate, double burst) {
  cfg_rate = rate;
  cfg_burst = burst < 1 ? 1 : burst;
}

static uint64_t hash_key(const char *p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
  return h ? h : 1;
}

int ratelimit_take(const char *key, size_t key_len, int64_t now_ms) {
  if (cfg_rate <= 0) return 0;
  uint64_t h = hash_key(key, key_len);
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
  if (!use) {
    use = stalest;
    use->key = h;
    use->tokens = cfg_burst;
    use->last_ms = now_ms;
  }
  double elapsed = (double)(now_ms - use->last_ms) / 1000.0;
  if (elapsed > 0) {
    use->tokens = fmin(cfg_burst, use->tokens + elapsed * cfg_rate);
    use->last_ms = now_ms;
  }
  if (use->tokens >= 1.0) {
    use->tokens -= 1.0;
  } else {
    wait = (int)ceil((1.0 - use->tokens) / cfg_rate);
    if (wait < 1) wait = 1;
  }
  pthread_mutex_unlock(&mu);
  return wait;
}
