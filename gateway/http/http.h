/*
 * http.h
 *	  The HTTP side: the server (client.c, parse.c over llhttp) and the one
 *	  request handler.
 */
#ifndef PARLEY_HTTP_H
#define PARLEY_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>

#include "db/pool.h"

/* Is PARLEY_LISTEN well-formed?  Checked before anything starts. */
bool		http_check_listen(const char *listen, char *err, size_t errlen);

/* Bind PARLEY_LISTEN and start serving. */
bool		http_setup(struct event_base *base, struct pool *pool,
					   const char *openapi_json, char *err, size_t errlen);

/*
 * SIGTERM: close the listening socket, answer what is in flight with
 * "Connection: close", and call idle_cb once nothing is in flight.
 */
void		http_drain(void (*idle_cb) (void *), void *arg);

int			http_in_flight(void);

/* Close every client connection; only once nothing is in flight. */
void		http_free(void);

#endif							/* PARLEY_HTTP_H */
