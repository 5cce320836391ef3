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
# no untranslated or fuzzy entries in the catalog
stats=$(msgfmt --statistics -o /dev/null "$ROOT/po/ja.po" 2>&1)
lacks "$stats" "untranslated"
lacks "$stats" "fuzzy"
