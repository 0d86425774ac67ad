/*
 * events.c
 *	  The front of live events (events.h): it wires the modules of events/
 *	  together and is the one that the HTTP layer, main.c and db/listen.c
 *	  call.  Streams in (the subscribe check, the hand-over of the
 *	  connection), notifications in and out, the safety poll's findings,
 *	  heartbeats.  The registry is hub.c's; what a stream is sent, and when
 *	  the database is asked, is deliver.c's and changes.c's.
 *
 * Why not NOTIFY in the writing transaction: PostgreSQL takes a
 * database-wide lock at the commit of any transaction that notified, so
 * every post would wait for every other.  Instead, after this gateway
 * relayed a successful write, notify.c queues a line ("m <cid> [<seq>]",
 * "e <cid> <seq>", "d <cid> <seq>", "r <cid> <guest>") and sends the queue
 * every PARLEY_EVENTS_BATCH_MS in one pg_notify() on its own connection,
 * outside any write transaction.  Payloads carry ids only and stay under
 * 8000 bytes.
 *
 * Every gateway LISTENs (listen.c).  A notification only says "look": for
 * a conversation it streams, a gateway fetches what is above its streams'
 * cursors (deliver.c), or what changed after the change_seq its streams
 * were brought to (changes.c), so a lost or late notification only delays.
 * A safety poll every PARLEY_EVENTS_POLL_MS reads last_seq and change_seq
 * of every streamed conversation in one call (parley.events_heads) and
 * fetches where a stream is behind: posts, edits, deletes and removals
 * made straight in SQL, or notifications lost with a crashed gateway,
 * still arrive.
 *
 * The resume seam: a stream is registered with its cursor S (the client's
 * cursor, or last_seq from events_subscribe) before anything is fetched for
 * it, and its first fetch starts at S.  Delivery only sends seq > cursor and
 * moves the cursor forward, so nothing is sent twice and nothing skipped.
 *
 * The hand-over: the HTTP layer validates and authenticates, then gives
 * the connection to events_stream_open().  The subscribe check runs here
 * (subscribe.c): refused, the sink answers the problem; accepted, the sink
 * sends its head and the stream joins its conversation.  While the
 * database cannot answer, the stream starts at once (a browser's
 * EventSource gives up for good on a 503) and joins when the check passes
 * later; a check refused then ends the stream, and the EventSource's
 * reconnection gets the refusal.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include <cjson/cJSON.h>

#include "changes.h"
#include "config.h"
#include "decimal.h"
#include "deliver.h"
#include "events.h"
#include "gstream.h"
#include "hub.h"
#include "db/listen.h"
#include "log.h"
#include "notify.h"
#include "poll.h"
#include "presence.h"
#include "sse.h"
#include "subscribe.h"
#include "typing.h"
#include "util.h"

/*
 * The retry: field of every stream: how long a client waits before it
 * reconnects after the stream ended (a drop, a removal, a gateway
 * restart).  Three seconds is what browsers use without one; saying it
 * makes it the same for every client, and spreads a restart's reconnects
 * over the time a gateway takes to come back.
 */
#define EVENTS_RETRY_MS	3000

/* The largest bigint: a cursor beyond it is past the end of any conversation. */
#define CURSOR_PAST_END	"9223372036854775807"

static const char *const sql_fetch =
"SELECT m::text, (m->>'seq')::bigint, m->>'conversation_id'"
" FROM jsonb_array_elements(parley.events_fetch($1::uuid[], $2::bigint[], $3::integer)"
"->'messages') AS m";
static const char *const sql_heads =
"SELECT key, (value->>0)::bigint, (value->>1)::bigint"
" FROM jsonb_each(parley.events_heads($1::uuid[]))";
/* One row per changed message (or one with NULLs), in change order. */
static const char *const sql_changes =
"SELECT e.m::text, (e.m->>'seq')::bigint, (e.m->>'deleted')::boolean,"
" c->>'change_seq', (c->'gone')::text, (c->'reacted'->>(e.i::integer - 1))::boolean"
" FROM parley.events_changes($1::uuid, $2::bigint, $3::text[]) AS c"
" LEFT JOIN LATERAL jsonb_array_elements(c->'messages') WITH ORDINALITY AS e(m, i) ON true"
" ORDER BY e.i";
/* Guest streams (gstream.c): the subscribe check and the batched fetch. */
static const char *const sql_guest_subscribe =
"SELECT s->>'cursor' FROM parley.events_guest_subscribe($1, $2) AS s";
static const char *const sql_guests_fetch =
"SELECT n, event, id, data FROM parley.events_guests_fetch($1::text[], $2::text[], $3::integer)";
static const char *const sql_subscribe =
"SELECT s->>'last_seq', s->>'change_seq' FROM parley.events_subscribe($1::uuid, $2, $3::bigint) AS s";

static struct
{
	bool		enabled;
	struct evbuffer *scratch;	/* one stream write */
	struct event *heartbeat_timer;
}			ev;

/* ---- notifications in and out --------------------------------------------- */

/* Conversation cid is at seq head and change_seq change_head: fetch what the streams lack. */
static void
head_seen(const char *cid, int64_t head, int64_t change_head)
{
	struct hub_conv *c = hub_conv_find(cid);

	if (c == NULL)
		return;
	if (change_head > c->change_seen)
		changes_kick(c, change_head);
	if (head != INT64_MAX && head > c->head)
		c->head = head;			/* INT64_MAX: "look", from an older gateway */
	if (head > hub_min_cursor(c))
		deliver_kick(c);
}

static const char *
friend_mirror(const char *status)
{
	if (strcmp(status, "outgoing") == 0)
		return "incoming";
	if (strcmp(status, "incoming") == 0)
		return "outgoing";
	return status;
}

/* A friend event from guest's side to guest's streams. */
static void
friend_send(const char *guest, const char *other, const char *status, const char *since)
{
	cJSON	   *o = cJSON_CreateObject();
	char	   *js;

	cJSON_AddStringToObject(o, "guest_id", guest);
	cJSON_AddStringToObject(o, "other_id", other);
	cJSON_AddStringToObject(o, "status", status);
	if (strcmp(since, "-") == 0)
		cJSON_AddNullToObject(o, "since");
	else
		cJSON_AddStringToObject(o, "since", since);
	js = cJSON_PrintUnformatted(o);
	if (js != NULL)
	{
		sse_event(ev.scratch, "friend", js, strlen(js));
		(void) gstream_send_guest(guest, ev.scratch);
	}
	cJSON_free(js);
	cJSON_Delete(o);
}

/*
 * The notification lines of guest streams (section 8):
 *	 "g <guest>"						fetch for guest's streams (joined, created)
 *	 "u <cid>"							fetch for cid's guest streams (it changed)
 *	 "R <cid> <guest> <seq>"			guest's read marker in cid moved to seq
 *	 "f <guest> <other> <status> <since>"	a friendship changed, from guest's side
 */
static void
guest_line(const char *line)
{
	char		a[HUB_GUEST_MAX + 1];
	char		b[HUB_GUEST_MAX + 1];
	char		c[24];
	char		d[48];
	char		key[HUB_CID_LEN + 1];
	int			nf = sscanf(line + 2, "%64s %64s %23s %47s", a, b, c, d);

	switch (line[0])
	{
		case 'g':
			if (nf >= 1)
				gstream_kick_guest(a);
			break;
		case 'u':
			if (nf >= 1 && hub_cid_canonical(a, key))
				gstream_kick_conversation(key);
			break;
		case 'R':
			if (nf == 3 && hub_cid_canonical(a, key))
			{
				char		js[256];
				struct hub_conv *hc = hub_conv_find(key);
				struct events_stream *next;
				size_t		len;

				snprintf(js, sizeof(js),
						 "{\"conversation_id\":\"%s\",\"guest_id\":\"%s\",\"last_read_seq\":%s}",
						 key, b, c);
				len = strlen(js);
				/* never for a guest's own marker, on either kind of stream */
				for (struct events_stream *s = hc ? hc->streams : NULL; s != NULL; s = next)
				{
					next = s->next;
					if (!s->started || strcmp(s->guest, b) == 0)
						continue;
					sse_event(ev.scratch, "read", js, len);
					(void) hub_stream_send(s, ev.scratch);
				}
				sse_event(ev.scratch, "read", js, len);
				(void) gstream_send_conversation(key, b, ev.scratch);
			}
			break;
		case 'f':
			if (nf == 4)
			{
				friend_send(a, b, c, d);
				friend_send(b, a, friend_mirror(c), d);
			}
			break;
	}
}

static void
on_notify(const char *payload)
{
	const char *line = payload;

	while (*line != '\0')
	{
		const char *end = strchr(line, '\n');
		size_t		len = end ? (size_t) (end - line) : strlen(line);
		char		buf[160];
		char		kind;
		char		cid[HUB_CID_LEN + 1];
		char		arg[HUB_GUEST_MAX + 1];
		int			nf;

		if (len < sizeof(buf) && len > 2 && strchr("gufR", line[0]) != NULL)
		{
			memcpy(buf, line, len);
			buf[len] = '\0';
			guest_line(buf);
		}
		/* Upper case: presence's and typing's lines (presence.c, typing.c). */
		else if (len > 0 && *line >= 'A' && *line <= 'Z')
			(void) (presence_on_line(line, len) || typing_on_line(line, len));
		else if (len < sizeof(buf))
		{
			memcpy(buf, line, len);
			buf[len] = '\0';
			arg[0] = '\0';
			nf = sscanf(buf, "%c %36s %64s", &kind, cid, arg);
			if (nf >= 2)
			{
				int64_t		seq = nf == 3 ? strtoll(arg, NULL, 10) : 0;

				char		key[HUB_CID_LEN + 1];

				/* "m <cid>" without a seq comes from an older gateway. */
				if (kind == 'm')
					head_seen(cid, nf == 3 ? seq : INT64_MAX, 0);
				else if (kind == 'e' || kind == 'd' || kind == 'r')
				{
					struct hub_conv *c = hub_conv_find(cid);

					if (kind == 'r' && nf == 3)
						typing_forget(cid, arg);

					if (c != NULL)
						changes_kick(c, 0);
				}
				/* guest streams */
				if (hub_cid_canonical(cid, key))
				{
					if (kind == 'm' || kind == 'r')
						gstream_kick_conversation(key);
					if (kind == 'r' && nf == 3)
						gstream_kick_guest(arg);
					if ((kind == 'e' || kind == 'd') && nf == 3)
						gstream_changed(key, arg, kind == 'd');
				}
			}
		}
		if (end == NULL)
			break;
		line = end + 1;
	}
}

/* The seq of a message as the extension renders it; 0 when there is none. */
static int64_t
message_seq(const char *json, size_t len)
{
	cJSON	   *m = json ? cJSON_ParseWithLength(json, len) : NULL;
	cJSON	   *seq = cJSON_GetObjectItemCaseSensitive(m, "seq");
	int64_t		v = cJSON_IsNumber(seq) && seq->valuedouble >= 1 ? (int64_t) seq->valuedouble : 0;

	cJSON_Delete(m);
	return v;
}

/* A guest id as the notification lines carry it: no white space (ids never have any). */
static bool
line_safe(const char *v)
{
	return v != NULL && *v != '\0' && strlen(v) <= HUB_GUEST_MAX && strpbrk(v, " \t\r\n") == NULL;
}

/*
 * The writes that concern guest streams only: queue their lines.  False
 * for the routes events_after_write() handles itself (posts, edits,
 * deletes, removals: their lines serve both kinds of stream).
 */
static bool
guest_after_write(const char *route, const char *const *values, const char *body, size_t body_len)
{
	cJSON	   *j = NULL;
	const cJSON *v;
	char		key[HUB_CID_LEN + 1];
	char		arg[HUB_GUEST_MAX + 64];

	if (strcmp(route, "conversation_create") == 0 && body != NULL)
	{
		/* every participant: its stream gets conversation_added */
		j = cJSON_ParseWithLength(body, body_len);
		cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(j, "participants"))
		{
			const cJSON *g = cJSON_GetObjectItemCaseSensitive(v, "guest_id");

			if (cJSON_IsString(g) && line_safe(g->valuestring))
				notify_queue('g', g->valuestring, NULL);
		}
	}
	else if (strcmp(route, "participant_add") == 0 && body != NULL && hub_cid_canonical(values[0], key))
	{
		const cJSON *g;

		j = cJSON_ParseWithLength(body, body_len);
		g = cJSON_GetObjectItemCaseSensitive(j, "guest_id");
		if (cJSON_IsString(g) && line_safe(g->valuestring))
			notify_queue('g', g->valuestring, NULL);
		notify_queue('u', key, NULL);
	}
	else if (strcmp(route, "read_mark") == 0 && body != NULL && hub_cid_canonical(values[0], key))
	{
		const cJSON *g;
		const cJSON *seq;

		j = cJSON_ParseWithLength(body, body_len);
		g = cJSON_GetObjectItemCaseSensitive(j, "guest_id");
		seq = cJSON_GetObjectItemCaseSensitive(j, "last_read_seq");
		if (cJSON_IsString(g) && line_safe(g->valuestring) && cJSON_IsNumber(seq))
		{
			snprintf(arg, sizeof(arg), "%s %.0f", g->valuestring, seq->valuedouble);
			notify_queue('R', key, arg);
		}
	}
	else if (strcmp(route, "friend_request") == 0 && body != NULL)
	{
		const cJSON *st;
		const cJSON *since;

		j = cJSON_ParseWithLength(body, body_len);
		st = cJSON_GetObjectItemCaseSensitive(j, "status");
		since = cJSON_GetObjectItemCaseSensitive(j, "since");
		if (line_safe(values[0]) && line_safe(values[1]) && cJSON_IsString(st) &&
			line_safe(st->valuestring))
		{
			snprintf(arg, sizeof(arg), "%s %s %s", values[1], st->valuestring,
					 cJSON_IsString(since) && line_safe(since->valuestring) ? since->valuestring : "-");
			notify_queue('f', values[0], arg);
		}
	}
	else if (strcmp(route, "friend_remove") == 0)
	{
		if (line_safe(values[0]) && line_safe(values[1]))
		{
			snprintf(arg, sizeof(arg), "%s none -", values[1]);
			notify_queue('f', values[0], arg);
		}
	}
	else
		return false;
	cJSON_Delete(j);
	return true;
}

void
events_after_write(const char *route, const char *const *values,
				   const char *body, size_t body_len)
{
	char		kind;
	const char *arg = NULL;
	char		cid[HUB_CID_LEN + 1];
	char		seq_s[24];

	if (!config.events)
		return;
	if (strcmp(route, "presence_set") == 0)
	{
		presence_changed(values[0]);
		return;
	}
	if (strcmp(route, "typing_check") == 0)
	{
		typing_checked(values[0], values[1]);
		return;
	}
	if (guest_after_write(route, values, body, body_len))
		return;
	if (strcmp(route, "message_post") == 0)
		kind = 'm';
	else if (strcmp(route, "message_edit") == 0)
		kind = 'e', arg = values[1];
	else if (strcmp(route, "message_delete") == 0)
		kind = 'd', arg = values[1];
	else if (strcmp(route, "reaction_add") == 0 || strcmp(route, "reaction_remove") == 0)
		kind = 'e', arg = values[1];	/* a change like an edit (0.5.0) */
	else if (strcmp(route, "participant_remove") == 0)
		kind = 'r', arg = values[1];
	else
		return;
	if (!hub_cid_canonical(values[0], cid))
		return;
	/* our guest streams fetch now; the notification kicks them again, and other gateways' */
	if (kind == 'm')
		gstream_kick_conversation(cid);
	if (kind == 'm' && hub_conv_find(cid) != NULL)
	{
		int64_t		seq = message_seq(body, body_len);

		/*
		 * Our own streams get it now.  The seq in the line lets this
		 * gateway skip the fetch when the notification comes back; other
		 * gateways cannot have the message yet, so without local streams
		 * the reply is not parsed at all.
		 */
		if (seq > 0)
		{
			deliver_posted(cid, seq, body, body_len);
			snprintf(seq_s, sizeof(seq_s), "%" PRId64, seq);
			arg = seq_s;
		}
	}
	notify_queue(kind, cid, arg);
}

/* ---- heartbeats ----------------------------------------------------------- */

/* A comment line keeps proxies from closing a quiet stream, and finds dead clients. */
static void
on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
	(void) fd;
	(void) what;
	(void) arg;
	sse_comment(ev.scratch, "");
	(void) hub_stream_send_all(ev.scratch);
}

/* ---- streams in ----------------------------------------------------------- */

bool
events_cursor(const char **after, const char *last_event_id, struct problem *p)
{
	char		clamped[DECIMAL_BUFLEN];

	if (!ev.enabled)
	{
		problem_set(p, 404, CODE_NOT_FOUND, "live events are off in this gateway (PARLEY_EVENTS=0)");
		return false;
	}
	if (last_event_id == NULL)
		return true;
	if (!decimal_clamp(last_event_id, strlen(last_event_id), false, 0, INT64_MAX, clamped))
	{
		problem_set(p, 400, CODE_VALIDATION, "Last-Event-ID must be a message seq (a non-negative integer)");
		return false;
	}
	/* Beyond bigint is past the end, as for ?after= (decimal.h). */
	*after = strcmp(clamped, DECIMAL_INT64_MAX_TEXT) == 0 ? DECIMAL_INT64_MAX_TEXT : last_event_id;
	return true;
}

bool
events_guest_cursor(const char **after, const char *last_event_id, struct problem *p)
{
	if (!ev.enabled)
	{
		problem_set(p, 404, CODE_NOT_FOUND, "live events are off in this gateway (PARLEY_EVENTS=0)");
		return false;
	}
	if (last_event_id != NULL)
		*after = last_event_id;	/* opaque: the subscribe check looks at it */
	return true;
}

struct events_stream *
events_guest_stream_open(const struct events_sink_ops *ops, void *conn, const char *guest,
						 const char *after)
{
	return gstream_open(ops, conn, guest, after);
}

/* The sink starts: its head, then a comment so the client sees it open, and the retry field. */
static void
stream_start(struct events_stream *s)
{
	hub_stream_start(s);
	sse_comment(ev.scratch, "ok");
	sse_retry(ev.scratch, EVENTS_RETRY_MS);
	(void) hub_stream_send(s, ev.scratch);	/* a few bytes: never past the bound */
}

static void
on_subscribe_accepted(void *arg, const char *cid, int64_t last_seq, int64_t change_seq)
{
	struct events_stream *s = arg;
	char		key[HUB_CID_LEN + 1];
	struct problem p;

	s->owner = NULL;
	if (!hub_cid_canonical(cid, key) ||
		!hub_stream_join(s, key, s->cursor >= 0 ? s->cursor : last_seq, last_seq, change_seq))
	{
		log_error("events: stream of %s in %s cannot be registered (out of memory?)", s->guest, cid);
		problem_set(&p, 500, CODE_INTERNAL, "internal error; the gateway log has the details");
		if (s->started)
			hub_stream_end(s);
		else
			hub_stream_refuse(s, &p);
		return;
	}
	if (!s->started)
		stream_start(s);
	deliver_kick(s->conv);		/* catch up from the cursor */
}

static void
on_subscribe_refused(void *arg, const struct problem *p)
{
	struct events_stream *s = arg;

	s->owner = NULL;
	if (!s->started)
	{
		hub_stream_refuse(s, p);
		return;
	}
	log_info("events: stream of %s ended: the subscribe check failed once the database was back (%s)",
			 s->guest, p->code);
	hub_stream_end(s);
}

static void
on_subscribe_waiting(void *arg)
{
	struct events_stream *s = arg;

	if (!s->started)
		stream_start(s);
}

struct events_stream *
events_stream_open(const struct events_sink_ops *ops, void *conn, const char *cid,
				   const char *guest, const char *after)
{
	struct events_stream *s = hub_stream_new(ops, conn, guest);
	struct subscribe *sub;
	struct problem p;

	problem_set(&p, 500, CODE_INTERNAL, "out of memory");
	if (s == NULL)
	{
		ops->refuse(conn, &p);
		return NULL;
	}
	/* -1: no cursor, start from last_seq once the check answers. */
	s->cursor = after != NULL ? strtoll(after, NULL, 10) : -1;
	sub = subscribe_start(cid, guest, after, s);
	if (sub == NULL)
	{
		hub_stream_refuse(s, &p);
		return NULL;
	}
	/* waiting() may have started s meanwhile; accepted() and refused() come later. */
	s->owner = sub;
	return s;
}

void
events_stream_gone(struct events_stream *s)
{
	if (s->owner != NULL)
		subscribe_cancel(s->owner);
	hub_stream_remove(s);
}

void
events_get_stats(struct events_stats *st)
{
	st->streams = hub_nstreams();
	st->dropped = hub_dropped();
	st->fetches = deliver_fetches() + changes_fetches();
	st->direct = deliver_direct();
	{
		struct typing_stats ts;

		typing_get_stats(&ts);
		st->typing_requests = ts.requests;
		st->typing_forwarded = ts.forwarded;
		st->typing_checks = ts.checks;
		st->presence_online = presence_count_online();
		st->presence_gateways = presence_count_gateways();
	}
}

void
events_close_all(void)
{
	struct events_stream *s;
	struct problem p;

	problem_set(&p, 503, CODE_DB_UNAVAILABLE, "the gateway is shutting down");
	while ((s = hub_stream_any()) != NULL)
	{
		if (s->owner != NULL)
			subscribe_cancel(s->owner);
		s->owner = NULL;
		if (s->started)
			hub_stream_end(s);
		else
			hub_stream_refuse(s, &p);
	}
}

/* ---- presence and typing --------------------------------------------------- */

static void
presence_opened(const char *guest, void *arg)
{
	(void) arg;
	presence_stream_opened(guest);
}

static void
presence_closed(const char *guest, void *arg)
{
	(void) arg;
	presence_stream_closed(guest);
}

char *
events_gateway_value(const char *route, const char *name, const char *const *values, int nvalues)
{
	if (strcmp(name, "online") != 0)
		return NULL;
	if (strcmp(route, "presence_set") == 0 && nvalues >= 1 && values[0] != NULL)
		return strdup(ev.enabled && presence_online(values[0]) ? "true" : "false");
	if (strcmp(route, "presence_get") == 0 && nvalues >= 2)
		return ev.enabled ? presence_online_among(values[1]) : strdup("{}");
	return NULL;
}

/* typing.c's callbacks name the guest first, as the rest of typing.c does. */
static int
typing_in_conversation(const char *guest, const char *cid)
{
	return events_guest_in_conversation(guest, cid);
}

bool
events_typing(const char *cid, const char *guest)
{
	return ev.enabled && typing_request(cid, guest);
}

/* ---- setup ---------------------------------------------------------------- */

bool
events_setup(struct event_base *base, struct pool *pool)
{
	static const struct listen_callbacks listen_cb = {
		.notify = on_notify,
		.up = deliver_kick_all,
		.idle = notify_flush_later,
	};
	static const struct poll_callbacks poll_cb = {
		.ids = hub_conv_ids,
		.head = head_seen,
	};
	static const struct presence_callbacks presence_cb = {
		.guest_send = events_guest_send,
	};
	static const struct typing_callbacks typing_cb = {
		.send_except = events_conversation_send_except,
		.in_conversation = typing_in_conversation,
	};
	static const struct events_stream_watch presence_watch = {
		.opened = presence_opened,
		.closed = presence_closed,
	};
	static const struct subscribe_callbacks subscribe_cb = {
		.accepted = on_subscribe_accepted,
		.refused = on_subscribe_refused,
		.waiting = on_subscribe_waiting,
	};
	struct timeval hb_tv = util_timeval_ms(config.sse_heartbeat * 1000L);
	const struct pool_stmt *fetch = pool_statement(pool, "events_fetch", sql_fetch);
	const struct pool_stmt *heads = pool_statement(pool, "events_heads", sql_heads);
	const struct pool_stmt *changes = pool_statement(pool, "events_changes", sql_changes);
	const struct pool_stmt *subscribe = pool_statement(pool, "events_subscribe", sql_subscribe);
	const struct pool_stmt *gsubscribe = pool_statement(pool, "guest_events", sql_guest_subscribe);
	const struct pool_stmt *gfetch = pool_statement(pool, "events_guests_fetch", sql_guests_fetch);

	ev.enabled = config.events;
	ev.scratch = evbuffer_new();
	ev.heartbeat_timer = event_new(base, -1, EV_PERSIST, on_heartbeat, NULL);
	if (fetch == NULL || heads == NULL || changes == NULL || subscribe == NULL ||
		ev.scratch == NULL || ev.heartbeat_timer == NULL ||
		!hub_setup(base, &deliver_fetcher, &changes_fetcher, config.sse_buffer) ||
		!notify_setup(base) || !deliver_setup(base, pool, fetch) ||
		!changes_setup(base, pool, changes) ||
		!subscribe_setup(base, pool, subscribe, &subscribe_cb) ||
		gsubscribe == NULL || gfetch == NULL ||
		!gstream_setup(base, pool, gsubscribe, gfetch, fetch, EVENTS_RETRY_MS))
		return false;
	if (!ev.enabled)
		return true;
	if (!poll_setup(base, pool, heads, &poll_cb) || !presence_setup(base, pool, &presence_cb) ||
		!typing_setup(base, &typing_cb))
		return false;
	events_set_stream_watch(&presence_watch);
	evtimer_add(ev.heartbeat_timer, &hb_tv);
	/* PARLEY_PREPARED=0 means PgBouncer in transaction mode: no session SET. */
	return listen_setup(base, config.database_url, config.prepared, &listen_cb);
}

void
events_shutdown(void)
{
	presence_leaving();
	events_close_all();
	events_set_stream_watch(NULL);
	presence_shutdown();
	typing_shutdown();
	subscribe_shutdown();
	listen_free();
	poll_shutdown();
	deliver_shutdown();
	changes_shutdown();
	hub_shutdown();
	gstream_shutdown();
	if (ev.heartbeat_timer)
		event_free(ev.heartbeat_timer);
	notify_shutdown();
	if (ev.scratch)
		evbuffer_free(ev.scratch);
	memset(&ev, 0, sizeof(ev));
}

/* ---- the interface of presence and typing ---------------------------------- */

static const struct events_stream_watch *stream_watch;

static void
on_stream_watch(const char *guest, bool opened)
{
	if (stream_watch == NULL)
		return;
	if (opened && stream_watch->opened)
		stream_watch->opened(guest, stream_watch->arg);
	else if (!opened && stream_watch->closed)
		stream_watch->closed(guest, stream_watch->arg);
}

void
events_set_stream_watch(const struct events_stream_watch *w)
{
	stream_watch = w;
	hub_set_watch(w != NULL ? on_stream_watch : NULL);
}

int
events_guest_send(const char *guest_id, const char *event, const char *data_json)
{
	sse_event(ev.scratch, event, data_json, strlen(data_json));
	return gstream_send_guest(guest_id, ev.scratch);
}

int
events_conversation_send(const char *cid, const char *event, const char *data_json)
{
	char		key[HUB_CID_LEN + 1];
	struct hub_conv *c;
	struct events_stream *next;
	size_t		len = strlen(data_json);
	int			n = 0;

	if (!hub_cid_canonical(cid, key))
		return 0;
	c = hub_conv_find(key);
	for (struct events_stream *s = c ? c->streams : NULL; s != NULL; s = next)
	{
		next = s->next;
		if (!s->started)
			continue;
		sse_event(ev.scratch, event, data_json, len);
		n += hub_stream_send(s, ev.scratch);
	}
	sse_event(ev.scratch, event, data_json, len);
	return n + gstream_send_conversation(key, NULL, ev.scratch);
}

/*
 * Typing: every stream of cid but the typist's, the conversation's own and
 * the guest streams of its other participants.
 */
int
events_conversation_send_except(const char *cid, const char *except_guest, const char *event,
								const char *data_json)
{
	char		key[HUB_CID_LEN + 1];
	struct hub_conv *c;
	struct events_stream *next;
	size_t		len = strlen(data_json);
	int			n = 0;

	if (!hub_cid_canonical(cid, key))
		return 0;
	c = hub_conv_find(key);
	for (struct events_stream *s = c ? c->streams : NULL; s != NULL; s = next)
	{
		next = s->next;
		if (!s->started || strcmp(s->guest, except_guest) == 0)
			continue;
		sse_event(ev.scratch, event, data_json, len);
		n += hub_stream_send(s, ev.scratch);
	}
	sse_event(ev.scratch, event, data_json, len);
	return n + gstream_send_conversation(key, except_guest, ev.scratch);
}

int
events_guest_in_conversation(const char *guest_id, const char *cid)
{
	char		key[HUB_CID_LEN + 1];

	if (!hub_cid_canonical(cid, key))
		return 0;
	return gstream_in_conversation(guest_id, key);
}
