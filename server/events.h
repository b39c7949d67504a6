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

/* Start the heartbeat thread. Returns 0 or -1. */
int events_start(int ping_ms);

/* Close every stream (they end their response), wait up to wait_ms for them to be
** released by MHD, stop the heartbeat. Call before MHD_stop_daemon. */
void events_stop(int wait_ms);

/* A response for a new stream of partition on conn (the daemon must allow
** suspend/resume). NULL on failure. The caller queues and destroys it. */
struct MHD_Response *events_response(const char *partition, struct MHD_Connection *conn);

/* Wake every open stream of partition (NULL: of every partition) with `event: poke`.
** Thread-safe. */
void events_poke(const char *partition);

/* Open streams now. */
size_t events_count(void);

#endif /* SRV_EVENTS_H */
