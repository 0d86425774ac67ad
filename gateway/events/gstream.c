/*
 * gstream.c
 *	  Guest streams (gstream.h).
 *
 * What a guest stream is sent, and when it is lossless, is the database's
 * business: parley.events_guest_fetch(G, cursor) answers every event of G
 * after the cursor, each with the id to resume from, and the cursor after
 * them (docs/gateway.md, "One stream per guest", has the argument).  The
 * gateway keeps, per stream, only that cursor (opaque text) and the ids of
 * G's conversations (for routing), and fetches when something may have
 * happened to G:
 *
 *	 - a notification names one of G's conversations (a post, a join or
 *	   leave, a change) or G itself (G was added, removed, or created a
 *	   conversation with others): gstream_kick_conversation/_guest();
 *	 - a post relayed by this gateway (the same, without the round trip of
 *	   the notification);
 *	 - the safety poll (every POLL_MS), for writes made straight in SQL and
 *	   notifications lost with a crashed gateway.
 *
 * Kicked streams wait in one queue; a fetch takes up to BATCH_MAX of them in
 * one round trip (parley.events_guests_fetch), so a post to a group of 100
 * whose members all stream here costs one or two round trips, not 100.  A
 * kick while a stream's fetch runs marks it to fetch once more after, so a
 * commit after the fetch's snapshot is never left behind.
 *
 * A stream whose fetch said "more" (a page of a long replay) is fetched
 * again once its client has read what it was sent (the pacing of
 * deliver.c's replays), so a slow reader is not dropped mid-replay.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "gstream.h"
#include "hub.h"
#include "log.h"
#include "sse.h"
#include "util.h"

#define BATCH_MAX		100		/* streams per fetch */
#define FETCH_LIMIT		200		/* events per stream per fetch */
#define POLL_MS			2000	/* the safety poll of guest streams */
#define PACE_MS			10		/* how often paced replays are looked at */
#define RETRY_MIN_MS	100
#define RETRY_MAX_MS	2000
#define GBUCKETS		4096
#define CBUCKETS		16384

struct gstream
{
	struct events_stream *s;	/* NULL once the hub freed it */
	char		guest[HUB_GUEST_MAX + 1];
	char	   *cursor;			/* NULL until the subscribe check answers */
	char	  (*cids)[HUB_CID_LEN + 1];	/* G's conversations, sorted */
	int			ncids;
	bool		queued;			/* in the fetch queue */
	bool		running;		/* in the running fetch */
	bool		again;			/* kicked while running */
	bool		paced;			/* "more", waits for its client to read */
	bool		dead;			/* the hub freed s: free once no job holds it */
	bool		sub_running;
	struct pool_job sub_job;
	const char *sub_values[2];
	char	   *after;
	struct gstream *qnext;		/* in the fetch queue */
	struct gstream *gnext;		/* in the guest hash chain */
	struct gstream *all_next;
	struct gstream *all_prev;
};

/* The guest streams in one conversation. */
struct cidx
{
	char		cid[HUB_CID_LEN + 1];
	struct gstream **v;
	int			n;
	int			cap;
	struct cidx *next;
};

struct batch
{
	struct pool_job job;
	const char *values[3];
	char	   *guests;
	char	   *cursors;
	char		limit_s[8];
	int			n;
	struct gstream *gs[BATCH_MAX];
};

/* A changed message to fetch once for the guest streams of its conversation. */
struct change
{
	struct pool_job job;
	const char *values[3];
	char		ids[HUB_CID_LEN + 3];
	char		afters[24];
	char		cid[HUB_CID_LEN + 1];
	bool		deleted;
};

static struct
{
	struct pool *pool;
	const struct pool_stmt *sub_stmt;
	const struct pool_stmt *fetch_stmt;
	const struct pool_stmt *message_stmt;
	int			retry_ms;
	struct gstream *gbuckets[GBUCKETS];
	struct cidx *cbuckets[CBUCKETS];
	struct gstream *all;
	struct gstream *qhead;
	struct gstream *qtail;
	struct batch batch;
	bool		batch_running;
	bool		batch_ending;	/* on_fetched() runs: kicks only queue */
	int			backoff_ms;
	struct event *retry_timer;	/* a failed fetch: the queue waits */
	struct event *poll_timer;
	struct event *pace_timer;
	struct event *sub_timer;	/* subscribe checks waiting for the database */
	struct evbuffer *scratch;
	struct evbuffer *out;
	int			npaced;
}			gq;

static void fetch_next(void);
static void sub_submit(struct gstream *gs);

static unsigned
hash_str(const char *k)
{
	unsigned	h = 2166136261u;

	for (; *k; k++)
		h = (h ^ (unsigned char) *k) * 16777619u;
	return h;
}

/* ---- the indexes ---------------------------------------------------------- */

static void
guest_link(struct gstream *gs)
{
	unsigned	b = hash_str(gs->guest) % GBUCKETS;

	gs->gnext = gq.gbuckets[b];
	gq.gbuckets[b] = gs;
}

static void
guest_unlink(struct gstream *gs)
{
	struct gstream **pp = &gq.gbuckets[hash_str(gs->guest) % GBUCKETS];

	for (; *pp != NULL; pp = &(*pp)->gnext)
	{
		if (*pp == gs)
		{
			*pp = gs->gnext;
			return;
		}
	}
}

static struct cidx *
cidx_find(const char *cid, bool create)
{
	struct cidx **pp = &gq.cbuckets[hash_str(cid) % CBUCKETS];
	struct cidx *x;

	for (x = *pp; x != NULL; x = x->next)
		if (strcmp(x->cid, cid) == 0)
			return x;
	if (!create || (x = calloc(1, sizeof(*x))) == NULL)
		return NULL;
	snprintf(x->cid, sizeof(x->cid), "%s", cid);
	x->next = *pp;
	*pp = x;
	return x;
}

static void
cidx_add(const char *cid, struct gstream *gs)
{
	struct cidx *x = cidx_find(cid, true);

	if (x == NULL)
		return;					/* out of memory: the poll still covers it */
	if (x->n == x->cap)
	{
		int			cap = x->cap ? x->cap * 2 : 4;
		struct gstream **v = realloc(x->v, (size_t) cap * sizeof(*v));

		if (v == NULL)
			return;
		x->v = v;
		x->cap = cap;
	}
	x->v[x->n++] = gs;
}

static void
cidx_remove(const char *cid, struct gstream *gs)
{
	struct cidx **pp = &gq.cbuckets[hash_str(cid) % CBUCKETS];

	for (; *pp != NULL; pp = &(*pp)->next)
	{
		struct cidx *x = *pp;

		if (strcmp(x->cid, cid) != 0)
			continue;
		for (int i = 0; i < x->n; i++)
		{
			if (x->v[i] == gs)
			{
				x->v[i] = x->v[--x->n];
				break;
			}
		}
		if (x->n == 0)
		{
			*pp = x->next;
			free(x->v);
			free(x);
		}
		return;
	}
}

static int
cid_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* gs's conversations are now the JSON array conv (ids): move its index entries. */
static void
set_conversations(struct gstream *gs, const cJSON *conv)
{
	int			n = cJSON_IsArray(conv) ? cJSON_GetArraySize(conv) : 0;
	char		(*cids)[HUB_CID_LEN + 1] = n > 0 ? calloc((size_t) n, sizeof(*cids)) : NULL;
	int			k = 0;
	const cJSON *e;

	if (n > 0 && cids == NULL)
		return;
	cJSON_ArrayForEach(e, conv)
	{
		if (cJSON_IsString(e) && hub_cid_canonical(e->valuestring, cids[k]))
			k++;
	}
	qsort(cids, (size_t) k, sizeof(*cids), cid_cmp);
	/* Unchanged (the usual case): keep it. */
	if (k == gs->ncids && (k == 0 || memcmp(cids, gs->cids, (size_t) k * sizeof(*cids)) == 0))
	{
		free(cids);
		return;
	}
	for (int i = 0; i < gs->ncids; i++)
		cidx_remove(gs->cids[i], gs);
	free(gs->cids);
	gs->cids = cids;
	gs->ncids = k;
	for (int i = 0; i < k; i++)
		cidx_add(cids[i], gs);
}

/* More conversations of gs (another shard's): merged into its sorted list. */
static void
add_conversations(struct gstream *gs, const cJSON *conv)
{
	int			n = cJSON_IsArray(conv) ? cJSON_GetArraySize(conv) : 0;
	cJSON	   *all;
	const cJSON *e;

	if (n == 0)
		return;
	all = cJSON_CreateArray();
	if (all == NULL)
		return;
	for (int i = 0; i < gs->ncids; i++)
		cJSON_AddItemToArray(all, cJSON_CreateString(gs->cids[i]));
	cJSON_ArrayForEach(e, conv)
	{
		if (cJSON_IsString(e))
			cJSON_AddItemToArray(all, cJSON_CreateString(e->valuestring));
	}
	set_conversations(gs, all);
	cJSON_Delete(all);
}

static bool
in_conversation(const struct gstream *gs, const char *cid)
{
	return gs->ncids > 0 &&
		bsearch(cid, gs->cids, (size_t) gs->ncids, sizeof(*gs->cids), cid_cmp) != NULL;
}

/* ---- lifetimes ------------------------------------------------------------ */

static void
gs_free(struct gstream *gs)
{
	free(gs->cursor);
	free(gs->after);
	free(gs->cids);
	free(gs);
}

/* Out of every index: nothing routes to gs any more. */
static void
gs_unlink(struct gstream *gs)
{
	for (int i = 0; i < gs->ncids; i++)
		cidx_remove(gs->cids[i], gs);
	gs->ncids = 0;
	guest_unlink(gs);
	if (gs->all_prev)
		gs->all_prev->all_next = gs->all_next;
	else
		gq.all = gs->all_next;
	if (gs->all_next)
		gs->all_next->all_prev = gs->all_prev;
	gs->all_next = gs->all_prev = NULL;
	if (gs->paced)
		gq.npaced--;
	gs->paced = false;
}

/* The hub freed gs's stream (the client went, a drop, an end). */
static void
on_gone(struct gstream *gs)
{
	gs->s = NULL;
	gs->dead = true;
	gs_unlink(gs);
	if (!gs->queued && !gs->running && !gs->sub_running)
		gs_free(gs);
}

/* A job let go of gs: free it if it is dead and nothing else holds it. */
static void
release(struct gstream *gs)
{
	if (gs->dead && !gs->queued && !gs->running && !gs->sub_running)
		gs_free(gs);
}

/* ---- the fetch queue ------------------------------------------------------ */

static void
kick(struct gstream *gs)
{
	if (gs->dead || gs->cursor == NULL)
		return;
	if (gs->running)
	{
		gs->again = true;
		return;
	}
	if (gs->queued)
		return;
	gs->queued = true;
	gs->qnext = NULL;
	if (gq.qtail)
		gq.qtail->qnext = gs;
	else
		gq.qhead = gs;
	gq.qtail = gs;
	if (!gq.batch_ending)
		fetch_next();
}

void
gstream_kick_guest(const char *guest)
{
	for (struct gstream *gs = gq.gbuckets[hash_str(guest) % GBUCKETS]; gs != NULL; gs = gs->gnext)
		if (strcmp(gs->guest, guest) == 0)
			kick(gs);
}

void
gstream_kick_conversation(const char *cid)
{
	struct cidx *x = cidx_find(cid, false);

	/* kick() does not change the index */
	for (int i = 0; x != NULL && i < x->n; i++)
		kick(x->v[i]);
}

void
gstream_kick_all(void)
{
	for (struct gstream *gs = gq.all; gs != NULL; gs = gs->all_next)
		kick(gs);
}

static void
on_poll(evutil_socket_t fd, short what, void *arg)
{
	(void) fd;
	(void) what;
	(void) arg;
	gstream_kick_all();
}

static void
on_pace(evutil_socket_t fd, short what, void *arg)
{
	struct timeval tv = util_timeval_ms(PACE_MS);

	(void) fd;
	(void) what;
	(void) arg;
	for (struct gstream *gs = gq.all; gs != NULL && gq.npaced > 0; gs = gs->all_next)
	{
		if (!gs->paced || hub_stream_queued(gs->s) > 0)
			continue;
		gs->paced = false;
		gq.npaced--;
		kick(gs);
	}
	if (gq.npaced > 0)
		evtimer_add(gq.pace_timer, &tv);
}

static void
pace(struct gstream *gs)
{
	struct timeval tv = util_timeval_ms(PACE_MS);

	if (gs->paced)
		return;
	gs->paced = true;
	gq.npaced++;
	if (!evtimer_pending(gq.pace_timer, NULL))
		evtimer_add(gq.pace_timer, &tv);
}

/* Send what gq.out holds for gs; false when gs was dropped for it. */
static bool
flush_to(struct gstream *gs)
{
	if (evbuffer_get_length(gq.out) == 0)
		return true;
	if (gs->dead)
	{
		evbuffer_drain(gq.out, evbuffer_get_length(gq.out));
		return false;
	}
	return hub_stream_send(gs->s, gq.out);
}

/* The identity of a cursor part ("g1~<identity>~..."): its span in part. */
static const char *
part_identity(const char *part, size_t *len)
{
	const char *a = strchr(part, '~');
	const char *b = a ? strchr(a + 1, '~') : NULL;

	if (b == NULL)
		return NULL;
	*len = (size_t) (b - a - 1);
	return a + 1;
}

/*
 * Put part (one database's cursor) into gs->cursor, which holds one part
 * per database (shard) separated by '|': replace the part of the same
 * database, or add it.  Through parley_proxy each shard answers only its
 * own part, so an event's id is the stream's cursor with that shard's
 * part moved past the event.  False when out of memory (unchanged).
 */
static bool
cursor_put(struct gstream *gs, const char *part)
{
	size_t		ilen = 0;
	const char *id = part_identity(part, &ilen);
	const char *cur = gs->cursor ? gs->cursor : "";
	struct evbuffer *b = evbuffer_new();
	bool		put = false;
	char	   *out;
	size_t		len;

	if (b == NULL)
		return false;
	while (*cur != '\0')
	{
		const char *end = strchr(cur, '|');
		size_t		plen = end ? (size_t) (end - cur) : strlen(cur);
		size_t		clen = 0;
		const char *cid = part_identity(cur, &clen);
		bool		same = id != NULL && cid != NULL && clen == ilen &&
			cid < cur + plen && memcmp(cid, id, ilen) == 0;

		if (evbuffer_get_length(b) > 0)
			evbuffer_add(b, "|", 1);
		if (same)
		{
			evbuffer_add(b, part, strlen(part));
			put = true;
		}
		else
			evbuffer_add(b, cur, plen);
		cur += plen + (end ? 1 : 0);
	}
	if (!put)
	{
		if (evbuffer_get_length(b) > 0)
			evbuffer_add(b, "|", 1);
		evbuffer_add(b, part, strlen(part));
	}
	len = evbuffer_get_length(b);
	out = malloc(len + 1);
	if (out != NULL)
	{
		evbuffer_remove(b, out, len);
		out[len] = '\0';
		free(gs->cursor);
		gs->cursor = out;
	}
	evbuffer_free(b);
	return out != NULL;
}

static void stream_start(struct gstream *gs);

/* One database's final row: its part of the cursor, "more", its conversations. */
static void
stream_done(struct gstream *gs, const char *cursor, const char *data, bool first)
{
	cJSON	   *d = cJSON_Parse(data);
	bool		more = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "more"));

	(void) cursor_put(gs, cursor);
	if (!gs->dead)
	{
		/* through the proxy every shard answers its own conversations */
		if (first)
			set_conversations(gs, cJSON_GetObjectItemCaseSensitive(d, "conversations"));
		else
			add_conversations(gs, cJSON_GetObjectItemCaseSensitive(d, "conversations"));
		if (more)
		{
			if (hub_stream_queued(gs->s) > 0)
				pace(gs);
			else
				gs->again = true;
		}
	}
	cJSON_Delete(d);
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void) fd;
	(void) what;
	(void) arg;
	fetch_next();
}

static void
on_fetched(struct pool_job *job, PGresult *res, const struct problem *err)
{
	struct batch *b = &gq.batch;
	bool		ok = err == NULL && PQresultStatus(res) == PGRES_TUPLES_OK;

	(void) job;
	gq.batch_ending = true;
	if (ok)
	{
		int			nrows = PQntuples(res);
		int			cur = -1;
		int			finals = 0;
		bool		reset_sent = false;

		gq.backoff_ms = 0;
		log_debug("events: guest stream fetch: %d rows", nrows);
		for (int r = 0; r < nrows; r++)
		{
			int			n = atoi(PQgetvalue(res, r, 0)) - 1;
			struct gstream *gs;

			if (n < 0 || n >= b->n)
				continue;
			gs = b->gs[n];
			if (!gs->dead && !gs->s->started)
				stream_start(gs);	/* its first fetch: "now" is fixed */
			if (n != cur)
			{
				(void) flush_to(b->gs[cur >= 0 ? cur : n]);
				cur = n;
				finals = 0;
				reset_sent = false;
			}
			if (PQgetisnull(res, r, 1))
			{
				(void) flush_to(gs);
				stream_done(gs, PQgetvalue(res, r, 2), PQgetvalue(res, r, 3), finals++ == 0);
				continue;
			}
			if (gs->dead)
				continue;
			if (PQgetisnull(res, r, 2))
			{
				/* one reset, however many shards could not resume */
				if (strcmp(PQgetvalue(res, r, 1), "reset") == 0 && reset_sent)
					continue;
				reset_sent |= strcmp(PQgetvalue(res, r, 1), "reset") == 0;
				sse_event(gq.out, PQgetvalue(res, r, 1), PQgetvalue(res, r, 3),
						  (size_t) PQgetlength(res, r, 3));
			}
			else if (cursor_put(gs, PQgetvalue(res, r, 2)))
				sse_event_id(gq.out, gs->cursor, PQgetvalue(res, r, 1),
							 PQgetvalue(res, r, 3), (size_t) PQgetlength(res, r, 3));
		}
		evbuffer_drain(gq.out, evbuffer_get_length(gq.out));
	}
	else
	{
		struct timeval tv;

		if (err != NULL)
			log_info("events: guest stream fetch failed: %s", err->detail);
		else
			log_error("events: guest stream fetch: %s", PQresultErrorMessage(res));
		gq.backoff_ms = util_backoff_next(gq.backoff_ms, RETRY_MIN_MS, RETRY_MAX_MS);
		tv = util_timeval_ms(gq.backoff_ms);
		evtimer_add(gq.retry_timer, &tv);
	}
	for (int i = 0; i < b->n; i++)
	{
		struct gstream *gs = b->gs[i];

		gs->running = false;
		if (!ok)
			gs->again = true;	/* the cursor did not move: fetch it again */
		if (gs->again && !gs->dead)
		{
			gs->again = false;
			kick(gs);
		}
		release(gs);
	}
	free(b->guests);
	free(b->cursors);
	b->guests = b->cursors = NULL;
	b->n = 0;
	gq.batch_ending = false;
	gq.batch_running = false;
	fetch_next();
}

static void
fetch_next(void)
{
	struct batch *b = &gq.batch;
	struct evbuffer *gb;
	struct evbuffer *cb;
	struct problem p;

	if (gq.batch_running || gq.qhead == NULL || evtimer_pending(gq.retry_timer, NULL))
		return;
	gb = evbuffer_new();
	cb = evbuffer_new();
	if (gb == NULL || cb == NULL)
	{
		if (gb)
			evbuffer_free(gb);
		if (cb)
			evbuffer_free(cb);
		return;
	}
	util_array_begin(gb);
	util_array_begin(cb);
	b->n = 0;
	while (gq.qhead != NULL && b->n < BATCH_MAX)
	{
		struct gstream *gs = gq.qhead;

		gq.qhead = gs->qnext;
		if (gq.qhead == NULL)
			gq.qtail = NULL;
		gs->queued = false;
		if (gs->dead)
		{
			release(gs);
			continue;
		}
		gs->running = true;
		b->gs[b->n++] = gs;
		util_array_add(gb, gs->guest, true);
		util_array_add(cb, gs->cursor, true);
	}
	b->guests = util_array_end(gb);
	b->cursors = util_array_end(cb);
	evbuffer_free(gb);
	evbuffer_free(cb);
	if (b->n == 0)
	{
		free(b->guests);
		free(b->cursors);
		b->guests = b->cursors = NULL;
		return;
	}
	snprintf(b->limit_s, sizeof(b->limit_s), "%d", FETCH_LIMIT);
	b->values[0] = b->guests;
	b->values[1] = b->cursors;
	b->values[2] = b->limit_s;
	log_debug("events: guest stream fetch of %d streams", b->n);
	pool_job_init(&b->job, gq.fetch_stmt, 3, b->values, true, on_fetched, b);
	gq.batch_running = true;
	if (!pool_submit(gq.pool, &b->job, config.request_timeout_ms, false, &p))
		on_fetched(&b->job, NULL, &p);
}

/* ---- the subscribe check -------------------------------------------------- */

static void
stream_start(struct gstream *gs)
{
	hub_stream_start(gs->s);
	sse_comment(gq.scratch, "ok");
	sse_retry(gq.scratch, gq.retry_ms);
	(void) hub_stream_send(gs->s, gq.scratch);
}

static void
on_sub_retry(evutil_socket_t fd, short what, void *arg)
{
	(void) fd;
	(void) what;
	(void) arg;
	for (struct gstream *gs = gq.all; gs != NULL; gs = gs->all_next)
		if (gs->cursor == NULL && !gs->sub_running)
			sub_submit(gs);
}

static void
sub_wait(struct gstream *gs)
{
	struct timeval tv = util_timeval_ms(1000);

	if (!gs->s->started)
		stream_start(gs);		/* may drop gs: its own caller checks */
	if (!evtimer_pending(gq.sub_timer, NULL))
		evtimer_add(gq.sub_timer, &tv);
}

static void
on_sub_done(struct pool_job *job, PGresult *res, const struct problem *err)
{
	struct gstream *gs = job->arg;
	struct problem p;

	gs->sub_running = false;
	if (gs->dead)
	{
		release(gs);
		return;
	}
	if (err != NULL)
	{
		log_info("events: guest stream of %s waits for the database: %s", gs->guest, err->detail);
		sub_wait(gs);
		return;
	}
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
	{
		gs->cursor = strdup(PQgetvalue(res, 0, 0));
		if (gs->cursor == NULL)
		{
			hub_stream_end(gs->s);
			return;
		}
		/*
		 * Live from now (''): the head goes out once the first fetch has
		 * fixed "now", so whatever a client does after it sees the 200
		 * reaches its stream.  A cursor: at once.
		 */
		if (!gs->s->started && gs->cursor[0] != '\0')
			stream_start(gs);
		if (!gs->dead)
			kick(gs);
		return;
	}
	if (PQresultStatus(res) == PGRES_FATAL_ERROR)
	{
		problem_from_sqlstate(&p, PQresultErrorField(res, PG_DIAG_SQLSTATE),
							  PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY),
							  PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL));
		if (p.status == 503)
		{
			sub_wait(gs);
			return;
		}
	}
	else
		problem_set(&p, 500, CODE_INTERNAL, "internal error; the gateway log has the details");
	if (gs->s->started)
		hub_stream_end(gs->s);
	else
		hub_stream_refuse(gs->s, &p);
}

static void
sub_submit(struct gstream *gs)
{
	struct problem p;

	gs->sub_values[0] = gs->guest;
	gs->sub_values[1] = gs->after;
	pool_job_init(&gs->sub_job, gq.sub_stmt, 2, gs->sub_values, true, on_sub_done, gs);
	gs->sub_running = true;
	if (!pool_submit(gq.pool, &gs->sub_job, config.request_timeout_ms, false, &p))
	{
		gs->sub_running = false;
		sub_wait(gs);
	}
}

struct events_stream *
gstream_open(const struct events_sink_ops *ops, void *conn, const char *guest, const char *after)
{
	struct events_stream *s = hub_stream_new(ops, conn, guest);
	struct gstream *gs = s != NULL ? calloc(1, sizeof(*gs)) : NULL;
	struct problem p;

	problem_set(&p, 500, CODE_INTERNAL, "out of memory");
	if (gs == NULL || (after != NULL && (gs->after = strdup(after)) == NULL))
	{
		free(gs);
		if (s != NULL)
			hub_stream_refuse(s, &p);
		else
			ops->refuse(conn, &p);
		return NULL;
	}
	gs->s = s;
	s->gs = gs;
	snprintf(gs->guest, sizeof(gs->guest), "%s", guest);
	guest_link(gs);
	gs->all_next = gq.all;
	if (gq.all)
		gq.all->all_prev = gs;
	gq.all = gs;
	sub_submit(gs);
	/* the stream may have been refused or dropped meanwhile */
	return gs->dead ? NULL : s;
}

/* ---- events that are not fetched ------------------------------------------ */

int
gstream_send_guest(const char *guest, struct evbuffer *buf)
{
	size_t		len = evbuffer_get_length(buf);
	const char *data = (const char *) evbuffer_pullup(buf, -1);
	struct gstream *next;
	int			n = 0;

	for (struct gstream *gs = gq.gbuckets[hash_str(guest) % GBUCKETS]; gs != NULL; gs = next)
	{
		next = gs->gnext;
		if (gs->dead || gs->cursor == NULL || strcmp(gs->guest, guest) != 0)
			continue;
		evbuffer_add(gq.out, data, len);
		n += flush_to(gs);
	}
	evbuffer_drain(buf, len);
	return n;
}

int
gstream_send_conversation(const char *cid, const char *skip_guest, struct evbuffer *buf)
{
	size_t		len = evbuffer_get_length(buf);
	const char *data = (const char *) evbuffer_pullup(buf, -1);
	struct cidx *x = cidx_find(cid, false);
	struct gstream **v;
	int			nv;
	int			n = 0;

	if (x == NULL || x->n == 0)
	{
		evbuffer_drain(buf, len);
		return 0;
	}
	/* a drop changes the index: send from a copy */
	nv = x->n;
	v = malloc((size_t) nv * sizeof(*v));
	if (v == NULL)
	{
		evbuffer_drain(buf, len);
		return 0;
	}
	memcpy(v, x->v, (size_t) nv * sizeof(*v));
	for (int i = 0; i < nv; i++)
	{
		struct gstream *gs = v[i];

		if (gs->dead || (skip_guest != NULL && strcmp(gs->guest, skip_guest) == 0))
			continue;
		evbuffer_add(gq.out, data, len);
		n += flush_to(gs);
	}
	free(v);
	evbuffer_drain(buf, len);
	return n;
}

int
gstream_in_conversation(const char *guest, const char *cid)
{
	int			r = -1;

	for (struct gstream *gs = gq.gbuckets[hash_str(guest) % GBUCKETS]; gs != NULL; gs = gs->gnext)
	{
		if (gs->dead || gs->cursor == NULL || strcmp(gs->guest, guest) != 0)
			continue;
		if (in_conversation(gs, cid))
			return 1;
		r = 0;
	}
	return r;
}

static void
on_change_fetched(struct pool_job *job, PGresult *res, const struct problem *err)
{
	struct change *ch = job->arg;

	if (err == NULL && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
	{
		sse_event(gq.scratch, ch->deleted ? "message_deleted" : "message_edited",
				  PQgetvalue(res, 0, 0), (size_t) PQgetlength(res, 0, 0));
		(void) gstream_send_conversation(ch->cid, NULL, gq.scratch);
	}
	free(ch);
}

void
gstream_changed(const char *cid, const char *seq, bool deleted)
{
	struct cidx *x = cidx_find(cid, false);
	struct change *ch;
	struct problem p;
	long long	s = strtoll(seq, NULL, 10);

	if (x == NULL || x->n == 0 || s < 1 || (ch = calloc(1, sizeof(*ch))) == NULL)
		return;
	snprintf(ch->cid, sizeof(ch->cid), "%s", cid);
	snprintf(ch->ids, sizeof(ch->ids), "{%s}", cid);
	snprintf(ch->afters, sizeof(ch->afters), "{%lld}", s - 1);
	ch->deleted = deleted;
	ch->values[0] = ch->ids;
	ch->values[1] = ch->afters;
	ch->values[2] = "1";
	pool_job_init(&ch->job, gq.message_stmt, 3, ch->values, true, on_change_fetched, ch);
	if (!pool_submit(gq.pool, &ch->job, config.request_timeout_ms, false, &p))
		free(ch);
}

/* ---- setup ---------------------------------------------------------------- */

bool
gstream_setup(struct event_base *base, struct pool *pool, const struct pool_stmt *subscribe,
			  const struct pool_stmt *fetch, const struct pool_stmt *message, int retry_ms)
{
	struct timeval tv = util_timeval_ms(POLL_MS);

	gq.pool = pool;
	gq.sub_stmt = subscribe;
	gq.fetch_stmt = fetch;
	gq.message_stmt = message;
	gq.retry_ms = retry_ms;
	gq.scratch = evbuffer_new();
	gq.out = evbuffer_new();
	gq.retry_timer = evtimer_new(base, on_retry, NULL);
	gq.poll_timer = event_new(base, -1, EV_PERSIST, on_poll, NULL);
	gq.pace_timer = evtimer_new(base, on_pace, NULL);
	gq.sub_timer = evtimer_new(base, on_sub_retry, NULL);
	if (gq.scratch == NULL || gq.out == NULL || gq.retry_timer == NULL ||
		gq.poll_timer == NULL || gq.pace_timer == NULL || gq.sub_timer == NULL)
		return false;
	hub_set_gstream_gone(on_gone);
	if (config.events)
		evtimer_add(gq.poll_timer, &tv);
	return true;
}

void
gstream_shutdown(void)
{
	/* hub_shutdown() ended the streams; what jobs held is freed with the pool */
	if (gq.retry_timer)
		event_free(gq.retry_timer);
	if (gq.poll_timer)
		event_free(gq.poll_timer);
	if (gq.pace_timer)
		event_free(gq.pace_timer);
	if (gq.sub_timer)
		event_free(gq.sub_timer);
	if (gq.scratch)
		evbuffer_free(gq.scratch);
	if (gq.out)
		evbuffer_free(gq.out);
	for (int b = 0; b < CBUCKETS; b++)
	{
		while (gq.cbuckets[b] != NULL)
		{
			struct cidx *x = gq.cbuckets[b];

			gq.cbuckets[b] = x->next;
			free(x->v);
			free(x);
		}
	}
	memset(&gq, 0, sizeof(gq));
}
