#!/usr/bin/env bash
# libFuzzer runs of parleyd's pure request path (HTTP framing through
# llhttp, routing, percent-decoding, query and body checks, problem
# bodies): no network, no database.
#
#   make fuzz                      every target for FUZZ_SECONDS (default 600) each
#   bash test/fuzz/run.sh --smoke  every target briefly (make test; <= 60 s in all)
#   FUZZ_TARGETS="fuzz_request" make fuzz   some targets only
#
# Built with clang -fsanitize=fuzzer,address,undefined from the same
# gateway/*.c files parleyd links.  New inputs that grow coverage are kept
# in a scratch corpus under the build dir; the seeds in
# test/fuzz/corpus/<target>/ are never written to.  A crash leaves its
# input in the build dir (crash-*), printed at the end, and fails the run.
set -euo pipefail
cd "$(dirname "$0")/../.."

smoke=0
[ "${1:-}" = --smoke ] && smoke=1
targets=${FUZZ_TARGETS:-"fuzz_http fuzz_request fuzz_json_check fuzz_percent_decode fuzz_problem"}
ntargets=$(wc -w <<<"$targets")
if [ $smoke = 1 ]; then
    seconds=${FUZZ_SMOKE_SECONDS:-$((40 / ntargets))}
else
    seconds=${FUZZ_SECONDS:-600}
fi
CLANG=${CLANG:-clang}
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
# The smoke builds and runs in a directory of its own (several make test
# runs may share the machine); long runs keep their corpus in FUZZ_OUT.
if [ $smoke = 1 ] && [ -z "${FUZZ_OUT:-}" ]; then
    out=$(mktemp -d /tmp/parley-fuzz-smoke.XXXXXX)
    trap 'rm -rf "$out"' EXIT
else
    out=${FUZZ_OUT:-/tmp/parley-fuzz}
fi
mkdir -p "$out"

pure="gateway/http/request.c gateway/http/routes.c gateway/http/json_check.c gateway/errors.c gateway/decimal.c"
flags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -fno-omit-frame-pointer -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror
       -Igateway -Itest/fuzz -I$($PG_CONFIG --includedir)"

# The tables generated from api/ (errcodes.h, the route rows).
make -s -C gateway generated PG_CONFIG="$PG_CONFIG"
# llhttp from Debian's node-llhttp (as gateway/Makefile builds it), with
# the sanitizers and coverage but its own warnings off.
LLHTTP_SRC=${LLHTTP_SRC:-/usr/share/llhttp}
LLHTTP_INCLUDE=${LLHTTP_INCLUDE:-/usr/share/include/llhttp}
llhttp_objs=
for f in api http llhttp; do
    $CLANG -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -w \
        -I"$LLHTTP_INCLUDE" -c -o "$out/llhttp_$f.o" "$LLHTTP_SRC/$f.c"
    llhttp_objs="$llhttp_objs $out/llhttp_$f.o"
done
flags="$flags -I$LLHTTP_INCLUDE"

failed=0
for t in $targets; do
    extra=
    [ "$t" = fuzz_http ] && extra="gateway/http/parse.c $llhttp_objs"
    # shellcheck disable=SC2086
    $CLANG $flags -o "$out/$t" "test/fuzz/$t.c" $pure $extra -lcjson -lm
    mkdir -p "$out/corpus-$t"
    log="$out/$t.log"
    echo "== $t: ${seconds}s"
    if ! (cd "$out" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
          UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
          "./$t" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 \
                 -rss_limit_mb=1024 -max_len=70000 \
                 "corpus-$t" "$OLDPWD/test/fuzz/corpus/$t") >"$log" 2>&1; then
        echo "FAIL $t (log: $log)"
        grep -E 'ERROR|invariant|runtime error|SUMMARY' "$log" | head -20 || true
        ls "$out"/crash-* "$out"/leak-* "$out"/timeout-* 2>/dev/null || true
        failed=1
        continue
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1)
    echo "   ok: ${execs:-?} executions, $cov, corpus $(ls "$out/corpus-$t" | wc -l) new inputs"
done
exit $failed
