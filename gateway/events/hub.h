/*
 * hub.h
 *	  The registry of live events: the conversations this gateway streams,
 *	  their streams and cursors, the work lists that fetchers take
 *	  conversations from, and the streams' writes through their sinks.
 *	  It knows nothing about fetching or the database: the two fetchers
 *	  (deliver.c for messages, changes.c for edits, deletes and removals)
 *	  plug in through struct hub_fetcher.
 *
 * Lifetimes.  A conversation exists while it has a stream or a fetch holds
 * it (queued or running); hub_conv_release() frees it when neither is
 * true, and every path that drops a hold calls it.  A stream is in the
 * list of all streams from hub_stream_new() to its end (hub_stream_end(),
 * hub_stream_remove(), or a drop in hub_stream_send()); it joins a
 * conversation with hub_stream_join() once its subscription is known.
 *
 * The two kinds of fetch of one conversation never run at once, so that
 * each reads after the other: hub_work_next() defers a conversation whose
 * other kind runs, and hub_work_ended() asks that kind's fetcher to take
 * it again once the running one ends.
 */
#ifndef PARLEY_HUB_H
#define PARLEY_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sink.h"

#define HUB_CID_LEN		36		/* a UUID in its canonical spelling */
#define HUB_GUEST_MAX	64

struct evbuffer;
struct event_base;
struct hub_conv;

/* What a fetcher gives the hub. */
struct hub_fetcher
{
	/* c's fetch of this kind was deferred while the other kind ran: take it again. */
	void		(*kick) (struct hub_conv *c);
};

/* A conversation's place in one fetcher's work list. */
struct hub_work
{
	struct hub_conv *conv;
	struct hub_work *other;		/* the conversation's other kind of fetch */
	const struct hub_fetcher *fetcher;	/* whose work this is */
	struct hub_work *next;		/* in the list */
	bool		queued;			/* in the list */
	bool		running;		/* in the running fetch */
	bool		again;			/* asked for while running: once more after */
	bool		deferred;		/* taken off the list while other ran */
};

struct hub_worklist
{
	struct hub_work *head;
	struct hub_work *tail;
};

struct hub_conv
{
	char		cid[HUB_CID_LEN + 1];
	struct hub_conv *hnext;		/* hash chain */
	struct events_stream *streams;
	int			nstreams;
	int64_t		head;			/* the highest seq known to exist */
	struct hub_work fetch;		/* new messages */

	/*
	 * Edits, deletes and removals: the change_seq its streams have been
	 * brought to, and the highest one the safety poll saw.
	 */
	int64_t		change_seen;
	int64_t		change_head;
	struct hub_work change;
};

/* A stream: the handle events.h gives the HTTP layer. */
struct events_stream
{
	const struct events_sink_ops *ops;
	void	   *conn;
	struct hub_conv *conv;		/* NULL until it joins one */
	struct events_stream *next; /* in conv->streams */
	struct events_stream *prev;
	struct events_stream *all_next; /* in the list of all streams */
	struct events_stream *all_prev;
	int64_t		cursor;			/* the last seq sent (or the client's) */
	bool		started;		/* the sink sent its head: it may be written */
	bool		paused;			/* replay waits for the client to read */
	void	   *owner;			/* the caller's, while it has not joined */
	char		guest[HUB_GUEST_MAX + 1];
};

/*
 * messages and changes are the two fetchers; sse_buffer the bytes a
 * stream may have unsent before it is dropped.  base runs the timer that
 * resumes paused replays.
 */
bool		hub_setup(struct event_base *base, const struct hub_fetcher *messages,
					  const struct hub_fetcher *changes, int sse_buffer);
void		hub_shutdown(void);		/* ends every stream, frees everything */

/*
 * PostgreSQL reads a UUID in several spellings; the hub keys
 * conversations by the canonical one.  False when in is no UUID.
 */
bool		hub_cid_canonical(const char *in, char out[HUB_CID_LEN + 1]);

/* ---- conversations -------------------------------------------------------- */

struct hub_conv *hub_conv_find(const char *cid);
void		hub_conv_release(struct hub_conv *c);	/* free it if nothing uses it */
int64_t		hub_min_cursor(const struct hub_conv *c);	/* INT64_MAX without streams */

/* The streamed conversations as a uuid[] literal (malloc'd); NULL when none. */
char	   *hub_conv_ids(void);

/* Call fn for every conversation; fn must not free any (c itself may go). */
void		hub_conv_foreach(void (*fn) (struct hub_conv *c));

/* ---- streams -------------------------------------------------------------- */

/* A stream writing to conn through ops, in no conversation yet; NULL when out of memory. */
struct events_stream *hub_stream_new(const struct events_sink_ops *ops, void *conn,
									 const char *guest);

/*
 * Put s into conversation cid (canonical) with its cursor.  last_seq and
 * change_seq are the conversation's when s subscribed: they seed the
 * conversation when it is new here.  False when out of memory (s is
 * unchanged).
 */
bool		hub_stream_join(struct events_stream *s, const char *cid, int64_t cursor,
							int64_t last_seq, int64_t change_seq);

/*
 * Send buf (drained) to s (nothing before it started).  False when s was dropped for having more than
 * sse_buffer bytes unsent: s is freed then, and its conversation too if it
 * was the last stream and no fetch holds it.
 */
bool		hub_stream_send(struct events_stream *s, struct evbuffer *buf);

/* Send buf (drained) to every started stream; returns how many were dropped. */
int			hub_stream_send_all(struct evbuffer *buf);

/* Bytes that wait to be written to s's client. */
size_t		hub_stream_queued(const struct events_stream *s);

/*
 * s has a replay to catch up but its client has not read what it was
 * sent: it gets no more pages until it has.  The hub checks the paused
 * streams every few ms and asks the messages fetcher to take their
 * conversations again once they have read everything.
 */
void		hub_stream_pause(struct events_stream *s);

/* watch(guest, opened) is called when a stream starts and when a started one ends. */
void		hub_set_watch(void (*watch) (const char *guest, bool opened));

/* The subscription is accepted: the sink sends its head; writes go out from now on. */
void		hub_stream_start(struct events_stream *s);

/* Not started, and refused (p): the sink answers p; s is freed. */
void		hub_stream_refuse(struct events_stream *s, const struct problem *p);

/*
 * End s cleanly (the client reads what is queued, then the connection
 * closes; one never started is closed at once); s is freed.
 */
void		hub_stream_end(struct events_stream *s);

/* The client went away: forget s, write nothing. */
void		hub_stream_remove(struct events_stream *s);

/*
 * End the streams of guest in c: it takes no part any more.  The caller's
 * running fetch holds c, so c outlives its last stream.
 */
void		hub_guest_gone(struct hub_conv *c, const char *guest);

/* Some stream, to end them all one by one; NULL when there is none. */
struct events_stream *hub_stream_any(void);

/* Streams open now (also those not in a conversation yet), and dropped so far. */
int			hub_nstreams(void);
unsigned long long hub_dropped(void);

/* ---- work lists ----------------------------------------------------------- */

/*
 * Put w's conversation at the end of l, unless it is there already or has
 * no stream; while its fetch runs, mark it to run once more instead.
 */
void		hub_work_queue(struct hub_worklist *l, struct hub_work *w);

/*
 * The next of l that may be fetched now, taken off it and marked running;
 * NULL when none.  One whose other kind runs is deferred (hub_work_ended()
 * hands it back); one without streams is released.
 */
struct hub_work *hub_work_next(struct hub_worklist *l);

/*
 * w's fetch ended.  When w->other was deferred meanwhile and the
 * conversation still has streams, the other fetcher's kick() takes it
 * again.  The conversation is not freed here: the caller releases it.
 */
void		hub_work_ended(struct hub_work *w);

#endif							/* PARLEY_HUB_H */
