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
#include <stdint.h>

#include <event2/event.h>

#include "db/pool.h"

struct poll_callbacks
{
	/* The conversations to poll as a uuid[] literal (malloc'd), NULL for none. */
	char	   *(*ids) (void);
	/* Conversation cid is at seq head and change_seq change_head. */
	void		(*head) (const char *cid, int64_t head, int64_t change_head);
};

bool		poll_setup(struct event_base *base, struct pool *pool, const struct pool_stmt *stmt,
					   const struct poll_callbacks *cb);
void		poll_shutdown(void);

#endif							/* PARLEY_POLL_H */
