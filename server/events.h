/*
** events.h — GET /sync/events: Server-Sent Events streams that say `poke` when
** their partition gains changes, with a `: ping` comment every ping interval.
** Streams cost no thread: an idle stream's connection is suspended in MHD's event
** loop and resumed when there is something to send. Who pokes (http.c after a
** push on SQLite, the LISTEN thread on PostgreSQL) is the caller's business.
*/
#ifndef SRV_EVENTS_H
#define SRV_EVENTS_H

#include <microhttpd.h>
#include <stddef.h>
#include <stdint.h>

/* Start the heartbeat thread; streams are capped at per_token open streams for one
** token and per_partition for one partition. Returns 0 or -1. */
int events_start(int ping_ms, unsigned per_token, unsigned per_partition);

/* Close every stream (they end their response), wait up to wait_ms for them to be
** released by MHD, stop the heartbeat. Call before MHD_stop_daemon. */
void events_stop(int wait_ms);

enum { EVENTS_OK = 0, EVENTS_FAILED = -1, EVENTS_TOKEN_FULL = -2, EVENTS_PARTITION_FULL = -3 };

/* A new stream of partition on conn for the token whose key is token_key (the
** daemon must allow suspend/resume): EVENTS_OK with *pResp, which the caller
** queues and destroys; EVENTS_TOKEN_FULL / EVENTS_PARTITION_FULL when the token or
** the partition already holds its cap of streams; EVENTS_FAILED. */
int events_open(const char *partition, uint64_t token_key, struct MHD_Connection *conn,
                struct MHD_Response **pResp);

/* Wake every open stream of partition (NULL: of every partition) with `event: poke`.
** Thread-safe. */
void events_poke(const char *partition);

/* Open streams now. */
size_t events_count(void);

#endif /* SRV_EVENTS_H */
