/*
** conns.h — the connections the daemon holds, as MHD reports them opening and
** closing: the client address of each, and the one guard libmicrohttpd lacks, a
** deadline for a request to arrive. MHD's own timeout is on inactivity only, so a
** client trickling a byte now and then would hold its connection forever; here a
** connection that has not delivered a complete request head within
** --header-timeout of opening (or within --idle-timeout of its previous answer,
** for a kept-alive connection) is shut down.
*/
#ifndef SRV_CONNS_H
#define SRV_CONNS_H

#include <microhttpd.h>
#include <stddef.h>

/* MHD_OPTION_NOTIFY_CONNECTION callback. */
void conns_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                  enum MHD_ConnectionNotificationCode code);

/* The request head of conn has arrived (the access handler's first call). */
void conns_request_started(struct MHD_Connection *conn);

/* conn's answer is done; the deadline runs again for its next request. */
void conns_request_done(struct MHD_Connection *conn);

/* The client's address as text ("127.0.0.1", "::1"), "" when unknown. */
void conns_client_address(struct MHD_Connection *conn, char *out, size_t n);

/* Start / stop the thread enforcing the deadlines (seconds). */
int conns_start(unsigned header_timeout_s, unsigned idle_timeout_s);
void conns_stop(void);

#endif /* SRV_CONNS_H */
