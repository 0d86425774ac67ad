/*
 * evsink.c
 *	  An event stream on an evhttp connection: the sink of events.h.
 *
 * Lifetime: the evsink is made when http.c hands the request over, and
 * freed by exactly one of refuse() (http.c answers the problem), end()
 * (the last chunk, then evhttp closes), abort() (the connection is freed
 * now) or the connection's close callback (the client went away; the
 * stream is told with events_stream_gone()).  Those ops clear the close
 * callback first, so the stream is never told about a connection it gave
 * up.  answered() tells http.c once how its request ended: started,
 * refused or gone.
 */
#include <stdio.h>
#include <stdlib.h>

#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/keyvalq_struct.h>

#include "evsink.h"

#define READ_HIGH_WATER 4096	/* a stream's client has nothing to send */

struct evsink
{
	struct evhttp_request *req;
	struct evhttp_connection *evcon;
	struct events_stream *stream;	/* NULL until attached */
	evsink_answered_fn answered;
	void	   *arg;
	int			write_timeout_s;
	bool		started;		/* the head is sent */
	bool		chunked;		/* evhttp chose chunked encoding (HTTP/1.1) */
	struct evbuffer *frame;		/* one write, with its chunk framing */
};

static void
evsink_free(struct evsink *sink)
{
	evbuffer_free(sink->frame);
	free(sink);
}

/*
 * The client went away (or the write timed out).  evhttp detaches an
 * unfinished reply from a failed connection without freeing the request:
 * it is ours to free.  A request not answered yet is evhttp's.
 */
static void
on_close(struct evhttp_connection *evcon, void *arg)
{
	struct evsink *sink = arg;

	(void) evcon;
	if (sink->stream != NULL)
		events_stream_gone(sink->stream);
	if (!sink->started)
		sink->answered(sink->arg, EVSINK_GONE, NULL);
	else if (evhttp_request_get_connection(sink->req) == NULL)
		evhttp_request_free(sink->req);
	evsink_free(sink);
}

struct evsink *
evsink_new(struct evhttp_request *req, int write_timeout_s,
		   evsink_answered_fn answered, void *arg)
{
	struct evsink *sink = calloc(1, sizeof(*sink));

	if (sink == NULL || (sink->frame = evbuffer_new()) == NULL)
	{
		free(sink);
		return NULL;
	}
	sink->req = req;
	sink->evcon = evhttp_request_get_connection(req);
	sink->answered = answered;
	sink->arg = arg;
	sink->write_timeout_s = write_timeout_s;
	evhttp_connection_set_closecb(sink->evcon, on_close, sink);
	return sink;
}

/* The head of a text/event-stream reply, and the timeouts of a stream. */
static void
evsink_start(void *conn)
{
	struct evsink *sink = conn;
	struct evkeyvalq *out = evhttp_request_get_output_headers(sink->req);
	struct bufferevent *bev = evhttp_connection_get_bufferevent(sink->evcon);
	struct timeval wtv = {sink->write_timeout_s, 0};

	evhttp_add_header(out, "Content-Type", "text/event-stream");
	evhttp_add_header(out, "Cache-Control", "no-cache");
	evhttp_add_header(out, "X-Accel-Buffering", "no");
	evhttp_add_header(out, "Connection", "close");
	evhttp_send_reply_start(sink->req, 200, "OK");
	sink->chunked = evhttp_find_header(out, "Transfer-Encoding") != NULL;
	sink->started = true;

	/*
	 * evhttp keeps reading during a reply to notice a close, and its
	 * timeout covers those reads: a quiet stream would be cut.  No read
	 * timeout; the write timeout still ends a client that stops reading.
	 * Whatever a client sends meanwhile is not read past a few kB.
	 */
	bufferevent_set_timeouts(bev, NULL, &wtv);
	bufferevent_setwatermark(bev, EV_READ, 0, READ_HIGH_WATER);
	sink->answered(sink->arg, EVSINK_STARTED, NULL);
}

/* http.c answers the problem on the request; the connection is its own again. */
static void
evsink_refuse(void *conn, const struct problem *p)
{
	struct evsink *sink = conn;

	evhttp_connection_set_closecb(sink->evcon, NULL, NULL);
	sink->answered(sink->arg, EVSINK_REFUSED, p);
	evsink_free(sink);
}

void
evsink_attach(struct evsink *sink, struct events_stream *stream)
{
	sink->stream = stream;
}

/*
 * Fan-out writes one event to many streams at once.  Going through the
 * loop costs each stream a write-event registration and a wake-up before
 * the write; when nothing is queued for the stream, write now and queue
 * only what the socket did not take (in order either way).  The chunk
 * framing is what evhttp_send_reply_chunk() would add.
 */
static size_t
evsink_write(void *conn, const char *data, size_t len)
{
	struct evsink *sink = conn;
	struct bufferevent *bev = evhttp_connection_get_bufferevent(sink->evcon);
	struct evbuffer *out = bufferevent_get_output(bev);
	struct evbuffer *buf = sink->frame;
	ssize_t		sent = 0;

	if (sink->chunked)
		evbuffer_add_printf(buf, "%zx\r\n", len);
	evbuffer_add(buf, data, len);
	if (sink->chunked)
		evbuffer_add(buf, "\r\n", 2);
	len = evbuffer_get_length(buf);
	if (evbuffer_get_length(out) == 0)
	{
		sent = send(bufferevent_getfd(bev), evbuffer_pullup(buf, -1), len,
					MSG_NOSIGNAL | MSG_DONTWAIT);
		if (sent < 0)
			sent = 0;			/* the bufferevent meets the error itself */
	}
	evbuffer_drain(buf, (size_t) sent);
	if (evbuffer_get_length(buf) > 0)
	{
		bufferevent_write_buffer(bev, buf);
		bufferevent_enable(bev, EV_WRITE);
	}
	return evbuffer_get_length(out);
}

static size_t
evsink_queued(void *conn)
{
	struct evsink *sink = conn;

	return evbuffer_get_length(bufferevent_get_output(evhttp_connection_get_bufferevent(sink->evcon)));
}

/* The last chunk; evhttp closes the connection once it is written. */
static void
evsink_end(void *conn)
{
	struct evsink *sink = conn;

	evhttp_connection_set_closecb(sink->evcon, NULL, NULL);
	evhttp_send_reply_end(sink->req);
	evsink_free(sink);
}

static void
evsink_abort(void *conn)
{
	struct evsink *sink = conn;

	evhttp_connection_set_closecb(sink->evcon, NULL, NULL);
	evhttp_connection_free(sink->evcon);
	evsink_free(sink);
}

const struct events_sink_ops evsink_ops = {
	.start = evsink_start,
	.refuse = evsink_refuse,
	.write = evsink_write,
	.queued = evsink_queued,
	.end = evsink_end,
	.abort = evsink_abort,
};
