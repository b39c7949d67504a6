/*
** auth.h — JSON Web Tokens (HS256 only): verifying a bearer token into the
** partition it may touch, and minting tokens for --dev. The HMAC key is the
** --jwt-secret-file bytes (main.c trims trailing whitespace). Rate limiting and
** HTTP status choices are http.c's.
*/
#ifndef SRV_AUTH_H
#define SRV_AUTH_H

#include <stddef.h>
#include <stdint.h>

#define AUTH_CLAIM_MAX 256
/* A partition name: "u:" + sub, or "s:" + space (two namespaces that never meet). */
#define AUTH_PARTITION_MAX (AUTH_CLAIM_MAX + 2)
/* HS256 keys shorter than the hash are refused (RFC 7518 §3.2). */
#define AUTH_MIN_KEY 32
/* Clock skew allowed for `nbf` and `iat`, seconds. */
#define AUTH_LEEWAY_S 60

/* What a token must satisfy besides its signature. */
typedef struct auth_policy {
  const unsigned char *key;
  size_t klen;
  const char *audience;   /* NULL = `aud` not checked */
  const char *issuer;     /* NULL = `iss` not checked */
} auth_policy;

typedef struct auth_claims {
  char sub[AUTH_CLAIM_MAX + 1];
  char partition[AUTH_PARTITION_MAX + 1];  /* "s:" + `space`, else "u:" + `sub` */
  int64_t exp;                             /* seconds since the epoch */
} auth_claims;

/* Verify token (header.payload.signature, canonical unpadded base64url) signed with
** HMAC-SHA256 under policy->key: alg must be HS256, the signature must match
** (constant-time compare), `sub` a non-empty string, `exp` a finite number later than
** now_ms, `nbf` (optional) not later than now + leeway, `iat` (optional) a number not
** later than now + leeway, `space` (optional) a non-empty string; string claims are at
** most 256 bytes of UTF-8 with no control character; `aud`/`iss` as the policy asks.
** Returns 0 and fills *out, or -1 with the reason in zErr[nErr]. */
int auth_verify(const auth_policy *policy, const char *token, int64_t now_ms, auth_claims *out,
                char *zErr, size_t nErr);


/* True when s has no control character (C0, DEL): a claim holding one would be cut
** or forged in logs and partition names, so it is refused rather than used. */
int auth_claim_text_ok(const char *s);

/* Mint a token for sub (and space, may be NULL) expiring at exp_s, issued at iat_s.
** Returns 0 with *pzToken (caller frees with free()), or -1. */
int auth_sign(const unsigned char *key, size_t klen, const char *sub, const char *space,
              int64_t iat_s, int64_t exp_s, char **pzToken);

#endif /* SRV_AUTH_H */
