/*
 * conversations.h
 *	  What conversations.c offers the other files.
 */
#ifndef PARLEY_CONVERSATIONS_H
#define PARLEY_CONVERSATIONS_H

#include "postgres.h"

#include "utils/jsonb.h"

#include "parley.h"

/*
 * The conversation cid with its participants, as conversation_get() of
 * version api answers it, and last_status() set to status; the caller is
 * connected to SPI, which this finishes (parley_return_jsonb()).  404 when
 * it does not exist.
 */
extern Jsonb *parley_conversation_answer(Datum cid, ParleyApi api, int status);

#endif							/* PARLEY_CONVERSATIONS_H */
