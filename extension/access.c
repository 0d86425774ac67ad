/*
 * access.c
 *	  Errors shared by the conversation-scoped functions (access.h).
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/fmgrprotos.h"

#include "access.h"
#include "parley.h"

char *
parley_uuid_string(Datum uuid)
{
	return DatumGetCString(DirectFunctionCall1(uuid_out, uuid));
}

void
parley_raise_conversation_not_found(Datum cid)
{
	ereport(ERROR,
			(errcode(ERRCODE_PARLEY_CONVERSATION_NOT_FOUND),
			 errmsg("conversation %s does not exist", parley_uuid_string(cid))));
	pg_unreachable();
}

void
parley_raise_not_a_participant(Datum cid, const char *actor)
{
	ereport(ERROR,
			(errcode(ERRCODE_PARLEY_NOT_A_PARTICIPANT),
			 errmsg("guest \"%s\" is not a participant of conversation %s",
					actor, parley_uuid_string(cid))));
	pg_unreachable();
}
