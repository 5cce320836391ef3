/*
 * test_keys.c - lib/keys.c: the key store. Key file and passphrase sources,
 * unsafe and wrong keys, dataset keys (stable, distinct, shredded, not
 * swappable), forward-evolving audit keys (also from two connections at
 * once), signing, tampered stores. Homes are mkdtemp directories under /tmp.
 */
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
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
#include <sqlite3.h>

#include "crypto.h"
#include "keys.h"
#include "banned.h"

#define VAULT "0b6f3c1e-8a41-4c9e-9d2f-5e7a1b3c4d5e"
#define DS_A "3f2a6c1d-0e4b-4a8f-8c7d-1a2b3c4d5e6f"
#define DS_B "9e8d7c6b-5a49-4382-b716-05f4e3d2c1b0"

struct home {
    char dir[64];
    char keyfile[128];
    char db[128];
};

/* Homes made by the running test, removed by its teardown even when an
 * assertion failed half-way. */
static char made[4][64];

static void home_make(struct home *h)
{
    size_t i;
    int n;

    n = snprintf(h->dir, sizeof(h->dir), "/tmp/mamori-keys-XXXXXX");
    assert_true(n > 0 && (size_t)n < sizeof(h->dir));
    assert_non_null(mkdtemp(h->dir));
    for (i = 0; i < 4 && made[i][0] != '\0'; i++)
        ;
    assert_true(i < 4);
    memcpy(made[i], h->dir, sizeof(made[i]));
    n = snprintf(h->keyfile, sizeof(h->keyfile), "%s/master.key", h->dir);
    assert_true(n > 0 && (size_t)n < sizeof(h->keyfile));
    n = snprintf(h->db, sizeof(h->db), "%s/keys.db", h->dir);
    assert_true(n > 0 && (size_t)n < sizeof(h->db));
}

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void home_remove(struct home *h)
{
    size_t i;

    assert_int_equal(nftw(h->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
    for (i = 0; i < 4; i++)
        if (strcmp(made[i], h->dir) == 0)
            made[i][0] = '\0';
}

static int cleanup(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < 4; i++) {
        if (made[i][0] != '\0' && access(made[i], F_OK) == 0)
            (void)nftw(made[i], rm_one, 16, FTW_DEPTH | FTW_PHYS);
        made[i][0] = '\0';
    }
    return 0;
}

static struct mamori_keysrc src_file(const char *path)
{
    struct mamori_keysrc s = {path, NULL, 0};

    return s;
}

static struct mamori_keysrc src_pass(const char *pass)
{
    struct mamori_keysrc s = {NULL, pass, strlen(pass)};

    return s;
}

/* A new key-file vault in h; returns the open store. */
static struct keys *make_vault(struct home *h)
{
    struct mamori_keysrc src = src_file(h->keyfile);
    struct keys *k = NULL;

    home_make(h);
    assert_int_equal(keys_create(h->dir, VAULT, &src, &k), 0);
    assert_non_null(k);
    return k;
}

static void write_file(const char *path, const void *p, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, p, len), (ssize_t)len);
    assert_int_equal(fchmod(fd, mode), 0);
    assert_int_equal(close(fd), 0);
}

/* Runs one SQL statement on keys.db from outside (the attacker's view). */
static void db_poke(const char *db, const char *sql)
{
    sqlite3 *d = NULL;

    assert_int_equal(sqlite3_open(db, &d), SQLITE_OK);
    assert_int_equal(sqlite3_exec(d, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_close(d), SQLITE_OK);
}

static int setup(void **state)
{
    (void)state;
    return crypto_init();
}

/* ---- key files ----------------------------------------------------------- */

static void test_create_keyfile(void **state)
{
    struct mamori_keysrc none = {NULL, NULL, 0}, src;
    char kind[16], path[PATH_MAX], *real;
    struct keys *k;
    struct home h;
    struct stat st;

    (void)state;
    k = make_vault(&h);
    assert_string_equal(keys_vault_id(k), VAULT);
    keys_close(k);

    /* the key file: 32 bytes, 0400; the store: 0600 */
    assert_int_equal(lstat(h.keyfile, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0400);
    assert_int_equal(st.st_size, 32);
    assert_int_equal(lstat(h.db, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);

    /* what the store remembers, without unsealing */
    assert_int_equal(keys_source(h.dir, kind, sizeof(kind), path, sizeof(path)),
                     0);
    assert_string_equal(kind, "keyfile");
    real = realpath(h.keyfile, NULL);
    assert_non_null(real);
    assert_string_equal(path, real);
    free(real);
    assert_int_equal(keys_source(h.dir, kind, 4, path, sizeof(path)),
                     MAMORI_ETOOBIG);
    assert_int_equal(keys_source(h.dir, kind, sizeof(kind), path, 5),
                     MAMORI_ETOOBIG);

    /* reopen with the file named, and with the remembered one */
    src = src_file(h.keyfile);
    assert_int_equal(keys_open(h.dir, &src, &k), 0);
    assert_string_equal(keys_vault_id(k), VAULT);
    keys_close(k);
    assert_int_equal(keys_open(h.dir, &none, &k), 0);
    keys_close(k);
    assert_int_equal(keys_open(h.dir, NULL, &k), 0);
    keys_close(k);
    /* a passphrase for a key-file vault */
    src = src_pass("some passphrase");
    k = (struct keys *)&h; /* must be reset to NULL */
    assert_int_equal(keys_open(h.dir, &src, &k), MAMORI_EKEY);
    assert_null(k);
    home_remove(&h);
}

static void test_keyfile_relative_path(void **state)
{
    struct mamori_keysrc src;
    char cwd[PATH_MAX], kind[16], path[PATH_MAX], want[PATH_MAX + 16];
    struct keys *k = NULL;
    struct home h;

    (void)state;
    home_make(&h);
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(h.dir), 0);
    src = src_file("rel.key");
    assert_int_equal(keys_create(h.dir, VAULT, &src, &k), 0);
    keys_close(k);
    assert_int_equal(chdir(cwd), 0);
    /* stored absolute, so it is found from any directory */
    assert_int_equal(keys_source(h.dir, kind, sizeof(kind), path, sizeof(path)),
                     0);
    assert_true(path[0] == '/');
    {
        char *real = realpath(h.dir, NULL);

        assert_non_null(real);
        assert_true(snprintf(want, sizeof(want), "%s/rel.key", real) > 0);
        free(real);
    }
    assert_string_equal(path, want);
    assert_int_equal(keys_open(h.dir, NULL, &k), 0);
    keys_close(k);
    home_remove(&h);
}

static void test_keyfile_existing(void **state)
{
    struct mamori_keysrc src;
    uint8_t raw[32];
    struct keys *k = NULL;
    struct home h;
    struct stat st;

    (void)state;
    home_make(&h);
    /* an existing safe key file is used as it is */
    crypto_random(raw, sizeof(raw));
    write_file(h.keyfile, raw, sizeof(raw), 0600);
    src = src_file(h.keyfile);
    assert_int_equal(keys_create(h.dir, VAULT, &src, &k), 0);
    keys_close(k);
    assert_int_equal(stat(h.keyfile, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(keys_open(h.dir, &src, &k), 0);
    keys_close(k);
    home_remove(&h);

    /* an existing unsafe one is refused, and nothing is left behind */
    home_make(&h);
    write_file(h.keyfile, raw, sizeof(raw), 0644);
    src = src_file(h.keyfile);
    assert_int_equal(keys_create(h.dir, VAULT, &src, &k), MAMORI_EKEY);
    assert_null(k);
    assert_int_equal(access(h.db, F_OK), -1);
    /* fixed, the same home works */
    assert_int_equal(chmod(h.keyfile, 0400), 0);
    assert_int_equal(keys_create(h.dir, VAULT, &src, &k), 0);
    keys_close(k);
    home_remove(&h);
}

static void test_keyfile_unsafe(void **state)
{
    struct mamori_keysrc src;
    char other[160], dirpath[160];
    uint8_t raw[64];
    struct keys *k = NULL;
    struct home h;

    (void)state;
    keys_close(make_vault(&h));
    src = src_file(h.keyfile);

    /* readable by group or others */
    assert_int_equal(chmod(h.keyfile, 0644), 0);
    assert_int_equal(keys_open(h.dir, &src, &k), MAMORI_EKEY);
    assert_null(k);
    assert_int_equal(chmod(h.keyfile, 0440), 0);
    assert_int_equal(keys_open(h.dir, &src, &k), MAMORI_EKEY);
    assert_int_equal(chmod(h.keyfile, 0404), 0);
    assert_int_equal(keys_open(h.dir, &src, &k), MAMORI_EKEY);
    assert_int_equal(chmod(h.keyfile, 0600), 0);
    assert_int_equal(keys_open(h.dir, &src, &k), 0);
    keys_close(k);

    /* a symlink to the key file */
    assert_true(snprintf(other, sizeof(other), "%s/link.key", h.dir) > 0);
    assert_int_equal(symlink(h.keyfile, other), 0);
    src = src_file(other);
    assert_int_equal(keys_open(h.dir, &src, &k), MAMORI_EKEY);

    /* wrong sizes */
    assert_true(snprintf(other, sizeof(other), "%s/short.key", h.dir) > 0);
    crypto_random(raw, sizeof(raw));
    write_file(other, raw, 31, 0400);
    assert_int_equal(keys_open(h.dir, &src, &k), MAMORI_EKEY);
    assert_true(snprintf(other, sizeof(other), "%s/long.key", h.dir) > 0);
    write_file(other, raw, 33, 0400);
    src = src_file(other);
    assert_int_equal(keys_open(h.dir, &src, &k), MAMORI_EKEY);
    write_file(other, raw, 0, 0400);
    assert_int_equal(keys_open(h.dir, &src, &k), MAMORI_EKEY);

    /* a directory, a device, a missing file */
    assert_true(snprintf(dirpath, sizeof(dirpath), "%s/dir.key", h.dir) > 0);
    assert_int_equal(mkdir(dirpath, 0700), 0);
    src = src_file(dirpath);
    assert_int_equal(keys_open(h.dir, &src, &k), MAMORI_EKEY);
    src = src_file("/dev/null");
    assert_int_equal(keys_open(h.dir, &src, &k), MAMORI_EKEY);
    src = src_file("/nonexistent/mamori.key");
    assert_int_equal(keys_open(h.dir, &src, &k), MAMORI_EKEY);
    assert_null(k);
    home_remove(&h);
}

static void test_keyfile_wrong(void **state)
{
    struct mamori_keysrc src;
    char other[160];
    uint8_t raw[32];
    struct keys *k = NULL;
    struct home h;

    (void)state;
    keys_close(make_vault(&h));
    assert_true(snprintf(other, sizeof(other), "%s/other.key", h.dir) > 0);
    crypto_random(raw, sizeof(raw));
    write_file(other, raw, sizeof(raw), 0400);
    src = src_file(other);
    assert_int_equal(keys_open(h.dir, &src, &k), MAMORI_EKEY);
    assert_null(k);

    /* the remembered key file replaced by another one */
    assert_int_equal(unlink(h.keyfile), 0);
    write_file(h.keyfile, raw, sizeof(raw), 0400);
    assert_int_equal(keys_open(h.dir, NULL, &k), MAMORI_EKEY);
    /* or gone */
    assert_int_equal(unlink(h.keyfile), 0);
    assert_int_equal(keys_open(h.dir, NULL, &k), MAMORI_EKEY);
    assert_null(k);
    home_remove(&h);
}

/* ---- passphrases --------------------------------------------------------- */

static void test_passphrase(void **state)
{
    struct mamori_keysrc src = src_pass("いろはにほへと 2024 passphrase");
    struct mamori_keysrc wrong = src_pass("いろはにほへと 2024 passphrasf");
    struct mamori_keysrc none = {NULL, NULL, 0}, file;
    char kind[16], path[64];
    uint8_t pk1[32], pk2[32];
    struct keys *k = NULL;
    struct home h;
    struct stat st;

    (void)state;
    home_make(&h);
    assert_int_equal(keys_create(h.dir, VAULT, &src, &k), 0);
    keys_sign_public(k, pk1);
    keys_close(k);
    assert_int_equal(stat(h.db, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);

    memset(path, 'x', sizeof(path));
    assert_int_equal(keys_source(h.dir, kind, sizeof(kind), path, sizeof(path)),
                     0);
    assert_string_equal(kind, "passphrase");
    assert_string_equal(path, "");

    assert_int_equal(keys_open(h.dir, &src, &k), 0);
    keys_sign_public(k, pk2);
    assert_memory_equal(pk1, pk2, 32);
    keys_close(k);
    k = NULL;
    assert_int_equal(keys_open(h.dir, &wrong, &k), MAMORI_EKEY);
    assert_null(k);
    assert_int_equal(keys_open(h.dir, &none, &k), MAMORI_EKEY);
    file = src_file(h.keyfile);
    assert_int_equal(keys_open(h.dir, &file, &k), MAMORI_EKEY);
    assert_null(k);

    /* stored Argon2id parameters weakened below the floor are refused
     * (before any key derivation) */
    db_poke(h.db, "UPDATE meta SET value = 1 WHERE key = 'argon_ops'");
    assert_int_equal(keys_open(h.dir, &src, &k), MAMORI_EKEY);
    db_poke(h.db, "UPDATE meta SET value = 3 WHERE key = 'argon_ops'");
    db_poke(h.db, "UPDATE meta SET value = 1048576 WHERE key = 'argon_mem'");
    assert_int_equal(keys_open(h.dir, &src, &k), MAMORI_EKEY);
    /* or absurdly high (a denial of service) */
    db_poke(h.db,
            "UPDATE meta SET value = 1099511627776 WHERE key = 'argon_mem'");
    assert_int_equal(keys_open(h.dir, &src, &k), MAMORI_EKEY);
    assert_null(k);
    home_remove(&h);
}

static void test_create_refused(void **state)
{
    struct mamori_keysrc file, pass = src_pass("passphrase"), both;
    struct mamori_keysrc empty = {NULL, "", 0}, none = {NULL, NULL, 0};
    char missing[160];
    struct keys *k = NULL;
    struct home h;

    (void)state;
    k = make_vault(&h);
    keys_close(k);
    k = NULL;
    file = src_file(h.keyfile);
    both = file;
    both.passphrase = "passphrase";
    both.passphrase_len = 10;

    /* an existing store is never overwritten */
    assert_int_equal(keys_create(h.dir, VAULT, &file, &k), MAMORI_EEXIST);
    assert_int_equal(keys_create(h.dir, VAULT, &pass, &k), MAMORI_EEXIST);
    assert_null(k);
    assert_int_equal(keys_open(h.dir, &file, &k), 0);
    keys_close(k);
    k = NULL;

    /* bad arguments */
    assert_true(snprintf(missing, sizeof(missing), "%s/nope", h.dir) > 0);
    assert_int_equal(keys_create(missing, VAULT, &file, &k), MAMORI_ENOTFOUND);
    assert_int_equal(keys_create(h.keyfile, VAULT, &file, &k),
                     MAMORI_ENOTFOUND);
    assert_int_equal(keys_create(h.dir, VAULT, &both, &k), MAMORI_EINVAL);
    assert_int_equal(keys_create(h.dir, VAULT, &none, &k), MAMORI_EINVAL);
    assert_int_equal(keys_create(h.dir, VAULT, &empty, &k), MAMORI_EINVAL);
    assert_int_equal(keys_create(h.dir, VAULT, NULL, &k), MAMORI_EINVAL);
    assert_int_equal(keys_create(h.dir, "", &file, &k), MAMORI_EINVAL);
    assert_int_equal(keys_create(h.dir, "a|b", &file, &k), MAMORI_EINVAL);
    assert_int_equal(keys_create(h.dir, NULL, &file, &k), MAMORI_EINVAL);
    assert_int_equal(keys_create(h.dir,
                                 "0123456789012345678901234567890123456789"
                                 "0123456789012345678901234567890123456789",
                                 &file, &k),
                     MAMORI_EINVAL);
    assert_int_equal(keys_create(NULL, VAULT, &file, &k), MAMORI_EINVAL);
    assert_null(k);
    assert_int_equal(keys_open(h.dir, &both, &k), MAMORI_EINVAL);
    assert_int_equal(keys_open(missing, &file, &k), MAMORI_ENOTFOUND);
    assert_null(k);
    {
        char kind[16], path[64];

        assert_int_equal(
            keys_source(missing, kind, sizeof(kind), path, sizeof(path)),
            MAMORI_ENOTFOUND);
    }
    home_remove(&h);

    /* a home without a store */
    home_make(&h);
    assert_int_equal(keys_open(h.dir, &file, &k), MAMORI_ENOTFOUND);
    home_remove(&h);
}

/* ---- dataset keys -------------------------------------------------------- */

static void test_dataset_keys(void **state)
{
    const uint8_t *a1, *a1again, *a0, *b1, *p;
    uint8_t save_a1[32], save_a0[32], save_b1[32];
    struct keys *k;
    struct home h;

    (void)state;
    k = make_vault(&h);
    assert_int_equal(keys_dataset_key(k, DS_A, 1, 0, &p), MAMORI_ENOTFOUND);
    assert_null(p);
    assert_int_equal(keys_dataset_key(k, DS_A, 1, 1, &a1), 0);
    assert_int_equal(keys_dataset_key(k, DS_A, 1, 0, &a1again), 0);
    assert_ptr_equal(a1, a1again);
    assert_int_equal(keys_dataset_key(k, DS_A, 0, 1, &a0), 0);
    assert_int_equal(keys_dataset_key(k, DS_B, 1, 1, &b1), 0);
    assert_memory_not_equal(a1, a0, 32);
    assert_memory_not_equal(a1, b1, 32);
    assert_memory_not_equal(a0, b1, 32);
    memcpy(save_a1, a1, 32);
    memcpy(save_a0, a0, 32);
    memcpy(save_b1, b1, 32);
    keys_close(k);

    /* stable across reopen */
    assert_int_equal(keys_open(h.dir, NULL, &k), 0);
    assert_int_equal(keys_dataset_key(k, DS_A, 1, 0, &p), 0);
    assert_memory_equal(p, save_a1, 32);
    assert_int_equal(keys_dataset_key(k, DS_A, 0, 1, &p), 0);
    assert_memory_equal(p, save_a0, 32);
    assert_int_equal(keys_dataset_key(k, DS_B, 1, 0, &p), 0);
    assert_memory_equal(p, save_b1, 32);
    assert_int_equal(keys_dataset_key(k, DS_A, 2, 0, &p), MAMORI_ENOTFOUND);
    assert_int_equal(keys_dataset_key(k, DS_A, UINT32_MAX, 1, &p), 0);
    assert_memory_not_equal(p, save_a1, 32);

    /* destroyed: gone, cannot be re-created, the other dataset stays */
    assert_int_equal(keys_dataset_destroy(k, DS_A), 0);
    assert_int_equal(keys_dataset_key(k, DS_A, 1, 0, &p), MAMORI_ENOTFOUND);
    assert_int_equal(keys_dataset_key(k, DS_A, 0, 0, &p), MAMORI_ENOTFOUND);
    assert_int_equal(keys_dataset_key(k, DS_A, 1, 1, &p), MAMORI_ENOTFOUND);
    assert_int_equal(keys_dataset_key(k, DS_A, 7, 1, &p), MAMORI_ENOTFOUND);
    assert_int_equal(keys_dataset_key(k, DS_B, 1, 0, &p), 0);
    assert_memory_equal(p, save_b1, 32);
    assert_int_equal(keys_dataset_destroy(k, DS_A), 0); /* idempotent */
    keys_close(k);
    assert_int_equal(keys_open(h.dir, NULL, &k), 0);
    assert_int_equal(keys_dataset_key(k, DS_A, 1, 1, &p), MAMORI_ENOTFOUND);
    assert_int_equal(keys_dataset_key(k, DS_B, 1, 0, &p), 0);
    assert_memory_equal(p, save_b1, 32);

    /* hostile ids */
    assert_int_equal(keys_dataset_key(k, "", 1, 1, &p), MAMORI_EINVAL);
    assert_int_equal(keys_dataset_key(k, NULL, 1, 1, &p), MAMORI_EINVAL);
    assert_int_equal(keys_dataset_key(k, "a|1", 1, 1, &p), MAMORI_EINVAL);
    assert_int_equal(keys_dataset_key(k, "a'; DROP TABLE dek; --", 1, 1, &p),
                     MAMORI_EINVAL);
    assert_int_equal(
        keys_dataset_key(k,
                         "0123456789012345678901234567890123456789"
                         "0123456789012345678901234567890123456789",
                         1, 1, &p),
        MAMORI_EINVAL);
    assert_int_equal(keys_dataset_key(k, DS_B, 1, 1, NULL), MAMORI_EINVAL);
    assert_int_equal(keys_dataset_destroy(k, "x|y"), MAMORI_EINVAL);
    keys_close(k);
    home_remove(&h);
}

static void test_dataset_many(void **state)
{
    const uint8_t *first[150], *p;
    char ds[40];
    struct keys *k;
    struct home h;
    int i;

    (void)state;
    k = make_vault(&h);
    /* more than one slab of cached keys; pointers stay valid */
    for (i = 0; i < 150; i++) {
        assert_true(snprintf(ds, sizeof(ds), "dataset-%03d", i) > 0);
        assert_int_equal(keys_dataset_key(k, ds, 1, 1, &first[i]), 0);
    }
    for (i = 0; i < 150; i++) {
        assert_true(snprintf(ds, sizeof(ds), "dataset-%03d", i) > 0);
        assert_int_equal(keys_dataset_key(k, ds, 1, 0, &p), 0);
        assert_ptr_equal(p, first[i]);
        if (i > 0)
            assert_memory_not_equal(first[i], first[i - 1], 32);
    }
    /* destroyed slots are reused */
    assert_int_equal(keys_dataset_destroy(k, "dataset-000"), 0);
    assert_int_equal(keys_dataset_key(k, "dataset-new", 1, 1, &p), 0);
    assert_int_equal(keys_dataset_key(k, "dataset-149", 1, 0, &p), 0);
    assert_ptr_equal(p, first[149]);
    keys_close(k);
    home_remove(&h);
}

/* Reads the wrapped blob of a DEK straight from keys.db. */
static size_t read_wrapped(const char *db, const char *ds, uint8_t *out,
                           size_t max)
{
    sqlite3 *d = NULL;
    sqlite3_stmt *st = NULL;
    size_t n;

    assert_int_equal(sqlite3_open(db, &d), SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(d,
                           "SELECT wrapped FROM dek WHERE dataset = ?1 "
                           "AND version = 1",
                           -1, &st, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_bind_text(st, 1, ds, -1, SQLITE_STATIC),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    n = (size_t)sqlite3_column_bytes(st, 0);
    assert_true(n <= max);
    memcpy(out, sqlite3_column_blob(st, 0), n);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_close(d), SQLITE_OK);
    return n;
}

static void test_dek_swap(void **state)
{
    const uint8_t *p;
    uint8_t a[32];
    struct keys *k;
    struct home h;

    (void)state;
    k = make_vault(&h);
    assert_int_equal(keys_dataset_key(k, DS_A, 1, 1, &p), 0);
    memcpy(a, p, 32);
    assert_int_equal(keys_dataset_key(k, DS_B, 1, 1, &p), 0);
    assert_int_equal(keys_dataset_key(k, DS_A, 2, 1, &p), 0);
    keys_close(k);

    /* A's wrapped key copied into B's row, and into A's version 2 */
    db_poke(h.db,
            "UPDATE dek SET wrapped = (SELECT wrapped FROM dek WHERE "
            "dataset = '" DS_A "' AND version = 1) WHERE dataset = '" DS_B "'");
    db_poke(h.db, "UPDATE dek SET wrapped = (SELECT wrapped FROM dek WHERE "
                  "dataset = '" DS_A "' AND version = 1) WHERE dataset = '" DS_A
                  "' AND version = 2");
    /* a row truncated */
    db_poke(h.db, "INSERT INTO dek VALUES ('short', 1, x'00112233', 0)");
    assert_int_equal(keys_open(h.dir, NULL, &k), 0);
    assert_int_equal(keys_dataset_key(k, DS_B, 1, 0, &p), MAMORI_ECRYPTO);
    assert_null(p);
    assert_int_equal(keys_dataset_key(k, DS_B, 1, 1, &p), MAMORI_ECRYPTO);
    assert_int_equal(keys_dataset_key(k, DS_A, 2, 0, &p), MAMORI_ECRYPTO);
    assert_int_equal(keys_dataset_key(k, "short", 1, 0, &p), MAMORI_ECRYPTO);
    assert_int_equal(keys_dataset_key(k, DS_A, 1, 0, &p), 0);
    assert_memory_equal(p, a, 32);
    keys_close(k);
    home_remove(&h);
}

/* After destroy, the wrapped key is in neither keys.db nor its WAL (while
 * the store is still open). */
static void test_destroy_leaves_no_copy(void **state)
{
    const char *suffix[] = {"", "-wal"};
    uint8_t blob[128], *buf;
    const uint8_t *p;
    size_t n, i;
    struct keys *k;
    struct home h;

    (void)state;
    k = make_vault(&h);
    assert_int_equal(keys_dataset_key(k, DS_A, 1, 1, &p), 0);
    n = read_wrapped(h.db, DS_A, blob, sizeof(blob));
    assert_int_equal(n, 32 + CRYPTO_AEAD_OVERHEAD);
    assert_int_equal(keys_dataset_destroy(k, DS_A), 0);
    /* still open: closing would checkpoint the WAL anyway */
    buf = malloc(1 << 22);
    assert_non_null(buf);
    for (i = 0; i < 2; i++) {
        char path[160];
        FILE *f;
        size_t got;

        assert_true(snprintf(path, sizeof(path), "%s%s", h.db, suffix[i]) > 0);
        f = fopen(path, "rb");
        if (f == NULL)
            continue; /* no WAL left at all */
        got = fread(buf, 1, 1 << 22, f);
        fclose(f);
        assert_null(memmem(buf, got, blob, n));
    }
    keys_close(k);
    free(buf);
    home_remove(&h);
}

struct dek_thread {
    struct keys *k;
    const uint8_t *ptr[40];
    int failures;
};

static void *dek_worker(void *arg)
{
    struct dek_thread *t = arg;
    char ds[32];
    int i;

    for (i = 0; i < 40; i++) {
        if (snprintf(ds, sizeof(ds), "ds-%d", i) <= 0 ||
            keys_dataset_key(t->k, ds, 1, 1, &t->ptr[i]) != 0)
            t->failures++;
    }
    return NULL;
}

static void test_dataset_threads(void **state)
{
    struct dek_thread t[2];
    pthread_t th[2];
    struct keys *k;
    struct home h;
    int i;

    (void)state;
    k = make_vault(&h);
    for (i = 0; i < 2; i++) {
        memset(&t[i], 0, sizeof(t[i]));
        t[i].k = k;
        assert_int_equal(pthread_create(&th[i], NULL, dek_worker, &t[i]), 0);
    }
    for (i = 0; i < 2; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(t[i].failures, 0);
    }
    for (i = 0; i < 40; i++)
        assert_ptr_equal(t[0].ptr[i], t[1].ptr[i]);
    keys_close(k);
    home_remove(&h);
}

/* ---- audit keys ---------------------------------------------------------- */

static void evolve_n(const uint8_t *k0, unsigned n, uint8_t out[32])
{
    uint8_t cur[32];
    unsigned i;

    memcpy(cur, k0, 32);
    for (i = 0; i < n; i++)
        keys_audit_evolve(cur, cur);
    memcpy(out, cur, 32);
}

static void test_audit_keys(void **state)
{
    const uint8_t *k0;
    uint8_t k0copy[32], got[32], want[32], step[32];
    uint64_t stored = 99;
    struct keys *k;
    struct home h;

    (void)state;
    k = make_vault(&h);
    assert_int_equal(keys_audit_initial(k, &k0), 0);
    memcpy(k0copy, k0, 32);
    assert_int_equal(keys_audit_key(k, 0, got, &stored), 0);
    assert_memory_equal(got, k0copy, 32);
    assert_int_equal(stored, 0);

    /* evolve is deterministic and moves */
    keys_audit_evolve(k0copy, step);
    assert_memory_not_equal(step, k0copy, 32);
    evolve_n(k0copy, 1, want);
    assert_memory_equal(step, want, 32);

    assert_int_equal(keys_audit_key(k, 3, got, &stored), 0);
    evolve_n(k0copy, 3, want);
    assert_memory_equal(got, want, 32);
    /* deriving moves nothing: the entries that need the key may yet be
     * rolled back, and the log then goes on in the older epoch */
    assert_int_equal(stored, 0);
    assert_int_equal(keys_audit_key(k, 0, got, NULL), 0);
    assert_memory_equal(got, k0copy, 32);
    assert_int_equal(keys_audit_advance(k, 3), 0);
    assert_int_equal(keys_audit_key(k, 3, got, &stored), 0);
    evolve_n(k0copy, 3, want);
    assert_memory_equal(got, want, 32);
    assert_int_equal(stored, 3);
    assert_int_equal(keys_audit_key(k, 2, got, NULL), MAMORI_ESTATE);
    assert_int_equal(keys_audit_key(k, 0, got, NULL), MAMORI_ESTATE);
    /* advancing is forward only; to where it is, or back, does nothing */
    assert_int_equal(keys_audit_advance(k, 3), 0);
    assert_int_equal(keys_audit_advance(k, 1), 0);
    assert_int_equal(keys_audit_key(k, 3, got, &stored), 0);
    assert_memory_equal(got, want, 32);
    assert_int_equal(stored, 3);
    /* k0 is still there for verifiers */
    assert_int_equal(keys_audit_initial(k, &k0), 0);
    assert_memory_equal(k0, k0copy, 32);
    keys_close(k);

    /* the evolved key is what was stored */
    assert_int_equal(keys_open(h.dir, NULL, &k), 0);
    assert_int_equal(keys_audit_key(k, 2, got, NULL), MAMORI_ESTATE);
    assert_int_equal(keys_audit_key(k, 3, got, NULL), 0);
    assert_memory_equal(got, want, 32);
    assert_int_equal(keys_audit_key(k, 10, got, NULL), 0);
    evolve_n(k0copy, 10, want);
    assert_memory_equal(got, want, 32);
    assert_int_equal(keys_audit_advance(k, 10), 0);
    assert_int_equal(keys_audit_initial(k, &k0), 0);
    assert_memory_equal(k0, k0copy, 32);
    /* nonsense epochs */
    assert_int_equal(keys_audit_key(k, UINT64_MAX, got, NULL), MAMORI_EINVAL);
    assert_int_equal(keys_audit_key(k, (uint64_t)1 << 40, got, NULL),
                     MAMORI_EINVAL);
    assert_int_equal(keys_audit_key(k, 11, NULL, NULL), MAMORI_EINVAL);
    assert_int_equal(keys_audit_advance(k, UINT64_MAX), MAMORI_EINVAL);
    assert_int_equal(keys_audit_advance(k, (uint64_t)1 << 40), MAMORI_EINVAL);
    assert_int_equal(keys_audit_key(k, 10, got, &stored), 0);
    assert_memory_equal(got, want, 32);
    assert_int_equal(stored, 10);
    keys_close(k);

    /* a stored key moved to another epoch does not unwrap */
    db_poke(h.db, "UPDATE meta SET value = 11 WHERE key = 'audit_epoch'");
    assert_int_equal(keys_open(h.dir, NULL, &k), 0);
    assert_int_equal(keys_audit_key(k, 12, got, NULL), MAMORI_ECRYPTO);
    assert_int_equal(keys_audit_advance(k, 12), MAMORI_ECRYPTO);
    keys_close(k);
    home_remove(&h);
}

struct audit_thread {
    struct keys *k;
    const uint8_t (*table)[32];
    unsigned start;
    int ok, stale, bad;
};

#define AUDIT_EPOCHS 120

static void *audit_worker(void *arg)
{
    struct audit_thread *t = arg;
    uint8_t got[32];
    unsigned e;

    for (e = t->start; e < AUDIT_EPOCHS; e += 2) {
        int rc = keys_audit_key(t->k, e, got, NULL);

        if (rc == 0 && memcmp(got, t->table[e], 32) == 0)
            t->ok += keys_audit_advance(t->k, e) == 0;
        else if (rc == MAMORI_ESTATE)
            t->stale++;
        else
            t->bad++;
    }
    return NULL;
}

/* Two connections (as two processes would) evolve the same key at once. */
static void test_audit_two_connections(void **state)
{
    uint8_t(*table)[32] = malloc(AUDIT_EPOCHS * 32);
    struct audit_thread t[2];
    const uint8_t *k0;
    pthread_t th[2];
    struct keys *k1, *k2;
    uint8_t got[32];
    struct home h;
    int i;

    (void)state;
    assert_non_null(table);
    k1 = make_vault(&h);
    assert_int_equal(keys_open(h.dir, NULL, &k2), 0);
    assert_int_equal(keys_audit_initial(k1, &k0), 0);
    memcpy(table[0], k0, 32);
    for (i = 1; i < AUDIT_EPOCHS; i++)
        keys_audit_evolve(table[i - 1], table[i]);
    for (i = 0; i < 2; i++) {
        memset(&t[i], 0, sizeof(t[i]));
        t[i].k = i == 0 ? k1 : k2;
        t[i].table = (const uint8_t(*)[32])table;
        t[i].start = (unsigned)i;
        assert_int_equal(pthread_create(&th[i], NULL, audit_worker, &t[i]), 0);
    }
    for (i = 0; i < 2; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(t[i].bad, 0);
        assert_int_equal(t[i].ok + t[i].stale, AUDIT_EPOCHS / 2);
    }
    assert_true(t[0].ok + t[1].ok > 0);
    /* both connections agree on the newest key */
    assert_int_equal(keys_audit_key(k1, AUDIT_EPOCHS - 1, got, NULL), 0);
    assert_memory_equal(got, table[AUDIT_EPOCHS - 1], 32);
    assert_int_equal(keys_audit_key(k2, AUDIT_EPOCHS - 1, got, NULL), 0);
    assert_memory_equal(got, table[AUDIT_EPOCHS - 1], 32);
    assert_int_equal(keys_audit_key(k2, AUDIT_EPOCHS - 2, got, NULL),
                     MAMORI_ESTATE);
    keys_close(k1);
    keys_close(k2);
    free(table);
    home_remove(&h);
}

/* ---- signing and tampering ----------------------------------------------- */

static void test_sign(void **state)
{
    uint8_t pk[32], pk2[32], sig[CRYPTO_SIG_LEN];
    const char msg[] = "erasure certificate: dataset " DS_A;
    struct keys *k;
    struct home h;

    (void)state;
    k = make_vault(&h);
    keys_sign_public(k, pk);
    assert_int_equal(keys_sign(k, msg, strlen(msg), sig), 0);
    assert_int_equal(crypto_ed25519_verify(pk, msg, strlen(msg), sig), 1);
    sig[10] ^= 0x01;
    assert_int_equal(crypto_ed25519_verify(pk, msg, strlen(msg), sig), 0);
    sig[10] ^= 0x01;
    assert_int_equal(crypto_ed25519_verify(pk, msg, strlen(msg) - 1, sig), 0);
    assert_int_equal(keys_sign(k, NULL, 5, sig), MAMORI_EINVAL);
    keys_close(k);

    /* the same key after reopening */
    assert_int_equal(keys_open(h.dir, NULL, &k), 0);
    keys_sign_public(k, pk2);
    assert_memory_equal(pk, pk2, 32);
    assert_int_equal(keys_sign(k, msg, strlen(msg), sig), 0);
    assert_int_equal(crypto_ed25519_verify(pk, msg, strlen(msg), sig), 1);
    keys_close(k);

    /* a public key replaced in the store is noticed */
    db_poke(h.db, "UPDATE meta SET value = zeroblob(32) WHERE key = 'sign_pk'");
    assert_int_equal(keys_open(h.dir, NULL, &k), MAMORI_ECRYPTO);
    home_remove(&h);
}

static void test_tampered_store(void **state)
{
    struct keys *k = NULL;
    struct home h;

    (void)state;
    keys_close(make_vault(&h));
    /* another vault id: the wrapped KEK no longer matches its AD */
    db_poke(h.db, "UPDATE meta SET value = 'another-vault' WHERE key = "
                  "'vault_id'");
    assert_int_equal(keys_open(h.dir, NULL, &k), MAMORI_EKEY);
    db_poke(h.db, "UPDATE meta SET value = '" VAULT "' WHERE key = "
                  "'vault_id'");
    assert_int_equal(keys_open(h.dir, NULL, &k), 0);
    keys_close(k);
    k = NULL;
    /* a newer format */
    db_poke(h.db, "UPDATE meta SET value = 2 WHERE key = 'format'");
    assert_int_equal(keys_open(h.dir, NULL, &k), MAMORI_ESCHEMA);
    db_poke(h.db, "UPDATE meta SET value = 1 WHERE key = 'format'");
    /* a damaged k0 */
    db_poke(h.db, "UPDATE meta SET value = zeroblob(60) WHERE key = "
                  "'audit_k0'");
    assert_int_equal(keys_open(h.dir, NULL, &k), MAMORI_ECRYPTO);
    /* missing rows */
    db_poke(h.db, "DELETE FROM meta WHERE key = 'audit_k0'");
    assert_int_equal(keys_open(h.dir, NULL, &k), MAMORI_ECRYPTO);
    db_poke(h.db, "DELETE FROM meta WHERE key = 'source'");
    assert_int_equal(keys_open(h.dir, NULL, &k), MAMORI_ECRYPTO);
    assert_null(k);
    home_remove(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_create_keyfile, cleanup),
        cmocka_unit_test_teardown(test_keyfile_relative_path, cleanup),
        cmocka_unit_test_teardown(test_keyfile_existing, cleanup),
        cmocka_unit_test_teardown(test_keyfile_unsafe, cleanup),
        cmocka_unit_test_teardown(test_keyfile_wrong, cleanup),
        cmocka_unit_test_teardown(test_passphrase, cleanup),
        cmocka_unit_test_teardown(test_create_refused, cleanup),
        cmocka_unit_test_teardown(test_dataset_keys, cleanup),
        cmocka_unit_test_teardown(test_dataset_many, cleanup),
        cmocka_unit_test_teardown(test_dek_swap, cleanup),
        cmocka_unit_test_teardown(test_destroy_leaves_no_copy, cleanup),
        cmocka_unit_test_teardown(test_dataset_threads, cleanup),
        cmocka_unit_test_teardown(test_audit_keys, cleanup),
        cmocka_unit_test_teardown(test_audit_two_connections, cleanup),
        cmocka_unit_test_teardown(test_sign, cleanup),
        cmocka_unit_test_teardown(test_tampered_store, cleanup),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
