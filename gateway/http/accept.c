/*
 * accept.c
 *	  The listening socket: PARLEY_LISTEN's address, the backlog,
 *	  TCP_NODELAY, each client connection's bufferevent, and pausing
 *	  accept() when the process is out of descriptors.  client.c serves what
 *	  it accepts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "accept.h"
#include "config.h"
#include "log.h"

/* "host:port", "[v6]:port" or ":port" (all addresses). */
bool
accept_parse_listen(const char *listen, char *host, size_t hostlen, unsigned short *port)
{
	const char *colon;
	const char *h = listen;
	size_t		n;
	char	   *end;
	long		p;

	if (listen[0] == '[')
	{
		const char *close = strchr(listen, ']');

		if (close == NULL || close[1] != ':')
			return false;
		h = listen + 1;
		n = (size_t) (close - h);
		colon = close + 1;
	}
	else
	{
		colon = strrchr(listen, ':');
		if (colon == NULL)
			return false;
		n = (size_t) (colon - listen);
	}
	if (n >= hostlen)
		return false;
	memcpy(host, h, n);
	host[n] = '\0';
	if (host[0] == '\0')
		snprintf(host, hostlen, "0.0.0.0");
	p = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || p < 0 || p > 65535)
		return false;
	*port = (unsigned short) p;
	return true;
}

#define ACCEPT_PAUSE_MS 100

static struct
{
	struct event *timer;		/* ends a pause of accept() */
	struct evconnlistener *paused;	/* ... of this listener */
	time_t		warned;			/* when the last pause was logged */
	unsigned long pauses;		/* pauses since then */
}			acc;

static void
on_accept_resume(evutil_socket_t fd, short what, void *arg)
{
	(void) fd;
	(void) what;
	(void) arg;
	evconnlistener_enable(acc.paused);
}

/*
 * accept() failed for want of file descriptors or memory.  The listening
 * socket stays readable, so libevent would retry at once and log every
 * failure: a busy loop and a flood of log lines.  Stop accepting for a
 * moment instead; new clients wait in the backlog meanwhile.  One warning
 * per 10 s at most.
 */
static void
on_accept_error(struct evconnlistener *lev, void *arg)
{
	int			err = EVUTIL_SOCKET_ERROR();
	time_t		now = time(NULL);
	struct timeval tv = {0, ACCEPT_PAUSE_MS * 1000};

	(void) arg;
	acc.pauses++;
	if (now - acc.warned >= 10)
	{
		log_warn("cannot accept connections: %s; accepting again in %d ms (%lu pauses)",
				 evutil_socket_error_to_string(err), ACCEPT_PAUSE_MS, acc.pauses);
		acc.warned = now;
		acc.pauses = 0;
	}
	evconnlistener_disable(lev);
	acc.paused = lev;
	evtimer_add(acc.timer, &tv);
}

/*
 * The backlog is large: a thousand clients connecting at once should not
 * wait on SYN retries.  The listener starts without a callback (disabled)
 * until conn_server_start() sets one.  Runs before the loop: getaddrinfo may
 * block here.
 */
#define LISTEN_BACKLOG 4096

struct evconnlistener *
accept_listen(struct event_base *base, const char *host, unsigned short port,
			  char *err, size_t errlen)
{
	struct evutil_addrinfo hints;
	struct evutil_addrinfo *ai = NULL;
	struct evconnlistener *lev;
	char		portstr[8];
	int			rc;
	int			one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = EVUTIL_AI_PASSIVE | EVUTIL_AI_ADDRCONFIG;
	snprintf(portstr, sizeof(portstr), "%u", port);
	rc = evutil_getaddrinfo(host, portstr, &hints, &ai);
	if (rc != 0 || ai == NULL)
	{
		snprintf(err, errlen, "PARLEY_LISTEN: cannot resolve %s: %s", host, evutil_gai_strerror(rc));
		return NULL;
	}
	lev = evconnlistener_new_bind(base, NULL, NULL,
								  LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
								  LISTEN_BACKLOG, ai->ai_addr, (int) ai->ai_addrlen);
	evutil_freeaddrinfo(ai);
	if (lev == NULL)
	{
		snprintf(err, errlen, "PARLEY_LISTEN: cannot listen on %s: %s", config.listen,
				 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		return NULL;
	}
	/*
	 * TCP_NODELAY, inherited by every accepted socket (Linux): a reply that
	 * leaves in two pieces (over accept_client_bev()'s single-write limit,
	 * or when the socket buffer is full) would, with Nagle, have its second
	 * piece wait for the client's delayed ACK: 40 ms per request on
	 * keep-alive.  Each reply is written whole, so Nagle has nothing to
	 * batch.
	 */
	if (setsockopt(evconnlistener_get_fd(lev), IPPROTO_TCP, TCP_NODELAY,
				   &one, sizeof(one)) != 0)
		log_warn("cannot set TCP_NODELAY on the listener: %s",
				 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	if (acc.timer == NULL)
		acc.timer = event_new(base, -1, 0, on_accept_resume, NULL);
	if (acc.timer == NULL)
	{
		evconnlistener_free(lev);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	evconnlistener_set_error_cb(lev, on_accept_error);
	return lev;
}

/*
 * Each client connection's bufferevent.  libevent writes at most 16 KiB per
 * write() by default, so a page of 50 messages (~17 KB) took two writev()
 * calls, two segments on the wire and two wake-ups of the client; one
 * write per reply instead, up to 1 MiB.
 */
struct bufferevent *
accept_client_bev(struct event_base *base, evutil_socket_t fd)
{
	struct bufferevent *bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);

	if (bev != NULL)
		bufferevent_set_max_single_write(bev, 1024 * 1024);
	return bev;
}

void
accept_free(struct evconnlistener *lev)
{
	accept_stop();
	evconnlistener_free(lev);
}

void
accept_stop(void)
{
	if (acc.timer != NULL)
		event_free(acc.timer);
	acc.timer = NULL;
	acc.paused = NULL;
}
