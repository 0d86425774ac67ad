#!/usr/bin/env bash
# parleyd's CPU per request, this tree's parleyd against one built from an
# older commit, side by side in one run (the machine is shared and noisy:
# compare the ratio, not the absolute figures).  GET /v1/guests/{id} with a
# service key, wrk -t1 -c8 for DURATION seconds, ROUNDS alternating rounds;
# CPU is the gateway process's utime + stime from /proc.
#
#   BASE=c89f929 bash test/bench/http-cpu.sh      (c89f929: the last evhttp parleyd)
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh
BASE=${BASE:-c89f929}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
work=$(mktemp -d /tmp/parley-httpcpu.XXXXXX)
chmod 755 "$work"
trap 'cluster_stop; rm -rf "$work"' EXIT
make -s build >/dev/null
git clone -q . "$work/base" && git -C "$work/base" checkout -q "$BASE"
make -s -C "$work/base/gateway" PG_CONFIG="$PG_CONFIG" >/dev/null
cp gateway/parleyd "$work/parleyd-new"
cp "$work/base/gateway/parleyd" "$work/parleyd-base"
chmod -R a+rX "$work"
cluster_start "$work/pg" >/dev/null
key=$(cluster_parley_setup 100 bench)
"$PGBIN/psql" -X -q -c "SELECT parley.guest_upsert('alice', 'Alice', '{}')" >/dev/null

measure() {						# binary port label
	local port=$2 pid t0 t1 out n
	DATABASE_URL="host=$PGHOST port=$PGPORT user=parley_gateway dbname=postgres" \
		PARLEY_LISTEN=127.0.0.1:$port PARLEY_LOG_LEVEL=error PARLEY_POOL_SIZE=4 \
		PARLEY_ENV_FILE=/dev/null as_pg "$1" >/dev/null 2>&1 &
	for _ in $(seq 1 150); do
		curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
		sleep 0.2
	done
	pid=$(pgrep -n -f "^$1")
	t0=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
	out=$(wrk -t1 -c8 -d"${DURATION}s" -H "Authorization: Bearer $key" \
		"http://127.0.0.1:$port/v1/guests/alice" 2>&1)
	t1=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
	kill "$pid"
	wait 2>/dev/null || true
	n=$(awk '/requests in/ { print $1 }' <<<"$out")
	awk -v l="$3" -v n="$n" -v c="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { printf "%-6s requests=%d cpu_us_per_request=%.1f\n", l, n, c * 1e6 / hz / n }'
}
port=$(free_port)
for r in $(seq 1 "$ROUNDS"); do
	measure "$work/parleyd-base" "$port" base
	measure "$work/parleyd-new" "$port" new
done
