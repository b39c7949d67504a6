/*
** ratelimit.h — request budgets (token buckets: `rate` per second, bursts of
** `burst`) in two classes: requests, keyed on the partition a verified token
** names (every spelling or copy of a token, and every token of one partition,
** share it); and failed authentications, keyed on the client's address. http.c
** decides what to key and answers 429.
*/
#ifndef SRV_RATELIMIT_H
#define SRV_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

enum { RL_REQUEST, RL_AUTH_FAIL, RL__N };

/* Configure a class; rate <= 0 disables it. Call before serving. */
void ratelimit_init(int cls, double rate, double burst);

/* Take one from key's bucket of class cls at now_ms. Returns 0 when allowed, else
** the seconds (>= 1) to wait before the next would be allowed. Thread-safe. */
int ratelimit_take(int cls, const char *key, size_t key_len, int64_t now_ms);

/* The wait ratelimit_take would answer, without taking anything. */
int ratelimit_peek(int cls, const char *key, size_t key_len, int64_t now_ms);

#endif /* SRV_RATELIMIT_H */
