/*
 * events.h
 *	  Live events (GET /v1/conversations/{cid}/events, Server-Sent Events):
 *	  the fan-out hub.  Streams are indexed by conversation; one fetch per
 *	  conversation feeds all of its streams; one LISTEN connection per
 *	  process (listen.c) tells which conversations changed.
 */
#ifndef PARLEY_EVENTS_H
#define PARLEY_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include <stddef.h>

#include "errors.h"
#include "db/pool.h"

/* Register the hub's statements with the pool; start the listener and the timers. */
bool		events_setup(struct event_base *base, struct pool *pool);

/*
 * A write relayed by this gateway succeeded: queue its notification (and
 * send a posted message to this gateway's streams).  route is the route's
 * name, values its statement parameters, body the reply (NULL for 204).
 */
void		events_after_write(const char *route, const char *const *values,
							   const char *body, size_t body_len);

/*
 * The cursor of a subscription: ?after=S, else the Last-Event-ID header.
 * Returns false with a 400 in p when the header is not a non-negative
 * integer.
 */
bool		events_cursor(const char **after, const char *last_event_id,
						  struct problem *p);

/*
 * The sink: what the HTTP layer implements for one client connection that
 * carries a stream.  The HTTP layer sends the response head (status line
 * and headers) itself before it hands the connection over; events only
 * writes event text, already framed by sse.c.  The HTTP library stays on
 * its side of this interface.
 *
 * After end() or abort() the stream never names conn again; after the
 * HTTP layer calls events_stream_gone() it never calls the sink again.
 */
struct events_sink_ops
{
	/*
	 * Queue len bytes of the stream body for the client (transport framing,
	 * such as chunked encoding, is the sink's).  Returns the bytes still
	 * waiting to be written, for the slow-consumer bound.
	 */
	size_t		(*write) (void *conn, const char *data, size_t len);

	/* End the stream: close the connection once what is queued is written. */
	void		(*end) (void *conn);

	/* Drop the connection now (slow consumer, shutdown). */
	void		(*abort) (void *conn);
};

struct events_stream;

/*
 * events_subscribe() said yes and the head is sent: the stream writes to
 * conn through ops from now on.  after is the cursor or NULL (start live,
 * from last_seq); change_seq is the conversation's when it subscribed.
 * NULL when the stream cannot be registered (out of memory, a cid that is
 * no UUID): the caller ends the connection.
 */
struct events_stream *events_stream_open(const struct events_sink_ops *ops, void *conn,
										 const char *cid, const char *guest,
										 const char *after, const char *last_seq,
										 const char *change_seq);

/* The client went away: the stream forgets conn and is freed. */
void		events_stream_gone(struct events_stream *s);

/* For /metrics. */
struct events_stats
{
	int			streams;		/* open now */
	unsigned long long fetches;	/* round trips of events_fetch */
	unsigned long long direct;	/* messages sent from a post's own reply */
	unsigned long long dropped;	/* slow consumers disconnected */
};
void		events_get_stats(struct events_stats *st);

/* End every stream (SIGTERM). */
void		events_close_all(void);

void		events_shutdown(void);

/* For poll.c: the streamed conversations as a PostgreSQL array literal
 * ("{uuid,...}", malloc'd; NULL when there are none) ... */
char	   *events_streamed_ids(void);

/*
 * ... and what it found: conversation cid is at seq head and change_seq
 * change_head; fetch what the streams do not have.
 */
void		events_head_seen(const char *cid, int64_t head, int64_t change_head);

#endif							/* PARLEY_EVENTS_H */
