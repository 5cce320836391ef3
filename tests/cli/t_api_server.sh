# mamorid end to end with the real curl over TLS: start-up refusals, TLS
# versions, security headers, login with password + TOTP + device proof,
# every route of the first slice with each role's refusals, malformed,
# oversized and mistyped bodies, CSRF on cookie sessions, languages,
# fail-closed (503), rate limits, logout, expiry, the route list against
# docs/openapi.yaml, and a clean exit on SIGTERM.
. "$ROOT/tests/cli/lib.sh"
. "$ROOT/tests/cli/api_lib.sh"
VIEW_PW='Mi-Ru#Dake-8841'

# ---- the route table and the OpenAPI document, both ways -----------------
n=$(routes_match)
[ "$n" -eq 60 ] || die "expected 60 routes, got $n"

# ---- a vault with four roles and a record ---------------------------------
new_vault
as admin
ok_in "$INIT_PW" user add view1 --role viewer
ok dataset grant people view1
first_login view1 "$VIEW_PW"
as op1
ok record add people name='山田 太郎' kana='ヤマダ タロウ' phone='090-1111-2222' \
    mynumber=123456789018
ID1=$OUT
count() { sqlite3 "$MAMORI_HOME/vault.db" 'SELECT count(*) FROM records'; }
api_setup

# ---- refusals at start ------------------------------------------------------
set +e
"$MAMORID" --home "$MAMORI_HOME" --listen 0.0.0.0:1 --key-file "$KEY" \
    "${RUNAS[@]}" 2>"$T/err"
rc=$?
set -e
[ "$rc" -eq 2 ] || die "plain HTTP on 0.0.0.0: exit $rc"
contains "$(cat "$T/err")" "refusing plain HTTP"
if [ "$(id -u)" -eq 0 ]; then
    set +e
    "$MAMORID" --home "$MAMORI_HOME" --listen 127.0.0.1:1 --key-file "$KEY" \
        2>"$T/err"
    rc=$?
    set -e
    [ "$rc" -eq 2 ] || die "root without --user: exit $rc"
    contains "$(cat "$T/err")" "refusing to run as root"
fi
set +e
"$MAMORID" --home "$MAMORI_HOME" --listen 127.0.0.1:1 --tls-cert "$T/cert.pem" \
    --key-file "$KEY" "${RUNAS[@]}" 2>"$T/err"
rc=$?
set -e
[ "$rc" -eq 2 ] || die "a certificate without a key: exit $rc"

# ---- serving ------------------------------------------------------------------
tick
srv_start
api GET /healthz
want 200
[ "$BODY" = ok ] || die "healthz: $BODY"
[ "$(hdr Cache-Control)" = no-store ] || die "no Cache-Control"
[ "$(hdr X-Content-Type-Options)" = nosniff ] || die "no nosniff"
[ "$(hdr Referrer-Policy)" = no-referrer ] || die "no Referrer-Policy"
[ "$(hdr X-Frame-Options)" = DENY ] || die "no X-Frame-Options"
[ "$(hdr Content-Security-Policy)" = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'" ] ||
    die "CSP: $(hdr Content-Security-Policy)"
contains "$(hdr Strict-Transport-Security)" "max-age="
rid1=$(hdr X-Request-Id)
[[ "$rid1" =~ ^[0-9a-f]{32}$ ]] || die "request id: $rid1"
api GET /healthz
[ "$(hdr X-Request-Id)" != "$rid1" ] || die "request id repeated"
# no core dumps; as root it runs as the --user it was given
grep -q '^Max core file size *0 *0' "/proc/$SRV/limits" || die "core dumps on"
if [ "$(id -u)" -eq 0 ]; then
    [ "$(awk '/^Uid:/ {print $2 $3 $4 $5}' "/proc/$SRV/status")" = \
        "$(id -u nobody)$(id -u nobody)$(id -u nobody)$(id -u nobody)" ] ||
        die "privileges not dropped"
fi
api GET /api/v1/openapi.yaml
want 200
cmp -s "$T/body" "$ROOT/docs/openapi.yaml" || die "openapi.yaml differs"

# TLS 1.2 works, 1.1 does not
curl -sS --cacert "$T/cert.pem" --tlsv1.2 --tls-max 1.2 -o /dev/null \
    "https://localhost:$PORT/healthz" || die "TLS 1.2 refused"
if curl -sS --cacert "$T/cert.pem" --tlsv1.1 --tls-max 1.1 -o /dev/null \
    "https://localhost:$PORT/healthz" 2>/dev/null; then
    die "TLS 1.1 accepted"
fi
# CBC (not AEAD) suites are not offered under TLS 1.2
if curl -sS --cacert "$T/cert.pem" --tls-max 1.2 \
    --ciphers ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384 -o /dev/null \
    "https://localhost:$PORT/healthz" 2>/dev/null; then
    die "a CBC cipher suite accepted"
fi
curl -sS --cacert "$T/cert.pem" --tls-max 1.2 \
    --ciphers ECDHE-ECDSA-AES256-GCM-SHA384 -o /dev/null \
    "https://localhost:$PORT/healthz" || die "AES-256-GCM under TLS 1.2 refused"

# no token, a bad token, an unknown route, a wrong method
api GET /api/v1/datasets
want_err 401 session
api GET /api/v1/datasets -H "Authorization: Bearer nope"
want_err 401 session
api GET /api/v1/datasets -H "$(auth AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA)"
want_err 401 session
api GET /api/v1/nothing
want_err 404 no_route
api PUT /api/v1/datasets
want_err 405 method_not_allowed
[ "$(hdr Allow)" = "GET, HEAD, POST" ] || die "Allow: $(hdr Allow)"
[ "$(jq -r .error.message <<<"$BODY")" = "this method is not allowed on this path" ] ||
    die "405 message: $BODY"
api PUT /api/v1/datasets -H 'Accept-Language: ja'
[ "$(jq -r .error.message <<<"$BODY")" = "このパスではこのメソッドは使えません" ] ||
    die "405 message (ja): $BODY"
# HEAD wherever GET is: the GET's status and headers, no body (curl -I
# writes the headers where -o says: nothing else may follow them)
ST=$(curl -sS --cacert "$T/cert.pem" -o "$T/body" -D "$T/hdr" -w '%{http_code}' \
    -I "https://localhost:$PORT/healthz") || die "HEAD /healthz"
[ "$ST" = 200 ] && cmp -s "$T/body" "$T/hdr" || die "HEAD /healthz: $ST"
[ -n "$(hdr X-Request-Id)" ] && [ "$(hdr Cache-Control)" = no-store ] ||
    die "HEAD /healthz headers: $(cat "$T/hdr")"
ST=$(curl -sS --cacert "$T/cert.pem" -o "$T/body" -D "$T/hdr" -w '%{http_code}' \
    -I -H "Authorization: Bearer nope" "https://localhost:$PORT/api/v1/datasets") ||
    die "HEAD /api/v1/datasets"
[ "$ST" = 401 ] && cmp -s "$T/body" "$T/hdr" || die "HEAD without a session: $ST"

# ---- logins ---------------------------------------------------------------------
api POST /api/v1/session "${JSON[@]}" --data-binary \
    "$(login_body op1 Wrong-Pass-123!)"
want_err 401 auth
# without a device proof (device.required): refused before the password
api POST /api/v1/session "${JSON[@]}" --data-binary \
    '{"user":"op1","password":"Wrong-Pass-123!","otp":"000000"}'
want_err 403 device_not_approved
api POST /api/v1/session "${JSON[@]}" --data-binary '{"user":"op1"}'
want_err 400 invalid
api POST /api/v1/session "${JSON[@]}" --data-binary \
    "$(login_body view1 "$VIEW_PW" nodevice)"
[ "$ST" = 403 ] || [ "$ST" = 401 ] || die "login without a device: $ST $BODY"
api_login admin "$ADMIN_PW"
ADM=$TOK
[ "$(jq -r .role <<<"$BODY")" = admin ] || die "admin role: $BODY"
api_login op1 "$OP_PW"
OP=$TOK
OP_CSRF=$CSRF
ck=$(hdr Set-Cookie)
contains "$ck" "__Host-mamori_session=$OP;"
! grep -qi "domain=" <<<"$ck" || die "the session cookie names a Domain: $ck"
contains "$ck" "HttpOnly"
contains "$ck" "SameSite=Strict"
contains "$ck" "Secure"
contains "$ck" "Path=/"
api_login aud1 "$AUD_PW"
AUD=$TOK
# (a fresh code for view1)
tick
api_login view1 "$VIEW_PW"
VIEW=$TOK
api GET /api/v1/session -H "$(auth "$OP")"
want 200
[ "$(jq -r '.user + "/" + .role' <<<"$BODY")" = op1/operator ] ||
    die "whoami: $BODY"

# ---- datasets and records -----------------------------------------------------------
api GET /api/v1/datasets -H "$(auth "$OP")"
want 200
[ "$(jq -r '.[0].name' <<<"$BODY")" = people ] || die "datasets: $BODY"
[ "$(jq -r '.[0].records' <<<"$BODY")" = 1 ] || die "record count: $BODY"
[ "$(jq -r '.[0].fields | length' <<<"$BODY")" = 8 ] || die "fields: $BODY"

api GET "/api/v1/datasets/people/records/$ID1" -H "$(auth "$OP")"
want 200
[ "$(jq -r .phone <<<"$BODY")" = 09011112222 ] || die "record get: $BODY"
[ "$(jq -r .mynumber <<<"$BODY")" = 123456789018 ] || die "handler: $BODY"
[ "$(jq -r .masked <<<"$BODY")" = false ] || die "masked: $BODY"
[ "$(hdr Cache-Control)" = no-store ] || die "record read cacheable"

# search, with a percent-encoded Japanese value ('+' is a space)
q=$(jq -rn --arg v '山田 太郎' '$v | @uri')
api GET "/api/v1/datasets/people/records?name=$q" -H "$(auth "$OP")"
want 200
[ "$(jq -r 'length' <<<"$BODY")" = 1 ] || die "search: $BODY"
[ "$(jq -r '.[0].id' <<<"$BODY")" = "$ID1" ] || die "search id: $BODY"
api GET "/api/v1/datasets/people/records?name=%E5%B1%B1%E7%94%B0+%E5%A4%AA%E9%83%8E" \
    -H "$(auth "$OP")"
want 200
[ "$(jq -r 'length' <<<"$BODY")" = 1 ] || die "search with +: $BODY"
api GET "/api/v1/datasets/people/records?name=nobody" -H "$(auth "$OP")"
want 200
[ "$BODY" = "[]" ] || die "empty search: $BODY"
api GET "/api/v1/datasets/people/records" -H "$(auth "$OP")"
want_err 400 invalid
api GET "/api/v1/datasets/people/records?name=a&kana=b" -H "$(auth "$OP")"
want_err 400 invalid
api GET "/api/v1/datasets/people/records?name=%zz" -H "$(auth "$OP")"
want_err 400 invalid
api GET "/api/v1/datasets/people/records?birth=2000-01-01" -H "$(auth "$OP")"
[ "$ST" -ge 400 ] || die "search on a field that is not searchable: $ST"

# add, update, delete
api POST /api/v1/datasets/people/records -H "$(auth "$OP")" "${JSON[@]}" \
    --data-binary '{"name":"佐藤 花子","phone":"03-1234-5678"}'
want 201
ID2=$(jq -r .id <<<"$BODY")
[[ "$ID2" =~ ^[0-9a-f-]{36}$ ]] || die "add: $BODY"
[ "$(count)" -eq 2 ] || die "record not stored"
api PATCH "/api/v1/datasets/people/records/$ID2" -H "$(auth "$OP")" \
    "${JSON[@]}" --data-binary '{"phone":"03-9999-0000"}'
want 200
[ "$(jq -r .updated <<<"$BODY")" = true ] || die "update: $BODY"
api GET "/api/v1/datasets/people/records/$ID2" -H "$(auth "$OP")"
[ "$(jq -r '.phone + " " + (.version|tostring)' <<<"$BODY")" = \
    "0399990000 2" ] || die "after update: $BODY"
contains "$(jq -r .name <<<"$BODY")" "佐藤"
# a bad value: 400 naming the field, never the value, nothing changed
api PATCH "/api/v1/datasets/people/records/$ID2" -H "$(auth "$OP")" \
    "${JSON[@]}" --data-binary '{"mynumber":"123456789012"}'
want_err 400 invalid
body_lacks 123456789012
contains "$BODY" 'field \"mynumber\": check digit does not match'
# in Japanese by Accept-Language: the field and its rule, not the value
api POST /api/v1/datasets/people/records -H "$(auth "$OP")" "${JSON[@]}" \
    -H 'Accept-Language: ja' --data-binary '{"name":"山田 花子","phone":"03x1234"}'
want_err 400 invalid
contains "$BODY" "項目「phone」: 使えるのは数字、ハイフン、空白、括弧だけです"
body_lacks 03x1234
api POST /api/v1/datasets/people/records -H "$(auth "$OP")" "${JSON[@]}" \
    --data-binary '{"name":"x","phone":12}'
want_err 400 invalid
api POST /api/v1/datasets/people/records -H "$(auth "$OP")" "${JSON[@]}" \
    --data-binary '{}'
want_err 400 invalid
api POST /api/v1/datasets/people/records -H "$(auth "$OP")" "${JSON[@]}" \
    --data-binary '{"name":"","note":""}'
want_err 400 invalid
contains "$BODY" "no field has a value"
api POST /api/v1/datasets/nosuch/records -H "$(auth "$OP")" "${JSON[@]}" \
    --data-binary '{"name":"x"}'
[ "$ST" = 404 ] || [ "$ST" = 403 ] || die "unknown dataset: $ST $BODY"
[ "$(count)" -eq 2 ] || die "a refused add changed the store"
api DELETE "/api/v1/datasets/people/records/$ID2" -H "$(auth "$OP")"
want 200
[ "$(jq -r .deleted <<<"$BODY")" = true ] || die "delete: $BODY"
api GET "/api/v1/datasets/people/records/$ID2" -H "$(auth "$OP")"
want_err 404 not_found
[ "$(count)" -eq 1 ] || die "record not deleted"

# path parameters are checked before the library sees them
api GET "/api/v1/datasets/people/records/not-a-uuid" -H "$(auth "$OP")"
want_err 400 invalid
api GET "/api/v1/datasets/pe%2Fople/records/$ID1" -H "$(auth "$OP")"
want_err 400 invalid
api GET "/api/v1/datasets/%2e%2e/records/$ID1" -H "$(auth "$OP")"
want_err 400 invalid
api GET "/api/v1/datasets/pe%00ople/records/$ID1" -H "$(auth "$OP")"
[ "$ST" = 404 ] || [ "$ST" = 400 ] || die "NUL in a path: $ST"
api GET "/api/v1/datasets/people/records/$(tr a-f A-F <<<"$ID1")" \
    -H "$(auth "$OP")"
want_err 400 invalid
# percent-encoded but valid: decoded per segment
api GET "/api/v1/datasets/%70eople/records/$ID1" -H "$(auth "$OP")"
want 200

# ---- roles --------------------------------------------------------------------------
api GET "/api/v1/datasets/people/records/$ID1" -H "$(auth "$VIEW")"
want 200
[ "$(jq -r .masked <<<"$BODY")" = true ] || die "viewer unmasked: $BODY"
body_lacks 123456789018
body_lacks 09011112222
api POST /api/v1/datasets/people/records -H "$(auth "$VIEW")" "${JSON[@]}" \
    --data-binary '{"name":"閲覧 者"}'
want_err 403 denied
# a viewer searches by a name only: the masked phone is no search key
api GET "/api/v1/datasets/people/records?phone=09011112222" -H "$(auth "$VIEW")"
want_err 403 denied
contains "$BODY" "viewer"
api GET "/api/v1/datasets/people/records/$ID1" -H "$(auth "$AUD")"
want_err 403 denied
api GET "/api/v1/datasets/people/records?name=$q" -H "$(auth "$AUD")"
[ "$ST" = 403 ] || die "auditor searched: $ST $BODY"
api GET "/api/v1/datasets/people/records/$ID1" -H "$(auth "$ADM")"
want_err 403 denied
api GET /api/v1/audit -H "$(auth "$OP")"
want_err 403 denied
api GET /api/v1/audit/verify -H "$(auth "$OP")"
want_err 403 denied
api GET "/api/v1/audit?last=5" -H "$(auth "$AUD")"
want 200
[ "$(jq -r length <<<"$BODY")" = 5 ] || die "audit last=5: $BODY"
api GET "/api/v1/audit?last=0" -H "$(auth "$AUD")"
want_err 400 invalid
api GET "/api/v1/audit?last=abc" -H "$(auth "$AUD")"
want_err 400 invalid
api GET "/api/v1/audit?last=200" -H "$(auth "$AUD")"
want 200
# the reads are audited, naming the device of the login
jq -e --arg id "$ID1" 'map(select(.user == "op1" and .outcome == "ok"
    and (.record_ids | index($id)) and .device != "")) | length > 0' \
    <<<"$BODY" >/dev/null || die "op1's read not in the audit log: $BODY"
body_lacks 09011112222
api GET /api/v1/audit/verify -H "$(auth "$AUD")"
want 200
[ "$(jq -r .ok <<<"$BODY")" = true ] || die "verify: $BODY"

# ---- bodies ---------------------------------------------------------------------------
api POST /api/v1/datasets/people/records -H "$(auth "$OP")" "${JSON[@]}" \
    --data-binary '{"name": "秘密の値X'
want_err 400 bad_json
contains "$BODY" "line 1"
body_lacks "秘密"
api POST /api/v1/datasets/people/records -H "$(auth "$OP")" "${JSON[@]}" \
    --data-binary $'{"name":"a",\n "name":"b"}'
want_err 400 bad_json
contains "$BODY" "line 2"
api POST /api/v1/datasets/people/records -H "$(auth "$OP")" "${JSON[@]}" \
    --data-binary '["name"]'
want_err 400 bad_json
api POST /api/v1/datasets/people/records -H "$(auth "$OP")" \
    -H 'Content-Type: text/plain' --data-binary '{"name":"x"}'
want_err 415 unsupported_media_type
api POST /api/v1/datasets/people/records -H "$(auth "$OP")" \
    -H 'Content-Type: application/jsonx' --data-binary '{"name":"x"}'
want_err 415 unsupported_media_type
api POST /api/v1/datasets/people/records -H "$(auth "$OP")" \
    -H 'Content-Type: application/json; charset=utf-8' \
    --data-binary '{"name":"x","note":"文字コード付き"}'
want 201
ID3=$(jq -r .id <<<"$BODY")
head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' a >"$T/big"
api POST /api/v1/datasets/people/records -H "$(auth "$OP")" "${JSON[@]}" \
    --data-binary @"$T/big"
want_err 413 too_big
api POST /api/v1/session "${JSON[@]}" --data-binary @"$T/big"
want_err 413 too_big
[ "$(count)" -eq 2 ] || die "refused bodies changed the store"
# Oversized request heads: a path longer than the server takes is a 414
# that names it; a head over the connection's 16 KiB is refused by
# libmicrohttpd (414 or 431), and the next request is served as usual.
long=$(head -c 9000 /dev/zero | tr '\0' a)
api GET "/api/v1/datasets/people/records/$long" -H "$(auth "$OP")"
want_err 414 uri_too_long
[ -n "$(jq -r .error.request_id <<<"$BODY")" ] || die "414 without request id: $BODY"
api GET "/api/v1/datasets/people/records/$ID1" -H "$(auth "$OP")" \
    -H "X-Filler: $(head -c 10000 /dev/zero | tr '\0' b)"
want 200
api GET "/api/v1/datasets/people/records/$ID1" -H "$(auth "$OP")" \
    -H "X-Filler: $(head -c 20000 /dev/zero | tr '\0' b)"
case "$ST" in 414 | 431) ;; *) die "a 20 KB header: HTTP $ST" ;; esac
api GET "/api/v1/datasets/people/records/$ID1" -H "$(auth "$OP")"
want 200

# ---- cookie sessions need the CSRF header on unsafe methods -----------------------------
before=$(count)
api POST /api/v1/datasets/people/records -H "Cookie: __Host-mamori_session=$OP" \
    "${JSON[@]}" --data-binary '{"name":"クッキー 太郎"}'
want_err 403 csrf
api POST /api/v1/datasets/people/records -H "Cookie: __Host-mamori_session=$OP" \
    -H "X-CSRF-Token: $(tr A-Za-z N-ZA-Mn-za-m <<<"$OP_CSRF")" "${JSON[@]}" \
    --data-binary '{"name":"クッキー 太郎"}'
want_err 403 csrf
api DELETE "/api/v1/datasets/people/records/$ID1" \
    -H "Cookie: other=1; __Host-mamori_session=$OP"
want_err 403 csrf
[ "$(count)" = "$before" ] || die "a request without CSRF changed the store"
api GET "/api/v1/datasets/people/records/$ID1" -H "Cookie: __Host-mamori_session=$OP"
want 200
# a malformed session cookie before the real one does not hide it
api GET "/api/v1/datasets/people/records/$ID1" \
    -H "Cookie: __Host-mamori_session=x; __Host-mamori_session=$OP"
want 200
api GET "/api/v1/datasets/people/records/$ID1" -H "Cookie: __Host-mamori_session=x"
want_err 401 session
# under TLS only the __Host- cookie is the session: one without the prefix
# (which a sibling host can set for the whole domain) is not, even holding
# a live token, and one planted before ours does not hide it (the admin's
# token first: an admin cannot read records, so the 200 is op1's session)
api GET "/api/v1/datasets/people/records/$ID1" -H "Cookie: mamori_session=$OP"
want_err 401 session
api GET "/api/v1/datasets/people/records/$ID1" \
    -H "Cookie: mamori_session=$ADM; __Host-mamori_session=$OP"
want 200
api POST /api/v1/datasets/people/records -H "Cookie: __Host-mamori_session=$OP" \
    -H "X-CSRF-Token: $OP_CSRF" "${JSON[@]}" \
    --data-binary '{"name":"クッキー 太郎"}'
want 201
[ "$(count)" -eq $((before + 1)) ] || die "cookie add not stored"
# a Bearer request needs no CSRF header
api DELETE "/api/v1/datasets/people/records/$ID3" -H "$(auth "$OP")"
want 200

# is_ja TEXT: holds non-ASCII characters (the catalogs' Japanese)
is_ja() { printf '%s' "$1" | LC_ALL=C grep -q $'[\x80-\xff]'; }
# ---- languages -----------------------------------------------------------------------
api GET /api/v1/datasets -H 'Accept-Language: ja-JP,ja;q=0.9,en;q=0.5'
want_err 401 session
msg=$(jq -r .error.message <<<"$BODY")
is_ja "$msg" || die "not Japanese: $msg"
contains "$msg" "ログイン"
api GET /api/v1/datasets -H 'Accept-Language: en-US,ja;q=0.5'
msg=$(jq -r .error.message <<<"$BODY")
! is_ja "$msg" || die "not English: $msg"
lacks "$msg" "ログイン"
api GET "/api/v1/datasets/people/records/$ID1" -H "$(auth "$AUD")" \
    -H 'Accept-Language: ja'
want_err 403 denied
is_ja "$(jq -r .error.message <<<"$BODY")" || die "denied not in Japanese: $BODY"
# the server's own details too
api POST /api/v1/session -H 'Accept-Language: ja' -H 'Content-Type: text/plain' \
    --data-binary 'x'
want_err 415 unsupported_media_type
contains "$BODY" "application/json でなければなりません"

# ---- fail closed -----------------------------------------------------------------------
before=$(count)
kill -USR1 "$SRV"
sleep 0.2
api GET "/api/v1/datasets/people/records/$ID1" -H "$(auth "$OP")"
want_err 503 audit
body_lacks 09011112222
api POST /api/v1/datasets/people/records -H "$(auth "$OP")" "${JSON[@]}" \
    --data-binary '{"name":"監査 失敗"}'
want_err 503 audit
api GET /healthz
want 200
kill -USR2 "$SRV"
sleep 0.2
[ "$(count)" = "$before" ] || die "written while the audit failed"
api GET "/api/v1/datasets/people/records/$ID1" -H "$(auth "$OP")"
want 200

# ---- concurrent requests on the thread pool ------------------------------------------
seq 64 | xargs -P 16 -I{} curl -sS --cacert "$T/cert.pem" -o /dev/null \
    -w '%{http_code}\n' -H "$(auth "$OP")" \
    "https://localhost:$PORT/api/v1/datasets/people/records/$ID1" >"$T/codes"
[ "$(grep -c '^200$' "$T/codes")" -eq 64 ] ||
    die "concurrent reads: $(sort "$T/codes" | uniq -c)"

# ---- logout ----------------------------------------------------------------------------
api DELETE /api/v1/session -H "$(auth "$VIEW")"
want 200
contains "$(hdr Set-Cookie)" "__Host-mamori_session=;"
contains "$(hdr Set-Cookie)" "Max-Age=0"
api GET /api/v1/session -H "$(auth "$VIEW")"
want_err 401 session
srv_stop

# ---- rate limits (and the INI file) ------------------------------------------------------
# the file sets both limits; the flag overrides the per-user one
cat >"$T/mamorid.ini" <<EOF
; mamorid test settings
[limits]
login_per_ip = 4
login_per_user = 1
EOF
LIMITS=()
srv_start --config "$T/mamorid.ini" --login-per-user 2
# Logins without a device proof are refused for the device and use up
# the address's limit (4 here), not the account's: a stranger cannot keep
# a user's logins answering 429.
for i in 1 2 3; do
    api POST /api/v1/session "${JSON[@]}" \
        --data-binary '{"user":"op1","password":"x"}'
    want_err 403 device_not_approved
done
api POST /api/v1/session "${JSON[@]}" --data-binary '{"user":"ghost2","password":"x"}'
want_err 403 device_not_approved
api POST /api/v1/session "${JSON[@]}" --data-binary '{"user":"ghost3","password":"x"}'
want_err 429 rate_limited
[ "$(hdr Retry-After)" -ge 1 ] || die "no Retry-After"
# challenges: three per login allowed (12 a minute here)
for i in $(seq 12); do
    api GET /api/v1/session/challenge
    want 200
done
api GET /api/v1/session/challenge
want_err 429 rate_limited
srv_stop
# The account's limit (2 here) counts logins that proved an approved
# device: the third wrong password in the minute is not even checked.
srv_start --login-per-ip 100 --login-per-user 2
for i in 1 2; do
    api POST /api/v1/session "${JSON[@]}" \
        --data-binary "$(login_body op1 Wrong-Pass-123!)"
    want_err 401 auth
done
api POST /api/v1/session "${JSON[@]}" --data-binary "$(login_body op1 Wrong-Pass-123!)"
want_err 429 rate_limited
[ "$(hdr Retry-After)" -ge 1 ] || die "no Retry-After"
# enrolments have a bucket of their own: the logins' is not theirs
api POST /api/v1/devices "${JSON[@]}" --data-binary "$(jq -n \
    --arg pk "$(sed -n 's/^pk //p' "$DEVKEY")" \
    '{user:"op1", password:"x", name:"PC", public_key:$pk}')"
want_err 401 auth
srv_stop
# flags override the file
cat >"$T/bad.ini" <<EOF
[server]
threads = lots
EOF
set +e
"$MAMORID" --config "$T/bad.ini" --home "$MAMORI_HOME" \
    --listen 127.0.0.1:1 2>"$T/err"
rc=$?
set -e
[ "$rc" -eq 2 ] || die "a bad config file: exit $rc"
contains "$(cat "$T/err")" "threads"
# the access log is on or off, nothing else
set +e
"$MAMORID" --home "$MAMORI_HOME" --listen 127.0.0.1:0 --access-log maybe \
    2>"$T/err"
rc=$?
set -e
[ "$rc" -eq 2 ] || die "--access-log maybe: exit $rc"
contains "$(cat "$T/err")" "--access-log"

# ---- plain HTTP on loopback is allowed; SIGINT also drains and exits 0 ----
# (and it tells systemd it is ready: a datagram READY=1 on NOTIFY_SOCKET)
python3 - "$T/notify" >"$T/notified" <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o777)
s.settimeout(20)
print(s.recv(4096).decode())
PY
NPID=$!
for _ in $(seq 100); do [ -S "$T/notify" ] && break; sleep 0.05; done
: >"$T/srv.err" # (see srv_start)
NOTIFY_SOCKET="$T/notify" "$MAMORID" --home "$MAMORI_HOME" \
    --listen "127.0.0.1:0" --key-file "$KEY" "${RUNAS[@]}" 2>"$T/srv.err" &
SRV=$!
wait "$NPID" || die "no sd_notify message"
contains "$(cat "$T/notified")" "READY=1"
listening "$SRV" "$T/srv.err"
grep -q "listening on http://127.0.0.1:$PORT\$" "$T/srv.err" ||
    die "plain HTTP: $(cat "$T/srv.err")"
st=$(curl -sS -o /dev/null -D "$T/hdr" -w '%{http_code}' "http://127.0.0.1:$PORT/healthz") ||
    die "plain HTTP on loopback: $(cat "$T/srv.err")"
[ "$st" = 200 ] || die "plain healthz: $st"
! grep -qi '^Strict-Transport-Security' "$T/hdr" || die "HSTS over plain HTTP"
kill -INT "$SRV"
set +e
wait "$SRV"
rc=$?
set -e
SRV=
[ "$rc" -eq 0 ] || die "SIGINT: exit $rc"

# ---- a request is activity: GET /api/v1/session keeps an idle session alive ---------
# (the page asks it while its user types, and at the idle warning's
# "continue"). The idle limit is 15 minutes: 10 + 10 without it would end it.
export MAMORI_TEST_NOW=$((MAMORI_TEST_NOW + 600))
srv_start
api GET /api/v1/session -H "$(auth "$OP")"
want 200
srv_stop
export MAMORI_TEST_NOW=$((MAMORI_TEST_NOW + 600))
srv_start
api GET /api/v1/datasets -H "$(auth "$OP")"
want 200
srv_stop

# ---- an expired session -----------------------------------------------------------------
export MAMORI_TEST_NOW=$((MAMORI_TEST_NOW + 3 * 86400))
srv_start
api GET /api/v1/datasets -H "$(auth "$OP")"
want_err 401 session
api GET /healthz
want 200

# ---- graceful drain: a request in flight at SIGTERM still gets its answer -----------
{
    printf '{"user":"ghost","password":"'
    head -c 300000 /dev/zero | tr '\0' p
    printf '"}'
} >"$T/slow.json"
curl -sS --cacert "$T/cert.pem" --limit-rate 100k -o "$T/slow.out" \
    -w '%{http_code}' "${JSON[@]}" --data-binary @"$T/slow.json" \
    "https://localhost:$PORT/api/v1/session" >"$T/slow.code" 2>&1 &
CURL=$!
sleep 1
srv_stop
wait "$CURL" || die "the request in flight was cut: $(cat "$T/slow.code")"
# (a login without a device proof: refused for the device)
[ "$(cat "$T/slow.code")" = 403 ] || die "drained request: $(cat "$T/slow.code")"
echo "api_server: all passed"
