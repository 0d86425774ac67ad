/*
 * sink.h
 *	  The boundary between a live-event stream and the HTTP connection that
 *	  carries it (part of events.h; on its own so that hub.h can name it
 *	  without the rest of the front).  events/ never names the HTTP library.
 */
#ifndef PARLEY_SINK_H
#define PARLEY_SINK_H

#include <stddef.h>

#include "errors.h"

/*
 * The sink: what the HTTP layer implements for one client connection that
 * carries a stream.  The HTTP layer validates and authenticates the
 * request, then hands the connection over with events_stream_open(); from
 * then on events decides what happens to it, through these ops:
 *
 *	 start   once, when the subscription is accepted: the HTTP layer sends
 *			 the response head itself (200, text/event-stream, no-cache,
 *			 Connection: close) and sets the stream's timeouts (no read
 *			 timeout; the write timeout).  Writes come only after start.
 *	 refuse  instead of start (never after it): answer the request with
 *			 problem p (403 not_a_participant, 404, 500; 503 at shutdown).
 *	 write   queue len bytes of event text (already framed by sse.c; any
 *			 transport framing, such as chunked encoding, is the sink's);
 *			 returns the bytes still waiting to be written, for the
 *			 slow-consumer bound.
 *	 queued  the bytes still waiting to be written (a replay is paced by it).
 *	 end     close the connection once what is queued is written.
 *	 abort   drop the connection now (slow consumer).
 *
 * start() or refuse() may come from within events_stream_open() (the
 * database is unreachable; out of memory).  After refuse(), end() or
 * abort() events never names conn again; after the HTTP layer calls
 * events_stream_gone() it never calls the sink again.
 */
struct events_sink_ops
{
	void		(*start) (void *conn);
	void		(*refuse) (void *conn, const struct problem *p);
	size_t		(*write) (void *conn, const char *data, size_t len);
	size_t		(*queued) (void *conn);
	void		(*end) (void *conn);
	void		(*abort) (void *conn);
};

/* A stream: what events_stream_open() hands the HTTP layer (opaque there). */
struct events_stream;

#endif							/* PARLEY_SINK_H */
