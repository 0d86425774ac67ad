/*
 * changes.c
 *	  Edits, deletes and removals for the live-event hub: what changed in a
 *	  streamed conversation after the change_seq its streams were brought
 *	  to (parley.events_changes), sent as message_edited / message_deleted
 *	  events, and the streams of guests who take no part any more ended.
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
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "events_hub.h"
#include "log.h"
#include "sse.h"

/* The columns of the changes statement (events.c). */
enum
{
	COL_MESSAGE,				/* the message JSON, NULL when none changed */
	COL_SEQ,
	COL_DELETED,
	COL_CHANGE_SEQ,				/* how far the answer goes */
	COL_GONE					/* JSON array of the guests who left */
};

static struct
{
	struct pool *pool;
	const struct pool_stmt *stmt;
	struct conv_worklist queue; /* conversations waiting for a change fetch */
	struct conv *running;		/* the one being fetched */
	struct pool_job job;
	const char *values[3];
	char		after_s[24];
	char	   *guests;			/* "{"g1","g2"}" */
	struct evbuffer *scratch;
	unsigned long long fetches;
}			cq;

static void changes_next(void);

void
deliver_changes(struct conv *c, int64_t head)
{
	if (head > c->change_head)
		c->change_head = head;
	if (head == 0 || head > c->change_seen)
		hub_work_queue(&cq.queue, &c->change);
	changes_next();
}


/* The streaming guests of c as a PostgreSQL text[] literal, quoted. */
static char *
guests_literal(const struct conv *c)
{
	struct evbuffer *b = evbuffer_new();
	char	   *out = NULL;
	size_t		len;

	if (b == NULL)
		return NULL;
	evbuffer_add(b, "{", 1);
	for (const struct events_stream *s = c->streams; s != NULL; s = s->next)
	{
		evbuffer_add(b, s == c->streams ? "\"" : ",\"", s == c->streams ? 1 : 2);
		for (const char *p = s->guest; *p; p++)
		{
			if (*p == '"' || *p == '\\')
				evbuffer_add(b, "\\", 1);
			evbuffer_add(b, p, 1);
		}
		evbuffer_add(b, "\"", 1);
	}
	evbuffer_add(b, "}", 2);	/* with the NUL */
	len = evbuffer_get_length(b);
	out = malloc(len);
	if (out != NULL)
		evbuffer_copyout(b, out, len);
	evbuffer_free(b);
	return out;
}

/* Send the changed message of row i to each stream of c that has it. */
static void
send_change(struct conv *c, PGresult *res, int i)
{
	int64_t		seq = strtoll(PQgetvalue(res, i, COL_SEQ), NULL, 10);
	bool		deleted = PQgetvalue(res, i, COL_DELETED)[0] == 't';
	struct events_stream *next;

	for (struct events_stream *s = c->streams; s != NULL; s = next)
	{
		next = s->next;
		if (s->cursor < seq)
			continue;
		sse_event(cq.scratch, deleted ? "message_deleted" : "message_edited",
				  PQgetvalue(res, i, COL_MESSAGE), (size_t) PQgetlength(res, i, COL_MESSAGE));
		(void) hub_stream_send(s, cq.scratch);
	}
}

/* End the streams of the guests in the JSON array gone (c is held: running). */
static void
end_gone(struct conv *c, const char *gone)
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
on_changes_done(struct pool_job *job, PGresult *res, const struct problem *err)
{
	struct conv *c = cq.running;
	bool		ok = err == NULL && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0;
	bool		fetch_waits;

	(void) job;
	cq.running = NULL;
	free(cq.guests);
	cq.guests = NULL;
	if (!ok)
		log_warn("events: change fetch for %s failed: %s", c->cid,
				 err ? err->detail : PQresultErrorMessage(res));
	else
	{
		int			n = PQntuples(res);
		int64_t		upto = strtoll(PQgetvalue(res, 0, COL_CHANGE_SEQ), NULL, 10);

		for (int i = 0; i < n; i++)
			if (!PQgetisnull(res, i, COL_MESSAGE))
				send_change(c, res, i);
		if (upto > c->change_seen)
			c->change_seen = upto;
		/* Streams end last; c outlives its last one while change.running holds it. */
		end_gone(c, PQgetvalue(res, 0, COL_GONE));
	}
	fetch_waits = hub_work_ended(&c->change);
	if (c->nstreams == 0)
		hub_conv_release(c);
	else
	{
		if (c->change.again || (ok && c->change_head > c->change_seen))
		{
			c->change.again = false;
			hub_work_queue(&cq.queue, &c->change);
		}
		if (fetch_waits)
			deliver_kick(c);
	}
	/* After a failure (also at shutdown) the safety poll asks again. */
	if (err == NULL)
		changes_next();
}

/* Start the next change fetch unless one runs; skip conversations in a message fetch. */
static void
changes_next(void)
{
	struct problem p;
	struct conv_work *w;

	while (cq.running == NULL && (w = hub_work_next(&cq.queue)) != NULL)
	{
		struct conv *c = w->conv;

		cq.guests = guests_literal(c);
		if (cq.guests == NULL)
			continue;			/* out of memory: the poll asks again */
		snprintf(cq.after_s, sizeof(cq.after_s), "%" PRId64, c->change_seen);
		cq.values[0] = c->cid;
		cq.values[1] = cq.after_s;
		cq.values[2] = cq.guests;
		pool_job_init(&cq.job, cq.stmt, 3, cq.values, true, on_changes_done, NULL);
		c->change.running = true;
		cq.running = c;
		if (pool_submit(cq.pool, &cq.job, config.request_timeout_ms, false, &p))
		{
			cq.fetches++;
			return;
		}
		/* No connection or a full queue: the safety poll asks again. */
		c->change.running = false;
		cq.running = NULL;
		free(cq.guests);
		cq.guests = NULL;
		hub_conv_release(c);
	}
}

bool
changes_setup(struct pool *pool, const struct pool_stmt *stmt)
{
	cq.pool = pool;
	cq.stmt = stmt;
	cq.scratch = evbuffer_new();
	return cq.scratch != NULL;
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
	if (cq.scratch)
		evbuffer_free(cq.scratch);
	memset(&cq, 0, sizeof(cq));
}
