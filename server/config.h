/*
** config.h — the server's settings, filled from the command line by main.c and
** read (never written) by every other module after start-up.
*/
#ifndef SRV_CONFIG_H
#define SRV_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define SRV_MAX_DERIVE 16
#define SRV_MAX_SERVER_IDS 64

/* One --derive rule: target.field = source.source_field, looked up by ref_field. */
typedef struct srv_derive {
  char target[65];        /* collection the op writes (appointments)        */
  char field[129];        /* field the server sets (clientId)               */
  char source[65];        /* collection read (pets)                         */
  char source_field[129]; /* field copied (ownerId)                         */
  char ref_field[129];    /* field of the op's data naming the source (petId) */
} srv_derive;

typedef struct srv_config {
  char listen_host[256];
  unsigned short listen_port;
  const char *db_url;            /* sqlite:PATH | postgres://… | postgresql://… */
  unsigned char jwt_secret[4096];
  size_t jwt_secret_len;
  const char *jwt_secret_path;   /* never served by --static                   */
  const char *jwt_audience;      /* NULL = `aud` not checked                   */
  const char *jwt_issuer;        /* NULL = `iss` not checked                   */
  const char *static_dir;        /* NULL = no static files                    */
  const char *cors_origin;       /* NULL = no CORS headers                     */
  int dev;                       /* POST /auth/dev-token                       */
  unsigned threads;              /* MHD worker threads (+ as many push writers) */
  size_t max_body;               /* bytes, 413 beyond                           */
  int max_ops;                   /* ops per push, 413 beyond                    */
  int max_depth;                 /* JSON nesting                                */
  size_t max_nodes;              /* JSON values in one body, 413 beyond          */
  size_t max_page_bytes;         /* a pull page stops growing past this          */
  int max_id;                    /* record id length                            */
  size_t max_record;             /* serialized data bytes                       */
  double rate;                   /* requests per second per partition, 0 = off  */
  double burst;
  double auth_fail_rate;         /* failed authentications per second per address */
  double auth_fail_burst;
  int64_t tombstone_retention_ms;
  int64_t op_retention_ms;       /* op results (op_id → result); ≥ tombstone_retention_ms */
  int64_t future_tolerance_ms;
  int sse_ping_ms;               /* heartbeat interval                          */
  unsigned max_connections;
  unsigned max_connections_per_ip;   /* 0 = no limit                            */
  unsigned idle_timeout_s;       /* a connection silent this long is closed     */
  unsigned header_timeout_s;     /* a request's headers must arrive within this */
  unsigned max_streams_per_token;
  unsigned max_streams_per_partition;
  const char *legacy_spaces;     /* comma list: unprefixed partitions that were spaces */
  int server_id_count;
  char server_ids[SRV_MAX_SERVER_IDS][65];
  int derive_count;
  srv_derive derive[SRV_MAX_DERIVE];
  /* Where server-assigned ids draw their bytes: NULL = OpenSSL's RAND_bytes (the
  ** server); the simulation passes a seeded stream so a seed replays exactly. */
  void (*random_bytes)(void *ctx, unsigned char *buf, size_t n);
  void *random_ctx;
} srv_config;

#endif /* SRV_CONFIG_H */
