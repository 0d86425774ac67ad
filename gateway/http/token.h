/*
 * token.h
 *	  Guest tokens (API.md section 7): JWTs with sub, iat, exp (and aud
 *	  when PARLEY_JWT_AUDIENCE is set): HS256 verified and minted with
 *	  PARLEY_JWT_SECRET, and EdDSA (Ed25519) or RS256 verified with the
 *	  public key PARLEY_JWT_PUBLIC_KEY (the service mints those with its
 *	  private key); revocations polled from the database
 *	  (parley.guest_tokens_revoked_since) every PARLEY_REVOKE_POLL_MS.
 *
 *	  Invariants:
 *	  - a token is accepted only when its header's alg is exactly "HS256"
 *	    with a secret set and its HMAC-SHA256 matches (CRYPTO_memcmp over
 *	    the raw 32 bytes), or exactly the public key's alg ("EdDSA" for an
 *	    Ed25519 key, "RS256" for an RSA key) and EVP_DigestVerify accepts
 *	    its signature; and
 *	    its claims pass every check of section 7; the token's text never
 *	    reaches the log, metrics or an error body;
 *	  - verified tokens are cached by the SHA-256 of their text; a hit
 *	    re-checks exp and revocation, so a cache entry never outlives them;
 *	  - a token of guest G whose iat is below G's valid_from (the poll's
 *	    answer) is refused; valid_from only moves forward;
 *	  - while the revocation poll has not succeeded recently (10 s), guest
 *	    tokens are answered 503: a gateway that cannot see revocations
 *	    fails closed.
 */
#ifndef PARLEY_TOKEN_H
#define PARLEY_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "db/pool.h"
#include "errors.h"

#define TOKEN_GUEST_MAX 64		/* guest ids are at most 64 bytes */
#define TOKEN_MAX_LEN 2048		/* longer bearer values are refused */

struct token_guest
{
	char		guest[TOKEN_GUEST_MAX + 1];
	int64_t		iat;
	int64_t		exp;
};

/* Called for each guest whose valid_from moved (streams end). */
typedef void (*token_revoked_fn) (const char *guest, int64_t valid_from);

/* Are guest tokens on (PARLEY_JWT_SECRET set)? */
bool		token_enabled(void);

/*
 * Load PARLEY_JWT_PUBLIC_KEY, register the poll statement and start its
 * timer (when tokens are on); false with err filled (a bad key).
 */
bool		token_setup(struct event_base *base, struct pool *pool,
						token_revoked_fn on_revoked, char *err, size_t errlen);
void		token_shutdown(void);

/* Revocations loaded and fresh (always true when tokens are off): /readyz. */
bool		token_ready(void);

/* Does this bearer value look like a JWT (three dot-separated parts)? */
bool		token_is_jwt(const char *s, size_t len);

/*
 * Verify a token (its text, len bytes).  On success fills g.  On failure
 * fills p: 401 unauthorized or token_expired, 503 while revocations are
 * not known.  Never puts the token in p.
 */
bool		token_verify(const char *tok, size_t len, struct token_guest *g,
						 struct problem *p);

/* Is (guest, iat) revoked now? */
bool		token_revoked(const char *guest, int64_t iat);

/*
 * The minting route's answer: claims_json is guest_token_claims()'s
 * {"sub","iat","exp"}; returns a malloc'd {"token","expires_at"} body, or
 * NULL with p filled.
 */
char	   *token_mint(const char *claims_json, size_t *len, struct problem *p);

#endif							/* PARLEY_TOKEN_H */
