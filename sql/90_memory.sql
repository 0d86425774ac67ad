-- Memory: 100,000 calls of message_post in one session keep the backend's
-- memory flat.  After a warm-up of 10,000 posts (plans saved, caches
-- filled) the total of pg_backend_memory_contexts may not grow by more than
-- 256 kB over 100,000 more: a leak of 3 bytes per call would show.  Along
-- the way: idempotent posts and replays, lists, read marks and rejected
-- posts, so their paths are measured too.  The procedure commits every
-- 1,000 posts: a gateway commits every request, and one transaction that
-- updates a row 100,000 times grows that transaction's combo-cid table,
-- which is freed at commit and is not the session's memory.
\set VERBOSITY terse
SELECT parley.guest_upsert('mem_ann', 'Ann') IS NOT NULL AS ann,
       parley.guest_upsert('mem_bob', 'Bob') IS NOT NULL AS bob,
       parley.guest_upsert('mem_out', 'Out') IS NOT NULL AS outsider;
CREATE TEMP TABLE mem_conv AS
    SELECT (parley.conversation_create('mem_ann', 'group', '{mem_bob}')->>'id')::uuid AS id;

CREATE PROCEDURE pg_temp.posts(first int, n int) LANGUAGE plpgsql AS $$
DECLARE
    cid uuid := (SELECT id FROM mem_conv);
    s bigint;
BEGIN
    FOR i IN first .. first + n - 1 LOOP
        s := (parley.message_post(cid, CASE WHEN i % 2 = 0 THEN 'mem_ann' ELSE 'mem_bob' END,
                                  'message ' || i, CASE WHEN i % 3 = 0 THEN 'key-' || i END,
                                  jsonb_build_object('i', i))->>'seq')::bigint;
        IF i % 30 = 0 THEN
            -- a replay of the post just made (i even: mem_ann's, with a key)
            IF (parley.message_post(cid, 'mem_ann', 'message ' || i, 'key-' || i)->>'seq')::bigint <> s THEN
                RAISE EXCEPTION 'replay of key-% answered another message', i;
            END IF;
        END IF;
        IF i % 10 = 0 THEN
            -- a page and a read mark
            PERFORM parley.message_list(cid, 'mem_bob', s, NULL, 20);
            PERFORM parley.read_mark(cid, 'mem_bob', s);
        END IF;
        IF i % 100 = 0 THEN
            BEGIN
                PERFORM parley.message_post(cid, 'mem_out', 'not a participant');
            EXCEPTION WHEN OTHERS THEN
                NULL;
            END;
        END IF;
        IF i % 1000 = 0 THEN
            COMMIT;
        END IF;
    END LOOP;
END
$$;

CALL pg_temp.posts(1, 10000);
SELECT sum(total_bytes) AS warm FROM pg_backend_memory_contexts \gset
CALL pg_temp.posts(10001, 100000);
SELECT sum(total_bytes) - :warm < 256 * 1024 AS memory_flat FROM pg_backend_memory_contexts;
-- every post made its message (the replays none), seq gapless
SELECT count(*) AS messages, max(seq) AS last_seq
  FROM parley.messages WHERE conversation_id = (SELECT id FROM mem_conv);
