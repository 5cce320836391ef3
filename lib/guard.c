/*
 * guard.c - the gate every operation passes: session, role, grant, audit
 * entry in the same transaction as the work. See guard.h.
 */
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <utf8proc.h>

#include "audit.h"
#include "authcache.h"
#include "auth.h"
#include "config.h"
#include "guard.h"
#include "i18n.h"
#include "store.h"
#include "text.h"
#include "banned.h"

enum role_bit {
    R_ADMIN = 1,
    R_OPERATOR = 2,
    R_AUDITOR = 4,
    R_VIEWER = 8,
    R_ANY = 15
};

static const struct {
    const char *action;
    unsigned roles;
} ops[OP_COUNT] = {
    [OP_INIT] = {"init", 0},
    [OP_LOGIN] = {"login", R_ANY},
    [OP_LOGOUT] = {"logout", R_ANY},
    [OP_USER_ADD] = {"user.add", R_ADMIN},
    [OP_USER_LIST] = {"user.list", R_ADMIN | R_AUDITOR},
    [OP_DATASET_CREATE] = {"dataset.create", R_ADMIN},
    [OP_DATASET_LIST] = {"dataset.list", R_ANY},
    [OP_DATASET_GRANT] = {"dataset.grant", R_ADMIN},
    [OP_RECORD_ADD] = {"record.add", R_OPERATOR},
    [OP_RECORD_GET] = {"record.get", R_OPERATOR | R_VIEWER},
    [OP_RECORD_UPDATE] = {"record.update", R_OPERATOR},
    [OP_RECORD_DELETE] = {"record.delete", R_OPERATOR},
    [OP_RECORD_SEARCH] = {"record.search", R_OPERATOR | R_VIEWER},
    [OP_AUDIT_SHOW] = {"audit.show", R_ADMIN | R_AUDITOR},
    [OP_AUDIT_CHECKPOINT] = {"audit.checkpoint", R_ADMIN | R_AUDITOR},
    [OP_AUDIT_VERIFY] = {"audit.verify", R_ADMIN | R_AUDITOR},
    [OP_PASSWD] = {"passwd", R_ANY},
    [OP_USER_UNLOCK] = {"user.unlock", R_ADMIN},
    [OP_USER_LOCK] = {"user.lock", 0}, /* the lockout, not a request */
    [OP_USER_RESET] = {"user.reset", R_ADMIN},
    [OP_SESSION_LIST] = {"session.list", R_ADMIN},
    [OP_SESSION_REVOKE] = {"session.revoke", R_ADMIN},
    [OP_CONFIG_LIST] = {"config.list", R_ADMIN | R_AUDITOR},
    [OP_CONFIG_SET] = {"config.set", R_ADMIN},
    [OP_DATASET_REVOKE] = {"dataset.revoke", R_ADMIN},
    [OP_DATASET_GRANTS] = {"dataset.grants", R_ADMIN | R_AUDITOR},
    /* Admins read records only through an approved break-glass window,
     * which guard_begin checks (record_access). */
    [OP_BREAKGLASS_REQUEST] = {"breakglass.request", R_ADMIN},
    [OP_BREAKGLASS_APPROVE] = {"breakglass.approve", R_ADMIN},
    [OP_BREAKGLASS_CLOSE] = {"breakglass.close", R_ADMIN},
    [OP_BREAKGLASS_LIST] = {"breakglass.list", R_ADMIN | R_AUDITOR},
    [OP_MFA_ENROLL] = {"mfa.enroll", R_ANY},
    [OP_MFA_CONFIRM] = {"mfa.confirm", R_ANY},
    [OP_MFA_RESET] = {"mfa.reset", R_ADMIN},
    [OP_DEVICE_ENROLL] = {"device.enroll", 0}, /* no session: see device.c */
    [OP_DEVICE_APPROVE] = {"device.approve", R_ADMIN},
    [OP_DEVICE_REVOKE] = {"device.revoke", R_ADMIN},
    [OP_DEVICE_LIST] = {"device.list", R_ADMIN | R_AUDITOR},
    [OP_ACCESS_REVIEW] = {"access.review", R_ADMIN | R_AUDITOR},
    [OP_IMPORT] = {"import", R_OPERATOR},
    /* Verified entry: two different operators key the same record. */
    [OP_ENTRY_START] = {"entry.start", R_OPERATOR},
    [OP_ENTRY_VERIFY] = {"entry.verify", R_OPERATOR},
    [OP_ENTRY_AMEND] = {"entry.amend", R_OPERATOR},
    [OP_ENTRY_LIST] = {"entry.list", R_OPERATOR | R_AUDITOR},
    [OP_ENTRY_EXPIRE] = {"entry.expire", 0}, /* the vault wipes, no request */
    /* Take-out (持ち出し): an operator asks, an admin approves, the
     * operator runs it once. */
    [OP_EXPORT_REQUEST] = {"export.request", R_OPERATOR},
    [OP_EXPORT_APPROVE] = {"export.approve", R_ADMIN},
    [OP_EXPORT_REJECT] = {"export.reject", R_ADMIN},
    [OP_EXPORT_RUN] = {"export.run", R_OPERATOR},
    [OP_EXPORT_LIST] = {"export.list", R_ADMIN | R_AUDITOR | R_OPERATOR},
    [OP_EXPORT_MARK] = {"export.mark", R_ADMIN},
    [OP_EXPORT_ALERT] = {"export.alert", 0}, /* the bulk-export alert */
    /* A front end gives the run file to its requester (a download). */
    [OP_EXPORT_HANDOVER] = {"export.handover", R_OPERATOR},
    [OP_BACKUP_CREATE] = {"backup.create", R_ADMIN},
    [OP_BACKUP_KEYS] = {"backup.keys", R_ADMIN},
    [OP_BACKUP_VERIFY] = {"backup.verify", R_ADMIN | R_AUDITOR},
    [OP_BACKUP_LIST] = {"backup.list", R_ADMIN | R_AUDITOR},
    [OP_BACKUP_RESTORE] = {"backup.restore", 0}, /* into a new vault */
    /* Off-boarding (異動・退職): the account stays, for the audit log. */
    [OP_USER_DISABLE] = {"user.disable", R_ADMIN},
    [OP_USER_ENABLE] = {"user.enable", R_ADMIN},
    /* No gate: the refusal of mamori_session_reason, audited as such. */
    [OP_SESSION_REASON] = {"session.reason", 0},
};

const char *guard_action(enum guard_op op)
{
    return op < OP_COUNT ? ops[op].action : "unknown";
}

static unsigned role_bit(const char *role)
{
    if (strcmp(role, "admin") == 0)
        return R_ADMIN;
    if (strcmp(role, "operator") == 0)
        return R_OPERATOR;
    if (strcmp(role, "auditor") == 0)
        return R_AUDITOR;
    if (strcmp(role, "viewer") == 0)
        return R_VIEWER;
    return 0;
}

int guard_role_allows(const char *role, enum guard_op op)
{
    return op < OP_COUNT && (ops[op].roles & role_bit(role)) != 0;
}

int guard_role_valid(const char *role)
{
    return role && role_bit(role) != 0;
}

static int is_record_op(enum guard_op op)
{
    return op == OP_RECORD_ADD || op == OP_RECORD_GET ||
           op == OP_RECORD_UPDATE || op == OP_RECORD_DELETE ||
           op == OP_RECORD_SEARCH || op == OP_IMPORT || op == OP_ENTRY_START ||
           op == OP_ENTRY_VERIFY || op == OP_ENTRY_AMEND ||
           op == OP_EXPORT_REQUEST || op == OP_EXPORT_RUN ||
           op == OP_EXPORT_HANDOVER;
}

static int is_record_read(enum guard_op op)
{
    return op == OP_RECORD_GET || op == OP_RECORD_SEARCH;
}

/* ---- stated purposes ----------------------------------------------------
 * The reason a user gives (--reason, an export's or a break-glass
 * request's) goes into audit entries. It is the user's own text, checked
 * where it is given (guard_reason_check): bad UTF-8 and control or
 * bidirectional-override characters are refused, and so is a reason that
 * looks like it holds a My Number, a phone number or an email address. The
 * audit writer cleans and checks it once more and withholds what still
 * fails. */

static int hidden_char(uint32_t c)
{
    return c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0x200E || c == 0x200F ||
           (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069) ||
           c == 0xFEFF;
}

size_t guard_clean_text(const char *in, char *out, size_t size)
{
    const unsigned char *p = (const unsigned char *)(in ? in : "");
    size_t n = strlen((const char *)p), at = 0;

    if (size == 0)
        return 0;
    while (n > 0) {
        uint32_t c = 0;
        size_t len = text_utf8_char(p, n, &c);
        if (len == 0) {
            p++, n--;
            continue;
        }
        if (!hidden_char(c)) {
            if (at + len >= size)
                break;
            memcpy(out + at, p, len);
            at += len;
        }
        p += len, n -= len;
    }
    /* Trailing spaces are no part of the reason. */
    while (at > 0 && out[at - 1] == ' ')
        at--;
    out[at] = '\0';
    return at;
}

int guard_text_has_number(const char *text)
{
    const unsigned char *p = (const unsigned char *)(text ? text : "");
    size_t n = strlen((const char *)p), run = 0, group = 0;

    while (n > 0) {
        uint32_t c = 0;
        size_t len = text_utf8_char(p, n, &c);
        if (len == 0)
            len = 1, c = 0xFFFD;
        if ((c >= '0' && c <= '9') || (c >= 0xFF10 && c <= 0xFF19)) {
            group++;
            if (++run >= GUARD_NUMBER_RUN)
                return 1;
        } else if (c == '-' || c == 0xFF0D || (c >= 0x2010 && c <= 0x2013) ||
                   c == 0x2212) {
            group = 0; /* dashes may split a number into groups */
        } else if ((c == ' ' || c == 0x3000) && group >= 3 && group <= 4) {
            /* so may spaces, as on the card (1234 5678 9012) or in a
             * phone number; a group of one or two digits before a space
             * is a date's or a time's ("2026-11-28 10:00"), and a longer
             * one a number of its own: either ends the run */
            group = 0;
        } else {
            run = group = 0;
        }
        p += len, n -= len;
    }
    return 0;
}

/* The code point c stands for under NFKC, where that is one code point:
 * full-width ＠ and ．, the small ﹫, the ideographic and other spaces.
 * Else c. (For the shapes looked for here, per character NFKC is the
 * whole string's: composition makes no '@', '.' or space.) */
static uint32_t nfkc_char(uint32_t c)
{
    utf8proc_int32_t d[4];
    int last = 0;
    utf8proc_ssize_t n;

    if (c < 0x80)
        return c;
    n = utf8proc_decompose_char((utf8proc_int32_t)c, d, 4,
                                UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT, &last);
    return n == 1 ? (uint32_t)d[0] : c;
}

/* The next character of p (n bytes left), after NFKC: its length in
 * *len (bad UTF-8: one byte, U+FFFD). */
static uint32_t next_char(const unsigned char *p, size_t n, size_t *len)
{
    uint32_t c = 0;

    *len = text_utf8_char(p, n, &c);
    if (*len == 0) {
        *len = 1;
        return 0xFFFD;
    }
    return nfkc_char(c);
}

/* What ends a run of non-space characters. */
static int space_char(uint32_t c)
{
    return c <= 0x20 || c == 0x7F || c == 0x85 || c == 0x2028 || c == 0x2029;
}

int guard_text_has_email(const char *text)
{
    const unsigned char *p = (const unsigned char *)(text ? text : "");
    size_t n = strlen((const char *)p), len, local = 0;

    while (n > 0) {
        uint32_t c = next_char(p, n, &len);
        p += len, n -= len;
        if (c != '@') {
            local = space_char(c) ? 0 : local + 1;
            continue;
        }
        /* Text, then an '@': does the part after it (to a space or the
         * next '@') hold a '.' with text before it and a letter or digit
         * after it, as a domain does? */
        const unsigned char *q = p;
        size_t m = n, domain = 0;
        int dot = 0;
        while (local > 0 && m > 0) {
            uint32_t d = next_char(q, m, &len);
            if (d == '@' || space_char(d))
                break;
            q += len, m -= len;
            if (d == '.' && domain > 0)
                dot = 1;
            else if (dot && (d >= 0x80 || (d >= '0' && d <= '9') ||
                             ((d | 0x20) >= 'a' && (d | 0x20) <= 'z')))
                return 1;
            domain++;
        }
        local = 0;
    }
    return 0;
}

/* The rules a reason may break, in the order they are checked. */
enum reason_rule {
    RULE_UTF8,
    RULE_CONTROL,
    RULE_DIGITS,
    RULE_EMAIL,
    RULE_NONE
};

static enum reason_rule reason_broken(const char *text)
{
    const unsigned char *p = (const unsigned char *)(text ? text : "");
    size_t n = strlen((const char *)p);

    if (!text_utf8_valid((const char *)p, n))
        return RULE_UTF8;
    while (n > 0) {
        uint32_t c = 0;
        size_t len = text_utf8_char(p, n, &c);
        if (hidden_char(c))
            return RULE_CONTROL;
        p += len, n -= len;
    }
    if (guard_text_has_number(text))
        return RULE_DIGITS;
    if (guard_text_has_email(text))
        return RULE_EMAIL;
    return RULE_NONE;
}

const char *guard_reason_rule(const char *text)
{
    static const char *const names[] = {
        [RULE_UTF8] = "not valid UTF-8",
        [RULE_CONTROL] = "control character",
        [RULE_DIGITS] = "a run of digits",
        [RULE_EMAIL] = "an email address",
        [RULE_NONE] = NULL,
    };
    return names[reason_broken(text)];
}

int guard_reason_check(mamori_sess *s, const char *text)
{
    switch (reason_broken(text)) {
    case RULE_NONE:
        return 0;
    case RULE_UTF8:
        sess_detail(s, "reason: not valid UTF-8");
        break;
    case RULE_CONTROL:
        sess_detail(s, "reason: control character");
        break;
    case RULE_DIGITS:
        sess_detail(s,
                    "reason: must not hold personal data (it has a run of "
                    "%d or more digits)",
                    GUARD_NUMBER_RUN);
        break;
    case RULE_EMAIL:
        sess_detail(s, "reason: must not hold personal data (it looks like "
                       "an email address)");
        break;
    }
    return MAMORI_EINVAL;
}

static void set_str(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

/* The entry's detail: the break-glass window a read ran under, the
 * operation's own detail, then the stated purpose, cut to fit (at a
 * character boundary). */
static void compose_detail(const struct guard_call *c, const char *detail,
                           char *out, size_t size)
{
    char text[512], reason[sizeof c->s->reason];
    const char *sep = "";
    size_t len = 0;
    int n;

    text[0] = '\0';
    if (c->breakglass) {
        n = snprintf(text, sizeof text, "break-glass %lld",
                     (long long)c->breakglass);
        len = n > 0 ? (size_t)n : 0;
        sep = "; ";
    }
    if (detail && *detail) {
        n = snprintf(text + len, sizeof text - len, "%s%s", sep, detail);
        len += n > 0 ? (size_t)n : 0;
        if (len >= sizeof text)
            len = sizeof text - 1;
        sep = "; ";
    }
    if (c->s->reason[0]) {
        /* The last line: guard_reason_check refused such reasons where
         * they were given. Checked once cleaned, as logged (a dropped
         * byte must not join two runs of digits). */
        guard_clean_text(c->s->reason, reason, sizeof reason);
        if (guard_text_has_number(reason))
            snprintf(reason, sizeof reason, "withheld (holds a number)");
        else if (guard_text_has_email(reason))
            snprintf(reason, sizeof reason,
                     "withheld (looks like an email address)");
        if (reason[0])
            snprintf(text + len, sizeof text - len, "%sreason: %s", sep,
                     reason);
    }
    guard_clean_text(text, out, size);
}

/* The entry for c (its ids stay c's). */
static void entry_row(struct guard_call *c, const char *outcome,
                      const char *detail, struct store_audit_row *row)
{
    mamori_sess *s = c->s;

    memset(row, 0, sizeof *row);
    row->time = mamori_now();
    set_str(row->user, sizeof row->user, s->user.name);
    set_str(row->device, sizeof row->device, s->device);
    guard_clean_text(s->address, row->client, sizeof row->client);
    guard_clean_text(s->request_id, row->request_id, sizeof row->request_id);
    set_str(row->action, sizeof row->action, guard_action(c->op));
    set_str(row->dataset, sizeof row->dataset, c->has_ds ? c->ds.name : "");
    row->record_ids = c->ids;
    row->count = c->count;
    set_str(row->outcome, sizeof row->outcome, outcome);
    compose_detail(c, detail, row->detail, sizeof row->detail);
}

/* Appends the entry for c in the open transaction. */
static int append_entry(struct guard_call *c, const char *outcome,
                        const char *detail)
{
    struct store_audit_row row;

    entry_row(c, outcome, detail, &row);
    return audit_append(c->s->m, &row);
}

static atomic_llong alerts_total;

int64_t guard_audit_alerts_total(void)
{
    return (int64_t)atomic_load_explicit(&alerts_total, memory_order_relaxed);
}

void guard_alert_audit_failure(const char *action)
{
    /* No personal values, just what was refused. */
    atomic_fetch_add_explicit(&alerts_total, 1, memory_order_relaxed);
    syslog(LOG_ALERT, "mamori: audit log write failed; %s refused", action);
}

/* Records a refusal or failure in a transaction of its own. */
int guard_audit_failed(struct mamori *m, enum guard_op op)
{
    audit_rollback(m);
    guard_alert_audit_failure(guard_action(op));
    return MAMORI_EAUDIT;
}

static void record_outcome(struct guard_call *c, const char *outcome,
                           const char *detail)
{
    struct store *st = c->s->m->store;
    if (store_begin(st) != 0) {
        guard_alert_audit_failure(guard_action(c->op));
        return;
    }
    if (append_entry(c, outcome, detail) != 0 || audit_commit(c->s->m) != 0)
        (void)guard_audit_failed(c->s->m, c->op);
}

static const char *err_code(int rc)
{
    switch (rc) {
    case MAMORI_EINVAL:
        return "invalid";
    case MAMORI_ENOTFOUND:
        return "not-found";
    case MAMORI_EEXIST:
        return "exists";
    case MAMORI_EDENIED:
        return "denied";
    case MAMORI_EAUTH:
        return "auth";
    case MAMORI_ESESSION:
        return "session";
    case MAMORI_ECRYPTO:
        return "integrity";
    case MAMORI_ETAMPER:
        return "tamper";
    case MAMORI_ETOOBIG:
        return "too-big";
    case MAMORI_ESTATE:
        return "state";
    default:
        return "error";
    }
}

/* The outcome and detail of c's entry for the operation's result rc: c's
 * own detail, after the error's code when it failed. A refusal found by
 * the operation (My Number rules, the admin cap, a wrong current password
 * or one-time code) is a refusal like the gate's and a failed login's. */
static const char *result_entry(const struct guard_call *c, int rc,
                                char *detail, size_t size)
{
    if (rc == 0) {
        snprintf(detail, size, "%s", c->detail);
        return "ok";
    }
    snprintf(detail, size, "%s%s%s", err_code(rc), c->detail[0] ? ": " : "",
             c->detail);
    return rc == MAMORI_EDENIED || rc == MAMORI_EAUTH ? "denied" : "error";
}

/* The detail the session gets when the dataset named is not there. */
static const char no_dataset[] = N_("no dataset of that name");

/* The outcome and detail of a refusal rc by the gate, before the
 * operation. */
static const char *refusal_entry(const struct guard_call *c, int rc,
                                 char *detail, size_t size)
{
    if (c->detail[0])
        snprintf(detail, size, "%s", c->detail);
    else
        snprintf(detail, size, "%s",
                 rc == MAMORI_EDENIED ? "role or grant" : err_code(rc));
    return rc == MAMORI_EDENIED ? "denied" : "error";
}

/* Checks the session row; 0 if live. The read gate only looks: the
 * ordinary gate also deletes an expired session and touches a live one. */
static int session_live(struct guard_call *c)
{
    struct mamori_sess *s = c->s;
    struct store_session ss;
    int64_t now = mamori_now();
    const char *why;
    int rc = store_session_get(c->st, s->token_hash, &ss);

    if (rc == MAMORI_ENOTFOUND) {
        set_str(c->detail, sizeof c->detail, "session ended");
        return MAMORI_ESESSION;
    }
    if (rc != 0)
        return rc;
    if (auth_session_live(c->st, &ss, now, &why) != 0) {
        set_str(c->detail, sizeof c->detail, why);
        if (!c->fast)
            (void)store_session_delete(c->st, s->token_hash);
        return MAMORI_ESESSION;
    }
    rc = store_user_get_id(c->st, ss.user_id, &s->user);
    auth_user_wipe(&s->user);
    if (rc != 0)
        return rc == MAMORI_ENOTFOUND ? MAMORI_ESESSION : rc;
    if (s->user.disabled) {
        set_str(c->detail, sizeof c->detail, "user disabled");
        return MAMORI_ESESSION;
    }
    s->restricted = ss.restricted;
    snprintf(s->device, sizeof s->device, "%s", ss.device);
    return c->fast ? 0
                   : store_session_touch(c->st, s->token_hash, now,
                                         AUTH_TOUCH_GRAIN);
}

/* Users with the admin role who are not disabled. */
static int count_admins(struct store *st, int *n)
{
    int64_t k = 0;
    int rc = store_user_count_role(st, "admin", &k);

    *n = rc == 0 && k < INT_MAX ? (int)k : 0;
    return rc;
}

/* The admin cap (admin.max): an admin's operation that leaves more admins
 * than the cap, and more than there were, is refused - whichever call
 * made the admin (adding, a role change, re-enabling). Lowering the cap
 * takes nobody's role away: `mamori access review` flags the excess. */
static int admin_cap_check(struct guard_call *c)
{
    mamori_sess *s = c->s;
    int now = 0, max = config_int(s->m, CFG_ADMIN_MAX);
    int rc = count_admins(s->m->store, &now);

    if (rc != 0)
        return rc;
    if (now > c->admins && now > max) {
        sess_detail(s,
                    "admin.max is %d: there are %d admins already (admins "
                    "must be as few as possible)",
                    max, c->admins);
        snprintf(c->detail, sizeof c->detail, "admin.max %d reached", max);
        return MAMORI_EDENIED;
    }
    return 0;
}

/* Decides whether and how the caller may run a record operation on c->ds:
 * operators and viewers need a grant of the dataset; a grant with the
 * handler flag lets an operator handle My Numbers; an admin may read
 * through an approved break-glass window and nothing else. Sets c->view,
 * c->handler, c->breakglass. */
static int record_access(struct guard_call *c)
{
    mamori_sess *s = c->s;
    unsigned bit = role_bit(s->user.role), flags = 0;
    int rc;

    if (bit == R_ADMIN && is_record_read(c->op)) {
        struct store_breakglass b;
        if (c->fast)
            return GUARD_SLOW; /* rare, and alerted: the ordinary gate */
        rc = store_breakglass_active(c->st, c->ds.id, s->user.id, mamori_now(),
                                     &b);
        if (rc == MAMORI_ENOTFOUND) {
            sess_detail(s, "admins do not read personal data; in an "
                           "emergency see `mamori breakglass request`");
            snprintf(c->detail, sizeof c->detail, "admin, no break-glass");
            return MAMORI_EDENIED;
        }
        if (rc != 0)
            return rc;
        c->breakglass = b.id;
        c->view = GUARD_VIEW_NO_MYNUMBER;
        return 0;
    }
    if (!(ops[c->op].roles & bit)) {
        sess_detail(s, "role %s may not do %s", s->user.role,
                    guard_action(c->op));
        return MAMORI_EDENIED;
    }
    rc = c->gen_ok ? authcache_grant(s->m->authcache, c->st, c->gen, c->ds.id,
                                     s->user.id, &flags)
                   : store_grant_get(c->st, c->ds.id, s->user.id, &flags);
    if (rc < 0)
        return rc;
    c->grant = flags;
    if (rc == 0) {
        sess_detail(s, "dataset not granted to this user");
        snprintf(c->detail, sizeof c->detail, "not granted");
        return MAMORI_EDENIED;
    }
    c->handler = bit == R_OPERATOR && (flags & STORE_GRANT_HANDLER);
    c->view = bit == R_VIEWER ? GUARD_VIEW_MASKED
              : c->handler    ? GUARD_VIEW_PLAIN
                              : GUARD_VIEW_NO_MYNUMBER;
    return 0;
}

/* The stated purpose: required for reads of a dataset that asks for it,
 * and refused when it breaks guard_reason_check's rules (which
 * mamori_session_reason already refused: this is for a reason set some
 * other way). */
static int purpose_check(struct guard_call *c)
{
    mamori_sess *s = c->s;
    char reason[sizeof s->reason];

    /* Logging out always works; the entry withholds such a reason. */
    if (s->reason[0] && c->op != OP_LOGOUT &&
        guard_reason_check(s, s->reason) != 0) {
        snprintf(c->detail, sizeof c->detail, "reason refused");
        return MAMORI_EINVAL;
    }
    if (c->has_ds && c->ds.require_reason && is_record_read(c->op) &&
        guard_clean_text(s->reason, reason, sizeof reason) == 0) {
        sess_detail(s,
                    "dataset %s requires a reason for every read "
                    "(--reason TEXT)",
                    c->ds.name);
        snprintf(c->detail, sizeof c->detail, "reason required");
        return MAMORI_EINVAL;
    }
    return 0;
}

/* Whether this thread holds a handle's gate open (between guard_begin and
 * guard_end: a bulk add spans calls). Its reads then take the ordinary
 * gate, which refuses them: through the read gate such a read could wait
 * for a group commit that waits for this thread's gate. */
static _Thread_local int gate_held;

/* What a restricted session may still do. */
static int restricted_allows(enum guard_op op)
{
    return op == OP_LOGOUT || op == OP_PASSWD || op == OP_MFA_ENROLL ||
           op == OP_MFA_CONFIRM;
}

int guard_begin(struct guard_call *c, mamori_sess *s, enum guard_op op,
                const char *dataset)
{
    int rc;

    memset(c, 0, sizeof *c);
    c->s = s;
    c->op = op;
    if (!s)
        return MAMORI_ESESSION;
    s->errdetail[0] = '\0';
    sess_snapshot_end(s);
    if (pthread_mutex_lock(&s->m->lock) != 0) {
        /* EDEADLK: this thread has the gate open already (a bulk add). */
        sess_detail(s, "finish the open bulk add first");
        c->s = NULL;
        return MAMORI_ESTATE;
    }
    gate_held = 1;
    c->st = s->m->store;
    rc = store_begin(c->st);
    if (rc != 0)
        goto fail;
    c->in_tx = 1;

    rc = session_live(c);
    if (rc == MAMORI_ESESSION) {
        /* The expired session's deletion commits with its audit entry. */
        if (append_entry(c, "denied", c->detail) != 0 ||
            audit_commit(s->m) != 0) {
            rc = guard_audit_failed(s->m, op);
            sess_detail(s, "the audit entry could not be written");
        }
        c->in_tx = 0;
        goto fail;
    }
    if (rc != 0)
        goto fail;

    if (dataset) {
        rc = store_dataset_get(c->st, dataset, &c->ds);
        if (rc == MAMORI_ENOTFOUND) {
            sess_detail(s, no_dataset);
            goto refuse;
        }
        if (rc != 0)
            goto fail;
        c->has_ds = 1;
    }
    if (s->restricted && !restricted_allows(op)) {
        rc = MAMORI_EDENIED;
        if (s->restricted & MAMORI_NEED_PASSWD)
            sess_detail(s, "change the initial password first (mamori "
                           "passwd)");
        else
            sess_detail(s, "enrol a one-time code first (mamori mfa "
                           "enroll)");
        goto refuse;
    }
    if (is_record_op(op) && !c->has_ds) {
        rc = MAMORI_EINVAL;
        sess_detail(s, "no dataset given");
        goto refuse;
    }
    if (is_record_op(op)) {
        rc = record_access(c);
    } else if (!guard_role_allows(s->user.role, op)) {
        rc = MAMORI_EDENIED;
        sess_detail(s, "role %s may not do %s", s->user.role, guard_action(op));
    }
    if (rc == MAMORI_EDENIED)
        goto refuse;
    if (rc != 0)
        goto fail;
    rc = purpose_check(c);
    if (rc != 0)
        goto refuse;
    c->admins = -1;
    if (role_bit(s->user.role) == R_ADMIN) {
        rc = count_admins(s->m->store, &c->admins);
        if (rc != 0)
            goto fail;
    }
    return 0;

refuse:
    store_rollback(s->m->store);
    c->in_tx = 0;
    {
        char detail[sizeof c->detail];
        const char *outcome = refusal_entry(c, rc, detail, sizeof detail);
        record_outcome(c, outcome, detail);
    }
fail:
    if (c->in_tx)
        store_rollback(s->m->store);
    c->in_tx = 0;
    gate_held = 0;
    pthread_mutex_unlock(&s->m->lock);
    c->s = NULL; /* a stray guard_end after a failed begin does nothing */
    return rc;
}

/* Ends the read gate's snapshot and gives its reader back. */
static void read_close(struct guard_call *c)
{
    if (!c->st)
        return;
    store_rollback(c->st);
    handle_reader_put(c->s->m, c->st);
    c->st = NULL;
}

int guard_read_begin(struct guard_call *c, mamori_sess *s, enum guard_op op,
                     const char *dataset)
{
    int rc;

    memset(c, 0, sizeof *c);
    c->op = op;
    c->fast = 1;
    /* GUARD_SLOW: the caller's guard_begin ends a kept snapshot. */
    if (!s || !dataset || !is_record_read(op) || s->restricted || gate_held)
        return GUARD_SLOW;
    c->s = s;
    s->errdetail[0] = '\0';
    if (s->snap) {
        /* The session was checked in this very snapshot (a disabled user
         * is left to the ordinary gate, which refuses and records it). */
        c->st = s->snap;
        s->snap = NULL;
        c->gen = s->snap_gen;
        rc = s->user.disabled ? GUARD_SLOW : 0;
    } else {
        rc = handle_reader_take(s->m, &c->st);
        if (rc == 0)
            rc = store_read_begin(c->st);
        if (rc == 0)
            rc = store_auth_gen(c->st, &c->gen);
        if (rc == 0)
            rc = session_live(c);
    }
    c->gen_ok = rc == 0;
    if (rc == 0 && s->restricted)
        rc = GUARD_SLOW;
    if (rc == 0) {
        rc = authcache_dataset(s->m->authcache, c->st, c->gen, dataset, &c->ds);
        if (rc == MAMORI_ENOTFOUND) {
            sess_detail(s, no_dataset);
            c->refused = rc;
        }
    }
    if (rc == 0) {
        c->has_ds = 1;
        rc = record_access(c);
        if (rc == MAMORI_EDENIED)
            c->refused = rc;
    }
    if (rc == 0) {
        rc = purpose_check(c);
        if (rc == MAMORI_EINVAL)
            c->refused = rc;
    }
    c->admins = -1;
    if (rc != 0 && c->refused)
        return rc; /* open: guard_end writes the refusal */
    if (rc != 0) {
        read_close(c);
        c->s = NULL;
        return GUARD_SLOW;
    }
    return 0;
}

/* The read gate writes the entry of a read that found its record, of one
 * that found none (a link to a deleted record, a mistyped id), and of its
 * own refusals: common, and no reason to take the ordinary gate's own
 * commit, each on the writer's lock. Any other failure goes to the
 * ordinary gate, which finds and records its reason. */
static int read_keeps(const struct guard_call *c, int rc)
{
    return rc == 0 || rc == MAMORI_ENOTFOUND ||
           (c->refused && rc == c->refused);
}

/* Ends the read gate's snapshot and fills w (and row, which w points to)
 * for the group commit of its entry, the read's outcome rc (read_keeps):
 * the same entry the ordinary gate would write. */
static void read_entry(struct guard_call *c, int rc, struct guard_wait *w,
                       struct store_audit_row *row)
{
    mamori_sess *s = c->s;
    char detail[sizeof c->detail + 32];
    const char *outcome = c->refused
                              ? refusal_entry(c, rc, detail, sizeof detail)
                              : result_entry(c, rc, detail, sizeof detail);

    read_close(c);
    entry_row(c, outcome, detail, row);
    audit_fill_context(row);
    memset(w, 0, sizeof *w);
    w->row = row;
    w->token_hash = s->token_hash;
    w->user_id = s->user.id;
    set_str(w->role, sizeof w->role, s->user.role);
    w->dataset_id = c->ds.id;
    w->grant = c->grant;
    w->refusal = c->refused != 0;
}

/* guard_end for the read gate: the entry goes to the group commit. */
static int read_end(struct guard_call *c, int rc)
{
    mamori_sess *s = c->s;
    struct store_audit_row row;
    struct guard_wait w;

    if (read_keeps(c, rc)) {
        int op_rc = rc;
        read_entry(c, rc, &w, &row);
        rc = guard_commit(s->m, &w);
        if (rc == MAMORI_EAUDIT)
            guard_read_audit_failed(s, c->op);
        else if (rc == 0)
            rc = op_rc;
    } else {
        read_close(c);
        rc = GUARD_SLOW;
    }
    free(c->ids);
    c->ids = NULL;
    return rc;
}

void guard_read_audit_failed(mamori_sess *s, enum guard_op op)
{
    guard_alert_audit_failure(guard_action(op));
    sess_detail(s, "the audit entry could not be written");
}

int guard_end_later(struct guard_call *c, int rc, struct guard_wait *w,
                    struct store_audit_row *row,
                    void (*notify)(struct guard_wait *w))
{
    if (!c->s)
        return rc;
    if (c->fast && read_keeps(c, rc)) {
        read_entry(c, rc, w, row);
        w->notify = notify;
        /* The entry's ids go with it: the caller frees row->record_ids
         * after the verdict. */
        c->ids = NULL;
        return guard_commit_submit(c->s->m, w);
    }
    return guard_end(c, rc);
}

/* Writes the ids gathered so far as an entry of their own (same transaction)
 * so that a long operation's log stays in bounded pieces. */
static int flush_ids(struct guard_call *c)
{
    char detail[sizeof c->detail];
    int64_t count = c->count;
    int rc;

    c->parts++;
    snprintf(detail, sizeof detail, "part %d, continued", c->parts);
    c->count = c->ids_count;
    rc = append_entry(c, "ok", detail);
    c->count = count;
    c->ids_len = 0;
    c->ids_count = 0;
    if (c->ids)
        c->ids[0] = '\0';
    return rc == 0 ? 0 : MAMORI_EAUDIT;
}

int guard_add_id(struct guard_call *c, const char *id)
{
    size_t n = strlen(id), need = c->ids_len + n + 2;
    if (c->ids_len >= GUARD_IDS_PER_ENTRY && c->fast)
        return GUARD_SLOW; /* the read gate writes one entry */
    if (c->ids_len >= GUARD_IDS_PER_ENTRY) {
        int rc = flush_ids(c);
        if (rc != 0)
            return rc;
        need = n + 2;
    }
    if (need > c->ids_cap) {
        size_t cap = c->ids_cap ? c->ids_cap * 2 : 256;
        while (cap < need)
            cap *= 2;
        char *p = realloc(c->ids, cap);
        if (!p)
            return MAMORI_ENOMEM;
        c->ids = p;
        c->ids_cap = cap;
    }
    if (c->ids_len)
        c->ids[c->ids_len++] = ',';
    memcpy(c->ids + c->ids_len, id, n);
    c->ids_len += n;
    c->ids[c->ids_len] = '\0';
    c->ids_count++;
    return 0;
}

int guard_end(struct guard_call *c, int rc)
{
    mamori_sess *s = c->s;

    if (!s)
        return rc;
    if (c->fast)
        return read_end(c, rc);
    if (rc == 0 && c->admins >= 0)
        rc = admin_cap_check(c);
    if (rc == 0) {
        if (c->parts) {
            /* The last piece: its own ids, and the total in the detail. */
            char detail[sizeof c->detail];
            snprintf(detail, sizeof detail, "part %d, %lld in all",
                     c->parts + 1, (long long)c->count);
            c->count = c->ids_count;
            snprintf(c->detail, sizeof c->detail, "%s", detail);
        }
        rc = append_entry(c, "ok", c->detail);
        if (rc == 0)
            rc = audit_commit(s->m);
        if (rc != 0) {
            rc = guard_audit_failed(s->m, c->op);
            sess_detail(s, "the audit entry could not be written");
        }
    } else if (c->keep_refusal) {
        char detail[sizeof c->detail + 32];
        const char *outcome = result_entry(c, rc, detail, sizeof detail);
        if (append_entry(c, outcome, detail) != 0 || audit_commit(s->m) != 0) {
            rc = guard_audit_failed(s->m, c->op);
            sess_detail(s, "the audit entry could not be written");
        }
    } else {
        audit_rollback(s->m);
        /* A failed operation leaves an entry of its own; its ids and count
         * describe what was attempted. */
        char detail[sizeof c->detail + 32];
        const char *outcome = result_entry(c, rc, detail, sizeof detail);
        record_outcome(c, outcome, detail);
    }
    if (rc == 0 && c->breakglass)
        syslog(LOG_ALERT,
               "mamori: break-glass %lld: %s read dataset %s (%lld "
               "records)",
               (long long)c->breakglass, s->user.name, c->ds.name,
               (long long)c->count);
    free(c->ids);
    c->ids = NULL;
    gate_held = 0;
    pthread_mutex_unlock(&s->m->lock);
    return rc;
}

void guard_event_row(struct store_audit_row *row, const char *user,
                     const char *device, enum guard_op op, const char *outcome,
                     const char *detail)
{
    memset(row, 0, sizeof *row);
    row->time = mamori_now();
    set_str(row->user, sizeof row->user, user);
    set_str(row->device, sizeof row->device, device);
    set_str(row->action, sizeof row->action, guard_action(op));
    set_str(row->outcome, sizeof row->outcome, outcome);
    set_str(row->detail, sizeof row->detail, detail);
}

int guard_audit_event(struct mamori *m, const char *user, const char *device,
                      enum guard_op op, const char *outcome, const char *detail)
{
    struct store_audit_row row;
    int rc;

    guard_event_row(&row, user, device, op, outcome, detail);
    pthread_mutex_lock(&m->lock);
    rc = store_begin(m->store);
    if (rc == 0)
        rc = audit_append(m, &row);
    if (rc == 0)
        rc = audit_commit(m);
    if (rc != 0)
        rc = guard_audit_failed(m, op);
    pthread_mutex_unlock(&m->lock);
    return rc;
}
