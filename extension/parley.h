/*
 * parley.h
 *	  Shared declarations of the parley extension: SQLSTATEs of the domain
 *	  errors and the per-call HTTP status (last_status()).
 *
 * The SQLSTATE -> HTTP status / API code table is api/errcodes.txt; the
 * extension's defines, the gateway's table and docs/errors.md are generated
 * from it.  Custom codes use class PR.
 */
#ifndef PARLEY_H
#define PARLEY_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/elog.h"

#define PARLEY_VERSION "0.6.0"

/*
 * ERRCODE_PARLEY_<CODE>: the SQLSTATEs of class PR, generated from
 * api/errcodes.txt (which also gives each its HTTP status and code).
 */
#include "parley_errcodes.h"

/* 400s use ERRCODE_INVALID_PARAMETER_VALUE (22023) and friends. */

/*
 * Versioned entry points, as pg_stat_statements has them.  One parley.so
 * serves databases at every installed version: a version's script binds a
 * function whose behaviour it changes to a new C symbol (message_post_v0_2),
 * a thin entry that calls the one implementation with that version; the
 * implementation branches on "api >= PARLEY_API_0_2" where the version
 * changed something (and picks its statements with parley_query_at()).
 *
 * A new version adds its value here (before PARLEY_API_COUNT), a symbol per
 * changed function and an "if (api >= ...)": never a twin function, a twin
 * statement or a boolean argument.
 */
typedef enum ParleyApi
{
	PARLEY_API_0_1,				/* 0.1.0: the first API */
	PARLEY_API_0_2,				/* 0.2.0: friends and blocks */
	PARLEY_API_0_3,				/* 0.3.0: change_seq for live events */
	PARLEY_API_0_4,				/* 0.4.0: guest sessions (the acting guest),
								 * one stream per guest */
	PARLEY_API_0_5,				/* 0.5.0: reactions, replies, search,
								 * attachments, conversation settings */
	PARLEY_API_0_6,				/* 0.6.0: moderation and data rights */
	PARLEY_API_COUNT			/* not a version: the number of them */
} ParleyApi;

/*
 * PARLEY_API_ENTRY(symbol, impl, api): the SQL-callable symbol that runs
 * impl(fcinfo, api).
 */
#define PARLEY_API_ENTRY(symbol, impl, api) \
	PG_FUNCTION_INFO_V1(symbol); \
	Datum \
	symbol(PG_FUNCTION_ARGS) \
	{ \
		return impl(fcinfo, api); \
	}

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
