/*
 * test_spool.c - the encrypted upload spool: round trips over the chunk
 * edges, no plaintext in the file, and every kind of damage refused with
 * its reason (truncation, a flipped byte, swapped or replayed chunks,
 * bytes after the last chunk, an empty file), the anonymous file and its
 * directory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "mamori.h"
#include "crypto.h"
#include "spool.h"
#include "banned.h"

#define REC (SPOOL_CHUNK + CRYPTO_AEAD_OVERHEAD)
#define MARKER "ZQXSPOOLMARKER"

static char base[64];

static int setup(void **state)
{
    (void)state;
    if (crypto_init() != 0)
        return -1;
    snprintf(base, sizeof base, "/tmp/test_spool.XXXXXX");
    return mkdtemp(base) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    return system(cmd) == 0 ? 0 : -1;
}

/* Synthetic plaintext: the marker every 1000 bytes, the rest a pattern. */
static uint8_t *make_plain(size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    size_t i;

    assert_non_null(p);
    for (i = 0; i < n; i++)
        p[i] = (uint8_t)('a' + (i * 7 + i / 251) % 26);
    for (i = 0; i + sizeof MARKER - 1 <= n; i += 1000)
        memcpy(p + i, MARKER, sizeof MARKER - 1);
    return p;
}

/* A finished spool of plain (n bytes) written in pieces of `piece`;
 * *raw: a second descriptor of its file, for the test to look at and
 * damage it. */
static struct spool *make_spool(const uint8_t *plain, size_t n, size_t piece,
                                int *raw)
{
    struct spool *s = NULL;
    char dir[128];
    size_t off;
    int fd;

    snprintf(dir, sizeof dir, "%s/upload-spool", base);
    assert_int_equal(spool_tmpfile(dir, &fd), 0);
    *raw = dup(fd);
    assert_true(*raw >= 0);
    assert_int_equal(spool_new(fd, &s), 0);
    for (off = 0; off < n; off += piece) {
        size_t k = n - off < piece ? n - off : piece;
        assert_int_equal(spool_write(s, plain + off, k), 0);
    }
    assert_int_equal(spool_size(s), n);
    assert_int_equal(spool_finish(s), 0);
    return s;
}

/* Reads the whole spool in reads of `step`: its length, or -1. */
static long read_all(struct spool *s, uint8_t *out, size_t max, size_t step)
{
    size_t got = 0;

    for (;;) {
        size_t want = step < max - got ? step : max - got;
        long r = spool_read(s, out + got, want);

        if (r < 0)
            return -1;
        if (r == 0 && want > 0)
            return (long)got;
        got += (size_t)r;
        if (got == max) {
            uint8_t extra;
            r = spool_read(s, &extra, 1);
            return r == 0 ? (long)got : -1;
        }
    }
}

static uint64_t file_size(int fd)
{
    struct stat st;

    assert_int_equal(fstat(fd, &st), 0);
    return (uint64_t)st.st_size;
}

static int file_has(int fd, const char *needle)
{
    uint64_t n = file_size(fd);
    uint8_t *b = malloc(n + 1);
    int found;

    assert_non_null(b);
    assert_int_equal(pread(fd, b, n, 0), (ssize_t)n);
    found = memmem(b, n, needle, strlen(needle)) != NULL;
    free(b);
    return found;
}

static void test_roundtrip(void **state)
{
    static const size_t sizes[] = {0,
                                   1,
                                   999,
                                   SPOOL_CHUNK - 1,
                                   SPOOL_CHUNK,
                                   SPOOL_CHUNK + 1,
                                   2 * SPOOL_CHUNK,
                                   3 * SPOOL_CHUNK + 17};
    static const size_t pieces[] = {1000, SPOOL_CHUNK, 3 * SPOOL_CHUNK + 17};
    static const size_t steps[] = {7, 4096, SPOOL_CHUNK + 5};
    size_t i, j;

    (void)state;
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        for (j = 0; j < sizeof pieces / sizeof pieces[0]; j++) {
            size_t n = sizes[i], full = n / SPOOL_CHUNK;
            uint8_t *plain = make_plain(n), *back = malloc(n + 1);
            int raw;
            struct spool *s = make_spool(plain, n, pieces[j], &raw);

            assert_non_null(back);
            /* full chunks, then one short last chunk (maybe empty) */
            assert_int_equal(file_size(raw),
                             n + (full + 1) * CRYPTO_AEAD_OVERHEAD);
            if (n >= sizeof MARKER)
                assert_false(file_has(raw, MARKER));
            assert_int_equal(
                read_all(s, back, n,
                         steps[(i + j) % (sizeof steps / sizeof steps[0])]),
                (long)n);
            if (n)
                assert_memory_equal(back, plain, n);
            assert_null(spool_why(s));
            spool_free(s);
            close(raw);
            free(plain);
            free(back);
        }
    }
}

/* Two spools of the same bytes share no ciphertext: fresh keys. */
static void test_fresh_keys(void **state)
{
    uint8_t *plain = make_plain(5000), a[64], b[64];
    int ra, rb;
    struct spool *sa = make_spool(plain, 5000, 5000, &ra);
    struct spool *sb = make_spool(plain, 5000, 5000, &rb);

    (void)state;
    assert_int_equal(pread(ra, a, sizeof a, CRYPTO_NONCE_LEN), (ssize_t)64);
    assert_int_equal(pread(rb, b, sizeof b, CRYPTO_NONCE_LEN), (ssize_t)64);
    assert_memory_not_equal(a, b, sizeof a);
    spool_free(sa);
    spool_free(sb);
    close(ra);
    close(rb);
    free(plain);
}

/* A damaged spool: read fails, with a reason that contains want. */
static void expect_refused(struct spool *s, size_t n, const char *want)
{
    uint8_t *back = malloc(n + 16);
    long r;

    assert_non_null(back);
    r = read_all(s, back, n + 16, 4096);
    assert_int_equal(r, -1);
    assert_non_null(spool_why(s));
    if (!strstr(spool_why(s), want))
        fail_msg("why: \"%s\", want \"%s\"", spool_why(s), want);
    /* and it stays refused */
    assert_int_equal(spool_read(s, back, 1), -1);
    free(back);
}

static void test_truncated(void **state)
{
    size_t n = 3 * SPOOL_CHUNK + 100;
    uint8_t *plain = make_plain(n);
    uint64_t sz;
    int raw;
    struct spool *s;

    (void)state;
    /* the last chunk dropped whole */
    s = make_spool(plain, n, 4096, &raw);
    assert_int_equal(ftruncate(raw, 3 * REC), 0);
    expect_refused(s, n, "the last chunk is missing");
    spool_free(s);
    close(raw);
    /* cut one byte short */
    s = make_spool(plain, n, 4096, &raw);
    sz = file_size(raw);
    assert_int_equal(ftruncate(raw, (off_t)sz - 1), 0);
    expect_refused(s, n, "altered or truncated");
    spool_free(s);
    close(raw);
    /* cut inside a full chunk: it reads as a (bad) last one */
    s = make_spool(plain, n, 4096, &raw);
    assert_int_equal(ftruncate(raw, REC + 100), 0);
    expect_refused(s, n, "does not decrypt");
    spool_free(s);
    close(raw);
    /* cut inside a chunk's nonce and tag */
    s = make_spool(plain, n, 4096, &raw);
    assert_int_equal(ftruncate(raw, 2 * REC + 5), 0);
    expect_refused(s, n, "cut short");
    spool_free(s);
    close(raw);
    free(plain);
}

static void flip(int raw, off_t at)
{
    uint8_t b;

    assert_int_equal(pread(raw, &b, 1, at), 1);
    b ^= 0x01;
    assert_int_equal(pwrite(raw, &b, 1, at), 1);
}

static void test_flipped_byte(void **state)
{
    size_t n = 2 * SPOOL_CHUNK + 10;
    uint8_t *plain = make_plain(n);
    const off_t where[] = {REC + CRYPTO_NONCE_LEN + 5, /* ciphertext */
                           2 * REC - 1,                /* a tag */
                           2 * REC + CRYPTO_NONCE_LEN, /* the last chunk */
                           2 * REC + 10 + CRYPTO_AEAD_OVERHEAD - 1};
    const char *want[] = {"does not decrypt (altered)",
                          "does not decrypt (altered)", "altered or truncated",
                          "altered or truncated"};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof where / sizeof where[0]; i++) {
        int raw;
        struct spool *s = make_spool(plain, n, n, &raw);

        flip(raw, where[i]);
        expect_refused(s, n, want[i]);
        spool_free(s);
        close(raw);
    }
    /* a nonce byte: the chunk is not the one expected there */
    {
        int raw;
        struct spool *s = make_spool(plain, n, n, &raw);

        flip(raw, REC + 11);
        expect_refused(s, n, "out of order");
        spool_free(s);
        close(raw);
    }
    free(plain);
}

static void test_swapped_chunks(void **state)
{
    size_t n = 3 * SPOOL_CHUNK + 10;
    uint8_t *plain = make_plain(n), *a = malloc(REC), *b = malloc(REC);
    int raw;
    struct spool *s;

    (void)state;
    assert_non_null(a);
    assert_non_null(b);
    /* chunks 0 and 1 swapped */
    s = make_spool(plain, n, n, &raw);
    assert_int_equal(pread(raw, a, REC, 0), REC);
    assert_int_equal(pread(raw, b, REC, REC), REC);
    assert_int_equal(pwrite(raw, b, REC, 0), REC);
    assert_int_equal(pwrite(raw, a, REC, REC), REC);
    expect_refused(s, n, "out of order");
    spool_free(s);
    close(raw);
    /* chunk 0 replayed as chunk 1, its nonce rewritten to fit: the index
     * in the associated data still differs */
    s = make_spool(plain, n, n, &raw);
    assert_int_equal(pread(raw, a, REC, 0), REC);
    assert_int_equal(pread(raw, b, CRYPTO_NONCE_LEN, REC), CRYPTO_NONCE_LEN);
    memcpy(a, b, CRYPTO_NONCE_LEN);
    assert_int_equal(pwrite(raw, a, REC, REC), REC);
    expect_refused(s, n, "does not decrypt (altered)");
    spool_free(s);
    close(raw);
    /* the first chunk again in place of the last one */
    s = make_spool(plain, n, n, &raw);
    assert_int_equal(pread(raw, a, REC, 0), REC);
    assert_int_equal(ftruncate(raw, 3 * REC), 0);
    assert_int_equal(pwrite(raw, a, REC, 3 * REC), REC);
    expect_refused(s, n, "out of order");
    spool_free(s);
    close(raw);
    free(plain);
    free(a);
    free(b);
}

static void test_trailing_and_empty(void **state)
{
    size_t n = SPOOL_CHUNK + 10;
    uint8_t *plain = make_plain(n), junk[REC];
    uint64_t sz;
    int raw;
    struct spool *s;

    (void)state;
    /* a whole record's worth of bytes after the last chunk */
    memset(junk, 'x', sizeof junk);
    s = make_spool(plain, n, n, &raw);
    sz = file_size(raw);
    assert_int_equal(pwrite(raw, junk, 1, (off_t)sz), 1);
    expect_refused(s, n, "altered or truncated");
    spool_free(s);
    close(raw);
    /* an empty upload's last chunk, then more */
    s = make_spool(plain, 0, 1, &raw);
    assert_int_equal(file_size(raw), CRYPTO_AEAD_OVERHEAD);
    assert_int_equal(pwrite(raw, junk, sizeof junk, CRYPTO_AEAD_OVERHEAD),
                     (ssize_t)sizeof junk);
    expect_refused(s, 0, "does not decrypt (altered)");
    spool_free(s);
    close(raw);
    /* an empty file: not even the last chunk */
    s = make_spool(plain, n, n, &raw);
    assert_int_equal(ftruncate(raw, 0), 0);
    expect_refused(s, n, "the last chunk is missing");
    spool_free(s);
    close(raw);
    free(plain);
}

static void test_states(void **state)
{
    struct spool *s = NULL;
    char dir[128];
    uint8_t b[8] = {0};
    int fd;

    (void)state;
    assert_int_equal(spool_new(-1, &s), MAMORI_EINVAL);
    assert_null(s);
    snprintf(dir, sizeof dir, "%s/upload-spool", base);
    assert_int_equal(spool_tmpfile(dir, &fd), 0);
    assert_int_equal(spool_new(fd, &s), 0);
    assert_int_equal(spool_write(s, "abc", 3), 0);
    /* not complete: nothing read */
    assert_int_equal(spool_read(s, b, sizeof b), -1);
    assert_non_null(strstr(spool_why(s), "not complete"));
    assert_int_equal(spool_finish(s), 0);
    assert_int_equal(spool_write(s, "d", 1), MAMORI_ESTATE);
    assert_int_equal(spool_finish(s), MAMORI_ESTATE);
    assert_int_equal(spool_read(s, b, sizeof b), 3);
    assert_memory_equal(b, "abc", 3);
    assert_int_equal(spool_read(s, b, sizeof b), 0);
    spool_free(s);
    spool_free(NULL);
}

static void test_tmpfile(void **state)
{
    char dir[128], path[192];
    struct stat st;
    struct dirent *e;
    DIR *d;
    int fd, n = 0;

    (void)state;
    snprintf(dir, sizeof dir, "%s/spool2", base);
    assert_int_equal(spool_tmpfile(dir, &fd), 0);
    assert_int_equal(write(fd, "x", 1), 1);
    assert_int_equal(lstat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    /* anonymous: nothing to find in the directory */
    d = opendir(dir);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    assert_int_equal(n, 0);
    close(fd);
    /* a loose mode is tightened */
    assert_int_equal(chmod(dir, 0755), 0);
    assert_int_equal(spool_tmpfile(dir, &fd), 0);
    close(fd);
    assert_int_equal(lstat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    /* a link or a file in its place is refused */
    snprintf(path, sizeof path, "%s/link", base);
    assert_int_equal(symlink(dir, path), 0);
    assert_int_equal(spool_tmpfile(path, &fd), MAMORI_EIO);
    assert_int_equal(fd, -1);
    snprintf(path, sizeof path, "%s/file", base);
    fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(spool_tmpfile(path, &fd), MAMORI_EIO);
    /* a path too long */
    {
        char big[5000];
        memset(big, 'a', sizeof big - 1);
        big[sizeof big - 1] = '\0';
        assert_int_equal(spool_tmpfile(big, &fd), MAMORI_ETOOBIG);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_fresh_keys),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_flipped_byte),
        cmocka_unit_test(test_swapped_chunks),
        cmocka_unit_test(test_trailing_and_empty),
        cmocka_unit_test(test_states),
        cmocka_unit_test(test_tmpfile),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
