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

struct tvault {
    char home[256];
    char key[300];
    mamori *m;
    mamori_sess *admin, *op, *aud;
};

static inline mamori_sess *tv_login(struct tvault *tv, const char *user,
                                    const char *pw)
{
    char token[MAMORI_TOKEN_LEN + 1];
    struct mamori_client cl = {.device = "test", .os_uid = -1};
    mamori_sess *s = NULL;
    if (mamori_login(tv->m, user, pw, strlen(pw), &cl, token, sizeof token))
        return NULL;
    if (mamori_session_open(tv->m, token, &cl, &s))
        return NULL;
    return s;
}

/* A new user's first login: the initial password set by the admin, then
 * the change to pw that the restricted session allows. */
static inline mamori_sess *tv_first_login(struct tvault *tv, const char *user,
                                          const char *initial, const char *pw)
{
    mamori_sess *s = tv_login(tv, user, initial);
    if (!s || mamori_session_needs(s) != MAMORI_NEED_PASSWD ||
        mamori_passwd(s, initial, strlen(initial), pw, strlen(pw)) != 0 ||
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
    snprintf(tv->home, sizeof tv->home, "/tmp/mamori-unit.XXXXXX");
    if (!mkdtemp(tv->home))
        return -1;
    snprintf(tv->key, sizeof tv->key, "%s.key", tv->home);
    src.key_file = tv->key;
    if (mamori_init(tv->home, &src, "admin", "Vault#Keeper-2026", 17))
        return -2;
    if (mamori_open(tv->home, &src, &tv->m))
        return -3;
    tv->admin = tv_login(tv, "admin", "Vault#Keeper-2026");
    if (!tv->admin)
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
