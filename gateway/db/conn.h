/*
 * conn.h
 *	  One non-blocking libpq connection driven by the event loop: it
 *	  connects (the address from resolve.c), runs its owner's setup
 *	  commands, then runs statements in libpq pipeline mode, cancels the
 *	  ones its owner abandons, and after any failure reconnects with
 *	  backoff.
 *
 *	    DOWN -> CONNECTING -> SETUP -> IDLE <-> BUSY
 *	      ^______ any failure (retry timer) ______|
 *
 *	  It knows nothing of its owner (the pool, the LISTEN connection): the
 *	  owner drives it through these functions and hears back through
 *	  struct conn_ops, the way PgBouncer's sbuf calls back through
 *	  sbuf_cb_t.  A statement in flight is the owner's opaque req pointer.
 *
 *	  Re-entrancy: any conn_ops callback may call any function here on the
 *	  same connection (send, fail, ...) except conn_free(); the connection
 *	  checks its state after each callback.
 */
#ifndef PARLEY_CONN_H
#define PARLEY_CONN_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "config.h"

/* Most statements one connection may have in flight (pipeline mode). */
#define CONN_PIPELINE_MAX CONFIG_PIPELINE_MAX

enum conn_state
{
	CONN_DOWN,					/* no PGconn; the retry timer restarts it */
	CONN_CONNECTING,			/* PQconnectPoll */
	CONN_SETUP,					/* the owner's setup commands (check, prepares, LISTEN) */
	CONN_IDLE,					/* pipeline mode, nothing in flight; read-watched */
	CONN_BUSY					/* statements in flight (some may be abandoned) */
};

struct conn;

/*
 * What a connection tells its owner.  arg is conn_new()'s.  Every member
 * but notify must be set.
 */
struct conn_ops
{
	/*
	 * CONNECTING -> SETUP: the session is established.  Send a setup
	 * command (conn_setup_query(), conn_setup_prepare()) or conn_ready().
	 */
	void		(*connected) (void *arg);

	/*
	 * SETUP: a setup command's results are all in; res is the first error
	 * among them, else the first (NULL if none; cleared after the call).
	 * Send the next command, or conn_ready(), or conn_fail().
	 */
	void		(*setup_done) (void *arg, const PGresult *res);

	/*
	 * The connection can take a statement now: it became IDLE, or a
	 * statement ended and conn_can_take() holds.
	 */
	void		(*ready) (void *arg);

	/*
	 * req's transaction is over (its Sync came back): res is its
	 * statement's first result, maybe an error (cleared after the call).
	 * Never called for an abandoned req.
	 */
	void		(*done) (void *arg, void *req, PGresult *res);

	/*
	 * The connection failed and is DOWN, its retry timer armed.  why is one
	 * line; was_up: it had reached IDLE since the last failure.  lost() then
	 * follows for each req that was in flight.
	 */
	void		(*down) (void *arg, const char *why, bool was_up);

	/*
	 * A req in flight when the connection failed (after down()) or was
	 * freed.  not_run: its statement certainly did not run to its commit
	 * (libpq never sent it, or the server ended the head statement with its
	 * own FATAL before any row, so nothing behind it ran either); it may
	 * run again elsewhere.  Otherwise it may or may not have committed.
	 */
	void		(*lost) (void *arg, void *req, bool not_run);

	/* A notification (in any state once connected); NULL: dropped. */
	void		(*notify) (void *arg, const PGnotify *n);
};

struct conn_options
{
	const char *conninfo;		/* URI or conninfo; "" for PG* defaults (copied) */
	const char *application_name;	/* (not copied) */
	const char *name;			/* for the log: "database connection 3" (copied) */
	int			pipeline;		/* statements in flight, 1..CONN_PIPELINE_MAX */
	int			backoff_min_ms; /* retry delay after the first failure */
	int			backoff_max_ms; /* doubling up to this; plus up to 1/4 at random */
};

/* A DOWN connection; conn_start() connects.  NULL when out of memory. */
struct conn *conn_new(struct event_base *base, const struct conn_options *opts,
					  const struct conn_ops *ops, void *arg);

/* DOWN: start connecting now (later ones are the retry timer's). */
void		conn_start(struct conn *c);

/* SETUP: send a (simple-protocol) command; setup_done() follows. */
void		conn_setup_query(struct conn *c, const char *sql);

/* SETUP: prepare statement name; setup_done() follows. */
void		conn_setup_prepare(struct conn *c, const char *name, const char *sql);

/* SETUP -> IDLE: enter pipeline mode; ready() follows. */
void		conn_ready(struct conn *c);

/*
 * IDLE, or BUSY with room: no abandoned statement waits, none in flight
 * is a write (a write may wait on a row lock, and what is pipelined
 * behind it would wait with it), fewer than opts.pipeline in flight.
 */
bool		conn_can_take(const struct conn *c);

/*
 * When conn_can_take(): send req's statement with its own Sync (its own
 * transaction): the prepared statement name, or sql unnamed when name is
 * NULL, with nparams text values (copied by libpq).  done() answers it,
 * or lost() if the connection fails first (maybe from within this call).
 */
void		conn_send(struct conn *c, void *req, const char *name, const char *sql,
					  int nparams, const char *const *values, bool read_only);

/*
 * req was answered by its owner (it timed out): drop its result when it
 * comes, and cancel its statement once it is the one the server runs.
 * The connection takes nothing new meanwhile, and fails if the statement
 * does not end within a grace period.
 */
void		conn_abandon(struct conn *c, void *req);

/* Drop the connection (down() and lost() follow) and retry after backoff. */
void		conn_fail(struct conn *c, const char *why);

enum conn_state conn_get_state(const struct conn *c);

/* Statements in flight (BUSY), abandoned ones included. */
int			conn_in_flight(const struct conn *c);

/* Failed attempts in a row (1 in down() of the first failure). */
int			conn_failures(const struct conn *c);

/* First line of a libpq message, without its newline ("" for NULL). */
void		conn_error_line(char *dst, size_t dstlen, const char *msg);

/*
 * Close for good, not from a callback.  Each req in flight gets lost()
 * with not_run false, from a connection already DOWN.
 */
void		conn_free(struct conn *c);

#endif							/* PARLEY_CONN_H */
