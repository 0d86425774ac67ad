/*
 * sse.c
 *	  One Server-Sent Events reply on an evhttp connection.  The events
 *	  hub (events.c) decides what each stream gets; this file puts it on
 *	  the wire.
 */
#include <stdio.h>

#include <sys/socket.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/keyvalq_struct.h>

#include "sse.h"

#define READ_HIGH_WATER 4096	/* a stream's client has nothing to send */

bool
sse_start(struct evhttp_request *req, int write_timeout_s)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	struct bufferevent *bev = evhttp_connection_get_bufferevent(evhttp_request_get_connection(req));
	struct timeval wtv = {write_timeout_s, 0};

	evhttp_add_header(out, "Content-Type", "text/event-stream");
	evhttp_add_header(out, "Cache-Control", "no-cache");
	evhttp_add_header(out, "X-Accel-Buffering", "no");
	evhttp_add_header(out, "Connection", "close");
	evhttp_send_reply_start(req, 200, "OK");

	/*
	 * evhttp keeps reading during a reply to notice a close, and its
	 * timeout covers those reads: a quiet stream would be cut.  No read
	 * timeout; the write timeout still ends a client that stops reading.
	 * Whatever a client sends meanwhile is not read past a few kB.
	 */
	bufferevent_set_timeouts(bev, NULL, &wtv);
	bufferevent_setwatermark(bev, EV_READ, 0, READ_HIGH_WATER);
	return evhttp_find_header(out, "Transfer-Encoding") != NULL;
}

size_t
sse_write(struct evhttp_connection *evcon, bool chunked, struct evbuffer *buf)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
	struct evbuffer *out = bufferevent_get_output(bev);
	size_t		len = evbuffer_get_length(buf);
	ssize_t		sent = 0;

	if (chunked)
	{
		char		size[24];
		int			n = snprintf(size, sizeof(size), "%zx\r\n", len);

		evbuffer_prepend(buf, size, (size_t) n);
		evbuffer_add(buf, "\r\n", 2);
		len = evbuffer_get_length(buf);
	}

	/*
	 * Fan-out writes one event to many streams at once.  Going through the
	 * loop costs each stream a write-event registration and a wake-up
	 * before the write; when nothing is queued for the stream, write now
	 * and queue only what the socket did not take (in order either way).
	 * This is the framing evhttp_send_reply_chunk() would add.
	 */
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
