# mamorid, third slice, with the real curl over TLS: the streamed CSV
# import upload (200,000 CP932 rows under a memory bound, bad rows -> 422
# and nothing imported, a cut-off upload imports nothing, the size limit),
# and the refusals of each route (role 403, bad body 400, unknown id 404),
# each followed by a check that nothing changed.
. "$ROOT/tests/cli/lib.sh"
. "$ROOT/tests/cli/api_lib.sh"
ADM2_PW='Kanri#Futari-5521'

routes_match >/dev/null

new_vault
as admin
synth_dataset bulk
ok dataset create small --client c --purpose p --field name:name:search \
    --field birth:date --field note:text
ok dataset grant small op1
ok_in "$INIT_PW" user add view1 --role viewer
ok dataset grant small view1
first_login view1 'Miru!Dake-8832'
as admin
ok_in "$INIT_PW" user add admin2 --role admin
first_login admin2 "$ADM2_PW"
ok_in "$INIT_PW" user add op9 --role operator
first_login op9 'Kyuban#Me-4471'
$SYNTH --count 200000 --seed 7 --header --encoding cp932 --crlf >200k.csv
api_setup
tick
srv_start
api_login admin "$ADMIN_PW"
ADM=$TOK
api_login op1 "$OP_PW"
OP=$TOK
api_login view1 'Miru!Dake-8832'
VIEW=$TOK
audit_count() { # audit_count: entries in the log (the newest seq)
    api GET "/api/v1/audit?last=1" -H "$(auth "$ADM")"
    want 200
    jq -r '.[0].seq' <<<"$BODY"
}
CSV=(-H 'Content-Type: text/csv')
IMP=/api/v1/datasets/small/import

# ---- import: small files, every answer ------------------------------------
printf 'name,birth,note\n山田　太郎,1980-01-02,a\n佐藤　花子,1990-03-04,b\n' >ok.csv
# (encoding names in any case, as Windows writes them)
api POST "$IMP?encoding=UTF-8" -H "$(auth "$OP")" "${CSV[@]}" --data-binary @ok.csv
want 200
[ "$(jq -c '[.rows, .imported, .rejected, .duplicates]' <<<"$BODY")" = '[2,2,0,0]' ] ||
    die "import: $BODY"
[ "$(jq -r .sha256 <<<"$BODY")" = "$(sha256sum ok.csv | cut -d' ' -f1)" ] ||
    die "import: sha256: $BODY"
# the uploader is shown the SHA-256; the audit log keeps a keyed fingerprint
detail=$(audit_sql "file:$MAMORI_HOME/vault.db?mode=ro" \
    "SELECT detail FROM audit_v WHERE action = 'import' ORDER BY seq DESC LIMIT 1")
[[ "$detail" =~ \ file\ [0-9a-f]{32}$ ]] || die "import entry: $detail"
lacks "$detail" "$(sha256sum ok.csv | cut -d' ' -f1)"
[ "$(jq -c .problems <<<"$BODY")" = '[]' ] || die "import: problems: $BODY"
[ "$(ds_records small)" = 2 ] || die "import: want 2 records"
body_lacks '山田'

# a bad row: 422, the same object as error.detail, nothing imported
printf 'name,birth,note\n鈴木　一,1981-01-01,c\n高橋　二,1981-13-45,d\n' >bad.csv
n0=$(ds_records small)
api POST "$IMP" -H "$(auth "$OP")" "${CSV[@]}" --data-binary @bad.csv
want_err 422 rejected
[ "$(jq -c '.error.detail | [.rows, .imported, .rejected]' <<<"$BODY")" = '[2,0,1]' ] ||
    die "422: $BODY"
[ "$(jq -c '.error.detail.problems[0] | [.line, .column]' <<<"$BODY")" = '[3,"birth"]' ] ||
    die "422 problems: $BODY"
[ -n "$(jq -r '.error.detail.problems[0].rule' <<<"$BODY")" ] || die "no rule: $BODY"
body_lacks '1981-13-45'
body_lacks '高橋'
[ "$(ds_records small)" = "$n0" ] || die "422: records changed"
# Japanese by Accept-Language
api POST "$IMP" -H "$(auth "$OP")" "${CSV[@]}" -H 'Accept-Language: ja' \
    --data-binary @bad.csv
want_err 422 rejected
printf '%s' "$(jq -r .error.message <<<"$BODY")" | grep -qP '[^\x00-\x7f]' ||
    die "422 not in Japanese: $BODY"
# skip_invalid=1: the good row goes in
api POST "$IMP?skip_invalid=1" -H "$(auth "$OP")" "${CSV[@]}" --data-binary @bad.csv
want 200
[ "$(jq -c '[.rows, .imported, .rejected]' <<<"$BODY")" = '[2,1,1]' ] ||
    die "skip_invalid: $BODY"
[ "$(ds_records small)" = $((n0 + 1)) ] || die "skip_invalid: records"
# every invalid value of a row is listed, in column order, one problem
# each (the row counted once); none omitted
printf 'name,birth,note\n高橋3,1981-02-30,"ctl\001"\n鈴木　三,1981-01-03,e\n' >bad3.csv
n0=$(ds_records small)
api POST "$IMP" -H "$(auth "$OP")" "${CSV[@]}" --data-binary @bad3.csv
want_err 422 rejected
[ "$(jq -c '.error.detail | [.rows, .imported, .rejected]' <<<"$BODY")" = '[2,0,1]' ] ||
    die "3 bad values: $BODY"
[ "$(jq -c '[.error.detail.problems[] | [.line, .column, .kind]]' <<<"$BODY")" = \
    '[[2,"name","invalid"],[2,"birth","invalid"],[2,"note","invalid"]]' ] ||
    die "3 bad values: problems: $BODY"
[ "$(jq -c '.error.detail | [.problems_truncated, .problems_omitted]' <<<"$BODY")" = \
    '[false,0]' ] || die "3 bad values: omitted: $BODY"
[ "$(jq -r '[.error.detail.problems[].rule] | unique | length' <<<"$BODY")" = 3 ] ||
    die "3 bad values: rules: $BODY"
body_lacks '高橋'
body_lacks '02-30'
body_lacks 'ctl'
[ "$(ds_records small)" = "$n0" ] || die "3 bad values: records changed"
# ... in Japanese by Accept-Language; with skip_invalid=1 the good row goes in
api POST "$IMP?skip_invalid=1" -H "$(auth "$OP")" "${CSV[@]}" \
    -H 'Accept-Language: ja' --data-binary @bad3.csv
want 200
[ "$(jq -c '[.rows, .imported, .rejected, (.problems | length)]' <<<"$BODY")" = \
    '[2,1,1,3]' ] || die "3 bad values, skip_invalid: $BODY"
printf '%s' "$(jq -r '.problems[1].rule' <<<"$BODY")" | grep -qP '[^\x00-\x7f]' ||
    die "rule not in Japanese: $BODY"
[ "$(ds_records small)" = $((n0 + 1)) ] || die "3 bad values, skip_invalid: records"
# the answer lists 1000 problems and says how many more there were: 400
# rows with 3 bad values each are 1200 problems; the 1000th is the first of
# line 335 (rows 2..334 give 999)
for i in $(seq 1 400); do printf '高橋%d,1981-13-01,"ctl\001"\n' "$i"; done |
    sed '1i name,birth,note' >bad1200.csv
n0=$(ds_records small)
api POST "$IMP" -H "$(auth "$OP")" "${CSV[@]}" --data-binary @bad1200.csv
want_err 422 rejected
[ "$(jq -c '.error.detail | [.rows, .imported, .rejected, (.problems | length),
    .problems_truncated, .problems_omitted]' <<<"$BODY")" = \
    '[400,0,400,1000,true,200]' ] || die "1200 problems: $(head -c 600 <<<"$BODY")"
[ "$(jq -c '.error.detail.problems | [.[0], .[998], .[999]] | map([.line, .column])' \
    <<<"$BODY")" = '[[2,"name"],[334,"note"],[335,"name"]]' ] ||
    die "1200 problems: order: $(head -c 600 <<<"$BODY")"
body_lacks '高橋'
[ "$(ds_records small)" = "$n0" ] || die "1200 problems: records changed"

# ---- import: column maps (map=COLUMN=FIELD, as the CLI's --map) -----------
uri() { jq -rn --arg v "$1" '$v | @uri'; }
printf '氏名,birthdate,note\n中村　一,1982-02-03,a\n中村　二,1983-04-05,b\n' >map.csv
printf 'name,birth,x=y\n中村　三,1984-05-06,c\n' >eq.csv
n0=$(ds_records small)
# unmapped: the unknown columns refuse it, each named, nothing imported
api POST "$IMP" -H "$(auth "$OP")" "${CSV[@]}" --data-binary @map.csv
want_err 422 rejected
[ "$(jq -c '[.error.detail.problems[] | .column]' <<<"$BODY")" = '["#1","birthdate"]' ] ||
    die "unmapped columns: $BODY"
# mapped (percent-encoded, or not): imported
api POST "$IMP?map=$(uri '氏名=name')&map=birthdate=birth" -H "$(auth "$OP")" \
    "${CSV[@]}" --data-binary @map.csv
want 200
[ "$(jq -c '[.rows, .imported, .rejected]' <<<"$BODY")" = '[2,2,0]' ] ||
    die "mapped import: $BODY"
[ "$(ds_records small)" = $((n0 + 2)) ] || die "mapped import: records"
api GET "/api/v1/datasets/small/records?name=$(uri '中村 二')" -H "$(auth "$OP")"
want 200
[ "$(jq -r '.[0].birth' <<<"$BODY")" = 1983-04-05 ] || die "mapped field: $BODY"
# a column name holding '=': split at the last one
api POST "$IMP?map=$(uri 'x=y=note')" -H "$(auth "$OP")" "${CSV[@]}" --data-binary @eq.csv
want 200
[ "$(jq -c '[.rows, .imported]' <<<"$BODY")" = '[1,1]' ] || die "x=y map: $BODY"
# a map to a field the dataset lacks: refused on the header, nothing in
n0=$(ds_records small)
api POST "$IMP?map=$(uri '氏名=name')&map=birthdate%3Dbirthday" \
    -H "$(auth "$OP")" "${CSV[@]}" --data-binary @map.csv
want_err 422 rejected
[ "$(jq -c '[.error.detail.problems[] | [.line, .column]]' <<<"$BODY")" = \
    '[[1,"birthdate"],[1,"birthdate"]]' ] || die "map to an unknown field: $BODY"
body_lacks '中村'
[ "$(ds_records small)" = "$n0" ] || die "map to an unknown field: records"
# malformed maps: 400 naming the map, before the import (no audit entry)
last_import() { # last_import: the seq of the newest import entry
    api GET "/api/v1/audit?action=import&last=1" -H "$(auth "$ADM")"
    want 200
    jq -r '.[0].seq' <<<"$BODY"
}
i0=$(last_import)
for m in birthdate '=birth' 'birthdate=' ''; do
    api POST "$IMP?map=$(uri '氏名=name')&map=$(uri "$m")" -H "$(auth "$OP")" \
        "${CSV[@]}" --data-binary @map.csv
    want_err 400 invalid
    jq -r .error.detail <<<"$BODY" | grep -q 'map 2: expected COLUMN=FIELD' ||
        die "malformed map '$m': $BODY"
done
long=$(head -c 330 /dev/zero | tr '\0' 'a')
api POST "$IMP?map=$long=name" -H "$(auth "$OP")" "${CSV[@]}" --data-binary @map.csv
want_err 400 invalid
jq -r .error.detail <<<"$BODY" | grep -q 'map 1 is longer than 320 bytes' ||
    die "long map: $BODY"
q=$(for i in $(seq 33); do printf 'map=c%d%%3Dname&' "$i"; done)
api POST "$IMP?${q%&}" -H "$(auth "$OP")" "${CSV[@]}" --data-binary @map.csv
want_err 400 invalid
jq -r .error.detail <<<"$BODY" | grep -q 'more than 32 map parameters' ||
    die "too many maps: $BODY"
# Japanese by Accept-Language: the message at least
api POST "$IMP?map=birthdate" -H "$(auth "$OP")" -H 'Accept-Language: ja' \
    "${CSV[@]}" --data-binary @map.csv
want_err 400 invalid
printf '%s' "$(jq -r .error.message <<<"$BODY")" | grep -qP '[^\x00-\x7f]' ||
    die "400 not in Japanese: $BODY"
[ "$(last_import)" = "$i0" ] || die "malformed maps were audited"
[ "$(ds_records small)" = "$n0" ] || die "malformed maps: records"
n1=$(ds_records small)

# refusals, each leaving the dataset as it was
a0=$(audit_count)
api POST "$IMP" -H "$(auth "$VIEW")" "${CSV[@]}" --data-binary @ok.csv
want_err 403 denied
api POST /api/v1/datasets/nosuch/import -H "$(auth "$OP")" "${CSV[@]}" \
    --data-binary @ok.csv
[ "$ST" = 404 ] || [ "$ST" = 403 ] || die "unknown dataset: $ST $BODY"
api POST "$IMP" -H "$(auth "$OP")" -H 'Content-Type: application/json' \
    --data-binary @ok.csv
want_err 415 unsupported_media_type
api POST "$IMP?encoding=latin1" -H "$(auth "$OP")" "${CSV[@]}" --data-binary @ok.csv
want_err 400 invalid
api POST "$IMP?skip_invalid=yes" -H "$(auth "$OP")" "${CSV[@]}" --data-binary @ok.csv
want_err 400 invalid
api POST "/api/v1/datasets/..%2Fx/import" -H "$(auth "$OP")" "${CSV[@]}" \
    --data-binary @ok.csv
want_err 400 invalid
api POST "$IMP" "${CSV[@]}" --data-binary @ok.csv
want_err 401 session
printf 'nosuchcol\nx\n' >hdr.csv
api POST "$IMP" -H "$(auth "$OP")" "${CSV[@]}" --data-binary @hdr.csv
[ "$ST" = 422 ] || [ "$ST" = 400 ] || die "bad header: $ST $BODY"
printf 'name,birth,note\n"unterminated,1980-01-01,x\n' >fmt.csv
api POST "$IMP" -H "$(auth "$OP")" "${CSV[@]}" --data-binary @fmt.csv
[ "$ST" = 422 ] || [ "$ST" = 400 ] || die "bad CSV: $ST $BODY"
# a cookie session without the CSRF header
api POST "$IMP" -H "Cookie: __Host-mamori_session=$OP" "${CSV[@]}" --data-binary @ok.csv
want_err 403 csrf
[ "$(ds_records small)" = "$n1" ] || die "refusals: records changed"

# ---- the size limit: a server with a 1000-byte limit -----------------------
srv_stop
tick
srv_start --upload-max 1000
api_login op1 "$OP_PW"
OP=$TOK
head -c 3000 /dev/zero | tr '\0' 'a' >long.txt
{ printf 'name,birth,note\n'; printf '山田　太郎,1980-01-02,%s\n' "$(cat long.txt)"; } >big.csv
api POST "$IMP" -H "$(auth "$OP")" "${CSV[@]}" --data-binary @big.csv
want_err 413 too_big
# chunked (no Content-Length): the connection is closed, nothing imported
ST=$(curl -sS --cacert "$T/cert.pem" -o "$T/body" -w '%{http_code}' \
    -H "$(auth "$OP")" "${CSV[@]}" -H 'Transfer-Encoding: chunked' \
    --data-binary @big.csv "https://localhost:$PORT$IMP" 2>/dev/null) || true
[ "$ST" != 200 ] || die "chunked over the limit: 200"
# a file under the limit still goes in
api POST "$IMP" -H "$(auth "$OP")" "${CSV[@]}" --data-binary @ok.csv
want 200
got=$(jq -r .imported <<<"$BODY")
[ "$(ds_records small)" = $((n1 + got)) ] || die "limit: records: $BODY"
n1=$(ds_records small)
grep -q 'mamorid: ' "$T/srv.err" && grep -i 'error\|abort' "$T/srv.err" &&
    die "server errors: $(cat "$T/srv.err")"

# ---- 200,000 rows (CP932, CRLF), streamed, memory bounded ----------------
srv_stop
tick
srv_start
api_login op1 "$OP_PW"
OP=$TOK
api_login admin "$ADMIN_PW"
ADM=$TOK
start=$(date +%s.%N)
api POST "/api/v1/datasets/bulk/import?encoding=cp932" -H "$(auth "$OP")" \
    "${CSV[@]}" --data-binary @200k.csv
want 200
end=$(date +%s.%N)
[ "$(jq -c '[.rows, .imported, .rejected, .duplicates]' <<<"$BODY")" = \
    '[200000,200000,0,0]' ] || die "200k: $BODY"
[ "$(jq -r .sha256 <<<"$BODY")" = "$(sha256sum 200k.csv | cut -d' ' -f1)" ] ||
    die "200k: sha256"
hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$SRV/status")
if ldd "$MAMORID" | grep libasan >/dev/null; then
    echo "ASan build: mamorid peak RSS ${hwm} KiB not checked"
else
    [ "$hwm" -lt 122880 ] || die "200k upload: mamorid VmHWM $hwm KiB >= 120 MiB"
fi
echo "200k upload: $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }') s, mamorid VmHWM ${hwm} KiB, file $(stat -c %s 200k.csv) bytes"
[ "$(ds_records bulk)" = 200000 ] || die "200k: record count"
# no clear text of the upload on disk: the vault and the temp dir hold none
name=$(head -2 200k.csv | tail -1 | iconv -f CP932 -t UTF-8 | cut -d, -f1)
[ -n "$name" ] || die "no name to look for"
! grep -rqF "$name" "$MAMORI_HOME" || die "a value in clear under the vault"

# ---- a cut-off upload (curl killed mid-body) imports nothing -------------
$SYNTH --count 200000 --seed 8 --header --encoding cp932 --crlf >200k2.csv
curl -sS --cacert "$T/cert.pem" -o /dev/null -H "$(auth "$OP")" "${CSV[@]}" \
    --limit-rate 2M --data-binary @200k2.csv \
    "https://localhost:$PORT/api/v1/datasets/bulk/import?encoding=cp932" &
cpid=$!
sleep 1.5
kill -9 "$cpid" 2>/dev/null || die "the upload ended before the kill"
wait "$cpid" 2>/dev/null || true
sleep 0.5
[ "$(ds_records bulk)" = 200000 ] || die "cut-off upload: record count changed"
api GET /api/v1/audit/verify -H "$(auth "$ADM")"
want 200
kill -0 "$SRV" || die "mamorid died"


# mamorid reads the test clock once, at start: each new one-time code
# needs a restart with the clock moved on (sessions live on in the vault).
restart() {
    srv_stop
    tick
    srv_start
}

# ---- datasets: create ------------------------------------------------------
restart
api_login aud1 "$AUD_PW"
AUD=$TOK
api_login op1 "$OP_PW"
OP=$TOK
nds() { api GET /api/v1/datasets -H "$(auth "$ADM")"; jq length <<<"$BODY"; }
d0=$(nds)
DSB='{"name":"hr2","client":"テスト商事","purpose":"給与","ends":"2030-03-31",
 "require_reason":false,"fields":[{"name":"name","type":"name","searchable":true},
 {"name":"birth","type":"date","key":true},{"name":"mynumber","type":"mynumber"}]}'
api POST /api/v1/datasets -H "$(auth "$OP")" "${JSON[@]}" --data-binary "$DSB"
want_err 403 denied
api POST /api/v1/datasets -H "$(auth "$AUD")" "${JSON[@]}" --data-binary "$DSB"
want_err 403 denied
api POST /api/v1/datasets -H "$(auth "$ADM")" "${JSON[@]}" \
    --data-binary '{"name":"hr2","client":"c","purpose":"p"}'
want_err 400 invalid
api POST /api/v1/datasets -H "$(auth "$ADM")" "${JSON[@]}" \
    --data-binary '{"name":"hr2","client":"c","purpose":"p","fields":[{"name":"a","type":"nosuch"}]}'
want_err 400 invalid
api POST /api/v1/datasets -H "$(auth "$ADM")" "${JSON[@]}" \
    --data-binary '{"name":"hr2","client":"c","purpose":"p","fields":[{"name":"a","type":"text","key":"yes"}]}'
want_err 400 invalid
api POST /api/v1/datasets -H "$(auth "$ADM")" "${JSON[@]}" \
    --data-binary '{"name":"../x","client":"c","purpose":"p","fields":[{"name":"a","type":"text"}]}'
want_err 400 invalid
api POST /api/v1/datasets -H "$(auth "$ADM")" "${JSON[@]}" --data-binary '{"name":'
want_err 400 bad_json
[ "$(nds)" = "$d0" ] || die "dataset refusals: datasets changed"
api POST /api/v1/datasets -H "$(auth "$ADM")" "${JSON[@]}" --data-binary "$DSB"
want 201
[ "$(jq -r .dataset <<<"$BODY")" = hr2 ] || die "create: $BODY"
api POST /api/v1/datasets -H "$(auth "$ADM")" "${JSON[@]}" --data-binary "$DSB"
want_err 409 exists
api GET /api/v1/datasets -H "$(auth "$ADM")"
[ "$(jq -c '.[] | select(.name == "hr2") | [.ends, (.fields | map(.name + ":" + .type + ":" + (.key | tostring)))]' <<<"$BODY")" = \
    '["2030-03-31",["name:name:false","birth:date:true","mynumber:mynumber:false"]]' ] ||
    die "create: fields: $BODY"
[ "$(nds)" = $((d0 + 1)) ] || die "create: count"

# ---- grants ----------------------------------------------------------------
G=/api/v1/datasets/hr2/grants
ngr() { api GET "$G" -H "$(auth "$ADM")"; want 200; jq -c 'map(.user + ":" + (.handler | tostring))' <<<"$BODY"; }
[ "$(ngr)" = '[]' ] || die "grants: not empty"
api POST "$G/op1" -H "$(auth "$OP")" "${JSON[@]}" --data-binary '{}'
want_err 403 denied
api POST "$G/op1" -H "$(auth "$AUD")" "${JSON[@]}" --data-binary '{}'
want_err 403 denied
api POST "$G/op1" -H "$(auth "$ADM")" "${JSON[@]}" --data-binary '{"handler":1}'
want_err 400 invalid
api POST "$G/nosuch" -H "$(auth "$ADM")" "${JSON[@]}" --data-binary '{}'
want_err 404 not_found
api POST "/api/v1/datasets/nosuch/grants/op1" -H "$(auth "$ADM")" "${JSON[@]}" --data-binary '{}'
want_err 404 not_found
api POST "$G/aud1" -H "$(auth "$ADM")" "${JSON[@]}" --data-binary '{}'
[ "$ST" = 400 ] || [ "$ST" = 403 ] || [ "$ST" = 409 ] || die "grant to an auditor: $ST $BODY"
api POST "$G/view1" -H "$(auth "$ADM")" "${JSON[@]}" --data-binary '{"handler":true}'
want_err 400 invalid
api POST "$G/op1" -H "$(auth "$ADM")" "${JSON[@]}"
want_err 400 bad_json
[ "$(ngr)" = '[]' ] || die "grant refusals: grants changed"
api POST "$G/op1" -H "$(auth "$ADM")" "${JSON[@]}" --data-binary '{"handler":true}'
want 200
[ "$(jq -c . <<<"$BODY")" = '{"dataset":"hr2","user":"op1","handler":true}' ] || die "grant: $BODY"
api POST "$G/view1" -H "$(auth "$ADM")" "${JSON[@]}" --data-binary '{}'
want 200
[ "$(ngr)" = '["op1:true","view1:false"]' ] || die "grants: $(ngr)"
api GET /api/v1/grants -H "$(auth "$AUD")"
want 200
jq -e 'map(select(.dataset == "hr2")) | length == 2' <<<"$BODY" >/dev/null || die "all grants: $BODY"
api GET /api/v1/grants -H "$(auth "$OP")"
want_err 403 denied
api GET "$G" -H "$(auth "$OP")"
want_err 403 denied
api GET /api/v1/datasets/nosuch/grants -H "$(auth "$ADM")"
[ "$ST" = 404 ] || [ "$ST" = 200 ] || die "grants of no dataset: $ST"
# op1 may now add to hr2
api POST /api/v1/datasets/hr2/records -H "$(auth "$OP")" "${JSON[@]}" \
    --data-binary '{"name":"山田　花子","birth":"1990-01-01"}'
want 201
api DELETE "$G/view1" -H "$(auth "$OP")"
want_err 403 denied
api DELETE "$G/op9" -H "$(auth "$ADM")"
want_err 404 not_found
api DELETE "$G/nosuch" -H "$(auth "$ADM")"
want_err 404 not_found
[ "$(ngr)" = '["op1:true","view1:false"]' ] || die "revoke refusals: grants changed"
api DELETE "$G/view1" -H "$(auth "$ADM")"
want 200
[ "$(jq -r .revoked <<<"$BODY")" = true ] || die "revoke: $BODY"
[ "$(ngr)" = '["op1:true"]' ] || die "revoke: $(ngr)"

# ---- sessions: list and revoke --------------------------------------------
restart
api_login op9 'Kyuban#Me-4471'
OP9=$TOK
api GET /api/v1/sessions -H "$(auth "$OP")"
want_err 403 denied
api GET /api/v1/sessions -H "$(auth "$AUD")"
want_err 403 denied
api GET /api/v1/sessions -H "$(auth "$ADM")"
want 200
body_lacks "$OP9"
ns=$(jq length <<<"$BODY")
sid=$(jq -r 'map(select(.user == "op9")) | .[-1].id' <<<"$BODY")
[[ "$sid" =~ ^[0-9a-f]{16}$ ]] || die "sessions: $BODY"
[ "$(jq -r 'map(select(.current)) | .[0].user' <<<"$BODY")" = admin ] || die "current: $BODY"
api DELETE "/api/v1/sessions/$sid" -H "$(auth "$OP")"
want_err 403 denied
api DELETE "/api/v1/sessions/XYZ" -H "$(auth "$ADM")"
want_err 400 invalid
api DELETE "/api/v1/sessions/0000000000000000" -H "$(auth "$ADM")"
want_err 404 not_found
api GET /api/v1/session -H "$(auth "$OP9")"
want 200
api GET /api/v1/sessions -H "$(auth "$ADM")"
[ "$(jq length <<<"$BODY")" = "$ns" ] || die "session refusals: sessions changed"
api DELETE "/api/v1/sessions/$sid" -H "$(auth "$ADM")"
want 200
api GET /api/v1/session -H "$(auth "$OP9")"
want_err 401 session
# every session of a user
restart
api_login op9 'Kyuban#Me-4471'
OP9=$TOK
api DELETE /api/v1/users/op9/sessions -H "$(auth "$AUD")"
want_err 403 denied
api DELETE /api/v1/users/nosuch/sessions -H "$(auth "$ADM")"
[ "$ST" = 404 ] || [ "$ST" = 200 ] || die "sessions of no user: $ST $BODY"
api GET /api/v1/session -H "$(auth "$OP9")"
want 200
api DELETE /api/v1/users/op9/sessions -H "$(auth "$ADM")"
want 200
api GET /api/v1/session -H "$(auth "$OP9")"
want_err 401 session
# nothing live left: not found, nothing claimed ended
api DELETE /api/v1/users/op9/sessions -H "$(auth "$ADM")"
want_err 404 not_found

# ---- MFA reset ---------------------------------------------------------------
restart
api_login op9 'Kyuban#Me-4471'
OP9=$TOK
api POST /api/v1/users/op9/mfa/reset -H "$(auth "$OP")"
want_err 403 denied
api POST /api/v1/users/nosuch/mfa/reset -H "$(auth "$ADM")"
want_err 404 not_found
# an admin's own MFA: another admin resets it
api POST /api/v1/users/admin/mfa/reset -H "$(auth "$ADM")"
want_err 403 denied
contains "$(jq -r .error.detail <<<"$BODY")" "another admin"
# neither refusal claims a removal in the audit log
api GET "/api/v1/audit?last=10" -H "$(auth "$AUD")"
want 200
jq -e '[.[] | select(.action == "mfa.reset")] | length >= 2 and
    all(.[]; .detail | contains("removed") | not)' <<<"$BODY" >/dev/null ||
    die "refused mfa resets, audit: $BODY"
api POST "/api/v1/users/a%2Fb/mfa/reset" -H "$(auth "$ADM")"
want_err 400 invalid
api GET /api/v1/users -H "$(auth "$ADM")"
[ "$(jq -r '.[] | select(.name == "op9") | .mfa' <<<"$BODY")" = active ] ||
    die "mfa refusals: op9's MFA changed: $BODY"
api POST /api/v1/users/op9/mfa/reset -H "$(auth "$ADM")"
want 200
api GET /api/v1/users -H "$(auth "$ADM")"
[ "$(jq -r '.[] | select(.name == "op9") | .mfa' <<<"$BODY")" != active ] ||
    die "mfa reset: $BODY"
api GET /api/v1/session -H "$(auth "$OP9")"
want_err 401 session

# ---- break-glass -------------------------------------------------------------
restart
api_login admin2 "$ADM2_PW"
ADM2=$TOK
nbg() { api GET /api/v1/breakglass -H "$(auth "$AUD")"; want 200; jq -c 'map(.state)' <<<"$BODY"; }
[ "$(nbg)" = '[]' ] || die "breakglass: not empty"
BG='{"dataset":"hr2","reason":"payroll incident INC-7"}'
api POST /api/v1/breakglass -H "$(auth "$OP")" "${JSON[@]}" --data-binary "$BG"
want_err 403 denied
api POST /api/v1/breakglass -H "$(auth "$AUD")" "${JSON[@]}" --data-binary "$BG"
want_err 403 denied
api POST /api/v1/breakglass -H "$(auth "$ADM")" "${JSON[@]}" --data-binary '{"dataset":"hr2"}'
want_err 400 invalid
api POST /api/v1/breakglass -H "$(auth "$ADM")" "${JSON[@]}" \
    --data-binary '{"dataset":"nosuch","reason":"x y"}'
want_err 404 not_found
# a reason with an email address (full-width too) or a control character:
# refused, naming the rule, never the value (bad UTF-8 is no JSON at all)
for r in 'for vixskhic@example.com' '宛先 ｖｉｘ＠ｅｘａｍｐｌｅ．ｃｏｍ'; do
    api POST /api/v1/breakglass -H "$(auth "$ADM")" "${JSON[@]}" \
        --data-binary "$(jq -nc --arg r "$r" '{dataset:"hr2", reason:$r}')"
    want_err 400 invalid
    contains "$(jq -r .error.detail <<<"$BODY")" \
        "reason: must not hold personal data (it looks like an email address)"
    lacks "$BODY" "vixskhic"
    lacks "$BODY" "ｖｉｘ"
done
api POST /api/v1/breakglass -H "$(auth "$ADM")" "${JSON[@]}" \
    --data-binary '{"dataset":"hr2","reason":"payroll\tincident"}'
want_err 400 invalid
contains "$(jq -r .error.detail <<<"$BODY")" "reason: control character"
[ "$(nbg)" = '[]' ] || die "breakglass refusals: changed"
api POST /api/v1/breakglass -H "$(auth "$ADM")" "${JSON[@]}" --data-binary "$BG"
want 201
bid=$(jq -r .id <<<"$BODY")
[ "$(jq -r .state <<<"$BODY")" = pending ] || die "bg: $BODY"
api POST "/api/v1/breakglass/$bid/approve" -H "$(auth "$ADM")"
want_err 403 denied
api POST "/api/v1/breakglass/$bid/approve" -H "$(auth "$AUD")"
want_err 403 denied
api POST "/api/v1/breakglass/999999/approve" -H "$(auth "$ADM2")"
want_err 404 not_found
api POST "/api/v1/breakglass/-1/approve" -H "$(auth "$ADM2")"
want_err 400 invalid
[ "$(nbg)" = '["pending"]' ] || die "approve refusals: changed"
api POST "/api/v1/breakglass/$bid/approve" -H "$(auth "$ADM2")"
want 200
[ "$(nbg)" = '["active"]' ] || die "approve: $(nbg)"
api POST "/api/v1/breakglass/$bid/approve" -H "$(auth "$ADM2")"
want_err 409 state
api POST "/api/v1/breakglass/$bid/close" -H "$(auth "$OP")"
want_err 403 denied
api POST "/api/v1/breakglass/$bid/close" -H "$(auth "$ADM")"
want 200
[ "$(nbg)" = '["ended"]' ] || die "close: $(nbg)"

# ---- backup verify -----------------------------------------------------------
api POST /api/v1/backups -H "$(auth "$ADM")"
want 201
bfile=$(jq -r .file <<<"$BODY")
bname=$(basename "$bfile")
a0=$(audit_count)
api POST "/api/v1/backups/$bname/verify" -H "$(auth "$OP")"
want_err 403 denied
# the refusal names the action tried, not a listing of the backups
contains "$(jq -r .error.detail <<<"$BODY")" "backup.verify"
api POST "/api/v1/backups/nosuch.mbk/verify" -H "$(auth "$AUD")"
want_err 404 not_found
# both tries are backup.verify's entries (the refusal; the start and the
# failure of the other); nothing was listed
api GET "/api/v1/audit?last=3" -H "$(auth "$ADM")"
want 200
[ "$(jq -c '[.[] | [.action, .outcome]]' <<<"$BODY")" = \
    '[["backup.verify","denied"],["backup.verify","ok"],["backup.verify","error"]]' ] ||
    die "backup verify entries: $BODY"
api POST "/api/v1/backups/..%2Fvault.db/verify" -H "$(auth "$AUD")"
want_err 400 invalid
api POST "/api/v1/backups/$bname/verify" -H "$(auth "$AUD")"
want 200
[ "$(jq -r '.ok and (.kind == "data") and (.records > 0)' <<<"$BODY")" = true ] ||
    die "verify: $BODY"
# an altered copy does not verify
cp -p "$bfile" "$T/orig.bak"
size=$(stat -c %s "$bfile")
printf '\xff' | dd of="$bfile" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
api POST "/api/v1/backups/$bname/verify" -H "$(auth "$AUD")"
want 422
case "$(ecode)" in crypto | tamper) ;; *) die "altered backup: $BODY" ;; esac
cp -p "$T/orig.bak" "$bfile"
api GET /api/v1/audit/verify -H "$(auth "$ADM")"
want 200

# ---- framing a proxy could read otherwise (request smuggling) ---------------
# raw BYTES: sends them over TLS, prints every status line the server
# answered until it closed the connection (or 5 s passed).
raw() {
    python3 - "$PORT" "$T/cert.pem" "$1" <<'PY'
import socket, ssl, sys
port, ca, data = int(sys.argv[1]), sys.argv[2], sys.argv[3]
data = data.encode().decode('unicode_escape').encode('latin-1')
ctx = ssl.create_default_context(cafile=ca)
s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', port)),
                    server_hostname='localhost')
s.settimeout(5)
s.sendall(data)
got = b''
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        got += b
except (socket.timeout, ssl.SSLError, ConnectionError):
    got += b'\r\nTIMEOUT'
for line in got.decode('utf-8', 'replace').split('\r\n'):
    if line.startswith('HTTP/') or line.startswith('TIMEOUT') or '"code"' in line:
        print(line)
PY
}
NEXT='GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
# each: refused, closed, and the request smuggled behind it never answered
for bad in 'Content-Length: 2\r\nContent-Length: 60\r\n' \
    'Content-Length: 40\r\nTransfer-Encoding: chunked\r\n' \
    'Host: y\r\n' 'Authorization: Bearer a\r\nAuthorization: Bearer b\r\n'; do
    out=$(raw "POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${bad}\r\n{}${NEXT}")
    [ "$(grep -c '^HTTP/' <<<"$out")" = 1 ] || die "framing $bad: $out"
    contains "$out" "HTTP/1.1 400"
    contains "$out" '"code":"bad_framing"'
    lacks "$out" TIMEOUT
done
out=$(raw "POST /api/v1/session HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n${NEXT}")
[ "$(grep -c '^HTTP/' <<<"$out")" = 1 ] || die "coding: $out"
contains "$out" "HTTP/1.1 501"
lacks "$out" TIMEOUT
out=$(raw 'GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n')
contains "$out" "HTTP/1.1 400"
# the refusal in the request's language, its id in the body
out=$(raw "POST /api/v1/session HTTP/1.1\r\nHost: x\r\nHost: y\r\nAccept-Language: ja\r\nContent-Length: 2\r\n\r\n{}")
contains "$out" '"code":"bad_framing"'
contains "$out" '"detail":"Host が複数あります"'
contains "$out" '"request_id":"'
# an absolute-form target is served as its path (RFC 9112 3.2.2)
out=$(raw "GET https://localhost:$PORT/healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
contains "$out" "HTTP/1.1 200"
out=$(raw "GET http://other.example/api/v1/nothing?x=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
contains "$out" "HTTP/1.1 404"
contains "$out" '"code":"no_route"'
# and the well-framed: one chunked body, then a second request on the
# same connection, both answered
out=$(raw "POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n${NEXT}")
[ "$(grep -c '^HTTP/' <<<"$out")" = 2 ] || die "keep-alive: $out"
contains "$out" "HTTP/1.1 200"
curl -sS --cacert "$T/cert.pem" "https://localhost:$PORT/healthz" >/dev/null ||
    die "server gone after the framing tests"

srv_stop
echo "t_api_more: ok"
