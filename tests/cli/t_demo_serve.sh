# `make run` (tools/demo.sh BUILD --serve): after the tour, mamorid serves
# the demo vault over TLS with a self-signed certificate for localhost; the
# URL and the demo logins (with the oathtool command for the one-time code)
# are printed; /healthz and a vault call answer over TLS; SIGTERM stops the
# script and the server cleanly. The demo lives in $T (MAMORI_DEMO_DIR).
. "$ROOT/tests/cli/lib.sh"
export MAMORI_DEMO_DIR="$T/demo" MAMORI_DEMO_PORT=$((20000 + RANDOM % 30000))
[ "$(id -u)" -ne 0 ] || chmod 711 "$T"
# as `make run` does: the real clock, no test hooks
unset MAMORI_HOME MAMORI_SESSION_FILE MAMORI_KEY_FILE MAMORI_TEST_HOOKS MAMORI_TEST_NOW
"$ROOT/tools/demo.sh" "$BUILD" --serve >"$T/demo.out" 2>"$T/demo.err" &
DEMO=$!
trap 'kill -TERM "$DEMO" 2>/dev/null || true' EXIT
for _ in $(seq 1200); do
    grep -q "Press Ctrl-C to stop" "$T/demo.out" && break
    kill -0 "$DEMO" 2>/dev/null || die "demo ended: $(tail -20 "$T/demo.err")"
    sleep 0.1
done
grep -q "Press Ctrl-C to stop" "$T/demo.out" || die "demo did not start"
url=$(sed -n 's|^mamorid is serving the demo vault at  \(https://[^ ]*\)$|\1|p' "$T/demo.out")
[[ "$url" =~ ^https://127\.0\.0\.1:[0-9]+/$ ]] || die "no URL: $(cat "$T/demo.out")"
port=${url##*:}
port=${port%/}
[ "$port" -ge "$MAMORI_DEMO_PORT" ] || die "port $port"
cert="$T/demo/tls/cert.pem"
[ -s "$cert" ] || die "no certificate"
openssl x509 -in "$cert" -noout -ext subjectAltName | grep -q 'IP Address:127.0.0.1' ||
    die "the certificate does not name 127.0.0.1"
st=$(curl -sS --cacert "$cert" -o "$T/body" -w '%{http_code}' \
    "https://localhost:$port/healthz") || die "curl /healthz over TLS"
[ "$st" = 200 ] && [ "$(cat "$T/body")" = ok ] || die "healthz: $st"
st=$(curl -sS --cacert "$cert" -o "$T/body" -w '%{http_code}' \
    "https://127.0.0.1:$port/api/v1/session/challenge") || die "curl challenge"
[ "$st" = 200 ] || die "challenge: $st $(cat "$T/body")"
# plain HTTP is not served on the TLS port
! curl -sS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null ||
    die "plain HTTP answered"
# the logins and how to get the one-time codes
out=$(cat "$T/demo.out")
for u in admin tanaka kansa; do
    secret=$(cat "$T/demo/totp-$u")
    contains "$out" "oathtool --totp -b $secret"
done
contains "$out" 'Demo-Operator-2026!'
# a password login with a code from oathtool reaches the device check (in
# the next 30 s window: the tour's code may not be used twice)
sleep $((31 - $(date +%s) % 30))
code=$(oathtool --totp -b "$(cat "$T/demo/totp-tanaka")")
st=$(curl -sS --cacert "$cert" -o "$T/body" -w '%{http_code}' \
    -H 'Content-Type: application/json' --data-binary \
    "{\"user\":\"tanaka\",\"password\":\"Demo-Operator-2026!\",\"otp\":\"$code\"}" \
    "https://127.0.0.1:$port/api/v1/session") || die "curl login"
case "$st" in 200 | 403) ;; *) die "login: $st $(cat "$T/body")" ;; esac
echo "login without a device: $st $(cat "$T/body")"
mpid=$(pgrep -f "mamorid --home $T/demo/vault" | head -1)
[ -n "$mpid" ] || die "no mamorid process"
kill -TERM "$DEMO"
set +e
wait "$DEMO"
rc=$?
set -e
[ "$rc" -eq 0 ] || die "demo exit $rc: $(tail "$T/demo.err")"
contains "$(cat "$T/demo.out")" "mamorid stopped."
for _ in $(seq 100); do kill -0 "$mpid" 2>/dev/null || break; sleep 0.05; done
! kill -0 "$mpid" 2>/dev/null || die "mamorid still running"
! curl -s -o /dev/null --cacert "$cert" "https://localhost:$port/healthz" ||
    die "still answering after the stop"
echo "t_demo_serve: ok"
