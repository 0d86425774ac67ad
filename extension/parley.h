/*
 * parley.h
 *	  Shared declarations of the parley extension: SQLSTATEs of the domain
 *	  errors and the per-call HTTP status (last_status()).
 *
 * The SQLSTATE -> HTTP status / API code table is docs/errors.md; the gateway
 * maps with the same table (gateway/errors.c).  Custom codes use class PR.
 */
#ifndef PARLEY_H
#define PARLEY_H

#include "postgres.h"

#include "utils/elog.h"

#define PARLEY_VERSION "0.3.0"

/* 404s */
#define ERRCODE_PARLEY_GUEST_NOT_FOUND			MAKE_SQLSTATE('P','R','0','0','1')
#define ERRCODE_PARLEY_CONVERSATION_NOT_FOUND	MAKE_SQLSTATE('P','R','0','0','2')
#define ERRCODE_PARLEY_MESSAGE_NOT_FOUND		MAKE_SQLSTATE('P','R','0','0','3')
#define ERRCODE_PARLEY_PARTICIPANT_NOT_FOUND	MAKE_SQLSTATE('P','R','0','0','4')
#define ERRCODE_PARLEY_SERVICE_KEY_NOT_FOUND	MAKE_SQLSTATE('P','R','0','0','5')
#define ERRCODE_PARLEY_FRIENDSHIP_NOT_FOUND		MAKE_SQLSTATE('P','R','0','0','6')
#define ERRCODE_PARLEY_BLOCK_NOT_FOUND			MAKE_SQLSTATE('P','R','0','0','7')

/* 403s */
#define ERRCODE_PARLEY_NOT_A_PARTICIPANT		MAKE_SQLSTATE('P','R','0','1','0')
#define ERRCODE_PARLEY_NOT_THE_SENDER			MAKE_SQLSTATE('P','R','0','1','1')
#define ERRCODE_PARLEY_NOT_THE_OWNER			MAKE_SQLSTATE('P','R','0','1','2')
#define ERRCODE_PARLEY_FORBIDDEN				MAKE_SQLSTATE('P','R','0','1','3')
#define ERRCODE_PARLEY_BLOCKED					MAKE_SQLSTATE('P','R','0','1','4')

/* 409s */
#define ERRCODE_PARLEY_IDEMPOTENCY_CONFLICT		MAKE_SQLSTATE('P','R','0','2','0')
#define ERRCODE_PARLEY_MESSAGE_DELETED			MAKE_SQLSTATE('P','R','0','2','1')
#define ERRCODE_PARLEY_CONVERSATION_IS_DIRECT	MAKE_SQLSTATE('P','R','0','2','2')
#define ERRCODE_PARLEY_SERVICE_KEY_EXISTS		MAKE_SQLSTATE('P','R','0','2','3')

/* 400s use ERRCODE_INVALID_PARAMETER_VALUE (22023) and friends. */

/*
 * The HTTP status of the last API call in this backend: 201 created,
 * 200 found or updated, 204 nothing to return.  Every API function sets it
 * once it has succeeded; parley.last_status() reads it back so a gateway can
 * tell "created" from "already there" without a second call.
 */
extern void parley_set_status(int status);

/*
 * events.c, 0.3.0: count one change (an edit, a delete, a removal) of
 * conversation cid and answer its new change_seq.  Takes the
 * conversation's row lock, as a post does.  The caller is connected to
 * SPI; raises 404 when the conversation does not exist.
 */
extern int64 parley_count_change(Datum cid);

#endif							/* PARLEY_H */
