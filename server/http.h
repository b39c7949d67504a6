/*
** http.h — the HTTP face of the server on libmicrohttpd: routing, bearer-token
** checks, CORS, body and rate limits, static files, one JSON log line per
** request. The protocol itself is sync.c's, live streams are events.c's.
*/
#ifndef SRV_HTTP_H
#define SRV_HTTP_H

#include <microhttpd.h>

#include "config.h"
#include "db.h"

/* Start serving on cfg->listen_host:listen_port with cfg->threads worker threads
** (each an epoll loop; suspended SSE streams and pushes waiting for their writer
** cost no thread) and, when the pool combines pushes, cfg->threads writer threads
** (writers.h). On success returns the daemon and sets *pPort to the bound port;
** NULL on failure (logged). */
struct MHD_Daemon *http_start(const srv_config *cfg, db_pool *pool, unsigned short *pPort);

/* Stop: end live streams, answer every queued push (writers_stop), then the daemon. */
void http_stop(struct MHD_Daemon *daemon);

/* Write one JSON log line {"ts","level","msg",...extra} to stderr; extra is
** either NULL or text starting with ',"key":' pairs. */
void http_log(const char *level, const char *msg, const char *extra);

#endif /* SRV_HTTP_H */
