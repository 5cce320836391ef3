# Each role's refusals are refused, audited, and change nothing.
. "$ROOT/tests/cli/lib.sh"
new_vault
ok record add people name='山田 太郎' mynumber=123456789018
id=$OUT
ok_in "$INIT_PW" --session "$T/session-admin" user add op2 --role operator

# operator: no user or dataset management, no audit, no ungranted dataset
rc_is 4 user add eve --role admin
rc_is 4 user list
rc_is 4 dataset create x --client c --purpose p --field a:text
rc_is 4 dataset grant people op1
rc_is 4 audit show
rc_is 4 audit verify

# operator 2 is not granted the dataset
first_login op2 'Kestrel#58x-Wq'
rc_is 4 record get people "$id"
rc_is 4 record search people name='山田太郎'
rc_is 4 record add people name='不正 太郎'
ok dataset list
lacks "$OUT" people

# admin manages but cannot read personal data
login admin "$ADMIN_PW"
rc_is 4 record get people "$id"
rc_is 4 record search people name='山田太郎'
rc_is 4 record add people name='管理 太郎'
rc_is 4 record update people "$id" name='管理 太郎'
rc_is 4 record delete people "$id"

# auditor: log only
login aud1 "$AUD_PW"
rc_is 4 record get people "$id"
rc_is 4 user add eve --role operator
rc_is 4 dataset create y --client c --purpose p --field a:text

# every refusal is in the log
ok --json audit show
n=$(printf '%s' "$OUT" | grep -o '"outcome":"denied"' | wc -l)
[ "$n" -ge 17 ] || die "expected >= 17 denied entries, got $n"
ok audit verify

# nothing changed: one record, op1 still reads it
login op1 "$OP_PW"
ok --json record get people "$id"
contains "$OUT" '"name":"山田　太郎"'
ok --json dataset list
contains "$OUT" '"records":1'
