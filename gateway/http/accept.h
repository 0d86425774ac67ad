/*
 * accept.h
 *	  The listening socket (accept.c).
 */
#ifndef PARLEY_ACCEPT_H
#define PARLEY_ACCEPT_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

/* "host:port", "[v6]:port" or ":port" (all addresses) into host and port. */
bool		accept_parse_listen(const char *listen, char *host, size_t hostlen,
								unsigned short *port);

/*
 * Listen on host:port with a large backlog and TCP_NODELAY; out of
 * descriptors, accept() pauses instead of spinning.  NULL with err set
 * when that fails.
 */
struct evconnlistener *accept_listen(struct event_base *base, const char *host,
									 unsigned short port, char *err, size_t errlen);

/* An accepted client's bufferevent (owns fd): one write() per reply, up to 1 MiB. */
struct bufferevent *accept_client_bev(struct event_base *base, evutil_socket_t fd);

/* No more pauses to end (the listener is about to be freed). */
void		accept_stop(void);

/* Free the listener (and end a pause of it). */
void		accept_free(struct evconnlistener *lev);

#endif							/* PARLEY_ACCEPT_H */
