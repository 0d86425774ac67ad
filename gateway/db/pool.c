/*
 * pool.c
 *	  The database connection pool: registered statements, jobs, the
 *	  bounded wait queue, per-job timeouts.  Each connection is a conn.h
 *	  connection that the pool drives and that calls back through
 *	  pool_conn_ops; the pool's part of its setup is the check query (the
 *	  extension's version) and one prepare per registered statement
 *	  (skipped for unnamed statements, i.e. PgBouncer transaction mode).
 *
 *	  A job's timer covers its wait in the queue and its run.  A running job
 *	  that times out is answered at once; its connection cancels the
 *	  statement and drains it (conn_abandon()).
 *
 *	  Under load a job goes to an idle connection, else into the pipeline of
 *	  the busy connection with the fewest jobs in flight (up to
 *	  opts.pipeline), else into the wait queue.  A connection that can take
 *	  more (ready()) takes queued jobs, oldest first.
 *
 *	  A job on a lost connection runs again (with its timer still running)
 *	  only when conn.h says its statement did not run (not_run), at most
 *	  MAX_JOB_RETRIES times; else it gets a 503.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conn.h"
#include "log.h"
#include "pool.h"
#include "util.h"

#define BACKOFF_MIN_MS		100
#define BACKOFF_MAX_MS		1000	/* back within ~1.25 s of the database (jitter incl.) */
#define MAX_JOB_RETRIES		2		/* runs of one job after lost connections */

/* A registered statement; prepared as "parley_<id>". */
struct pool_stmt
{
	int			id;				/* registration order, from 0 */
	const char *name;			/* for messages */
	const char *sql;
	char		prepared_name[24];
};

/* The pool's side of one connection. */
struct pool_conn
{
	struct pool *pool;
	struct conn *conn;
	int			id;
	bool		checking;		/* SETUP: the check query is in flight */
	int			next_prepare;	/* SETUP: statements prepared so far */
};

struct pool
{
	struct event_base *base;
	struct pool_options opts;
	struct pool_conn *conns;
	struct pool_stmt **stmts;	/* registered statements, by id */
	int			nstmts;
	bool		started;		/* pool_start(): no more statements */
	bool		closing;		/* pool_free(): jobs in flight get a 503 */
	struct pool_job *q_head;	/* wait queue, oldest first */
	struct pool_job *q_tail;
	int			nwaiting;
	int			npriority;		/* of them, priority jobs: outside the bound */
	bool		ever_up;
	char		last_error[512];
	uint64_t	connect_failures;
	uint64_t	connections_lost;
	uint64_t	timeouts;
	uint64_t	retries;
	uint64_t	pipelined;
};

static void
queue_remove(struct pool *pool, struct pool_job *job)
{
	if (job->q_prev)
		job->q_prev->q_next = job->q_next;
	else
		pool->q_head = job->q_next;
	if (job->q_next)
		job->q_next->q_prev = job->q_prev;
	else
		pool->q_tail = job->q_prev;
	job->q_prev = job->q_next = NULL;
	pool->nwaiting--;
	pool->npriority -= job->priority;
}

static void
queue_insert(struct pool *pool, struct pool_job *job, bool at_head)
{
	if (at_head)
	{
		job->q_prev = NULL;
		job->q_next = pool->q_head;
		if (pool->q_head)
			pool->q_head->q_prev = job;
		else
			pool->q_tail = job;
		pool->q_head = job;
	}
	else
	{
		job->q_next = NULL;
		job->q_prev = pool->q_tail;
		if (pool->q_tail)
			pool->q_tail->q_next = job;
		else
			pool->q_head = job;
		pool->q_tail = job;
	}
	pool->nwaiting++;
	pool->npriority += job->priority;
}

static const char *
pool_label(const struct pool *pool)
{
	return pool->opts.label != NULL ? pool->opts.label : "database";
}

/* DOWN once pool_free() has closed it. */
static enum conn_state
pc_state(const struct pool_conn *pc)
{
	return pc->conn != NULL ? conn_get_state(pc->conn) : CONN_DOWN;
}

static void
timer_arm(struct event *ev, int ms)
{
	struct timeval tv = util_timeval_ms(ms);

	evtimer_add(ev, &tv);
}

/* The connection a new job should go to now, or NULL: wait in the queue. */
static struct pool_conn *
pick_conn(struct pool *pool)
{
	struct pool_conn *best = NULL;

	for (int i = 0; i < pool->opts.size; i++)
	{
		struct pool_conn *pc = &pool->conns[i];

		if (pc_state(pc) == CONN_IDLE)
			return pc;
		if (pc_state(pc) == CONN_BUSY && conn_can_take(pc->conn) &&
			(best == NULL || conn_in_flight(pc->conn) < conn_in_flight(best->conn)))
			best = pc;
	}
	return best;
}

/* Answer job: its statement's result, or a problem. */
static void
job_finish(struct pool_job *job, PGresult *res, const struct problem *err)
{
	if (job->timer_set)
	{
		evtimer_del(&job->timer);
		job->timer_set = false;
	}
	if (job->state == POOL_JOB_RUNNING)
		job->db_ms = util_ms_since(&job->started);
	job->state = POOL_JOB_NEW;
	job->conn = NULL;
	job->done(job, res, err);
}

static void
job_fail(struct pool_job *job, const char *why)
{
	struct problem p;

	problem_set(&p, 503, CODE_DB_UNAVAILABLE, "%s", why);
	job_finish(job, NULL, &p);
}

/* Send job on pc, which can take it (conn_can_take()). */
static void
job_run(struct pool_conn *pc, struct pool_job *job)
{
	struct pool *pool = pc->pool;

	if (conn_get_state(pc->conn) == CONN_BUSY)
		pool->pipelined++;
	job->conn = pc;
	job->state = POOL_JOB_RUNNING;
	clock_gettime(CLOCK_MONOTONIC, &job->started);
	/* May answer job at once (lost()) when the connection fails. */
	conn_send(pc->conn, job, pool->opts.prepared ? job->stmt->prepared_name : NULL,
			  job->stmt->sql, job->nparams, job->values, job->read_only);
}

static void
job_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pool_job *job = arg;
	struct pool *pool = job->pool;
	struct problem p;

	(void) fd;
	(void) what;
	job->timer_set = false;
	pool->timeouts++;
	if (job->state == POOL_JOB_QUEUED)
		queue_remove(pool, job);
	else if (job->state == POOL_JOB_RUNNING)
		conn_abandon(job->conn->conn, job);
	problem_set(&p, 503, CODE_DB_TIMEOUT, "the request took too long and was cancelled");
	job_finish(job, NULL, &p);
}

static void
fail_queued_jobs(struct pool *pool, const char *why)
{
	struct pool_job *job;

	while ((job = pool->q_head) != NULL)
	{
		queue_remove(pool, job);
		job_fail(job, why);
	}
}

/*
 * Run a job again whose statement certainly did not run to the end on a
 * connection that was lost.  It keeps its timer, so the retry still ends
 * within the request timeout, and goes to a connection that can take it
 * or to the head of the queue; with no connection up it gets the 503 it
 * would have had anyway.
 */
static void
job_retry(struct pool_job *job)
{
	struct pool *pool = job->pool;
	struct pool_conn *pc;

	job->state = POOL_JOB_NEW;
	job->conn = NULL;
	job->retries++;
	pool->retries++;
	if (!pool_is_up(pool))
	{
		job_fail(job, "the database connection was lost");
		return;
	}
	pc = pick_conn(pool);
	if (pc != NULL)
	{
		job_run(pc, job);
		return;
	}
	queue_insert(pool, job, true);
	job->state = POOL_JOB_QUEUED;
}

/* Setup: prepare the next statement, or the connection is ready. */
static void
setup_next(struct pool_conn *pc)
{
	struct pool *pool = pc->pool;

	if (pool->opts.prepared && pc->next_prepare < pool->nstmts)
	{
		const struct pool_stmt *stmt = pool->stmts[pc->next_prepare++];

		conn_setup_prepare(pc->conn, stmt->prepared_name, stmt->sql);
		return;
	}
	conn_ready(pc->conn);
}

static void
on_connected(void *arg)
{
	struct pool_conn *pc = arg;
	struct pool *pool = pc->pool;

	pc->next_prepare = 0;
	pc->checking = pool->opts.check_sql != NULL;
	if (pc->checking)
		conn_setup_query(pc->conn, pool->opts.check_sql);
	else
		setup_next(pc);
}

static void
on_setup_done(void *arg, const PGresult *res)
{
	struct pool_conn *pc = arg;
	struct pool *pool = pc->pool;
	char		why[512];

	if (pc->checking)
	{
		pc->checking = false;
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
			conn_error_line(why, sizeof(why), PQresultErrorMessage(res));
		else if (pool->opts.check(res, why, sizeof(why)))
		{
			setup_next(pc);
			return;
		}
		conn_fail(pc->conn, why);
		return;
	}
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		snprintf(why, sizeof(why), "cannot prepare statement %s: ",
				 pool->stmts[pc->next_prepare - 1]->name);
		conn_error_line(why + strlen(why), sizeof(why) - strlen(why), PQresultErrorMessage(res));
		conn_fail(pc->conn, why);
		return;
	}
	setup_next(pc);
}

/* pc can take more: queued jobs, oldest first, while there is room. */
static void
on_ready(void *arg)
{
	struct pool_conn *pc = arg;
	struct pool *pool = pc->pool;
	struct pool_job *job;

	if (!pool->ever_up && conn_get_state(pc->conn) == CONN_IDLE)
	{
		log_info("%s connection ready", pool_label(pool));
		pool->ever_up = true;
	}
	while (conn_can_take(pc->conn) && (job = pool->q_head) != NULL)
	{
		queue_remove(pool, job);
		job_run(pc, job);
	}
}

static void
on_done(void *arg, void *req, PGresult *res)
{
	(void) arg;
	job_finish(req, res, NULL);
}

static void
on_down(void *arg, const char *why, bool was_up)
{
	struct pool_conn *pc = arg;
	struct pool *pool = pc->pool;

	snprintf(pool->last_error, sizeof(pool->last_error), "%s", why);
	if (was_up)
	{
		pool->connections_lost++;
		log_warn("%s connection %d lost: %s", pool_label(pool), pc->id, why);
	}
	else
	{
		pool->connect_failures++;
		if (conn_failures(pc->conn) == 1)
			log_warn("%s connection %d failed: %s", pool_label(pool), pc->id, why);
		else
			log_debug("%s connection %d failed: %s", pool_label(pool), pc->id, why);
	}
	/* Its jobs in flight follow (on_lost): with none up, they fail too. */
	if (!pool_is_up(pool))
		fail_queued_jobs(pool, "no database connection is available");
}

static void
on_lost(void *arg, void *req, bool not_run)
{
	struct pool_conn *pc = arg;
	struct pool_job *job = req;

	if (pc->pool->closing)
		job_fail(job, "parleyd is shutting down");
	else if (not_run && job->retries < MAX_JOB_RETRIES)
	{
		log_debug("%s connection %d: the statement did not run; running it again",
				  pool_label(pc->pool), pc->id);
		job_retry(job);
	}
	else
		job_fail(job, "the database connection was lost");
}

static const struct conn_ops pool_conn_ops = {
	.connected = on_connected,
	.setup_done = on_setup_done,
	.ready = on_ready,
	.done = on_done,
	.down = on_down,
	.lost = on_lost,
	.notify = NULL,				/* nothing LISTENs here: dropped */
};

struct pool *
pool_new(struct event_base *base, const struct pool_options *opts)
{
	struct pool *pool = calloc(1, sizeof(*pool));

	if (pool == NULL)
		return NULL;
	pool->base = base;
	pool->opts = *opts;
	pool->conns = calloc(opts->size, sizeof(*pool->conns));
	if (pool->conns == NULL)
	{
		free(pool);
		return NULL;
	}
	for (int i = 0; i < opts->size; i++)
	{
		struct pool_conn *pc = &pool->conns[i];
		char		name[48];
		struct conn_options co = {
			.conninfo = opts->conninfo,
			.application_name = "parleyd",
			.name = name,
			.pipeline = opts->pipeline,
			.backoff_min_ms = BACKOFF_MIN_MS,
			.backoff_max_ms = BACKOFF_MAX_MS,
		};

		snprintf(name, sizeof(name), "%s connection %d", pool_label(pool), i);
		pc->pool = pool;
		pc->id = i;
		pc->conn = conn_new(base, &co, &pool_conn_ops, pc);
		if (pc->conn == NULL)
		{
			pool_free(pool);
			return NULL;
		}
	}
	return pool;
}

const struct pool_stmt *
pool_statement(struct pool *pool, const char *name, const char *sql)
{
	struct pool_stmt *stmt;
	struct pool_stmt **stmts;

	if (pool->started)
	{
		log_error("statement %s registered after the pool started", name);
		return NULL;
	}
	stmts = realloc(pool->stmts, sizeof(*stmts) * (size_t) (pool->nstmts + 1));
	if (stmts == NULL)
		return NULL;
	pool->stmts = stmts;
	stmt = malloc(sizeof(*stmt));
	if (stmt == NULL)
		return NULL;
	stmt->id = pool->nstmts;
	stmt->name = name;
	stmt->sql = sql;
	snprintf(stmt->prepared_name, sizeof(stmt->prepared_name), "parley_%d", stmt->id);
	pool->stmts[pool->nstmts++] = stmt;
	return stmt;
}

void
pool_start(struct pool *pool)
{
	pool->started = true;
	for (int i = 0; i < pool->opts.size; i++)
		conn_start(pool->conns[i].conn);
}

void
pool_job_init(struct pool_job *job, const struct pool_stmt *stmt, int nparams,
			  const char *const *values, bool read_only, pool_done_fn done, void *arg)
{
	memset(job, 0, sizeof(*job));
	job->stmt = stmt;
	job->nparams = nparams;
	job->values = values;
	job->read_only = read_only;
	job->done = done;
	job->arg = arg;
}

bool
pool_submit(struct pool *pool, struct pool_job *job, int timeout_ms, bool priority,
			struct problem *p)
{
	job->pool = pool;
	job->conn = NULL;
	job->db_ms = 0;
	job->retries = 0;
	job->timer_set = false;
	job->priority = priority;
	if (!pool_is_up(pool))
	{
		problem_set(p, 503, CODE_DB_UNAVAILABLE, "no database connection is available");
		return false;
	}
	if (pool->q_head == NULL)
	{
		struct pool_conn *pc = pick_conn(pool);

		if (pc != NULL)
		{
			evtimer_assign(&job->timer, pool->base, job_timer_cb, job);
			timer_arm(&job->timer, timeout_ms);
			job->timer_set = true;
			job_run(pc, job);
			return true;
		}
	}
	/* The bound is the clients': a key refresh waiting does not take a place. */
	if (!priority && pool->nwaiting - pool->npriority >= pool->opts.queue_size)
	{
		problem_set(p, 503, CODE_DB_UNAVAILABLE, "too many requests are waiting for the database");
		return false;
	}
	queue_insert(pool, job, priority);
	job->state = POOL_JOB_QUEUED;
	evtimer_assign(&job->timer, pool->base, job_timer_cb, job);
	timer_arm(&job->timer, timeout_ms);
	job->timer_set = true;
	return true;
}

bool
pool_is_up(const struct pool *pool)
{
	for (int i = 0; i < pool->opts.size; i++)
	{
		enum conn_state s = pc_state(&pool->conns[i]);

		if (s == CONN_IDLE || s == CONN_BUSY)
			return true;
	}
	return false;
}

bool
pool_ever_up(const struct pool *pool)
{
	return pool->ever_up;
}

const char *
pool_last_error(const struct pool *pool)
{
	return pool->last_error;
}

void
pool_get_stats(const struct pool *pool, struct pool_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->size = pool->opts.size;
	for (int i = 0; i < pool->opts.size; i++)
	{
		switch (pc_state(&pool->conns[i]))
		{
			case CONN_IDLE:
				st->idle++;
				break;
			case CONN_BUSY:
				st->busy++;
				break;
			case CONN_DOWN:
				st->down++;
				break;
			default:
				st->starting++;
				break;
		}
	}
	st->waiting = pool->nwaiting;
	st->connect_failures = pool->connect_failures;
	st->connections_lost = pool->connections_lost;
	st->timeouts = pool->timeouts;
	st->retries = pool->retries;
	st->pipelined = pool->pipelined;
}

void
pool_free(struct pool *pool)
{
	if (pool == NULL)
		return;
	pool->closing = true;
	for (int i = 0; i < pool->opts.size; i++)
	{
		/* Its jobs get their 503 (on_lost); one may be submitted again. */
		conn_free(pool->conns[i].conn);
		pool->conns[i].conn = NULL;
	}
	fail_queued_jobs(pool, "parleyd is shutting down");
	for (int i = 0; i < pool->nstmts; i++)
		free(pool->stmts[i]);
	free(pool->stmts);
	free(pool->conns);
	free(pool);
}
