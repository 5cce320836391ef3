# mamorid: the web UI's files (web/, embedded at build time) at / and
# /web/..., with the strict CSP and no inline script or style anywhere in
# web/; GET /api/v1/session's idle time; the audit log's filters.
. "$ROOT/tests/cli/lib.sh"
. "$ROOT/tests/cli/api_lib.sh"
CSP="default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

# ---- web/ itself: nothing inline, nothing from elsewhere ---------------------
W="$ROOT/web"
[ -f "$W/index.html" ] || die "no web/index.html"
! grep -n '<script>\|<script [^>]*>[^<]' "$W"/*.html || die "inline script in web/"
! grep -n '<style\| style=' "$W"/*.html || die "inline style in web/"
! grep -En '\son[a-z]+=' "$W"/*.html || die "an inline event handler in web/"
! grep -n '\.style\b\|setAttribute(.style\|innerHTML\|outerHTML\|insertAdjacentHTML\|eval(\|new Function' \
    "$W"/*.js || die "inline style or HTML from strings in web/*.js"
! grep -En 'https?://' "$W"/*.html "$W"/*.css || die "a URL elsewhere in web/"

new_vault
api_setup
tick
srv_start
# ---- the files -----------------------------------------------------------------
api GET /
want 200
contains "$(hdr Content-Type)" "text/html"
[ "$(hdr Content-Security-Policy)" = "$CSP" ] || die "CSP of /: $(hdr Content-Security-Policy)"
[ "$(hdr X-Frame-Options)" = DENY ] || die "no X-Frame-Options"
[ -n "$(hdr Strict-Transport-Security)" ] || die "no HSTS"
cmp -s "$T/body" "$W/index.html" || die "/ is not web/index.html"
for f in "$W"/*; do
    n=${f##*/}
    api GET "/web/$n"
    want 200
    cmp -s "$T/body" "$f" || die "/web/$n differs from web/$n"
    [ "$(hdr Content-Security-Policy)" = "$CSP" ] || die "CSP of $n"
    case "$n" in
    *.js) [ "$(hdr Content-Type)" = "text/javascript; charset=utf-8" ] || die "type of $n" ;;
    *.css) [ "$(hdr Content-Type)" = "text/css; charset=utf-8" ] || die "type of $n" ;;
    esac
done
api GET /web/index.html
want 200
api GET /web/nope.js
want_err 404 no_route
api GET /web/../docs/openapi.yaml
[ "$ST" = 404 ] || die "a path out of web/: $ST"
api GET /web/%2e%2e/Makefile
want_err 404 no_route
api GET /webx
want_err 404 no_route
api POST / "${JSON[@]}" --data-binary '{}'
want_err 405 method_not_allowed
api DELETE /web/app.js
want_err 405 method_not_allowed
api HEAD /web/app.js --head
[ "$ST" = 200 ] || die "HEAD: $ST"
# the routes test still holds: the files are no API route
[ "$("$MAMORID" --routes | grep -c '/web')" = 0 ] || die "/web in the route table"

# ---- the session's idle time ------------------------------------------------------
api_login admin "$ADMIN_PW"
ADM=$TOK
api_login op1 "$OP_PW"
OP=$TOK
api GET /api/v1/session -H "$(auth "$ADM")"
want 200
[ "$(jq -r .idle_seconds <<<"$BODY")" = 900 ] || die "idle: $BODY"
jq -e '.expires | test("^[0-9-]+T[0-9:]+Z$")' <<<"$BODY" >/dev/null || die "expires: $BODY"
api PUT /api/v1/config/session.idle_minutes -H "$(auth "$ADM")" "${JSON[@]}" \
    --data-binary '{"value":"5"}'
want 200
api GET /api/v1/session -H "$(auth "$ADM")"
[ "$(jq -r .idle_seconds <<<"$BODY")" = 300 ] || die "idle after set: $BODY"
n0=$(sqlite3 "$MAMORI_HOME/vault.db" "SELECT count(*) FROM audit")
api GET /api/v1/session -H "$(auth "$OP")"
want 200
[ "$(jq -r .idle_seconds <<<"$BODY")" = 300 ] || die "operator's idle: $BODY"
jq -e '.expires | test("^[0-9-]+T[0-9:]+Z$")' <<<"$BODY" >/dev/null ||
    die "operator's expires: $BODY"
# the page polls it: no audit entry each time
[ "$(sqlite3 "$MAMORI_HOME/vault.db" "SELECT count(*) FROM audit")" = "$n0" ] ||
    die "GET /session wrote to the audit log"
api GET /api/v1/session/challenge
want 200
[ "$(jq -r .vault_id <<<"$BODY")" = "$VID" ] || die "challenge: $BODY"

# ---- the audit log's filters -----------------------------------------------------------
AUD=$ADM
api GET "/api/v1/audit?user=op1&last=1000" -H "$(auth "$AUD")"
want 200
jq -e 'length > 0 and all(.user == "op1")' <<<"$BODY" >/dev/null || die "user filter: $BODY"
api GET "/api/v1/audit?action=login&last=1000" -H "$(auth "$AUD")"
want 200
jq -e 'length > 0 and all(.action == "login")' <<<"$BODY" >/dev/null || die "action filter: $BODY"
api GET "/api/v1/audit?action=config.&last=1000" -H "$(auth "$AUD")"
want 200
jq -e 'length > 0 and all(.action | startswith("config."))' <<<"$BODY" >/dev/null ||
    die "action prefix: $BODY"
api GET "/api/v1/audit?action=login&last=1" -H "$(auth "$AUD")"
[ "$(jq length <<<"$BODY")" = 1 ] || die "last with a filter: $BODY"
NOW_DAY=$(date -u -d "@$MAMORI_TEST_NOW" +%F)
api GET "/api/v1/audit?from=$NOW_DAY&to=$NOW_DAY" -H "$(auth "$AUD")"
want 200
jq -e 'length > 0' <<<"$BODY" >/dev/null || die "today: $BODY"
api GET "/api/v1/audit?to=2000-01-01" -H "$(auth "$AUD")"
[ "$BODY" = "[]" ] || die "before 2000: $BODY"
api GET "/api/v1/audit?from=2000-01-01T00:00:00Z&user=nobody-here" -H "$(auth "$AUD")"
[ "$BODY" = "[]" ] || die "no such user: $BODY"
for bad in from=2026-13-01 from=yesterday to=2026-01-01T25:00:00Z to=2026-01-01T10:00:00 \
    "user=$(printf 'u%.0s' $(seq 70))" from=2026-1-1 from=2026-02-30 \
    from=+2026-01-01 "from=2026-02-02&to=2026-02-01"; do
    api GET "/api/v1/audit?$bad" -H "$(auth "$AUD")"
    want_err 400 invalid
done
api GET "/api/v1/audit?user=op1" -H "$(auth "$OP")"
want_err 403 denied
srv_stop
