#!/usr/bin/env bash
# make soak: the long fault and load runs, against throwaway clusters.
#
#   test/tap/010_crash.pl   20 database crashes under posting load
#   test/tap/011_backend_kill.pl  40 rounds of killed backends
#   test/tap/014_soak.pl    PARLEY_SOAK_SECONDS (default 600) at half the
#                           maximum rate: RSS growth < 2 MB, no fd growth,
#                           no errors
#
# Figures are printed as TAP diagnostics (#).  SOAK_SECONDS=120 make soak
# for a shorter run.
set -euo pipefail
cd "$(dirname "$0")/.."
. test/lib.sh

bash test/install-deps.sh
make -s PG_CONFIG="$PG_CONFIG" build
make -s PG_CONFIG="$PG_CONFIG" install >/dev/null

work=$(mktemp -d /tmp/parley-soak.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/tap" "$work/src"
tar --exclude=./.git --exclude=./.run -cf - . | tar -C "$work/src" -xf -
chown -R postgres: "$work"

setpriv --reuid=postgres --regid=postgres --init-groups env HOME=/var/lib/postgresql PATH="$PGBIN:$PATH" TESTDIR="$work/tap" PARLEYD="$work/src/gateway/parleyd" \
    PARLEY_SRC="$work/src" PG_CONFIG="$PG_CONFIG" \
    PARLEY_CRASH_CYCLES="${CRASH_CYCLES:-20}" PARLEY_KILL_ROUNDS="${KILL_ROUNDS:-40}" \
    PARLEY_SOAK_SECONDS="${SOAK_SECONDS:-600}" \
    bash -c 'cd "$PARLEY_SRC" && prove -v --ext=.pl -I "$1" -I test/tap \
        test/tap/010_crash.pl test/tap/011_backend_kill.pl test/tap/014_soak.pl' _ \
        "$("$PG_CONFIG" --pgxs | sed 's|/src/makefiles/pgxs.mk||')/src/test/perl" \
    | grep -v '^ok ' 
