/*
 * entry.c - verified double entry (ベリファイ入力): a first operator's keying
 * is kept as a pending entry, sealed under the dataset's record key; a
 * second operator keys the same source without seeing it, and the record
 * is created only when both agree after normalisation. See mamori.h.
 *
 * The verify and amend calls name an entry, not a dataset, but the gate
 * checks the grant of a dataset: the entry's dataset is looked up first
 * (under the handle's lock, outside the transaction) and the entry read
 * again inside the gate, where its dataset must still be the same.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "config.h"
#include "crypto.h"
#include "guard.h"
#include "store.h"
#include "vault.h"
#include "banned.h"

/* Entry ids per expiry audit entry (each 36 bytes and a comma). */
#define EXPIRE_IDS_PER_ENTRY 1000

/* ---- binding and sealing -------------------------------------------------
 * Associated data: a label of its own (an entry's ciphertext cannot pass
 * for a record's, which uses the same key), the vault, dataset, entry id,
 * version, and the operator who keyed it - so that a changed entered_by
 * column cannot let that operator verify their own keying. */

#define ENTRY_AD_LABEL "mamori-entry-v1"
#define ENTRY_AD_MAX 160

static size_t entry_ad(const struct mamori *m, const struct vault_ds *d,
                       const struct store_entry *e, uint8_t ad[ENTRY_AD_MAX])
{
    size_t n = sizeof ENTRY_AD_LABEL; /* the NUL too */
    uint64_t who = (uint64_t)e->entered_by;

    memcpy(ad, ENTRY_AD_LABEL, n);
    memcpy(ad + n, m->vault_id, 36);
    n += 36;
    memcpy(ad + n, d->uuid, 36);
    n += 36;
    memcpy(ad + n, e->id, 36);
    n += 36;
    for (int i = 3; i >= 0; i--)
        ad[n++] = (uint8_t)(e->version >> (8 * i));
    for (int i = 7; i >= 0; i--)
        ad[n++] = (uint8_t)(who >> (8 * i));
    return n;
}

/* Seals vs into e->ct (replacing what was there). */
static int seal_entry(struct mamori *m, const struct vault_ds *d,
                      struct store_entry *e, const struct values *vs)
{
    uint8_t ad[ENTRY_AD_MAX];
    size_t adlen = entry_ad(m, d, e, ad);

    free(e->ct);
    e->ct = NULL;
    e->ctlen = 0;
    return vault_values_seal(d, ad, adlen, vs, &e->ct, &e->ctlen);
}

static int unseal_entry(mamori_sess *s, struct guard_call *c,
                        const struct vault_ds *d, const struct store_entry *e,
                        struct values *vs)
{
    uint8_t ad[ENTRY_AD_MAX];
    size_t adlen = entry_ad(s->m, d, e, ad);
    int rc = vault_values_unseal(d, ad, adlen, e->ct, e->ctlen, vs);

    if (rc == MAMORI_ECRYPTO) {
        sess_detail(s, "entry %s failed its integrity check", e->id);
        snprintf(c->detail, sizeof c->detail, "entry %s: integrity", e->id);
    }
    return rc;
}

/* ---- small helpers ------------------------------------------------------ */

/* The canonical (lower-case) text of an entry id; MAMORI_EINVAL if it is
 * not a UUID. */
static int entry_id_canon(const char *id, char out[37])
{
    uint8_t b[16];

    out[0] = '\0';
    if (!id || vault_rid_parse(id, b) != 0)
        return MAMORI_EINVAL;
    vault_rid_format(b, out);
    return 0;
}

static int holds_mynumber(const struct vault_ds *d, const struct values *vs)
{
    for (size_t i = 0; i < d->nfields; i++)
        if (d->fields[i].type == FT_MYNUMBER && vs->v[i])
            return 1;
    return 0;
}

/* Validates kv into vs (which may hold values already: the given fields
 * are replaced) and reports a refusal by field and rule. */
static int take_values(mamori_sess *s, struct guard_call *c,
                       const struct vault_ds *d, const struct mamori_kv *kv,
                       size_t n, struct values *vs)
{
    int seen[VAULT_MAX_FIELDS] = {0};
    struct refusal why = {-1, 0, NULL};
    int rc = vault_values_from_kv(d, kv, n, vs, seen, &why);

    if (rc == MAMORI_EINVAL)
        vault_refusal_report(s, c, d, kv, 0, &why);
    return rc;
}

/* Puts "entry ID: " before the detail an operation left (a refusal's
 * field and rule), or makes the detail "entry ID". */
static void detail_entry(struct guard_call *c, const char *id)
{
    char text[sizeof c->detail + 64];

    if (!id[0] || strncmp(c->detail, "entry ", 6) == 0)
        return;
    if (c->detail[0])
        snprintf(text, sizeof text, "entry %s: %s", id, c->detail);
    else
        snprintf(text, sizeof text, "entry %s", id);
    /* Cut at a character boundary. */
    guard_clean_text(text, c->detail, sizeof c->detail);
}

/* Appends name to list (size bytes, comma-separated); a name that does not
 * fit, with room for ",...", ends the list with ",..." instead. Returns 1
 * once the list is cut. */
static int list_add(char *list, size_t size, const char *sep, const char *name,
                    int cut)
{
    size_t len = strlen(list), need = strlen(name) + (len ? strlen(sep) : 0);

    if (cut)
        return 1;
    if (len + need + 4 < size) {
        snprintf(list + len, size - len, "%s%s", len ? sep : "", name);
        return 0;
    }
    if (len + 4 < size)
        snprintf(list + len, size - len, "%s", len ? ",..." : "...");
    return 1;
}

/* Copies the comma-separated list src into dst (size bytes), cut at a
 * name with ",..." when it does not fit. */
static void cut_list(const char *src, char *dst, size_t size)
{
    char name[64];
    int cut = 0;

    if (size == 0)
        return;
    dst[0] = '\0';
    if (strlen(src) < size) {
        snprintf(dst, size, "%s", src);
        return;
    }
    while (*src && !cut) {
        size_t l = strcspn(src, ",");
        snprintf(name, sizeof name, "%.*s", (int)l, src);
        cut = list_add(dst, size, ",", name, 0);
        src += l + (src[l] == ',');
    }
}

/* ---- expiry ------------------------------------------------------------- */

/* Audits the wipe of rows[0..n) (all of one dataset) as entry.expire
 * entries of the open transaction, in pieces of bounded size. */
static int audit_expired(struct mamori *m, const struct store_entry_row *rows,
                         size_t n)
{
    for (size_t at = 0; at < n; at += EXPIRE_IDS_PER_ENTRY) {
        size_t k =
            n - at < EXPIRE_IDS_PER_ENTRY ? n - at : EXPIRE_IDS_PER_ENTRY;
        struct store_audit_row row;
        char detail[96], *ids = malloc(k * 37 + 1);
        size_t len = 0;
        int rc;

        if (!ids)
            return MAMORI_ENOMEM;
        for (size_t i = 0; i < k; i++) {
            size_t l = strlen(rows[at + i].id);
            if (i)
                ids[len++] = ',';
            memcpy(ids + len, rows[at + i].id, l);
            len += l;
        }
        ids[len] = '\0';
        snprintf(detail, sizeof detail, "%zu pending %s expired, wiped", k,
                 k == 1 ? "entry" : "entries");
        guard_event_row(&row, "", "", OP_ENTRY_EXPIRE, "ok", detail);
        snprintf(row.dataset, sizeof row.dataset, "%s", rows[at].dataset);
        row.record_ids = ids;
        row.count = (int64_t)k;
        rc = audit_append(m, &row);
        free(ids);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Wipes the entries past their expiry, with their audit entries, in a
 * transaction of its own. Call with m->lock held. */
static int expire_locked(struct mamori *m)
{
    struct store_entry_row *rows = NULL;
    size_t n = 0, i, j;
    int rc = store_begin(m->store);

    if (rc != 0)
        return rc;
    rc = store_entry_expire(m->store, mamori_now(), &rows, &n);
    for (i = 0; rc == 0 && i < n; i = j) {
        for (j = i + 1; j < n && strcmp(rows[j].dataset, rows[i].dataset) == 0;
             j++)
            ;
        rc = audit_expired(m, rows + i, j - i);
    }
    free(rows);
    if (rc == 0 && n > 0)
        rc = audit_commit(m);
    else if (rc == 0)
        store_rollback(m->store); /* nothing was written */
    if (rc != 0) {
        audit_rollback(m);
        if (n > 0) /* the wipe's entries were not written */
            guard_alert_audit_failure(guard_action(OP_ENTRY_EXPIRE));
    }
    return rc;
}

/* Before the gate: wipes expired entries and, with id, finds the name of
 * the entry's dataset (dsname "" when there is no such entry). */
static int entry_prepare(mamori_sess *s, const char *id, char dsname[64])
{
    struct store_entry_row r;
    int rc;

    if (dsname)
        dsname[0] = '\0';
    if (pthread_mutex_lock(&s->m->lock) != 0) {
        sess_detail(s, "finish the open bulk add first");
        return MAMORI_ESTATE;
    }
    rc = expire_locked(s->m);
    if (rc == 0 && id && id[0]) {
        rc = store_entry_describe(s->m->store, id, &r);
        if (rc == 0)
            snprintf(dsname, 64, "%s", r.dataset);
        else if (rc == MAMORI_ENOTFOUND)
            rc = 0;
    }
    pthread_mutex_unlock(&s->m->lock);
    if (rc == MAMORI_EAUDIT)
        sess_detail(s, "expired entries could not be wiped: the audit "
                       "entry could not be written");
    return rc;
}

/* Opens the gate for op on entry id and reads the entry into e (free
 * e->ct). canon receives the entry id's canonical text. Call guard_end
 * whatever the result (after a refusal by the gate it does nothing). */
static int entry_begin(struct guard_call *c, mamori_sess *s, enum guard_op op,
                       const char *id, char canon[37], struct store_entry *e)
{
    char dsname[64];
    int bad = entry_id_canon(id, canon) != 0;
    int rc;

    memset(c, 0, sizeof *c);
    memset(e, 0, sizeof *e);
    rc = entry_prepare(s, bad ? NULL : canon, dsname);
    if (rc != 0)
        return rc;
    rc = guard_begin(c, s, op, dsname[0] ? dsname : NULL);
    if (rc == MAMORI_EINVAL && !dsname[0]) {
        /* The gate refused the call for want of a dataset: the id names
         * no pending entry (the refusal is audited). */
        if (bad) {
            sess_detail(s, "entry id: not an entry id (a UUID)");
            return MAMORI_EINVAL;
        }
        sess_detail(s, "no pending entry with that id (it may have "
                       "expired)");
        return MAMORI_ENOTFOUND;
    }
    if (rc != 0)
        return rc;
    snprintf(c->detail, sizeof c->detail, "entry %s", canon);
    rc = store_entry_get(s->m->store, canon, e);
    if (rc == 0 && (e->dataset_id != c->ds.id || e->expires <= mamori_now()))
        rc = MAMORI_ENOTFOUND;
    if (rc == MAMORI_ENOTFOUND)
        sess_detail(s, "no pending entry with that id (it may have "
                       "expired)");
    return rc;
}

/* ---- start -------------------------------------------------------------- */

int mamori_entry_start(mamori_sess *s, const char *dataset,
                       const struct mamori_kv *kv, size_t n, char *id,
                       size_t id_size)
{
    struct guard_call c;
    struct vault_ds *d = NULL;
    struct values vs;
    struct store_entry e;
    int64_t now, hours;
    int rc;

    memset(&vs, 0, sizeof vs);
    memset(&e, 0, sizeof e);
    if (!s)
        return MAMORI_ESESSION;
    if (!id || id_size < MAMORI_ID_LEN + 1 || (n && !kv))
        return MAMORI_EINVAL;
    id[0] = '\0';
    rc = entry_prepare(s, NULL, NULL);
    if (rc != 0)
        return rc;
    rc = guard_begin(&c, s, OP_ENTRY_START, dataset);
    if (rc != 0)
        return rc;
    crypto_uuid(e.id);
    rc = vault_ds_load(s->m, &c.ds, &d);
    if (rc == 0)
        rc = vault_mynumber_check(s, &c, d, kv, n, 0, 0);
    if (rc == 0)
        rc = take_values(s, &c, d, kv, n, &vs);
    if (rc == 0)
        rc = vault_need_value(s, &c, d, &vs, 0);
    if (rc == 0) {
        now = mamori_now();
        hours = config_int(s->m, CFG_ENTRY_EXPIRE_HOURS);
        e.dataset_id = d->id;
        e.entered_by = s->user.id;
        e.created = e.updated = now;
        e.expires = now + hours * 3600;
        e.version = 1;
        rc = seal_entry(s->m, d, &e, &vs);
    }
    if (rc == 0)
        rc = store_entry_add(s->m->store, &e);
    detail_entry(&c, rc == 0 ? e.id : "");
    vault_values_wipe(&vs, VAULT_MAX_FIELDS);
    free(e.ct);
    rc = guard_end(&c, rc);
    if (rc == 0)
        snprintf(id, id_size, "%s", e.id);
    return rc;
}

/* ---- verify ------------------------------------------------------------- */

/* Names the fields whose values differ (in schema order) into list (size
 * bytes, sep between names); returns how many differ. */
static size_t compare(const struct vault_ds *d, const struct values *a,
                      const struct values *b, char *list, size_t size,
                      const char *sep)
{
    size_t differ = 0;
    int cut = 0;

    if (size)
        list[0] = '\0';
    for (size_t i = 0; i < d->nfields; i++) {
        const char *x = a->v[i], *y = b->v[i];
        int same;

        if (!x || !y) {
            same = !x && !y;
        } else {
            size_t lx = strlen(x), ly = strlen(y);
            same = lx == ly && crypto_equal(x, y, lx);
        }
        if (same)
            continue;
        differ++;
        if (size)
            cut = list_add(list, size, sep, d->fields[i].name, cut);
    }
    return differ;
}

/* Counts a failed verification, in a transaction of its own (the failed
 * call's own was rolled back). */
static int count_mismatch(struct mamori *m, const char *id)
{
    int rc;

    if (pthread_mutex_lock(&m->lock) != 0)
        return MAMORI_ESTATE;
    rc = store_begin(m->store);
    if (rc == 0) {
        rc = store_entry_mismatch(m->store, id);
        if (rc == 0)
            rc = store_commit(m->store);
        if (rc != 0)
            store_rollback(m->store);
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

int mamori_entry_verify(mamori_sess *s, const char *id,
                        const struct mamori_kv *kv, size_t n, char *record_id,
                        size_t record_id_size, char *mismatch, size_t msize)
{
    struct guard_call c;
    struct store_entry e;
    struct vault_ds *d = NULL;
    struct values first, second;
    struct prepared p;
    char canon[37], rid[37], shown[200];
    char names[MAMORI_ENTRY_MISMATCH_MAX];
    size_t differ = 0;
    int rc;

    memset(&first, 0, sizeof first);
    memset(&second, 0, sizeof second);
    memset(&p, 0, sizeof p);
    rid[0] = shown[0] = names[0] = '\0';
    if (!s)
        return MAMORI_ESESSION;
    if (!record_id || record_id_size < MAMORI_ID_LEN + 1 || (n && !kv) ||
        (mismatch && msize == 0))
        return MAMORI_EINVAL;
    record_id[0] = '\0';
    if (mismatch)
        mismatch[0] = '\0';

    rc = entry_begin(&c, s, OP_ENTRY_VERIFY, id, canon, &e);
    if (rc == 0 && e.entered_by == s->user.id) {
        sess_detail(s, "an entry is verified by another operator than the "
                       "one who keyed it");
        snprintf(c.detail, sizeof c.detail, "entry %s: keyed by the caller",
                 canon);
        rc = MAMORI_EDENIED;
    }
    if (rc == 0 && e.tries >= MAMORI_ENTRY_TRIES) {
        sess_detail(s,
                    "%d verifications of this entry failed: the operator "
                    "who keyed it must check it against the source and "
                    "amend it first",
                    MAMORI_ENTRY_TRIES);
        snprintf(c.detail, sizeof c.detail, "entry %s: too many tries", canon);
        rc = MAMORI_ESTATE;
    }
    if (rc == 0 && n == 0) {
        sess_detail(s, "no FIELD=VALUE given");
        rc = MAMORI_EINVAL;
    }
    if (rc == 0)
        rc = vault_ds_load(s->m, &c.ds, &d);
    if (rc == 0)
        rc = vault_mynumber_check(s, &c, d, kv, n, 0, 0);
    if (rc == 0)
        rc = take_values(s, &c, d, kv, n, &second);
    if (rc == 0)
        rc = vault_need_value(s, &c, d, &second, 0);
    if (rc == 0)
        rc = unseal_entry(s, &c, d, &e, &first);
    if (rc == 0 && !c.handler && holds_mynumber(d, &first)) {
        sess_detail(s, "the entry holds a My Number: only the dataset's My "
                       "Number handlers may verify it");
        snprintf(c.detail, sizeof c.detail,
                 "entry %s: My Number, not a handler", canon);
        rc = MAMORI_EDENIED;
    }
    if (rc == 0) {
        differ = compare(d, &first, &second, shown, sizeof shown, ", ");
        (void)compare(d, &first, &second, names, sizeof names, ",");
    }
    if (rc == 0 && differ > 0) {
        size_t at;

        sess_detail(s, "fields that differ: %s", shown);
        /* Room is left for the gate's "error: " before it. */
        at = (size_t)snprintf(c.detail, sizeof c.detail,
                              "entry %s: fields differ: ", canon);
        if (at < sizeof c.detail - 8) {
            c.detail[at] = '\0';
            cut_list(names, c.detail + at, sizeof c.detail - 8 - at);
        }
        rc = MAMORI_EMISMATCH;
    }
    if (rc == 0)
        rc = vault_key_check(s, &c, d, &second, NULL);
    if (rc == 0)
        rc = vault_prepare_new(s->m, d, &second, mamori_now(), &p);
    if (rc == 0)
        rc = vault_write_new(s->m, d, &p);
    if (rc == 0)
        rc = store_entry_delete(s->m->store, canon);
    if (rc == 0) {
        vault_rid_format(p.r.id, rid);
        rc = guard_add_id(&c, rid);
        c.count = 1;
    }
    detail_entry(&c, canon);
    vault_values_wipe(&first, VAULT_MAX_FIELDS);
    vault_values_wipe(&second, VAULT_MAX_FIELDS);
    free(p.r.ct);
    free(e.ct);
    rc = guard_end(&c, rc);
    if (rc == MAMORI_EMISMATCH) {
        int crc = count_mismatch(s->m, canon);
        if (crc != 0) {
            /* Fail closed: an uncounted try names no field. */
            sess_detail(s, "the failed verification could not be counted");
            return crc;
        }
        if (mismatch)
            cut_list(names, mismatch, msize);
        return rc;
    }
    if (rc == 0)
        snprintf(record_id, record_id_size, "%s", rid);
    return rc;
}

/* ---- amend -------------------------------------------------------------- */

int mamori_entry_amend(mamori_sess *s, const char *id,
                       const struct mamori_kv *kv, size_t n)
{
    struct guard_call c;
    struct store_entry e;
    struct vault_ds *d = NULL;
    struct values vs;
    char canon[37];
    int rc;

    memset(&vs, 0, sizeof vs);
    if (!s)
        return MAMORI_ESESSION;
    if (n && !kv)
        return MAMORI_EINVAL;
    rc = entry_begin(&c, s, OP_ENTRY_AMEND, id, canon, &e);
    if (rc == 0 && e.entered_by != s->user.id) {
        sess_detail(s, "only the operator who keyed an entry may amend it");
        snprintf(c.detail, sizeof c.detail,
                 "entry %s: not keyed by the "
                 "caller",
                 canon);
        rc = MAMORI_EDENIED;
    }
    if (rc == 0 && n == 0) {
        sess_detail(s, "no FIELD=VALUE given");
        rc = MAMORI_EINVAL;
    }
    if (rc == 0 && e.version == UINT32_MAX) {
        sess_detail(s, "the entry has been amended too often");
        rc = MAMORI_ETOOBIG;
    }
    if (rc == 0)
        rc = vault_ds_load(s->m, &c.ds, &d);
    if (rc == 0)
        rc = vault_mynumber_check(s, &c, d, kv, n, 0, VAULT_MN_UPDATE);
    if (rc == 0)
        rc = unseal_entry(s, &c, d, &e, &vs);
    if (rc == 0)
        rc = take_values(s, &c, d, kv, n, &vs);
    if (rc == 0)
        rc = vault_need_value(s, &c, d, &vs, 1);
    if (rc == 0) {
        e.version++;
        e.updated = mamori_now();
        e.tries = 0;
        rc = seal_entry(s->m, d, &e, &vs);
    }
    if (rc == 0)
        rc = store_entry_update(s->m->store, &e);
    detail_entry(&c, canon);
    vault_values_wipe(&vs, VAULT_MAX_FIELDS);
    free(e.ct);
    return guard_end(&c, rc);
}

/* ---- list --------------------------------------------------------------- */

int mamori_entry_list(mamori_sess *s, const char *dataset,
                      struct mamori_entry_info **out, size_t *n)
{
    struct guard_call c;
    struct store_entry_row *rows = NULL;
    struct mamori_entry_info *info = NULL;
    size_t nrows = 0;
    int64_t uid = 0;
    int rc;

    if (!out || !n)
        return MAMORI_EINVAL;
    *out = NULL;
    *n = 0;
    if (!s)
        return MAMORI_ESESSION;
    rc = entry_prepare(s, NULL, NULL);
    if (rc != 0)
        return rc;
    rc = guard_begin(&c, s, OP_ENTRY_LIST, dataset);
    if (rc != 0)
        return rc;
    /* Operators see their granted datasets' entries; auditors all. */
    if (strcmp(s->user.role, "operator") == 0) {
        uid = s->user.id;
        if (c.has_ds) {
            rc = store_grant_get(s->m->store, c.ds.id, uid, NULL);
            if (rc == 0) {
                sess_detail(s, "dataset not granted to this user");
                snprintf(c.detail, sizeof c.detail, "not granted");
                rc = MAMORI_EDENIED;
            } else if (rc > 0) {
                rc = 0;
            }
        }
    }
    if (rc == 0)
        rc = store_entry_list(s->m->store, c.has_ds ? c.ds.id : 0, uid, &rows,
                              &nrows);
    if (rc == 0) {
        info = calloc(nrows ? nrows : 1, sizeof *info);
        if (!info)
            rc = MAMORI_ENOMEM;
    }
    for (size_t i = 0; rc == 0 && i < nrows; i++) {
        snprintf(info[i].id, sizeof info[i].id, "%s", rows[i].id);
        snprintf(info[i].dataset, sizeof info[i].dataset, "%s",
                 rows[i].dataset);
        snprintf(info[i].entered_by, sizeof info[i].entered_by, "%s",
                 rows[i].entered_by);
        info[i].created = rows[i].created;
        info[i].updated = rows[i].updated;
        info[i].expires = rows[i].expires;
        info[i].version = rows[i].version;
        info[i].mismatches = rows[i].mismatches;
    }
    c.count = rc == 0 ? (int64_t)nrows : 0;
    free(rows);
    rc = guard_end(&c, rc);
    if (rc != 0) {
        free(info);
        return rc;
    }
    *out = info;
    *n = nrows;
    return 0;
}
