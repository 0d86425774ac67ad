-- Installs the extension for the regression suite; later files build on it.
CREATE EXTENSION parley;
SELECT extversion FROM pg_extension WHERE extname = 'parley';
SELECT parley.version();
-- every table is dumped by pg_dump (pg_extension_config_dump)
SELECT c.relname
  FROM pg_extension e, unnest(e.extconfig) AS t(oid)
  JOIN pg_class c ON c.oid = t.oid
 WHERE e.extname = 'parley' ORDER BY 1;
-- no API function is STRICT (a NULL raises or has a meaning, README), the ones
-- that touch data are SECURITY DEFINER with a pinned search_path
SELECT p.proname, p.proisstrict, p.prosecdef, p.proconfig
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'parley' ORDER BY 1;
-- PUBLIC may execute nothing
SELECT count(*) AS public_can_execute
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'parley' AND has_function_privilege('public', p.oid, 'EXECUTE');

-- Helpers for the files that follow, in schema regress (not parley's).
-- regress.err(q): 'ok', or the SQLSTATE, message and detail of the error q
-- raises, with generated ids masked so the output is stable.
CREATE SCHEMA regress;
CREATE FUNCTION regress.err(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    st text; msg text; det text;
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
    RETURN regexp_replace(st || ': ' || msg || CASE WHEN det <> '' THEN ' [' || det || ']' ELSE '' END,
                          '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<uuid>', 'g');
END
$$;
