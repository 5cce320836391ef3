/*
 * dataset.c - datasets: definition checks, the schema text kept in the
 * store, create, list; grants (with the My Number handler flag), revoking
 * and listing them.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "crypto.h"
#include "guard.h"
#include "i18n.h"
#include "keys.h"
#include "store.h"
#include "text.h"
#include "vault.h"
#include "banned.h"

/* ---- schema text ------------------------------------------------------- */

int vault_field_name_ok(const char *s, size_t n)
{
    if (n == 0 || n > 63 || !(s[0] >= 'a' && s[0] <= 'z'))
        return 0;
    if ((n == 2 && memcmp(s, "id", 2) == 0) ||
        (n == 7 && memcmp(s, "version", 7) == 0))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return 1;
}

int vault_schema_format(const struct vault_ds *d, char *out, size_t size)
{
    size_t len = 0;
    int n = snprintf(out, size, "v1;bits=%d", d->index_bits);
    if (n < 0 || (size_t)n >= size)
        return MAMORI_ETOOBIG;
    len = (size_t)n;
    for (size_t i = 0; i < d->nfields; i++) {
        const struct vault_field *f = &d->fields[i];
        n = snprintf(out + len, size - len, ";%s:%s%s%s", f->name,
                     text_type_name(f->type),
                     f->searchable || f->key ? ":s" : "", f->key ? ":k" : "");
        if (n < 0 || (size_t)n >= size - len)
            return MAMORI_ETOOBIG;
        len += (size_t)n;
    }
    return 0;
}

int vault_schema_parse(const char *text, struct vault_ds *d)
{
    const char *p = text;
    char type[16];

    d->nfields = 0;
    if (strncmp(p, "v1;bits=", 8) != 0)
        return MAMORI_EINVAL;
    p += 8;
    d->index_bits = 0;
    while (*p >= '0' && *p <= '9' && d->index_bits < 100)
        d->index_bits = d->index_bits * 10 + (*p++ - '0');
    if (d->index_bits < 1 || d->index_bits > 32)
        return MAMORI_EINVAL;
    while (*p == ';') {
        struct vault_field *f;
        const char *name = ++p, *colon = strchr(p, ':');
        if (!colon || d->nfields >= VAULT_MAX_FIELDS ||
            !vault_field_name_ok(name, (size_t)(colon - name)))
            return MAMORI_EINVAL;
        f = &d->fields[d->nfields];
        memset(f, 0, sizeof *f);
        memcpy(f->name, name, (size_t)(colon - name));
        p = colon + 1;
        size_t tl = strcspn(p, ":;");
        if (tl == 0 || tl >= sizeof type)
            return MAMORI_EINVAL;
        memcpy(type, p, tl);
        type[tl] = '\0';
        if (text_type_parse(type, &f->type) != 0)
            return MAMORI_EINVAL;
        p += tl;
        if (strncmp(p, ":s", 2) == 0) {
            f->searchable = 1;
            p += 2;
            if (strncmp(p, ":k", 2) == 0) {
                f->key = 1;
                p += 2;
            }
        }
        d->nfields++;
    }
    return *p == '\0' && d->nfields > 0 ? 0 : MAMORI_EINVAL;
}

/* ---- datasets ---------------------------------------------------------- */

static int utf8_text_ok(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n >= max || !text_utf8_valid(s, n))
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

static int dataset_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 63)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9') ||
                 (i > 0 && (c == '-' || c == '_' || c == '.'));
        if (!ok)
            return 0;
    }
    return 1;
}

static int dataset_def_check(mamori_sess *s,
                             const struct mamori_dataset_def *def,
                             struct vault_ds *d, char ends[11])
{
    if (!dataset_name_ok(def->name)) {
        sess_detail(s, "dataset name: 1-63 characters of A-Z a-z 0-9 - _ .");
        return MAMORI_EINVAL;
    }
    if (def->client && !text_utf8_valid(def->client, strlen(def->client))) {
        sess_detail(s, "client: not valid UTF-8");
        return MAMORI_EINVAL;
    }
    if (!utf8_text_ok(def->client, sizeof((struct store_dataset *)0)->client)) {
        sess_detail(s, "client: required, up to 255 bytes of text");
        return MAMORI_EINVAL;
    }
    if (def->purpose && !text_utf8_valid(def->purpose, strlen(def->purpose))) {
        sess_detail(s, "purpose: not valid UTF-8");
        return MAMORI_EINVAL;
    }
    if (!utf8_text_ok(def->purpose,
                      sizeof((struct store_dataset *)0)->purpose)) {
        sess_detail(s, "purpose: required, up to 511 bytes of text");
        return MAMORI_EINVAL;
    }
    ends[0] = '\0';
    if (def->ends && *def->ends) {
        char *canon = NULL;
        const char *rule = NULL;
        if (text_canonical(FT_DATE, def->ends, strlen(def->ends), &canon,
                           &rule) != 0) {
            sess_detail(s, "ends: %s", rule ? _(rule) : _("not a date"));
            free(canon);
            return MAMORI_EINVAL;
        }
        snprintf(ends, 11, "%s", canon);
        free(canon);
    }
    if (def->nfields == 0 || def->nfields > VAULT_MAX_FIELDS) {
        sess_detail(s, "fields: between 1 and %d", VAULT_MAX_FIELDS);
        return MAMORI_EINVAL;
    }
    d->nfields = def->nfields;
    d->index_bits = VAULT_INDEX_BITS_DEFAULT;
    for (size_t i = 0; i < def->nfields; i++) {
        const struct mamori_field_def *fd = &def->fields[i];
        struct vault_field *f = &d->fields[i];
        if (fd->name &&
            (strcmp(fd->name, "id") == 0 || strcmp(fd->name, "version") == 0)) {
            sess_detail(s, "field %zu: the name %s is reserved", i + 1,
                        fd->name);
            return MAMORI_EINVAL;
        }
        if (!fd->name || !vault_field_name_ok(fd->name, strlen(fd->name))) {
            sess_detail(s,
                        "field %zu: name must be a-z, 0-9, _ (max 63), "
                        "starting with a letter",
                        i + 1);
            return MAMORI_EINVAL;
        }
        if (!fd->type || text_type_parse(fd->type, &f->type) != 0) {
            sess_detail(s, "field %s: unknown type", fd->name);
            return MAMORI_EINVAL;
        }
        snprintf(f->name, sizeof f->name, "%s", fd->name);
        f->key = fd->key != 0;
        f->searchable = fd->searchable != 0 || f->key;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(d->fields[j].name, f->name) == 0) {
                sess_detail(s, "field %s: given twice", f->name);
                return MAMORI_EINVAL;
            }
        }
    }
    return 0;
}

int mamori_dataset_create(mamori_sess *s, const struct mamori_dataset_def *def)
{
    struct guard_call c;
    struct store_dataset row;
    struct vault_ds *d = NULL;
    const uint8_t *key;
    int rc;

    rc = guard_begin(&c, s, OP_DATASET_CREATE, NULL);
    if (rc != 0)
        return rc;
    d = calloc(1, sizeof *d);
    if (!d) {
        rc = MAMORI_ENOMEM;
        goto out;
    }
    memset(&row, 0, sizeof row);
    rc = dataset_def_check(s, def, d, row.ends);
    if (rc != 0)
        goto out;
    crypto_uuid(row.uuid);
    snprintf(row.name, sizeof row.name, "%s", def->name);
    snprintf(row.client, sizeof row.client, "%s", def->client);
    snprintf(row.purpose, sizeof row.purpose, "%s", def->purpose);
    snprintf(row.state, sizeof row.state, "active");
    row.created = mamori_now();
    row.require_reason = def->require_reason != 0;
    rc = vault_schema_format(d, row.schema, sizeof row.schema);
    if (rc != 0) {
        sess_detail(s, "fields: schema too long");
        goto out;
    }
    rc = store_dataset_add(s->m->store, &row);
    if (rc == MAMORI_EEXIST) {
        sess_detail(s, "dataset name already taken");
        goto out;
    }
    if (rc != 0)
        goto out;
    /* Keys are made before the transaction commits; if it does not, they
     * belong to a dataset uuid nobody refers to. */
    rc = keys_dataset_key(s->m->keys, row.uuid, 0, 1, &key);
    if (rc == 0)
        rc = keys_dataset_key(s->m->keys, row.uuid, 1, 1, &key);
    c.has_ds = 1;
    c.ds = row;
    c.count = (int64_t)d->nfields;
    if (row.require_reason)
        snprintf(c.detail, sizeof c.detail, "reason required for reads");
out:
    free(d);
    return guard_end(&c, rc);
}

int mamori_dataset_list(mamori_sess *s, struct mamori_dataset_info **out,
                        size_t *n)
{
    struct guard_call c;
    struct store_dataset *rows = NULL;
    struct mamori_dataset_info *info = NULL;
    size_t k = 0, used = 0;
    int rc;

    *out = NULL;
    *n = 0;
    rc = guard_begin(&c, s, OP_DATASET_LIST, NULL);
    if (rc != 0)
        return rc;
    rc = store_dataset_list(s->m->store, &rows, &k);
    if (rc != 0)
        goto out;
    info = calloc(k ? k : 1, sizeof *info);
    if (!info) {
        rc = MAMORI_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < k; i++) {
        struct mamori_dataset_info *di = &info[used];
        struct vault_ds d;
        if (strcmp(s->user.role, "operator") == 0 ||
            strcmp(s->user.role, "viewer") == 0) {
            rc = store_grant_check(s->m->store, rows[i].id, s->user.id);
            if (rc < 0)
                goto out;
            if (rc == 0)
                continue;
        }
        memset(&d, 0, sizeof d);
        rc = vault_schema_parse(rows[i].schema, &d);
        if (rc != 0)
            goto out;
        di->fields = calloc(d.nfields, sizeof *di->fields);
        if (!di->fields) {
            rc = MAMORI_ENOMEM;
            goto out;
        }
        used++;
        di->nfields = d.nfields;
        for (size_t j = 0; j < d.nfields; j++) {
            snprintf(di->fields[j].name, sizeof di->fields[j].name, "%s",
                     d.fields[j].name);
            snprintf(di->fields[j].type, sizeof di->fields[j].type, "%s",
                     text_type_name(d.fields[j].type));
            di->fields[j].searchable = d.fields[j].searchable;
            di->fields[j].key = d.fields[j].key;
        }
        snprintf(di->name, sizeof di->name, "%s", rows[i].name);
        snprintf(di->client, sizeof di->client, "%s", rows[i].client);
        snprintf(di->purpose, sizeof di->purpose, "%s", rows[i].purpose);
        snprintf(di->ends, sizeof di->ends, "%s", rows[i].ends);
        snprintf(di->state, sizeof di->state, "%s", rows[i].state);
        di->created = rows[i].created;
        di->require_reason = rows[i].require_reason;
        rc = store_record_count(s->m->store, rows[i].id, &di->records);
        if (rc != 0)
            goto out;
    }
    c.count = (int64_t)used;
    rc = 0;
out:
    free(rows);
    rc = guard_end(&c, rc);
    if (rc != 0) {
        mamori_dataset_list_free(info, used);
        return rc;
    }
    *out = info;
    *n = used;
    return 0;
}

void mamori_dataset_list_free(struct mamori_dataset_info *list, size_t n)
{
    if (!list)
        return;
    for (size_t i = 0; i < n; i++)
        free(list[i].fields);
    free(list);
}

/* The user named in a grant operation; MAMORI_ENOTFOUND with detail. */
static int grant_user(mamori_sess *s, const char *name, struct store_user *u)
{
    int rc;

    memset(u, 0, sizeof *u);
    rc = name && *name && strlen(name) < sizeof u->name
             ? store_user_get(s->m->store, name, u)
             : MAMORI_ENOTFOUND;
    auth_user_wipe(u);
    if (rc == MAMORI_ENOTFOUND)
        sess_detail(s, "no user of that name");
    return rc;
}

int mamori_dataset_grant_flags(mamori_sess *s, const char *dataset,
                               const char *user, unsigned flags)
{
    struct guard_call c;
    struct store_user u;
    int rc = guard_begin(&c, s, OP_DATASET_GRANT, dataset);
    if (rc != 0)
        return rc;
    rc = grant_user(s, user, &u);
    if (rc == 0 && (flags & ~MAMORI_GRANT_HANDLER) != 0) {
        sess_detail(s, "grant: unknown flags");
        rc = MAMORI_EINVAL;
    } else if (rc == 0 && strcmp(u.role, "operator") != 0 &&
               strcmp(u.role, "viewer") != 0) {
        sess_detail(s, "only operators and viewers are granted datasets");
        rc = MAMORI_EINVAL;
    } else if (rc == 0 && (flags & MAMORI_GRANT_HANDLER) &&
               strcmp(u.role, "operator") != 0) {
        sess_detail(s, "only operators can be My Number handlers");
        rc = MAMORI_EINVAL;
    } else if (rc == 0) {
        unsigned had = 0;
        rc = store_grant_get(s->m->store, c.ds.id, u.id, &had);
        if (rc >= 0)
            rc = store_grant_set(
                s->m->store, c.ds.id, u.id,
                (flags & MAMORI_GRANT_HANDLER) ? STORE_GRANT_HANDLER : 0);
        snprintf(c.detail, sizeof c.detail, "granted to %s%s", u.name,
                 (flags & MAMORI_GRANT_HANDLER) ? " as My Number handler"
                 : (had & STORE_GRANT_HANDLER)  ? ", handler designation ended"
                                                : "");
        c.count = 1;
    }
    return guard_end(&c, rc);
}

int mamori_dataset_grant(mamori_sess *s, const char *dataset, const char *user)
{
    return mamori_dataset_grant_flags(s, dataset, user, 0);
}

int mamori_dataset_revoke(mamori_sess *s, const char *dataset, const char *user)
{
    struct guard_call c;
    struct store_user u;
    int rc = guard_begin(&c, s, OP_DATASET_REVOKE, dataset);
    if (rc != 0)
        return rc;
    rc = grant_user(s, user, &u);
    if (rc == 0) {
        rc = store_grant_delete(s->m->store, c.ds.id, u.id);
        if (rc == MAMORI_ENOTFOUND)
            sess_detail(s, "the user has no grant of this dataset");
        snprintf(c.detail, sizeof c.detail, "revoked from %s", u.name);
        c.count = 1;
    }
    return guard_end(&c, rc);
}

/* Name of the dataset or user with id in rows (n of them, elem bytes
 * apart, name at name_off); "?" if gone. */
static const char *name_of(const void *rows, size_t n, size_t elem,
                           size_t id_off, size_t name_off, int64_t id)
{
    const char *p = rows;
    for (size_t i = 0; i < n; i++, p += elem) {
        int64_t rid;
        memcpy(&rid, p + id_off, sizeof rid);
        if (rid == id)
            return p + name_off;
    }
    return "?";
}

static int grant_cmp(const void *a, const void *b)
{
    const struct mamori_grant_info *x = a, *y = b;
    int r = strcmp(x->dataset, y->dataset);
    return r ? r : strcmp(x->user, y->user);
}

int mamori_dataset_grants(mamori_sess *s, const char *dataset,
                          struct mamori_grant_info **out, size_t *n)
{
    struct guard_call c;
    struct store_grant *g = NULL;
    struct store_user *u = NULL;
    struct store_dataset *d = NULL;
    struct mamori_grant_info *info = NULL;
    size_t ng = 0, nu = 0, nd = 0, k = 0;
    int rc;

    if (!out || !n)
        return MAMORI_EINVAL;
    *out = NULL;
    *n = 0;
    rc = guard_begin(&c, s, OP_DATASET_GRANTS, dataset);
    if (rc != 0)
        return rc;
    rc = store_grant_list(s->m->store, &g, &ng);
    if (rc == 0)
        rc = auth_user_list_names(s->m, &u, &nu);
    if (rc == 0)
        rc = store_dataset_list(s->m->store, &d, &nd);
    if (rc == 0 && !(info = calloc(ng ? ng : 1, sizeof *info)))
        rc = MAMORI_ENOMEM;
    for (size_t i = 0; rc == 0 && i < ng; i++) {
        if (c.has_ds && g[i].dataset_id != c.ds.id)
            continue;
        struct mamori_grant_info *gi = &info[k++];
        const char *un =
            name_of(u, nu, sizeof *u, offsetof(struct store_user, id),
                    offsetof(struct store_user, name), g[i].user_id);
        const char *ur =
            name_of(u, nu, sizeof *u, offsetof(struct store_user, id),
                    offsetof(struct store_user, role), g[i].user_id);
        snprintf(gi->dataset, sizeof gi->dataset, "%s",
                 name_of(d, nd, sizeof *d, offsetof(struct store_dataset, id),
                         offsetof(struct store_dataset, name),
                         g[i].dataset_id));
        snprintf(gi->user, sizeof gi->user, "%s", un);
        snprintf(gi->role, sizeof gi->role, "%s", ur);
        gi->flags =
            (g[i].flags & STORE_GRANT_HANDLER) ? MAMORI_GRANT_HANDLER : 0;
    }
    if (rc == 0 && k > 1)
        qsort(info, k, sizeof *info, grant_cmp);
    c.count = (int64_t)k;
    free(g);
    free(u);
    free(d);
    rc = guard_end(&c, rc);
    if (rc != 0) {
        free(info);
        return rc;
    }
    *out = info;
    *n = k;
    return 0;
}
