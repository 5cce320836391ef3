/*
 * mfa.c - the TOTP second factor (RFC 6238): enrolment, confirmation with
 * recovery codes, the check at login, an admin's reset. See mamori.h.
 *
 * A user's TOTP secret is stored sealed (AES-256-GCM) under the vault's
 * identity key, bound to the vault and the user. Recovery codes are kept as
 * HMAC-SHA-256 under the same key: a copy of vault.db alone does not let
 * anyone test guesses offline.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "auth.h"
#include "config.h"
#include "crypto.h"
#include "guard.h"
#include "keys.h"
#include "store.h"
#include "totp.h"
#include "banned.h"

#define MFA_ISSUER "mamori"

static int identity_key(struct mamori *m, const uint8_t **key)
{
    return keys_dataset_key(m->keys, KEYS_IDENTITY_ID, 1, 1, key);
}

static int secret_ad(struct mamori *m, int64_t user_id, char *ad, size_t size)
{
    int n = snprintf(ad, size, "mamori-totp v1|%s|%lld", m->vault_id,
                     (long long)user_id);
    return n < 0 || (size_t)n >= size ? -1 : n;
}

/* Seals secret into u->mfa_secret. */
static int seal_secret(struct mamori *m, struct store_user *u,
                       const uint8_t secret[TOTP_SECRET_LEN])
{
    const uint8_t *key;
    char ad[128];
    int adlen = secret_ad(m, u->id, ad, sizeof ad);
    int rc = identity_key(m, &key);

    if (rc != 0)
        return rc;
    if (adlen < 0 ||
        TOTP_SECRET_LEN + CRYPTO_AEAD_OVERHEAD > sizeof u->mfa_secret ||
        crypto_aead_encrypt(key, ad, (size_t)adlen, secret, TOTP_SECRET_LEN,
                            u->mfa_secret) != 0)
        return MAMORI_ECRYPTO;
    u->mfa_secret_len = TOTP_SECRET_LEN + CRYPTO_AEAD_OVERHEAD;
    return 0;
}

static int open_secret(struct mamori *m, const struct store_user *u,
                       uint8_t secret[TOTP_SECRET_LEN])
{
    const uint8_t *key;
    char ad[128];
    int adlen = secret_ad(m, u->id, ad, sizeof ad);
    int rc = identity_key(m, &key);

    if (rc != 0)
        return rc;
    if (adlen < 0 ||
        u->mfa_secret_len != TOTP_SECRET_LEN + CRYPTO_AEAD_OVERHEAD ||
        crypto_aead_decrypt(key, ad, (size_t)adlen, u->mfa_secret,
                            u->mfa_secret_len, secret) != 0)
        return MAMORI_ECRYPTO;
    return 0;
}

/* The MAC a normalised recovery code is kept as. */
static int recovery_mac(struct mamori *m, int64_t user_id, const char *norm,
                        uint8_t mac[32])
{
    const uint8_t *key;
    char head[64];
    int n = snprintf(head, sizeof head, "mamori-recovery v1|%lld|",
                     (long long)user_id);
    int rc = identity_key(m, &key);

    if (rc != 0)
        return rc;
    if (n < 0 || (size_t)n >= sizeof head)
        return MAMORI_EINVAL;
    struct crypto_part parts[2] = {{head, (size_t)n}, {norm, strlen(norm)}};
    crypto_hmac(key, CRYPTO_KEY_LEN, parts, 2, mac);
    return 0;
}

int auth_mfa_required(struct mamori *m, const char *role)
{
    if (strcmp(role, "operator") == 0)
        return config_int(m, CFG_MFA_OPERATOR);
    if (strcmp(role, "viewer") == 0)
        return config_int(m, CFG_MFA_VIEWER);
    return 1; /* admin, auditor, and anything unknown */
}

int auth_mfa_check(struct mamori *m, struct store_user *u, const char *otp,
                   int64_t now, char *what, size_t what_size)
{
    uint8_t secret[TOTP_SECRET_LEN];
    uint64_t step = 0;
    char norm[TOTP_RECOVERY_CHARS + 1];
    int rc;

    if (!otp)
        return MAMORI_EOTP;
    rc = open_secret(m, u, secret);
    if (rc != 0)
        return rc;
    rc = totp_verify(secret, sizeof secret, otp, now, 1,
                     (uint64_t)u->mfa_last_step, &step);
    crypto_wipe(secret, sizeof secret);
    if (rc == 0) {
        u->mfa_last_step = (int64_t)step;
        snprintf(what, what_size, "totp");
        return 0;
    }
    /* Not a 6-digit code: perhaps a recovery code. */
    if (rc == MAMORI_EINVAL && totp_recovery_normalise(otp, norm) == 0) {
        uint8_t mac[32];
        int64_t left = 0;
        rc = recovery_mac(m, u->id, norm, mac);
        crypto_wipe(norm, sizeof norm);
        if (rc == 0)
            rc = store_recovery_use(m->store, u->id, mac);
        if (rc == 0)
            rc = store_recovery_left(m->store, u->id, &left);
        if (rc == 0) {
            snprintf(what, what_size, "recovery code used, %lld left",
                     (long long)left);
            return 0;
        }
        return rc == MAMORI_ENOTFOUND ? MAMORI_EAUTH : rc;
    }
    return MAMORI_EAUTH;
}

void mamori_mfa_enrolment_free(struct mamori_mfa_enrolment *e)
{
    if (!e)
        return;
    crypto_wipe_free_str(e->uri);
    crypto_wipe_free_str(e->qr);
    crypto_wipe(e, sizeof *e);
}

int mamori_mfa_enroll(mamori_sess *s, struct mamori_mfa_enrolment *out)
{
    struct guard_call c;
    struct store_user u;
    uint8_t secret[TOTP_SECRET_LEN];
    char account[160];
    int rc;

    if (!out)
        return MAMORI_EINVAL;
    memset(out, 0, sizeof *out);
    memset(&u, 0, sizeof u);
    rc = guard_begin(&c, s, OP_MFA_ENROLL, NULL);
    if (rc != 0)
        return rc;
    totp_secret_new(secret);
    rc = store_user_get_id(s->m->store, s->user.id, &u);
    if (rc == 0 && u.mfa_state == STORE_MFA_ACTIVE) {
        sess_detail(s, "MFA is already active (an admin can reset it)");
        rc = MAMORI_ESTATE;
    }
    if (rc == 0)
        rc = seal_secret(s->m, &u, secret);
    if (rc == 0) {
        u.mfa_state = STORE_MFA_PENDING;
        u.mfa_last_step = 0;
        rc = store_user_update(s->m->store, &u);
    }
    /* The account as an authenticator app shows it: user @ vault. */
    snprintf(account, sizeof account, "%s@%.8s", u.name, s->m->vault_id);
    if (rc == 0 &&
        (totp_secret_base32(secret, sizeof secret, out->secret,
                            sizeof out->secret) != 0 ||
         totp_uri(MFA_ISSUER, account, secret, sizeof secret, &out->uri) != 0 ||
         totp_qr_text(out->uri, &out->qr) != 0))
        rc = MAMORI_ENOMEM;
    crypto_wipe(secret, sizeof secret);
    auth_user_wipe(&u);
    snprintf(c.detail, sizeof c.detail, "enrolment started");
    rc = guard_end(&c, rc);
    if (rc != 0)
        mamori_mfa_enrolment_free(out);
    return rc;
}

int mamori_mfa_confirm(mamori_sess *s, const char *code,
                       char (*codes)[MAMORI_RECOVERY_LEN + 1])
{
    struct guard_call c;
    struct store_user u;
    uint8_t secret[TOTP_SECRET_LEN], macs[TOTP_RECOVERY_CODES][32];
    uint64_t step = 0;
    int rc;

    if (!codes)
        return MAMORI_EINVAL;
    memset(&u, 0, sizeof u);
    rc = guard_begin(&c, s, OP_MFA_CONFIRM, NULL);
    if (rc != 0)
        return rc;
    rc = store_user_get_id(s->m->store, s->user.id, &u);
    if (rc == 0 && u.mfa_state != STORE_MFA_PENDING) {
        sess_detail(s, "no enrolment to confirm (run mfa enroll first)");
        rc = MAMORI_ESTATE;
    }
    if (rc == 0)
        rc = open_secret(s->m, &u, secret);
    if (rc == 0) {
        rc =
            totp_verify(secret, sizeof secret, code, mamori_now(), 1, 0, &step);
        crypto_wipe(secret, sizeof secret);
        if (rc != 0) {
            sess_detail(s, "code: does not match the new secret (check the "
                           "phone's clock)");
            rc = MAMORI_EAUTH;
        }
    }
    for (size_t i = 0; rc == 0 && i < TOTP_RECOVERY_CODES; i++) {
        char norm[TOTP_RECOVERY_CHARS + 1];
        totp_recovery_new(codes[i]);
        rc = totp_recovery_normalise(codes[i], norm) == 0
                 ? recovery_mac(s->m, u.id, norm, macs[i])
                 : MAMORI_EINVAL;
        crypto_wipe(norm, sizeof norm);
    }
    if (rc == 0)
        rc = store_recovery_set(s->m->store, u.id, (const uint8_t(*)[32])macs,
                                TOTP_RECOVERY_CODES);
    if (rc == 0) {
        u.mfa_state = STORE_MFA_ACTIVE;
        u.mfa_last_step = (int64_t)step; /* the code just typed is used */
        rc = store_user_update(s->m->store, &u);
    }
    if (rc == 0) {
        s->restricted &= ~MAMORI_NEED_MFA;
        rc = store_session_restrict(s->m->store, s->token_hash, s->restricted);
    }
    snprintf(c.detail, sizeof c.detail, "MFA active, %d recovery codes",
             TOTP_RECOVERY_CODES);
    auth_user_wipe(&u);
    crypto_wipe(macs, sizeof macs);
    rc = guard_end(&c, rc);
    if (rc != 0)
        crypto_wipe(codes, TOTP_RECOVERY_CODES * sizeof *codes);
    return rc;
}

int mamori_mfa_reset(mamori_sess *s, const char *user)
{
    struct guard_call c;
    struct store_user u;
    int64_t ended = 0;
    int rc = guard_begin(&c, s, OP_MFA_RESET, NULL);

    if (rc != 0)
        return rc;
    memset(&u, 0, sizeof u);
    rc = auth_check_name(user) == 0 ? store_user_get(s->m->store, user, &u)
                                    : MAMORI_ENOTFOUND;
    if (rc == MAMORI_ENOTFOUND)
        sess_detail(s, "no user of that name");
    if (rc == 0)
        c.count = 1;
    if (rc == 0 && u.id == s->user.id) {
        /* With a session alone an admin could otherwise drop their own
         * second factor: a reset is another admin's decision. */
        sess_detail(s, "you cannot reset your own MFA: ask another admin");
        snprintf(c.detail, sizeof c.detail, "user %s: own MFA", u.name);
        rc = MAMORI_EDENIED;
    } else if (rc == 0) {
        snprintf(c.detail, sizeof c.detail, "user %s", u.name);
        u.mfa_state = STORE_MFA_NONE;
        u.mfa_secret_len = 0;
        crypto_wipe(u.mfa_secret, sizeof u.mfa_secret);
        rc = store_user_update(s->m->store, &u);
    }
    if (rc == 0)
        rc = store_recovery_set(s->m->store, u.id, NULL, 0);
    if (rc == 0)
        rc = store_session_delete_user(s->m->store, u.id, NULL, &ended);
    if (rc == 0) {
        /* Only now is anything removed: a failure's entry says no such
         * thing. */
        snprintf(c.detail, sizeof c.detail,
                 "user %s: MFA removed, %lld sessions ended", u.name,
                 (long long)ended);
    }
    auth_user_wipe(&u);
    return guard_end(&c, rc);
}
