# mamorid, second slice, with the real curl over TLS: restricted sessions
# (first-login password change, MFA enrolment), users, devices (a request
# without a session, approval, a login from the new device, revocation),
# the access review, settings, the audit checkpoint, verified entry by two
# operators, export requests through the take-out ledger, and backups -
# each route's success, its role refusals, malformed bodies and path
# parameters.
. "$ROOT/tests/cli/lib.sh"
. "$ROOT/tests/cli/api_lib.sh"
OP2_PW='Zwei#Bedien-6610'
OP2_PW2='Drei#Bedien-7720'
OP3_PW='Vier#Bedien-8830'

routes_match >/dev/null

new_vault
# a second operator of "people" for the verified entry (grants are CLI-only)
as admin
ok_in "$INIT_PW" user add op3 --role operator
ok dataset grant people op3
first_login op3 "$OP3_PW"
api_setup
LIMITS=(--login-per-ip 1000 --login-per-user 1000)
audit_has() { # audit_has ACTION: the newest entries name ACTION, ok
    api GET "/api/v1/audit?last=20" -H "$(auth "$AUD")"
    want 200
    jq -e --arg a "$1" 'map(select(.action == $a and .outcome == "ok"))
        | length > 0' <<<"$BODY" >/dev/null || die "no $1 in the audit log"
}
# newkey FILE: a device key file as the CLI writes it ("pk HEX\nsk HEX\n")
newkey() {
    local pk seed
    openssl genpkey -algorithm ed25519 -out "$T/nk.pem"
    seed=$(openssl pkey -in "$T/nk.pem" -outform DER | tail -c 32 |
        od -An -v -tx1 | tr -d ' \n')
    pk=$(openssl pkey -in "$T/nk.pem" -pubout -outform DER | tail -c 32 |
        od -An -v -tx1 | tr -d ' \n')
    printf 'pk %s\nsk %s%s\n' "$pk" "$seed" "$pk" >"$1"
    rm -f "$T/nk.pem"
}

# mamorid reads the test clock once, at start: each new one-time code
# needs a restart with the clock moved on (sessions live on in the vault).
restart() {
    srv_stop
    tick
    srv_start
}
tick
srv_start
api_login admin "$ADMIN_PW"
ADM=$TOK
api_login op1 "$OP_PW"
OP=$TOK
api_login aud1 "$AUD_PW"
AUD=$TOK

# ---- users: add ----------------------------------------------------------------
api POST /api/v1/users -H "$(auth "$ADM")" "${JSON[@]}" --data-binary \
    "$(jq -n --arg p "$INIT_PW" '{name:"op2", role:"operator", password:$p}')"
want 201
[ "$(jq -r '.user + "/" + .role' <<<"$BODY")" = op2/operator ] || die "add: $BODY"
body_lacks "$INIT_PW"
api POST /api/v1/users -H "$(auth "$ADM")" "${JSON[@]}" --data-binary \
    "$(jq -n --arg p "$INIT_PW" '{name:"op2", role:"operator", password:$p}')"
want_err 409 exists
api POST /api/v1/users -H "$(auth "$OP")" "${JSON[@]}" --data-binary \
    "$(jq -n --arg p "$INIT_PW" '{name:"op3", role:"operator", password:$p}')"
want_err 403 denied
api POST /api/v1/users -H "$(auth "$AUD")" "${JSON[@]}" --data-binary \
    "$(jq -n --arg p "$INIT_PW" '{name:"op3", role:"admin", password:$p}')"
want_err 403 denied
api POST /api/v1/users -H "$(auth "$ADM")" "${JSON[@]}" \
    --data-binary '{"name":"op3","role":"operator"}'
want_err 400 invalid
api POST /api/v1/users -H "$(auth "$ADM")" "${JSON[@]}" \
    --data-binary '{"name":"op3","role":"operator","password":7}'
want_err 400 invalid
api POST /api/v1/users -H "$(auth "$ADM")" "${JSON[@]}" --data-binary \
    "$(jq -n --arg p "$INIT_PW" '{name:"../etc", role:"operator", password:$p}')"
want_err 400 invalid
api POST /api/v1/users -H "$(auth "$ADM")" "${JSON[@]}" --data-binary \
    "$(jq -n --arg p "$INIT_PW" '{name:"op3", role:"superuser", password:$p}')"
want_err 400 invalid
api POST /api/v1/users -H "$(auth "$ADM")" "${JSON[@]}" \
    --data-binary '{"name":"op3","role":"operator","password":"Qz7kw"}'
want_err 400 invalid
body_lacks Qz7kw
# a cookie session without the CSRF header changes nothing
api POST /api/v1/users -H "Cookie: __Host-mamori_session=$ADM" "${JSON[@]}" \
    --data-binary "$(jq -n --arg p "$INIT_PW" '{name:"op3", role:"operator", password:$p}')"
want_err 403 csrf

# ---- users: list ------------------------------------------------------------------
api GET /api/v1/users -H "$(auth "$ADM")"
want 200
jq -e 'map(.name) | sort == ["admin", "aud1", "op1", "op2", "op3"]' <<<"$BODY" \
    >/dev/null || die "users: $BODY"
jq -e '.[] | select(.name == "op2") | .must_change_password == true and
    .role == "operator" and .last_login == null' <<<"$BODY" >/dev/null ||
    die "op2 listed: $BODY"
body_lacks "$INIT_PW"
api GET /api/v1/users -H "$(auth "$AUD")"
want 200
api GET /api/v1/users -H "$(auth "$OP")"
want_err 403 denied

# ---- restricted session: first login, password change, MFA -----------------------------
# op2_login PASSWORD [OTP]: a login of op2 from the registered device
op2_login() {
    local b
    b=$(login_body op2 "$1")
    b=$(jq --arg o "${2:-}" 'if $o == "" then del(.otp) else .otp = $o end' <<<"$b")
    api POST /api/v1/session "${JSON[@]}" --data-binary "$b"
}
op2_login "$INIT_PW"
want 200
OP2=$(jq -r .token <<<"$BODY")
jq -e '.needs | index("password")' <<<"$BODY" >/dev/null || die "needs: $BODY"
api GET /api/v1/datasets -H "$(auth "$OP2")"
[ "$ST" -ge 400 ] || die "a restricted session listed datasets: $ST"
api POST /api/v1/session/password -H "$(auth "$OP2")" "${JSON[@]}" \
    --data-binary "$(jq -n --arg n "$OP2_PW" '{new:$n}')"
want_err 400 invalid
api POST /api/v1/session/password -H "$(auth "$OP2")" "${JSON[@]}" \
    --data-binary '{"current":1,"new":"x"}'
want_err 400 invalid
api POST /api/v1/session/password -H "$(auth "$OP2")" "${JSON[@]}" \
    --data-binary "$(jq -n --arg n "$OP2_PW" '{current:"Wrong#Pass-0001", new:$n}')"
want_err 401 auth
api POST /api/v1/session/password -H "$(auth "$OP2")" "${JSON[@]}" \
    --data-binary "$(jq -n --arg c "$INIT_PW" '{current:$c, new:"abc"}')"
want_err 400 invalid
body_lacks abc
api POST /api/v1/session/password -H "$(auth "$OP2")" "${JSON[@]}" \
    --data-binary "$(jq -n --arg c "$INIT_PW" --arg n "$OP2_PW" '{current:$c, new:$n}')"
want 200
jq -e '.ok == true and (.needs | index("password") | not)' <<<"$BODY" \
    >/dev/null || die "passwd: $BODY"
api POST /api/v1/mfa/confirm -H "$(auth "$OP2")" "${JSON[@]}" \
    --data-binary '{"code":"123456"}'
[ "$ST" -ge 400 ] || die "confirm without enrolment: $ST"
api POST /api/v1/mfa/enroll -H "$(auth "$OP2")"
want 200
SECRET=$(jq -r .secret <<<"$BODY")
[[ "$SECRET" =~ ^[A-Z2-7]{32}$ ]] || die "secret: $BODY"
contains "$(jq -r .uri <<<"$BODY")" "otpauth://totp/"
contains "$(jq -r .uri <<<"$BODY")" "secret=$SECRET"
[ "$(hdr Cache-Control)" = no-store ] || die "secret cacheable"
printf '%s' "$SECRET" >"$T/totp-op2"
restart
api POST /api/v1/mfa/confirm -H "$(auth "$OP2")" "${JSON[@]}" \
    --data-binary '{"code":123456}'
want_err 400 invalid
api POST /api/v1/mfa/confirm -H "$(auth "$OP2")" "${JSON[@]}" --data-binary '{}'
want_err 400 invalid
bad=$(printf '%06d' $(( (10#$(code op2) + 1) % 1000000 )))
api POST /api/v1/mfa/confirm -H "$(auth "$OP2")" "${JSON[@]}" \
    --data-binary "$(jq -n --arg c "$bad" '{code:$c}')"
[ "$ST" -ge 400 ] && [ "$ST" -lt 500 ] || die "a wrong code: $ST $BODY"
api POST /api/v1/mfa/confirm -H "$(auth "$OP2")" "${JSON[@]}" \
    --data-binary "$(jq -n --arg c "$(code op2)" '{code:$c}')"
want 200
jq -e '(.recovery_codes | length) == 10 and
    all(.recovery_codes[]; test("^[A-Z0-9]{5}-[A-Z0-9]{5}$")) and
    .needs == []' <<<"$BODY" >/dev/null || die "confirm: $BODY"
api POST /api/v1/mfa/enroll -H "$(auth "$OP2")"
want_err 409 state
# the new password and a TOTP code log in with nothing left to do
restart
op2_login "$OP2_PW" "$(code op2)"
want 200
[ "$(jq -c .needs <<<"$BODY")" = "[]" ] || die "needs after enrolment: $BODY"
OP2=$(jq -r .token <<<"$BODY")
api GET /api/v1/users -H "$(auth "$ADM")"
jq -e '.[] | select(.name == "op2") | .mfa == "active" and
    .must_change_password == false' <<<"$BODY" >/dev/null || die "op2: $BODY"

# ---- settings: list, set; lockout and unlock ------------------------------------------
api GET /api/v1/config -H "$(auth "$AUD")"
want 200
jq -e '.[] | select(.key == "lockout.threshold") | .value == "5" and
    .default == "5" and .range == "3-20"' <<<"$BODY" >/dev/null ||
    die "config: $BODY"
api GET /api/v1/config -H "$(auth "$OP")"
want_err 403 denied
api PUT /api/v1/config/lockout.threshold -H "$(auth "$AUD")" "${JSON[@]}" \
    --data-binary '{"value":"3"}'
want_err 403 denied
api PUT /api/v1/config/lockout.threshold -H "$(auth "$ADM")" "${JSON[@]}" \
    --data-binary '{"value":3}'
want_err 400 invalid
api PUT /api/v1/config/lockout.threshold -H "$(auth "$ADM")" "${JSON[@]}" \
    --data-binary '{"value":"99"}'
want_err 400 invalid
api PUT '/api/v1/config/Lockout%21' -H "$(auth "$ADM")" "${JSON[@]}" \
    --data-binary '{"value":"3"}'
want_err 400 invalid
api PUT /api/v1/config/no.such.key -H "$(auth "$ADM")" "${JSON[@]}" \
    --data-binary '{"value":"3"}'
[ "$ST" = 404 ] || die "unknown setting: $ST $BODY"
api PUT /api/v1/config/lockout.threshold -H "Cookie: __Host-mamori_session=$ADM" \
    "${JSON[@]}" --data-binary '{"value":"3"}'
want_err 403 csrf
# (the CSRF key is new at each start: the session tells its token)
api GET /api/v1/session -H "Cookie: __Host-mamori_session=$ADM"
want 200
ADM_CSRF=$(jq -r .csrf <<<"$BODY")
api PUT /api/v1/config/lockout.threshold -H "Cookie: __Host-mamori_session=$ADM" \
    -H "X-CSRF-Token: $ADM_CSRF" "${JSON[@]}" --data-binary '{"value":"3"}'
want 200
[ "$(jq -r '.key + "=" + .value' <<<"$BODY")" = lockout.threshold=3 ] ||
    die "set: $BODY"
api GET /api/v1/config -H "$(auth "$ADM")"
jq -e '.[] | select(.key == "lockout.threshold") | .value == "3"' \
    <<<"$BODY" >/dev/null || die "not set: $BODY"
audit_has config.set
# without an approved device no one can lock an account, not even the only
# admin's: a login without a device proof, with a forged one or from a key
# that is not approved is refused before the password is looked at (403),
# whatever the name and the password, audited, and counted for nothing
nodev() { # nodev USER PASSWORD: a login without a device proof
    jq -n --arg u "$1" --arg p "$2" '{user:$u, password:$p, otp:"000000"}'
}
for i in 1 2 3 4 5 6; do
    api POST /api/v1/session "${JSON[@]}" --data-binary \
        "$(nodev admin "Wrong#Pass-000$i")"
    want_err 403 device_not_approved
    body_lacks "Wrong#Pass"
done
api POST /api/v1/session "${JSON[@]}" --data-binary "$(nodev ghost Wrong#Pass-0001)"
want_err 403 device_not_approved
newkey "$T/rogue.key"
b=$(DEVKEY="$T/rogue.key" login_body admin Wrong#Pass-0007)
api POST /api/v1/session "${JSON[@]}" --data-binary "$b"
want_err 403 device_not_approved
# the approved device's public key with another key's signature
b=$(DEVKEY="$T/rogue.key" login_body admin Wrong#Pass-0008)
b=$(jq --arg k "$(sed -n 's/^pk //p' "$DEVKEY")" '.device.public_key = $k' <<<"$b")
api POST /api/v1/session "${JSON[@]}" --data-binary "$b"
want_err 403 device_not_approved
api GET /api/v1/users -H "$(auth "$ADM")"
jq -e '.[] | select(.name == "admin") | .locked_until == null' <<<"$BODY" \
    >/dev/null || die "admin locked by logins without a device: $BODY"
api GET "/api/v1/audit?last=12" -H "$(auth "$AUD")"
want 200
jq -e '[.[] | select(.action == "login" and .outcome == "denied")] |
    length == 9 and
    (map(.detail) | unique == ["device not approved (device.required)",
                               "device proof failed"]) and
    (map(.user) | unique == ["", "admin"])' <<<"$BODY" >/dev/null ||
    die "device refusals, audit: $BODY"
body_lacks "Wrong#Pass"
# the real admin, password + code + approved device: in at once
restart
api_login admin "$ADMIN_PW"
ADM=$TOK
# from the approved device wrong passwords still count (lockout.threshold 3):
# three wrong passwords lock op2 out; an admin unlocks at once
for i in 1 2 3; do
    restart
    op2_login "Wrong#Pass-000$i" "$(code op2)"
    want_err 401 auth
done
restart
op2_login "$OP2_PW" "$(code op2)"
[ "$ST" = 401 ] || [ "$ST" = 403 ] || die "locked op2 logged in: $ST $BODY"
api GET /api/v1/users -H "$(auth "$ADM")"
jq -e '.[] | select(.name == "op2") | .locked_until != null' <<<"$BODY" \
    >/dev/null || die "not locked: $BODY"
# while locked, a password change is refused as the login is (no detail),
# before any password check, and lifts nothing
api POST /api/v1/session/password -H "$(auth "$OP2")" "${JSON[@]}" \
    --data-binary "$(jq -n --arg c "$OP2_PW" --arg n "$OP2_PW2" '{current:$c, new:$n}')"
want_err 401 auth
jq -e '.error | has("detail") | not' <<<"$BODY" >/dev/null ||
    die "passwd while locked: $BODY"
api GET /api/v1/users -H "$(auth "$ADM")"
jq -e '.[] | select(.name == "op2") | .locked_until != null' <<<"$BODY" \
    >/dev/null || die "passwd lifted the lock: $BODY"
api POST /api/v1/users/op2/unlock -H "$(auth "$OP")"
want_err 403 denied
api POST /api/v1/users/%2e%2e/unlock -H "$(auth "$ADM")"
want_err 400 invalid
api POST /api/v1/users/op%2F2/unlock -H "$(auth "$ADM")"
want_err 400 invalid
api POST /api/v1/users/nobody1/unlock -H "$(auth "$ADM")"
want_err 404 not_found
api POST /api/v1/users/op2/unlock -H "$(auth "$ADM")"
want 200
# not locked any more: said so
api POST /api/v1/users/op2/unlock -H "$(auth "$ADM")"
want_err 409 state
restart
op2_login "$OP2_PW" "$(code op2)"
want 200
OP2=$(jq -r .token <<<"$BODY")

# ---- users: disable, enable (off-boarding) ---------------------------------------------
api POST /api/v1/users/op2/disable -H "$(auth "$OP")"
want_err 403 denied
api POST /api/v1/users/op2/disable -H "$(auth "$AUD")"
want_err 403 denied
api POST /api/v1/users/op2/enable -H "$(auth "$AUD")"
want_err 403 denied
api POST /api/v1/users/nobody1/disable -H "$(auth "$ADM")"
want_err 404 not_found
api POST /api/v1/users/nobody1/enable -H "$(auth "$ADM")"
want_err 404 not_found
api POST /api/v1/users/%2e%2e/disable -H "$(auth "$ADM")"
want_err 400 invalid
api POST /api/v1/users/op2/enable -H "$(auth "$ADM")"
want_err 409 state
api POST /api/v1/users/op2/disable -H "Cookie: __Host-mamori_session=$ADM"
want_err 403 csrf
api POST /api/v1/users/op2/disable -H "$(auth "$ADM")"
want 200
jq -e '.user == "op2" and .disabled == true' <<<"$BODY" >/dev/null ||
    die "disable: $BODY"
audit_has user.disable
# op2's session has ended; a login answers as a wrong password does
api GET /api/v1/session -H "$(auth "$OP2")"
want_err 401 session
restart
op2_login "$OP2_PW" "$(code op2)"
want_err 401 auth
api GET /api/v1/users -H "$(auth "$ADM")"
jq -e '.[] | select(.name == "op2") | .disabled == true' <<<"$BODY" \
    >/dev/null || die "op2 not disabled: $BODY"
api POST /api/v1/users/op2/disable -H "$(auth "$ADM")"
want_err 409 state
contains "$(jq -r .error.detail <<<"$BODY")" "disabled already"
# the only admin: refused
api POST /api/v1/users/admin/disable -H "$(auth "$ADM")"
want_err 403 denied
contains "$(jq -r .error.detail <<<"$BODY")" "last admin"
api POST /api/v1/users/op2/enable -H "$(auth "$OP")"
want_err 403 denied
api POST /api/v1/users/op2/enable -H "$(auth "$ADM")"
want 200
jq -e '.user == "op2" and .disabled == false' <<<"$BODY" >/dev/null ||
    die "enable: $BODY"
audit_has user.enable
restart
op2_login "$OP2_PW" "$(code op2)"
want 200
OP2=$(jq -r .token <<<"$BODY")

# ---- users: reset ----------------------------------------------------------------------
api POST /api/v1/users/op2/reset -H "$(auth "$OP")" "${JSON[@]}" \
    --data-binary "$(jq -n --arg p "$OP2_PW2" '{password:$p}')"
want_err 403 denied
api POST /api/v1/users/op2/reset -H "$(auth "$ADM")" "${JSON[@]}" --data-binary '{}'
want_err 400 invalid
api POST /api/v1/users/op2/reset -H "$(auth "$ADM")" "${JSON[@]}" \
    --data-binary '{"password":"weak"}'
want_err 400 invalid
api POST '/api/v1/users/-op2/reset' -H "$(auth "$ADM")" "${JSON[@]}" \
    --data-binary "$(jq -n --arg p "$OP2_PW2" '{password:$p}')"
want_err 400 invalid
api POST /api/v1/users/op2/reset -H "$(auth "$ADM")" "${JSON[@]}" \
    --data-binary "$(jq -n --arg p "$OP2_PW2" '{password:$p}')"
want 200
api GET /api/v1/session -H "$(auth "$OP2")"
want_err 401 session
restart
op2_login "$OP2_PW2" "$(code op2)"
want 200
jq -e '.needs | index("password")' <<<"$BODY" >/dev/null || die "reset needs: $BODY"

# ---- devices ------------------------------------------------------------------------------
api GET /api/v1/devices -H "$(auth "$AUD")"
want 200
[ "$(jq -r 'length' <<<"$BODY")" = 1 ] || die "devices: $BODY"
[ "$(jq -r '.[0].state + "/" + .[0].requested_by' <<<"$BODY")" = approved/admin ] ||
    die "device: $BODY"
DEV1=$(jq -r '.[0].id' <<<"$BODY")
# the only approved device: revoking it would shut everyone out for good
api POST "/api/v1/devices/$DEV1/revoke" -H "$(auth "$ADM")"
want_err 403 denied
contains "$(jq -r .error.detail <<<"$BODY")" "device.required"
api GET /api/v1/devices -H "$(auth "$AUD")"
[ "$(jq -r '.[0].state' <<<"$BODY")" = approved ] || die "revoked: $BODY"
api GET /api/v1/devices -H "$(auth "$OP")"
want_err 403 denied
newkey "$T/dev2.key"
PK2=$(sed -n 's/^pk //p' "$T/dev2.key")
devreq() { # devreq USER PASSWORD OTP PK
    jq -n --arg u "$1" --arg p "$2" --arg o "$3" --arg k "$4" \
        '{user:$u, password:$p, otp:$o, name:"経理部 PC-3", public_key:$k}'
}
api POST /api/v1/devices "${JSON[@]}" \
    --data-binary "$(jq 'del(.public_key)' <<<"$(devreq op1 "$OP_PW" 000000 "$PK2")")"
want_err 400 invalid
api POST /api/v1/devices "${JSON[@]}" \
    --data-binary "$(devreq op1 "$OP_PW" 000000 "${PK2:0:62}zz")"
want_err 400 invalid
api POST /api/v1/devices "${JSON[@]}" \
    --data-binary "$(jq '.name = 5' <<<"$(devreq op1 "$OP_PW" 000000 "$PK2")")"
want_err 400 invalid
restart
api POST /api/v1/devices "${JSON[@]}" \
    --data-binary "$(devreq op1 "Wrong#Pass-0009" "$(code op1)" "$PK2")"
want_err 401 auth
restart
api POST /api/v1/devices -H 'Content-Type: text/plain' \
    --data-binary "$(devreq op1 "$OP_PW" "$(code op1)" "$PK2")"
want_err 415 unsupported_media_type
api POST /api/v1/devices "${JSON[@]}" \
    --data-binary "$(devreq op1 "$OP_PW" "$(code op1)" "$PK2")"
want 202
DEV2=$(jq -r .id <<<"$BODY")
[[ "$DEV2" =~ ^[0-9a-f-]{36}$ ]] || die "device request: $BODY"
[ "$(jq -r .state <<<"$BODY")" = pending ] || die "state: $BODY"
restart
api POST /api/v1/devices "${JSON[@]}" \
    --data-binary "$(devreq op1 "$OP_PW" "$(code op1)" "$PK2")"
want_err 409 exists
api GET /api/v1/devices -H "$(auth "$ADM")"
jq -e --arg id "$DEV2" '.[] | select(.id == $id) | .state == "pending" and
    .requested_by == "op1" and .name == "経理部 PC-3"' <<<"$BODY" >/dev/null ||
    die "pending device: $BODY"
api POST "/api/v1/devices/$DEV2/approve" -H "$(auth "$OP")"
want_err 403 denied
api POST "/api/v1/devices/$DEV2/approve" -H "$(auth "$AUD")"
want_err 403 denied
api POST /api/v1/devices/not-a-uuid/approve -H "$(auth "$ADM")"
want_err 400 invalid
api POST "/api/v1/devices/$(tr a-f A-F <<<"$DEV2")/approve" -H "$(auth "$ADM")"
want_err 400 invalid
api POST /api/v1/devices/00000000-0000-4000-8000-000000000000/approve \
    -H "$(auth "$ADM")"
want_err 404 not_found
api POST "/api/v1/devices/$DEV2/approve" -H "$(auth "$ADM")"
want 200
[ "$(jq -r .state <<<"$BODY")" = approved ] || die "approve: $BODY"
api POST "/api/v1/devices/$DEV2/approve" -H "$(auth "$ADM")"
want_err 409 state
audit_has device.approve
# a login from the new device names it; after revocation it is refused
DEVKEY0=$DEVKEY
DEVKEY=$T/dev2.key
restart
api_login op1 "$OP_PW"
OPD=$TOK
api GET /api/v1/session -H "$(auth "$OPD")"
want 200
api POST "/api/v1/devices/$DEV2/revoke" -H "$(auth "$OP")"
want_err 403 denied
api POST "/api/v1/devices/$DEV2/revoke" -H "$(auth "$ADM")"
want 200
[ "$(jq -r .state <<<"$BODY")" = revoked ] || die "revoke: $BODY"
api GET /api/v1/session -H "$(auth "$OPD")"
want_err 401 session
restart
api POST /api/v1/session "${JSON[@]}" --data-binary "$(login_body op1 "$OP_PW")"
[ "$ST" = 401 ] || [ "$ST" = 403 ] || die "revoked device logged in: $ST $BODY"
DEVKEY=$DEVKEY0

# ---- access review ---------------------------------------------------------------------
api GET /api/v1/access-review -H "$(auth "$AUD")"
want 200
jq -e '.[] | select(.user == "op2") | .role == "operator" and
    (.flags | index("initial_password"))' <<<"$BODY" >/dev/null ||
    die "review op2: $BODY"
jq -e '.[] | select(.user == "op1") | (.datasets | contains("people")) and
    .mfa == "active"' <<<"$BODY" >/dev/null || die "review op1: $BODY"
api GET /api/v1/access-review -H "$(auth "$ADM")"
want 200
api GET /api/v1/access-review -H "$(auth "$OP")"
want_err 403 denied

# ---- audit checkpoint ------------------------------------------------------------------
api GET /api/v1/audit/checkpoint -H "$(auth "$AUD")"
want 200
contains "$(hdr Content-Type)" "text/plain"
[ -n "$BODY" ] || die "empty checkpoint"
contains "$BODY" "$VID"
api GET /api/v1/audit/checkpoint -H "$(auth "$OP")"
want_err 403 denied
api GET /api/v1/audit/verify -H "$(auth "$AUD")"
want 200

# ---- verified entry ---------------------------------------------------------------------
restart
api_login op3 "$OP3_PW"
OP3=$TOK
records() { sqlite3 "$MAMORI_HOME/vault.db" 'SELECT count(*) FROM records'; }
before=$(records)
ENTRY1='{"name":"山田　太郎","kana":"やまだ　たろう","birth":"S55.4.1","phone":"０９０ー１２３４ー５６７８","note":"SYNTHNOTE-4471-QX"}'
api POST /api/v1/datasets/people/entries -H "$(auth "$OP")" "${JSON[@]}" \
    --data-binary "$ENTRY1"
want 201
EID=$(jq -r .id <<<"$BODY")
[[ "$EID" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]] ||
    die "entry id: $BODY"
[ "$(records)" = "$before" ] || die "an entry made a record"
api POST /api/v1/datasets/people/entries -H "$(auth "$OP")" "${JSON[@]}" \
    --data-binary '{}'
want_err 400 invalid
api POST /api/v1/datasets/people/entries -H "$(auth "$OP")" "${JSON[@]}" \
    --data-binary '{"name":5}'
want_err 400 invalid
api POST /api/v1/datasets/people/entries -H "$(auth "$OP")" "${JSON[@]}" \
    --data-binary '{"name":"x","birth":"2020-13-45"}'
want_err 400 invalid
body_lacks 2020-13-45
api POST /api/v1/datasets/people/entries -H "$(auth "$OP")" "${JSON[@]}" \
    --data-binary '{"name":"x", "phone": "03-1'
want_err 400 bad_json
api POST /api/v1/datasets/pe%2Fople/entries -H "$(auth "$OP")" "${JSON[@]}" \
    --data-binary '{"name":"x"}'
want_err 400 invalid
api POST /api/v1/datasets/people/entries -H "$(auth "$AUD")" "${JSON[@]}" \
    --data-binary '{"name":"x"}'
want_err 403 denied
api POST /api/v1/datasets/people/entries -H "$(auth "$ADM")" "${JSON[@]}" \
    --data-binary '{"name":"x"}'
want_err 403 denied
# the list names entries, never a value
api GET /api/v1/entries -H "$(auth "$OP3")"
want 200
jq -e --arg id "$EID" '.[] | select(.id == $id) | .entered_by == "op1" and
    .dataset == "people" and .version == 1' <<<"$BODY" >/dev/null ||
    die "entries: $BODY"
body_lacks SYNTHNOTE
api GET "/api/v1/entries?dataset=people" -H "$(auth "$AUD")"
want 200
[ "$(jq -r length <<<"$BODY")" = 1 ] || die "auditor's entries: $BODY"
api GET "/api/v1/entries?dataset=%2e%2e" -H "$(auth "$AUD")"
want_err 400 invalid
# the first operator may not verify their own keying
api POST "/api/v1/entries/$EID/verify" -H "$(auth "$OP")" "${JSON[@]}" \
    --data-binary "$ENTRY1"
want_err 403 denied
api POST /api/v1/entries/not-a-uuid/verify -H "$(auth "$OP3")" "${JSON[@]}" \
    --data-binary "$ENTRY1"
want_err 400 invalid
# a second keying that differs: 409 naming the fields, nothing made
api POST "/api/v1/entries/$EID/verify" -H "$(auth "$OP3")" "${JSON[@]}" \
    --data-binary '{"name":"山田 太郎","kana":"ﾔﾏﾀﾞ ﾀﾛｳ","birth":"1980-04-01","phone":"090-1234-9999","note":"SYNTHNOTE-4471-QX"}'
want_err 409 mismatch
[ "$(jq -c .error.fields <<<"$BODY")" = '["phone"]' ] || die "fields: $BODY"
body_lacks 9999
body_lacks 5678
[ "$(records)" = "$before" ] || die "a mismatch made a record"
# only the first operator amends
api PATCH "/api/v1/entries/$EID" -H "$(auth "$OP3")" "${JSON[@]}" \
    --data-binary '{"phone":"090-1234-9999"}'
want_err 403 denied
api PATCH "/api/v1/entries/$EID" -H "$(auth "$OP")" "${JSON[@]}" \
    --data-binary '{"phone":"090-0000-00000000"}'
want_err 400 invalid
api PATCH "/api/v1/entries/$EID" -H "$(auth "$OP")" "${JSON[@]}" \
    --data-binary '{"phone":"090-1234-9999"}'
want 200
[ "$(jq -r .amended <<<"$BODY")" = true ] || die "amend: $BODY"
api GET /api/v1/entries -H "$(auth "$OP")"
jq -e --arg id "$EID" '.[] | select(.id == $id) | .version == 2 and
    .mismatches == 1' <<<"$BODY" >/dev/null || die "after amend: $BODY"
# equal after normalisation (全角/半角, 和暦/ISO, かな/半角カナ): a record
api POST "/api/v1/entries/$EID/verify" -H "$(auth "$OP3")" "${JSON[@]}" \
    --data-binary '{"name":"山田 太郎","kana":"ﾔﾏﾀﾞ ﾀﾛｳ","birth":"1980-04-01","phone":"090-1234-9999","note":"SYNTHNOTE-4471-QX"}'
want 201
RID=$(jq -r .record_id <<<"$BODY")
[[ "$RID" =~ ^[0-9a-f-]{36}$ ]] || die "record id: $BODY"
[ "$(records)" = $((before + 1)) ] || die "verify made no record"
api GET "/api/v1/datasets/people/records/$RID" -H "$(auth "$OP")"
want 200
[ "$(jq -r '.birth + " " + .phone' <<<"$BODY")" = "1980-04-01 09012349999" ] ||
    die "verified record: $BODY"
api POST "/api/v1/entries/$EID/verify" -H "$(auth "$OP3")" "${JSON[@]}" \
    --data-binary '{"name":"山田 太郎"}'
want_err 404 not_found

# ---- export requests --------------------------------------------------------------------
exreq() { # exreq REASON [FORMAT]
    jq -n --arg r "$1" --arg f "${2:-zip}" \
        '{dataset:"people", reason:$r, format:$f}'
}
api POST /api/v1/exports -H "$(auth "$OP")" "${JSON[@]}" \
    --data-binary "$(exreq 'payroll for the client')"
want 201
XID=$(jq -r .id <<<"$BODY")
[[ "$XID" =~ ^[0-9]+$ ]] || die "export id: $BODY"
[ "$(jq -r .state <<<"$BODY")" = pending ] || die "export state: $BODY"
api POST /api/v1/exports -H "$(auth "$OP")" "${JSON[@]}" \
    --data-binary "$(jq -n '{dataset:"people", format:"zip"}')"
want_err 400 invalid
api POST /api/v1/exports -H "$(auth "$OP")" "${JSON[@]}" \
    --data-binary "$(exreq 'for the client' tar)"
want_err 400 invalid
api POST /api/v1/exports -H "$(auth "$OP")" "${JSON[@]}" \
    --data-binary "$(exreq 'call 090-1234-5678')"
want_err 400 invalid
body_lacks 5678
api POST /api/v1/exports -H "$(auth "$OP")" "${JSON[@]}" \
    --data-binary "$(exreq 'for the client' cms)"
want_err 400 invalid
api POST /api/v1/exports -H "$(auth "$OP")" "${JSON[@]}" \
    --data-binary "$(jq '.search_field = "name"' <<<"$(exreq 'one person')")"
want_err 400 invalid
api POST /api/v1/exports -H "$(auth "$OP")" "${JSON[@]}" \
    --data-binary "$(jq '.dataset = "../x"' <<<"$(exreq 'x')")"
want_err 400 invalid
api POST /api/v1/exports -H "$(auth "$AUD")" "${JSON[@]}" \
    --data-binary "$(exreq 'for the client')"
want_err 403 denied
api POST /api/v1/exports -H "$(auth "$OP")" "${JSON[@]}" \
    --data-binary "$(jq '.search_field = "name" | .search_value = "山田 太郎"' \
        <<<"$(exreq 'one person')")"
want 201
XID2=$(jq -r .id <<<"$BODY")
api GET /api/v1/exports -H "$(auth "$AUD")"
want 200
jq -e --arg id "$XID2" '.[] | select((.id|tostring) == $id) |
    .search_field == "name" and .state == "pending" and .requester == "op1"' \
    <<<"$BODY" >/dev/null || die "ledger: $BODY"
body_lacks "山田"
api GET /api/v1/exports -H "$(auth "$OP3")"
want 200
[ "$BODY" = "[]" ] || die "op3 sees op1's requests: $BODY"
# approval: an admin only; ids are checked first
api POST "/api/v1/exports/$XID/approve" -H "$(auth "$OP")"
want_err 403 denied
api POST "/api/v1/exports/$XID/approve" -H "$(auth "$AUD")"
want_err 403 denied
for bad in abc 0 -1 01 1e3 99999999999999999999; do
    api POST "/api/v1/exports/$bad/approve" -H "$(auth "$ADM")"
    want_err 400 invalid
done
api POST /api/v1/exports/999999/approve -H "$(auth "$ADM")"
want_err 404 not_found
api POST "/api/v1/exports/$XID/mark" -H "$(auth "$ADM")" "${JSON[@]}" \
    --data-binary '{"state":"returned"}'
want_err 409 state
api POST "/api/v1/exports/$XID/approve" -H "$(auth "$ADM")"
want 200
[ "$(jq -r .state <<<"$BODY")" = approved ] || die "approve: $BODY"
api POST "/api/v1/exports/$XID/approve" -H "$(auth "$ADM")"
want_err 409 state
api POST "/api/v1/exports/$XID2/reject" -H "$(auth "$OP")"
want_err 403 denied
api POST "/api/v1/exports/$XID2/reject" -H "$(auth "$ADM")"
want 200
[ "$(jq -r .state <<<"$BODY")" = rejected ] || die "reject: $BODY"
api POST "/api/v1/exports/$XID2/approve" -H "$(auth "$ADM")"
want_err 409 state
# the run is not in the API yet: the CLI runs it, then the ledger is marked
srv_stop
as op1
login op1 "$OP_PW"
ok export run "$XID" --out "$T/people.zip"
[ -s "$T/people.zip" ] || die "no export file"
if [ "$(id -u)" -eq 0 ]; then chown -R nobody: "$MAMORI_HOME"; fi
srv_start
api POST "/api/v1/exports/$XID/mark" -H "$(auth "$ADM")" "${JSON[@]}" \
    --data-binary '{"state":"lost"}'
want_err 400 invalid
api POST "/api/v1/exports/$XID/mark" -H "$(auth "$ADM")" "${JSON[@]}" \
    --data-binary '{}'
want_err 400 invalid
api POST "/api/v1/exports/$XID/mark" -H "$(auth "$OP")" "${JSON[@]}" \
    --data-binary '{"state":"destroyed"}'
want_err 403 denied
api POST "/api/v1/exports/$XID/mark" -H "$(auth "$ADM")" "${JSON[@]}" \
    --data-binary '{"state":"destroyed"}'
want 200
api GET /api/v1/exports -H "$(auth "$OP")"
jq -e --arg id "$XID" '.[] | select((.id|tostring) == $id) |
    .state == "destroyed" and .marked_by == "admin" and .count >= 1' \
    <<<"$BODY" >/dev/null || die "marked: $BODY"

# ---- backups ----------------------------------------------------------------------------
api GET /api/v1/backups -H "$(auth "$AUD")"
want 200
[ "$BODY" = "[]" ] || die "backups before any: $BODY"
api POST /api/v1/backups -H "$(auth "$OP")"
want_err 403 denied
api POST /api/v1/backups -H "$(auth "$AUD")"
want_err 403 denied
api POST /api/v1/backups -H "$(auth "$ADM")"
want 201
BK=$(jq -r .file <<<"$BODY")
[[ "$BK" == "$MAMORI_HOME"/backups/mamori-*.mbak ]] || die "backup file: $BODY"
[ -s "$BK" ] || die "no backup written"
[ "$(jq -r .kind <<<"$BODY")" = data ] || die "kind: $BODY"
[[ "$(jq -r .file_sha256 <<<"$BODY")" =~ ^[0-9a-f]{64}$ ]] || die "sha: $BODY"
api GET /api/v1/backups -H "$(auth "$AUD")"
want 200
[ "$(jq -r '.[0].file' <<<"$BODY")" = "$BK" ] || die "backup list: $BODY"
# a listing reads headers only: no file SHA-256 is known, none is shown
jq -e '.[0] | has("file_sha256") | not' <<<"$BODY" >/dev/null ||
    die "backup list file_sha256: $BODY"
api GET /api/v1/backups -H "$(auth "$OP")"
want_err 403 denied
audit_has backup.create

srv_stop
echo "api_admin: all passed"
