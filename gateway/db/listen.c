/*
 * listen.c
 *	  The dedicated LISTEN connection: a small state machine on the event
 *	  loop, like a pool connection but with its own session (LISTEN lives
 *	  in a session, so it cannot be a pooled connection).
 *
 *	    DOWN -> CONNECTING -> LISTENING (LISTEN sent) -> IDLE <-> NOTIFYING
 *	      ^______________ any failure (retry after 1 s) ______|
 *
 *	  Notifications are read in every state once connected: the socket
 *	  keeps a read watch, and PQnotifies() is drained after each
 *	  PQconsumeInput().  On every (re)connect the up callback runs, because
 *	  notifications sent while the connection was down are lost: the
 *	  caller then fetches what is new from the database.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "listen.h"
#include "log.h"
#include "resolve.h"

#define RETRY_MS 1000

enum listen_state
{
	LS_DOWN,
	LS_CONNECTING,
	LS_LISTENING,
	LS_IDLE,
	LS_NOTIFYING
};

static struct
{
	struct event_base *base;
	char	   *conninfo;
	struct listen_callbacks cb;
	PGconn	   *pg;
	enum listen_state state;
	struct event *io;
	short		io_what;
	int			io_fd;
	struct event *retry;
	bool		failing;		/* log a lost connection once */
	bool		async_commit;	/* SET synchronous_commit = off */
}			ls;

static void listen_io_cb(evutil_socket_t fd, short what, void *arg);

/* Watch the socket for what; the event is reused, never freed mid-callback. */
static void
listen_watch(short what)
{
	int			fd = PQsocket(ls.pg);

	if (ls.io_fd == fd && ls.io_what == what && event_pending(ls.io, EV_READ | EV_WRITE, NULL))
		return;
	event_del(ls.io);
	event_assign(ls.io, ls.base, fd, what | EV_PERSIST, listen_io_cb, NULL);
	ls.io_fd = fd;
	ls.io_what = what;
	event_add(ls.io, NULL);
}

static void
listen_fail(const char *why)
{
	bool		was_up = ls.state != LS_DOWN && ls.state != LS_CONNECTING;

	if (!ls.failing)
		log_warn("event listener: %s; retrying every %d ms", why, RETRY_MS);
	ls.failing = true;
	event_del(ls.io);
	ls.io_fd = -1;
	resolve_failed(ls.pg, was_up);
	if (ls.pg != NULL)
		PQfinish(ls.pg);
	ls.pg = NULL;
	ls.state = LS_DOWN;
	{
		struct timeval tv = {RETRY_MS / 1000, (RETRY_MS % 1000) * 1000};

		evtimer_add(ls.retry, &tv);
	}
}

static void
listen_start(void)
{
	bool		wait;

	ls.pg = resolve_connect_start(ls.conninfo, "parleyd-events", &wait);
	if (ls.pg == NULL && wait)
	{
		/* The database host's first lookup has not answered yet. */
		struct timeval tv = {0, 50 * 1000};

		evtimer_add(ls.retry, &tv);
		return;
	}
	if (ls.pg == NULL || PQstatus(ls.pg) == CONNECTION_BAD)
	{
		listen_fail(ls.pg ? PQerrorMessage(ls.pg) : "out of memory");
		return;
	}
	ls.state = LS_CONNECTING;
	listen_watch(EV_WRITE);
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void) fd;
	(void) what;
	(void) arg;
	listen_start();
}

/* Hand every notification that arrived to the callback. */
static void
drain_notifies(void)
{
	PGnotify   *n;

	while ((n = PQnotifies(ls.pg)) != NULL)
	{
		if (strcmp(n->relname, LISTEN_CHANNEL) == 0)
			ls.cb.notify(n->extra);
		PQfreemem(n);
	}
}

/* Read every result of the running statement; false on failure. */
static bool
collect_results(bool *done)
{
	PGresult   *res;
	bool		ok = true;

	*done = false;
	while (!PQisBusy(ls.pg))
	{
		res = PQgetResult(ls.pg);
		if (res == NULL)
		{
			*done = true;
			return ok;
		}
		if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		{
			log_warn("event listener: %s", PQresultErrorMessage(res));
			ok = false;
		}
		PQclear(res);
	}
	return ok;
}

static void
on_connected(void)
{
	/*
	 * A transaction that notifies gets a transaction id and so a commit
	 * record; with synchronous_commit on, each batch would wait for a WAL
	 * flush of its own.  Notifications need no durability (a lost one only
	 * delays, the safety poll catches up), so this session does not wait.
	 * Not through PgBouncer in transaction mode (unnamed statements): a
	 * SET there would stay on a server connection that others then use.
	 */
	if (PQsetnonblocking(ls.pg, 1) != 0 ||
		!PQsendQuery(ls.pg, ls.async_commit ? "SET synchronous_commit = off; LISTEN " LISTEN_CHANNEL
					 : "LISTEN " LISTEN_CHANNEL))
	{
		listen_fail(PQerrorMessage(ls.pg));
		return;
	}
	ls.state = LS_LISTENING;
	listen_watch(PQflush(ls.pg) == 1 ? EV_READ | EV_WRITE : EV_READ);
}

static void
listen_io_cb(evutil_socket_t fd, short what, void *arg)
{
	bool		done;

	(void) fd;
	(void) arg;
	if (ls.state == LS_CONNECTING)
	{
		switch (PQconnectPoll(ls.pg))
		{
			case PGRES_POLLING_READING:
				listen_watch(EV_READ);
				return;
			case PGRES_POLLING_WRITING:
				listen_watch(EV_WRITE);
				return;
			case PGRES_POLLING_OK:
				on_connected();
				return;
			default:
				listen_fail(PQerrorMessage(ls.pg));
				return;
		}
	}
	if ((what & EV_WRITE) && PQflush(ls.pg) == 0)
		listen_watch(EV_READ);
	if (!(what & EV_READ))
		return;
	if (!PQconsumeInput(ls.pg))
	{
		listen_fail(PQerrorMessage(ls.pg));
		return;
	}
	drain_notifies();
	if (ls.state == LS_LISTENING || ls.state == LS_NOTIFYING)
	{
		bool		ok = collect_results(&done);

		if (!ok && ls.state == LS_LISTENING)
		{
			listen_fail("LISTEN failed (a hot standby refuses it: connect to the primary)");
			return;
		}
		if (!done)
			return;
		if (ls.state == LS_LISTENING)
		{
			if (ls.failing)
				log_info("event listener: connected again");
			ls.failing = false;
			ls.state = LS_IDLE;
			ls.cb.up();
		}
		else
			ls.state = LS_IDLE;
		drain_notifies();
		if (ls.state == LS_IDLE)
			ls.cb.idle();
	}
}

bool
listen_setup(struct event_base *base, const char *conninfo, bool async_commit,
			 const struct listen_callbacks *cb)
{
	ls.base = base;
	ls.cb = *cb;
	ls.async_commit = async_commit;
	ls.conninfo = strdup(conninfo);
	ls.retry = evtimer_new(base, retry_cb, NULL);
	ls.io = event_new(base, -1, 0, listen_io_cb, NULL);
	ls.io_fd = -1;
	if (ls.conninfo == NULL || ls.retry == NULL || ls.io == NULL)
		return false;
	listen_start();
	return true;
}

bool
listen_ready(void)
{
	return ls.state == LS_IDLE;
}

bool
listen_is_up(void)
{
	return ls.state == LS_IDLE || ls.state == LS_NOTIFYING;
}

bool
listen_send(const char *payload)
{
	const char *values[1] = {payload};

	if (ls.state != LS_IDLE)
		return false;
	if (!PQsendQueryParams(ls.pg, "SELECT pg_catalog.pg_notify('" LISTEN_CHANNEL "', $1)",
						   1, NULL, values, NULL, NULL, 0))
	{
		listen_fail(PQerrorMessage(ls.pg));
		return false;
	}
	ls.state = LS_NOTIFYING;
	listen_watch(PQflush(ls.pg) == 1 ? EV_READ | EV_WRITE : EV_READ);
	return true;
}

void
listen_free(void)
{
	if (ls.io != NULL)
		event_free(ls.io);
	if (ls.retry != NULL)
		event_free(ls.retry);
	if (ls.pg != NULL)
		PQfinish(ls.pg);
	free(ls.conninfo);
	memset(&ls, 0, sizeof(ls));
}
