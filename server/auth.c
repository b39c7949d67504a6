/*
** auth.c — HS256 JSON Web Tokens on OpenSSL's HMAC. Verification checks the
** header's alg before anything else (no "none", no RS/HS confusion), compares the
** signature with CRYPTO_memcmp, then reads the claims with cJSON. Claims other
** than sub, space, exp and iat are ignored. What a failure means for the HTTP
** answer (401) is decided by http.c.
*/
#include "auth.h"
#include "buf.h"

#include <cJSON.h>
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

/* Decode n chars of unpadded base64url into out (capacity n); -1 if malformed. */
static int b64url_decode(const char *s, size_t n, unsigned char *out, size_t *pLen) {
  size_t o = 0;
  unsigned acc = 0;
  int bits = 0;
  if (n % 4 == 1) return -1;
  for (size_t i = 0; i < n; i++) {
    int v = b64url_value(s[i]);
    if (v < 0) return -1;
    acc = (acc << 6) | (unsigned)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (unsigned char)((acc >> bits) & 0xFF);
    }
  }
  *pLen = o;
  return 0;
}

static void hmac_sha256(const unsigned char *key, size_t klen, const char *msg, size_t n,
                        unsigned char mac[32]) {
  unsigned int mac_len = 32;
  HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, n, mac, &mac_len);
}

/* Decode one base64url segment holding a JSON object. */
static cJSON *decode_json_segment(const char *s, size_t n) {
  unsigned char *raw = malloc(n + 1);
  size_t len = 0;
  cJSON *obj = NULL;
  if (!raw) return NULL;
  if (b64url_decode(s, n, raw, &len) != 0) goto fail;
  raw[len] = 0;
  if (!buf_utf8_valid((const char *)raw, len) || strlen((const char *)raw) != len) goto fail;
  obj = cJSON_ParseWithLengthOpts((const char *)raw, len, NULL, 0);
  if (obj && !cJSON_IsObject(obj)) { cJSON_Delete(obj); obj = NULL; }
fail:
  free(raw);
  return obj;
}

static int claim_string(const cJSON *payload, const char *name, char *out, int required,
                        char *zErr, size_t nErr) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(payload, name);
  out[0] = 0;
  if (!v) {
    if (required) { snprintf(zErr, nErr, "token has no `%s` claim", name); return -1; }
    return 0;
  }
  if (!cJSON_IsString(v) || !v->valuestring[0] || strlen(v->valuestring) > AUTH_CLAIM_MAX) {
    snprintf(zErr, nErr, "token claim `%s` must be a non-empty string of at most %d bytes", name,
             AUTH_CLAIM_MAX);
    return -1;
  }
  memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
  return 0;
}

int auth_verify(const unsigned char *key, size_t klen, const char *token, int64_t now_ms,
                auth_claims *out, char *zErr, size_t nErr) {
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
  if (!header) { snprintf(zErr, nErr, "token header is not base64url JSON"); goto fail; }
  const cJSON *alg = cJSON_GetObjectItemCaseSensitive(header, "alg");
  if (!cJSON_IsString(alg) || strcmp(alg->valuestring, "HS256") != 0) {
    snprintf(zErr, nErr, "token alg must be HS256");
    goto fail;
  }
  unsigned char mac[32], sig[64];
  size_t sig_len = 0;
  size_t sig_chars = n - (size_t)(dot2 + 1 - token);
  if (sig_chars > 86 || b64url_decode(dot2 + 1, sig_chars, sig, &sig_len) != 0 || sig_len != 32) {
    snprintf(zErr, nErr, "token signature is malformed");
    goto fail;
  }
  hmac_sha256(key, klen, token, (size_t)(dot2 - token), mac);
  if (CRYPTO_memcmp(mac, sig, 32) != 0) {
    snprintf(zErr, nErr, "token signature does not verify");
    goto fail;
  }
  payload = decode_json_segment(dot1 + 1, (size_t)(dot2 - dot1 - 1));
  if (!payload) { snprintf(zErr, nErr, "token payload is not base64url JSON"); goto fail; }
  char space[AUTH_CLAIM_MAX + 1];
  if (claim_string(payload, "sub", out->sub, 1, zErr, nErr) != 0) goto fail;
  if (claim_string(payload, "space", space, 0, zErr, nErr) != 0) goto fail;
  const cJSON *exp = cJSON_GetObjectItemCaseSensitive(payload, "exp");
  if (!cJSON_IsNumber(exp)) { snprintf(zErr, nErr, "token has no numeric `exp` claim"); goto fail; }
  const cJSON *iat = cJSON_GetObjectItemCaseSensitive(payload, "iat");
  if (iat && !cJSON_IsNumber(iat)) { snprintf(zErr, nErr, "token claim `iat` must be a number"); goto fail; }
  if (exp->valuedouble * 1000.0 <= (double)now_ms) { snprintf(zErr, nErr, "token expired"); goto fail; }
  out->exp = exp->valuedouble > 9e15 ? (int64_t)9e15 : (int64_t)exp->valuedouble;
  memcpy(out->partition, space[0] ? space : out->sub, strlen(space[0] ? space : out->sub) + 1);
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
  hmac_sha256(key, klen, token.data, token.len, mac);
  buf_append(&token, ".", 1);
  b64url_encode(&token, mac, 32);
  buf_free(&payload);
  *pzToken = buf_take(&token);
  return 0;
}
