/*
 * recordkey.c - a dataset's record key (dataset create --key): the fields
 * that together identify a record, such as an employee number, or a name
 * and a birth date. No two records share one: adding or changing a record
 * so that it would is refused, and an import drops such rows as
 * duplicates. Key fields are searchable: the first one's blind index
 * gives the candidates, whose every key field is then compared after
 * normalisation (the index's deliberate false positives drop out there).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "guard.h"
#include "internal.h"
#include "store.h"
#include "text.h"
#include "vault.h"
#include "banned.h"

int vault_key_of(const struct vault_ds *d, const struct values *vs,
                 char *keys[VAULT_MAX_FIELDS], size_t *nkeys)
{
    size_t k = 0;

    *nkeys = 0;
    for (size_t i = 0; i < d->nfields; i++) {
        const char *v = vs->v[i];
        int rc;

        if (!d->fields[i].key)
            continue;
        keys[k] = NULL;
        rc =
            v ? text_search_key(d->fields[i].type, v, strlen(v), &keys[k]) : -1;
        if (rc == 0 && keys[k][0] != '\0') {
            k++;
            continue;
        }
        /* An incomplete key (a key field empty) identifies nothing. */
        crypto_wipe_free_str(keys[k]);
        vault_key_free(keys, k);
        return rc == -2 ? MAMORI_ENOMEM : 0;
    }
    *nkeys = k;
    return 0;
}

void vault_key_free(char *keys[VAULT_MAX_FIELDS], size_t nkeys)
{
    for (size_t k = 0; k < nkeys; k++) {
        crypto_wipe_free_str(keys[k]);
        keys[k] = NULL;
    }
}

/* Whether candidate values cv have the key keys. */
static int same_key(const struct vault_ds *d, const struct values *cv,
                    char *const keys[VAULT_MAX_FIELDS])
{
    size_t k = 0;
    int same = 1;

    for (size_t i = 0; same && i < d->nfields; i++) {
        if (!d->fields[i].key)
            continue;
        char *ck = NULL;
        same = cv->v[i] &&
               text_search_key(d->fields[i].type, cv->v[i], strlen(cv->v[i]),
                               &ck) == 0 &&
               strcmp(ck, keys[k]) == 0;
        crypto_wipe_free_str(ck);
        k++;
    }
    return same;
}

int vault_key_taken(struct mamori *m, struct store *st,
                    const struct vault_ds *d,
                    char *const keys[VAULT_MAX_FIELDS], size_t nkeys,
                    const uint8_t *self, int *taken)
{
    struct store_record *cand = NULL;
    struct vault_probe probe;
    size_t ncand = 0, f0 = 0;
    int rc;

    *taken = 0;
    if (nkeys == 0)
        return 0;
    while (f0 < d->nfields && !d->fields[f0].key)
        f0++;
    vault_probe_make(d, &d->fields[f0], keys[0], strlen(keys[0]), &probe);
    rc = store_index_lookup(st, d->id, (int)f0, probe.mac, probe.maclen,
                            vault_probe_keep, &probe, &cand, &ncand);
    crypto_wipe(&probe, sizeof probe);
    for (size_t i = 0; rc == 0 && i < ncand && !*taken; i++) {
        struct values cv;
        if (self && memcmp(cand[i].id, self, sizeof cand[i].id) == 0)
            continue;
        rc = vault_unseal(m, d, &cand[i], &cv);
        if (rc != 0)
            break;
        *taken = same_key(d, &cv, keys);
        vault_values_wipe(&cv, VAULT_MAX_FIELDS);
    }
    store_records_free(cand, ncand);
    return rc;
}

int vault_need_value(mamori_sess *s, struct guard_call *c,
                     const struct vault_ds *d, const struct values *vs,
                     int changed)
{
    for (size_t i = 0; i < d->nfields; i++)
        if (vs->v[i])
            return 0;
    if (changed)
        sess_detail(s, "no field would have a value");
    else
        sess_detail(s, "no field has a value");
    snprintf(c->detail, sizeof c->detail, "no values");
    return MAMORI_EINVAL;
}

int vault_key_named(const struct vault_ds *d, const struct mamori_kv *kv,
                    size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct vault_field *f = vault_kv_field(d, &kv[i]);
        if (f && f->key)
            return 1;
    }
    return 0;
}

/* The names of d's key fields, ", " between them. */
static void key_names(const struct vault_ds *d, char *out, size_t size)
{
    size_t at = 0;

    out[0] = '\0';
    for (size_t i = 0; i < d->nfields && at < size; i++) {
        if (!d->fields[i].key)
            continue;
        int n = snprintf(out + at, size - at, "%s%s", at ? ", " : "",
                         d->fields[i].name);
        if (n < 0)
            break;
        at += (size_t)n;
    }
}

int vault_key_check(mamori_sess *s, struct guard_call *c,
                    const struct vault_ds *d, const struct values *vs,
                    const uint8_t *self)
{
    char *keys[VAULT_MAX_FIELDS], names[256];
    size_t nkeys = 0;
    int taken = 0;
    int rc = vault_key_of(d, vs, keys, &nkeys);

    if (rc == 0)
        rc = vault_key_taken(s->m, c->st, d, keys, nkeys, self, &taken);
    vault_key_free(keys, nkeys);
    if (rc == 0 && taken) {
        key_names(d, names, sizeof names);
        sess_detail(s,
                    "fields that identify a record (%s): another record has "
                    "the same values",
                    names);
        snprintf(c->detail, sizeof c->detail, "key of another record");
        rc = MAMORI_EEXIST;
    }
    return rc;
}
