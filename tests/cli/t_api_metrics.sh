# The request context of audit entries over the API (client address and
# request id, tied to X-Request-Id and error bodies) and /metrics: the
# Prometheus text format, counters that move with requests, and who may
# read it (loopback, or an admin's or auditor's session from elsewhere).
. "$ROOT/tests/cli/lib.sh"
. "$ROOT/tests/cli/api_lib.sh"

new_vault
as op1
ok record add people name='山田 太郎' phone='090-1111-2222'
ID1=$OUT
api_setup
tick

# Listens on every address (TLS), so that a non-loopback client can be
# tried when this host has an address other than loopback.
OTHER=$(ip -4 -o addr show scope global 2>/dev/null |
    awk '{ sub(/\/.*/, "", $4); print $4; exit }')
"$MAMORID" --home "$MAMORI_HOME" --listen "0.0.0.0:0" \
    --tls-cert "$T/cert.pem" --tls-key "$T/key.pem" --key-file "$KEY" \
    "${RUNAS[@]}" "${LIMITS[@]}" 2>"$T/srv.err" &
SRV=$!
listening "$SRV" "$T/srv.err"

api_login op1 "$OP_PW"
OP=$TOK
api_login aud1 "$AUD_PW"
AUD=$TOK

# ---- the audit entry of a request names its client and request id --------
api GET "/api/v1/datasets/people/records/$ID1" -H "$(auth "$OP")"
want 200
RID=$(hdr X-Request-Id)
[[ "$RID" =~ ^[0-9a-f]{32}$ ]] || die "request id: $RID"
api GET "/api/v1/audit?last=50" -H "$(auth "$AUD")"
want 200
e=$(jq -c --arg r "$RID" '[.[] | select(.request_id == $r)]' <<<"$BODY")
[ "$(jq length <<<"$e")" = 1 ] || die "no single entry for request $RID: $BODY"
[ "$(jq -r '.[0] | .action + " " + .user + " " + .client + " " + .outcome' \
    <<<"$e")" = "record.get op1 127.0.0.1 ok" ] || die "entry: $e"
[ "$(jq -r '.[0].record_ids[0]' <<<"$e")" = "$ID1" ] || die "entry ids: $e"
# logins name them too
jq -e '[.[] | select(.action == "login" and .user == "aud1")][-1]
       | .client == "127.0.0.1" and (.request_id | test("^[0-9a-f]{32}$"))' \
    <<<"$BODY" >/dev/null || die "login entry without context: $BODY"
# an error names its request id in the body, and the refusal is logged
api GET "/api/v1/datasets/people/records/00000000-0000-4000-8000-000000000000" \
    -H "$(auth "$OP")"
want_err 404 not_found
RID2=$(hdr X-Request-Id)
[ "$(jq -r .error.request_id <<<"$BODY")" = "$RID2" ] ||
    die "error body without the request id: $BODY"
api GET "/api/v1/audit?last=50" -H "$(auth "$AUD")"
jq -e --arg r "$RID2" '[.[] | select(.request_id == $r)][0]
       | .action == "record.get" and .outcome == "error"' <<<"$BODY" \
    >/dev/null || die "no error entry for $RID2: $BODY"
# the CLI's entries name the CLI (read with the auditor's CLI session)
DB="$MAMORI_HOME/vault.db"
[ "$(audit_sql "$DB" "SELECT client FROM audit_v WHERE seq = 1")" = cli ] ||
    die "the CLI's first entry does not name the CLI"
# and the client column is sealed by the MAC
api GET /api/v1/audit/verify -H "$(auth "$AUD")"
want 200
[ "$(jq -r .ok <<<"$BODY")" = true ] || die "verify: $BODY"
seq_of=$(audit_sql "$DB" "SELECT seq FROM audit_v WHERE request_id = '$RID'")
audit_cols "$DB" "UPDATE audit_cols SET body = json_set(body, '\$.c', '198.51.100.9')
    WHERE seq = $seq_of"
api GET /api/v1/audit/verify -H "$(auth "$AUD")"
[ "$(ecode)" = tamper ] || die "changed client not found: $ST $BODY"
contains "$(jq -r .error.detail <<<"$BODY")" "entry $seq_of was altered"
audit_cols "$DB" "UPDATE audit_cols SET body = json_set(body, '\$.c', '127.0.0.1')
    WHERE seq = $seq_of"
api GET /api/v1/audit/verify -H "$(auth "$AUD")"
[ "$(jq -r .ok <<<"$BODY")" = true ] || die "verify after restore: $BODY"

# ---- /metrics ---------------------------------------------------------------
# metrics: the text of /metrics over loopback in $T/m (fails the test on
# anything but 200 and the 0.0.4 content type).
metrics() {
    api GET /metrics
    want 200
    contains "$(hdr Content-Type)" "text/plain; version=0.0.4"
    cp "$T/body" "$T/m"
}
# check_format FILE: every line a HELP, a TYPE, or a sample of a declared
# family; histogram buckets cumulative, +Inf equal to _count.
check_format() {
    awk '
    function fail(why) { print "bad metrics line " NR ": " why ": " $0; bad = 1; exit 1 }
    /^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .+$/ { next }
    /^# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram|summary|untyped)$/ {
        if ($3 in type) fail("family declared twice"); type[$3] = $4; next }
    /^#/ { fail("comment") }
    {
        if ($0 !~ /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? -?([0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?|\+Inf|NaN)$/)
            fail("syntax")
        name = $0; sub(/[{ ].*/, "", name)
        fam = name; sub(/_(bucket|sum|count)$/, "", fam)
        if (!(name in type) && !(fam in type && type[fam] == "histogram"))
            fail("no TYPE for " name)
        if (type[name] == "counter" && name !~ /_total$/) fail("counter name")
        val = $NF
        if (name ~ /_bucket$/) {
            key = $0; sub(/,?le="[^"]*"/, "", key); sub(/ [^ ]*$/, "", key)
            if (key == lastkey && val + 0 < last + 0) fail("bucket not cumulative")
            lastkey = key; last = val
            if ($0 ~ /le="\+Inf"/) inf[key] = val
        }
        if (name ~ /_count$/) { key = $0; sub(/_count/, "_bucket", key); sub(/ [^ ]*$/, "", key)
            if (!(key in inf) || inf[key] != val) fail("+Inf bucket differs from _count") }
        n++
    }
    END { if (!bad && n < 5) { print "too few samples: " n; exit 1 } }' "$1" ||
        die "metrics format"
}
# sample NAME-AND-LABELS: the value of one sample in $T/m (0 if absent).
sample() {
    awk -v k="$1" 'index($0, k " ") == 1 { print $NF; f = 1 } END { if (!f) print 0 }' "$T/m"
}
ROUTE='method="GET",route="/api/v1/datasets/{ds}/records/{id}"'
api GET /api/v1/nothing
want_err 404 no_route
metrics
check_format "$T/m"
ok0=$(sample "mamorid_requests_total{$ROUTE,status=\"200\"}")
nf0=$(sample "mamorid_requests_total{$ROUTE,status=\"404\"}")
cnt0=$(sample "mamorid_request_duration_seconds_count{$ROUTE}")
app0=$(sample mamorid_audit_appends_total)
rc0=$(sample mamorid_audit_read_commits_total)
[ "$ok0" -ge 1 ] && [ "$nf0" -ge 1 ] || die "record GETs not counted: $ok0 $nf0"
[ "$cnt0" -eq $((ok0 + nf0)) ] || die "histogram count $cnt0 != $ok0 + $nf0"
[ "$(sample mamorid_sessions_active)" -ge 3 ] || die "sessions: $(cat "$T/m")"
[ "$(sample mamorid_accounts_locked)" = 0 ] || die "locked accounts"
[ "$(sample mamorid_audit_failures_total)" = 0 ] || die "audit failures"
# The pool (server/pool.c): the default 16 threads. /metrics itself is not
# handled there; once the last pooled request (a login) has let go of its
# thread, none is busy and nothing waits.
[ "$(sample mamorid_pool_threads)" = 16 ] || die "pool: $(grep pool "$T/m")"
for _ in 1 2 3 4 5; do
    [ "$(sample mamorid_pool_busy)" = 0 ] && break
    sleep 0.2
    metrics
done
[ "$(sample mamorid_pool_busy)" = 0 ] && [ "$(sample mamorid_pool_queued)" = 0 ] ||
    die "pool: $(grep pool "$T/m")"
grep -q '^mamorid_requests_total{method="",route="none",status="404"} ' "$T/m" ||
    die "unmatched requests not counted as route none"
for _ in 1 2 3; do
    api GET "/api/v1/datasets/people/records/$ID1" -H "$(auth "$OP")"
    want 200
done
# and one of a record that is not there, one of a dataset that is not
# there: the read gate writes their entries too (a group commit, not a
# transaction of its own on the writer's lock)
api GET "/api/v1/datasets/people/records/7b2e4c1a-0f3d-4e5b-8a6c-9d1e2f3a4b5c" \
    -H "$(auth "$OP")"
want_err 404 not_found
api GET "/api/v1/datasets/nosuch/records/$ID1" -H "$(auth "$OP")"
want_err 404 not_found
metrics
check_format "$T/m"
[ "$(sample "mamorid_requests_total{$ROUTE,status=\"200\"}")" -eq $((ok0 + 3)) ] ||
    die "counter did not move by 3"
[ "$(sample "mamorid_requests_total{$ROUTE,status=\"404\"}")" -eq $((nf0 + 2)) ] ||
    die "404 counter did not move by 2"
[ "$(sample "mamorid_request_duration_seconds_count{$ROUTE}")" -eq $((cnt0 + 5)) ] ||
    die "histogram did not move by 5"
[ "$(sample "mamorid_request_duration_seconds_bucket{$ROUTE,le=\"+Inf\"}")" -eq $((cnt0 + 5)) ] ||
    die "+Inf bucket"
# 5 record reads and the metrics scrape itself is not audited: +5 at least
app1=$(sample mamorid_audit_appends_total)
[ "$app1" -ge $((app0 + 5)) ] || die "audit appends $app0 -> $app1"
# one after the other, each read is a group of its own
[ "$(sample mamorid_audit_read_commits_total)" -eq $((rc0 + 5)) ] ||
    die "read commits $rc0 -> $(sample mamorid_audit_read_commits_total)"
# the metrics hold no names or values
lacks "$(cat "$T/m")" "op1"
lacks "$(cat "$T/m")" "$ID1"

# a locked account shows (wrong passwords from the approved device: without
# one a login is refused before the password and counts for nothing)
for _ in 1 2 3 4 5; do
    api POST /api/v1/session "${JSON[@]}" --data-binary \
        "$(login_body aud1 Wrong-Pass-123!)"
done
metrics
[ "$(sample mamorid_accounts_locked)" = 1 ] || die "locked: $(grep locked "$T/m")"
[ "$(sample 'mamorid_requests_total{method="POST",route="/api/v1/session",status="401"}')" -ge 5 ] ||
    die "failed logins not counted"

# ---- who may read it from elsewhere ---------------------------------------
if [ -n "$OTHER" ]; then
    far() { # far CURL-ARGS...: GET /metrics from $OTHER
        ST=$(curl -sS --cacert "$T/cert.pem" -o "$T/body" -D "$T/hdr" \
            -w '%{http_code}' --resolve "localhost:$PORT:$OTHER" "$@" \
            "https://localhost:$PORT/metrics") || die "curl from $OTHER"
        BODY=$(cat "$T/body")
    }
    far
    want_err 401 session
    far -H "Authorization: Bearer not-a-token"
    want_err 401 session
    far -H "$(auth "$OP")"
    want_err 403 denied
    far -H "$(auth AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA)"
    [ "$ST" = 401 ] || die "unknown session: $ST $BODY"
    far -H "$(auth "$AUD")"
    want 200
    cp "$T/body" "$T/m"
    check_format "$T/m"
    api_login admin "$ADMIN_PW"
    far -H "$(auth "$TOK")"
    want 200
else
    echo "no address other than loopback: remote access to /metrics not tried"
fi

# ---- behind a reverse proxy on this host ----------------------------------
# Every client of a local proxy arrives from loopback: a request the proxy
# marks as forwarded shows a token, as from elsewhere.
for h in "X-Forwarded-For: 203.0.113.9" "Forwarded: for=203.0.113.9" \
    "X-Real-IP: 203.0.113.9"; do
    api GET /metrics -H "$h"
    want_err 401 session
    api GET /metrics -H "$h" -H "$(auth "$OP")"
    want_err 403 denied
    api GET /metrics -H "$h" -H "$(auth "$AUD")"
    want 200
done
# A proxy that marks nothing: --metrics-loopback token asks everyone.
srv_stop
srv_start --metrics-loopback token
api GET /metrics
want_err 401 session
api GET /metrics -H "$(auth "$AUD")"
want 200
grep -q '^mamorid_sessions_active ' <<<"$BODY" || die "metrics with a token: $BODY"
srv_stop
"$MAMORID" --home "$MAMORI_HOME" --listen 127.0.0.1:0 --metrics-loopback maybe \
    2>"$T/err" && die "--metrics-loopback maybe accepted"
grep -q "bad value for --metrics-loopback" "$T/err" || die "$(cat "$T/err")"
echo "t_api_metrics: ok"
