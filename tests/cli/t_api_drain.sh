# SIGTERM under load: record reads are answered only once their audit
# entries are committed, their connections parked meanwhile (server/later.c);
# searches are handled on the pool (server/pool.c; 3 threads here), their
# connections suspended meanwhile. With wrk's 64 connections reading and 16
# searching, mamorid is stopped: it exits 0 within 10 s (no connection left
# parked or suspended when MHD stops; keep-alive clients are told to
# close), no read or search got anything but 200, every one answered is in
# the log, and the chain verifies. Runs in the sanitizer pass too.
. "$ROOT/tests/cli/lib.sh"
. "$ROOT/tests/cli/api_lib.sh"
. "$ROOT/tests/cli/load_lib.sh"
command -v wrk >/dev/null || die "wrk is not installed (tools/deps.sh)"

# Three pool threads for sixteen searching connections: some searches wait
# in the pool's queue when the drain begins.
load_setup --threads 3
pool=$(grep -cx mamorid-work /proc/"$SRV"/task/*/comm | awk -F: '{ n += $NF } END { print n }')
[ "$pool" -eq 3 ] || die "$pool pool threads, not the 3 asked for"
seq0=$(audit_seq)
SPATH="/api/v1/datasets/people/records?phone=09011112222"
api GET "$SPATH" -H "$(auth "$TOK")"
want 200
jq -e 'length == 1' "$T/body" >/dev/null || die "the search found $(cat "$T/body")"
wrk -t2 -c64 -d6s --timeout 10s -H "$(auth "$TOK")" \
    "http://127.0.0.1:$PORT$RPATH" >"$T/wrk" 2>&1 &
WRK=$!
wrk -t1 -c16 -d6s --timeout 10s -H "$(auth "$TOK")" \
    "http://127.0.0.1:$PORT$SPATH" >"$T/wrk-search" 2>&1 &
WRK2=$!
sleep 2
srv_stop # dies unless mamorid exits 0 within 10 s
SRV=
wait "$WRK" || true
wait "$WRK2" || true
cat "$T/wrk" "$T/wrk-search"
# answered WRK-OUTPUT ACTION: wrk made requests, all answered 200, and
# each one is in the log as ACTION ok.
answered() {
    local req non got
    req=$(wrk_field "$1" requests)
    non=$(wrk_field "$1" non2xx)
    [ "$req" -gt 0 ] || die "wrk made no $2 requests"
    [ "$non" -eq 0 ] || die "$non $2 answers other than 200 while draining"
    got=$(audit_sql "$MAMORI_HOME/vault.db" \
        "SELECT count(*) FROM audit_v WHERE seq > $seq0 AND action = '$2'
         AND outcome = 'ok'")
    echo "wrk counted $req $2 answers; $got audited"
    [ "$got" -ge "$req" ] || die "$req $2 answered, only $got audited"
}
answered "$T/wrk" record.get
answered "$T/wrk-search" record.search
as aud1
ok audit verify
echo "t_api_drain: ok"
