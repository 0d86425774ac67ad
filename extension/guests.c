/*
 * guests.c
 *	  guest_upsert() and guest_get(): guest profiles.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "parley.h"
#include "query.h"
#include "render.h"
#include "validate.h"

/*
 * PUT replaces the profile.  "xmax = 0" is true only for a row this
 * statement inserted, which tells created (201) from updated (200) without
 * a second query.
 */
#define GUEST_UPSERT_SQL(where) \
	"INSERT INTO parley.guests AS g (guest_id, display_name, metadata)" \
	" VALUES ($1, $2, $3)" \
	" ON CONFLICT (guest_id) DO UPDATE" \
	"   SET display_name = excluded.display_name," \
	"       metadata = excluded.metadata," \
	"       updated_at = now()" where \
	" RETURNING " GUEST_COLUMNS ", (g.xmax = 0) AS inserted"

/* 0.6.0: an erased guest's row is left alone (no row back: 409). */
static ParleyQuery q_guest_upsert[PARLEY_API_COUNT] = {
	[PARLEY_API_0_1] = {GUEST_UPSERT_SQL(""), 3, {TEXTOID, TEXTOID, JSONBOID}},
	[PARLEY_API_0_6] = {GUEST_UPSERT_SQL(" WHERE g.erased_at IS NULL"), 3, {TEXTOID, TEXTOID, JSONBOID}},
};

static ParleyQuery q_guest_get = {
	"SELECT " GUEST_COLUMNS " FROM parley.guests WHERE guest_id = $1",
	1, {TEXTOID}
};

/*
 * guest_upsert(guest_id, display_name, metadata [, actor]).  0.4.0 adds
 * actor, the acting guest (API.md section 7): NULL for a service, else it
 * must be guest_id (a guest writes only its own profile: 403
 * guest_mismatch, before any other check of the profile).
 */
static Datum
guest_upsert_impl(FunctionCallInfo fcinfo, ParleyApi api)
{
	char	   *guest_id = parley_guest_id_arg(fcinfo, 0, "guest_id");
	text	   *display_name;
	Jsonb	   *metadata;
	Datum		values[3];
	JsonOut		jo = {0};
	bool		isnull;
	bool		inserted;

	if (api >= PARLEY_API_0_4 && !PG_ARGISNULL(3))
	{
		char	   *actor = text_to_cstring(PG_GETARG_TEXT_PP(3));

		if (strcmp(actor, guest_id) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_PARLEY_GUEST_MISMATCH),
					 errmsg("guest \"%s\" may not write the profile of guest \"%s\"",
							actor, guest_id)));
	}

	parley_require_arg(fcinfo, 1, "display_name");
	display_name = parley_display_name(PG_GETARG_TEXT_PP(1));
	parley_require_arg(fcinfo, 2, "metadata");
	metadata = PG_GETARG_JSONB_P(2);
	parley_check_metadata(metadata, "metadata");

	values[0] = CStringGetTextDatum(guest_id);
	values[1] = PointerGetDatum(display_name);
	values[2] = JsonbPGetDatum(metadata);

	SPI_connect();
	if (parley_query_exec(parley_query_at(q_guest_upsert, api), values, NULL, false, 0) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_PARLEY_GUEST_ERASED),
				 errmsg("guest \"%s\" was erased and cannot be created again", guest_id)));
	render_guest(&jo, NULL, SPI_tuptable, 0, 1);
	inserted = DatumGetBool(parley_col(SPI_tuptable, 0, GUEST_NCOLUMNS + 1, &isnull));
	PG_RETURN_JSONB_P(parley_return_jsonb(&jo, inserted ? 201 : 200));
}

PARLEY_API_ENTRY(guest_upsert, guest_upsert_impl, PARLEY_API_0_1)
PARLEY_API_ENTRY(guest_upsert_v0_4, guest_upsert_impl, PARLEY_API_0_4)
PARLEY_API_ENTRY(guest_upsert_v0_6, guest_upsert_impl, PARLEY_API_0_6)

PG_FUNCTION_INFO_V1(guest_get);
Datum
guest_get(PG_FUNCTION_ARGS)
{
	char	   *guest_id = parley_guest_id_arg(fcinfo, 0, "guest_id");
	Datum		values[1];
	JsonOut		jo = {0};

	values[0] = CStringGetTextDatum(guest_id);

	SPI_connect();
	if (parley_query_exec(&q_guest_get, values, NULL, true, 1) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_PARLEY_GUEST_NOT_FOUND),
				 errmsg("guest \"%s\" does not exist", guest_id)));
	render_guest(&jo, NULL, SPI_tuptable, 0, 1);
	PG_RETURN_JSONB_P(parley_return_jsonb(&jo, 200));
}
