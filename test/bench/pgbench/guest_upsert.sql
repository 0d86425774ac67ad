-- The statement parleyd runs for PUT /v1/guests/{id} (gateway/routes.c):
-- random ids out of a million; :body is the request body (-D body=...).
\set id random(1, 1000000)
SELECT r::text, parley.last_status()
  FROM parley.guest_upsert('g_' || :id, (:body::jsonb)->>'display_name',
                           COALESCE((:body::jsonb)->'metadata', '{}'::jsonb)) AS r;
