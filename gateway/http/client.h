/*
 * client.h
 *	  Client connections: one bufferevent and one request parser (parse.c)
 *	  each; keep-alive, pipelining, timeouts, replies, streamed replies and
 *	  the graceful close.  Knows nothing of routes: each complete request
 *	  goes to the request callback, which answers it with client_reply() (at
 *	  once or later) or turns the connection into a stream.
 *
 *	  Invariants:
 *	  - one request at a time per connection: the next one is not parsed
 *	    before the current one's reply is queued, so replies go out in
 *	    request order, one per request;
 *	  - a connection with a request in flight lives until client_reply(),
 *	    even when its client is gone (the reply is then dropped);
 *	  - after an error reply (framing, limits, timeout) or a reply with
 *	    "Connection: close" nothing more is read as a request: the rest of
 *	    the input is discarded during a short lingering close;
 *	  - connections are freed only from the event loop (never inside a
 *	    call into this module), so a struct client * stays valid for the
 *	    caller until it returns to the loop.
 */
#ifndef PARLEY_HTTP_CLIENT_H
#define PARLEY_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "errors.h"
#include "parse.h"

struct client;

struct client_callbacks
{
	/*
	 * A complete request (valid until it is answered).  Answer it with
	 * client_reply() or client_reply_problem(), or client_stream_start().
	 */
	void		(*request) (struct client *c, const struct http_parse *req, void *arg);
	/* A request refused by the HTTP layer itself (for the log and metrics). */
	void		(*refused) (int status, const char *code, void *arg);
};

/*
 * Serve the clients of lev (accept.c's listener, taken over: freed by
 * client_server_drain() or _free()).  max_body_read: the largest body read
 * at all; timeout_s: idle keep-alive, slow head or body, slow reader.
 */
void		client_server_start(struct event_base *base, struct evconnlistener *lev,
								size_t max_body_read, int timeout_s,
								const struct client_callbacks *cb, void *arg);

/*
 * Answer the request in flight: status, Content-Type (NULL for none),
 * extra header lines ("Name: value\r\n"..., or NULL) and the body (not
 * sent for HEAD; its length is).  The connection is kept alive unless the
 * request or a drain says otherwise.
 */
void		client_reply(struct client *c, int status, const char *content_type,
						 const char *extra_headers, const char *body, size_t len);

/* The same with a problem+json body. */
void		client_reply_problem(struct client *c, const struct problem *p,
								 const char *extra_headers);

/*
 * Answer the request in flight with a stream: the head of a 200 reply
 * with these headers now (and "Connection: close"), the body later by
 * client_stream_write(); chunked for HTTP/1.1, delimited by the close for
 * HTTP/1.0.  Nothing more is read from the client.  For HEAD the head is
 * the whole reply: the connection closes and the stream is told it is
 * gone.
 */
void		client_stream_start(struct client *c, const char *content_type,
								const char *extra_headers);

/*
 * gone(arg) is called once the client has gone away (or its socket
 * failed, or a HEAD's head is out), from the event loop: never from
 * within a call into this module.  client_stream_end() and _abort() cancel
 * it.
 */
void		client_stream_set_gone(struct client *c, void (*gone) (void *), void *arg);

/*
 * The stream's side (these take void * to fit a table of callbacks):
 * write queues body bytes and returns the bytes not yet written to the
 * client; queued says how many those are; end finishes the body and
 * closes once it is out; abort closes now.
 */
size_t		client_stream_write(void *conn, const char *data, size_t len);
size_t		client_stream_queued(void *conn);
void		client_stream_end(void *conn);
void		client_stream_abort(void *conn);

/*
 * SIGTERM: stop accepting, close idle connections, say "Connection: close"
 * on every further reply; idle_cb(arg) once no connection is left.
 */
void		client_server_drain(void (*idle_cb) (void *), void *arg);

/* Open connections (streams included). */
int			client_count(void);

/* Free every connection and the listener; callbacks are not called. */
void		client_server_free(void);

#endif							/* PARLEY_HTTP_CLIENT_H */
