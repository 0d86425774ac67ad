/*
 * tokens.c
 *	  Guest sessions (0.4.0, API.md section 7): what every gateway must share
 *	  about guest tokens.  guest_token_claims() answers the claims a gateway
 *	  signs when a service mints a token; guest_tokens_revoke() refuses every
 *	  token of a guest issued before now; guest_tokens_revoked_since() is the
 *	  gateways' poll of revocations.
 *
 * Tokens themselves never reach the database: a gateway verifies a JWT with
 * a secret the database never sees, and no write happens per token.  What is
 * stored is one time per guest, guests.tokens_valid_from (NULL: never
 * revoked).  The rule a gateway applies: a token of guest G whose iat (whole
 * seconds) is below G's valid_from is refused.
 *
 * Invariants:
 * - valid_from is a whole second, strictly after the revoking transaction's
 *   now() (floor(now) + 1), so every token issued before the revocation,
 *   whose iat is at most floor(now), is refused; and it never moves back.
 * - guest_token_claims() answers iat = max(floor(now), valid_from), so a
 *   token minted right after a revocation (in the same second) is valid.
 * - valid_from >= the revoking transaction's start, so a poll that answers
 *   every valid_from at or after the start of the oldest open transaction
 *   (next_since) misses no revocation that commits later
 *   (guest_tokens_revoked_since()).
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "parley.h"
#include "query.h"
#include "validate.h"

/* API.md section 7: a token lives 60 s to 24 h; 1 h unless asked. */
#define PARLEY_TOKEN_TTL_MIN		60
#define PARLEY_TOKEN_TTL_MAX		86400

/* Primary key of guests. */
static ParleyQuery q_tokens_revoke = {
	"UPDATE parley.guests"
	"   SET tokens_valid_from = greatest(tokens_valid_from,"
	"       to_timestamp(floor(extract(epoch FROM now())) + 1))"
	" WHERE guest_id = $1",
	1, {TEXTOID}
};

/*
 * Primary key of guests: now and valid_from, whole epoch seconds; 0.6.0:
 * and whether the guest was erased.
 */
#define TOKEN_CLAIMS_SQL(erased) \
	"SELECT floor(extract(epoch FROM now()))::bigint," \
	"       extract(epoch FROM tokens_valid_from)::bigint, " erased \
	"  FROM parley.guests WHERE guest_id = $1"

static ParleyQuery q_token_claims[PARLEY_API_COUNT] = {
	[PARLEY_API_0_4] = {TOKEN_CLAIMS_SQL("false"), 1, {TEXTOID}},
	[PARLEY_API_0_6] = {TOKEN_CLAIMS_SQL("erased_at IS NOT NULL"), 1, {TEXTOID}},
};

/*
 * A range scan of the partial index guests_tokens_valid_from_idx: only
 * guests ever revoked are in it, only those of the last 24 h (plus the 60 s
 * of clock skew a token's iat may have) can still hold a live token.
 */
static ParleyQuery q_tokens_revoked_since = {
	"SELECT g.guest_id, extract(epoch FROM g.tokens_valid_from)::bigint"
	"  FROM parley.guests g"
	" WHERE g.tokens_valid_from IS NOT NULL"
	"   AND g.tokens_valid_from >= greatest($1, now() - interval '86460 seconds')",
	1, {TIMESTAMPTZOID}
};

/*
 * Where the next poll starts: the start of the oldest transaction open now
 * (this one included).  Read before the snapshot that reads the guests: a
 * revocation is then either committed and in that snapshot, or open now
 * (its valid_from is after its start, so at or after the horizon), or
 * begun later (after the horizon).  pg_stat_activity shows every backend's
 * xact_start to this function's owner (a superuser: SECURITY DEFINER),
 * and a backend's xact_start is cleared only after its commit is visible.
 */
static ParleyQuery q_poll_horizon = {
	"SELECT least(now(), min(a.xact_start))"
	"  FROM pg_catalog.pg_stat_activity a WHERE a.xact_start IS NOT NULL",
	0, {InvalidOid}
};

/*
 * guest_token_claims(guest_id, ttl DEFAULT 3600): {"sub", "iat", "exp"}
 * (epoch seconds) for a gateway to sign.  Unknown guest: 404; ttl outside
 * 60-86400: 400.  Reads only; answers 201 (a token is created from it).
 */
static Datum
guest_token_claims_impl(FunctionCallInfo fcinfo, ParleyApi api)
{
	char	   *guest_id = parley_guest_id_arg(fcinfo, 0, "guest_id");
	int32		ttl;
	Datum		values[1];
	JsonOut		jo = {0};
	bool		isnull;
	int64		iat;

	parley_require_arg(fcinfo, 1, "ttl");
	ttl = PG_GETARG_INT32(1);
	if (ttl < PARLEY_TOKEN_TTL_MIN || ttl > PARLEY_TOKEN_TTL_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ttl must be between %d and %d seconds",
						PARLEY_TOKEN_TTL_MIN, PARLEY_TOKEN_TTL_MAX)));

	values[0] = CStringGetTextDatum(guest_id);
	SPI_connect();
	if (parley_query_exec(parley_query_at(q_token_claims, api), values, NULL, true, 1) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_PARLEY_GUEST_NOT_FOUND),
				 errmsg("guest \"%s\" does not exist", guest_id)));
	if (DatumGetBool(parley_col(SPI_tuptable, 0, 3, &isnull)))
		ereport(ERROR,
				(errcode(ERRCODE_PARLEY_GUEST_ERASED),
				 errmsg("guest \"%s\" was erased: no token can be minted for it", guest_id)));
	iat = DatumGetInt64(parley_col(SPI_tuptable, 0, 1, &isnull));
	if (!parley_col_isnull(SPI_tuptable, 0, 2))
		iat = Max(iat, DatumGetInt64(parley_col(SPI_tuptable, 0, 2, &isnull)));

	jo_begin_object(&jo, NULL);
	jo_cstring(&jo, "sub", guest_id);
	jo_int64(&jo, "iat", iat);
	jo_int64(&jo, "exp", iat + ttl);
	jo_end_object(&jo);
	PG_RETURN_JSONB_P(parley_return_jsonb(&jo, 201));
}

PARLEY_API_ENTRY(guest_token_claims, guest_token_claims_impl, PARLEY_API_0_4)
PARLEY_API_ENTRY(guest_token_claims_v0_6, guest_token_claims_impl, PARLEY_API_0_6)

/*
 * guest_tokens_revoke(guest_id): every token of the guest issued before now
 * is refused.  Unknown guest: 404.  One row update, no NOTIFY (a NOTIFY
 * serialises commits, docs/security.md): gateways poll.
 */
PG_FUNCTION_INFO_V1(guest_tokens_revoke);
Datum
guest_tokens_revoke(PG_FUNCTION_ARGS)
{
	char	   *guest_id = parley_guest_id_arg(fcinfo, 0, "guest_id");
	Datum		values[1];

	values[0] = CStringGetTextDatum(guest_id);
	SPI_connect();
	if (parley_query_exec(&q_tokens_revoke, values, NULL, false, 0) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_PARLEY_GUEST_NOT_FOUND),
				 errmsg("guest \"%s\" does not exist", guest_id)));
	SPI_finish();
	parley_set_status(204);
	PG_RETURN_VOID();
}

/*
 * guest_tokens_revoked_since(since): the gateways' poll,
 * {"guests": {"<guest_id>": valid_from, ...}, "next_since": "<timestamptz>"}.
 * guests: every guest whose valid_from is at or after since (NULL: the last
 * 24 h, what a gateway asks first), as epoch seconds; a gateway refuses a
 * token of such a guest whose iat is below it.  Pass next_since as since
 * the next time: answers overlap (a guest may come again), none is missed.
 */
PG_FUNCTION_INFO_V1(guest_tokens_revoked_since);
Datum
guest_tokens_revoked_since(PG_FUNCTION_ARGS)
{
	Datum		values[1];
	char		nulls[1] = {' '};
	uint64		n;
	SPITupleTable *tt;
	TimestampTz next_since;
	bool		isnull;
	JsonOut		jo = {0};

	if (PG_ARGISNULL(0))
		nulls[0] = 'n';
	else
		values[0] = PG_GETARG_DATUM(0);

	SPI_connect();
	parley_query_exec(&q_poll_horizon, NULL, NULL, true, 1);
	next_since = DatumGetTimestampTz(parley_col(SPI_tuptable, 0, 1, &isnull));
	/* not read-only: a new snapshot, taken after the horizon was read */
	n = parley_query_exec(&q_tokens_revoked_since, values, nulls, false, 0);
	tt = SPI_tuptable;

	jo_begin_object(&jo, NULL);
	jo_begin_object(&jo, "guests");
	for (uint64 i = 0; i < n; i++)
		jo_int64(&jo, TextDatumGetCString(parley_col(tt, i, 1, &isnull)),
				 DatumGetInt64(parley_col(tt, i, 2, &isnull)));
	jo_end_object(&jo);
	jo_timestamptz(&jo, "next_since", next_since);
	jo_end_object(&jo);
	PG_RETURN_JSONB_P(parley_return_jsonb(&jo, 200));
}
