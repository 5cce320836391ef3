/*
 * test_auth.c - password rules, initial passwords, password history,
 * lockout, session limits and revocation, settings, hash upgrade; all
 * against a real vault, with the library's test clock instead of sleeps.
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
#include <sodium.h>
#include <sqlite3.h>

#include "auth.h"
#include "helpers.h"

static int setup(void **state)
{
    struct tvault *tv = calloc(1, sizeof *tv);
    setenv("MAMORI_TEST_HOOKS", "1", 1);
    tv_clock_set((int64_t)time(NULL));
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

static const struct mamori_client cl = {.device = "test", .os_uid = -1};

/* A login of user with pw from the test's approved device (a fresh
 * proof), without a one-time code: what the password check answers. */
static int login_rc(struct tvault *tv, const char *user, const char *pw)
{
    char token[MAMORI_TOKEN_LEN + 1], challenge[MAMORI_CHALLENGE_LEN + 1];
    uint8_t sig[MAMORI_DEVICE_SIG_LEN];
    struct mamori_login_req req = {user, pw,   strlen(pw), NULL,
                                   NULL, NULL, NULL};
    int rc = tv_prove(tv, &req, challenge, sig);
    return rc ? rc : mamori_login_ex(tv->m, &req, &cl, token, sizeof token);
}

/* The detail of the newest audit entry with this action, or "", read
 * through session s. */
static void last_detail_on(mamori_sess *s, const char *action, char *out,
                           size_t size)
{
    struct mamori_audit_entry *e = NULL;
    size_t n = 0;
    out[0] = '\0';
    assert_int_equal(mamori_audit_show(s, 0, &e, &n), 0);
    for (size_t i = n; i-- > 0;) {
        if (strcmp(e[i].action, action) == 0) {
            snprintf(out, size, "%s", e[i].detail);
            break;
        }
    }
    mamori_audit_entries_free(e, n);
}

static void last_detail(struct tvault *tv, const char *action, char *out,
                        size_t size)
{
    last_detail_on(tv->admin, action, out, size);
}

/* The outcome and detail of the newest audit entry with this action. */
static void last_entry(struct tvault *tv, const char *action, char *outcome,
                       size_t osize, char *detail, size_t dsize)
{
    struct mamori_audit_entry *e = NULL;
    size_t n = 0;
    outcome[0] = detail[0] = '\0';
    assert_int_equal(mamori_audit_show(tv->admin, 0, &e, &n), 0);
    for (size_t i = n; i-- > 0;) {
        if (strcmp(e[i].action, action) == 0) {
            snprintf(outcome, osize, "%s", e[i].outcome);
            snprintf(detail, dsize, "%s", e[i].detail);
            break;
        }
    }
    mamori_audit_entries_free(e, n);
}

/* When user's lockout ends (0 if not locked), as an admin sees it. */
static int64_t locked_until(struct tvault *tv, const char *user)
{
    struct mamori_user_info *u = NULL;
    size_t n = 0;
    int64_t until = -1;
    assert_int_equal(mamori_user_list(tv->admin, &u, &n), 0);
    for (size_t i = 0; i < n; i++)
        if (strcmp(u[i].name, user) == 0)
            until = u[i].locked_until;
    free(u);
    assert_true(until >= 0);
    return until;
}

static void initial_password_restricts(void **state)
{
    struct tvault *tv = *state;
    struct mamori_record **rs = NULL;
    size_t n = 0;
    char id[MAMORI_ID_LEN + 1];
    struct mamori_kv kv = {"name", "山田 太郎"};

    assert_int_equal(mamori_user_add(tv->admin, "op2", "operator",
                                     TV_INITIAL_PW, strlen(TV_INITIAL_PW)),
                     0);
    /* a name that differs only in case is the same name */
    assert_int_equal(mamori_user_add(tv->admin, "OP2", "viewer", TV_INITIAL_PW,
                                     strlen(TV_INITIAL_PW)),
                     MAMORI_EEXIST);
    assert_non_null(strstr(mamori_errdetail(tv->admin), "case"));
    assert_int_equal(mamori_user_add(tv->admin, "Admin", "admin", TV_INITIAL_PW,
                                     strlen(TV_INITIAL_PW)),
                     MAMORI_EEXIST);
    assert_int_equal(mamori_dataset_grant(tv->admin, "people", "op2"), 0);
    mamori_sess *s = tv_login(tv, "op2", TV_INITIAL_PW);
    assert_non_null(s);
    assert_int_equal(mamori_session_needs(s),
                     MAMORI_NEED_PASSWD | MAMORI_NEED_MFA);
    /* nothing but passwd, MFA enrolment and logout */
    assert_int_equal(mamori_record_add(s, "people", &kv, 1, id, sizeof id),
                     MAMORI_EDENIED);
    assert_non_null(strstr(mamori_errdetail(s), "passwd"));
    assert_int_equal(
        mamori_record_search(s, "people", "name", "山田太郎", &rs, &n),
        MAMORI_EDENIED);
    /* the new password must follow the rules: errors name the rule */
    const char *bad[] = {"short1!A",        /* too short */
                         "alllowercase1!x", /* no upper case */
                         "op2-Secret#99xy", /* contains the user name */
                         "P@ssw0rd12345!",  /* common */
                         "Init!Tmp-7q2zX"}; /* close to the current one */
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(mamori_passwd(s, TV_INITIAL_PW, strlen(TV_INITIAL_PW),
                                       bad[i], strlen(bad[i])),
                         MAMORI_EINVAL);
        assert_non_null(strstr(mamori_errdetail(s), "new password: "));
        assert_null(strstr(mamori_errdetail(s), bad[i]));
    }
    assert_int_equal(mamori_session_needs(s),
                     MAMORI_NEED_PASSWD | MAMORI_NEED_MFA);
    assert_int_equal(mamori_passwd(s, TV_INITIAL_PW, strlen(TV_INITIAL_PW),
                                   "Kx7#mPq2vLw9", 12),
                     0);
    assert_int_equal(mamori_session_needs(s), MAMORI_NEED_MFA);
    assert_int_equal(mamori_record_add(s, "people", &kv, 1, id, sizeof id),
                     MAMORI_EDENIED);
    assert_non_null(strstr(mamori_errdetail(s), "mfa enroll"));
    assert_int_equal(tv_enrol(tv, s, "op2"), 0);
    assert_int_equal(mamori_session_needs(s), 0);
    assert_int_equal(mamori_record_add(s, "people", &kv, 1, id, sizeof id), 0);
    /* the initial password no longer works; the new one does */
    assert_int_equal(login_rc(tv, "op2", TV_INITIAL_PW), MAMORI_EAUTH);
    mamori_sess *s2 = tv_login(tv, "op2", "Kx7#mPq2vLw9");
    assert_non_null(s2);
    assert_int_equal(mamori_session_needs(s2), 0);
    mamori_session_close(s2);
    mamori_session_close(s);
}

static void passwd_history_and_sessions(void **state)
{
    struct tvault *tv = *state;
    struct mamori_user_info *u = NULL;
    size_t n;
    const char *pw[] = {TV_OP_PW,       "Bq8$zLr4-Ytw", "Mv3!kTq9#Pzc",
                        "Ru6&dXw2@Hjn", "Wc5%nGy7*Lsb", "Ze4^pKm8+Tqd",
                        "Ha9(vBf3)Nxr"};
    mamori_sess *other = tv_login(tv, "op1", TV_OP_PW);
    assert_non_null(other);
    /* a wrong current password is refused */
    assert_int_equal(
        mamori_passwd(tv->op, "wrong-Current1!", 15, pw[1], strlen(pw[1])),
        MAMORI_EAUTH);
    /* five changes; the other session ends at the first */
    for (int i = 1; i <= 5; i++)
        assert_int_equal(mamori_passwd(tv->op, pw[i - 1], strlen(pw[i - 1]),
                                       pw[i], strlen(pw[i])),
                         0);
    assert_int_equal(mamori_user_list(other, &u, &n), MAMORI_ESESSION);
    mamori_session_close(other);
    /* none of the last five (and not the current) may come back */
    for (int i = 5; i >= 0; i--) {
        assert_int_equal(
            mamori_passwd(tv->op, pw[5], strlen(pw[5]), pw[i], strlen(pw[i])),
            MAMORI_EINVAL);
    }
    assert_non_null(strstr(mamori_errdetail(tv->op), "used before"));
    /* the sixth-oldest may, once it has left the history */
    assert_int_equal(
        mamori_passwd(tv->op, pw[5], strlen(pw[5]), pw[6], strlen(pw[6])), 0);
    assert_int_equal(
        mamori_passwd(tv->op, pw[6], strlen(pw[6]), pw[1], strlen(pw[1])),
        MAMORI_EINVAL);
    assert_int_equal(
        mamori_passwd(tv->op, pw[6], strlen(pw[6]), pw[0], strlen(pw[0])), 0);
}

static void lockout_and_unlock(void **state)
{
    struct tvault *tv = *state;
    char detail[128];
    struct mamori_user_info *u = NULL;
    size_t n;

    for (int i = 0; i < 4; i++)
        assert_int_equal(login_rc(tv, "op1", "Wrong-Pass-123!"), MAMORI_EAUTH);
    /* four failures: not locked yet, and a success resets the count */
    mamori_sess *s = tv_login(tv, "op1", TV_OP_PW);
    assert_non_null(s);
    mamori_session_close(s);
    for (int i = 0; i < 5; i++)
        assert_int_equal(login_rc(tv, "op1", "Wrong-Pass-123!"), MAMORI_EAUTH);
    /* locked: the right password is refused, with the same answer */
    assert_int_equal(login_rc(tv, "op1", TV_OP_PW), MAMORI_EAUTH);
    last_detail(tv, "user.lock", detail, sizeof detail);
    assert_non_null(strstr(detail, "locked for 15 min"));
    last_detail(tv, "login", detail, sizeof detail);
    assert_string_equal(detail, "account locked");
    assert_int_equal(mamori_user_list(tv->admin, &u, &n), 0);
    for (size_t i = 0; i < n; i++)
        if (strcmp(u[i].name, "op1") == 0)
            assert_true(u[i].locked_until > tv_clock());
    free(u);
    /* 14 minutes later still locked; after 15 open again */
    tv_clock_set(tv_clock() + 14 * 60);
    assert_int_equal(login_rc(tv, "op1", TV_OP_PW), MAMORI_EAUTH);
    tv_clock_set(tv_clock() + 61);
    s = tv_login(tv, "op1", TV_OP_PW);
    assert_non_null(s);
    mamori_session_close(s);
    /* lock again; the admin unlocks at once */
    mamori_sess *admin = tv_login(tv, "admin", "Vault#Keeper-2026");
    assert_non_null(admin);
    for (int i = 0; i < 5; i++)
        assert_int_equal(login_rc(tv, "op1", "Wrong-Pass-123!"), MAMORI_EAUTH);
    assert_int_equal(login_rc(tv, "op1", TV_OP_PW), MAMORI_EAUTH);
    mamori_sess *aud = tv_login(tv, "aud1", TV_AUD_PW);
    assert_non_null(aud);
    assert_int_equal(mamori_user_unlock(aud, "op1"), MAMORI_EDENIED);
    mamori_session_close(aud);
    assert_int_equal(mamori_user_unlock(admin, "nobody"), MAMORI_ENOTFOUND);
    assert_int_equal(mamori_user_unlock(admin, "op1"), 0);
    /* an account that is not locked: said so, not "unlocked" */
    assert_int_equal(mamori_user_unlock(admin, "op1"), MAMORI_ESTATE);
    assert_non_null(strstr(mamori_errdetail(admin), "not locked"));
    last_detail_on(admin, "user.unlock", detail, sizeof detail);
    assert_string_equal(detail, "state: user op1: not locked");
    s = tv_login(tv, "op1", TV_OP_PW);
    assert_non_null(s);
    mamori_session_close(s);
    /* the threshold is a setting */
    assert_int_equal(mamori_config_set(admin, "lockout.threshold", "3"), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(login_rc(tv, "op1", "Wrong-Pass-123!"), MAMORI_EAUTH);
    assert_int_equal(login_rc(tv, "op1", TV_OP_PW), MAMORI_EAUTH);
    /* an unknown user is never "locked": same answer, nothing stored */
    for (int i = 0; i < 6; i++)
        assert_int_equal(login_rc(tv, "ghost", "Wrong-Pass-123!"),
                         MAMORI_EAUTH);
    mamori_session_close(admin);
}

/* Seconds on the monotonic clock (the library's test clock stands still). */
static double mono_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* With device.required on (the default) a login proves an approved device
 * before its password is looked at. Anyone without one - no proof, a
 * forged or replayed proof, a key never registered or still pending - is
 * refused with MAMORI_EDEVICE whatever the name and the password, quickly
 * (no password hashing), audited, and counted toward no lockout: they
 * cannot keep even the only admin out. From the approved device, wrong
 * passwords still lock the account, and a locked account still answers
 * as a wrong password does. */
static void device_before_password(void **state)
{
    struct tvault *tv = *state;
    const char *wrong = "Wrong-Pass-123!", *right = "Vault#Keeper-2026";
    char token[MAMORI_TOKEN_LEN + 1], ch[MAMORI_CHALLENGE_LEN + 1];
    char code[7], id[37], detail[128];
    uint8_t pk2[MAMORI_DEVICE_PK_LEN], sk2[MAMORI_DEVICE_SK_LEN];
    uint8_t sig[MAMORI_DEVICE_SIG_LEN];
    struct mamori_login_req req = {"admin", wrong, strlen(wrong), NULL,
                                   NULL,    NULL,  NULL};
    struct mamori_audit_entry *e = NULL;
    size_t n = 0;
    double t0, refused, failed;

    /* no device: ten wrong passwords, the right one, unknown names */
    for (int i = 0; i < 10; i++)
        assert_int_equal(mamori_login_ex(tv->m, &req, &cl, token, sizeof token),
                         MAMORI_EDEVICE);
    req.password = right;
    req.password_len = strlen(right);
    assert_int_equal(mamori_login_ex(tv->m, &req, &cl, token, sizeof token),
                     MAMORI_EDEVICE);
    req.user = "ghost";
    assert_int_equal(mamori_login_ex(tv->m, &req, &cl, token, sizeof token),
                     MAMORI_EDEVICE);
    req.user = "no such name!";
    assert_int_equal(mamori_login_ex(tv->m, &req, &cl, token, sizeof token),
                     MAMORI_EDEVICE);
    /* a forged proof: another key signing for the approved one */
    req.user = "admin";
    req.password = wrong;
    req.password_len = strlen(wrong);
    mamori_device_keygen(pk2, sk2);
    assert_int_equal(mamori_device_challenge(tv->m, ch, sizeof ch), 0);
    assert_int_equal(mamori_device_sign(tv->m, sk2, "admin", ch, sig), 0);
    req.device_pk = tv->device_pk;
    req.challenge = ch;
    req.signature = sig;
    assert_int_equal(mamori_login_ex(tv->m, &req, &cl, token, sizeof token),
                     MAMORI_EDEVICE);
    /* the approved key's signature of that challenge: used up, a replay */
    assert_int_equal(mamori_device_sign(tv->m, tv->device_sk, "admin", ch, sig),
                     0);
    assert_int_equal(mamori_login_ex(tv->m, &req, &cl, token, sizeof token),
                     MAMORI_EDEVICE);
    /* a key never registered, then the same key pending approval */
    assert_int_equal(mamori_device_challenge(tv->m, ch, sizeof ch), 0);
    assert_int_equal(mamori_device_sign(tv->m, sk2, "admin", ch, sig), 0);
    req.device_pk = pk2;
    assert_int_equal(mamori_login_ex(tv->m, &req, &cl, token, sizeof token),
                     MAMORI_EDEVICE);
    {
        struct mamori_login_req op = {
            "op1", TV_OP_PW, strlen(TV_OP_PW), code, NULL, NULL, NULL};
        assert_int_equal(tv_otp(tv, "op1", code), 0);
        assert_int_equal(
            mamori_device_request(tv->m, &op, "pending", pk2, &cl, id), 0);
    }
    assert_int_equal(mamori_device_challenge(tv->m, ch, sizeof ch), 0);
    assert_int_equal(mamori_device_sign(tv->m, sk2, "admin", ch, sig), 0);
    assert_int_equal(mamori_login_ex(tv->m, &req, &cl, token, sizeof token),
                     MAMORI_EDEVICE);

    /* each refusal audited with its reason, counted for nothing, and the
     * name only when it is a real user's; never the password */
    assert_int_equal(mamori_audit_show(tv->admin, 18, &e, &n), 0);
    assert_int_equal(n, 18);
    for (size_t i = 0; i < n; i++) {
        const char *why = i == 13 || i == 14
                              ? "device proof failed"
                              : "device not approved (device.required)";
        if (i == 16) {
            assert_string_equal(e[i].action, "device.enroll");
            continue;
        }
        assert_string_equal(e[i].action, "login");
        assert_string_equal(e[i].outcome, "denied");
        assert_string_equal(e[i].detail, why);
        assert_string_equal(e[i].user, i == 11 || i == 12 ? "" : "admin");
    }
    mamori_audit_entries_free(e, n);
    /* the admin is not locked and logs in at once */
    assert_int_equal(locked_until(tv, "admin"), 0);
    mamori_sess *s = tv_login(tv, "admin", right);
    assert_non_null(s);
    mamori_session_close(s);

    /* from the approved device five wrong passwords lock it; a refusal
     * for the device costs far less than a checked password */
    req.device_pk = NULL;
    req.challenge = NULL;
    req.signature = NULL;
    t0 = mono_seconds();
    for (int i = 0; i < 5; i++)
        assert_int_equal(mamori_login_ex(tv->m, &req, &cl, token, sizeof token),
                         MAMORI_EDEVICE);
    refused = mono_seconds() - t0;
    t0 = mono_seconds();
    for (int i = 0; i < 5; i++)
        assert_int_equal(login_rc(tv, "admin", wrong), MAMORI_EAUTH);
    failed = mono_seconds() - t0;
    assert_true(refused < failed / 2);
    last_detail(tv, "user.lock", detail, sizeof detail);
    assert_non_null(strstr(detail, "after 5 failures"));
    assert_true(locked_until(tv, "admin") > tv_clock());
    /* locked: every factor right answers as a wrong password; without a
     * device the answer is the device's, as for anyone */
    assert_int_equal(tv_login_token(tv, "admin", right, NULL, token),
                     MAMORI_EAUTH);
    last_detail(tv, "login", detail, sizeof detail);
    assert_string_equal(detail, "account locked");
    req.password = right;
    req.password_len = strlen(right);
    assert_int_equal(mamori_login_ex(tv->m, &req, &cl, token, sizeof token),
                     MAMORI_EDEVICE);
}

/* With device.required off a login needs no device: wrong passwords
 * without one count toward the lockout as before. */
static void no_device_required(void **state)
{
    struct tvault *tv = *state;
    char detail[128];

    assert_int_equal(mamori_config_set(tv->admin, "device.required", "off"), 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(login_rc(tv, "op1", "Wrong-Pass-123!"), MAMORI_EAUTH);
    for (int i = 0; i < 4; i++) {
        char token[MAMORI_TOKEN_LEN + 1];
        assert_int_equal(mamori_login(tv->m, "aud1", "Wrong-Pass-123!", 15, &cl,
                                      token, sizeof token),
                         MAMORI_EAUTH);
    }
    last_detail(tv, "login", detail, sizeof detail);
    assert_string_equal(detail, "wrong password (4 in a row)");
    assert_true(locked_until(tv, "op1") > tv_clock());
    assert_int_equal(locked_until(tv, "aud1"), 0);
}

/* The disabled flag of user, as an admin sees it (-1 if not listed). */
static int disabled_of(mamori_sess *admin, const char *user)
{
    struct mamori_user_info *u = NULL;
    size_t n = 0;
    int d = -1;
    assert_int_equal(mamori_user_list(admin, &u, &n), 0);
    for (size_t i = 0; i < n; i++)
        if (strcmp(u[i].name, user) == 0)
            d = u[i].disabled;
    free(u);
    return d;
}

/* Off-boarding (異動・退職): an admin disables a user, whose sessions end
 * at once and whose logins are refused as a wrong password is; enabling
 * lets the same password in again. Disabling the last admin or oneself is
 * refused, nothing to change is MAMORI_ESTATE, and enabling an admin
 * counts toward admin.max. Every call is audited. */
static void user_disable_enable(void **state)
{
    struct tvault *tv = *state;
    struct mamori_user_info *u = NULL;
    char token[MAMORI_TOKEN_LEN + 1], outcome[16], detail[128];
    size_t n = 0;

    /* admins only */
    assert_int_equal(mamori_user_disable(tv->op, "aud1", 1), MAMORI_EDENIED);
    assert_int_equal(mamori_user_disable(tv->aud, "op1", 1), MAMORI_EDENIED);
    assert_int_equal(mamori_user_disable(tv->aud, "op1", 0), MAMORI_EDENIED);
    last_entry(tv, "user.enable", outcome, sizeof outcome, detail,
               sizeof detail);
    assert_string_equal(outcome, "denied");
    assert_int_equal(mamori_user_disable(tv->admin, "nobody", 1),
                     MAMORI_ENOTFOUND);
    assert_int_equal(mamori_user_disable(tv->admin, "op1", 0), MAMORI_ESTATE);
    assert_non_null(strstr(mamori_errdetail(tv->admin), "not disabled"));

    /* disabled: the session ends, a login answers as a wrong password */
    assert_int_equal(mamori_user_disable(tv->admin, "op1", 1), 0);
    last_detail(tv, "user.disable", detail, sizeof detail);
    assert_string_equal(detail, "user op1: disabled, 1 sessions ended");
    assert_int_equal(mamori_user_list(tv->op, &u, &n), MAMORI_ESESSION);
    assert_int_equal(disabled_of(tv->admin, "op1"), 1);
    assert_int_equal(tv_login_token(tv, "op1", TV_OP_PW, NULL, token),
                     MAMORI_EAUTH);
    last_detail(tv, "login", detail, sizeof detail);
    assert_non_null(strstr(detail, "user disabled"));
    assert_int_equal(mamori_user_disable(tv->admin, "op1", 1), MAMORI_ESTATE);
    assert_non_null(strstr(mamori_errdetail(tv->admin), "disabled already"));
    last_entry(tv, "user.disable", outcome, sizeof outcome, detail,
               sizeof detail);
    assert_string_equal(outcome, "error");
    assert_string_equal(detail, "state: user op1: disabled already");
    /* enabled: the same password logs in again */
    assert_int_equal(mamori_user_disable(tv->admin, "op1", 0), 0);
    last_detail(tv, "user.enable", detail, sizeof detail);
    assert_string_equal(detail, "user op1: enabled");
    assert_int_equal(disabled_of(tv->admin, "op1"), 0);
    mamori_sess *s = tv_login(tv, "op1", TV_OP_PW);
    assert_non_null(s);
    mamori_session_close(s);

    /* the last admin who is not disabled */
    assert_int_equal(mamori_user_disable(tv->admin, "admin", 1),
                     MAMORI_EDENIED);
    assert_non_null(strstr(mamori_errdetail(tv->admin), "last admin"));
    last_entry(tv, "user.disable", outcome, sizeof outcome, detail,
               sizeof detail);
    assert_string_equal(outcome, "denied");
    assert_string_equal(detail, "denied: user admin: last admin");
    /* with a second admin: not one's own account; the other may */
    assert_int_equal(mamori_user_add(tv->admin, "admin2", "admin",
                                     TV_INITIAL_PW, strlen(TV_INITIAL_PW)),
                     0);
    mamori_sess *a2 =
        tv_first_login(tv, "admin2", TV_INITIAL_PW, "Zweit#Admin-3391");
    assert_non_null(a2);
    assert_int_equal(mamori_user_disable(tv->admin, "admin", 1),
                     MAMORI_EDENIED);
    assert_non_null(strstr(mamori_errdetail(tv->admin), "your own account"));
    assert_int_equal(mamori_user_disable(a2, "admin", 1), 0);
    assert_int_equal(mamori_user_list(tv->admin, &u, &n), MAMORI_ESESSION);
    assert_int_equal(mamori_user_disable(a2, "admin", 0), 0);
    mamori_session_close(tv->admin);
    tv->admin = tv_login(tv, "admin", "Vault#Keeper-2026");
    assert_non_null(tv->admin);
    /* enabling an admin again counts toward admin.max (2) */
    assert_int_equal(mamori_user_disable(tv->admin, "admin2", 1), 0);
    assert_int_equal(mamori_user_list(a2, &u, &n), MAMORI_ESESSION);
    mamori_session_close(a2);
    assert_int_equal(mamori_user_add(tv->admin, "admin3", "admin",
                                     TV_INITIAL_PW, strlen(TV_INITIAL_PW)),
                     0);
    assert_int_equal(mamori_user_disable(tv->admin, "admin2", 0),
                     MAMORI_EDENIED);
    assert_non_null(strstr(mamori_errdetail(tv->admin), "admin.max"));
    assert_int_equal(disabled_of(tv->admin, "admin2"), 1);
}

/* passwd is no way around the lockout: a wrong current password counts
 * as a failed login does; while locked, a change is refused before any
 * password check, with a login's answer, and the lock stays. */
static void passwd_during_lockout(void **state)
{
    struct tvault *tv = *state;
    char outcome[16], detail[128];
    const char *pw = "Bq8$zLr4-Ytw";

    for (int i = 0; i < 5; i++)
        assert_int_equal(
            mamori_passwd(tv->op, "Wrong-Pass-123!", 15, pw, strlen(pw)),
            MAMORI_EAUTH);
    last_entry(tv, "passwd", outcome, sizeof outcome, detail, sizeof detail);
    assert_string_equal(outcome, "denied");
    assert_string_equal(detail, "auth: current password does not match");
    last_detail(tv, "login", detail, sizeof detail);
    assert_string_equal(detail, "passwd: wrong current password (5 in a row)");
    last_detail(tv, "user.lock", detail, sizeof detail);
    assert_non_null(strstr(detail, "after 5 failures"));
    int64_t until = locked_until(tv, "op1");
    assert_true(until > tv_clock());

    /* locked: the right current password is refused all the same, with
     * no detail (as a login), and counts for nothing */
    assert_int_equal(
        mamori_passwd(tv->op, TV_OP_PW, strlen(TV_OP_PW), pw, strlen(pw)),
        MAMORI_EAUTH);
    assert_string_equal(mamori_errdetail(tv->op), "");
    last_entry(tv, "passwd", outcome, sizeof outcome, detail, sizeof detail);
    assert_string_equal(outcome, "denied");
    assert_string_equal(detail, "auth: account locked");
    assert_int_equal(
        mamori_passwd(tv->op, "Wrong-Pass-123!", 15, pw, strlen(pw)),
        MAMORI_EAUTH);
    assert_string_equal(mamori_errdetail(tv->op), "");
    /* the lock stands, unchanged; the password too */
    assert_int_equal(locked_until(tv, "op1"), until);
    assert_int_equal(login_rc(tv, "op1", TV_OP_PW), MAMORI_EAUTH);
    assert_int_equal(login_rc(tv, "op1", pw), MAMORI_EAUTH);

    /* once the lock has run out, the old password is still the one (the
     * admin's session has idled out meanwhile) */
    tv_clock_set(until + 1);
    mamori_session_close(tv->admin);
    tv->admin = tv_login(tv, "admin", "Vault#Keeper-2026");
    assert_non_null(tv->admin);
    mamori_sess *s = tv_login(tv, "op1", TV_OP_PW);
    assert_non_null(s);
    assert_int_equal(
        mamori_passwd(s, TV_OP_PW, strlen(TV_OP_PW), pw, strlen(pw)), 0);
    assert_int_equal(locked_until(tv, "op1"), 0);
    mamori_session_close(s);
}

static void session_limits(void **state)
{
    struct tvault *tv = *state;
    struct mamori_user_info *u = NULL;
    size_t n;
    mamori_sess *s = tv_login(tv, "aud1", TV_AUD_PW);
    assert_non_null(s);
    int64_t t0 = tv_clock();
    /* used every 14 minutes it lives until the 12-hour limit */
    for (int i = 1; i * 14 * 60 < 12 * 3600; i++) {
        tv_clock_set(t0 + i * 14 * 60);
        assert_int_equal(mamori_user_list(s, &u, &n), 0);
        free(u);
    }
    tv_clock_set(t0 + 12 * 3600 + 1);
    assert_int_equal(mamori_user_list(s, &u, &n), MAMORI_ESESSION);
    mamori_session_close(s);
    /* idle limit is a setting */
    mamori_sess *admin = tv_login(tv, "admin", "Vault#Keeper-2026");
    assert_non_null(admin);
    assert_int_equal(mamori_config_set(admin, "session.idle_minutes", "30"), 0);
    s = tv_login(tv, "aud1", TV_AUD_PW);
    assert_non_null(s);
    /* the limits a page shows: the setting, and the 12-hour end */
    int64_t idle = 0, end = 0;
    assert_int_equal(mamori_session_limits(s, &idle, &end), 0);
    assert_int_equal(idle, 30 * 60);
    assert_int_equal(end, tv_clock() + 12 * 3600);
    assert_int_equal(mamori_session_limits(s, NULL, &end), MAMORI_EINVAL);
    assert_int_equal(mamori_session_limits(NULL, &idle, &end), MAMORI_ESESSION);
    tv_clock_set(tv_clock() + 29 * 60);
    assert_int_equal(mamori_user_list(s, &u, &n), 0);
    free(u);
    tv_clock_set(tv_clock() + 31 * 60);
    assert_int_equal(mamori_user_list(s, &u, &n), MAMORI_ESESSION);
    /* an ended session has no limits to show */
    assert_int_equal(mamori_session_limits(s, &idle, &end), MAMORI_ESESSION);
    /* nor life to keep */
    assert_int_equal(mamori_session_keepalive(s), MAMORI_ESESSION);
    mamori_session_close(s);
    /* a long upload keeps its session alive: 50 minutes without a call,
     * but a keepalive every 20 */
    s = tv_login(tv, "aud1", TV_AUD_PW);
    assert_non_null(s);
    tv_clock_set(tv_clock() + 20 * 60);
    assert_int_equal(mamori_session_keepalive(s), 0);
    tv_clock_set(tv_clock() + 20 * 60);
    assert_int_equal(mamori_session_keepalive(s), 0);
    tv_clock_set(tv_clock() + 10 * 60);
    assert_int_equal(mamori_user_list(s, &u, &n), 0);
    free(u);
    /* and nothing else does: 31 idle minutes end it */
    tv_clock_set(tv_clock() + 31 * 60);
    assert_int_equal(mamori_session_keepalive(s), MAMORI_ESESSION);
    assert_int_equal(mamori_user_list(s, &u, &n), MAMORI_ESESSION);
    assert_int_equal(mamori_session_keepalive(NULL), MAMORI_ESESSION);
    mamori_session_close(s);
    /* requests closer together than the touch grain are not all stored,
     * yet the idle time counts from the last of them: never shorter */
    s = tv_login(tv, "aud1", TV_AUD_PW);
    assert_non_null(s);
    tv_clock_set(tv_clock() + 60);
    assert_int_equal(mamori_user_list(s, &u, &n), 0); /* stored */
    free(u);
    tv_clock_set(tv_clock() + AUTH_TOUCH_GRAIN - 1);
    assert_int_equal(mamori_user_list(s, &u, &n), 0); /* within the grain */
    free(u);
    tv_clock_set(tv_clock() + 30 * 60);
    assert_int_equal(mamori_user_list(s, &u, &n), 0);
    free(u);
    tv_clock_set(tv_clock() + 30 * 60 + AUTH_TOUCH_GRAIN + 1);
    assert_int_equal(mamori_user_list(s, &u, &n), MAMORI_ESESSION);
    mamori_session_close(s);
    mamori_session_close(admin);
}

static void session_list_and_revoke(void **state)
{
    struct tvault *tv = *state;
    struct mamori_session_info *list = NULL;
    struct mamori_user_info *u = NULL;
    size_t n = 0;
    char id[17] = "";

    assert_int_equal(mamori_session_list(tv->op, &list, &n), MAMORI_EDENIED);
    assert_int_equal(mamori_session_list(tv->aud, &list, &n), MAMORI_EDENIED);
    assert_int_equal(mamori_session_list(tv->admin, &list, &n), 0);
    assert_true(n >= 3);
    int cur = 0;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(strlen(list[i].id), 16);
        cur += list[i].current;
        if (strcmp(list[i].user, "aud1") == 0)
            memcpy(id, list[i].id, sizeof id);
    }
    assert_int_equal(cur, 1);
    free(list);
    assert_int_equal(mamori_session_revoke(tv->admin, "0123456789abcdef", NULL),
                     MAMORI_ENOTFOUND);
    assert_int_equal(mamori_session_revoke(tv->admin, "short", NULL),
                     MAMORI_EINVAL);
    assert_int_equal(mamori_session_revoke(tv->admin, id, NULL), 0);
    assert_int_equal(mamori_user_list(tv->aud, &u, &n), MAMORI_ESESSION);
    /* an id and a user at once: one or the other */
    assert_int_equal(mamori_session_revoke(tv->admin, id, "op1"),
                     MAMORI_EINVAL);
    assert_non_null(strstr(mamori_errdetail(tv->admin), "not both"));
    assert_int_equal(mamori_session_revoke(tv->admin, NULL, "op1"), 0);
    struct mamori_record **rs = NULL;
    assert_int_equal(
        mamori_record_search(tv->op, "people", "name", "山田太郎", &rs, &n),
        MAMORI_ESESSION);
    assert_int_equal(mamori_session_revoke(tv->admin, NULL, "nobody"),
                     MAMORI_ENOTFOUND);
    /* a user with no live session: said so, nothing "ended" */
    char detail[128];
    assert_int_equal(mamori_session_revoke(tv->admin, NULL, "op1"),
                     MAMORI_ENOTFOUND);
    assert_non_null(strstr(mamori_errdetail(tv->admin), "no live session"));
    last_detail(tv, "session.revoke", detail, sizeof detail);
    assert_string_equal(detail, "not-found: sessions of user op1");
}

static void settings(void **state)
{
    struct tvault *tv = *state;
    struct mamori_config_item *items = NULL;
    size_t n = 0;
    char detail[128];

    assert_int_equal(mamori_config_list(tv->op, &items, &n), MAMORI_EDENIED);
    assert_int_equal(mamori_config_list(tv->aud, &items, &n), 0);
    assert_true(n >= 7);
    int seen = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(items[i].key, "password.min_length") == 0) {
            assert_string_equal(items[i].value, "10");
            assert_string_equal(items[i].def, "10");
            seen = 1;
        }
    }
    assert_true(seen);
    free(items);
    assert_int_equal(mamori_config_set(tv->aud, "password.min_length", "12"),
                     MAMORI_EDENIED);
    assert_int_equal(mamori_config_set(tv->admin, "password.min_length", "7"),
                     MAMORI_EINVAL);
    assert_non_null(strstr(mamori_errdetail(tv->admin), "8-128"));
    assert_int_equal(mamori_config_set(tv->admin, "password.min_length", "1e3"),
                     MAMORI_EINVAL);
    assert_int_equal(mamori_config_set(tv->admin, "no.such", "1"),
                     MAMORI_ENOTFOUND);
    {
        char now[MAMORI_CONFIG_VALUE_MAX];
        assert_int_equal(mamori_config_normalize("password.min_length", " 010",
                                                 now, sizeof now),
                         0);
        assert_string_equal(now, "10");
        assert_int_equal(mamori_config_normalize("password.min_length", "7",
                                                 now, sizeof now),
                         MAMORI_EINVAL);
        assert_int_equal(
            mamori_config_normalize("no.such", "1", now, sizeof now),
            MAMORI_ENOTFOUND);
        assert_string_equal(now, "");
    }
    assert_int_equal(mamori_config_set(tv->admin, "password.profile", "weak"),
                     MAMORI_EINVAL);
    assert_int_equal(mamori_config_set(tv->admin, "password.min_length", "14"),
                     0);
    last_detail(tv, "config.set", detail, sizeof detail);
    assert_string_equal(detail, "password.min_length: 10 -> 14");
    /* the new rule applies */
    assert_int_equal(
        mamori_passwd(tv->op, TV_OP_PW, strlen(TV_OP_PW), "Kx7#mPq2vLw9", 12),
        MAMORI_EINVAL);
    assert_non_null(strstr(mamori_errdetail(tv->op), "14"));
    /* NIST profile: long passphrases without character classes */
    assert_int_equal(mamori_config_set(tv->admin, "password.profile", "nist"),
                     0);
    last_detail(tv, "config.set", detail, sizeof detail);
    assert_string_equal(detail, "password.profile: requirements -> nist");
    const char *phrase = "twelve purple lanterns 京都の夜";
    assert_int_equal(mamori_passwd(tv->op, TV_OP_PW, strlen(TV_OP_PW), phrase,
                                   strlen(phrase)),
                     0);
}

static void reset_and_hash_upgrade(void **state)
{
    struct tvault *tv = *state;
    char path[400], weak[crypto_pwhash_STRBYTES], *hash = NULL;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;

    /* an admin-set password after a reset must be changed again */
    assert_int_equal(
        mamori_user_reset(tv->op, "aud1", TV_INITIAL_PW, strlen(TV_INITIAL_PW)),
        MAMORI_EDENIED);
    assert_int_equal(mamori_user_reset(tv->admin, "aud1", TV_INITIAL_PW,
                                       strlen(TV_INITIAL_PW)),
                     0);
    struct mamori_user_info *u = NULL;
    size_t n;
    assert_int_equal(mamori_user_list(tv->aud, &u, &n), MAMORI_ESESSION);
    mamori_sess *s = tv_login(tv, "aud1", TV_INITIAL_PW);
    assert_non_null(s);
    assert_int_equal(mamori_session_needs(s), MAMORI_NEED_PASSWD);
    mamori_session_close(s);

    /* a hash with weaker (older) parameters is upgraded at login */
    assert_int_equal(crypto_pwhash_argon2id_str(weak, TV_OP_PW,
                                                strlen(TV_OP_PW), 2,
                                                19u * 1024 * 1024),
                     0);
    snprintf(path, sizeof path, "%s/vault.db", tv->home);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "UPDATE users SET pwhash = ?1 WHERE "
                                        "name = 'op1'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, weak, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    s = tv_login(tv, "op1", TV_OP_PW);
    assert_non_null(s);
    mamori_session_close(s);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT pwhash FROM users WHERE "
                                        "name = 'op1'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    hash = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    assert_non_null(strstr(hash, "$argon2id$"));
    assert_non_null(strstr(hash, "m=65536,t=3"));
    free(hash);
    char detail[128];
    last_detail(tv, "login", detail, sizeof detail);
    assert_string_equal(detail, "totp; password hash upgraded");
}

/* login_ex with req and a fresh proof of the test's device. */
static int login_dev(struct tvault *tv, struct mamori_login_req *req,
                     char *token)
{
    char challenge[MAMORI_CHALLENGE_LEN + 1];
    uint8_t sig[MAMORI_DEVICE_SIG_LEN];
    int rc = tv_prove(tv, req, challenge, sig);
    if (rc == 0)
        rc = mamori_login_ex(tv->m, req, &cl, token, MAMORI_TOKEN_LEN + 1);
    req->device_pk = req->signature = NULL;
    req->challenge = NULL;
    return rc;
}

static void mfa_codes(void **state)
{
    struct tvault *tv = *state;
    char token[MAMORI_TOKEN_LEN + 1], code[7], detail[128];
    char codes[MAMORI_RECOVERY_CODES][MAMORI_RECOVERY_LEN + 1];
    struct mamori_login_req req = {
        "op1", TV_OP_PW, strlen(TV_OP_PW), NULL, NULL, NULL, NULL};
    struct mamori_mfa_enrolment e;

    /* the password alone is not enough, and says so */
    assert_int_equal(login_dev(tv, &req, token), MAMORI_EOTP);
    /* a code works once: the same code again is a replay */
    assert_int_equal(tv_otp(tv, "op1", code), 0);
    req.otp = code;
    assert_int_equal(login_dev(tv, &req, token), 0);
    assert_int_equal(login_dev(tv, &req, token), MAMORI_EAUTH);
    /* malformed codes are just wrong */
    const char *bad[] = {"", "12345", "1234567", "abcdef", "000000x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        req.otp = bad[i];
        assert_int_equal(login_dev(tv, &req, token), MAMORI_EAUTH);
    }
    /* wrong codes count toward the lockout: 1 replay + 5 bad = locked */
    assert_int_equal(tv_otp(tv, "op1", code), 0);
    req.otp = code;
    assert_int_equal(login_dev(tv, &req, token), MAMORI_EAUTH);
    last_detail(tv, "user.lock", detail, sizeof detail);
    assert_non_null(strstr(detail, "locked"));
    assert_int_equal(mamori_user_unlock(tv->admin, "op1"), 0);
    /* already active: enrolling again is refused; an admin resets */
    assert_int_equal(mamori_mfa_enroll(tv->op, &e), MAMORI_ESTATE);
    assert_int_equal(mamori_mfa_reset(tv->op, "op1"), MAMORI_EDENIED);
    /* an admin's own MFA: another admin resets it */
    assert_int_equal(mamori_mfa_reset(tv->admin, "admin"), MAMORI_EDENIED);
    assert_non_null(strstr(mamori_errdetail(tv->admin), "another admin"));
    char outcome[16];
    last_entry(tv, "mfa.reset", outcome, sizeof outcome, detail, sizeof detail);
    assert_string_equal(outcome, "denied");
    assert_string_equal(detail, "denied: user admin: own MFA");
    assert_null(strstr(detail, "removed"));
    /* a failed reset claims no removal */
    assert_int_equal(mamori_mfa_reset(tv->admin, "nobody"), MAMORI_ENOTFOUND);
    last_entry(tv, "mfa.reset", outcome, sizeof outcome, detail, sizeof detail);
    assert_string_equal(outcome, "error");
    assert_string_equal(detail, "not-found");
    assert_int_equal(mamori_mfa_reset(tv->admin, "op1"), 0);
    last_detail(tv, "mfa.reset", detail, sizeof detail);
    assert_non_null(strstr(detail, "user op1: MFA removed, "));
    mamori_sess *s = NULL;
    req.otp = NULL;
    assert_int_equal(login_dev(tv, &req, token), 0);
    assert_int_equal(mamori_session_open(tv->m, token, &cl, &s), 0);
    assert_int_equal(mamori_session_needs(s), MAMORI_NEED_MFA);
    /* a wrong confirmation code leaves it pending */
    assert_int_equal(mamori_mfa_enroll(s, &e), 0);
    assert_int_equal(strlen(e.secret), 32);
    assert_non_null(strstr(e.uri, "otpauth://totp/mamori:op1"));
    assert_non_null(strstr(e.uri, e.secret));
    snprintf(tv->secrets[1].b32, sizeof tv->secrets[1].b32, "%s", e.secret);
    assert_string_equal(tv->secrets[1].user, "op1");
    mamori_mfa_enrolment_free(&e);
    assert_int_equal(mamori_mfa_confirm(s, "000000", codes), MAMORI_EAUTH);
    assert_int_equal(mamori_session_needs(s), MAMORI_NEED_MFA);
    assert_int_equal(tv_otp(tv, "op1", code), 0);
    assert_int_equal(mamori_mfa_confirm(s, code, codes), 0);
    assert_int_equal(mamori_session_needs(s), 0);
    mamori_session_close(s);
    /* a recovery code logs in once, typed in any case, with or without
     * its dash */
    char typed[MAMORI_RECOVERY_LEN + 1];
    snprintf(typed, sizeof typed, "%s", codes[3]);
    for (char *p = typed; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    req.otp = typed;
    assert_int_equal(login_dev(tv, &req, token), 0);
    last_detail(tv, "login", detail, sizeof detail);
    assert_string_equal(detail, "recovery code used, 9 left");
    assert_int_equal(login_dev(tv, &req, token), MAMORI_EAUTH);
    req.otp = codes[4];
    assert_int_equal(login_dev(tv, &req, token), 0);
    /* the secret is not in the vault's files in the clear */
    char path[400], cmd[900];
    snprintf(path, sizeof path, "%s/vault.db", tv->home);
    snprintf(cmd, sizeof cmd, "grep -c '%s' '%s' '%s/keys.db' >/dev/null",
             tv->secrets[1].b32, path, tv->home);
    assert_int_not_equal(system(cmd), 0);
}

static const struct mamori_review_user *
find_user(const struct mamori_review_user *r, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(r[i].name, name) == 0)
            return &r[i];
    return NULL;
}

static void access_review(void **state)
{
    struct tvault *tv = *state;
    struct mamori_review_user *r = NULL;
    const struct mamori_review_user *e;
    size_t n = 0;
    char detail[128];

    assert_int_equal(mamori_access_review(tv->op, &r, &n), MAMORI_EDENIED);
    assert_int_equal(mamori_user_add(tv->admin, "new1", "viewer", TV_INITIAL_PW,
                                     strlen(TV_INITIAL_PW)),
                     0);
    assert_int_equal(mamori_user_add(tv->admin, "admin2", "admin",
                                     TV_INITIAL_PW, strlen(TV_INITIAL_PW)),
                     0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(login_rc(tv, "aud1", "Wrong-Pass-123!"), MAMORI_EAUTH);
    assert_int_equal(mamori_access_review(tv->admin, &r, &n), 0);
    assert_int_equal(n, 5);
    e = find_user(r, n, "op1");
    assert_non_null(e);
    assert_string_equal(e->role, "operator");
    assert_string_equal(e->datasets, "people");
    assert_int_equal(e->mfa, 2);
    assert_int_equal(e->flags, 0);
    e = find_user(r, n, "admin");
    assert_int_equal(e->devices, 1);
    assert_int_equal(e->flags, 0);
    e = find_user(r, n, "new1");
    assert_int_equal(e->flags, MAMORI_REVIEW_INITIAL_PW | MAMORI_REVIEW_NO_MFA);
    e = find_user(r, n, "aud1");
    assert_int_equal(e->flags, MAMORI_REVIEW_LOCKED);
    free(r);
    /* a handler shows as one; lowering the cap flags the excess admins;
     * 91 days on, whoever has not logged in since is dormant */
    assert_int_equal(mamori_dataset_grant_flags(tv->admin, "people", "op1",
                                                MAMORI_GRANT_HANDLER),
                     0);
    assert_int_equal(mamori_config_set(tv->admin, "admin.max", "1"), 0);
    tv_clock_set(tv_clock() + 91 * 86400);
    mamori_sess *admin = tv_login(tv, "admin", "Vault#Keeper-2026");
    assert_non_null(admin);
    assert_int_equal(mamori_access_review(admin, &r, &n), 0);
    e = find_user(r, n, "op1");
    assert_string_equal(e->datasets, "people(handler)");
    assert_int_equal(e->flags, MAMORI_REVIEW_DORMANT);
    e = find_user(r, n, "admin");
    assert_int_equal(e->flags, MAMORI_REVIEW_ADMIN_EXCESS);
    e = find_user(r, n, "admin2");
    assert_int_equal(e->flags,
                     MAMORI_REVIEW_ADMIN_EXCESS | MAMORI_REVIEW_DORMANT |
                         MAMORI_REVIEW_INITIAL_PW | MAMORI_REVIEW_NO_MFA);
    free(r);
    last_detail_on(admin, "access.review", detail, sizeof detail);
    assert_string_equal(detail, "5 users, 5 flagged");
    mamori_session_close(admin);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(initial_password_restricts, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(passwd_history_and_sessions, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(lockout_and_unlock, setup, teardown),
        cmocka_unit_test_setup_teardown(device_before_password, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(no_device_required, setup, teardown),
        cmocka_unit_test_setup_teardown(user_disable_enable, setup, teardown),
        cmocka_unit_test_setup_teardown(passwd_during_lockout, setup, teardown),
        cmocka_unit_test_setup_teardown(session_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(session_list_and_revoke, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(settings, setup, teardown),
        cmocka_unit_test_setup_teardown(reset_and_hash_upgrade, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(mfa_codes, setup, teardown),
        cmocka_unit_test_setup_teardown(access_review, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
