/*
 * deliver.c
 *	  What the live-event hub sends: new messages fetched for every streamed
 *	  conversation that changed, edits and deletes, and the messages this
 *	  gateway posted itself.
 *
 * Fetches: conversations that changed wait in a list; one fetch at a time
 * reads, for up to BATCH_MAX of them in one round trip, the messages with
 * seq above the smallest cursor of their streams (parley.events_fetch), and
 * each stream gets the ones above its own cursor.
 *
 * A post relayed by this gateway needs no fetch at all: its reply is the
 * message as committed, with its seq.  A stream whose cursor is seq - 1 is
 * sent that reply at once; seqs are gapless, so nothing can be missing in
 * between.  Only a stream further behind (another gateway's post has not
 * arrived yet, or the stream still catches up) waits for a fetch.  The
 * notification "m <cid> <seq>" that comes back from our own pg_notify then
 * finds every cursor at seq and fetches nothing.  This keeps the database
 * work of live delivery near zero for posts made through the gateway that
 * holds the streams (measured in docs/benchmarks.md, #4).
 *
 * Edits and deletes: one fetch of that one message at a time, so a stream
 * sees them in the order they were notified; they go only to streams that
 * already have the message (the others will get it as it is now).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "events_hub.h"
#include "log.h"

#define FETCH_LIMIT		100		/* messages per conversation per fetch */
#define BATCH_MAX		100		/* conversations per fetch */

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
	struct change *next;		/* in dq.changes */
};

static struct
{
	struct pool *pool;
	int			fetch_stmt;
	struct conv *pending;		/* conversations waiting for a fetch */
	struct conv *pending_tail;
	struct batch batch;
	bool		batch_running;
	struct change *changes;		/* edits and deletes, in notification order */
	struct change *changes_tail;
	bool		change_running;
	struct evbuffer *scratch;	/* the event(s) for one stream */
	unsigned long long fetches;
	unsigned long long direct;
}			dq;

static void fetch_next(void);
static void change_next(void);

/* One message event, in the SSE framing: id line, event line, data line. */
static void
add_message_event(struct evbuffer *buf, int64_t seq, const char *json, size_t len)
{
	evbuffer_add_printf(buf, "id: %" PRId64 "\nevent: message\ndata: ", seq);
	evbuffer_add(buf, json, len);
	evbuffer_add(buf, "\n\n", 2);
}

/* ---- messages posted through this gateway --------------------------------- */

void
deliver_posted(const char *cid, int64_t seq, const char *json, size_t len)
{
	struct conv *c = hub_conv_find(cid);
	struct stream *next;
	bool		behind = false;

	if (c == NULL)
		return;
	for (struct stream *s = c->streams; s != NULL; s = next)
	{
		next = s->next;
		if (s->cursor >= seq)
			continue;
		if (s->cursor < seq - 1)
		{
			behind = true;		/* it needs what comes before: a fetch */
			continue;
		}
		add_message_event(dq.scratch, seq, json, len);
		s->cursor = seq;
		dq.direct++;
		(void) hub_stream_send(s, dq.scratch);
	}
	/* A stream that is behind was not sent anything, so c still exists. */
	if (behind)
		deliver_kick(c);
}

/* ---- fetches -------------------------------------------------------------- */

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
			add_message_event(dq.scratch, seq, PQgetvalue(res, i, 0),
							  (size_t) PQgetlength(res, i, 0));
			s->cursor = seq;
		}
		(void) hub_stream_send(s, dq.scratch);
	}
}

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
	if (dq.pending_tail)
		dq.pending_tail->pnext = c;
	else
		dq.pending = c;
	dq.pending_tail = c;
}

void
deliver_kick(struct conv *c)
{
	conv_queue(c);
	fetch_next();
}

static void
batch_clear(struct batch *b)
{
	free(b->ids);
	free(b->afters);
	b->ids = b->afters = NULL;
	b->nconvs = 0;
}

static void
on_batch_done(struct pool_job *job, PGresult *res, const struct problem *err)
{
	struct batch *b = &dq.batch;
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

	dq.batch_running = false;
	for (int k = 0; k < b->nconvs; k++)
	{
		struct conv *c = b->convs[k];

		c->fetching = false;
		if (c->nstreams == 0)
			hub_conv_release(c);
		else if (c->dirty || err != NULL)
		{
			c->dirty = false;
			if (err == NULL)
				conv_queue(c);
		}
	}
	batch_clear(b);
	/* After a failure (also at shutdown, when the pool is going) the safety poll resumes. */
	if (err == NULL)
		fetch_next();
}

/* Start a fetch for the waiting conversations unless one is running. */
static void
fetch_next(void)
{
	struct batch *b = &dq.batch;
	struct evbuffer *ids;
	struct evbuffer *afters;
	struct problem p;

	if (dq.batch_running || dq.pending == NULL)
		return;
	ids = evbuffer_new();
	afters = evbuffer_new();
	if (ids == NULL || afters == NULL)
		goto out;
	b->nconvs = 0;
	while (dq.pending != NULL && b->nconvs < BATCH_MAX)
	{
		struct conv *c = dq.pending;

		dq.pending = c->pnext;
		if (dq.pending == NULL)
			dq.pending_tail = NULL;
		c->queued = false;
		if (c->nstreams == 0)
		{
			hub_conv_release(c);
			continue;
		}
		c->fetching = true;
		c->dirty = false;
		c->fetch_from = hub_min_cursor(c);
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
	b->job.stmt = dq.fetch_stmt;
	b->job.nparams = 3;
	b->job.values = b->values;
	b->job.done = on_batch_done;
	b->job.read_only = true;
	dq.batch_running = b->ids != NULL && b->afters != NULL &&
		pool_submit(dq.pool, &b->job, config.request_timeout_ms, false, &p);
	dq.fetches += dq.batch_running;
	if (!dq.batch_running)
	{
		/* No connection or a full queue: the safety poll tries again. */
		for (int k = 0; k < b->nconvs; k++)
		{
			b->convs[k]->fetching = false;
			hub_conv_release(b->convs[k]);
		}
		batch_clear(b);
	}
out:
	if (ids)
		evbuffer_free(ids);
	if (afters)
		evbuffer_free(afters);
}

/* ---- edits and deletes ---------------------------------------------------- */

static void
on_change_done(struct pool_job *job, PGresult *res, const struct problem *err)
{
	struct change *ch = job->arg;
	struct conv *c = hub_conv_find(ch->cid);
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
			evbuffer_add_printf(dq.scratch, "event: %s\ndata: ",
								ch->deleted ? "message_deleted" : "message_edited");
			evbuffer_add(dq.scratch, PQgetvalue(res, 0, 0), (size_t) PQgetlength(res, 0, 0));
			evbuffer_add(dq.scratch, "\n\n", 2);
			(void) hub_stream_send(s, dq.scratch);
		}
	}
	dq.changes = ch->next;
	if (dq.changes == NULL)
		dq.changes_tail = NULL;
	dq.change_running = false;
	free(ch);
	if (err == NULL)
		change_next();
}

void
deliver_change(const char *cid, int64_t seq, bool deleted)
{
	struct change *ch;

	if (seq <= 0 || hub_conv_find(cid) == NULL)
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
	ch->job.stmt = dq.fetch_stmt;
	ch->job.nparams = 3;
	ch->job.values = ch->values;
	ch->job.done = on_change_done;
	ch->job.read_only = true;
	ch->job.arg = ch;
	if (dq.changes_tail)
		dq.changes_tail->next = ch;
	else
		dq.changes = ch;
	dq.changes_tail = ch;
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

	while (!dq.change_running && dq.changes != NULL)
	{
		struct change *ch = dq.changes;

		dq.change_running = pool_submit(dq.pool, &ch->job, config.request_timeout_ms, false, &p);
		dq.fetches += dq.change_running;
		if (dq.change_running)
			return;
		dq.changes = ch->next;	/* no connection: this one is lost */
		if (dq.changes == NULL)
			dq.changes_tail = NULL;
		free(ch);
	}
}

/* ---- setup ---------------------------------------------------------------- */

bool
deliver_setup(struct pool *pool, int fetch_stmt)
{
	dq.pool = pool;
	dq.fetch_stmt = fetch_stmt;
	dq.scratch = evbuffer_new();
	return dq.scratch != NULL;
}

void
deliver_get_stats(struct events_stats *st)
{
	st->fetches = dq.fetches;
	st->direct = dq.direct;
}

void
deliver_shutdown(void)
{
	while (dq.changes != NULL)
	{
		struct change *ch = dq.changes;

		dq.changes = ch->next;
		free(ch);
	}
	if (dq.scratch)
		evbuffer_free(dq.scratch);
	memset(&dq, 0, sizeof(dq));
}
