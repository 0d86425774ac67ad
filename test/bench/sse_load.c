/*
 * sse_load.c
 *	  Load tool for parleyd's live events (test/bench/events.sh): opens many
 *	  Server-Sent Events streams, optionally posts messages and measures how
 *	  long each takes to reach every stream.
 *
 *	  sse_load HOST PORT KEY PATHS_FILE NCONNS HOLD_S [POST_PATH NPOSTS INTERVAL_MS]
 *
 *	  PATHS_FILE: one stream path per line (".../events?as=G"), used round
 *	  robin.  Prints "connected=N failed=M" once every stream answered (or
 *	  60 s passed), then "READY" and holds the streams HOLD_S seconds.
 *	  With POST_PATH it then posts NPOSTS messages, one every INTERVAL_MS,
 *	  and prints the delivery latency from sending a POST to a stream seeing
 *	  the message's "id:" line, over all streams and posts:
 *	  "fanout samples=S missing=M p50_ms=.. p99_ms=.. max_ms=..".
 *
 *	  One process, one libevent loop; connections are opened at most
 *	  OPEN_BATCH at a time so the listen backlog does not overflow.
 *
 *	  SSE_READ_INTERVAL_MS=N (hold only, without POST_PATH): read the
 *	  streams every N ms instead of as each event arrives, and on SIGTERM
 *	  print "received=E" (message events over all streams).  A throughput
 *	  run then measures what parleyd spends delivering, not what a reader
 *	  woken once per event spends on the same two cores: real subscribers
 *	  are on their own machines.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#define OPEN_BATCH	500
#define MAX_POSTS	1000

struct sconn
{
	struct bufferevent *bev;
	int			idx;
	int			state;			/* 0 connecting, 1 streaming, 2 failed */
	int			match;			/* progress through "\nid: " */
	int			msgs;
	char		head[16];		/* first bytes: the status line */
	int			headlen;
};

static struct event_base *base;
static struct sockaddr_in addr;
static const char *key;
static char **paths;
static int	npaths;
static struct sconn *conns;
static int	nconns,
			opened,
			connected,
			failed,
			pending;
static double t_post[MAX_POSTS];
static int	nposts_sent;
static double *samples;
static long nsamples;

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void open_more(void);

/* Bytes of c's stream: the status line first, then count "id:" lines. */
static void
scan(struct sconn *c, const unsigned char *buf, int n)
{
	static const char pat[] = "\nid: ";

	for (int i = 0; i < n; i++)
	{
		if (c->state == 0)
		{
			if (c->headlen < (int) sizeof(c->head) - 1)
				c->head[c->headlen++] = (char) buf[i];
			if (c->headlen == 12)
			{
				c->state = strncmp(c->head + 9, "200", 3) == 0 ? 1 : 2;
				pending--;
				if (c->state == 1)
					connected++;
				else
					failed++;
				open_more();
			}
			continue;
		}
		if (buf[i] == (unsigned char) pat[c->match])
			c->match++;
		else
			c->match = buf[i] == '\n' ? 1 : 0;
		if (c->match == 5)
		{
			c->match = 0;
			if (c->msgs < nposts_sent)
				samples[nsamples++] = now_ms() - t_post[c->msgs];
			c->msgs++;
		}
	}
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	unsigned char buf[16384];
	int			n;

	while ((n = evbuffer_remove(in, buf, sizeof(buf))) > 0)
		scan(arg, buf, n);
}

static volatile sig_atomic_t terminated;

static void
on_term(int sig)
{
	(void) sig;
	terminated = 1;
}

/* Read every readable stream until it would block. */
static void
read_ready(int ep)
{
	struct epoll_event ev[1024];
	unsigned char buf[65536];
	int			nev;

	while ((nev = epoll_wait(ep, ev, 1024, 0)) > 0)
	{
		for (int k = 0; k < nev; k++)
		{
			struct sconn *c = ev[k].data.ptr;
			int			fd = bufferevent_getfd(c->bev);
			ssize_t		n;

			while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
				scan(c, buf, (int) n);
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
				epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
		}
		if (nev < 1024)
			break;
	}
}

/* Hold the streams, reading them every interval_ms; the count on SIGTERM. */
static void
hold_batched(int hold_s, int interval_ms)
{
	int			ep = epoll_create1(0);
	struct timespec tick = {interval_ms / 1000, (long) (interval_ms % 1000) * 1000000L};
	double		end = now_ms() + hold_s * 1000.0;
	long		received = 0;

	signal(SIGTERM, on_term);
	for (int i = 0; i < nconns; i++)
	{
		struct sconn *c = &conns[i];
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};

		if (c->state != 1 || c->bev == NULL)
			continue;
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
		on_read(c->bev, c);		/* what libevent read already */
		epoll_ctl(ep, EPOLL_CTL_ADD, bufferevent_getfd(c->bev), &ev);
	}
	while (!terminated && now_ms() < end)
	{
		nanosleep(&tick, NULL);
		read_ready(ep);
	}
	read_ready(ep);
	for (int i = 0; i < nconns; i++)
		received += conns[i].msgs;
	printf("received=%ld\n", received);
	fflush(stdout);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct sconn *c = arg;

	if (what & BEV_EVENT_CONNECTED)
		return;
	if (c->state == 0)
	{
		pending--;
		failed++;
		open_more();
	}
	c->state = 2;
	bufferevent_free(bev);
	c->bev = NULL;
}

static void
open_one(int i)
{
	struct sconn *c = &conns[i];

	c->idx = i;
	c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	evbuffer_add_printf(bufferevent_get_output(c->bev),
						"GET %s HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer %s\r\n\r\n",
						paths[i % npaths], key);
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *) &addr, sizeof(addr)) < 0)
	{
		failed++;
		c->state = 2;
		bufferevent_free(c->bev);
		c->bev = NULL;
		return;
	}
	pending++;
}

static void
open_more(void)
{
	while (opened < nconns && pending < OPEN_BATCH)
		open_one(opened++);
	if (connected + failed == nconns)
		event_base_loopbreak(base);
}

/* One POST on its own connection; the answer is read and dropped. */
static void
on_post_event(struct bufferevent *bev, short what, void *arg)
{
	(void) arg;
	if (what & BEV_EVENT_CONNECTED)
		return;
	bufferevent_free(bev);
}

static void
on_post_read(struct bufferevent *bev, void *arg)
{
	(void) arg;
	evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev)));
}

static void
post_one(const char *path, int k)
{
	struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	char		body[64];
	int			len = snprintf(body, sizeof(body), "{\"body\": \"fan-out %d\"}", k);

	bufferevent_setcb(bev, on_post_read, NULL, on_post_event, NULL);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	evbuffer_add_printf(bufferevent_get_output(bev),
						"POST %s HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer %s\r\n"
						"Content-Type: application/json\r\nContent-Length: %d\r\n"
						"Connection: close\r\n\r\n%s", path, key, len, body);
	t_post[k] = now_ms();
	nposts_sent = k + 1;
	bufferevent_socket_connect(bev, (struct sockaddr *) &addr, sizeof(addr));
}

static void
run_for(double ms)
{
	struct timeval tv = {(long) (ms / 1000), (long) ((long) ms % 1000) * 1000};

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	FILE	   *f;
	char		line[1024];
	int			hold;

	if (argc != 7 && argc != 10)
	{
		fprintf(stderr, "usage: sse_load HOST PORT KEY PATHS_FILE NCONNS HOLD_S [POST_PATH NPOSTS INTERVAL_MS]\n");
		return 2;
	}
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons((unsigned short) atoi(argv[2]));
	inet_pton(AF_INET, argv[1], &addr.sin_addr);
	key = argv[3];
	nconns = atoi(argv[5]);
	hold = atoi(argv[6]);
	f = fopen(argv[4], "r");
	if (f == NULL)
	{
		perror(argv[4]);
		return 2;
	}
	while (fgets(line, sizeof(line), f))
	{
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0')
			continue;
		paths = realloc(paths, sizeof(char *) * (npaths + 1));
		paths[npaths++] = strdup(line);
	}
	fclose(f);
	if (npaths == 0 || nconns <= 0)
		return 2;
	conns = calloc((size_t) nconns, sizeof(*conns));
	base = event_base_new();

	/* Open everything, 60 s at most. */
	open_more();
	run_for(60000);
	printf("connected=%d failed=%d\nREADY\n", connected, failed);
	fflush(stdout);
	if (argc == 7 && getenv("SSE_READ_INTERVAL_MS") != NULL)
	{
		hold_batched(hold, atoi(getenv("SSE_READ_INTERVAL_MS")));
		return 0;
	}
	run_for(hold * 1000.0);

	if (argc == 10)
	{
		int			nposts = atoi(argv[8]);
		int			interval = atoi(argv[9]);

		if (nposts > MAX_POSTS)
			nposts = MAX_POSTS;
		samples = calloc((size_t) nposts * (size_t) nconns + 1, sizeof(double));
		for (int k = 0; k < nposts; k++)
		{
			post_one(argv[7], k);
			run_for(interval);
		}
		run_for(3000);			/* the stragglers */
		qsort(samples, (size_t) nsamples, sizeof(double), cmp_double);
		if (nsamples > 0)
			printf("fanout samples=%ld missing=%ld p50_ms=%.1f p99_ms=%.1f max_ms=%.1f\n",
				   nsamples, (long) nposts * connected - nsamples,
				   samples[nsamples / 2], samples[(long) (nsamples * 0.99)],
				   samples[nsamples - 1]);
		else
			printf("fanout samples=0 missing=%ld\n", (long) nposts * connected);
	}
	return 0;
}
