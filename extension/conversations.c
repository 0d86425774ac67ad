/*
 * conversations.c
 *	  conversation_create(), conversation_get(), conversation_list().
 */
#include "postgres.h"

#include "fmgr.h"

#include "parley.h"

PG_FUNCTION_INFO_V1(conversation_create);
Datum
conversation_create(PG_FUNCTION_ARGS)
{
	ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("conversation_create is not implemented yet")));
	PG_RETURN_NULL();
}

PG_FUNCTION_INFO_V1(conversation_get);
Datum
conversation_get(PG_FUNCTION_ARGS)
{
	ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("conversation_get is not implemented yet")));
	PG_RETURN_NULL();
}

PG_FUNCTION_INFO_V1(conversation_list);
Datum
conversation_list(PG_FUNCTION_ARGS)
{
	ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("conversation_list is not implemented yet")));
	PG_RETURN_NULL();
}
