/*
 * conn.c
 *	  One database connection: a state machine driven by its socket (see
 *	  conn.h for the states and the owner's callbacks).
 *
 *	  CONNECTING follows PQconnectPoll, with a deadline of its own (libpq
 *	  has none in non-blocking mode).  SETUP runs the owner's commands one
 *	  at a time.  Then the connection enters libpq pipeline mode and is
 *	  IDLE.  Once connected the socket is always read-watched, so a server
 *	  that goes away is noticed at once, not on the next statement, and
 *	  notifications are handed to the owner in every state.
 *
 *	  Pipeline mode: every statement is followed by its own Sync, so each
 *	  is its own transaction, committed before its answer.  A busy
 *	  connection takes more statements (up to opts.pipeline), but only
 *	  behind reads: a write may wait on a row lock, and what is pipelined
 *	  behind it would wait too.  The server finds the next statement
 *	  waiting when it finishes one, instead of sleeping until the gateway
 *	  has read the answer and sent the next.  Results come back in order;
 *	  a statement is answered at its Sync (PGRES_PIPELINE_SYNC), that is
 *	  after its commit.  With one statement in flight the bytes on the wire
 *	  are those of PQsendQueryPrepared outside pipeline mode.
 *
 *	  Cancelling: libpq 15 has no non-blocking cancel (PQcancelStart is
 *	  libpq 17), and PQcancel() opens a new connection and waits, so it runs
 *	  on a short-lived detached thread with its own PGcancel object; the
 *	  event loop never blocks.  If the abandoned statement has not ended
 *	  within a grace period the connection is dropped.  In a pipeline the
 *	  cancel waits until the abandoned statement is the head, the one the
 *	  server runs, and the connection takes no new statements meanwhile.
 *
 *	  A lost connection and its statements: lost() says not_run only when
 *	  a statement certainly did not run to the end, so it cannot have
 *	  committed (head_fatal(), or libpq refused to send it).  Any other loss
 *	  mid-statement may or may not have committed, and only the client can
 *	  resolve that (a message_post retried with its client_msg_id answers
 *	  the stored message).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "log.h"
#include "resolve.h"
#include "util.h"

#define CONNECT_ATTEMPT_MS	5000	/* PQconnectPoll has no timeout of its own */
#define RESOLVE_WAIT_MS		50		/* until the first lookup of the host answers */
#define ABANDON_GRACE_MS	5000	/* after a cancel, before dropping */

/* A statement in flight. */
struct conn_slot
{
	void	   *req;			/* the owner's */
	bool		write;			/* not read_only */
	bool		sent;			/* libpq accepted it */
	bool		abandoned;		/* answered by the owner already */
};

struct conn
{
	struct event_base *base;
	struct conn_options opts;	/* conninfo and name: see below */
	char	   *conninfo;		/* our copies */
	char	   *name;
	struct conn_ops ops;
	void	   *arg;
	enum conn_state state;
	PGconn	   *pg;				/* NULL when DOWN */
	struct event *io;			/* on PQsocket(pg) */
	int			io_fd;
	short		io_what;
	struct event *timer;		/* retry, connect attempt, abandon grace */
	int			attempts;		/* failed attempts in a row */
	bool		was_up;			/* reached IDLE since the last failure */

	/*
	 * SETUP: the command's kept result.  BUSY: the head statement's first
	 * result (the answer; later ones are dropped).
	 */
	PGresult   *result;
	bool		head_ended;		/* the head's statement ended; its Sync is next */
	bool		cancel_sent;	/* for the abandoned head */

	/*
	 * BUSY: the statements in flight, oldest (the head, whose results come
	 * next) first.  Not BUSY: nslots is 0.
	 */
	struct conn_slot slots[CONN_PIPELINE_MAX];
	int			nslots;
	int			nabandoned;		/* abandoned slots: take nothing new */
	int			nwrites;		/* slots that are not read_only */
};

static void conn_io_cb(evutil_socket_t fd, short what, void *arg);

void
conn_error_line(char *dst, size_t dstlen, const char *msg)
{
	size_t		n = strcspn(msg ? msg : "", "\n");

	if (n >= dstlen)
		n = dstlen - 1;
	memcpy(dst, msg ? msg : "", n);
	dst[n] = '\0';
}

static void
timer_arm(struct event *ev, int ms)
{
	struct timeval tv = util_timeval_ms(ms);

	evtimer_add(ev, &tv);
}

/* libpq prints notices to stderr by default; route them to the log. */
static void
notice_processor(void *arg, const char *message)
{
	struct conn *c = arg;
	char		line[512];

	conn_error_line(line, sizeof(line), message);
	log_debug("%s: %s", c->opts.name, line);
}

/* Watch the socket for what (EV_READ and/or EV_WRITE); the event is reused. */
static bool
conn_watch(struct conn *c, short what)
{
	int			fd = PQsocket(c->pg);

	if (fd < 0)
		return false;
	if (c->io_fd == fd && c->io_what == what && event_pending(c->io, EV_READ | EV_WRITE, NULL))
		return true;
	event_del(c->io);
	event_assign(c->io, c->base, fd, what | EV_PERSIST, conn_io_cb, c);
	c->io_fd = fd;
	c->io_what = what;
	return event_add(c->io, NULL) == 0;
}

/* After a PQsend*: flush what libpq holds, then wait for the answer. */
static void
conn_flush(struct conn *c)
{
	int			r = PQflush(c->pg);

	if (r < 0)
		conn_fail(c, PQerrorMessage(c->pg));
	else if (!conn_watch(c, r == 1 ? (EV_READ | EV_WRITE) : EV_READ))
		conn_fail(c, "cannot watch the database socket");
}

/* Nothing in flight any more (IDLE, DOWN, closing); slots[] is left as is. */
static void
forget_slots(struct conn *c)
{
	c->nslots = 0;
	c->nabandoned = 0;
	c->nwrites = 0;
	c->head_ended = false;
	c->cancel_sent = false;
}

/* Ready: watch for a server-side close and tell the owner. */
static void
become_idle(struct conn *c)
{
	c->state = CONN_IDLE;
	forget_slots(c);
	evtimer_del(c->timer);		/* connect attempt or abandon grace */
	if (!c->was_up)
	{
		c->was_up = true;
		c->attempts = 0;
	}
	if (!conn_watch(c, EV_READ))
	{
		conn_fail(c, "cannot watch the database socket");
		return;
	}
	c->ops.ready(c->arg);
}

/*
 * Did the server end the head statement with its own FATAL error before
 * any row (e.g. pg_terminate_backend, a fast shutdown,
 * idle_session_timeout)?  Statements are Bind/Execute/Sync; the implicit
 * transaction commits at Sync, after Execute has sent its row and
 * CommandComplete, so that statement ended before its commit; and the
 * backend exited, so nothing behind it in the pipeline ran at all.
 */
static bool
head_fatal(const struct conn *c)
{
	const char *severity;

	if (c->state != CONN_BUSY || c->result == NULL ||
		PQresultStatus(c->result) != PGRES_FATAL_ERROR)
		return false;
	severity = PQresultErrorField(c->result, PG_DIAG_SEVERITY_NONLOCALIZED);
	return severity != NULL && strcmp(severity, "FATAL") == 0 &&
		PQresultErrorField(c->result, PG_DIAG_SQLSTATE) != NULL;
}

void
conn_fail(struct conn *c, const char *why)
{
	struct conn_slot lost[CONN_PIPELINE_MAX];
	int			nlost = c->state == CONN_BUSY ? c->nslots : 0;
	bool		fatal = head_fatal(c);
	bool		was_up = c->was_up;
	char		line[512];
	int			delay;

	/* why may be PQerrorMessage(c->pg): copy it before PQfinish. */
	conn_error_line(line, sizeof(line), why);
	memcpy(lost, c->slots, sizeof(lost[0]) * (size_t) nlost);

	event_del(c->io);
	evtimer_del(c->timer);
	if (c->result)
		PQclear(c->result);
	c->result = NULL;
	resolve_failed(c->pg, was_up);	/* the database may have moved behind its name */
	if (c->pg)
		PQfinish(c->pg);
	c->pg = NULL;
	c->io_fd = -1;
	c->state = CONN_DOWN;
	forget_slots(c);
	c->was_up = false;

	delay = c->opts.backoff_min_ms << (c->attempts < 5 ? c->attempts : 5);
	if (delay > c->opts.backoff_max_ms)
		delay = c->opts.backoff_max_ms;
	delay += rand() % (delay / 4 + 1);	/* spread reconnects out */
	c->attempts++;
	timer_arm(c->timer, delay);

	c->ops.down(c->arg, line, was_up);
	for (int i = 0; i < nlost; i++)
		if (!lost[i].abandoned)
			c->ops.lost(c->arg, lost[i].req, !lost[i].sent || fatal);
}

void
conn_start(struct conn *c)
{
	bool		wait;

	c->pg = resolve_connect_start(c->opts.conninfo, c->opts.application_name, &wait);
	if (c->pg == NULL && wait)
	{
		/* The database host's first lookup has not answered yet. */
		timer_arm(c->timer, RESOLVE_WAIT_MS);
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
	timer_arm(c->timer, CONNECT_ATTEMPT_MS);
	/* libpq's first step is always a write (PGRES_POLLING_WRITING). */
	if (!conn_watch(c, EV_WRITE))
		conn_fail(c, "cannot watch the database socket");
}

static void
poll_connect(struct conn *c)
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
			c->state = CONN_SETUP;
			c->ops.connected(c->arg);
			return;
		default:
			conn_fail(c, PQerrorMessage(c->pg));
			return;
	}
}

void
conn_setup_query(struct conn *c, const char *sql)
{
	if (!PQsendQuery(c->pg, sql))
	{
		conn_fail(c, PQerrorMessage(c->pg));
		return;
	}
	conn_flush(c);
}

void
conn_setup_prepare(struct conn *c, const char *name, const char *sql)
{
	if (!PQsendPrepare(c->pg, name, sql, 0, NULL))
	{
		conn_fail(c, PQerrorMessage(c->pg));
		return;
	}
	conn_flush(c);
}

void
conn_ready(struct conn *c)
{
	if (!PQenterPipelineMode(c->pg))
	{
		conn_fail(c, PQerrorMessage(c->pg));
		return;
	}
	become_idle(c);
}

/* SETUP: take the command's results; at their end, tell the owner. */
static void
read_setup_results(struct conn *c)
{
	while (!PQisBusy(c->pg))
	{
		PGresult   *res = PQgetResult(c->pg);

		if (res == NULL)
		{
			PGresult   *kept = c->result;

			c->result = NULL;
			c->ops.setup_done(c->arg, kept);
			PQclear(kept);
			return;
		}
		/* Keep the first error, else the first result. */
		if (c->result == NULL ||
			(PQresultStatus(res) == PGRES_FATAL_ERROR &&
			 PQresultStatus(c->result) != PGRES_FATAL_ERROR))
		{
			PQclear(c->result);
			c->result = res;
		}
		else
			PQclear(res);
	}
}

bool
conn_can_take(const struct conn *c)
{
	return c->state == CONN_IDLE ||
		(c->state == CONN_BUSY && c->nabandoned == 0 && c->nwrites == 0 &&
		 c->nslots < c->opts.pipeline);
}

void
conn_send(struct conn *c, void *req, const char *name, const char *sql,
		  int nparams, const char *const *values, bool read_only)
{
	struct conn_slot *s;
	int			ok;

	if (name != NULL)
		ok = PQsendQueryPrepared(c->pg, name, nparams, values, NULL, NULL, 0);
	else
		ok = PQsendQueryParams(c->pg, sql, nparams, NULL, values, NULL, NULL, 0);
	/* Its own Sync: its own transaction, whatever else is in flight. */
	ok = ok && PQpipelineSync(c->pg);
	/* Not BUSY: forget_slots() left nothing of earlier statements. */
	c->state = CONN_BUSY;
	s = &c->slots[c->nslots++];
	s->req = req;
	s->write = !read_only;
	s->sent = ok;
	s->abandoned = false;
	c->nwrites += !read_only;
	if (!ok)
	{
		conn_fail(c, PQerrorMessage(c->pg));
		return;
	}
	conn_flush(c);
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
send_cancel(struct conn *c)
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
 * An abandoned statement at the head is what the server runs (unless it
 * already ended): cancel it now, and give it a grace period.
 */
static void
cancel_abandoned_head(struct conn *c)
{
	if (c->state != CONN_BUSY || c->nslots == 0 || !c->slots[0].abandoned ||
		c->head_ended || c->cancel_sent)
		return;
	send_cancel(c);
	c->cancel_sent = true;
	timer_arm(c->timer, ABANDON_GRACE_MS);
}

void
conn_abandon(struct conn *c, void *req)
{
	for (int i = 0; i < c->nslots; i++)
	{
		if (c->slots[i].req == req && !c->slots[i].abandoned)
		{
			c->slots[i].abandoned = true;
			c->nabandoned++;
			break;
		}
	}
	cancel_abandoned_head(c);
}

/* The head's Sync came back: its transaction is over; answer it. */
static void
head_done(struct conn *c)
{
	struct conn_slot head = c->slots[0];
	PGresult   *res = c->result;

	c->result = NULL;
	c->head_ended = false;
	c->cancel_sent = false;
	c->nslots--;
	c->nwrites -= head.write;
	memmove(&c->slots[0], &c->slots[1], sizeof(c->slots[0]) * (size_t) c->nslots);
	if (head.abandoned)
	{
		c->nabandoned--;
		evtimer_del(c->timer);	/* the abandon grace */
	}
	else
		c->ops.done(c->arg, head.req, res);
	PQclear(res);
	/* done() may have given c more work, or (failing) dropped it. */
	if (c->state == CONN_BUSY && c->nslots == 0)
		become_idle(c);
	else if (conn_can_take(c))
		c->ops.ready(c->arg);
}

/*
 * BUSY: take every complete result.  Per statement: its results (the
 * first is kept), NULL at the statement's end, then its Sync.
 */
static void
read_results(struct conn *c)
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
			head_done(c);
			continue;
		}
		if (c->result == NULL)
			c->result = res;
		else
			PQclear(res);
	}
	if (c->state != CONN_BUSY)
		return;
	if (PQstatus(c->pg) == CONNECTION_BAD)
	{
		/* The server went away mid-statement: lost() sorts out each. */
		conn_fail(c, PQerrorMessage(c->pg));
		return;
	}
	cancel_abandoned_head(c);
}

/* Hand the notifications that arrived to the owner (or drop them). */
static void
drain_notifies(struct conn *c)
{
	PGnotify   *n;

	while (c->state != CONN_DOWN && (n = PQnotifies(c->pg)) != NULL)
	{
		if (c->ops.notify != NULL)
			c->ops.notify(c->arg, n);
		PQfreemem(n);
	}
}

static void
conn_io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void) fd;
	if (c->state == CONN_CONNECTING)
	{
		poll_connect(c);
		return;
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
	drain_notifies(c);
	switch (c->state)
	{
		case CONN_IDLE:
			/* Nothing is expected; notices are logged. */
			if (PQstatus(c->pg) == CONNECTION_BAD)
				conn_fail(c, PQerrorMessage(c->pg));
			return;
		case CONN_BUSY:
			read_results(c);
			return;
		case CONN_SETUP:
			read_setup_results(c);
			return;
		default:
			return;
	}
}

static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

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

struct conn *
conn_new(struct event_base *base, const struct conn_options *opts,
		 const struct conn_ops *ops, void *arg)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->base = base;
	c->opts = *opts;
	c->opts.conninfo = c->conninfo = strdup(opts->conninfo);
	c->opts.name = c->name = strdup(opts->name);
	c->ops = *ops;
	c->arg = arg;
	c->state = CONN_DOWN;
	c->io_fd = -1;
	c->io = event_new(base, -1, 0, conn_io_cb, c);
	c->timer = evtimer_new(base, conn_timer_cb, c);
	if (c->conninfo == NULL || c->name == NULL || c->io == NULL || c->timer == NULL)
	{
		conn_free(c);
		return NULL;
	}
	return c;
}

enum conn_state
conn_get_state(const struct conn *c)
{
	return c->state;
}

int
conn_in_flight(const struct conn *c)
{
	return c->nslots;
}

int
conn_failures(const struct conn *c)
{
	return c->attempts;
}

void
conn_free(struct conn *c)
{
	struct conn_slot lost[CONN_PIPELINE_MAX];
	int			nlost;

	if (c == NULL)
		return;
	nlost = c->state == CONN_BUSY ? c->nslots : 0;
	memcpy(lost, c->slots, sizeof(lost[0]) * (size_t) nlost);
	/* DOWN first: a req sent again from lost() goes elsewhere. */
	c->state = CONN_DOWN;
	forget_slots(c);
	for (int i = 0; i < nlost; i++)
		if (!lost[i].abandoned)
			c->ops.lost(c->arg, lost[i].req, false);
	if (c->io)
		event_free(c->io);
	if (c->timer)
		event_free(c->timer);
	if (c->result)
		PQclear(c->result);
	if (c->pg)
		PQfinish(c->pg);
	free(c->conninfo);
	free(c->name);
	free(c);
}
