/*
 * hub.c
 *	  The registry of live events (hub.h): conversations by canonical id in
 *	  a hash table, each with its streams; the list of all streams; the
 *	  fetchers' work lists; writes to the streams' sinks, with the
 *	  slow-consumer bound and the pacing of replays.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "hub.h"
#include "log.h"
#include "util.h"

#define NBUCKETS		16384
#define RESUME_MS		10		/* how often paused replays are looked at */

static struct
{
	struct hub_conv *buckets[NBUCKETS];
	struct events_stream *all;
	int			nstreams;
	int			npaused;
	int			sse_buffer;
	const struct hub_fetcher *messages;
	const struct hub_fetcher *changes;
	struct event *resume_timer;
	unsigned long long dropped;
	void		(*watch) (const char *guest, bool opened);
}			hub;

static void on_resume(evutil_socket_t fd, short what, void *arg);

bool
hub_setup(struct event_base *base, const struct hub_fetcher *messages,
		  const struct hub_fetcher *changes, int sse_buffer)
{
	hub.messages = messages;
	hub.changes = changes;
	hub.sse_buffer = sse_buffer;
	hub.resume_timer = evtimer_new(base, on_resume, NULL);
	return hub.resume_timer != NULL;
}

bool
hub_cid_canonical(const char *in, char out[HUB_CID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	int			n = 0;

	for (; *in != '\0'; in++)
	{
		const char *d = strchr(hex, *in >= 'A' && *in <= 'F' ? *in - 'A' + 'a' : *in);

		if (*in == '-' || *in == '{' || *in == '}')
			continue;
		if (d == NULL || n == 32)
			return false;
		if (n == 8 || n == 12 || n == 16 || n == 20)
			*out++ = '-';
		*out++ = *d;
		n++;
	}
	*out = '\0';
	return n == 32;
}

/* ---- conversations -------------------------------------------------------- */

static unsigned
cid_hash(const char *cid)
{
	unsigned	h = 2166136261u;

	for (; *cid; cid++)
		h = (h ^ (unsigned char) *cid) * 16777619u;
	return h % NBUCKETS;
}

struct hub_conv *
hub_conv_find(const char *cid)
{
	for (struct hub_conv *c = hub.buckets[cid_hash(cid)]; c != NULL; c = c->hnext)
		if (strcmp(c->cid, cid) == 0)
			return c;
	return NULL;
}

static struct hub_conv *
conv_get(const char *cid)
{
	struct hub_conv *c = hub_conv_find(cid);
	unsigned	h;

	if (c != NULL)
		return c;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	snprintf(c->cid, sizeof(c->cid), "%s", cid);
	c->fetch.conv = c->change.conv = c;
	c->fetch.other = &c->change;
	c->change.other = &c->fetch;
	c->fetch.fetcher = hub.messages;
	c->change.fetcher = hub.changes;
	h = cid_hash(c->cid);
	c->hnext = hub.buckets[h];
	hub.buckets[h] = c;
	return c;
}

/* Does a fetch (running or waiting) hold c? */
static bool
conv_held(const struct hub_conv *c)
{
	return c->fetch.running || c->fetch.queued || c->change.running || c->change.queued;
}

void
hub_conv_release(struct hub_conv *c)
{
	struct hub_conv **pp;

	if (c->nstreams > 0 || conv_held(c))
		return;
	for (pp = &hub.buckets[cid_hash(c->cid)]; *pp != NULL; pp = &(*pp)->hnext)
	{
		if (*pp == c)
		{
			*pp = c->hnext;
			break;
		}
	}
	free(c);
}

int64_t
hub_min_cursor(const struct hub_conv *c)
{
	int64_t		min = INT64_MAX;

	for (const struct events_stream *s = c->streams; s != NULL; s = s->next)
		if (s->cursor < min)
			min = s->cursor;
	return min;
}

void
hub_conv_foreach(void (*fn) (struct hub_conv *c))
{
	struct hub_conv *next;

	for (int b = 0; b < NBUCKETS; b++)
		for (struct hub_conv *c = hub.buckets[b]; c != NULL; c = next)
		{
			next = c->hnext;
			fn(c);
		}
}

char *
hub_conv_ids(void)
{
	struct evbuffer *b;
	char	   *ids;
	bool		any = false;

	if (hub.all == NULL || (b = evbuffer_new()) == NULL)
		return NULL;
	util_array_begin(b);
	for (int i = 0; i < NBUCKETS; i++)
		for (struct hub_conv *c = hub.buckets[i]; c != NULL; c = c->hnext)
		{
			util_array_add(b, c->cid, false);
			any = true;
		}
	ids = util_array_end(b);
	evbuffer_free(b);
	if (!any)
	{
		free(ids);
		return NULL;
	}
	return ids;
}

/* ---- streams -------------------------------------------------------------- */

struct events_stream *
hub_stream_new(const struct events_sink_ops *ops, void *conn, const char *guest)
{
	struct events_stream *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->ops = ops;
	s->conn = conn;
	snprintf(s->guest, sizeof(s->guest), "%s", guest);
	s->all_next = hub.all;
	if (hub.all)
		hub.all->all_prev = s;
	hub.all = s;
	hub.nstreams++;
	return s;
}

bool
hub_stream_join(struct events_stream *s, const char *cid, int64_t cursor,
				int64_t last_seq, int64_t change_seq)
{
	struct hub_conv *c = conv_get(cid);

	if (c == NULL)
		return false;
	if (c->streams == NULL && !conv_held(c))
	{
		/* New here: changes before this subscription are in what it reads. */
		c->change_seen = change_seq;
		c->change_head = change_seq;
	}
	if (last_seq > c->head)
		c->head = last_seq;
	s->conv = c;
	s->cursor = cursor;
	s->prev = NULL;
	s->next = c->streams;
	if (c->streams)
		c->streams->prev = s;
	c->streams = s;
	c->nstreams++;
	return true;
}

/* Take s out of every list and free it; its conversation too if nothing holds it. */
static void
stream_free(struct events_stream *s)
{
	struct hub_conv *c = s->conv;

	if (c != NULL)
	{
		if (s->prev)
			s->prev->next = s->next;
		else
			c->streams = s->next;
		if (s->next)
			s->next->prev = s->prev;
		c->nstreams--;
	}
	if (s->all_prev)
		s->all_prev->all_next = s->all_next;
	else
		hub.all = s->all_next;
	if (s->all_next)
		s->all_next->all_prev = s->all_prev;
	hub.nstreams--;
	if (s->started && hub.watch != NULL)
		hub.watch(s->guest, false);
	if (s->paused)
		hub.npaused--;
	free(s);
	if (c != NULL)
		hub_conv_release(c);
}

void
hub_stream_start(struct events_stream *s)
{
	if (s->started)
		return;
	s->ops->start(s->conn);
	s->started = true;
	if (hub.watch != NULL)
		hub.watch(s->guest, true);
}

void
hub_set_watch(void (*watch) (const char *guest, bool opened))
{
	hub.watch = watch;
}

void
hub_stream_refuse(struct events_stream *s, const struct problem *p)
{
	s->ops->refuse(s->conn, p);
	stream_free(s);
}

void
hub_stream_end(struct events_stream *s)
{
	if (s->started)
		s->ops->end(s->conn);
	else
		s->ops->abort(s->conn);
	stream_free(s);
}

void
hub_stream_remove(struct events_stream *s)
{
	stream_free(s);
}

/* A client that cannot keep up: drop the connection, it resumes later. */
static void
stream_drop(struct events_stream *s)
{
	log_info("events: stream of %s in %s dropped: more than %d bytes unsent",
			 s->guest, s->conv ? s->conv->cid : "-", hub.sse_buffer);
	s->ops->abort(s->conn);
	stream_free(s);
	hub.dropped++;
}

/* Write len bytes to s; false when s was dropped for it (s is freed then). */
static bool
stream_write(struct events_stream *s, const char *data, size_t len)
{
	if (!s->started || len == 0)
		return true;
	if (s->ops->write(s->conn, data, len) > (size_t) hub.sse_buffer)
	{
		stream_drop(s);
		return false;
	}
	return true;
}

bool
hub_stream_send(struct events_stream *s, struct evbuffer *buf)
{
	size_t		len = evbuffer_get_length(buf);
	bool		kept = stream_write(s, (const char *) evbuffer_pullup(buf, -1), len);

	evbuffer_drain(buf, len);
	return kept;
}

int
hub_stream_send_all(struct evbuffer *buf)
{
	struct events_stream *next;
	size_t		len = evbuffer_get_length(buf);
	const char *data = (const char *) evbuffer_pullup(buf, -1);
	int			dropped = 0;

	for (struct events_stream *s = hub.all; s != NULL; s = next)
	{
		next = s->all_next;
		dropped += !stream_write(s, data, len);
	}
	evbuffer_drain(buf, len);
	return dropped;
}

size_t
hub_stream_queued(const struct events_stream *s)
{
	return s->started ? s->ops->queued(s->conn) : 0;
}

void
hub_stream_pause(struct events_stream *s)
{
	struct timeval tv = util_timeval_ms(RESUME_MS);

	if (s->paused)
		return;
	s->paused = true;
	hub.npaused++;
	if (hub.resume_timer != NULL && !evtimer_pending(hub.resume_timer, NULL))
		evtimer_add(hub.resume_timer, &tv);
}

/*
 * Paused replays whose client has read everything go on.  Their
 * conversations are kicked after the scan: a kick may start a fetch, but
 * frees no stream and no conversation that has one.
 */
static void
on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct timeval tv = util_timeval_ms(RESUME_MS);

	(void) fd;
	(void) what;
	(void) arg;
	for (struct events_stream *s = hub.all; s != NULL && hub.npaused > 0; s = s->all_next)
	{
		if (!s->paused || s->ops->queued(s->conn) > 0)
			continue;
		s->paused = false;
		hub.npaused--;
		if (s->conv != NULL && hub.messages != NULL)
			hub.messages->kick(s->conv);
	}
	if (hub.npaused > 0)
		evtimer_add(hub.resume_timer, &tv);
}

void
hub_guest_gone(struct hub_conv *c, const char *guest)
{
	struct events_stream *next;

	for (struct events_stream *s = c->streams; s != NULL; s = next)
	{
		next = s->next;
		if (strcmp(s->guest, guest) != 0)
			continue;
		log_info("events: %s left %s: stream ended", guest, c->cid);
		hub_stream_end(s);
	}
}

struct events_stream *
hub_stream_any(void)
{
	return hub.all;
}

int
hub_nstreams(void)
{
	return hub.nstreams;
}

unsigned long long
hub_dropped(void)
{
	return hub.dropped;
}

/* ---- work lists ----------------------------------------------------------- */

void
hub_work_queue(struct hub_worklist *l, struct hub_work *w)
{
	if (w->running)
	{
		w->again = true;
		return;
	}
	if (w->queued || w->conv->nstreams == 0)
		return;
	w->queued = true;
	w->next = NULL;
	if (l->tail)
		l->tail->next = w;
	else
		l->head = w;
	l->tail = w;
}

struct hub_work *
hub_work_next(struct hub_worklist *l)
{
	struct hub_work *w;

	while ((w = l->head) != NULL)
	{
		l->head = w->next;
		if (l->head == NULL)
			l->tail = NULL;
		w->queued = false;
		if (w->conv->nstreams == 0)
			hub_conv_release(w->conv);
		else if (w->other->running)
			w->deferred = true;
		else
		{
			w->running = true;
			w->again = false;
			return w;
		}
	}
	return NULL;
}

void
hub_work_ended(struct hub_work *w)
{
	w->running = false;
	if (!w->other->deferred)
		return;
	w->other->deferred = false;
	if (w->conv->nstreams > 0 && w->other->fetcher != NULL)
		w->other->fetcher->kick(w->conv);
}

/* ---- shutdown ------------------------------------------------------------- */

void
hub_shutdown(void)
{
	while (hub.all != NULL)
		hub_stream_end(hub.all);
	for (int b = 0; b < NBUCKETS; b++)
	{
		while (hub.buckets[b] != NULL)
		{
			struct hub_conv *c = hub.buckets[b];

			hub.buckets[b] = c->hnext;
			free(c);
		}
	}
	if (hub.resume_timer != NULL)
		event_free(hub.resume_timer);
	memset(&hub, 0, sizeof(hub));
}
