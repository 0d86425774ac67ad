#!/usr/bin/env bash
# private-pg.sh DIR: a private copy of the system's PostgreSQL 15 install
# (binaries, libraries, share files, headers) under DIR, and print the path
# of its pg_config.  PostgreSQL is relocatable: the copy's pg_config,
# postgres and PGXS find their files beside themselves, so "make install
# PG_CONFIG=<that>" writes into the copy and never into /usr.
#
# make test builds and tests against such a copy, so that several checkouts
# (or a make test beside make run) never install different versions of the
# extension over each other.  By hand:
#
#   export PG_CONFIG=$(bash test/private-pg.sh /tmp/pg-mine)
#   make PG_CONFIG=$PG_CONFIG build install
#   bash test/run-tap.sh "" test/tap/007_events.pl
#
# The copy is made from whatever the system install holds (extensions from
# Debian packages such as plproxy and pg_cron included); a copy that exists
# already is refreshed.
set -euo pipefail
dir=${1:?usage: private-pg.sh DIR}
sys_config=${SYSTEM_PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
bindir=$("$sys_config" --bindir)
libroot=$(dirname "$bindir")               # /usr/lib/postgresql/15
shareroot=$("$sys_config" --sharedir)      # /usr/share/postgresql/15
incroot=$("$sys_config" --includedir)      # /usr/include/postgresql
mkdir -p "$dir$(dirname "$libroot")" "$dir$(dirname "$shareroot")" "$dir$(dirname "$incroot")"
# rsync-like refresh without rsync: copy over what is there.
cp -a "$libroot" "$dir$(dirname "$libroot")/"
cp -a "$shareroot" "$dir$(dirname "$shareroot")/"
cp -a "$incroot" "$dir$(dirname "$incroot")/"
chmod 755 "$dir"
# The postgres user runs clusters from the copy.
chmod -R a+rX "$dir"
config=$dir$bindir/pg_config
# Relocation must have worked: the copy's pg_config names the copy.
case $("$config" --pkglibdir) in
    "$dir"/*) ;;
    *) echo "private-pg: $config does not relocate" >&2; exit 1 ;;
esac
echo "$config"
