/*
 * test_store.c - unit tests of the SQLite store (lib/store_sqlite.c).
 *
 * Each test gets a fresh vault in a mkdtemp directory. Where a test needs to
 * do what the store refuses to (set a newer schema version, tamper with the
 * audit table), it opens vault.db with a raw sqlite3 connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "mamori.h"
#include "store.h"
#include "audit.h"
#include "store_sqlite.h"
#include "audit_cols.h"

#include "banned.h"

struct fx {
    char dir[64];
    char path[128];
    struct store *s;
    int64_t ds; /* a dataset made by setup */
    int64_t uid;
};

/* ---- helpers ------------------------------------------------------------- */

static int rm_one(const char *p, const struct stat *sb, int flag,
                  struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void rm_rf(const char *dir)
{
    assert_int_equal(nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}

static void make_dir(struct fx *f)
{
    int n;

    memset(f, 0, sizeof *f);
    n = snprintf(f->dir, sizeof f->dir, "/tmp/mamori-store-XXXXXX");
    assert_true(n > 0 && (size_t)n < sizeof f->dir);
    assert_non_null(mkdtemp(f->dir));
    n = snprintf(f->path, sizeof f->path, "%s/vault.db", f->dir);
    assert_true(n > 0 && (size_t)n < sizeof f->path);
}

static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;

    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, audit_cols_sql(), NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static int64_t raw_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v;

    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    return v;
}

/* 1 if the file holds needle, 0 if not, -1 if there is no such file. */
static int file_has(const char *path, const void *needle, size_t len)
{
    struct stat sb;
    uint8_t *buf;
    size_t got = 0;
    ssize_t r;
    int fd, found;

    fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    assert_int_equal(fstat(fd, &sb), 0);
    buf = malloc((size_t)sb.st_size + 1);
    assert_non_null(buf);
    while (got < (size_t)sb.st_size) {
        r = read(fd, buf + got, (size_t)sb.st_size - got);
        assert_true(r > 0);
        got += (size_t)r;
    }
    close(fd);
    found = memmem(buf, got, needle, len) != NULL;
    free(buf);
    return found;
}

static void rid(uint8_t id[STORE_RID_LEN], unsigned n)
{
    memset(id, 0xA5, STORE_RID_LEN);
    memcpy(id, &n, sizeof n);
}

static void add_dataset(struct store *s, const char *name, int64_t *id)
{
    struct store_dataset d;

    memset(&d, 0, sizeof d);
    snprintf(d.uuid, sizeof d.uuid, "00000000-0000-4000-8000-%012x",
             (unsigned)strlen(name) * 7919u + (unsigned char)name[0]);
    snprintf(d.name, sizeof d.name, "%s", name);
    snprintf(d.client, sizeof d.client, "client of %s", name);
    snprintf(d.purpose, sizeof d.purpose, "payroll");
    snprintf(d.state, sizeof d.state, "active");
    snprintf(d.schema, sizeof d.schema, "name:name:0;mynumber:mynumber:1");
    d.created = 1700000000;
    assert_int_equal(store_dataset_add(s, &d), 0);
    assert_true(d.id > 0);
    *id = d.id;
}

static void make_user(struct store_user *u, const char *name)
{
    memset(u, 0, sizeof *u);
    snprintf(u->name, sizeof u->name, "%s", name);
    snprintf(u->role, sizeof u->role, "operator");
    snprintf(u->pwhash, sizeof u->pwhash, "$argon2id$v=19$m=65536$x$y");
    u->created = 1700000000;
}

static void make_audit(struct store_audit_row *r, int64_t seq)
{
    memset(r, 0, sizeof *r);
    r->seq = seq;
    r->time = (int64_t)(1700000000u + (uint64_t)seq);
    snprintf(r->user, sizeof r->user, "alice");
    snprintf(r->device, sizeof r->device, "pc-01");
    snprintf(r->action, sizeof r->action, "record.get");
    snprintf(r->dataset, sizeof r->dataset, "payroll");
    snprintf(r->outcome, sizeof r->outcome, "ok");
    snprintf(r->detail, sizeof r->detail, "row %lld", (long long)seq);
    r->count = seq & 0xffff;
    memset(r->prev_mac, (int)(((uint64_t)seq - 1) & 0xff), sizeof r->prev_mac);
    memset(r->mac, (int)((uint64_t)seq & 0xff), sizeof r->mac);
    /* The store keeps the body as given; each append uses it at once. */
    static char body[AUDIT_BODY_MAX];
    r->format = AUDIT_FORMAT_V3;
    r->body_len = audit_body_encode(r, body, sizeof body);
    r->body = body;
    assert_true(r->body_len > 0);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    struct store_user u;

    assert_non_null(f);
    make_dir(f);
    assert_int_equal(store_open(f->dir, 1, &f->s), 0);
    add_dataset(f->s, "payroll", &f->ds);
    make_user(&u, "alice");
    assert_int_equal(store_user_add(f->s, &u), 0);
    f->uid = u.id;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    store_close(f->s);
    rm_rf(f->dir);
    free(f);
    return 0;
}

/* ---- open, create, files ------------------------------------------------- */

static void test_create_open(void **state)
{
    struct fx f;
    struct store *s = NULL, *s2 = NULL;
    char nested[160];
    uint8_t hdr[20];
    int fd;

    (void)state;
    make_dir(&f);
    assert_int_equal(store_open(f.dir, 0, &s), MAMORI_ENOTFOUND);
    assert_null(s);
    assert_int_equal(store_open(f.dir, 1, &s), 0);
    assert_non_null(s);
    assert_int_equal(store_meta_set(s, "vault_id", "v-1"), 0);
    assert_int_equal(store_open(f.dir, 1, &s2), MAMORI_EEXIST);
    assert_null(s2);
    /* A second connection on the same vault works and sees the data. */
    assert_int_equal(store_open(f.dir, 0, &s2), 0);
    {
        char v[16];
        assert_int_equal(store_meta_get(s2, "vault_id", v, sizeof v), 0);
        assert_string_equal(v, "v-1");
    }
    store_close(s2);
    store_close(s);

    /* WAL is recorded in the header (bytes 18 and 19 are 2). */
    fd = open(f.path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(read(fd, hdr, sizeof hdr), (ssize_t)sizeof hdr);
    close(fd);
    assert_memory_equal(hdr, "SQLite format 3", 16);
    assert_int_equal(hdr[18], 2);
    assert_int_equal(hdr[19], 2);
    assert_int_equal(raw_int(f.path, "PRAGMA user_version"),
                     STORE_SCHEMA_VERSION);

    /* A missing home, bad arguments. */
    snprintf(nested, sizeof nested, "%s/no/such", f.dir);
    assert_int_equal(store_open(nested, 1, &s), MAMORI_ENOTFOUND);
    assert_int_equal(store_open(nested, 0, &s), MAMORI_ENOTFOUND);
    assert_int_equal(store_open(NULL, 0, &s), MAMORI_EINVAL);
    assert_int_equal(store_open("", 1, &s), MAMORI_EINVAL);
    assert_int_equal(store_open(f.dir, 0, NULL), MAMORI_EINVAL);
    store_close(NULL);
    rm_rf(f.dir);
}

static void test_path_too_long(void **state)
{
    char *home = malloc(PATH_MAX + 10);
    struct store *s = NULL;

    (void)state;
    assert_non_null(home);
    memset(home, 'a', PATH_MAX + 9);
    home[0] = '/';
    home[PATH_MAX + 9] = '\0';
    assert_int_equal(store_open(home, 1, &s), MAMORI_ETOOBIG);
    assert_null(s);
    free(home);
}

static void check_mode(const char *path, mode_t want)
{
    struct stat sb;

    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, want);
}

static void test_file_mode(void **state)
{
    static const mode_t masks[] = {0, 022, 0277};
    char side[160];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof masks / sizeof masks[0]; i++) {
        struct fx f;
        struct store *s = NULL;
        mode_t old;

        make_dir(&f);
        old = umask(masks[i]);
        assert_int_equal(store_open(f.dir, 1, &s), 0);
        umask(old);
        check_mode(f.path, 0600);
        assert_int_equal(store_meta_set(s, "k", "v"), 0);
        snprintf(side, sizeof side, "%s-wal", f.path);
        check_mode(side, 0600);
        snprintf(side, sizeof side, "%s-shm", f.path);
        check_mode(side, 0600);
        store_close(s);
        rm_rf(f.dir);
    }
}

static void test_hostile_files(void **state)
{
    struct fx f, g;
    struct store *s = NULL;
    char junk[4096];
    int fd;

    (void)state;
    make_dir(&f);
    /* Not a database: refused, nothing crashes, the file is untouched. */
    memset(junk, 'J', sizeof junk);
    fd = open(f.path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
    close(fd);
    assert_int_equal(store_open(f.dir, 0, &s), MAMORI_EIO);
    assert_null(s);
    assert_int_equal(file_has(f.path, junk, sizeof junk), 1);
    assert_int_equal(store_open(f.dir, 1, &s), MAMORI_EEXIST);
    assert_int_equal(file_has(f.path, junk, sizeof junk), 1);
    assert_int_equal(unlink(f.path), 0);

    /* vault.db as a symlink to a real vault: not followed. */
    make_dir(&g);
    assert_int_equal(store_open(g.dir, 1, &s), 0);
    store_close(s);
    s = NULL;
    assert_int_equal(symlink(g.path, f.path), 0);
    assert_int_not_equal(store_open(f.dir, 0, &s), 0);
    assert_null(s);
    assert_int_equal(store_open(f.dir, 1, &s), MAMORI_EEXIST);
    assert_int_equal(unlink(f.path), 0);
    /* A dangling symlink is not created through either. */
    assert_int_equal(symlink("/tmp/mamori-store-nonexistent-target", f.path),
                     0);
    assert_int_equal(store_open(f.dir, 1, &s), MAMORI_EEXIST);
    assert_int_equal(access("/tmp/mamori-store-nonexistent-target", F_OK), -1);
    /* A directory named vault.db. */
    assert_int_equal(unlink(f.path), 0);
    assert_int_equal(mkdir(f.path, 0700), 0);
    assert_int_equal(store_open(f.dir, 0, &s), MAMORI_EIO);
    assert_int_equal(store_open(f.dir, 1, &s), MAMORI_EEXIST);
    rm_rf(f.dir);
    rm_rf(g.dir);
}

/* ---- schema -------------------------------------------------------------- */

static void test_schema_newer(void **state)
{
    struct fx f;
    struct store *s = NULL;

    (void)state;
    make_dir(&f);
    assert_int_equal(store_open(f.dir, 1, &s), 0);
    store_close(s);
    s = NULL;
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d",
             STORE_SCHEMA_VERSION + 1);
    raw_exec(f.path, sql);
    assert_int_equal(store_open(f.dir, 0, &s), MAMORI_ESCHEMA);
    assert_null(s);
    raw_exec(f.path, "PRAGMA user_version = -1");
    assert_int_equal(store_open(f.dir, 0, &s), MAMORI_ESCHEMA);
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", STORE_SCHEMA_VERSION);
    raw_exec(f.path, sql);
    assert_int_equal(store_open(f.dir, 0, &s), 0);
    store_close(s);
    rm_rf(f.dir);
}

static void test_migrate_from_v0(void **state)
{
    struct fx f;
    struct store *s = NULL;
    struct store_user u;
    char v[8];
    int fd;

    (void)state;
    make_dir(&f);
    fd = open(f.path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(store_open(f.dir, 0, &s), 0);
    assert_int_equal(store_meta_set(s, "a", "b"), 0);
    assert_int_equal(store_meta_get(s, "a", v, sizeof v), 0);
    assert_string_equal(v, "b");
    make_user(&u, "bob");
    assert_int_equal(store_user_add(s, &u), 0);
    store_close(s);
    assert_int_equal(raw_int(f.path, "PRAGMA user_version"),
                     STORE_SCHEMA_VERSION);
    assert_int_equal(raw_int(f.path, "SELECT count(*) FROM sqlite_master"
                                     " WHERE name = 'blind'"),
                     1);
    /* Reopening does not migrate again (that would fail: tables exist). */
    assert_int_equal(store_open(f.dir, 0, &s), 0);
    store_close(s);
    rm_rf(f.dir);
}

static void test_migrate_failure_rolls_back(void **state)
{
    struct fx f;
    struct store *s = NULL;
    sqlite3 *db = NULL;

    (void)state;
    make_dir(&f);
    /* A v0 file with a clashing table: migration 1 fails half way. */
    assert_int_equal(sqlite3_open_v2(f.path, &db,
                                     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                     NULL),
                     SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db, "CREATE TABLE audit(x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(store_open(f.dir, 0, &s), MAMORI_EIO);
    assert_null(s);
    assert_int_equal(raw_int(f.path, "PRAGMA user_version"), 0);
    assert_int_equal(raw_int(f.path, "SELECT count(*) FROM sqlite_master"
                                     " WHERE type = 'table'"),
                     1);
    rm_rf(f.dir);
}

/* ---- transactions -------------------------------------------------------- */

static void test_transactions(void **state)
{
    struct fx *f = *state;
    struct store *s2 = NULL;
    char v[16];

    assert_int_equal(store_commit(f->s), MAMORI_ESTATE);
    store_rollback(f->s); /* harmless outside a transaction */
    assert_int_equal(store_begin(f->s), 0);
    assert_int_equal(store_begin(f->s), MAMORI_ESTATE);
    assert_int_equal(store_meta_set(f->s, "k", "rolled back"), 0);
    assert_int_equal(store_meta_get(f->s, "k", v, sizeof v), 0);
    store_rollback(f->s);
    assert_int_equal(store_meta_get(f->s, "k", v, sizeof v), MAMORI_ENOTFOUND);

    /* Another connection sees only committed data. */
    assert_int_equal(store_open(f->dir, 0, &s2), 0);
    assert_int_equal(store_begin(f->s), 0);
    assert_int_equal(store_meta_set(f->s, "k", "kept"), 0);
    assert_int_equal(store_meta_get(s2, "k", v, sizeof v), MAMORI_ENOTFOUND);
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_meta_get(s2, "k", v, sizeof v), 0);
    assert_string_equal(v, "kept");
    assert_int_equal(store_commit(f->s), MAMORI_ESTATE);
    store_close(s2);

    /* A failed write inside a transaction leaves the rest to the caller. */
    assert_int_equal(store_begin(f->s), 0);
    assert_int_equal(store_meta_set(f->s, "k2", "x"), 0);
    {
        struct store_user u;
        make_user(&u, "alice");
        assert_int_equal(store_user_add(f->s, &u), MAMORI_EEXIST);
    }
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_meta_get(f->s, "k2", v, sizeof v), 0);

    assert_int_equal(store_begin(NULL), MAMORI_EINVAL);
    assert_int_equal(store_commit(NULL), MAMORI_EINVAL);
    store_rollback(NULL);
}

/* ---- meta ---------------------------------------------------------------- */

static void test_meta(void **state)
{
    struct fx *f = *state;
    static const char hostile[] = "x'); DROP TABLE meta; --";
    char v[64], small[4];

    assert_int_equal(store_meta_get(f->s, "vault_id", v, sizeof v),
                     MAMORI_ENOTFOUND);
    assert_int_equal(store_meta_set(f->s, "vault_id", "abc"), 0);
    assert_int_equal(store_meta_get(f->s, "vault_id", v, sizeof v), 0);
    assert_string_equal(v, "abc");
    assert_int_equal(store_meta_set(f->s, "vault_id", "defg"), 0);
    assert_int_equal(store_meta_get(f->s, "vault_id", v, sizeof v), 0);
    assert_string_equal(v, "defg");
    /* "defg" needs 5 bytes. */
    assert_int_equal(store_meta_get(f->s, "vault_id", small, sizeof small),
                     MAMORI_ETOOBIG);
    assert_int_equal(store_meta_set(f->s, hostile, hostile), 0);
    assert_int_equal(store_meta_get(f->s, hostile, v, sizeof v), 0);
    assert_string_equal(v, hostile);
    assert_int_equal(store_meta_set(f->s, "empty", ""), 0);
    assert_int_equal(store_meta_get(f->s, "empty", v, sizeof v), 0);
    assert_string_equal(v, "");
    assert_int_equal(store_meta_get(f->s, "vault_id", v, 0), MAMORI_EINVAL);
    assert_int_equal(store_meta_set(f->s, NULL, "x"), MAMORI_EINVAL);
    assert_int_equal(store_meta_set(f->s, "x", NULL), MAMORI_EINVAL);
    assert_int_equal(store_meta_set(NULL, "x", "y"), MAMORI_EINVAL);
}

/* ---- users --------------------------------------------------------------- */

static void test_users(void **state)
{
    struct fx *f = *state;
    struct store_user u, g, *list = NULL;
    size_t n = 0;

    make_user(&u, "山田 太郎");
    u.last_login = 5;
    assert_int_equal(store_user_add(f->s, &u), 0);
    assert_true(u.id > f->uid);
    assert_int_equal(store_user_get(f->s, "山田 太郎", &g), 0);
    assert_int_equal(g.id, u.id);
    assert_string_equal(g.role, "operator");
    assert_string_equal(g.pwhash, u.pwhash);
    assert_int_equal(g.created, 1700000000);
    assert_int_equal(g.last_login, 5);
    assert_int_equal(g.disabled, 0);
    assert_int_equal(store_user_get_id(f->s, u.id, &g), 0);
    assert_string_equal(g.name, "山田 太郎");

    make_user(&g, "山田 太郎");
    assert_int_equal(store_user_add(f->s, &g), MAMORI_EEXIST);
    assert_int_equal(store_user_get(f->s, "nobody", &g), MAMORI_ENOTFOUND);
    assert_int_equal(store_user_get_id(f->s, 9999, &g), MAMORI_ENOTFOUND);

    /* Update. */
    snprintf(u.role, sizeof u.role, "auditor");
    u.last_login = 1700000100;
    u.disabled = 1;
    assert_int_equal(store_user_update(f->s, &u), 0);
    assert_int_equal(store_user_get_id(f->s, u.id, &g), 0);
    assert_string_equal(g.role, "auditor");
    assert_int_equal(g.last_login, 1700000100);
    assert_int_equal(g.disabled, 1);
    snprintf(u.name, sizeof u.name, "alice");
    assert_int_equal(store_user_update(f->s, &u), MAMORI_EEXIST);
    g.id = 9999;
    assert_int_equal(store_user_update(f->s, &g), MAMORI_ENOTFOUND);

    /* Oversized fields (no NUL inside the array) are refused. */
    make_user(&g, "x");
    memset(g.name, 'N', sizeof g.name);
    assert_int_equal(store_user_add(f->s, &g), MAMORI_ETOOBIG);
    make_user(&g, "y");
    memset(g.pwhash, 'P', sizeof g.pwhash);
    assert_int_equal(store_user_add(f->s, &g), MAMORI_ETOOBIG);
    make_user(&g, "z");
    memset(g.role, 'R', sizeof g.role);
    assert_int_equal(store_user_add(f->s, &g), MAMORI_ETOOBIG);
    /* 63 bytes fit exactly. */
    make_user(&g, "");
    memset(g.name, 'M', sizeof g.name - 1);
    assert_int_equal(store_user_add(f->s, &g), 0);

    /* Injection-looking names are just names. */
    make_user(&g, "o'brien\"; DELETE FROM users; --");
    assert_int_equal(store_user_add(f->s, &g), 0);

    assert_int_equal(store_user_list(f->s, &list, &n), 0);
    assert_int_equal(n, 4);
    {
        char m63[64];
        memset(m63, 'M', 63);
        m63[63] = '\0';
        assert_string_equal(list[0].name, m63);
    }
    assert_string_equal(list[1].name, "alice");
    assert_string_equal(list[2].name, "o'brien\"; DELETE FROM users; --");
    assert_string_equal(list[3].name, "山田 太郎");
    free(list);
    assert_int_equal(store_user_list(f->s, NULL, &n), MAMORI_EINVAL);
    assert_int_equal(store_user_add(f->s, NULL), MAMORI_EINVAL);
    assert_int_equal(store_user_get(f->s, NULL, &g), MAMORI_EINVAL);
}

/* sq_grow keeps the elements across every growth (it copies them to a new
 * block and wipes the old one) and refuses a size that overflows. */
static void test_grow(void **state)
{
    uint64_t *a = NULL;
    void *p = NULL;
    size_t cap = 0, big = SIZE_MAX / 2 + 1;

    (void)state;
    for (size_t i = 0; i < 1000; i++) {
        assert_int_equal(sq_grow((void **)&a, &cap, i, sizeof *a), 0);
        assert_true(cap > i);
        a[i] = (uint64_t)i * 2654435761u;
    }
    for (size_t i = 0; i < 1000; i++)
        assert_int_equal(a[i], (uint64_t)i * 2654435761u);
    free(a);
    assert_int_equal(sq_grow(&p, &big, big, 1), MAMORI_ENOMEM);
    big = 8;
    assert_int_equal(sq_grow(&p, &big, 8, SIZE_MAX / 8), MAMORI_ENOMEM);
    assert_null(p);
}

/* ---- sessions ------------------------------------------------------------ */

static void test_sessions(void **state)
{
    struct fx *f = *state;
    struct store_session ss, g;
    uint8_t other[32];

    memset(&ss, 0, sizeof ss);
    memset(ss.token_hash, 0x42, sizeof ss.token_hash);
    ss.token_hash[31] = 0;
    ss.user_id = f->uid;
    ss.os_uid = 1000;
    ss.created = 100;
    ss.last_seen = 100;
    ss.expires = 100 + 3600;
    assert_int_equal(store_session_add(f->s, &ss), 0);
    assert_int_equal(store_session_add(f->s, &ss), MAMORI_EEXIST);
    assert_int_equal(store_session_get(f->s, ss.token_hash, &g), 0);
    assert_memory_equal(g.token_hash, ss.token_hash, 32);
    assert_int_equal(g.user_id, f->uid);
    assert_int_equal(g.os_uid, 1000);
    assert_int_equal(g.created, 100);
    assert_int_equal(g.last_seen, 100);
    assert_int_equal(g.expires, 3700);

    assert_int_equal(store_session_touch(f->s, ss.token_hash, 200, 10), 0);
    assert_int_equal(store_session_get(f->s, ss.token_hash, &g), 0);
    assert_int_equal(g.last_seen, 200);
    assert_int_equal(g.created, 100);
    /* within the grain the row stays; at it, it moves; a clock that went
     * back moves it too */
    assert_int_equal(store_session_touch(f->s, ss.token_hash, 209, 10), 0);
    assert_int_equal(store_session_get(f->s, ss.token_hash, &g), 0);
    assert_int_equal(g.last_seen, 200);
    assert_int_equal(store_session_touch(f->s, ss.token_hash, 210, 10), 0);
    assert_int_equal(store_session_get(f->s, ss.token_hash, &g), 0);
    assert_int_equal(g.last_seen, 210);
    assert_int_equal(store_session_touch(f->s, ss.token_hash, 150, 10), 0);
    assert_int_equal(store_session_get(f->s, ss.token_hash, &g), 0);
    assert_int_equal(g.last_seen, 150);
    assert_int_equal(store_session_touch(f->s, ss.token_hash, 200, 0), 0);
    /* the auth generation: last_seen is not part of it, the rest is */
    int64_t g0 = 0, g1 = 0;
    assert_int_equal(store_auth_gen(f->s, &g0), 0);
    assert_int_equal(store_session_touch(f->s, ss.token_hash, 500, 0), 0);
    assert_int_equal(store_auth_gen(f->s, &g1), 0);
    assert_true(g1 == g0);
    assert_int_equal(store_session_restrict(f->s, ss.token_hash, 0), 0);
    assert_int_equal(store_auth_gen(f->s, &g1), 0);
    assert_true(g1 != g0);
    assert_int_equal(store_config_set(f->s, "session.idle_minutes", "20"), 0);
    assert_int_equal(store_auth_gen(f->s, &g0), 0);
    assert_true(g1 != g0);

    memcpy(other, ss.token_hash, 32);
    other[0] ^= 1;
    assert_int_equal(store_session_get(f->s, other, &g), MAMORI_ENOTFOUND);
    assert_int_equal(store_session_touch(f->s, other, 1, 10), MAMORI_ENOTFOUND);
    assert_int_equal(store_session_touch(f->s, other, 1, 0), MAMORI_ENOTFOUND);
    assert_int_equal(store_session_delete(f->s, other), MAMORI_ENOTFOUND);

    /* Negative uid (no OS user) round-trips. */
    memcpy(g.token_hash, other, 32);
    g.os_uid = -1;
    assert_int_equal(store_session_add(f->s, &g), 0);
    assert_int_equal(store_session_get(f->s, other, &g), 0);
    assert_int_equal(g.os_uid, -1);

    /* A session for a user that does not exist. */
    other[1] ^= 1;
    memcpy(g.token_hash, other, 32);
    g.user_id = 424242;
    assert_int_equal(store_session_add(f->s, &g), MAMORI_ENOTFOUND);

    assert_int_equal(store_session_delete(f->s, ss.token_hash), 0);
    assert_int_equal(store_session_get(f->s, ss.token_hash, &g),
                     MAMORI_ENOTFOUND);
    assert_int_equal(store_session_get(f->s, NULL, &g), MAMORI_EINVAL);
}

/* ---- datasets and grants ------------------------------------------------- */

static void test_datasets(void **state)
{
    struct fx *f = *state;
    struct store_dataset d, g, *list = NULL;
    struct store_user u;
    size_t n = 0;
    int64_t id2;

    assert_int_equal(store_dataset_get(f->s, "payroll", &g), 0);
    assert_int_equal(g.id, f->ds);
    assert_string_equal(g.client, "client of payroll");
    assert_string_equal(g.purpose, "payroll");
    assert_string_equal(g.ends, "");
    assert_string_equal(g.state, "active");
    assert_string_equal(g.schema, "name:name:0;mynumber:mynumber:1");
    assert_int_equal(g.created, 1700000000);
    assert_int_equal(strlen(g.uuid), 36);

    /* Same name, other uuid: refused. Same uuid, other name: refused. */
    d = g;
    d.uuid[0] = 'f';
    assert_int_equal(store_dataset_add(f->s, &d), MAMORI_EEXIST);
    d = g;
    snprintf(d.name, sizeof d.name, "other");
    assert_int_equal(store_dataset_add(f->s, &d), MAMORI_EEXIST);
    d.uuid[0] = 'e';
    snprintf(d.ends, sizeof d.ends, "2030-03-31");
    assert_int_equal(store_dataset_add(f->s, &d), 0);
    id2 = d.id;
    assert_true(id2 != f->ds);
    assert_int_equal(store_dataset_get(f->s, "other", &g), 0);
    assert_string_equal(g.ends, "2030-03-31");
    assert_int_equal(store_dataset_get(f->s, "nope", &g), MAMORI_ENOTFOUND);

    /* Field limits. */
    d = g;
    d.uuid[1] = 'x';
    snprintf(d.name, sizeof d.name, "big");
    memset(d.schema, 's', sizeof d.schema);
    assert_int_equal(store_dataset_add(f->s, &d), MAMORI_ETOOBIG);
    memset(d.schema, 's', sizeof d.schema - 1);
    d.schema[sizeof d.schema - 1] = '\0';
    memset(d.ends, '9', sizeof d.ends);
    assert_int_equal(store_dataset_add(f->s, &d), MAMORI_ETOOBIG);
    memset(d.ends, 0, sizeof d.ends);
    assert_int_equal(store_dataset_add(f->s, &d), 0);
    assert_int_equal(store_dataset_get(f->s, "big", &g), 0);
    assert_int_equal(strlen(g.schema), sizeof g.schema - 1);

    assert_int_equal(store_dataset_list(f->s, &list, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(list[0].name, "big");
    assert_string_equal(list[1].name, "other");
    assert_string_equal(list[2].name, "payroll");
    assert_int_equal(list[2].id, f->ds);
    free(list);

    /* Grants. */
    make_user(&u, "bob");
    assert_int_equal(store_user_add(f->s, &u), 0);
    assert_int_equal(store_grant_check(f->s, f->ds, f->uid), 0);
    assert_int_equal(store_grant_add(f->s, f->ds, f->uid), 0);
    assert_int_equal(store_grant_add(f->s, f->ds, f->uid), MAMORI_EEXIST);
    assert_int_equal(store_grant_check(f->s, f->ds, f->uid), 1);
    assert_int_equal(store_grant_check(f->s, f->ds, u.id), 0);
    assert_int_equal(store_grant_check(f->s, id2, f->uid), 0);
    assert_int_equal(store_grant_add(f->s, 9999, f->uid), MAMORI_ENOTFOUND);
    assert_int_equal(store_grant_add(f->s, f->ds, 9999), MAMORI_ENOTFOUND);
    assert_int_equal(store_grant_check(NULL, f->ds, f->uid), MAMORI_EINVAL);
}

/* ---- records ------------------------------------------------------------- */

static void test_records(void **state)
{
    struct fx *f = *state;
    struct store_record r, g;
    uint8_t id[STORE_RID_LEN], id2[STORE_RID_LEN], ct[300], *big;
    int64_t n, other;
    size_t i;

    for (i = 0; i < sizeof ct; i++)
        ct[i] = (uint8_t)(i * 7); /* includes 0x00 and 0xff bytes */
    rid(id, 1);
    rid(id2, 2);
    memset(&r, 0, sizeof r);
    r.dataset_id = f->ds;
    memcpy(r.id, id, sizeof id);
    r.version = 1;
    r.key_version = 4000000000u;
    r.updated = 1700000000;
    r.ct = ct;
    r.ctlen = sizeof ct;
    assert_int_equal(store_record_put(f->s, &r), 0);
    assert_int_equal(store_record_get(f->s, f->ds, id, &g), 0);
    assert_int_equal(g.dataset_id, f->ds);
    assert_memory_equal(g.id, id, sizeof id);
    assert_int_equal(g.version, 1);
    assert_int_equal(g.key_version, 4000000000u);
    assert_int_equal(g.updated, 1700000000);
    assert_int_equal(g.ctlen, sizeof ct);
    assert_memory_equal(g.ct, ct, sizeof ct);
    free(g.ct);

    /* Replace. */
    r.version = 2;
    r.ctlen = 5;
    assert_int_equal(store_record_put(f->s, &r), 0);
    assert_int_equal(store_record_get(f->s, f->ds, id, &g), 0);
    assert_int_equal(g.version, 2);
    assert_int_equal(g.ctlen, 5);
    assert_memory_equal(g.ct, ct, 5);
    free(g.ct);

    /* Large ciphertext. */
    big = malloc(200000);
    assert_non_null(big);
    for (i = 0; i < 200000; i++)
        big[i] = (uint8_t)(i ^ (i >> 8));
    memcpy(r.id, id2, sizeof id2);
    r.ct = big;
    r.ctlen = 200000;
    assert_int_equal(store_record_put(f->s, &r), 0);
    assert_int_equal(store_record_get(f->s, f->ds, id2, &g), 0);
    assert_int_equal(g.ctlen, 200000);
    assert_memory_equal(g.ct, big, 200000);
    free(g.ct);
    free(big);

    assert_int_equal(store_record_count(f->s, f->ds, &n), 0);
    assert_int_equal(n, 2);
    add_dataset(f->s, "other", &other);
    assert_int_equal(store_record_count(f->s, other, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(store_record_get(f->s, other, id, &g), MAMORI_ENOTFOUND);
    assert_null(g.ct);

    /* Unknown dataset: the foreign key refuses it. */
    r.dataset_id = 9999;
    r.ct = ct;
    r.ctlen = sizeof ct;
    assert_int_equal(store_record_put(f->s, &r), MAMORI_ENOTFOUND);
    r.dataset_id = f->ds;
    r.ct = NULL;
    r.ctlen = 10;
    assert_int_equal(store_record_put(f->s, &r), MAMORI_EINVAL);

    assert_int_equal(store_record_delete(f->s, f->ds, id), 0);
    assert_int_equal(store_record_delete(f->s, f->ds, id), MAMORI_ENOTFOUND);
    assert_int_equal(store_record_get(f->s, f->ds, id, &g), MAMORI_ENOTFOUND);
    assert_int_equal(store_record_count(f->s, f->ds, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(store_record_get(f->s, f->ds, NULL, &g), MAMORI_EINVAL);
    assert_int_equal(store_record_count(f->s, f->ds, NULL), MAMORI_EINVAL);
}

/* ---- blind indexes ------------------------------------------------------- */

/* A 4-byte record with id in dataset ds, for the index tests. */
static void index_record(struct fx *f, int64_t ds, const uint8_t id[16])
{
    uint8_t ct[4] = {1, 2, 3, 4};
    struct store_record r = {
        .dataset_id = ds, .version = 1, .key_version = 1, .ct = ct, .ctlen = 4};
    memcpy(r.id, id, STORE_RID_LEN);
    assert_int_equal(store_record_put(f->s, &r), 0);
}

static void test_index(void **state)
{
    struct fx *f = *state;
    uint8_t mac[8] = {1, 2, 3, 4, 5, 6, 7, 8}, mac2[8], id[4][16];
    uint8_t big[33];
    struct store_record *ids = NULL;
    size_t n = 0, i;
    int64_t other;
    int seen[3] = {0, 0, 0};

    add_dataset(f->s, "other", &other);
    memcpy(mac2, mac, sizeof mac);
    mac2[7] ^= 0x80;
    for (i = 0; i < 4; i++)
        rid(id[i], (unsigned)i + 10);
    /* An entry needs its record. */
    assert_int_equal(
        store_index_put(f->s, f->ds, 1, mac, sizeof mac, NULL, 0, id[0]),
        MAMORI_ENOTFOUND);
    for (i = 0; i < 4; i++)
        index_record(f, f->ds, id[i]);
    index_record(f, other, id[3]);
    /* Three records share a MAC in field 1. */
    for (i = 0; i < 3; i++)
        assert_int_equal(
            store_index_put(f->s, f->ds, 1, mac, sizeof mac, NULL, 0, id[i]),
            0);
    /* Re-putting an entry is not an error and adds nothing. */
    assert_int_equal(
        store_index_put(f->s, f->ds, 1, mac, sizeof mac, NULL, 0, id[0]), 0);
    /* Same MAC, other field or dataset; other MAC, same field. */
    assert_int_equal(
        store_index_put(f->s, f->ds, 2, mac, sizeof mac, NULL, 0, id[3]), 0);
    assert_int_equal(
        store_index_put(f->s, other, 1, mac, sizeof mac, NULL, 0, id[3]), 0);
    assert_int_equal(
        store_index_put(f->s, f->ds, 1, mac2, sizeof mac2, NULL, 0, id[3]), 0);
    /* A prefix of the MAC is a different MAC. */
    assert_int_equal(store_index_put(f->s, f->ds, 1, mac, 7, NULL, 0, id[3]),
                     0);
    /* The record id index also carries field 2 of record 0. */
    assert_int_equal(
        store_index_put(f->s, f->ds, 2, mac2, sizeof mac2, NULL, 0, id[0]), 0);

    assert_int_equal(store_index_lookup(f->s, f->ds, 1, mac, sizeof mac, NULL,
                                        NULL, &ids, &n),
                     0);
    assert_int_equal(n, 3);
    for (i = 0; i < n; i++) {
        size_t k;
        for (k = 0; k < 3; k++)
            if (memcmp(ids[i].id, id[k], STORE_RID_LEN) == 0)
                seen[k]++;
    }
    assert_int_equal(seen[0], 1);
    assert_int_equal(seen[1], 1);
    assert_int_equal(seen[2], 1);
    store_records_free(ids, n);

    assert_int_equal(store_index_lookup(f->s, other, 1, mac, sizeof mac, NULL,
                                        NULL, &ids, &n),
                     0);
    assert_int_equal(n, 1);
    assert_memory_equal(ids[0].id, id[3], STORE_RID_LEN);
    assert_int_equal(ids[0].ctlen, 4);
    assert_int_equal(ids[0].ct[3], 4);
    assert_int_equal(ids[0].version, 1);
    store_records_free(ids, n);
    assert_int_equal(store_index_lookup(f->s, f->ds, 3, mac, sizeof mac, NULL,
                                        NULL, &ids, &n),
                     0);
    assert_int_equal(n, 0);
    assert_null(ids);

    /* Deleting record 0's two entries takes just those. */
    assert_int_equal(store_index_delete(f->s, f->ds, 1, mac, sizeof mac, id[0]),
                     0);
    assert_int_equal(
        store_index_delete(f->s, f->ds, 2, mac2, sizeof mac2, id[0]), 0);
    assert_int_equal(store_index_lookup(f->s, f->ds, 1, mac, sizeof mac, NULL,
                                        NULL, &ids, &n),
                     0);
    assert_int_equal(n, 2);
    for (i = 0; i < n; i++)
        assert_memory_not_equal(ids[i].id, id[0], STORE_RID_LEN);
    store_records_free(ids, n);
    assert_int_equal(store_index_lookup(f->s, f->ds, 2, mac2, sizeof mac2, NULL,
                                        NULL, &ids, &n),
                     0);
    assert_int_equal(n, 0);
    store_records_free(ids, n);
    assert_int_equal(store_index_lookup(f->s, f->ds, 2, mac, sizeof mac, NULL,
                                        NULL, &ids, &n),
                     0);
    assert_int_equal(n, 1);
    store_records_free(ids, n);
    /* deleting what is not there is not an error */
    assert_int_equal(store_index_delete(f->s, f->ds, 1, mac, sizeof mac, id[0]),
                     0);
    assert_int_equal(store_index_delete(f->s, f->ds, 1, big, sizeof big, id[0]),
                     MAMORI_EINVAL);

    /* Malformed arguments. */
    memset(big, 1, sizeof big);
    assert_int_equal(store_index_put(f->s, f->ds, 1, mac, 0, NULL, 0, id[0]),
                     MAMORI_EINVAL);
    assert_int_equal(
        store_index_put(f->s, f->ds, 1, big, sizeof big, NULL, 0, id[0]),
        MAMORI_EINVAL);
    assert_int_equal(
        store_index_put(f->s, f->ds, -1, mac, sizeof mac, NULL, 0, id[0]),
        MAMORI_EINVAL);
    assert_int_equal(store_index_put(f->s, f->ds, 1, NULL, 8, NULL, 0, id[0]),
                     MAMORI_EINVAL);
    assert_int_equal(
        store_index_put(f->s, f->ds, 1, mac, sizeof mac, NULL, 0, NULL),
        MAMORI_EINVAL);
    assert_int_equal(store_index_lookup(f->s, f->ds, 1, big, sizeof big, NULL,
                                        NULL, &ids, &n),
                     MAMORI_EINVAL);
    assert_int_equal(store_index_lookup(f->s, f->ds, 1, mac, sizeof mac, NULL,
                                        NULL, NULL, &n),
                     MAMORI_EINVAL);
}

/* Index entries put inside a transaction are held back and inserted in key
 * order (store_sqlite_pending.c): whatever the buffer does, a lookup in the
 * transaction sees them, a commit keeps exactly them and a rollback none. */
static void pending_put(struct fx *f, unsigned i, size_t maclen)
{
    uint8_t mac[12], id[STORE_RID_LEN];
    uint32_t h = i * 2654435761u;

    rid(id, i);
    index_record(f, f->ds, id);
    for (int field = 0; field < 3; field++) {
        memset(mac, field, sizeof mac);
        memcpy(mac, &h, sizeof h);
        mac[0] ^= (uint8_t)field;
        assert_int_equal(
            store_index_put(f->s, f->ds, field, mac, maclen, NULL, 0, id), 0);
    }
}

static size_t pending_hits(struct fx *f, unsigned i, int field, size_t maclen)
{
    uint8_t mac[12];
    uint32_t h = i * 2654435761u;
    struct store_record *ids = NULL;
    size_t n = 0, found = 0;
    uint8_t want[STORE_RID_LEN];

    memset(mac, field, sizeof mac);
    memcpy(mac, &h, sizeof h);
    mac[0] ^= (uint8_t)field;
    rid(want, i);
    assert_int_equal(store_index_lookup(f->s, f->ds, field, mac, maclen, NULL,
                                        NULL, &ids, &n),
                     0);
    for (size_t k = 0; k < n; k++)
        found += memcmp(ids[k].id, want, STORE_RID_LEN) == 0;
    store_records_free(ids, n);
    return found;
}

static void test_index_pending(void **state)
{
    struct fx *f = *state;
    const unsigned n = 50000; /* 150,000 entries: the buffer fills twice */

    assert_int_equal(store_begin(f->s), 0);
    for (unsigned i = 1; i <= n / 2; i++)
        pending_put(f, i, 4);
    /* A lookup inside the transaction sees entries not yet inserted. */
    assert_int_equal(pending_hits(f, 7, 1, 4), 1);
    assert_int_equal(pending_hits(f, n / 2, 2, 4), 1);
    for (unsigned i = n / 2 + 1; i <= n; i++)
        pending_put(f, i, 4);
    pending_put(f, n, 4); /* the same entries again: kept once */
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM blind"), 3 * n);
    assert_int_equal(pending_hits(f, n - 1, 0, 4), 1);
    assert_int_equal(raw_int(f->path,
                             "SELECT count(*) FROM blind b LEFT JOIN records r"
                             " ON r.rid = b.record WHERE r.id IS NULL"),
                     0);

    /* A rollback drops held entries with their records. */
    assert_int_equal(store_begin(f->s), 0);
    for (unsigned i = n + 1; i <= n + 100; i++)
        pending_put(f, i, 4);
    store_rollback(f->s);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM blind"), 3 * n);
    assert_int_equal(pending_hits(f, n + 1, 0, 4), 0);
    /* ... and the next transaction does not write them either. */
    assert_int_equal(store_begin(f->s), 0);
    pending_put(f, n + 200, 4);
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM blind"), 3 * n + 3);

    /* Long MACs, and puts outside a transaction, go in at once. */
    assert_int_equal(store_begin(f->s), 0);
    pending_put(f, n + 300, 12);
    assert_int_equal(pending_hits(f, n + 300, 2, 12), 1);
    assert_int_equal(store_commit(f->s), 0);
    pending_put(f, n + 301, 4);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM blind"), 3 * n + 9);
}

/* Entry checks: stored as given (held back or not), shown to the keep
 * filter before the record is read, NULL for an entry without one. */
struct seen_checks {
    int calls, nulls;
    uint8_t want; /* keep entries whose check starts with this byte */
    uint8_t last[STORE_CHECK_MAX];
    size_t last_len;
};

static int keep_first_byte(void *arg, const uint8_t *chk, size_t len)
{
    struct seen_checks *c = arg;
    c->calls++;
    if (chk == NULL) {
        c->nulls++;
        return 1;
    }
    memcpy(c->last, chk, len);
    c->last_len = len;
    return chk[0] == c->want;
}

static void check_put(struct fx *f, unsigned i, const uint8_t *mac,
                      const uint8_t *chk, size_t chklen)
{
    uint8_t id[STORE_RID_LEN];
    rid(id, i);
    index_record(f, f->ds, id);
    assert_int_equal(store_index_put(f->s, f->ds, 0, mac, 4, chk, chklen, id),
                     0);
}

static void test_index_check(void **state)
{
    struct fx *f = *state;
    uint8_t mac[4] = {9, 9, 9, 9}, a[12], b[12], long_chk[STORE_CHECK_MAX + 1];
    struct store_record *rs = NULL;
    struct seen_checks c;
    size_t n = 0;
    uint8_t want[STORE_RID_LEN];

    memset(a, 0xA1, sizeof a);
    memset(b, 0xB2, sizeof b);
    check_put(f, 1, mac, a, sizeof a); /* at once */
    assert_int_equal(store_begin(f->s), 0);
    check_put(f, 2, mac, b, sizeof b); /* held back until the commit */
    check_put(f, 3, mac, NULL, 0);     /* written without a check */
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM blind"
                                      " WHERE length(chk) = 12"),
                     2);
    assert_int_equal(
        raw_int(f->path, "SELECT count(*) FROM blind WHERE chk IS NULL"), 1);

    /* Only the entry whose check fits, and the one without a check, are
     * read; the filter saw each entry once. */
    memset(&c, 0, sizeof c);
    c.want = 0xB2;
    assert_int_equal(store_index_lookup(f->s, f->ds, 0, mac, 4, keep_first_byte,
                                        &c, &rs, &n),
                     0);
    assert_int_equal(c.calls, 3);
    assert_int_equal(c.nulls, 1);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        rid(want, 1);
        assert_memory_not_equal(rs[i].id, want, STORE_RID_LEN);
        assert_int_equal(rs[i].ctlen, 4);
    }
    store_records_free(rs, n);
    /* A filter that wants nothing but unchecked entries. */
    memset(&c, 0, sizeof c);
    c.want = 0x00;
    assert_int_equal(store_index_lookup(f->s, f->ds, 0, mac, 4, keep_first_byte,
                                        &c, &rs, &n),
                     0);
    assert_int_equal(n, 1);
    rid(want, 3);
    assert_memory_equal(rs[0].id, want, STORE_RID_LEN);
    store_records_free(rs, n);
    /* No filter: all three. */
    assert_int_equal(
        store_index_lookup(f->s, f->ds, 0, mac, 4, NULL, NULL, &rs, &n), 0);
    assert_int_equal(n, 3);
    store_records_free(rs, n);

    /* A check too long, or a length without bytes, is refused. */
    memset(long_chk, 1, sizeof long_chk);
    rid(want, 1);
    assert_int_equal(store_index_put(f->s, f->ds, 1, mac, 4, long_chk,
                                     sizeof long_chk, want),
                     MAMORI_EINVAL);
    assert_int_equal(store_index_put(f->s, f->ds, 1, mac, 4, NULL, 4, want),
                     MAMORI_EINVAL);
    assert_int_equal(
        raw_int(f->path, "SELECT count(*) FROM blind WHERE field = 1"), 0);
}

/* ---- audit --------------------------------------------------------------- */

struct scan_ctx {
    int64_t next;
    int calls;
    int stop_at;
    struct store *s;
    int inner_rc;
};

static int scan_cb(void *arg, const struct store_audit_row *row)
{
    struct scan_ctx *c = arg;
    struct store_audit_row want;

    make_audit(&want, row->seq);
    if (row->seq != c->next)
        return -100;
    if (strcmp(row->user, want.user) != 0 ||
        strcmp(row->detail, want.detail) != 0 || row->count != want.count ||
        row->time != want.time || memcmp(row->mac, want.mac, 32) != 0 ||
        memcmp(row->prev_mac, want.prev_mac, 32) != 0)
        return -101;
    /* Even rows carry record ids, odd ones none. */
    if (row->seq % 2 == 0) {
        char ids[32];
        snprintf(ids, sizeof ids, "id-%lld,id-x", (long long)row->seq);
        if (row->record_ids == NULL || strcmp(row->record_ids, ids) != 0)
            return -102;
    } else if (row->record_ids != NULL) {
        return -103;
    }
    c->next++;
    c->calls++;
    if (c->stop_at != 0 && row->seq == c->stop_at)
        return 77;
    return 0;
}

/* scan_cb, and the fields scan_cb does not look at. */
static int last_cb(void *arg, const struct store_audit_row *row)
{
    if (row->format != AUDIT_FORMAT_V3 || strcmp(row->device, "pc-01") != 0 ||
        strcmp(row->action, "record.get") != 0 ||
        strcmp(row->dataset, "payroll") != 0 || strcmp(row->outcome, "ok") != 0)
        return -104;
    return scan_cb(arg, row);
}

static void append_n(struct store *s, int64_t from, int64_t to)
{
    struct store_audit_row r;
    char ids[32];
    int64_t i;

    for (i = from; i <= to; i++) {
        make_audit(&r, i);
        if (i % 2 == 0) {
            snprintf(ids, sizeof ids, "id-%lld,id-x", (long long)i);
            r.record_ids = ids;
        }
        assert_int_equal(store_audit_append(s, &r), 0);
    }
}

static void test_audit(void **state)
{
    struct fx *f = *state;
    struct store_audit_row r;
    struct scan_ctx c;
    int64_t n;

    assert_int_equal(store_audit_head(f->s, &n, r.mac), MAMORI_ENOTFOUND);
    assert_int_equal(store_audit_count(f->s, &n), 0);
    assert_int_equal(n, 0);

    /* The first row is seq 1. */
    make_audit(&r, 0);
    assert_int_equal(store_audit_append(f->s, &r), MAMORI_ESTATE);
    make_audit(&r, 2);
    assert_int_equal(store_audit_append(f->s, &r), MAMORI_ESTATE);

    assert_int_equal(store_begin(f->s), 0);
    append_n(f->s, 1, 5);
    assert_int_equal(store_commit(f->s), 0);
    append_n(f->s, 6, 10); /* outside a transaction: one each */

    make_audit(&r, 10); /* duplicate */
    assert_int_equal(store_audit_append(f->s, &r), MAMORI_ESTATE);
    make_audit(&r, 12); /* gap */
    assert_int_equal(store_audit_append(f->s, &r), MAMORI_ESTATE);
    make_audit(&r, INT64_MIN);
    assert_int_equal(store_audit_append(f->s, &r), MAMORI_ESTATE);

    /* No body: refused, nothing written. */
    make_audit(&r, 11);
    r.body = NULL;
    assert_int_equal(store_audit_append(f->s, &r), MAMORI_EINVAL);
    make_audit(&r, 11);
    r.body_len = 0;
    assert_int_equal(store_audit_append(f->s, &r), MAMORI_EINVAL);
    assert_int_equal(store_audit_count(f->s, &n), 0);
    assert_int_equal(n, 10);

    int64_t head = 0;
    uint8_t mac[32], want[32];
    assert_int_equal(store_audit_head(f->s, &head, mac), 0);
    assert_int_equal(head, 10);
    memset(want, 10, sizeof want);
    assert_memory_equal(mac, want, sizeof want);
    /* Every field reads back from the body (scan_cb checks them). */
    memset(&c, 0, sizeof c);
    c.next = 10;
    assert_int_equal(store_audit_scan(f->s, 10, 10, last_cb, &c), 0);
    assert_int_equal(c.calls, 1);

    /* Scan everything in order, from the middle, from past the end. */
    memset(&c, 0, sizeof c);
    c.next = 1;
    assert_int_equal(store_audit_scan(f->s, 1, INT64_MAX, scan_cb, &c), 0);
    assert_int_equal(c.calls, 10);
    memset(&c, 0, sizeof c);
    c.next = 4;
    assert_int_equal(store_audit_scan(f->s, 4, INT64_MAX, scan_cb, &c), 0);
    assert_int_equal(c.calls, 7);
    /* A bounded range. */
    memset(&c, 0, sizeof c);
    c.next = 3;
    assert_int_equal(store_audit_scan(f->s, 3, 5, scan_cb, &c), 0);
    assert_int_equal(c.calls, 3);
    memset(&c, 0, sizeof c);
    assert_int_equal(store_audit_scan(f->s, 6, 5, scan_cb, &c), 0);
    assert_int_equal(c.calls, 0);
    memset(&c, 0, sizeof c);
    c.next = 1;
    assert_int_equal(store_audit_scan(f->s, INT64_MIN, INT64_MAX, scan_cb, &c),
                     0);
    assert_int_equal(c.calls, 10);
    memset(&c, 0, sizeof c);
    assert_int_equal(store_audit_scan(f->s, 11, INT64_MAX, scan_cb, &c), 0);
    assert_int_equal(c.calls, 0);
    /* Early stop returns the callback's value. */
    memset(&c, 0, sizeof c);
    c.next = 1;
    c.stop_at = 3;
    assert_int_equal(store_audit_scan(f->s, 1, INT64_MAX, scan_cb, &c), 77);
    assert_int_equal(c.calls, 3);
    /* The statement was reset: the next scan starts afresh. */
    memset(&c, 0, sizeof c);
    c.next = 1;
    assert_int_equal(store_audit_scan(f->s, 1, INT64_MAX, scan_cb, &c), 0);
    assert_int_equal(c.calls, 10);
    assert_int_equal(store_audit_scan(f->s, 1, INT64_MAX, NULL, NULL),
                     MAMORI_EINVAL);

    /* Rollback discards appended rows. */
    assert_int_equal(store_begin(f->s), 0);
    append_n(f->s, 11, 12);
    store_rollback(f->s);
    assert_int_equal(store_audit_count(f->s, &n), 0);
    assert_int_equal(n, 10);
}

static int nested_cb(void *arg, const struct store_audit_row *row)
{
    struct scan_ctx *c = arg;
    int64_t n;

    (void)row;
    c->calls++;
    c->inner_rc = store_audit_scan(c->s, 1, INT64_MAX, nested_cb, c);
    /* Other calls are fine while a scan runs. */
    if (store_audit_count(c->s, &n) != 0 || n != 3)
        return -1;
    return 0;
}

static void test_audit_scan_reentry(void **state)
{
    struct fx *f = *state;
    struct scan_ctx c;

    append_n(f->s, 1, 3);
    memset(&c, 0, sizeof c);
    c.s = f->s;
    assert_int_equal(store_audit_scan(f->s, 1, INT64_MAX, nested_cb, &c), 0);
    assert_int_equal(c.calls, 3);
    assert_int_equal(c.inner_rc, MAMORI_ESTATE);
}

static void test_audit_fault_injection(void **state)
{
    struct fx *f = *state;
    struct store *s2 = NULL;
    struct store_audit_row r;
    int64_t n;

    append_n(f->s, 1, 2);
    store_fail_audit(f->s, 1);
    make_audit(&r, 3);
    assert_int_equal(store_begin(f->s), 0);
    assert_int_equal(store_audit_append(f->s, &r), MAMORI_EAUDIT);
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_audit_append(f->s, &r), MAMORI_EAUDIT);
    assert_int_equal(store_audit_count(f->s, &n), 0);
    assert_int_equal(n, 2);
    store_fail_audit(f->s, 0);
    assert_int_equal(store_audit_append(f->s, &r), 0);

    /* Through the environment, at open; both variables are needed. */
    assert_int_equal(setenv("MAMORI_FAIL_AUDIT", "1", 1), 0);
    assert_int_equal(store_open(f->dir, 0, &s2), 0);
    make_audit(&r, 4);
    assert_int_equal(store_audit_append(s2, &r), 0);
    store_close(s2);
    assert_int_equal(setenv("MAMORI_TEST_HOOKS", "1", 1), 0);
    assert_int_equal(store_open(f->dir, 0, &s2), 0);
    make_audit(&r, 5);
    assert_int_equal(store_audit_append(s2, &r), MAMORI_EAUDIT);
    store_close(s2);
    assert_int_equal(setenv("MAMORI_FAIL_AUDIT", "0", 1), 0);
    assert_int_equal(store_open(f->dir, 0, &s2), 0);
    assert_int_equal(store_audit_append(s2, &r), 0);
    store_close(s2);
    unsetenv("MAMORI_FAIL_AUDIT");
    unsetenv("MAMORI_TEST_HOOKS");
    assert_int_equal(store_audit_count(f->s, &n), 0);
    assert_int_equal(n, 5);
}

static int count_cb(void *arg, const struct store_audit_row *row)
{
    (void)row;
    (*(int *)arg)++;
    return 0;
}

/* Edits made behind the store's back that it could never have written. */
static void test_audit_tamper(void **state)
{
    static const char *const edits[] = {
        ("UPDATE audit_cols SET body = json_set(body, '$.u',"
         " printf('%.70c', 'u')) WHERE seq = 2"),
        "UPDATE audit SET entry = x'00' WHERE seq = 2",
        "UPDATE audit SET entry = substr(entry, 1, 65) WHERE seq = 2",
        "UPDATE audit SET entry = CAST(entry AS TEXT) WHERE seq = 2",
        "UPDATE audit SET entry = 42 WHERE seq = 2",
        /* no NUL ends the body */
        ("UPDATE audit SET entry = CAST(substr(entry, 1, 33) || '{}'"
         " || substr(entry, -32) AS BLOB) WHERE seq = 2"),
        "UPDATE audit_cols SET body = json_set(body, '$.n', 'many') WHERE seq "
        "= 2",
        "UPDATE audit_cols SET body = json_set(body, '$.t', 1.5) WHERE seq = 2",
        "UPDATE audit_cols SET body = json_remove(body, '$.o') WHERE seq = 2",
        "UPDATE audit_cols SET body = '{\"t\":1,' WHERE seq = 2",
        "UPDATE audit_cols SET body = '{}' WHERE seq = 2",
        /* a NUL among the record ids */
        "UPDATE audit_cols SET record_ids = 'a' || char(0) || 'b' WHERE seq = "
        "2",
    };
    struct fx *f = *state;
    size_t i;
    int calls;

    append_n(f->s, 1, 3);
    store_close(f->s);
    f->s = NULL;
    raw_exec(f->path, "CREATE TABLE saved AS SELECT seq, entry FROM audit");
    for (i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        raw_exec(f->path, edits[i]);
        assert_int_equal(store_open(f->dir, 0, &f->s), 0);
        calls = 0;
        assert_int_equal(store_audit_scan(f->s, 1, INT64_MAX, count_cb, &calls),
                         MAMORI_ETAMPER);
        assert_int_equal(calls, 1);
        store_close(f->s);
        f->s = NULL;
        raw_exec(f->path, "DELETE FROM audit;"
                          "INSERT INTO audit(seq, entry) SELECT * FROM saved");
    }
    /* Restored: reads cleanly again; the newest row is checked too. */
    assert_int_equal(store_open(f->dir, 0, &f->s), 0);
    calls = 0;
    assert_int_equal(store_audit_scan(f->s, 1, INT64_MAX, count_cb, &calls), 0);
    assert_int_equal(calls, 3);
    store_close(f->s);
    raw_exec(f->path, "UPDATE audit_cols SET body = json_set(body, '$.x',"
                      " printf('%.200c', 'd')) WHERE seq = 3");
    assert_int_equal(store_open(f->dir, 0, &f->s), 0);
    calls = 0;
    assert_int_equal(store_audit_scan(f->s, 3, 3, count_cb, &calls),
                     MAMORI_ETAMPER);
    assert_int_equal(calls, 0);
}

/* ---- secure delete ------------------------------------------------------- */

static void test_secure_delete(void **state)
{
    struct fx *f = *state;
    static const char marker[] = "MAMORI-MARKER-7f3a9c:do-not-leave-me";
    struct store_record r;
    uint8_t small[sizeof marker - 1], *big, id1[16], id2[16];
    char wal[160];
    size_t i, bigsz = 20000;

    memcpy(small, marker, sizeof small);
    big = malloc(bigsz);
    assert_non_null(big);
    for (i = 0; i < bigsz; i++)
        big[i] = (uint8_t)("BIGMARK-"[i % 8] ^ (i / 8 % 251));
    rid(id1, 1);
    rid(id2, 2);
    memset(&r, 0, sizeof r);
    r.dataset_id = f->ds;
    r.version = 1;
    memcpy(r.id, id1, 16);
    r.ct = small;
    r.ctlen = sizeof small;
    assert_int_equal(store_record_put(f->s, &r), 0);
    memcpy(r.id, id2, 16);
    r.ct = big;
    r.ctlen = bigsz;
    assert_int_equal(store_record_put(f->s, &r), 0);
    /* Closing checkpoints: the markers are in the main file now. */
    store_close(f->s);
    f->s = NULL;
    assert_int_equal(file_has(f->path, small, sizeof small), 1);
    assert_int_equal(file_has(f->path, big + 10000, 64), 1);

    assert_int_equal(store_open(f->dir, 0, &f->s), 0);
    assert_int_equal(store_record_delete(f->s, f->ds, id1), 0);
    assert_int_equal(store_record_delete(f->s, f->ds, id2), 0);
    store_close(f->s);
    f->s = NULL;
    assert_int_equal(file_has(f->path, small, sizeof small), 0);
    for (i = 0; i + 64 <= bigsz; i += 64)
        assert_int_equal(file_has(f->path, big + i, 64), 0);
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    assert_true(file_has(wal, small, sizeof small) != 1);
    free(big);
    assert_int_equal(store_open(f->dir, 0, &f->s), 0);
}

/* ---- throughput (printed, not asserted) ---------------------------------- */

static void test_throughput(void **state)
{
    struct fx *f = *state;
    struct store_record r;
    struct store_audit_row a;
    uint8_t ct[180], mac[8];
    uint64_t x = 0x9E3779B97F4A7C15ull;
    double t0, t1, t2;
    int64_t n, i;
    int field, calls = 0;
    const int64_t nrec = 100000, naudit = 100000;

    memset(ct, 0x5c, sizeof ct);
    memset(&r, 0, sizeof r);
    r.dataset_id = f->ds;
    r.version = 1;
    r.ct = ct;
    r.ctlen = sizeof ct;
    t0 = now_s();
    assert_int_equal(store_begin(f->s), 0);
    for (i = 0; i < nrec; i++) {
        for (field = 0; field < 2; field++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            memcpy(r.id + field * 8, &x, 8);
        }
        memcpy(ct, &x, 8);
        assert_int_equal(store_record_put(f->s, &r), 0);
        for (field = 0; field < 3; field++) {
            uint64_t m = x * (uint64_t)(field + 3) % 100003u;
            memcpy(mac, &m, sizeof mac);
            assert_int_equal(store_index_put(f->s, f->ds, field, mac,
                                             sizeof mac, NULL, 0, r.id),
                             0);
        }
    }
    assert_int_equal(store_commit(f->s), 0);
    t1 = now_s();
    assert_int_equal(store_record_count(f->s, f->ds, &n), 0);
    assert_int_equal(n, nrec);
    printf("# store: %lld records + %lld index rows in one transaction: "
           "%.2f s (%.0f records/s)\n",
           (long long)nrec, (long long)nrec * 3, t1 - t0,
           (double)nrec / (t1 - t0));

    assert_int_equal(store_begin(f->s), 0);
    for (i = 1; i <= naudit; i++) {
        make_audit(&a, i);
        assert_int_equal(store_audit_append(f->s, &a), 0);
    }
    assert_int_equal(store_commit(f->s), 0);
    t1 = now_s();
    assert_int_equal(store_audit_scan(f->s, 1, INT64_MAX, count_cb, &calls), 0);
    t2 = now_s();
    assert_int_equal(calls, naudit);
    printf("# store: audit scan of %lld rows: %.3f s (%.2f M rows/s)\n",
           (long long)naudit, t2 - t1, (double)naudit / (t2 - t1) / 1e6);
}

/* ---- readers' kept map --------------------------------------------------- */

/* The map of f's vault.db in this process: how many there are, and the
 * length of the last. */
static int db_maps(const struct fx *f, size_t *len)
{
    char line[512], want[160];
    int n = 0;
    FILE *m = fopen("/proc/self/maps", "r");

    assert_non_null(m);
    snprintf(want, sizeof want, "%s/vault.db", f->dir);
    *len = 0;
    while (fgets(line, sizeof line, m)) {
        unsigned long lo, hi;
        line[strcspn(line, "\n")] = '\0';
        size_t ll = strlen(line), wl = strlen(want);
        if (ll < wl || strcmp(line + ll - wl, want) != 0)
            continue;
        assert_int_equal(sscanf(line, "%lx-%lx", &lo, &hi), 2);
        *len = hi - lo;
        n++;
    }
    fclose(m);
    return n;
}

static int64_t db_size(const struct fx *f)
{
    char path[160];
    struct stat sb;

    snprintf(path, sizeof path, "%s/vault.db", f->dir);
    assert_int_equal(stat(path, &sb), 0);
    return (int64_t)sb.st_size;
}

/* Another connection's SQL, then a checkpoint that moves it into the file. */
static void other_conn(const struct fx *f, const char *sql)
{
    char path[160];
    sqlite3 *db = NULL;

    snprintf(path, sizeof path, "%s/vault.db", f->dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
}

static void reader_sees(struct store *r, int64_t want)
{
    int64_t n = -1;
    assert_int_equal(store_audit_count(r, &n), 0);
    assert_int_equal(n, want);
}

#define GROW_ROWS                                                              \
    "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k"           \
    " WHERE i < 2000) INSERT INTO audit(seq, entry)"                           \
    " SELECT coalesce((SELECT max(seq) FROM audit), 0) + i, randomblob(1100)"  \
    " FROM k;"

/* A reader keeps its map while another connection commits, remaps
 * when the file has grown past the slack or shrunk, and always counts
 * what was committed. */
static void test_reader_map_kept(void **state)
{
    struct fx *f = *state;
    struct store *r = NULL;
    size_t len = 0, len0 = 0;
    unsigned long made;

    other_conn(f, GROW_ROWS);
    assert_int_equal(store_open_reader(f->dir, &r), 0);
    assert_int_equal(store_map_kept(r), 0);
    made = sq_map_made();
    reader_sees(r, 2000);
    assert_int_equal(sq_map_made(), made + 1);
    assert_int_equal(db_maps(f, &len0), 1);
    assert_int_equal((int64_t)len0, db_size(f));

    /* A small commit: the file grows by less than an eighth, the map stays
     * as it was, and the new row is counted. */
    other_conn(f, "INSERT INTO audit(seq, entry) VALUES(2001, x'00');");
    reader_sees(r, 2001);
    assert_int_equal(sq_map_made(), made + 1);
    assert_int_equal(db_maps(f, &len), 1);
    assert_int_equal(len, len0);

    /* Doubled: a new map covers the whole file. */
    other_conn(f, GROW_ROWS);
    reader_sees(r, 4001);
    assert_int_equal(sq_map_made(), made + 2);
    assert_int_equal(db_maps(f, &len), 1);
    assert_true(len > len0);
    assert_int_equal((int64_t)len, db_size(f));

    /* Shrunk (VACUUM): the old map goes, never read past the file's end. */
    other_conn(f, "DELETE FROM audit WHERE seq > 10; VACUUM;");
    assert_true(db_size(f) < (int64_t)len);
    reader_sees(r, 10);
    assert_int_equal(sq_map_made(), made + 3);
    assert_true(db_maps(f, &len) <= 1);
    assert_true((int64_t)len <= db_size(f));
    store_close(r);
    assert_int_equal(db_maps(f, &len), 0);

    /* The writer's connection keeps no such map. */
    assert_int_equal(store_map_kept(f->s), MAMORI_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_open),
        cmocka_unit_test_setup_teardown(test_reader_map_kept, setup, teardown),
        cmocka_unit_test(test_path_too_long),
        cmocka_unit_test(test_file_mode),
        cmocka_unit_test(test_hostile_files),
        cmocka_unit_test(test_schema_newer),
        cmocka_unit_test(test_migrate_from_v0),
        cmocka_unit_test(test_migrate_failure_rolls_back),
        cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_meta, setup, teardown),
        cmocka_unit_test_setup_teardown(test_users, setup, teardown),
        cmocka_unit_test(test_grow),
        cmocka_unit_test_setup_teardown(test_sessions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_datasets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_scan_reentry, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_audit_fault_injection, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_audit_tamper, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secure_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_throughput, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
