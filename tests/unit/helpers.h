/*
 * helpers.h - shared set-up for unit tests that need a whole vault: a temp
 * home with a key file, an admin, an operator and an auditor, and a dataset
 * "people" granted to the operator.
 */
#ifndef MAMORI_TEST_HELPERS_H
#define MAMORI_TEST_HELPERS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mamori.h"

#include <time.h>

#include <liboath/oath.h>

/* A user's TOTP secret (Base32), kept by the test to make codes. */
struct tv_secret {
    char user[64];
    char b32[40];
};

struct tvault {
    char home[256];
    char key[300];
    mamori *m;
    mamori_sess *admin, *op, *aud;
    struct tv_secret secrets[16];
    size_t nsecrets;
    /* The approved device init registered: every tv_login proves it. */
    char device[37];
    uint8_t device_pk[MAMORI_DEVICE_PK_LEN];
    uint8_t device_sk[MAMORI_DEVICE_SK_LEN];
};

/* The library's test clock (MAMORI_TEST_NOW, with MAMORI_TEST_HOOKS=1):
 * pinned, so that tests move time instead of sleeping. */
static inline int64_t tv_clock(void)
{
    const char *t = getenv("MAMORI_TEST_NOW");
    return t && *t ? (int64_t)strtoll(t, NULL, 10) : (int64_t)time(NULL);
}

static inline void tv_clock_set(int64_t t)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)t);
    setenv("MAMORI_TEST_NOW", buf, 1);
}

static inline const char *tv_secret_of(struct tvault *tv, const char *user)
{
    for (size_t i = 0; i < tv->nsecrets; i++)
        if (strcmp(tv->secrets[i].user, user) == 0)
            return tv->secrets[i].b32;
    return NULL;
}

/* The user's TOTP code 30 s on: a code works once, so each login moves the
 * clock to the next step. 0, or -1. */
static inline int tv_otp(struct tvault *tv, const char *user, char code[7])
{
    const char *b32 = tv_secret_of(tv, user);
    char *raw = NULL;
    size_t len = 0;
    int rc;
    if (!b32 || oath_init() != OATH_OK ||
        oath_base32_decode(b32, strlen(b32), &raw, &len) != OATH_OK)
        return -1;
    tv_clock_set(tv_clock() + 30);
    rc = oath_totp_generate(raw, len, (time_t)tv_clock(), 30, 0, 6, code);
    free(raw);
    return rc == OATH_OK ? 0 : -1;
}

/* Adds the proof of the test's approved device to req (challenge and sig
 * are the caller's buffers). 0, or an error. */
static inline int tv_prove(struct tvault *tv, struct mamori_login_req *req,
                           char challenge[MAMORI_CHALLENGE_LEN + 1],
                           uint8_t sig[MAMORI_DEVICE_SIG_LEN])
{
    int rc = mamori_device_challenge(tv->m, challenge,
                                     MAMORI_CHALLENGE_LEN + 1);
    if (rc == 0)
        rc = mamori_device_sign(tv->m, tv->device_sk, req->user, challenge,
                                sig);
    if (rc == 0) {
        req->device_pk = tv->device_pk;
        req->challenge = challenge;
        req->signature = sig;
    }
    return rc;
}

/* Logs in with every factor: the password, a fresh code for a user with
 * MFA, the device proof. The mamori_login_ex result. */
static inline int tv_login_token(struct tvault *tv, const char *user,
                                 const char *pw,
                                 const struct mamori_client *client,
                                 char token[MAMORI_TOKEN_LEN + 1])
{
    char code[7], challenge[MAMORI_CHALLENGE_LEN + 1];
    uint8_t sig[MAMORI_DEVICE_SIG_LEN];
    struct mamori_client cl = {.device = "test", .os_uid = -1};
    struct mamori_login_req req = {user, pw, strlen(pw), NULL, NULL, NULL,
                                   NULL};
    int rc = tv->device[0] ? tv_prove(tv, &req, challenge, sig) : 0;
    if (rc == 0 && tv_secret_of(tv, user)) {
        rc = tv_otp(tv, user, code);
        req.otp = code;
    }
    if (rc == 0)
        rc = mamori_login_ex(tv->m, &req, client ? client : &cl, token,
                             MAMORI_TOKEN_LEN + 1);
    return rc;
}

static inline mamori_sess *tv_login(struct tvault *tv, const char *user,
                                    const char *pw)
{
    char token[MAMORI_TOKEN_LEN + 1];
    struct mamori_client cl = {.device = "test", .os_uid = -1};
    mamori_sess *s = NULL;
    if (tv_login_token(tv, user, pw, NULL, token) ||
        mamori_session_open(tv->m, token, &cl, &s))
        return NULL;
    return s;
}

/* Enrols MFA on session s of user (which must need it); keeps the secret
 * for tv_login. 0, or -1. */
static inline int tv_enrol(struct tvault *tv, mamori_sess *s, const char *user)
{
    struct mamori_mfa_enrolment e;
    char codes[MAMORI_RECOVERY_CODES][MAMORI_RECOVERY_LEN + 1], code[7];
    struct tv_secret *ts;
    if (tv->nsecrets == sizeof tv->secrets / sizeof tv->secrets[0] ||
        mamori_mfa_enroll(s, &e))
        return -1;
    ts = &tv->secrets[tv->nsecrets++];
    snprintf(ts->user, sizeof ts->user, "%s", user);
    snprintf(ts->b32, sizeof ts->b32, "%s", e.secret);
    mamori_mfa_enrolment_free(&e);
    if (tv_otp(tv, user, code) || mamori_mfa_confirm(s, code, codes))
        return -1;
    return mamori_session_needs(s) & MAMORI_NEED_MFA ? -1 : 0;
}

/* A new user's first login: the initial password set by the admin, then
 * the change to pw and the MFA enrolment that the restricted session
 * allows. */
static inline mamori_sess *tv_first_login(struct tvault *tv, const char *user,
                                          const char *initial, const char *pw)
{
    mamori_sess *s = tv_login(tv, user, initial);
    if (!s || !(mamori_session_needs(s) & MAMORI_NEED_PASSWD) ||
        mamori_passwd(s, initial, strlen(initial), pw, strlen(pw)) != 0 ||
        ((mamori_session_needs(s) & MAMORI_NEED_MFA) &&
         tv_enrol(tv, s, user) != 0) ||
        mamori_session_needs(s) != 0) {
        mamori_session_close(s);
        return NULL;
    }
    return s;
}

#define TV_INITIAL_PW "Init!Tmp-7q2zK"
#define TV_OP_PW "0Per@tor-pass1"
#define TV_AUD_PW "Kansa#Yaku-5521"

static inline int tv_setup(struct tvault *tv)
{
    static const struct mamori_field_def fields[] = {
        {"name", "name", 1},   {"kana", "kana", 1},
        {"birth", "date", 0},  {"phone", "phone", 1},
        {"mynumber", "mynumber", 0}, {"note", "text", 0},
    };
    struct mamori_dataset_def d = {"people", "テスト商事", "給与計算", NULL,
                                   fields, 6};
    struct mamori_keysrc src = {0};

    memset(tv, 0, sizeof *tv);
    setenv("MAMORI_TEST_HOOKS", "1", 1);
    snprintf(tv->home, sizeof tv->home, "/tmp/mamori-unit.XXXXXX");
    if (!mkdtemp(tv->home))
        return -1;
    snprintf(tv->key, sizeof tv->key, "%s.key", tv->home);
    src.key_file = tv->key;
    mamori_device_keygen(tv->device_pk, tv->device_sk);
    if (mamori_init_device(tv->home, &src, "admin", "Vault#Keeper-2026", 17,
                           "test PC", tv->device_pk, tv->device))
        return -2;
    if (mamori_open(tv->home, &src, &tv->m))
        return -3;
    tv->admin = tv_login(tv, "admin", "Vault#Keeper-2026");
    if (!tv->admin || tv_enrol(tv, tv->admin, "admin") != 0)
        return -4;
    if (mamori_user_add(tv->admin, "op1", "operator", TV_INITIAL_PW,
                        strlen(TV_INITIAL_PW)) ||
        mamori_user_add(tv->admin, "aud1", "auditor", TV_INITIAL_PW,
                        strlen(TV_INITIAL_PW)))
        return -5;
    if (mamori_dataset_create(tv->admin, &d) ||
        mamori_dataset_grant(tv->admin, "people", "op1"))
        return -6;
    tv->op = tv_first_login(tv, "op1", TV_INITIAL_PW, TV_OP_PW);
    tv->aud = tv_first_login(tv, "aud1", TV_INITIAL_PW, TV_AUD_PW);
    return tv->op && tv->aud ? 0 : -7;
}

static inline void tv_teardown(struct tvault *tv)
{
    char cmd[700];
    mamori_session_close(tv->admin);
    mamori_session_close(tv->op);
    mamori_session_close(tv->aud);
    mamori_close(tv->m);
    /* Test-owned temp paths only (mkdtemp names, no user input). */
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", tv->home, tv->key);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup failed\n");
}

/* cmocka set-up and tear-down around one test with its own vault. */
static inline int tv_group_setup(void **state)
{
    struct tvault *tv = calloc(1, sizeof *tv);
    if (!tv || tv_setup(tv) != 0) {
        free(tv);
        return -1;
    }
    *state = tv;
    return 0;
}

static inline int tv_group_teardown(void **state)
{
    tv_teardown(*state);
    free(*state);
    return 0;
}

#endif
