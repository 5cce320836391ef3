# mamorid unseals a passphrase vault from --passphrase-fd N (an inherited
# descriptor, closed and the passphrase wiped after) or, with no key source
# and a terminal on standard input, by asking on the terminal; a wrong
# passphrase or a bad descriptor refuses to start, and the passphrase never
# reaches the output.
. "$ROOT/tests/cli/lib.sh"
MAMORID=${MAMORID:-$(dirname "$MAMORI")/mamorid}
SRV=
trap 'if [ -n "$SRV" ]; then kill -9 "$SRV" 2>/dev/null || true; fi' EXIT
RUNAS=()
[ "$(id -u)" -ne 0 ] || RUNAS=(--user nobody)

PASS='correct horse battery staple 2026'
V2="$T/vault2"
ok_in "$PASS
$ADMIN_PW" init --home "$V2" --passphrase --admin admin
if [ "$(id -u)" -eq 0 ]; then
    chown -R nobody: "$V2"
    chmod 711 "$T"
fi
printf '%s\n' "$PASS" >"$T/pass"
printf 'wrong passphrase\n' >"$T/wrong"
chmod 600 "$T/pass" "$T/wrong"

# wait_up: the server in $SRV answers a call that needs the vault.
wait_up() {
    local st
    listening "$SRV" "$T/srv.err"
    st=$(curl -sS -o "$T/body" -w '%{http_code}' \
        "http://127.0.0.1:$PORT/api/v1/session/challenge") || die "curl"
    [ "$st" = 200 ] || die "challenge: $st $(cat "$T/body")"
}
stop() {
    local rc
    kill -TERM "$SRV"
    set +e
    wait "$SRV"
    rc=$?
    set -e
    SRV=
    [ "$rc" -eq 0 ] || die "exit $rc"
}

# --passphrase-fd 3 3<file
: >"$T/srv.err" # (see srv_start)
"$MAMORID" --home "$V2" --listen "127.0.0.1:0" "${RUNAS[@]}" \
    --passphrase-fd 3 3<"$T/pass" 2>"$T/srv.err" </dev/null &
SRV=$!
wait_up
# the descriptor was closed after reading (its number may be reused)
for f in /proc/$SRV/fd/*; do
    [ "$(readlink "$f")" != "$T/pass" ] || die "the passphrase file is still open"
done
stop
lacks "$(cat "$T/srv.err")" "$PASS"

# the flag wins over the environment
: >"$T/srv.err" # (see srv_start)
MAMORI_PASSPHRASE_FD=4 "$MAMORID" --home "$V2" --listen "127.0.0.1:0" \
    "${RUNAS[@]}" --passphrase-fd 3 3<"$T/pass" 4<"$T/wrong" \
    2>"$T/srv.err" </dev/null &
SRV=$!
wait_up
stop

# refusals: a wrong passphrase, a closed descriptor, a bad number
refused() {
    local rc
    set +e
    "$MAMORID" --home "$V2" --listen 127.0.0.1:0 "${RUNAS[@]}" "$@" \
        2>"$T/err" </dev/null
    rc=$?
    set -e
    [ "$rc" -eq 1 ] || [ "$rc" -eq 2 ] || die "started or crashed: exit $rc"
}
refused --passphrase-fd 3 3<"$T/wrong"
contains "$(cat "$T/err")" "cannot open the vault"
refused --passphrase-fd 7
contains "$(cat "$T/err")" "cannot read the passphrase"
refused --passphrase-fd x
refused --passphrase-fd -1
refused --passphrase-fd 99999
# no descriptor and no terminal: no key, no prompt
refused
contains "$(cat "$T/err")" "no key"
lacks "$(cat "$T/err")" "passphrase:"

# a terminal: the prompt (script(1) gives mamorid a pseudo-terminal)
(sleep 1; printf '%s\n' "$PASS"; sleep 3) |
    script -qfec "$MAMORID --home $V2 --listen 127.0.0.1:0 ${RUNAS[*]}" \
        "$T/tty.log" >/dev/null 2>&1 &
SPID=$!
# (script may end before mamorid: its input ends after 4 s)
listening "" "$T/tty.log"
st=$(curl -sS -o "$T/body" -w '%{http_code}' \
    "http://127.0.0.1:$PORT/api/v1/session/challenge") || die "prompt: no server: $(cat "$T/tty.log")"
[ "$st" = 200 ] || die "prompt: challenge $st"
grep -q "vault passphrase:" "$T/tty.log" || die "no prompt: $(cat "$T/tty.log")"
! grep -qF "$PASS" "$T/tty.log" || die "the passphrase was echoed"
mpid=$(pgrep -f "mamorid --home $V2 --listen 127.0.0.1:0" | head -1)
[ -n "$mpid" ] || die "no mamorid process"
kill -TERM "$mpid"
for i in $(seq 100); do kill -0 "$mpid" 2>/dev/null || break; sleep 0.05; done
kill -0 "$mpid" 2>/dev/null && die "mamorid did not stop"
kill "$SPID" 2>/dev/null || true
wait "$SPID" 2>/dev/null || true
echo "t_api_passfd: ok"
