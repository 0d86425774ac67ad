-- The gateway's role, from the catalog rather than a list of tables: on
-- EVERY relation of schema parley (tables of later versions included) it
-- holds no privilege at all, and every attempt to read or write one is
-- refused (42501).  The functions it may execute are exactly the API.
\set VERBOSITY terse
CREATE ROLE regress_parley_gw2 LOGIN;
\set role regress_parley_gw2
-- (not echoed: this file checks the outcome, 40_security shows the script)
\set ECHO none
\i extension/gateway-role.sql
\set ECHO all

-- privileges per relation: none
SELECT c.relname, c.relkind, p.priv
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) AS p(priv)
 WHERE n.nspname = 'parley' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
   AND has_table_privilege('regress_parley_gw2', c.oid, p.priv)
UNION ALL
SELECT c.relname, c.relkind, p.priv
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 CROSS JOIN unnest(ARRAY['USAGE', 'SELECT', 'UPDATE']) AS p(priv)
 WHERE n.nspname = 'parley' AND c.relkind = 'S'
   AND has_sequence_privilege('regress_parley_gw2', c.oid, p.priv)
 ORDER BY 1, 3;
SELECT has_schema_privilege('regress_parley_gw2', 'parley', 'CREATE') AS can_create_in_parley;
SELECT count(*) > 0 AS parley_has_tables
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'parley' AND c.relkind = 'r';

-- the functions it may execute (by name: signatures may evolve)
SELECT DISTINCT p.proname AS executable
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'parley' AND has_function_privilege('regress_parley_gw2', p.oid, 'EXECUTE')
 ORDER BY 1;

-- and trying it on every table: read, insert, update, delete, truncate
CREATE FUNCTION pg_temp.attempt(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ALLOWED';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;
GRANT EXECUTE ON FUNCTION pg_temp.attempt(text) TO regress_parley_gw2;
SELECT string_agg(quote_ident(c.relname), ' ' ORDER BY c.relname) AS tables
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'parley' AND c.relkind = 'r' \gset
SET ROLE regress_parley_gw2;
SELECT t AS relation,
       pg_temp.attempt(format('SELECT * FROM parley.%I LIMIT 1', t)) AS read,
       pg_temp.attempt(format('INSERT INTO parley.%I DEFAULT VALUES', t)) AS insert,
       pg_temp.attempt(format('UPDATE parley.%I SET %I = %I', t, a.attname, a.attname)) AS update,
       pg_temp.attempt(format('DELETE FROM parley.%I', t)) AS delete,
       pg_temp.attempt(format('TRUNCATE parley.%I', t)) AS truncate
  FROM unnest(string_to_array(:'tables', ' ')) AS t
  JOIN LATERAL (SELECT attname FROM pg_attribute
                 WHERE attrelid = ('parley.' || t)::regclass AND attnum = 1) a ON true
 ORDER BY 1;
RESET ROLE;

REVOKE ALL ON SCHEMA parley FROM regress_parley_gw2;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA parley FROM regress_parley_gw2;
DROP FUNCTION pg_temp.attempt(text);
DROP ROLE regress_parley_gw2;
