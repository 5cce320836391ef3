# dist/mamorid.service, as systemd would take it: its syntax without a
# warning, its sandbox rated by systemd itself (exposure at most 2.0), and
# its SystemCallFilter: mamorid, run as systemd runs it (an unprivileged
# user, the key as a credential, no --user), is traced with strace from
# start to drain over logins, records, search, an import upload, an
# export run and download, a backup, audit verification and a logout; it
# may make no system call that the filter refuses (with
# SystemCallErrorNumber=EPERM such a call would fail in production).
. "$ROOT/tests/cli/lib.sh"
. "$ROOT/tests/cli/api_lib.sh"

UNIT="$ROOT/dist/mamorid.service"
grep -q '^ExecStart=/usr/local/bin/mamorid --config ' "$UNIT" ||
    die "ExecStart changed: $(grep ^ExecStart "$UNIT")"
sed "s#^ExecStart=/usr/local/bin/mamorid #ExecStart=$MAMORID #" "$UNIT" \
    >"$T/mamorid.service"
out=$(systemd-analyze verify --man=no "$T/mamorid.service" 2>&1) ||
    die "systemd-analyze verify: $out"
[ -z "$out" ] || die "systemd-analyze verify warns: $out"
# the check can fail: a misspelt setting is a warning
sed 's/^ProtectSystem=strict/ProtectSystem=stric/' "$T/mamorid.service" \
    >"$T/bad.service"
out=$(systemd-analyze verify --man=no "$T/bad.service" 2>&1 || true)
contains "$out" "bad.service:$(grep -n '^ProtectSystem=' "$T/bad.service" | cut -d: -f1):"
systemd-analyze security --offline=true --threshold=20 "$T/mamorid.service" \
    >"$T/sec" 2>&1 || die "exposure above 2.0: $(grep Overall "$T/sec")"
# and the rating can fail: without the sandbox the exposure is far higher
grep -v '^\(Protect\|Private\|Restrict\|SystemCall\|Capability\)' \
    "$T/mamorid.service" >"$T/open.service"
! systemd-analyze security --offline=true --threshold=20 "$T/open.service" \
    >/dev/null 2>&1 || die "the rating passes a unit without a sandbox"

# expand @GROUP: its system calls, nested groups expanded.
expand() {
    local n
    systemd-analyze syscall-filter "$1" | awk 'NR > 1 && $1 !~ /^#/ { print $1 }' |
        while read -r n; do
            case $n in @*) expand "$n" ;; *) echo "$n" ;; esac
        done
}
allow=$(sed -n 's/^SystemCallFilter=\([^~].*\)$/\1/p' "$UNIT")
deny=$(sed -n 's/^SystemCallFilter=~\(.*\)$/\1/p' "$UNIT")
[ -n "$allow" ] && [ -n "$deny" ] || die "no SystemCallFilter in the unit"
for g in $allow; do expand "$g"; done | sort -u >"$T/allow"
for g in $deny; do expand "$g"; done | sort -u >"$T/deny"
comm -23 "$T/allow" "$T/deny" >"$T/allowed"
grep -qx fdatasync "$T/allowed" || die "filter expansion: $(wc -l <"$T/allowed")"
! grep -qx setuid "$T/allowed" || die "setuid allowed"

# ---- mamorid as systemd runs it, traced -----------------------------------
new_vault
as op1
ok record add people name='山田 太郎' kana='ヤマダ タロウ' phone='090-1111-2222'
api_setup
tick
mkdir -p "$T/creds" "$T/trace"
cp "$KEY" "$T/creds/mamori.key"
chmod 0400 "$T/creds/mamori.key"
RUN=()
SRVBIN=$MAMORID
if [ "$(id -u)" -eq 0 ]; then
    # systemd's User=: the service starts as that user, not as root; the
    # build may be where that user cannot reach it (/root), as
    # /usr/local/bin would not be
    chown -R nobody: "$T/creds" "$T/trace" "$T/key.pem"
    mkdir -p "$T/bin"
    install -m 0755 "$MAMORID" "$T/bin/mamorid"
    SRVBIN=$T/bin/mamorid
    RUN=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
fi
: >"$T/srv.err"
# (LeakSanitizer cannot run under ptrace: in the sanitizer pass the other
# API tests check for leaks; this one checks the calls.)
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
    CREDENTIALS_DIRECTORY="$T/creds" "${RUN[@]}" \
    strace -f -qq -c -o "$T/trace/calls" \
    "$SRVBIN" --home "$MAMORI_HOME" --listen 127.0.0.1:0 \
    --tls-cert "$T/cert.pem" --tls-key "$T/key.pem" "${LIMITS[@]}" \
    2>"$T/srv.err" &
SRV=$!
listening "$SRV" "$T/srv.err"
api_login admin "$ADMIN_PW"
ADM=$TOK
api_login op1 "$OP_PW"
OP=$TOK
api_login aud1 "$AUD_PW"
AUD=$TOK
api POST /api/v1/datasets/people/records -H "$(auth "$OP")" "${JSON[@]}" \
    --data-binary '{"name":"佐藤 花子","kana":"サトウ ハナコ","phone":"080-3333-4444"}'
want 201
RID=$(jq -r .id <<<"$BODY")
api GET "/api/v1/datasets/people/records/$RID" -H "$(auth "$OP")"
want 200
api GET "/api/v1/datasets/people/records?kana=%E3%81%95%E3%81%A8%E3%81%86%E3%81%AF%E3%81%AA%E3%81%93" \
    -H "$(auth "$OP")"
want 200
[ "$(jq length <<<"$BODY")" = 1 ] || die "search: $BODY"
printf 'name,kana,phone\n鈴木 一郎,スズキ イチロウ,03-1234-5678\n' >"$T/up.csv"
api POST /api/v1/datasets/people/import -H "$(auth "$OP")" \
    -H 'Content-Type: text/csv' --data-binary @"$T/up.csv"
want 200
[ "$(jq -r .imported <<<"$BODY")" = 1 ] || die "import: $BODY"
api POST /api/v1/exports -H "$(auth "$OP")" "${JSON[@]}" \
    --data-binary '{"dataset":"people","reason":"payroll","format":"zip"}'
want 201
XID=$(jq -r .id <<<"$BODY")
api POST "/api/v1/exports/$XID/approve" -H "$(auth "$ADM")"
want 200
api POST "/api/v1/exports/$XID/run" -H "$(auth "$OP")"
want 200
[ "$(jq -r .count <<<"$BODY")" = 3 ] || die "export: $BODY"
ST=$(curl -sS --cacert "$T/cert.pem" -o "$T/dl.zip" -w '%{http_code}' \
    -H "$(auth "$OP")" "https://localhost:$PORT/api/v1/exports/$XID/file")
[ "$ST" = 200 ] && [ -s "$T/dl.zip" ] || die "download: $ST"
api POST /api/v1/backups -H "$(auth "$ADM")"
want 201
api GET /api/v1/audit/verify -H "$(auth "$AUD")"
want 200
[ "$(jq -r .ok <<<"$BODY")" = true ] || die "verify: $BODY"
api DELETE /api/v1/session -H "$(auth "$OP")"
want 200
# drain: SIGTERM to mamorid (strace's child), which must end with 0
pid=$(pgrep -P "$SRV" -x mamorid || true)
[ -n "$pid" ] || die "no mamorid under strace"
kill -TERM "$pid"
set +e
wait "$SRV"
rc=$?
set -e
SRV=
[ "$rc" -eq 0 ] || die "mamorid exit $rc under strace: $(tail -5 "$T/srv.err")"

# the calls it made, against the filter
awk '$NF ~ /^[a-z0-9_]+$/ && $NF != "total" && $NF != "syscall" { print $NF }' \
    "$T/trace/calls" | sort -u >"$T/used"
[ "$(wc -l <"$T/used")" -gt 20 ] || die "trace too short: $(cat "$T/trace/calls")"
grep -qx fdatasync "$T/used" || die "no commit traced: $(cat "$T/used")"
refused=$(comm -23 "$T/used" "$T/allowed" | tr '\n' ' ')
[ -z "$refused" ] || die "SystemCallFilter refuses calls mamorid makes: $refused"
echo "service: all passed ($(wc -l <"$T/used") system calls, all allowed)"
