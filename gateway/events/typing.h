/*
 * typing.h
 *	  Typing (API.md section 8): POST /v1/conversations/{cid}/typing.
 *	  The participant check (parley.typing_check) is cached per guest and
 *	  conversation; at most one typing per guest and conversation every
 *	  TYPING_THROTTLE_MS is forwarded, as a "T <cid> <guest>" line of the
 *	  notification channel, so every gateway (this one too) sends the
 *	  typing event to its streams of the conversation's other participants.
 *	  No table is written.
 */
#ifndef PARLEY_TYPING_H
#define PARLEY_TYPING_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>

#define TYPING_THROTTLE_MS	2000
#define TYPING_EXPIRES_MS	5000
#define TYPING_CACHE_MS		60000	/* how long a passed check is trusted */

/* What typing.c asks of events.c. */
struct typing_callbacks
{
	/* send to cid's streams here but except_guest's */
	int			(*send_except) (const char *cid, const char *except_guest, const char *event,
								const char *data_json);
	/* 1: a guest stream here knows guest in cid; 0 no; -1 unknown */
	int			(*in_conversation) (const char *guest, const char *cid);
};

bool		typing_setup(struct event_base *base, const struct typing_callbacks *cb);
void		typing_shutdown(void);

/*
 * A typing request of guest in cid: true when it is answered (204) with
 * no statement (the check is cached: forwarded, or throttled); false when
 * the check must run first (then typing_checked() once it passed).
 */
bool		typing_request(const char *cid, const char *guest);
void		typing_checked(const char *cid, const char *guest);

/* guest was removed from cid: its check is no longer trusted. */
void		typing_forget(const char *cid, const char *guest);

/* One notification line (not NUL-terminated): true when it was typing's. */
bool		typing_on_line(const char *line, size_t len);

/* For /metrics and the bench: typing requests answered, forwarded, checks run. */
struct typing_stats
{
	unsigned long long requests;
	unsigned long long forwarded;
	unsigned long long checks;
};
void		typing_get_stats(struct typing_stats *st);

#endif							/* PARLEY_TYPING_H */
