/*
 * test_guard.c - the gate: role matrix, grants, fail closed, sessions,
 * stated purposes (reasons).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "guard.h"
#include "helpers.h"

static int setup(void **state)
{
    struct tvault *tv = calloc(1, sizeof *tv);
    setenv("MAMORI_TEST_HOOKS", "1", 1);
    unsetenv("MAMORI_TEST_NOW");
    if (!tv || tv_setup(tv) != 0)
        return -1;
    *state = tv;
    return 0;
}

static int teardown(void **state)
{
    unsetenv("MAMORI_TEST_NOW");
    tv_teardown(*state);
    free(*state);
    return 0;
}

static void role_table(void **state)
{
    (void)state;
    /* The documented first-cut matrix. */
    assert_true(guard_role_allows("admin", OP_USER_ADD));
    assert_false(guard_role_allows("operator", OP_USER_ADD));
    assert_false(guard_role_allows("auditor", OP_USER_ADD));
    for (int op = OP_RECORD_ADD; op <= OP_RECORD_SEARCH; op++) {
        assert_false(guard_role_allows("admin", op));
        assert_true(guard_role_allows("operator", op));
        assert_false(guard_role_allows("auditor", op));
    }
    for (int op = OP_AUDIT_SHOW; op <= OP_AUDIT_VERIFY; op++) {
        assert_true(guard_role_allows("admin", op));
        assert_false(guard_role_allows("operator", op));
        assert_true(guard_role_allows("auditor", op));
    }
    assert_false(guard_role_allows("root", OP_DATASET_LIST));
    assert_false(guard_role_allows("", OP_LOGOUT));
}

/* Every role against every operation through the public API. */
static void role_matrix(void **state)
{
    struct tvault *tv = *state;
    mamori_sess *who[3] = {tv->admin, tv->op, tv->aud};
    const char *names[3] = {"admin", "operator", "auditor"};
    struct mamori_kv kv[] = {{"name", "山田 太郎"}};
    char id[MAMORI_ID_LEN + 1], seed_id[MAMORI_ID_LEN + 1];
    static const struct mamori_field_def f[] = {{"a", "text", 0}};

    assert_int_equal(
        mamori_record_add(tv->op, "people", kv, 1, seed_id, sizeof seed_id), 0);
    for (int i = 0; i < 3; i++) {
        mamori_sess *s = who[i];
        int adm = i == 0, op = i == 1, aud = i == 2;
        struct mamori_record *r = NULL, **rs = NULL;
        struct mamori_user_info *u = NULL;
        struct mamori_dataset_info *d = NULL;
        struct mamori_audit_entry *e = NULL;
        struct mamori_verify_result vr;
        char name[32], *cp = NULL;
        size_t n = 0, cplen = 0;
        int rc;

        snprintf(name, sizeof name, "u%d", i);
        rc = mamori_user_add(s, name, "operator", "Passw0rd!long", 13);
        assert_int_equal(rc, adm ? 0 : MAMORI_EDENIED);
        rc = mamori_user_list(s, &u, &n);
        assert_int_equal(rc, adm || aud ? 0 : MAMORI_EDENIED);
        free(u);
        snprintf(name, sizeof name, "ds%d", i);
        struct mamori_dataset_def dd = {name, "c", "p", NULL, f, 1};
        rc = mamori_dataset_create(s, &dd);
        assert_int_equal(rc, adm ? 0 : MAMORI_EDENIED);
        rc = mamori_dataset_list(s, &d, &n);
        assert_int_equal(rc, 0);
        mamori_dataset_list_free(d, n);
        rc = mamori_dataset_grant(s, "people", "op1");
        assert_int_equal(rc, adm ? 0 : MAMORI_EDENIED);
        rc = mamori_record_add(s, "people", kv, 1, id, sizeof id);
        assert_int_equal(rc, op ? 0 : MAMORI_EDENIED);
        rc = mamori_record_get(s, "people", seed_id, &r);
        assert_int_equal(rc, op ? 0 : MAMORI_EDENIED);
        if (!op)
            assert_null(r);
        mamori_record_free(r);
        rc = mamori_record_search(s, "people", "name", "山田太郎", &rs, &n);
        assert_int_equal(rc, op ? 0 : MAMORI_EDENIED);
        mamori_record_array_free(rs, n);
        rc = mamori_record_update(s, "people", seed_id, kv, 1);
        assert_int_equal(rc, op ? 0 : MAMORI_EDENIED);
        rc = mamori_audit_show(s, 10, &e, &n);
        assert_int_equal(rc, op ? MAMORI_EDENIED : 0);
        mamori_audit_entries_free(e, n);
        rc = mamori_audit_checkpoint(s, &cp, &cplen);
        assert_int_equal(rc, op ? MAMORI_EDENIED : 0);
        free(cp);
        rc = mamori_audit_verify(s, NULL, 0, &vr);
        assert_int_equal(rc, op ? MAMORI_EDENIED : 0);
        if (!op)
            assert_true(vr.entries > 10);
        (void)names;
    }
    /* an operator without a grant is refused, and it is audited */
    assert_int_equal(
        mamori_user_add(tv->admin, "op9", "operator", "Passw0rd!long", 13), 0);
    mamori_sess *op9 = tv_login(tv, "op9", "Passw0rd!long");
    assert_non_null(op9);
    struct mamori_record *r = NULL;
    assert_int_equal(mamori_record_get(op9, "people", seed_id, &r),
                     MAMORI_EDENIED);
    assert_int_equal(mamori_record_get(tv->op, "nosuch", seed_id, &r),
                     MAMORI_ENOTFOUND);
    mamori_session_close(op9);
    struct mamori_audit_entry *e = NULL;
    size_t n = 0;
    assert_int_equal(mamori_audit_show(tv->aud, 3, &e, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(e[0].action, "login");
    assert_string_equal(e[1].action, "record.get");
    assert_string_equal(e[1].outcome, "denied");
    assert_string_equal(e[1].user, "op9");
    assert_string_equal(e[2].outcome, "error");
    assert_string_equal(e[2].user, "op1");
    mamori_audit_entries_free(e, n);
}

static void fail_closed(void **state)
{
    struct tvault *tv = *state;
    struct mamori_kv kv[] = {{"name", "山田 太郎"}};
    char id[MAMORI_ID_LEN + 1], id2[MAMORI_ID_LEN + 1];
    struct mamori_record *r = NULL, **rs = NULL;
    struct mamori_dataset_info *d = NULL;
    size_t n = 0;

    assert_int_equal(mamori_record_add(tv->op, "people", kv, 1, id, sizeof id),
                     0);
    mamori_test_fail_audit(tv->m, 1);
    assert_int_equal(
        mamori_record_add(tv->op, "people", kv, 1, id2, sizeof id2),
        MAMORI_EAUDIT);
    assert_string_equal(id2, "");
    assert_int_equal(mamori_record_get(tv->op, "people", id, &r),
                     MAMORI_EAUDIT);
    assert_null(r);
    assert_int_equal(
        mamori_record_search(tv->op, "people", "name", "山田太郎", &rs, &n),
        MAMORI_EAUDIT);
    assert_null(rs);
    assert_int_equal(n, 0);
    assert_int_equal(mamori_record_delete(tv->op, "people", id), MAMORI_EAUDIT);
    mamori_test_fail_audit(tv->m, 0);
    assert_int_equal(mamori_dataset_list(tv->op, &d, &n), 0);
    assert_int_equal(d[0].records, 1);
    mamori_dataset_list_free(d, n);
    assert_int_equal(mamori_record_get(tv->op, "people", id, &r), 0);
    mamori_record_free(r);
    struct mamori_verify_result vr;
    assert_int_equal(mamori_audit_verify(tv->aud, NULL, 0, &vr), 0);
}

/* Every audit write that fails outside the gate's end raises the alert too,
 * and the call returns the failure: a failed login's entry, a login's, an
 * expired session's. */
static void audit_failures_alert(void **state)
{
    struct tvault *tv = *state;
    char token[MAMORI_TOKEN_LEN + 1];
    struct mamori_client cl = {.device = "test", .os_uid = -1};
    struct mamori_dataset_info *d = NULL;
    size_t n = 0;
    int64_t alerts = guard_audit_alerts_total(), seq;
    struct mamori_audit_entry *e = NULL;

    assert_int_equal(mamori_audit_show(tv->aud, 1, &e, &n), 0);
    seq = e[0].seq + 1; /* that show's own entry */
    mamori_audit_entries_free(e, n);
    mamori_test_fail_audit(tv->m, 1);
    assert_int_equal(
        mamori_login(tv->m, "op1", "nope", 4, &cl, token, sizeof token),
        MAMORI_EAUDIT);
    assert_int_equal(guard_audit_alerts_total(), alerts + 1);
    assert_int_equal(
        mamori_login(tv->m, "ghost", "nope", 4, &cl, token, sizeof token),
        MAMORI_EAUDIT);
    assert_int_equal(guard_audit_alerts_total(), alerts + 2);
    assert_int_equal(tv_login_token(tv, "op1", TV_OP_PW, &cl, token),
                     MAMORI_EAUDIT);
    assert_int_equal(guard_audit_alerts_total(), alerts + 3);
    /* the session has expired; its deletion goes with the entry */
    tv_clock_set(tv_clock() + 16 * 60);
    assert_int_equal(mamori_dataset_list(tv->op, &d, &n), MAMORI_EAUDIT);
    assert_int_equal(guard_audit_alerts_total(), alerts + 4);
    mamori_test_fail_audit(tv->m, 0);
    assert_int_equal(mamori_dataset_list(tv->op, &d, &n), MAMORI_ESESSION);
    assert_int_equal(guard_audit_alerts_total(), alerts + 4);
    mamori_session_close(tv->op);
    mamori_session_close(tv->aud);
    tv->op = tv_login(tv, "op1", TV_OP_PW);
    tv->aud = tv_login(tv, "aud1", TV_AUD_PW);
    assert_non_null(tv->op);
    assert_non_null(tv->aud);
    assert_int_equal(guard_audit_alerts_total(), alerts + 4);

    /* nothing of the failed writes reached the log */
    assert_int_equal(mamori_audit_show(tv->aud, 3, &e, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(e[0].seq, seq + 1);
    assert_string_equal(e[0].user, "op1");
    assert_string_equal(e[0].action, "dataset.list");
    assert_string_equal(e[0].outcome, "denied");
    assert_string_equal(e[1].user, "op1");
    assert_string_equal(e[1].action, "login");
    assert_string_equal(e[2].user, "aud1");
    mamori_audit_entries_free(e, n);
    struct mamori_verify_result vr;
    assert_int_equal(mamori_audit_verify(tv->aud, NULL, 0, &vr), 0);
}

static void sessions(void **state)
{
    struct tvault *tv = *state;
    char token[MAMORI_TOKEN_LEN + 1], t2[MAMORI_TOKEN_LEN + 1];
    struct mamori_client cl = {.os_uid = 1000};
    struct mamori_client other = {.os_uid = 1001};
    mamori_sess *s = NULL;
    struct mamori_user_info *u = NULL;
    size_t n;
    /* from the approved device, wrong password and unknown user look the
     * same */
    const char *names[] = {"admin", "ghost"};
    for (size_t i = 0; i < 2; i++) {
        char ch[MAMORI_CHALLENGE_LEN + 1];
        uint8_t sig[MAMORI_DEVICE_SIG_LEN];
        struct mamori_login_req req = {names[i], "nope", 4,   NULL,
                                       NULL,     NULL,   NULL};
        assert_int_equal(tv_prove(tv, &req, ch, sig), 0);
        assert_int_equal(mamori_login_ex(tv->m, &req, &cl, token, sizeof token),
                         MAMORI_EAUTH);
    }
    assert_int_equal(tv_login_token(tv, "aud1", "Kansa#Yaku-5521", &cl, token),
                     0);
    assert_int_equal(strlen(token), MAMORI_TOKEN_LEN);
    /* bound to the OS user that logged in */
    assert_int_equal(mamori_session_open(tv->m, token, &other, &s),
                     MAMORI_ESESSION);
    assert_int_equal(mamori_session_open(tv->m, "garbage", &cl, &s),
                     MAMORI_ESESSION);
    memcpy(t2, token, sizeof t2);
    t2[0] = t2[0] == 'A' ? 'B' : 'A';
    assert_int_equal(mamori_session_open(tv->m, t2, &cl, &s), MAMORI_ESESSION);
    assert_int_equal(mamori_session_open(tv->m, token, &cl, &s), 0);
    assert_string_equal(mamori_session_role(s), "auditor");
    assert_int_equal(mamori_user_list(s, &u, &n), 0);
    free(u);
    /* idle for 16 minutes: expired, and the refusal is logged */
    tv_clock_set(tv_clock() + 16 * 60);
    assert_int_equal(mamori_user_list(s, &u, &n), MAMORI_ESESSION);
    assert_int_equal(mamori_user_list(s, &u, &n), MAMORI_ESESSION);
    mamori_session_close(s);
    /* logout ends the session for good */
    assert_int_equal(tv_login_token(tv, "aud1", "Kansa#Yaku-5521", &cl, token),
                     0);
    assert_int_equal(mamori_session_open(tv->m, token, &cl, &s), 0);
    assert_int_equal(mamori_logout(s), 0);
    assert_int_equal(mamori_session_open(tv->m, token, &cl, &s),
                     MAMORI_ESESSION);
    /* logging out a session another handle already ended: refused once,
     * logged once */
    mamori_sess *s1 = NULL, *s2 = NULL;
    assert_int_equal(tv_login_token(tv, "aud1", "Kansa#Yaku-5521", &cl, token),
                     0);
    assert_int_equal(mamori_session_open(tv->m, token, &cl, &s1), 0);
    assert_int_equal(mamori_session_open(tv->m, token, &cl, &s2), 0);
    assert_int_equal(mamori_logout(s1), 0);
    assert_int_equal(mamori_logout(s2), MAMORI_ESESSION);

    struct mamori_audit_entry *e = NULL;
    mamori_sess *aud = tv_login(tv, "aud1", TV_AUD_PW); /* tv->aud idled */
    assert_non_null(aud);
    assert_int_equal(mamori_audit_show(aud, 0, &e, &n), 0);
    mamori_session_close(aud);
    int unknown = 0, wrong = 0, expired = 0, ended = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(e[i].action, "login") == 0 &&
            strcmp(e[i].detail, "unknown user") == 0) {
            unknown++;
            assert_string_equal(e[i].user,
                                ""); /* the typed name is not logged */
        }
        if (strcmp(e[i].action, "login") == 0 &&
            strncmp(e[i].detail, "wrong password", 14) == 0)
            wrong++;
        if (strcmp(e[i].detail, "session expired (idle)") == 0)
            expired++;
        if (strcmp(e[i].detail, "session ended") == 0)
            ended++;
        assert_null(strstr(e[i].detail, "session: session"));
    }
    assert_int_equal(unknown, 1);
    assert_int_equal(wrong, 1);
    assert_int_equal(expired, 1);
    assert_int_equal(ended, 2);
    mamori_audit_entries_free(e, n);
}

/* ---- stated purposes ---------------------------------------------------- */

/* guard_reason_check's rules, without a session. */
static void reason_rules(void **state)
{
    (void)state;
    /* fine: a purpose, dates and short numbers, an '@' that is no
     * address */
    const char *fine[] = {
        NULL,
        "",
        "月次確認 11月分",
        "2026-11-28 問合せ #4711",
        "123456789",          /* 9 digits */
        "１２３４５６７８９", /* 9 full-width digits */
        "meeting @ 10am",
        "meeting @10.30",
        "a@b",                     /* no '.': no domain */
        "a@b.",                    /* nothing after the '.' */
        "a@.com",                  /* nothing before it */
        "@example.com",            /* no text before the '@' */
        "ask @team.lead",          /* neither */
        "x@ example.com",          /* a space after the '@' */
        "会議@本社。明日",         /* 。 is no '.' */
        "担当　中野　雄一郎 の件", /* names cannot be told: not refused */
    };
    for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++) {
        print_message("fine %zu\n", i);
        assert_int_equal(guard_reason_check(NULL, fine[i]), 0);
    }
    /* email addresses, full-width ones too */
    const char *email[] = {
        "vixskhic@example.com",
        "連絡先 taro.yamada@example.co.jp まで",
        "連絡先はtaro@example.comです",
        "ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏｍ",
        "taro＠example.com",
        "taro@example．com",
        "(a@b.c)",
        "mail a@example.com.",
        "a@b@c.d",
        "x@xn--eckwd4c7c.xn--zckzah",
        "田中@本社.東京",
    };
    for (size_t i = 0; i < sizeof email / sizeof email[0]; i++) {
        print_message("email %zu\n", i);
        assert_true(guard_text_has_email(email[i]));
        assert_int_equal(guard_reason_check(NULL, email[i]), MAMORI_EINVAL);
    }
    assert_false(guard_text_has_email(NULL));
    assert_false(guard_text_has_email("a@b"));
    /* bad UTF-8: stray bytes, overlong, a surrogate, cut short */
    const char *bad[] = {"bg\xff\xfe\x80", "a\xc0\xaf", "\xed\xa0\x80",
                         "確\xe8\xaa", "\x80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        print_message("bad %zu\n", i);
        assert_int_equal(guard_reason_check(NULL, bad[i]), MAMORI_EINVAL);
    }
    /* control and bidirectional-override characters */
    const char *ctl[] = {"a\tb",
                         "a\nb",
                         "\x1b[2J",
                         "a\x7f",
                         "a\xc2\x85",
                         "a\xe2\x80\xae"
                         "b",
                         "a\xe2\x81\xa6",
                         "\xef\xbb\xbf"
                         "a"};
    for (size_t i = 0; i < sizeof ctl / sizeof ctl[0]; i++) {
        print_message("control %zu\n", i);
        assert_int_equal(guard_reason_check(NULL, ctl[i]), MAMORI_EINVAL);
    }
    /* ten digits, however written */
    const char *num[] = {"1234567890", "電話 090-1234-5678 の件",
                         "ＴＥＬ０９０１２３４５６７８", "1234 5678 9012"};
    for (size_t i = 0; i < sizeof num / sizeof num[0]; i++) {
        print_message("number %zu\n", i);
        assert_int_equal(guard_reason_check(NULL, num[i]), MAMORI_EINVAL);
    }
}

/* The newest entry of action: its detail. */
static void newest_detail(struct tvault *tv, const char *action, char *out,
                          size_t size)
{
    struct mamori_audit_entry *e = NULL;
    size_t n = 0;

    out[0] = '\0';
    assert_int_equal(mamori_audit_show(tv->aud, 0, &e, &n), 0);
    for (size_t i = n; i-- > 0;)
        if (strcmp(e[i].action, action) == 0) {
            snprintf(out, size, "%s", e[i].detail);
            break;
        }
    mamori_audit_entries_free(e, n);
}

/* How many entries of action the log holds. */
static size_t count_action(struct tvault *tv, const char *action)
{
    struct mamori_audit_entry *e = NULL;
    size_t n = 0, k = 0;

    assert_int_equal(mamori_audit_show(tv->aud, 0, &e, &n), 0);
    for (size_t i = 0; i < n; i++)
        k += strcmp(e[i].action, action) == 0;
    mamori_audit_entries_free(e, n);
    return k;
}

/* A reason is refused where it is given, saying which rule and never the
 * value, and the session keeps none; the attempt is audited by its rule
 * (session.reason denied); the audit writer withholds one that got in
 * some other way. */
static void reason_refused(void **state)
{
    struct tvault *tv = *state;
    struct mamori_dataset_info *d = NULL;
    char detail[128];
    size_t n = 0;
    static const struct {
        const char *reason, *detail, *rule;
    } cases[] = {
        {"bg\xff\xfe\x80", "reason: not valid UTF-8", "not valid UTF-8"},
        {"問合せ\n対応", "reason: control character", "control character"},
        {"a\xe2\x80\xae"
         "b",
         "reason: control character", "control character"},
        {"vixskhic@example.com",
         "reason: must not hold personal data (it looks like an email "
         "address)",
         "an email address"},
        {"ｖｉｘ＠ｅｘａｍｐｌｅ．ｃｏｍ 宛",
         "reason: must not hold personal data (it looks like an email "
         "address)",
         "an email address"},
        {"call 0901234567",
         "reason: must not hold personal data (it has a run of 10 or more "
         "digits)",
         "a run of digits"},
    };
    char want[64];

    assert_int_equal(mamori_session_reason(tv->op, "月次確認"), 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        print_message("case %zu\n", i);
        assert_int_equal(mamori_session_reason(tv->op, cases[i].reason),
                         MAMORI_EINVAL);
        assert_string_equal(mamori_errdetail(tv->op), cases[i].detail);
        /* the attempt is in the log, by its rule */
        assert_int_equal(count_action(tv, "session.reason"), i + 1);
        newest_detail(tv, "session.reason", detail, sizeof detail);
        snprintf(want, sizeof want, "reason refused: %s", cases[i].rule);
        assert_string_equal(detail, want);
        /* the refused reason replaced the one before: none is logged */
        assert_int_equal(mamori_dataset_list(tv->op, &d, &n), 0);
        mamori_dataset_list_free(d, n);
        newest_detail(tv, "dataset.list", detail, sizeof detail);
        assert_string_equal(detail, "");
    }
    assert_int_equal(mamori_session_reason(tv->op, "問合せ対応 @ 本社"), 0);
    assert_int_equal(mamori_dataset_list(tv->op, &d, &n), 0);
    mamori_dataset_list_free(d, n);
    newest_detail(tv, "dataset.list", detail, sizeof detail);
    assert_string_equal(detail, "reason: 問合せ対応 @ 本社");

    /* Set past mamori_session_reason: the gate refuses it... */
    snprintf(tv->op->reason, sizeof tv->op->reason, "to x@example.com");
    assert_int_equal(mamori_dataset_list(tv->op, &d, &n), MAMORI_EINVAL);
    assert_non_null(strstr(mamori_errdetail(tv->op), "email address"));
    newest_detail(tv, "dataset.list", detail, sizeof detail);
    assert_string_equal(detail, "reason refused; reason: withheld (looks "
                                "like an email address)");
    /* ... and logging out, which always works, withholds it; so too a
     * number that only a dropped control character split. */
    assert_int_equal(mamori_logout(tv->op), 0);
    newest_detail(tv, "logout", detail, sizeof detail);
    assert_string_equal(detail,
                        "reason: withheld (looks like an email address)");
    tv->op = tv_login(tv, "op1", TV_OP_PW); /* mamori_logout freed it */
    assert_non_null(tv->op);
    snprintf(tv->op->reason, sizeof tv->op->reason,
             "call 09012\x01"
             "34567");
    assert_int_equal(mamori_logout(tv->op), 0);
    tv->op = tv_login(tv, "op1", TV_OP_PW);
    assert_non_null(tv->op);
    newest_detail(tv, "logout", detail, sizeof detail);
    assert_string_equal(detail, "reason: withheld (holds a number)");

    /* nowhere in the log */
    struct mamori_audit_entry *e = NULL;
    assert_int_equal(mamori_audit_show(tv->aud, 0, &e, &n), 0);
    for (size_t i = 0; i < n; i++) {
        assert_null(strstr(e[i].detail, "example"));
        assert_null(strstr(e[i].detail, "ｅｘａｍｐｌｅ"));
        assert_null(strstr(e[i].detail, "0901234567"));
        assert_null(strstr(e[i].detail, "34567"));
    }
    mamori_audit_entries_free(e, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(role_table),
        cmocka_unit_test_setup_teardown(role_matrix, setup, teardown),
        cmocka_unit_test_setup_teardown(fail_closed, setup, teardown),
        cmocka_unit_test_setup_teardown(audit_failures_alert, setup, teardown),
        cmocka_unit_test_setup_teardown(sessions, setup, teardown),
        cmocka_unit_test(reason_rules),
        cmocka_unit_test_setup_teardown(reason_refused, setup, teardown),
    };
    if (mamori_library_init() != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
