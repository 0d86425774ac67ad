#!/usr/bin/env bash
# make deb: the Debian packages postgresql-15-parley and parleyd, built with
# Debian's tooling (dpkg-buildpackage, debhelper, pg_buildext; debian/).
#
# The build runs on a copy of the checkout in dist/parley-VERSION (dist/ is
# gitignored), so that dpkg-buildpackage's "debian/rules clean" never
# touches this tree's own build; the .deb files land in dist/ (DEB_OUT to
# put them elsewhere).  Works as root on a fresh Debian 12: missing build
# dependencies are installed by test/install-deps.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

bash test/install-deps.sh

version=$(sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" extension/parley.control)
[ -n "$version" ] || { echo "make deb: no default_version in extension/parley.control" >&2; exit 1; }
out=${DEB_OUT:-$PWD/dist}
mkdir -p "$out"
out=$(cd "$out" && pwd)
src=$out/parley-$version
rm -rf "$src"
rm -f "$out"/*.deb "$out"/*.changes "$out"/*.buildinfo
mkdir -p "$src"

# The files a commit would hold, edits and new files included, build
# products not: git's view of the tree (a tarball without .git: everything
# but dist/).
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -z --cached --others --exclude-standard \
        | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
        | tar --null -T - -cf - | tar -C "$src" -xf -
else
    tar --exclude=./dist --exclude=./.run --exclude=./test/node/node_modules \
        --exclude=./clients/ts/generated -cf - . | tar -C "$src" -xf -
fi

echo "== dpkg-buildpackage in $src"
(cd "$src" && dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1 || {
    tail -60 "$out/build.log" >&2
    echo "make deb: dpkg-buildpackage failed; the whole log is $out/build.log" >&2
    exit 1
}
ls -1 "$out"/*.deb
