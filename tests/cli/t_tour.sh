# The README tour: every command of the contract, by each role.
. "$ROOT/tests/cli/lib.sh"
new_vault
[ "$(stat -c %a "$KEY")" = 400 ] || die "key file not 0400"

ok record add people name='山田　太郎' kana='やまだ　たろう' birth='昭和55年4月1日' \
    postal='１００－０００１' phone='090-1234-5678' email='taro@example.jp' \
    mynumber=123456789018 note='メモ'
id=$OUT
[[ "$id" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]] \
    || die "record id is not a UUID v4: $id"
ok record add people name='佐藤 花子' kana='ｻﾄｳ ﾊﾅｺ' phone='03-1234-5678'
id2=$OUT
[ "$id" != "$id2" ] || die "ids repeat"

ok --json record get people "$id"
contains "$OUT" "\"id\":\"$id\""
contains "$OUT" '"birth":"1980-04-01"'
contains "$OUT" '"postal":"100-0001"'
contains "$OUT" '"mynumber":"123456789018"'

# normalised exact search: kana typed in hiragana finds the record
ok --json record search people kana='ﾔﾏﾀﾞ ﾀﾛｳ'
contains "$OUT" "$id"
lacks "$OUT" "$id2"
ok --json record search people phone='０９０ー１２３４ー５６７８'
contains "$OUT" "$id"
ok --json record search people name='佐藤花子'
contains "$OUT" "$id2"
ok --json record search people kana='タナカ'
[ "$OUT" = "[]" ] || die "search for absent value returned: $OUT"

ok record update people "$id" phone='080-9999-0000'
ok --json record get people "$id"
contains "$OUT" '"phone":"08099990000"'
contains "$OUT" '"version":2'
ok --json record search people phone='090-1234-5678'
[ "$OUT" = "[]" ] || die "old phone still indexed"

ok record delete people "$id2"
rc_is 3 record get people "$id2"

# auditor reads the log, never records
login aud1 "$AUD_PW"
ok audit show --last 5
ok --json audit show
contains "$OUT" '"action":"record.get"'
lacks "$OUT" '山田'
lacks "$OUT" '123456789018'
# the filters, as the API has them: user, action (or a prefix), times
ok --json audit show --user op1 --action record.update
[ "$(jq 'length' <<<"$OUT")" = 1 ] || die "user+action: $OUT"
jq -e 'all(.user == "op1" and .action == "record.update")' <<<"$OUT" >/dev/null ||
    die "user+action: $OUT"
ok --json audit show --action record.
jq -e 'length >= 5 and all(.action | startswith("record."))' <<<"$OUT" \
    >/dev/null || die "action prefix: $OUT"
ok --json audit show --action record. --last 2
[ "$(jq 'length' <<<"$OUT")" = 2 ] || die "--last with a filter: $OUT"
[ "$(jq -r '.[1].action' <<<"$OUT")" = record.get ] || die "newest: $OUT"
today=$(date -d "@$MAMORI_TEST_NOW" +%F)
ok --json audit show --from "$today" --to "$today" --user op1
jq -e 'length >= 5' <<<"$OUT" >/dev/null || die "today: $OUT"
ok --json audit show --to 2001-01-01
[ "$OUT" = "[]" ] || die "before 2001: $OUT"
ok --json audit show --from 2000-01-01T00:00:00Z --user nobody-here
[ "$OUT" = "[]" ] || die "no such user: $OUT"
for bad in 2026-13-01 2026-02-30 yesterday 2026-1-1 2026-01-01T25:00:00Z \
    2026-01-01T10:00:00 +2026-01-01; do
    rc_is 2 audit show --from "$bad"
    contains "$ERR" "--from"
done
rc_is 2 audit show --from 2026-02-02 --to 2026-02-01
contains "$ERR" "--to is before --from"
rc_is 5 audit show --user "$(printf 'u%.0s' $(seq 70))"
rc_is 2 audit show --last 1 --last 2
contains "$ERR" "--last given twice"
rc_is 5 audit checkpoint --out "$MAMORI_HOME/cp"
contains "$ERR" "vault's own directory"
rc_is 5 audit checkpoint --out "$KEY"
[ -s "$KEY" ] || die "the key file was replaced"
ok audit checkpoint --out "$T/cp"
ok audit verify --checkpoint "$T/cp"
ok audit verify
rc_is 4 record get people "$id"

login admin "$ADMIN_PW"
ok user list
contains "$OUT" op1
ok dataset list
contains "$OUT" people
ok logout
rc_is 4 user list
