/*
 * device.c - registered devices (端末限定): enrolment, approval,
 * revocation, and the challenge a login from a device signs. See mamori.h.
 *
 * The signed message binds the vault, the user and a single-use challenge
 * that the vault made and keeps hashed for 2 minutes, so a signature can be
 * neither replayed nor moved to another vault or user.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "auth.h"
#include "config.h"
#include "crypto.h"
#include "guard.h"
#include "store.h"
#include "text.h"
#include "banned.h"

#define CHALLENGE_SECONDS 120
#define DEVICE_ALG "ed25519"

void mamori_device_keygen(uint8_t pk[MAMORI_DEVICE_PK_LEN],
                          uint8_t sk[MAMORI_DEVICE_SK_LEN])
{
    crypto_ed25519_keypair(pk, sk);
}

int mamori_device_key_format(const uint8_t pk[MAMORI_DEVICE_PK_LEN],
                             const uint8_t sk[MAMORI_DEVICE_SK_LEN], char *out,
                             size_t size)
{
    char pkhex[2 * MAMORI_DEVICE_PK_LEN + 1];
    char skhex[2 * MAMORI_DEVICE_SK_LEN + 1];
    int n;

    if (!pk || !sk || !out || size < MAMORI_DEVICE_KEY_TEXT)
        return MAMORI_EINVAL;
    crypto_hex(pk, MAMORI_DEVICE_PK_LEN, pkhex);
    crypto_hex(sk, MAMORI_DEVICE_SK_LEN, skhex);
    n = snprintf(out, size, "pk %s\nsk %s\n", pkhex, skhex);
    crypto_wipe(skhex, sizeof skhex);
    return n < 0 || (size_t)n >= size ? MAMORI_ETOOBIG : 0;
}

int mamori_device_key_parse(const char *text, size_t len,
                            uint8_t pk[MAMORI_DEVICE_PK_LEN],
                            uint8_t sk[MAMORI_DEVICE_SK_LEN])
{
    /* Exactly: "pk " 64 hex "\n" "sk " 128 hex "\n". */
    const size_t pk_at = 3, sk_at = 3 + 64 + 1 + 3;
    int rc = MAMORI_EINVAL;

    if (!text || !pk || !sk || len != sk_at + 128 + 1)
        return rc;
    if (memcmp(text, "pk ", 3) != 0 || text[pk_at + 64] != '\n' ||
        memcmp(text + pk_at + 65, "sk ", 3) != 0 || text[len - 1] != '\n')
        return rc;
    /* Lower-case hex only: one text per key. */
    for (size_t i = 0; i < len - 1; i++) {
        int in_pk = i >= pk_at && i < pk_at + 64;
        int in_sk = i >= sk_at && i < sk_at + 128;
        char ch = text[i];
        if ((in_pk || in_sk) &&
            !((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
            return rc;
    }
    if (crypto_unhex(text + pk_at, 64, pk, MAMORI_DEVICE_PK_LEN) !=
            MAMORI_DEVICE_PK_LEN ||
        crypto_unhex(text + sk_at, 128, sk, MAMORI_DEVICE_SK_LEN) !=
            MAMORI_DEVICE_SK_LEN)
        goto fail;
    /* An Ed25519 secret key ends with its public key. */
    if (!crypto_equal(sk + 32, pk, MAMORI_DEVICE_PK_LEN))
        goto fail;
    return 0;
fail:
    crypto_wipe(sk, MAMORI_DEVICE_SK_LEN);
    return rc;
}

/* "mamori-device-login v1|VAULT|USER|CHALLENGE" into buf. */
static int login_message(const char *vault_id, const char *user,
                         const char *challenge, char *buf, size_t size)
{
    int n;
    if (!user || !challenge || strlen(challenge) != MAMORI_CHALLENGE_LEN)
        return -1;
    n = snprintf(buf, size, "mamori-device-login v1|%s|%s|%s", vault_id, user,
                 challenge);
    return n < 0 || (size_t)n >= size ? -1 : n;
}

int mamori_device_sign(const mamori *m, const uint8_t sk[MAMORI_DEVICE_SK_LEN],
                       const char *user, const char *challenge,
                       uint8_t sig[MAMORI_DEVICE_SIG_LEN])
{
    char msg[256];
    int n;
    if (!m || !sk || !sig)
        return MAMORI_EINVAL;
    n = login_message(m->vault_id, user, challenge, msg, sizeof msg);
    if (n < 0)
        return MAMORI_EINVAL;
    crypto_ed25519_sign(sk, msg, (size_t)n, sig);
    return 0;
}

int mamori_device_challenge(mamori *m, char *out, size_t size)
{
    uint8_t raw[32], hash[32];
    int64_t now = mamori_now();
    int rc;

    if (!m || !out || size < MAMORI_CHALLENGE_LEN + 1)
        return MAMORI_EINVAL;
    crypto_random(raw, sizeof raw);
    crypto_b64(raw, sizeof raw, out);
    crypto_sha256(out, MAMORI_CHALLENGE_LEN, hash);
    pthread_mutex_lock(&m->lock);
    rc = store_begin(m->store);
    if (rc == 0)
        rc = store_challenge_prune(m->store, now);
    if (rc == 0)
        rc = store_challenge_add(m->store, hash, now + CHALLENGE_SECONDS);
    if (rc == 0)
        rc = store_commit(m->store);
    if (rc != 0)
        store_rollback(m->store);
    pthread_mutex_unlock(&m->lock);
    crypto_wipe(raw, sizeof raw);
    if (rc != 0)
        out[0] = '\0';
    return rc;
}

/* The proof of req for user at time now: the challenge is consumed, the
 * signature checked, the key looked up. 0 with d->id set for an approved
 * device, or d->id "" when no proof was given or the key is not (yet)
 * approved; MAMORI_EKEY when the proof is wrong or stale, or the key was
 * revoked. */
static int device_proof(struct mamori *m, const char *user,
                        const struct mamori_login_req *req, int64_t now,
                        struct store_device *d)
{
    uint8_t hash[32];
    int64_t expires = 0;
    char msg[256];
    int n, rc;

    d->id[0] = '\0';
    if (!req->device_pk && !req->challenge && !req->signature)
        return 0;
    if (!req->device_pk || !req->challenge || !req->signature)
        return MAMORI_EKEY;
    n = login_message(m->vault_id, user, req->challenge, msg, sizeof msg);
    if (n < 0)
        return MAMORI_EKEY;
    crypto_sha256(req->challenge, MAMORI_CHALLENGE_LEN, hash);
    rc = store_challenge_take(m->store, hash, &expires);
    if (rc == MAMORI_ENOTFOUND || (rc == 0 && expires < now))
        return MAMORI_EKEY; /* unknown, used or stale challenge */
    if (rc != 0)
        return rc;
    /* The signature must hold whatever the key's standing. */
    if (!crypto_ed25519_verify(req->device_pk, msg, (size_t)n, req->signature))
        return MAMORI_EKEY;
    rc = store_device_by_key(m->store, req->device_pk, MAMORI_DEVICE_PK_LEN, d);
    if (rc == MAMORI_ENOTFOUND) {
        d->id[0] = '\0';
        /* Revoked, or never registered: a revoked key is refused; an
         * unknown one is a login without a device. */
        return store_device_revoked(m->store, req->device_pk,
                                    MAMORI_DEVICE_PK_LEN)
                   ? MAMORI_EKEY
                   : 0;
    }
    if (rc != 0)
        return rc;
    if (strcmp(d->state, "approved") != 0) {
        d->id[0] = '\0';
        return 0; /* pending: as without a device, until approved */
    }
    if (strcmp(d->alg, DEVICE_ALG) != 0)
        return MAMORI_EKEY;
    return 0;
}

/* Marks d used at now and gives its id in dev. */
static int device_used(struct mamori *m, struct store_device *d, int64_t now,
                       char dev[37])
{
    int rc;

    d->last_used = now;
    rc = store_device_update(m->store, d);
    if (rc == 0)
        snprintf(dev, 37, "%s", d->id);
    return rc;
}

int auth_device_check(struct mamori *m, const char *user,
                      const struct mamori_login_req *req, int64_t now,
                      char dev[37])
{
    struct store_device d;
    int rc = device_proof(m, user, req, now, &d);

    dev[0] = '\0';
    if (rc != 0 || !d.id[0])
        return rc;
    return device_used(m, &d, now, dev);
}

int auth_device_prove(struct mamori *m, const char *user,
                      const struct mamori_login_req *req, int64_t now,
                      char dev[37])
{
    struct store_device d;
    int rc = device_proof(m, user, req, now, &d);

    dev[0] = '\0';
    if (rc == 0)
        snprintf(dev, 37, "%s", d.id);
    return rc;
}

int auth_device_use(struct mamori *m, const char *id, int64_t now, char dev[37])
{
    struct store_device d;
    int rc = store_device_get(m->store, id, &d);

    dev[0] = '\0';
    if (rc == MAMORI_ENOTFOUND ||
        (rc == 0 &&
         (strcmp(d.state, "approved") != 0 || strcmp(d.alg, DEVICE_ALG) != 0)))
        return MAMORI_EDEVICE; /* revoked since it was proved */
    if (rc != 0)
        return rc;
    return device_used(m, &d, now, dev);
}

int auth_device_register(struct mamori *m, int64_t user_id, const char *name,
                         const uint8_t pk[MAMORI_DEVICE_PK_LEN], int approved,
                         char id[37])
{
    struct store_device d;

    memset(&d, 0, sizeof d);
    crypto_uuid(d.id);
    snprintf(d.name, sizeof d.name, "%s", name);
    snprintf(d.alg, sizeof d.alg, "%s", DEVICE_ALG);
    memcpy(d.pubkey, pk, MAMORI_DEVICE_PK_LEN);
    d.pubkey_len = MAMORI_DEVICE_PK_LEN;
    snprintf(d.state, sizeof d.state, "%s", approved ? "approved" : "pending");
    d.requested_by = user_id;
    d.approved_by = approved ? user_id : 0;
    d.created = mamori_now();
    d.approved = approved ? d.created : 0;
    memcpy(id, d.id, 37);
    return store_device_add(m->store, &d);
}

int auth_device_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 63 || !text_utf8_valid(name, n))
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
            return 0;
    return 1;
}

int auth_device_request(struct mamori *m, int64_t user_id, const char *name,
                        const uint8_t pk[MAMORI_DEVICE_PK_LEN], char id[37])
{
    struct store_device old;
    int rc = store_device_by_key(m->store, pk, MAMORI_DEVICE_PK_LEN, &old);

    if (rc == 0)
        return MAMORI_EEXIST; /* pending or approved already */
    if (rc != MAMORI_ENOTFOUND)
        return rc;
    return auth_device_register(m, user_id, name, pk, 0, id);
}

/* The device named by id for an admin operation. */
static int target_device(mamori_sess *s, const char *id, struct store_device *d)
{
    int rc = id && strlen(id) == 36 ? store_device_get(s->m->store, id, d)
                                    : MAMORI_ENOTFOUND;
    if (rc == MAMORI_ENOTFOUND)
        sess_detail(s, "no device with that id (see mamori device list)");
    return rc;
}

int mamori_device_approve(mamori_sess *s, const char *id)
{
    struct guard_call c;
    struct store_device d;
    int rc = guard_begin(&c, s, OP_DEVICE_APPROVE, NULL);

    if (rc != 0)
        return rc;
    rc = target_device(s, id, &d);
    if (rc == 0 && strcmp(d.state, "pending") != 0) {
        sess_detail(s, "device is %s, not pending", d.state);
        rc = MAMORI_ESTATE;
    }
    if (rc == 0) {
        snprintf(d.state, sizeof d.state, "approved");
        d.approved_by = s->user.id;
        d.approved = mamori_now();
        rc = store_device_update(s->m->store, &d);
        c.count = 1;
        snprintf(c.detail, sizeof c.detail, "device %s approved", d.id);
    }
    return guard_end(&c, rc);
}

/* 1 in *left if an approved device other than the one with id except
 * remains. */
static int approved_left(struct store *st, const char *except, int *left)
{
    struct store_device *d = NULL;
    size_t n = 0;
    int rc = store_device_list(st, &d, &n);

    *left = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (strcmp(d[i].state, "approved") == 0 && strcmp(d[i].id, except) != 0)
            *left = 1;
    free(d);
    return rc;
}

/* With device.required on, a login needs an approved device, and only an
 * admin who is logged in can approve one: revoking the last approved
 * device would shut everyone out for good. Refused (MAMORI_EDENIED). A
 * pending or revoked device lets no one in, so revoking it is never
 * refused. */
static int keeps_a_way_in(struct guard_call *c, const struct store_device *d)
{
    int left = 0, rc;

    if (strcmp(d->state, "approved") != 0 ||
        !config_int(c->s->m, CFG_DEVICE_REQUIRED))
        return 0;
    rc = approved_left(c->s->m->store, d->id, &left);
    if (rc == 0 && !left) {
        sess_detail(c->s,
                    "it is the last approved device and device.required is "
                    "on: no one could log in any more. Approve another "
                    "device first, or turn device.required off (mamori "
                    "config set device.required off)");
        snprintf(c->detail, sizeof c->detail,
                 "device %s: last approved device (device.required)", d->id);
        c->count = 1;
        rc = MAMORI_EDENIED;
    }
    return rc;
}

int mamori_device_revoke(mamori_sess *s, const char *id)
{
    struct guard_call c;
    struct store_device d;
    int64_t ended = 0;
    int rc = guard_begin(&c, s, OP_DEVICE_REVOKE, NULL);

    if (rc != 0)
        return rc;
    rc = target_device(s, id, &d);
    if (rc == 0)
        rc = keeps_a_way_in(&c, &d);
    if (rc == 0) {
        snprintf(d.state, sizeof d.state, "revoked");
        rc = store_device_update(s->m->store, &d);
    }
    if (rc == 0)
        rc = store_session_delete_device(s->m->store, d.id, &ended);
    if (rc == 0) {
        c.count = 1;
        snprintf(c.detail, sizeof c.detail,
                 "device %s revoked, %lld sessions ended", d.id,
                 (long long)ended);
        syslog(LOG_NOTICE, "mamori: device %s revoked", d.id);
    }
    return guard_end(&c, rc);
}

/* The user name of id into out ("" if none). */
static void user_name(struct store *st, int64_t id, char *out, size_t size)
{
    struct store_user u;
    out[0] = '\0';
    if (id != 0 && store_user_get_id(st, id, &u) == 0) {
        snprintf(out, size, "%s", u.name);
        crypto_wipe(&u, sizeof u);
    }
}

int mamori_device_list(mamori_sess *s, struct mamori_device_info **out,
                       size_t *n)
{
    struct guard_call c;
    struct store_device *d = NULL;
    struct mamori_device_info *info = NULL;
    size_t k = 0;
    int rc;

    if (!out || !n)
        return MAMORI_EINVAL;
    *out = NULL;
    *n = 0;
    rc = guard_begin(&c, s, OP_DEVICE_LIST, NULL);
    if (rc != 0)
        return rc;
    rc = store_device_list(s->m->store, &d, &k);
    if (rc == 0 && !(info = calloc(k ? k : 1, sizeof *info)))
        rc = MAMORI_ENOMEM;
    for (size_t i = 0; rc == 0 && i < k; i++) {
        snprintf(info[i].id, sizeof info[i].id, "%s", d[i].id);
        snprintf(info[i].name, sizeof info[i].name, "%s", d[i].name);
        snprintf(info[i].state, sizeof info[i].state, "%s", d[i].state);
        user_name(s->m->store, d[i].requested_by, info[i].requested_by,
                  sizeof info[i].requested_by);
        user_name(s->m->store, d[i].approved_by, info[i].approved_by,
                  sizeof info[i].approved_by);
        info[i].created = d[i].created;
        info[i].approved = d[i].approved;
        info[i].last_used = d[i].last_used;
    }
    free(d);
    c.count = (int64_t)k;
    rc = guard_end(&c, rc);
    if (rc != 0) {
        free(info);
        return rc;
    }
    *out = info;
    *n = k;
    return 0;
}
