# mamorid unseals the vault at start from each key source (flag, the
# environment, a systemd credential, the remembered key file, a passphrase
# on a descriptor) and refuses to serve with a wrong one.
. "$ROOT/tests/cli/lib.sh"
MAMORID=${MAMORID:-$(dirname "$MAMORI")/mamorid}
SRV=
trap 'if [ -n "$SRV" ]; then kill -9 "$SRV" 2>/dev/null || true; fi' EXIT
RUNAS=()
[ "$(id -u)" -ne 0 ] || RUNAS=(--user nobody)

ok_in "$ADMIN_PW" init --key-file "$KEY" --admin admin
PASS='correct horse battery staple 2026'
V2="$T/vault2"
ok_in "$PASS
$ADMIN_PW" init --home "$V2" --passphrase --admin admin
if [ "$(id -u)" -eq 0 ]; then
    chown -R nobody: "$MAMORI_HOME" "$V2"
    chmod 711 "$T"
fi

# up HOME ARGS...: starts mamorid (plain HTTP on loopback), checks that a
# call that needs the vault works, stops it; the exit status must be 0.
up() {
    local home=$1 i st rc
    shift
    : >"$T/srv.err" # (see srv_start)
    "$MAMORID" --home "$home" --listen "127.0.0.1:0" "${RUNAS[@]}" "$@" \
        2>"$T/srv.err" &
    SRV=$!
    listening "$SRV" "$T/srv.err"
    st=$(curl -sS -o "$T/body" -w '%{http_code}' \
        "http://127.0.0.1:$PORT/api/v1/session/challenge") || die "curl"
    [ "$st" = 200 ] || die "challenge: $st $(cat "$T/body")"
    kill -TERM "$SRV"
    set +e
    wait "$SRV"
    rc=$?
    set -e
    SRV=
    [ "$rc" -eq 0 ] || die "exit $rc"
}
# refused HOME ARGS...: mamorid must not start (exit 1 or 2).
refused() {
    local home=$1 rc
    shift
    set +e
    "$MAMORID" --home "$home" --listen 127.0.0.1:0 "${RUNAS[@]}" "$@" \
        2>"$T/err" </dev/null
    rc=$?
    set -e
    [ "$rc" -eq 1 ] || [ "$rc" -eq 2 ] || die "started or crashed: exit $rc"
}

up "$MAMORI_HOME" --key-file "$KEY"
MAMORI_KEY_FILE="$KEY" up "$MAMORI_HOME"
up "$MAMORI_HOME" # the key file the vault remembers
mkdir -p "$T/creds"
cp "$KEY" "$T/creds/mamori.key"
chmod 0400 "$T/creds/mamori.key"
CREDENTIALS_DIRECTORY="$T/creds" up "$MAMORI_HOME"
# the same key in a file group or others can read is refused
cp "$KEY" "$T/open.key"
chmod 0644 "$T/open.key"
refused "$MAMORI_HOME" --key-file "$T/open.key"
contains "$(cat "$T/err")" "cannot open the vault"
head -c 32 /dev/urandom >"$T/wrong.key"
chmod 0400 "$T/wrong.key"
refused "$MAMORI_HOME" --key-file "$T/wrong.key"

# the passphrase on a descriptor
exec 3<<<"$PASS"
MAMORI_PASSPHRASE_FD=3 up "$V2"
exec 3<<<"wrong passphrase"
MAMORI_PASSPHRASE_FD=3 refused "$V2"
contains "$(cat "$T/err")" "cannot open the vault"
exec 3<&-
# no key at all for a passphrase vault
refused "$V2"
contains "$(cat "$T/err")" "no key"
MAMORI_PASSPHRASE_FD=9 refused "$V2"
# the passphrase never reaches the output
lacks "$(cat "$T/err")" "$PASS"
echo "api_unseal: all passed"
