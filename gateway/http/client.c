/*
 * client.c
 *	  Client connections over libevent bufferevents, requests parsed by
 *	  parse.c (llhttp).  Replaces evhttp, whose parser is lenient where RFC
 *	  9112 says MUST and which costs four epoll_ctl calls per request.
 *
 *	  A connection's states:
 *	    READ     parsing (idle between requests, or a request partly read)
 *	    BUSY     a complete request is with the callback; input waits
 *	    STREAM   the reply is a stream (events); input is discarded
 *	    CLOSING  the last reply is being written
 *	    LINGER   written and shut down for writing; input is discarded for
 *	             a moment so that the client reads the reply rather than a
 *	             reset (a refused body may still be arriving)
 *	  and then dead: on the reap list, freed from the loop.
 *
 *	  Reading stays enabled in every state and writes go out with one
 *	  sendmsg() when nothing is queued: a request that is answered at once
 *	  costs no epoll_ctl at all.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/socket.h>
#include <sys/uio.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "accept.h"
#include "client.h"
#include "log.h"
#include "util.h"

#define LINGER_MS		2000
#define STREAM_READ_HIGH 4096	/* a stream's client has nothing to send */

enum client_state
{
	CLIENT_READ,
	CLIENT_BUSY,
	CLIENT_STREAM,
	CLIENT_CLOSING,
	CLIENT_LINGER,
};

struct client
{
	struct bufferevent *bev;
	enum client_state state;
	bool		gone;			/* socket failed while BUSY: drop the reply */
	bool		peer_eof;		/* the client sent FIN: finish what is read */
	bool		in_process;		/* client_process() is on the stack */
	bool		dead;			/* on the reap list */
	bool		chunked;		/* stream body in chunks */
	bool		lost;			/* the client went away: gone_cb from the reaper */
	time_t		req_start;		/* when the request being read began (s) */
	void		(*gone_cb) (void *);
	void	   *gone_arg;
	struct event *linger;
	struct client *prev;
	struct client *next;
	struct http_parse parse;
};

static struct
{
	struct event_base *base;
	struct evconnlistener *lev;
	const struct client_callbacks *cb;
	void	   *arg;
	size_t		max_body;
	int			timeout_s;
	struct client *live;			/* every connection not dead */
	struct client *dead;			/* freed by on_reap */
	struct event *reaper;
	int			count;
	bool		draining;
	void		(*idle_cb) (void *);
	void	   *idle_arg;
	time_t		date_at;
	char		date[64];		/* "Date: ...\r\n" of date_at */
}			srv;

static void client_process(struct client *c);

static void
list_remove(struct client **head, struct client *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		*head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

static void
list_push(struct client **head, struct client *c)
{
	c->prev = NULL;
	c->next = *head;
	if (*head)
		(*head)->prev = c;
	*head = c;
}

static void
client_destroy(struct client *c)
{
	if (c->linger)
		event_free(c->linger);
	bufferevent_free(c->bev);
	http_parse_free(&c->parse);
	free(c);
}

static void
check_idle(void)
{
	if (srv.draining && srv.count == 0 && srv.idle_cb != NULL)
	{
		void		(*cb) (void *) = srv.idle_cb;

		srv.idle_cb = NULL;
		cb(srv.idle_arg);
	}
}

static void
on_reap(evutil_socket_t fd, short what, void *arg)
{
	(void) fd;
	(void) what;
	(void) arg;
	while (srv.dead != NULL)
	{
		struct client *c = srv.dead;

		list_remove(&srv.dead, c);
		if (c->lost && c->gone_cb != NULL)
			c->gone_cb(c->gone_arg);	/* from the loop: never inside a sink op */
		client_destroy(c);
	}
	check_idle();
}

/*
 * The connection is finished: no callback of it runs again; it is freed
 * from the loop.  Safe anywhere, any number of times.
 */
static void
client_kill(struct client *c)
{
	if (c->dead)
		return;
	c->dead = true;
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
	if (c->linger)
		event_del(c->linger);
	list_remove(&srv.live, c);
	list_push(&srv.dead, c);
	srv.count--;
	event_active(srv.reaper, EV_TIMEOUT, 0);
}

/*
 * The client is gone (or its socket failed).  A request in flight keeps
 * the connection until its reply; otherwise it dies, and a stream's
 * gone_cb is called from the reaper (so never inside a call of the
 * stream's own).
 */
static void
client_lost(struct client *c)
{
	if (c->state == CLIENT_BUSY)
	{
		c->gone = true;			/* client_reply() kills it */
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
		return;
	}
	c->lost = true;
	client_kill(c);
}

/*
 * Write iov in order after whatever is queued: at once with one sendmsg()
 * when nothing is, the rest through the bufferevent (which then meets any
 * socket error itself and reports it).
 */
static void
client_write(struct client *c, struct iovec *iov, int n)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	ssize_t		sent = 0;

	if (evbuffer_get_length(out) == 0)
	{
		struct msghdr mh;

		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = iov;
		mh.msg_iovlen = (size_t) n;
		sent = sendmsg(bufferevent_getfd(c->bev), &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (sent < 0)
			sent = 0;
	}
	for (int i = 0; i < n; i++)
	{
		size_t		skip = (size_t) sent < iov[i].iov_len ? (size_t) sent : iov[i].iov_len;

		sent -= (ssize_t) skip;
		if (iov[i].iov_len > skip)
			bufferevent_write(c->bev, (char *) iov[i].iov_base + skip, iov[i].iov_len - skip);
	}
}

static void
on_linger_end(evutil_socket_t fd, short what, void *arg)
{
	(void) fd;
	(void) what;
	client_kill(arg);
}

/*
 * The last reply is out: shut down our side and discard input until the
 * client closes or LINGER_MS pass (a reset would destroy the reply in
 * the client's receive buffer).
 */
static void
client_linger(struct client *c)
{
	struct timeval tv = util_timeval_ms(LINGER_MS);

	if (c->peer_eof)
	{
		client_kill(c);
		return;
	}
	c->state = CLIENT_LINGER;
	shutdown(bufferevent_getfd(c->bev), SHUT_WR);
	evbuffer_drain(bufferevent_get_input(c->bev), evbuffer_get_length(bufferevent_get_input(c->bev)));
	bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
	bufferevent_enable(c->bev, EV_READ);
	c->linger = evtimer_new(srv.base, on_linger_end, c);
	if (c->linger == NULL || evtimer_add(c->linger, &tv) != 0)
		client_kill(c);
}

/* After the last reply: close once the output is written. */
static void
client_close_after_write(struct client *c)
{
	c->state = CLIENT_CLOSING;
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		client_linger(c);
	/* else on_write() lingers */
}

static const char *
date_line(void)
{
	time_t		now = time(NULL);

	if (now != srv.date_at)
	{
		struct tm	tm;

		gmtime_r(&now, &tm);
		strftime(srv.date, sizeof(srv.date), "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
		srv.date_at = now;
	}
	return srv.date;
}

/* The status line and the headers every reply has; returns the length. */
static size_t
format_head(char *buf, size_t size, int status, const char *content_type,
			const char *extra, bool has_length, size_t len, const char *connection)
{
	int			n;

	n = snprintf(buf, size, "HTTP/1.1 %d %s\r\n%s%s%s%s", status, http_reason(status),
				 date_line(), content_type ? "Content-Type: " : "",
				 content_type ? content_type : "", content_type ? "\r\n" : "");
	if (has_length && n > 0 && (size_t) n < size)
		n += snprintf(buf + n, size - (size_t) n, "Content-Length: %zu\r\n", len);
	if (n > 0 && (size_t) n < size)
		n += snprintf(buf + n, size - (size_t) n, "%s%s%s\r\n", extra ? extra : "",
					  connection ? "Connection: " : "", connection ? connection : "");
	if (n < 0 || (size_t) n >= size)
		return 0;
	return (size_t) n;
}

void
client_reply(struct client *c, int status, const char *content_type,
			 const char *extra_headers, const char *body, size_t len)
{
	const struct http_msg *m = &c->parse.msg;
	bool		keep = m->keep_alive && !srv.draining;
	const char *connection = !keep ? "close\r\n" : m->http_minor == 0 ? "keep-alive\r\n" : NULL;
	bool		bodiless = status == 204 || status == 304 || (status >= 100 && status < 200);
	char		head[1024];
	struct iovec iov[2];
	size_t		hlen;

	if (c->gone)
	{
		client_kill(c);
		return;
	}
	hlen = format_head(head, sizeof(head), status, content_type, extra_headers,
					   !bodiless, len, connection);
	if (hlen == 0)
	{
		log_error("reply head over %zu bytes; closing the connection", sizeof(head));
		client_kill(c);
		return;
	}
	iov[0].iov_base = head;
	iov[0].iov_len = hlen;
	iov[1].iov_base = (void *) body;
	iov[1].iov_len = (m->head || bodiless || body == NULL) ? 0 : len;
	client_write(c, iov, iov[1].iov_len > 0 ? 2 : 1);

	if (!keep)
	{
		client_close_after_write(c);
		return;
	}
	http_parse_next(&c->parse);
	c->state = CLIENT_READ;
	if (c->in_process)
		return;					/* client_process() goes on with the next one */
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
	{
		/*
		 * Pipelined requests wait: parse them from the loop, not from here
		 * (the caller may be the pool, in the middle of its own work).
		 */
		bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
	}
	else if (c->peer_eof)
		client_kill(c);
}

void
client_reply_problem(struct client *c, const struct problem *p, const char *extra_headers)
{
	size_t		len = 0;
	char	   *body = problem_to_json(p, &len);

	client_reply(c, p->status, "application/problem+json", extra_headers, body, body ? len : 0);
	free(body);
}

/* A refusal by the HTTP layer: the problem, "Connection: close", linger. */
static void
client_refuse(struct client *c, const struct http_parse_error *e)
{
	struct problem p;

	problem_set(&p, e->status, e->code, "%s", e->detail);
	c->parse.msg.keep_alive = false;
	c->state = CLIENT_BUSY;
	if (srv.cb->refused)
		srv.cb->refused(e->status, e->code, srv.arg);
	client_reply_problem(c, &p, NULL);
}

static time_t
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ts.tv_sec;
}

/* 408: the request was not complete within PARLEY_HTTP_TIMEOUT. */
static void
request_timeout(struct client *c)
{
	struct http_parse_error e;

	e.status = 408;
	e.code = CODE_REQUEST_TIMEOUT;
	snprintf(e.detail, sizeof(e.detail), "the request was not complete after %d s", srv.timeout_s);
	client_refuse(c, &e);
}

/*
 * Parse what is read, one request at a time, while the connection is in
 * READ.  Requests answered at once keep the loop going; others leave the
 * rest of the input waiting until client_reply().
 */
static void
client_process(struct client *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);

	c->in_process = true;
	while (c->state == CLIENT_READ && !c->dead && evbuffer_get_length(in) > 0)
	{
		struct evbuffer_iovec v;
		size_t		used = 0;
		enum http_parse_result r;

		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		if (!http_parse_mid_request(&c->parse))
			c->req_start = now_s();
		r = http_parse_feed(&c->parse, v.iov_base, v.iov_len, &used);
		if (r == HTTP_PARSE_ERROR)
		{
			client_refuse(c, &c->parse.err);
			break;
		}
		evbuffer_drain(in, used);
		if (c->parse.want_continue)
		{
			static char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
			struct iovec iov = {cont, sizeof(cont) - 1};

			c->parse.want_continue = false;
			client_write(c, &iov, 1);
		}
		if (r == HTTP_PARSE_REQUEST)
		{
			c->state = CLIENT_BUSY;
			srv.cb->request(c, &c->parse, srv.arg);
		}
		else if (http_parse_mid_request(&c->parse) && now_s() - c->req_start > srv.timeout_s)
		{
			/*
			 * The read timeout only sees silence: a client that trickles a
			 * byte now and then is held to a deadline for the whole request.
			 */
			request_timeout(c);
			break;
		}
	}
	c->in_process = false;
	/* The client sent all it will: an unfinished request is dropped. */
	if (c->state == CLIENT_READ && c->peer_eof && !c->dead)
		client_kill(c);
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct client *c = arg;

	switch (c->state)
	{
		case CLIENT_READ:
			client_process(c);
			break;
		case CLIENT_BUSY:
		case CLIENT_CLOSING:
			break;				/* read after the reply (or never) */
		case CLIENT_STREAM:
		case CLIENT_LINGER:
			evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev)));
			break;
	}
}

static void
on_write(struct bufferevent *bev, void *arg)
{
	struct client *c = arg;

	(void) bev;
	if (c->state == CLIENT_CLOSING)
		client_linger(c);
}

/* A timeout while reading a request is 408; while idle, a quiet close. */
static void
on_read_timeout(struct client *c)
{
	switch (c->state)
	{
		case CLIENT_READ:
			if (!http_parse_mid_request(&c->parse))
			{
				client_kill(c);
				return;
			}
			request_timeout(c);
			return;
		case CLIENT_BUSY:
		case CLIENT_STREAM:
		case CLIENT_CLOSING:
			bufferevent_enable(c->bev, EV_READ);	/* not waiting on the client */
			return;
		case CLIENT_LINGER:
			client_kill(c);
			return;
	}
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct client *c = arg;

	(void) bev;
	if (what & BEV_EVENT_EOF)
	{
		c->peer_eof = true;
		switch (c->state)
		{
			case CLIENT_READ:
				client_process(c);	/* kills it unless a request is in flight */
				return;
			case CLIENT_BUSY:
			case CLIENT_CLOSING:
				return;			/* answer, then close */
			case CLIENT_STREAM:
			case CLIENT_LINGER:
				client_lost(c);
				return;
		}
	}
	if (what & BEV_EVENT_ERROR)
	{
		client_lost(c);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT)
	{
		if (what & BEV_EVENT_WRITING)
			client_lost(c);		/* the client stopped reading */
		else
			on_read_timeout(c);
	}
}

static void
on_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
		  int socklen, void *arg)
{
	struct client *c = calloc(1, sizeof(*c));
	struct timeval tv = {srv.timeout_s, 0};

	(void) lev;
	(void) sa;
	(void) socklen;
	(void) arg;
	if (c == NULL || (c->bev = accept_client_bev(srv.base, fd)) == NULL)
	{
		log_error("out of memory for a new connection");
		evutil_closesocket(fd);
		free(c);
		return;
	}
	http_parse_init(&c->parse, srv.max_body);
	c->state = CLIENT_READ;
	list_push(&srv.live, c);
	srv.count++;
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	/* bounds what waits unparsed behind a request in flight */
	bufferevent_setwatermark(c->bev, EV_READ, 0, srv.max_body + HTTP_MAX_HEAD + 4096);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	bufferevent_enable(c->bev, EV_READ);
}

void
client_server_start(struct event_base *base, struct evconnlistener *lev, size_t max_body_read,
					int timeout_s, const struct client_callbacks *cb, void *arg)
{
	srv.base = base;
	srv.lev = lev;
	srv.cb = cb;
	srv.arg = arg;
	srv.max_body = max_body_read;
	srv.timeout_s = timeout_s;
	srv.reaper = event_new(base, -1, 0, on_reap, NULL);
	evconnlistener_set_cb(lev, on_accept, NULL);
}

void
client_stream_start(struct client *c, const char *content_type, const char *extra_headers)
{
	char		head[1024];
	struct iovec iov;
	struct timeval wtv = {srv.timeout_s, 0};

	c->chunked = c->parse.msg.http_minor >= 1;
	iov.iov_base = head;
	iov.iov_len = format_head(head, sizeof(head), 200, content_type, extra_headers, false, 0,
							  "close\r\n");
	if (c->chunked && iov.iov_len > 0 && iov.iov_len + 32 < sizeof(head))
	{
		/* format_head ended the head: put Transfer-Encoding before its end */
		iov.iov_len -= 2;
		iov.iov_len += (size_t) snprintf(head + iov.iov_len, sizeof(head) - iov.iov_len,
										 "Transfer-Encoding: chunked\r\n\r\n");
	}
	c->state = CLIENT_STREAM;
	if (c->gone || c->peer_eof)
	{
		client_lost(c);			/* gone_cb (if set by then) from the reaper */
		return;
	}
	client_write(c, &iov, 1);
	if (c->parse.msg.head)
	{
		/* HEAD: the head is the whole reply; the stream is told it is gone */
		c->lost = true;
		client_close_after_write(c);
		return;
	}
	/* No read timeout: a quiet stream is fine; a client that stops reading is not. */
	bufferevent_set_timeouts(c->bev, NULL, &wtv);
	bufferevent_setwatermark(c->bev, EV_READ, 0, STREAM_READ_HIGH);
}

void
client_stream_set_gone(struct client *c, void (*gone) (void *), void *arg)
{
	c->gone_cb = gone;
	c->gone_arg = arg;
}

size_t
client_stream_queued(void *conn)
{
	struct client *c = conn;

	return c->dead ? 0 : evbuffer_get_length(bufferevent_get_output(c->bev));
}

size_t
client_stream_write(void *conn, const char *data, size_t len)
{
	struct client *c = conn;
	char		size[24];
	struct iovec iov[3];
	int			n = 0;

	if (c->dead || c->state != CLIENT_STREAM)
		return 0;
	if (c->chunked)
	{
		iov[n].iov_base = size;
		iov[n++].iov_len = (size_t) snprintf(size, sizeof(size), "%zx\r\n", len);
	}
	iov[n].iov_base = (void *) data;
	iov[n++].iov_len = len;
	if (c->chunked)
	{
		iov[n].iov_base = (void *) "\r\n";
		iov[n++].iov_len = 2;
	}
	if (len > 0)
		client_write(c, iov, n);
	return evbuffer_get_length(bufferevent_get_output(c->bev));
}

void
client_stream_end(void *conn)
{
	struct client *c = conn;

	c->gone_cb = NULL;			/* never tell a stream that ended itself */
	if (c->dead || c->state != CLIENT_STREAM)
		return;
	if (c->chunked)
	{
		struct iovec iov = {(void *) "0\r\n\r\n", 5};

		client_write(c, &iov, 1);
	}
	client_close_after_write(c);
}

void
client_stream_abort(void *conn)
{
	struct client *c = conn;

	c->gone_cb = NULL;
	client_kill(c);
}

void
client_server_drain(void (*idle_cb) (void *), void *arg)
{
	struct client *next;

	srv.draining = true;
	srv.idle_cb = idle_cb;
	srv.idle_arg = arg;
	if (srv.lev != NULL)
	{
		accept_free(srv.lev);
		srv.lev = NULL;
	}
	for (struct client *c = srv.live; c != NULL; c = next)
	{
		next = c->next;
		if (c->state == CLIENT_READ && !http_parse_mid_request(&c->parse))
			client_kill(c);
	}
	if (srv.dead == NULL)
		check_idle();
	/* else on_reap() checks */
}

int
client_count(void)
{
	return srv.count;
}

void
client_server_free(void)
{
	while (srv.live != NULL)
	{
		struct client *c = srv.live;

		list_remove(&srv.live, c);
		client_destroy(c);
	}
	while (srv.dead != NULL)
	{
		struct client *c = srv.dead;

		list_remove(&srv.dead, c);
		client_destroy(c);
	}
	if (srv.reaper != NULL)
		event_free(srv.reaper);
	srv.reaper = NULL;
	if (srv.lev != NULL)
		accept_free(srv.lev);
	srv.lev = NULL;
	srv.count = 0;
}
