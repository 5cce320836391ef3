# SIGTERM under load: record reads are answered only once their audit
# entries are committed, their connections parked meanwhile (server/later.c).
# With wrk's 64 connections reading, mamorid is stopped: it exits 0 within
# 10 s (no connection left parked when MHD stops; keep-alive clients are
# told to close), no read got anything but 200, every read answered is in
# the log, and the chain verifies. Runs in the sanitizer pass too.
. "$ROOT/tests/cli/lib.sh"
. "$ROOT/tests/cli/api_lib.sh"
. "$ROOT/tests/cli/load_lib.sh"
command -v wrk >/dev/null || die "wrk is not installed (tools/deps.sh)"

load_setup
seq0=$(audit_seq)
wrk -t2 -c64 -d6s --timeout 10s -H "$(auth "$TOK")" \
    "http://127.0.0.1:$PORT$RPATH" >"$T/wrk" 2>&1 &
WRK=$!
sleep 2
srv_stop # dies unless mamorid exits 0 within 10 s
SRV=
wait "$WRK" || true
cat "$T/wrk"
req=$(wrk_field "$T/wrk" requests)
non=$(wrk_field "$T/wrk" non2xx)
[ "$req" -gt 0 ] || die "wrk made no requests"
[ "$non" -eq 0 ] || die "$non answers other than 200 while draining"
got=$(audit_sql "$MAMORI_HOME/vault.db" \
    "SELECT count(*) FROM audit_v WHERE seq > $seq0 AND action = 'record.get'
     AND outcome = 'ok'")
echo "wrk counted $req answers; $got reads audited"
[ "$got" -ge "$req" ] || die "$req reads answered, only $got audited"
as aud1
ok audit verify
echo "t_api_drain: ok"
