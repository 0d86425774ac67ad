/*
 * events_hub.h
 *	  Inside the live-event hub: what events.c (conversations, streams,
 *	  notifications in, work lists), deliver.c (new messages) and
 *	  changes.c (edits, deletes, removals) share.
 *	  Not for other files: they use events.h.
 */
#ifndef PARLEY_EVENTS_HUB_H
#define PARLEY_EVENTS_HUB_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/buffer.h>

#include "events.h"
#include "notify.h"
#include "db/pool.h"

#define GUEST_MAX		64

struct events_stream;
struct conv;

/*
 * A conversation's place in one of the hub's work lists: deliver.c's
 * message fetches and changes.c's change fetches.
 */
struct conv_work
{
	struct conv *conv;
	struct conv_work *other;	/* the conversation's other kind of fetch */
	struct conv_work *next;		/* in the list */
	bool		queued;			/* in the list */
	bool		running;		/* in the running fetch */
	bool		again;			/* asked for while running: once more after */
	bool		deferred;		/* taken off the list while other ran */
};

struct conv_worklist
{
	struct conv_work *head;
	struct conv_work *tail;
};

/* A conversation that this gateway streams. */
struct conv
{
	char		cid[CID_LEN + 1];
	struct conv *hnext;			/* hash chain */
	struct events_stream *streams;
	int			nstreams;
	struct conv_work fetch;		/* new messages (deliver.c) */
	int64_t		head;			/* the highest seq known to exist */

	/*
	 * Edits, deletes and removals (deliver.c): the conversation's change_seq
	 * that its streams have been brought to, and the highest one seen by
	 * the safety poll.  A change fetch and a message fetch of the same
	 * conversation never run at once, so that each reads after the other.
	 */
	int64_t		change_seen;
	int64_t		change_head;
	struct conv_work change;	/* edits, deletes, removals (changes.c) */
};

struct events_stream
{
	const struct events_sink_ops *ops;	/* the HTTP connection (events.h) */
	void	   *conn;
	struct conv *conv;
	struct events_stream *next;		/* in conv->streams */
	struct events_stream *prev;
	struct events_stream *all_next;	/* in the hub's list of all streams */
	struct events_stream *all_prev;
	int64_t		cursor;			/* the last seq sent (or the client's) */
	char		guest[GUEST_MAX + 1];
};

/* events.c */
struct conv *hub_conv_find(const char *cid);
void		hub_conv_release(struct conv *c);	/* free it if nothing uses it */

/*
 * Put w's conversation at the end of l, unless it is there already or has
 * no stream; while its fetch runs, mark it to run once more instead.
 */
void		hub_work_queue(struct conv_worklist *l, struct conv_work *w);

/*
 * The next of l that may be fetched now, taken off it; NULL when none.  The
 * two kinds of fetch of one conversation never overlap: one whose other
 * kind runs is deferred (hub_work_ended() says when to queue it again);
 * one without streams is released.
 */
struct conv_work *hub_work_next(struct conv_worklist *l);

/*
 * w's fetch ended.  True when w->other was deferred meanwhile: the caller
 * queues that one again.
 */
bool		hub_work_ended(struct conv_work *w);
int64_t		hub_min_cursor(const struct conv *c);

/*
 * Send buf (drained) to s.  False when s was dropped for having more than
 * PARLEY_SSE_BUFFER bytes unsent: s is freed then, and c too if it was its
 * last stream and no fetch holds it.
 */
bool		hub_stream_send(struct events_stream *s, struct evbuffer *buf);

/*
 * End the streams of guest in c: it takes no part any more.  The caller's
 * running fetch holds c, so c outlives its last stream.
 */
void		hub_guest_gone(struct conv *c, const char *guest);

/* deliver.c */
bool		deliver_setup(struct pool *pool, const struct pool_stmt *fetch_stmt,
							  const struct pool_stmt *changes_stmt);
void		deliver_kick(struct conv *c);	/* fetch what is new for c's streams */
void		deliver_posted(const char *cid, int64_t seq, const char *json, size_t len);

/* changes.c */
bool		changes_setup(struct pool *pool, const struct pool_stmt *stmt);
void		changes_shutdown(void);
unsigned long long changes_fetches(void);

/*
 * Something changed in c (an edit, a delete, a removal): fetch the changes
 * after c->change_seen.  head is the change_seq the poll saw, or 0 when a
 * notification only says "look".
 */
void		deliver_changes(struct conv *c, int64_t head);

void		deliver_shutdown(void);
void		deliver_get_stats(struct events_stats *st);	/* fetches, direct */

#endif							/* PARLEY_EVENTS_HUB_H */
