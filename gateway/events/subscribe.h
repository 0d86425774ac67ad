/*
 * subscribe.h
 *	  The subscribe check of a stream (parley.events_subscribe): is the
 *	  guest a participant, and where does the conversation stand (last_seq,
 *	  change_seq)?  While the database cannot answer, the check is kept and
 *	  run again every second until it can or the caller cancels it.
 */
#ifndef PARLEY_SUBSCRIBE_H
#define PARLEY_SUBSCRIBE_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "errors.h"
#include "db/pool.h"

/* Exactly one of accepted() and refused() ends a check that is not cancelled. */
struct subscribe_callbacks
{
	/*
	 * The guest may subscribe to cid (as given to subscribe_start()); the
	 * conversation's last_seq and change_seq.
	 */
	void		(*accepted) (void *arg, const char *cid, int64_t last_seq, int64_t change_seq);

	/* It may not (403, 404, or 500 for an answer that makes no sense). */
	void		(*refused) (void *arg, const struct problem *p);

	/*
	 * The database cannot answer now (no connection, a full queue, a
	 * timeout); the check runs again later.  Called once per check, maybe
	 * from within subscribe_start().
	 */
	void		(*waiting) (void *arg);
};

struct subscribe;

bool		subscribe_setup(struct event_base *base, struct pool *pool,
							const struct pool_stmt *stmt, const struct subscribe_callbacks *cb);

/*
 * Check guest in cid from cursor after (NULL: none) for arg.  NULL when out
 * of memory (no callback comes then).
 */
struct subscribe *subscribe_start(const char *cid, const char *guest, const char *after, void *arg);

/* The caller lost interest: no callback comes for sub any more. */
void		subscribe_cancel(struct subscribe *sub);

void		subscribe_shutdown(void);

#endif							/* PARLEY_SUBSCRIBE_H */
