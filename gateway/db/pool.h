/*
 * pool.h
 *	  A fixed-size pool of database connections (conn.h) driven by the
 *	  event loop: statements registered by handle, jobs, a bounded wait
 *	  queue and per-job timeouts.
 */
#ifndef PARLEY_POOL_H
#define PARLEY_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/event_struct.h>
#include <libpq-fe.h>

#include "errors.h"

struct pool;
struct pool_conn;
struct pool_job;

/*
 * A statement registered with pool_statement(): the handle a job names.
 * Opaque; valid until pool_free().
 */
struct pool_stmt;

/*
 * Called exactly once per submitted job: with the statement's result (res;
 * may be an error result, the pool clears it afterwards) or with a problem
 * when there is no result (timeout, lost connection).  The job's memory is
 * the caller's again once this is called.
 */
typedef void (*pool_done_fn) (struct pool_job *job, PGresult *res,
							  const struct problem *err);

enum pool_job_state
{
	POOL_JOB_NEW,
	POOL_JOB_QUEUED,
	POOL_JOB_RUNNING
};

struct pool_job
{
	/* Set by the caller before pool_submit(). */
	const struct pool_stmt *stmt;	/* from pool_statement() */
	int			nparams;
	const char *const *values;	/* text parameters; must live until done */
	pool_done_fn done;
	void	   *arg;

	/*
	 * Reads no row lock can hold up.  Only behind such jobs does a busy
	 * connection take more (pipeline mode): a write may wait on a row lock,
	 * and everything pipelined behind it would wait with it.
	 */
	bool		read_only;

	/* Owned by the pool while the job is submitted. */
	enum pool_job_state state;
	struct pool_job *q_prev;	/* wait queue links */
	struct pool_job *q_next;
	struct pool *pool;
	struct pool_conn *conn;
	struct event timer;
	bool		timer_set;
	bool		priority;		/* queued at the head, outside the bound */
	double		db_ms;			/* time on a connection, for the log */
	int			retries;		/* runs again after a lost connection */
	struct timespec started;
};

/*
 * Checks the result of the pool's check query on each new connection; on
 * failure writes a one-line reason and returns false.
 */
typedef bool (*pool_check_fn) (const PGresult *res, char *err, size_t errlen);

struct pool_options
{
	const char *conninfo;		/* URI or conninfo; "" for PG* defaults */
	int			size;
	int			queue_size;
	bool		prepared;		/* named statements, prepared per connection */
	int			pipeline;		/* statements in flight per connection, 1..CONFIG_PIPELINE_MAX */
	const char *check_sql;		/* run once per new connection, or NULL */
	pool_check_fn check;
	const char *label;			/* for the log: "read replica"; NULL = "database" */
};

struct pool_stats
{
	int			size;
	int			idle;
	int			busy;
	int			starting;		/* connecting, checking, preparing */
	int			down;
	int			waiting;
	uint64_t	connect_failures;
	uint64_t	connections_lost;
	uint64_t	timeouts;
	uint64_t	retries;		/* statements run again (see conn.h, lost()) */
	uint64_t	pipelined;		/* sent behind another in flight */
};

/*
 * A pool with no connection yet: register its statements with
 * pool_statement(), then pool_start() connects.  NULL when out of memory.
 */
struct pool *pool_new(struct event_base *base, const struct pool_options *opts);

/*
 * Register a statement, before pool_start(): with opts.prepared it is
 * prepared on every connection as it comes up, else sent as an unnamed
 * statement with each job.  name is for messages (a route's operationId,
 * "auth_keys"); name and sql must outlive the pool.  Returns the handle
 * jobs name, or NULL when out of memory (or after pool_start()).
 */
const struct pool_stmt *pool_statement(struct pool *pool, const char *name, const char *sql);

/* Start connecting every connection; statements are fixed from now on. */
void		pool_start(struct pool *pool);

/*
 * Make job a fresh one for statement stmt with nparams text values (none of
 * the pool's bookkeeping left from an earlier use), answered to done(arg).
 */
void		pool_job_init(struct pool_job *job, const struct pool_stmt *stmt, int nparams,
						  const char *const *values, bool read_only,
						  pool_done_fn done, void *arg);

/*
 * Run job on a connection, now or when one is free.  Returns false (and
 * fills p with a 503) when no connection is up or the queue is full; done
 * is then never called.  A priority job goes to the front of the queue and
 * ignores its bound (used by the key cache refresh).
 */
bool		pool_submit(struct pool *pool, struct pool_job *job, int timeout_ms,
						bool priority, struct problem *p);

/* Is at least one connection ready or running a statement? */
bool		pool_is_up(const struct pool *pool);

/* Has any connection ever become ready? */
bool		pool_ever_up(const struct pool *pool);

/* The last connection failure, one line ("" if none). */
const char *pool_last_error(const struct pool *pool);

void		pool_get_stats(const struct pool *pool, struct pool_stats *st);

/* Close every connection; queued and running jobs get a 503. */
void		pool_free(struct pool *pool);

#endif							/* PARLEY_POOL_H */
