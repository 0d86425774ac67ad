/*
 * events.c
 *	  The live-event hub: streams indexed by conversation, one fetch per
 *	  conversation for all of its streams, notifications out and in.
 *
 * Why not NOTIFY in the writing transaction: PostgreSQL takes a
 * database-wide lock at the commit of any transaction that notified, so
 * every post would wait for every other.  Instead, after this gateway
 * relayed a successful write, it queues a line ("m <cid>", "e <cid> <seq>",
 * "d <cid> <seq>", "r <cid> <guest>") and sends the queue every
 * PARLEY_EVENTS_BATCH_MS in one pg_notify() on its own connection, outside
 * any write transaction.  Payloads carry ids only and stay under 8000 bytes.
 *
 * Every gateway LISTENs (listen.c) and, for a conversation it streams,
 * fetches messages with seq above the smallest cursor of its streams
 * (parley.events_fetch) and hands each stream the ones above its own
 * cursor.  A notification only says "look"; the database says what is new,
 * so a lost or late notification only delays.  A safety poll every
 * PARLEY_EVENTS_POLL_MS reads last_seq of every streamed conversation in
 * one call (parley.conversation_heads) and fetches where a stream is
 * behind: posts made straight in SQL, or notifications lost with a crashed
 * gateway, still arrive.
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
#include "listen.h"
#include "log.h"
#include "notify.h"
#include "poll.h"
#include "sse.h"

#define FETCH_LIMIT		100		/* messages per conversation per fetch */
#define BATCH_MAX		100		/* conversations per fetch */
#define NBUCKETS		16384
#define GUEST_MAX		64

enum
{
	STMT_FETCH,
	STMT_HEADS
};

const char *const events_statements[EVENTS_NSTATEMENTS] = {
	[STMT_FETCH] = "SELECT m::text, (m->>'seq')::bigint, m->>'conversation_id'"
	" FROM jsonb_array_elements(parley.events_fetch($1::uuid[], $2::bigint[], $3::integer)"
	"->'messages') AS m",
	[STMT_HEADS] = "SELECT key, value::bigint"
	" FROM jsonb_each_text(parley.conversation_heads($1::uuid[]))",
};

struct stream;

struct conv
{
	char		cid[CID_LEN + 1];
	struct conv *hnext;			/* hash chain */
	struct stream *streams;
	int			nstreams;
	bool		queued;			/* waits in hub.pending for the next fetch */
	bool		fetching;		/* in the running fetch */
	bool		dirty;			/* fetch again when it ends */
	int64_t		fetch_from;		/* the running fetch reads seq > this */
	struct conv *pnext;			/* in hub.pending */
};

/* One fetch for up to BATCH_MAX conversations: one round trip. */
struct batch
{
	struct pool_job job;
	const char *values[3];
	char	   *ids;			/* "{uuid,uuid}" */
	char	   *afters;			/* "{12,0}" */
	char		limit_s[8];
	int			nconvs;
	struct conv *convs[BATCH_MAX];
};

struct stream
{
	struct evhttp_request *req;
	struct evhttp_connection *evcon;
	struct conv *conv;
	struct stream *next;		/* in conv->streams */
	struct stream *prev;
	struct stream *all_next;	/* in hub.all */
	struct stream *all_prev;
	int64_t		cursor;			/* the last seq sent (or the client's) */
	bool		chunked;		/* evhttp chose chunked encoding (HTTP/1.1) */
	char		guest[GUEST_MAX + 1];
};

/* An edit or delete: fetch that one message, send it to who has seen it. */
struct change
{
	struct pool_job job;
	const char *values[3];
	char		ids_s[CID_LEN + 3];
	char		after_s[26];
	int64_t		seq;
	bool		deleted;
	char		cid[CID_LEN + 1];
	struct change *next;		/* in hub.changes */
};

static struct
{
	struct event_base *base;
	struct pool *pool;
	int			first_stmt;
	bool		enabled;
	struct conv *buckets[NBUCKETS];
	struct conv *pending;		/* conversations waiting for a fetch */
	struct conv *pending_tail;
	struct batch batch;
	bool		batch_running;
	struct change *changes;		/* edits and deletes, in notification order */
	struct change *changes_tail;
	bool		change_running;
	struct stream *all;
	int			nstreams;
	struct evbuffer *scratch;	/* one stream write */
	struct event *heartbeat_timer;
}			hub;

static void conv_kick(struct conv *c);

static unsigned
cid_hash(const char *cid)
{
	unsigned	h = 2166136261u;

	for (; *cid; cid++)
		h = (h ^ (unsigned char) *cid) * 16777619u;
	return h % NBUCKETS;
}

static struct conv *
conv_find(const char *cid)
{
	for (struct conv *c = hub.buckets[cid_hash(cid)]; c != NULL; c = c->hnext)
		if (strcmp(c->cid, cid) == 0)
			return c;
	return NULL;
}

static struct conv *
conv_get(const char *cid)
{
	struct conv *c = conv_find(cid);
	unsigned	h;

	if (c != NULL)
		return c;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	snprintf(c->cid, sizeof(c->cid), "%s", cid);
	h = cid_hash(c->cid);
	c->hnext = hub.buckets[h];
	hub.buckets[h] = c;
	return c;
}

/* Free a conversation nobody streams, unless a fetch still uses it. */
static void
conv_release(struct conv *c)
{
	struct conv **pp;

	if (c->nstreams > 0 || c->fetching || c->queued)
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
stream_unlink(struct stream *s)
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
	conv_release(c);
}

/*
 * The client went away (or the write timed out).  evhttp detaches an
 * unfinished request from a failed connection without freeing it: it is
 * ours to free.
 */
static void
on_stream_close(struct evhttp_connection *evcon, void *arg)
{
	struct stream *s = arg;

	(void) evcon;
	if (evhttp_request_get_connection(s->req) == NULL)
		evhttp_request_free(s->req);
	stream_unlink(s);
	free(s);
}

/* End the stream cleanly: the last chunk, then evhttp closes. */
static void
stream_end(struct stream *s)
{
	evhttp_connection_set_closecb(s->evcon, NULL, NULL);
	evhttp_send_reply_end(s->req);
	stream_unlink(s);
	free(s);
}

/* A client that cannot keep up: drop the connection, it resumes later. */
static void
stream_drop(struct stream *s)
{
	struct evhttp_connection *evcon = s->evcon;

	log_info("events: stream of %s in %s dropped: more than %d bytes unsent",
			 s->guest, s->conv->cid, config.sse_buffer);
	evhttp_connection_set_closecb(evcon, NULL, NULL);
	stream_unlink(s);
	free(s);
	evhttp_connection_free(evcon);
}

/* Send what is in hub.scratch; false when the stream was dropped. */
static bool
stream_write(struct stream *s)
{
	if (evbuffer_get_length(hub.scratch) == 0)
		return true;
	if (sse_write(s->evcon, s->chunked, hub.scratch) > (size_t) config.sse_buffer)
	{
		stream_drop(s);
		return false;
	}
	return true;
}

static int64_t
conv_min_cursor(const struct conv *c)
{
	int64_t		min = INT64_MAX;

	for (const struct stream *s = c->streams; s != NULL; s = s->next)
		if (s->cursor < min)
			min = s->cursor;
	return min;
}

/* ---- fetching and fan-out ------------------------------------------------- */

/* Send rows [from, to) of a fetch, all of c, to each stream that needs them. */
static void
conv_deliver(struct conv *c, PGresult *res, int from, int to)
{
	struct stream *next;

	for (struct stream *s = c->streams; s != NULL; s = next)
	{
		next = s->next;

		/*
		 * A stream that joined during the fetch with an older cursor would
		 * get a gap from these rows: it waits for the next fetch.
		 */
		if (s->cursor < c->fetch_from)
		{
			c->dirty = true;
			continue;
		}
		for (int i = from; i < to; i++)
		{
			int64_t		seq = strtoll(PQgetvalue(res, i, 1), NULL, 10);

			if (seq <= s->cursor)
				continue;
			evbuffer_add_printf(hub.scratch, "id: %" PRId64 "\nevent: message\ndata: ", seq);
			evbuffer_add(hub.scratch, PQgetvalue(res, i, 0), (size_t) PQgetlength(res, i, 0));
			evbuffer_add(hub.scratch, "\n\n", 2);
			s->cursor = seq;
		}
		(void) stream_write(s);
	}
}

static void fetch_next(void);

/* Put c in line for the next fetch (or mark it to be fetched again). */
static void
conv_queue(struct conv *c)
{
	if (c->fetching)
	{
		c->dirty = true;
		return;
	}
	if (c->queued || c->nstreams == 0)
		return;
	c->queued = true;
	c->pnext = NULL;
	if (hub.pending_tail)
		hub.pending_tail->pnext = c;
	else
		hub.pending = c;
	hub.pending_tail = c;
}

/* Fetch what is new for c's streams, in the next batch. */
static void
conv_kick(struct conv *c)
{
	conv_queue(c);
	fetch_next();
}

static void
on_batch_done(struct pool_job *job, PGresult *res, const struct problem *err)
{
	struct batch *b = &hub.batch;
	int			n = 0;
	int			row = 0;

	(void) job;
	if (err != NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
		log_warn("events: fetch of %d conversations failed: %s", b->nconvs,
				 err ? err->detail : PQresultErrorMessage(res));
	else
		n = PQntuples(res);

	/* Rows come grouped by conversation, in the batch's order. */
	for (int k = 0; k < b->nconvs; k++)
	{
		struct conv *c = b->convs[k];
		int			first = row;

		while (row < n && strcmp(PQgetvalue(res, row, 2), c->cid) == 0)
			row++;
		if (row > first)
			conv_deliver(c, res, first, row);
		if (row - first == FETCH_LIMIT)
			c->dirty = true;	/* there may be more */
	}
	if (row != n)
		log_warn("events: fetch answered rows out of order; the safety poll catches up");

	hub.batch_running = false;
	for (int k = 0; k < b->nconvs; k++)
	{
		struct conv *c = b->convs[k];

		c->fetching = false;
		if (c->nstreams == 0)
			conv_release(c);
		else if (c->dirty || err != NULL)
		{
			c->dirty = false;
			if (err == NULL)
				conv_queue(c);
		}
	}
	free(b->ids);
	free(b->afters);
	b->ids = b->afters = NULL;
	b->nconvs = 0;
	/* After a failure (also at shutdown, when the pool is going) the safety poll resumes. */
	if (err == NULL)
		fetch_next();
}

/* Start a fetch for the waiting conversations unless one is running. */
static void
fetch_next(void)
{
	struct batch *b = &hub.batch;
	struct evbuffer *ids;
	struct evbuffer *afters;
	struct problem p;

	if (hub.batch_running || hub.pending == NULL)
		return;
	ids = evbuffer_new();
	afters = evbuffer_new();
	if (ids == NULL || afters == NULL)
		goto out;
	b->nconvs = 0;
	while (hub.pending != NULL && b->nconvs < BATCH_MAX)
	{
		struct conv *c = hub.pending;

		hub.pending = c->pnext;
		if (hub.pending == NULL)
			hub.pending_tail = NULL;
		c->queued = false;
		if (c->nstreams == 0)
		{
			conv_release(c);
			continue;
		}
		c->fetching = true;
		c->dirty = false;
		c->fetch_from = conv_min_cursor(c);
		evbuffer_add_printf(ids, "%s%s", b->nconvs ? "," : "{", c->cid);
		evbuffer_add_printf(afters, "%s%" PRId64, b->nconvs ? "," : "{", c->fetch_from);
		b->convs[b->nconvs++] = c;
	}
	if (b->nconvs == 0)
		goto out;
	evbuffer_add(ids, "}", 2);	/* with the NUL */
	evbuffer_add(afters, "}", 2);
	b->ids = strdup((const char *) evbuffer_pullup(ids, -1));
	b->afters = strdup((const char *) evbuffer_pullup(afters, -1));
	snprintf(b->limit_s, sizeof(b->limit_s), "%d", FETCH_LIMIT);
	b->values[0] = b->ids;
	b->values[1] = b->afters;
	b->values[2] = b->limit_s;
	memset(&b->job, 0, sizeof(b->job));
	b->job.stmt = hub.first_stmt + STMT_FETCH;
	b->job.nparams = 3;
	b->job.values = b->values;
	b->job.done = on_batch_done;
	hub.batch_running = b->ids != NULL && b->afters != NULL &&
		pool_submit(hub.pool, &b->job, config.request_timeout_ms, false, &p);
	if (!hub.batch_running)
	{
		/* No connection or a full queue: the safety poll tries again. */
		for (int k = 0; k < b->nconvs; k++)
		{
			b->convs[k]->fetching = false;
			conv_release(b->convs[k]);
		}
		free(b->ids);
		free(b->afters);
		b->ids = b->afters = NULL;
		b->nconvs = 0;
	}
out:
	if (ids)
		evbuffer_free(ids);
	if (afters)
		evbuffer_free(afters);
}

static void change_next(void);

static void
on_change_done(struct pool_job *job, PGresult *res, const struct problem *err)
{
	struct change *ch = job->arg;
	struct conv *c = conv_find(ch->cid);
	struct stream *next;

	if (err == NULL && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
		strtoll(PQgetvalue(res, 0, 1), NULL, 10) == ch->seq && c != NULL)
	{
		/* Only to streams that have the message; the others get it as it is now. */
		for (struct stream *s = c->streams; s != NULL; s = next)
		{
			next = s->next;
			if (s->cursor < ch->seq)
				continue;
			evbuffer_add_printf(hub.scratch, "event: %s\ndata: ",
								ch->deleted ? "message_deleted" : "message_edited");
			evbuffer_add(hub.scratch, PQgetvalue(res, 0, 0), (size_t) PQgetlength(res, 0, 0));
			evbuffer_add(hub.scratch, "\n\n", 2);
			(void) stream_write(s);
		}
	}
	hub.changes = ch->next;
	if (hub.changes == NULL)
		hub.changes_tail = NULL;
	hub.change_running = false;
	free(ch);
	if (err == NULL)
		change_next();
}

static void
change_fetch(const char *cid, const char *seq_s, bool deleted)
{
	struct change *ch;
	int64_t		seq = strtoll(seq_s, NULL, 10);

	if (seq <= 0 || conv_find(cid) == NULL)
		return;
	ch = calloc(1, sizeof(*ch));
	if (ch == NULL)
		return;
	snprintf(ch->cid, sizeof(ch->cid), "%s", cid);
	snprintf(ch->ids_s, sizeof(ch->ids_s), "{%s}", cid);
	snprintf(ch->after_s, sizeof(ch->after_s), "{%" PRId64 "}", seq - 1);
	ch->seq = seq;
	ch->deleted = deleted;
	ch->values[0] = ch->ids_s;
	ch->values[1] = ch->after_s;
	ch->values[2] = "1";
	ch->job.stmt = hub.first_stmt + STMT_FETCH;
	ch->job.nparams = 3;
	ch->job.values = ch->values;
	ch->job.done = on_change_done;
	ch->job.arg = ch;
	if (hub.changes_tail)
		hub.changes_tail->next = ch;
	else
		hub.changes = ch;
	hub.changes_tail = ch;
	change_next();
}

/*
 * One change fetch at a time, so that a stream sees edits and deletes in
 * the order they were notified (two jobs on two pool connections could
 * finish either way round).
 */
static void
change_next(void)
{
	struct problem p;

	while (!hub.change_running && hub.changes != NULL)
	{
		struct change *ch = hub.changes;

		hub.change_running = pool_submit(hub.pool, &ch->job, config.request_timeout_ms, false, &p);
		if (hub.change_running)
			return;
		hub.changes = ch->next;	/* no connection: this one is lost */
		if (hub.changes == NULL)
			hub.changes_tail = NULL;
		free(ch);
	}
}

/* A guest left the conversation: its streams end. */
static void
conv_removed(const char *cid, const char *guest)
{
	struct conv *c = conv_find(cid);
	struct stream *next;

	if (c == NULL)
		return;
	for (struct stream *s = c->streams; s != NULL; s = next)
	{
		next = s->next;
		if (strcmp(s->guest, guest) != 0)
			continue;
		log_info("events: %s left %s: stream ended", guest, cid);
		if (c->nstreams == 1)
		{
			/* c would be freed by stream_end(); nothing follows it. */
			stream_end(s);
			return;
		}
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
				struct conv *c = conv_find(cid);

				if (kind == 'm' && c != NULL)
					conv_kick(c);
				else if ((kind == 'e' || kind == 'd') && nf == 3)
					change_fetch(cid, arg, kind == 'd');
				else if (kind == 'r' && nf == 3)
					conv_removed(cid, arg);
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
			conv_kick(c);
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
events_head_seen(const char *cid, int64_t head)
{
	struct conv *c = conv_find(cid);

	if (c != NULL && head > conv_min_cursor(c))
		conv_kick(c);
}

/* A comment line keeps proxies from closing a quiet stream, and finds dead clients. */
static void
on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
	struct stream *next;

	(void) fd;
	(void) what;
	(void) arg;
	for (struct stream *s = hub.all; s != NULL; s = next)
	{
		next = s->all_next;
		evbuffer_add(hub.scratch, ":\n\n", 3);
		(void) stream_write(s);
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

void
events_stream_open(struct evhttp_request *req, const char *cid, const char *guest,
				   const char *after, const char *last_seq)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct stream *s = calloc(1, sizeof(*s));
	char		key[CID_LEN + 1];
	struct conv *c = s && notify_cid_canonical(cid, key) ? conv_get(key) : NULL;

	if (c == NULL)
	{
		free(s);
		evhttp_send_error(req, 500, NULL);
		return;
	}
	s->req = req;
	s->evcon = evcon;
	s->conv = c;
	s->cursor = strtoll(after ? after : last_seq, NULL, 10);
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

	s->chunked = sse_start(req, config.http_timeout);
	evhttp_connection_set_closecb(evcon, on_stream_close, s);

	/* A comment, so the client sees the stream is open; then catch up. */
	evbuffer_add(hub.scratch, ":ok\n\n", 5);
	if (stream_write(s))
		conv_kick(c);
}

int
events_stream_count(void)
{
	return hub.nstreams;
}

void
events_close_all(void)
{
	while (hub.all != NULL)
		stream_end(hub.all);
}

bool
events_setup(struct event_base *base, struct pool *pool, int first_stmt)
{
	static const struct listen_callbacks cb = {on_notify, on_listen_up, notify_flush_later};
	struct timeval hb_tv = {config.sse_heartbeat, 0};

	hub.base = base;
	hub.pool = pool;
	hub.first_stmt = first_stmt;
	hub.enabled = config.events;
	hub.scratch = evbuffer_new();
	hub.heartbeat_timer = event_new(base, -1, EV_PERSIST, on_heartbeat, NULL);
	if (hub.scratch == NULL || !notify_setup(base) ||
		hub.heartbeat_timer == NULL)
		return false;
	if (!hub.enabled)
		return true;
	if (!poll_setup(base, pool, first_stmt + STMT_HEADS))
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
	while (hub.changes != NULL)
	{
		struct change *ch = hub.changes;

		hub.changes = ch->next;
		free(ch);
	}
	if (hub.heartbeat_timer)
		event_free(hub.heartbeat_timer);
	notify_shutdown();
	if (hub.scratch)
		evbuffer_free(hub.scratch);
	memset(&hub, 0, sizeof(hub));
}
