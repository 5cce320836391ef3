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
# no untranslated or fuzzy entries in the catalog
stats=$(msgfmt --statistics -o /dev/null "$ROOT/po/ja.po" 2>&1)
lacks "$stats" "untranslated"
lacks "$stats" "fuzzy"
