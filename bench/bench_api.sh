#!/bin/bash
# bench_api.sh BUILD - the authenticated record GET of mamorid
# (GET /api/v1/datasets/{ds}/records/{id}: session, grant, decryption and an
# audit entry committed before the answer) against nginx serving the same
# JSON as a static file, both on plain HTTP on loopback, in the same run:
# wrk -t2 -c64 -d${BENCH_API_SECONDS:-30}s --latency on each. Prints each
# requests/s, the ratio (goal: mamorid/nginx >= 0.7) and each p99; then
# the record GET on half the connections while the other half ask for a
# record that is not there. Beside them, the floor (bench/mhd_floor.c):
# libmicrohttpd as mamorid runs it, parking each answer until its batch's
# page is on disk (fdatasync), with the same body and headers and no other
# work.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
case "$build" in /*) ;; *) build="$root/$build" ;; esac
secs=${BENCH_API_SECONDS:-30}
for tool in wrk nginx curl jq oathtool sqlite3; do
    command -v "$tool" >/dev/null ||
        { echo "bench_api: $tool is not installed (tools/deps.sh)" >&2; exit 1; }
done
T=$(mktemp -d "${TMPDIR:-/tmp}/mamori-bench-api.XXXXXX")
export T ROOT="$root" MAMORI="$build/mamori"
cd "$T"
# The test helpers make the vault and the session (as the API tests do).
. "$root/tests/cli/lib.sh"
. "$root/tests/cli/api_lib.sh"
. "$root/tests/cli/load_lib.sh"
NGINX_PID= FLOOR_PID=
cleanup() {
    if [ -n "$SRV" ]; then kill -9 "$SRV" 2>/dev/null || true; fi
    if [ -n "$FLOOR_PID" ]; then kill "$FLOOR_PID" 2>/dev/null || true; fi
    if [ -n "$NGINX_PID" ]; then kill "$NGINX_PID" 2>/dev/null || true; fi
    rm -rf "$T"
}
trap cleanup EXIT

echo "== mamorid: a vault with one record, op1's session"
# No access log on either side (nginx: access_log off below); mamorid still
# commits an audit entry for every request.
load_setup --access-log off \
    ${BENCH_API_THREADS:+--threads "$BENCH_API_THREADS"} >/dev/null
mkdir -p "$T/www" "$T/nginx"
cp "$T/record.json" "$T/www/record.json"
chmod 755 "$T" "$T/www"
chmod 644 "$T/www/record.json"

# peer_start NAME PATH START: runs START PORT in the background on a free
# port (not mamorid's, nor an earlier peer's) until PATH answers there, and
# checks that it serves the record's bytes; sets PEER_PORT and PEER_PID.
peer_start() {
    local name=$1 path=$2 start=$3 port pid
    for _ in 1 2 3 4 5 6 7 8; do
        port=$((20000 + RANDOM % 30000))
        case " $PORT $NPORT " in *" $port "*) continue ;; esac
        "$start" "$port" &
        pid=$!
        for _ in $(seq 100); do
            if curl -sf -o /dev/null "http://127.0.0.1:$port$path"; then
                PEER_PORT=$port PEER_PID=$pid
                cmp -s "$T/record.json" <(curl -sf "http://127.0.0.1:$port$path") ||
                    { echo "bench_api: $name serves another body" >&2; kill "$pid"; exit 1; }
                return 0
            fi
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    echo "bench_api: $name did not start" >&2
    exit 1
}

# nginx: a private configuration (not the system one), one worker per CPU
# as it is usually run, no access log; the same JSON as a static file.
nginx_on() {
    cat >"$T/nginx/nginx.conf" <<CONF
worker_processes auto;
daemon off;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $T/nginx/body;
    proxy_temp_path $T/nginx/proxy;
    fastcgi_temp_path $T/nginx/fastcgi;
    uwsgi_temp_path $T/nginx/uwsgi;
    scgi_temp_path $T/nginx/scgi;
    server {
        listen 127.0.0.1:$1;
        root $T/www;
        location / { default_type application/json; }
    }
}
CONF
    exec nginx -p "$T/nginx" -c "$T/nginx/nginx.conf" -e "$T/nginx/error.log"
}
floor_on() {
    exec "$build/mhd-floor" "$1" "$T/record.json" "$T/floor.log" >/dev/null
}
NPORT=
peer_start nginx /record.json nginx_on
NPORT=$PEER_PORT NGINX_PID=$PEER_PID
peer_start mhd-floor / floor_on
FPORT=$PEER_PORT FLOOR_PID=$PEER_PID

run_wrk() { # run_wrk NAME URL [HEADER]
    local name=$1 url=$2
    shift 2
    echo "== $name: wrk -t2 -c64 -d${secs}s --latency"
    wrk -t2 -c64 -d"${secs}s" --latency "$@" "$url" >"$T/wrk-$name"
    sed -n '/Latency Distribution/,$p' "$T/wrk-$name"
    [ "$(wrk_field "$T/wrk-$name" non2xx)" -eq 0 ] &&
        [ "$(wrk_field "$T/wrk-$name" errors)" -eq 0 ] ||
        { echo "bench_api: $name had errors" >&2; cat "$T/wrk-$name" >&2; exit 1; }
}
# read_commits: the group commits of reads' audit entries so far (/metrics)
read_commits() {
    curl -sf "http://127.0.0.1:$PORT/metrics" |
        awk '$1 == "mamorid_audit_read_commits_total" { print $2 }'
}
a0=$(audit_rows) c0=$(read_commits)
run_wrk mamorid "http://127.0.0.1:$PORT$RPATH" -H "$(auth "$TOK")"
a1=$(audit_rows) c1=$(read_commits)
run_wrk nginx "http://127.0.0.1:$NPORT/record.json"
run_wrk floor "http://127.0.0.1:$FPORT/"

m_rps=$(wrk_field "$T/wrk-mamorid" rps)
n_rps=$(wrk_field "$T/wrk-nginx" rps)
f_rps=$(wrk_field "$T/wrk-floor" rps)
echo
echo "== results (authenticated record GET vs static file, loopback, wrk -t2 -c64 -d${secs}s)"
printf 'mamorid %10.0f req/s  p99 %8.2f ms  (%d audit entries written in %d commits)\n' \
    "$m_rps" "$(wrk_field "$T/wrk-mamorid" p99_ms)" "$((a1 - a0))" "$((c1 - c0))"
printf 'nginx   %10.0f req/s  p99 %8.2f ms\n' \
    "$n_rps" "$(wrk_field "$T/wrk-nginx" p99_ms)"
printf 'floor   %10.0f req/s  p99 %8.2f ms  (libmicrohttpd, answers parked for a synced page, no work)\n' \
    "$f_rps" "$(wrk_field "$T/wrk-floor" p99_ms)"
printf 'mamorid/nginx = %s (goal >= 0.7)   floor/nginx = %s   mamorid/floor = %s\n' \
    "$(echo "scale=3; $m_rps / $n_rps" | bc -l)" \
    "$(echo "scale=3; $f_rps / $n_rps" | bc -l)" \
    "$(echo "scale=3; $m_rps / $f_rps" | bc -l)"
# What each request of mamorid costs beyond the floor's, in microseconds
# of the run's wall clock (both cores, wrk's share included).
printf 'per request: nginx %.1f us, floor %.1f us, mamorid %.1f us (mamorid beyond the floor: %.1f us)\n' \
    "$(echo "1000000 / $n_rps" | bc -l)" "$(echo "1000000 / $f_rps" | bc -l)" \
    "$(echo "1000000 / $m_rps" | bc -l)" "$(echo "1000000 / $m_rps - 1000000 / $f_rps" | bc -l)"
printf 'the goal 0.7 leaves %.1f us per request, %.1f us beyond the floor for the work\n' \
    "$(echo "1000000 / (0.7 * $n_rps)" | bc -l)" \
    "$(echo "1000000 / (0.7 * $n_rps) - 1000000 / $f_rps" | bc -l)"

# Reads of a record that is not there are audited too, in the same group
# commits as the others: half the connections asking for one must not hold
# the other half back. Shown against the record GET alone above; no goal.
MISS="${RPATH%/*}/00000000-0000-4000-8000-000000000000"
echo
echo "== mamorid: wrk -t1 -c32 on the record and wrk -t1 -c32 on a missing one, at once"
wrk -t1 -c32 -d"${secs}s" --latency -H "$(auth "$TOK")" \
    "http://127.0.0.1:$PORT$MISS" >"$T/wrk-miss" &
wpid=$!
wrk -t1 -c32 -d"${secs}s" --latency -H "$(auth "$TOK")" \
    "http://127.0.0.1:$PORT$RPATH" >"$T/wrk-mixed"
wait "$wpid"
[ "$(wrk_field "$T/wrk-mixed" errors)" -eq 0 ] &&
    [ "$(wrk_field "$T/wrk-mixed" non2xx)" -eq 0 ] &&
    [ "$(wrk_field "$T/wrk-miss" errors)" -eq 0 ] ||
    { echo "bench_api: the mixed run had errors" >&2; cat "$T/wrk-mixed" "$T/wrk-miss" >&2; exit 1; }
x_rps=$(wrk_field "$T/wrk-mixed" rps)
printf 'record  %10.0f req/s  p99 %8.2f ms  (%s of the record GET alone)\n' \
    "$x_rps" "$(wrk_field "$T/wrk-mixed" p99_ms)" "$(echo "scale=2; $x_rps / $m_rps" | bc -l)"
printf 'missing %10.0f req/s  p99 %8.2f ms  (404, each audited)\n' \
    "$(wrk_field "$T/wrk-miss" rps)" "$(wrk_field "$T/wrk-miss" p99_ms)"
srv_stop
