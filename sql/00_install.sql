-- Installs the extension for the regression suite; later files build on it.
CREATE EXTENSION parley;
SELECT extversion FROM pg_extension WHERE extname = 'parley';
SELECT parley.version();
-- every table is dumped by pg_dump (pg_extension_config_dump)
SELECT c.relname
  FROM pg_extension e, unnest(e.extconfig) AS t(oid)
  JOIN pg_class c ON c.oid = t.oid
 WHERE e.extname = 'parley' ORDER BY 1;
-- no API function is STRICT (NULLs must raise, not return NULL), the ones
-- that touch data are SECURITY DEFINER with a pinned search_path
SELECT p.proname, p.proisstrict, p.prosecdef, p.proconfig
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'parley' ORDER BY 1;
-- PUBLIC may execute nothing
SELECT count(*) AS public_can_execute
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'parley' AND has_function_privilege('public', p.oid, 'EXECUTE');
