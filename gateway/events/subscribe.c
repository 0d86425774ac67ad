/*
 * subscribe.c
 *	  The subscribe check of a stream, and its retries while the database
 *	  cannot answer (subscribe.h).
 *
 * A check is a job on the pool.  "Cannot answer" is a problem from the
 * pool itself (no connection up, a full queue, a timeout, a lost
 * connection) or an error whose SQLSTATE maps to 503 (the server shutting
 * down, too many connections): the check then waits on a list and the
 * list is submitted again every RETRY_MS.  Anything else the database
 * says is final: accepted or refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "subscribe.h"
#include "util.h"

#define RETRY_MS		1000

struct subscribe
{
	struct pool_job job;
	const char *values[3];
	void	   *arg;
	bool		running;		/* the job is on the pool */
	bool		cancelled;		/* free it when the job comes back */
	bool		waited;			/* waiting() was called */
	struct subscribe *next;		/* in the retry list */
	struct subscribe *prev;
	char	   *cid;
	char	   *guest;
	char	   *after;
};

static struct
{
	struct pool *pool;
	const struct pool_stmt *stmt;
	const struct subscribe_callbacks *cb;
	struct event *retry_timer;
	struct subscribe *retry;	/* checks waiting for the database */
}			sq;

static void submit(struct subscribe *sub);
static void on_retry(evutil_socket_t fd, short what, void *arg);

static void
sub_free(struct subscribe *sub)
{
	free(sub->cid);
	free(sub->guest);
	free(sub->after);
	free(sub);
}

bool
subscribe_setup(struct event_base *base, struct pool *pool, const struct pool_stmt *stmt,
				const struct subscribe_callbacks *cb)
{
	sq.pool = pool;
	sq.stmt = stmt;
	sq.cb = cb;
	sq.retry_timer = evtimer_new(base, on_retry, NULL);
	return sq.retry_timer != NULL;
}

static void
retry_unlink(struct subscribe *sub)
{
	if (sub->prev)
		sub->prev->next = sub->next;
	else
		sq.retry = sub->next;
	if (sub->next)
		sub->next->prev = sub->prev;
	sub->next = sub->prev = NULL;
}

/* The database cannot answer sub now: tell the caller once, and try again later. */
static void
wait_and_retry(struct subscribe *sub)
{
	struct timeval tv = util_timeval_ms(RETRY_MS);

	sub->prev = NULL;
	sub->next = sq.retry;
	if (sq.retry)
		sq.retry->prev = sub;
	sq.retry = sub;
	if (!evtimer_pending(sq.retry_timer, NULL))
		evtimer_add(sq.retry_timer, &tv);
	if (!sub->waited)
	{
		sub->waited = true;
		sq.cb->waiting(sub->arg);	/* may cancel sub: it stays listed until then */
	}
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct subscribe *list = sq.retry;

	(void) fd;
	(void) what;
	(void) arg;
	/* Checks that fail at once come back on a new list, for the next round. */
	sq.retry = NULL;
	while (list != NULL)
	{
		struct subscribe *sub = list;

		list = sub->next;
		if (list)
			list->prev = NULL;
		sub->next = sub->prev = NULL;
		submit(sub);
	}
}

static void
on_done(struct pool_job *job, PGresult *res, const struct problem *err)
{
	struct subscribe *sub = job->arg;
	struct problem p;

	sub->running = false;
	if (sub->cancelled)
	{
		sub_free(sub);
		return;
	}
	if (err != NULL)
	{
		log_info("events: subscribe check for %s waits for the database: %s", sub->cid, err->detail);
		wait_and_retry(sub);
		return;
	}
	switch (PQresultStatus(res))
	{
		case PGRES_TUPLES_OK:
			if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
				break;
			sq.cb->accepted(sub->arg, sub->cid, strtoll(PQgetvalue(res, 0, 0), NULL, 10),
							PQgetisnull(res, 0, 1) ? 0 : strtoll(PQgetvalue(res, 0, 1), NULL, 10));
			sub_free(sub);
			return;
		case PGRES_FATAL_ERROR:
			problem_from_sqlstate(&p, PQresultErrorField(res, PG_DIAG_SQLSTATE),
								  PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY),
								  PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL));
			if (p.status == 503)
			{
				wait_and_retry(sub);
				return;
			}
			if (p.status >= 500)
				log_error("events: subscribe check: database error %s: %s", p.sqlstate,
						  PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) ?
						  PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : "?");
			sq.cb->refused(sub->arg, &p);
			sub_free(sub);
			return;
		default:
			break;
	}
	log_error("events: subscribe check: unexpected result (%s, %d rows)",
			  PQresStatus(PQresultStatus(res)), PQntuples(res));
	problem_set(&p, 500, CODE_INTERNAL, "internal error; the gateway log has the details");
	sq.cb->refused(sub->arg, &p);
	sub_free(sub);
}

static void
submit(struct subscribe *sub)
{
	struct problem p;

	pool_job_init(&sub->job, sq.stmt, 3, sub->values, true, on_done, sub);
	sub->running = pool_submit(sq.pool, &sub->job, config.request_timeout_ms, false, &p);
	if (!sub->running)
		wait_and_retry(sub);
}

struct subscribe *
subscribe_start(const char *cid, const char *guest, const char *after, void *arg)
{
	struct subscribe *sub = calloc(1, sizeof(*sub));

	if (sub == NULL)
		return NULL;
	sub->cid = strdup(cid);
	sub->guest = strdup(guest);
	sub->after = after != NULL ? strdup(after) : NULL;
	if (sub->cid == NULL || sub->guest == NULL || (after != NULL && sub->after == NULL))
	{
		sub_free(sub);
		return NULL;
	}
	sub->values[0] = sub->cid;
	sub->values[1] = sub->guest;
	sub->values[2] = sub->after;
	sub->arg = arg;
	submit(sub);
	return sub;
}

void
subscribe_cancel(struct subscribe *sub)
{
	if (sub->running)
	{
		sub->cancelled = true;
		return;
	}
	retry_unlink(sub);
	sub_free(sub);
}

void
subscribe_shutdown(void)
{
	while (sq.retry != NULL)
	{
		struct subscribe *sub = sq.retry;

		retry_unlink(sub);
		sub_free(sub);
	}
	if (sq.retry_timer != NULL)
		event_free(sq.retry_timer);
	memset(&sq, 0, sizeof(sq));
}
