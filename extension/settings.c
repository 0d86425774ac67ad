/*
 * settings.c
 *	  conversation_settings_update(): a guest's own settings of one
 *	  conversation (0.5.0, API.md section 9): notifications_off_until,
 *	  archived, pinned.
 *
 * They are columns of the guest's participants row, so they go when the
 * guest leaves, cost conversation_list() no join, and are written by the
 * guest alone (no other guest's row is touched, no event is sent).  Each
 * argument is the JSON value of its body field: SQL NULL leaves the setting
 * as it is, so an HTTP body names only what it changes, and a JSON null
 * clears notifications_off_until.  The answer is the conversation as the
 * guest's conversation_list() shows it.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "access.h"
#include "parley.h"
#include "query.h"
#include "settings.h"
#include "validate.h"

/* The conversation (primary key) and whether actor takes part. */
static ParleyQuery q_access = {
	"SELECT EXISTS (SELECT 1 FROM parley.participants p"
	"                WHERE p.conversation_id = c.id AND p.guest_id = $2)"
	"  FROM parley.conversations c WHERE c.id = $1",
	2, {UUIDOID, TEXTOID}
};

/* Primary key of participants; $3: whether $4 replaces the mute. */
static ParleyQuery q_update = {
	"UPDATE parley.participants"
	"   SET notifications_off_until = CASE WHEN $3 THEN $4 ELSE notifications_off_until END,"
	"       archived = COALESCE($5, archived),"
	"       pinned = COALESCE($6, pinned)"
	" WHERE conversation_id = $1 AND guest_id = $2",
	6, {UUIDOID, TEXTOID, BOOLOID, TIMESTAMPTZOID, BOOLOID, BOOLOID}
};

static void
raise_bad_setting(const char *name, const char *expected)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s must be %s", name, expected)));
}

/* The scalar of argument argno (a jsonb), or false when it is not one. */
static bool
scalar_arg(FunctionCallInfo fcinfo, int argno, JsonbValue *v)
{
	Jsonb	   *jb = PG_GETARG_JSONB_P(argno);

	return JsonbExtractScalar(&jb->root, v);
}

/* A boolean setting: SQL NULL (unchanged, *isnull) or JSON true/false. */
static Datum
bool_setting(FunctionCallInfo fcinfo, int argno, const char *name, char *isnull)
{
	JsonbValue	v;

	*isnull = 'n';
	if (PG_ARGISNULL(argno))
		return (Datum) 0;
	if (!scalar_arg(fcinfo, argno, &v) || v.type != jbvBool)
		raise_bad_setting(name, "true or false");
	*isnull = ' ';
	return BoolGetDatum(v.val.boolean);
}

static bool
digits(const char *s, int n, int *value)
{
	*value = 0;
	for (int i = 0; i < n; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return false;
		*value = *value * 10 + (s[i] - '0');
	}
	return true;
}

/*
 * RFC 3339 date-time with a time zone: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM),
 * every field in range (so timestamptz_in, which would also take "now" or
 * "tomorrow", only ever sees this form).
 */
static bool
is_rfc3339(const char *s, int len)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int			y,
				mo,
				d,
				h,
				mi,
				sec,
				p = 19;

	if (len < 20 ||
		!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
		!digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
		!digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) ||
		s[16] != ':' || !digits(s + 17, 2, &sec))
		return false;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
		(mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) ||
		h > 23 || mi > 59 || sec > 60)
		return false;
	if (s[p] == '.')
	{
		int			start = ++p;

		while (p < len && s[p] >= '0' && s[p] <= '9')
			p++;
		if (p == start || p - start > 9)
			return false;
	}
	if (p == len - 1)
		return s[p] == 'Z' || s[p] == 'z';
	if (p == len - 6 && (s[p] == '+' || s[p] == '-') && s[p + 3] == ':')
	{
		int			oh,
					om;

		return digits(s + p + 1, 2, &oh) && digits(s + p + 4, 2, &om) && oh <= 23 && om <= 59;
	}
	return false;
}

/*
 * notifications_off_until: SQL NULL (unchanged: *set false), JSON null
 * (cleared) or an RFC 3339 timestamp.
 */
static Datum
mute_setting(FunctionCallInfo fcinfo, int argno, bool *set, char *isnull)
{
	JsonbValue	v;
	char	   *s;

	*set = false;
	*isnull = 'n';
	if (PG_ARGISNULL(argno))
		return (Datum) 0;
	*set = true;
	if (!scalar_arg(fcinfo, argno, &v) || (v.type != jbvNull && v.type != jbvString))
		raise_bad_setting("notifications_off_until", "an RFC 3339 timestamp or null");
	if (v.type == jbvNull)
		return (Datum) 0;
	if (!is_rfc3339(v.val.string.val, v.val.string.len))
		raise_bad_setting("notifications_off_until", "an RFC 3339 timestamp or null");
	s = pnstrdup(v.val.string.val, v.val.string.len);
	*isnull = ' ';
	return DirectFunctionCall3(timestamptz_in, CStringGetDatum(s),
							   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
}

/*
 * conversation_settings_update(conversation_id uuid, actor text,
 *     notifications_off_until jsonb DEFAULT NULL, archived jsonb DEFAULT NULL,
 *     pinned jsonb DEFAULT NULL) RETURNS jsonb
 */
static Datum
conversation_settings_update_impl(FunctionCallInfo fcinfo, ParleyApi api)
{
	pg_uuid_t  *cid;
	char	   *actor;
	Datum		values[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};
	bool		set_mute;
	bool		isnull;
	JsonOut		jo = {0};

	parley_require_arg(fcinfo, 0, "conversation_id");
	cid = PG_GETARG_UUID_P(0);
	actor = parley_guest_id_arg(fcinfo, 1, "actor");
	values[3] = mute_setting(fcinfo, 2, &set_mute, &nulls[3]);
	values[2] = BoolGetDatum(set_mute);
	values[4] = bool_setting(fcinfo, 3, "archived", &nulls[4]);
	values[5] = bool_setting(fcinfo, 4, "pinned", &nulls[5]);
	values[0] = UUIDPGetDatum(cid);
	values[1] = CStringGetTextDatum(actor);

	SPI_connect();
	if (parley_query_exec(&q_access, values, NULL, false, 1) == 0)
		parley_raise_conversation_not_found(values[0]);
	if (!DatumGetBool(parley_col(SPI_tuptable, 0, 1, &isnull)))
		parley_raise_not_a_participant(values[0], actor);
	if (parley_query_exec(&q_update, values, nulls, false, 0) != 1)
		parley_raise_not_a_participant(values[0], actor);	/* left meanwhile */

	parley_render_list_conversation(&jo, actor, values[0], api);
	PG_RETURN_JSONB_P(parley_return_jsonb(&jo, 200));
}

/* 0.5.0, and 0.6.0 (the conversation in lists gains frozen and slow_mode_s). */
PARLEY_API_ENTRY(conversation_settings_update, conversation_settings_update_impl, PARLEY_API_0_5)
PARLEY_API_ENTRY(conversation_settings_update_v0_6, conversation_settings_update_impl, PARLEY_API_0_6)
