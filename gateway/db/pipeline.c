/*
 * pipeline.c
 *	  A pooled connection's jobs in flight (BUSY in conn.c's state machine).
 *
 *	  Pipeline mode: once set up, a connection is in libpq pipeline mode and
 *	  every job is its statement followed by its own Sync, so each is still
 *	  its own transaction, committed before its answer.  Under load a busy
 *	  connection takes more jobs (up to opts.pipeline), but only behind
 *	  reads: a write may wait on a row lock, and what is pipelined behind it
 *	  would wait too.  The server finds the next statement waiting when it
 *	  finishes one, instead of sleeping until the gateway has read the
 *	  answer and sent the next.  Results come back in order; a job is
 *	  answered at its Sync (PGRES_PIPELINE_SYNC), that is after its commit.
 *	  With one job in flight the bytes on the wire are those of
 *	  PQsendQueryPrepared outside pipeline mode.
 *
 *	  Cancelling: libpq 15 has no non-blocking cancel (PQcancelStart is
 *	  libpq 17), and PQcancel() opens a new connection and waits, so it runs
 *	  on a short-lived detached thread with its own PGcancel object; the
 *	  event loop never blocks.  If the abandoned statement has not ended
 *	  within a grace period the connection is dropped.  In a pipeline the
 *	  cancel waits until the abandoned job is the head, the one the server
 *	  runs, and the connection takes no new jobs meanwhile.
 *
 *	  A lost connection and its jobs: a job is run again on another
 *	  connection only when its statement certainly did not run to the end,
 *	  so it cannot have committed (conn_job_may_retry()).  Any other loss
 *	  mid-statement is a 503: the statement may or may not have committed,
 *	  and only the client can resolve that (a message_post retried with its
 *	  client_msg_id answers the stored message).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "pool_internal.h"

#define ABANDON_GRACE_MS	5000	/* after a cancel, before dropping */
#define MAX_JOB_RETRIES		2		/* runs of one job after lost connections */

static void conn_send_cancel(struct pool_conn *c);

/* No job in flight any more (IDLE, DOWN, closing); jobs[] is left as is. */
void
conn_forget_jobs(struct pool_conn *c)
{
	c->njobs = 0;
	c->nabandoned = 0;
	c->nwrites = 0;
	c->head_ended = false;
	c->cancel_sent = false;
}

/* Take queued jobs while there is room in the pipeline. */
void
conn_fill(struct pool_conn *c)
{
	struct pool_job *job;

	while (c->state != CONN_DOWN && conn_can_take(c) &&
		   (job = pool_queue_pop(c->pool)) != NULL)
		conn_run_job(c, job);
}

bool
conn_can_take(const struct pool_conn *c)
{
	return c->state == CONN_IDLE ||
		(c->state == CONN_BUSY && c->nabandoned == 0 && c->nwrites == 0 &&
		 c->njobs < c->pool->opts.pipeline);
}

void
conn_run_job(struct pool_conn *c, struct pool_job *job)
{
	const struct pool_options *o = &c->pool->opts;
	char		name[32];
	int			ok;

	if (o->prepared)
		ok = PQsendQueryPrepared(c->pg, conn_stmt_name(job->stmt, name, sizeof(name)),
								 job->nparams, job->values, NULL, NULL, 0);
	else
		ok = PQsendQueryParams(c->pg, job->stmt->sql, job->nparams,
							   NULL, job->values, NULL, NULL, 0);
	/* Its own Sync: its own transaction, whatever else is in flight. */
	ok = ok && PQpipelineSync(c->pg);
	/* Not BUSY: conn_forget_jobs() left nothing of earlier jobs. */
	if (c->state == CONN_BUSY)
		c->pool->pipelined++;
	c->state = CONN_BUSY;
	c->writes[c->njobs] = !job->read_only;
	c->nwrites += !job->read_only;
	c->jobs[c->njobs++] = job;
	job->sent = ok;
	job->conn = c;
	job->state = JOB_RUNNING;
	clock_gettime(CLOCK_MONOTONIC, &job->started);
	if (!ok)
	{
		conn_fail(c, PQerrorMessage(c->pg));
		return;
	}
	conn_flush(c);
}

/* A statement's first result is its answer; the rest are dropped. */
void
conn_keep_first_result(struct pool_conn *c, PGresult *res)
{
	if (c->result == NULL)
		c->result = res;
	else
		PQclear(res);
}

/*
 * An abandoned job at the head is what the server runs (unless its
 * statement already ended): cancel it now, and give it a grace period.
 */
static void
conn_cancel_abandoned_head(struct pool_conn *c)
{
	if (c->state != CONN_BUSY || c->njobs == 0 || c->jobs[0] != NULL ||
		c->head_ended || c->cancel_sent)
		return;
	conn_send_cancel(c);
	c->cancel_sent = true;
	pool_timer_arm(c->timer, ABANDON_GRACE_MS);
}

/* The head job's Sync came back: its transaction is over; answer it. */
static void
conn_head_done(struct pool_conn *c)
{
	struct pool_job *job = c->jobs[0];
	PGresult   *res = c->result;

	c->result = NULL;
	c->head_ended = false;
	c->cancel_sent = false;
	c->njobs--;
	c->nwrites -= c->writes[0];
	memmove(&c->jobs[0], &c->jobs[1], sizeof(c->jobs[0]) * (size_t) c->njobs);
	memmove(&c->writes[0], &c->writes[1], sizeof(c->writes[0]) * (size_t) c->njobs);
	if (job == NULL)
	{
		c->nabandoned--;
		evtimer_del(c->timer);	/* the abandon grace */
	}
	else
		pool_job_finish(job, res, NULL);
	PQclear(res);
	/* job's callback may have given c more work, or (failing) closed it. */
	if (c->state == CONN_BUSY && c->njobs == 0)
		conn_become_idle(c);
	else
		conn_fill(c);
}

/*
 * BUSY: take every complete result.  Per job: its statement's results
 * (the first is kept), NULL at the statement's end, then its Sync.
 */
void
conn_read_results(struct pool_conn *c)
{
	while (c->state == CONN_BUSY && !PQisBusy(c->pg))
	{
		PGresult   *res = PQgetResult(c->pg);

		if (res == NULL)
		{
			if (c->head_ended)
				break;			/* nothing more until the server sends it */
			c->head_ended = true;
			continue;
		}
		if (PQresultStatus(res) == PGRES_PIPELINE_SYNC)
		{
			PQclear(res);
			conn_head_done(c);
			continue;
		}
		conn_keep_first_result(c, res);
	}
	if (c->state != CONN_BUSY)
		return;
	if (PQstatus(c->pg) == CONNECTION_BAD)
	{
		/*
		 * The server went away mid-statement: start over.  conn_fail()
		 * answers the jobs (503) or runs them again when they certainly
		 * did not run (conn_job_may_retry).
		 */
		conn_fail(c, PQerrorMessage(c->pg));
		return;
	}
	conn_cancel_abandoned_head(c);
}

/* Runs on its own thread: PQcancel() connects to the server and waits. */
static void *
cancel_thread_main(void *arg)
{
	PGcancel   *cancel = arg;
	char		err[256];

	if (!PQcancel(cancel, err, sizeof(err)))
		log_warn("cancel request failed: %s", err);
	PQfreeCancel(cancel);
	return NULL;
}

/* Ask the server to cancel what c runs, without blocking the loop. */
static void
conn_send_cancel(struct pool_conn *c)
{
	PGcancel   *cancel = PQgetCancel(c->pg);
	pthread_attr_t attr;
	pthread_t	tid;

	if (cancel == NULL)
		return;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&tid, &attr, cancel_thread_main, cancel) != 0)
	{
		log_warn("cannot start a cancel thread; the statement runs on");
		PQfreeCancel(cancel);
	}
	pthread_attr_destroy(&attr);
}

/*
 * Did the server end the head job's statement with its own FATAL error
 * before any row (e.g. pg_terminate_backend, a fast shutdown,
 * idle_session_timeout)?  parleyd sends Bind/Execute/Sync; the implicit
 * transaction commits at Sync, after Execute has sent its row and
 * CommandComplete, so that statement ended before its commit; and the
 * backend exited, so no job behind it in the pipeline ran at all.
 */
bool
conn_head_fatal(const struct pool_conn *c)
{
	const char *severity;

	if (c->result == NULL || PQresultStatus(c->result) != PGRES_FATAL_ERROR)
		return false;
	severity = PQresultErrorField(c->result, PG_DIAG_SEVERITY_NONLOCALIZED);
	return severity != NULL && strcmp(severity, "FATAL") == 0 &&
		PQresultErrorField(c->result, PG_DIAG_SQLSTATE) != NULL;
}

/*
 * May a job of a lost connection run again elsewhere?  Only when its
 * statement cannot have committed: libpq refused to send it (the server
 * never saw it), or conn_head_fatal().  Not retried: a lost connection
 * with no server error (an immediate shutdown, a crash, a network cut: the
 * commit may have happened and only the answer was lost), or a FATAL after
 * the row.
 */
static bool
conn_job_may_retry(const struct pool_job *job, bool head_fatal)
{
	if (job->retries >= MAX_JOB_RETRIES)
		return false;
	return !job->sent || head_fatal;
}

/*
 * A running job timed out (and is answered): drop its result when it
 * comes, and cancel it once it is the statement the server runs.
 */
void
conn_abandon(struct pool_conn *c, struct pool_job *job)
{
	for (int i = 0; i < c->njobs; i++)
	{
		if (c->jobs[i] == job)
		{
			c->jobs[i] = NULL;
			c->nabandoned++;
			break;
		}
	}
	conn_cancel_abandoned_head(c);
}

/* The jobs of a connection that was lost: run again, or a 503 each. */
void
conn_answer_lost_jobs(int conn_id, struct pool_job *const *jobs, int njobs, bool head_fatal)
{
	for (int i = 0; i < njobs; i++)
	{
		struct pool_job *job = jobs[i];

		if (job == NULL)
			continue;			/* abandoned: answered already */
		if (conn_job_may_retry(job, head_fatal))
		{
			log_debug("database connection %d: the statement did not run; running it again", conn_id);
			pool_retry_job(job);
		}
		else
		{
			struct problem p;

			problem_set(&p, 503, CODE_DB_UNAVAILABLE, "the database connection was lost");
			pool_job_finish(job, NULL, &p);
		}
	}
}
