/*
 * query.c
 *	  Saved-plan SPI execution shared by every module.
 */
#include "postgres.h"

#include "executor/spi.h"

#include "parley.h"
#include "query.h"

static SPIPlanPtr
query_plan(ParleyQuery *q)
{
	if (q->plan == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare(q->sql, q->nargs, q->argtypes);

		if (plan == NULL)
			elog(ERROR, "parley: SPI_prepare failed (%s) for: %s",
				 SPI_result_code_string(SPI_result), q->sql);
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "parley: SPI_keepplan failed");
		q->plan = plan;
	}
	return q->plan;
}

ParleyQuery *
parley_query_at(ParleyQuery *versions, ParleyApi api)
{
	for (int v = api; v >= PARLEY_API_0_1; v--)
		if (versions[v].sql != NULL)
			return &versions[v];
	elog(ERROR, "parley: no statement for API version %d", (int) api);
	return NULL;				/* not reached */
}

uint64
parley_query_exec(ParleyQuery *q, Datum *values, const char *nulls,
				  bool read_only, long count)
{
	int			rc = SPI_execute_plan(query_plan(q), values, nulls, read_only, count);

	if (rc < 0)
		elog(ERROR, "parley: SPI_execute_plan failed (%s) for: %s",
			 SPI_result_code_string(rc), q->sql);
	return SPI_processed;
}

Datum
parley_col(SPITupleTable *tt, uint64 row, int col, bool *isnull)
{
	return SPI_getbinval(tt->vals[row], tt->tupdesc, col, isnull);
}

bool
parley_col_isnull(SPITupleTable *tt, uint64 row, int col)
{
	bool		isnull;

	(void) SPI_getbinval(tt->vals[row], tt->tupdesc, col, &isnull);
	return isnull;
}

Jsonb *
parley_return_jsonb(JsonOut *jo, int status)
{
	Jsonb	   *doc = jo_finish(jo);
	Datum		d = SPI_datumTransfer(JsonbPGetDatum(doc), false, -1);

	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "parley: SPI_finish failed");
	parley_set_status(status);
	return DatumGetJsonbP(d);
}
