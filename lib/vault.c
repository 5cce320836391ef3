/*
 * vault.c - records: validation into canonical values, AES-256-GCM
 * encryption bound to (vault, dataset, record, version), blind-index entries,
 * add/get/update/delete; the per-handle dataset cache. Datasets are in
 * dataset.c, search in search.c, bulk adds in bulk.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "guard.h"
#include "i18n.h"
#include "keys.h"
#include "mask.h"
#include "store.h"
#include "text.h"
#include "vault.h"
#include "banned.h"

/* ---- record ids -------------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int vault_rid_parse(const char *text, uint8_t rid[16])
{
    size_t j = 0;
    if (!text || strlen(text) != 36)
        return MAMORI_EINVAL;
    for (size_t i = 0; i < 36;) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (text[i++] != '-')
                return MAMORI_EINVAL;
            continue;
        }
        int hi = hexval(text[i]), lo = hexval(text[i + 1]);
        if (hi < 0 || lo < 0)
            return MAMORI_EINVAL;
        rid[j++] = (uint8_t)(hi << 4 | lo);
        i += 2;
    }
    return 0;
}

void vault_rid_format(const uint8_t rid[16], char out[37])
{
    static const char hex[] = "0123456789abcdef";
    size_t j = 0;
    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[j++] = '-';
        out[j++] = hex[rid[i] >> 4];
        out[j++] = hex[rid[i] & 15];
    }
    out[j] = '\0';
}

/* ---- dataset cache ----------------------------------------------------- */

static void ds_free(struct vault_ds *d)
{
    for (size_t i = 0; i < d->nfields; i++) {
        crypto_hmac_key_free(d->fields[i].index_key);
        crypto_hmac_key_free(d->fields[i].check_key);
    }
    free(d);
}

void vault_cache_free(struct mamori *m)
{
    struct vault_ds *d = m->ds_cache, *next;
    for (; d; d = next) {
        next = d->next;
        ds_free(d);
    }
    m->ds_cache = NULL;
}

int vault_ds_of(struct guard_call *c, struct vault_ds **out)
{
    if (!c->fast)
        return vault_ds_load(c->s->m, &c->ds, out);
    *out = vault_ds_cached(c->s->m, &c->ds);
    return *out ? 0 : GUARD_SLOW;
}

struct vault_ds *vault_ds_cached(struct mamori *m,
                                 const struct store_dataset *row)
{
    struct vault_ds *d;

    pthread_mutex_lock(&m->ds_lock);
    for (d = m->ds_cache; d; d = d->next)
        if (d->id == row->id && strcmp(d->uuid, row->uuid) == 0)
            break;
    pthread_mutex_unlock(&m->ds_lock);
    return d;
}

/* The cached dataset for a store row, loading keys on first use. */
int vault_ds_load(struct mamori *m, const struct store_dataset *row,
                  struct vault_ds **out)
{
    struct vault_ds *d;
    const uint8_t *root;
    int rc;

    *out = vault_ds_cached(m, row);
    if (*out)
        return 0;
    d = calloc(1, sizeof *d);
    if (!d)
        return MAMORI_ENOMEM;
    d->id = row->id;
    snprintf(d->uuid, sizeof d->uuid, "%s", row->uuid);
    snprintf(d->name, sizeof d->name, "%s", row->name);
    rc = vault_schema_parse(row->schema, d);
    if (rc != 0)
        goto fail;
    rc = keys_dataset_key(m->keys, d->uuid, 1, 0, &d->dek);
    if (rc != 0)
        goto fail;
    rc = keys_dataset_key(m->keys, d->uuid, 0, 0, &root);
    if (rc != 0)
        goto fail;
    for (size_t i = 0; i < d->nfields; i++) {
        struct vault_field *f = &d->fields[i];
        uint8_t k[CRYPTO_KEY_LEN];
        if (!f->searchable)
            continue;
        crypto_kdf(root, "mamori-blind-index", f->name, strlen(f->name), k);
        f->index_key = crypto_hmac_key_new(k, sizeof k);
        crypto_kdf(root, "mamori-blind-check", f->name, strlen(f->name), k);
        f->check_key = crypto_hmac_key_new(k, sizeof k);
        crypto_wipe(k, sizeof k);
        if (!f->index_key || !f->check_key) {
            rc = MAMORI_ENOMEM;
            goto fail;
        }
    }
    pthread_mutex_lock(&m->ds_lock);
    d->next = m->ds_cache;
    m->ds_cache = d;
    pthread_mutex_unlock(&m->ds_lock);
    *out = d;
    return 0;
fail:
    ds_free(d);
    return rc;
}

struct vault_field *vault_field_find(struct vault_ds *d, const char *name,
                                     size_t *idx)
{
    for (size_t i = 0; i < d->nfields; i++) {
        if (strcmp(d->fields[i].name, name) == 0) {
            if (idx)
                *idx = i;
            return &d->fields[i];
        }
    }
    return NULL;
}

const struct vault_field *vault_kv_field(const struct vault_ds *d,
                                         const struct mamori_kv *kv)
{
    return kv->name ? vault_field_find((struct vault_ds *)d, kv->name, NULL)
                    : NULL;
}

void vault_probe_make(const struct vault_ds *d, const struct vault_field *f,
                      const char *key, size_t keylen, struct vault_probe *p)
{
    uint8_t mac[CRYPTO_MAC_LEN];
    struct crypto_part part = {key, keylen};
    size_t nbytes = ((size_t)d->index_bits + 7) / 8;

    crypto_hmac_run(f->index_key, &part, 1, mac);
    p->f = f;
    p->maclen = nbytes;
    memcpy(p->mac, mac, nbytes);
    if (d->index_bits % 8)
        p->mac[nbytes - 1] &= (uint8_t)(0xFF << (8 - d->index_bits % 8));
    memcpy(p->check, mac + 8, sizeof p->check);
    crypto_wipe(mac, sizeof mac);
}

/* XORs the mask of nonce into check. */
static void check_mask(const struct vault_field *f, const uint8_t nonce[8],
                       uint8_t check[4])
{
    uint8_t mask[CRYPTO_MAC_LEN];
    struct crypto_part part = {nonce, 8};

    crypto_hmac_run(f->check_key, &part, 1, mask);
    for (size_t i = 0; i < 4; i++)
        check[i] ^= mask[i];
    crypto_wipe(mask, sizeof mask);
}

void vault_probe_seal(const struct vault_probe *p, const uint8_t rid[16],
                      uint8_t out[VAULT_CHECK_LEN])
{
    memcpy(out, rid, 8);
    memcpy(out + 8, p->check, 4);
    check_mask(p->f, out, out + 8);
}

int vault_probe_keep(void *probe, const uint8_t *chk, size_t len)
{
    const struct vault_probe *p = probe;
    uint8_t want[4];

    if (chk == NULL || len != VAULT_CHECK_LEN)
        return 1;
    memcpy(want, chk + 8, sizeof want);
    check_mask(p->f, chk, want);
    return crypto_equal(want, p->check, sizeof want);
}

/* ---- record plaintext ---------------------------------------------------
 * 0x01, u16 field count, then per schema field a u32 length (0xFFFFFFFF:
 * absent) and the canonical value bytes. */

void vault_values_wipe(struct values *vs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        crypto_wipe_free_str(vs->v[i]);
        vs->v[i] = NULL;
    }
}

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

static int encode(const struct vault_ds *d, const struct values *vs,
                  uint8_t **out, size_t *len)
{
    size_t n = 3;
    for (size_t i = 0; i < d->nfields; i++)
        n += 4 + (vs->v[i] ? strlen(vs->v[i]) : 0);
    uint8_t *p = malloc(n);
    if (!p)
        return MAMORI_ENOMEM;
    p[0] = 1;
    p[1] = (uint8_t)(d->nfields >> 8);
    p[2] = (uint8_t)d->nfields;
    size_t at = 3;
    for (size_t i = 0; i < d->nfields; i++) {
        if (!vs->v[i]) {
            put_u32(p + at, 0xFFFFFFFFu);
            at += 4;
            continue;
        }
        size_t l = strlen(vs->v[i]);
        put_u32(p + at, (uint32_t)l);
        memcpy(p + at + 4, vs->v[i], l);
        at += 4 + l;
    }
    *out = p;
    *len = n;
    return 0;
}

static int decode(const struct vault_ds *d, const uint8_t *p, size_t len,
                  struct values *vs)
{
    size_t at = 3;
    memset(vs, 0, sizeof *vs);
    if (len < 3 || p[0] != 1 || ((size_t)p[1] << 8 | p[2]) != d->nfields)
        return MAMORI_ECRYPTO;
    for (size_t i = 0; i < d->nfields; i++) {
        if (len - at < 4)
            goto bad;
        uint32_t l = get_u32(p + at);
        at += 4;
        if (l == 0xFFFFFFFFu)
            continue;
        if (l > len - at)
            goto bad;
        vs->v[i] = malloc((size_t)l + 1);
        if (!vs->v[i]) {
            vault_values_wipe(vs, d->nfields);
            return MAMORI_ENOMEM;
        }
        memcpy(vs->v[i], p + at, l);
        vs->v[i][l] = '\0';
        at += l;
    }
    if (at == len)
        return 0;
bad:
    vault_values_wipe(vs, d->nfields);
    return MAMORI_ECRYPTO;
}

/* Associated data: binds a ciphertext to its vault, dataset, record and
 * version, so it cannot be moved to another record. (An older version of
 * the same record, put back whole, still decrypts: the audit log, not the
 * ciphertext, records which version was current.) */
static size_t make_ad(const struct mamori *m, const struct vault_ds *d,
                      const uint8_t rid[16], uint32_t version,
                      uint32_t key_version, uint8_t ad[128])
{
    size_t n = 0;
    memcpy(ad, "mamori-rec-v1", 14);
    n = 14;
    memcpy(ad + n, m->vault_id, 36);
    n += 36;
    memcpy(ad + n, d->uuid, 36);
    n += 36;
    memcpy(ad + n, rid, 16);
    n += 16;
    put_u32(ad + n, version);
    n += 4;
    put_u32(ad + n, key_version);
    return n + 4;
}

static int seal(struct mamori *m, const struct vault_ds *d,
                const struct values *vs, struct store_record *r)
{
    uint8_t *pt = NULL, ad[128];
    size_t ptlen = 0;
    int rc = encode(d, vs, &pt, &ptlen);
    if (rc != 0)
        return rc;
    size_t adlen = make_ad(m, d, r->id, r->version, r->key_version, ad);
    r->ct = malloc(ptlen + CRYPTO_AEAD_OVERHEAD);
    if (!r->ct) {
        rc = MAMORI_ENOMEM;
    } else if (crypto_aead_encrypt(d->dek, ad, adlen, pt, ptlen, r->ct) != 0) {
        free(r->ct);
        r->ct = NULL;
        rc = MAMORI_ECRYPTO;
    } else {
        r->ctlen = ptlen + CRYPTO_AEAD_OVERHEAD;
    }
    crypto_wipe(pt, ptlen);
    free(pt);
    return rc;
}

int vault_unseal(struct mamori *m, const struct vault_ds *d,
                 const struct store_record *r, struct values *vs)
{
    uint8_t ad[128], *pt;
    size_t adlen, ptlen;
    int rc;

    if (r->key_version != 1 || r->ctlen < CRYPTO_AEAD_OVERHEAD)
        return MAMORI_ECRYPTO;
    ptlen = r->ctlen - CRYPTO_AEAD_OVERHEAD;
    adlen = make_ad(m, d, r->id, r->version, r->key_version, ad);
    pt = malloc(ptlen ? ptlen : 1);
    if (!pt)
        return MAMORI_ENOMEM;
    if (crypto_aead_decrypt(d->dek, ad, adlen, r->ct, r->ctlen, pt) != 0)
        rc = MAMORI_ECRYPTO;
    else
        rc = decode(d, pt, ptlen, vs);
    crypto_wipe(pt, ptlen);
    free(pt);
    return rc;
}

/* ---- records ----------------------------------------------------------- */

/* Validates kv into vs (canonical values). With update, an empty value
 * clears the field; on add an empty value means absent. Thread-safe: no
 * session state is touched. */
int vault_values_from_kv(const struct vault_ds *d, const struct mamori_kv *kv,
                         size_t n, struct values *vs,
                         int seen[VAULT_MAX_FIELDS], struct refusal *why)
{
    for (size_t i = 0; i < n; i++) {
        size_t idx;
        why->field = -1;
        why->arg = i + 1;
        if (!kv[i].name || !kv[i].value) {
            why->rule = N_("missing field name or value");
            return MAMORI_EINVAL;
        }
        struct vault_field *f =
            vault_field_find((struct vault_ds *)d, kv[i].name, &idx);
        if (!f) {
            why->rule = N_("no such field in dataset");
            return MAMORI_EINVAL;
        }
        why->field = (int)idx;
        if (seen[idx]) {
            why->rule = N_("given twice");
            return MAMORI_EINVAL;
        }
        seen[idx] = 1;
        crypto_wipe_free_str(vs->v[idx]);
        vs->v[idx] = NULL;
        if (kv[i].value[0] == '\0')
            continue;
        int rc = text_canonical(f->type, kv[i].value, strlen(kv[i].value),
                                &vs->v[idx], &why->rule);
        if (rc == -2)
            return MAMORI_ENOMEM;
        if (rc != 0) {
            if (!why->rule)
                why->rule = N_("invalid value");
            return MAMORI_EINVAL;
        }
    }
    return 0;
}

/* Puts a refusal into the session's detail and the audit detail. row is
 * 1-based, 0 when there is a single record. */
void vault_refusal_report(mamori_sess *s, struct guard_call *c,
                          const struct vault_ds *d, const struct mamori_kv *kv,
                          size_t row, const struct refusal *why)
{
    /* the user's in their language, the audit log's in English */
    char where[96], where_log[32];
    if (row) {
        snprintf(where, sizeof where, _("row %zu, "), row);
        snprintf(where_log, sizeof where_log, "row %zu, ", row);
    } else {
        where[0] = where_log[0] = '\0';
    }
    if (why->field >= 0) {
        const char *name = d->fields[why->field].name;
        sess_detail(s, "%sfield \"%s\": %s", where, name, _(why->rule));
        snprintf(c->detail, sizeof c->detail, "%sfield %s: %s", where_log, name,
                 why->rule);
    } else if (kv && kv[why->arg - 1].name &&
               vault_field_name_ok(kv[why->arg - 1].name,
                                   strlen(kv[why->arg - 1].name))) {
        /* A well-formed unknown name is schema vocabulary, not a value. */
        sess_detail(s, "%sfield \"%s\": %s", where, kv[why->arg - 1].name,
                    _(why->rule));
    } else {
        sess_detail(s, "%svalue %zu: not a field name", where, why->arg);
    }
}

static int take_values(mamori_sess *s, struct vault_ds *d,
                       const struct mamori_kv *kv, size_t n, struct values *vs,
                       int seen[VAULT_MAX_FIELDS], struct guard_call *c)
{
    struct refusal why = {-1, 0, NULL};
    int rc = vault_values_from_kv(d, kv, n, vs, seen, &why);
    if (rc == MAMORI_EINVAL)
        vault_refusal_report(s, c, d, kv, 0, &why);
    return rc;
}

/* Computes the blind-index values of vs. */
static int prepare_index(const struct vault_ds *d, const struct values *vs,
                         struct prepared *p)
{
    for (size_t i = 0; i < d->nfields; i++) {
        const struct vault_field *f = &d->fields[i];
        char *key = NULL;
        p->maclen[i] = 0;
        if (!f->searchable || !vs->v[i])
            continue;
        int rc = text_search_key(f->type, vs->v[i], strlen(vs->v[i]), &key);
        if (rc != 0)
            return rc == -2 ? MAMORI_ENOMEM : MAMORI_EINVAL;
        struct vault_probe probe;
        uint8_t chk[VAULT_CHECK_LEN];
        vault_probe_make(d, f, key, strlen(key), &probe);
        crypto_wipe_free_str(key);
        vault_probe_seal(&probe, p->r.id, chk);
        p->maclen[i] = (uint8_t)probe.maclen;
        memcpy(p->mac[i], probe.mac, probe.maclen);
        memcpy(p->check[i], chk + 8, 4);
        crypto_wipe(&probe, sizeof probe);
    }
    return 0;
}

static int write_index(struct mamori *m, const struct vault_ds *d,
                       const struct prepared *p)
{
    for (size_t i = 0; i < d->nfields; i++) {
        if (!p->maclen[i])
            continue;
        uint8_t chk[VAULT_CHECK_LEN];
        memcpy(chk, p->r.id, 8);
        memcpy(chk + 8, p->check[i], 4);
        int rc = store_index_put(m->store, d->id, (int)i, p->mac[i],
                                 p->maclen[i], chk, sizeof chk, p->r.id);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Removes the index entries of a record's values (computed again from the
 * decrypted values: no index over records is kept just for deleting). */
static int drop_index(struct mamori *m, const struct vault_ds *d,
                      const struct values *vs, const uint8_t rid[16])
{
    struct prepared p;
    memset(&p, 0, sizeof p);
    memcpy(p.r.id, rid, sizeof p.r.id); /* the checks are the entries' own */
    int rc = prepare_index(d, vs, &p);
    for (size_t i = 0; rc == 0 && i < d->nfields; i++)
        if (p.maclen[i])
            rc = store_index_delete(m->store, d->id, (int)i, p.mac[i],
                                    p.maclen[i], rid);
    return rc;
}

int vault_write_new(struct mamori *m, const struct vault_ds *d,
                    const struct prepared *p)
{
    int rc = store_record_put(m->store, &p->r);
    if (rc == 0)
        rc = write_index(m, d, p);
    return rc;
}

/* New record id (UUID v4 bits), version 1, sealed and indexed. */
int vault_prepare_new(struct mamori *m, const struct vault_ds *d,
                      const struct values *vs, int64_t now, struct prepared *p)
{
    memset(&p->r, 0, sizeof p->r);
    p->r.dataset_id = d->id;
    crypto_random(p->r.id, sizeof p->r.id);
    p->r.id[6] = (uint8_t)((p->r.id[6] & 0x0F) | 0x40);
    p->r.id[8] = (uint8_t)((p->r.id[8] & 0x3F) | 0x80);
    p->r.version = 1;
    p->r.key_version = 1;
    p->r.updated = now;
    int rc = seal(m, d, vs, &p->r);
    if (rc == 0)
        rc = prepare_index(d, vs, p);
    return rc;
}

/* Whether a field of type t is masked in view. Corporate numbers are not
 * specific personal data: only viewers see them masked. */
static int masked_in(unsigned view, enum field_type t)
{
    if (view == GUARD_VIEW_MASKED)
        return 1;
    return view == GUARD_VIEW_NO_MYNUMBER && t == FT_MYNUMBER;
}

/* Replaces *v by its masked form (the stored value is wiped). */
static int mask_in_place(enum field_type t, char **v)
{
    char *m = NULL;
    int rc = mask_value(t, *v, strlen(*v), &m);
    if (rc == -2)
        return MAMORI_ENOMEM;
    if (rc != 0) {
        /* Not UTF-8: cannot be a stored canonical value; hide it all. */
        m = strdup("\xef\xbc\x8a\xef\xbc\x8a\xef\xbc\x8a");
        if (!m)
            return MAMORI_ENOMEM;
    }
    crypto_wipe_free_str(*v);
    *v = m;
    return 0;
}

int vault_record_out(const struct vault_ds *d, const struct store_record *r,
                     struct values *vs, unsigned view,
                     struct mamori_record **out)
{
    struct mamori_record *rec;
    size_t k = 0;

    for (size_t i = 0; i < d->nfields; i++) {
        if (vs->v[i] && masked_in(view, d->fields[i].type)) {
            int rc = mask_in_place(d->fields[i].type, &vs->v[i]);
            if (rc != 0)
                return rc;
        }
    }
    rec = calloc(1, sizeof *rec);
    if (!rec)
        return MAMORI_ENOMEM;
    vault_rid_format(r->id, rec->id);
    rec->version = r->version;
    rec->updated = r->updated;
    rec->fields = calloc(d->nfields, sizeof *rec->fields);
    if (!rec->fields) {
        free(rec);
        return MAMORI_ENOMEM;
    }
    for (size_t i = 0; i < d->nfields; i++) {
        if (!vs->v[i])
            continue;
        /* Field names point into the cache's schema, which lives as long as
         * the vault handle. */
        rec->fields[k].name = d->fields[i].name;
        rec->fields[k].value = vs->v[i];
        vs->v[i] = NULL;
        if (masked_in(view, d->fields[i].type))
            rec->masked = 1;
        k++;
    }
    rec->n = k;
    *out = rec;
    return 0;
}

int vault_mynumber_check(mamori_sess *s, struct guard_call *c,
                         const struct vault_ds *d, const struct mamori_kv *kv,
                         size_t n, uint64_t at, unsigned how)
{
    char where[64], where_log[32];
    int update = (how & VAULT_MN_UPDATE) != 0;

    if (c->handler)
        return 0;
    for (size_t i = 0; i < n; i++) {
        const struct vault_field *f = vault_kv_field(d, &kv[i]);
        if (!f || f->type != FT_MYNUMBER)
            continue;
        if (!update && (!kv[i].value || kv[i].value[0] == '\0'))
            continue;
        if (at && (how & VAULT_MN_LINE)) {
            snprintf(where, sizeof where, _("line %llu, "),
                     (unsigned long long)at);
            snprintf(where_log, sizeof where_log, "line %llu, ",
                     (unsigned long long)at);
        } else if (at) {
            snprintf(where, sizeof where, _("row %zu, "), (size_t)at);
            snprintf(where_log, sizeof where_log, "row %zu, ", (size_t)at);
        } else {
            where[0] = where_log[0] = '\0';
        }
        sess_detail(s,
                    "%sfield \"%s\": only the dataset's My Number handlers "
                    "may enter or change My Numbers",
                    where, f->name);
        snprintf(c->detail, sizeof c->detail,
                 "%sfield %s: My Number, not a handler", where_log, f->name);
        return MAMORI_EDENIED;
    }
    return 0;
}

void mamori_record_free(struct mamori_record *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        crypto_wipe_free_str((char *)r->fields[i].value);
    free(r->fields);
    free(r);
}

void mamori_record_array_free(struct mamori_record **rs, size_t n)
{
    if (!rs)
        return;
    for (size_t i = 0; i < n; i++)
        mamori_record_free(rs[i]);
    free(rs);
}

int mamori_record_add(mamori_sess *s, const char *dataset,
                      const struct mamori_kv *kv, size_t n, char *id,
                      size_t id_size)
{
    struct guard_call c;
    struct vault_ds *d;
    struct values vs;
    struct prepared p;
    int seen[VAULT_MAX_FIELDS] = {0};
    char idtext[37];
    int rc;

    memset(&vs, 0, sizeof vs);
    memset(&p, 0, sizeof p);
    if (!id || id_size < MAMORI_ID_LEN + 1 || (n && !kv))
        return MAMORI_EINVAL;
    id[0] = '\0';
    rc = guard_begin(&c, s, OP_RECORD_ADD, dataset);
    if (rc != 0)
        return rc;
    rc = vault_ds_load(s->m, &c.ds, &d);
    if (rc == 0)
        rc = vault_mynumber_check(s, &c, d, kv, n, 0, 0);
    if (rc == 0)
        rc = take_values(s, d, kv, n, &vs, seen, &c);
    if (rc == 0)
        rc = vault_need_value(s, &c, d, &vs, 0);
    if (rc == 0)
        rc = vault_key_check(s, &c, d, &vs, NULL);
    if (rc == 0)
        rc = vault_prepare_new(s->m, d, &vs, mamori_now(), &p);
    if (rc == 0)
        rc = vault_write_new(s->m, d, &p);
    vault_rid_format(p.r.id, idtext);
    if (rc == 0)
        rc = guard_add_id(&c, idtext);
    c.count = 1;
    vault_values_wipe(&vs, VAULT_MAX_FIELDS);
    free(p.r.ct);
    rc = guard_end(&c, rc);
    if (rc == 0)
        snprintf(id, id_size, "%s", idtext);
    return rc;
}

/* Loads and decrypts one record inside the guarded call c. */
static int load_record(mamori_sess *s, struct guard_call *c, struct vault_ds *d,
                       const uint8_t rid[16], struct store_record *r,
                       struct values *vs)
{
    char idtext[37];
    int rc = store_record_get(c->st, d->id, rid, r);
    if (rc == MAMORI_ENOTFOUND)
        sess_detail(s, "no record with that id in the dataset");
    if (rc != 0)
        return rc;
    r->dataset_id = d->id;
    memcpy(r->id, rid, sizeof r->id);
    rc = vault_unseal(s->m, d, r, vs);
    if (rc == MAMORI_ECRYPTO) {
        vault_rid_format(rid, idtext);
        sess_detail(s, "record %s failed its integrity check", idtext);
    }
    return rc;
}

/* Parses the record id and names it, canonically, in the audit entry. */
static int take_id(mamori_sess *s, struct guard_call *c, const char *id,
                   uint8_t rid[16])
{
    char canon[37];
    if (vault_rid_parse(id, rid) != 0) {
        sess_detail(s, "record id: not a UUID");
        return MAMORI_EINVAL;
    }
    vault_rid_format(rid, canon);
    return guard_add_id(c, canon);
}

/* A record opened inside a guarded call: its dataset, id, stored form and
 * decrypted values. */
struct opened {
    struct vault_ds *d;
    uint8_t rid[16];
    struct store_record r;
    struct values vs;
};

/* Opens the record named by id in the guarded call's dataset. Release with
 * close_record whatever the result. */
static int open_record(mamori_sess *s, struct guard_call *c, const char *id,
                       struct opened *o)
{
    memset(o, 0, sizeof *o);
    int rc = take_id(s, c, id, o->rid);
    if (rc == 0)
        rc = vault_ds_of(c, &o->d);
    if (rc == 0)
        rc = load_record(s, c, o->d, o->rid, &o->r, &o->vs);
    return rc;
}

static void close_record(struct opened *o)
{
    vault_values_wipe(&o->vs, VAULT_MAX_FIELDS);
    free(o->r.ct);
    o->r.ct = NULL;
}

/* Adds the index entries of a record's values. */
static int add_index(struct mamori *m, const struct vault_ds *d,
                     const struct values *vs, const uint8_t rid[16])
{
    struct prepared p;
    memset(&p, 0, sizeof p);
    memcpy(p.r.id, rid, sizeof p.r.id);
    int rc = prepare_index(d, vs, &p);
    if (rc == 0)
        rc = write_index(m, d, &p);
    return rc;
}

int vault_record_get(mamori_sess *s, int fast, const char *dataset,
                     const char *id, struct mamori_record **out,
                     struct mamori_later *later)
{
    struct guard_call c;
    struct opened o;
    struct mamori_record *rec = NULL;
    int rc;

    *out = NULL;
    memset(&o, 0, sizeof o);
    rc = fast ? guard_read_begin(&c, s, OP_RECORD_GET, dataset)
              : guard_begin(&c, s, OP_RECORD_GET, dataset);
    if (rc != 0 && !c.refused)
        return rc;
    if (rc == 0) /* (refused: the gate's end writes it) */
        rc = open_record(s, &c, id, &o);
    if (rc == 0)
        rc = vault_record_out(o.d, &o.r, &o.vs, c.view, &rec);
    c.count = rc == 0;
    close_record(&o);
    if (later && fast) {
        /* Held back with the entry until its verdict (later.c). */
        later->rec = rec;
        later->op_rc = rc;
        rc = later_queue(later, &c, rc);
        if (rc != 0)
            later->rec = NULL;
    } else {
        rc = guard_end(&c, rc);
        if (rc == 0)
            *out = rec;
    }
    if (rc != 0)
        mamori_record_free(rec); /* fail closed: nothing is released
                                  * without its audit entry */
    return rc;
}

int mamori_record_get(mamori_sess *s, const char *dataset, const char *id,
                      struct mamori_record **out)
{
    int rc = vault_record_get(s, 1, dataset, id, out, NULL);
    return rc == GUARD_SLOW ? vault_record_get(s, 0, dataset, id, out, NULL)
                            : rc;
}

int mamori_record_update(mamori_sess *s, const char *dataset, const char *id,
                         const struct mamori_kv *kv, size_t n)
{
    struct guard_call c;
    struct opened o;
    int seen[VAULT_MAX_FIELDS] = {0};
    int rc;

    rc = guard_begin(&c, s, OP_RECORD_UPDATE, dataset);
    if (rc != 0)
        return rc;
    rc = open_record(s, &c, id, &o);
    if (rc == 0 && (n == 0 || !kv)) {
        sess_detail(s, "no FIELD=VALUE given");
        rc = MAMORI_EINVAL;
    }
    if (rc == 0)
        rc = vault_mynumber_check(s, &c, o.d, kv, n, 0, VAULT_MN_UPDATE);
    /* The old values' index entries go, the new ones come after. */
    if (rc == 0)
        rc = drop_index(s->m, o.d, &o.vs, o.rid);
    if (rc == 0)
        rc = take_values(s, o.d, kv, n, &o.vs, seen, &c);
    if (rc == 0)
        rc = vault_need_value(s, &c, o.d, &o.vs, 1);
    if (rc == 0 && vault_key_named(o.d, kv, n))
        rc = vault_key_check(s, &c, o.d, &o.vs, o.rid);
    if (rc == 0) {
        free(o.r.ct);
        o.r.ct = NULL;
        o.r.version++;
        o.r.updated = mamori_now();
        rc = seal(s->m, o.d, &o.vs, &o.r);
    }
    if (rc == 0)
        rc = store_record_put(s->m->store, &o.r);
    if (rc == 0)
        rc = add_index(s->m, o.d, &o.vs, o.rid);
    c.count = rc == 0;
    close_record(&o);
    return guard_end(&c, rc);
}

/* Deleting a record that holds a My Number disposes of it: handling, for
 * the dataset's handlers only. */
static int mynumber_held(mamori_sess *s, struct guard_call *c,
                         const struct vault_ds *d, const struct values *vs)
{
    for (size_t i = 0; i < d->nfields; i++) {
        if (d->fields[i].type == FT_MYNUMBER && vs->v[i]) {
            sess_detail(s,
                        "field \"%s\": the record holds a My Number; only "
                        "the dataset's My Number handlers may delete it",
                        d->fields[i].name);
            snprintf(c->detail, sizeof c->detail,
                     "field %s: My Number, not a handler", d->fields[i].name);
            return MAMORI_EDENIED;
        }
    }
    return 0;
}

int mamori_record_delete(mamori_sess *s, const char *dataset, const char *id)
{
    struct guard_call c;
    struct opened o;
    int rc = guard_begin(&c, s, OP_RECORD_DELETE, dataset);
    if (rc != 0)
        return rc;
    /* The record is decrypted to find its index entries, which go first:
     * they name their record through it. */
    rc = open_record(s, &c, id, &o);
    if (rc == 0 && !c.handler)
        rc = mynumber_held(s, &c, o.d, &o.vs);
    if (rc == 0)
        rc = drop_index(s->m, o.d, &o.vs, o.rid);
    if (rc == 0)
        rc = store_record_delete(s->m->store, c.ds.id, o.rid);
    c.count = rc == 0;
    close_record(&o);
    return guard_end(&c, rc);
}

/* ---- values sealed under other bindings (verified entries) ------------- */

int vault_values_seal(const struct vault_ds *d, const void *ad, size_t adlen,
                      const struct values *vs, uint8_t **ct, size_t *ctlen)
{
    uint8_t *pt = NULL, *out = NULL;
    size_t ptlen = 0;
    int rc = encode(d, vs, &pt, &ptlen);

    *ct = NULL;
    *ctlen = 0;
    if (rc != 0)
        return rc;
    if (ptlen > SIZE_MAX - CRYPTO_AEAD_OVERHEAD) {
        rc = MAMORI_ETOOBIG;
    } else if (!(out = malloc(ptlen + CRYPTO_AEAD_OVERHEAD))) {
        rc = MAMORI_ENOMEM;
    } else if (crypto_aead_encrypt(d->dek, ad, adlen, pt, ptlen, out) != 0) {
        free(out);
        rc = MAMORI_ECRYPTO;
    } else {
        *ct = out;
        *ctlen = ptlen + CRYPTO_AEAD_OVERHEAD;
    }
    crypto_wipe(pt, ptlen);
    free(pt);
    return rc;
}

int vault_values_unseal(const struct vault_ds *d, const void *ad, size_t adlen,
                        const uint8_t *ct, size_t ctlen, struct values *vs)
{
    uint8_t *pt;
    size_t ptlen;
    int rc;

    memset(vs, 0, sizeof *vs);
    if (!ct || ctlen < CRYPTO_AEAD_OVERHEAD)
        return MAMORI_ECRYPTO;
    ptlen = ctlen - CRYPTO_AEAD_OVERHEAD;
    pt = malloc(ptlen ? ptlen : 1);
    if (!pt)
        return MAMORI_ENOMEM;
    if (crypto_aead_decrypt(d->dek, ad, adlen, ct, ctlen, pt) != 0)
        rc = MAMORI_ECRYPTO;
    else
        rc = decode(d, pt, ptlen, vs);
    crypto_wipe(pt, ptlen);
    free(pt);
    return rc;
}

/* ---- helpers for export.c ---------------------------------------------- */

int vault_values_mask(const struct vault_ds *d, struct values *vs,
                      unsigned view, int *masked)
{
    for (size_t i = 0; i < d->nfields; i++) {
        if (vs->v[i] && masked_in(view, d->fields[i].type)) {
            int rc = mask_in_place(d->fields[i].type, &vs->v[i]);
            if (rc != 0)
                return rc;
            if (masked)
                *masked = 1;
        }
    }
    return 0;
}
