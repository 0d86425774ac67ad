/*
 * pool_internal.h
 *	  What pool.c (jobs, wait queue), conn.c (one connection's state
 *	  machine) and pipeline.c (its jobs in flight) share.  Not for other
 *	  files: they use pool.h.
 */
#ifndef PARLEY_POOL_INTERNAL_H
#define PARLEY_POOL_INTERNAL_H

#include "pool.h"

enum conn_state
{
	CONN_DOWN,					/* no PGconn; the backoff timer restarts it */
	CONN_CONNECTING,			/* PQconnectPoll */
	CONN_CHECKING,				/* the check query (extension version) */
	CONN_PREPARING,				/* one PQsendPrepare per statement */
	CONN_IDLE,					/* ready; read-watched to notice a close */
	CONN_BUSY					/* jobs in flight (some may be abandoned) */
};

struct pool_conn
{
	struct pool *pool;
	int			id;
	enum conn_state state;
	PGconn	   *pg;
	struct event *io;			/* on PQsocket(pg) */
	int			io_fd;
	short		io_what;
	struct event *timer;		/* backoff, connect attempt, abandon grace */
	int			attempts;		/* failed attempts in a row */
	int			next_prepare;	/* PREPARING: statement being prepared */
	PGresult   *result;			/* first result of the head job's statement */
	bool		head_ended;		/* the head's statement ended; its Sync is next */
	bool		cancel_sent;	/* for the abandoned head */

	/*
	 * BUSY: the jobs in flight, oldest (the head, whose results come next)
	 * first; NULL where a job timed out and was answered already.
	 */
	struct pool_job *jobs[CONN_PIPELINE_MAX];
	bool		writes[CONN_PIPELINE_MAX];	/* jobs[i] is not read_only */
	int			njobs;
	int			nabandoned;		/* NULLs in jobs[]: take no new jobs */
	int			nwrites;		/* jobs in flight that are not read_only */
	bool		was_up;			/* reached IDLE since the last failure */
};

/* A registered statement; prepared as "parley_<id>". */
struct pool_stmt
{
	int			id;				/* registration order, from 0 */
	const char *name;			/* for messages */
	const char *sql;
};

struct pool
{
	struct event_base *base;
	struct pool_options opts;
	struct pool_stmt **stmts;	/* registered statements, by id */
	int			nstmts;
	bool		started;		/* pool_start(): no more statements */
	struct pool_conn *conns;
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

/* conn.c: the connection */
bool		conn_init(struct pool *pool, struct pool_conn *c, int id);
void		conn_start(struct pool_conn *c);
void		conn_close(struct pool_conn *c);
void		conn_fail(struct pool_conn *c, const char *why);
void		conn_flush(struct pool_conn *c);
void		conn_become_idle(struct pool_conn *c);
const char *conn_stmt_name(const struct pool_stmt *stmt, char *buf, size_t len);

/* pipeline.c: its jobs in flight */
void		conn_run_job(struct pool_conn *c, struct pool_job *job);
bool		conn_can_take(const struct pool_conn *c);	/* IDLE, or BUSY with room */
void		conn_fill(struct pool_conn *c);	/* take queued jobs while there is room */
void		conn_forget_jobs(struct pool_conn *c);
void		conn_abandon(struct pool_conn *c, struct pool_job *job);
void		conn_read_results(struct pool_conn *c);
void		conn_keep_first_result(struct pool_conn *c, PGresult *res);
bool		conn_head_fatal(const struct pool_conn *c);
void		conn_answer_lost_jobs(int conn_id, struct pool_job *const *jobs, int njobs,
								  bool head_fatal);

/* pool.c */
void		pool_job_finish(struct pool_job *job, PGresult *res, const struct problem *err);
struct pool_job *pool_queue_pop(struct pool *pool);
void		pool_fail_queued_jobs(struct pool *pool, const char *why);
void		pool_retry_job(struct pool_job *job);
double		pool_ms_since(const struct timespec *t0);
void		pool_first_line(char *dst, size_t dstlen, const char *msg);
void		pool_timer_arm(struct event *ev, int ms);

#endif							/* PARLEY_POOL_INTERNAL_H */
