/*
 * audit.c - chained, forward-keyed, checkpointed access log. See audit.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "crypto.h"
#include "guard.h"
#include "keys.h"
#include "store.h"
#include "banned.h"

#define CP_MAGIC "mamori-audit-checkpoint v1"

static size_t put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[7 - i] = (uint8_t)(v >> (i * 8));
    }
    return 8;
}

static size_t put_str(uint8_t *p, const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    p[0] = (uint8_t)(n >> 8);
    p[1] = (uint8_t)n;
    memcpy(p + 2, s, n);
    return n + 2;
}

void audit_mac(const struct crypto_hmac_key *key, const char *vault_id,
               const struct store_audit_row *row, uint8_t out[CRYPTO_MAC_LEN])
{
    /* Fixed-size header: every column but record_ids and prev_mac, each
     * string length-prefixed so that no two rows encode alike. */
    uint8_t buf[16 + 2 + 37 + 8 * 3 + (2 + 64) * 3 + 2 + 32 + 2 + 16 + 2 +
                128 + 8];
    size_t n = 0, idlen = row->record_ids ? strlen(row->record_ids) : 0;

    memcpy(buf, "mamori-audit-v1", 16);
    n = 16;
    n += put_str(buf + n, vault_id, 37);
    n += put_u64(buf + n, (uint64_t)row->seq);
    n += put_u64(buf + n, (uint64_t)row->time);
    n += put_str(buf + n, row->user, sizeof row->user);
    n += put_str(buf + n, row->device, sizeof row->device);
    n += put_str(buf + n, row->action, sizeof row->action);
    n += put_str(buf + n, row->dataset, sizeof row->dataset);
    n += put_u64(buf + n, (uint64_t)row->count);
    n += put_str(buf + n, row->outcome, sizeof row->outcome);
    n += put_str(buf + n, row->detail, sizeof row->detail);
    n += put_u64(buf + n, (uint64_t)idlen);

    struct crypto_part parts[3] = {
        {buf, n},
        {row->record_ids ? row->record_ids : "", idlen},
        {row->prev_mac, CRYPTO_MAC_LEN},
    };
    crypto_hmac_run(key, parts, 3, out);
}

static uint64_t epoch_of(int64_t seq)
{
    return (uint64_t)(seq - 1) / AUDIT_EPOCH;
}

/* The writer's key schedule for epoch, evolving the stored key as needed. */
static int writer_key(struct mamori *m, uint64_t epoch)
{
    uint8_t k[CRYPTO_KEY_LEN];
    int rc;

    if (m->audit_key && m->audit_epoch == epoch)
        return 0;
    rc = keys_audit_key(m->keys, epoch, k);
    if (rc != 0)
        return rc;
    struct crypto_hmac_key *hk = crypto_hmac_key_new(k, sizeof k);
    crypto_wipe(k, sizeof k);
    if (!hk)
        return MAMORI_ENOMEM;
    crypto_hmac_key_free(m->audit_key);
    m->audit_key = hk;
    m->audit_epoch = epoch;
    return 0;
}

int audit_append(struct mamori *m, struct store_audit_row *row)
{
    struct store_audit_row last;
    int rc;

    memset(&last, 0, sizeof last);
    rc = store_audit_last(m->store, &last);
    if (rc == MAMORI_ENOTFOUND) {
        last.seq = 0;
        memset(last.mac, 0, sizeof last.mac);
    } else if (rc != 0) {
        return MAMORI_EAUDIT;
    }
    row->seq = last.seq + 1;
    memcpy(row->prev_mac, last.mac, CRYPTO_MAC_LEN);
    store_audit_row_release(&last);

    if (writer_key(m, epoch_of(row->seq)) != 0)
        return MAMORI_EAUDIT;
    audit_mac(m->audit_key, m->vault_id, row, row->mac);
    rc = store_audit_append(m->store, row);
    return rc == 0 ? 0 : MAMORI_EAUDIT;
}

/* ---- checkpoints ------------------------------------------------------- */

int audit_checkpoint(struct mamori *m, char **out, size_t *len)
{
    struct store_audit_row last;
    char head[2 * CRYPTO_MAC_LEN + 1], pkhex[2 * CRYPTO_SIGN_PK_LEN + 1];
    char sighex[2 * CRYPTO_SIG_LEN + 1];
    uint8_t pk[CRYPTO_SIGN_PK_LEN], sig[CRYPTO_SIG_LEN];
    char body[512];
    int rc, n;

    *out = NULL;
    *len = 0;
    memset(&last, 0, sizeof last);
    rc = store_audit_last(m->store, &last);
    if (rc != 0)
        return rc;
    crypto_hex(last.mac, CRYPTO_MAC_LEN, head);
    keys_sign_public(m->keys, pk);
    crypto_hex(pk, sizeof pk, pkhex);
    n = snprintf(body, sizeof body,
                 CP_MAGIC "\nvault %s\nseq %lld\nhead %s\ntime %lld\nkey %s\n",
                 m->vault_id, (long long)last.seq, head,
                 (long long)mamori_now(), pkhex);
    store_audit_row_release(&last);
    if (n < 0 || (size_t)n >= sizeof body)
        return MAMORI_ETOOBIG;
    rc = keys_sign(m->keys, body, (size_t)n, sig);
    if (rc != 0)
        return rc;
    crypto_hex(sig, sizeof sig, sighex);
    size_t total = (size_t)n + 4 + sizeof sighex + 1;
    char *text = malloc(total);
    if (!text)
        return MAMORI_ENOMEM;
    int k = snprintf(text, total, "%ssig %s\n", body, sighex);
    if (k < 0 || (size_t)k >= total) {
        free(text);
        return MAMORI_ETOOBIG;
    }
    *out = text;
    *len = (size_t)k;
    return 0;
}

/* Reads one "key value\n" line at *p; value must be non-empty. */
static int cp_line(const char **p, const char *end, const char *key,
                   const char **val, size_t *vlen)
{
    size_t klen = strlen(key);
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    if (!nl || (size_t)(nl - *p) <= klen + 1 || nl - *p > 200)
        return -1;
    if (memcmp(*p, key, klen) != 0 || (*p)[klen] != ' ')
        return -1;
    *val = *p + klen + 1;
    *vlen = (size_t)(nl - *val);
    *p = nl + 1;
    return 0;
}

static int cp_int(const char *v, size_t n, int64_t *out)
{
    int64_t x = 0;
    if (n == 0 || n > 18 || (n > 1 && v[0] == '0'))
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        x = x * 10 + (v[i] - '0');
    }
    *out = x;
    return 0;
}

static int cp_hex(const char *v, size_t n, uint8_t *out, size_t outlen)
{
    if (n != 2 * outlen)
        return -1;
    return crypto_unhex(v, n, out, outlen) == (long)outlen ? 0 : -1;
}

int audit_checkpoint_parse(const char *text, size_t len,
                           struct audit_checkpoint *cp, const char **why)
{
    const char *p = text, *end = text + len, *v;
    size_t vl, ml = strlen(CP_MAGIC);

    memset(cp, 0, sizeof *cp);
    *why = "not a mamori audit checkpoint";
    if (len > 4096 || len < ml + 1 || memcmp(p, CP_MAGIC "\n", ml + 1) != 0)
        return MAMORI_EINVAL;
    p += ml + 1;
    *why = "bad vault line";
    if (cp_line(&p, end, "vault", &v, &vl) || vl != 36)
        return MAMORI_EINVAL;
    for (size_t i = 0; i < vl; i++) {
        char c = v[i];
        int dash = (i == 8 || i == 13 || i == 18 || i == 23);
        if (dash ? c != '-'
                 : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return MAMORI_EINVAL;
    }
    memcpy(cp->vault_id, v, 36);
    *why = "bad seq line";
    if (cp_line(&p, end, "seq", &v, &vl) || cp_int(v, vl, &cp->seq))
        return MAMORI_EINVAL;
    *why = "bad head line";
    if (cp_line(&p, end, "head", &v, &vl) ||
        cp_hex(v, vl, cp->head, sizeof cp->head))
        return MAMORI_EINVAL;
    *why = "bad time line";
    if (cp_line(&p, end, "time", &v, &vl) || cp_int(v, vl, &cp->time))
        return MAMORI_EINVAL;
    *why = "bad key line";
    if (cp_line(&p, end, "key", &v, &vl) ||
        cp_hex(v, vl, cp->pk, sizeof cp->pk))
        return MAMORI_EINVAL;
    cp->signed_len = (size_t)(p - text);
    *why = "bad sig line";
    if (cp_line(&p, end, "sig", &v, &vl) ||
        cp_hex(v, vl, cp->sig, sizeof cp->sig))
        return MAMORI_EINVAL;
    *why = "trailing data after the signature";
    if (p != end)
        return MAMORI_EINVAL;
    *why = "";
    return 0;
}

/* ---- verification ------------------------------------------------------ */

struct verify_state {
    struct mamori *m;
    struct mamori_verify_result *res;
    uint8_t k[CRYPTO_KEY_LEN]; /* key of epoch `epoch` */
    uint64_t epoch;
    struct crypto_hmac_key *hk;
    int64_t expect;
    uint8_t prev[CRYPTO_MAC_LEN];
    int64_t cp_seq;
    uint8_t cp_head[CRYPTO_MAC_LEN];
    int cp_seen, cp_match;
    int failed;
};

static int bad(struct verify_state *st, int64_t seq, const char *what)
{
    st->res->first_bad = seq;
    snprintf(st->res->problem, sizeof st->res->problem, "%s", what);
    st->failed = 1;
    return 1;
}

static int verify_row(void *arg, const struct store_audit_row *row)
{
    struct verify_state *st = arg;
    uint8_t mac[CRYPTO_MAC_LEN];
    char msg[160];

    if (row->seq != st->expect) {
        snprintf(msg, sizeof msg,
                 row->seq > st->expect
                     ? "entry %lld is missing (deleted or reordered)"
                     : "entry %lld is out of order",
                 (long long)st->expect);
        return bad(st, st->expect, msg);
    }
    if (!crypto_equal(row->prev_mac, st->prev, CRYPTO_MAC_LEN)) {
        snprintf(msg, sizeof msg,
                 "entry %lld does not follow its predecessor",
                 (long long)row->seq);
        return bad(st, row->seq, msg);
    }
    uint64_t e = epoch_of(row->seq);
    while (st->epoch < e || !st->hk) {
        if (st->hk) {
            uint8_t nk[CRYPTO_KEY_LEN];
            keys_audit_evolve(st->k, nk);
            memcpy(st->k, nk, sizeof nk);
            crypto_wipe(nk, sizeof nk);
            st->epoch++;
            crypto_hmac_key_free(st->hk);
        }
        st->hk = crypto_hmac_key_new(st->k, sizeof st->k);
        if (!st->hk)
            return bad(st, row->seq, "out of memory");
    }
    audit_mac(st->hk, st->m->vault_id, row, mac);
    if (!crypto_equal(mac, row->mac, CRYPTO_MAC_LEN)) {
        snprintf(msg, sizeof msg, "entry %lld was altered",
                 (long long)row->seq);
        return bad(st, row->seq, msg);
    }
    if (row->seq == st->cp_seq) {
        st->cp_seen = 1;
        st->cp_match = crypto_equal(row->mac, st->cp_head, CRYPTO_MAC_LEN);
    }
    memcpy(st->prev, row->mac, CRYPTO_MAC_LEN);
    st->expect++;
    st->res->entries++;
    return 0;
}

static int check_checkpoint(struct mamori *m, const char *text, size_t len,
                            struct verify_state *st)
{
    struct audit_checkpoint cp;
    uint8_t pk[CRYPTO_SIGN_PK_LEN];
    const char *why;
    char msg[160];

    if (audit_checkpoint_parse(text, len, &cp, &why) != 0) {
        snprintf(msg, sizeof msg, "checkpoint: %s", why);
        bad(st, 0, msg);
        return MAMORI_EINVAL;
    }
    keys_sign_public(m->keys, pk);
    if (!crypto_equal(pk, cp.pk, sizeof pk) ||
        !crypto_ed25519_verify(pk, text, cp.signed_len, cp.sig)) {
        bad(st, 0, "checkpoint: signature is not this vault's");
        return MAMORI_ETAMPER;
    }
    if (strcmp(cp.vault_id, m->vault_id) != 0) {
        bad(st, 0, "checkpoint: belongs to another vault");
        return MAMORI_ETAMPER;
    }
    st->cp_seq = cp.seq;
    memcpy(st->cp_head, cp.head, sizeof cp.head);
    return 0;
}

int audit_verify(struct mamori *m, const char *checkpoint, size_t len,
                 struct mamori_verify_result *res)
{
    struct verify_state st;
    const uint8_t *k0;
    int rc;

    memset(res, 0, sizeof *res);
    memset(&st, 0, sizeof st);
    st.m = m;
    st.res = res;
    st.expect = 1;
    st.cp_seq = -1;
    if (checkpoint) {
        rc = check_checkpoint(m, checkpoint, len, &st);
        if (rc != 0)
            return rc;
    }
    rc = keys_audit_initial(m->keys, &k0);
    if (rc != 0)
        return rc;
    memcpy(st.k, k0, CRYPTO_KEY_LEN);
    rc = store_audit_scan(m->store, 1, verify_row, &st);
    crypto_wipe(st.k, sizeof st.k);
    crypto_hmac_key_free(st.hk);
    if (st.failed)
        return MAMORI_ETAMPER;
    if (rc < 0)
        return rc;
    if (checkpoint && st.cp_seq > 0) {
        char msg[160];
        if (!st.cp_seen) {
            snprintf(msg, sizeof msg,
                     "log ends at entry %lld but the checkpoint is at %lld: "
                     "newest entries were removed",
                     (long long)(st.expect - 1), (long long)st.cp_seq);
            bad(&st, st.expect, msg);
            return MAMORI_ETAMPER;
        }
        if (!st.cp_match) {
            snprintf(msg, sizeof msg,
                     "entry %lld differs from the checkpoint",
                     (long long)st.cp_seq);
            bad(&st, st.cp_seq, msg);
            return MAMORI_ETAMPER;
        }
    }
    return 0;
}

/* ---- public API -------------------------------------------------------- */

struct show_state {
    struct mamori_audit_entry *e;
    size_t n, cap;
};

static int show_row(void *arg, const struct store_audit_row *row)
{
    struct show_state *st = arg;
    struct mamori_audit_entry *e;
    if (st->n == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 64;
        e = realloc(st->e, cap * sizeof *e);
        if (!e)
            return MAMORI_ENOMEM;
        st->e = e;
        st->cap = cap;
    }
    e = &st->e[st->n];
    memset(e, 0, sizeof *e);
    e->seq = row->seq;
    e->time = row->time;
    e->count = row->count;
    snprintf(e->user, sizeof e->user, "%s", row->user);
    snprintf(e->device, sizeof e->device, "%s", row->device);
    snprintf(e->action, sizeof e->action, "%s", row->action);
    snprintf(e->dataset, sizeof e->dataset, "%s", row->dataset);
    snprintf(e->outcome, sizeof e->outcome, "%s", row->outcome);
    snprintf(e->detail, sizeof e->detail, "%s", row->detail);
    if (row->record_ids && row->record_ids[0]) {
        e->record_ids = strdup(row->record_ids);
        if (!e->record_ids)
            return MAMORI_ENOMEM;
    }
    st->n++;
    return 0;
}

void mamori_audit_entries_free(struct mamori_audit_entry *e, size_t n)
{
    if (!e)
        return;
    for (size_t i = 0; i < n; i++)
        free(e[i].record_ids);
    free(e);
}

int mamori_audit_show(mamori_sess *s, size_t last,
                      struct mamori_audit_entry **out, size_t *n)
{
    struct guard_call c;
    struct show_state st = {0};
    int64_t total = 0, from = 1;
    int rc;

    *out = NULL;
    *n = 0;
    rc = guard_begin(&c, s, OP_AUDIT_SHOW, NULL);
    if (rc != 0)
        return rc;
    rc = store_audit_count(s->m->store, &total);
    if (rc == 0) {
        struct store_audit_row lastrow;
        memset(&lastrow, 0, sizeof lastrow);
        rc = store_audit_last(s->m->store, &lastrow);
        if (rc == 0 && last > 0 && (int64_t)last < lastrow.seq)
            from = lastrow.seq - (int64_t)last + 1;
        store_audit_row_release(&lastrow);
        if (rc == MAMORI_ENOTFOUND)
            rc = 0;
    }
    if (rc == 0)
        rc = store_audit_scan(s->m->store, from, show_row, &st);
    c.count = (int64_t)st.n;
    rc = guard_end(&c, rc);
    if (rc != 0) {
        mamori_audit_entries_free(st.e, st.n);
        return rc;
    }
    *out = st.e;
    *n = st.n;
    return 0;
}

int mamori_audit_checkpoint(mamori_sess *s, char **out, size_t *len)
{
    struct guard_call c;
    int rc;

    *out = NULL;
    *len = 0;
    rc = guard_begin(&c, s, OP_AUDIT_CHECKPOINT, NULL);
    if (rc != 0)
        return rc;
    /* The checkpoint covers the log up to the entry before its own. */
    rc = audit_checkpoint(s->m, out, len);
    c.count = 1;
    rc = guard_end(&c, rc);
    if (rc != 0) {
        free(*out);
        *out = NULL;
        *len = 0;
    }
    return rc;
}

int mamori_audit_verify(mamori_sess *s, const char *checkpoint, size_t len,
                        struct mamori_verify_result *res)
{
    struct guard_call c;
    int rc, vrc;

    memset(res, 0, sizeof *res);
    rc = guard_begin(&c, s, OP_AUDIT_VERIFY, NULL);
    if (rc != 0)
        return rc;
    vrc = audit_verify(s->m, checkpoint, len, res);
    c.count = res->entries;
    snprintf(c.detail, sizeof c.detail, "%s",
             vrc == 0 ? "intact" : (vrc == MAMORI_ETAMPER ? "tampered"
                                                          : "not checked"));
    if (vrc != 0 && res->problem[0])
        sess_detail(s, "%s", res->problem);
    /* The verification itself is logged whatever it found. */
    rc = guard_end(&c, 0);
    return rc != 0 ? rc : vrc;
}
