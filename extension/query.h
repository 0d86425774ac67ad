/*
 * query.h
 *	  Declarative SPI queries with plans prepared once per backend.
 *
 *	  static ParleyQuery q = {"SELECT ... WHERE guest_id = $1", 1, {TEXTOID}};
 *	  parley_query_exec(&q, values, nulls, false, 1);
 *
 * The caller is connected to SPI.  Saved plans are revalidated by the plan
 * cache after DDL, so an ALTER EXTENSION UPDATE needs no backend restart.
 */
#ifndef PARLEY_QUERY_H
#define PARLEY_QUERY_H

#include "postgres.h"

#include "executor/spi.h"
#include "utils/jsonb.h"

#include "jsonout.h"
#include "parley.h"

#define PARLEY_QUERY_MAX_ARGS 10

typedef struct ParleyQuery
{
	const char *sql;
	int			nargs;
	Oid			argtypes[PARLEY_QUERY_MAX_ARGS];
	SPIPlanPtr	plan;			/* prepared on first use, kept for the backend */
} ParleyQuery;

/*
 * A statement that an API version changed (a column it added): an array
 * indexed by ParleyApi with an entry for each version that changed the text;
 * the versions in between use the entry before them.  One template macro
 * writes every entry, so the versions differ only where they must:
 *
 *	static ParleyQuery q_edit[PARLEY_API_COUNT] = {
 *		[PARLEY_API_0_1] = {EDIT_SQL(""), 3, {...}},
 *		[PARLEY_API_0_3] = {EDIT_SQL(", change_seq = $4"), 4, {...}},
 *	};
 *	parley_query_exec(parley_query_at(q_edit, api), ...);
 */
extern ParleyQuery *parley_query_at(ParleyQuery *versions, ParleyApi api);

/*
 * Execute q with values/nulls (nulls: ' ' or 'n' per argument, or NULL for
 * none), returning SPI_processed; raises on SPI failure.
 */
extern uint64 parley_query_exec(ParleyQuery *q, Datum *values, const char *nulls,
								bool read_only, long count);

/*
 * Column col (1-based) of row of a result.  Take SPI_tuptable into a local
 * before running another query: each execution replaces it.
 */
extern Datum parley_col(SPITupleTable *tt, uint64 row, int col, bool *isnull);
extern bool parley_col_isnull(SPITupleTable *tt, uint64 row, int col);

/*
 * Finish jo, move the document out of SPI memory, SPI_finish(), and set
 * last_status(): the common tail of every API function returning jsonb.
 */
extern Jsonb *parley_return_jsonb(JsonOut *jo, int status);

#endif							/* PARLEY_QUERY_H */
