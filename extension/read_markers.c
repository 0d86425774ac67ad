/*
 * read_markers.c
 *	  read_mark(): read markers that only move forward.
 */
#include "postgres.h"

#include "fmgr.h"

#include "parley.h"

PG_FUNCTION_INFO_V1(read_mark);
Datum
read_mark(PG_FUNCTION_ARGS)
{
	ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("read_mark is not implemented yet")));
	PG_RETURN_NULL();
}
