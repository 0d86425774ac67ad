#!/usr/bin/env bash
# make docs: regenerate docs/schema.md from the catalog of a fresh install.
# With --check, compare instead and fail when the committed file is stale.
set -euo pipefail
cd "$(dirname "$0")/.."
. test/lib.sh

check=0
[ "${1:-}" = "--check" ] && check=1

if [ -z "${PGHOST:-}" ] || ! "$PGBIN/pg_isready" -q 2>/dev/null; then
    make -s PG_CONFIG="$PG_CONFIG" install >/dev/null
    work=$(mktemp -d /tmp/parley-docs.XXXXXX)
    chmod 755 "$work"
    trap 'cluster_stop; rm -rf "$work"' EXIT
    cluster_start "$work/pg"
fi

db=parley_docs_$$
"$PGBIN/createdb" "$db"
trap_db() { "$PGBIN/dropdb" --if-exists "$db" >/dev/null 2>&1 || true; }
psql_docs() { "$PGBIN/psql" -XAtq -v ON_ERROR_STOP=1 -d "$db" "$@"; }
psql_docs -c 'CREATE EXTENSION parley'
out=$(mktemp)
psql_docs -f test/schema-docs.sql >"$out"
trap_db

if [ $check = 1 ]; then
    if ! diff -u docs/schema.md "$out"; then
        echo "docs/schema.md is stale: run 'make docs' and commit it" >&2
        rm -f "$out"
        exit 1
    fi
    rm -f "$out"
    echo "docs/schema.md is current"
else
    mv "$out" docs/schema.md
    chmod 644 docs/schema.md
    echo "wrote docs/schema.md"
fi
