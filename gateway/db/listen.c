/*
 * listen.c
 *	  The dedicated LISTEN connection: a conn.h connection of its own (LISTEN
 *	  lives in a session, so it cannot be a pooled connection).  Its setup
 *	  command is the LISTEN; then it runs one pg_notify at a time.
 *
 *	    conn:    DOWN -> CONNECTING -> SETUP -> IDLE <-> BUSY
 *	    here:                     LISTEN sent    ready   pg_notify running
 *
 *	  Notifications are handed over in every state once connected (conn.c
 *	  drains them after each read).  Every time LISTEN succeeds on a new
 *	  session the up callback runs, because notifications sent while the
 *	  connection was down are lost: the caller then fetches what is new from
 *	  the database.  A failure retries every RETRY_MS (plus up to a quarter).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "listen.h"
#include "log.h"

#define RETRY_MS 1000

static struct
{
	struct conn *conn;
	struct listen_callbacks cb;
	bool		async_commit;	/* SET synchronous_commit = off */
	bool		listening;		/* LISTEN succeeded on this session */
	bool		failing;		/* log a lost connection once */
}			ls;

static void
on_connected(void *arg)
{
	(void) arg;

	/*
	 * A transaction that notifies gets a transaction id and so a commit
	 * record; with synchronous_commit on, each batch would wait for a WAL
	 * flush of its own.  Notifications need no durability (a lost one only
	 * delays, the safety poll catches up), so this session does not wait.
	 * Not through PgBouncer in transaction mode (unnamed statements): a
	 * SET there would stay on a server connection that others then use.
	 */
	conn_setup_query(ls.conn, ls.async_commit ? "SET synchronous_commit = off; LISTEN " LISTEN_CHANNEL
					 : "LISTEN " LISTEN_CHANNEL);
}

static bool
result_ok(const PGresult *res)
{
	if (PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK)
		return true;
	log_warn("event listener: %s", PQresultErrorMessage(res));
	return false;
}

static void
on_setup_done(void *arg, const PGresult *res)
{
	(void) arg;
	if (!result_ok(res))
	{
		conn_fail(ls.conn, "LISTEN failed (a hot standby refuses it: connect to the primary)");
		return;
	}
	conn_ready(ls.conn);
}

/* IDLE (one pg_notify at a time): first after LISTEN, then after each. */
static void
on_ready(void *arg)
{
	(void) arg;
	if (!ls.listening)
	{
		if (ls.failing)
			log_info("event listener: connected again");
		ls.failing = false;
		ls.listening = true;
		ls.cb.up();
	}
	if (listen_ready())
		ls.cb.idle();
}

static void
on_done(void *arg, void *req, PGresult *res)
{
	(void) arg;
	(void) req;
	(void) result_ok(res);
}

static void
on_down(void *arg, const char *why, bool was_up)
{
	(void) arg;
	(void) was_up;
	if (!ls.failing)
		log_warn("event listener: %s; retrying every %d ms", why, RETRY_MS);
	ls.failing = true;
	ls.listening = false;
}

/* A pg_notify on a lost connection: only delayed (the safety poll). */
static void
on_lost(void *arg, void *req, bool not_run)
{
	(void) arg;
	(void) req;
	(void) not_run;
}

static void
on_notify(void *arg, const PGnotify *n)
{
	(void) arg;
	if (strcmp(n->relname, LISTEN_CHANNEL) == 0)
		ls.cb.notify(n->extra);
}

static const struct conn_ops listen_conn_ops = {
	.connected = on_connected,
	.setup_done = on_setup_done,
	.ready = on_ready,
	.done = on_done,
	.down = on_down,
	.lost = on_lost,
	.notify = on_notify,
};

bool
listen_setup(struct event_base *base, const char *conninfo, bool async_commit,
			 const struct listen_callbacks *cb)
{
	struct conn_options co = {
		.conninfo = conninfo,
		.application_name = "parleyd-events",
		.name = "event listener",
		.pipeline = 1,
		.backoff_min_ms = RETRY_MS,
		.backoff_max_ms = RETRY_MS,
	};

	ls.cb = *cb;
	ls.async_commit = async_commit;
	ls.conn = conn_new(base, &co, &listen_conn_ops, NULL);
	if (ls.conn == NULL)
		return false;
	conn_start(ls.conn);
	return true;
}

bool
listen_ready(void)
{
	return ls.conn != NULL && ls.listening && conn_get_state(ls.conn) == CONN_IDLE;
}

bool
listen_send(const char *payload)
{
	const char *values[1] = {payload};

	if (!listen_ready())
		return false;
	conn_send(ls.conn, &ls, NULL, "SELECT pg_catalog.pg_notify('" LISTEN_CHANNEL "', $1)",
			  1, values, false);
	return conn_get_state(ls.conn) == CONN_BUSY;
}

void
listen_free(void)
{
	conn_free(ls.conn);
	memset(&ls, 0, sizeof(ls));
}
