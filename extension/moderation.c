/*
 * moderation.c
 *	  Roles, mutes, bans and reports (0.6.0, API.md section 10):
 *	  participant_role_set(), participant_mute(), participant_unmute(),
 *	  participant_ban(), participant_unban(), message_report(), and the
 *	  checks of moderation.h.
 *
 * The rules (docs/schema.md has the table): the owner acts on anyone, an
 * admin on members only, nobody on the owner; only the owner changes roles
 * and the owner's own cannot change.  Each function here locks the
 * conversation row first (FOR NO KEY UPDATE, the lock a post and a
 * membership change take), so a mute, a ban or a role change and a post of
 * the same conversation happen one after the other: a post that commits
 * after a mute was committed sees the mute.
 *
 * Posts check mutes, frozen and slow mode inside their one statement
 * (messages.c); these functions explain a refused post afterwards.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "access.h"
#include "moderation.h"
#include "parley.h"
#include "query.h"
#include "render.h"
#include "validate.h"

#define PARLEY_REASON_MAX_CHARS 1000

/*
 * The conversation (primary key, row lock), the actor's and the target's
 * roles (primary key of participants) and whether the target is a guest
 * (primary key of guests).  No row: 404.
 */
static ParleyQuery q_lock_roles = {
	"SELECT c.kind,"
	"       (SELECT a.role FROM parley.participants a WHERE a.conversation_id = c.id AND a.guest_id = $2),"
	"       (SELECT t.role FROM parley.participants t WHERE t.conversation_id = c.id AND t.guest_id = $3),"
	"       EXISTS (SELECT 1 FROM parley.guests g WHERE g.guest_id = $3)"
	"  FROM parley.conversations c WHERE c.id = $1 FOR NO KEY UPDATE OF c",
	3, {UUIDOID, TEXTOID, TEXTOID}
};

/* Primary key of participants. */
static ParleyQuery q_role = {
	"SELECT role FROM parley.participants WHERE conversation_id = $1 AND guest_id = $2",
	2, {UUIDOID, TEXTOID}
};

/*
 * Why a post or an edit is refused: the conversation (primary key), the
 * guest's role, mute and last post (primary key of participants).  Seconds
 * of slow mode left, 0 when none.
 */
static ParleyQuery q_write_state = {
	"SELECT c.frozen, p.role, COALESCE(p.muted_until > now(), false),"
	"       CASE WHEN c.slow_mode_s > 0 AND p.last_post_at IS NOT NULL"
	"             AND p.last_post_at > now() - make_interval(secs => c.slow_mode_s)"
	"            THEN ceil(extract(epoch FROM p.last_post_at + make_interval(secs => c.slow_mode_s) - now()))::integer"
	"            ELSE 0 END"
	"  FROM parley.conversations c"
	"  JOIN parley.participants p ON p.conversation_id = c.id AND p.guest_id = $2"
	" WHERE c.id = $1",
	2, {UUIDOID, TEXTOID}
};

/* Primary key of bans. */
static ParleyQuery q_banned = {
	"SELECT 1 FROM parley.bans WHERE conversation_id = $1 AND guest_id = $2",
	2, {UUIDOID, TEXTOID}
};

static ParleyQuery q_set_role = {
	"UPDATE parley.participants SET role = $3 WHERE conversation_id = $1 AND guest_id = $2"
	" RETURNING " PARTICIPANT_COLUMNS,
	3, {UUIDOID, TEXTOID, TEXTOID}
};

/* The copy of a standing mute in the participant's row (primary key). */
static ParleyQuery q_mark_muted = {
	"UPDATE parley.participants SET muted_until = COALESCE($3, 'infinity')"
	" WHERE conversation_id = $1 AND guest_id = $2",
	3, {UUIDOID, TEXTOID, TIMESTAMPTZOID}
};

static ParleyQuery q_mark_unmuted = {
	"UPDATE parley.participants SET muted_until = NULL"
	" WHERE conversation_id = $1 AND guest_id = $2",
	2, {UUIDOID, TEXTOID}
};

/* A guest who joins again gets its standing mute back (primary keys). */
static ParleyQuery q_restore_mute = {
	"UPDATE parley.participants p SET muted_until = COALESCE(m.until, 'infinity')"
	"  FROM parley.mutes m"
	" WHERE p.conversation_id = $1 AND p.guest_id = $2"
	"   AND m.conversation_id = $1 AND m.guest_id = $2",
	2, {UUIDOID, TEXTOID}
};

static ParleyQuery q_mute = {
	"INSERT INTO parley.mutes (conversation_id, guest_id, until, muted_by) VALUES ($1, $2, $3, $4)"
	" ON CONFLICT (conversation_id, guest_id)"
	" DO UPDATE SET until = EXCLUDED.until, muted_by = EXCLUDED.muted_by, created_at = now()"
	" RETURNING conversation_id, guest_id, until",
	4, {UUIDOID, TEXTOID, TIMESTAMPTZOID, TEXTOID}
};

/* Primary key of mutes; true when the mute still stood. */
static ParleyQuery q_unmute = {
	"DELETE FROM parley.mutes WHERE conversation_id = $1 AND guest_id = $2"
	" RETURNING until IS NULL OR until > now()",
	2, {UUIDOID, TEXTOID}
};

static ParleyQuery q_ban = {
	"WITH b AS (INSERT INTO parley.bans (conversation_id, guest_id, banned_by) VALUES ($1, $2, $3)"
	"           ON CONFLICT (conversation_id, guest_id) DO NOTHING RETURNING since)"
	" SELECT since FROM b"
	" UNION ALL SELECT since FROM parley.bans WHERE conversation_id = $1 AND guest_id = $2"
	" LIMIT 1",
	3, {UUIDOID, TEXTOID, TEXTOID}
};

static ParleyQuery q_unban = {
	"DELETE FROM parley.bans WHERE conversation_id = $1 AND guest_id = $2",
	2, {UUIDOID, TEXTOID}
};

static ParleyQuery q_remove_participant = {
	"DELETE FROM parley.participants WHERE conversation_id = $1 AND guest_id = $2",
	2, {UUIDOID, TEXTOID}
};

/*
 * message_report(): the conversation (primary key), the actor's part
 * (primary key of participants), the message (primary key of messages).
 */
static ParleyQuery q_report_access = {
	"SELECT EXISTS (SELECT 1 FROM parley.participants p WHERE p.conversation_id = c.id AND p.guest_id = $3),"
	"       EXISTS (SELECT 1 FROM parley.messages m WHERE m.conversation_id = c.id AND m.seq = $2)"
	"  FROM parley.conversations c WHERE c.id = $1",
	3, {UUIDOID, INT8OID, TEXTOID}
};

#define REPORT_COLUMNS "conversation_id, seq, reporter_id, reason, created_at"
static ParleyQuery q_report = {
	"INSERT INTO parley.message_reports (conversation_id, seq, reporter_id, reason)"
	" VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING " REPORT_COLUMNS,
	4, {UUIDOID, INT8OID, TEXTOID, TEXTOID}
};

static ParleyQuery q_report_existing = {
	"SELECT " REPORT_COLUMNS " FROM parley.message_reports"
	" WHERE conversation_id = $1 AND seq = $2 AND reporter_id = $3",
	3, {UUIDOID, INT8OID, TEXTOID}
};

static void
raise_direct(Datum cid)
{
	ereport(ERROR,
			(errcode(ERRCODE_PARLEY_CONVERSATION_IS_DIRECT),
			 errmsg("conversation %s is direct", parley_uuid_string(cid)),
			 errdetail("Direct conversations have no roles, mutes or bans.")));
}

static void
raise_participant_not_found(Datum cid, const char *guest)
{
	ereport(ERROR,
			(errcode(ERRCODE_PARLEY_PARTICIPANT_NOT_FOUND),
			 errmsg("guest \"%s\" is not a participant of conversation %s",
					guest, parley_uuid_string(cid))));
}

char *
parley_participant_role(Datum cid, const char *guest)
{
	Datum		values[2];
	bool		isnull;

	values[0] = cid;
	values[1] = CStringGetTextDatum(guest);
	if (parley_query_exec(&q_role, values, NULL, false, 1) == 0)
		return NULL;
	return TextDatumGetCString(parley_col(SPI_tuptable, 0, 1, &isnull));
}

void
parley_require_may_moderate(Datum cid, const char *actor, const char *actor_role,
							const char *target, const char *target_role)
{
	const char *t = target_role ? target_role : "member";

	if (strcmp(t, "owner") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_PARLEY_INSUFFICIENT_ROLE),
				 errmsg("guest \"%s\" is the owner of conversation %s", target,
						parley_uuid_string(cid)),
				 errdetail("Nobody moderates the owner.")));
	if (strcmp(actor_role, "owner") == 0 ||
		(strcmp(actor_role, "admin") == 0 && strcmp(t, "member") == 0))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_PARLEY_INSUFFICIENT_ROLE),
			 errmsg("guest \"%s\" (%s) may not moderate guest \"%s\" (%s) in conversation %s",
					actor, actor_role, target, t, parley_uuid_string(cid)),
			 errdetail("The owner moderates anyone, admins moderate members.")));
}

/* A row of q_write_state for (cid, guest), or false when guest takes no part. */
static bool
write_state(Datum cid, const char *guest, bool *frozen, char **role, bool *muted, int *slow_left)
{
	Datum		values[2];
	bool		isnull;
	SPITupleTable *tt;

	values[0] = cid;
	values[1] = CStringGetTextDatum(guest);
	if (parley_query_exec(&q_write_state, values, NULL, false, 1) == 0)
		return false;
	tt = SPI_tuptable;
	*frozen = DatumGetBool(parley_col(tt, 0, 1, &isnull));
	*role = TextDatumGetCString(parley_col(tt, 0, 2, &isnull));
	*muted = DatumGetBool(parley_col(tt, 0, 3, &isnull));
	*slow_left = DatumGetInt32(parley_col(tt, 0, 4, &isnull));
	return true;
}

static void
raise_muted_or_frozen(Datum cid, const char *guest, bool frozen, const char *role, bool muted)
{
	if (muted)
		ereport(ERROR,
				(errcode(ERRCODE_PARLEY_MUTED),
				 errmsg("guest \"%s\" is muted in conversation %s", guest, parley_uuid_string(cid)),
				 errdetail("A muted participant cannot post, edit or react until the mute ends.")));
	if (frozen && strcmp(role, "member") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_PARLEY_CONVERSATION_FROZEN),
				 errmsg("conversation %s is frozen", parley_uuid_string(cid)),
				 errdetail("Only the owner and admins post, edit or react while it is frozen.")));
}

void
parley_check_may_write(Datum cid, const char *guest)
{
	bool		frozen;
	char	   *role;
	bool		muted;
	int			slow_left;

	if (write_state(cid, guest, &frozen, &role, &muted, &slow_left))
		raise_muted_or_frozen(cid, guest, frozen, role, muted);
}

void
parley_explain_refused_post(Datum cid, const char *guest)
{
	bool		frozen;
	char	   *role;
	bool		muted;
	int			slow_left;

	if (!write_state(cid, guest, &frozen, &role, &muted, &slow_left))
		return;
	raise_muted_or_frozen(cid, guest, frozen, role, muted);
	if (slow_left > 0 && strcmp(role, "member") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_PARLEY_SLOW_MODE),
				 errmsg("conversation %s is in slow mode: guest \"%s\" may post again in %d s",
						parley_uuid_string(cid), guest, slow_left),
				 errhint("Retry after %d s.", slow_left)));
}

void
parley_restore_mute(Datum cid, const char *guest)
{
	Datum		values[2];

	values[0] = cid;
	values[1] = CStringGetTextDatum(guest);
	parley_query_exec(&q_restore_mute, values, NULL, false, 0);
}

void
parley_check_not_banned(Datum cid, const char *guest)
{
	Datum		values[2];

	values[0] = cid;
	values[1] = CStringGetTextDatum(guest);
	if (parley_query_exec(&q_banned, values, NULL, false, 1) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_PARLEY_BANNED),
				 errmsg("guest \"%s\" is banned from conversation %s", guest,
						parley_uuid_string(cid)),
				 errhint("An owner or admin can lift the ban.")));
}

/*
 * The common start of the moderation functions: arguments 0-2 (conversation,
 * actor, target), then the conversation (404, locked), the actor takes part
 * (403), a group (409).  Returns the actor's role; *target_role is the
 * target's (NULL: takes no part); *target_exists whether it is a guest.
 */
static char *
moderation_start(FunctionCallInfo fcinfo, Datum *cid, char **actor, char **target,
				 char **target_role, bool *target_exists)
{
	Datum		values[3];
	bool		isnull;
	SPITupleTable *tt;
	char	   *kind;
	char	   *actor_role;

	parley_require_arg(fcinfo, 0, "conversation_id");
	*cid = UUIDPGetDatum(PG_GETARG_UUID_P(0));
	*actor = parley_guest_id_arg(fcinfo, 1, "actor");
	*target = parley_guest_id_arg(fcinfo, 2, "guest_id");

	SPI_connect();
	values[0] = *cid;
	values[1] = CStringGetTextDatum(*actor);
	values[2] = CStringGetTextDatum(*target);
	if (parley_query_exec(&q_lock_roles, values, NULL, false, 1) == 0)
		parley_raise_conversation_not_found(*cid);
	tt = SPI_tuptable;
	kind = TextDatumGetCString(parley_col(tt, 0, 1, &isnull));
	if (parley_col_isnull(tt, 0, 2))
		parley_raise_not_a_participant(*cid, *actor);
	actor_role = TextDatumGetCString(parley_col(tt, 0, 2, &isnull));
	*target_role = parley_col_isnull(tt, 0, 3) ? NULL :
		TextDatumGetCString(parley_col(tt, 0, 3, &isnull));
	*target_exists = DatumGetBool(parley_col(tt, 0, 4, &isnull));
	if (strcmp(kind, "direct") == 0)
		raise_direct(*cid);
	return actor_role;
}

PG_FUNCTION_INFO_V1(participant_role_set);
Datum
participant_role_set(PG_FUNCTION_ARGS)
{
	Datum		cid;
	char	   *actor;
	char	   *target;
	char	   *target_role;
	bool		target_exists;
	char	   *actor_role;
	char	   *role;
	Datum		values[3];
	JsonOut		jo = {0};

	parley_require_arg(fcinfo, 3, "role");
	role = text_to_cstring(PG_GETARG_TEXT_PP(3));
	if (strcmp(role, "admin") != 0 && strcmp(role, "member") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("role must be \"admin\" or \"member\""),
				 errdetail("The owner's role passes only when the owner leaves.")));
	actor_role = moderation_start(fcinfo, &cid, &actor, &target, &target_role, &target_exists);
	if (strcmp(actor_role, "owner") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_PARLEY_NOT_THE_OWNER),
				 errmsg("only the owner changes roles"),
				 errdetail("Guest \"%s\" is not the owner of conversation %s.",
						   actor, parley_uuid_string(cid))));
	if (target_role == NULL)
		raise_participant_not_found(cid, target);
	if (strcmp(target_role, "owner") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the owner's role cannot be changed"),
				 errdetail("The role passes to the earliest member when the owner leaves.")));

	values[0] = cid;
	values[1] = CStringGetTextDatum(target);
	values[2] = CStringGetTextDatum(role);
	parley_query_exec(&q_set_role, values, NULL, false, 0);
	render_participant(&jo, NULL, SPI_tuptable, 0, 1);
	PG_RETURN_JSONB_P(parley_return_jsonb(&jo, 200));
}

PG_FUNCTION_INFO_V1(participant_mute);
Datum
participant_mute(PG_FUNCTION_ARGS)
{
	Datum		cid;
	char	   *actor;
	char	   *target;
	char	   *target_role;
	bool		target_exists;
	char	   *actor_role;
	Datum		values[4];
	char		nulls[4] = {' ', ' ', 'n', ' '};
	JsonOut		jo = {0};

	if (!PG_ARGISNULL(3) && PG_GETARG_TIMESTAMPTZ(3) <= GetCurrentTransactionStartTimestamp())
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("until must be in the future"),
				 errhint("Lift a mute with DELETE (participant_unmute).")));
	actor_role = moderation_start(fcinfo, &cid, &actor, &target, &target_role, &target_exists);
	if (target_role == NULL)
		raise_participant_not_found(cid, target);
	parley_require_may_moderate(cid, actor, actor_role, target, target_role);

	values[0] = cid;
	values[1] = CStringGetTextDatum(target);
	if (!PG_ARGISNULL(3))
	{
		values[2] = PG_GETARG_DATUM(3);
		nulls[2] = ' ';
	}
	values[3] = CStringGetTextDatum(actor);
	parley_query_exec(&q_mark_muted, values, nulls, false, 0);
	parley_query_exec(&q_mute, values, nulls, false, 0);
	jo_begin_object(&jo, NULL);
	render_col_uuid(&jo, "conversation_id", SPI_tuptable, 0, 1);
	render_col_text(&jo, "guest_id", SPI_tuptable, 0, 2);
	render_col_timestamptz(&jo, "until", SPI_tuptable, 0, 3);
	jo_end_object(&jo);
	PG_RETURN_JSONB_P(parley_return_jsonb(&jo, 200));
}

PG_FUNCTION_INFO_V1(participant_unmute);
Datum
participant_unmute(PG_FUNCTION_ARGS)
{
	Datum		cid;
	char	   *actor;
	char	   *target;
	char	   *target_role;
	bool		target_exists;
	char	   *actor_role;
	Datum		values[2];
	bool		isnull;

	actor_role = moderation_start(fcinfo, &cid, &actor, &target, &target_role, &target_exists);
	parley_require_may_moderate(cid, actor, actor_role, target, target_role);
	values[0] = cid;
	values[1] = CStringGetTextDatum(target);
	parley_query_exec(&q_mark_unmuted, values, NULL, false, 0);
	if (parley_query_exec(&q_unmute, values, NULL, false, 0) == 0 ||
		!DatumGetBool(parley_col(SPI_tuptable, 0, 1, &isnull)))
		ereport(ERROR,
				(errcode(ERRCODE_PARLEY_MUTE_NOT_FOUND),
				 errmsg("guest \"%s\" is not muted in conversation %s", target,
						parley_uuid_string(cid))));
	SPI_finish();
	parley_set_status(204);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(participant_ban);
Datum
participant_ban(PG_FUNCTION_ARGS)
{
	Datum		cid;
	char	   *actor;
	char	   *target;
	char	   *target_role;
	bool		target_exists;
	char	   *actor_role;
	Datum		values[3];
	JsonOut		jo = {0};

	actor_role = moderation_start(fcinfo, &cid, &actor, &target, &target_role, &target_exists);
	if (!target_exists)
		ereport(ERROR,
				(errcode(ERRCODE_PARLEY_GUEST_NOT_FOUND),
				 errmsg("guest \"%s\" does not exist", target)));
	parley_require_may_moderate(cid, actor, actor_role, target, target_role);

	values[0] = cid;
	values[1] = CStringGetTextDatum(target);
	values[2] = CStringGetTextDatum(actor);
	if (target_role != NULL)
	{
		/* Removed as participant_remove() removes: its streams end. */
		parley_query_exec(&q_remove_participant, values, NULL, false, 0);
		(void) parley_count_change(cid);
	}
	parley_query_exec(&q_ban, values, NULL, false, 1);
	jo_begin_object(&jo, NULL);
	jo_uuid(&jo, "conversation_id", DatumGetUUIDP(cid));
	jo_cstring(&jo, "guest_id", target);
	render_col_timestamptz(&jo, "since", SPI_tuptable, 0, 1);
	jo_end_object(&jo);
	PG_RETURN_JSONB_P(parley_return_jsonb(&jo, 200));
}

PG_FUNCTION_INFO_V1(participant_unban);
Datum
participant_unban(PG_FUNCTION_ARGS)
{
	Datum		cid;
	char	   *actor;
	char	   *target;
	char	   *target_role;
	bool		target_exists;
	char	   *actor_role;
	Datum		values[2];

	actor_role = moderation_start(fcinfo, &cid, &actor, &target, &target_role, &target_exists);
	parley_require_may_moderate(cid, actor, actor_role, target, target_role);
	values[0] = cid;
	values[1] = CStringGetTextDatum(target);
	if (parley_query_exec(&q_unban, values, NULL, false, 0) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_PARLEY_BAN_NOT_FOUND),
				 errmsg("guest \"%s\" is not banned from conversation %s", target,
						parley_uuid_string(cid))));
	SPI_finish();
	parley_set_status(204);
	PG_RETURN_VOID();
}

static void
check_reason(text *reason)
{
	const char *s = VARDATA_ANY(reason);
	int			len = VARSIZE_ANY_EXHDR(reason);
	int			n = pg_mbstrlen_with_len(s, len);
	bool		blank = true;

	for (int i = 0; i < len && blank; i++)
		blank = s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r';
	if (n == 0 || blank || n > PARLEY_REASON_MAX_CHARS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("reason must be 1-%d characters, not only white space",
						PARLEY_REASON_MAX_CHARS),
				 errdetail("It is %d characters long.", n)));
}

static void
render_report(JsonOut *jo, SPITupleTable *tt)
{
	jo_begin_object(jo, NULL);
	render_col_uuid(jo, "conversation_id", tt, 0, 1);
	render_col_int64(jo, "seq", tt, 0, 2);
	render_col_text(jo, "reporter_id", tt, 0, 3);
	render_col_text(jo, "reason", tt, 0, 4);
	render_col_timestamptz(jo, "created_at", tt, 0, 5);
	jo_end_object(jo);
}

PG_FUNCTION_INFO_V1(message_report);
Datum
message_report(PG_FUNCTION_ARGS)
{
	Datum		cid;
	int64		seq;
	char	   *actor;
	text	   *reason;
	Datum		values[4];
	bool		isnull;
	JsonOut		jo = {0};

	parley_require_arg(fcinfo, 0, "conversation_id");
	cid = UUIDPGetDatum(PG_GETARG_UUID_P(0));
	parley_require_arg(fcinfo, 1, "seq");
	seq = PG_GETARG_INT64(1);
	if (seq <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("seq must be a positive integer")));
	actor = parley_guest_id_arg(fcinfo, 2, "actor");
	parley_require_arg(fcinfo, 3, "reason");
	reason = PG_GETARG_TEXT_PP(3);
	check_reason(reason);

	SPI_connect();
	values[0] = cid;
	values[1] = Int64GetDatum(seq);
	values[2] = CStringGetTextDatum(actor);
	values[3] = PointerGetDatum(reason);
	if (parley_query_exec(&q_report_access, values, NULL, false, 1) == 0)
		parley_raise_conversation_not_found(cid);
	if (!DatumGetBool(parley_col(SPI_tuptable, 0, 1, &isnull)))
		parley_raise_not_a_participant(cid, actor);
	if (!DatumGetBool(parley_col(SPI_tuptable, 0, 2, &isnull)))
		ereport(ERROR,
				(errcode(ERRCODE_PARLEY_MESSAGE_NOT_FOUND),
				 errmsg("message " INT64_FORMAT " of conversation %s does not exist",
						seq, parley_uuid_string(cid))));
	if (parley_query_exec(&q_report, values, NULL, false, 0) == 1)
	{
		render_report(&jo, SPI_tuptable);
		PG_RETURN_JSONB_P(parley_return_jsonb(&jo, 201));
	}
	/* Reported already: the first report stands. */
	parley_query_exec(&q_report_existing, values, NULL, false, 1);
	render_report(&jo, SPI_tuptable);
	PG_RETURN_JSONB_P(parley_return_jsonb(&jo, 200));
}
