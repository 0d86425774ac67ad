/*
 * deliver.h
 *	  The messages fetcher of live events: new messages read for the
 *	  streamed conversations (parley.events_fetch), and the messages this
 *	  gateway posted itself, sent without a read.
 */
#ifndef PARLEY_DELIVER_H
#define PARLEY_DELIVER_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "hub.h"
#include "db/pool.h"

/* The hub's callbacks into this fetcher (hub_setup()). */
extern const struct hub_fetcher deliver_fetcher;

bool		deliver_setup(struct event_base *base, struct pool *pool,
						  const struct pool_stmt *fetch_stmt);

/* Fetch what is new for c's streams (now, or after the running fetch). */
void		deliver_kick(struct hub_conv *c);

/* Fetch for every streamed conversation (the listener is back: notifications may be lost). */
void		deliver_kick_all(void);

/* Message seq of c (canonical id), as committed, was posted through this gateway. */
void		deliver_posted(const char *cid, int64_t seq, const char *json, size_t len);

unsigned long long deliver_fetches(void);
unsigned long long deliver_direct(void);

void		deliver_shutdown(void);

#endif							/* PARLEY_DELIVER_H */
