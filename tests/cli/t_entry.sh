# Verified double entry (ベリファイ入力) through the real binary: two
# operators key the same source; the record is made only when they agree
# after normalisation. Refusals, amendments, listing, expiry with the test
# clock, and no value in the vault file or the audit log.
. "$ROOT/tests/cli/lib.sh"
new_vault

as admin
ok_in "$INIT_PW" user add op2 --role operator
ok_in "$INIT_PW" user add op3 --role operator
ok_in "$INIT_PW" user add view1 --role viewer
ok dataset grant people op2
ok dataset grant people view1
first_login op2 'Second#Keyer-482'
first_login op3 'Third#Keyer-9931'
first_login view1 'Just#Looking-2207'

# records: the number of records of people (as the admin sees it)
records() {
    as admin
    ok --json dataset list
    printf '%s' "$OUT" | sed -n 's/.*"records":\([0-9]*\).*/\1/p'
}
# vault_has TEXT: whether TEXT is anywhere in the vault's files
vault_has() { grep -rqaF -- "$1" "$MAMORI_HOME"; }

before=$(records)
[ "$before" = 0 ] || die "records at start: $before"

# ---- match: 全角/半角, 和暦/ISO and かな/半角カナ keyed differently -------
as op1
ok entry start people name='山田　太郎' kana='やまだ　たろう' birth=S55.4.1 \
    phone='０９０ー１２３４ー５６７８' note='SYNTHNOTE-4471-QX'
id=$OUT
[[ "$id" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]] ||
    die "not an entry id: $id"
# the pending values are sealed: not in the file, WAL included (the id,
# stored in the clear, shows that the search works)
vault_has "$id" || die "vault_has finds nothing"
vault_has 'SYNTHNOTE-4471' && die "pending value in the clear on disk"
vault_has '1980-04-01' && die "pending date in the clear on disk"
[ "$(records)" = "$before" ] || die "start made a record"

# the same operator may not verify their own keying
as op1
rc_is 4 entry verify "$id" name='山田　太郎' kana='やまだ　たろう' \
    birth=S55.4.1 phone='０９０ー１２３４ー５６７８' note='SYNTHNOTE-4471-QX'
contains "$ERR" "another operator"
[ "$(records)" = "$before" ] || die "self-verification made a record"

as op2
ok entry verify "$id" name='山田 太郎' kana='ﾔﾏﾀﾞ ﾀﾛｳ' birth=1980-04-01 \
    phone=090-1234-5678 note='SYNTHNOTE-4471-QX'
rid=$OUT
[ ${#rid} -eq 36 ] || die "no record id: $rid"
[ "$(records)" = $((before + 1)) ] || die "verify made no record"
as op2
ok --json record get people "$rid"
contains "$OUT" '"name":"山田　太郎"'
contains "$OUT" '"kana":"ヤマダ　タロウ"'
contains "$OUT" '"birth":"1980-04-01"'
contains "$OUT" '"phone":"09012345678"'
contains "$OUT" '"note":"SYNTHNOTE-4471-QX"'
# the entry is gone
rc_is 3 entry verify "$id" name='山田 太郎'
vault_has 'SYNTHNOTE-4471' && die "record value in the clear on disk"

# ---- mismatch: names only, nothing made; amend, verify again -----------
as op1
ok --json entry start people name='佐藤 花子' birth=1991-02-03 phone=03-1111-2222
id2=$(printf '%s' "$OUT" | sed -n 's/.*"id":"\([0-9a-f-]*\)".*/\1/p')
[ ${#id2} -eq 36 ] || die "no id in: $OUT"
n=$(records)
as op2
rc_is 5 entry verify "$id2" name='佐藤　花子' birth=H3.2.13 phone=0311112222
contains "$ERR" "fields that differ: birth"
lacks "$ERR" "1991"
lacks "$ERR" "H3.2.13"
lacks "$ERR" "phone"
rc_is 5 --json entry verify "$id2" name='佐藤　花子' birth=H3.2.13 note=x
contains "$OUT" '"code":"mismatch"'
contains "$OUT" '"fields":["birth","phone","note"]'
lacks "$OUT" "1991"
lacks "$OUT" "03"
[ "$(records)" = "$n" ] || die "a mismatch made a record"
as op2
ok --json entry list people
contains "$OUT" "\"id\":\"$id2\""
contains "$OUT" '"mismatches":2'
contains "$OUT" '"entered_by":"op1"'
lacks "$OUT" "佐藤"
# only the first operator amends
rc_is 4 entry amend "$id2" birth=1991-02-13
contains "$ERR" "only the operator"
as op1
ok entry amend "$id2" birth=1991-02-13
ok --json entry list
contains "$OUT" '"version":2'
as op2
ok entry verify "$id2" name='佐藤　花子' birth=H3.2.13 phone=0311112222
rid2=$OUT
[ "$(records)" = $((n + 1)) ] || die "verify after amend made no record"
as op2
ok --json record get people "$rid2"
contains "$OUT" '"birth":"1991-02-13"'

# ---- values through --stdin, kept out of the process list ---------------
as op1
ok_in "name=鈴木 次郎
birth=2001-01-01" entry start people --stdin
id3=$OUT
as op2
ok_in "name=鈴木　次郎
birth=H13.1.1" entry verify "$id3" --stdin
[ ${#OUT} -eq 36 ] || die "stdin verify: $OUT"

# ---- who may: viewer, auditor, ungranted operator, admin -----------------
as op1
ok entry start people name='伊藤 三郎'
id4=$OUT
n=$(records)
for u in view1 aud1 op3 admin; do
    as "$u"
    rc_is 4 entry start people name='伊藤 三郎'
    rc_is 4 entry verify "$id4" name='伊藤 三郎'
    rc_is 4 entry amend "$id4" name='伊藤 三郎'
done
[ "$(records)" = "$n" ] || die "a refused verify made a record"
as view1
rc_is 4 entry list
as op3
ok --json entry list
[ "$OUT" = "[]" ] || die "ungranted operator sees entries: $OUT"
rc_is 4 entry list people
as aud1
ok entry list
contains "$OUT" "$id4"
lacks "$OUT" "伊藤"

# ---- invalid values: field and rule named, never the value -----------------
as op1
rc_is 5 entry start people name='木村 四郎' birth=2024-13-45
contains "$ERR" "birth"
lacks "$ERR" "2024-13-45"
rc_is 5 entry start people nosuchfield=1
contains "$ERR" "nosuchfield"
as op2
rc_is 5 entry verify "$id4" name='伊藤 三郎' phone=12ab
contains "$ERR" "phone"
lacks "$ERR" "12ab"
# malformed command lines
as op1
rc_is 2 entry start people
rc_is 2 entry start people name
contains "$ERR" "expected FIELD=VALUE"
rc_is 2 entry start people =x
rc_is 2 entry verify "$id4"
mam_in "no equals sign" entry start people --stdin
[ "$RC" -eq 2 ] || die "bad stdin line: exit $RC"
contains "$ERR" "line 1"
lacks "$ERR" "no equals sign"

# ---- unknown and malformed ids ---------------------------------------------
as op2
rc_is 3 entry verify 00000000-0000-4000-8000-000000000000 name=x
contains "$ERR" "no pending entry"
rc_is 5 entry verify not-an-id name=x
contains "$ERR" "entry id"
rc_is 5 entry verify "'; DROP TABLE entries; --" name=x
rc_is 3 entry amend 00000000-0000-4000-8000-000000000000 name=x

# ---- My Numbers: only handlers enter them ----------------------------------
as op2
rc_is 4 entry start people name='加藤 七子' mynumber=123456789018
contains "$ERR" "mynumber"
as op1
ok entry start people name='加藤 七子' mynumber=123456789018
id5=$OUT
as op2
rc_is 4 entry verify "$id5" name='加藤 七子' mynumber=123456789018
rc_is 4 entry verify "$id5" name='加藤 七子'
contains "$ERR" "My Number"
as admin
ok dataset grant people op2 --handler
as op2
ok entry verify "$id5" name='加藤　七子' mynumber='１２３４５６７８９０１８'

# ---- the audit log names entries and records, never values ---------------
as aud1
ok --json audit show
contains "$OUT" '"action":"entry.start"'
contains "$OUT" "entry $id2: fields differ: birth,phone,note"
contains "$OUT" "\"record_ids\":[\"$rid2\"]"
for v in SYNTHNOTE 山田 佐藤 鈴木 123456789018 木村 2024-13-45 H3.2.13; do
    lacks "$OUT" "$v"
done

# ---- expiry with the test clock ---------------------------------------------
as admin
ok config set entry.expire_hours 1
as op1
ok entry start people name='渡辺 八郎'
id6=$OUT
export MAMORI_TEST_NOW=$((MAMORI_TEST_NOW + 3700))
login op2 'Second#Keyer-482'
ok entry list
lacks "$OUT" "$id6"
contains "$OUT" "$id4" # started under 72 hours: its expiry does not move
rc_is 3 entry verify "$id6" name='渡辺 八郎'
login aud1 "$AUD_PW"
ok --json audit show
contains "$OUT" '"action":"entry.expire"'
contains "$OUT" "$id6"
lacks "$OUT" "渡辺"
ok audit verify
