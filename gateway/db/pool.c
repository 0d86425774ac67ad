/*
 * pool.c
 *	  The database connection pool: jobs, the bounded wait queue, per-job
 *	  timeouts.  The connections themselves are conn.c.
 *
 *	  A job's timer covers its wait in the queue and its run.  A running job
 *	  that times out is answered at once; its connection cancels the
 *	  statement and drains it (conn_abandon()).
 *
 *	  Under load a job goes to an idle connection, else into the pipeline of
 *	  the busy connection with the fewest jobs in flight (up to
 *	  opts.pipeline), else into the wait queue.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "pool_internal.h"

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

struct pool_job *
pool_queue_pop(struct pool *pool)
{
	struct pool_job *job = pool->q_head;

	if (job != NULL)
		queue_remove(pool, job);
	return job;
}

double
pool_ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1e3 + (now.tv_nsec - t0->tv_nsec) / 1e6;
}

/* First line of a libpq message, without the trailing newline. */
void
pool_first_line(char *dst, size_t dstlen, const char *msg)
{
	size_t		n = strcspn(msg ? msg : "", "\n");

	if (n >= dstlen)
		n = dstlen - 1;
	memcpy(dst, msg ? msg : "", n);
	dst[n] = '\0';
}

void
pool_timer_arm(struct event *ev, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	evtimer_add(ev, &tv);
}

/* The connection a new job should go to now, or NULL: wait in the queue. */
static struct pool_conn *
pick_conn(struct pool *pool)
{
	struct pool_conn *best = NULL;

	for (int i = 0; i < pool->opts.size; i++)
	{
		struct pool_conn *c = &pool->conns[i];

		if (c->state == CONN_IDLE)
			return c;
		if (conn_can_take(c) && (best == NULL || c->njobs < best->njobs))
			best = c;
	}
	return best;
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
	if (job->state == JOB_QUEUED)
		queue_remove(pool, job);
	else if (job->state == JOB_RUNNING)
		conn_abandon(job->conn, job);
	problem_set(&p, 503, CODE_DB_TIMEOUT, "the request took too long and was cancelled");
	pool_job_finish(job, NULL, &p);
}

void
pool_job_finish(struct pool_job *job, PGresult *res, const struct problem *err)
{
	if (job->timer_set)
	{
		evtimer_del(&job->timer);
		job->timer_set = false;
	}
	if (job->state == JOB_RUNNING)
		job->db_ms = pool_ms_since(&job->started);
	job->state = JOB_NEW;
	job->conn = NULL;
	job->done(job, res, err);
}

void
pool_fail_queued_jobs(struct pool *pool, const char *why)
{
	struct pool_job *job;
	struct problem p;

	problem_set(&p, 503, CODE_DB_UNAVAILABLE, "%s", why);
	while ((job = pool->q_head) != NULL)
	{
		queue_remove(pool, job);
		pool_job_finish(job, NULL, &p);
	}
}

/*
 * Run a job again whose statement certainly did not run to the end on a
 * connection that was lost (conn.c decides that).  It keeps its timer, so
 * the retry still ends within the request timeout, and goes to an idle
 * connection or to the head of the queue; with no connection up it gets
 * the 503 it would have had anyway.
 */
void
pool_retry_job(struct pool_job *job)
{
	struct pool *pool = job->pool;
	struct problem p;

	job->state = JOB_NEW;
	job->conn = NULL;
	job->retries++;
	pool->retries++;
	if (pool_is_up(pool))
	{
		struct pool_conn *c = pick_conn(pool);

		if (c != NULL)
		{
			conn_run_job(c, job);
			return;
		}
		queue_insert(pool, job, true);
		job->state = JOB_QUEUED;
		return;
	}
	problem_set(&p, 503, CODE_DB_UNAVAILABLE, "the database connection was lost");
	pool_job_finish(job, NULL, &p);
}

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
		if (!conn_init(pool, &pool->conns[i], i))
		{
			pool->opts.size = i + 1;
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
	pool->stmts[pool->nstmts++] = stmt;
	return stmt;
}

void
pool_start(struct pool *pool)
{
	pool->started = true;
	for (int i = 0; i < pool->opts.size; i++)
		conn_start(&pool->conns[i]);
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
		struct pool_conn *c = pick_conn(pool);

		if (c != NULL)
		{
			evtimer_assign(&job->timer, pool->base, job_timer_cb, job);
			pool_timer_arm(&job->timer, timeout_ms);
			job->timer_set = true;
			conn_run_job(c, job);
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
	job->state = JOB_QUEUED;
	evtimer_assign(&job->timer, pool->base, job_timer_cb, job);
	pool_timer_arm(&job->timer, timeout_ms);
	job->timer_set = true;
	return true;
}

bool
pool_is_up(const struct pool *pool)
{
	for (int i = 0; i < pool->opts.size; i++)
		if (pool->conns[i].state == CONN_IDLE || pool->conns[i].state == CONN_BUSY)
			return true;
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
		switch (pool->conns[i].state)
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
	for (int i = 0; i < pool->opts.size; i++)
		conn_close(&pool->conns[i]);
	pool_fail_queued_jobs(pool, "parleyd is shutting down");
	for (int i = 0; i < pool->nstmts; i++)
		free(pool->stmts[i]);
	free(pool->stmts);
	free(pool->conns);
	free(pool);
}
