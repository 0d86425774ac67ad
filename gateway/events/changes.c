/*
 * changes.c
 *	  Edits, deletes and removals for the live-event hub: what changed in a
 *	  streamed conversation after the change_seq its streams were brought
 *	  to (parley.events_changes), sent as message_edited / message_deleted
 *	  (and, from extension 0.5.0, message_reacted: the answer's "reacted"
 *	  says a reaction was the message's last change) events, and the
 *	  streams of guests who take no part any more ended.
 *
 * Who asks: a notification ("e", "d" or "r" from any gateway) says "look";
 * the safety poll (poll.c) reads every streamed conversation's change_seq,
 * so changes made straight in SQL, or whose notification was lost, arrive
 * within PARLEY_EVENTS_POLL_MS.
 *
 * One change fetch at a time, so that streams see changes in change order.
 * A change fetch and a message fetch (deliver.c) of the same conversation
 * never overlap: otherwise a message fetch that read a body before an edit
 * could deliver it after the edit was skipped for a stream that did not
 * have the message yet.  A changed message goes only to streams that
 * already have it; the others will get it as it is now.
 *
 * A change fetch that fails (a timeout, a lost connection, a full queue)
 * puts its conversation back, and the queue is tried again after a backoff.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include <cjson/cJSON.h>

#include "changes.h"
#include "config.h"
#include "log.h"
#include "sse.h"
#include "util.h"

#define RETRY_MIN_MS	100		/* backoff after a failed fetch ... */
#define RETRY_MAX_MS	2000	/* ... doubling up to this */

/* The columns of the changes statement (events.c). */
enum
{
	COL_MESSAGE,				/* the message JSON, NULL when none changed */
	COL_SEQ,
	COL_DELETED,
	COL_CHANGE_SEQ,				/* how far the answer goes */
	COL_GONE,					/* JSON array of the guests who left */
	COL_REACTED					/* 0.5.0: a reaction was its last change (NULL before) */
};

static struct
{
	struct pool *pool;
	const struct pool_stmt *stmt;
	struct hub_worklist queue;	/* conversations waiting for a change fetch */
	struct hub_conv *running;	/* the one being fetched */
	struct event *retry_timer;	/* armed after a failure: no fetch meanwhile */
	int			backoff_ms;
	struct pool_job job;
	const char *values[3];
	char		after_s[24];
	char	   *guests;			/* "{"g1","g2"}" */
	struct evbuffer *scratch;
	unsigned long long fetches;
}			cq;

static void changes_next(void);
static void changes_kick_deferred(struct hub_conv *c);

const struct hub_fetcher changes_fetcher = {
	.kick = changes_kick_deferred,
};

void
changes_kick(struct hub_conv *c, int64_t head)
{
	if (head > c->change_head)
		c->change_head = head;
	if (head == 0 || head > c->change_seen)
		hub_work_queue(&cq.queue, &c->change);
	changes_next();
}

/* The hub hands back a change fetch deferred while a message fetch ran. */
static void
changes_kick_deferred(struct hub_conv *c)
{
	changes_kick(c, 0);
}

/* The streaming guests of c as a PostgreSQL text[] literal, quoted. */
static char *
guests_literal(const struct hub_conv *c)
{
	struct evbuffer *b = evbuffer_new();
	char	   *out;

	if (b == NULL)
		return NULL;
	util_array_begin(b);
	for (const struct events_stream *s = c->streams; s != NULL; s = s->next)
		util_array_add(b, s->guest, true);
	out = util_array_end(b);
	evbuffer_free(b);
	return out;
}

/* Send the changed message of row i to each stream of c that has it. */
static void
send_change(struct hub_conv *c, PGresult *res, int i)
{
	int64_t		seq = strtoll(PQgetvalue(res, i, COL_SEQ), NULL, 10);
	bool		deleted = PQgetvalue(res, i, COL_DELETED)[0] == 't';
	bool		reacted = PQgetvalue(res, i, COL_REACTED)[0] == 't';
	struct events_stream *next;

	for (struct events_stream *s = c->streams; s != NULL; s = next)
	{
		next = s->next;
		if (s->cursor < seq)
			continue;
		sse_event(cq.scratch, deleted ? "message_deleted" : reacted ? "message_reacted" : "message_edited",
				  PQgetvalue(res, i, COL_MESSAGE), (size_t) PQgetlength(res, i, COL_MESSAGE));
		(void) hub_stream_send(s, cq.scratch);
	}
}

/* End the streams of the guests in the JSON array gone (c is held: running). */
static void
end_gone(struct hub_conv *c, const char *gone)
{
	cJSON	   *a = cJSON_Parse(gone);
	const cJSON *g;

	cJSON_ArrayForEach(g, a)
	{
		if (cJSON_IsString(g))
			hub_guest_gone(c, g->valuestring);
	}
	cJSON_Delete(a);
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void) fd;
	(void) what;
	(void) arg;
	changes_next();
}

/*
 * The fetch of c could not run (no connection, a full queue, a timeout):
 * c goes back, and the queue waits a backoff.  A statement that failed in
 * the database is not repeated (retry false): the safety poll asks again.
 */
static void
change_failed(struct hub_conv *c, bool retry)
{
	struct timeval tv;

	hub_work_ended(&c->change);
	if (retry)
		hub_work_queue(&cq.queue, &c->change);
	hub_conv_release(c);
	if (!retry)
	{
		changes_next();
		return;
	}
	cq.backoff_ms = util_backoff_next(cq.backoff_ms, RETRY_MIN_MS, RETRY_MAX_MS);
	tv = util_timeval_ms(cq.backoff_ms);
	if (cq.retry_timer != NULL)
		evtimer_add(cq.retry_timer, &tv);
}

static void
on_changes_done(struct pool_job *job, PGresult *res, const struct problem *err)
{
	struct hub_conv *c = cq.running;
	int			n;
	int64_t		upto;

	(void) job;
	cq.running = NULL;
	free(cq.guests);
	cq.guests = NULL;
	if (err != NULL || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) == 0)
	{
		log_warn("events: change fetch for %s failed (tried again in a moment): %s", c->cid,
				 err ? err->detail : PQresultErrorMessage(res));
		change_failed(c, err != NULL);
		return;
	}
	cq.backoff_ms = 0;
	n = PQntuples(res);
	upto = strtoll(PQgetvalue(res, 0, COL_CHANGE_SEQ), NULL, 10);
	for (int i = 0; i < n; i++)
		if (!PQgetisnull(res, i, COL_MESSAGE))
			send_change(c, res, i);
	if (upto > c->change_seen)
		c->change_seen = upto;
	/* Streams end last; c outlives its last one while change.running holds it. */
	end_gone(c, PQgetvalue(res, 0, COL_GONE));

	hub_work_ended(&c->change);
	if (c->change.again || c->change_head > c->change_seen)
		hub_work_queue(&cq.queue, &c->change);
	hub_conv_release(c);
	changes_next();
}

/* Start the next change fetch unless one runs; skip conversations in a message fetch. */
static void
changes_next(void)
{
	struct problem p;
	struct hub_work *w;

	if (cq.running != NULL || (cq.retry_timer != NULL && evtimer_pending(cq.retry_timer, NULL)))
		return;
	if ((w = hub_work_next(&cq.queue)) == NULL)
		return;
	cq.running = w->conv;
	cq.guests = guests_literal(w->conv);
	snprintf(cq.after_s, sizeof(cq.after_s), "%" PRId64, w->conv->change_seen);
	cq.values[0] = w->conv->cid;
	cq.values[1] = cq.after_s;
	cq.values[2] = cq.guests;
	pool_job_init(&cq.job, cq.stmt, 3, cq.values, true, on_changes_done, NULL);
	if (cq.guests != NULL && pool_submit(cq.pool, &cq.job, config.request_timeout_ms, false, &p))
	{
		cq.fetches++;
		return;
	}
	/* Out of memory, no connection or a full queue. */
	cq.running = NULL;
	free(cq.guests);
	cq.guests = NULL;
	change_failed(w->conv, true);
}

bool
changes_setup(struct event_base *base, struct pool *pool, const struct pool_stmt *stmt)
{
	cq.pool = pool;
	cq.stmt = stmt;
	cq.scratch = evbuffer_new();
	cq.retry_timer = evtimer_new(base, on_retry, NULL);
	return cq.scratch != NULL && cq.retry_timer != NULL;
}

unsigned long long
changes_fetches(void)
{
	return cq.fetches;
}

void
changes_shutdown(void)
{
	free(cq.guests);
	if (cq.retry_timer)
		event_free(cq.retry_timer);
	if (cq.scratch)
		evbuffer_free(cq.scratch);
	memset(&cq, 0, sizeof(cq));
}
