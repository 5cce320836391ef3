/*
 * fuzz_spool.c - the upload spool reads back a file from disk (lib/spool.c).
 * The input drives a round trip and then damage to the file: the spool
 * must give back exactly what was written when the file is intact, and
 * refuse, saying why, when any byte of it was changed, cut or added.
 *
 * Input: byte 0 picks the write pattern (piece sizes), byte 1 the number
 * of damages (0-3), then 6 bytes per damage (4: position, 1: xor mask or
 * length, 1: kind), then the plaintext.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static void drop_dir(void)
{
    (void)rmdir(dir); /* empty: the spool files have no name */
}

static void make_dir(void)
{
    if (dir[0])
        return;
    snprintf(dir, sizeof dir, "/tmp/mamori-fuzz-spool.XXXXXX");
    if (!mkdtemp(dir) || atexit(drop_dir) != 0)
        abort();
}

/* The whole file, malloc'd; *n its size. */
static uint8_t *slurp(int fd, size_t *n)
{
    struct stat st;
    uint8_t *p;

    if (fstat(fd, &st) != 0)
        abort();
    *n = (size_t)st.st_size;
    p = malloc(*n + 1);
    if (!p || pread(fd, p, *n, 0) != (ssize_t)*n)
        abort();
    return p;
}

/* Damage: 0 flips bits at pos, 1 cuts the file at pos, 2 appends bytes. */
static void damage(int fd, const uint8_t d[6])
{
    struct stat st;
    uint32_t pos = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 |
                   (uint32_t)d[2] << 8 | d[3];
    uint8_t b;

    if (fstat(fd, &st) != 0)
        abort();
    if (st.st_size == 0 && d[5] % 3 != 2)
        return; /* cut to nothing already */
    pos = st.st_size ? pos % (uint32_t)st.st_size : 0;
    switch (d[5] % 3) {
    case 0:
        if (pread(fd, &b, 1, pos) != 1)
            abort();
        b ^= d[4];
        if (pwrite(fd, &b, 1, pos) != 1)
            abort();
        return;
    case 1:
        if (ftruncate(fd, pos) != 0)
            abort();
        return;
    default:
        b = d[4];
        for (int i = 0; i <= d[4] % 8; i++)
            if (pwrite(fd, &b, 1, st.st_size + i) != 1)
                abort();
        return;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct spool *sp = NULL;
    size_t ndamage, at, piece, off = 0;
    uint8_t *back = NULL, *before, *after;
    size_t nbefore, nafter;
    long got;
    int fd = -1, fd2 = -1, changed = 0, failed = 0;

    if (size < 2)
        return 0;
    ndamage = data[1] % 4;
    if (size < 2 + 6 * ndamage)
        return 0;
    at = 2 + 6 * ndamage;
    make_dir();
    if (spool_tmpfile(dir, &fd) != 0)
        abort();
    fd2 = dup(fd);
    if (fd2 < 0 || spool_new(fd, &sp) != 0)
        abort();
    /* Pieces of 1, 7, 4096 or 70000 bytes: chunk edges get crossed. */
    piece = (size_t[]){1, 7, 4096, 70000}[data[0] % 4];
    while (at + off < size) {
        size_t n = size - at - off < piece ? size - at - off : piece;
        if (spool_write(sp, data + at + off, n) != 0)
            abort();
        off += n;
    }
    if (spool_finish(sp) != 0 || spool_size(sp) != size - at)
        abort();
    before = slurp(fd2, &nbefore);
    for (size_t i = 0; i < ndamage; i++)
        damage(fd2, data + 2 + 6 * i);
    after = slurp(fd2, &nafter);
    /* (two flips of one byte undo each other) */
    changed = nbefore != nafter || memcmp(before, after, nafter) != 0;
    free(before);
    free(after);
    back = malloc(size - at + 1);
    if (!back)
        abort();
    off = 0;
    for (;;) {
        got = spool_read(sp, back + off, size - at + 1 - off);
        if (got < 0) {
            failed = 1;
            break;
        }
        if (got == 0)
            break;
        off += (size_t)got;
        if (off > size - at)
            abort(); /* more came back than went in */
    }
    if (failed) {
        const char *why = spool_why(sp);
        if (!changed || !why || !*why)
            abort(); /* an intact spool refused, or a refusal without why */
    } else if (changed || off != size - at || memcmp(back, data + at, off)) {
        abort(); /* damage not seen, or different bytes back */
    }
    free(back);
    spool_free(sp);
    close(fd2);
    return 0;
}
