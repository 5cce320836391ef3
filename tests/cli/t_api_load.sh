# A bounded load test on loopback: wrk, 2 threads, 64 connections (a
# 10 s timeout: on a busy 2-CPU host an answer can take over wrk's
# default 2 s), for
# LOAD_SECONDS (default 60) on an authenticated record GET. No error, no
# non-2xx answer; every request audited (the log grows by exactly the
# requests the server answered, and by at least the ones wrk counted); the
# chain verifies afterwards; mamorid's RSS, sampled once a second, averages
# within 10% between the first and the last 10 s of that run. Before it, a
# warm-up under the same load lasts until RSS has moved less than 2% in
# each of two 10 s windows in a row (at most LOAD_WARMUP_MAX s, default
# 300): the writer's SQLite page cache (32 MiB, store_sqlite.c) first fills
# with the pages of the new audit entries (some 140,000 of them), a bounded
# growth that is not a leak (with a 2 MiB cache RSS is flat after 10 s).
# Skipped when
# MAMORI_SKIP_LOAD is set (the sanitizer pass of make check: ASan's
# shadow memory and quarantine make RSS and throughput meaningless there).
. "$ROOT/tests/cli/lib.sh"
if [ -n "${MAMORI_SKIP_LOAD:-}" ]; then
    echo "t_api_load: skipped (MAMORI_SKIP_LOAD)"
    exit 0
fi
. "$ROOT/tests/cli/api_lib.sh"
. "$ROOT/tests/cli/load_lib.sh"
command -v wrk >/dev/null || die "wrk is not installed (tools/deps.sh)"
secs=${LOAD_SECONDS:-60}
[ "$secs" -ge 20 ] || die "LOAD_SECONDS must be at least 20"

load_setup
# On plain HTTP (loopback only) the session cookie cannot be Secure, so it
# is the unprefixed one; the __Host- name (HTTPS's) is not a session here.
api GET "$RPATH" -H "Cookie: mamori_session=$TOK"
want 200
api GET "$RPATH" -H "Cookie: __Host-mamori_session=$TOK"
want_err 401 session
ROUTE='method="GET",route="/api/v1/datasets/{ds}/records/{id}"'
served() { # record GETs the server answered with 200, from /metrics
    api GET /metrics
    want 200
    awk -v k="mamorid_requests_total{$ROUTE,status=\"200\"}" \
        'index($0, k " ") == 1 { print $NF; f = 1 } END { if (!f) print 0 }' \
        "$T/body"
}
settled() { # served, once it has stood still for half a second
    local s n
    s=$(served)
    for _ in $(seq 30); do
        sleep 0.5
        n=$(served)
        [ "$n" -ne "$s" ] || break
        s=$n
    done
    echo "$s"
}
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$SRV/status"; }
wrk_run() { # wrk_run SECONDS OUT
    wrk -t2 -c64 -d"$1s" --timeout 10s --latency -H "$(auth "$TOK")" \
        "http://127.0.0.1:$PORT$RPATH" >"$2" 2>&1 || die "wrk: $(cat "$2")"
    [ "$(wrk_field "$2" non2xx)" -eq 0 ] && [ "$(wrk_field "$2" errors)" -eq 0 ] ||
        die "errors in the warm-up: $(cat "$2")"
}
warm=0 steady=0 r0=$(rss)
while [ "$warm" -lt "${LOAD_WARMUP_MAX:-300}" ] && [ "$steady" -lt 2 ]; do
    wrk_run 10 "$T/warm"
    warm=$((warm + 10))
    r1=$(rss)
    echo "warm-up ${warm}s: RSS $r0 -> $r1 KiB, $(wrk_field "$T/warm" rps) req/s"
    if awk -v a="$r0" -v b="$r1" 'BEGIN { d = b - a; if (d < 0) d = -d;
                                          exit !(d < a * 0.02) }'; then
        steady=$((steady + 1))
    else
        steady=0
    fi
    r0=$r1
done

# (the warm-up's last requests, up to one per connection, may still be in
# the server: they count before the run, not in it)
s0=$(settled)
a0=$(audit_rows)
seq0=$(audit_seq)

# RSS once a second while wrk runs
(
    while kill -0 "$SRV" 2>/dev/null; do
        awk '/^VmRSS:/ { print $2 }' "/proc/$SRV/status" 2>/dev/null || true
        sleep 1
    done
) >"$T/rss" &
SAMPLER=$!
wrk -t2 -c64 -d"${secs}s" --timeout 10s --latency -H "$(auth "$TOK")" \
    "http://127.0.0.1:$PORT$RPATH" >"$T/wrk" 2>&1 || die "wrk: $(cat "$T/wrk")"
kill "$SAMPLER" 2>/dev/null || true
wait "$SAMPLER" 2>/dev/null || true
cat "$T/wrk"

req=$(wrk_field "$T/wrk" requests)
non=$(wrk_field "$T/wrk" non2xx)
err=$(wrk_field "$T/wrk" errors)
[ "$req" -gt 0 ] || die "wrk made no requests"
[ "$non" -eq 0 ] || die "$non non-2xx answers"
[ "$err" -eq 0 ] || die "$err socket errors"

# Every request audited: the log grew by exactly what the server answered
# (wrk does not count the answers still in flight when it stopped, at most
# one per connection).
# (the requests in flight when wrk stopped finish first)
s1=$(settled)
a1=$(audit_rows)
answered=$((s1 - s0))
grew=$((a1 - a0))
echo "wrk requests $req, answered by mamorid $answered, audit entries +$grew"
[ "$grew" -eq "$answered" ] || {
    audit_actions "$seq0"
    die "audit grew by $grew for $answered requests answered"
}
[ "$answered" -ge "$req" ] && [ "$answered" -le $((req + 64)) ] ||
    die "wrk counted $req requests, mamorid answered $answered"

# The chain verifies afterwards
api_login aud1 "$AUD_PW"
api GET /api/v1/audit/verify -H "$(auth "$TOK")"
want 200
[ "$(jq -r .ok <<<"$BODY")" = true ] || die "verify after the load: $BODY"

# RSS: the last 10 s against the first 10 s
n=$(wc -l <"$T/rss")
[ "$n" -ge 20 ] || die "only $n RSS samples"
first=$(head -n 10 "$T/rss" | awk '{ s += $1 } END { printf "%d", s / NR }')
last=$(tail -n 10 "$T/rss" | awk '{ s += $1 } END { printf "%d", s / NR }')
tr "\n" " " <"$T/rss"; echo
echo "RSS first 10 s $first KiB, last 10 s $last KiB ($n samples)"
awk -v a="$first" -v b="$last" 'BEGIN { d = b - a; if (d < 0) d = -d;
    exit !(d <= a * 0.10) }' || die "RSS moved more than 10%: $first -> $last KiB"
srv_stop
echo "t_api_load: ok"
