/*
 * ids.h
 *	  Identifiers and digests: UUIDv7 message and group ids, the derived id of
 *	  a direct conversation, SHA-256, and random service keys.
 */
#ifndef PARLEY_IDS_H
#define PARLEY_IDS_H

#include "postgres.h"

#include "common/sha2.h"
#include "utils/uuid.h"

/* RFC 9562 UUIDv7: 48-bit Unix ms, 12-bit sub-ms fraction, 62 random bits. */
extern void parley_uuidv7(pg_uuid_t *out);

/*
 * The id of the direct conversation between guests a and b: a UUIDv8 made
 * from SHA-256 of the sorted pair, so either guest, on any shard, finds the
 * same conversation.
 */
extern void parley_direct_conversation_id(const char *a, const char *b, pg_uuid_t *out);

extern void parley_sha256(const char *data, size_t len, uint8 out[PG_SHA256_DIGEST_LENGTH]);

/* A new service key: "pk_" + 43 base64url characters (256 random bits). */
extern char *parley_random_key(void);

#endif							/* PARLEY_IDS_H */
