# load_lib.sh - what the load test (t_api_load.sh) and the API benchmark
# (bench/bench_api.sh) share: a vault with one record, mamorid on plain
# HTTP on loopback (as nginx is benchmarked), op1's session, and wrk's
# output parsed. Sourced after lib.sh and api_lib.sh.

# mamorid on plain HTTP (api_lib.sh's srv_start and api).
PLAIN=1

# load_setup: the vault, one record (ID1), mamorid (PORT, SRV), op1's
# token (TOK), the record's path (RPATH) and its JSON as served ($T/record.json).
load_setup() {
    new_vault
    as op1
    ok record add people name='山田 太郎' kana='ヤマダ タロウ' \
        phone='090-1111-2222' mynumber=123456789018 note='負荷試験用の合成データ'
    ID1=$OUT
    api_setup
    tick
    srv_start "$@"
    api_login op1 "$OP_PW"
    RPATH="/api/v1/datasets/people/records/$ID1"
    api GET "$RPATH" -H "$(auth "$TOK")"
    want 200
    cp "$T/body" "$T/record.json"
}

# audit_rows: the number of audit entries now (read-only, beside mamorid).
audit_rows() {
    sqlite3 "file:$MAMORI_HOME/vault.db?mode=ro" 'SELECT count(*) FROM audit'
}

# audit_seq: the last entry's sequence number.
audit_seq() {
    sqlite3 "file:$MAMORI_HOME/vault.db?mode=ro" 'SELECT max(seq) FROM audit'
}

# audit_actions SEQ: entries after SEQ counted by action, outcome and user
# (names and counts only).
audit_actions() {
    audit_sql "file:$MAMORI_HOME/vault.db?mode=ro" \
        "SELECT action, outcome, user, count(*) FROM audit_v WHERE seq > $1
         GROUP BY 1, 2, 3"
}

# wrk_field FILE WHAT: from wrk's output, "requests", "non2xx", "errors"
# (socket errors of every kind), "rps", "p99_ms".
wrk_field() {
    awk -v w="$2" '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0;
                     if (v ~ /s$/) return v * 1000; return v }
    / requests in / { req = $1 }
    /Non-2xx or 3xx responses:/ { non = $NF }
    /Socket errors:/ { gsub(/,/, ""); err = $4 + $6 + $8 + $10 }
    /^Requests\/sec:/ { rps = $2 }
    /^ +99%/ { p99 = ms($2) }
    END {
        if (w == "requests") print req + 0
        else if (w == "non2xx") print non + 0
        else if (w == "errors") print err + 0
        else if (w == "rps") print rps + 0
        else if (w == "p99_ms") print p99 + 0
    }' "$1"
}
