/*
 * poll.h
 *	  The safety poll of live events: every PARLEY_EVENTS_POLL_MS, one call
 *	  of parley.conversation_heads() for every streamed conversation, so
 *	  posts made straight in SQL, or whose notification was lost, still
 *	  reach the streams.
 */
#ifndef PARLEY_POLL_H
#define PARLEY_POLL_H

#include <stdbool.h>

#include <event2/event.h>

#include "db/pool.h"

bool		poll_setup(struct event_base *base, struct pool *pool, const struct pool_stmt *stmt);
void		poll_shutdown(void);

#endif							/* PARLEY_POLL_H */
