# Initial passwords, passwd, lockout and unlock, settings, session
# revocation, reset: through the real binary, with the library's test clock.
. "$ROOT/tests/cli/lib.sh"
export MAMORI_TEST_HOOKS=1 MAMORI_TEST_NOW=$(date +%s)
new_vault
ok record add people name='山田 太郎' mynumber=123456789018

# a new operator's initial password: only passwd is allowed
as admin
ok_in "$INIT_PW" user add op2 --role operator
contains "$OUT" "must change"
ok dataset grant people op2
as op2
ok_in "$INIT_PW" --json login --user op2
contains "$OUT" '"must_change_password":true'
rc_is 4 record search people name='山田太郎'
contains "$ERR" "mamori passwd"
# wrong current password; rule-breaking new ones name the rule, not value
mam_in "Not-The-Pass1!
Fresh#Passw0rd-x" passwd
[ "$RC" -eq 4 ] || die "wrong current password: exit $RC"
mam_in "$INIT_PW
short1A!" passwd
[ "$RC" -eq 5 ] || die "short password: exit $RC"
contains "$ERR" "shorter than"
lacks "$ERR" "short1A!"
mam_in "$INIT_PW
nouppercase-123!" passwd
[ "$RC" -eq 5 ] || die "no upper case: exit $RC"
lacks "$ERR" "nouppercase"
ok_in "$INIT_PW
Lantern#73-Qvzk" passwd
rc_is 4 record search people name='山田太郎'
contains "$ERR" "mfa enroll"
enrol op2
ok --json record search people name='山田太郎'
contains "$OUT" '"name":"山田　太郎"'

# five failures lock the account, the right password is then refused too
for i in 1 2 3 4 5; do
    mam_in "Wrong-Pass-12$i!" login --user op2
    [ "$RC" -eq 4 ] || die "wrong password accepted"
done
mam_in "Lantern#73-Qvzk" login --user op2
[ "$RC" -eq 4 ] || die "locked account logged in"
# the answer is the same as for a user that does not exist
locked_err=$ERR
mam_in "Lantern#73-Qvzk" login --user nosuchuser
[ "$ERR" = "$locked_err" ] || die "locked and unknown answer differently"
as admin
ok user list
contains "$OUT" "locked"
ok --json audit show --last 20
contains "$OUT" '"action":"user.lock"'
contains "$OUT" '"detail":"account locked"'
ok user unlock op2
contains "$OUT" "Unlocked op2."
# unlocking an account that is not locked says so
rc_is 1 user unlock op2
contains "$ERR" "not locked"
lacks "$OUT" "Unlocked"
as op2
login op2 "Lantern#73-Qvzk"

# without an approved device (no key file here) no one can lock an
# account: refused before the password (device.required), whatever the
# name and the password, and counted for nothing; the admin then logs in
# from the approved device at once
for i in 1 2 3 4 5 6; do
    MAMORI_DEVICE_KEY="$T/no-such.key" mam_in "Wrong-Pass-12$i!" \
        login --user admin --otp 000000
    [ "$RC" -eq 4 ] || die "login without a device: exit $RC"
    contains "$ERR" "device is not approved"
done
dev_err=$ERR
MAMORI_DEVICE_KEY="$T/no-such.key" mam_in "Wrong-Pass-121!" \
    login --user nosuchuser
[ "$ERR" = "$dev_err" ] || die "no device: unknown user answers differently"
login admin "$ADMIN_PW"
ok --json user list
jq -e '.[] | select(.name == "admin") | .locked_until == null' <<<"$OUT" \
    >/dev/null || die "admin locked by logins without a device: $OUT"
ok --json audit show --last 12
jq -e '[.[] | select(.action == "login" and .outcome == "denied")]
    | length == 7 and all(.detail == "device not approved (device.required)")' \
    <<<"$OUT" >/dev/null || die "device refusals, audit: $OUT"
lacks "$OUT" "Wrong-Pass"
lacks "$OUT" "user.lock"
as op2

# passwd is no way around the lockout: wrong current passwords count as
# failed logins; while locked even the right one is refused, with the
# login's answer, and the password and the lock stay as they are
for i in 1 2 3 4 5; do
    mam_in "Wrong-Pass-12$i!
Other#Passw0rd-9x" passwd
    [ "$RC" -eq 4 ] || die "passwd with a wrong current password: exit $RC"
done
mam_in "Lantern#73-Qvzk
Other#Passw0rd-9x" passwd
[ "$RC" -eq 4 ] || die "passwd while locked: exit $RC"
[ "${ERR#mamori: passwd: }" = "${locked_err#mamori: login: }" ] ||
    die "passwd while locked answers unlike login: $ERR / $locked_err"
lacks "$OUT" "Password changed"
as admin
ok --json user list
jq -e '.[] | select(.name == "op2") | .locked_until != null' <<<"$OUT" \
    >/dev/null || die "passwd lifted the lock: $OUT"
ok --json audit show --last 5
jq -e 'map(select(.action == "passwd")) | last |
    .outcome == "denied" and .detail == "auth: account locked"' \
    <<<"$OUT" >/dev/null || die "passwd while locked, audit: $OUT"
ok user unlock op2
as op2
tick
mam_in "Other#Passw0rd-9x" login --user op2 --otp "$(code op2)"
[ "$RC" -eq 4 ] || die "the password changed while locked"
login op2 "Lantern#73-Qvzk"

# or wait: 15 minutes on the test clock (the admin's session idles out)
for i in 1 2 3 4 5; do mam_in "Wrong-Pass-12$i!" login --user op2; done
mam_in "Lantern#73-Qvzk" login --user op2
[ "$RC" -eq 4 ] || die "locked account logged in"
MAMORI_TEST_NOW=$((MAMORI_TEST_NOW + 16 * 60))
as admin
login admin "$ADMIN_PW"
as op2
login op2 "Lantern#73-Qvzk"

# settings: the auditor reads, the admin changes, the log has old and new
as aud1
login aud1 "$AUD_PW"
ok config get lockout.threshold
[ "$OUT" = 5 ] || die "default threshold: $OUT"
rc_is 4 config set lockout.threshold 3
as admin
rc_is 5 config set lockout.threshold 99
contains "$ERR" "3-20"
rc_is 3 config set no.such.setting 1
contains "$ERR" "no setting of that name"
ok config set lockout.threshold 03
contains "$OUT$ERR" "lockout.threshold is now 3."
ok config set lockout.threshold 3
ok --json config list
contains "$OUT" '"key":"lockout.threshold","value":"3","default":"5"'
ok --json audit show --last 3
contains "$OUT" '"detail":"lockout.threshold: 5 -> 3"'

# the periodic access review: auditor and admin, flags what needs a look
ok --json access review
contains "$OUT" '"user":"op1","role":"operator","mfa":"active","devices":0,"datasets":"people(handler)"'
contains "$OUT" '"user":"admin","role":"admin","mfa":"active","devices":1'
ok access review
contains "$OUT" "4 users, 0 needing attention"
as op2
rc_is 4 access review
as admin

# the admin sees and ends sessions
ok --json session list
contains "$OUT" '"user":"op2"'
ok session revoke --user op2
contains "$OUT" "Every session of op2 has ended."
as op2
rc_is 4 record search people name='山田太郎'
as admin
rc_is 2 session revoke
rc_is 3 session revoke 0123456789abcdef
# nothing live: said so, not "ended"
rc_is 3 session revoke --user op2
contains "$ERR" "no live session"
lacks "$OUT" "ended"
# an id and --user at once: one or the other
rc_is 2 session revoke 0123456789abcdef --user op2
contains "$ERR" "not both"

# a forgotten password: reset, generated, must be changed again
ok --json user reset op2 --generate
pw=$(printf '%s' "$OUT" | sed -n 's/.*"password":"\([^"]*\)".*/\1/p')
[ ${#pw} -eq 20 ] || die "generated password: ${#pw} chars"
as op2
login op2 "$pw"
contains "$OUT" "mamori passwd"
rc_is 4 record search people name='山田太郎'

# off-boarding (異動・退職): a disabled user's sessions end at once and a
# login answers as a wrong password does; enabled, the same password works
as op1
login op1 "$OP_PW"
as admin
login admin "$ADMIN_PW"
ok user disable op1
contains "$OUT$ERR" "Disabled op1"
as op1
rc_is 4 record search people name='山田太郎'
tick
mam_in "$OP_PW" login --user op1 --otp "$(code op1)"
[ "$RC" -eq 4 ] || die "a disabled user logged in: exit $RC"
[ "$ERR" = "$locked_err" ] || die "disabled and unknown answer differently: $ERR"
as admin
ok user list
contains "$OUT" "disabled"
ok --json user list
jq -e '.[] | select(.name == "op1") | .disabled == true' <<<"$OUT" \
    >/dev/null || die "op1 not disabled: $OUT"
# nothing to change: said so
rc_is 1 user disable op1
contains "$ERR" "disabled already"
lacks "$OUT" "Disabled"
ok --json audit show --last 6
jq -e 'map(select(.action == "user.disable")) | .[0].outcome == "ok" and
    (.[0].detail | test("^user op1: disabled, [1-9] sessions ended$")) and
    .[1].outcome == "error"' <<<"$OUT" >/dev/null ||
    die "user.disable, audit: $OUT"
ok --json user enable op1
jq -e '.user == "op1" and .disabled == false' <<<"$OUT" >/dev/null ||
    die "enable: $OUT"
rc_is 1 user enable op1
contains "$ERR" "not disabled"
as op1
login op1 "$OP_PW"
ok record search people name='山田太郎'
# only admins; never the last admin, nor one's own account
as aud1
rc_is 4 user disable op1
as admin
rc_is 3 user disable nobody
rc_is 4 user disable admin
contains "$ERR" "last admin"
ok_in "$INIT_PW" user add admin2 --role admin
first_login admin2 "Zweit#Admin-3391"
as admin
rc_is 4 user disable admin
contains "$ERR" "your own account"
as admin2
ok user disable admin
as admin
rc_is 4 user list
as admin2
ok user enable admin
ok --json audit show --last 3
contains "$OUT" '"action":"user.enable"'
as admin
login admin "$ADMIN_PW"

# nothing above left a password in the vault's files or the audit log
for f in "$MAMORI_HOME"/* "$T"/err "$T"/out; do
    for p in "$INIT_PW" "Lantern#73-Qvzk" "$pw" "Wrong-Pass-12"; do
        if grep -aqF -- "$p" "$f"; then die "password found in $f"; fi
    done
done
