/*
 * parley.c
 *	  Module entry: PG_MODULE_MAGIC, parley.last_status(), parley.version().
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "parley.h"

PG_MODULE_MAGIC;

static int	last_status_value = 0;

void
parley_set_status(int status)
{
	last_status_value = status;
}

PG_FUNCTION_INFO_V1(last_status);
Datum
last_status(PG_FUNCTION_ARGS)
{
	if (last_status_value == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT32(last_status_value);
}

PG_FUNCTION_INFO_V1(parley_version);
Datum
parley_version(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(PARLEY_VERSION));
}
