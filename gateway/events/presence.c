/*
 * presence.c
 *	  Who is online in the deployment, and the presence events.
 *
 * A guest is online while it holds a stream (of any kind) on any gateway
 * of the deployment.  Nothing is written per stream: each gateway keeps a
 * table of guests with a bit per gateway that holds a stream of theirs,
 * and the gateways tell each other through the notification channel that
 * live events already use (notify.c batches, listen.c receives), with
 * lines of their own (upper case, so older gateways skip them):
 *
 *	 O <gw> <guest>              guest's first stream on gw opened
 *	 F <gw> <guest>              guest's last stream on gw closed (after a
 *	                             grace of PRESENCE_GRACE_MS, so a reconnect
 *	                             is not seen as offline and online again)
 *	 H <gw> <gen> <guest>...     heartbeat: gw's whole online set, in lines
 *	                             of at most PRESENCE_LINE_MAX bytes...
 *	 Z <gw> <gen> <n>            ...ended by this one: when all n ids came,
 *	                             the receiver replaces gw's bits by the set
 *	                             (repairs lost lines)
 *	 Q <gw>                      gw started: send your heartbeat now
 *	 X <gw>                      gw is stopping (SIGTERM): its guests leave
 *	                             now (best effort: sent straight on the
 *	                             listener's connection when it is free)
 *	 P <guest>                   guest's status or activity changed (PUT)
 *
 * gw is a random id each gateway draws at start.  A gateway that is not
 * heard for PRESENCE_EXPIRE_MS (its heartbeat comes every
 * PRESENCE_HEARTBEAT_MS) is taken for dead: its guests' bits are cleared,
 * so a guest of a SIGKILLed gateway goes offline within 30 s.
 *
 * A transition (no bit -> some bit, or back) on any gateway queues the
 * guest; every PRESENCE_FLUSH_MS one call of parley.presence_audience
 * answers each queued guest's presence as others see it and its audience
 * (friends, direct partners, no one across a block), and the event goes
 * to the audience's guest streams on this gateway.  The rules live in the
 * extension; the gateway only passes who is online.
 *
 * last_seen_at: the gateway whose stream was a guest's last in the
 * deployment calls parley.presence_seen before it sends the F line, so
 * every gateway's event carries the new time.  When a gateway dies, the
 * live gateway with the smallest id records it for the dead one's guests.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/util.h>

#include <cjson/cJSON.h>

#include "db/listen.h"
#include "log.h"
#include "notify.h"
#include "presence.h"
#include "util.h"

#define PRESENCE_HEARTBEAT_MS	5000
#define PRESENCE_EXPIRE_MS		20000	/* 4 heartbeats; + the 1 s tick: < 30 s */
#define PRESENCE_GRACE_MS		1000	/* + a flush and a round trip: < 2 s */
#define PRESENCE_TICK_MS		200
#define PRESENCE_FLUSH_MS		50
#define PRESENCE_LINE_MAX		7000	/* bytes of one H line (payloads < 8000) */
#define PRESENCE_MAX_GW			64		/* bits of a guest's mask */
#define PRESENCE_BATCH_MAX		500		/* guests per presence_audience call */
#define GW_ID_LEN				16
#define GUEST_MAX				64
#define NBUCKETS				4096

static const char *const sql_audience =
"SELECT parley.presence_audience($1::text[], $2::text[])::text";
static const char *const sql_seen =
"SELECT parley.presence_seen($1::text[])";

struct pguest
{
	char		id[GUEST_MAX + 1];
	struct pguest *hnext;
	uint64_t	mask;			/* gateways holding a stream of it; bit 0: this one */
	uint64_t	build;			/* bits of heartbeats being received */
	int			local;			/* open streams here */
	int64_t		off_at;			/* ms: the grace after its last stream here ends */
	bool		pending_off;	/* in the grace */
	bool		seen_wait;		/* presence_seen running for it */
	bool		queued;			/* in the changed list */
	struct pguest *cnext;		/* changed list */
};

struct pgw
{
	char		id[GW_ID_LEN + 1];
	bool		used;
	int64_t		last_heard;		/* ms */
	uint32_t	gen;			/* of the heartbeat being received */
	uint32_t	received;		/* ids of it received so far */
};

static struct
{
	bool		enabled;
	const struct presence_callbacks *cb;
	struct pool *pool;
	const struct pool_stmt *audience;
	const struct pool_stmt *seen;
	struct event *tick;
	struct event *heartbeat;
	struct event *flush;
	struct pguest *buckets[NBUCKETS];
	int			nguests;
	struct pgw	gw[PRESENCE_MAX_GW];	/* [0]: this gateway */
	uint32_t	gen;
	struct pguest *changed;		/* transitions not yet sent */
	struct pguest *changed_tail;
	int			nchanged;
	bool		audience_running;
	struct pool_job audience_job;
	const char *audience_values[2];
	char	   *audience_args[2];
	bool		seen_running;
	struct pool_job seen_job;
	const char *seen_values[1];
	char	   *seen_arg;
	int64_t		last_expired_check;
	struct evbuffer *scratch;
}			pr;

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static unsigned
hash_id(const char *s, size_t n)
{
	uint32_t	h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char) s[i]) * 16777619u;
	return h % NBUCKETS;
}

static bool
valid_guest(const char *s, size_t n)
{
	if (n == 0 || n > GUEST_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
	{
		char		c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '.' || c == '_' || c == ':' || c == '@' || c == '-'))
			return false;
	}
	return true;
}

static struct pguest *
guest_find(const char *s, size_t n, bool create)
{
	unsigned	b;
	struct pguest *g;

	if (!valid_guest(s, n))
		return NULL;
	b = hash_id(s, n);
	for (g = pr.buckets[b]; g != NULL; g = g->hnext)
		if (strlen(g->id) == n && memcmp(g->id, s, n) == 0)
			return g;
	if (!create || (g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	memcpy(g->id, s, n);
	g->hnext = pr.buckets[b];
	pr.buckets[b] = g;
	pr.nguests++;
	return g;
}

/* Forget g when nothing refers to it any more. */
static void
guest_maybe_free(struct pguest *g)
{
	unsigned	b;
	struct pguest **pp;

	if (g->mask != 0 || g->build != 0 || g->local != 0 || g->pending_off ||
		g->seen_wait || g->queued)
		return;
	b = hash_id(g->id, strlen(g->id));
	for (pp = &pr.buckets[b]; *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == g)
		{
			*pp = g->hnext;
			free(g);
			pr.nguests--;
			return;
		}
}

static void
arm_flush(void)
{
	struct timeval tv = util_timeval_ms(PRESENCE_FLUSH_MS);

	if (!evtimer_pending(pr.flush, NULL))
		evtimer_add(pr.flush, &tv);
}

/* g's presence changed (online <-> offline, or what it set): send it. */
static void
queue_changed(struct pguest *g)
{
	if (g->queued)
		return;
	g->queued = true;
	g->cnext = NULL;
	if (pr.changed_tail)
		pr.changed_tail->cnext = g;
	else
		pr.changed = g;
	pr.changed_tail = g;
	pr.nchanged++;
	arm_flush();
}

/* Set g's mask; a change between none and some is a transition. */
static void
set_mask(struct pguest *g, uint64_t mask)
{
	bool		was = g->mask != 0;

	g->mask = mask;
	if (was != (mask != 0))
		queue_changed(g);
}

static void
send_line(const char *kind_and_args)
{
	notify_queue_line(kind_and_args);
}

/* ---- gateways ------------------------------------------------------------- */

static int
gw_slot(const char *id, size_t n, bool create)
{
	int			free_slot = -1;

	if (n != GW_ID_LEN)
		return -1;
	for (int i = 0; i < PRESENCE_MAX_GW; i++)
	{
		if (pr.gw[i].used && memcmp(pr.gw[i].id, id, n) == 0)
			return i;
		if (!pr.gw[i].used && free_slot < 0 && i > 0)
			free_slot = i;
	}
	if (!create || free_slot < 0)
		return -1;
	memset(&pr.gw[free_slot], 0, sizeof(pr.gw[free_slot]));
	memcpy(pr.gw[free_slot].id, id, n);
	pr.gw[free_slot].used = true;
	pr.gw[free_slot].last_heard = now_ms();
	return free_slot;
}

/* Clear gateway slot's bit from every guest (it died or restarted). */
static void
gw_forget(int slot, struct evbuffer *offline)
{
	uint64_t	bit = UINT64_C(1) << slot;

	for (int b = 0; b < NBUCKETS; b++)
	{
		struct pguest *g = pr.buckets[b];

		while (g != NULL)
		{
			struct pguest *next = g->hnext;

			if ((g->mask | g->build) & bit)
			{
				bool		was = g->mask != 0;

				g->build &= ~bit;
				set_mask(g, g->mask & ~bit);
				if (was && g->mask == 0 && offline != NULL)
					util_array_add(offline, g->id, true);
				guest_maybe_free(g);
			}
			g = next;
		}
	}
	pr.gw[slot].used = false;
}

/* Is this gateway the live one with the smallest id (it records for dead ones)? */
static bool
gw_smallest(void)
{
	for (int i = 1; i < PRESENCE_MAX_GW; i++)
		if (pr.gw[i].used && strcmp(pr.gw[i].id, pr.gw[0].id) < 0)
			return false;
	return true;
}

/* ---- the database: audiences and last_seen_at ------------------------------ */

static void flush_changed(void);

static void
on_audience_done(struct pool_job *job, PGresult *res, const struct problem *err)
{
	cJSON	   *doc = NULL;
	cJSON	   *list;
	cJSON	   *item;

	(void) job;
	pr.audience_running = false;
	free(pr.audience_args[0]);
	free(pr.audience_args[1]);
	pr.audience_args[0] = pr.audience_args[1] = NULL;
	if (err != NULL || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
	{
		log_warn("presence: presence_audience failed (%s): those changes are not sent",
				 err ? err->code : PQresultErrorMessage(res));
		goto next;
	}
	doc = cJSON_Parse(PQgetvalue(res, 0, 0));
	list = cJSON_GetObjectItemCaseSensitive(doc, "presence");
	cJSON_ArrayForEach(item, list)
	{
		cJSON	   *audience = cJSON_DetachItemFromObjectCaseSensitive(item, "audience");
		cJSON	   *viewer;
		char	   *data = cJSON_PrintUnformatted(item);

		if (data != NULL)
			cJSON_ArrayForEach(viewer, audience)
				if (cJSON_IsString(viewer))
				(void) pr.cb->guest_send(viewer->valuestring, "presence", data);
		free(data);
		cJSON_Delete(audience);
	}
	cJSON_Delete(doc);
next:
	if (pr.changed != NULL)
		arm_flush();
}

/* One presence_audience call for the queued guests (at most PRESENCE_BATCH_MAX). */
static void
flush_changed(void)
{
	struct evbuffer *ids;
	struct evbuffer *online;
	struct problem p;
	int			n = 0;

	if (pr.audience_running || pr.changed == NULL)
		return;
	ids = evbuffer_new();
	online = evbuffer_new();
	if (ids == NULL || online == NULL)
		goto out;
	util_array_begin(ids);
	util_array_begin(online);
	while (pr.changed != NULL && n < PRESENCE_BATCH_MAX)
	{
		struct pguest *g = pr.changed;

		pr.changed = g->cnext;
		if (pr.changed == NULL)
			pr.changed_tail = NULL;
		pr.nchanged--;
		g->queued = false;
		util_array_add(ids, g->id, true);
		if (g->mask != 0)
			util_array_add(online, g->id, true);
		n++;
		guest_maybe_free(g);
	}
	pr.audience_args[0] = util_array_end(ids);
	pr.audience_args[1] = util_array_end(online);
	if (pr.audience_args[0] == NULL || pr.audience_args[1] == NULL)
	{
		free(pr.audience_args[0]);
		free(pr.audience_args[1]);
		pr.audience_args[0] = pr.audience_args[1] = NULL;
		goto out;
	}
	pr.audience_values[0] = pr.audience_args[0];
	pr.audience_values[1] = pr.audience_args[1];
	pool_job_init(&pr.audience_job, pr.audience, 2, pr.audience_values, true,
				  on_audience_done, NULL);
	pr.audience_running = pool_submit(pr.pool, &pr.audience_job, 10000, false, &p);
	if (!pr.audience_running)
	{
		log_warn("presence: presence_audience not sent (%s)", p.code);
		free(pr.audience_args[0]);
		free(pr.audience_args[1]);
		pr.audience_args[0] = pr.audience_args[1] = NULL;
	}
out:
	if (ids)
		evbuffer_free(ids);
	if (online)
		evbuffer_free(online);
}

static void
on_flush(evutil_socket_t fd, short what, void *arg)
{
	(void) fd;
	(void) what;
	(void) arg;
	flush_changed();
}

/* This gateway no longer holds g: tell the others (and the local view). */
static void
local_off(struct pguest *g)
{
	char		line[GW_ID_LEN + GUEST_MAX + 8];

	g->pending_off = false;
	g->seen_wait = false;
	snprintf(line, sizeof(line), "F %s %s", pr.gw[0].id, g->id);
	send_line(line);
	set_mask(g, g->mask & ~UINT64_C(1));
	guest_maybe_free(g);
}

static void
on_seen_done(struct pool_job *job, PGresult *res, const struct problem *err)
{
	(void) job;
	(void) res;
	if (err != NULL)
		log_warn("presence: presence_seen failed (%s): last_seen_at not recorded", err->code);
	pr.seen_running = false;
	free(pr.seen_arg);
	pr.seen_arg = NULL;
	/* Whatever the answer: the guests whose offline waited for it go now. */
	for (int b = 0; b < NBUCKETS; b++)
	{
		struct pguest *g = pr.buckets[b];

		while (g != NULL)
		{
			struct pguest *next = g->hnext;

			if (g->seen_wait)
			{
				g->seen_wait = false;
				if (g->local == 0)
					local_off(g);
			}
			g = next;
		}
	}
}

/* Record last_seen_at of the guests in the array literal arg (taken over), then run done. */
static bool
record_seen(char *arg, pool_done_fn done)
{
	struct problem p;

	pr.seen_arg = arg;
	pr.seen_values[0] = arg;
	pool_job_init(&pr.seen_job, pr.seen, 1, pr.seen_values, false, done, NULL);
	pr.seen_running = pool_submit(pr.pool, &pr.seen_job, 10000, false, &p);
	if (!pr.seen_running)
	{
		free(pr.seen_arg);
		pr.seen_arg = NULL;
	}
	return pr.seen_running;
}

/*
 * Gateway slot is gone (not heard for PRESENCE_EXPIRE_MS, or it said X):
 * its guests leave, and the live gateway with the smallest id records
 * their last_seen_at.
 */
static void
gw_gone(int slot)
{
	struct evbuffer *offline = evbuffer_new();
	char	   *a;

	if (offline == NULL)
	{
		gw_forget(slot, NULL);
		return;
	}
	util_array_begin(offline);
	gw_forget(slot, offline);
	a = util_array_end(offline);
	if (a != NULL && strcmp(a, "{}") != 0 && gw_smallest() && !pr.seen_running)
		(void) record_seen(a, on_seen_done);	/* takes a over */
	else
		free(a);
	evbuffer_free(offline);
}

/* ---- the tick: graces, expiry ---------------------------------------------- */

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	int64_t		now = now_ms();
	struct evbuffer *seen = NULL;
	int			nseen = 0;

	(void) fd;
	(void) what;
	(void) arg;

	/* Graces that ended: offline here. */
	if (!pr.seen_running)
		seen = evbuffer_new();
	for (int b = 0; b < NBUCKETS; b++)
	{
		struct pguest *g = pr.buckets[b];

		while (g != NULL)
		{
			struct pguest *next = g->hnext;

			if (g->pending_off && !g->seen_wait && g->local == 0 && now >= g->off_at)
			{
				if ((g->mask & ~UINT64_C(1)) != 0)
					local_off(g);	/* another gateway holds it: still online */
				else if (seen != NULL)
				{
					if (nseen == 0)
						util_array_begin(seen);
					util_array_add(seen, g->id, true);
					g->seen_wait = true;
					nseen++;
				}
			}
			g = next;
		}
	}
	if (nseen > 0)
	{
		char	   *a = util_array_end(seen);

		if (a == NULL || !record_seen(a, on_seen_done))
		{
			/* No last_seen_at then; the offline must not wait. */
			for (int b = 0; b < NBUCKETS; b++)
				for (struct pguest *g = pr.buckets[b], *next; g != NULL; g = next)
				{
					next = g->hnext;
					if (g->seen_wait)
						local_off(g);
				}
		}
	}
	if (seen != NULL)
		evbuffer_free(seen);

	/* Gateways not heard for too long: their guests go offline. */
	if (now - pr.last_expired_check >= 1000)
	{
		pr.last_expired_check = now;
		for (int i = 1; i < PRESENCE_MAX_GW; i++)
		{
			if (!pr.gw[i].used || now - pr.gw[i].last_heard < PRESENCE_EXPIRE_MS)
				continue;
			log_warn("presence: gateway %s not heard for %d s: its guests are offline",
					 pr.gw[i].id, PRESENCE_EXPIRE_MS / 1000);
			gw_gone(i);
		}
	}
}

/* ---- heartbeats ------------------------------------------------------------ */

static void
send_heartbeat(void)
{
	char		head[64];
	size_t		headlen;

	uint32_t	n_ids = 0;

	pr.gen++;
	headlen = (size_t) snprintf(head, sizeof(head), "H %s %" PRIu32, pr.gw[0].id, pr.gen);
	evbuffer_drain(pr.scratch, evbuffer_get_length(pr.scratch));
	evbuffer_add(pr.scratch, head, headlen);
	for (int b = 0; b < NBUCKETS; b++)
		for (struct pguest *g = pr.buckets[b]; g != NULL; g = g->hnext)
		{
			size_t		n;

			if (!(g->mask & 1))
				continue;
			n = strlen(g->id);
			if (evbuffer_get_length(pr.scratch) + 1 + n > PRESENCE_LINE_MAX)
			{
				evbuffer_add(pr.scratch, "", 1);
				send_line((const char *) evbuffer_pullup(pr.scratch, -1));
				evbuffer_drain(pr.scratch, evbuffer_get_length(pr.scratch));
				evbuffer_add(pr.scratch, head, headlen);
			}
			evbuffer_add(pr.scratch, " ", 1);
			evbuffer_add(pr.scratch, g->id, n);
			n_ids++;
		}
	if (evbuffer_get_length(pr.scratch) > headlen)
	{
		evbuffer_add(pr.scratch, "", 1);
		send_line((const char *) evbuffer_pullup(pr.scratch, -1));
	}
	evbuffer_drain(pr.scratch, evbuffer_get_length(pr.scratch));
	snprintf(head, sizeof(head), "Z %s %" PRIu32 " %" PRIu32, pr.gw[0].id, pr.gen, n_ids);
	send_line(head);
}

static void
on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
	struct timeval tv = util_timeval_ms(PRESENCE_HEARTBEAT_MS);

	(void) fd;
	(void) what;
	(void) arg;
	send_heartbeat();
	evtimer_add(pr.heartbeat, &tv);
}

/* ---- lines in ------------------------------------------------------------- */

/* The next space-separated word of [*p, end). */
static bool
next_word(const char **p, const char *end, const char **w, size_t *n)
{
	const char *s = *p;

	while (s < end && *s == ' ')
		s++;
	if (s >= end)
		return false;
	*w = s;
	while (s < end && *s != ' ')
		s++;
	*n = (size_t) (s - *w);
	*p = s;
	return true;
}

/* Z: gw's heartbeat gen is complete: its bits become the set received. */
static void
heartbeat_end(int slot, uint32_t gen, uint32_t count)
{
	uint64_t	bit = UINT64_C(1) << slot;
	bool		complete = (count == 0 || pr.gw[slot].gen == gen) &&
		pr.gw[slot].received == count;

	for (int b = 0; b < NBUCKETS; b++)
	{
		struct pguest *g = pr.buckets[b];

		while (g != NULL)
		{
			struct pguest *next = g->hnext;

			if (complete)
				set_mask(g, (g->mask & ~bit) | (g->build & bit));
			g->build &= ~bit;
			guest_maybe_free(g);
			g = next;
		}
	}
	pr.gw[slot].gen = 0;
	pr.gw[slot].received = 0;
}

bool
presence_on_line(const char *line, size_t len)
{
	const char *end = line + len;
	const char *p = line + 1;
	const char *w;
	size_t		n;
	char		kind;
	int			slot;

	if (len < 3 || line[1] != ' ' || !(line[0] >= 'A' && line[0] <= 'Z'))
		return false;
	kind = line[0];
	if (!pr.enabled)
		return true;
	if (kind == 'P')
	{
		struct pguest *g;

		if (next_word(&p, end, &w, &n) && (g = guest_find(w, n, true)) != NULL)
			queue_changed(g);
		return true;
	}
	if (kind == 'T')
		return false;			/* typing's (events.c passes it on) */
	if (!next_word(&p, end, &w, &n) || n != GW_ID_LEN)
		return true;
	if (memcmp(w, pr.gw[0].id, GW_ID_LEN) == 0)
		return true;			/* our own, back: the local view is already right */
	slot = gw_slot(w, n, true);
	if (slot < 0)
		return true;			/* more than PRESENCE_MAX_GW gateways */
	pr.gw[slot].last_heard = now_ms();
	switch (kind)
	{
		case 'O':
		case 'F':
			if (next_word(&p, end, &w, &n))
			{
				struct pguest *g = guest_find(w, n, kind == 'O');
				uint64_t	bit = UINT64_C(1) << slot;

				if (g != NULL)
				{
					set_mask(g, kind == 'O' ? g->mask | bit : g->mask & ~bit);
					guest_maybe_free(g);
				}
			}
			break;
		case 'H':
			if (next_word(&p, end, &w, &n))
			{
				uint32_t	gen = (uint32_t) strtoul(w, NULL, 10);
				uint64_t	bit = UINT64_C(1) << slot;

				if (pr.gw[slot].gen != gen)
				{
					/* a new heartbeat: drop what a broken one left */
					for (int b = 0; b < NBUCKETS; b++)
						for (struct pguest *g = pr.buckets[b]; g != NULL; g = g->hnext)
							g->build &= ~bit;
					pr.gw[slot].gen = gen;
					pr.gw[slot].received = 0;
				}
				while (next_word(&p, end, &w, &n))
				{
					struct pguest *g = guest_find(w, n, true);

					if (g != NULL)
						g->build |= bit;
					pr.gw[slot].received++;
				}
			}
			break;
		case 'Z':
			if (next_word(&p, end, &w, &n))
			{
				uint32_t	gen = (uint32_t) strtoul(w, NULL, 10);
				uint32_t	count = 0;

				if (next_word(&p, end, &w, &n))
					count = (uint32_t) strtoul(w, NULL, 10);
				/* applied only when every id of the set arrived (none lost) */
				heartbeat_end(slot, gen, count);
			}
			break;
		case 'X':
			gw_gone(slot);
			break;
		case 'Q':
			{
				struct timeval tv = util_timeval_ms(100);

				/* a new gateway: it learns our set now, not in 5 s */
				event_del(pr.heartbeat);
				evtimer_add(pr.heartbeat, &tv);
			}
			break;
		default:
			break;
	}
	return true;
}

/* ---- streams here ---------------------------------------------------------- */

void
presence_stream_opened(const char *guest)
{
	struct pguest *g;
	char		line[GW_ID_LEN + GUEST_MAX + 8];

	if (!pr.enabled || (g = guest_find(guest, strlen(guest), true)) == NULL)
		return;
	if (g->local++ > 0)
		return;
	if (g->pending_off || g->seen_wait)
	{
		/* back within the grace: nobody was told it left */
		g->pending_off = false;
		return;
	}
	snprintf(line, sizeof(line), "O %s %s", pr.gw[0].id, g->id);
	send_line(line);
	set_mask(g, g->mask | 1);
}

void
presence_stream_closed(const char *guest)
{
	struct pguest *g;

	if (!pr.enabled || (g = guest_find(guest, strlen(guest), false)) == NULL || g->local == 0)
		return;
	if (--g->local > 0)
		return;
	g->pending_off = true;
	g->off_at = now_ms() + PRESENCE_GRACE_MS;
}

void
presence_changed(const char *guest)
{
	char		line[GUEST_MAX + 4];

	if (!pr.enabled || !valid_guest(guest, strlen(guest)))
		return;
	snprintf(line, sizeof(line), "P %s", guest);
	send_line(line);			/* our own comes back too: one path for all */
}

bool
presence_online(const char *guest)
{
	struct pguest *g = guest_find(guest, strlen(guest), false);

	return g != NULL && g->mask != 0;
}

char *
presence_online_among(const char *ids)
{
	struct evbuffer *b = evbuffer_new();
	const char *p = ids ? ids : "";
	const char *end = p + strlen(p);
	char	   *out;

	if (b == NULL)
		return NULL;
	util_array_begin(b);
	while (p < end)
	{
		const char *comma = memchr(p, ',', (size_t) (end - p));
		size_t		n = comma ? (size_t) (comma - p) : (size_t) (end - p);
		struct pguest *g = guest_find(p, n, false);

		if (g != NULL && g->mask != 0)
			util_array_add(b, g->id, true);
		p += n + 1;
	}
	out = util_array_end(b);
	evbuffer_free(b);
	return out;
}

int
presence_count_online(void)
{
	int			n = 0;

	for (int b = 0; b < NBUCKETS; b++)
		for (struct pguest *g = pr.buckets[b]; g != NULL; g = g->hnext)
			n += g->mask != 0;
	return n;
}

int
presence_count_gateways(void)
{
	int			n = 0;

	for (int i = 0; i < PRESENCE_MAX_GW; i++)
		n += pr.gw[i].used;
	return n;
}

void
presence_leaving(void)
{
	char		line[GW_ID_LEN + 4];

	if (!pr.enabled || !listen_ready())
		return;
	snprintf(line, sizeof(line), "X %s", pr.gw[0].id);
	(void) listen_send(line);
}

/* ---- setup ----------------------------------------------------------------- */

bool
presence_setup(struct event_base *base, struct pool *pool, const struct presence_callbacks *cb)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char rnd[GW_ID_LEN / 2];
	struct timeval tick = util_timeval_ms(PRESENCE_TICK_MS);
	struct timeval hb = util_timeval_ms(PRESENCE_HEARTBEAT_MS);
	char		line[GW_ID_LEN + 4];

	pr.cb = cb;
	pr.pool = pool;
	pr.audience = pool_statement(pool, "presence_audience", sql_audience);
	pr.seen = pool_statement(pool, "presence_seen", sql_seen);
	pr.tick = event_new(base, -1, EV_PERSIST, on_tick, NULL);
	pr.heartbeat = evtimer_new(base, on_heartbeat, NULL);
	pr.flush = evtimer_new(base, on_flush, NULL);
	pr.scratch = evbuffer_new();
	if (pr.audience == NULL || pr.seen == NULL || pr.tick == NULL || pr.heartbeat == NULL ||
		pr.flush == NULL || pr.scratch == NULL)
		return false;
	evutil_secure_rng_get_bytes(rnd, sizeof(rnd));
	for (size_t i = 0; i < sizeof(rnd); i++)
	{
		pr.gw[0].id[2 * i] = hex[rnd[i] >> 4];
		pr.gw[0].id[2 * i + 1] = hex[rnd[i] & 15];
	}
	pr.gw[0].used = true;
	pr.enabled = true;
	evtimer_add(pr.tick, &tick);
	evtimer_add(pr.heartbeat, &hb);
	snprintf(line, sizeof(line), "Q %s", pr.gw[0].id);
	send_line(line);
	log_info("presence: this gateway is %s in the deployment's presence", pr.gw[0].id);
	return true;
}

void
presence_shutdown(void)
{
	if (pr.tick)
		event_free(pr.tick);
	if (pr.heartbeat)
		event_free(pr.heartbeat);
	if (pr.flush)
		event_free(pr.flush);
	if (pr.scratch)
		evbuffer_free(pr.scratch);
	for (int b = 0; b < NBUCKETS; b++)
		while (pr.buckets[b] != NULL)
		{
			struct pguest *g = pr.buckets[b];

			pr.buckets[b] = g->hnext;
			free(g);
		}
	free(pr.audience_args[0]);
	free(pr.audience_args[1]);
	free(pr.seen_arg);
	memset(&pr, 0, sizeof(pr));
}
