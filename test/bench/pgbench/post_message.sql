-- The statement parleyd runs for POST /v1/conversations/{cid}/messages
-- (gateway/routes.c), with the parameters the wrk script sends: a random
-- one of the 100 groups and of its 5 participants; :body is the request
-- body as text (-D body=...).
\set n random(1, 100)
\set k random(1, 5)
SELECT r::text, parley.last_status()
  FROM parley.message_post(('00000000-0000-7000-8000-' || lpad(:n::text, 12, '0'))::uuid,
                           'p' || :n || '_' || :k, (:body::jsonb)->>'body',
                           (:body::jsonb)->>'client_msg_id',
                           COALESCE((:body::jsonb)->'metadata', '{}'::jsonb)) AS r;
