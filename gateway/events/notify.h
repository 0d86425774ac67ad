/*
 * notify.h
 *	  The outgoing side of live events: batches of ids sent with pg_notify
 *	  after relayed writes (events_after_write() in events.h queues them).
 */
#ifndef PARLEY_NOTIFY_H
#define PARLEY_NOTIFY_H

#include <stdbool.h>

#include <event2/event.h>

#define CID_LEN 36				/* a UUID in its canonical spelling */

bool		notify_setup(struct event_base *base);

/* The listener is idle again: send what queued meanwhile after the batch period. */
void		notify_flush_later(void);

/*
 * PostgreSQL reads a UUID in several spellings; notifications and the
 * stream index use the canonical one.  False when in is no UUID.
 */
bool		notify_cid_canonical(const char *in, char out[CID_LEN + 1]);

void		notify_shutdown(void);

#endif							/* PARLEY_NOTIFY_H */
