#!/usr/bin/env bash
# make run: parleyd in the foreground, for trying the API by hand.
#
# With DATABASE_URL set, parleyd uses that database as it is (the extension
# must be installed there and the URL's role must have the gateway grants).
# Without it, a PostgreSQL of our own lives in .run/pg (as the postgres
# user, on a private port, reused by later runs): the extension is
# installed, a role parley_gateway gets EXECUTE on the API and nothing else,
# a dev service key is created, and parleyd connects as parley_gateway.
# Ctrl-C stops parleyd (it drains and exits) and the local PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
. test/lib.sh

listen=${PARLEY_LISTEN:-127.0.0.1:8080}
export PARLEY_LISTEN=$listen
# parleyd creates or updates the extension at start when its role may
# (docs/operations.md, "Upgrading"); set PARLEY_MIGRATE=0 to refuse instead.
export PARLEY_MIGRATE=${PARLEY_MIGRATE:-1}
# The demo chat page at /demo/ and its token endpoint (docs/gateway.md, "The
# demo page"): a development aid that make run turns on, never production.
# Guest tokens need a secret: a fresh random one per run unless set.
export PARLEY_DEMO=${PARLEY_DEMO:-1}
export PARLEY_DEMO_DIR=${PARLEY_DEMO_DIR:-$PWD/demo}
export PARLEY_JWT_SECRET=${PARLEY_JWT_SECRET:-$(head -c 32 /dev/urandom | base64)}

echo "== build"
make -s PG_CONFIG="$PG_CONFIG" >/dev/null
parleyd=$PWD/gateway/parleyd

if [ -n "${DATABASE_URL:-}" ]; then
    echo "== parleyd on DATABASE_URL (create a key there with: SELECT parley.service_key_create('name'))"
    echo "   http://$listen"
    [ "$PARLEY_DEMO" = 1 ] && echo "   demo chat page: http://$listen/demo/ (open it in two tabs)"
    exec "$parleyd"
fi

if [ "$(id -u)" -eq 0 ]; then
    make -s PG_CONFIG="$PG_CONFIG" install >/dev/null
elif ! make -s PG_CONFIG="$PG_CONFIG" install >/dev/null 2>&1; then
    echo "run-local: cannot install the extension (run as root, or run 'make install' first)" >&2
fi

# The cluster must be reachable by the postgres user; a checkout under a
# private home directory is not, so fall back to a directory under /tmp.
run_dir=$PWD/.run
mkdir -p "$run_dir"
if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$run_dir" 2>/dev/null; then
    run_dir=${TMPDIR:-/tmp}/parley-run
    mkdir -p "$run_dir"
fi
pg_dir=$run_dir/pg

if [ -f "$pg_dir/data/PG_VERSION" ]; then
    echo "== reusing the local PostgreSQL in $pg_dir"
    CLUSTER_DIR=$pg_dir
    PGPORT=$(sed -n 's/^port = \([0-9]*\)$/\1/p' "$pg_dir/data/postgresql.conf" | tail -1)
    if ! as_pg "$PGBIN/pg_ctl" -D "$pg_dir/data" status >/dev/null 2>&1; then
        as_pg "$PGBIN/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w start >/dev/null \
            || { tail -20 "$pg_dir/server.log" >&2; exit 1; }
    fi
    export PGHOST=$pg_dir PGPORT PGUSER=postgres PGDATABASE=postgres
else
    echo "== starting a local PostgreSQL in $pg_dir"
    cluster_start "$pg_dir"
fi
trap cluster_stop EXIT

psql_su() { as_pg "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PGHOST" -p "$PGPORT" -U postgres "$@"; }

if [ -z "$(psql_su -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = 'parley'")" ]; then
    psql_su -d postgres -c "CREATE DATABASE parley"
fi
psql_su -d parley -c "CREATE EXTENSION IF NOT EXISTS parley"
# A cluster kept from an older checkout: update it (the grants below name
# the newest functions).  parleyd's own PARLEY_MIGRATE then finds it current.
psql_su -d parley -c "ALTER EXTENSION parley UPDATE"
psql_su -d parley -c "DO \$\$BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'parley_gateway') THEN
        CREATE ROLE parley_gateway LOGIN;
    END IF; END\$\$"
psql_su -d parley -v role=parley_gateway -f - < extension/gateway-role.sql
key=$(psql_su -d parley -Atc "SELECT parley.service_key_create('dev-$(date +%Y%m%d%H%M%S)')")

export DATABASE_URL="postgresql://parley_gateway@/parley?host=$PGHOST&port=$PGPORT"
cat <<INFO

  database   $DATABASE_URL
  parleyd    http://$listen
  dev key    $key
  demo page  http://$listen/demo/   (PARLEY_DEMO=$PARLEY_DEMO: sign in as two guests in two tabs)

  try:
    curl -s -X PUT http://$listen/v1/guests/alice \\
         -H 'Authorization: Bearer $key' \\
         -H 'Content-Type: application/json' \\
         -d '{"display_name": "Alice"}'

  Ctrl-C stops parleyd and the local PostgreSQL (its data stays in $pg_dir).

INFO
# Not exec: the EXIT trap stops the cluster once parleyd has drained.
"$parleyd" || true
