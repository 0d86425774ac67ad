-- @remote
-- Guests live on every shard and each revokes at its own now(): a guest's
-- valid_from is the earliest of the shards' (still after every token issued
-- before the revocation; never after the home partition's, whose
-- guest_token_claims() answer iat from it).  next_since is the earliest of
-- the shards' too, so no shard's open revocation is passed over.
-- @wrapper
BEGIN
    RETURN parley_proxy.relay(ROW(
        (SELECT jsonb_build_object(
                    'guests', (SELECT coalesce(jsonb_object_agg(g.key, g.valid_from), '{}')
                                 FROM (SELECT e.key, min(e.value::bigint) AS valid_from
                                         FROM unnest(answers) AS s,
                                              jsonb_each_text(s.answer->'guests') AS e
                                        GROUP BY e.key) AS g),
                    'next_since', (SELECT min((s.answer->>'next_since')::timestamptz)
                                     FROM unnest(answers) AS s))
           FROM (SELECT array_agg(a) AS answers
                   FROM parley_proxy.guest_tokens_revoked_since(since) AS a) AS x),
        200)::parley_proxy.answer);
