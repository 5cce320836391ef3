/*
 * test_device.c - registered devices: a login without an approved device
 * is restricted to enrolling it; forged, replayed and stale proofs fail;
 * approval, revocation, the setting, and audit entries naming the device.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "helpers.h"

static const struct mamori_client cl = {.os_uid = -1};

/* login_ex for op1 with a device proof made by sk for the device with
 * public key pk. */
static int login_with(struct tvault *tv, const uint8_t *pk, const uint8_t *sk,
                      const char *challenge, char *token)
{
    char code[7];
    uint8_t sig[MAMORI_DEVICE_SIG_LEN];
    struct mamori_login_req req = {
        "op1", TV_OP_PW, strlen(TV_OP_PW), code, pk, challenge, sig};
    if (tv_otp(tv, "op1", code) ||
        mamori_device_sign(tv->m, sk, "op1", challenge, sig))
        return -100;
    return mamori_login_ex(tv->m, &req, &cl, token, MAMORI_TOKEN_LEN + 1);
}

static void unapproved_device(void **state)
{
    struct tvault *tv = *state;
    char token[MAMORI_TOKEN_LEN + 1], ch[MAMORI_CHALLENGE_LEN + 1], code[7];
    char id[37];
    uint8_t pk[MAMORI_DEVICE_PK_LEN], sk[MAMORI_DEVICE_SK_LEN];
    struct mamori_login_req req = {
        "op1", TV_OP_PW, strlen(TV_OP_PW), code, NULL, NULL, NULL};
    struct mamori_record **rs = NULL;
    size_t n = 0;
    mamori_sess *s = NULL;

    /* no device: refused, and audited as such */
    assert_int_equal(tv_otp(tv, "op1", code), 0);
    assert_int_equal(mamori_login_ex(tv->m, &req, &cl, token, sizeof token),
                     MAMORI_EDEVICE);
    struct mamori_audit_entry *last = NULL;
    assert_int_equal(mamori_audit_show(tv->admin, 1, &last, &n), 0);
    assert_string_equal(last[0].action, "login");
    assert_string_equal(last[0].outcome, "denied");
    assert_non_null(strstr(last[0].detail, "device not approved"));
    mamori_audit_entries_free(last, n);

    /* asking for approval: the credentials as for a login, no session */
    mamori_device_keygen(pk, sk);
    assert_int_equal(tv_otp(tv, "op1", code), 0);
    assert_int_equal(mamori_device_request(tv->m, &req, "", pk, &cl, id),
                     MAMORI_EINVAL);
    assert_int_equal(
        mamori_device_request(tv->m, &req, "bad\nname", pk, &cl, id),
        MAMORI_EINVAL);
    req.otp = NULL;
    assert_int_equal(
        mamori_device_request(tv->m, &req, "経理部 PC-3", pk, &cl, id),
        MAMORI_EOTP);
    req.otp = "000000";
    assert_int_equal(
        mamori_device_request(tv->m, &req, "経理部 PC-3", pk, &cl, id),
        MAMORI_EAUTH);
    req.otp = code;
    assert_int_equal(tv_otp(tv, "op1", code), 0);
    assert_int_equal(
        mamori_device_request(tv->m, &req, "経理部 PC-3", pk, &cl, id), 0);
    assert_int_equal(strlen(id), 36);
    char again[37];
    assert_int_equal(tv_otp(tv, "op1", code), 0);
    assert_int_equal(
        mamori_device_request(tv->m, &req, "again", pk, &cl, again),
        MAMORI_EEXIST);
    /* refused, recorded, and its code used up: a new key cannot come in
     * on it */
    assert_int_equal(mamori_audit_show(tv->admin, 1, &last, &n), 0);
    assert_string_equal(last[0].action, "device.enroll");
    assert_string_equal(last[0].outcome, "denied");
    assert_string_equal(last[0].detail, "device key already enrolled");
    mamori_audit_entries_free(last, n);
    uint8_t pk3[MAMORI_DEVICE_PK_LEN], sk3[MAMORI_DEVICE_SK_LEN];
    mamori_device_keygen(pk3, sk3);
    assert_int_equal(
        mamori_device_request(tv->m, &req, "third", pk3, &cl, again),
        MAMORI_EAUTH);
    assert_int_equal(tv_otp(tv, "op1", code), 0);
    assert_int_equal(
        mamori_device_request(tv->m, &req, "third", pk3, &cl, again), 0);
    assert_int_equal(mamori_device_revoke(tv->admin, again), 0);

    /* pending: logins from it are still refused */
    assert_int_equal(mamori_device_challenge(tv->m, ch, sizeof ch), 0);
    assert_int_equal(login_with(tv, pk, sk, ch, token), MAMORI_EDEVICE);
    /* only an admin approves */
    assert_int_equal(mamori_device_approve(tv->op, id), MAMORI_EDENIED);
    assert_int_equal(mamori_device_approve(tv->admin, "nope"),
                     MAMORI_ENOTFOUND);
    assert_int_equal(mamori_device_approve(tv->admin, id), 0);
    assert_int_equal(mamori_device_approve(tv->admin, id), MAMORI_ESTATE);
    assert_int_equal(mamori_device_challenge(tv->m, ch, sizeof ch), 0);
    assert_int_equal(login_with(tv, pk, sk, ch, token), 0);
    assert_int_equal(mamori_session_open(tv->m, token, &cl, &s), 0);
    assert_int_equal(mamori_session_needs(s), 0);
    assert_int_equal(
        mamori_record_search(s, "people", "name", "山田太郎", &rs, &n), 0);
    mamori_record_array_free(rs, n);
    /* the same challenge again: a replay (refused for the device, before
     * the password: device.required is on) */
    assert_int_equal(login_with(tv, pk, sk, ch, token), MAMORI_EDEVICE);
    /* a challenge made up by the client */
    assert_int_equal(login_with(tv, pk, sk,
                                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                                token),
                     MAMORI_EDEVICE);
    /* a stale challenge (older than 2 minutes) */
    assert_int_equal(mamori_device_challenge(tv->m, ch, sizeof ch), 0);
    tv_clock_set(tv_clock() + 150);
    assert_int_equal(login_with(tv, pk, sk, ch, token), MAMORI_EDEVICE);
    mamori_session_close(s);

    /* a forged signature: another key claiming to be the device */
    uint8_t pk2[MAMORI_DEVICE_PK_LEN], sk2[MAMORI_DEVICE_SK_LEN];
    mamori_device_keygen(pk2, sk2);
    assert_int_equal(mamori_device_challenge(tv->m, ch, sizeof ch), 0);
    assert_int_equal(login_with(tv, pk, sk2, ch, token), MAMORI_EDEVICE);
    /* none of these counted toward op1's lockout */
    mamori_sess *admin = tv_login(tv, "admin", "Vault#Keeper-2026");
    assert_non_null(admin);
    struct mamori_user_info *ui = NULL;
    assert_int_equal(mamori_user_list(admin, &ui, &n), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ui[i].locked_until, 0);
    free(ui);

    /* revoked: refused, and its sessions end */
    assert_int_equal(mamori_device_challenge(tv->m, ch, sizeof ch), 0);
    assert_int_equal(login_with(tv, pk, sk, ch, token), 0);
    assert_int_equal(mamori_session_open(tv->m, token, &cl, &s), 0);
    assert_int_equal(mamori_device_revoke(admin, id), 0);
    assert_int_equal(
        mamori_record_search(s, "people", "name", "山田太郎", &rs, &n),
        MAMORI_ESESSION);
    mamori_session_close(s);
    assert_int_equal(mamori_device_challenge(tv->m, ch, sizeof ch), 0);
    assert_int_equal(login_with(tv, pk, sk, ch, token), MAMORI_EDEVICE);

    /* the list; the audit names the failures and the device */
    struct mamori_device_info *d = NULL;
    assert_int_equal(mamori_device_list(tv->op, &d, &n), MAMORI_EDENIED);
    assert_int_equal(mamori_device_list(admin, &d, &n), 0);
    assert_int_equal(n, 3); /* with "third", revoked while pending */
    int seen = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(d[i].name, "third") == 0) {
            assert_string_equal(d[i].state, "revoked");
            seen++;
        }
        if (strcmp(d[i].id, id) == 0) {
            assert_string_equal(d[i].state, "revoked");
            assert_string_equal(d[i].name, "経理部 PC-3");
            assert_string_equal(d[i].requested_by, "op1");
            assert_string_equal(d[i].approved_by, "admin");
            seen++;
        }
        if (strcmp(d[i].id, tv->device) == 0) {
            assert_string_equal(d[i].state, "approved");
            seen++;
        }
    }
    assert_int_equal(seen, 3);
    free(d);
    struct mamori_audit_entry *e = NULL;
    assert_int_equal(mamori_audit_show(admin, 0, &e, &n), 0);
    int forged = 0, named = 0;
    for (size_t i = 0; i < n; i++) {
        if (strstr(e[i].detail, "device proof failed"))
            forged++;
        if (strcmp(e[i].action, "record.search") == 0 &&
            strcmp(e[i].device, id) == 0)
            named++;
    }
    assert_true(forged >= 4);
    assert_int_equal(named, 2); /* the search, and the refusal after revoke */
    mamori_audit_entries_free(e, n);

    /* with device.required off a login needs no device */
    assert_int_equal(mamori_config_set(admin, "device.required", "off"), 0);
    req.otp = code;
    assert_int_equal(tv_otp(tv, "op1", code), 0);
    assert_int_equal(mamori_login_ex(tv->m, &req, &cl, token, sizeof token), 0);
    assert_int_equal(mamori_session_open(tv->m, token, &cl, &s), 0);
    assert_int_equal(mamori_session_needs(s), 0);
    mamori_session_close(s);
    mamori_session_close(admin);
}

/* The state of device id, as an admin sees it ("" if not listed). */
static void device_state(struct tvault *tv, const char *id, char out[16])
{
    struct mamori_device_info *d = NULL;
    size_t n = 0;
    out[0] = '\0';
    assert_int_equal(mamori_device_list(tv->admin, &d, &n), 0);
    for (size_t i = 0; i < n; i++)
        if (strcmp(d[i].id, id) == 0)
            snprintf(out, 16, "%s", d[i].state);
    free(d);
}

/* Asks for (as op1) and approves a new device; its id into id. */
static void second_device(struct tvault *tv, const char *name, char id[37])
{
    char code[7];
    uint8_t pk[MAMORI_DEVICE_PK_LEN], sk[MAMORI_DEVICE_SK_LEN];
    struct mamori_login_req req = {
        "op1", TV_OP_PW, strlen(TV_OP_PW), code, NULL, NULL, NULL};
    mamori_device_keygen(pk, sk);
    assert_int_equal(tv_otp(tv, "op1", code), 0);
    assert_int_equal(mamori_device_request(tv->m, &req, name, pk, &cl, id), 0);
}

/* With device.required on, revoking the last approved device would shut
 * everyone out for good (no admin could log in to approve another): it is
 * refused, and audited as a refusal. With another approved device, or
 * with the setting off, it goes through; pending devices do not count. */
static void last_device(void **state)
{
    struct tvault *tv = *state;
    struct mamori_audit_entry *last = NULL;
    struct mamori_user_info *u = NULL;
    char st[16], pending[37], other[37];
    size_t n = 0;

    /* the device init approved is the only one */
    assert_int_equal(mamori_device_revoke(tv->admin, tv->device),
                     MAMORI_EDENIED);
    assert_non_null(strstr(mamori_errdetail(tv->admin), "device.required"));
    assert_non_null(strstr(mamori_errdetail(tv->admin), "another device"));
    assert_int_equal(mamori_audit_show(tv->admin, 1, &last, &n), 0);
    assert_string_equal(last[0].action, "device.revoke");
    assert_string_equal(last[0].outcome, "denied");
    assert_non_null(strstr(last[0].detail, "last approved device"));
    mamori_audit_entries_free(last, n);
    device_state(tv, tv->device, st);
    assert_string_equal(st, "approved");
    assert_int_equal(mamori_user_list(tv->admin, &u, &n), 0); /* still on */
    free(u);

    /* a pending device is no way in: it does not count, and may go */
    second_device(tv, "pending", pending);
    assert_int_equal(mamori_device_revoke(tv->admin, tv->device),
                     MAMORI_EDENIED);
    assert_int_equal(mamori_device_revoke(tv->admin, pending), 0);

    /* with a second approved device, one of the two may go */
    second_device(tv, "other", other);
    assert_int_equal(mamori_device_approve(tv->admin, other), 0);
    assert_int_equal(mamori_device_revoke(tv->admin, other), 0);
    device_state(tv, other, st);
    assert_string_equal(st, "revoked");
    /* (revoking a revoked device changes nothing: not refused) */
    assert_int_equal(mamori_device_revoke(tv->admin, other), 0);
    assert_int_equal(mamori_device_revoke(tv->admin, tv->device),
                     MAMORI_EDENIED);

    /* with device.required off the last one may go (the admin's session,
     * on it, ends) */
    assert_int_equal(mamori_config_set(tv->admin, "device.required", "off"), 0);
    assert_int_equal(mamori_device_revoke(tv->admin, tv->device), 0);
    assert_int_equal(mamori_user_list(tv->admin, &u, &n), MAMORI_ESESSION);
}

/* With device.required on the device proof is checked first: a refusal
 * for the device looks at neither the password nor the code (the code
 * still works after it) and counts toward no lockout, but uses up its
 * challenge. What a refused login checked stays used up: a one-time code
 * works once even when the login it came with was refused for another
 * reason. With the setting off a wrong proof is checked after the
 * password and the code, and counts as a failed login. Every refusal is
 * audited. */
static void refusal_uses_up(void **state)
{
    struct tvault *tv = *state;
    char token[MAMORI_TOKEN_LEN + 1], ch[MAMORI_CHALLENGE_LEN + 1];
    char ch2[MAMORI_CHALLENGE_LEN + 1], code[7];
    uint8_t sig[MAMORI_DEVICE_SIG_LEN], forged[MAMORI_DEVICE_SIG_LEN];
    uint8_t pk2[MAMORI_DEVICE_PK_LEN], sk2[MAMORI_DEVICE_SK_LEN];
    struct mamori_login_req req = {
        "op1", TV_OP_PW, strlen(TV_OP_PW), code, NULL, NULL, NULL};
    struct mamori_audit_entry *e = NULL;
    size_t n = 0;

    /* a right code with a forged device proof: refused for the device */
    mamori_device_keygen(pk2, sk2);
    assert_int_equal(tv_otp(tv, "op1", code), 0);
    assert_int_equal(mamori_device_challenge(tv->m, ch, sizeof ch), 0);
    assert_int_equal(mamori_device_sign(tv->m, sk2, "op1", ch, forged), 0);
    req.device_pk = tv->device_pk;
    req.challenge = ch;
    req.signature = forged;
    assert_int_equal(mamori_login_ex(tv->m, &req, &cl, token, sizeof token),
                     MAMORI_EDEVICE);
    /* its challenge is used up: the real signature of it is refused */
    assert_int_equal(mamori_device_sign(tv->m, tv->device_sk, "op1", ch, sig),
                     0);
    req.signature = sig;
    assert_int_equal(mamori_login_ex(tv->m, &req, &cl, token, sizeof token),
                     MAMORI_EDEVICE);
    /* the code was not looked at: with a fresh proof it logs in */
    assert_int_equal(tv_prove(tv, &req, ch2, sig), 0);
    assert_int_equal(mamori_login_ex(tv->m, &req, &cl, token, sizeof token), 0);
    /* the same code again, with a fresh proof: a replay, counted */
    assert_int_equal(tv_prove(tv, &req, ch2, sig), 0);
    assert_int_equal(mamori_login_ex(tv->m, &req, &cl, token, sizeof token),
                     MAMORI_EAUTH);

    /* a right code without a device: refused, counted for nothing, and
     * the code is not used: with a proof it logs in */
    req.device_pk = NULL;
    req.challenge = NULL;
    req.signature = NULL;
    assert_int_equal(tv_otp(tv, "op1", code), 0);
    assert_int_equal(mamori_login_ex(tv->m, &req, &cl, token, sizeof token),
                     MAMORI_EDEVICE);
    assert_int_equal(tv_prove(tv, &req, ch2, sig), 0);
    assert_int_equal(mamori_login_ex(tv->m, &req, &cl, token, sizeof token), 0);

    /* device.required off: a forged proof is checked after the code,
     * counts, and uses the code up */
    assert_int_equal(mamori_config_set(tv->admin, "device.required", "off"), 0);
    assert_int_equal(tv_otp(tv, "op1", code), 0);
    assert_int_equal(mamori_device_challenge(tv->m, ch, sizeof ch), 0);
    assert_int_equal(mamori_device_sign(tv->m, sk2, "op1", ch, forged), 0);
    req.device_pk = tv->device_pk;
    req.challenge = ch;
    req.signature = forged;
    assert_int_equal(mamori_login_ex(tv->m, &req, &cl, token, sizeof token),
                     MAMORI_EAUTH);
    assert_int_equal(tv_prove(tv, &req, ch2, sig), 0);
    assert_int_equal(mamori_login_ex(tv->m, &req, &cl, token, sizeof token),
                     MAMORI_EAUTH);
    /* a fresh code with a fresh proof logs in */
    assert_int_equal(tv_otp(tv, "op1", code), 0);
    assert_int_equal(tv_prove(tv, &req, ch2, sig), 0);
    assert_int_equal(mamori_login_ex(tv->m, &req, &cl, token, sizeof token), 0);

    assert_int_equal(mamori_audit_show(tv->admin, 10, &e, &n), 0);
    assert_int_equal(n, 10);
    const char *want[][4] = {
        {"op1", "login", "denied", "device proof failed"},
        {"op1", "login", "denied", "device proof failed"},
        {"op1", "login", "ok", ""},
        {"op1", "login", "denied", "wrong one-time code (1 in a row)"},
        {"op1", "login", "denied", "device not approved (device.required)"},
        {"op1", "login", "ok", ""},
        {"admin", "config.set", "ok", ""},
        {"op1", "login", "denied", "device proof failed (1 in a row)"},
        {"op1", "login", "denied", "wrong one-time code (2 in a row)"},
        {"op1", "login", "ok", ""},
    };
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(e[i].user, want[i][0]);
        assert_string_equal(e[i].action, want[i][1]);
        assert_string_equal(e[i].outcome, want[i][2]);
        if (want[i][3][0])
            assert_string_equal(e[i].detail, want[i][3]);
    }
    mamori_audit_entries_free(e, n);
}

static void key_file_text(void **state)
{
    uint8_t pk[MAMORI_DEVICE_PK_LEN], sk[MAMORI_DEVICE_SK_LEN];
    uint8_t pk2[MAMORI_DEVICE_PK_LEN], sk2[MAMORI_DEVICE_SK_LEN];
    char text[MAMORI_DEVICE_KEY_TEXT], bad[MAMORI_DEVICE_KEY_TEXT];
    (void)state;

    mamori_device_keygen(pk, sk);
    assert_int_equal(mamori_device_key_format(pk, sk, text, sizeof text), 0);
    assert_int_equal(strlen(text), 3 + 64 + 1 + 3 + 128 + 1);
    assert_int_equal(mamori_device_key_parse(text, strlen(text), pk2, sk2), 0);
    assert_memory_equal(pk, pk2, sizeof pk);
    assert_memory_equal(sk, sk2, sizeof sk);
    assert_int_equal(mamori_device_key_format(pk, sk, text, 10), MAMORI_EINVAL);
    /* truncated, upper-case hex, a missing newline, a public key that is
     * not the private key's */
    assert_int_equal(mamori_device_key_parse(text, strlen(text) - 1, pk2, sk2),
                     MAMORI_EINVAL);
    memcpy(bad, text, sizeof bad);
    bad[3] = bad[3] >= 'a' ? (char)(bad[3] - 'a' + 'A') : 'A';
    assert_int_equal(mamori_device_key_parse(bad, strlen(bad), pk2, sk2),
                     MAMORI_EINVAL);
    memcpy(bad, text, sizeof bad);
    bad[3 + 64] = ' ';
    assert_int_equal(mamori_device_key_parse(bad, strlen(bad), pk2, sk2),
                     MAMORI_EINVAL);
    memcpy(bad, text, sizeof bad);
    bad[5] = bad[5] == '0' ? '1' : '0';
    assert_int_equal(mamori_device_key_parse(bad, strlen(bad), pk2, sk2),
                     MAMORI_EINVAL);
    assert_int_equal(mamori_device_key_parse(NULL, 0, pk2, sk2), MAMORI_EINVAL);
    assert_int_equal(mamori_device_key_parse("", 0, pk2, sk2), MAMORI_EINVAL);
}

/* Wrong passwords given to a device enrolment count toward a lock of
 * enrolments only: a stranger, who needs no approved device to try one,
 * cannot lock the account's logins through it, nor guess without end.
 * user unlock lifts the enrolment lock too. */
static void enrol_failures_apart(void **state)
{
    struct tvault *tv = *state;
    uint8_t pk[MAMORI_DEVICE_PK_LEN], sk[MAMORI_DEVICE_SK_LEN];
    char id[37], code[7];
    struct mamori_login_req req = {
        "op1", "Wrong-Pass-123!", strlen("Wrong-Pass-123!"), NULL, NULL, NULL,
        NULL};
    struct mamori_audit_entry *e = NULL;
    size_t n = 0;
    mamori_sess *s;

    mamori_device_keygen(pk, sk);
    for (int i = 0; i < 5; i++)
        assert_int_equal(
            mamori_device_request(tv->m, &req, "PC-9", pk, &cl, id),
            MAMORI_EAUTH);
    assert_int_equal(mamori_audit_show(tv->admin, 2, &e, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(e[0].action, "device.enroll");
    assert_string_equal(e[0].outcome, "denied");
    assert_string_equal(e[0].detail, "wrong password (5 in a row)");
    assert_string_equal(e[1].action, "user.lock");
    assert_non_null(strstr(e[1].detail, "device enrolment locked for 15 min"));
    mamori_audit_entries_free(e, n);

    /* logins are not locked: op1 logs in from its approved device */
    s = tv_login(tv, "op1", TV_OP_PW);
    assert_non_null(s);
    mamori_session_close(s);
    struct mamori_user_info *u = NULL;
    assert_int_equal(mamori_user_list(tv->admin, &u, &n), 0);
    for (size_t i = 0; i < n; i++)
        if (strcmp(u[i].name, "op1") == 0)
            assert_int_equal(u[i].locked_until, 0);
    free(u);

    /* enrolments are: the right password is refused as a wrong one */
    req.password = TV_OP_PW;
    req.password_len = strlen(TV_OP_PW);
    assert_int_equal(tv_otp(tv, "op1", code), 0);
    req.otp = code;
    assert_int_equal(mamori_device_request(tv->m, &req, "PC-9", pk, &cl, id),
                     MAMORI_EAUTH);
    assert_int_equal(mamori_audit_show(tv->admin, 1, &e, &n), 0);
    assert_string_equal(e[0].detail, "device enrolment locked");
    mamori_audit_entries_free(e, n);

    /* user unlock lifts it; a second unlock finds nothing to lift */
    assert_int_equal(mamori_user_unlock(tv->admin, "op1"), 0);
    assert_int_equal(mamori_user_unlock(tv->admin, "op1"), MAMORI_ESTATE);
    assert_int_equal(tv_otp(tv, "op1", code), 0);
    assert_int_equal(mamori_device_request(tv->m, &req, "PC-9", pk, &cl, id),
                     0);
    assert_int_equal(strlen(id), 36);

    /* and it lapses by itself after lockout.minutes */
    uint8_t pk2[MAMORI_DEVICE_PK_LEN], sk2[MAMORI_DEVICE_SK_LEN];
    mamori_device_keygen(pk2, sk2);
    req.password = "Wrong-Pass-123!";
    req.password_len = strlen(req.password);
    req.otp = NULL;
    for (int i = 0; i < 5; i++)
        assert_int_equal(
            mamori_device_request(tv->m, &req, "PC-10", pk2, &cl, id),
            MAMORI_EAUTH);
    tv_clock_set(tv_clock() + 16 * 60);
    req.password = TV_OP_PW;
    req.password_len = strlen(TV_OP_PW);
    assert_int_equal(tv_otp(tv, "op1", code), 0);
    req.otp = code;
    assert_int_equal(mamori_device_request(tv->m, &req, "PC-10", pk2, &cl, id),
                     0);
    memset(sk, 0, sizeof sk);
    memset(sk2, 0, sizeof sk2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(unapproved_device, tv_group_setup,
                                        tv_group_teardown),
        cmocka_unit_test_setup_teardown(refusal_uses_up, tv_group_setup,
                                        tv_group_teardown),
        cmocka_unit_test_setup_teardown(last_device, tv_group_setup,
                                        tv_group_teardown),
        cmocka_unit_test_setup_teardown(enrol_failures_apart, tv_group_setup,
                                        tv_group_teardown),
        cmocka_unit_test(key_file_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
