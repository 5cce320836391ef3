# mamorid: running an approved export and downloading its file, with the
# real curl over TLS: the run (requester only, once; the ZIP password in
# its answer only), the spool (0700 directory, 0600 file, ciphertext
# only), the download (requester only, once, then 410), 7z opening the
# downloaded ZIP with the password; an approval that lapsed (409, and the
# ledger says lapsed).
. "$ROOT/tests/cli/lib.sh"
. "$ROOT/tests/cli/api_lib.sh"

routes_match >/dev/null

new_vault
as op1
ok record add people name='山田 太郎' kana='ヤマダ タロウ' phone='090-1111-2222' \
    mynumber=123456789018 note='seed'
ok record add people name='佐藤 花子' kana='サトウ ハナコ' phone='080-3333-4444'
api_setup
tick
srv_start
api_login admin "$ADMIN_PW"
ADM=$TOK
api_login op1 "$OP_PW"
OP=$TOK
api_login aud1 "$AUD_PW"
AUD=$TOK
SPOOL="$MAMORI_HOME/export-spool"

exreq() { jq -n --arg f "${1:-zip}" '{dataset:"people", reason:"payroll", format:$f}'; }
api POST /api/v1/exports -H "$(auth "$OP")" "${JSON[@]}" --data-binary "$(exreq)"
want 201
XID=$(jq -r .id <<<"$BODY")
# not approved yet: no run, no file
api POST "/api/v1/exports/$XID/run" -H "$(auth "$OP")"
want_err 409 state
api GET "/api/v1/exports/$XID/file" -H "$(auth "$OP")"
want_err 409 state
api POST "/api/v1/exports/$XID/approve" -H "$(auth "$ADM")"
want 200
# path parameter, session, CSRF, method
for bad in abc 0 -1 01 99999999999999999999; do
    api POST "/api/v1/exports/$bad/run" -H "$(auth "$OP")"
    want_err 400 invalid
    api GET "/api/v1/exports/$bad/file" -H "$(auth "$OP")"
    want_err 400 invalid
done
api POST "/api/v1/exports/$XID/run"
want_err 401 session
api POST "/api/v1/exports/$XID/run" -H "Cookie: __Host-mamori_session=$OP"
want_err 403 csrf
api GET "/api/v1/exports/$XID/run" -H "$(auth "$OP")"
want_err 405 method_not_allowed
api POST /api/v1/exports/999999/run -H "$(auth "$OP")"
[ "$ST" = 404 ] || [ "$ST" = 403 ] || die "run of no request: $ST $BODY"
# only the requester runs it
api POST "/api/v1/exports/$XID/run" -H "$(auth "$ADM")"
want_err 403 denied
api POST "/api/v1/exports/$XID/run" -H "$(auth "$AUD")"
want_err 403 denied
[ ! -e "$SPOOL/$XID.export" ] || die "a refused run left a file"
api POST "/api/v1/exports/$XID/run" -H "$(auth "$OP")"
want 200
PW=$(jq -r .password <<<"$BODY")
[ ${#PW} -eq 24 ] || die "no password: $BODY"
[ "$(jq -r .count <<<"$BODY")" = 2 ] || die "count: $BODY"
SHA=$(jq -r .sha256 <<<"$BODY")
[ "$(jq -r .download <<<"$BODY")" = "/api/v1/exports/$XID/file" ] || die "download: $BODY"
[ "$(hdr Cache-Control)" = no-store ] || die "run answer cached"
# once
api POST "/api/v1/exports/$XID/run" -H "$(auth "$OP")"
want_err 409 state
body_lacks "$PW"
# the spool: 0700 directory, 0600 file, only ciphertext
[ "$(stat -c %a "$SPOOL")" = 700 ] || die "spool mode $(stat -c %a "$SPOOL")"
[ "$(stat -c %a "$SPOOL/$XID.export")" = 600 ] || die "file mode"
[ "$(sha256sum <"$SPOOL/$XID.export" | cut -d' ' -f1)" = "$SHA" ] || die "sha256"
! grep -q "ヤマダ" "$SPOOL/$XID.export" || die "plaintext in the spool"
! grep -q "1111-2222" "$SPOOL/$XID.export" || die "plaintext in the spool"
# the ledger lists it done; the password is nowhere in the API
api GET /api/v1/exports -H "$(auth "$AUD")"
want 200
jq -e --arg id "$XID" --arg s "$SHA" '.[] | select((.id|tostring) == $id) |
    .state == "done" and .count == 2 and .sha256 == $s' <<<"$BODY" >/dev/null ||
    die "ledger: $BODY"
body_lacks "$PW"
# another user: refused, the file stays
api GET "/api/v1/exports/$XID/file" -H "$(auth "$ADM")"
want_err 403 denied
api GET "/api/v1/exports/$XID/file" -H "$(auth "$AUD")"
want_err 403 denied
[ -e "$SPOOL/$XID.export" ] || die "a refused download removed the file"
# the requester downloads it once
ST=$(curl -sS --cacert "$T/cert.pem" -o "$T/dl.zip" -D "$T/hdr" -w '%{http_code}' \
    -H "$(auth "$OP")" "https://localhost:$PORT/api/v1/exports/$XID/file")
[ "$ST" = 200 ] || die "download: $ST $(cat "$T/dl.zip")"
[ "$(hdr Content-Type)" = application/zip ] || die "type: $(hdr Content-Type)"
[ "$(hdr Cache-Control)" = no-store ] || die "download cached"
contains "$(hdr Content-Disposition)" "attachment; filename=\"people-$XID.zip\""
[ "$(sha256sum <"$T/dl.zip" | cut -d' ' -f1)" = "$SHA" ] || die "downloaded sha256"
[ ! -e "$SPOOL/$XID.export" ] || die "the file stayed after the download"
[ -z "$(ls -A "$SPOOL")" ] || die "spool not empty: $(ls -A "$SPOOL")"
# the download is in the log under its request id, with the record count;
# the refused ones too
DRID=$(hdr X-Request-Id)
[ "$(audit_sql "file:$MAMORI_HOME/vault.db?mode=ro" \
    "SELECT action || ' ' || outcome || ' ' || count FROM audit_v
     WHERE request_id = '$DRID'")" = "export.handover ok 2" ] ||
    die "download not audited: $(audit_sql "$MAMORI_HOME/vault.db" \
        "SELECT action, outcome, count FROM audit_v ORDER BY seq DESC LIMIT 3")"
[ "$(audit_sql "file:$MAMORI_HOME/vault.db?mode=ro" \
    "SELECT count(*) FROM audit_v WHERE action = 'export.handover'
     AND outcome = 'denied'")" = 2 ] || die "refused downloads not audited"
mkdir "$T/x"
7z x -p"$PW" -o"$T/x" "$T/dl.zip" >/dev/null || die "7z cannot open it"
grep -q "山田　太郎" "$T/x/people.csv" || die "csv: $(cat "$T/x/people.csv")"
! 7z x -pWrong-Password-0 -o"$T/y" "$T/dl.zip" >/dev/null 2>&1 ||
    die "7z opened it with a wrong password"
api GET "/api/v1/exports/$XID/file" -H "$(auth "$OP")"
want_err 410 gone
# CMS to a recipient: no password; the file decrypts with the key
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/rk.pem" -out "$T/rc.pem" \
    -days 2 -subj /CN=recipient 2>/dev/null
api POST /api/v1/exports -H "$(auth "$OP")" "${JSON[@]}" --data-binary \
    "$(jq --rawfile c "$T/rc.pem" '.recipient_cert = $c' <<<"$(exreq cms)")"
want 201
XID2=$(jq -r .id <<<"$BODY")
api POST "/api/v1/exports/$XID2/approve" -H "$(auth "$ADM")"
want 200
api POST "/api/v1/exports/$XID2/run" -H "$(auth "$OP")"
want 200
[ "$(jq -r 'has("password")' <<<"$BODY")" = false ] || die "cms password: $BODY"
ST=$(curl -sS --cacert "$T/cert.pem" -o "$T/dl.p7m" -D "$T/hdr" -w '%{http_code}' \
    -H "$(auth "$OP")" "https://localhost:$PORT/api/v1/exports/$XID2/file")
[ "$ST" = 200 ] || die "cms download: $ST"
openssl cms -decrypt -inform DER -in "$T/dl.p7m" -inkey "$T/rk.pem" \
    -out "$T/cms.csv" 2>/dev/null || die "cms does not decrypt"
grep -q "佐藤　花子" "$T/cms.csv" || die "cms csv"
api GET "/api/v1/exports/$XID2/file" -H "$(auth "$OP")"
want_err 410 gone
# run, never downloaded, then marked destroyed: the ledger says it is gone,
# and so is its spool file
api POST /api/v1/exports -H "$(auth "$OP")" "${JSON[@]}" --data-binary "$(exreq)"
want 201
XID3=$(jq -r .id <<<"$BODY")
api POST "/api/v1/exports/$XID3/approve" -H "$(auth "$ADM")"
want 200
api POST "/api/v1/exports/$XID3/run" -H "$(auth "$OP")"
want 200
[ -f "$SPOOL/$XID3.export" ] || die "no spool file after the run"
api POST "/api/v1/exports/$XID3/mark" -H "$(auth "$ADM")" "${JSON[@]}" \
    --data-binary '{"state":"destroyed"}'
want 200
[ ! -e "$SPOOL/$XID3.export" ] || die "a destroyed export's file is still spooled"
api GET "/api/v1/exports/$XID3/file" -H "$(auth "$OP")"
[ "$ST" -ge 400 ] || die "a destroyed export was downloaded: $ST"

# an approval lasts export.approval_hours (72 by default): the ledger
# tells until when; after that a run is refused and the request lapses
api GET /api/v1/config -H "$(auth "$AUD")"
want 200
jq -e '.[] | select(.key == "export.approval_hours") | .value == "72" and
    .default == "72" and .range == "1-8760"' <<<"$BODY" >/dev/null ||
    die "config: $BODY"
api POST /api/v1/exports -H "$(auth "$OP")" "${JSON[@]}" --data-binary "$(exreq)"
want 201
XID4=$(jq -r .id <<<"$BODY")
api POST /api/v1/exports -H "$(auth "$OP")" "${JSON[@]}" --data-binary "$(exreq)"
want 201
XID5=$(jq -r .id <<<"$BODY")
for x in "$XID4" "$XID5"; do
    api POST "/api/v1/exports/$x/approve" -H "$(auth "$ADM")"
    want 200
done
api GET /api/v1/exports -H "$(auth "$OP")"
want 200
jq -e --argjson id "$XID4" --arg e \
    "$(date -u -d "@$((MAMORI_TEST_NOW + 72 * 3600))" +%Y-%m-%dT%H:%M:%SZ)" \
    '.[] | select(.id == $id) | .state == "approved" and .expires == $e' \
    <<<"$BODY" >/dev/null || die "no expiry: $BODY"
jq -e --argjson id "$XID3" '.[] | select(.id == $id) | .expires == null' \
    <<<"$BODY" >/dev/null || die "an expiry outside approved: $BODY"
srv_stop
export MAMORI_TEST_NOW=$((MAMORI_TEST_NOW + 72 * 3600))
srv_start
api_login op1 "$OP_PW"
OP=$TOK
api_login admin "$ADMIN_PW"
ADM=$TOK
api POST "/api/v1/exports/$XID4/run" -H "$(auth "$OP")"
want_err 409 state
contains "$(jq -r .error.detail <<<"$BODY")" \
    "export $XID4: the approval lapsed after 72 h"
[ ! -e "$SPOOL/$XID4.export" ] || die "a lapsed export left a file"
RRID=$(hdr X-Request-Id)
[ "$(audit_sql "file:$MAMORI_HOME/vault.db?mode=ro" \
    "SELECT action || ' ' || outcome || ' ' || detail FROM audit_v
     WHERE request_id = '$RRID'")" = \
    "export.run error state: export $XID4: approval lapsed" ] ||
    die "the lapse is not audited: $(audit_sql "$MAMORI_HOME/vault.db" \
        "SELECT action, outcome, detail FROM audit_v ORDER BY seq DESC LIMIT 3")"
api POST "/api/v1/exports/$XID4/run" -H "$(auth "$OP")"
want_err 409 state
api POST "/api/v1/exports/$XID4/approve" -H "$(auth "$ADM")"
want_err 409 state
# the ledger shows both lapsed (the one never run is marked as it is read)
api GET /api/v1/exports -H "$(auth "$ADM")"
want 200
for x in "$XID4" "$XID5"; do
    jq -e --argjson id "$x" '.[] | select(.id == $id) |
        .state == "lapsed" and .expires == null' <<<"$BODY" >/dev/null ||
        die "export $x not lapsed: $BODY"
done
api POST "/api/v1/exports/$XID5/run" -H "$(auth "$OP")"
want_err 409 state
contains "$(jq -r .error.detail <<<"$BODY")" "lapsed"
srv_stop
