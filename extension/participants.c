/*
 * participants.c
 *	  participant_add() and participant_remove(): group membership.
 */
#include "postgres.h"

#include "fmgr.h"

#include "parley.h"

PG_FUNCTION_INFO_V1(participant_add);
Datum
participant_add(PG_FUNCTION_ARGS)
{
	ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("participant_add is not implemented yet")));
	PG_RETURN_NULL();
}

PG_FUNCTION_INFO_V1(participant_remove);
Datum
participant_remove(PG_FUNCTION_ARGS)
{
	ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("participant_remove is not implemented yet")));
	PG_RETURN_NULL();
}
