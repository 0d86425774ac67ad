-- Every table, view, column and function of parley carries a COMMENT
-- (docs/schema.md is generated from them by `make docs`).
SELECT 'table ' || c.relname AS missing_comment
  FROM pg_class c
 WHERE c.relnamespace = 'parley'::regnamespace AND c.relkind IN ('r', 'v', 'p')
   AND obj_description(c.oid, 'pg_class') IS NULL
UNION ALL
SELECT 'column ' || c.relname || '.' || a.attname
  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
 WHERE c.relnamespace = 'parley'::regnamespace AND c.relkind IN ('r', 'v', 'p')
   AND a.attnum > 0 AND NOT a.attisdropped
   AND col_description(c.oid, a.attnum) IS NULL
UNION ALL
SELECT 'function ' || p.oid::regprocedure::text
  FROM pg_proc p
 WHERE p.pronamespace = 'parley'::regnamespace
   AND obj_description(p.oid, 'pg_proc') IS NULL
ORDER BY 1;
