/*
 * sse.c
 *	  The Server-Sent Events wire format (WHATWG HTML, "Server-sent
 *	  events").  The JSON that goes into data: is one line (PostgreSQL's
 *	  jsonb text and the extension's JSON contain no raw newline), so each
 *	  event has exactly one data: line.
 */
#include <inttypes.h>
#include <string.h>

#include <event2/buffer.h>

#include "sse.h"

void
sse_message(struct evbuffer *buf, int64_t seq, const char *json, size_t len)
{
	evbuffer_add_printf(buf, "id: %" PRId64 "\n", seq);
	sse_event(buf, "message", json, len);
}

void
sse_event(struct evbuffer *buf, const char *name, const char *json, size_t len)
{
	evbuffer_add_printf(buf, "event: %s\ndata: ", name);
	evbuffer_add(buf, json, len);
	evbuffer_add(buf, "\n\n", 2);
}

void
sse_event_id(struct evbuffer *buf, const char *id, const char *name, const char *json, size_t len)
{
	evbuffer_add_printf(buf, "id: %s\n", id);
	sse_event(buf, name, json, len);
}

void
sse_comment(struct evbuffer *buf, const char *text)
{
	evbuffer_add(buf, ":", 1);
	evbuffer_add(buf, text, strlen(text));
	evbuffer_add(buf, "\n\n", 2);
}

void
sse_retry(struct evbuffer *buf, int ms)
{
	evbuffer_add_printf(buf, "retry: %d\n\n", ms);
}
