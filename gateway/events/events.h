/*
 * events.h
 *	  Live events (GET /v1/conversations/{cid}/events, Server-Sent Events):
 *	  what the HTTP layer and main.c see of events/.  Streams are indexed
 *	  by conversation; one fetch per conversation feeds all of its streams;
 *	  one LISTEN connection per process tells which conversations changed.
 *
 * Inside events/ calls go one way:
 *	  events.c  ->  subscribe.c, poll.c, notify.c (-> db/)
 *	  events.c  ->  deliver.c, changes.c  ->  hub.c  ->  the streams' sinks
 *	  events.c, deliver.c, changes.c  ->  sse.c (the wire format)
 * Calls back up go through callback structs: hub.c -> the fetchers
 * (struct hub_fetcher), poll.c and subscribe.c -> events.c (struct
 * poll_callbacks, struct subscribe_callbacks), db/listen.c -> events.c
 * (struct listen_callbacks).  The sink is sink.h.
 */
#ifndef PARLEY_EVENTS_H
#define PARLEY_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "errors.h"
#include "sink.h"
#include "db/pool.h"

/* Register the statements with the pool; start the listener and the timers. */
bool		events_setup(struct event_base *base, struct pool *pool);

/*
 * A write relayed by this gateway succeeded: queue its notification (and
 * send a posted message to this gateway's streams).  route is the route's
 * name, values its statement parameters, body the reply (NULL for 204).
 */
void		events_after_write(const char *route, const char *const *values,
							   const char *body, size_t body_len);

/*
 * The cursor of a subscription: the Last-Event-ID header when present
 * (an EventSource reconnects to its original URL with the header added,
 * so the header is the newer cursor), else ?after=S (*after as bound).
 * Returns false with a 400 in p when the header is not a non-negative
 * integer, or a 404 when live events are off.  A cursor too large for
 * bigint is past the end (it replays nothing).
 */
bool		events_cursor(const char **after, const char *last_event_id,
						  struct problem *p);

/*
 * Hand over the connection conn of a validated, authenticated request for
 * the events of cid as guest, from cursor after (NULL: live from now).  The
 * subscribe check (parley.events_subscribe) runs now: it answers through
 * ops->refuse() or ops->start().  While the database cannot be reached the
 * stream starts at once and the check runs again until it can (an
 * EventSource refused with 503 would give up for good); a check refused
 * then ends the stream.  NULL when not even the stream can be made (out of
 * memory): the request was refused (500) through ops->refuse() then.
 */
struct events_stream *events_stream_open(const struct events_sink_ops *ops, void *conn,
										 const char *cid, const char *guest,
										 const char *after);

/*
 * GET /v1/guests/{G}/events (API.md section 8): the cursor is opaque, the
 * Last-Event-ID header when present, else ?after= (*after as bound); 404
 * in p when live events are off.
 */
bool		events_guest_cursor(const char **after, const char *last_event_id,
								struct problem *p);

/* Hand over conn for the guest stream of guest (as events_stream_open()). */
struct events_stream *events_guest_stream_open(const struct events_sink_ops *ops, void *conn,
											   const char *guest, const char *after);

/* The client went away: the stream forgets conn and is freed. */
void		events_stream_gone(struct events_stream *s);

/* For /metrics. */
struct events_stats
{
	int			streams;		/* open now */
	unsigned long long fetches;	/* round trips of events_fetch and events_changes */
	unsigned long long direct;	/* messages sent from a post's own reply */
	unsigned long long dropped;	/* slow consumers disconnected */
	int			presence_online;	/* guests online in the deployment, as known here */
	int			presence_gateways;	/* gateways heard (this one included) */
	unsigned long long typing_requests; /* POST .../typing */
	unsigned long long typing_forwarded;	/* of them, sent on (not throttled) */
	unsigned long long typing_checks;	/* of them, run as typing_check (not cached) */
};
void		events_get_stats(struct events_stats *st);

/* End every stream (SIGTERM). */
void		events_close_all(void);

void		events_shutdown(void);

/* ---- the interface of presence and typing (issue #16) ---------------------- */

/* Send one event to every open guest stream of guest_id on this gateway (no id: line). Returns how many streams got it. */
int			events_guest_send(const char *guest_id, const char *event, const char *data_json);

/* Send one event (no id:) to the per-conversation streams of cid and the guest streams of its participants on this gateway. */
int			events_conversation_send(const char *cid, const char *event, const char *data_json);

/* Who listens: called when any stream (per-conversation with its acting guest, or guest stream) of guest_id opens or ends on this gateway. */
struct events_stream_watch
{
	void		(*opened) (const char *guest_id, void *arg);
	void		(*closed) (const char *guest_id, void *arg);
	void	   *arg;
};
void		events_set_stream_watch(const struct events_stream_watch *w);

/* Whether guest_id is known (from a guest stream on this gateway) to take part in cid: 1 yes, 0 no, -1 unknown. */
int			events_guest_in_conversation(const char *guest_id, const char *cid);

/* ---- presence and typing (presence.c, typing.c) --------------------------- */

/*
 * The value of route parameter name that the gateway knows (api.txt's
 * "gateway" source, PARAM_GATEWAY), from the request's other values:
 * "online" of presence_set (values[0] the guest: "true"/"false") and of
 * presence_get (values[1] the ids: the array of those online).  malloc'd;
 * NULL when out of memory or unknown.
 */
char	   *events_gateway_value(const char *route, const char *name,
								 const char *const *values, int nvalues);

/*
 * POST .../typing of guest in cid: true when it is answered now (204) with
 * no statement (the participant check is cached); false: run the route's
 * statement (typing_check), whose success events_after_write() reports.
 */
bool		events_typing(const char *cid, const char *guest);

/* As events_conversation_send(), but not to the streams of guest except_guest (typing). */
int			events_conversation_send_except(const char *cid, const char *except_guest,
											const char *event, const char *data_json);

#endif							/* PARLEY_EVENTS_H */
