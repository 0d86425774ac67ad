-- make bench: two API functions written in PL/pgSQL, to compare the C
-- functions with the same logic in the database's own language.  NOT part
-- of the extension.
--
-- message_post's hot path (no client_msg_id; pgbench/post_message_plpgsql.sql):
-- same checks in the same order, the same one statement, the same JSON; it
-- leaves out the client_msg_id path and the nesting-depth walk of metadata
-- (both only make the PL/pgSQL side faster), and last_status(), which only
-- C can set.
--
-- message_list's newest page (pgbench/list_messages_plpgsql.sql): the same
-- checks, the same index scan, the same JSON (run.sh checks that both
-- return the same text for the bench's conversation).
\set ON_ERROR_STOP 1
CREATE SCHEMA bench;

CREATE FUNCTION bench.message_post_plpgsql(conversation_id uuid, sender text, body text,
                                           client_msg_id text DEFAULT NULL,
                                           metadata jsonb DEFAULT '{}')
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n_chars int;
    m record;
    ms bigint;
    v_id uuid;
BEGIN
    IF conversation_id IS NULL OR sender IS NULL OR body IS NULL OR metadata IS NULL THEN
        RAISE EXCEPTION 'argument must not be null' USING ERRCODE = '22004';
    END IF;
    IF octet_length(sender) NOT BETWEEN 1 AND 64 OR sender !~ '^[A-Za-z0-9._:@-]+$' THEN
        RAISE EXCEPTION 'sender must be 1 to 64 bytes of [A-Za-z0-9._:@-]' USING ERRCODE = '22023';
    END IF;
    n_chars := length(body);
    IF n_chars > 4000 THEN
        RAISE EXCEPTION 'body must be at most 4000 characters long' USING ERRCODE = '22023';
    END IF;
    -- Unicode White_Space, as the C check
    IF body ~ '^[\u0009-\u000D\u0020\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$' THEN
        RAISE EXCEPTION 'body must not be empty' USING ERRCODE = '22023';
    END IF;
    IF client_msg_id IS NOT NULL THEN
        RAISE EXCEPTION 'the PL/pgSQL twin has no client_msg_id path' USING ERRCODE = '0A000';
    END IF;
    IF jsonb_typeof(metadata) <> 'object' THEN
        RAISE EXCEPTION 'metadata must be a JSON object' USING ERRCODE = '22023';
    END IF;
    IF octet_length(metadata::text) > 16384 THEN
        RAISE EXCEPTION 'metadata must be at most 16384 bytes as JSON text' USING ERRCODE = '22023';
    END IF;

    -- UUIDv7: 48 bits of Unix milliseconds, version 7, variant 10, random rest
    ms := (extract(epoch FROM clock_timestamp()) * 1000)::bigint;
    v_id := encode(overlay(overlay(overlay(uuid_send(gen_random_uuid())
              PLACING substring(int8send(ms) FROM 3) FROM 1 FOR 6)
              PLACING set_byte('\x00'::bytea, 0, 112 + (random() * 15)::int) FROM 7 FOR 1)
              PLACING set_byte('\x00'::bytea, 0, 128 + (random() * 63)::int) FROM 9 FOR 1), 'hex')::uuid;

    WITH c AS (
        UPDATE parley.conversations SET last_seq = last_seq + 1, last_message_at = now()
         WHERE parley.conversations.id = message_post_plpgsql.conversation_id
        RETURNING last_seq
    ), r AS (
        UPDATE parley.participants p SET last_read_seq = GREATEST(p.last_read_seq, c.last_seq)
          FROM c
         WHERE p.conversation_id = message_post_plpgsql.conversation_id AND p.guest_id = sender
        RETURNING c.last_seq
    ), ins AS (
        INSERT INTO parley.messages AS x (conversation_id, seq, id, sender_id, body, metadata,
                                          client_msg_id, body_digest)
        SELECT message_post_plpgsql.conversation_id, r.last_seq, v_id, sender,
               message_post_plpgsql.body, message_post_plpgsql.metadata, NULL, NULL
          FROM r
        RETURNING x.*
    )
    SELECT * INTO m FROM ins;

    IF NOT FOUND THEN
        IF NOT EXISTS (SELECT 1 FROM parley.conversations c
                        WHERE c.id = message_post_plpgsql.conversation_id) THEN
            RAISE EXCEPTION 'conversation % does not exist', conversation_id USING ERRCODE = 'PR002';
        END IF;
        RAISE EXCEPTION 'guest "%" is not a participant of conversation %', sender, conversation_id
            USING ERRCODE = 'PR010';
    END IF;

    RETURN jsonb_build_object(
        'conversation_id', m.conversation_id, 'seq', m.seq, 'id', m.id,
        'sender_id', m.sender_id, 'body', m.body, 'metadata', m.metadata,
        'client_msg_id', m.client_msg_id,
        'created_at', to_char(m.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
        'edited_at', m.edited_at, 'deleted', m.deleted_at IS NOT NULL);
END
$$;
CREATE FUNCTION bench.message_list_plpgsql(conversation_id uuid, actor text, page_limit int DEFAULT 50)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    is_member boolean;
    n int;
    msgs jsonb;
BEGIN
    IF conversation_id IS NULL OR actor IS NULL THEN
        RAISE EXCEPTION 'argument must not be null' USING ERRCODE = '22004';
    END IF;
    IF octet_length(actor) NOT BETWEEN 1 AND 64 OR actor !~ '^[A-Za-z0-9._:@-]+$' THEN
        RAISE EXCEPTION 'actor must be 1 to 64 bytes of [A-Za-z0-9._:@-]' USING ERRCODE = '22023';
    END IF;
    IF page_limit NOT BETWEEN 1 AND 200 THEN
        RAISE EXCEPTION 'limit must be from 1 to 200' USING ERRCODE = '22023';
    END IF;
    SELECT EXISTS (SELECT 1 FROM parley.participants p
                    WHERE p.conversation_id = message_list_plpgsql.conversation_id AND p.guest_id = actor)
      INTO is_member
      FROM parley.conversations c WHERE c.id = message_list_plpgsql.conversation_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'conversation % does not exist', conversation_id USING ERRCODE = 'PR002';
    END IF;
    IF NOT is_member THEN
        RAISE EXCEPTION 'guest "%" is not a participant of conversation %', actor, conversation_id
            USING ERRCODE = 'PR010';
    END IF;

    SELECT count(*),
           coalesce(jsonb_agg(jsonb_build_object(
               'conversation_id', m.conversation_id, 'seq', m.seq, 'id', m.id,
               'sender_id', m.sender_id, 'body', m.body, 'metadata', m.metadata,
               'client_msg_id', m.client_msg_id,
               'created_at', to_char(m.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
               'edited_at', to_char(m.edited_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
               'deleted', m.deleted_at IS NOT NULL,
               -- 0.5.0 (API.md section 9): the columns the C function renders too
               'reactions', m.reactions, 'reply_to', m.reply_to, 'reply_count', m.reply_count,
               'attachments', m.attachments) ORDER BY m.seq) FILTER (WHERE m.rn <= page_limit), '[]')
      INTO n, msgs
      FROM (SELECT x.*, row_number() OVER (ORDER BY x.seq DESC) AS rn
              FROM parley.messages x
             WHERE x.conversation_id = message_list_plpgsql.conversation_id
             ORDER BY x.seq DESC LIMIT page_limit + 1) m;
    RETURN jsonb_build_object('messages', msgs, 'has_more', n > page_limit);
END
$$;
GRANT USAGE ON SCHEMA bench TO parley_gateway;
GRANT EXECUTE ON FUNCTION bench.message_list_plpgsql(uuid, text, int) TO parley_gateway;
GRANT EXECUTE ON FUNCTION bench.message_post_plpgsql(uuid, text, text, text, jsonb) TO parley_gateway;
