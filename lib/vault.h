/*
 * vault.h - datasets and encrypted records (internal helpers shared with
 * tests and later modules: import, export).
 */
#ifndef MAMORI_VAULT_H
#define MAMORI_VAULT_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"
#include "text.h"

#define VAULT_MAX_FIELDS 64
#define VAULT_INDEX_BITS_DEFAULT 18

struct vault_field {
    char name[64];
    enum field_type type;
    int searchable;
    struct crypto_hmac_key *index_key; /* when searchable */
};

/* A dataset as the domain code sees it, cached on the vault handle. */
struct vault_ds {
    int64_t id;
    char uuid[37];
    char name[64];
    int index_bits;
    size_t nfields;
    struct vault_field fields[VAULT_MAX_FIELDS];
    const uint8_t *dek; /* record key, version 1 (owned by keys) */
    struct vault_ds *next;
};

/* Schema text kept in the store: "v1;bits=18;name:type[:s];..." */
int vault_schema_format(const struct vault_ds *d, char *out, size_t size);
int vault_schema_parse(const char *text, struct vault_ds *d);

/* Record ids: 16 bytes <-> UUID text (36 chars, lower-case). */
int vault_rid_parse(const char *text, uint8_t rid[16]);
void vault_rid_format(const uint8_t rid[16], char out[37]);

/* Blind-index value of a search key for field f of d (out: nbytes). */
size_t vault_index_mac(const struct vault_ds *d, const struct vault_field *f,
                       const char *key, size_t keylen, uint8_t out[4]);

#endif
