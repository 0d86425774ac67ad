-- The proxy wrapper's parts in CPU time (test/bench/proxy.sh, docs/scaling.md
-- "The proxy's cost"): wrappers shaped like the generated ones around a local
-- stand-in for the PL/Proxy remote function, each called N times; the
-- backend's own CPU time (user + system, /proc/PID/stat) before and after,
-- so the machine's other load does not enter.  Superuser (pg_read_file).
--   w020    the wrapper as released in parley_proxy 0.2.0
--   w060    0.6.0: relay() inlined, exception block kept
--   wnoexc  0.2.0 without the exception block (no subtransaction)
--   wnoset  and without SECURITY DEFINER / SET search_path
--   remote  the stand-in alone
--   bare    a LANGUAGE sql wrapper (planned at every call here)
CREATE TYPE answer AS (answer jsonb, http_status integer);
CREATE FUNCTION remote(a text) RETURNS public.answer LANGUAGE sql VOLATILE AS $$ SELECT ROW('{"x":1}'::jsonb, 201)::public.answer $$;
CREATE FUNCTION relay(a answer) RETURNS jsonb LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_catalog.set_config('parley_proxy.last_status', coalesce(a.http_status::text, ''), false);
    RETURN a.answer;
END $$;
CREATE FUNCTION unreach(m text) RETURNS void LANGUAGE plpgsql AS $$ BEGIN END $$;
-- 0.2.0
CREATE FUNCTION w020(a text) RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN public.relay(public.remote($1));
EXCEPTION WHEN internal_error THEN
    PERFORM public.unreach(SQLERRM);
    RAISE;
END $$;
-- 0.6.0
CREATE FUNCTION w060(a text) RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r public.answer;
BEGIN
    r := public.remote($1);
    PERFORM pg_catalog.set_config('parley_proxy.last_status', coalesce(r.http_status::text, ''), false);
    RETURN r.answer;
EXCEPTION WHEN internal_error THEN
    PERFORM public.unreach(SQLERRM);
    RAISE;
END $$;
CREATE FUNCTION wnoexc(a text) RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN public.relay(public.remote($1));
END $$;
CREATE FUNCTION wnoset(a text) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
    RETURN public.relay(public.remote($1));
END $$;
CREATE FUNCTION bare(a text) RETURNS jsonb LANGUAGE sql AS $$ SELECT (public.remote($1)).answer $$;
CREATE TABLE t(v text, us float8);
-- this backend's CPU time (user + system) in seconds, from /proc
CREATE FUNCTION cpu() RETURNS float8 LANGUAGE sql AS $$
  SELECT (f[12]::float8 + f[13]::float8) / 100
    FROM (SELECT string_to_array(split_part(pg_read_file('/proc/' || pg_backend_pid() || '/stat'), ') ', 2), ' ') AS f) s $$;
CREATE PROCEDURE run(n int) LANGUAGE plpgsql AS $$
DECLARE t0 float8; v text; j text;
BEGIN
  FOREACH v IN ARRAY ARRAY['remote','bare','wnoset','wnoexc','w060','w020'] LOOP
    t0 := cpu();
    FOR i IN 1..n LOOP
      EXECUTE format('SELECT %s(''x'')::text', v) INTO j;
    END LOOP;
    INSERT INTO t VALUES (v, (cpu() - t0) * 1e6 / n);
  END LOOP;
END $$;
