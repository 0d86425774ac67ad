/*
 * deliver.c
 *	  What the live-event hub sends: new messages fetched for every streamed
 *	  conversation that has new ones, and the messages this gateway posted
 *	  itself.
 *
 * Fetches: conversations that changed wait in a list; one fetch at a time
 * reads, for up to BATCH_MAX of them in one round trip, the messages with
 * seq above the smallest cursor of their streams (parley.events_fetch), and
 * each stream gets the ones above its own cursor.
 *
 * A stream that resumed from far back (more than a page below the highest
 * seq known) must not hold back the others: its conversation then has two
 * entries in the fetch, one from the smallest cursor of the streams near
 * the head and one page for the streams behind, so live delivery goes on
 * while the replay advances a page per round trip.
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
 * A replay is paced by its client: a stream behind gets its next page only
 * once its sink has written everything it was sent (hub_stream_pause()).
 * Without that a replay of 30,000 messages went out at the speed of the
 * database, and a client that read more slowly (a loaded machine, a slow
 * link) passed the slow-consumer bound mid-replay and was dropped.
 *
 * A fetch that fails (a timeout, a lost connection, a full queue) puts its
 * conversations back and the list is tried again after a backoff, so a
 * replay does not wait for the next safety poll to go on.
 *
 * Edits, deletes and removals are changes.c's.  A message fetch of a
 * conversation waits while a change fetch of it runs (and the other way
 * round), so that each reads after the other (hub.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "config.h"
#include "deliver.h"
#include "log.h"
#include "sse.h"
#include "util.h"

#define FETCH_LIMIT		100		/* messages per entry per fetch */
#define BATCH_MAX		100		/* entries per fetch */
#define RETRY_MIN_MS	100		/* backoff after a failed fetch ... */
#define RETRY_MAX_MS	2000	/* ... doubling up to this */

/*
 * One (conversation, after) pair of a fetch: the streams near the head, or
 * (behind) the ones more than FETCH_LIMIT below it.  A conversation's
 * entries are adjacent, the head one first.
 */
struct entry
{
	struct hub_conv *conv;
	int64_t		after;
	bool		behind;
};

/* One fetch for up to BATCH_MAX entries: one round trip. */
struct batch
{
	struct pool_job job;
	const char *values[3];
	char	   *ids;			/* "{uuid,uuid}" */
	char	   *afters;			/* "{12,0}" */
	char		limit_s[8];
	int			nentries;
	struct entry entries[BATCH_MAX];
};

static struct
{
	struct pool *pool;
	const struct pool_stmt *fetch_stmt;
	struct hub_worklist pending;	/* conversations waiting for a fetch */
	struct batch batch;
	bool		batch_running;
	struct event *retry_timer;	/* armed after a failure: no fetch meanwhile */
	int			backoff_ms;
	struct evbuffer *scratch;	/* the event(s) for one stream */
	unsigned long long fetches;
	unsigned long long direct;
}			dq;

static void fetch_next(void);

const struct hub_fetcher deliver_fetcher = {
	.kick = deliver_kick,
};

/* ---- messages posted through this gateway --------------------------------- */

void
deliver_posted(const char *cid, int64_t seq, const char *json, size_t len)
{
	struct hub_conv *c = hub_conv_find(cid);
	struct events_stream *next;
	bool		behind = false;

	if (c == NULL)
		return;
	if (seq > c->head)
		c->head = seq;
	for (struct events_stream *s = c->streams; s != NULL; s = next)
	{
		next = s->next;
		if (s->cursor >= seq)
			continue;
		if (s->cursor < seq - 1)
		{
			behind = true;		/* it needs what comes before: a fetch */
			continue;
		}
		sse_message(dq.scratch, seq, json, len);
		s->cursor = seq;
		dq.direct++;
		(void) hub_stream_send(s, dq.scratch);
	}
	/* A stream that is behind was not sent anything, so c still exists. */
	if (behind)
		deliver_kick(c);
}

/* ---- fetches -------------------------------------------------------------- */

/*
 * Send rows [from, to) of a fetch, the messages of e->conv above e->after
 * in ascending seq, to each stream: the ones right above its cursor.  Seqs
 * are gapless, so a stream takes seq N only as cursor + 1; a row further
 * up would leave a gap, and the stream waits for the next fetch.
 */
static void
entry_deliver(const struct entry *e, PGresult *res, int from, int to)
{
	struct hub_conv *c = e->conv;
	struct events_stream *next;

	for (int i = from; i < to; i++)
	{
		int64_t		seq = strtoll(PQgetvalue(res, i, 1), NULL, 10);

		if (seq > c->head)
			c->head = seq;
	}
	for (struct events_stream *s = c->streams; s != NULL; s = next)
	{
		next = s->next;
		for (int i = from; i < to; i++)
		{
			int64_t		seq = strtoll(PQgetvalue(res, i, 1), NULL, 10);

			if (seq <= s->cursor)
				continue;
			if (seq != s->cursor + 1)
				break;
			sse_message(dq.scratch, seq, PQgetvalue(res, i, 0),
						(size_t) PQgetlength(res, i, 0));
			s->cursor = seq;
		}
		(void) hub_stream_send(s, dq.scratch);
	}
}

/*
 * Where the rows of entry e, starting at row, end: they are e's
 * conversation's, ascending, above e->after.  The next entry starts with
 * another conversation, or (the behind entry after the head one) with a
 * seq at or below the head entry's after.
 */
static int
entry_end(const struct entry *e, PGresult *res, int row, int n)
{
	int64_t		prev = e->after;

	for (; row < n; row++)
	{
		int64_t		seq = strtoll(PQgetvalue(res, row, 1), NULL, 10);

		if (seq <= prev || strcmp(PQgetvalue(res, row, 2), e->conv->cid) != 0)
			break;
		prev = seq;
	}
	return row;
}

void
deliver_kick(struct hub_conv *c)
{
	hub_work_queue(&dq.pending, &c->fetch);
	fetch_next();
}

static void
queue_conv(struct hub_conv *c)
{
	hub_work_queue(&dq.pending, &c->fetch);
}

/* Queue them all first: a fetch started midway could free a conversation the walk holds. */
void
deliver_kick_all(void)
{
	hub_conv_foreach(queue_conv);
	fetch_next();
}

static void
batch_clear(struct batch *b)
{
	free(b->ids);
	free(b->afters);
	b->ids = b->afters = NULL;
	b->nentries = 0;
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void) fd;
	(void) what;
	(void) arg;
	fetch_next();
}

/*
 * The batch's fetch could not run (no connection, a full queue, a
 * timeout): its conversations go back on the list, and the list waits for
 * a backoff.  A statement that failed in the database is not repeated
 * (retry false): the safety poll asks again.
 */
static void
batch_failed(struct batch *b, bool retry)
{
	struct timeval tv;

	for (int k = 0; k < b->nentries; k++)
	{
		struct hub_conv *c = b->entries[k].conv;

		if (b->entries[k].behind)
			continue;			/* the head entry before it stands for both */
		hub_work_ended(&c->fetch);
		if (retry)
			hub_work_queue(&dq.pending, &c->fetch);
		hub_conv_release(c);
	}
	batch_clear(b);
	if (!retry)
	{
		fetch_next();
		return;
	}
	dq.backoff_ms = util_backoff_next(dq.backoff_ms, RETRY_MIN_MS, RETRY_MAX_MS);
	tv = util_timeval_ms(dq.backoff_ms);
	if (dq.retry_timer != NULL)
		evtimer_add(dq.retry_timer, &tv);
}

static void
on_batch_done(struct pool_job *job, PGresult *res, const struct problem *err)
{
	struct batch *b = &dq.batch;
	int			n;
	int			row = 0;

	(void) job;
	dq.batch_running = false;
	if (err != NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		log_warn("events: fetch of %d entries failed (tried again in a moment): %s", b->nentries,
				 err ? err->detail : PQresultErrorMessage(res));
		batch_failed(b, err != NULL);
		return;
	}
	dq.backoff_ms = 0;
	n = PQntuples(res);

	/*
	 * Rows come grouped by entry, in the batch's order.  A conversation's
	 * behind entry is delivered before its head entry, so that a stream the
	 * replay brings up to the head's after also gets the head's rows.
	 */
	for (int k = 0; k < b->nentries; k++)
	{
		const struct entry *e = &b->entries[k];
		bool		pair = k + 1 < b->nentries && b->entries[k + 1].conv == e->conv;
		int			first = row;
		int			end = entry_end(e, res, row, n);
		int			end2 = pair ? entry_end(&b->entries[k + 1], res, end, n) : end;

		if (pair)
			entry_deliver(&b->entries[k + 1], res, end, end2);
		entry_deliver(e, res, first, end);

		/*
		 * Fetch again when a page was full (there may be more), or when a
		 * stream is still below the highest seq known and this fetch found
		 * something (a stream that joined behind during it, a replay).
		 */
		if (end - first == FETCH_LIMIT || (pair && end2 - end == FETCH_LIMIT) ||
			(end2 > first && hub_min_cursor(e->conv) < e->conv->head))
			e->conv->fetch.again = true;
		row = end2;
		k += pair;
	}
	if (row != n)
		log_warn("events: fetch answered rows out of order; the safety poll catches up");

	for (int k = 0; k < b->nentries; k++)
	{
		struct hub_conv *c = b->entries[k].conv;
		bool		again = c->fetch.again;

		if (b->entries[k].behind)
			continue;			/* the head entry before it did the work */
		hub_work_ended(&c->fetch);
		if (again)
			hub_work_queue(&dq.pending, &c->fetch);
		hub_conv_release(c);
	}
	batch_clear(b);
	fetch_next();
}

/*
 * The entries of conversation c: from the smallest cursor near the head,
 * and one page from the smallest cursor behind.  A stream behind whose
 * client has not read its last page yet is paused instead.  False when c
 * has nothing to fetch now.
 */
static bool
batch_add_conv(struct batch *b, struct evbuffer *ids, struct evbuffer *afters,
			   struct hub_conv *c)
{
	int64_t		near = INT64_MAX;	/* smallest cursor near the head */
	int64_t		far = INT64_MAX;	/* smallest one behind */
	char		after_s[24];

	for (struct events_stream *s = c->streams; s != NULL; s = s->next)
	{
		if (s->cursor >= c->head - FETCH_LIMIT)
			near = s->cursor < near ? s->cursor : near;
		else if (hub_stream_queued(s) > 0)
			hub_stream_pause(s);
		else
			far = s->cursor < far ? s->cursor : far;
	}
	for (int i = 0; i < 2; i++)
	{
		int64_t		after = i == 0 ? near : far;

		if (after == INT64_MAX)
			continue;
		snprintf(after_s, sizeof(after_s), "%" PRId64, after);
		util_array_add(ids, c->cid, false);
		util_array_add(afters, after_s, false);
		/* With no stream near the head the one behind is the head entry. */
		b->entries[b->nentries++] = (struct entry) {c, after, i == 1 && near != INT64_MAX};
	}
	return near != INT64_MAX || far != INT64_MAX;
}

/* Start a fetch for the waiting conversations unless one is running. */
static void
fetch_next(void)
{
	struct batch *b = &dq.batch;
	struct evbuffer *ids;
	struct evbuffer *afters;
	struct problem p;
	struct hub_work *w;

	if (dq.batch_running || dq.pending.head == NULL ||
		(dq.retry_timer != NULL && evtimer_pending(dq.retry_timer, NULL)))
		return;
	ids = evbuffer_new();
	afters = evbuffer_new();
	if (ids == NULL || afters == NULL)
		goto out;
	util_array_begin(ids);
	util_array_begin(afters);
	b->nentries = 0;
	while (b->nentries < BATCH_MAX - 1 && (w = hub_work_next(&dq.pending)) != NULL)
	{
		if (!batch_add_conv(b, ids, afters, w->conv))
		{
			/* Every stream of it is a paused replay: the hub kicks it when one reads. */
			hub_work_ended(w);
			hub_conv_release(w->conv);
		}
	}
	if (b->nentries == 0)
		goto out;
	b->ids = util_array_end(ids);
	b->afters = util_array_end(afters);
	snprintf(b->limit_s, sizeof(b->limit_s), "%d", FETCH_LIMIT);
	b->values[0] = b->ids;
	b->values[1] = b->afters;
	b->values[2] = b->limit_s;
	pool_job_init(&b->job, dq.fetch_stmt, 3, b->values, true, on_batch_done, NULL);
	dq.batch_running = b->ids != NULL && b->afters != NULL &&
		pool_submit(dq.pool, &b->job, config.request_timeout_ms, false, &p);
	dq.fetches += dq.batch_running;
	if (!dq.batch_running)
		batch_failed(b, true); /* no connection, or a full queue */
out:
	if (ids)
		evbuffer_free(ids);
	if (afters)
		evbuffer_free(afters);
}

/* ---- setup ---------------------------------------------------------------- */

bool
deliver_setup(struct event_base *base, struct pool *pool, const struct pool_stmt *fetch_stmt)
{
	dq.pool = pool;
	dq.fetch_stmt = fetch_stmt;
	dq.scratch = evbuffer_new();
	dq.retry_timer = evtimer_new(base, on_retry, NULL);
	return dq.scratch != NULL && dq.retry_timer != NULL;
}

unsigned long long
deliver_fetches(void)
{
	return dq.fetches;
}

unsigned long long
deliver_direct(void)
{
	return dq.direct;
}

void
deliver_shutdown(void)
{
	if (dq.retry_timer)
		event_free(dq.retry_timer);
	batch_clear(&dq.batch);
	if (dq.scratch)
		evbuffer_free(dq.scratch);
	memset(&dq, 0, sizeof(dq));
}
