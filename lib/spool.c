/*
 * spool.c - the encrypted spool of a slow upload (see spool.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mamori.h"
#include "crypto.h"
#include "spool.h"
#include "banned.h"

#define REC_MAX (SPOOL_CHUNK + CRYPTO_AEAD_OVERHEAD)
#define AD_LEN (8 + 1)

struct spool {
    int fd;
    uint8_t *key;   /* guarded, CRYPTO_KEY_LEN */
    uint8_t *plain; /* SPOOL_CHUNK bytes of plaintext, wiped when done */
    uint8_t *rec;   /* one chunk as on disk */
    size_t fill;    /* bytes in plain (writing: waiting; reading: held) */
    size_t pos;     /* reading: the next byte of plain to give out */
    uint64_t index; /* the next chunk to write or to read */
    uint64_t size;  /* plaintext bytes written */
    int finished, failed, reading, at_end;
    const char *why;
};

static void put64(uint8_t *p, uint64_t v)
{
    int i;

    for (i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

/* The nonce of chunk i: 4 zero bytes, then i (the key is never reused). */
static void chunk_nonce(uint64_t i, uint8_t nonce[CRYPTO_NONCE_LEN])
{
    memset(nonce, 0, 4);
    put64(nonce + 4, i);
}

static void chunk_ad(uint64_t i, int last, uint8_t ad[AD_LEN])
{
    put64(ad, i);
    ad[8] = last ? 1 : 0;
}

int spool_tmpfile(const char *dir, int *fd)
{
    char path[PATH_MAX];
    struct stat st;
    int dfd = -1, f = -1, n, rc = MAMORI_EIO;

    *fd = -1;
    n = snprintf(path, sizeof path, "%s/.upload-XXXXXX", dir);
    if (n < 0 || (size_t)n >= sizeof path) {
        rc = MAMORI_ETOOBIG;
        goto out;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        goto out;
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0 || fstat(dfd, &st) != 0 || !S_ISDIR(st.st_mode) ||
        st.st_uid != geteuid())
        goto out;
    if ((st.st_mode & 077) && fchmod(dfd, 0700) != 0)
        goto out;
    f = openat(dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (f < 0) {
        /* No O_TMPFILE here: a named file, unlinked before it is used. */
        if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
            goto out;
        f = mkostemp(path, O_CLOEXEC);
        if (f < 0)
            goto out;
        if (unlink(path) != 0) {
            close(f);
            f = -1;
            goto out;
        }
    }
    *fd = f;
    rc = 0;
out:
    if (dfd >= 0)
        close(dfd);
    return rc;
}

int spool_new(int fd, struct spool **out)
{
    struct spool *s = NULL;
    int rc = MAMORI_ENOMEM;

    *out = NULL;
    if (fd < 0)
        return MAMORI_EINVAL;
    s = calloc(1, sizeof *s);
    if (!s)
        goto out;
    s->fd = fd;
    fd = -1;
    s->key = crypto_secret_alloc(CRYPTO_KEY_LEN);
    s->plain = malloc(SPOOL_CHUNK);
    s->rec = malloc(REC_MAX);
    if (!s->key || !s->plain || !s->rec)
        goto out;
    crypto_random(s->key, CRYPTO_KEY_LEN);
    *out = s;
    s = NULL;
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    spool_free(s);
    return rc;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return MAMORI_EIO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads up to n bytes, fewer only at the end of the file. */
static int read_full(int fd, uint8_t *p, size_t n, size_t *got)
{
    *got = 0;
    while (*got < n) {
        ssize_t r = read(fd, p + *got, n - *got);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return MAMORI_EIO;
        if (r == 0)
            break;
        *got += (size_t)r;
    }
    return 0;
}

/* Seals and writes what waits in plain as chunk s->index. */
static int flush_chunk(struct spool *s, int last)
{
    uint8_t nonce[CRYPTO_NONCE_LEN], ad[AD_LEN];
    int rc;

    if (s->index == UINT64_MAX) {
        s->why = "too many chunks";
        return MAMORI_ETOOBIG;
    }
    chunk_nonce(s->index, nonce);
    chunk_ad(s->index, last, ad);
    if (crypto_aead_encrypt_nonce(s->key, nonce, ad, sizeof ad, s->plain,
                                  s->fill, s->rec) != 0) {
        s->why = "a chunk could not be sealed";
        rc = MAMORI_ECRYPTO;
        goto out;
    }
    rc = write_all(s->fd, s->rec, s->fill + CRYPTO_AEAD_OVERHEAD);
    if (rc != 0) {
        s->why = "the spool file could not be written";
        goto out;
    }
    s->index++;
out:
    crypto_wipe(s->plain, s->fill);
    s->fill = 0;
    return rc;
}

int spool_write(struct spool *s, const void *p, size_t n)
{
    const uint8_t *b = p;
    int rc = 0;

    if (s->failed || s->finished) {
        s->why = "the spool is closed for writing";
        return MAMORI_ESTATE;
    }
    if (n > (uint64_t)INT64_MAX - s->size) {
        s->why = "the spool is over its limit";
        s->failed = 1;
        return MAMORI_ETOOBIG;
    }
    while (n > 0) {
        size_t k;

        /* A full chunk waits until more comes: the last one is short. */
        if (s->fill == SPOOL_CHUNK) {
            rc = flush_chunk(s, 0);
            if (rc != 0) {
                s->failed = 1;
                return rc;
            }
        }
        k = SPOOL_CHUNK - s->fill;
        if (k > n)
            k = n;
        memcpy(s->plain + s->fill, b, k);
        s->fill += k;
        s->size += k;
        b += k;
        n -= k;
    }
    return 0;
}

int spool_finish(struct spool *s)
{
    int rc;

    if (s->failed || s->finished) {
        s->why = "the spool is closed for writing";
        return MAMORI_ESTATE;
    }
    rc = s->fill == SPOOL_CHUNK ? flush_chunk(s, 0) : 0;
    if (rc == 0)
        rc = flush_chunk(s, 1);
    if (rc != 0)
        s->failed = 1;
    else
        s->finished = 1;
    return rc;
}

/* Reads, checks and decrypts the next chunk into plain. */
static int next_chunk(struct spool *s)
{
    uint8_t nonce[CRYPTO_NONCE_LEN], ad[AD_LEN];
    size_t got;
    int last;

    crypto_wipe(s->plain, s->fill);
    s->fill = s->pos = 0;
    if (read_full(s->fd, s->rec, REC_MAX, &got) != 0) {
        s->why = "the spool file could not be read";
        return MAMORI_EIO;
    }
    if (got < CRYPTO_AEAD_OVERHEAD) {
        s->why = got == 0 ? "truncated (the last chunk is missing)"
                          : "truncated (a chunk is cut short)";
        return MAMORI_ECRYPTO;
    }
    /* A full chunk is never the last one; a short one always is. */
    last = got < REC_MAX;
    chunk_nonce(s->index, nonce);
    if (!crypto_equal(nonce, s->rec, sizeof nonce)) {
        s->why = "a chunk is out of order";
        return MAMORI_ECRYPTO;
    }
    chunk_ad(s->index, last, ad);
    if (crypto_aead_decrypt(s->key, ad, sizeof ad, s->rec, got, s->plain) !=
        0) {
        s->why = last ? "a chunk does not decrypt (altered or truncated)"
                      : "a chunk does not decrypt (altered)";
        return MAMORI_ECRYPTO;
    }
    /* A short read was the end of the file: nothing can follow the last
     * chunk (bytes after it make it a bad last chunk). */
    if (last)
        s->at_end = 1;
    s->fill = got - CRYPTO_AEAD_OVERHEAD;
    s->index++;
    return 0;
}

long spool_read(void *arg, void *buf, size_t len)
{
    struct spool *s = arg;
    size_t n = 0;

    if (!s->finished || s->failed) {
        if (!s->failed)
            s->why = "the spool is not complete";
        return -1;
    }
    if (!s->reading) {
        if (lseek(s->fd, 0, SEEK_SET) != 0) {
            s->why = "the spool file could not be read";
            s->failed = 1;
            return -1;
        }
        s->reading = 1;
        s->index = 0;
        s->fill = s->pos = 0;
    }
    if (len > LONG_MAX)
        len = LONG_MAX;
    while (n < len) {
        size_t k;

        if (s->pos == s->fill) {
            if (s->at_end)
                break;
            if (next_chunk(s) != 0) {
                s->failed = 1;
                return -1;
            }
            continue;
        }
        k = s->fill - s->pos;
        if (k > len - n)
            k = len - n;
        memcpy((uint8_t *)buf + n, s->plain + s->pos, k);
        s->pos += k;
        n += k;
    }
    return (long)n;
}

const char *spool_why(const struct spool *s)
{
    return s ? s->why : NULL;
}

uint64_t spool_size(const struct spool *s)
{
    return s ? s->size : 0;
}

void spool_free(struct spool *s)
{
    if (!s)
        return;
    if (s->fd >= 0)
        close(s->fd);
    crypto_secret_free(s->key);
    if (s->plain) {
        crypto_wipe(s->plain, SPOOL_CHUNK);
        free(s->plain);
    }
    if (s->rec) {
        crypto_wipe(s->rec, REC_MAX);
        free(s->rec);
    }
    free(s);
}
