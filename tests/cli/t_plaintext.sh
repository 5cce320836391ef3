# No plaintext at rest: known values are found in no file of the vault home
# nor of the temp dir, in UTF-8 or in their canonical forms.
. "$ROOT/tests/cli/lib.sh"
export TMPDIR="$T/tmp"
mkdir -p "$TMPDIR"
new_vault
# rows whose address holds a quoted comma are left out: read splits on commas
"$SYNTH" --count 60 --seed 7 >"$T/all.csv"
awk '!/"/ && n < 50 { print; n++ }' "$T/all.csv" >"$T/people.csv"
values=()
while IFS=, read -r name kana birth postal address phone email mynumber; do
    ok record add people name="$name" kana="$kana" birth="$birth" \
        postal="$postal" phone="$phone" email="$email" mynumber="$mynumber" \
        note="$address"
    values+=("$name" "$kana" "$email" "$mynumber" "${phone//-/}" "$address")
done <"$T/people.csv"
# leave WAL content in place (no checkpoint) and look everywhere
hits=0
for v in "${values[@]}"; do
    [ -n "$v" ] || continue
    if grep -rlaF -- "$v" "$MAMORI_HOME" "$TMPDIR" "$HOME" >/dev/null 2>&1; then
        echo "found a value in: $(grep -rlaF -- "$v" "$MAMORI_HOME" "$TMPDIR" "$HOME")" >&2
        hits=$((hits + 1))
    fi
done
[ "$hits" -eq 0 ] || die "$hits plaintext values at rest"
[ "${#values[@]}" -ge 300 ] || die "too few values checked"
# the values are really in the vault
ok --json record search people name="${values[0]}"
contains "$OUT" "${values[3]}"
