/*
** conns.c — the connection table of conns.h. Every connection MHD opens gets a
** small record (its socket, and since when it has been waiting for a request)
** in a list under one mutex; a watchdog thread walks the list twice a second and
** shuts down (shutdown(2), not close: the socket stays MHD's) each connection
** waiting past the deadline, which MHD then sees as closed by the client and
** cleans up as usual. The record is unlinked when MHD reports the close, before
** the socket is released, so the watchdog never touches a reused descriptor.
*/
#include "conns.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

typedef struct conn_rec {
  struct conn_rec *prev, *next;
  int fd;
  int64_t waiting_since_ms;   /* 0 = a request is being handled (or was shut down) */
} conn_rec;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static conn_rec *head;
static pthread_t watchdog;
static int running, stopping;
static int64_t deadline_ms, keepalive_ms;

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void conns_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                  enum MHD_ConnectionNotificationCode code) {
  (void)cls;
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    conn_rec *c = calloc(1, sizeof *c);
    *socket_context = c;
    if (!c) return;
    c->fd = info ? info->connect_fd : -1;
    pthread_mutex_lock(&mu);
    c->waiting_since_ms = mono_ms();
    c->next = head;
    if (head) head->prev = c;
    head = c;
    pthread_mutex_unlock(&mu);
  } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
    conn_rec *c = *socket_context;
    if (!c) return;
    pthread_mutex_lock(&mu);
    if (c->prev) c->prev->next = c->next;
    else head = c->next;
    if (c->next) c->next->prev = c->prev;
    pthread_mutex_unlock(&mu);
    free(c);
    *socket_context = NULL;
  }
}

static conn_rec *rec_of(struct MHD_Connection *conn) {
  const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return info ? info->socket_context : NULL;
}

void conns_request_started(struct MHD_Connection *conn) {
  conn_rec *c = rec_of(conn);
  if (!c) return;
  pthread_mutex_lock(&mu);
  c->waiting_since_ms = 0;
  pthread_mutex_unlock(&mu);
}

void conns_request_done(struct MHD_Connection *conn) {
  conn_rec *c = rec_of(conn);
  if (!c) return;
  pthread_mutex_lock(&mu);
  /* A kept-alive connection waits for its next request up to the idle timeout. */
  c->waiting_since_ms = mono_ms() + (keepalive_ms > deadline_ms ? keepalive_ms - deadline_ms : 0);
  pthread_mutex_unlock(&mu);
}

void conns_client_address(struct MHD_Connection *conn, char *out, size_t n) {
  const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  out[0] = 0;
  if (!info || !info->client_addr) return;
  const struct sockaddr *sa = info->client_addr;
  if (sa->sa_family == AF_INET)
    inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out, (socklen_t)n);
  else if (sa->sa_family == AF_INET6)
    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out, (socklen_t)n);
}

static void *watchdog_main(void *arg) {
  (void)arg;
  pthread_mutex_lock(&mu);
  while (!stopping) {
    int64_t now = mono_ms();
    for (conn_rec *c = head; c; c = c->next) {
      if (c->waiting_since_ms && now - c->waiting_since_ms > deadline_ms) {
        if (c->fd >= 0) shutdown(c->fd, SHUT_RDWR);
        c->waiting_since_ms = 0;
      }
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 500 * 1000000L;
    if (ts.tv_nsec >= 1000000000L) { ts.tv_sec++; ts.tv_nsec -= 1000000000L; }
    pthread_cond_timedwait(&cv, &mu, &ts);
  }
  pthread_mutex_unlock(&mu);
  return NULL;
}

int conns_start(unsigned header_timeout_s, unsigned idle_timeout_s) {
  deadline_ms = (int64_t)header_timeout_s * 1000;
  keepalive_ms = (int64_t)idle_timeout_s * 1000;
  stopping = 0;
  if (pthread_create(&watchdog, NULL, watchdog_main, NULL) != 0) return -1;
  running = 1;
  return 0;
}

void conns_stop(void) {
  if (!running) return;
  pthread_mutex_lock(&mu);
  stopping = 1;
  pthread_cond_signal(&cv);
  pthread_mutex_unlock(&mu);
  pthread_join(watchdog, NULL);
  running = 0;
}
