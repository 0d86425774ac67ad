#!/usr/bin/env bash
# The API table (api/api.txt) and the extension agree: every function of
# schema parley in a fresh install, with its argument names and types and
# its result, is a function of the table, and the other way round.  Run by
# make test against its cluster (or one of its own, like make-docs.sh).
# Procedures (retention_run) are the DBA's, called with CALL and never by a
# gateway or a proxy: docs/operations.md describes them, not the table.
set -euo pipefail
cd "$(dirname "$0")/.."
. test/lib.sh

if [ -z "${PGHOST:-}" ] || ! "$PGBIN/pg_isready" -q 2>/dev/null; then
    work=$(mktemp -d /tmp/parley-apicat.XXXXXX)
    chmod 755 "$work"
    trap 'cluster_stop; rm -rf "$work"' EXIT
    cluster_start "$work/pg"
fi

db=parley_apicat_$$
"$PGBIN/createdb" "$db"
out=$(mktemp)
trap_db() { "$PGBIN/dropdb" --if-exists "$db" >/dev/null 2>&1 || true; rm -f "$out"; }
"$PGBIN/psql" -XAtq -v ON_ERROR_STOP=1 -d "$db" >"$out" <<'SQL'
CREATE EXTENSION parley;
SELECT p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ') -> '
       || pg_catalog.pg_get_function_result(p.oid)
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'parley' AND p.prokind <> 'p'
 ORDER BY 1;
SQL
if ! diff -u <(perl api/gen-api.pl --catalog | LC_ALL=C sort) <(LC_ALL=C sort "$out"); then
    echo "api/api.txt and the extension's functions differ (- the table, + the catalog)" >&2
    trap_db
    exit 1
fi
trap_db
echo "api/api.txt names every function of the extension"
