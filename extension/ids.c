/*
 * ids.c
 *	  UUIDv7/UUIDv8 generation, SHA-256, random keys; the id generators a
 *	  PL/Proxy proxy database calls.
 */
#include "postgres.h"

#include "common/cryptohash.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "ids.h"

static void
strong_random(void *buf, size_t len)
{
	if (!pg_strong_random(buf, len))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate random bytes")));
}

/*
 * The 12 bits after the millisecond timestamp hold the sub-millisecond
 * fraction (RFC 9562 section 6.2, method 3), and a backend never hands out
 * the same or an earlier instant twice, so ids from one backend are strictly
 * increasing even when the clock steps back or two calls share a microsecond.
 */
void
parley_uuidv7(pg_uuid_t *out)
{
	static int64 last_unix_us = 0;
	int64		unix_us;
	uint64		ms;
	uint32		frac;

	unix_us = GetCurrentTimestamp() +
		(int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * USECS_PER_SEC;
	if (unix_us <= last_unix_us)
		unix_us = last_unix_us + 1;
	last_unix_us = unix_us;

	ms = (uint64) (unix_us / 1000);
	/* 1000 microseconds onto 4096 steps: each microsecond moves >= 4 steps */
	frac = (uint32) (((unix_us % 1000) * 4096) / 1000);

	strong_random(out->data + 8, 8);
	out->data[0] = (uint8) (ms >> 40);
	out->data[1] = (uint8) (ms >> 32);
	out->data[2] = (uint8) (ms >> 24);
	out->data[3] = (uint8) (ms >> 16);
	out->data[4] = (uint8) (ms >> 8);
	out->data[5] = (uint8) ms;
	out->data[6] = 0x70 | (uint8) (frac >> 8);
	out->data[7] = (uint8) frac;
	out->data[8] = 0x80 | (out->data[8] & 0x3F);	/* variant 10 */
}

void
parley_sha256(const char *data, size_t len, uint8 out[PG_SHA256_DIGEST_LENGTH])
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);

	if (ctx == NULL ||
		pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) data, len) < 0 ||
		pg_cryptohash_final(ctx, out, PG_SHA256_DIGEST_LENGTH) < 0)
		elog(ERROR, "parley: SHA-256 failed: %s",
			 ctx ? pg_cryptohash_error(ctx) : "out of memory");
	pg_cryptohash_free(ctx);
}

void
parley_direct_conversation_id(const char *a, const char *b, pg_uuid_t *out)
{
	const char *lo = strcmp(a, b) <= 0 ? a : b;
	const char *hi = lo == a ? b : a;
	StringInfoData buf;
	uint8		digest[PG_SHA256_DIGEST_LENGTH];

	/* NUL separators: guest ids cannot contain NUL, so pairs never collide */
	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, "parley:direct", strlen("parley:direct") + 1);
	appendBinaryStringInfo(&buf, lo, strlen(lo) + 1);
	appendBinaryStringInfo(&buf, hi, strlen(hi));
	parley_sha256(buf.data, buf.len, digest);
	pfree(buf.data);

	memcpy(out->data, digest, UUID_LEN);
	out->data[6] = 0x80 | (out->data[6] & 0x0F);	/* version 8 */
	out->data[8] = 0x80 | (out->data[8] & 0x3F);	/* variant 10 */
}

char *
parley_random_key(void)
{
	static const char b64url[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint8		raw[33];		/* 256 bits, padded to a multiple of 3 */
	char	   *key = palloc(3 + 44 + 1);
	int			p = 0;

	strong_random(raw, 32);
	raw[32] = 0;
	key[p++] = 'p';
	key[p++] = 'k';
	key[p++] = '_';
	for (int i = 0; i < 33; i += 3)
	{
		uint32		w = (raw[i] << 16) | (raw[i + 1] << 8) | raw[i + 2];

		key[p++] = b64url[(w >> 18) & 0x3F];
		key[p++] = b64url[(w >> 12) & 0x3F];
		key[p++] = b64url[(w >> 6) & 0x3F];
		key[p++] = b64url[w & 0x3F];
	}
	/* 32 bytes are 43 base64 characters; drop the one made of padding */
	p--;
	key[p] = '\0';
	return key;
}

/*
 * SQL-callable id generators for a PL/Proxy proxy database (proxy/): the
 * proxy picks a new group's id, or computes a direct pair's id, before it
 * knows the shard, and routes the call by that id.  Declared only by
 * proxy/parley_proxy.sql, never by the extension's own scripts.
 */
PG_FUNCTION_INFO_V1(parley_new_conversation_id);
Datum
parley_new_conversation_id(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *id = palloc(sizeof(pg_uuid_t));

	parley_uuidv7(id);
	PG_RETURN_UUID_P(id);
}

PG_FUNCTION_INFO_V1(parley_direct_id);
Datum
parley_direct_id(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *id = palloc(sizeof(pg_uuid_t));

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	parley_direct_conversation_id(text_to_cstring(PG_GETARG_TEXT_PP(0)),
								  text_to_cstring(PG_GETARG_TEXT_PP(1)), id);
	PG_RETURN_UUID_P(id);
}
