# Least privilege through the binary (docs/access.md): viewers see masked
# values, only the designated handler sees and handles My Numbers, a
# dataset can require a stated purpose, the admin cap, break-glass with a
# second admin. Then every file the test produced is searched for the My
# Numbers used: the handler's own record output is the only place allowed.
. "$ROOT/tests/cli/lib.sh"
export TMPDIR="$T/tmp"
mkdir -p "$TMPDIR"
# Every stdout and stderr capture is kept in $T/captures for the search at
# the end (lib.sh's $T/out and $T/err hold the last command's only).
eval "lib_$(declare -f mam)"
eval "lib_$(declare -f mam_in)"
KEEP=1
mam() {
    lib_mam "$@"
    if [ "$KEEP" = 1 ]; then cat "$T/out" "$T/err" >>"$T/captures"; fi
}
mam_in() {
    lib_mam_in "$@"
    if [ "$KEEP" = 1 ]; then cat "$T/out" "$T/err" >>"$T/captures"; fi
}
MN=123456789018
MN2=987654321000
HAND_PW='Kiri#Tanpo-8812'
VIEW_PW='Sakura#Momo-4455'
OP2_PW='Kestrel#58x-Wq'
ADMIN2_PW='Second#Keeper-77'

new_vault
as admin
# op1: granted "people", not (or no longer) a My Number handler of it
ok dataset grant people op1
ok_in "$INIT_PW" user add hand1 --role operator
ok_in "$INIT_PW" user add view1 --role viewer
ok_in "$INIT_PW" user add op2 --role operator
ok --json dataset grant people hand1 --handler
contains "$OUT" '"handler":true'
ok dataset grant people view1
rc_is 5 dataset grant people view1 --handler
contains "$ERR" "only operators"
rc_is 5 dataset grant people aud1
# a client or purpose that is not UTF-8 is named as such
rc_is 5 dataset create badtext --client "x$(printf '\xff\xfe')" \
    --purpose '問合せ対応' --field name:name
contains "$ERR" "client: not valid UTF-8"
rc_is 5 dataset create badtext --client 'テスト商事' \
    --purpose "y$(printf '\x80')" --field name:name
contains "$ERR" "purpose: not valid UTF-8"
ok dataset create asked --client 'テスト商事' --purpose '問合せ対応' \
    --field name:name:search --require-reason
ok dataset grant asked op1
ok dataset create staff --client 'テスト商事' --purpose '年末調整' \
    --field name:name:search --field mynumber:mynumber:search \
    --field corp:corpnumber
ok dataset grant staff op1
ok dataset grant staff hand1 --handler
ok dataset grant staff view1
ok --json dataset list
contains "$OUT" '"name":"asked"'
contains "$OUT" '"require_reason":true'

# the admin cap: two admins, not three
ok_in "$INIT_PW" user add admin2 --role admin
mam_in "$INIT_PW" user add admin3 --role admin
[ "$RC" -eq 4 ] || die "a third admin: exit $RC"
contains "$ERR" "admin.max is 2"
ok --json user list
lacks "$OUT" '"admin3"'
ok config get admin.max
[ "$OUT" = 2 ] || die "admin.max default: $OUT"
rc_is 5 config set admin.max 9

first_login hand1 "$HAND_PW"
first_login view1 "$VIEW_PW"
first_login op2 "$OP2_PW"
first_login admin2 "$ADMIN2_PW"

# the handler enters a record with a My Number (on stdin: not in ps)
as hand1
ok_in "name=山田 太郎
kana=やまだ たろう
birth=昭和55年4月1日
postal=100-0001
phone=090-1234-5678
email=taro@example.jp
mynumber=$MN
note=電話で確認済み" record add people --stdin
id=$OUT
KEEP=0 # the one output allowed to hold the My Number
ok --json record get people "$id"
KEEP=1
contains "$OUT" "\"mynumber\":\"$MN\""
contains "$OUT" '"masked":false'
mv "$T/out" "$T/handler-get.out"
ok_in "name=佐藤 花子
mynumber=$MN
corp=7000012050002" record add staff --stdin
sid=$OUT
KEEP=0
ok_in "mynumber=$MN" --json record search staff --stdin
KEEP=1
contains "$OUT" "\"id\":\"$sid\""
cat "$T/out" >>"$T/handler-get.out"
: >"$T/out"
OUT=

# a viewer: every value masked, search works, nothing else
as view1
ok --json record get people "$id"
for want in '"masked":true' '"name":"山田　＊＊"' '"kana":"ヤマダ　＊＊"' \
    '"birth":"1980-**-**"' '"postal":"100-****"' '"phone":"090-****-5678"' \
    '"email":"t***@example.jp"' '"mynumber":"********9018"' \
    '"note":"＊＊＊"'; do
    contains "$OUT" "$want"
done
ok record get people "$id"
contains "$OUT" "masked: yes"
ok --json record search people name='山田太郎'
contains "$OUT" '"name":"山田　＊＊"'
contains "$OUT" "\"id\":\"$id\""
mam_in "mynumber=$MN" record search staff --stdin
[ "$RC" -eq 4 ] || die "viewer searched by My Number: exit $RC"
# nor by a field it sees masked, which would tell the hidden part one
# guess at a time; the reading is fine
rc_is 4 record search people phone=090-1234-5678
contains "$ERR" "viewer"
lacks "$ERR" "1234"
ok --json record search people kana=ヤマダタロウ
contains "$OUT" "\"id\":\"$id\""
ok --json record get staff "$sid"
contains "$OUT" '"corp":"*********0002"'
contains "$OUT" '"mynumber":"********9018"'
rc_is 4 record add people name='閲覧 太郎'
rc_is 4 record update people "$id" note=x
rc_is 4 record delete people "$id"
ok dataset list
contains "$OUT" people
lacks "$OUT" asked

# an operator who is no handler: My Number masked, and not theirs to handle
as op1
ok --json record get people "$id"
contains "$OUT" '"name":"山田　太郎"'
contains "$OUT" '"mynumber":"********9018"'
contains "$OUT" '"masked":true'
mam_in "name=鈴木 一郎
mynumber=$MN2" record add people --stdin
[ "$RC" -eq 4 ] || die "operator entered a My Number: exit $RC"
contains "$ERR" '"mynumber"'
contains "$ERR" "handlers"
mam_in "mynumber=$MN" record search staff --stdin
[ "$RC" -eq 4 ] || die "operator searched by My Number: exit $RC"
contains "$ERR" "search by My Number"
ok --json record get staff "$sid"
contains "$OUT" '"corp":"7000012050002"'
contains "$OUT" '"mynumber":"********9018"'
rc_is 4 record update people "$id" mynumber=
rc_is 4 record delete people "$id"
contains "$ERR" "holds a My Number"
ok record update people "$id" note='住所変更の連絡あり'

# an operator without a grant, the auditor, the admin: no record at all
as op2
rc_is 4 record get people "$id"
ok dataset list
lacks "$OUT" people
as aud1
rc_is 4 record get people "$id"
ok --json dataset grants people
contains "$OUT" '"user":"hand1","role":"operator","handler":true'
contains "$OUT" '"user":"view1","role":"viewer","handler":false'
as admin
rc_is 4 record get people "$id"
contains "$ERR" "breakglass"

# purpose of access
as op1
ok record add asked name='高橋 三郎'
id2=$OUT
rc_is 5 record get asked "$id2"
contains "$ERR" "requires a reason"
ok --reason '月次確認 11月分' record get asked "$id2"
contains "$OUT" '高橋'
mam --reason "本人 $MN の件" record get asked "$id2"
[ "$RC" -eq 5 ] || die "a reason with a My Number: exit $RC"
contains "$ERR" "personal data"
# an email address (full-width too), bad UTF-8, a control character: each
# refused before the operation, naming the rule, never the value
for r in 'vixskhic@example.com' '宛先 ｖｉｘｓｋｈｉｃ＠ｅｘａｍｐｌｅ．ｃｏｍ'; do
    rc_is 5 --reason "$r" record get asked "$id2"
    contains "$ERR" "--reason: invalid value: reason: must not hold personal data (it looks like an email address)"
    lacks "$ERR" "vixskhic"
    lacks "$ERR" "ｖｉｘ"
done
rc_is 5 --reason "bg$(printf '\xff\xfe\x80')" record get asked "$id2"
contains "$ERR" "reason: not valid UTF-8"
rc_is 5 --reason "$(printf 'a\tb')" record get asked "$id2"
contains "$ERR" "reason: control character"
rc_is 5 --json --reason 'vixskhic@example.com' record search asked name=高橋三郎
printf '%s' "$OUT" | jq -e '.error.code == "invalid" and
    (.error.detail | contains("email address"))' >/dev/null ||
    die "--json refusal: $OUT"
# an '@' that is no address is fine
ok --reason 'meeting @ 10am' record get asked "$id2"

# break-glass: asked by one admin, approved by the other
as admin
rc_is 2 breakglass request people
ok breakglass request people --reason '源泉徴収票 期限 担当不在'
bg=$(printf '%s\n' "$OUT" | head -n 1)
rc_is 4 breakglass approve "$bg"
contains "$ERR" "different admin"
rc_is 2 breakglass approve not-a-number
rc_is 4 record get people "$id"
as admin2
ok breakglass approve "$bg"
rc_is 4 record get people "$id"
as admin
ok --json record get people "$id"
contains "$OUT" '"name":"山田　太郎"'
contains "$OUT" '"mynumber":"********9018"'
rc_is 4 record add people name='管理 太郎'
ok --json breakglass list
contains "$OUT" "\"id\":$bg"
contains "$OUT" '"state":"active"'
contains "$OUT" '"approver":"admin2"'
as aud1
ok breakglass list
contains "$OUT" active
as op1
rc_is 4 breakglass list
as admin
ok breakglass close "$bg"
rc_is 4 record get people "$id"

# the log: every step, every refusal, no value
as aud1
ok --json audit show
cp "$T/out" "$T/audit.json"
lacks "$OUT" "vixskhic"
lacks "$OUT" "ｖｉｘ"
for want in '"action":"breakglass.request"' '"action":"breakglass.approve"' \
    '"action":"breakglass.close"' "\"detail\":\"break-glass $bg\"" \
    '"detail":"reason: 月次確認 11月分"' '"detail":"reason: meeting @ 10am"' \
    'My Number, not a handler' 'admin.max 2 reached' \
    '"action":"session.reason","dataset":"","outcome":"denied","detail":"reason refused: an email address"' \
    '"detail":"reason refused: not valid UTF-8"' \
    '"detail":"reason refused: control character"' \
    '"detail":"reason refused: a run of digits"'; do
    contains "$OUT" "$want"
done
# each refused reason is one entry: 2 emails, bad UTF-8, a tab, the --json
# one and the My Number
[ "$(jq '[.[] | select(.action == "session.reason")] | length' "$T/audit.json")" = 6 ] ||
    die "session.reason entries: $(jq -c '[.[] | select(.action == "session.reason")]' "$T/audit.json")"
n=$(grep -o '"outcome":"denied"' "$T/audit.json" | wc -l)
[ "$n" -ge 18 ] || die "expected >= 18 denied entries, got $n"
ok audit verify

# no My Number anywhere but in the handler's own record output
[ -s "$T/captures" ] || die "no captures kept"
hits=$(grep -rlaF -e "$MN" -e "$MN2" "$T" | grep -vxF "$T/handler-get.out" ||
    true)
[ -z "$hits" ] || die "My Number found in: $hits"
grep -qaF -- "$MN" "$T/handler-get.out" || die "the search cannot see it"
