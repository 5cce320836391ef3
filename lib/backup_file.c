/*
 * backup_file.c - the encrypted, chunked backup stream (see backup.h).
 *
 * crypto.h has one-shot AES-GCM with a random nonce and one-shot SHA-256;
 * a stream of gigabytes needs chunk nonces derived from the chunk number
 * (so that chunks cannot be reordered or dropped) and an incremental hash,
 * so this file uses OpenSSL's EVP interface for those two things itself.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "backup.h"
#include "banned.h"

#define TAG_LEN 16
#define AD_LEN (32 + 8 + 1)
#define FILE_KEY_LABEL "mamori-backup-file"

/* ---- small encoders ------------------------------------------------------ */

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v = v << 8 | p[i];
    return v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* ---- header -------------------------------------------------------------- */

void backup_header_encode(const struct backup_header *h,
                          uint8_t out[BACKUP_HEADER_LEN])
{
    uint8_t *p = out;

    memset(out, 0, BACKUP_HEADER_LEN);
    memcpy(p,
           h->kind == BACKUP_KIND_KEYS ? BACKUP_MAGIC_KEYS : BACKUP_MAGIC_DATA,
           BACKUP_MAGIC_LEN);
    p += BACKUP_MAGIC_LEN;
    put16(p, BACKUP_VERSION), p += 2;
    put16(p, BACKUP_HEADER_LEN), p += 2;
    put32(p, h->chunk_size), p += 4;
    memcpy(p, h->vault_id, 36), p += 36;
    put64(p, (uint64_t)h->created), p += 8;
    memcpy(p, h->salt, 32), p += 32;
    memcpy(p, h->nonce_prefix, 4), p += 4;
    put64(p, (uint64_t)h->records), p += 8;
    put64(p, (uint64_t)h->datasets), p += 8;
    put64(p, (uint64_t)h->audit_entries), p += 8;
    memcpy(p, h->audit_head, CRYPTO_MAC_LEN), p += CRYPTO_MAC_LEN;
    memcpy(p, h->sha256, 32), p += 32;
    put64(p, h->snapshot_size), p += 8;
    *p++ = (uint8_t)h->seal.kind;
    memcpy(p, h->seal.salt, CRYPTO_SALT_LEN), p += CRYPTO_SALT_LEN;
    put64(p, h->seal.ops), p += 8;
    put64(p, h->seal.mem), p += 8;
    memcpy(p, h->seal.kek, KEYS_WRAPPED_KEK_LEN), p += KEYS_WRAPPED_KEK_LEN;
    _Static_assert(8 + 2 + 2 + 4 + 36 + 8 + 32 + 4 + 24 + 32 + 32 + 8 + 1 +
                           CRYPTO_SALT_LEN + 16 + KEYS_WRAPPED_KEK_LEN ==
                       BACKUP_HEADER_LEN,
                   "header layout");
}

static int uuid_ok(const uint8_t *v)
{
    for (size_t i = 0; i < 36; i++) {
        uint8_t c = v[i];
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? c != '-'
                 : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
    }
    return 1;
}

int backup_header_decode(const uint8_t *p, size_t len, struct backup_header *h,
                         const char **why)
{
    uint32_t cs;
    uint64_t v;

    memset(h, 0, sizeof *h);
    *why = "not a mamori backup (too short)";
    if (len < BACKUP_MAGIC_LEN + 4)
        return MAMORI_ECRYPTO;
    *why = "not a mamori backup";
    if (memcmp(p, BACKUP_MAGIC_DATA, BACKUP_MAGIC_LEN) == 0)
        h->kind = BACKUP_KIND_DATA;
    else if (memcmp(p, BACKUP_MAGIC_KEYS, BACKUP_MAGIC_LEN) == 0)
        h->kind = BACKUP_KIND_KEYS;
    else
        return MAMORI_ECRYPTO;
    p += BACKUP_MAGIC_LEN;
    *why = "unknown backup format version";
    if (get16(p) != BACKUP_VERSION)
        return MAMORI_ECRYPTO;
    *why = "bad header length";
    if (get16(p + 2) != BACKUP_HEADER_LEN || len < BACKUP_HEADER_LEN)
        return MAMORI_ECRYPTO;
    p += 4;
    cs = get32(p), p += 4;
    *why = "bad chunk size";
    if (cs < BACKUP_CHUNK_MIN || cs > BACKUP_CHUNK_MAX || (cs & (cs - 1)) != 0)
        return MAMORI_ECRYPTO;
    h->chunk_size = cs;
    *why = "bad vault id";
    if (!uuid_ok(p))
        return MAMORI_ECRYPTO;
    memcpy(h->vault_id, p, 36), p += 36;
    h->vault_id[36] = '\0';
    *why = "bad time or counts";
    v = get64(p), p += 8;
    if (v > INT64_MAX)
        return MAMORI_ECRYPTO;
    h->created = (int64_t)v;
    memcpy(h->salt, p, 32), p += 32;
    memcpy(h->nonce_prefix, p, 4), p += 4;
    int64_t *counts[3] = {&h->records, &h->datasets, &h->audit_entries};
    for (size_t i = 0; i < 3; i++) {
        v = get64(p), p += 8;
        if (v > INT64_MAX)
            return MAMORI_ECRYPTO;
        *counts[i] = (int64_t)v;
    }
    memcpy(h->audit_head, p, CRYPTO_MAC_LEN), p += CRYPTO_MAC_LEN;
    memcpy(h->sha256, p, 32), p += 32;
    h->snapshot_size = get64(p), p += 8;
    if (h->snapshot_size > INT64_MAX)
        return MAMORI_ECRYPTO;
    *why = "bad key seal";
    h->seal.kind = *p++;
    if (h->kind == BACKUP_KIND_DATA ? h->seal.kind != 0
                                    : (h->seal.kind != KEYS_SEAL_KEYFILE &&
                                       h->seal.kind != KEYS_SEAL_PASSPHRASE))
        return MAMORI_ECRYPTO;
    memcpy(h->seal.salt, p, CRYPTO_SALT_LEN), p += CRYPTO_SALT_LEN;
    h->seal.ops = get64(p), p += 8;
    h->seal.mem = get64(p), p += 8;
    memcpy(h->seal.kek, p, KEYS_WRAPPED_KEK_LEN);
    *why = "";
    return 0;
}

/* ---- manifest ------------------------------------------------------------ */

#define MF_MAGIC "MMANIFST"
#define MF_FIXED (8 + 8 * 4 + CRYPTO_MAC_LEN + 32 + 8 + 4)

void backup_manifest_release(struct backup_manifest *mf)
{
    if (!mf)
        return;
    free(mf->ds);
    mf->ds = NULL;
    mf->nds = 0;
}

int backup_manifest_encode(const struct backup_manifest *mf, uint8_t **out,
                           size_t *len)
{
    size_t n = MF_FIXED, at = 0;
    uint8_t *p;

    *out = NULL;
    *len = 0;
    if (mf->nds > BACKUP_MANIFEST_DATASETS)
        return MAMORI_ETOOBIG;
    for (size_t i = 0; i < mf->nds; i++)
        n += 1 + strnlen(mf->ds[i].name, sizeof mf->ds[i].name - 1) + 8;
    if (n > BACKUP_MANIFEST_MAX)
        return MAMORI_ETOOBIG;
    p = malloc(n);
    if (!p)
        return MAMORI_ENOMEM;
    memcpy(p, MF_MAGIC, 8), at = 8;
    put64(p + at, (uint64_t)mf->created), at += 8;
    put64(p + at, (uint64_t)mf->records), at += 8;
    put64(p + at, (uint64_t)mf->datasets), at += 8;
    put64(p + at, (uint64_t)mf->audit_entries), at += 8;
    memcpy(p + at, mf->audit_head, CRYPTO_MAC_LEN), at += CRYPTO_MAC_LEN;
    memcpy(p + at, mf->sha256, 32), at += 32;
    put64(p + at, mf->snapshot_size), at += 8;
    put32(p + at, (uint32_t)mf->nds), at += 4;
    for (size_t i = 0; i < mf->nds; i++) {
        size_t l = strnlen(mf->ds[i].name, sizeof mf->ds[i].name - 1);
        p[at++] = (uint8_t)l;
        memcpy(p + at, mf->ds[i].name, l), at += l;
        put64(p + at, (uint64_t)mf->ds[i].records), at += 8;
    }
    *out = p;
    *len = at;
    return 0;
}

int backup_manifest_decode(const uint8_t *p, size_t len,
                           struct backup_manifest *mf, const char **why)
{
    size_t at = 8;
    uint32_t nds;
    uint64_t v;

    memset(mf, 0, sizeof *mf);
    *why = "bad manifest";
    if (len < MF_FIXED || len > BACKUP_MANIFEST_MAX ||
        memcmp(p, MF_MAGIC, 8) != 0)
        return MAMORI_ECRYPTO;
    int64_t *f[4] = {&mf->created, &mf->records, &mf->datasets,
                     &mf->audit_entries};
    for (size_t i = 0; i < 4; i++) {
        v = get64(p + at), at += 8;
        if (v > INT64_MAX)
            return MAMORI_ECRYPTO;
        *f[i] = (int64_t)v;
    }
    memcpy(mf->audit_head, p + at, CRYPTO_MAC_LEN), at += CRYPTO_MAC_LEN;
    memcpy(mf->sha256, p + at, 32), at += 32;
    mf->snapshot_size = get64(p + at), at += 8;
    nds = get32(p + at), at += 4;
    if (nds > BACKUP_MANIFEST_DATASETS)
        return MAMORI_ECRYPTO;
    if (nds > 0) {
        mf->ds = calloc(nds, sizeof *mf->ds);
        if (!mf->ds)
            return MAMORI_ENOMEM;
    }
    for (uint32_t i = 0; i < nds; i++) {
        size_t l;
        if (at >= len)
            return MAMORI_ECRYPTO;
        l = p[at++];
        if (l == 0 || l >= sizeof mf->ds[i].name || len - at < l + 8)
            return MAMORI_ECRYPTO;
        memcpy(mf->ds[i].name, p + at, l), at += l;
        if (memchr(mf->ds[i].name, '\0', l))
            return MAMORI_ECRYPTO;
        v = get64(p + at), at += 8;
        if (v > INT64_MAX)
            return MAMORI_ECRYPTO;
        mf->ds[i].records = (int64_t)v;
        mf->nds = i + 1;
    }
    if (at != len)
        return MAMORI_ECRYPTO;
    *why = "";
    return 0;
}

/* ---- chunk crypto -------------------------------------------------------- */

struct chunker {
    EVP_CIPHER_CTX *ctx;
    uint8_t *key; /* guarded */
    uint8_t hhash[32];
    uint8_t prefix[4];
    uint64_t index;
};

static int chunker_init(struct chunker *ck, const uint8_t base[CRYPTO_KEY_LEN],
                        const uint8_t hdr[BACKUP_HEADER_LEN],
                        const struct backup_header *h, int enc)
{
    memset(ck, 0, sizeof *ck);
    ck->key = crypto_secret_alloc(CRYPTO_KEY_LEN);
    ck->ctx = EVP_CIPHER_CTX_new();
    if (!ck->key || !ck->ctx)
        return MAMORI_ENOMEM;
    crypto_kdf(base, FILE_KEY_LABEL, h->salt, sizeof h->salt, ck->key);
    crypto_sha256(hdr, BACKUP_HEADER_LEN, ck->hhash);
    memcpy(ck->prefix, h->nonce_prefix, 4);
    if (EVP_CipherInit_ex(ck->ctx, EVP_aes_256_gcm(), NULL, ck->key, NULL,
                          enc) != 1)
        return MAMORI_ECRYPTO;
    return 0;
}

static void chunker_release(struct chunker *ck)
{
    EVP_CIPHER_CTX_free(ck->ctx);
    crypto_secret_free(ck->key);
    memset(ck, 0, sizeof *ck);
}

/* Encrypts or decrypts one chunk in place; tag is written (enc) or
 * checked (dec). */
static int chunk_run(struct chunker *ck, int enc, int last, uint8_t *buf,
                     size_t n, uint8_t tag[TAG_LEN])
{
    uint8_t iv[CRYPTO_NONCE_LEN], ad[AD_LEN];
    int outl = 0, fl = 0;

    if (n > INT32_MAX)
        return MAMORI_EINVAL;
    memcpy(iv, ck->prefix, 4);
    put64(iv + 4, ck->index);
    memcpy(ad, ck->hhash, 32);
    put64(ad + 32, ck->index);
    ad[40] = last ? 1 : 0;
    if (EVP_CipherInit_ex(ck->ctx, NULL, NULL, NULL, iv, enc) != 1 ||
        EVP_CipherUpdate(ck->ctx, NULL, &outl, ad, (int)sizeof ad) != 1)
        return MAMORI_ECRYPTO;
    if (n > 0 && EVP_CipherUpdate(ck->ctx, buf, &outl, buf, (int)n) != 1)
        return MAMORI_ECRYPTO;
    if (enc) {
        if (EVP_CipherFinal_ex(ck->ctx, buf + n, &fl) != 1 ||
            EVP_CIPHER_CTX_ctrl(ck->ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) !=
                1)
            return MAMORI_ECRYPTO;
    } else {
        if (EVP_CIPHER_CTX_ctrl(ck->ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) !=
                1 ||
            EVP_CipherFinal_ex(ck->ctx, buf + n, &fl) != 1) {
            crypto_wipe(buf, n);
            return MAMORI_ECRYPTO;
        }
    }
    ck->index++;
    return 0;
}

/* ---- writer -------------------------------------------------------------- */

/* The writer seals chunk i+1 while a helper thread hashes and writes
 * chunk i (the two halves cost about the same): out is the sealed chunk
 * the helper owns while out_len > 0. */
struct backup_writer {
    int fd;
    struct chunker ck;
    EVP_MD_CTX *md; /* SHA-256 of the file */
    uint8_t *buf;   /* the chunk being filled: chunk_size + TAG_LEN */
    uint8_t *out;   /* the sealed chunk being written */
    size_t chunk, fill;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t out_len; /* bytes of out still to write; 0: the helper is idle */
    int stop;       /* the helper is to end */
    int werr;       /* the helper's first error */
    int oserr;      /* errno of the first write that failed, or 0 */
    int started;    /* the helper runs */
    int sync_ok;    /* mu and cv are initialised */
};

static int write_all(struct backup_writer *w, const uint8_t *p, size_t n)
{
    if (EVP_DigestUpdate(w->md, p, n) != 1)
        return MAMORI_ECRYPTO;
    while (n > 0) {
        ssize_t k = write(w->fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            /* Only one thread writes at a time (the helper once it runs):
             * the first error stays. */
            if (w->oserr == 0)
                w->oserr = k < 0 ? errno : ENOSPC;
            return MAMORI_EIO;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* The helper: hashes and writes each sealed chunk handed to it. */
static void *output_run(void *arg)
{
    struct backup_writer *w = arg;

    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (w->out_len == 0 && !w->stop)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->out_len == 0)
            break; /* stopped, nothing left */
        size_t n = w->out_len;
        pthread_mutex_unlock(&w->mu);
        int rc = w->werr ? 0 : write_all(w, w->out, n);
        pthread_mutex_lock(&w->mu);
        if (rc != 0 && w->werr == 0)
            w->werr = rc;
        w->out_len = 0;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Waits until the helper has written what it was given; its error. */
static int output_idle(struct backup_writer *w)
{
    int rc;

    if (!w->started)
        return w->werr;
    pthread_mutex_lock(&w->mu);
    while (w->out_len != 0)
        pthread_cond_wait(&w->cv, &w->mu);
    rc = w->werr;
    pthread_mutex_unlock(&w->mu);
    return rc;
}

/* Ends the helper after what it was given is written. */
static void output_stop(struct backup_writer *w)
{
    if (!w->started)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->th, NULL);
    w->started = 0;
}

/* Seals the chunk in buf and hands it to the helper (written here if no
 * thread could be had). */
static int flush_chunk(struct backup_writer *w, int last)
{
    uint8_t tag[TAG_LEN], *t;
    size_t n = w->fill;
    int rc = chunk_run(&w->ck, 1, last, w->buf, n, tag);

    w->fill = 0;
    if (rc != 0)
        return rc;
    memcpy(w->buf + n, tag, TAG_LEN);
    if ((rc = output_idle(w)) != 0)
        return rc;
    if (!w->started)
        return write_all(w, w->buf, n + TAG_LEN);
    t = w->out; /* idle: the helper no longer reads it */
    w->out = w->buf;
    w->buf = t;
    pthread_mutex_lock(&w->mu);
    w->out_len = n + TAG_LEN;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

int backup_writer_write(struct backup_writer *w, const void *p, size_t n)
{
    const uint8_t *s = p;
    int rc;

    while (n > 0) {
        size_t k = w->chunk - w->fill;
        if (k > n)
            k = n;
        memcpy(w->buf + w->fill, s, k);
        w->fill += k;
        s += k;
        n -= k;
        /* A full chunk waits for more data: the last chunk must be the
         * short one. */
        if (w->fill == w->chunk && n > 0) {
            rc = flush_chunk(w, 0);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

int backup_writer_finish(struct backup_writer *w, uint8_t file_sha256[32])
{
    unsigned int mdlen = 0;
    uint8_t md[EVP_MAX_MD_SIZE];
    int rc = 0;

    if (w->fill == w->chunk)
        rc = flush_chunk(w, 0);
    if (rc == 0)
        rc = flush_chunk(w, 1);
    if (rc == 0)
        rc = output_idle(w);
    output_stop(w);
    if (rc == 0 && EVP_DigestFinal_ex(w->md, md, &mdlen) != 1)
        rc = MAMORI_ECRYPTO;
    if (rc == 0 && file_sha256)
        memcpy(file_sha256, md, 32);
    return rc;
}

int backup_writer_oserr(struct backup_writer *w)
{
    int e;

    if (!w->sync_ok)
        return w->oserr;
    pthread_mutex_lock(&w->mu);
    e = w->oserr;
    pthread_mutex_unlock(&w->mu);
    return e;
}

void backup_writer_free(struct backup_writer *w)
{
    if (!w)
        return;
    output_stop(w);
    if (w->sync_ok) {
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
    }
    chunker_release(&w->ck);
    EVP_MD_CTX_free(w->md);
    if (w->buf)
        crypto_wipe(w->buf, w->chunk + TAG_LEN);
    free(w->buf);
    free(w->out); /* sealed: nothing to wipe */
    free(w);
}

int backup_writer_new(int fd, struct backup_header *h,
                      const uint8_t base_key[CRYPTO_KEY_LEN],
                      const uint8_t *manifest, size_t mlen,
                      struct backup_writer **out)
{
    uint8_t hdr[BACKUP_HEADER_LEN], len4[4];
    struct backup_writer *w;
    int rc;

    *out = NULL;
    if (mlen > BACKUP_MANIFEST_MAX)
        return MAMORI_ETOOBIG;
    if (h->chunk_size == 0)
        h->chunk_size = BACKUP_CHUNK_DEFAULT;
    if (h->chunk_size < BACKUP_CHUNK_MIN || h->chunk_size > BACKUP_CHUNK_MAX ||
        (h->chunk_size & (h->chunk_size - 1)) != 0)
        return MAMORI_EINVAL;
    crypto_random(h->salt, sizeof h->salt);
    crypto_random(h->nonce_prefix, sizeof h->nonce_prefix);
    backup_header_encode(h, hdr);
    w = calloc(1, sizeof *w);
    if (!w)
        return MAMORI_ENOMEM;
    w->fd = fd;
    w->chunk = h->chunk_size;
    w->buf = malloc(w->chunk + TAG_LEN);
    w->out = malloc(w->chunk + TAG_LEN);
    w->md = EVP_MD_CTX_new();
    rc = w->buf && w->out && w->md ? 0 : MAMORI_ENOMEM;
    if (rc == 0 && pthread_mutex_init(&w->mu, NULL) == 0) {
        if (pthread_cond_init(&w->cv, NULL) == 0)
            w->sync_ok = 1;
        else
            pthread_mutex_destroy(&w->mu);
    }
    if (rc == 0 && EVP_DigestInit_ex(w->md, EVP_sha256(), NULL) != 1)
        rc = MAMORI_ECRYPTO;
    if (rc == 0)
        rc = chunker_init(&w->ck, base_key, hdr, h, 1);
    if (rc == 0)
        rc = write_all(w, hdr, sizeof hdr);
    /* The header is out: chunks go to the helper from here on. */
    if (rc == 0 && w->sync_ok &&
        pthread_create(&w->th, NULL, output_run, w) == 0)
        w->started = 1;
    put32(len4, (uint32_t)mlen);
    if (rc == 0)
        rc = backup_writer_write(w, len4, 4);
    if (rc == 0 && mlen > 0)
        rc = backup_writer_write(w, manifest, mlen);
    if (rc != 0) {
        int e = w->oserr;
        backup_writer_free(w);
        if (e)
            errno = e;
        return rc;
    }
    *out = w;
    return 0;
}

/* ---- reader -------------------------------------------------------------- */

int backup_read_fd(void *arg, uint8_t *p, size_t n, size_t *got)
{
    int fd = *(int *)arg;
    size_t at = 0;

    while (at < n) {
        ssize_t k = read(fd, p + at, n - at);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return MAMORI_EIO;
        if (k == 0)
            break;
        at += (size_t)k;
    }
    *got = at;
    return 0;
}

int backup_read_header_fd(int fd, struct backup_header *h, const char **why)
{
    uint8_t hdr[BACKUP_HEADER_LEN];
    size_t got = 0;
    int rc = backup_read_fd(&fd, hdr, sizeof hdr, &got);

    if (rc != 0) {
        *why = "cannot read the file";
        return rc;
    }
    return backup_header_decode(hdr, got, h, why);
}

/* Where decrypted bytes go: the manifest block first, then the sink. */
struct plain {
    uint8_t len4[4];
    size_t have4;
    uint8_t *mf;
    size_t mflen, mfhave;
    uint64_t payload;
    EVP_MD_CTX *md;
    backup_sink_fn sink;
    void *sink_arg;
};

static int plain_take(struct plain *pl, const uint8_t *p, size_t n,
                      const char **why)
{
    while (n > 0) {
        if (pl->have4 < 4) {
            size_t k = 4 - pl->have4 < n ? 4 - pl->have4 : n;
            memcpy(pl->len4 + pl->have4, p, k);
            pl->have4 += k, p += k, n -= k;
            if (pl->have4 == 4) {
                pl->mflen = get32(pl->len4);
                *why = "manifest too large";
                if (pl->mflen > BACKUP_MANIFEST_MAX)
                    return MAMORI_ECRYPTO;
                pl->mf = malloc(pl->mflen ? pl->mflen : 1);
                if (!pl->mf)
                    return MAMORI_ENOMEM;
            }
            continue;
        }
        if (pl->mfhave < pl->mflen) {
            size_t k = pl->mflen - pl->mfhave < n ? pl->mflen - pl->mfhave : n;
            memcpy(pl->mf + pl->mfhave, p, k);
            pl->mfhave += k, p += k, n -= k;
            continue;
        }
        if (EVP_DigestUpdate(pl->md, p, n) != 1)
            return MAMORI_ECRYPTO;
        pl->payload += n;
        if (pl->sink) {
            int rc = pl->sink(pl->sink_arg, p, n);
            if (rc != 0) {
                *why = "cannot write the snapshot";
                return rc;
            }
        }
        n = 0;
    }
    return 0;
}

int backup_read(backup_read_fn rd, void *rd_arg, backup_key_fn key,
                void *key_arg, backup_sink_fn sink, void *sink_arg,
                struct backup_header *h, struct backup_manifest *mf,
                const char **why)
{
    uint8_t hdr[BACKUP_HEADER_LEN], *buf = NULL, *base = NULL;
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    struct chunker ck;
    struct plain pl;
    size_t got = 0, want;
    int rc, last = 0;

    memset(&ck, 0, sizeof ck);
    memset(&pl, 0, sizeof pl);
    memset(mf, 0, sizeof *mf);
    *why = "cannot read the file";
    rc = rd(rd_arg, hdr, sizeof hdr, &got);
    if (rc != 0)
        goto out;
    rc = backup_header_decode(hdr, got, h, why);
    if (rc != 0)
        goto out;
    base = crypto_secret_alloc(CRYPTO_KEY_LEN);
    pl.md = EVP_MD_CTX_new();
    /* chunk_size is bounded by decode: at most BACKUP_CHUNK_MAX. */
    want = (size_t)h->chunk_size + TAG_LEN;
    buf = malloc(want);
    if (!base || !pl.md || !buf) {
        rc = MAMORI_ENOMEM;
        goto out;
    }
    if (EVP_DigestInit_ex(pl.md, EVP_sha256(), NULL) != 1) {
        rc = MAMORI_ECRYPTO;
        goto out;
    }
    *why = "no key for this backup";
    rc = key(key_arg, h, base);
    if (rc != 0)
        goto out;
    rc = chunker_init(&ck, base, hdr, h, 0);
    if (rc != 0)
        goto out;
    pl.sink = sink;
    pl.sink_arg = sink_arg;
    while (!last) {
        *why = "cannot read the file";
        rc = rd(rd_arg, buf, want, &got);
        if (rc != 0)
            goto out;
        /* A full chunk is never the last one; a short one always is. */
        last = got < want;
        *why = "truncated (a chunk is missing)";
        if (got < TAG_LEN) {
            rc = MAMORI_ECRYPTO;
            goto out;
        }
        *why = last ? "a chunk does not decrypt (altered or truncated)"
                    : "a chunk does not decrypt (altered)";
        rc = chunk_run(&ck, 0, last, buf, got - TAG_LEN, buf + got - TAG_LEN);
        if (rc != 0)
            goto out;
        rc = plain_take(&pl, buf, got - TAG_LEN, why);
        if (rc != 0)
            goto out;
    }
    *why = "trailing data after the last chunk";
    rc = rd(rd_arg, buf, 1, &got);
    if (rc == 0 && got != 0)
        rc = MAMORI_ECRYPTO;
    if (rc != 0)
        goto out;
    *why = "truncated before the manifest ends";
    if (pl.have4 < 4 || pl.mfhave < pl.mflen) {
        rc = MAMORI_ECRYPTO;
        goto out;
    }
    rc = backup_manifest_decode(pl.mf, pl.mflen, mf, why);
    if (rc != 0)
        goto out;
    *why = "the manifest does not match the header";
    if (mf->created != h->created || mf->records != h->records ||
        mf->datasets != h->datasets || mf->audit_entries != h->audit_entries ||
        !crypto_equal(mf->audit_head, h->audit_head, CRYPTO_MAC_LEN) ||
        !crypto_equal(mf->sha256, h->sha256, 32) ||
        mf->snapshot_size != h->snapshot_size) {
        rc = MAMORI_ECRYPTO;
        goto out;
    }
    *why = "the snapshot's size or SHA-256 differs from the manifest";
    if (EVP_DigestFinal_ex(pl.md, md, &mdlen) != 1 ||
        pl.payload != mf->snapshot_size || !crypto_equal(md, mf->sha256, 32)) {
        rc = MAMORI_ECRYPTO;
        goto out;
    }
    *why = "";
    rc = 0;
out:
    chunker_release(&ck);
    crypto_secret_free(base);
    EVP_MD_CTX_free(pl.md);
    if (pl.mf)
        crypto_wipe(pl.mf, pl.mflen);
    free(pl.mf);
    if (buf)
        crypto_wipe(buf, (size_t)h->chunk_size + TAG_LEN);
    free(buf);
    return rc;
}

int backup_sha256_fd(int fd, uint8_t out[32], uint64_t *size)
{
    uint8_t *buf = malloc(BACKUP_CHUNK_DEFAULT);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    uint8_t d[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    uint64_t total = 0;
    int rc = buf && md ? 0 : MAMORI_ENOMEM;

    if (rc == 0 && EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
        rc = MAMORI_ECRYPTO;
    while (rc == 0) {
        ssize_t k = read(fd, buf, BACKUP_CHUNK_DEFAULT);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            rc = MAMORI_EIO;
        else if (k == 0)
            break;
        else if (EVP_DigestUpdate(md, buf, (size_t)k) != 1)
            rc = MAMORI_ECRYPTO;
        else
            total += (uint64_t)k;
    }
    if (rc == 0 && EVP_DigestFinal_ex(md, d, &dlen) != 1)
        rc = MAMORI_ECRYPTO;
    if (rc == 0) {
        memcpy(out, d, 32);
        *size = total;
    }
    EVP_MD_CTX_free(md);
    free(buf);
    return rc;
}
