/*
 * access.h
 *	  The errors every conversation-scoped function raises in the same words:
 *	  an unknown conversation (404) and an acting guest that takes no part
 *	  (403), and the text form of a conversation id for messages.
 */
#ifndef PARLEY_ACCESS_H
#define PARLEY_ACCESS_H

#include "postgres.h"

/* The canonical text of a uuid Datum, for error messages. */
extern char *parley_uuid_string(Datum uuid);

extern void parley_raise_conversation_not_found(Datum cid) pg_attribute_noreturn();
extern void parley_raise_not_a_participant(Datum cid, const char *actor) pg_attribute_noreturn();

#endif							/* PARLEY_ACCESS_H */
