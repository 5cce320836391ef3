/*
 * keys.c - the key store DIR/keys.db (see keys.h).
 *
 * Tables:
 *   meta(key, value)       format, vault_id, source ("keyfile" or
 *                          "passphrase"), key_file (absolute path), argon_salt,
 *                          argon_ops, argon_mem, kek, audit_k0, audit_epoch,
 *                          audit_cur, sign_pk, sign_sk
 *   dek(dataset, version, wrapped, created)
 *   shredded(dataset, at)  datasets whose keys were destroyed: never re-keyed
 *
 * Every wrapped blob is crypto_aead_encrypt(wrapping key, AD, key) where the
 * AD names what is wrapped ("mamori-dek|<vault>|<dataset>|<version>", ...),
 * so a blob copied to another row does not unwrap. The KEK is wrapped by the
 * unseal key (the key file's 32 bytes, or Argon2id of the passphrase), all
 * else by the KEK. Losing a committed DEK loses data, so the store runs with
 * synchronous=FULL.
 *
 * One mutex guards the SQLite handle and the DEK cache; unwrapped keys live
 * in guarded slabs that never move, so pointers handed out stay valid.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "keys.h"
#include "banned.h"

#define KEYS_FORMAT 1
#define KEYS_DB "keys.db"
#define KEYFILE_LEN 32
#define ID_MAX 64
#define AD_MAX 256
#define WRAP_LEN(n) ((n) + CRYPTO_AEAD_OVERHEAD)
#define BUSY_MS 10000
/* Ceilings on stored Argon2id parameters, so that a tampered key store
 * cannot make open run for hours. */
#define ARGON_OPS_MAX 64
#define ARGON_MEM_MAX (4ull * 1024 * 1024 * 1024)
/* The most epochs one keys_audit_key call steps forward (about a minute). */
#define AUDIT_MAX_STEPS (1ull << 26)
/* DEKs per guarded slab. */
#define SLAB_KEYS 64

struct dek_slot {
    char dataset[ID_MAX + 1];
    uint32_t version;
    int used;
    uint8_t *key; /* into a slab */
};

/* Layout of the guarded block of long-lived secrets. */
struct keys_secret {
    uint8_t kek[CRYPTO_KEY_LEN];
    uint8_t k0[CRYPTO_KEY_LEN];
    uint8_t sign_sk[CRYPTO_SIGN_SK_LEN];
};

struct keys {
    pthread_mutex_t mu;
    sqlite3 *db;
    char vault_id[ID_MAX + 1];
    struct keys_secret *sec;
    uint8_t sign_pk[CRYPTO_SIGN_PK_LEN];
    struct dek_slot *slots; /* nslabs * SLAB_KEYS entries */
    uint8_t **slabs;
    size_t nslabs;
};

/* ---- small helpers ------------------------------------------------------- */

static int sql_err(int rc)
{
    return (rc & 0xff) == SQLITE_NOMEM ? MAMORI_ENOMEM : MAMORI_EIO;
}

/* Ids that go into AD strings: 1..ID_MAX of [A-Za-z0-9_-], so that '|'
 * cannot make two AD strings equal. */
static int valid_id(const char *s)
{
    size_t i;

    if (s == NULL || s[0] == '\0')
        return 0;
    for (i = 0; s[i] != '\0'; i++) {
        char c = s[i];

        if (i >= ID_MAX)
            return 0;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

static int join_path(char *out, size_t size, const char *dir, const char *name)
{
    int n = snprintf(out, size, "%s/%s", dir, name);

    if (n < 0 || (size_t)n >= size)
        return MAMORI_ETOOBIG;
    return 0;
}

static int check_home(const char *home)
{
    struct stat st;

    if (home == NULL || home[0] == '\0')
        return MAMORI_EINVAL;
    if (stat(home, &st) != 0)
        return errno == ENOENT || errno == ENOTDIR ? MAMORI_ENOTFOUND
                                                   : MAMORI_EIO;
    if (!S_ISDIR(st.st_mode))
        return MAMORI_ENOTFOUND;
    return 0;
}

/* The path of an existing key store in home: a regular file, not a link. */
static int existing_db(const char *home, char *dbpath, size_t size)
{
    struct stat st;
    int rc = check_home(home);
    if (rc == 0)
        rc = join_path(dbpath, size, home, KEYS_DB);
    if (rc != 0)
        return rc;
    if (lstat(dbpath, &st) != 0)
        return errno == ENOENT ? MAMORI_ENOTFOUND : MAMORI_EIO;
    return S_ISREG(st.st_mode) ? 0 : MAMORI_EIO;
}

static int make_ad(char *ad, size_t size, const char *fmt_kind,
                   const char *vault, const char *extra)
{
    int n = extra != NULL
                ? snprintf(ad, size, "mamori-%s|%s|%s", fmt_kind, vault, extra)
                : snprintf(ad, size, "mamori-%s|%s", fmt_kind, vault);

    if (n < 0 || (size_t)n >= size)
        return MAMORI_ETOOBIG;
    return 0;
}

static int wrap(const uint8_t *wkey, const char *ad, const uint8_t *key,
                size_t len, uint8_t *out)
{
    if (crypto_aead_encrypt(wkey, ad, strlen(ad), key, len, out) != 0)
        return MAMORI_ECRYPTO;
    return 0;
}

static int unwrap(const uint8_t *wkey, const char *ad, const uint8_t *blob,
                  size_t bloblen, uint8_t *out, size_t len)
{
    if (bloblen != WRAP_LEN(len))
        return MAMORI_ECRYPTO;
    if (crypto_aead_decrypt(wkey, ad, strlen(ad), blob, bloblen, out) != 0)
        return MAMORI_ECRYPTO;
    return 0;
}

/* ---- SQLite -------------------------------------------------------------- */

static int db_exec(sqlite3 *db, const char *sql)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

    return rc == SQLITE_OK ? 0 : sql_err(rc);
}

static void db_rollback(sqlite3 *db)
{
    if (sqlite3_get_autocommit(db) == 0)
        (void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

static int db_open(const char *path, int readonly, sqlite3 **out)
{
    sqlite3 *db = NULL;
    int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW |
                (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE);
    int rc;

    *out = NULL;
    rc = sqlite3_open_v2(path, &db, flags, NULL);
    if (rc != SQLITE_OK) {
        rc = sql_err(rc);
        goto out;
    }
    rc = sqlite3_busy_timeout(db, BUSY_MS);
    if (rc != SQLITE_OK) {
        rc = sql_err(rc);
        goto out;
    }
    rc = db_exec(db, "PRAGMA trusted_schema=OFF");
    if (rc == 0 && !readonly)
        rc = db_exec(db, "PRAGMA journal_mode=WAL;"
                         "PRAGMA synchronous=FULL;"
                         "PRAGMA secure_delete=ON");
    if (rc != 0)
        goto out;
    *out = db;
    db = NULL;
out:
    sqlite3_close(db);
    return rc;
}

static int meta_put(sqlite3 *db, const char *key, const void *blob, size_t len,
                    const char *text, int64_t num, int kind)
{
    sqlite3_stmt *st = NULL;
    int rc;

    rc = sqlite3_prepare_v2(
        db, "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)", -1, &st,
        NULL);
    if (rc != SQLITE_OK)
        goto out;
    rc = sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (rc != SQLITE_OK)
        goto out;
    if (kind == 'b')
        rc = sqlite3_bind_blob(st, 2, blob, (int)len, SQLITE_STATIC);
    else if (kind == 't')
        rc = sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
    else
        rc = sqlite3_bind_int64(st, 2, num);
    if (rc != SQLITE_OK)
        goto out;
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        rc = SQLITE_OK;
out:
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? 0 : sql_err(rc);
}

static int meta_put_blob(sqlite3 *db, const char *key, const void *p,
                         size_t len)
{
    return meta_put(db, key, p, len, NULL, 0, 'b');
}

static int meta_put_text(sqlite3 *db, const char *key, const char *s)
{
    return meta_put(db, key, NULL, 0, s, 0, 't');
}

static int meta_put_int(sqlite3 *db, const char *key, int64_t v)
{
    return meta_put(db, key, NULL, 0, NULL, v, 'i');
}

/* Positions *st (finalize it) on the meta row of key: 0, or
 * MAMORI_ENOTFOUND / an error. */
static int meta_row(sqlite3 *db, const char *key, sqlite3_stmt **st)
{
    int rc = sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?1", -1,
                                st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(*st, 1, key, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(*st);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? MAMORI_ENOTFOUND : sql_err(rc);
}

/* Reads meta[key] into out (at most size bytes; *len gets the length, or
 * with len NULL it must be exactly size). text: NUL-terminate, size counts
 * the NUL. MAMORI_ENOTFOUND if missing, MAMORI_ETOOBIG if it does not fit,
 * MAMORI_ECRYPTO for the wrong type or length. */
static int meta_get(sqlite3 *db, const char *key, void *out, size_t size,
                    size_t *len, int text)
{
    sqlite3_stmt *st = NULL;
    const void *p;
    size_t n;
    int rc;

    rc = meta_row(db, key, &st);
    if (rc != 0)
        goto out;
    if (sqlite3_column_type(st, 0) != (text ? SQLITE_TEXT : SQLITE_BLOB)) {
        rc = MAMORI_ECRYPTO;
        goto out;
    }
    p = text ? (const void *)sqlite3_column_text(st, 0)
             : sqlite3_column_blob(st, 0);
    n = (size_t)sqlite3_column_bytes(st, 0);
    if (p == NULL && n > 0) {
        rc = MAMORI_ENOMEM;
        goto out;
    }
    if (text) {
        if (n >= size) {
            rc = MAMORI_ETOOBIG;
            goto out;
        }
        if (n > 0)
            memcpy(out, p, n);
        ((char *)out)[n] = '\0';
    } else {
        if (len == NULL ? n != size : n > size) {
            rc = len == NULL ? MAMORI_ECRYPTO : MAMORI_ETOOBIG;
            goto out;
        }
        if (n > 0)
            memcpy(out, p, n);
    }
    if (len != NULL)
        *len = n;
    rc = 0;
out:
    sqlite3_finalize(st);
    return rc;
}

static int meta_get_int(sqlite3 *db, const char *key, int64_t *v)
{
    sqlite3_stmt *st = NULL;
    int rc;

    rc = meta_row(db, key, &st);
    if (rc != 0)
        goto out;
    if (sqlite3_column_type(st, 0) != SQLITE_INTEGER) {
        rc = MAMORI_ECRYPTO;
        goto out;
    }
    *v = sqlite3_column_int64(st, 0);
    rc = 0;
out:
    sqlite3_finalize(st);
    return rc;
}

/* A missing or malformed entry in an existing key store means it was
 * damaged or tampered with. */
static int corrupt(int rc)
{
    return rc == MAMORI_ENOTFOUND || rc == MAMORI_ETOOBIG ? MAMORI_ECRYPTO : rc;
}

/* ---- key files ----------------------------------------------------------- */

static int keyfile_read(const char *path, uint8_t out[KEYFILE_LEN])
{
    struct stat st;
    size_t got = 0;
    int fd, rc = MAMORI_EKEY;

    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return errno == ENOENT || errno == ELOOP || errno == EACCES ||
                       errno == ENOTDIR || errno == EPERM || errno == ENXIO
                   ? MAMORI_EKEY
                   : MAMORI_EIO;
    if (fstat(fd, &st) != 0) {
        rc = MAMORI_EIO;
        goto out;
    }
    /* A key readable by group or others is not a secret any more. */
    if (!S_ISREG(st.st_mode) || (st.st_mode & (S_IRWXG | S_IRWXO)) != 0 ||
        st.st_size != KEYFILE_LEN)
        goto out;
    while (got < KEYFILE_LEN) {
        ssize_t n = read(fd, out + got, KEYFILE_LEN - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = MAMORI_EIO;
            goto out;
        }
        if (n == 0)
            goto out; /* shrank under us */
        got += (size_t)n;
    }
    rc = 0;
out:
    if (rc != 0)
        crypto_wipe(out, KEYFILE_LEN);
    close(fd);
    return rc;
}

static int fsync_parent(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    size_t n;
    int fd, rc = 0;

    if (slash == NULL) {
        dir[0] = '.';
        dir[1] = '\0';
    } else {
        n = slash == path ? 1 : (size_t)(slash - path);
        if (n >= sizeof(dir))
            return MAMORI_ETOOBIG;
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return MAMORI_EIO;
    if (fsync(fd) != 0 && errno != EINVAL)
        rc = MAMORI_EIO;
    close(fd);
    return rc;
}

/* Creates path with 32 random bytes, mode 0400. *created = 0 and the file is
 * read instead when it already exists. */
static int keyfile_create(const char *path, uint8_t out[KEYFILE_LEN],
                          int *created)
{
    size_t done = 0;
    int fd, rc = MAMORI_EIO;

    *created = 0;
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
              S_IRUSR);
    if (fd < 0) {
        if (errno == EEXIST)
            return keyfile_read(path, out);
        return errno == ELOOP ? MAMORI_EKEY : MAMORI_EIO;
    }
    *created = 1;
    crypto_random(out, KEYFILE_LEN);
    if (fchmod(fd, S_IRUSR) != 0)
        goto out;
    while (done < KEYFILE_LEN) {
        ssize_t n = write(fd, out + done, KEYFILE_LEN - done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            goto out;
        done += (size_t)n;
    }
    if (fsync(fd) != 0)
        goto out;
    rc = 0;
out:
    if (close(fd) != 0 && rc == 0)
        rc = MAMORI_EIO;
    if (rc == 0)
        rc = fsync_parent(path);
    if (rc != 0) {
        crypto_wipe(out, KEYFILE_LEN);
        (void)unlink(path);
        *created = 0;
    }
    return rc;
}

/* ---- the key store ------------------------------------------------------- */

static void keys_free(struct keys *k)
{
    size_t i;

    if (k == NULL)
        return;
    sqlite3_close(k->db);
    for (i = 0; i < k->nslabs; i++)
        crypto_secret_free(k->slabs[i]); /* wipes */
    free(k->slabs);
    free(k->slots);
    crypto_secret_free(k->sec);
    pthread_mutex_destroy(&k->mu);
    free(k);
}

static int keys_alloc(struct keys **out)
{
    struct keys *k = calloc(1, sizeof(*k));

    *out = NULL;
    if (k == NULL)
        return MAMORI_ENOMEM;
    if (pthread_mutex_init(&k->mu, NULL) != 0) {
        free(k);
        return MAMORI_ENOMEM;
    }
    k->sec = crypto_secret_alloc(sizeof(*k->sec));
    if (k->sec == NULL) {
        keys_free(k);
        return MAMORI_ENOMEM;
    }
    *out = k;
    return 0;
}

static void remove_db_files(const char *dbpath)
{
    char p[PATH_MAX];

    (void)unlink(dbpath);
    if (snprintf(p, sizeof(p), "%s-wal", dbpath) < (int)sizeof(p))
        (void)unlink(p);
    if (snprintf(p, sizeof(p), "%s-shm", dbpath) < (int)sizeof(p))
        (void)unlink(p);
}

static const char SCHEMA[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value BLOB);"
    "CREATE TABLE dek(dataset TEXT NOT NULL, version INTEGER NOT NULL,"
    " wrapped BLOB NOT NULL, created INTEGER NOT NULL,"
    " PRIMARY KEY(dataset, version));"
    "CREATE TABLE shredded(dataset TEXT PRIMARY KEY, at INTEGER NOT NULL);";

/* Writes the new store's contents (inside the caller's transaction). */
static int keys_fill(struct keys *k, const char *kind, const char *keypath,
                     const uint8_t salt[CRYPTO_SALT_LEN],
                     const uint8_t unseal[CRYPTO_KEY_LEN])
{
    uint8_t blob[WRAP_LEN(CRYPTO_SIGN_SK_LEN)];
    char ad[AD_MAX];
    int rc;

    crypto_random(k->sec->kek, CRYPTO_KEY_LEN);
    crypto_random(k->sec->k0, CRYPTO_KEY_LEN);
    crypto_ed25519_keypair(k->sign_pk, k->sec->sign_sk);

    rc = db_exec(k->db, SCHEMA);
    if (rc == 0)
        rc = meta_put_int(k->db, "format", KEYS_FORMAT);
    if (rc == 0)
        rc = meta_put_text(k->db, "vault_id", k->vault_id);
    if (rc == 0)
        rc = meta_put_text(k->db, "source", kind);
    if (rc == 0 && keypath != NULL)
        rc = meta_put_text(k->db, "key_file", keypath);
    if (rc == 0 && salt != NULL) {
        rc = meta_put_blob(k->db, "argon_salt", salt, CRYPTO_SALT_LEN);
        if (rc == 0)
            rc = meta_put_int(k->db, "argon_ops", KEYS_ARGON_OPS);
        if (rc == 0)
            rc = meta_put_int(k->db, "argon_mem", KEYS_ARGON_MEM);
    }
    if (rc != 0)
        goto out;

    if ((rc = make_ad(ad, sizeof(ad), "kek", k->vault_id, NULL)) != 0 ||
        (rc = wrap(unseal, ad, k->sec->kek, CRYPTO_KEY_LEN, blob)) != 0 ||
        (rc = meta_put_blob(k->db, "kek", blob, WRAP_LEN(CRYPTO_KEY_LEN))) != 0)
        goto out;
    if ((rc = make_ad(ad, sizeof(ad), "audit-k0", k->vault_id, NULL)) != 0 ||
        (rc = wrap(k->sec->kek, ad, k->sec->k0, CRYPTO_KEY_LEN, blob)) != 0 ||
        (rc = meta_put_blob(k->db, "audit_k0", blob,
                            WRAP_LEN(CRYPTO_KEY_LEN))) != 0)
        goto out;
    if ((rc = make_ad(ad, sizeof(ad), "audit-cur", k->vault_id, "0")) != 0 ||
        (rc = wrap(k->sec->kek, ad, k->sec->k0, CRYPTO_KEY_LEN, blob)) != 0 ||
        (rc = meta_put_blob(k->db, "audit_cur", blob,
                            WRAP_LEN(CRYPTO_KEY_LEN))) != 0 ||
        (rc = meta_put_int(k->db, "audit_epoch", 0)) != 0)
        goto out;
    if ((rc = make_ad(ad, sizeof(ad), "sign", k->vault_id, NULL)) != 0 ||
        (rc = wrap(k->sec->kek, ad, k->sec->sign_sk, CRYPTO_SIGN_SK_LEN,
                   blob)) != 0 ||
        (rc = meta_put_blob(k->db, "sign_sk", blob,
                            WRAP_LEN(CRYPTO_SIGN_SK_LEN))) != 0 ||
        (rc = meta_put_blob(k->db, "sign_pk", k->sign_pk,
                            CRYPTO_SIGN_PK_LEN)) != 0)
        goto out;
    rc = 0;
out:
    crypto_wipe(blob, sizeof(blob));
    return rc;
}

int keys_create(const char *home, const char *vault_id,
                const struct mamori_keysrc *src, struct keys **out)
{
    char dbpath[PATH_MAX], *keypath = NULL;
    uint8_t salt[CRYPTO_SALT_LEN];
    uint8_t *unseal = NULL;
    struct keys *k = NULL;
    int rc, fd, db_made = 0, key_made = 0;

    if (out == NULL)
        return MAMORI_EINVAL;
    *out = NULL;
    if (!valid_id(vault_id) || src == NULL)
        return MAMORI_EINVAL;
    /* Exactly one source. */
    if ((src->key_file != NULL) == (src->passphrase != NULL))
        return MAMORI_EINVAL;
    if (src->key_file != NULL && src->key_file[0] == '\0')
        return MAMORI_EINVAL;
    if (src->passphrase != NULL && src->passphrase_len == 0)
        return MAMORI_EINVAL;
    rc = check_home(home);
    if (rc != 0)
        return rc;
    rc = join_path(dbpath, sizeof(dbpath), home, KEYS_DB);
    if (rc != 0)
        return rc;
    rc = crypto_init() == 0 ? keys_alloc(&k) : MAMORI_ECRYPTO;
    if (rc != 0)
        return rc;
    unseal = crypto_secret_alloc(CRYPTO_KEY_LEN);
    if (unseal == NULL) {
        rc = MAMORI_ENOMEM;
        goto out;
    }
    memcpy(k->vault_id, vault_id, strlen(vault_id) + 1);

    /* Claim keys.db first, so a refused vault leaves no key file behind. */
    fd = open(dbpath, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
              S_IRUSR | S_IWUSR);
    if (fd < 0) {
        rc = errno == EEXIST ? MAMORI_EEXIST : MAMORI_EIO;
        goto out;
    }
    db_made = 1;
    rc = fchmod(fd, S_IRUSR | S_IWUSR) == 0 ? 0 : MAMORI_EIO;
    if (close(fd) != 0 && rc == 0)
        rc = MAMORI_EIO;
    if (rc != 0)
        goto out;

    if (src->key_file != NULL) {
        rc = keyfile_create(src->key_file, unseal, &key_made);
        if (rc != 0)
            goto out;
        keypath = realpath(src->key_file, NULL);
        if (keypath == NULL) {
            rc = errno == ENOMEM ? MAMORI_ENOMEM : MAMORI_EIO;
            goto out;
        }
    } else {
        crypto_random(salt, sizeof(salt));
        if (crypto_argon2id(src->passphrase, src->passphrase_len, salt,
                            KEYS_ARGON_OPS, KEYS_ARGON_MEM, unseal,
                            CRYPTO_KEY_LEN) != 0) {
            rc = MAMORI_ENOMEM;
            goto out;
        }
    }

    rc = db_open(dbpath, 0, &k->db);
    if (rc != 0)
        goto out;
    rc = db_exec(k->db, "BEGIN IMMEDIATE");
    if (rc != 0)
        goto out;
    rc = keys_fill(k, keypath != NULL ? "keyfile" : "passphrase", keypath,
                   keypath != NULL ? NULL : salt, unseal);
    if (rc == 0)
        rc = db_exec(k->db, "COMMIT");
    if (rc != 0) {
        db_rollback(k->db);
        goto out;
    }
    *out = k;
    k = NULL;
    rc = 0;
out:
    if (rc != 0) {
        keys_free(k); /* closes the database before its files go */
        k = NULL;
        if (db_made)
            remove_db_files(dbpath);
        if (key_made)
            (void)unlink(src->key_file);
    }
    keys_free(k);
    crypto_secret_free(unseal);
    crypto_wipe(salt, sizeof(salt));
    free(keypath);
    return rc;
}

int keys_source(const char *home, char *kind, size_t kind_size, char *path,
                size_t path_size)
{
    char dbpath[PATH_MAX], k[16];
    sqlite3 *db = NULL;
    int rc;

    if (kind == NULL || kind_size == 0 || (path == NULL && path_size > 0))
        return MAMORI_EINVAL;
    kind[0] = '\0';
    if (path != NULL)
        path[0] = '\0';
    rc = existing_db(home, dbpath, sizeof(dbpath));
    if (rc != 0)
        return rc;
    rc = db_open(dbpath, 1, &db);
    if (rc != 0)
        goto out;
    rc = corrupt(meta_get(db, "source", k, sizeof(k), NULL, 1));
    if (rc != 0)
        goto out;
    if (strlen(k) >= kind_size) {
        rc = MAMORI_ETOOBIG;
        goto out;
    }
    memcpy(kind, k, strlen(k) + 1);
    if (strcmp(k, "keyfile") == 0 && path != NULL) {
        rc = meta_get(db, "key_file", path, path_size, NULL, 1);
        if (rc == MAMORI_ENOTFOUND)
            rc = MAMORI_ECRYPTO;
        if (rc != 0)
            path[0] = '\0';
    }
out:
    sqlite3_close(db);
    if (rc != 0)
        kind[0] = '\0';
    return rc;
}

/* The unseal key from src, for a store whose source is kind. */
static int unseal_key(sqlite3 *db, const char *kind,
                      const struct mamori_keysrc *src, uint8_t *unseal)
{
    char stored[PATH_MAX];
    uint8_t salt[CRYPTO_SALT_LEN];
    int64_t ops = 0, mem = 0;
    const char *path;
    int rc;

    if (strcmp(kind, "passphrase") == 0) {
        if (src == NULL || src->passphrase == NULL)
            return MAMORI_EKEY;
        rc = corrupt(meta_get(db, "argon_salt", salt, sizeof(salt), NULL, 0));
        if (rc == 0)
            rc = corrupt(meta_get_int(db, "argon_ops", &ops));
        if (rc == 0)
            rc = corrupt(meta_get_int(db, "argon_mem", &mem));
        if (rc != 0)
            return rc;
        /* Weakened (or absurd) parameters mean tampering. */
        if (ops < KEYS_ARGON_OPS || ops > ARGON_OPS_MAX ||
            mem < (int64_t)KEYS_ARGON_MEM || (uint64_t)mem > ARGON_MEM_MAX ||
            (uint64_t)mem > SIZE_MAX)
            return MAMORI_EKEY;
        if (crypto_argon2id(src->passphrase, src->passphrase_len, salt,
                            (uint64_t)ops, (size_t)mem, unseal,
                            CRYPTO_KEY_LEN) != 0)
            return MAMORI_ENOMEM;
        return 0;
    }
    if (strcmp(kind, "keyfile") != 0)
        return MAMORI_ECRYPTO;
    if (src != NULL && src->passphrase != NULL)
        return MAMORI_EKEY; /* this vault is not sealed by a passphrase */
    if (src != NULL && src->key_file != NULL) {
        path = src->key_file;
    } else {
        rc = corrupt(meta_get(db, "key_file", stored, sizeof(stored), NULL, 1));
        if (rc != 0)
            return rc;
        path = stored;
    }
    return keyfile_read(path, unseal);
}

static int keys_load(struct keys *k, const struct mamori_keysrc *src)
{
    uint8_t blob[WRAP_LEN(CRYPTO_SIGN_SK_LEN)];
    uint8_t pkcheck[CRYPTO_SIGN_PK_LEN];
    uint8_t *unseal = NULL;
    char kind[16], ad[AD_MAX];
    int64_t format = 0;
    int rc;

    rc = corrupt(meta_get_int(k->db, "format", &format));
    if (rc != 0)
        goto out;
    if (format > KEYS_FORMAT) {
        rc = MAMORI_ESCHEMA;
        goto out;
    }
    if (format != KEYS_FORMAT) {
        rc = MAMORI_ECRYPTO;
        goto out;
    }
    rc = corrupt(
        meta_get(k->db, "vault_id", k->vault_id, sizeof(k->vault_id), NULL, 1));
    if (rc == 0 && !valid_id(k->vault_id))
        rc = MAMORI_ECRYPTO;
    if (rc == 0)
        rc = corrupt(meta_get(k->db, "source", kind, sizeof(kind), NULL, 1));
    if (rc != 0)
        goto out;

    unseal = crypto_secret_alloc(CRYPTO_KEY_LEN);
    if (unseal == NULL) {
        rc = MAMORI_ENOMEM;
        goto out;
    }
    rc = unseal_key(k->db, kind, src, unseal);
    if (rc != 0)
        goto out;
    rc = corrupt(
        meta_get(k->db, "kek", blob, WRAP_LEN(CRYPTO_KEY_LEN), NULL, 0));
    if (rc == 0)
        rc = make_ad(ad, sizeof(ad), "kek", k->vault_id, NULL);
    if (rc != 0)
        goto out;
    /* The only check of the unseal key: failing here means a wrong key. */
    if (unwrap(unseal, ad, blob, WRAP_LEN(CRYPTO_KEY_LEN), k->sec->kek,
               CRYPTO_KEY_LEN) != 0) {
        rc = MAMORI_EKEY;
        goto out;
    }

    if ((rc = corrupt(meta_get(k->db, "audit_k0", blob,
                               WRAP_LEN(CRYPTO_KEY_LEN), NULL, 0))) != 0 ||
        (rc = make_ad(ad, sizeof(ad), "audit-k0", k->vault_id, NULL)) != 0 ||
        (rc = unwrap(k->sec->kek, ad, blob, WRAP_LEN(CRYPTO_KEY_LEN),
                     k->sec->k0, CRYPTO_KEY_LEN)) != 0)
        goto out;
    if ((rc = corrupt(meta_get(k->db, "sign_sk", blob,
                               WRAP_LEN(CRYPTO_SIGN_SK_LEN), NULL, 0))) != 0 ||
        (rc = make_ad(ad, sizeof(ad), "sign", k->vault_id, NULL)) != 0 ||
        (rc = unwrap(k->sec->kek, ad, blob, WRAP_LEN(CRYPTO_SIGN_SK_LEN),
                     k->sec->sign_sk, CRYPTO_SIGN_SK_LEN)) != 0 ||
        (rc = corrupt(meta_get(k->db, "sign_pk", k->sign_pk, CRYPTO_SIGN_PK_LEN,
                               NULL, 0))) != 0)
        goto out;
    /* The clear public key must be the one of the sealed secret key. */
    memcpy(pkcheck, k->sec->sign_sk + CRYPTO_SIGN_SK_LEN - CRYPTO_SIGN_PK_LEN,
           sizeof(pkcheck));
    if (!crypto_equal(pkcheck, k->sign_pk, CRYPTO_SIGN_PK_LEN)) {
        rc = MAMORI_ECRYPTO;
        goto out;
    }
    rc = 0;
out:
    crypto_secret_free(unseal);
    crypto_wipe(blob, sizeof(blob));
    return rc;
}

int keys_open(const char *home, const struct mamori_keysrc *src,
              struct keys **out)
{
    char dbpath[PATH_MAX];
    struct keys *k = NULL;
    int rc;

    if (out == NULL)
        return MAMORI_EINVAL;
    *out = NULL;
    if (src != NULL && src->key_file != NULL && src->passphrase != NULL)
        return MAMORI_EINVAL;
    rc = existing_db(home, dbpath, sizeof(dbpath));
    if (rc != 0)
        return rc;
    rc = crypto_init() == 0 ? keys_alloc(&k) : MAMORI_ECRYPTO;
    if (rc != 0)
        return rc;
    rc = db_open(dbpath, 0, &k->db);
    if (rc == 0)
        rc = keys_load(k, src);
    if (rc != 0)
        goto out;
    *out = k;
    k = NULL;
out:
    keys_free(k);
    return rc;
}

void keys_close(struct keys *k)
{
    keys_free(k);
}

const char *keys_vault_id(const struct keys *k)
{
    return k != NULL ? k->vault_id : "";
}

/* ---- dataset keys -------------------------------------------------------- */

static struct dek_slot *cache_find(struct keys *k, const char *ds,
                                   uint32_t version)
{
    size_t i;

    for (i = 0; i < k->nslabs * SLAB_KEYS; i++)
        if (k->slots[i].used && k->slots[i].version == version &&
            strcmp(k->slots[i].dataset, ds) == 0)
            return &k->slots[i];
    return NULL;
}

/* A free cache slot (not marked used), growing by one slab when full. */
static struct dek_slot *cache_free_slot(struct keys *k)
{
    struct dek_slot *slots;
    uint8_t **slabs, *slab;
    size_t i, n = k->nslabs * SLAB_KEYS;

    for (i = 0; i < n; i++)
        if (!k->slots[i].used)
            return &k->slots[i];
    if (k->nslabs >= SIZE_MAX / sizeof(*slabs) / SLAB_KEYS - 1)
        return NULL;
    slab = crypto_secret_alloc((size_t)SLAB_KEYS * CRYPTO_KEY_LEN);
    if (slab == NULL)
        return NULL;
    slabs = realloc(k->slabs, (k->nslabs + 1) * sizeof(*slabs));
    if (slabs == NULL) {
        crypto_secret_free(slab);
        return NULL;
    }
    k->slabs = slabs;
    slots = realloc(k->slots, (n + SLAB_KEYS) * sizeof(*slots));
    if (slots == NULL) {
        crypto_secret_free(slab);
        return NULL;
    }
    k->slots = slots;
    for (i = 0; i < SLAB_KEYS; i++) {
        memset(&slots[n + i], 0, sizeof(slots[n + i]));
        slots[n + i].key = slab + i * CRYPTO_KEY_LEN;
    }
    k->slabs[k->nslabs++] = slab;
    return &slots[n];
}

static int dek_ad(const struct keys *k, const char *ds, uint32_t version,
                  char *ad, size_t size)
{
    char extra[ID_MAX + 16];
    int n = snprintf(extra, sizeof(extra), "%s|%" PRIu32, ds, version);

    if (n < 0 || (size_t)n >= sizeof(extra))
        return MAMORI_ETOOBIG;
    return make_ad(ad, size, "dek", k->vault_id, extra);
}

/* Reads the wrapped DEK; MAMORI_ENOTFOUND if there is none. */
static int dek_select(struct keys *k, const char *ds, uint32_t version,
                      uint8_t blob[WRAP_LEN(CRYPTO_KEY_LEN)], size_t *len)
{
    sqlite3_stmt *st = NULL;
    const void *p;
    size_t n;
    int rc;

    rc = sqlite3_prepare_v2(
        k->db, "SELECT wrapped FROM dek WHERE dataset = ?1 AND version = ?2",
        -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 1, ds, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 2, version);
    if (rc != SQLITE_OK) {
        rc = sql_err(rc);
        goto out;
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        rc = MAMORI_ENOTFOUND;
        goto out;
    }
    if (rc != SQLITE_ROW) {
        rc = sql_err(rc);
        goto out;
    }
    p = sqlite3_column_blob(st, 0);
    n = (size_t)sqlite3_column_bytes(st, 0);
    if (p == NULL || n != WRAP_LEN(CRYPTO_KEY_LEN)) {
        rc = MAMORI_ECRYPTO;
        goto out;
    }
    memcpy(blob, p, n);
    *len = n;
    rc = 0;
out:
    sqlite3_finalize(st);
    return rc;
}

static int is_shredded(struct keys *k, const char *ds, int *yes)
{
    sqlite3_stmt *st = NULL;
    int rc;

    rc = sqlite3_prepare_v2(k->db, "SELECT 1 FROM shredded WHERE dataset = ?1",
                            -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 1, ds, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
            *yes = rc == SQLITE_ROW;
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? 0 : sql_err(rc);
}

static int dek_insert(struct keys *k, const char *ds, uint32_t version,
                      const uint8_t *blob, size_t len)
{
    sqlite3_stmt *st = NULL;
    int rc;

    rc = sqlite3_prepare_v2(k->db,
                            "INSERT INTO dek(dataset, version, wrapped, "
                            "created) VALUES (?1, ?2, ?3, ?4)",
                            -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 1, ds, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 2, version);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 3, blob, (int)len, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 4, (int64_t)time(NULL));
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? 0 : sql_err(rc);
}

/* Creates the DEK unless another connection did first (under BEGIN
 * IMMEDIATE, so the check and the insert see the same state). */
static int dek_create(struct keys *k, const char *ds, uint32_t version,
                      const char *ad, uint8_t *key)
{
    uint8_t blob[WRAP_LEN(CRYPTO_KEY_LEN)];
    size_t len = 0;
    int rc, gone = 0;

    rc = db_exec(k->db, "BEGIN IMMEDIATE");
    if (rc != 0)
        return rc;
    rc = is_shredded(k, ds, &gone);
    if (rc == 0 && gone)
        rc = MAMORI_ENOTFOUND;
    if (rc != 0)
        goto out;
    rc = dek_select(k, ds, version, blob, &len);
    if (rc == 0) {
        rc = unwrap(k->sec->kek, ad, blob, len, key, CRYPTO_KEY_LEN);
        goto out;
    }
    if (rc != MAMORI_ENOTFOUND)
        goto out;
    crypto_random(key, CRYPTO_KEY_LEN);
    rc = wrap(k->sec->kek, ad, key, CRYPTO_KEY_LEN, blob);
    if (rc == 0)
        rc = dek_insert(k, ds, version, blob, sizeof(blob));
out:
    if (rc == 0)
        rc = db_exec(k->db, "COMMIT");
    if (rc != 0)
        db_rollback(k->db);
    crypto_wipe(blob, sizeof(blob));
    return rc;
}

int keys_dataset_key(struct keys *k, const char *dataset_uuid, uint32_t version,
                     int create, const uint8_t **key)
{
    uint8_t blob[WRAP_LEN(CRYPTO_KEY_LEN)];
    struct dek_slot *slot;
    char ad[AD_MAX];
    size_t len = 0;
    int rc;

    if (key != NULL)
        *key = NULL;
    if (k == NULL || key == NULL || !valid_id(dataset_uuid))
        return MAMORI_EINVAL;
    rc = dek_ad(k, dataset_uuid, version, ad, sizeof(ad));
    if (rc != 0)
        return rc;
    if (pthread_mutex_lock(&k->mu) != 0)
        return MAMORI_EIO;
    slot = cache_find(k, dataset_uuid, version);
    if (slot != NULL) {
        *key = slot->key;
        rc = 0;
        goto out;
    }
    slot = cache_free_slot(k);
    if (slot == NULL) {
        rc = MAMORI_ENOMEM;
        goto out;
    }
    rc = dek_select(k, dataset_uuid, version, blob, &len);
    if (rc == 0)
        rc = unwrap(k->sec->kek, ad, blob, len, slot->key, CRYPTO_KEY_LEN);
    else if (rc == MAMORI_ENOTFOUND && create)
        rc = dek_create(k, dataset_uuid, version, ad, slot->key);
    if (rc != 0) {
        crypto_wipe(slot->key, CRYPTO_KEY_LEN);
        goto out;
    }
    memcpy(slot->dataset, dataset_uuid, strlen(dataset_uuid) + 1);
    slot->version = version;
    slot->used = 1;
    *key = slot->key;
out:
    pthread_mutex_unlock(&k->mu);
    crypto_wipe(blob, sizeof(blob));
    return rc;
}

int keys_dataset_destroy(struct keys *k, const char *dataset_uuid)
{
    sqlite3_stmt *st = NULL;
    size_t i;
    int rc;

    if (k == NULL || !valid_id(dataset_uuid))
        return MAMORI_EINVAL;
    if (pthread_mutex_lock(&k->mu) != 0)
        return MAMORI_EIO;
    rc = db_exec(k->db, "BEGIN IMMEDIATE");
    if (rc != 0)
        goto out;
    rc = sqlite3_prepare_v2(k->db, "DELETE FROM dek WHERE dataset = ?1", -1,
                            &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 1, dataset_uuid, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_DONE)
        rc = SQLITE_OK;
    sqlite3_finalize(st);
    st = NULL;
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(k->db,
                                "INSERT OR IGNORE INTO shredded(dataset, at) "
                                "VALUES (?1, ?2)",
                                -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 1, dataset_uuid, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 2, (int64_t)time(NULL));
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_DONE)
        rc = SQLITE_OK;
    sqlite3_finalize(st);
    rc = rc == SQLITE_OK ? db_exec(k->db, "COMMIT") : sql_err(rc);
    if (rc != 0) {
        db_rollback(k->db);
        goto out;
    }
    for (i = 0; i < k->nslabs * SLAB_KEYS; i++) {
        struct dek_slot *s = &k->slots[i];

        if (s->used && strcmp(s->dataset, dataset_uuid) == 0) {
            crypto_wipe(s->key, CRYPTO_KEY_LEN);
            s->used = 0;
            s->dataset[0] = '\0';
        }
    }
    /* secure_delete zeroed the rows in the database pages; old copies of
     * those pages may still sit in the WAL until it is checkpointed and
     * truncated. A reader holding the WAL only delays that (BUSY). */
    rc = sqlite3_wal_checkpoint_v2(k->db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
                                   NULL, NULL);
    rc = rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED
             ? 0
             : sql_err(rc);
out:
    pthread_mutex_unlock(&k->mu);
    return rc;
}

/* ---- audit keys ---------------------------------------------------------- */

void keys_audit_evolve(const uint8_t in[CRYPTO_KEY_LEN],
                       uint8_t out[CRYPTO_KEY_LEN])
{
    crypto_kdf(in, "mamori-audit-epoch", NULL, 0, out);
}

int keys_audit_initial(struct keys *k, const uint8_t **k0)
{
    if (k0 != NULL)
        *k0 = NULL;
    if (k == NULL || k0 == NULL)
        return MAMORI_EINVAL;
    *k0 = k->sec->k0;
    return 0;
}

static int audit_ad(const struct keys *k, uint64_t epoch, char *ad, size_t size)
{
    char e[24];
    int n = snprintf(e, sizeof(e), "%" PRIu64, epoch);

    if (n < 0 || (size_t)n >= sizeof(e))
        return MAMORI_ETOOBIG;
    return make_ad(ad, size, "audit-cur", k->vault_id, e);
}

/* Unwraps the stored current key into cur and steps it forward to epoch,
 * in the caller's keys.db transaction; *stored is the stored epoch. */
static int audit_derive(struct keys *k, uint64_t epoch,
                        uint8_t cur[2 * CRYPTO_KEY_LEN], int64_t *stored)
{
    uint8_t blob[WRAP_LEN(CRYPTO_KEY_LEN)];
    char ad[AD_MAX];
    uint64_t e;
    int rc;

    rc = corrupt(meta_get_int(k->db, "audit_epoch", stored));
    if (rc == 0 && *stored < 0)
        rc = MAMORI_ECRYPTO;
    if (rc != 0)
        return rc;
    e = (uint64_t)*stored;
    if (epoch < e)
        return MAMORI_ESTATE; /* that key was wiped: forward only */
    if (epoch - e > AUDIT_MAX_STEPS)
        return MAMORI_EINVAL;
    if ((rc = corrupt(
             meta_get(k->db, "audit_cur", blob, sizeof(blob), NULL, 0))) != 0 ||
        (rc = audit_ad(k, e, ad, sizeof(ad))) != 0 ||
        (rc = unwrap(k->sec->kek, ad, blob, sizeof(blob), cur,
                     CRYPTO_KEY_LEN)) != 0)
        goto out;
    for (; e < epoch; e++) {
        keys_audit_evolve(cur, cur + CRYPTO_KEY_LEN);
        memcpy(cur, cur + CRYPTO_KEY_LEN, CRYPTO_KEY_LEN);
    }
out:
    crypto_wipe(blob, sizeof(blob));
    return rc;
}

int keys_audit_key(struct keys *k, uint64_t epoch, uint8_t out[CRYPTO_KEY_LEN],
                   uint64_t *stored_epoch)
{
    uint8_t *cur = NULL; /* current key, then the next one */
    int64_t stored = 0;
    int rc, locked = 0;

    if (k == NULL || out == NULL || epoch > INT64_MAX)
        return MAMORI_EINVAL;
    cur = crypto_secret_alloc(2 * CRYPTO_KEY_LEN);
    if (cur == NULL)
        return MAMORI_ENOMEM;
    if (pthread_mutex_lock(&k->mu) != 0) {
        rc = MAMORI_EIO;
        goto out;
    }
    locked = 1;
    /* Epoch and key from one snapshot: another process may be advancing
     * them. Nothing is written: the log's transaction that needs the key
     * may yet roll back (keys_audit_advance). */
    rc = db_exec(k->db, "BEGIN");
    if (rc == 0)
        rc = audit_derive(k, epoch, cur, &stored);
    if (rc != 0)
        goto out;
    rc = db_exec(k->db, "COMMIT");
    if (rc != 0)
        goto out;
    memcpy(out, cur, CRYPTO_KEY_LEN);
    if (stored_epoch != NULL)
        *stored_epoch = (uint64_t)stored;
out:
    if (rc != 0)
        db_rollback(k->db);
    if (locked)
        pthread_mutex_unlock(&k->mu);
    crypto_secret_free(cur); /* wipes the keys */
    return rc;
}

/* Wraps key as the audit key of epoch and stores both, in the caller's
 * keys.db transaction. */
static int audit_store(struct keys *k, uint64_t epoch, const uint8_t *key)
{
    uint8_t blob[WRAP_LEN(CRYPTO_KEY_LEN)];
    char ad[AD_MAX];
    int rc;

    if ((rc = audit_ad(k, epoch, ad, sizeof(ad))) == 0 &&
        (rc = wrap(k->sec->kek, ad, key, CRYPTO_KEY_LEN, blob)) == 0 &&
        (rc = meta_put_blob(k->db, "audit_cur", blob, sizeof(blob))) == 0)
        rc = meta_put_int(k->db, "audit_epoch", (int64_t)epoch);
    crypto_wipe(blob, sizeof(blob));
    return rc;
}

/* Runs step(k, epoch, cur) in one write transaction of keys.db under k's
 * lock (another process may be moving the same key), with cur a wiped
 * scratch of two keys; commits if it returns 0. */
static int audit_key_txn(struct keys *k, uint64_t epoch,
                         int (*step)(struct keys *k, uint64_t epoch,
                                     uint8_t *cur))
{
    uint8_t *cur = crypto_secret_alloc(2 * CRYPTO_KEY_LEN);
    int rc;

    if (cur == NULL)
        return MAMORI_ENOMEM;
    if (pthread_mutex_lock(&k->mu) != 0) {
        crypto_secret_free(cur);
        return MAMORI_EIO;
    }
    rc = db_exec(k->db, "BEGIN IMMEDIATE");
    if (rc == 0)
        rc = step(k, epoch, cur);
    if (rc == 0)
        rc = db_exec(k->db, "COMMIT");
    if (rc != 0)
        db_rollback(k->db);
    pthread_mutex_unlock(&k->mu);
    crypto_secret_free(cur); /* wipes the keys */
    return rc;
}

static int advance_step(struct keys *k, uint64_t epoch, uint8_t *cur)
{
    int64_t stored = 0;
    int rc = audit_derive(k, epoch, cur, &stored);

    if (rc == MAMORI_ESTATE)
        return 0; /* later already: another process advanced it */
    if (rc == 0 && epoch > (uint64_t)stored)
        rc = audit_store(k, epoch, cur);
    return rc;
}

int keys_audit_advance(struct keys *k, uint64_t epoch)
{
    if (k == NULL || epoch > INT64_MAX)
        return MAMORI_EINVAL;
    return audit_key_txn(k, epoch, advance_step);
}

/* ---- signing ------------------------------------------------------------- */

int keys_sign(struct keys *k, const void *msg, size_t len,
              uint8_t sig[CRYPTO_SIG_LEN])
{
    if (k == NULL || sig == NULL || (msg == NULL && len > 0))
        return MAMORI_EINVAL;
    crypto_ed25519_sign(k->sec->sign_sk, msg, len, sig);
    return 0;
}

void keys_sign_public(const struct keys *k, uint8_t pk[CRYPTO_SIGN_PK_LEN])
{
    if (k == NULL || pk == NULL)
        return;
    memcpy(pk, k->sign_pk, CRYPTO_SIGN_PK_LEN);
}

/* ---- backups ------------------------------------------------------------- */

int keys_seal_get(struct keys *k, struct keys_seal *out)
{
    char kind[16];
    int64_t ops = 0, mem = 0;
    int rc;

    if (k == NULL || out == NULL)
        return MAMORI_EINVAL;
    memset(out, 0, sizeof(*out));
    if (pthread_mutex_lock(&k->mu) != 0)
        return MAMORI_EIO;
    rc = corrupt(meta_get(k->db, "source", kind, sizeof(kind), NULL, 1));
    if (rc == 0)
        rc = corrupt(
            meta_get(k->db, "kek", out->kek, sizeof(out->kek), NULL, 0));
    if (rc == 0 && strcmp(kind, "passphrase") == 0) {
        out->kind = KEYS_SEAL_PASSPHRASE;
        rc = corrupt(meta_get(k->db, "argon_salt", out->salt, sizeof(out->salt),
                              NULL, 0));
        if (rc == 0)
            rc = corrupt(meta_get_int(k->db, "argon_ops", &ops));
        if (rc == 0)
            rc = corrupt(meta_get_int(k->db, "argon_mem", &mem));
        if (rc == 0 && (ops < 0 || mem < 0))
            rc = MAMORI_ECRYPTO;
        out->ops = (uint64_t)ops;
        out->mem = (uint64_t)mem;
    } else if (rc == 0 && strcmp(kind, "keyfile") == 0) {
        out->kind = KEYS_SEAL_KEYFILE;
    } else if (rc == 0) {
        rc = MAMORI_ECRYPTO;
    }
    pthread_mutex_unlock(&k->mu);
    if (rc != 0)
        crypto_wipe(out, sizeof(*out));
    return rc;
}

int keys_seal_open(const struct keys_seal *seal, const char *vault_id,
                   const struct mamori_keysrc *src, uint8_t kek[CRYPTO_KEY_LEN])
{
    uint8_t *unseal = NULL;
    char ad[AD_MAX];
    int rc;

    if (seal == NULL || kek == NULL || src == NULL || !valid_id(vault_id) ||
        (src->key_file != NULL && src->passphrase != NULL))
        return MAMORI_EINVAL;
    unseal = crypto_secret_alloc(CRYPTO_KEY_LEN);
    if (unseal == NULL)
        return MAMORI_ENOMEM;
    if (seal->kind == KEYS_SEAL_KEYFILE) {
        rc = src->key_file != NULL && src->key_file[0] != '\0'
                 ? keyfile_read(src->key_file, unseal)
                 : MAMORI_EKEY;
    } else if (seal->kind == KEYS_SEAL_PASSPHRASE) {
        /* The same floor and ceilings as a store's parameters. */
        if (src->passphrase == NULL || seal->ops < KEYS_ARGON_OPS ||
            seal->ops > ARGON_OPS_MAX || seal->mem < KEYS_ARGON_MEM ||
            seal->mem > ARGON_MEM_MAX || seal->mem > SIZE_MAX)
            rc = MAMORI_EKEY;
        else
            rc = crypto_argon2id(src->passphrase, src->passphrase_len,
                                 seal->salt, seal->ops, (size_t)seal->mem,
                                 unseal, CRYPTO_KEY_LEN) == 0
                     ? 0
                     : MAMORI_ENOMEM;
    } else {
        rc = MAMORI_ECRYPTO;
    }
    if (rc == 0)
        rc = make_ad(ad, sizeof(ad), "kek", vault_id, NULL);
    if (rc == 0 && unwrap(unseal, ad, seal->kek, sizeof(seal->kek), kek,
                          CRYPTO_KEY_LEN) != 0)
        rc = MAMORI_EKEY;
    if (rc != 0)
        crypto_wipe(kek, CRYPTO_KEY_LEN);
    crypto_secret_free(unseal);
    return rc;
}

int keys_derive(struct keys *k, const char *label, uint8_t out[CRYPTO_KEY_LEN])
{
    if (k == NULL || label == NULL || out == NULL)
        return MAMORI_EINVAL;
    crypto_kdf(k->sec->kek, label, k->vault_id, strlen(k->vault_id), out);
    return 0;
}

int keys_snapshot(struct keys *k, const char *path)
{
    sqlite3 *dst = NULL;
    sqlite3_backup *b = NULL;
    int rc, fd, locked = 0;

    if (k == NULL || path == NULL)
        return MAMORI_EINVAL;
    fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
              S_IRUSR | S_IWUSR);
    if (fd < 0)
        return errno == EEXIST ? MAMORI_EEXIST : MAMORI_EIO;
    rc = fchmod(fd, S_IRUSR | S_IWUSR) == 0 ? 0 : MAMORI_EIO;
    if (close(fd) != 0 && rc == 0)
        rc = MAMORI_EIO;
    if (rc != 0)
        goto out;
    rc = sqlite3_open_v2(path, &dst,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                             SQLITE_OPEN_NOFOLLOW,
                         NULL);
    if (rc != SQLITE_OK) {
        rc = sql_err(rc);
        goto out;
    }
    if (pthread_mutex_lock(&k->mu) != 0) {
        rc = MAMORI_EIO;
        goto out;
    }
    locked = 1;
    /* One step copies the whole (small) store under one read lock. */
    b = sqlite3_backup_init(dst, "main", k->db, "main");
    if (b == NULL) {
        rc = sql_err(sqlite3_errcode(dst));
        goto out;
    }
    rc = sqlite3_backup_step(b, -1);
    rc = sqlite3_backup_finish(b) == SQLITE_OK && rc == SQLITE_DONE
             ? 0
             : MAMORI_EIO;
out:
    if (locked)
        pthread_mutex_unlock(&k->mu);
    if (dst != NULL && sqlite3_close(dst) != SQLITE_OK && rc == 0)
        rc = MAMORI_EIO;
    if (rc != 0)
        remove_db_files(path);
    return rc;
}

static int rewind_step(struct keys *k, uint64_t epoch, uint8_t *cur)
{
    int64_t stored = 0;
    int rc = corrupt(meta_get_int(k->db, "audit_epoch", &stored));

    if (rc != 0)
        return rc;
    if (stored < 0)
        return MAMORI_ECRYPTO;
    if ((uint64_t)stored <= epoch)
        return 0; /* not ahead: nothing to take back */
    /* k0 is in the store anyway: stepping it forward again gives nothing
     * that was not there. */
    memcpy(cur, k->sec->k0, CRYPTO_KEY_LEN);
    for (uint64_t e = 0; e < epoch; e++) {
        keys_audit_evolve(cur, cur + CRYPTO_KEY_LEN);
        memcpy(cur, cur + CRYPTO_KEY_LEN, CRYPTO_KEY_LEN);
    }
    return audit_store(k, epoch, cur);
}

int keys_audit_rewind(struct keys *k, uint64_t epoch)
{
    if (k == NULL || epoch > AUDIT_MAX_STEPS)
        return MAMORI_EINVAL;
    return audit_key_txn(k, epoch, rewind_step);
}
