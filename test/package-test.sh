#!/usr/bin/env bash
# The Debian packages, built and installed on this machine: make deb into a
# work directory, dpkg -i of both packages, systemd-analyze verify of the
# installed unit, then test/tap/040_packages.pl (as the postgres user) runs
# the installed extension and parleyd.  The root steps are here because
# the TAP suites run as the postgres user (PostgreSQL refuses root), who
# may not run dpkg.  make test runs it; by hand, as root:
#
#   bash test/package-test.sh
#
# The system PostgreSQL install is shared (make install writes the same
# paths): the packages are installed over whatever is there and never
# removed.  dpkg installs the packaged /etc/parley/parleyd.env even when the
# one there was edited (--force-confnew): this is a test machine.  Runs of
# several checkouts on one machine take turns (flock), so that one's smoke
# run never meets the files another has just installed.
set -euo pipefail
cd "$(dirname "$0")/.."
. test/lib.sh

if [ "$(id -u)" -ne 0 ]; then
    echo "package-test: skipped: dpkg -i needs root"
    exit 0
fi

exec 9>/tmp/parley-package-test.lock
if ! flock -w 3600 9; then
    echo "package-test: another package test held the lock for an hour" >&2
    exit 1
fi

work=$(mktemp -d /tmp/parley-pkg.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT

DEB_OUT=$work/deb bash test/make-deb.sh >/dev/null
echo "package-test: built $(cd "$work/deb" && echo *.deb)"
# dpkg cannot wait for its lock (an apt-get of install-deps.sh elsewhere):
# try again while the lock is the reason, for up to ten minutes.
deadline=$((SECONDS + 600))
until dpkg -i --force-confdef --force-confnew \
        "$work"/deb/postgresql-15-parley_*.deb "$work"/deb/parleyd_*.deb >"$work/dpkg.log" 2>&1; do
    if ! grep -q 'lock' "$work/dpkg.log" || [ $SECONDS -ge $deadline ]; then
        cat "$work/dpkg.log" >&2
        exit 1
    fi
    sleep 2
done

# The unit as systemd would load it (unknown keys, a bad ExecStart, bad
# sandboxing values are errors here).
if ! out=$(systemd-analyze verify /lib/systemd/system/parleyd.service 2>&1) || [ -n "$out" ]; then
    echo "package-test: systemd-analyze verify parleyd.service: ${out:-failed}" >&2
    exit 1
fi
echo "package-test: systemd-analyze verify parleyd.service: clean"

# systemd reads the env file as root; the test user gets a copy.
install -m 0644 -o postgres /etc/parley/parleyd.env "$work/parleyd.env"
stat -c '%a %U' /etc/parley/parleyd.env | grep -qx '640 root' \
    || { echo "package-test: /etc/parley/parleyd.env is not 0640 root" >&2; exit 1; }

PARLEY_PACKAGES=$work bash test/run-tap.sh "$work/tap" test/tap/040_packages.pl 9>&-
