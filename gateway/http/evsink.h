/*
 * evsink.h
 *	  The events sink (events/events.h) for an evhttp connection: an event
 *	  stream's response head, its chunked framing and its writes.  Only
 *	  this file and http.c know that streams ride on evhttp; a server with
 *	  another HTTP parser implements struct events_sink_ops the same way.
 */
#ifndef PARLEY_EVSINK_H
#define PARLEY_EVSINK_H

#include <event2/http.h>

#include "events/events.h"

extern const struct events_sink_ops evsink_ops;

struct evsink;

/* How the request that became a stream was answered (http.c finishes it then). */
enum evsink_outcome
{
	EVSINK_STARTED,				/* the 200 head is sent: the connection is the stream's */
	EVSINK_REFUSED,				/* answer p on the request now (it is still http.c's) */
	EVSINK_GONE					/* the client left before either */
};

typedef void (*evsink_answered_fn) (void *arg, enum evsink_outcome outcome,
									const struct problem *p);

/*
 * A sink for req, whose connection it watches from now on; answered(arg)
 * is called once, when events starts or refuses the stream or the client
 * goes first.  NULL when out of memory.
 */
struct evsink *evsink_new(struct evhttp_request *req, int write_timeout_s,
						  evsink_answered_fn answered, void *arg);

/* The stream that writes to sink (events_stream_open()'s answer). */
void		evsink_attach(struct evsink *sink, struct events_stream *stream);

#endif							/* PARLEY_EVSINK_H */
