/*
 * events.c
 *	  The live-event hub: streams indexed by conversation, notifications
 *	  in, the safety poll's findings, heartbeats.  What a stream is sent,
 *	  and when the database is asked, is deliver.c's.
 *
 * Why not NOTIFY in the writing transaction: PostgreSQL takes a
 * database-wide lock at the commit of any transaction that notified, so
 * every post would wait for every other.  Instead, after this gateway
 * relayed a successful write, notify.c queues a line ("m <cid> [<seq>]",
 * "e <cid> <seq>", "d <cid> <seq>", "r <cid> <guest>") and sends the queue
 * every PARLEY_EVENTS_BATCH_MS in one pg_notify() on its own connection,
 * outside any write transaction.  Payloads carry ids only and stay under
 * 8000 bytes.
 *
 * Every gateway LISTENs (listen.c).  A notification only says "look": for
 * a conversation it streams, a gateway fetches what is above its streams'
 * cursors (deliver.c), or what changed after the change_seq its streams
 * were brought to (changes.c), so a lost or late notification only delays.
 * A safety poll every PARLEY_EVENTS_POLL_MS reads last_seq and change_seq
 * of every streamed conversation in one call (parley.events_heads) and
 * fetches where a stream is behind: posts, edits, deletes and removals
 * made straight in SQL, or notifications lost with a crashed gateway,
 * still arrive.
 *
 * The resume seam: a stream is registered with its cursor S (the client's
 * cursor, or last_seq from events_subscribe) before anything is fetched for
 * it, and its first fetch starts at S.  Delivery only sends seq > cursor and
 * moves the cursor forward, so nothing is sent twice and nothing skipped.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "config.h"
#include "events.h"
#include "events_hub.h"
#include "db/listen.h"
#include "log.h"
#include "notify.h"
#include "poll.h"
#include "sse.h"

#define NBUCKETS		16384

enum
{
	STMT_FETCH,
	STMT_HEADS,
	STMT_CHANGES
};

static const char *const events_statements[] = {
	[STMT_FETCH] = "SELECT m::text, (m->>'seq')::bigint, m->>'conversation_id'"
	" FROM jsonb_array_elements(parley.events_fetch($1::uuid[], $2::bigint[], $3::integer)"
	"->'messages') AS m",
	[STMT_HEADS] = "SELECT key, (value->>0)::bigint, (value->>1)::bigint"
	" FROM jsonb_each(parley.events_heads($1::uuid[]))",
	/* One row per changed message (or one with NULLs), in change order. */
	[STMT_CHANGES] = "SELECT e.m::text, (e.m->>'seq')::bigint, (e.m->>'deleted')::boolean,"
	" c->>'change_seq', (c->'gone')::text"
	" FROM parley.events_changes($1::uuid, $2::bigint, $3::text[]) AS c"
	" LEFT JOIN LATERAL jsonb_array_elements(c->'messages') WITH ORDINALITY AS e(m, i) ON true"
	" ORDER BY e.i",
};

static struct
{
	bool		enabled;
	struct conv *buckets[NBUCKETS];
	struct events_stream *all;
	int			nstreams;
	struct evbuffer *scratch;	/* one stream write */
	struct event *heartbeat_timer;
	unsigned long long dropped;
}			hub;

static unsigned
cid_hash(const char *cid)
{
	unsigned	h = 2166136261u;

	for (; *cid; cid++)
		h = (h ^ (unsigned char) *cid) * 16777619u;
	return h % NBUCKETS;
}

struct conv *
hub_conv_find(const char *cid)
{
	for (struct conv *c = hub.buckets[cid_hash(cid)]; c != NULL; c = c->hnext)
		if (strcmp(c->cid, cid) == 0)
			return c;
	return NULL;
}

static struct conv *
conv_get(const char *cid)
{
	struct conv *c = hub_conv_find(cid);
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
	h = cid_hash(c->cid);
	c->hnext = hub.buckets[h];
	hub.buckets[h] = c;
	return c;
}

/* Does a fetch (running or waiting) hold c? */
static bool
conv_held(const struct conv *c)
{
	return c->fetch.running || c->fetch.queued || c->change.running || c->change.queued;
}

void
hub_work_queue(struct conv_worklist *l, struct conv_work *w)
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

struct conv_work *
hub_work_next(struct conv_worklist *l)
{
	struct conv_work *w;

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
			return w;
	}
	return NULL;
}

bool
hub_work_ended(struct conv_work *w)
{
	w->running = false;
	if (!w->other->deferred)
		return false;
	w->other->deferred = false;
	return true;
}

/* Free a conversation nobody streams, unless a fetch still uses it. */
void
hub_conv_release(struct conv *c)
{
	struct conv **pp;

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

/* ---- streams -------------------------------------------------------------- */

static void
stream_unlink(struct events_stream *s)
{
	struct conv *c = s->conv;

	if (s->prev)
		s->prev->next = s->next;
	else
		c->streams = s->next;
	if (s->next)
		s->next->prev = s->prev;
	c->nstreams--;
	if (s->all_prev)
		s->all_prev->all_next = s->all_next;
	else
		hub.all = s->all_next;
	if (s->all_next)
		s->all_next->all_prev = s->all_prev;
	hub.nstreams--;
	hub_conv_release(c);
}

/* End the stream cleanly: the connection closes once what is queued is written. */
static void
stream_end(struct events_stream *s)
{
	s->ops->end(s->conn);
	stream_unlink(s);
	free(s);
}

/* A client that cannot keep up: drop the connection, it resumes later. */
static void
stream_drop(struct events_stream *s)
{
	log_info("events: stream of %s in %s dropped: more than %d bytes unsent",
			 s->guest, s->conv->cid, config.sse_buffer);
	s->ops->abort(s->conn);
	stream_unlink(s);
	free(s);
	hub.dropped++;
}

bool
hub_stream_send(struct events_stream *s, struct evbuffer *buf)
{
	size_t		len = evbuffer_get_length(buf);
	size_t		unsent;

	if (len == 0)
		return true;
	unsent = s->ops->write(s->conn, (const char *) evbuffer_pullup(buf, -1), len);
	evbuffer_drain(buf, len);
	if (unsent > (size_t) config.sse_buffer)
	{
		stream_drop(s);
		return false;
	}
	return true;
}

int64_t
hub_min_cursor(const struct conv *c)
{
	int64_t		min = INT64_MAX;

	for (const struct events_stream *s = c->streams; s != NULL; s = s->next)
		if (s->cursor < min)
			min = s->cursor;
	return min;
}

void
hub_guest_gone(struct conv *c, const char *guest)
{
	struct events_stream *next;

	for (struct events_stream *s = c->streams; s != NULL; s = next)
	{
		next = s->next;
		if (strcmp(s->guest, guest) != 0)
			continue;
		log_info("events: %s left %s: stream ended", guest, c->cid);
		stream_end(s);
	}
}

/* ---- notifications in ----------------------------------------------------- */

static void
on_notify(const char *payload)
{
	const char *line = payload;

	while (*line != '\0')
	{
		const char *end = strchr(line, '\n');
		size_t		len = end ? (size_t) (end - line) : strlen(line);
		char		buf[160];
		char		kind;
		char		cid[CID_LEN + 1];
		char		arg[GUEST_MAX + 1];
		int			nf;

		if (len < sizeof(buf))
		{
			memcpy(buf, line, len);
			buf[len] = '\0';
			arg[0] = '\0';
			nf = sscanf(buf, "%c %36s %64s", &kind, cid, arg);
			if (nf >= 2)
			{
				int64_t		seq = nf == 3 ? strtoll(arg, NULL, 10) : 0;

				/* "m <cid>" without a seq comes from an older gateway. */
				if (kind == 'm')
					events_head_seen(cid, nf == 3 ? seq : INT64_MAX, 0);
				else if (kind == 'e' || kind == 'd' || kind == 'r')
				{
					struct conv *c = hub_conv_find(cid);

					if (c != NULL)
						deliver_changes(c, 0);
				}
			}
		}
		if (end == NULL)
			break;
		line = end + 1;
	}
}

/* The listener is (again) up: notifications may have been missed. */
static void
on_listen_up(void)
{
	for (int b = 0; b < NBUCKETS; b++)
		for (struct conv *c = hub.buckets[b]; c != NULL; c = c->hnext)
			deliver_kick(c);
}

/* ---- safety poll (poll.c) and heartbeats --------------------------------- */

char *
events_streamed_ids(void)
{
	struct evbuffer *b = evbuffer_new();
	bool		first = true;
	size_t		len;
	char	   *ids = NULL;

	if (b == NULL || hub.all == NULL)
		goto out;
	evbuffer_add(b, "{", 1);
	for (int i = 0; i < NBUCKETS; i++)
		for (struct conv *c = hub.buckets[i]; c != NULL; c = c->hnext)
		{
			evbuffer_add_printf(b, first ? "%s" : ",%s", c->cid);
			first = false;
		}
	evbuffer_add(b, "}", 2);	/* with the NUL */
	len = evbuffer_get_length(b);
	ids = malloc(len);
	if (ids != NULL)
		evbuffer_copyout(b, ids, len);
out:
	if (b != NULL)
		evbuffer_free(b);
	return ids;
}

void
events_head_seen(const char *cid, int64_t head, int64_t change_head)
{
	struct conv *c = hub_conv_find(cid);

	if (c == NULL)
		return;
	if (change_head > c->change_seen)
		deliver_changes(c, change_head);
	if (head != INT64_MAX && head > c->head)
		c->head = head;			/* INT64_MAX: "look", from an older gateway */
	if (head > hub_min_cursor(c))
		deliver_kick(c);
}

/* A comment line keeps proxies from closing a quiet stream, and finds dead clients. */
static void
on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
	struct events_stream *next;

	(void) fd;
	(void) what;
	(void) arg;
	for (struct events_stream *s = hub.all; s != NULL; s = next)
	{
		next = s->all_next;
		sse_comment(hub.scratch, "");
		(void) hub_stream_send(s, hub.scratch);
	}
}

/* ---- streams in ----------------------------------------------------------- */

bool
events_cursor(const char **after, const char *last_event_id, struct problem *p)
{
	size_t		n;

	if (!hub.enabled)
	{
		problem_set(p, 404, CODE_NOT_FOUND, "live events are off in this gateway (PARLEY_EVENTS=0)");
		return false;
	}
	if (*after != NULL || last_event_id == NULL)
		return true;
	n = strspn(last_event_id, "0123456789");
	if (n == 0 || n > 18 || last_event_id[n] != '\0')
	{
		problem_set(p, 400, CODE_VALIDATION, "Last-Event-ID must be a message seq (a non-negative integer)");
		return false;
	}
	*after = last_event_id;
	return true;
}

struct events_stream *
events_stream_open(const struct events_sink_ops *ops, void *conn,
				   const char *cid, const char *guest, const char *after,
				   const char *last_seq, const char *change_seq)
{
	struct events_stream *s = calloc(1, sizeof(*s));
	char		key[CID_LEN + 1];
	struct conv *c = s && notify_cid_canonical(cid, key) ? conv_get(key) : NULL;

	if (c == NULL)
	{
		free(s);
		return NULL;
	}
	if (c->streams == NULL && !conv_held(c))
	{
		/* New here: changes before this subscription are in what it reads. */
		c->change_seen = strtoll(change_seq, NULL, 10);
		c->change_head = c->change_seen;
	}
	s->ops = ops;
	s->conn = conn;
	s->conv = c;
	s->cursor = strtoll(after ? after : last_seq, NULL, 10);
	if (strtoll(last_seq, NULL, 10) > c->head)
		c->head = strtoll(last_seq, NULL, 10);
	snprintf(s->guest, sizeof(s->guest), "%s", guest);
	s->next = c->streams;
	if (c->streams)
		c->streams->prev = s;
	c->streams = s;
	c->nstreams++;
	s->all_next = hub.all;
	if (hub.all)
		hub.all->all_prev = s;
	hub.all = s;
	hub.nstreams++;

	/*
	 * A comment, so the client sees the stream is open; then catch up.
	 * Written past the slow-consumer bound: the caller holds s.
	 */
	sse_comment(hub.scratch, "ok");
	(void) ops->write(conn, (const char *) evbuffer_pullup(hub.scratch, -1),
					  evbuffer_get_length(hub.scratch));
	evbuffer_drain(hub.scratch, evbuffer_get_length(hub.scratch));
	deliver_kick(c);
	return s;
}

void
events_stream_gone(struct events_stream *s)
{
	stream_unlink(s);
	free(s);
}

void
events_get_stats(struct events_stats *st)
{
	st->streams = hub.nstreams;
	st->dropped = hub.dropped;
	deliver_get_stats(st);
}

void
events_close_all(void)
{
	while (hub.all != NULL)
		stream_end(hub.all);
}

bool
events_setup(struct event_base *base, struct pool *pool)
{
	static const struct listen_callbacks cb = {on_notify, on_listen_up, notify_flush_later};
	struct timeval hb_tv = {config.sse_heartbeat, 0};
	const struct pool_stmt *fetch = pool_statement(pool, "events_fetch", events_statements[STMT_FETCH]);
	const struct pool_stmt *heads = pool_statement(pool, "events_heads", events_statements[STMT_HEADS]);
	const struct pool_stmt *changes = pool_statement(pool, "events_changes", events_statements[STMT_CHANGES]);

	hub.enabled = config.events;
	hub.scratch = evbuffer_new();
	hub.heartbeat_timer = event_new(base, -1, EV_PERSIST, on_heartbeat, NULL);
	if (fetch == NULL || heads == NULL || changes == NULL ||
		hub.scratch == NULL || !notify_setup(base) ||
		hub.heartbeat_timer == NULL || !deliver_setup(pool, fetch, changes))
		return false;
	if (!hub.enabled)
		return true;
	if (!poll_setup(base, pool, heads))
		return false;
	evtimer_add(hub.heartbeat_timer, &hb_tv);
	/* PARLEY_PREPARED=0 means PgBouncer in transaction mode: no session SET. */
	return listen_setup(base, config.database_url, config.prepared, &cb);
}

void
events_shutdown(void)
{
	events_close_all();
	for (int b = 0; b < NBUCKETS; b++)
	{
		while (hub.buckets[b] != NULL)
		{
			struct conv *c = hub.buckets[b];

			hub.buckets[b] = c->hnext;
			free(c);
		}
	}
	listen_free();
	poll_shutdown();
	deliver_shutdown();
	if (hub.heartbeat_timer)
		event_free(hub.heartbeat_timer);
	notify_shutdown();
	if (hub.scratch)
		evbuffer_free(hub.scratch);
	memset(&hub, 0, sizeof(hub));
}
