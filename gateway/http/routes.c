/*
 * routes.c
 *	  THE route table.  One row per route; each /v1 route runs exactly one
 *	  statement that calls exactly one extension function and returns the
 *	  function's JSON as text (column 1) and, where the function tells
 *	  created from existing, parley.last_status() (column 2).
 *
 *	  The body is passed as ONE text parameter and fields are taken out in
 *	  SQL, so numbers keep their precision and nothing is re-serialised;
 *	  the one exception is a seq in a body (PARAM_BODY_SEQ), bound on its
 *	  own so that the gateway clamps one too large for bigint.
 *	  Path ids go in as text and are cast in SQL: a malformed UUID is
 *	  PostgreSQL's 22P02, a 400.  An absent optional parameter is NULL; the
 *	  functions apply their own defaults (limit 50), so no default lives
 *	  here.
 */
#include <stddef.h>

#include "routes.h"

static const struct json_field guest_body[] = {
	{"display_name", JF_STRING, true},
	{"metadata", JF_ANY, false},
	{NULL, 0, false}
};

static const struct json_field conversation_body[] = {
	{"kind", JF_STRING, true},
	{"participants", JF_STRING_ARRAY, true},
	{"title", JF_STRING_OR_NULL, false},
	{NULL, 0, false}
};

static const struct json_field participant_body[] = {
	{"guest_id", JF_STRING, true},
	{NULL, 0, false}
};

static const struct json_field message_body[] = {
	{"body", JF_STRING, true},
	{"client_msg_id", JF_STRING, false},
	{"metadata", JF_ANY, false},
	{NULL, 0, false}
};

static const struct json_field edit_body[] = {
	{"body", JF_STRING, true},
	{NULL, 0, false}
};

static const struct json_field read_body[] = {
	{"seq", JF_INTEGER, true},
	{NULL, 0, false}
};

#define P_GUEST		{PARAM_PATH_TEXT, "guest_id", "guest id", NULL}
#define P_CID		{PARAM_PATH_UUID, "cid", "conversation id (UUID)", NULL}
#define P_SEQ		{PARAM_PATH_SEQ, "seq", "message seq, a positive integer", NULL}
#define P_AS		{PARAM_QUERY_REQUIRED, "as", "acting guest", NULL}
#define P_BODY		{PARAM_BODY, NULL, NULL, NULL}
#define P_OTHER		{PARAM_PATH_TEXT, "other_id", "the other guest's id", NULL}

const struct route routes[] = {
	{ROUTE_SQL, METHOD_PUT, "/v1/guests/{guest_id}", "guest_upsert",
		"Create or replace a guest profile (201 created, 200 updated)",
		"SELECT r::text, parley.last_status()"
		" FROM parley.guest_upsert($1, ($2::jsonb)->>'display_name',"
		" COALESCE(($2::jsonb)->'metadata', '{}'::jsonb)) AS r",
		2, {P_GUEST, P_BODY}, guest_body, 0, false},

	{ROUTE_SQL, METHOD_GET, "/v1/guests/{guest_id}", "guest_get",
		"One guest profile",
		"SELECT parley.guest_get($1)::text",
		1, {P_GUEST}, NULL, 200, false},

	{ROUTE_SQL, METHOD_POST, "/v1/conversations", "conversation_create",
		"Create a direct or group conversation (201; 200 when the direct pair exists)",
		"SELECT r::text, parley.last_status()"
		" FROM parley.conversation_create($1, ($2::jsonb)->>'kind',"
		" ARRAY(SELECT jsonb_array_elements_text(($2::jsonb)->'participants')),"
		" ($2::jsonb)->>'title') AS r",
		2, {P_AS, P_BODY}, conversation_body, 0, false},

	{ROUTE_SQL, METHOD_GET, "/v1/conversations/{cid}", "conversation_get",
		"A conversation and its participants",
		"SELECT parley.conversation_get($1::uuid, $2)::text",
		2, {P_CID, P_AS}, NULL, 200, false},

	{ROUTE_SQL, METHOD_GET, "/v1/guests/{guest_id}/conversations", "conversation_list",
		"A guest's conversations, latest activity first, with unread counts",
		"SELECT parley.conversation_list($1, $2, $3::integer, $4)::text",
		4, {P_GUEST,
			{PARAM_QUERY, "before", "opaque cursor: next_before of the previous page", NULL},
			{PARAM_QUERY_INT, "limit", "page size, 1-200, default 50", NULL},
		{PARAM_QUERY, "as", "acting guest; when given it must be guest_id", NULL}},
		NULL, 200, false},

	{ROUTE_SQL, METHOD_POST, "/v1/conversations/{cid}/participants", "participant_add",
		"Add a guest to a group (201 added, 200 already in)",
		"SELECT r::text, parley.last_status()"
		" FROM parley.participant_add($1::uuid, $2, ($3::jsonb)->>'guest_id') AS r",
		3, {P_CID, P_AS, P_BODY}, participant_body, 0, false},

	{ROUTE_SQL, METHOD_DELETE, "/v1/conversations/{cid}/participants/{guest_id}",
		"participant_remove", "Remove a guest from a group",
		"SELECT parley.participant_remove($1::uuid, $3, $2)",
		3, {P_CID, P_GUEST, P_AS}, NULL, 204, false},

	{ROUTE_SQL, METHOD_POST, "/v1/conversations/{cid}/messages", "message_post",
		"Post a message (201; 200 on an idempotent replay of client_msg_id)",
		"SELECT r::text, parley.last_status()"
		" FROM parley.message_post($1::uuid, $2, ($3::jsonb)->>'body',"
		" ($3::jsonb)->>'client_msg_id',"
		" COALESCE(($3::jsonb)->'metadata', '{}'::jsonb)) AS r",
		3, {P_CID, P_AS, P_BODY}, message_body, 0, false},

	{ROUTE_SQL, METHOD_GET, "/v1/conversations/{cid}/messages", "message_list",
		"A keyset page of messages in ascending seq",
		"SELECT parley.message_list($1::uuid, $2, $3::bigint, $4::bigint,"
		" $5::integer)::text",
		5, {P_CID, P_AS,
			{PARAM_QUERY_SEQ, "before", "newest messages with seq below this", NULL},
			{PARAM_QUERY_SEQ, "after", "oldest messages with seq above this", NULL},
		{PARAM_QUERY_INT, "limit", "page size, 1-200, default 50", NULL}},
		NULL, 200, false},

	{ROUTE_SQL, METHOD_PATCH, "/v1/conversations/{cid}/messages/{seq}", "message_edit",
		"Replace the body of one's own message",
		"SELECT parley.message_edit($1::uuid, $2::bigint, $3, ($4::jsonb)->>'body')::text",
		4, {P_CID, P_SEQ, P_AS, P_BODY}, edit_body, 200, false},

	{ROUTE_SQL, METHOD_DELETE, "/v1/conversations/{cid}/messages/{seq}", "message_delete",
		"Delete a message (it stays as a tombstone)",
		"SELECT parley.message_delete($1::uuid, $2::bigint, $3)",
		3, {P_CID, P_SEQ, P_AS}, NULL, 204, false},

	{ROUTE_SQL, METHOD_POST, "/v1/conversations/{cid}/read", "read_mark",
		"Move the acting guest's read marker forward",
		"SELECT parley.read_mark($1::uuid, $2, $3::bigint)::text",
		3, {P_CID, P_AS, {PARAM_BODY_SEQ, "seq", NULL, NULL}}, read_body, 200, false},

	{ROUTE_SQL, METHOD_PUT, "/v1/guests/{guest_id}/friends/{other_id}", "friend_request",
		"Ask other_id to be friends (201 outgoing), or accept its request (200 accepted)",
		"SELECT r::text, parley.last_status() FROM parley.friend_request($1, $2) AS r",
		2, {P_GUEST, P_OTHER}, NULL, 0, false},

	{ROUTE_SQL, METHOD_DELETE, "/v1/guests/{guest_id}/friends/{other_id}", "friend_remove",
		"Unfriend, cancel an outgoing request or decline an incoming one",
		"SELECT parley.friend_remove($1, $2)",
		2, {P_GUEST, P_OTHER}, NULL, 204, false},

	{ROUTE_SQL, METHOD_GET, "/v1/guests/{guest_id}/friends", "friend_list",
		"A guest's friends or requests, newest first",
		"SELECT parley.friend_list($1, $2, $3, $4::integer)::text",
		4, {P_GUEST,
			{PARAM_QUERY_ENUM, "status", "accepted (default), incoming or outgoing",
			"accepted|incoming|outgoing"},
			{PARAM_QUERY, "before", "opaque cursor: next_before of the previous page", NULL},
		{PARAM_QUERY_INT, "limit", "page size, 1-200, default 50", NULL}},
		NULL, 200, false},

	{ROUTE_SQL, METHOD_PUT, "/v1/guests/{guest_id}/blocks/{other_id}", "guest_block",
		"Block other_id: ends any friendship or request, forbids their direct conversation",
		"SELECT parley.guest_block($1, $2)::text",
		2, {P_GUEST, P_OTHER}, NULL, 200, false},

	{ROUTE_SQL, METHOD_DELETE, "/v1/guests/{guest_id}/blocks/{other_id}", "guest_unblock",
		"Lift a block the guest holds",
		"SELECT parley.guest_unblock($1, $2)",
		2, {P_GUEST, P_OTHER}, NULL, 204, false},

	{ROUTE_EVENTS, METHOD_GET, "/v1/conversations/{cid}/events", "events",
		"Live events (Server-Sent Events); resume with Last-Event-ID or after",
		NULL,					/* events runs the subscribe check (events/subscribe.c) */
		3, {P_CID, P_AS,
		{PARAM_QUERY_SEQ, "after", "replay messages with seq above this first (as Last-Event-ID)", NULL}},
		NULL, 200, false},

	{ROUTE_HEALTHZ, METHOD_GET, "/healthz", "healthz",
		"The process is up", NULL, 0, {{0}}, NULL, 200, true},
	{ROUTE_READYZ, METHOD_GET, "/readyz", "readyz",
		"The database is reachable (503 when not)", NULL, 0, {{0}}, NULL, 200, true},
	{ROUTE_METRICS, METHOD_GET, "/metrics", "metrics",
		"Prometheus metrics", NULL, 0, {{0}}, NULL, 200, true},
	{ROUTE_OPENAPI, METHOD_GET, "/openapi.json", "openapi",
		"This OpenAPI description", NULL, 0, {{0}}, NULL, 200, true},
};

const int	nroutes = sizeof(routes) / sizeof(routes[0]);

_Static_assert(sizeof(routes) / sizeof(routes[0]) <= ROUTE_COUNT_MAX,
			   "raise ROUTE_COUNT_MAX");

const char *
http_method_name(enum http_method m)
{
	switch (m)
	{
		case METHOD_GET:
			return "GET";
		case METHOD_POST:
			return "POST";
		case METHOD_PUT:
			return "PUT";
		case METHOD_PATCH:
			return "PATCH";
		case METHOD_DELETE:
			return "DELETE";
		case METHOD_HEAD:
			return "HEAD";
		case METHOD_OTHER:
			break;
	}
	return "OTHER";
}
