/*
 * sse.h
 *	  The Server-Sent Events wire format: the text of events, comments and
 *	  the retry field, appended to a buffer.  Only this file spells SSE;
 *	  the transport (HTTP framing, the socket) is the sink's (events.h).
 */
#ifndef PARLEY_SSE_H
#define PARLEY_SSE_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

/* "id: <seq>\nevent: message\ndata: <json>\n\n": a message, which resumes. */
void		sse_message(struct evbuffer *buf, int64_t seq, const char *json, size_t len);

/* "event: <name>\ndata: <json>\n\n": an event with no id (it does not move Last-Event-ID). */
void		sse_event(struct evbuffer *buf, const char *name, const char *json, size_t len);

/* "id: <id>\nevent: <name>\ndata: <json>\n\n": an event with an opaque id (guest streams). */
void		sse_event_id(struct evbuffer *buf, const char *id, const char *name,
						 const char *json, size_t len);

/* ":<text>\n\n": a comment (the open stream's ":ok", heartbeats). */
void		sse_comment(struct evbuffer *buf, const char *text);

/* "retry: <ms>\n\n": how long a client waits before it reconnects. */
void		sse_retry(struct evbuffer *buf, int ms);

#endif							/* PARLEY_SSE_H */
