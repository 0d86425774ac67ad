/*
 * service_keys.c
 *	  service_key_create(), service_key_revoke() and service_key_hashes():
 *	  API keys for services.  Only the SHA-256 of a key is stored; the
 *	  plaintext is returned once, by service_key_create().
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "ids.h"
#include "parley.h"
#include "query.h"
#include "validate.h"

/* A revoked name may be reused: the new key replaces the revoked one. */
static ParleyQuery q_key_create = {
	"INSERT INTO parley.service_keys AS k (name, key_hash) VALUES ($1, $2)"
	" ON CONFLICT (name) DO UPDATE"
	"   SET key_hash = excluded.key_hash, created_at = now(), revoked_at = NULL"
	"   WHERE k.revoked_at IS NOT NULL"
	" RETURNING 1",
	2, {TEXTOID, BYTEAOID}
};

static ParleyQuery q_key_revoke = {
	"UPDATE parley.service_keys SET revoked_at = now()"
	" WHERE name = $1 AND revoked_at IS NULL",
	1, {TEXTOID}
};

static ParleyQuery q_key_hashes = {
	"SELECT name, key_hash FROM parley.service_keys"
	" WHERE revoked_at IS NULL ORDER BY name",
	0, {InvalidOid}
};

PG_FUNCTION_INFO_V1(service_key_create);
Datum
service_key_create(PG_FUNCTION_ARGS)
{
	char	   *name = parley_guest_id_arg(fcinfo, 0, "name");
	char	   *key = parley_random_key();
	bytea	   *hash = palloc(VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	Datum		values[2];

	SET_VARSIZE(hash, VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	parley_sha256(key, strlen(key), (uint8 *) VARDATA(hash));
	values[0] = CStringGetTextDatum(name);
	values[1] = PointerGetDatum(hash);

	SPI_connect();
	if (parley_query_exec(&q_key_create, values, NULL, false, 0) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_PARLEY_SERVICE_KEY_EXISTS),
				 errmsg("service key \"%s\" already exists", name),
				 errhint("Revoke it first with parley.service_key_revoke('%s').", name)));
	SPI_finish();
	parley_set_status(201);
	PG_RETURN_TEXT_P(cstring_to_text(key));
}

PG_FUNCTION_INFO_V1(service_key_revoke);
Datum
service_key_revoke(PG_FUNCTION_ARGS)
{
	char	   *name = parley_guest_id_arg(fcinfo, 0, "name");
	Datum		values[1];

	values[0] = CStringGetTextDatum(name);
	SPI_connect();
	if (parley_query_exec(&q_key_revoke, values, NULL, false, 0) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_PARLEY_SERVICE_KEY_NOT_FOUND),
				 errmsg("service key \"%s\" does not exist or is already revoked", name)));
	SPI_finish();
	parley_set_status(204);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(service_key_hashes);
Datum
service_key_hashes(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	uint64		n;

	InitMaterializedSRF(fcinfo, 0);

	SPI_connect();
	n = parley_query_exec(&q_key_hashes, NULL, NULL, true, 0);
	for (uint64 i = 0; i < n; i++)
	{
		Datum		values[2];
		bool		nulls[2];

		values[0] = parley_col(SPI_tuptable, i, 1, &nulls[0]);
		values[1] = parley_col(SPI_tuptable, i, 2, &nulls[1]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	SPI_finish();
	parley_set_status(200);
	return (Datum) 0;
}
