/*
 * listen.h
 *	  The one dedicated database connection of the live-event machinery:
 *	  it LISTENs on the channel parley_events and sends the gateway's
 *	  batched notifications (SELECT pg_notify(...)), outside any write
 *	  transaction.  It must reach the primary: hot standbys refuse LISTEN.
 */
#ifndef PARLEY_LISTEN_H
#define PARLEY_LISTEN_H

#include <stdbool.h>

#include <event2/event.h>

#define LISTEN_CHANNEL "parley_events"

struct listen_callbacks
{
	void		(*notify) (const char *payload);	/* one notification */
	void		(*up) (void);	/* LISTEN is active (again): catch up */
	void		(*idle) (void); /* a pg_notify finished: send the next */
};

/*
 * Connect (in the background) and LISTEN; async_commit: the session's
 * pg_notify commits do not wait for WAL.  False when out of memory.
 */
bool		listen_setup(struct event_base *base, const char *conninfo,
						 bool async_commit, const struct listen_callbacks *cb);

/* Is the connection up, listening and not running a pg_notify? */
bool		listen_ready(void);

/* Send one pg_notify(parley_events, payload); only when listen_ready(). */
bool		listen_send(const char *payload);

void		listen_free(void);

#endif							/* PARLEY_LISTEN_H */
