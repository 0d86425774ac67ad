/*
 * poll.c
 *	  The safety poll of live events.  Notifications only say "look"; when
 *	  one is lost (a gateway crashed before sending its batch) or never
 *	  sent (a post made in SQL), this poll finds the conversations whose
 *	  last_seq passed a stream's cursor and has the hub fetch them.  One
 *	  statement per period, whatever the number of streams; at most one
 *	  runs at a time.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "poll.h"
#include "util.h"

static struct
{
	struct pool *pool;
	const struct pool_stmt *stmt;
	const struct poll_callbacks *cb;
	struct event *timer;
	struct pool_job job;
	const char *values[1];
	char	   *ids;			/* "{uuid,...}" of the running poll */
	bool		running;
}			sp;

static void
on_heads_done(struct pool_job *job, PGresult *res, const struct problem *err)
{
	(void) job;
	sp.running = false;
	free(sp.ids);
	sp.ids = NULL;
	if (err != NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
		return;					/* next period */
	for (int i = 0; i < PQntuples(res); i++)
		sp.cb->head(PQgetvalue(res, i, 0), strtoll(PQgetvalue(res, i, 1), NULL, 10),
						 strtoll(PQgetvalue(res, i, 2), NULL, 10));
}

static void
on_poll_timer(evutil_socket_t fd, short what, void *arg)
{
	struct problem p;

	(void) fd;
	(void) what;
	(void) arg;
	if (sp.running)
		return;
	sp.ids = sp.cb->ids();
	if (sp.ids == NULL)
		return;
	sp.values[0] = sp.ids;
	pool_job_init(&sp.job, sp.stmt, 1, sp.values, true, on_heads_done, NULL);
	sp.running = pool_submit(sp.pool, &sp.job, config.request_timeout_ms, false, &p);
	if (!sp.running)
	{
		free(sp.ids);
		sp.ids = NULL;
	}
}

bool
poll_setup(struct event_base *base, struct pool *pool, const struct pool_stmt *stmt,
		   const struct poll_callbacks *cb)
{
	struct timeval tv = util_timeval_ms(config.events_poll_ms);

	sp.cb = cb;
	sp.pool = pool;
	sp.stmt = stmt;
	sp.timer = event_new(base, -1, EV_PERSIST, on_poll_timer, NULL);
	return sp.timer != NULL && evtimer_add(sp.timer, &tv) == 0;
}

void
poll_shutdown(void)
{
	if (sp.timer != NULL)
		event_free(sp.timer);
	free(sp.ids);
	memset(&sp, 0, sizeof(sp));
}
