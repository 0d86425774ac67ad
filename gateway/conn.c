/*
 * conn.c
 *	  One pooled database connection: a state machine driven by its socket.
 *
 *	    DOWN -> CONNECTING -> CHECKING -> PREPARING -> IDLE <-> BUSY
 *	      ^__________________ any failure (backoff timer) ______|
 *
 *	  CONNECTING follows PQconnectPoll; CHECKING runs the check query (the
 *	  extension's version); PREPARING sends one PQsendPrepare per statement
 *	  (skipped for unnamed statements, i.e. PgBouncer transaction mode).
 *	  Idle connections keep a read watch so a server that goes away is
 *	  noticed at once, not on the next request.
 *
 *	  Pipeline mode: once set up, a connection is in libpq pipeline mode and
 *	  every job is its statement followed by its own Sync, so each is still
 *	  its own transaction, committed before its answer.  Under load a busy
 *	  connection takes more jobs (up to opts.pipeline): the server finds
 *	  the next statement waiting when it finishes one, instead of sleeping
 *	  until the gateway has read the answer and sent the next.  Results come
 *	  back in order; a job is answered at its Sync (PGRES_PIPELINE_SYNC),
 *	  that is after its commit.  With one job in flight the bytes on the
 *	  wire are those of PQsendQueryPrepared outside pipeline mode.
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

#define BACKOFF_MIN_MS		100
#define BACKOFF_MAX_MS		1000	/* back within ~1.25 s of the database (jitter incl.) */
#define CONNECT_ATTEMPT_MS	5000	/* PQconnectPoll has no timeout of its own */
#define ABANDON_GRACE_MS	5000	/* after a cancel, before dropping */
#define MAX_JOB_RETRIES		2		/* runs of one job after lost connections */

static void conn_fail(struct pool_conn *c, const char *why);
static void conn_io_cb(evutil_socket_t fd, short what, void *arg);
static void conn_timer_cb(evutil_socket_t fd, short what, void *arg);
static void conn_setup_next(struct pool_conn *c);
static void conn_send_cancel(struct pool_conn *c);

/* libpq prints notices to stderr by default; route them to the log. */
static void
notice_processor(void *arg, const char *message)
{
	struct pool_conn *c = arg;
	char		line[512];

	pool_first_line(line, sizeof(line), message);
	log_debug("database connection %d: %s", c->id, line);
}

/* Watch the connection's socket for what (EV_READ and/or EV_WRITE). */
static bool
conn_watch(struct pool_conn *c, short what)
{
	int			fd = PQsocket(c->pg);

	if (fd < 0)
		return false;
	if (c->io_fd == fd && c->io_what == what && event_pending(c->io, EV_READ | EV_WRITE, NULL))
		return true;
	event_del(c->io);
	event_assign(c->io, c->pool->base, fd, what | EV_PERSIST, conn_io_cb, c);
	c->io_fd = fd;
	c->io_what = what;
	return event_add(c->io, NULL) == 0;
}

/* After a PQsend*: flush what libpq holds, then wait for the answer. */
static void
conn_flush(struct pool_conn *c)
{
	int			r = PQflush(c->pg);

	if (r < 0)
		conn_fail(c, PQerrorMessage(c->pg));
	else if (!conn_watch(c, r == 1 ? (EV_READ | EV_WRITE) : EV_READ))
		conn_fail(c, "cannot watch the database socket");
}

static const char *
stmt_name(int i, char *buf, size_t len)
{
	snprintf(buf, len, "parley_%d", i);
	return buf;
}

/* Take queued jobs while there is room in the pipeline. */
static void
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

/* Ready: watch for a server-side close and take queued work. */
static void
conn_become_idle(struct pool_conn *c)
{
	struct pool *pool = c->pool;

	c->state = CONN_IDLE;
	c->njobs = 0;
	c->nabandoned = 0;
	c->nwrites = 0;
	evtimer_del(c->timer);		/* connect attempt or abandon grace */
	if (!c->was_up)
	{
		c->was_up = true;
		c->attempts = 0;
		if (!pool->ever_up)
			log_info("database connection ready");
		pool->ever_up = true;
	}
	if (!conn_watch(c, EV_READ))
	{
		conn_fail(c, "cannot watch the database socket");
		return;
	}
	conn_fill(c);
}

/* Send the next setup step (check, prepares), or become IDLE. */
static void
conn_setup_next(struct pool_conn *c)
{
	const struct pool_options *o = &c->pool->opts;
	char		name[32];

	if (c->state == CONN_CONNECTING && o->check_sql != NULL)
	{
		c->state = CONN_CHECKING;
		if (!PQsendQueryParams(c->pg, o->check_sql, 0, NULL, NULL, NULL, NULL, 0))
		{
			conn_fail(c, PQerrorMessage(c->pg));
			return;
		}
		conn_flush(c);
		return;
	}
	if (o->prepared && c->state != CONN_PREPARING)
	{
		c->state = CONN_PREPARING;
		c->next_prepare = 0;
	}
	/* Routes without SQL have a NULL statement: nothing to prepare. */
	while (c->state == CONN_PREPARING && c->next_prepare < o->nstatements &&
		   o->statements[c->next_prepare] == NULL)
		c->next_prepare++;
	if (c->state == CONN_PREPARING && c->next_prepare < o->nstatements)
	{
		int			i = c->next_prepare++;

		if (!PQsendPrepare(c->pg, stmt_name(i, name, sizeof(name)),
						   o->statements[i], 0, NULL))
		{
			conn_fail(c, PQerrorMessage(c->pg));
			return;
		}
		conn_flush(c);
		return;
	}
	if (!PQenterPipelineMode(c->pg))
	{
		conn_fail(c, PQerrorMessage(c->pg));
		return;
	}
	conn_become_idle(c);
}

void
conn_run_job(struct pool_conn *c, struct pool_job *job)
{
	const struct pool_options *o = &c->pool->opts;
	char		name[32];
	int			ok;

	if (o->prepared)
		ok = PQsendQueryPrepared(c->pg, stmt_name(job->stmt, name, sizeof(name)),
								 job->nparams, job->values, NULL, NULL, 0);
	else
		ok = PQsendQueryParams(c->pg, o->statements[job->stmt], job->nparams,
							   NULL, job->values, NULL, NULL, 0);
	/* Its own Sync: its own transaction, whatever else is in flight. */
	ok = ok && PQpipelineSync(c->pg);
	if (c->state != CONN_BUSY)
	{
		c->state = CONN_BUSY;
		c->head_ended = false;
	}
	else
		c->pool->pipelined++;
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

/* A setup command's results are all in (PQgetResult gave NULL). */
static void
conn_command_done(struct pool_conn *c)
{
	PGresult   *res = c->result;
	char		why[512];

	c->result = NULL;
	switch (c->state)
	{
		case CONN_CHECKING:
			if (PQresultStatus(res) != PGRES_TUPLES_OK)
				pool_first_line(why, sizeof(why), PQresultErrorMessage(res));
			else if (!c->pool->opts.check(res, why, sizeof(why)))
				;
			else
			{
				PQclear(res);
				conn_setup_next(c);
				return;
			}
			PQclear(res);
			conn_fail(c, why);
			return;
		case CONN_PREPARING:
			if (PQresultStatus(res) != PGRES_COMMAND_OK)
			{
				snprintf(why, sizeof(why), "cannot prepare statement %d: ", c->next_prepare - 1);
				pool_first_line(why + strlen(why), sizeof(why) - strlen(why), PQresultErrorMessage(res));
				PQclear(res);
				conn_fail(c, why);
				return;
			}
			PQclear(res);
			conn_setup_next(c);
			return;
		default:
			PQclear(res);
			return;
	}
}

/* A statement's first result is its answer; the rest are dropped. */
static void
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
static void
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

static void
conn_io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pool_conn *c = arg;

	(void) fd;
	if (c->state == CONN_CONNECTING)
	{
		switch (PQconnectPoll(c->pg))
		{
			case PGRES_POLLING_READING:
				if (!conn_watch(c, EV_READ))
					conn_fail(c, "cannot watch the database socket");
				return;
			case PGRES_POLLING_WRITING:
				if (!conn_watch(c, EV_WRITE))
					conn_fail(c, "cannot watch the database socket");
				return;
			case PGRES_POLLING_OK:
				if (PQsetnonblocking(c->pg, 1) != 0)
				{
					conn_fail(c, PQerrorMessage(c->pg));
					return;
				}
				conn_setup_next(c);
				return;
			default:
				conn_fail(c, PQerrorMessage(c->pg));
				return;
		}
	}

	if (what & EV_WRITE)
	{
		int			r = PQflush(c->pg);

		if (r < 0)
		{
			conn_fail(c, PQerrorMessage(c->pg));
			return;
		}
		if (r == 0 && !conn_watch(c, EV_READ))
		{
			conn_fail(c, "cannot watch the database socket");
			return;
		}
	}
	if (!(what & EV_READ))
		return;
	if (!PQconsumeInput(c->pg))
	{
		conn_fail(c, PQerrorMessage(c->pg));
		return;
	}
	if (c->state == CONN_IDLE)
	{
		PGnotify   *n;

		/* Nothing is expected; notices and notifications are dropped. */
		while ((n = PQnotifies(c->pg)) != NULL)
			PQfreemem(n);
		if (PQstatus(c->pg) == CONNECTION_BAD)
			conn_fail(c, PQerrorMessage(c->pg));
		return;
	}
	if (c->state == CONN_BUSY)
	{
		conn_read_results(c);
		return;
	}
	while (!PQisBusy(c->pg))
	{
		PGresult   *res = PQgetResult(c->pg);

		if (res == NULL)
		{
			conn_command_done(c);
			return;
		}
		conn_keep_first_result(c, res);
	}
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

static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pool_conn *c = arg;

	(void) fd;
	(void) what;
	switch (c->state)
	{
		case CONN_DOWN:
			conn_start(c);
			break;
		case CONN_BUSY:
			conn_fail(c, "a cancelled statement did not end in time");
			break;
		default:
			conn_fail(c, "timed out connecting to the database");
			break;
	}
}

/*
 * Did the server end the head job's statement with its own FATAL error
 * before any row (e.g. pg_terminate_backend, a fast shutdown,
 * idle_session_timeout)?  parleyd sends Bind/Execute/Sync; the implicit
 * transaction commits at Sync, after Execute has sent its row and
 * CommandComplete, so that statement ended before its commit; and the
 * backend exited, so no job behind it in the pipeline ran at all.
 */
static bool
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

static void
conn_fail(struct pool_conn *c, const char *why)
{
	struct pool *pool = c->pool;
	struct pool_job *jobs[CONN_PIPELINE_MAX];
	int			njobs = c->state == CONN_BUSY ? c->njobs : 0;
	bool		head_fatal = conn_head_fatal(c);
	int			delay;

	memcpy(jobs, c->jobs, sizeof(jobs[0]) * (size_t) njobs);
	pool_first_line(pool->last_error, sizeof(pool->last_error), why);
	if (c->was_up)
	{
		pool->connections_lost++;
		log_warn("database connection %d lost: %s", c->id, pool->last_error);
	}
	else
	{
		pool->connect_failures++;
		if (c->attempts == 0)
			log_warn("database connection %d failed: %s", c->id, pool->last_error);
		else
			log_debug("database connection %d failed: %s", c->id, pool->last_error);
	}

	event_del(c->io);
	evtimer_del(c->timer);
	if (c->result)
		PQclear(c->result);
	c->result = NULL;
	if (c->pg)
		PQfinish(c->pg);
	c->pg = NULL;
	c->io_fd = -1;
	c->state = CONN_DOWN;
	c->njobs = 0;
	c->nabandoned = 0;
	c->nwrites = 0;
	c->head_ended = false;
	c->cancel_sent = false;
	c->was_up = false;

	delay = BACKOFF_MIN_MS << (c->attempts < 5 ? c->attempts : 5);
	if (delay > BACKOFF_MAX_MS)
		delay = BACKOFF_MAX_MS;
	delay += rand() % (delay / 4 + 1);	/* spread reconnects out */
	c->attempts++;
	pool_timer_arm(c->timer, delay);

	for (int i = 0; i < njobs; i++)
	{
		struct pool_job *job = jobs[i];

		if (job == NULL)
			continue;			/* abandoned: answered already */
		if (conn_job_may_retry(job, head_fatal))
		{
			log_debug("database connection %d: the statement did not run; running it again", c->id);
			pool_retry_job(job);
		}
		else
		{
			struct problem p;

			problem_set(&p, 503, CODE_DB_UNAVAILABLE, "the database connection was lost");
			pool_job_finish(job, NULL, &p);
		}
	}
	if (!pool_is_up(pool))
		pool_fail_queued_jobs(pool, "no database connection is available");
}

void
conn_start(struct pool_conn *c)
{
	const char *keywords[] = {"application_name", "dbname", "client_encoding", NULL};
	const char *values[] = {"parleyd", c->pool->opts.conninfo, "UTF8", NULL};

	if (values[1] != NULL && values[1][0] == '\0')
		values[1] = NULL;
	c->pg = PQconnectStartParams(keywords, values, 1);
	if (c->pg == NULL)
	{
		conn_fail(c, "out of memory");
		return;
	}
	if (PQstatus(c->pg) == CONNECTION_BAD)
	{
		conn_fail(c, PQerrorMessage(c->pg));
		return;
	}
	PQsetNoticeProcessor(c->pg, notice_processor, c);
	c->state = CONN_CONNECTING;
	pool_timer_arm(c->timer, CONNECT_ATTEMPT_MS);
	/* libpq's first step is always a write (PGRES_POLLING_WRITING). */
	if (!conn_watch(c, EV_WRITE))
		conn_fail(c, "cannot watch the database socket");
}

bool
conn_init(struct pool *pool, struct pool_conn *c, int id)
{
	c->pool = pool;
	c->id = id;
	c->io_fd = -1;
	c->io = event_new(pool->base, -1, 0, conn_io_cb, c);
	c->timer = evtimer_new(pool->base, conn_timer_cb, c);
	return c->io != NULL && c->timer != NULL;
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

/* Shutdown: close without reconnecting.  Running jobs get a 503. */
void
conn_close(struct pool_conn *c)
{
	int			njobs = c->state == CONN_BUSY ? c->njobs : 0;

	/* Not IDLE or BUSY any more: a job submitted from a callback goes elsewhere. */
	c->state = CONN_DOWN;
	c->njobs = 0;
	for (int i = 0; i < njobs; i++)
	{
		struct pool_job *job = c->jobs[i];
		struct problem p;

		if (job == NULL)
			continue;
		problem_set(&p, 503, CODE_DB_UNAVAILABLE, "parleyd is shutting down");
		pool_job_finish(job, NULL, &p);
	}
	if (c->io)
		event_free(c->io);
	if (c->timer)
		event_free(c->timer);
	if (c->result)
		PQclear(c->result);
	if (c->pg)
		PQfinish(c->pg);
	c->io = c->timer = NULL;
	c->result = NULL;
	c->pg = NULL;
}
