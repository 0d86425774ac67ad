# Shared shell helpers for parley's scripts: a throwaway PostgreSQL cluster
# run as the postgres user, stopped on every exit path.
# Source this file; it defines PGBIN and the cluster_* functions.

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
PGBIN=$("$PG_CONFIG" --bindir)

# Run a command as the postgres user when we are root (PostgreSQL refuses
# to run as root); as ourselves otherwise.
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# A free TCP port on loopback, below the kernel's range of ephemeral ports:
# a port in that range can be taken by any outgoing connection between this
# check and the server's bind ("Address already in use").
free_port() {
    local p low
    low=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
    [ "$low" -gt 12000 ] || low=32768
    for _ in $(seq 1 50); do
        p=$(( 10000 + RANDOM % (low - 10000) ))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    echo "no free port" >&2
    return 1
}

# cluster_start DIR: initdb in DIR/data, start on a private port with the
# socket in DIR; exports PGHOST, PGPORT, PGUSER, PGDATABASE.
cluster_start() {
    CLUSTER_DIR=$1
    mkdir -p "$CLUSTER_DIR"
    chown postgres: "$CLUSTER_DIR" 2>/dev/null || true
    PGPORT=$(free_port)
    as_pg "$PGBIN/initdb" -D "$CLUSTER_DIR/data" -U postgres -A trust -E UTF8 \
        --locale=C.UTF-8 >"$CLUSTER_DIR/initdb.log" 2>&1 \
        || { cat "$CLUSTER_DIR/initdb.log" >&2; return 1; }
    cat >>"$CLUSTER_DIR/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$CLUSTER_DIR'
fsync = off
max_connections = 200
shared_buffers = 256MB
wal_level = logical
max_replication_slots = 10
max_wal_senders = 10
max_prepared_transactions = 10
CONF
    as_pg "$PGBIN/pg_ctl" -D "$CLUSTER_DIR/data" -l "$CLUSTER_DIR/server.log" -w start >/dev/null \
        || { cat "$CLUSTER_DIR/server.log" >&2; return 1; }
    export PGHOST=$CLUSTER_DIR PGPORT PGUSER=postgres PGDATABASE=postgres
}

cluster_stop() {
    if [ -n "${CLUSTER_DIR:-}" ] && [ -f "$CLUSTER_DIR/data/postmaster.pid" ]; then
        as_pg "$PGBIN/pg_ctl" -D "$CLUSTER_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
}

# cluster_parley_setup MAX_CONNECTIONS KEY_NAME: on the running cluster_start
# cluster, raise max_connections (restart), install the extension, create
# the role parley_gateway with the gateway's grants, and print a new
# service key named KEY_NAME.  Used by the benchmarks.
cluster_parley_setup() {
    local sql=("$PGBIN/psql" -X -q -v ON_ERROR_STOP=1)
    "${sql[@]}" -c "ALTER SYSTEM SET max_connections = $1" \
        -c "ALTER SYSTEM SET log_min_messages = warning" >/dev/null
    as_pg "$PGBIN/pg_ctl" -D "$CLUSTER_DIR/data" -l "$CLUSTER_DIR/server.log" -w restart >/dev/null
    "${sql[@]}" -c "CREATE EXTENSION parley" -c "CREATE ROLE parley_gateway LOGIN" >/dev/null
    "${sql[@]}" -v role=parley_gateway -f "$(dirname "${BASH_SOURCE[0]}")/../extension/gateway-role.sql" >/dev/null
    "${sql[@]}" -Atc "SELECT parley.service_key_create('$2')"
}

# CPU time process PID has used so far (user + system), in microseconds.
proc_cpu_us() {
    awk -v hz="$(getconf CLK_TCK)" '{ printf "%.0f\n", ($14 + $15) * 1e6 / hz }' "/proc/$1/stat"
}

# CPU time of the cluster_start cluster so far, in microseconds: every
# server process alive now plus the postmaster's reaped children (backends
# that already exited, e.g. pgbench's).
cluster_cpu_us() {
    local pm
    pm=$(head -1 "$CLUSTER_DIR/data/postmaster.pid")
    { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$pm/stat"
      for c in $(cat "/proc/$pm/task/$pm/children"); do
          awk '{ print $14 + $15 }' "/proc/$c/stat" 2>/dev/null || true
      done
    } | awk -v hz="$(getconf CLK_TCK)" '{ t += $1 } END { printf "%.0f\n", t * 1e6 / hz }'
}

# Idle CPU time of the whole machine so far (all cores), in microseconds.
idle_us() {
    awk -v hz="$(getconf CLK_TCK)" '/^cpu / { printf "%.0f\n", ($5 + $6) * 1e6 / hz }' /proc/stat
}

# Descriptors for the benchmarks' thousands of connections (parleyd, wrk
# and sse_load inherit the limit).  65536, or the hard limit where that is
# lower; run.sh and events.sh (which run.sh starts) ask for the same, as a
# lower hard limit set by one would cap the other.
raise_nofile() {
    ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
}

