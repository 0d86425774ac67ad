-- The statement parleyd runs for GET /v1/guests/lister/conversations?as=lister
-- (gateway/routes.c): the first page (50) of a guest in 500 conversations.
SELECT parley.conversation_list('lister', NULL, NULL::integer, 'lister')::text;
