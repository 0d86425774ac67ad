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
 *	  Then the connection enters libpq pipeline mode and is IDLE.  Idle
 *	  connections keep a read watch so a server that goes away is noticed
 *	  at once, not on the next request.  BUSY, the jobs in flight, their
 *	  results, cancels and what becomes of them when the connection is lost
 *	  are pipeline.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "pool_internal.h"
#include "resolve.h"

#define BACKOFF_MIN_MS		100
#define BACKOFF_MAX_MS		1000	/* back within ~1.25 s of the database (jitter incl.) */
#define CONNECT_ATTEMPT_MS	5000	/* PQconnectPoll has no timeout of its own */
#define RESOLVE_WAIT_MS		50		/* until the first lookup of the host answers */

static void conn_io_cb(evutil_socket_t fd, short what, void *arg);
static void conn_timer_cb(evutil_socket_t fd, short what, void *arg);
static void conn_setup_next(struct pool_conn *c);

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
void
conn_flush(struct pool_conn *c)
{
	int			r = PQflush(c->pg);

	if (r < 0)
		conn_fail(c, PQerrorMessage(c->pg));
	else if (!conn_watch(c, r == 1 ? (EV_READ | EV_WRITE) : EV_READ))
		conn_fail(c, "cannot watch the database socket");
}

const char *
conn_stmt_name(const struct pool_stmt *stmt, char *buf, size_t len)
{
	snprintf(buf, len, "parley_%d", stmt->id);
	return buf;
}

/* Ready: watch for a server-side close and take queued work. */
void
conn_become_idle(struct pool_conn *c)
{
	struct pool *pool = c->pool;

	c->state = CONN_IDLE;
	conn_forget_jobs(c);
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
	const struct pool *pool = c->pool;
	const struct pool_options *o = &pool->opts;
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
	if (c->state == CONN_PREPARING && c->next_prepare < pool->nstmts)
	{
		const struct pool_stmt *stmt = pool->stmts[c->next_prepare++];

		if (!PQsendPrepare(c->pg, conn_stmt_name(stmt, name, sizeof(name)),
						   stmt->sql, 0, NULL))
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
				snprintf(why, sizeof(why), "cannot prepare statement %s: ",
						 c->pool->stmts[c->next_prepare - 1]->name);
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

void
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
	resolve_failed(c->pg, c->was_up);	/* the database may have moved behind its name */
	if (c->pg)
		PQfinish(c->pg);
	c->pg = NULL;
	c->io_fd = -1;
	c->state = CONN_DOWN;
	conn_forget_jobs(c);
	c->was_up = false;

	delay = BACKOFF_MIN_MS << (c->attempts < 5 ? c->attempts : 5);
	if (delay > BACKOFF_MAX_MS)
		delay = BACKOFF_MAX_MS;
	delay += rand() % (delay / 4 + 1);	/* spread reconnects out */
	c->attempts++;
	pool_timer_arm(c->timer, delay);

	conn_answer_lost_jobs(c->id, jobs, njobs, head_fatal);
	if (!pool_is_up(pool))
		pool_fail_queued_jobs(pool, "no database connection is available");
}

void
conn_start(struct pool_conn *c)
{
	bool		wait;

	c->pg = resolve_connect_start(c->pool->opts.conninfo, "parleyd", &wait);
	if (c->pg == NULL && wait)
	{
		/* The database host's first lookup has not answered yet. */
		pool_timer_arm(c->timer, RESOLVE_WAIT_MS);
		return;
	}
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

/* Shutdown: close without reconnecting.  Running jobs get a 503. */
void
conn_close(struct pool_conn *c)
{
	int			njobs = c->state == CONN_BUSY ? c->njobs : 0;

	/* Not IDLE or BUSY any more: a job submitted from a callback goes elsewhere. */
	c->state = CONN_DOWN;
	conn_forget_jobs(c);
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
