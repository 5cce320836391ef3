# Crash safety: a writer adding records in a loop is killed with SIGKILL at
# random moments, 20 times; every id it reported is readable afterwards and
# the audit chain verifies.
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
login aud1 "$AUD_PW"
ok audit verify
echo "$n reported ids all readable"
