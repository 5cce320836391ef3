# mamorid: import uploads never hold libmicrohttpd's threads nor the vault
# (issue 5). The body goes to an encrypted spool first and is imported once
# complete: during a slow upload record reads and adds answer at once, and
# no clear text of it is on disk (the vault home, files under /tmp written
# meanwhile, the server's open files); with one MHD thread, slow uploads
# must not stall other requests; SIGTERM during slow uploads stops the
# server at once, imports nothing and leaves an audit log that verifies; a
# client killed mid-upload imports nothing.
. "$ROOT/tests/cli/lib.sh"
. "$ROOT/tests/cli/api_lib.sh"

new_vault
as admin
synth_dataset bulk
synth_dataset slow
as op1
ok record add people name='山田 太郎' kana='ヤマダ タロウ' phone='090-1111-2222'
ID1=$OUT
# ~2 MB: at 50 kB/s an upload lasts ~40 s, far longer than this test waits
$SYNTH --count 20000 --seed 5 --header >big.csv
[ "$(stat -c %s big.csv)" -gt 1500000 ] || die "big.csv too small"
# ~300 kB, every e-mail address carrying a marker found nowhere else: at
# 20 kB/s an upload of ~15 s
MARK="spoolmark$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
$SYNTH --count 3000 --seed 9 --header |
    sed -E "s/,([a-z0-9._-]+)@example/,$MARK\1@example/" >slow.csv
[ "$(grep -c "$MARK" slow.csv)" = 3000 ] || die "slow.csv: no marker"
[ "$(stat -c %s slow.csv)" -gt 280000 ] || die "slow.csv too small"
api_setup
tick
# up1: mamorid with one MHD thread; op1's token in OP, the admin's in ADM
up1() {
    srv_start --threads 1
    api_login op1 "$OP_PW"
    OP=$TOK
    api_login admin "$ADMIN_PW"
    ADM=$TOK
}
up1


# slow N: N uploads of big.csv at 50 kB/s in the background (pids in UP)
slow() {
    local i
    UP=()
    for i in $(seq "$1"); do
        curl -sS --cacert "$T/cert.pem" -o "$T/up$i.out" -w '%{http_code}' \
            -H "$(auth "$OP")" -H 'Content-Type: text/csv' \
            --limit-rate 50k --data-binary @big.csv \
            "https://localhost:$PORT/api/v1/datasets/bulk/import" >"$T/up$i.st" \
            2>/dev/null &
        UP+=($!)
    done
}
reap() { # reap: ends the background uploads (killed if still running)
    local p
    for p in "${UP[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    for p in "${UP[@]}"; do wait "$p" 2>/dev/null || true; done
    UP=()
}
quick() { # quick CURL-ARGS...: one request that must answer within 2 s
    local st
    st=$(curl -sS --max-time 2 --cacert "$T/cert.pem" -o "$T/q.out" \
        -w '%{http_code}' "$@") || die "no answer within 2 s: ${*: -1}"
    [ "$st" = "${WANT:-200}" ] ||
        die "want ${WANT:-200}, got $st: $(cat "$T/q.out")"
}
[ "$(ds_records bulk)" = 0 ] || die "bulk not empty"

# ---- one slow upload: the vault stays free, no clear text on disk ---------
# Before issue 5 the import held the vault's lock while its body trickled
# in: every record read and write waited for it.
touch "$T/stamp"
curl -sS --cacert "$T/cert.pem" -o "$T/slow.out" -w '%{http_code}' \
    -H "$(auth "$OP")" -H 'Content-Type: text/csv' --limit-rate 20k \
    --data-binary @slow.csv \
    "https://localhost:$PORT/api/v1/datasets/slow/import" >"$T/slow.st" \
    2>/dev/null &
SLOW=$!
sleep 3
kill -0 "$SLOW" 2>/dev/null || die "the slow upload ended early"
for i in 1 2 3; do
    nm=$(sed -n "${i}p" <<<$'佐藤 花子\n鈴木 一郎\n高橋 次郎')
    quick -H "$(auth "$OP")" "https://localhost:$PORT/api/v1/datasets/people/records/$ID1"
    WANT=201 quick -H "$(auth "$OP")" -H 'Content-Type: application/json' \
        --data-binary "{\"name\":\"$nm\",\"phone\":\"03-1234-567$i\"}" \
        "https://localhost:$PORT/api/v1/datasets/people/records"
done
kill -0 "$SLOW" 2>/dev/null || die "the slow upload ended early"
# the marker in no file: the vault home, what was written under /tmp since
# the upload began (the CSV itself aside), the files mamorid holds open
# (its spool is an anonymous file: only /proc reaches it)
hits=$(grep -rlF -e "$MARK" "$MAMORI_HOME" 2>/dev/null || true)
[ -z "$hits" ] || die "the marker in the vault home: $hits"
hits=$(find /tmp -xdev -type f -newer "$T/stamp" ! -path "$T/slow.csv" \
    -print0 2>/dev/null | xargs -0r grep -lF -e "$MARK" 2>/dev/null || true)
[ -z "$hits" ] || die "the marker under /tmp: $hits"
nspool=0
for f in /proc/"$SRV"/fd/*; do
    [ -f "$f" ] || continue
    case "$(readlink "$f")" in *upload-spool*) nspool=$((nspool + 1)) ;; esac
    ! grep -qF -e "$MARK" "$f" 2>/dev/null ||
        die "the marker in mamorid's open file $(readlink "$f")"
done
[ "$nspool" = 1 ] || die "want one open spool file, got $nspool"
[ -d "$MAMORI_HOME/upload-spool" ] || die "no upload-spool directory"
[ "$(stat -c %a "$MAMORI_HOME/upload-spool")" = 700 ] ||
    die "upload-spool not 0700"
[ -z "$(ls -A "$MAMORI_HOME/upload-spool")" ] || die "a named spool file"
wait "$SLOW" || die "the slow upload failed"
[ "$(cat "$T/slow.st")" = 200 ] ||
    die "slow upload: $(cat "$T/slow.st") $(head -c 400 "$T/slow.out")"
[ "$(jq -r .imported "$T/slow.out")" = 3000 ] || die "slow upload: $(cat "$T/slow.out")"
[ "$(ds_records slow)" = 3000 ] || die "slow upload: record count"

# ---- 4 slow uploads: other requests still answer ------------------------
# Their bodies go to their spools; before the spool, the first import held
# the vault while it waited for its slow body and the other three stopped
# reading: with the one MHD thread stalled, every connection was.
slow 4
sleep 8
for p in "${UP[@]}"; do kill -0 "$p" 2>/dev/null || die "an upload ended early"; done
quick "https://localhost:$PORT/healthz"
quick "https://localhost:$PORT/healthz"
grep -qx ok "$T/q.out" || die "healthz: $(cat "$T/q.out")"
quick -H "$(auth "$OP")" "https://localhost:$PORT/api/v1/datasets/people/records/$ID1"

# ---- SIGTERM during the slow uploads: exit 0 within 10 s ------------------
start=$(date +%s.%N)
srv_stop
echo "SIGTERM with 4 uploads: $(awk -v a="$start" -v b="$(date +%s.%N)" \
    'BEGIN { printf "%.1f", b - a }') s"
reap
for i in 1 2 3 4; do
    [ "$(cat "$T/up$i.st")" != 200 ] || die "upload $i answered 200"
done
# the vault, shared with the CLI again: nothing imported, the log verifies
as admin
login admin "$ADMIN_PW"
ok audit verify
ok dataset list
tick

# ---- a client killed mid-upload: nothing imported, the server answers -----
up1
[ "$(ds_records bulk)" = 0 ] || die "SIGTERM: records were imported"
api GET "/api/v1/audit?last=20" -H "$(auth "$ADM")"
want 200
BODY=$(jq -c '[.[] | select(.action == "import" and .dataset == "bulk")
    | {outcome, detail}]' <<<"$BODY")
echo "audit: $(jq -c '[.[] | .outcome]' <<<"$BODY")"
nimp=$(jq 'length' <<<"$BODY")
[ "$nimp" -ge 1 ] || die "no import in the audit log: $BODY"
[ "$(jq '[.[] | select(.outcome == "ok")] | length' <<<"$BODY")" = 0 ] ||
    die "an import audited ok: $BODY"
slow 2
sleep 6 # both still sending to their spools
for p in "${UP[@]}"; do
    kill -0 "$p" 2>/dev/null ||
        die "an upload ended early: $(cat "$T"/up*.st)"
done
kill -9 "${UP[@]}"
reap
sleep 1
quick "https://localhost:$PORT/healthz"
quick -H "$(auth "$OP")" "https://localhost:$PORT/api/v1/datasets/people/records/$ID1"
[ "$(ds_records bulk)" = 0 ] || die "killed upload: records were imported"
api GET /api/v1/audit/verify -H "$(auth "$ADM")"
want 200
# a complete upload still works after all this (and the server stops)
head -101 big.csv >small.csv
api POST /api/v1/datasets/bulk/import -H "$(auth "$OP")" \
    -H 'Content-Type: text/csv' --data-binary @small.csv
want 200
[ "$(jq -r .imported <<<"$BODY")" = 100 ] || die "import: $BODY"
[ "$(ds_records bulk)" = 100 ] || die "import: record count"
kill -0 "$SRV" || die "mamorid died"
srv_stop

# ---- refused uploads: no slot held, no body past the limit ----------------
# 20 uploads with a bad token whose bodies never end (a trickle): each is
# answered by its handler at once, and its slot is free again although its
# bytes still come; before, each held one of the 16 upload slots until its
# body ended, and a real import got 503 busy.
tick
srv_start --threads 2 --upload-max 2000000
api_login op1 "$OP_PW"
OP=$TOK
UP=()
for i in $(seq 20); do
    curl -sS --cacert "$T/cert.pem" -o /dev/null -X POST -T /dev/zero \
        --limit-rate 2k -H 'Authorization: Bearer not-a-token' \
        -H 'Content-Type: text/csv' \
        "https://localhost:$PORT/api/v1/datasets/bulk/import" 2>/dev/null &
    UP+=($!)
done
sleep 3
for p in "${UP[@]}"; do kill -0 "$p" 2>/dev/null || die "a trickle ended early"; done
api POST /api/v1/datasets/bulk/import -H "$(auth "$OP")" \
    -H 'Content-Type: text/csv' --data-binary @small.csv
want 200
[ "$(jq -r .rows <<<"$BODY")" = 100 ] || die "import beside trickles: $BODY"
reap
# Upload slots: 16 in all, 4 per session. A probe declares a body over
# --upload-max: given a slot, it gets its 413 before any body is read,
# and changes nothing; without one, the refusal of the slot.
before=$(ds_records bulk)
trickle() { # trickle TOKEN: a real session's upload whose body never ends
    curl -sS --cacert "$T/cert.pem" -o /dev/null -X POST -T /dev/zero \
        --limit-rate 1k -H "$(auth "$1")" -H 'Content-Type: text/csv' \
        "https://localhost:$PORT/api/v1/datasets/bulk/import" 2>/dev/null &
    UP+=($!)
}
probe() { # probe TOKEN WANT: probes until the answer is WANT (10 s at most)
    for _ in $(seq 100); do
        api POST /api/v1/datasets/bulk/import -H "$(auth "$1")" \
            -H 'Content-Type: text/csv' -H 'Accept-Language: ja' \
            -H 'Content-Length: 5000000' --data-binary x
        [ "$ST" = "$2" ] && return
        [ "$ST" = 413 ] || die "probe: HTTP $ST $BODY"
        sleep 0.1
    done
    die "probe: no $2 after 10 s"
}
# five sessions of op1: each login takes a one-time code of its own, and
# the server's clock moves only when it starts again (MAMORI_TEST_NOW)
SESS=()
for i in 1 2 3 4 5; do
    srv_stop
    tick
    srv_start --threads 2 --upload-max 2000000
    api_login op1 "$OP_PW"
    SESS+=("$TOK")
done
UP=()
for i in 1 2 3 4; do trickle "${SESS[0]}"; done
# the first session holds its 4: its fifth is refused, another's is not
probe "${SESS[0]}" 429
[ "$(ecode)" = rate_limited ] || die "session share: $BODY"
[ "$(hdr Retry-After)" = 5 ] || die "session share: Retry-After $(hdr Retry-After)"
[ "$(jq -r .error.request_id <<<"$BODY")" = "$(hdr X-Request-Id)" ] ||
    die "session share: request id: $BODY"
api POST /api/v1/datasets/bulk/import -H "$(auth "${SESS[1]}")" \
    -H 'Content-Type: text/csv' -H 'Content-Length: 5000000' --data-binary x
want_err 413 too_big
# every slot taken: the next upload is answered 503 busy at once, in its
# language, with its id
for t in "${SESS[1]}" "${SESS[2]}" "${SESS[3]}"; do
    for i in 1 2 3 4; do trickle "$t"; done
done
probe "${SESS[4]}" 503
[ "$(ecode)" = busy ] || die "busy: $BODY"
[ "$(hdr Retry-After)" = 5 ] || die "busy: Retry-After $(hdr Retry-After)"
[ "$(jq -r .error.request_id <<<"$BODY")" = "$(hdr X-Request-Id)" ] ||
    die "busy: request id: $BODY"
[ "$(jq -r .error.message <<<"$BODY")" = "サーバーが混み合っています。しばらくしてから再試行してください" ] ||
    die "busy: message: $BODY"
reap
# the slots come back when the uploads end
probe "${SESS[4]}" 413
[ "$(ds_records bulk)" = "$before" ] || die "cut uploads imported rows"
# A refused upload sent at full speed without end is cut off at the limit
# (2 MB here) instead of being read for ever.
st=0
timeout 60 curl -sS --cacert "$T/cert.pem" -o /dev/null -X POST -T /dev/zero \
    -H 'Authorization: Bearer not-a-token' -H 'Content-Type: text/csv' \
    "https://localhost:$PORT/api/v1/datasets/bulk/import" 2>/dev/null || st=$?
[ "$st" != 124 ] || die "an endless refused upload was still read after 60 s"
[ "$st" != 0 ] || die "an endless upload ended well"
# a JSON body declared over 1 MiB: the 413 before the body is read
st=$(curl -sS --cacert "$T/cert.pem" -o "$T/big.out" -w '%{http_code}' \
    --max-time 20 -H "$(auth "$OP")" -H 'Content-Type: application/json' \
    -H 'Content-Length: 5000000' --data-binary '{"name":"x"}' \
    "https://localhost:$PORT/api/v1/datasets/people/records" 2>/dev/null || true)
[ "$st" = 413 ] || die "declared 5 MB JSON: want 413, got $st $(cat "$T/big.out")"
quick -H "$(auth "$OP")" "https://localhost:$PORT/api/v1/datasets/people/records/$ID1"
kill -0 "$SRV" || die "mamorid died"
srv_stop
