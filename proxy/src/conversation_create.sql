-- @remote conversation_create_direct(conversation_id uuid, actor text, kind text, participants text[], title text) conversation parley.conversation_create($2, $3, $4, $5)

-- @remote conversation_create_at(conversation_id uuid, actor text, kind text, participants text[], title text) conversation parley.conversation_create_at($2, $3, $4, $5, $1)

-- A direct pair goes to the shard of its derived id, so either guest finds
-- it again; anything else gets a new UUIDv7 here (bad input included: the
-- shard's checks run before the id is used, and raise the usual errors).
-- @wrapper
DECLARE
    others text[];
BEGIN
    others := ARRAY(SELECT DISTINCT p FROM unnest(participants) AS p
                     WHERE p IS DISTINCT FROM actor);
    IF kind = 'direct' AND actor IS NOT NULL AND cardinality(others) = 1
       AND others[1] IS NOT NULL THEN
        RETURN parley_proxy.relay(parley_proxy.conversation_create_direct(
            parley_proxy.direct_id(actor, others[1]), actor, kind, participants, title));
    END IF;
    RETURN parley_proxy.relay(parley_proxy.conversation_create_at(
        parley_proxy.new_conversation_id(), actor, kind, participants, title));
