/*
 * messages.c
 *	  message_post(), message_list(), message_edit(), message_delete().
 */
#include "postgres.h"

#include "fmgr.h"

#include "parley.h"

PG_FUNCTION_INFO_V1(message_post);
Datum
message_post(PG_FUNCTION_ARGS)
{
	ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("message_post is not implemented yet")));
	PG_RETURN_NULL();
}

PG_FUNCTION_INFO_V1(message_list);
Datum
message_list(PG_FUNCTION_ARGS)
{
	ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("message_list is not implemented yet")));
	PG_RETURN_NULL();
}

PG_FUNCTION_INFO_V1(message_edit);
Datum
message_edit(PG_FUNCTION_ARGS)
{
	ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("message_edit is not implemented yet")));
	PG_RETURN_NULL();
}

PG_FUNCTION_INFO_V1(message_delete);
Datum
message_delete(PG_FUNCTION_ARGS)
{
	ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("message_delete is not implemented yet")));
	PG_RETURN_NULL();
}
