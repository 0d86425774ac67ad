/*
 * changes.h
 *	  The changes fetcher of live events: edits, deletes and removals in a
 *	  streamed conversation after the change_seq its streams were brought
 *	  to (parley.events_changes).
 */
#ifndef PARLEY_CHANGES_H
#define PARLEY_CHANGES_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "hub.h"
#include "db/pool.h"

/* The hub's callbacks into this fetcher (hub_setup()). */
extern const struct hub_fetcher changes_fetcher;

bool		changes_setup(struct event_base *base, struct pool *pool,
						  const struct pool_stmt *stmt);

/*
 * Something changed in c (an edit, a delete, a removal): fetch the changes
 * after c->change_seen.  head is the change_seq the poll saw, or 0 when a
 * notification only says "look".
 */
void		changes_kick(struct hub_conv *c, int64_t head);

unsigned long long changes_fetches(void);

void		changes_shutdown(void);

#endif							/* PARLEY_CHANGES_H */
