/*
** ratelimit.h — per-token request budgets (token bucket: `rate` per second,
** bursts of `burst`). Keys are hashes of the bearer token; http.c decides what
** to key and answers 429.
*/
#ifndef SRV_RATELIMIT_H
#define SRV_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

/* Configure; rate <= 0 disables limiting. Call once before serving. */
void ratelimit_init(double rate, double burst);

/* Take one request from key's bucket at now_ms. Returns 0 when allowed, else the
** seconds (>= 1) to wait before the next request would be allowed. Thread-safe. */
int ratelimit_take(const char *key, size_t key_len, int64_t now_ms);

#endif /* SRV_RATELIMIT_H */
