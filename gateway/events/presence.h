/*
 * presence.h
 *	  Presence across the gateways of a deployment (API.md section 8):
 *	  which guests hold a stream on some gateway, told between gateways
 *	  with LISTEN/NOTIFY lines, and the presence events to the guest
 *	  streams of each changed guest's audience.  docs/gateway.md has the
 *	  protocol.  events.c calls it; it sends lines through notify.c and
 *	  events through struct presence_callbacks.
 */
#ifndef PARLEY_PRESENCE_H
#define PARLEY_PRESENCE_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>

#include "db/pool.h"

/* How presence.c sends an event to a guest's streams here (events.c's events_guest_send). */
struct presence_callbacks
{
	int			(*guest_send) (const char *guest, const char *event, const char *data_json);
};

bool		presence_setup(struct event_base *base, struct pool *pool,
						   const struct presence_callbacks *cb);
void		presence_shutdown(void);

/* A stream of guest opened or ended on this gateway. */
void		presence_stream_opened(const char *guest);
void		presence_stream_closed(const char *guest);

/* One notification line (not NUL-terminated): true when it was presence's. */
bool		presence_on_line(const char *line, size_t len);

/* PUT .../presence of guest succeeded: every gateway sends its presence. */
void		presence_changed(const char *guest);

/* Is guest online anywhere in the deployment (as far as this gateway knows)? */
bool		presence_online(const char *guest);

/*
 * The array literal of the ids of the comma list ids that are online
 * (malloc'd; NULL when out of memory).
 */
char	   *presence_online_among(const char *ids);

/* The gateway stops: tell the others its guests leave (best effort). */
void		presence_leaving(void);

/* For /metrics and tests: guests online in the deployment, gateways heard. */
int			presence_count_online(void);
int			presence_count_gateways(void);

#endif							/* PARLEY_PRESENCE_H */
