/*
 * audit.c - chained, forward-keyed, checkpointed access log. See audit.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stdatomic.h>

#include "audit.h"
#include "crypto.h"
#include "guard.h"
#include "i18n.h"
#include "keys.h"
#include "store.h"
#include "workers.h"
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

/* Format 3: the vault id, seq, body (the fields as stored), record_ids and
 * prev_mac, each length-prefixed or of fixed size. An entry of ordinary
 * size is hashed from one buffer: one call instead of five, and the hash
 * buffers no partial block in between. */
static void mac_v3(const struct crypto_hmac_key *key, const char *vault_id,
                   int64_t seq, const char *body, size_t body_len,
                   const char *ids, size_t ids_len, const uint8_t *prev_mac,
                   uint8_t out[CRYPTO_MAC_LEN])
{
    uint8_t buf[1024];
    size_t n;

    memcpy(buf, "mamori-audit-v3", 16);
    n = 16;
    n += put_str(buf + n, vault_id, 37);
    n += put_u64(buf + n, (uint64_t)seq);
    n += put_u64(buf + n, (uint64_t)body_len);
    if (n + body_len + 8 + ids_len + CRYPTO_MAC_LEN <= sizeof buf) {
        memcpy(buf + n, body, body_len);
        n += body_len;
        n += put_u64(buf + n, (uint64_t)ids_len);
        if (ids_len > 0)
            memcpy(buf + n, ids, ids_len);
        n += ids_len;
        memcpy(buf + n, prev_mac, CRYPTO_MAC_LEN);
        n += CRYPTO_MAC_LEN;
        struct crypto_part one = {buf, n};
        crypto_hmac_run(key, &one, 1, out);
        return;
    }
    uint8_t tail[8];
    put_u64(tail, (uint64_t)ids_len);
    struct crypto_part parts[5] = {
        {buf, n},
        {body, body_len},
        {tail, sizeof tail},
        {ids ? ids : "", ids_len},
        {prev_mac, CRYPTO_MAC_LEN},
    };
    crypto_hmac_run(key, parts, 5, out);
}

/* Format 4: the seq, then the entry as the store keeps it up to its MAC
 * (format, prev_mac, body, NUL, record ids): verification hashes the
 * stored bytes as they are. Its ninth byte, the format, is never the 'u'
 * of the magic that begins every earlier format's input. */
static void mac_v4(const struct crypto_hmac_key *key, int64_t seq,
                   const uint8_t *entry, size_t len,
                   uint8_t out[CRYPTO_MAC_LEN])
{
    uint8_t s[8];
    put_u64(s, (uint64_t)seq);
    struct crypto_part parts[2] = {{s, sizeof s}, {entry, len}};
    crypto_hmac_run(key, parts, 2, out);
}

void audit_mac(const struct crypto_hmac_key *key, const char *vault_id,
               const struct store_audit_row *row, uint8_t out[CRYPTO_MAC_LEN])
{
    if (row->format == AUDIT_FORMAT_V4) {
        /* Over the very bytes the store will keep, as verification reads
         * them. A row the store would refuse gets no MAC (zeros): its
         * append fails the same way. */
        uint8_t *e = NULL;
        size_t n = 0;
        memset(out, 0, CRYPTO_MAC_LEN);
        if (store_audit_entry_encode(row, &e, &n) == 0)
            mac_v4(key, row->seq, e, n - CRYPTO_MAC_LEN, out);
        free(e);
        return;
    }
    if (row->format == AUDIT_FORMAT_V3) {
        mac_v3(key, vault_id, row->seq, row->body ? row->body : "",
               row->body ? row->body_len : 0, row->record_ids,
               row->record_ids ? strlen(row->record_ids) : 0, row->prev_mac,
               out);
        return;
    }
    /* Formats 1 and 2, from the fields. Fixed-size header: every field
     * but record_ids and prev_mac, each string length-prefixed so that no
     * two rows encode alike. Format 2 (a different magic, so that no entry
     * verifies under the other format) adds the client address and the
     * request id. */

    uint8_t buf[16 + 2 + 37 + 8 * 3 + (2 + 64) * 3 + 2 + 32 + 2 + 16 + 2 + 128 +
                8 + (2 + 64) * 2];
    size_t n = 0, idlen = row->record_ids ? strlen(row->record_ids) : 0;
    int v2 = row->format != AUDIT_FORMAT_V1;

    memcpy(buf, v2 ? "mamori-audit-v2" : "mamori-audit-v1", 16);
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
    if (v2) {
        n += put_str(buf + n, row->client, sizeof row->client);
        n += put_str(buf + n, row->request_id, sizeof row->request_id);
    }

    struct crypto_part parts[3] = {
        {buf, n},
        {row->record_ids ? row->record_ids : "", idlen},
        {row->prev_mac, CRYPTO_MAC_LEN},
    };
    crypto_hmac_run(key, parts, 3, out);
}

/* ---- request context ----------------------------------------------------
 * A front end serves each request on one thread: the context it sets there
 * names the client and the request in every entry that thread writes. */

static _Thread_local char tl_client[64];
static _Thread_local char tl_request_id[64];

void mamori_set_request(const char *client, const char *request_id)
{
    guard_clean_text(client ? client : "", tl_client, sizeof tl_client);
    guard_clean_text(request_id ? request_id : "", tl_request_id,
                     sizeof tl_request_id);
}

void audit_fill_context(struct store_audit_row *row)
{
    if (!row->client[0])
        memcpy(row->client, tl_client, sizeof row->client);
    if (!row->request_id[0])
        memcpy(row->request_id, tl_request_id, sizeof row->request_id);
}

static atomic_llong appends_total;

int64_t audit_appends_total(void)
{
    return (int64_t)atomic_load_explicit(&appends_total, memory_order_relaxed);
}

static uint64_t epoch_of(int64_t seq)
{
    return (uint64_t)(seq - 1) / AUDIT_EPOCH;
}

/* The writer's key schedule for epoch, derived forward from the key store
 * as needed. The store itself moves on only when the entries that needed
 * the newer key are committed (audit_commit): were it moved now and the
 * transaction rolled back, the log would end in an epoch whose key the
 * store no longer holds, and no entry could be written again. */
static int writer_key(struct mamori *m, uint64_t epoch)
{
    uint8_t k[CRYPTO_KEY_LEN];
    uint64_t stored = 0;
    int rc;

    if (m->audit_key && m->audit_epoch == epoch)
        return 0;
    rc = keys_audit_key(m->keys, epoch, k, &stored);
    if (rc != 0)
        return rc;
    struct crypto_hmac_key *hk = crypto_hmac_key_new(k, sizeof k);
    crypto_wipe(k, sizeof k);
    if (!hk)
        return MAMORI_ENOMEM;
    crypto_hmac_key_free(m->audit_key); /* the older epoch's: wiped */
    m->audit_key = hk;
    m->audit_epoch = epoch;
    m->audit_stored = stored;
    return 0;
}

int audit_commit(struct mamori *m)
{
    uint8_t mac[CRYPTO_MAC_LEN];
    int64_t head = 0;
    int rc = store_commit(m->store);

    if (rc != 0 || !m->audit_key || m->audit_epoch <= m->audit_stored)
        return rc;
    /* Up to the committed head's epoch, not the key in hand's: that may
     * be left from a transaction rolled back without audit_rollback. The
     * head is read only when an update is due, about once an epoch. */
    if (store_audit_head(m->store, &head, mac) == 0 && head > 0 &&
        epoch_of(head) > m->audit_stored &&
        keys_audit_advance(m->keys, epoch_of(head)) == 0)
        m->audit_stored = epoch_of(head);
    return 0;
}

void audit_rollback(struct mamori *m)
{
    store_rollback(m->store);
    if (m->audit_key && m->audit_epoch > m->audit_stored) {
        crypto_hmac_key_free(m->audit_key);
        m->audit_key = NULL;
    }
}

int audit_append(struct mamori *m, struct store_audit_row *row)
{
    audit_fill_context(row);
    return audit_append_filled(m, row);
}

int audit_append_filled(struct mamori *m, struct store_audit_row *row)
{
    char body[AUDIT_BODY_MAX];
    int64_t last = 0;
    int rc;

    rc = store_audit_head(m->store, &last, row->prev_mac);
    if (rc == MAMORI_ENOTFOUND) {
        rc = 0;
        last = 0;
        memset(row->prev_mac, 0, CRYPTO_MAC_LEN);
    } else if (rc != 0) {
        return MAMORI_EAUDIT;
    }
    row->seq = last + 1;
    row->format = AUDIT_FORMAT_V4;
    row->body_len = audit_body_encode(row, body, sizeof body);
    row->body = body;
    if (row->body_len == 0 || writer_key(m, epoch_of(row->seq)) != 0)
        rc = MAMORI_EAUDIT;
    if (rc == 0) {
        audit_mac(m->audit_key, m->vault_id, row, row->mac);
        rc = store_audit_append(m->store, row);
    }
    row->body = NULL; /* not past this call */
    row->body_len = 0;
    if (rc != 0)
        return MAMORI_EAUDIT;
    atomic_fetch_add_explicit(&appends_total, 1, memory_order_relaxed);
    return 0;
}

/* ---- checkpoints ------------------------------------------------------- */

int audit_checkpoint(struct mamori *m, char **out, size_t *len)
{
    int64_t seq = 0;
    uint8_t mac[CRYPTO_MAC_LEN];
    char head[2 * CRYPTO_MAC_LEN + 1], pkhex[2 * CRYPTO_SIGN_PK_LEN + 1];
    char sighex[2 * CRYPTO_SIG_LEN + 1];
    uint8_t pk[CRYPTO_SIGN_PK_LEN], sig[CRYPTO_SIG_LEN];
    char body[512];
    int rc, n;

    *out = NULL;
    *len = 0;
    rc = store_audit_head(m->store, &seq, mac);
    if (rc != 0)
        return rc;
    crypto_hex(mac, CRYPTO_MAC_LEN, head);
    keys_sign_public(m->keys, pk);
    crypto_hex(pk, sizeof pk, pkhex);
    n = snprintf(body, sizeof body,
                 CP_MAGIC "\nvault %s\nseq %lld\nhead %s\ntime %lld\nkey %s\n",
                 m->vault_id, (long long)seq, head, (long long)mamori_now(),
                 pkhex);
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
    *why = N_("not a mamori audit checkpoint");
    if (len > 4096 || len < ml + 1 || memcmp(p, CP_MAGIC "\n", ml + 1) != 0)
        return MAMORI_EINVAL;
    p += ml + 1;
    *why = N_("bad vault line");
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
    *why = N_("bad seq line");
    if (cp_line(&p, end, "seq", &v, &vl) || cp_int(v, vl, &cp->seq))
        return MAMORI_EINVAL;
    *why = N_("bad head line");
    if (cp_line(&p, end, "head", &v, &vl) ||
        cp_hex(v, vl, cp->head, sizeof cp->head))
        return MAMORI_EINVAL;
    *why = N_("bad time line");
    if (cp_line(&p, end, "time", &v, &vl) || cp_int(v, vl, &cp->time))
        return MAMORI_EINVAL;
    *why = N_("bad key line");
    if (cp_line(&p, end, "key", &v, &vl) ||
        cp_hex(v, vl, cp->pk, sizeof cp->pk))
        return MAMORI_EINVAL;
    cp->signed_len = (size_t)(p - text);
    *why = N_("bad sig line");
    if (cp_line(&p, end, "sig", &v, &vl) ||
        cp_hex(v, vl, cp->sig, sizeof cp->sig))
        return MAMORI_EINVAL;
    *why = N_("trailing data after the signature");
    if (p != end)
        return MAMORI_EINVAL;
    *why = "";
    return 0;
}

/* ---- verification ------------------------------------------------------
 * The log is split into ranges of seq verified in parallel, each thread on
 * its own store connection: every entry's MAC under its epoch key and the
 * chain within the range; the seams between ranges are checked after. */

#define VERIFY_MIN_PARALLEL 65536

/* What verification found: an N_() format with its numbers, or, for a
 * checkpoint that does not parse, its reason (why). */
struct verify_problem {
    const char *fmt;
    long long a, b;
    const char *why;
};

struct verify_part {
    const char *vault_id;
    struct crypto_hmac_key *const *keys; /* per epoch, read-only */
    int64_t lo, hi, expect;
    uint8_t first_prev[CRYPTO_MAC_LEN]; /* prev_mac of the range's first */
    uint8_t prev[CRYPTO_MAC_LEN];       /* mac of the last entry seen */
    int64_t cp_seq;
    uint8_t cp_head[CRYPTO_MAC_LEN];
    int cp_seen, cp_match;
    int64_t entries, bad_seq;
    struct verify_problem pb; /* pb.fmt NULL: none found */
    struct store *store;
    char *ids; /* record ids of entries of format 1 or 2 */
    size_t ids_cap;
    int rc;
};

/* The problem as text: in English (the result, the API, logs) or in the
 * user's language. Every format is an N_() literal of this file that
 * takes a and b as %lld (or why as %s). */
static void problem_text(const struct verify_problem *pb, int local, char *buf,
                         size_t n)
{
    const char *fmt = local ? _(pb->fmt) : pb->fmt;
    const char *why = pb->why ? (local ? _(pb->why) : pb->why) : "";

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    if (pb->why)
        snprintf(buf, n, fmt, why);
    else
        snprintf(buf, n, fmt, pb->a, pb->b);
#pragma GCC diagnostic pop
}

static int part_bad(struct verify_part *p, int64_t seq, const char *fmt,
                    long long a, long long b)
{
    p->bad_seq = seq;
    p->pb = (struct verify_problem){fmt, a, b, NULL};
    return 1;
}

static int altered(struct verify_part *p, int64_t seq)
{
    return part_bad(p, seq, N_("entry %lld was altered"), (long long)seq, 0);
}

/* Records what verification found in res (English) and pb; returns
 * MAMORI_ETAMPER, or rc when given. */
static int found(struct mamori_verify_result *res, struct verify_problem *pb,
                 int64_t first_bad, struct verify_problem what, int rc)
{
    res->first_bad = first_bad;
    *pb = what;
    problem_text(pb, 0, res->problem, sizeof res->problem);
    return rc;
}

/* An entry of format 1 or 2: its MAC covers the fields, decoded from the
 * body they moved into at schema 9. */
static int verify_fields(struct verify_part *p,
                         const struct store_audit_raw *raw)
{
    struct store_audit_row row;
    uint8_t want[CRYPTO_MAC_LEN];
    int rc = audit_row_decode(raw, &row, &p->ids, &p->ids_cap);

    if (rc == MAMORI_ETAMPER)
        return altered(p, raw->seq);
    if (rc != 0)
        return rc;
    /* Format 1 MACs do not cover the context: such an entry has none. */
    if (row.format == AUDIT_FORMAT_V1 && (row.client[0] || row.request_id[0]))
        return altered(p, raw->seq);
    audit_mac(p->keys[epoch_of(raw->seq)], p->vault_id, &row, want);
    if (!crypto_equal(want, raw->mac, CRYPTO_MAC_LEN))
        return altered(p, raw->seq);
    return 0;
}

static int verify_row(void *arg, const struct store_audit_raw *row)
{
    struct verify_part *p = arg;
    uint8_t mac[CRYPTO_MAC_LEN];
    int rc;

    if (row->seq != p->expect)
        return part_bad(p, p->expect,
                        row->seq > p->expect
                            ? N_("entry %lld is missing (deleted or reordered)")
                            : N_("entry %lld is out of order"),
                        (long long)p->expect, 0);
    if (row->format == STORE_AUDIT_UNREADABLE)
        return altered(p, row->seq);
    if (row->seq == p->lo)
        memcpy(p->first_prev, row->prev_mac, CRYPTO_MAC_LEN);
    else if (!crypto_equal(row->prev_mac, p->prev, CRYPTO_MAC_LEN))
        return part_bad(p, row->seq,
                        N_("entry %lld does not follow its predecessor"),
                        (long long)row->seq, 0);
    switch (row->format) {
    case AUDIT_FORMAT_V4:
        mac_v4(p->keys[epoch_of(row->seq)], row->seq, row->entry,
               row->entry_len, mac);
        if (!crypto_equal(mac, row->mac, CRYPTO_MAC_LEN))
            return altered(p, row->seq);
        break;
    case AUDIT_FORMAT_V3:
        mac_v3(p->keys[epoch_of(row->seq)], p->vault_id, row->seq, row->body,
               row->body_len, row->record_ids, row->ids_len, row->prev_mac,
               mac);
        if (!crypto_equal(mac, row->mac, CRYPTO_MAC_LEN))
            return altered(p, row->seq);
        break;
    case AUDIT_FORMAT_V1:
    case AUDIT_FORMAT_V2:
        rc = verify_fields(p, row);
        if (rc != 0)
            return rc;
        break;
    default:
        return part_bad(p, row->seq,
                        N_("entry %lld has an unknown format %lld"),
                        (long long)row->seq, (long long)row->format);
    }
    if (row->seq == p->cp_seq) {
        p->cp_seen = 1;
        p->cp_match = crypto_equal(row->mac, p->cp_head, CRYPTO_MAC_LEN);
    }
    memcpy(p->prev, row->mac, CRYPTO_MAC_LEN);
    p->expect++;
    p->entries++;
    return 0;
}

static void *verify_part_run(void *arg)
{
    struct verify_part *p = arg;

    p->expect = p->lo;
    /* A long scan reads through a memory map: no copy per page. */
    (void)store_set_mmap(p->store, (int64_t)1 << 32);
    p->rc = store_audit_scan_raw(p->store, p->lo, p->hi, verify_row, p);
    (void)store_set_mmap(p->store, 0);
    free(p->ids);
    p->ids = NULL;
    if (p->rc == 0 && !p->pb.fmt && p->expect != p->hi + 1)
        part_bad(p, p->expect,
                 N_("entry %lld is missing (deleted or reordered)"),
                 (long long)p->expect, 0);
    return NULL;
}

static int check_checkpoint(struct mamori *m, const char *text, size_t len,
                            struct audit_checkpoint *cp,
                            struct mamori_verify_result *res,
                            struct verify_problem *pb)
{
    uint8_t pk[CRYPTO_SIGN_PK_LEN];
    const char *why;

    if (audit_checkpoint_parse(text, len, cp, &why) != 0)
        return found(res, pb, 0,
                     (struct verify_problem){N_("checkpoint: %s"), 0, 0, why},
                     MAMORI_EINVAL);
    keys_sign_public(m->keys, pk);
    if (!crypto_equal(pk, cp->pk, sizeof pk) ||
        !crypto_ed25519_verify(pk, text, cp->signed_len, cp->sig))
        return found(res, pb, 0,
                     (struct verify_problem){
                         N_("checkpoint: the signature is not this vault's"), 0,
                         0, NULL},
                     MAMORI_ETAMPER);
    if (strcmp(cp->vault_id, m->vault_id) != 0)
        return found(
            res, pb, 0,
            (struct verify_problem){
                N_("checkpoint: it belongs to another vault"), 0, 0, NULL},
            MAMORI_ETAMPER);
    return 0;
}

static void free_epoch_keys(struct crypto_hmac_key **keys, int64_t n)
{
    if (!keys)
        return;
    for (uint64_t e = 0; e <= epoch_of(n); e++)
        crypto_hmac_key_free(keys[e]);
    free(keys);
}

/* Epoch keys 0..last, evolved from k0. */
static int epoch_keys(struct mamori *m, uint64_t last,
                      struct crypto_hmac_key ***out)
{
    struct crypto_hmac_key **keys = calloc(last + 1, sizeof *keys);
    uint8_t k[CRYPTO_KEY_LEN], next[CRYPTO_KEY_LEN];
    const uint8_t *k0;
    int rc = keys ? keys_audit_initial(m->keys, &k0) : MAMORI_ENOMEM;

    if (rc != 0) {
        free(keys);
        return rc;
    }
    memcpy(k, k0, sizeof k);
    for (uint64_t e = 0; e <= last; e++) {
        keys[e] = crypto_hmac_key_new(k, sizeof k);
        if (!keys[e]) {
            rc = MAMORI_ENOMEM;
            break;
        }
        keys_audit_evolve(k, next);
        memcpy(k, next, sizeof k);
    }
    crypto_wipe(k, sizeof k);
    crypto_wipe(next, sizeof next);
    if (rc != 0) {
        for (uint64_t e = 0; e <= last; e++)
            crypto_hmac_key_free(keys[e]);
        free(keys);
        return rc;
    }
    *out = keys;
    return 0;
}

/* audit_verify, with what it found also in pb (pb->fmt NULL: nothing). */
static int verify_log(struct mamori *m, const char *checkpoint, size_t len,
                      struct mamori_verify_result *res,
                      struct verify_problem *pb)
{
    struct verify_part parts[MAMORI_READERS];
    void *args[MAMORI_READERS];
    struct crypto_hmac_key **keys = NULL;
    struct audit_checkpoint cp;
    uint8_t head[CRYPTO_MAC_LEN];
    int64_t n;
    size_t np = 1;
    int rc;

    memset(res, 0, sizeof *res);
    memset(&cp, 0, sizeof cp);
    cp.seq = -1;
    if (checkpoint) {
        rc = check_checkpoint(m, checkpoint, len, &cp, res, pb);
        if (rc != 0)
            return rc;
    }
    n = 0;
    rc = store_audit_head(m->store, &n, head);
    if (rc == MAMORI_ENOTFOUND)
        n = 0;
    else if (rc != 0)
        return rc;
    /* A forged huge newest seq must not drive the work below (keys for
     * every epoch up to it): a number the file cannot hold is tampering. */
    int64_t bound = 0;
    rc = store_audit_row_bound(m->store, &bound);
    if (rc != 0)
        return rc;
    if (n < 0 || n > bound)
        return found(res, pb, n < 0 ? 1 : n,
                     (struct verify_problem){
                         N_("the newest entry has an impossible number %lld"),
                         (long long)n, 0, NULL},
                     MAMORI_ETAMPER);
    if (n > 0) {
        rc = epoch_keys(m, epoch_of(n), &keys);
        if (rc != 0)
            return rc;
    }
    if (n >= VERIFY_MIN_PARALLEL) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        np = cpus > 1 ? (cpus < MAMORI_READERS ? (size_t)cpus : MAMORI_READERS)
                      : 1;
    }
    memset(parts, 0, sizeof parts);
    rc = 0;
    for (size_t i = 0; i < np; i++) {
        struct verify_part *p = &parts[i];
        p->vault_id = m->vault_id;
        p->keys = keys;
        p->lo = 1 + (int64_t)i * n / (int64_t)np;
        p->hi = (int64_t)(i + 1) * n / (int64_t)np;
        p->cp_seq = cp.seq;
        memcpy(p->cp_head, cp.head, sizeof cp.head);
        p->store = m->store;
        args[i] = p;
        if (np > 1 && rc == 0)
            rc = handle_reader(m, i, &p->store);
    }
    if (rc != 0) {
        free_epoch_keys(keys, n);
        return rc;
    }
    if (n > 0)
        workers_run(&m->workers, np, verify_part_run, args);
    free_epoch_keys(keys, n);

    /* The first problem in log order wins; then the seams. */
    static const uint8_t genesis[CRYPTO_MAC_LEN];
    rc = 0;
    for (size_t i = 0; i < np && n > 0; i++) {
        struct verify_part *p = &parts[i];
        const uint8_t *before = i == 0 ? genesis : parts[i - 1].prev;
        res->entries += p->entries;
        if (p->pb.fmt)
            return found(res, pb, p->bad_seq, p->pb, MAMORI_ETAMPER);
        if (p->rc != 0)
            return p->rc == MAMORI_ETAMPER ? MAMORI_ETAMPER : p->rc;
        if (!crypto_equal(p->first_prev, before, CRYPTO_MAC_LEN))
            return found(res, pb, p->lo,
                         (struct verify_problem){
                             N_("entry %lld does not follow its predecessor"),
                             (long long)p->lo, 0, NULL},
                         MAMORI_ETAMPER);
    }
    if (checkpoint && cp.seq > 0) {
        int seen = 0, match = 0;
        for (size_t i = 0; i < np; i++) {
            seen |= parts[i].cp_seen;
            match |= parts[i].cp_match;
        }
        if (!seen)
            return found(res, pb, n + 1,
                         (struct verify_problem){
                             N_("the log ends at entry %lld but the checkpoint "
                                "is at %lld: the newest entries were removed"),
                             (long long)n, (long long)cp.seq, NULL},
                         MAMORI_ETAMPER);
        if (!match)
            return found(res, pb, cp.seq,
                         (struct verify_problem){
                             N_("entry %lld differs from the checkpoint"),
                             (long long)cp.seq, 0, NULL},
                         MAMORI_ETAMPER);
    }
    return rc;
}

int audit_verify(struct mamori *m, const char *checkpoint, size_t len,
                 struct mamori_verify_result *res)
{
    struct verify_problem pb = {0};
    return verify_log(m, checkpoint, len, res, &pb);
}

/* ---- public API -------------------------------------------------------- */

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
    struct verify_problem pb = {0};
    struct guard_call c;
    int rc, vrc;

    memset(res, 0, sizeof *res);
    rc = guard_begin(&c, s, OP_AUDIT_VERIFY, NULL);
    if (rc != 0)
        return rc;
    vrc = verify_log(s->m, checkpoint, len, res, &pb);
    c.count = res->entries;
    snprintf(c.detail, sizeof c.detail, "%s",
             vrc == 0 ? "intact"
                      : (vrc == MAMORI_ETAMPER ? "tampered" : "not checked"));
    if (vrc != 0 && pb.fmt) {
        char text[sizeof res->problem * 2];
        problem_text(&pb, 1, text, sizeof text);
        sess_detail_text(s, text);
    }
    /* The verification itself is logged whatever it found. A log tampered
     * with so that nothing more can be appended still reports the
     * tampering, the finding that matters (no personal data is released). */
    rc = guard_end(&c, 0);
    if (vrc == MAMORI_ETAMPER)
        return vrc;
    return rc != 0 ? rc : vrc;
}
