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

/*
 * Send the head of a text/event-stream reply on req now and give its
 * connection the timeouts of a stream.  The evsink is the conn of
 * evsink_ops; it lives until the stream ends it or the client goes.
 * NULL when out of memory (req is answered 500 then).
 */
struct evsink *evsink_start(struct evhttp_request *req, int write_timeout_s);

/* The stream that writes to sink (events_stream_open()'s answer). */
void		evsink_attach(struct evsink *sink, struct events_stream *stream);

#endif							/* PARLEY_EVSINK_H */
