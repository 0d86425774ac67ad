/*
 * token.c
 *	  Guest tokens: verification (with a small cache), minting, and the
 *	  revocation poll.  The cryptography is OpenSSL's: HMAC-SHA256 with
 *	  HMAC(), EdDSA (Ed25519) and RS256 (RSASSA-PKCS1-v1_5 with SHA-256)
 *	  with EVP_DigestVerify() and the PEM public key of
 *	  PARLEY_JWT_PUBLIC_KEY, base64 with EVP_EncodeBlock/EVP_DecodeBlock,
 *	  SHA-256 for the cache key, CRYPTO_memcmp for every comparison of
 *	  secret-derived bytes; JSON is cJSON's.  Why not libjwt:
 *	  docs/security.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "config.h"
#include "log.h"
#include "token.h"
#include "util.h"

#define SIG_LEN 32				/* HMAC-SHA256 */
#define SIG_MAX 512				/* RS256 with a key of up to 4096 bits */
#define RSA_BITS_MIN 2048		/* RFC 7518 section 3.3 */
#define SKEW_S 60				/* an iat this far in the future is fine */
#define LIFETIME_MAX_S 86400	/* exp - iat */
#define CACHE_SIZE 4096			/* verified tokens, direct-mapped */
#define REVOKED_BUCKETS 1024
#define STALE_MS 10000			/* revocations unknown for this long: 503 */

#define REVOKE_SQL "SELECT parley.guest_tokens_revoked_since($1::timestamptz)::text"

struct cache_entry
{
	unsigned char hash[32];		/* SHA-256 of the token's text */
	bool		used;
	struct token_guest g;
};

struct revoked
{
	struct revoked *next;
	int64_t		valid_from;
	char		guest[TOKEN_GUEST_MAX + 1];
};

static struct
{
	struct pool *pool;
	const struct pool_stmt *stmt;
	struct event *timer;
	struct pool_job job;
	bool		in_flight;
	bool		loaded;
	bool		failing;
	struct timespec loaded_at;
	char		since[64];		/* next_since of the last answer; "" = first */
	const char *since_param;
	token_revoked_fn on_revoked;
	struct cache_entry *cache;
	struct revoked *revoked[REVOKED_BUCKETS];
	EVP_PKEY   *pubkey;			/* PARLEY_JWT_PUBLIC_KEY's, or NULL */
	const char *pub_alg;		/* its alg: "EdDSA" or "RS256" */
}			tk;

static bool
secret_set(void)
{
	return config.jwt_secret != NULL && config.jwt_secret[0] != '\0';
}

static bool
pubkey_set(void)
{
	return config.jwt_public_key != NULL && config.jwt_public_key[0] != '\0';
}

bool
token_enabled(void)
{
	return secret_set() || pubkey_set();
}

/*
 * PARLEY_JWT_PUBLIC_KEY: PEM text (it starts with "-----BEGIN") or the path
 * of a PEM file; a SubjectPublicKeyInfo ("PUBLIC KEY") of an Ed25519 key
 * (alg EdDSA) or an RSA key of at least 2048 bits (alg RS256).
 */
static bool
load_public_key(char *err, size_t errlen)
{
	const char *v = config.jwt_public_key;
	BIO		   *bio;
	EVP_PKEY   *key;

	if (strncmp(v, "-----BEGIN", 10) == 0)
		bio = BIO_new_mem_buf(v, -1);
	else
		bio = BIO_new_file(v, "r");
	if (bio == NULL)
	{
		snprintf(err, errlen, "PARLEY_JWT_PUBLIC_KEY: cannot read \"%s\" (neither PEM text nor a readable file)", v);
		return false;
	}
	key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (key == NULL)
	{
		snprintf(err, errlen, "PARLEY_JWT_PUBLIC_KEY: no PEM public key (-----BEGIN PUBLIC KEY-----) in it");
		return false;
	}
	if (EVP_PKEY_id(key) == EVP_PKEY_ED25519)
		tk.pub_alg = "EdDSA";
	else if (EVP_PKEY_id(key) == EVP_PKEY_RSA && EVP_PKEY_bits(key) >= RSA_BITS_MIN &&
			 EVP_PKEY_size(key) <= SIG_MAX)
		tk.pub_alg = "RS256";
	else
	{
		snprintf(err, errlen, "PARLEY_JWT_PUBLIC_KEY: an Ed25519 key (EdDSA) or an RSA key of %d-%d bits (RS256) is needed, not this %d-bit %s key",
				 RSA_BITS_MIN, SIG_MAX * 8, EVP_PKEY_bits(key), OBJ_nid2sn(EVP_PKEY_id(key)));
		EVP_PKEY_free(key);
		return false;
	}
	tk.pubkey = key;
	return true;
}

/* The signature sig[0..siglen) of data[0..len) under the public key. */
static bool
pubkey_verify(const char *data, size_t len, const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool		ok;

	if (ctx == NULL)
		return false;
	/* Ed25519 hashes by itself (no digest); RS256 is PKCS #1 v1.5 with SHA-256. */
	ok = EVP_DigestVerifyInit(ctx, NULL, tk.pub_alg[0] == 'R' ? EVP_sha256() : NULL, NULL,
							  tk.pubkey) == 1 &&
		EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *) data, len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

/* ---- base64url (RFC 4648 section 5, no padding), over OpenSSL's base64 -- */

/* Decode s[0..len) into out (room for len bytes); -1 if not base64url. */
static long
b64url_decode(const char *s, size_t len, unsigned char *out)
{
	char	   *buf;
	size_t		pad = (4 - len % 4) % 4;
	int			n;

	if (len % 4 == 1)
		return -1;
	buf = malloc(len + pad + 1);
	if (buf == NULL)
		return -1;
	for (size_t i = 0; i < len; i++)
	{
		char		c = s[i];

		if (c == '-')
			c = '+';
		else if (c == '_')
			c = '/';
		else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
		{
			free(buf);
			return -1;
		}
		buf[i] = c;
	}
	memset(buf + len, '=', pad);
	buf[len + pad] = '\0';
	n = EVP_DecodeBlock(out, (const unsigned char *) buf, (int) (len + pad));
	free(buf);
	return n < 0 ? -1 : (long) (n - (int) pad);
}

/* Encode in[0..len) as base64url without padding into out (4 * (len + 2) / 3 + 1). */
static size_t
b64url_encode(const unsigned char *in, size_t len, char *out)
{
	int			n = EVP_EncodeBlock((unsigned char *) out, in, (int) len);

	while (n > 0 && out[n - 1] == '=')
		n--;
	out[n] = '\0';
	for (int i = 0; i < n; i++)
	{
		if (out[i] == '+')
			out[i] = '-';
		else if (out[i] == '/')
			out[i] = '_';
	}
	return (size_t) n;
}

/* A base64url part of a token as parsed JSON, or NULL. */
static cJSON *
decode_json_part(const char *s, size_t len)
{
	unsigned char *raw = malloc(len + 4);
	long		n;
	cJSON	   *json = NULL;

	if (raw == NULL)
		return NULL;
	n = b64url_decode(s, len, raw);
	if (n > 0)
		json = cJSON_ParseWithLength((const char *) raw, (size_t) n);
	free(raw);
	if (json != NULL && !cJSON_IsObject(json))
	{
		cJSON_Delete(json);
		json = NULL;
	}
	return json;
}

/* An integral JSON number (NumericDate, RFC 7519 section 2). */
static bool
get_int(const cJSON *obj, const char *name, int64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
	double		d;

	if (!cJSON_IsNumber(v))
		return false;
	d = v->valuedouble;
	if (d != (double) (int64_t) d || d < 0 || d > 1e15)
		return false;
	*out = (int64_t) d;
	return true;
}

static bool
hmac_sha256(const char *data, size_t len, unsigned char *out)
{
	unsigned int n = 0;

	return HMAC(EVP_sha256(), config.jwt_secret, (int) strlen(config.jwt_secret),
				(const unsigned char *) data, len, out, &n) != NULL && n == SIG_LEN;
}

/* ---- revocations ------------------------------------------------------ */

static unsigned
guest_bucket(const char *guest)
{
	unsigned	h = 2166136261u;

	for (const char *c = guest; *c; c++)
		h = (h ^ (unsigned char) *c) * 16777619u;
	return h % REVOKED_BUCKETS;
}

static struct revoked *
revoked_find(const char *guest)
{
	for (struct revoked *r = tk.revoked[guest_bucket(guest)]; r != NULL; r = r->next)
		if (strcmp(r->guest, guest) == 0)
			return r;
	return NULL;
}

bool
token_revoked(const char *guest, int64_t iat)
{
	struct revoked *r = revoked_find(guest);

	return r != NULL && iat < r->valid_from;
}

/* Raise guest's valid_from; tell the caller when it moved. */
static void
revoked_set(const char *guest, int64_t valid_from)
{
	struct revoked *r;

	if (strlen(guest) > TOKEN_GUEST_MAX)
		return;
	r = revoked_find(guest);
	if (r == NULL)
	{
		unsigned	b = guest_bucket(guest);

		r = calloc(1, sizeof(*r));
		if (r == NULL)
			return;
		strcpy(r->guest, guest);
		r->next = tk.revoked[b];
		tk.revoked[b] = r;
	}
	else if (r->valid_from >= valid_from)
		return;
	r->valid_from = valid_from;
	if (tk.on_revoked != NULL)
		tk.on_revoked(guest, valid_from);
}

static void
poll_failed(const char *why)
{
	if (!tk.failing)
		log_warn("guest token revocation poll failed: %s", why ? why : "unknown error");
	tk.failing = true;
}

static void
poll_done(struct pool_job *job, PGresult *res, const struct problem *err)
{
	cJSON	   *json;
	const cJSON *guests;
	const cJSON *next;
	const cJSON *g;

	(void) job;
	tk.in_flight = false;
	if (err != NULL)
	{
		poll_failed(err->detail);
		return;
	}
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
	{
		poll_failed(PQresultStatus(res) == PGRES_FATAL_ERROR ?
					PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : "unexpected result");
		return;
	}
	json = cJSON_Parse(PQgetvalue(res, 0, 0));
	guests = cJSON_GetObjectItemCaseSensitive(json, "guests");
	next = cJSON_GetObjectItemCaseSensitive(json, "next_since");
	if (!cJSON_IsObject(guests) || !cJSON_IsString(next) ||
		strlen(next->valuestring) >= sizeof(tk.since))
	{
		cJSON_Delete(json);
		poll_failed("unexpected answer of guest_tokens_revoked_since");
		return;
	}
	cJSON_ArrayForEach(g, guests)
	{
		if (g->string != NULL && cJSON_IsNumber(g))
			revoked_set(g->string, (int64_t) g->valuedouble);
	}
	strcpy(tk.since, next->valuestring);
	tk.since_param = tk.since;
	cJSON_Delete(json);
	if (tk.failing || !tk.loaded)
		log_info("guest token revocations loaded");
	tk.failing = false;
	tk.loaded = true;
	clock_gettime(CLOCK_MONOTONIC, &tk.loaded_at);
}

static void
poll_tick(evutil_socket_t fd, short what, void *arg)
{
	struct problem p;

	(void) fd;
	(void) what;
	(void) arg;
	if (tk.in_flight || !pool_is_up(tk.pool))
		return;
	pool_job_init(&tk.job, tk.stmt, 1, &tk.since_param, true, poll_done, NULL);
	/* At the head of the queue: a busy pool still sees revocations. */
	if (pool_submit(tk.pool, &tk.job, config.revoke_poll_ms * 4 + 1000, true, &p))
		tk.in_flight = true;
}

bool
token_setup(struct event_base *base, struct pool *pool, token_revoked_fn on_revoked,
			char *err, size_t errlen)
{
	int			ms = config.revoke_poll_ms;
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	if (!token_enabled())
		return true;
	if (pubkey_set() && !load_public_key(err, errlen))
		return false;
	snprintf(err, errlen, "out of memory");
	tk.pool = pool;
	tk.on_revoked = on_revoked;
	tk.since_param = NULL;
	tk.cache = calloc(CACHE_SIZE, sizeof(*tk.cache));
	tk.stmt = pool_statement(pool, "guest_tokens_revoked_since", REVOKE_SQL);
	tk.timer = event_new(base, -1, EV_PERSIST, poll_tick, NULL);
	return tk.cache != NULL && tk.stmt != NULL && tk.timer != NULL &&
		event_add(tk.timer, &tv) == 0;
}

void
token_shutdown(void)
{
	if (tk.timer != NULL)
		event_free(tk.timer);
	tk.timer = NULL;
	free(tk.cache);
	tk.cache = NULL;
	EVP_PKEY_free(tk.pubkey);
	tk.pubkey = NULL;
	for (int b = 0; b < REVOKED_BUCKETS; b++)
	{
		while (tk.revoked[b] != NULL)
		{
			struct revoked *r = tk.revoked[b];

			tk.revoked[b] = r->next;
			free(r);
		}
	}
}

/* ---- verification ----------------------------------------------------- */

bool
token_is_jwt(const char *s, size_t len)
{
	int			dots = 0;

	for (size_t i = 0; i < len; i++)
		dots += s[i] == '.';
	return dots == 2;
}

static bool
check_aud(const cJSON *claims)
{
	const cJSON *aud = cJSON_GetObjectItemCaseSensitive(claims, "aud");
	const cJSON *a;

	if (config.jwt_audience[0] == '\0')
		return true;
	if (cJSON_IsString(aud))
		return strcmp(aud->valuestring, config.jwt_audience) == 0;
	if (!cJSON_IsArray(aud))
		return false;
	cJSON_ArrayForEach(a, aud)
	{
		if (cJSON_IsString(a) && strcmp(a->valuestring, config.jwt_audience) == 0)
			return true;
	}
	return false;
}

/*
 * The signature and the claims of a token not in the cache.  The header
 * is read first so that only a configured algorithm is ever considered
 * (HS256 with PARLEY_JWT_SECRET, the public key's EdDSA or RS256); the
 * claims only after the signature matched.
 */
static bool
verify_uncached(const char *tok, size_t len, struct token_guest *g, const char **why)
{
	const char *dot1 = memchr(tok, '.', len);
	const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t) (dot1 + 1 - tok)) : NULL;
	unsigned char sig[SIG_MAX + 4];
	unsigned char want[SIG_LEN];
	size_t		siglen = (size_t) (tok + len - (dot2 ? dot2 + 1 : tok));
	bool		hs256;
	cJSON	   *head = NULL;
	cJSON	   *claims = NULL;
	const cJSON *v;
	bool		ok = false;

	*why = "malformed token";
	if (dot1 == NULL || dot2 == NULL)
		return false;
	head = decode_json_part(tok, (size_t) (dot1 - tok));
	if (head == NULL)
		goto out;
	v = cJSON_GetObjectItemCaseSensitive(head, "alg");
	*why = "token algorithm is not the configured one";
	if (!cJSON_IsString(v) || cJSON_GetObjectItemCaseSensitive(head, "crit") != NULL)
		goto out;
	hs256 = secret_set() && strcmp(v->valuestring, "HS256") == 0;
	if (!hs256 && !(tk.pubkey != NULL && strcmp(v->valuestring, tk.pub_alg) == 0))
		goto out;
	*why = "bad token signature";
	if (hs256)
	{
		if (siglen != 43 || b64url_decode(dot2 + 1, 43, sig) != SIG_LEN ||
			!hmac_sha256(tok, (size_t) (dot2 - tok), want) ||
			CRYPTO_memcmp(sig, want, SIG_LEN) != 0)
			goto out;
	}
	else
	{
		long		n;

		if (siglen > (SIG_MAX * 4 + 2) / 3 ||
			(n = b64url_decode(dot2 + 1, siglen, sig)) <= 0 ||
			!pubkey_verify(tok, (size_t) (dot2 - tok), sig, (size_t) n))
			goto out;
	}
	*why = "malformed token claims";
	claims = decode_json_part(dot1 + 1, (size_t) (dot2 - dot1 - 1));
	if (claims == NULL)
		goto out;
	v = cJSON_GetObjectItemCaseSensitive(claims, "sub");
	if (!cJSON_IsString(v) || v->valuestring[0] == '\0' ||
		strlen(v->valuestring) > TOKEN_GUEST_MAX)
		goto out;
	strcpy(g->guest, v->valuestring);
	*why = "token has no integer iat and exp";
	if (!get_int(claims, "iat", &g->iat) || !get_int(claims, "exp", &g->exp))
		goto out;
	*why = "token lifetime is over 24 h";
	if (g->exp <= g->iat || g->exp - g->iat > LIFETIME_MAX_S)
		goto out;
	*why = "token audience does not match";
	if (!check_aud(claims))
		goto out;
	ok = true;
out:
	cJSON_Delete(head);
	cJSON_Delete(claims);
	return ok;
}

bool
token_ready(void)
{
	return !token_enabled() || (tk.loaded && util_ms_since(&tk.loaded_at) <= STALE_MS);
}

bool
token_verify(const char *tok, size_t len, struct token_guest *g, struct problem *p)
{
	unsigned char hash[32];
	unsigned int hlen = 0;
	struct cache_entry *e;
	const char *why = NULL;
	int64_t		now = (int64_t) time(NULL);

	if (!token_ready())
	{
		problem_set(p, 503, CODE_DB_UNAVAILABLE,
					"guest token revocations are not loaded: the database is unreachable");
		return false;
	}
	if (len > TOKEN_MAX_LEN || !EVP_Digest(tok, len, hash, &hlen, EVP_sha256(), NULL))
	{
		problem_set(p, 401, CODE_UNAUTHORIZED, "malformed token");
		return false;
	}
	e = &tk.cache[(hash[0] | hash[1] << 8 | hash[2] << 16) % CACHE_SIZE];
	if (e->used && CRYPTO_memcmp(e->hash, hash, sizeof(hash)) == 0)
		*g = e->g;
	else if (verify_uncached(tok, len, g, &why))
	{
		memcpy(e->hash, hash, sizeof(hash));
		e->g = *g;
		e->used = true;
	}
	else
	{
		problem_set(p, 401, CODE_UNAUTHORIZED, "%s", why);
		return false;
	}
	/* Checked on every use: time moves, revocations arrive. */
	if (now >= g->exp)
	{
		problem_set(p, 401, CODE_TOKEN_EXPIRED, "the token has expired; ask for a new one");
		return false;
	}
	if (g->iat > now + SKEW_S)
	{
		problem_set(p, 401, CODE_UNAUTHORIZED, "token iat is in the future");
		return false;
	}
	if (token_revoked(g->guest, g->iat))
	{
		problem_set(p, 401, CODE_UNAUTHORIZED, "the guest's tokens were revoked");
		return false;
	}
	return true;
}

/* ---- minting ---------------------------------------------------------- */

char *
token_mint(const char *claims_json, size_t *len, struct problem *p)
{
	static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	cJSON	   *claims = cJSON_Parse(claims_json);
	int64_t		exp = 0;
	char	   *payload = NULL;
	char	   *tok = NULL;
	char	   *body = NULL;
	unsigned char sig[SIG_LEN];
	size_t		n;
	char		when[32];
	struct tm	tm;
	time_t		t;

	if (!secret_set())
	{
		cJSON_Delete(claims);
		problem_set(p, 503, CODE_DB_UNAVAILABLE, "%s", token_enabled() ?
					"this gateway only verifies guest tokens (PARLEY_JWT_PUBLIC_KEY): the service signs them with its private key" :
					"guest tokens are off: PARLEY_JWT_SECRET is not set on this gateway");
		return NULL;
	}
	if (claims == NULL || !get_int(claims, "exp", &exp))
		goto fail;
	if (config.jwt_audience[0] != '\0')
		cJSON_AddStringToObject(claims, "aud", config.jwt_audience);
	payload = cJSON_PrintUnformatted(claims);
	if (payload == NULL)
		goto fail;
	tok = malloc(2 * (sizeof(header) + strlen(payload)) + 2 * SIG_LEN + 16);
	if (tok == NULL)
		goto fail;
	n = b64url_encode((const unsigned char *) header, sizeof(header) - 1, tok);
	tok[n++] = '.';
	n += b64url_encode((const unsigned char *) payload, strlen(payload), tok + n);
	if (!hmac_sha256(tok, n, sig))
		goto fail;
	tok[n++] = '.';
	n += b64url_encode(sig, SIG_LEN, tok + n);
	t = (time_t) exp;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	body = malloc(n + 64);
	if (body == NULL)
		goto fail;
	*len = (size_t) sprintf(body, "{\"token\":\"%s\",\"expires_at\":\"%s\"}", tok, when);
	OPENSSL_cleanse(sig, sizeof(sig));
	free(tok);
	cJSON_free(payload);
	cJSON_Delete(claims);
	return body;
fail:
	free(tok);
	cJSON_free(payload);
	cJSON_Delete(claims);
	problem_set(p, 500, CODE_INTERNAL, "cannot sign the token claims");
	return NULL;
}
