/*
 * participants.c
 *	  participant_add() and participant_remove(): group membership.
 *
 * Both lock the conversation row (FOR NO KEY UPDATE, the lock message_post
 * takes to bump last_seq; it leaves foreign key checks alone) before reading
 * the membership, so changes of one conversation's membership happen one at
 * a time: the group size limit holds under concurrent adds, and a leaving
 * owner always has exactly one successor.  Each statement after the lock
 * runs with a new snapshot (SPI, read-write, READ COMMITTED), so it sees
 * what the previous lock holder committed.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/uuid.h"

#include "access.h"
#include "moderation.h"
#include "parley.h"
#include "query.h"
#include "render.h"
#include "validate.h"

/* Primary key of conversations. */
static ParleyQuery q_lock_conversation = {
	"SELECT kind FROM parley.conversations WHERE id = $1 FOR NO KEY UPDATE",
	1, {UUIDOID}
};

/* Primary key of participants (conversation_id, guest_id). */
static ParleyQuery q_participant = {
	"SELECT " PARTICIPANT_COLUMNS " FROM parley.participants"
	" WHERE conversation_id = $1 AND guest_id = $2",
	2, {UUIDOID, TEXTOID}
};
#define PARTICIPANT_COL_ROLE 2

/* Primary key of guests. */
static ParleyQuery q_guest_exists = {
	"SELECT 1 FROM parley.guests WHERE guest_id = $1",
	1, {TEXTOID}
};

/* Range scan of the participants primary key on conversation_id. */
static ParleyQuery q_count_participants = {
	"SELECT count(*) FROM parley.participants WHERE conversation_id = $1",
	1, {UUIDOID}
};

static ParleyQuery q_add_participant = {
	"INSERT INTO parley.participants (conversation_id, guest_id, role, last_read_seq)"
	" VALUES ($1, $2, 'member', 0)"
	" RETURNING " PARTICIPANT_COLUMNS,
	2, {UUIDOID, TEXTOID}
};

/* Primary key of participants. */
static ParleyQuery q_remove_participant = {
	"DELETE FROM parley.participants WHERE conversation_id = $1 AND guest_id = $2",
	2, {UUIDOID, TEXTOID}
};

/*
 * The member who joined earliest (ties by guest_id) succeeds the owner:
 * range scan of the participants primary key on conversation_id, top-1 sort.
 */
static ParleyQuery q_promote_successor = {
	"UPDATE parley.participants SET role = 'owner'"
	" WHERE conversation_id = $1 AND guest_id ="
	"   (SELECT guest_id FROM parley.participants WHERE conversation_id = $1"
	"     ORDER BY joined_at, guest_id LIMIT 1)",
	1, {UUIDOID}
};

/*
 * The checks shared by add and remove, in the API's order: the conversation
 * exists (404), the actor takes part (403), it is a group (409).  Locks the
 * conversation row; returns the actor's role.
 */
static char *
lock_group_for_actor(Datum cid, const char *actor)
{
	Datum		values[2];
	bool		isnull;
	char	   *kind;
	char	   *role;

	values[0] = cid;
	values[1] = CStringGetTextDatum(actor);
	if (parley_query_exec(&q_lock_conversation, values, NULL, false, 1) == 0)
		parley_raise_conversation_not_found(cid);
	kind = TextDatumGetCString(parley_col(SPI_tuptable, 0, 1, &isnull));

	if (parley_query_exec(&q_participant, values, NULL, false, 1) == 0)
		parley_raise_not_a_participant(cid, actor);
	role = TextDatumGetCString(parley_col(SPI_tuptable, 0, PARTICIPANT_COL_ROLE, &isnull));

	if (strcmp(kind, "direct") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_PARLEY_CONVERSATION_IS_DIRECT),
				 errmsg("conversation %s is direct", parley_uuid_string(cid)),
				 errdetail("The membership of a direct conversation is fixed.")));
	return role;
}

/* participant_add() of every API version; 0.6.0 refuses banned guests. */
static Datum
participant_add_impl(FunctionCallInfo fcinfo, ParleyApi api)
{
	Datum		cid;
	char	   *actor;
	char	   *guest_id;
	Datum		values[2];
	bool		isnull;
	int64		size;
	JsonOut		jo = {0};

	parley_require_arg(fcinfo, 0, "conversation_id");
	cid = UUIDPGetDatum(PG_GETARG_UUID_P(0));
	actor = parley_guest_id_arg(fcinfo, 1, "actor");
	guest_id = parley_guest_id_arg(fcinfo, 2, "guest_id");

	SPI_connect();
	lock_group_for_actor(cid, actor);

	values[0] = CStringGetTextDatum(guest_id);
	if (parley_query_exec(&q_guest_exists, values, NULL, false, 1) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_PARLEY_GUEST_NOT_FOUND),
				 errmsg("guest \"%s\" does not exist", guest_id)));

	values[0] = cid;
	values[1] = CStringGetTextDatum(guest_id);
	if (parley_query_exec(&q_participant, values, NULL, false, 1) == 1)
	{
		render_participant(&jo, NULL, SPI_tuptable, 0, 1);
		PG_RETURN_JSONB_P(parley_return_jsonb(&jo, 200));
	}
	if (api >= PARLEY_API_0_6)
		parley_check_not_banned(cid, guest_id);

	parley_query_exec(&q_count_participants, values, NULL, false, 1);
	size = DatumGetInt64(parley_col(SPI_tuptable, 0, 1, &isnull));
	if (size >= PARLEY_GROUP_MAX_SIZE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a group has at most %d participants", PARLEY_GROUP_MAX_SIZE),
				 errdetail("Conversation %s is full.", parley_uuid_string(cid))));

	parley_query_exec(&q_add_participant, values, NULL, false, 0);
	{
		SPITupleTable *added = SPI_tuptable;

		if (api >= PARLEY_API_0_6)
			parley_restore_mute(cid, guest_id);
		render_participant(&jo, NULL, added, 0, 1);
	}
	PG_RETURN_JSONB_P(parley_return_jsonb(&jo, 201));
}

PARLEY_API_ENTRY(participant_add, participant_add_impl, PARLEY_API_0_1)
PARLEY_API_ENTRY(participant_add_v0_6, participant_add_impl, PARLEY_API_0_6)

/*
 * participant_remove() of every API version.  From 0.3.0 the removal bumps
 * the conversation's change_seq (its row is locked already), so gateways
 * end the removed guest's live streams however it was removed.
 */
static Datum
participant_remove_impl(FunctionCallInfo fcinfo, ParleyApi api)
{
	Datum		cid;
	char	   *actor;
	char	   *guest_id;
	Datum		values[2];
	bool		isnull;
	char	   *actor_role;
	char	   *target_role;

	parley_require_arg(fcinfo, 0, "conversation_id");
	cid = UUIDPGetDatum(PG_GETARG_UUID_P(0));
	actor = parley_guest_id_arg(fcinfo, 1, "actor");
	guest_id = parley_guest_id_arg(fcinfo, 2, "guest_id");

	SPI_connect();
	actor_role = lock_group_for_actor(cid, actor);

	values[0] = cid;
	values[1] = CStringGetTextDatum(guest_id);
	if (parley_query_exec(&q_participant, values, NULL, false, 1) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_PARLEY_PARTICIPANT_NOT_FOUND),
				 errmsg("guest \"%s\" is not a participant of conversation %s",
						guest_id, parley_uuid_string(cid))));
	target_role = TextDatumGetCString(parley_col(SPI_tuptable, 0, PARTICIPANT_COL_ROLE, &isnull));

	/* 0.6.0: an admin removes members (moderation.c has the rules). */
	if (api >= PARLEY_API_0_6 && strcmp(actor, guest_id) != 0 && strcmp(actor_role, "admin") == 0)
		parley_require_may_moderate(cid, actor, actor_role, guest_id, target_role);
	else if (strcmp(actor, guest_id) != 0 && strcmp(actor_role, "owner") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_PARLEY_NOT_THE_OWNER),
				 errmsg("only the owner may remove another participant"),
				 errdetail("Guest \"%s\" is not the owner of conversation %s.",
						   actor, parley_uuid_string(cid))));

	parley_query_exec(&q_remove_participant, values, NULL, false, 0);
	if (strcmp(target_role, "owner") == 0)
		parley_query_exec(&q_promote_successor, values, NULL, false, 0);
	if (api >= PARLEY_API_0_3)
		(void) parley_count_change(cid);

	SPI_finish();
	parley_set_status(204);
	PG_RETURN_VOID();
}

/* The symbols of the 0.1.0 and 0.3.0 SQL. */
PARLEY_API_ENTRY(participant_remove, participant_remove_impl, PARLEY_API_0_1)
PARLEY_API_ENTRY(participant_remove_v0_3, participant_remove_impl, PARLEY_API_0_3)
PARLEY_API_ENTRY(participant_remove_v0_6, participant_remove_impl, PARLEY_API_0_6)
