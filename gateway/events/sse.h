/*
 * sse.h
 *	  One Server-Sent Events reply on an evhttp connection: the response
 *	  head and timeouts of a long-lived stream, and writes of event text.
 */
#ifndef PARLEY_SSE_H
#define PARLEY_SSE_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/buffer.h>
#include <event2/http.h>

/*
 * Send the head of a text/event-stream reply on req now and give its
 * connection the timeouts of a stream.  Returns whether evhttp chose
 * chunked encoding (an HTTP/1.1 client).
 */
bool		sse_start(struct evhttp_request *req, int write_timeout_s);

/*
 * Send the event text in buf (drained) on the stream's connection.
 * Returns the bytes that still wait to be written to the client.
 */
size_t		sse_write(struct evhttp_connection *evcon, bool chunked, struct evbuffer *buf);

#endif							/* PARLEY_SSE_H */
