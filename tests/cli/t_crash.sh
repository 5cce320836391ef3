# Crash safety: a writer adding records in a loop is killed with SIGKILL at
# random moments, 20 times; every id it reported is readable afterwards and
# the audit chain verifies. An export killed while it writes its file
# leaves nothing in the output directory.
. "$ROOT/tests/cli/lib.sh"
new_vault
: >"$T/ids"
for round in $(seq 1 20); do
    setsid bash -c '
        i=0
        while :; do
            i=$((i + 1))
            "$MAMORI" record add people name="山田 太郎" phone="090-1234-$(printf %04d $i)" \
                >>"$T/ids" 2>/dev/null </dev/null || true
        done' &
    pid=$!
    sleep "0.$(( (RANDOM % 9) + 1 ))$(( RANDOM % 10 ))"
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
done
ids=$(grep -E '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' "$T/ids" || true)
n=$(printf '%s\n' "$ids" | grep -c . || true)
[ "$n" -ge 20 ] || die "too few records committed across the crashes: $n"
for id in $ids; do
    ok record get people "$id"
done
echo "$n reported ids all readable"

# ---- SIGKILL while an export writes: no file, named or not, is left
as admin
synth_dataset bulk
$SYNTH --count 30000 --seed 3 --header >"$T/bulk.csv"
as op1
ok import bulk "$T/bulk.csv"
ok --quiet export request bulk --reason 'killed mid-write' --format zip
idk=$(printf '%s\n' "$OUT" | head -n1)
as admin
ok export approve "$idk"
as op1
O=$T/killed
mkdir -p "$O"
"$MAMORI" export run "$idk" --out "$O/bulk.zip" >/dev/null 2>&1 &
pid=$!
# killed while its output file is open and still has no name (a
# descriptor to "$O/#N (deleted)")
open_out=
for _ in $(seq 1000); do
    for fd in /proc/"$pid"/fd/*; do
        case "$(readlink "$fd" 2>/dev/null)" in "$O/#"*) open_out=1 ;; esac
    done
    [ -n "$open_out" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.005
done
kill -KILL "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
[ -n "$open_out" ] || die "the export ended before its file was seen open"
left=$(ls -A "$O")
if [ -z "$left" ]; then
    # the approval was not used up: the run goes through now
    ok export run "$idk" --out "$O/bulk.zip"
    contains "$OUT" "records: 30000"
else
    # the kill came just after the file was put in place: it is whole
    [ "$left" = bulk.zip ] || die "a killed export left: $left"
    echo "note: the kill landed after the export had finished"
fi
[ "$(ls -A "$O")" = bulk.zip ] || die "after the run: $(ls -A "$O")"
7z l "$O/bulk.zip" | grep -q '\.csv' || die "bulk.zip is not a whole archive"

login aud1 "$AUD_PW"
ok audit verify
