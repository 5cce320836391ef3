/*
 * import.c - CSV import: a streaming reader (csv.c) feeds batches of rows;
 * worker threads validate them (vault_values_from_kv), look up their key
 * among the existing records (blind index, on the vault's reader
 * connections) and seal them (vault_prepare_new); the calling thread then
 * reports problems (every invalid value of a rejected row, not only its
 * first), drops duplicates and writes the records in file order,
 * all inside one guarded transaction (op import): all or nothing unless
 * the caller asks to skip invalid rows. A second keying (verify) is read in
 * step and compared field by field. Memory is bounded by the batch size,
 * the CSV limits and, for datasets with a key, 8 bytes per row of the
 * keyed-hash set that finds duplicates within the file.
 */
#include <assert.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <utf8proc.h>

#include "audit.h"
#include "crypto.h"
#include "csvread.h"
#include "guard.h"
#include "i18n.h"
#include "keys.h"
#include "store.h"
#include "text.h"
#include "vault.h"
#include "banned.h"

#define IMPORT_BATCH 1000
/* Bytes of the source's keyed fingerprint kept in the audit log. */
#define FINGERPRINT_LEN 16
#define IMPORT_MAX_THREADS MAMORI_READERS
#define IMPORT_GRAIN 16 /* rows a worker takes at a time */

const char *mamori_problem_kind_name(enum mamori_problem_kind kind)
{
    switch (kind) {
    /* English, as the API's "kind" names them; in the catalog for a front
     * end that shows them to a reader (_()). */
    case MAMORI_PROBLEM_INVALID:
        return N_("invalid");
    case MAMORI_PROBLEM_DUP_FILE:
        return N_("duplicate in file");
    case MAMORI_PROBLEM_DUP_RECORD:
        return N_("duplicate of a record");
    case MAMORI_PROBLEM_MISMATCH:
        return N_("mismatch");
    case MAMORI_PROBLEM_FORMAT:
        return N_("file format");
    }
    return "?";
}

/* ---- the source, hashed as it is read ---------------------------------- */

struct hsrc {
    const struct mamori_source *src;
    EVP_MD_CTX *md;
    uint64_t bytes;
};

static long hsrc_read(void *arg, void *buf, size_t len)
{
    struct hsrc *h = arg;
    long n = h->src->read(h->src->arg, buf, len);
    if (n > 0) {
        if ((size_t)n > len)
            return -1;
        if (h->md && EVP_DigestUpdate(h->md, buf, (size_t)n) != 1)
            return -1;
        h->bytes += (uint64_t)n;
    }
    return n;
}

/* ---- the keyed-hash set of the file's keys ------------------------------ */

struct keyset {
    uint64_t *slot; /* 0 = empty */
    size_t cap, n;
    struct crypto_hmac_key *key; /* random per import */
};

static int keyset_init(struct keyset *ks)
{
    uint8_t k[32];
    memset(ks, 0, sizeof *ks);
    crypto_random(k, sizeof k);
    ks->key = crypto_hmac_key_new(k, sizeof k);
    crypto_wipe(k, sizeof k);
    return ks->key ? 0 : MAMORI_ENOMEM;
}

static void keyset_release(struct keyset *ks)
{
    if (ks->slot) {
        crypto_wipe(ks->slot, ks->cap * sizeof *ks->slot);
        free(ks->slot);
    }
    crypto_hmac_key_free(ks->key);
    memset(ks, 0, sizeof *ks);
}

static int keyset_grow(struct keyset *ks)
{
    size_t cap = ks->cap ? ks->cap * 2 : 4096;
    uint64_t *s;
    if (cap > SIZE_MAX / sizeof *s)
        return MAMORI_ENOMEM;
    s = calloc(cap, sizeof *s);
    if (!s)
        return MAMORI_ENOMEM;
    for (size_t i = 0; i < ks->cap; i++) {
        uint64_t v = ks->slot[i];
        if (!v)
            continue;
        size_t j = (size_t)v & (cap - 1);
        while (s[j])
            j = (j + 1) & (cap - 1);
        s[j] = v;
    }
    if (ks->slot) {
        crypto_wipe(ks->slot, ks->cap * sizeof *ks->slot);
        free(ks->slot);
    }
    ks->slot = s;
    ks->cap = cap;
    return 0;
}

/* Adds v: 1 if it was there already, 0 if added, or an error. */
static int keyset_add(struct keyset *ks, uint64_t v)
{
    if (!v)
        v = 1;
    if ((ks->n + 1) * 2 > ks->cap) {
        int rc = keyset_grow(ks);
        if (rc != 0)
            return rc;
    }
    size_t j = (size_t)v & (ks->cap - 1);
    while (ks->slot[j]) {
        if (ks->slot[j] == v)
            return 1;
        j = (j + 1) & (ks->cap - 1);
    }
    ks->slot[j] = v;
    ks->n++;
    return 0;
}

/* ---- columns ------------------------------------------------------------ */

struct colmap {
    size_t n;
    int field[VAULT_MAX_FIELDS];      /* schema index of each column */
    char name[VAULT_MAX_FIELDS][256]; /* its header, trimmed, NFKC */
};

_Static_assert(VAULT_MAX_FIELDS <= UINT8_MAX,
               "a row's invalid values are counted in a uint8_t");

/* One row read, with its values copied (kv[i] is column i). */
struct irow {
    uint64_t line;
    size_t n;    /* values taken (at most the header's columns) */
    size_t ncsv; /* fields in the file's row */
    struct mamori_kv kv[VAULT_MAX_FIELDS];
    char *buf;
    size_t buflen;
    int shape; /* the field count differs from the header's */
    /* Filled by the workers. */
    int rc; /* a failure other than an invalid value */
    /* The invalid values, in column order: their columns and rules (only
     * a rejected row writes them; nbad 0 is a valid row). */
    uint8_t nbad;
    uint8_t bad_col[VAULT_MAX_FIELDS];
    const char *bad_rule[VAULT_MAX_FIELDS];
    int has_key;
    uint64_t dig;
    int dup_rec;
    int prepared;
    struct prepared prep;
};

struct importer;

struct worker {
    struct importer *im;
    struct store *store; /* for the duplicate lookups */
    pthread_t th;
    int started;
};

struct importer {
    mamori_sess *s;
    struct guard_call c;
    struct vault_ds *d;
    const struct mamori_import_opts *o;
    struct mamori_import_result *res;
    struct colmap cols, vcols;
    size_t nkeys;
    int64_t existing; /* records in the dataset before the import */
    /* The audit log's fingerprint of the source (import_fingerprint),
     * hex; "" if it could not be made. */
    char fingerprint[2 * FINGERPRINT_LEN + 1];
    struct keyset ks;

    struct irow *buf[2]; /* two batches of IMPORT_BATCH rows */
    struct irow *rows;   /* the batch the workers prepare */
    size_t nrows;
    int64_t now;
    int seal; /* workers seal valid rows (the import can still succeed) */
    pthread_mutex_t lock;
    size_t next;
    struct worker w[IMPORT_MAX_THREADS];
    size_t nw;

    int doomed;     /* nothing will be imported */
    int fatal;      /* an error that ends the import */
    int first_set;  /* the session detail names the first problem */
    uint64_t would; /* rows that would be imported */
};

static void report(struct importer *im, uint64_t line, const char *column,
                   enum mamori_problem_kind kind, const char *rule)
{
    struct mamori_problem p = {line, column ? column : "", kind, rule};
    if (!im->first_set) {
        im->first_set = 1;
        if (line && p.column[0])
            sess_detail(im->s, "import: line %llu, column %s: %s",
                        (unsigned long long)line, p.column, _(rule));
        else if (line)
            sess_detail(im->s, "import: line %llu: %s",
                        (unsigned long long)line, _(rule));
        else
            sess_detail(im->s, "import: %s", _(rule));
    }
    if (im->o && im->o->problem)
        im->o->problem(im->o->arg, &p);
}

/* Trims spaces (ASCII and U+3000) and applies NFKC; "" when the header is
 * not UTF-8. */
static void header_norm(const char *in, size_t len, char *out, size_t size)
{
    utf8proc_uint8_t *n = NULL;
    out[0] = '\0';
    if (!text_utf8_valid(in, len))
        return;
    /* NFKC, case folded (field names are lower case: "Name" and "ＮＡＭＥ"
     * are "name", as Excel users type them), without default-ignorable
     * characters (a second BOM, a zero-width space). */
    if (utf8proc_map((const utf8proc_uint8_t *)in, (utf8proc_ssize_t)len, &n,
                     UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT |
                         UTF8PROC_CASEFOLD | UTF8PROC_IGNORE) < 0)
        return;
    /* NFKC has made U+3000 a plain space. */
    const char *p = (const char *)n;
    size_t l = strlen(p);
    while (l && (p[l - 1] == ' ' || p[l - 1] == '\t'))
        l--;
    while (l && (*p == ' ' || *p == '\t')) {
        p++;
        l--;
    }
    if (l >= size)
        l = size - 1;
    memcpy(out, p, l);
    out[l] = '\0';
    free(n);
}

/* The field a (normalised) header names, itself or through --map: 1 and
 * *idx, or 0. */
static int header_field(struct importer *im, const char *name, size_t *idx)
{
    const char *want = name;

    for (size_t k = 0; im->o && k < im->o->nmap; k++) {
        char mc[256];
        const char *col = im->o->map[k].name;
        if (!col || !im->o->map[k].value)
            continue;
        header_norm(col, strlen(col), mc, sizeof mc);
        if (strcmp(mc, name) == 0) {
            want = im->o->map[k].value;
            break;
        }
    }
    return vault_field_find(im->d, want, idx) != NULL;
}

/* How a problem names header cell i: by its text only when that is a
 * well-formed field name (schema vocabulary, as vault_refusal_report does),
 * else by its number. A file without a header row has a record there. */
static const char *header_label(const struct colmap *cm, size_t i, char *buf,
                                size_t size)
{
    if (vault_field_name_ok(cm->name[i], strlen(cm->name[i])))
        return cm->name[i];
    snprintf(buf, size, "#%zu", i + 1);
    return buf;
}

/* The header row: each column to a field (by its name or --map). Every
 * problem is reported; 0 or MAMORI_EINVAL. */
static int map_header(struct importer *im, const struct csv_row *row,
                      struct colmap *cm, const char *which)
{
    int rc = 0;
    char rule[256];
    int used[VAULT_MAX_FIELDS] = {0}, found[VAULT_MAX_FIELDS];
    size_t idx, mapped = 0;

    memset(cm, 0, sizeof *cm);
    if (row->n > VAULT_MAX_FIELDS) {
        snprintf(rule, sizeof rule, _("%s: more than %d columns"), _(which),
                 VAULT_MAX_FIELDS);
        report(im, row->line, "", MAMORI_PROBLEM_FORMAT, rule);
        return MAMORI_EINVAL;
    }
    cm->n = row->n;
    for (size_t i = 0; i < row->n; i++) {
        cm->field[i] = -1;
        header_norm(row->field[i], row->len[i], cm->name[i],
                    sizeof cm->name[i]);
        /* Each column's field, looked up once. */
        found[i] = cm->name[i][0] && header_field(im, cm->name[i], &idx)
                       ? (int)idx
                       : -1;
        mapped += found[i] >= 0;
    }
    if (mapped == 0) {
        /* Most likely a record: say so once, naming no cell. */
        snprintf(rule, sizeof rule,
                 _("%s: no column is a field of the dataset (the first row "
                   "is not a header)"),
                 _(which));
        report(im, row->line, "", MAMORI_PROBLEM_FORMAT, rule);
        return MAMORI_EINVAL;
    }
    for (size_t i = 0; i < row->n; i++) {
        char colno[32];
        const char *label = header_label(cm, i, colno, sizeof colno);
        if (cm->name[i][0] == '\0') {
            snprintf(rule, sizeof rule, _("%s: empty column header"), _(which));
            report(im, row->line, label, MAMORI_PROBLEM_FORMAT, rule);
            rc = MAMORI_EINVAL;
            continue;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(cm->name[i], cm->name[j]) == 0) {
                snprintf(rule, sizeof rule, _("%s: column given twice"),
                         _(which));
                report(im, row->line, label, MAMORI_PROBLEM_FORMAT, rule);
                rc = MAMORI_EINVAL;
            }
        }
        if (found[i] < 0) {
            snprintf(rule, sizeof rule,
                     _("%s: unknown column (not a field of the dataset; map "
                       "it to one: --map COLUMN=FIELD, or in the import "
                       "screen)"),
                     _(which));
            report(im, row->line, label, MAMORI_PROBLEM_FORMAT, rule);
            rc = MAMORI_EINVAL;
            continue;
        }
        idx = (size_t)found[i];
        if (used[idx]) {
            snprintf(rule, sizeof rule, _("%s: a second column for field %s"),
                     _(which), im->d->fields[idx].name);
            report(im, row->line, label, MAMORI_PROBLEM_FORMAT, rule);
            rc = MAMORI_EINVAL;
            continue;
        }
        used[idx] = 1;
        cm->field[i] = (int)idx;
    }
    /* A map naming a column that is not there is a mistake too. */
    for (size_t k = 0; im->o && k < im->o->nmap; k++) {
        char mc[256];
        const char *col = im->o->map[k].name;
        size_t i;
        header_norm(col ? col : "", col ? strlen(col) : 0, mc, sizeof mc);
        for (i = 0; i < cm->n; i++)
            if (strcmp(mc, cm->name[i]) == 0)
                break;
        if (i == cm->n) {
            snprintf(rule, sizeof rule,
                     _("%s: a column map names a column that is not in the "
                       "header"),
                     _(which));
            report(im, row->line, mc, MAMORI_PROBLEM_FORMAT, rule);
            rc = MAMORI_EINVAL;
        } else if (!im->o->map[k].value ||
                   !vault_field_find(im->d, im->o->map[k].value, &idx)) {
            snprintf(rule, sizeof rule,
                     _("%s: a column map names a field the dataset does not "
                       "have"),
                     _(which));
            report(im, row->line, mc, MAMORI_PROBLEM_FORMAT, rule);
            rc = MAMORI_EINVAL;
        }
    }
    return rc;
}

/* Copies a CSV row into r (values owned by r). */
static int take_row(const struct colmap *cm, const struct vault_ds *d,
                    const struct csv_row *row, struct irow *r)
{
    size_t total = 0, n = row->n < cm->n ? row->n : cm->n;

    r->line = row->line;
    r->ncsv = row->n;
    r->shape = row->n != cm->n;
    r->n = 0;
    for (size_t i = 0; i < n; i++)
        total += row->len[i] + 1;
    if (total > r->buflen) {
        char *b = malloc(total);
        if (!b)
            return MAMORI_ENOMEM;
        if (r->buf) {
            crypto_wipe(r->buf, r->buflen);
            free(r->buf);
        }
        r->buf = b;
        r->buflen = total;
    }
    char *p = r->buf;
    for (size_t i = 0; i < n; i++) {
        memcpy(p, row->field[i], row->len[i] + 1);
        r->kv[i].name = d->fields[cm->field[i]].name;
        r->kv[i].value = p;
        p += row->len[i] + 1;
    }
    r->n = n;
    return 0;
}

static void row_reset(struct irow *r)
{
    if (r->prepared)
        free(r->prep.r.ct);
    r->prep.r.ct = NULL;
    r->prepared = 0;
    r->rc = 0;
    r->nbad = 0;
    r->has_key = 0;
    r->dup_rec = 0;
    r->dig = 0;
}

/* ---- the workers -------------------------------------------------------- */

/* The key of a row (search keys of its key fields): its keyed hash, and
 * whether a record with the same key exists. */
static int row_key(struct importer *im, struct store *st, struct irow *r,
                   const struct values *vs)
{
    struct crypto_part parts[2 * VAULT_MAX_FIELDS];
    char *keys[VAULT_MAX_FIELDS];
    uint32_t lens[VAULT_MAX_FIELDS];
    uint8_t mac[CRYPTO_MAC_LEN];
    size_t nkeys = 0;
    int rc = vault_key_of(im->d, vs, keys, &nkeys);

    if (rc != 0 || nkeys == 0)
        return rc; /* (an incomplete key identifies nothing) */
    for (size_t k = 0; k < nkeys; k++) {
        lens[k] = (uint32_t)strlen(keys[k]);
        parts[2 * k] = (struct crypto_part){&lens[k], sizeof lens[k]};
        parts[2 * k + 1] = (struct crypto_part){keys[k], lens[k]};
    }
    crypto_hmac_run(im->ks.key, parts, 2 * nkeys, mac);
    memcpy(&r->dig, mac, sizeof r->dig);
    crypto_wipe(mac, sizeof mac);
    r->has_key = 1;
    if (im->existing != 0)
        rc = vault_key_taken(im->s->m, st, im->d, keys, nkeys, NULL,
                             &r->dup_rec);
    vault_key_free(keys, nkeys);
    return rc;
}

/* A row refused for why (its first invalid value): that value and every
 * other invalid one, each by its column, in column order. Validation goes
 * on after each refusal, from the next column, so a good row is validated
 * once and only a bad row costs more. 0, or a failure other than an
 * invalid value. */
static int row_refusals(const struct importer *im, struct irow *r,
                        struct values *vs, int seen[VAULT_MAX_FIELDS],
                        struct refusal why)
{
    size_t at = 0;

    for (;;) {
        /* why.arg counts from kv[at] (1-based): it is always one of the
         * row's values, whose names the header gave. */
        size_t col = at + why.arg - 1;
        assert(why.arg >= 1 && col < r->n && r->nbad < VAULT_MAX_FIELDS);
        r->bad_col[r->nbad] = (uint8_t)col;
        r->bad_rule[r->nbad] = why.rule ? why.rule : N_("invalid value");
        r->nbad++;
        at = col + 1;
        if (at >= r->n)
            return 0;
        int rc =
            vault_values_from_kv(im->d, r->kv + at, r->n - at, vs, seen, &why);
        if (rc != MAMORI_EINVAL)
            return rc;
    }
}

static void prepare_row(struct importer *im, struct store *st, struct irow *r)
{
    struct values vs;
    int seen[VAULT_MAX_FIELDS] = {0};
    struct refusal why = {-1, 0, NULL};
    int rc;

    memset(&vs, 0, sizeof vs);
    if (r->shape)
        return; /* reported as it is */
    rc = vault_values_from_kv(im->d, r->kv, r->n, &vs, seen, &why);
    if (rc == MAMORI_EINVAL) {
        r->rc = row_refusals(im, r, &vs, seen, why);
        goto out;
    }
    if (rc == 0 && im->nkeys)
        rc = row_key(im, st, r, &vs);
    if (rc == 0 && im->seal && !r->dup_rec) {
        rc = vault_prepare_new(im->s->m, im->d, &vs, im->now, &r->prep);
        r->prepared = rc == 0;
        if (rc != 0) {
            free(r->prep.r.ct);
            r->prep.r.ct = NULL;
        }
    }
    r->rc = rc;
out:
    vault_values_wipe(&vs, VAULT_MAX_FIELDS);
}

static void *work(void *arg)
{
    struct worker *w = arg;
    struct importer *im = w->im;
    for (;;) {
        pthread_mutex_lock(&im->lock);
        size_t lo = im->next;
        im->next += IMPORT_GRAIN;
        pthread_mutex_unlock(&im->lock);
        if (lo >= im->nrows)
            return NULL;
        size_t hi =
            lo + IMPORT_GRAIN < im->nrows ? lo + IMPORT_GRAIN : im->nrows;
        for (size_t i = lo; i < hi; i++)
            prepare_row(im, w->store, &im->rows[i]);
    }
}

/* Starts the workers on the batch in im->rows: they validate, key and
 * seal it while the calling thread writes the batch before. */
static void prepare_start(struct importer *im)
{
    im->next = 0;
    im->seal = !im->doomed;
    im->now = mamori_now();
    for (size_t i = 0; i < im->nw; i++)
        im->w[i].started =
            pthread_create(&im->w[i].th, NULL, work, &im->w[i]) == 0;
}

/* Waits for the workers; with none running, prepares the batch here. */
static void prepare_wait(struct importer *im)
{
    int any = 0;
    for (size_t i = 0; i < im->nw; i++)
        if (im->w[i].started) {
            pthread_join(im->w[i].th, NULL);
            im->w[i].started = 0;
            any = 1;
        }
    if (!any)
        work(&im->w[0]);
}

/* ---- writing a batch ---------------------------------------------------- */

static int commit_batch(struct importer *im, struct irow *rows, size_t nrows)
{
    struct mamori_import_result *res = im->res;
    char rule[160];

    for (size_t i = 0; i < nrows; i++) {
        struct irow *r = &rows[i];
        int rc;
        if (r->rc != 0)
            return r->rc;
        if (r->shape) {
            res->rejected++;
            snprintf(rule, sizeof rule,
                     _("%zu fields, but the header has %zu columns"), r->ncsv,
                     im->cols.n);
            report(im, r->line, "", MAMORI_PROBLEM_INVALID, rule);
            if (!im->o->skip_invalid)
                im->doomed = 1;
            continue;
        }
        if (r->nbad) {
            res->rejected++;
            for (size_t k = 0; k < r->nbad; k++)
                report(im, r->line, im->cols.name[r->bad_col[k]],
                       MAMORI_PROBLEM_INVALID, r->bad_rule[k]);
            if (!im->o->skip_invalid)
                im->doomed = 1;
            continue;
        }
        if (r->has_key) {
            rc = keyset_add(&im->ks, r->dig);
            if (rc < 0)
                return rc;
            if (rc == 1) {
                res->duplicates++;
                report(im, r->line, "", MAMORI_PROBLEM_DUP_FILE,
                       N_("key fields equal those of an earlier row"));
                continue;
            }
        }
        if (r->dup_rec) {
            res->duplicates++;
            report(im, r->line, "", MAMORI_PROBLEM_DUP_RECORD,
                   N_("key fields equal those of a record in the dataset"));
            continue;
        }
        im->would++;
        if (im->doomed || !r->prepared)
            continue;
        char id[MAMORI_ID_LEN + 1];
        rc = vault_write_new(im->s->m, im->d, &r->prep);
        vault_rid_format(r->prep.r.id, id);
        if (rc == 0)
            rc = guard_add_id(&im->c, id);
        if (rc != 0)
            return rc;
        res->imported++;
    }
    return 0;
}

/* ---- verify ------------------------------------------------------------- */

/* The value of field fi in a row as compared: canonical when valid, else
 * as typed (trimmed); "" when absent. malloc'd. */
static char *cmp_value(const struct vault_ds *d, size_t fi,
                       const struct colmap *cm, const struct csv_row *row)
{
    const char *v = "";
    size_t len = 0;
    char *out = NULL;
    const char *rule;

    for (size_t i = 0; i < cm->n && i < row->n; i++) {
        if (cm->field[i] == (int)fi) {
            v = row->field[i];
            len = row->len[i];
            break;
        }
    }
    if (len && text_canonical(d->fields[fi].type, v, len, &out, &rule) == 0)
        return out;
    crypto_wipe_free_str(out);
    out = malloc(len + 1);
    if (out) {
        memcpy(out, v, len);
        out[len] = '\0';
    }
    return out;
}

static int compare_rows(struct importer *im, const struct csv_row *a,
                        const struct csv_row *b)
{
    int differ = 0;
    char rule[160];

    for (size_t fi = 0; fi < im->d->nfields; fi++) {
        int in_a = 0, in_b = 0;
        const char *col = im->d->fields[fi].name;
        for (size_t i = 0; i < im->cols.n; i++)
            if (im->cols.field[i] == (int)fi) {
                in_a = 1;
                col = im->cols.name[i];
            }
        for (size_t i = 0; i < im->vcols.n; i++)
            in_b |= im->vcols.field[i] == (int)fi;
        if (!in_a && !in_b)
            continue;
        char *va = cmp_value(im->d, fi, &im->cols, a);
        char *vb = cmp_value(im->d, fi, &im->vcols, b);
        if (!va || !vb) {
            crypto_wipe_free_str(va);
            crypto_wipe_free_str(vb);
            return MAMORI_ENOMEM;
        }
        if (strcmp(va, vb) != 0) {
            snprintf(rule, sizeof rule,
                     _("differs from the verify file (its line %llu)"),
                     (unsigned long long)b->line);
            report(im, a->line, col, MAMORI_PROBLEM_MISMATCH, rule);
            differ = 1;
        }
        crypto_wipe_free_str(va);
        crypto_wipe_free_str(vb);
    }
    if (differ) {
        im->res->mismatches++;
        im->doomed = 1;
    }
    return 0;
}

/* ---- the import --------------------------------------------------------- */

static int csv_problem(struct importer *im, struct csv_reader *rd,
                       const struct colmap *cm, int rc, const char *which)
{
    const struct csv_error *e = csv_reader_error(rd);
    char rule[320], colno[32];
    const char *col = "";
    if (e->column >= 1 && e->column <= cm->n && cm->name[e->column - 1][0])
        col = cm->name[e->column - 1];
    else if (e->column) {
        snprintf(colno, sizeof colno, "#%zu", e->column);
        col = colno;
    }
    snprintf(rule, sizeof rule, "%s%s", which[0] ? _(which) : "",
             e->what ? _(e->what) : _("unreadable"));
    report(im, e->line, col, MAMORI_PROBLEM_FORMAT, rule);
    return rc;
}

static enum csv_encoding to_csv_enc(enum mamori_encoding e)
{
    return e == MAMORI_ENC_UTF8    ? CSV_ENC_UTF8
           : e == MAMORI_ENC_CP932 ? CSV_ENC_CP932
                                   : CSV_ENC_AUTO;
}

static enum mamori_encoding from_csv_enc(enum csv_encoding e)
{
    return e == CSV_ENC_UTF8    ? MAMORI_ENC_UTF8
           : e == CSV_ENC_CP932 ? MAMORI_ENC_CP932
                                : MAMORI_ENC_AUTO;
}

/* The next row that holds a value. Excel writes ",,,," for a row whose
 * cells were formatted but left empty, often many of them at the end of a
 * sheet: like a blank line, such a row is no record. */
static int next_row(struct csv_reader *rd, struct csv_row *row)
{
    for (;;) {
        int rc = csv_reader_next(rd, row);
        if (rc != 0)
            return rc;
        for (size_t i = 0; i < row->n; i++)
            if (row->len[i])
                return 0;
    }
}

/* Reads, checks and writes everything inside the guarded call. */
static int run(struct importer *im, struct csv_reader *rd,
               struct csv_reader *vrd, struct hsrc *hs)
{
    struct csv_row row, vrow;
    int rc, vrc, eof = 0, vend = 0, fewer = 0;
    const char *vw = N_("verify file: ");

    rc = next_row(rd, &row);
    if (rc == 1) {
        report(im, 0, "", MAMORI_PROBLEM_FORMAT, N_("the file is empty"));
        return MAMORI_EINVAL;
    }
    if (rc != 0)
        return csv_problem(im, rd, &im->cols, rc, "");
    rc = map_header(im, &row, &im->cols, N_("header"));
    if (vrd) {
        int r2 = next_row(vrd, &vrow);
        if (r2 == 1) {
            report(im, 0, "", MAMORI_PROBLEM_FORMAT,
                   N_("verify file: the file is empty"));
            r2 = MAMORI_EINVAL;
        } else if (r2 != 0) {
            r2 = csv_problem(im, vrd, &im->vcols, r2, vw);
        } else {
            r2 = map_header(im, &vrow, &im->vcols, N_("verify file header"));
        }
        if (rc == 0)
            rc = r2;
    }
    if (rc != 0)
        return rc;

    /* A pipeline of two batches: the workers prepare batch k+1 while this
     * thread writes batch k. With a verify file, each batch is written
     * before the next is read, so that the problems come in line order. */
    struct irow *prev = NULL;
    size_t nprev = 0;
    int cur = 0;
    while (!eof) {
        im->rows = im->buf[cur];
        im->nrows = 0;
        while (im->nrows < IMPORT_BATCH) {
            rc = next_row(rd, &row);
            if (rc < 0)
                return csv_problem(im, rd, &im->cols, rc, "");
            if (vrd && !vend) {
                vrc = next_row(vrd, &vrow);
                if (vrc < 0)
                    return csv_problem(im, vrd, &im->vcols, vrc, vw);
                vend = vrc == 1;
            }
            if (rc == 1) {
                eof = 1;
                if (vrd && !vend) {
                    report(im, vrow.line, "", MAMORI_PROBLEM_MISMATCH,
                           N_("the verify file has more rows"));
                    im->res->mismatches++;
                    im->doomed = 1;
                }
                break;
            }
            im->res->rows++;
            if (vrd && vend) {
                if (!fewer) {
                    report(im, row.line, "", MAMORI_PROBLEM_MISMATCH,
                           N_("the verify file has fewer rows"));
                    im->res->mismatches++;
                    im->doomed = 1;
                    fewer = 1;
                }
            } else if (vrd) {
                rc = compare_rows(im, &row, &vrow);
                if (rc != 0)
                    return rc;
            }
            struct irow *r = &im->rows[im->nrows];
            row_reset(r);
            rc = take_row(&im->cols, im->d, &row, r);
            if (rc != 0)
                return rc;
            /* Entering a My Number is handling it: only for handlers. */
            if (!im->c.handler && !r->shape) {
                rc = vault_mynumber_check(im->s, &im->c, im->d, r->kv, r->n,
                                          r->line, VAULT_MN_LINE);
                if (rc != 0) {
                    const char *col = "";
                    for (size_t i = 0; i < r->n; i++) {
                        size_t fi = (size_t)im->cols.field[i];
                        if (im->d->fields[fi].type == FT_MYNUMBER &&
                            r->kv[i].value[0])
                            col = im->cols.name[i];
                    }
                    im->first_set = 1; /* keep the My Number detail */
                    report(im, r->line, col, MAMORI_PROBLEM_INVALID,
                           N_("only the dataset's My Number handlers may "
                              "enter My Numbers"));
                    return rc;
                }
            }
            im->nrows++;
        }
        if (im->nrows)
            prepare_start(im);
        rc = prev ? commit_batch(im, prev, nprev) : 0;
        if (im->nrows)
            prepare_wait(im);
        if (rc != 0)
            return rc;
        if (prev && im->o->progress)
            im->o->progress(im->o->arg, hs->bytes, im->res->rows);
        prev = im->nrows ? im->rows : NULL;
        nprev = im->nrows;
        cur ^= 1;
        if (vrd && prev) {
            rc = commit_batch(im, prev, nprev);
            if (rc != 0)
                return rc;
            prev = NULL;
        }
    }
    rc = prev ? commit_batch(im, prev, nprev) : 0;
    if (rc == 0 && im->o->progress)
        im->o->progress(im->o->arg, hs->bytes, im->res->rows);
    return rc;
}

static int open_workers(struct importer *im)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t want = cpus > 1 ? (size_t)cpus : 1;
    if (want > IMPORT_MAX_THREADS)
        want = IMPORT_MAX_THREADS;
    im->nw = 0;
    /* The workers look keys up on reader connections (the calling thread
     * holds the vault lock, as handle_reader wants), never on the writer's,
     * which writes the batch before meanwhile. */
    for (size_t i = 0; i < want; i++) {
        int rc = im->nkeys && im->existing
                     ? handle_reader(im->s->m, i, &im->w[i].store)
                     : 0;
        if (rc != 0)
            return rc;
        im->w[i].im = im;
        im->nw++;
    }
    return 0;
}

/* The source's fingerprint for the audit log: HMAC-SHA-256 of its SHA-256
 * under a key of the vault (FILE_LABEL), its first FINGERPRINT_LEN bytes in
 * hex. The plain SHA-256 goes to the importer only (res->sha256): of a
 * file holding one or two My Numbers it would give the numbers back to
 * anyone who tries them all, and the log must hold neither a My Number nor
 * a hash of one. Two imports of the same file still show the same
 * fingerprint. No call computes it for a file given: that would be the
 * same oracle again. */
#define FILE_LABEL "mamori-import-file"

static int import_fingerprint(struct mamori *m, const uint8_t sha256[32],
                              char out[2 * FINGERPRINT_LEN + 1])
{
    uint8_t key[CRYPTO_KEY_LEN], mac[CRYPTO_MAC_LEN];
    struct crypto_part part = {sha256, 32};
    int rc = keys_derive(m->keys, FILE_LABEL, key);

    out[0] = '\0';
    if (rc != 0)
        return rc;
    crypto_hmac(key, sizeof key, &part, 1, mac);
    crypto_wipe(key, sizeof key);
    crypto_hex(mac, FINGERPRINT_LEN, out);
    return 0;
}

int mamori_encoding_parse(const char *name, enum mamori_encoding *out)
{
    if (!name || strcasecmp(name, "auto") == 0)
        *out = MAMORI_ENC_AUTO;
    else if (strcasecmp(name, "utf-8") == 0 || strcasecmp(name, "utf8") == 0)
        *out = MAMORI_ENC_UTF8;
    else if (strcasecmp(name, "cp932") == 0 || strcasecmp(name, "sjis") == 0 ||
             strcasecmp(name, "shift_jis") == 0 ||
             strcasecmp(name, "windows-31j") == 0)
        *out = MAMORI_ENC_CP932;
    else
        return MAMORI_EINVAL;
    return 0;
}

static void summary(const struct importer *im, char *out, size_t size)
{
    const struct mamori_import_result *r = im->res;
    snprintf(out, size, "rows %llu ok %llu bad %llu dup %llu%s file %s",
             (unsigned long long)r->rows, (unsigned long long)r->imported,
             (unsigned long long)r->rejected, (unsigned long long)r->duplicates,
             r->mismatches ? " mismatch" : "",
             im->fingerprint[0] ? im->fingerprint : "-");
}

int mamori_import(mamori_sess *s, const char *dataset,
                  const struct mamori_source *src,
                  const struct mamori_source *verify,
                  const struct mamori_import_opts *o,
                  struct mamori_import_result *res)
{
    static const struct mamori_import_opts none;
    struct importer *im = NULL;
    struct csv_reader *rd = NULL, *vrd = NULL;
    struct hsrc hs = {0}, vhs = {0};
    int rc, begun = 0, mutex = 0;

    if (!res)
        return MAMORI_EINVAL;
    memset(res, 0, sizeof *res);
    if (!o)
        o = &none;
    if (!s || !src || !src->read || (verify && !verify->read) ||
        (o->nmap && !o->map))
        return MAMORI_EINVAL;
    im = calloc(1, sizeof *im);
    if (!im)
        return MAMORI_ENOMEM;
    im->s = s;
    im->o = o;
    im->res = res;
    res->encoding = o->encoding;
    rc = guard_begin(&im->c, s, OP_IMPORT, dataset);
    if (rc != 0) {
        free(im);
        return rc;
    }
    begun = 1;
    rc = vault_ds_load(s->m, &im->c.ds, &im->d);
    if (rc != 0)
        goto out;
    for (size_t i = 0; i < im->d->nfields; i++)
        if (im->d->fields[i].key)
            im->nkeys++;
    if (im->nkeys) {
        rc = store_record_count(s->m->store, im->d->id, &im->existing);
        if (rc == 0)
            rc = keyset_init(&im->ks);
        if (rc != 0)
            goto out;
    }
    im->buf[0] = calloc(IMPORT_BATCH, sizeof *im->buf[0]);
    im->buf[1] = calloc(IMPORT_BATCH, sizeof *im->buf[1]);
    hs.md = EVP_MD_CTX_new();
    if (!im->buf[0] || !im->buf[1] || !hs.md ||
        EVP_DigestInit_ex(hs.md, EVP_sha256(), NULL) != 1) {
        rc = MAMORI_ENOMEM;
        goto out;
    }
    pthread_mutex_init(&im->lock, NULL);
    mutex = 1;
    rc = open_workers(im);
    if (rc != 0)
        goto out;
    hs.src = src;
    rc = csv_reader_new(hsrc_read, &hs, to_csv_enc(o->encoding), NULL, &rd);
    if (rc == 0 && verify) {
        vhs.src = verify;
        rc = csv_reader_new(hsrc_read, &vhs, to_csv_enc(o->encoding), NULL,
                            &vrd);
    }
    if (rc == 0)
        rc = run(im, rd, vrd, &hs);
    if (rc == 0) {
        /* The rest of the source still counts toward its SHA-256. */
        unsigned char tail[4096];
        long n;
        while ((n = hsrc_read(&hs, tail, sizeof tail)) > 0)
            ;
        if (n < 0)
            rc = MAMORI_EIO;
    }
out:
    if (hs.md) {
        unsigned char dg[32];
        unsigned int dl = 0;
        if (EVP_DigestFinal_ex(hs.md, dg, &dl) == 1 && dl == 32) {
            crypto_hex(dg, sizeof dg, res->sha256);
            (void)import_fingerprint(s->m, dg, im->fingerprint);
        }
        EVP_MD_CTX_free(hs.md);
    }
    if (rd)
        res->encoding = from_csv_enc(csv_reader_encoding(rd));
    if (rc == 0 && (res->mismatches || im->doomed)) {
        /* The first problem, then the count. */
        char first[sizeof s->errdetail];
        snprintf(first, sizeof first, "%s", s->errdetail);
        rc = res->mismatches ? MAMORI_EMISMATCH : MAMORI_EINVAL;
        if (res->mismatches)
            sess_detail(s,
                        "%s (%llu rows differ from the verify file; "
                        "nothing imported)",
                        first, (unsigned long long)res->mismatches);
        else
            sess_detail(s, "%s (%llu rows rejected; nothing imported)", first,
                        (unsigned long long)res->rejected);
    }
    if (rc != 0)
        res->imported = 0;
    if (begun) {
        char sum[128];
        summary(im, sum, sizeof sum);
        im->c.count = (int64_t)res->imported;
        if (rc == 0 && im->c.parts) {
            /* The ids went out in parts whose last detail the gate writes
             * ("part N, M in all"): the summary gets an entry of its own,
             * in the same transaction. */
            struct store_audit_row row;
            guard_event_row(&row, s->user.name, s->device, OP_IMPORT, "ok",
                            sum);
            snprintf(row.dataset, sizeof row.dataset, "%s", im->c.ds.name);
            row.count = (int64_t)res->imported;
            if (audit_append(s->m, &row) != 0)
                rc = MAMORI_EAUDIT;
        }
        if (rc != MAMORI_EDENIED) /* else it names the My Number rule */
            snprintf(im->c.detail, sizeof im->c.detail, "%s", sum);
        if (rc != 0 && im->c.ids) {
            /* Nothing was added: the entry names no records. */
            im->c.ids[0] = '\0';
            im->c.ids_len = 0;
            im->c.ids_count = 0;
        }
        char keep[sizeof s->errdetail];
        snprintf(keep, sizeof keep, "%s", s->errdetail);
        rc = guard_end(&im->c, rc);
        if (rc != MAMORI_EAUDIT && keep[0])
            snprintf(s->errdetail, sizeof s->errdetail, "%s", keep);
        if (rc != 0)
            res->imported = 0;
    }
    csv_reader_free(rd);
    csv_reader_free(vrd);
    for (size_t b = 0; b < 2; b++) {
        struct irow *rows = im->buf[b];
        for (size_t i = 0; rows && i < IMPORT_BATCH; i++) {
            row_reset(&rows[i]);
            if (rows[i].buf) {
                crypto_wipe(rows[i].buf, rows[i].buflen);
                free(rows[i].buf);
            }
        }
        free(rows);
    }
    if (mutex)
        pthread_mutex_destroy(&im->lock);
    keyset_release(&im->ks);
    free(im);
    return rc;
}
