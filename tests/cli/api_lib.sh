# api_lib.sh - helpers of the mamorid API tests (t_api_*.sh), sourced
# after lib.sh: starting and stopping mamorid over TLS, curl calls with
# their status and body, logins with password + TOTP + device proof.
MAMORID=${MAMORID:-$(dirname "$MAMORI")/mamorid}
DEVKEY="$HOME/.config/mamori/device.key"
SRV=
trap 'if [ -n "$SRV" ]; then kill -9 "$SRV" 2>/dev/null || true; fi;
      rm -f "$T/dev.der" "$T/dev.pem"' EXIT

# api_setup: after the vault is made with the CLI: its id in VID, a
# self-signed certificate, and (as root) the vault handed to "nobody",
# whom mamorid becomes (RUNAS). No CLI command may write to the vault
# after this.
api_setup() {
    VID=$(sqlite3 "$MAMORI_HOME/vault.db" "SELECT value FROM meta WHERE key='vault_id'")
    [[ "$VID" =~ ^[0-9a-f-]{36}$ ]] || die "no vault id"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$T/key.pem" -out "$T/cert.pem" -days 2 -subj /CN=localhost \
        -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null
    RUNAS=()
    if [ "$(id -u)" -eq 0 ]; then
        # As root mamorid must be told whom to become; that user then owns
        # the vault files (the key file is read before the switch).
        RUNAS=(--user nobody)
        chown -R nobody: "$MAMORI_HOME"
        chmod 711 "$T"
    fi
}

# routes_match: mamorid --routes and the paths of docs/openapi.yaml
# list the same routes; prints their number.
routes_match() {
    "$MAMORID" --routes | sort >"$T/routes"
    awk '/^  \/[^ ]*:$/ { p = substr($1, 1, length($1) - 1) }
         /^    (get|post|patch|put|delete):$/ && p != "" {
            m = toupper(substr($1, 1, length($1) - 1)); print m " " p }' \
        "$ROOT/docs/openapi.yaml" | sort >"$T/spec"
    [ -s "$T/routes" ] || die "mamorid --routes printed nothing"
    diff "$T/routes" "$T/spec" >"$T/diff" ||
        die "routes differ from openapi.yaml: $(cat "$T/diff")"
    wc -l <"$T/routes"
}

# ---- helpers ----------------------------------------------------------------
# srv_start ARGS...: mamorid over TLS on a free loopback port (plain HTTP
# when PLAIN=1, as the load test and the benchmark against nginx use it).
LIMITS=(--login-per-ip 1000 --login-per-user 1000)
PLAIN=${PLAIN:-0}
srv_start() {
    local i scheme=https tls=(--tls-cert "$T/cert.pem" --tls-key "$T/key.pem")
    if [ "$PLAIN" = 1 ]; then
        scheme=http
        tls=()
    fi
    # Emptied here, not only by the redirection below: that happens in the
    # child, and until then listening could read an earlier server's port.
    : >"$T/srv.err"
    "$MAMORID" --home "$MAMORI_HOME" --listen "127.0.0.1:0" \
        "${tls[@]}" --key-file "$KEY" \
        "${RUNAS[@]}" "${LIMITS[@]}" "$@" \
        2>"$T/srv.err" &
    SRV=$!
    listening "$SRV" "$T/srv.err"
    grep -q "listening on $scheme://127.0.0.1:$PORT\$" "$T/srv.err" ||
        die "not on $scheme: $(cat "$T/srv.err")"
}
# ds_records DATASET: its record count, as the admin (token $ADM) sees it.
ds_records() {
    api GET /api/v1/datasets -H "$(auth "$ADM")"
    want 200
    jq -r --arg d "$1" '.[] | select(.name == $d) | .records' <<<"$BODY"
}
# srv_stop: SIGTERM must end it within 10 s, with status 0.
srv_stop() {
    local rc
    kill -TERM "$SRV"
    for _ in $(seq 100); do
        kill -0 "$SRV" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$SRV" 2>/dev/null; then
        die "mamorid still running 10 s after SIGTERM: $(tail -5 "$T/srv.err")"
    fi
    set +e
    wait "$SRV"
    rc=$?
    set -e
    SRV=
    [ "$rc" -eq 0 ] || die "mamorid exit $rc after SIGTERM: $(cat "$T/srv.err")"
}
# api METHOD PATH CURL-ARGS...: status in $ST, body in $BODY, headers in
# $T/hdr.
api() {
    local m=$1 p=$2 url="https://localhost:$PORT"
    shift 2
    [ "$PLAIN" = 1 ] && url="http://127.0.0.1:$PORT"
    ST=$(curl -sS --cacert "$T/cert.pem" -o "$T/body" -D "$T/hdr" \
        -w '%{http_code}' -X "$m" "$@" "$url$p") ||
        die "curl $m $p failed"
    BODY=$(cat "$T/body")
}
want() {
    [ "$ST" = "$1" ] ||
        die "line ${BASH_LINENO[1]:-?}/${BASH_LINENO[0]}: want HTTP $1, got $ST: $BODY"
}
ecode() { jq -r .error.code <<<"$BODY"; }
# body_lacks TEXT: the body does not hold TEXT, request ids aside (random
# hex, which may hold any short string of digits or a-f).
body_lacks() {
    lacks "$(jq -c 'del(..|.request_id?)' <<<"$BODY" 2>/dev/null ||
        printf '%s' "$BODY")" "$1"
}
want_err() { # want_err STATUS CODE
    want "$1"
    [ "$(ecode)" = "$2" ] || die "want error code $2, got: $BODY"
}
hdr() { grep -i "^$1:" "$T/hdr" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
JSON=(-H 'Content-Type: application/json')
auth() { printf 'Authorization: Bearer %s' "$1"; }

# sign USER CHALLENGE: the device key's signature of the login message, as
# mamori_device_sign makes it, by openssl from a PKCS#8 form of the seed.
sign() {
    local seed
    seed=$(sed -n 's/^sk \([0-9a-f]\{64\}\).*/\1/p' "$DEVKEY")
    perl -e 'print pack("H*", $ARGV[0])' \
        "302e020100300506032b657004220420$seed" >"$T/dev.der"
    openssl pkey -inform DER -in "$T/dev.der" -out "$T/dev.pem"
    printf 'mamori-device-login v1|%s|%s|%s' "$VID" "$1" "$2" >"$T/msg"
    openssl pkeyutl -sign -rawin -inkey "$T/dev.pem" -in "$T/msg" |
        od -An -v -tx1 | tr -d ' \n'
    rm -f "$T/dev.der" "$T/dev.pem"
}
# login_body USER PASSWORD [nodevice]
login_body() {
    local ch sig pk
    if [ "${3:-}" = nodevice ]; then
        jq -n --arg u "$1" --arg p "$2" --arg o "$(code "$1")" \
            '{user:$u, password:$p, otp:$o}'
        return
    fi
    api GET /api/v1/session/challenge
    want 200
    ch=$(jq -r .challenge <<<"$BODY")
    [ ${#ch} -eq 43 ] || die "bad challenge: $BODY"
    sig=$(sign "$1" "$ch")
    pk=$(sed -n 's/^pk //p' "$DEVKEY")
    jq -n --arg u "$1" --arg p "$2" --arg o "$(code "$1")" --arg pk "$pk" \
        --arg ch "$ch" --arg s "$sig" \
        '{user:$u, password:$p, otp:$o,
          device:{public_key:$pk, challenge:$ch, signature:$s}}'
}
# api_login USER PASSWORD: sets TOK and CSRF.
api_login() {
    local b
    b=$(login_body "$1" "$2")
    api POST /api/v1/session "${JSON[@]}" --data-binary "$b"
    want 200
    TOK=$(jq -r .token <<<"$BODY")
    CSRF=$(jq -r .csrf <<<"$BODY")
    [ ${#TOK} -eq 43 ] || die "no token: $BODY"
    [ ${#CSRF} -eq 43 ] || die "no csrf: $BODY"
    [ "$(jq -r .user <<<"$BODY")" = "$1" ] || die "wrong user: $BODY"
    [ "$(jq -c .needs <<<"$BODY")" = "[]" ] || die "needs: $BODY"
}
