/*
** auth.c — HS256 JSON Web Tokens on OpenSSL's HMAC. Verification checks the
** header's alg before anything else (no "none", no RS/HS confusion), accepts only
** canonical base64url (one spelling per byte string: the unused low bits of the
** last character must be zero), compares the signature with CRYPTO_memcmp, then
** reads the claims with cJSON after json_guard's scan (no \u0000, no duplicate
** claim). Claims other than sub, space, exp, nbf, iat, aud and iss are ignored.
** The partition is "u:" + sub or "s:" + space, so a space can never be named like
** someone's private partition. What a failure means for the HTTP answer (401) is
** decided by http.c.
*/
#include "auth.h"
#include "buf.h"
#include "json_guard.h"

#include <cJSON.h>
#include <math.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_MAX 8192

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void b64url_encode(srv_buf *out, const unsigned char *p, size_t n) {
  size_t i = 0;
  char q[4];
  for (; i + 3 <= n; i += 3) {
    unsigned v = ((unsigned)p[i] << 16) | ((unsigned)p[i + 1] << 8) | p[i + 2];
    q[0] = b64url_alphabet[(v >> 18) & 63]; q[1] = b64url_alphabet[(v >> 12) & 63];
    q[2] = b64url_alphabet[(v >> 6) & 63];  q[3] = b64url_alphabet[v & 63];
    buf_append(out, q, 4);
  }
  if (n - i == 1) {
    unsigned v = (unsigned)p[i] << 16;
    q[0] = b64url_alphabet[(v >> 18) & 63]; q[1] = b64url_alphabet[(v >> 12) & 63];
    buf_append(out, q, 2);
  } else if (n - i == 2) {
    unsigned v = ((unsigned)p[i] << 16) | ((unsigned)p[i + 1] << 8);
    q[0] = b64url_alphabet[(v >> 18) & 63]; q[1] = b64url_alphabet[(v >> 12) & 63];
    q[2] = b64url_alphabet[(v >> 6) & 63];
    buf_append(out, q, 3);
  }
}

static int b64url_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

/* Decode n chars of unpadded canonical base64url into out (capacity n); -1 if
** malformed, including a last character whose unused low bits are not zero. */
static int b64url_decode(const char *s, size_t n, unsigned char *out, size_t *pLen) {
  size_t o = 0;
  unsigned acc = 0;
  int bits = 0;
  if (n % 4 == 1) return -1;
  for (size_t i = 0; i < n; i++) {
    int v = b64url_value(s[i]);
    if (v < 0) return -1;
    acc = ((acc << 6) | (unsigned)v) & 0xFFFFu;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (unsigned char)((acc >> bits) & 0xFF);
    }
  }
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return -1;
  *pLen = o;
  return 0;
}

/* 0 with mac filled, -1 when OpenSSL fails (the caller must not compare). */
static int hmac_sha256(const unsigned char *key, size_t klen, const char *msg, size_t n,
                       unsigned char mac[32]) {
  unsigned int mac_len = 0;
  if (!HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, n, mac, &mac_len)) return -1;
  return mac_len == 32 ? 0 : -1;
}

/* Decode one base64url segment holding a JSON object with no key twice. */
static cJSON *decode_json_segment(const char *s, size_t n) {
  static const json_limits lim = {8, 512, NULL};
  unsigned char *raw = malloc(n + 1);
  size_t len = 0;
  char why[160];
  cJSON *obj = NULL;
  if (!raw) return NULL;
  if (b64url_decode(s, n, raw, &len) != 0) goto fail;
  raw[len] = 0;
  if (json_scan((const char *)raw, len, &lim, why, sizeof why) != JSON_OK) goto fail;
  obj = cJSON_ParseWithLengthOpts((const char *)raw, len + 1, NULL, 1);   /* + its NUL: nothing may follow */
  if (obj && (!cJSON_IsObject(obj) || json_duplicate_key(obj))) { cJSON_Delete(obj); obj = NULL; }
fail:
  free(raw);
  return obj;
}

int auth_claim_text_ok(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f) return 0;
  return 1;
}

static int claim_string(const cJSON *payload, const char *name, char *out, int required,
                        char *zErr, size_t nErr) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(payload, name);
  out[0] = 0;
  if (!v) {
    if (required) { snprintf(zErr, nErr, "token has no `%s` claim", name); return -1; }
    return 0;
  }
  if (!cJSON_IsString(v) || !v->valuestring[0] || strlen(v->valuestring) > AUTH_CLAIM_MAX ||
      !auth_claim_text_ok(v->valuestring)) {
    snprintf(zErr, nErr,
             "token claim `%s` must be a non-empty string of at most %d bytes without control characters",
             name, AUTH_CLAIM_MAX);
    return -1;
  }
  memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
  return 0;
}

/* An optional numeric time claim: absent → 0 (*pSet = 0); a finite number else -1. */
static int claim_time(const cJSON *payload, const char *name, double *pV, int *pSet, char *zErr,
                      size_t nErr) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(payload, name);
  *pSet = v != NULL;
  if (!v) return 0;
  if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || fabs(v->valuedouble) > 1e13) {
    snprintf(zErr, nErr, "token claim `%s` must be a number of seconds since the epoch", name);
    return -1;
  }
  *pV = v->valuedouble;
  return 0;
}

/* `aud` is a string or an array of strings (RFC 7519 §4.1.3); one must equal want. */
static int audience_ok(const cJSON *payload, const char *want) {
  const cJSON *aud = cJSON_GetObjectItemCaseSensitive(payload, "aud");
  if (cJSON_IsString(aud)) return strcmp(aud->valuestring, want) == 0;
  if (!cJSON_IsArray(aud)) return 0;
  const cJSON *it;
  cJSON_ArrayForEach(it, aud)
    if (cJSON_IsString(it) && strcmp(it->valuestring, want) == 0) return 1;
  return 0;
}

int auth_verify(const auth_policy *policy, const char *token, int64_t now_ms, auth_claims *out,
                char *zErr, size_t nErr) {
  cJSON *header = NULL, *payload = NULL;
  int rc = -1;
  size_t n = token ? strlen(token) : 0;
  if (n == 0) { snprintf(zErr, nErr, "no token"); return -1; }
  if (n > TOKEN_MAX) { snprintf(zErr, nErr, "token longer than %d bytes", TOKEN_MAX); return -1; }
  const char *dot1 = strchr(token, '.');
  const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
  if (!dot1 || !dot2 || strchr(dot2 + 1, '.')) {
    snprintf(zErr, nErr, "token is not a JWT (header.payload.signature)");
    return -1;
  }
  header = decode_json_segment(token, (size_t)(dot1 - token));
  if (!header) { snprintf(zErr, nErr, "token header is not canonical base64url JSON"); goto fail; }
  const cJSON *alg = cJSON_GetObjectItemCaseSensitive(header, "alg");
  if (!cJSON_IsString(alg) || strcmp(alg->valuestring, "HS256") != 0) {
    snprintf(zErr, nErr, "token alg must be HS256");
    goto fail;
  }
  unsigned char mac[32], sig[64];
  size_t sig_len = 0;
  size_t sig_chars = n - (size_t)(dot2 + 1 - token);
  if (sig_chars != 43 || b64url_decode(dot2 + 1, sig_chars, sig, &sig_len) != 0 || sig_len != 32) {
    snprintf(zErr, nErr, "token signature is malformed (43 characters of canonical base64url)");
    goto fail;
  }
  if (hmac_sha256(policy->key, policy->klen, token, (size_t)(dot2 - token), mac) != 0) {
    snprintf(zErr, nErr, "token signature cannot be checked (HMAC failed)");
    goto fail;
  }
  if (CRYPTO_memcmp(mac, sig, 32) != 0) {
    snprintf(zErr, nErr, "token signature does not verify");
    goto fail;
  }
  payload = decode_json_segment(dot1 + 1, (size_t)(dot2 - dot1 - 1));
  if (!payload) { snprintf(zErr, nErr, "token payload is not canonical base64url JSON (or repeats a claim)"); goto fail; }
  char space[AUTH_CLAIM_MAX + 1];
  if (claim_string(payload, "sub", out->sub, 1, zErr, nErr) != 0) goto fail;
  if (claim_string(payload, "space", space, 0, zErr, nErr) != 0) goto fail;
  double exp = 0, nbf = 0, iat = 0, now_s = (double)now_ms / 1000.0;
  int has_exp, has_nbf, has_iat;
  if (claim_time(payload, "exp", &exp, &has_exp, zErr, nErr) != 0 ||
      claim_time(payload, "nbf", &nbf, &has_nbf, zErr, nErr) != 0 ||
      claim_time(payload, "iat", &iat, &has_iat, zErr, nErr) != 0)
    goto fail;
  if (!has_exp) { snprintf(zErr, nErr, "token has no numeric `exp` claim"); goto fail; }
  if (exp <= now_s) { snprintf(zErr, nErr, "token expired"); goto fail; }
  if (has_nbf && nbf > now_s + AUTH_LEEWAY_S) { snprintf(zErr, nErr, "token not valid yet (`nbf`)"); goto fail; }
  if (has_iat && iat > now_s + AUTH_LEEWAY_S) { snprintf(zErr, nErr, "token issued in the future (`iat`)"); goto fail; }
  if (policy->audience && !audience_ok(payload, policy->audience)) {
    snprintf(zErr, nErr, "token `aud` does not name this server");
    goto fail;
  }
  if (policy->issuer) {
    const cJSON *iss = cJSON_GetObjectItemCaseSensitive(payload, "iss");
    if (!cJSON_IsString(iss) || strcmp(iss->valuestring, policy->issuer) != 0) {
      snprintf(zErr, nErr, "token `iss` is not the expected issuer");
      goto fail;
    }
  }
  out->exp = (int64_t)exp;
  snprintf(out->partition, sizeof out->partition, "%s%s", space[0] ? "s:" : "u:",
           space[0] ? space : out->sub);
  rc = 0;
fail:
  cJSON_Delete(header);
  cJSON_Delete(payload);
  return rc;
}

int auth_sign(const unsigned char *key, size_t klen, const char *sub, const char *space,
              int64_t iat_s, int64_t exp_s, char **pzToken) {
  srv_buf payload = {0}, token = {0};
  unsigned char mac[32];
  static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
  buf_puts(&payload, "{\"sub\":");
  buf_json_str(&payload, sub);
  if (space) { buf_puts(&payload, ",\"space\":"); buf_json_str(&payload, space); }
  buf_printf(&payload, ",\"iat\":%lld,\"exp\":%lld}", (long long)iat_s, (long long)exp_s);
  b64url_encode(&token, (const unsigned char *)header, sizeof header - 1);
  buf_append(&token, ".", 1);
  b64url_encode(&token, (const unsigned char *)payload.data, payload.len);
  int rc = hmac_sha256(key, klen, token.data, token.len, mac);
  buf_append(&token, ".", 1);
  b64url_encode(&token, mac, 32);
  buf_free(&payload);
  *pzToken = buf_take(&token);
  if (rc != 0 || !*pzToken) { free(*pzToken); *pzToken = NULL; return -1; }
  return 0;
}
