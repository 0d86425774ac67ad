/*
 * moderation.h
 *	  Roles, mutes, bans, frozen conversations and slow mode (0.6.0,
 *	  API.md section 10): the checks other files make (moderation.c), and
 *	  the word filters (filters.c).
 *
 * The caller of each check is connected to SPI.
 */
#ifndef PARLEY_MODERATION_H
#define PARLEY_MODERATION_H

#include "postgres.h"

#include "fmgr.h"

/*
 * 403 muted / conversation_frozen unless guest may write in conversation
 * cid now (edits; reactions should call it too).  Does nothing when guest
 * takes no part: the caller's own checks raise that.
 */
extern void parley_check_may_write(Datum cid, const char *guest);

/*
 * After a post of guest to cid inserted nothing: raise 403 muted, 403
 * conversation_frozen or 429 slow_mode when that is why; return otherwise.
 */
extern void parley_explain_refused_post(Datum cid, const char *guest);

/* A participant who joins again: its standing mute, if any, applies again. */
extern void parley_restore_mute(Datum cid, const char *guest);

/* 403 banned when guest is banned from cid. */
extern void parley_check_not_banned(Datum cid, const char *guest);

/*
 * 403 insufficient_role unless a participant of role actor_role may
 * moderate one of role target_role (NULL: not a participant, as a member):
 * the owner acts on anyone, an admin on members, nobody on the owner.
 */
extern void parley_require_may_moderate(Datum cid, const char *actor, const char *actor_role,
										const char *target, const char *target_role);

/* The role of guest in cid, or NULL when it takes no part. */
extern char *parley_participant_role(Datum cid, const char *guest);

/*
 * filters.c: body with every word of a mask filter masked; 400
 * message_rejected when a word of a reject filter is in it.  Returns body
 * itself when nothing matched.
 */
extern text *parley_filter_body(text *body);

#endif							/* PARLEY_MODERATION_H */
