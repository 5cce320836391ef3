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
as op2
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
rc_is 5 config set no.such.setting 1
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
as op2
rc_is 4 record search people name='山田太郎'
as admin
rc_is 2 session revoke
rc_is 3 session revoke 0123456789abcdef

# a forgotten password: reset, generated, must be changed again
ok --json user reset op2 --generate
pw=$(printf '%s' "$OUT" | sed -n 's/.*"password":"\([^"]*\)".*/\1/p')
[ ${#pw} -eq 20 ] || die "generated password: ${#pw} chars"
as op2
login op2 "$pw"
contains "$OUT" "mamori passwd"
rc_is 4 record search people name='山田太郎'

# nothing above left a password in the vault's files or the audit log
for f in "$MAMORI_HOME"/* "$T"/err "$T"/out; do
    for p in "$INIT_PW" "Lantern#73-Qvzk" "$pw" "Wrong-Pass-12"; do
        if grep -aqF -- "$p" "$f"; then die "password found in $f"; fi
    done
done
