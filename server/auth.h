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

typedef struct auth_claims {
  char sub[AUTH_CLAIM_MAX + 1];
  char partition[AUTH_CLAIM_MAX + 1];  /* the `space` claim, else `sub` */
  int64_t exp;                         /* seconds since the epoch */
} auth_claims;

/* Verify token (header.payload.signature, base64url) signed with HMAC-SHA256 under
** key[klen]: alg must be HS256, the signature must match (constant-time compare),
** `sub` a non-empty string, `exp` a number later than now_ms, `space` (optional) a
** non-empty string, `iat` (optional) a number; claims are at most 256 bytes.
** Returns 0 and fills *out, or -1 with the reason in zErr[nErr]. */
int auth_verify(const unsigned char *key, size_t klen, const char *token, int64_t now_ms,
                auth_claims *out, char *zErr, size_t nErr);

/* Mint a token for sub (and space, may be NULL) expiring at exp_s, issued at iat_s.
** Returns 0 with *pzToken (caller frees with free()), or -1. */
int auth_sign(const unsigned char *key, size_t klen, const char *sub, const char *space,
              int64_t iat_s, int64_t exp_s, char **pzToken);

#endif /* SRV_AUTH_H */
