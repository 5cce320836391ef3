# Messages are Japanese under a Japanese locale and English otherwise; the
# Japanese catalog covers every message.
. "$ROOT/tests/cli/lib.sh"
new_vault
mam record get people 00000000-0000-4000-8000-000000000000
[ "$RC" -eq 3 ] || die "exit $RC"
contains "$ERR" "not found"
LC_ALL=ja_JP.UTF-8 LANG=ja_JP.UTF-8 mam record get people \
    00000000-0000-4000-8000-000000000000
[ "$RC" -eq 3 ] || die "exit $RC"
lacks "$ERR" "not found"
contains "$ERR" "見つかりません"
LC_ALL=ja_JP.UTF-8 mam help record search
contains "$OUT" "使い方"
LC_ALL=ja_JP.UTF-8 mam record add people birth=平成31年5月1日
[ "$RC" -eq 5 ] || die "exit $RC"
contains "$ERR" "birth"
# the rule a value broke, too (平成 ended on 30 April 2019)
contains "$ERR" "項目「birth」: その元号の期間外の日付です"
mam record add people birth=平成31年5月1日
contains "$ERR" 'field "birth": date is outside its era'
# an import's problems name line, column and rule in Japanese
printf 'name,phone\n山田 一郎,12\n' >"$T/bad.csv"
LC_ALL=ja_JP.UTF-8 mam import people "$T/bad.csv"
[ "$RC" -ne 0 ] || die "bad import passed"
contains "$ERR$OUT" "2 行目、列 phone: 0 か +81 で始まらなければなりません"
lacks "$ERR" "rows rejected"
# the library's details come whole in Japanese: the rule too, not only
# the frame around it
J() { LC_ALL=ja_JP.UTF-8 LANG=ja_JP.UTF-8 mam "$@"; }
J record add people nosuch=1
[ "$RC" -eq 5 ] || die "exit $RC"
contains "$ERR" "項目「nosuch」: データセットにない項目です"
lacks "$ERR" "no such field"
J record add people name='山田 太郎' name='山田 次郎'
contains "$ERR" "項目「name」: 2 回指定されています"
lacks "$ERR" "given twice"
J record get people not-a-uuid
contains "$ERR" "レコード ID: UUID ではありません"
lacks "$ERR" "not a UUID"
J record get nosuch 00000000-0000-4000-8000-000000000000
contains "$ERR" "その名前のデータセットはありません"
lacks "$ERR" "no dataset"
J record search people birth=2000-01-01
contains "$ERR" "項目「birth」: 検索できない項目です"
lacks "$ERR" "not searchable"
# --json carries the same Japanese detail, as valid UTF-8 JSON
J --json record add people nosuch=1
printf '%s' "$OUT" | jq -e '.error.detail == "項目「nosuch」: データセットにない項目です"' \
    >/dev/null || die "JSON detail: $OUT"
# role refusals
J config list
[ "$RC" -eq 4 ] || die "exit $RC"
contains "$ERR" "役割 operator は config.list を実行できません"
lacks "$ERR" "may not do"
as admin
J record get people 00000000-0000-4000-8000-000000000000
[ "$RC" -eq 4 ] || die "exit $RC"
contains "$ERR" "admin は個人データを閲覧しません"
lacks "$ERR" "admins do not"
# password rules
LC_ALL=ja_JP.UTF-8 mam_in 'short1A!' user add bob --role operator
[ "$RC" -eq 5 ] || die "exit $RC"
contains "$ERR" "パスワード: 10 文字未満です"
lacks "$ERR" "shorter than"
LC_ALL=ja_JP.UTF-8 mam_in 'abcdefghijkl' user add bob --role operator
contains "$ERR" "パスワード: 英大文字が必要です"
lacks "$ERR" "needs an"
# an import's file problems, and a verify file's mismatches
as op1
printf 'name,zzz\n山田 一郎,1\n' >"$T/hdr.csv"
J import people "$T/hdr.csv"
[ "$RC" -ne 0 ] || die "bad header passed"
contains "$ERR" "見出し: 不明な列です"
lacks "$ERR$OUT" "unknown column"
printf 'name,phone\n山田 一郎,0312345678\n' >"$T/a.csv"
printf 'name,phone\n山田 一郎,0312345679\n' >"$T/b.csv"
J import people "$T/a.csv" --verify-against "$T/b.csv"
[ "$RC" -ne 0 ] || die "mismatch passed"
contains "$ERR" "照合用ファイルと異なります (照合用ファイルの 2 行目)"
lacks "$ERR$OUT" "differs from"
# the audit log keeps its details in English
as op1
J record add people birth=2024-13-01
contains "$ERR" "項目「birth」: 月は 1 から 12 までです"
as aud1
ok --json audit show
contains "$OUT" "field birth: month must be 1 to 12"
lacks "$OUT" "月は"
# no untranslated or fuzzy entries in the catalog
stats=$(msgfmt --statistics -o /dev/null "$ROOT/po/ja.po" 2>&1)
lacks "$stats" "untranslated"
lacks "$stats" "fuzzy"
