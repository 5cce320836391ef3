/*
 * test_backup.c - encrypted backups: the stream format (round trips at
 * every size, tampering, truncation, hostile headers), and the vault
 * operations (create, keys, verify, list, retention, restore, roles, the
 * key holder's backup, crypto-shredding reaching backups, SIGKILL).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit.h"
#include "backup.h"
#include "crypto.h"
#include "guard.h"
#include "helpers.h"
#include "internal.h"
#include "keys.h"
#include "store.h"

/* ---- the stream format, in memory --------------------------------------- */

struct mem {
    uint8_t *p;
    size_t len, at;
};

static int mem_read(void *arg, uint8_t *p, size_t n, size_t *got)
{
    struct mem *m = arg;
    size_t k = m->len - m->at < n ? m->len - m->at : n;
    memcpy(p, m->p + m->at, k);
    m->at += k;
    *got = k;
    return 0;
}

struct collect {
    uint8_t *p;
    size_t len, cap;
};

static int collect_sink(void *arg, const uint8_t *p, size_t n)
{
    struct collect *c = arg;
    if (c->len + n > c->cap) {
        c->cap = (c->len + n) * 2;
        c->p = realloc(c->p, c->cap);
        assert_non_null(c->p);
    }
    memcpy(c->p + c->len, p, n);
    c->len += n;
    return 0;
}

static const uint8_t test_key[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
static const char test_vault[] = "01234567-89ab-4cde-8f01-23456789abcd";

static int key_fixed(void *arg, const struct backup_header *h,
                     uint8_t base[CRYPTO_KEY_LEN])
{
    (void)arg;
    if (strcmp(h->vault_id, test_vault) != 0)
        return MAMORI_ECRYPTO;
    memcpy(base, test_key, 32);
    return 0;
}

/* A file with payload of n bytes, chunks of cs bytes, into *out. */
static void make_stream(size_t n, uint32_t cs, struct mem *out)
{
    struct backup_header h;
    struct backup_manifest mf;
    struct backup_writer *w = NULL;
    uint8_t *payload = malloc(n + 1), *mfb = NULL;
    size_t mflen = 0;
    char path[] = "/tmp/mamori-bk-XXXXXX";
    int fd = mkstemp(path);
    struct stat st;

    assert_true(fd >= 0);
    unlink(path);
    for (size_t i = 0; i < n; i++)
        payload[i] = (uint8_t)(i * 7 + 3);
    memset(&h, 0, sizeof h);
    memset(&mf, 0, sizeof mf);
    h.kind = BACKUP_KIND_DATA;
    h.chunk_size = cs;
    memcpy(h.vault_id, test_vault, 37);
    h.created = mf.created = 1700000000;
    h.records = mf.records = 3;
    h.datasets = mf.datasets = 1;
    h.audit_entries = mf.audit_entries = 9;
    crypto_sha256(payload, n, h.sha256);
    memcpy(mf.sha256, h.sha256, 32);
    h.snapshot_size = mf.snapshot_size = n;
    struct backup_manifest_ds ds = {"people", 3};
    mf.ds = &ds;
    mf.nds = 1;
    assert_int_equal(backup_manifest_encode(&mf, &mfb, &mflen), 0);
    assert_int_equal(backup_writer_new(fd, &h, test_key, mfb, mflen, &w), 0);
    /* In uneven pieces, to cross chunk edges anywhere. */
    for (size_t at = 0; at < n;) {
        size_t k = (at % 13) + 1;
        if (k > n - at)
            k = n - at;
        assert_int_equal(backup_writer_write(w, payload + at, k), 0);
        at += k;
    }
    assert_int_equal(backup_writer_finish(w, NULL), 0);
    backup_writer_free(w);
    assert_int_equal(fstat(fd, &st), 0);
    out->len = (size_t)st.st_size;
    out->at = 0;
    out->p = malloc(out->len);
    assert_int_equal(pread(fd, out->p, out->len, 0), (ssize_t)out->len);
    close(fd);
    free(mfb);
    free(payload);
}

static int read_stream(struct mem *m, struct collect *c)
{
    struct backup_header h;
    struct backup_manifest mf;
    const char *why = NULL;
    int rc;

    m->at = 0;
    rc = backup_read(mem_read, m, key_fixed, NULL, c ? collect_sink : NULL, c,
                     &h, &mf, &why);
    assert_non_null(why);
    if (rc != 0)
        assert_true(why[0] != '\0');
    else
        assert_int_equal(mf.nds, 1);
    backup_manifest_release(&mf);
    return rc;
}

static void test_stream_roundtrip(void **state)
{
    static const size_t sizes[] = {0, 1, 63, 64, 65, 127, 128, 129, 1000, 4096};
    (void)state;
    assert_int_equal(crypto_init(), 0);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        struct mem m;
        struct collect c = {0};
        make_stream(sizes[i], 64, &m);
        assert_int_equal(read_stream(&m, &c), 0);
        assert_int_equal(c.len, sizes[i]);
        for (size_t j = 0; j < c.len; j++)
            assert_int_equal(c.p[j], (uint8_t)(j * 7 + 3));
        free(c.p);
        free(m.p);
    }
}

/* A write that fails on the writer's output thread (here the file size
 * limit, past the header) is the result of the writer's next call or of
 * finish, never lost. */
static void test_stream_write_fails(void **state)
{
    static uint8_t payload[256 * 1024];
    struct backup_header h;
    struct backup_writer *w = NULL;
    struct rlimit old, lim;
    char path[] = "/tmp/mamori-bk-XXXXXX";
    int fd = mkstemp(path), rc = 0;

    (void)state;
    assert_true(fd >= 0);
    unlink(path);
    memset(&h, 0, sizeof h);
    h.kind = BACKUP_KIND_DATA;
    h.chunk_size = 4096;
    memcpy(h.vault_id, test_vault, 37);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 64 * 1024;
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    assert_int_equal(backup_writer_new(fd, &h, test_key, NULL, 0, &w), 0);
    for (size_t at = 0; rc == 0 && at < sizeof payload; at += 1000)
        rc = backup_writer_write(
            w, payload + at,
            sizeof payload - at < 1000 ? sizeof payload - at : 1000);
    if (rc == 0)
        rc = backup_writer_finish(w, NULL);
    /* ... and the OS error is kept, to say what it was. */
    int e = backup_writer_oserr(w);
    backup_writer_free(w);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, SIG_DFL);
    assert_int_equal(rc, MAMORI_EIO);
    assert_int_equal(e, EFBIG);
    close(fd);
}

/* A full disk is an input/output error whose errno says so (not "too
 * large"): here already the header's write. */
static void test_stream_full_disk(void **state)
{
    struct backup_header h;
    struct backup_writer *w = NULL;
    int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);

    (void)state;
    if (fd < 0)
        skip();
    memset(&h, 0, sizeof h);
    h.kind = BACKUP_KIND_DATA;
    h.chunk_size = 4096;
    memcpy(h.vault_id, test_vault, 37);
    errno = 0;
    assert_int_equal(backup_writer_new(fd, &h, test_key, NULL, 0, &w),
                     MAMORI_EIO);
    assert_int_equal(errno, ENOSPC);
    assert_null(w);
    close(fd);
}

static void test_stream_tamper(void **state)
{
    struct mem m;
    (void)state;
    make_stream(1000, 64, &m);
    assert_int_equal(read_stream(&m, NULL), 0);
    /* Every single flipped bit anywhere in the file is refused. */
    for (size_t i = 0; i < m.len; i++) {
        m.p[i] ^= 0x01;
        assert_int_equal(read_stream(&m, NULL), MAMORI_ECRYPTO);
        m.p[i] ^= 0x01;
    }
    /* Truncated anywhere, at chunk boundaries included. */
    size_t full = m.len;
    for (size_t cut = 0; cut < full; cut++) {
        m.len = cut;
        assert_int_equal(read_stream(&m, NULL), MAMORI_ECRYPTO);
    }
    m.len = full;
    /* Two whole chunks swapped. */
    size_t c = 64 + 16, a = BACKUP_HEADER_LEN, b = a + c;
    uint8_t tmp[80];
    memcpy(tmp, m.p + a, c);
    memcpy(m.p + a, m.p + b, c);
    memcpy(m.p + b, tmp, c);
    assert_int_equal(read_stream(&m, NULL), MAMORI_ECRYPTO);
    memcpy(m.p + b, m.p + a, c);
    memcpy(m.p + a, tmp, c);
    assert_int_equal(read_stream(&m, NULL), 0);
    /* A chunk dropped from the middle. */
    memmove(m.p + a, m.p + b, full - b);
    m.len = full - c;
    assert_int_equal(read_stream(&m, NULL), MAMORI_ECRYPTO);
    free(m.p);
    /* Bytes appended after the last chunk. */
    make_stream(100, 64, &m);
    m.p = realloc(m.p, m.len + 1);
    m.p[m.len++] = 0;
    assert_int_equal(read_stream(&m, NULL), MAMORI_ECRYPTO);
    free(m.p);
}

static void test_header_hostile(void **state)
{
    uint8_t hdr[BACKUP_HEADER_LEN];
    struct backup_header h, g;
    const char *why = NULL;
    (void)state;

    memset(&h, 0, sizeof h);
    h.kind = BACKUP_KIND_DATA;
    h.chunk_size = 1u << 20;
    memcpy(h.vault_id, test_vault, 37);
    backup_header_encode(&h, hdr);
    assert_int_equal(backup_header_decode(hdr, sizeof hdr, &g, &why), 0);
    assert_int_equal(g.chunk_size, 1u << 20);
    /* Short input, every length. */
    for (size_t n = 0; n < sizeof hdr; n++)
        assert_int_equal(backup_header_decode(hdr, n, &g, &why),
                         MAMORI_ECRYPTO);
    /* Unknown version, header length, chunk sizes out of range or not a
     * power of two, counts past INT64_MAX, a bad vault id, a seal in a
     * data backup. */
    struct {
        size_t at;
        uint8_t v;
    } bad[] = {{9, 2},     {8, 1},     {11, 0},     {12, 0x7f},
               {13, 0x11}, {15, 3},    {16, 'X'},   {24, 'g'},
               {52, 0x80}, {96, 0x80}, {184, 0x80}, {192, 1}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t copy[BACKUP_HEADER_LEN];
        memcpy(copy, hdr, sizeof copy);
        copy[bad[i].at] = bad[i].v;
        print_message("hostile header case %zu\n", i);
        assert_int_equal(backup_header_decode(copy, sizeof copy, &g, &why),
                         MAMORI_ECRYPTO);
        assert_true(why[0] != '\0');
    }
    /* A manifest claiming too many datasets or overrunning its length. */
    uint8_t mfb[8 + 32 + 32 + 32 + 8 + 4];
    struct backup_manifest mf;
    memset(mfb, 0, sizeof mfb);
    memcpy(mfb, "MMANIFST", 8);
    mfb[sizeof mfb - 4] = 0xff;
    assert_int_equal(backup_manifest_decode(mfb, sizeof mfb, &mf, &why),
                     MAMORI_ECRYPTO);
    backup_manifest_release(&mf);
    mfb[sizeof mfb - 4] = 0;
    mfb[sizeof mfb - 1] = 2;
    assert_int_equal(backup_manifest_decode(mfb, sizeof mfb, &mf, &why),
                     MAMORI_ECRYPTO);
    backup_manifest_release(&mf);
    mfb[sizeof mfb - 1] = 0;
    assert_int_equal(backup_manifest_decode(mfb, sizeof mfb, &mf, &why), 0);
    backup_manifest_release(&mf);
}

/* ---- the vault ------------------------------------------------------------
 */

static char tmpdir_base[64];

static void mkpath(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", tmpdir_base, name);
}

static size_t count_files(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0;
    if (!d)
        return 0;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name), s = strlen(suffix);
        if (l >= s && strcmp(e->d_name + l - s, suffix) == 0)
            n++;
    }
    closedir(d);
    return n;
}

static void add_people(struct tvault *tv, size_t n, char (*ids)[37])
{
    char name[64], phone[32];
    for (size_t i = 0; i < n; i++) {
        snprintf(name, sizeof name, "試験 %s", i % 2 ? "太郎" : "花子");
        snprintf(phone, sizeof phone, "090-5555-%04zu", i);
        struct mamori_kv kv[] = {
            {"name", name}, {"phone", phone}, {"note", "合成データ"}};
        assert_int_equal(mamori_record_add(tv->op, "people", kv, 3, ids[i], 37),
                         0);
    }
}

static int file_has(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rb");
    size_t cap = 1 << 20, len = 0, k;
    char *buf = malloc(cap);
    int found = 0;
    assert_non_null(f);
    while ((k = fread(buf + len, 1, cap - len, f)) > 0) {
        len += k;
        if (len == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    found = memmem(buf, len, needle, strlen(needle)) != NULL;
    free(buf);
    return found;
}

static void flip(const char *path, long off)
{
    int fd = open(path, O_RDWR);
    uint8_t b;
    struct stat st;
    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    if (off < 0)
        off += (long)st.st_size;
    assert_int_equal(pread(fd, &b, 1, off), 1);
    b ^= 0x40;
    assert_int_equal(pwrite(fd, &b, 1, off), 1);
    close(fd);
}

static void copy_file(const char *from, const char *to)
{
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", from, to);
    assert_int_equal(system(cmd), 0);
}

static void test_roundtrip_restore(void **state)
{
    struct tvault *tv = *state, tv2;
    struct mamori_backup_info b, kb, v, r;
    struct mamori_keysrc src = {tv->key, NULL, 0};
    char dir[256], kfile[256], home2[256];
    char ids[5][37];
    struct mamori_audit_entry *e1 = NULL, *e2 = NULL;
    size_t n1 = 0, n2 = 0;

    mkpath(dir, sizeof dir, "bk");
    mkpath(kfile, sizeof kfile, "keys.mbak");
    mkpath(home2, sizeof home2, "restored");
    assert_int_equal(mkdir(dir, 0700), 0);
    add_people(tv, 5, ids);

    assert_int_equal(mamori_backup_create(tv->admin, dir, 5, &b), 0);
    assert_int_equal(b.records, 5);
    assert_int_equal(b.datasets, 1);
    assert_true(b.audit_entries > 10);
    assert_int_equal(strlen(b.file_sha256), 64);
    assert_int_equal(count_files(dir, ".mbak"), 1);
    assert_false(file_has(b.path, "試験"));
    assert_false(file_has(b.path, "09055550001"));
    assert_int_equal(mamori_backup_keys(tv->admin, kfile, &kb), 0);
    assert_int_equal(kb.kind, MAMORI_BACKUP_KEYS);
    assert_int_equal(mamori_backup_verify(tv->admin, b.path, &v), 0);
    assert_int_equal(v.audit_entries, b.audit_entries);
    assert_int_equal(mamori_backup_verify(tv->aud, b.path, &v), 0);
    assert_int_equal(mamori_backup_verify(tv->aud, kfile, &v), 0);

    /* The log as it was at the backup. */
    assert_int_equal(mamori_audit_show(tv->aud, 0, &e1, &n1), 0);
    assert_true(n1 >= (size_t)b.audit_entries);

    assert_int_equal(mamori_backup_restore(b.path, kfile, home2, &src, &r), 0);
    struct stat st;
    assert_int_equal(stat(home2, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    char p[300];
    snprintf(p, sizeof p, "%s/vault.db", home2);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    tv2 = *tv;
    assert_int_equal(mamori_open(home2, &src, &tv2.m), 0);
    mamori_sess *op2 = tv_login(&tv2, "op1", TV_OP_PW);
    mamori_sess *aud2 = tv_login(&tv2, "aud1", TV_AUD_PW);
    assert_non_null(op2);
    assert_non_null(aud2);
    for (size_t i = 0; i < 5; i++) {
        struct mamori_record *x = NULL, *y = NULL;
        assert_int_equal(mamori_record_get(tv->op, "people", ids[i], &x), 0);
        assert_int_equal(mamori_record_get(op2, "people", ids[i], &y), 0);
        assert_int_equal(x->n, y->n);
        assert_int_equal(x->version, y->version);
        for (size_t j = 0; j < x->n; j++) {
            assert_string_equal(x->fields[j].name, y->fields[j].name);
            assert_string_equal(x->fields[j].value, y->fields[j].value);
        }
        mamori_record_free(x);
        mamori_record_free(y);
    }
    struct mamori_verify_result res;
    assert_int_equal(mamori_audit_verify(aud2, NULL, 0, &res), 0);
    assert_int_equal(mamori_audit_show(aud2, 0, &e2, &n2), 0);
    /* The old entries are there unchanged, then the restore's. */
    assert_true(n2 > (size_t)b.audit_entries);
    for (size_t i = 0; i < (size_t)b.audit_entries; i++) {
        assert_int_equal(e1[i].seq, e2[i].seq);
        assert_int_equal(e1[i].time, e2[i].time);
        assert_string_equal(e1[i].user, e2[i].user);
        assert_string_equal(e1[i].action, e2[i].action);
        assert_string_equal(e1[i].detail, e2[i].detail);
    }
    int seen = 0;
    for (size_t i = (size_t)b.audit_entries; i < n2; i++)
        if (strcmp(e2[i].action, "backup.restore") == 0 &&
            strcmp(e2[i].user, "system") == 0)
            seen = 1;
    assert_true(seen);
    mamori_audit_entries_free(e1, n1);
    mamori_audit_entries_free(e2, n2);
    mamori_session_close(op2);
    mamori_session_close(aud2);
    mamori_close(tv2.m);

    /* Into a directory that is not empty: refused. */
    assert_int_equal(mamori_backup_restore(b.path, kfile, home2, &src, &r),
                     MAMORI_EEXIST);
    /* ... and the vault there is untouched. */
    assert_int_equal(mamori_open(home2, &src, &tv2.m), 0);
    mamori_close(tv2.m);
    char other[256];
    mkpath(other, sizeof other, "nonempty");
    assert_int_equal(mkdir(other, 0700), 0);
    snprintf(p, sizeof p, "%s/x", other);
    FILE *f = fopen(p, "w");
    fclose(f);
    assert_int_equal(mamori_backup_restore(b.path, kfile, other, &src, &r),
                     MAMORI_EEXIST);
    assert_int_equal(count_files(other, ".db"), 0);

    /* A wrong key file: refused, nothing left. */
    char wrong[256], home3[256];
    mkpath(wrong, sizeof wrong, "wrong.key");
    mkpath(home3, sizeof home3, "restored3");
    int fd = open(wrong, O_WRONLY | O_CREAT | O_EXCL, 0400);
    uint8_t junk[32];
    crypto_random(junk, sizeof junk);
    assert_int_equal(write(fd, junk, 32), 32);
    close(fd);
    struct mamori_keysrc bad = {wrong, NULL, 0};
    assert_int_equal(mamori_backup_restore(b.path, kfile, home3, &bad, &r),
                     MAMORI_EKEY);
    assert_int_equal(access(home3, F_OK), -1);
    /* Data and key backups swapped: refused. */
    assert_int_not_equal(mamori_backup_restore(kfile, b.path, home3, &src, &r),
                         0);
    assert_int_equal(access(home3, F_OK), -1);
}

static void test_tamper_detected(void **state)
{
    struct tvault *tv = *state;
    struct mamori_backup_info b, v;
    char dir[256], bad[256];
    char ids[3][37];
    struct stat st;
    long offs[] = {
        0,  20,  60, 150, 200, BACKUP_HEADER_LEN + 1, BACKUP_HEADER_LEN + 4000,
        -1, -16, -17};

    mkpath(dir, sizeof dir, "bk2");
    mkpath(bad, sizeof bad, "bad.mbak");
    assert_int_equal(mkdir(dir, 0700), 0);
    add_people(tv, 3, ids);
    assert_int_equal(mamori_backup_create(tv->admin, dir, 5, &b), 0);
    for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
        copy_file(b.path, bad);
        flip(bad, offs[i]);
        int rc = mamori_backup_verify(tv->admin, bad, &v);
        assert_true(rc == MAMORI_ECRYPTO || rc == MAMORI_ETAMPER);
        assert_true(v.problem[0] != '\0');
        unlink(bad);
    }
    /* Truncated. */
    assert_int_equal(stat(b.path, &st), 0);
    off_t cuts[] = {0,
                    10,
                    BACKUP_HEADER_LEN,
                    BACKUP_HEADER_LEN + 16,
                    st.st_size / 2,
                    st.st_size - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        copy_file(b.path, bad);
        assert_int_equal(truncate(bad, cuts[i]), 0);
        assert_int_equal(mamori_backup_verify(tv->admin, bad, &v),
                         MAMORI_ECRYPTO);
        unlink(bad);
    }
    assert_int_equal(mamori_backup_verify(tv->admin, b.path, &v), 0);
    /* Roles: operators may neither create nor verify; auditors verify and
     * list but do not create. */
    assert_int_equal(mamori_backup_create(tv->op, dir, 5, &v), MAMORI_EDENIED);
    assert_int_equal(mamori_backup_verify(tv->op, b.path, &v), MAMORI_EDENIED);
    assert_int_equal(mamori_backup_keys(tv->op, bad, &v), MAMORI_EDENIED);
    assert_int_equal(mamori_backup_create(tv->aud, dir, 5, &v), MAMORI_EDENIED);
    assert_int_equal(mamori_backup_keys(tv->aud, bad, &v), MAMORI_EDENIED);
    assert_int_equal(access(bad, F_OK), -1);
    struct mamori_backup_info *list = NULL;
    size_t n = 0;
    assert_int_equal(mamori_backup_list(tv->op, dir, &list, &n),
                     MAMORI_EDENIED);
    assert_int_equal(mamori_backup_list(tv->aud, dir, &list, &n), 0);
    assert_int_equal(n, 1);
    free(list);
}

static void test_keep_and_system(void **state)
{
    struct tvault *tv = *state;
    struct mamori_backup_info b, *list = NULL;
    char dir[256], junk[300];
    size_t n = 0;

    mkpath(dir, sizeof dir, "bk3");
    assert_int_equal(mkdir(dir, 0700), 0);
    /* A foreign file with the right suffix is left alone. */
    snprintf(junk, sizeof junk, "%s/mamori-00000000-x.mbak", dir);
    FILE *f = fopen(junk, "w");
    fputs("not a backup", f);
    fclose(f);
    for (int i = 0; i < 4; i++) {
        tv_clock_set(tv_clock() + 1);
        assert_int_equal(mamori_backup_create(tv->admin, dir, 2, &b), 0);
    }
    assert_int_equal(b.removed, 1);
    assert_int_equal(mamori_backup_list(tv->admin, dir, &list, &n), 0);
    assert_int_equal(n, 2);
    assert_true(list[0].created >= list[1].created);
    assert_string_equal(list[0].path, b.path);
    free(list);
    assert_int_equal(access(junk, F_OK), 0);

    /* The key holder (the timer) backs up without a session, as
     * "system"; two in the same second get distinct names. */
    struct mamori_backup_info s1, s2;
    assert_int_equal(mamori_backup_create_system(tv->m, dir, 3, &s1), 0);
    assert_int_equal(mamori_backup_create_system(tv->m, dir, 3, &s2), 0);
    assert_string_not_equal(s1.path, s2.path);
    assert_int_equal(count_files(dir, ".mbak"), 3 + 1);
    struct mamori_audit_entry *e = NULL;
    assert_int_equal(mamori_audit_show(tv->aud, 3, &e, &n), 0);
    int sys = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(e[i].user, "system") == 0 &&
            strcmp(e[i].action, "backup.create") == 0 &&
            strstr(e[i].detail, "sha256 ") != NULL)
            sys = 1;
    assert_true(sys);
    mamori_audit_entries_free(e, n);
    /* Nothing left in the home but what belongs there. */
    assert_int_equal(count_files(tv->home, ".tmp"), 0);
    char lb[32];
    assert_int_equal(store_meta_get(tv->m->store, "last_backup", lb, sizeof lb),
                     0);
}

/* Erasing a dataset's keys reaches the backups: an old data backup
 * restored with a key backup taken after the erasure cannot decrypt the
 * dataset's records, while the key backup from before can. */
static void test_shredding(void **state)
{
    struct tvault *tv = *state, tv2;
    struct mamori_backup_info b, r;
    struct mamori_keysrc src = {tv->key, NULL, 0};
    struct store_dataset ds;
    char dir[256], kbefore[256], kafter[256], h1[256], h2[256];
    char ids[2][37];

    mkpath(dir, sizeof dir, "bk4");
    mkpath(kbefore, sizeof kbefore, "kbefore.mbak");
    mkpath(kafter, sizeof kafter, "kafter.mbak");
    mkpath(h1, sizeof h1, "shred1");
    mkpath(h2, sizeof h2, "shred2");
    assert_int_equal(mkdir(dir, 0700), 0);
    add_people(tv, 2, ids);
    assert_int_equal(mamori_backup_create(tv->admin, dir, 5, &b), 0);
    assert_int_equal(mamori_backup_keys(tv->admin, kbefore, &r), 0);
    assert_int_equal(store_dataset_get(tv->m->store, "people", &ds), 0);
    assert_int_equal(keys_dataset_destroy(tv->m->keys, ds.uuid), 0);
    assert_int_equal(mamori_backup_keys(tv->admin, kafter, &r), 0);

    assert_int_equal(mamori_backup_restore(b.path, kbefore, h1, &src, &r), 0);
    assert_int_equal(mamori_backup_restore(b.path, kafter, h2, &src, &r), 0);
    const char *homes[2] = {h1, h2};
    for (int i = 0; i < 2; i++) {
        struct mamori_record *x = NULL;
        tv2 = *tv;
        assert_int_equal(mamori_open(homes[i], &src, &tv2.m), 0);
        mamori_sess *op = tv_login(&tv2, "op1", TV_OP_PW);
        assert_non_null(op);
        int rc = mamori_record_get(op, "people", ids[0], &x);
        if (i == 0)
            assert_int_equal(rc, 0);
        else
            assert_int_not_equal(rc, 0);
        mamori_record_free(x);
        mamori_session_close(op);
        mamori_close(tv2.m);
    }
}

/* A key backup taken after the log moved into a later audit epoch still
 * restores an older data backup: the restored log goes on from its end. */
static void test_key_backup_newer(void **state)
{
    struct tvault *tv = *state, tv2;
    struct mamori_backup_info b, r;
    struct mamori_keysrc src = {tv->key, NULL, 0};
    char dir[256], kfile[256], home2[256];
    struct store_audit_row row;

    mkpath(dir, sizeof dir, "bk6");
    mkpath(kfile, sizeof kfile, "knewer.mbak");
    mkpath(home2, sizeof home2, "newer");
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(mamori_backup_create(tv->admin, dir, 5, &b), 0);
    pthread_mutex_lock(&tv->m->lock);
    assert_int_equal(store_begin(tv->m->store), 0);
    for (int i = 0; i < AUDIT_EPOCH + 10; i++) {
        guard_event_row(&row, "admin", "", OP_DATASET_LIST, "ok", "filler");
        assert_int_equal(audit_append(tv->m, &row), 0);
    }
    assert_int_equal(store_commit(tv->m->store), 0);
    pthread_mutex_unlock(&tv->m->lock);
    assert_int_equal(mamori_backup_keys(tv->admin, kfile, &r), 0);
    assert_int_equal(mamori_backup_restore(b.path, kfile, home2, &src, &r), 0);
    tv2 = *tv;
    assert_int_equal(mamori_open(home2, &src, &tv2.m), 0);
    mamori_sess *aud = tv_login(&tv2, "aud1", TV_AUD_PW);
    assert_non_null(aud);
    struct mamori_verify_result res;
    assert_int_equal(mamori_audit_verify(aud, NULL, 0, &res), 0);
    assert_true(res.entries > b.audit_entries);
    mamori_session_close(aud);
    mamori_close(tv2.m);
}

/* A key backup whose audit entry cannot be written changes nothing: no
 * new file, a file already at the path keeps what it held, no temporary
 * file is left. */
static void test_keys_fail_closed(void **state)
{
    struct tvault *tv = *state;
    struct mamori_backup_info kb;
    char kold[256], knew[256];

    mkpath(kold, sizeof kold, "kold.mbak");
    mkpath(knew, sizeof knew, "knew.mbak");
    FILE *f = fopen(kold, "w");
    assert_non_null(f);
    fputs("the previous key backup", f);
    fclose(f);
    mamori_test_fail_audit(tv->m, 1);
    assert_int_equal(mamori_backup_keys(tv->admin, kold, &kb), MAMORI_EAUDIT);
    assert_int_equal(mamori_backup_keys(tv->admin, knew, &kb), MAMORI_EAUDIT);
    mamori_test_fail_audit(tv->m, 0);
    assert_true(file_has(kold, "the previous key backup"));
    assert_int_equal(access(knew, F_OK), -1);
    assert_int_equal(count_files(tmpdir_base, ".tmp"), 0);
    /* Once the log can be written, the backup replaces the old file. */
    assert_int_equal(mamori_backup_keys(tv->admin, kold, &kb), 0);
    assert_false(file_has(kold, "the previous key backup"));
    assert_int_equal(mamori_backup_verify(tv->admin, kold, &kb), 0);
    assert_int_equal(count_files(tmpdir_base, ".tmp"), 0);
}

static long thread_count(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long n = -1;

    assert_non_null(f);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "Threads:", 8) == 0)
            n = strtol(line + 8, NULL, 10);
    fclose(f);
    assert_true(n > 0);
    return n;
}

/* Verifying a backup with a log long enough to be checked in parallel
 * leaves no thread behind (the throwaway handle's workers are stopped). */
static void test_verify_threads(void **state)
{
    struct tvault *tv = *state;
    struct mamori_backup_info b, v;
    struct store_audit_row row;
    char dir[256];

    if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
        skip();
    mkpath(dir, sizeof dir, "bk7");
    assert_int_equal(mkdir(dir, 0700), 0);
    pthread_mutex_lock(&tv->m->lock);
    assert_int_equal(store_begin(tv->m->store), 0);
    for (int i = 0; i < 65536; i++) {
        guard_event_row(&row, "admin", "", OP_DATASET_LIST, "ok", "filler");
        assert_int_equal(audit_append(tv->m, &row), 0);
    }
    assert_int_equal(store_commit(tv->m->store), 0);
    pthread_mutex_unlock(&tv->m->lock);
    assert_int_equal(mamori_backup_create(tv->admin, dir, 5, &b), 0);
    assert_true(b.audit_entries >= 65536);
    assert_int_equal(mamori_backup_verify(tv->admin, b.path, &v), 0);
    long before = thread_count();
    assert_int_equal(mamori_backup_verify(tv->admin, b.path, &v), 0);
    assert_int_equal(mamori_backup_verify(tv->admin, b.path, &v), 0);
    assert_int_equal(thread_count(), before);
}

/* SIGKILL in the middle of a backup of a larger vault: no file that
 * verifies, the vault intact, and the next backup clears the debris. */
static void test_sigkill(void **state)
{
    struct tvault *tv = *state;
    struct mamori_backup_info b;
    char dir[256];
    enum { N = 20000, BATCH = 1000 };
    static char ids[BATCH * 37];
    struct mamori_kv *kv = calloc(BATCH * 3, sizeof *kv);
    char(*names)[32] = calloc(BATCH, 32), (*phones)[32] = calloc(BATCH, 32);

    mkpath(dir, sizeof dir, "bk5");
    assert_int_equal(mkdir(dir, 0700), 0);
    for (int r = 0; r < N / BATCH; r++) {
        for (int i = 0; i < BATCH; i++) {
            snprintf(names[i], 32, "合成 %s", i % 2 ? "花子" : "次郎");
            snprintf(phones[i], 32, "080-7%03d-%04d", r, i);
            kv[i * 3] = (struct mamori_kv){"name", names[i]};
            kv[i * 3 + 1] = (struct mamori_kv){"phone", phones[i]};
            kv[i * 3 + 2] = (struct mamori_kv){"note", "x"};
        }
        assert_int_equal(mamori_record_add_many(tv->op, "people", kv, 3, BATCH,
                                                ids, sizeof ids),
                         0);
    }
    setenv("MAMORI_TEST_BACKUP_DELAY_MS", "20", 1);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct mamori_keysrc src = {tv->key, NULL, 0};
        mamori *m = NULL;
        struct mamori_backup_info cb;
        if (mamori_open(tv->home, &src, &m) != 0)
            _exit(3);
        _exit(mamori_backup_create_system(m, dir, 5, &cb) == 0 ? 0 : 4);
    }
    /* Kill it once its snapshot or output is under way. */
    for (int i = 0; i < 500; i++) {
        DIR *d = opendir(tv->home);
        struct dirent *e;
        int found = 0;
        while (d && (e = readdir(d)) != NULL)
            if (strncmp(e->d_name, ".backup-tmp.", 12) == 0)
                found = 1;
        if (d)
            closedir(d);
        if (found)
            break;
        usleep(10000);
    }
    usleep(100000);
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    unsetenv("MAMORI_TEST_BACKUP_DELAY_MS");
    assert_true(WIFSIGNALED(status));
    assert_int_equal(count_files(dir, ".mbak"), 0);

    struct mamori_verify_result res;
    assert_int_equal(mamori_audit_verify(tv->aud, NULL, 0, &res), 0);
    struct mamori_record *x = NULL;
    int grc = mamori_record_get(tv->op, "people", ids, &x);
    if (grc != 0)
        print_message("record get: %s\n", mamori_errdetail(tv->op));
    assert_int_equal(grc, 0);
    mamori_record_free(x);

    assert_int_equal(mamori_backup_create(tv->admin, dir, 5, &b), 0);
    assert_int_equal(b.records, N);
    /* which noted the killed run */
    static const char killed[] =
        "error: interrupted: an earlier run did not finish (leftovers "
        "removed: temp dirs 1, partial files ";
    struct mamori_audit_entry *ae = NULL;
    size_t n = 0, noted = 0;
    assert_int_equal(mamori_audit_show(tv->aud, 0, &ae, &n), 0);
    for (size_t i = 0; i < n; i++)
        if (strcmp(ae[i].action, "backup.create") == 0 &&
            strcmp(ae[i].outcome, "error") == 0 &&
            strncmp(ae[i].detail, killed, strlen(killed)) == 0)
            noted++;
    mamori_audit_entries_free(ae, n);
    assert_int_equal(noted, 1);
    struct mamori_verify_result vr;
    assert_int_equal(mamori_audit_verify(tv->aud, NULL, 0, &vr), 0);
    struct mamori_backup_info v;
    assert_int_equal(mamori_backup_verify(tv->admin, b.path, &v), 0);
    assert_int_equal(v.records, N);
    assert_int_equal(count_files(dir, ".tmp"), 0);
    DIR *d = opendir(tv->home);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        assert_true(strncmp(e->d_name, ".backup-tmp.", 12) != 0);
    closedir(d);
    free(kv);
    free(names);
    free(phones);
}

/* The restored vault starts with no one logged in: a session token live
 * at the backup is refused there (not in the original), no login
 * challenge is left, an export approved but not run has lapsed and does
 * not run; the restore's entry counts both and gives the backup's time
 * in ISO 8601. */
static void test_restore_resets(void **state)
{
    struct tvault *tv = *state, tv2;
    struct mamori_backup_info b, r;
    struct mamori_keysrc src = {tv->key, NULL, 0};
    struct mamori_client cl = {.device = "test", .os_uid = -1};
    struct mamori_export_req req = {
        "people", NULL, NULL, "handover to the client", "zip", NULL, NULL, 0};
    struct mamori_export_result res;
    struct store_session *ss = NULL;
    char dir[256], kfile[256], home2[256], xout[300], want[200], when[32];
    char token[MAMORI_TOKEN_LEN + 1], challenge[MAMORI_CHALLENGE_LEN + 1];
    uint8_t chash[32];
    char ids[2][37];
    int64_t xid = 0, expires = 0;
    size_t nsess = 0, n = 0;
    mamori_sess *s = NULL;

    mkpath(dir, sizeof dir, "bk8");
    mkpath(kfile, sizeof kfile, "keys8.mbak");
    mkpath(home2, sizeof home2, "reset");
    mkpath(xout, sizeof xout, "x.zip");
    assert_int_equal(mkdir(dir, 0700), 0);
    add_people(tv, 2, ids);
    assert_int_equal(mamori_export_request(tv->op, &req, &xid), 0);
    assert_int_equal(mamori_export_approve(tv->admin, xid), 0);
    assert_int_equal(tv_login_token(tv, "op1", TV_OP_PW, NULL, token), 0);
    assert_int_equal(
        mamori_device_challenge(tv->m, challenge, sizeof challenge), 0);
    crypto_sha256(challenge, MAMORI_CHALLENGE_LEN, chash);
    assert_int_equal(store_session_list(tv->m->store, &ss, &nsess), 0);
    free(ss);
    assert_true(nsess >= 4);
    assert_int_equal(mamori_backup_create(tv->admin, dir, 5, &b), 0);
    assert_int_equal(mamori_backup_keys(tv->admin, kfile, &r), 0);
    assert_int_equal(mamori_backup_restore(b.path, kfile, home2, &src, &r), 0);

    tv2 = *tv;
    assert_int_equal(mamori_open(home2, &src, &tv2.m), 0);
    /* The token works in the original, not in the restored vault. */
    assert_int_equal(mamori_session_open(tv2.m, token, &cl, &s),
                     MAMORI_ESESSION);
    assert_int_equal(mamori_session_open(tv->m, token, &cl, &s), 0);
    mamori_session_close(s);
    assert_int_equal(store_challenge_take(tv2.m->store, chash, &expires),
                     MAMORI_ENOTFOUND);
    assert_int_equal(store_challenge_take(tv->m->store, chash, &expires), 0);

    /* The approval lapsed: no run, and the ledger says so. */
    mamori_sess *op2 = tv_login(&tv2, "op1", TV_OP_PW);
    assert_non_null(op2);
    memset(&res, 0, sizeof res);
    assert_int_equal(mamori_export_run(op2, xid, xout, &res), MAMORI_ESTATE);
    assert_int_equal(access(xout, F_OK), -1);
    struct mamori_export_info *xl = NULL;
    assert_int_equal(mamori_export_list(op2, &xl, &n), 0);
    int found = 0;
    for (size_t i = 0; i < n; i++)
        if (xl[i].id == xid) {
            assert_string_equal(xl[i].state, "lapsed");
            found = 1;
        }
    assert_true(found);
    free(xl);
    mamori_session_close(op2);

    /* The entry: when the backup was made, and what ended. */
    time_t t = (time_t)b.created;
    struct tm tm;
    assert_non_null(gmtime_r(&t, &tm));
    assert_true(strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm) > 0);
    snprintf(want, sizeof want,
             "restored backup of %s: records %lld, audit %lld; ended "
             "sessions %zu, lapsed exports 1",
             when, (long long)b.records, (long long)b.audit_entries, nsess);
    mamori_sess *aud2 = tv_login(&tv2, "aud1", TV_AUD_PW);
    assert_non_null(aud2);
    struct mamori_audit_entry *e = NULL;
    assert_int_equal(mamori_audit_show(aud2, 0, &e, &n), 0);
    found = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(e[i].action, "backup.restore") == 0) {
            assert_string_equal(e[i].detail, want);
            found = 1;
        }
    assert_true(found);
    mamori_audit_entries_free(e, n);
    struct mamori_verify_result vr;
    assert_int_equal(mamori_audit_verify(aud2, NULL, 0, &vr), 0);
    mamori_session_close(aud2);
    mamori_close(tv2.m);
}

static void touch(const char *dir, const char *name)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("partial", f);
    fclose(f);
}

static int exists_in(const char *dir, const char *name)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

/* What a killed restore leaves (its two temp files) does not block the
 * next one, which removes it; anything else does, and the refusal says
 * how many entries and names the first. A --home that is a file, or whose
 * parent is missing, is named as such. */
static void test_restore_target(void **state)
{
    struct tvault *tv = *state, tv2;
    struct mamori_backup_info b, r;
    struct mamori_keysrc src = {tv->key, NULL, 0};
    char dir[256], kfile[256], home2[256], home3[256], afile[256];
    char missing[256], want[400];

    mkpath(dir, sizeof dir, "bk9");
    mkpath(kfile, sizeof kfile, "keys9.mbak");
    mkpath(home2, sizeof home2, "retry");
    mkpath(home3, sizeof home3, "near");
    mkpath(afile, sizeof afile, "afile");
    mkpath(missing, sizeof missing, "no/parent/v");
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(mamori_backup_create(tv->admin, dir, 5, &b), 0);
    assert_int_equal(mamori_backup_keys(tv->admin, kfile, &r), 0);

    /* Leftovers and other files: refused, nothing removed. */
    assert_int_equal(mkdir(home2, 0700), 0);
    touch(home2, ".restore-vault.db");
    touch(home2, ".restore-keys.db");
    touch(home2, "notes.txt");
    touch(home2, ".hidden");
    assert_int_equal(mamori_backup_restore(b.path, kfile, home2, &src, &r),
                     MAMORI_EEXIST);
    assert_string_equal(r.problem, "the directory is not empty: 2 entries, "
                                   "the first is .hidden");
    assert_true(exists_in(home2, ".restore-vault.db"));
    assert_true(exists_in(home2, "notes.txt"));
    /* Only the leftovers: the retry clears them and restores. */
    snprintf(want, sizeof want, "%s/notes.txt", home2);
    assert_int_equal(unlink(want), 0);
    snprintf(want, sizeof want, "%s/.hidden", home2);
    assert_int_equal(unlink(want), 0);
    assert_int_equal(mamori_backup_restore(b.path, kfile, home2, &src, &r), 0);
    assert_false(exists_in(home2, ".restore-vault.db"));
    assert_false(exists_in(home2, ".restore-keys.db"));
    tv2 = *tv;
    assert_int_equal(mamori_open(home2, &src, &tv2.m), 0);
    /* The restored log says an earlier restore into it did not finish,
     * just before the restore's own entry. */
    mamori_sess *aud2 = tv_login(&tv2, "aud1", TV_AUD_PW);
    assert_non_null(aud2);
    struct mamori_audit_entry *e = NULL;
    size_t n = 0;
    assert_int_equal(mamori_audit_show(aud2, 0, &e, &n), 0);
    size_t at = n;
    for (size_t i = 0; i < n; i++)
        if (strcmp(e[i].action, "backup.restore") == 0 && at == n)
            at = i;
    assert_true(at + 1 < n);
    assert_string_equal(e[at].outcome, "error");
    assert_string_equal(e[at].user, "system");
    assert_string_equal(e[at].detail,
                        "error: interrupted: an earlier restore did not "
                        "finish (leftovers removed: files 2)");
    assert_string_equal(e[at + 1].action, "backup.restore");
    assert_string_equal(e[at + 1].outcome, "ok");
    assert_non_null(strstr(e[at + 1].detail, "restored backup of "));
    mamori_audit_entries_free(e, n);
    struct mamori_verify_result vr;
    assert_int_equal(mamori_audit_verify(aud2, NULL, 0, &vr), 0);
    mamori_session_close(aud2);
    mamori_close(tv2.m);

    /* A name like a leftover's is not one. */
    assert_int_equal(mkdir(home3, 0700), 0);
    touch(home3, ".restore-vault.db.1");
    assert_int_equal(mamori_backup_restore(b.path, kfile, home3, &src, &r),
                     MAMORI_EEXIST);
    assert_string_equal(r.problem, "the directory is not empty: 1 entry, "
                                   ".restore-vault.db.1");
    assert_true(exists_in(home3, ".restore-vault.db.1"));

    /* A file, not a directory. */
    touch(tmpdir_base, "afile");
    assert_int_equal(mamori_backup_restore(b.path, kfile, afile, &src, &r),
                     MAMORI_EEXIST);
    snprintf(want, sizeof want, "%s: not a directory", afile);
    assert_string_equal(r.problem, want);
    assert_true(file_has(afile, "partial"));
    /* The parent is missing: named. */
    assert_int_equal(mamori_backup_restore(b.path, kfile, missing, &src, &r),
                     MAMORI_ENOTFOUND);
    snprintf(want, sizeof want, "%s/no/parent: no such directory", tmpdir_base);
    assert_string_equal(r.problem, want);
}

static int has_prefix_in(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int found = 0;
    while (d && (e = readdir(d)) != NULL)
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
            found = 1;
    if (d)
        closedir(d);
    return found;
}

/* A backup killed while it writes into one directory leaves a partial
 * file there; the next backup, into another directory, clears it too
 * (and the killed run's snapshot), but not another vault's file. */
static void test_killed_out_elsewhere(void **state)
{
    struct tvault *tv = *state;
    struct mamori_backup_info b;
    char d1[256], d2[256], mine[32];
    char ids[3][37];

    mkpath(d1, sizeof d1, "first");
    mkpath(d2, sizeof d2, "second");
    assert_int_equal(mkdir(d1, 0700), 0);
    assert_int_equal(mkdir(d2, 0700), 0);
    add_people(tv, 3, ids);
    touch(d1, ".mamori-00000000-abcdef.tmp");
    snprintf(mine, sizeof mine, ".mamori-%.8s-", tv->m->vault_id);
    setenv("MAMORI_TEST_BACKUP_DELAY_MS", "500", 1);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct mamori_keysrc src = {tv->key, NULL, 0};
        mamori *m = NULL;
        struct mamori_backup_info cb;
        if (mamori_open(tv->home, &src, &m) != 0)
            _exit(3);
        _exit(mamori_backup_create_system(m, d1, 5, &cb) == 0 ? 0 : 4);
    }
    /* Kill it once its partial output is there. */
    for (int i = 0; i < 3000 && !has_prefix_in(d1, mine); i++)
        usleep(10000);
    assert_true(has_prefix_in(d1, mine));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    unsetenv("MAMORI_TEST_BACKUP_DELAY_MS");
    assert_true(WIFSIGNALED(status));
    assert_true(has_prefix_in(tv->home, ".backup-tmp."));

    assert_int_equal(mamori_backup_create(tv->admin, d2, 5, &b), 0);
    assert_false(has_prefix_in(d1, mine));
    assert_false(has_prefix_in(tv->home, ".backup-tmp."));
    assert_true(exists_in(d1, ".mamori-00000000-abcdef.tmp"));
    assert_int_equal(count_files(d2, ".mbak"), 1);
}

/* A temp dir in home as a killed run leaves it: with a note of where it
 * wrote (create, keys; dir NULL: verify, which notes nothing) and its
 * snapshot file, named snap. */
static void fake_tmpdir(const char *home, const char *dir, const char *snap)
{
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s/.backup-tmp.XXXXXX", home);
    assert_non_null(mkdtemp(tmp));
    if (dir) {
        char p[700];
        snprintf(p, sizeof p, "%s/out", tmp);
        FILE *f = fopen(p, "w");
        assert_non_null(f);
        fputs(dir, f);
        fclose(f);
    }
    touch(tmp, snap);
}

/* The entries of action with outcome "error" whose detail is want. */
static size_t count_detail(mamori_sess *aud, const char *action,
                           const char *user, const char *want)
{
    struct mamori_audit_entry *e = NULL;
    size_t n = 0, k = 0;
    assert_int_equal(mamori_audit_show(aud, 0, &e, &n), 0);
    for (size_t i = 0; i < n; i++)
        if (strcmp(e[i].action, action) == 0 &&
            strcmp(e[i].outcome, "error") == 0 &&
            strcmp(e[i].user, user) == 0 && strcmp(e[i].detail, want) == 0)
            k++;
    mamori_audit_entries_free(e, n);
    return k;
}

/* A backup killed by a signal or a crash wrote "started" and no outcome.
 * The next create, which removes what it left, notes it in the log: one
 * error entry per kind of run (told by what its temp dir holds), counts
 * only; the create itself goes on, and once the leftovers are gone
 * nothing more is noted. The key holder's create notes it as "system". */
static void test_interrupted_noted(void **state)
{
    struct tvault *tv = *state;
    struct mamori_backup_info b;
    char dir[256], real[PATH_MAX], part[64], ids[2][37];
    static const char create1[] =
        "error: interrupted: an earlier run did not finish (leftovers "
        "removed: temp dirs 1, partial files 1)";
    static const char keys1[] =
        "error: interrupted: an earlier run did not finish (leftovers "
        "removed: temp dirs 1, partial files 0)";
    static const char verify2[] =
        "error: interrupted: earlier runs did not finish (leftovers "
        "removed: temp dirs 2, partial files 0)";

    mkpath(dir, sizeof dir, "bk10");
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_non_null(realpath(dir, real));
    add_people(tv, 2, ids);
    /* nothing left behind: nothing noted */
    assert_int_equal(mamori_backup_create(tv->admin, dir, 5, &b), 0);
    assert_int_equal(count_detail(tv->aud, "backup.create", "admin", create1),
                     0);

    /* a killed create (its snapshot and its partial output), a killed key
     * backup, two killed verifies */
    fake_tmpdir(tv->home, real, "vault.db");
    snprintf(part, sizeof part, ".mamori-%.8s-Ab12Cd.tmp", tv->m->vault_id);
    touch(dir, part);
    fake_tmpdir(tv->home, tmpdir_base, "keys.db");
    fake_tmpdir(tv->home, NULL, "vault.db");
    fake_tmpdir(tv->home, NULL, "vault.db");
    tv_clock_set(tv_clock() + 1);
    assert_int_equal(mamori_backup_create(tv->admin, dir, 5, &b), 0);
    assert_false(has_prefix_in(tv->home, ".backup-tmp."));
    assert_false(exists_in(dir, part));
    assert_int_equal(count_detail(tv->aud, "backup.create", "admin", create1),
                     1);
    assert_int_equal(count_detail(tv->aud, "backup.keys", "admin", keys1), 1);
    assert_int_equal(count_detail(tv->aud, "backup.verify", "admin", verify2),
                     1);
    /* in order: this run's start, the notes, this run's outcome */
    struct mamori_audit_entry *e = NULL;
    size_t n = 0, at = 0;
    assert_int_equal(mamori_audit_show(tv->aud, 0, &e, &n), 0);
    for (size_t i = 0; i < n; i++)
        if (strcmp(e[i].detail, create1) == 0)
            at = i;
    assert_true(at > 0 && at + 3 < n);
    assert_string_equal(e[at - 1].action, "backup.create");
    assert_string_equal(e[at - 1].detail, "started");
    assert_int_equal(e[at].count, 0);
    assert_string_equal(e[at + 1].action, "backup.keys");
    assert_string_equal(e[at + 2].action, "backup.verify");
    assert_string_equal(e[at + 3].action, "backup.create");
    assert_string_equal(e[at + 3].outcome, "ok");
    assert_non_null(strstr(e[at + 3].detail, "sha256 "));
    mamori_audit_entries_free(e, n);

    /* once removed, not noted again */
    tv_clock_set(tv_clock() + 1);
    assert_int_equal(mamori_backup_create(tv->admin, dir, 5, &b), 0);
    assert_int_equal(count_detail(tv->aud, "backup.create", "admin", create1),
                     1);

    /* the key holder's run (the timer), killed before it wrote anything
     * but its temp dir */
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s/.backup-tmp.XXXXXX", tv->home);
    assert_non_null(mkdtemp(tmp));
    tv_clock_set(tv_clock() + 1);
    assert_int_equal(mamori_backup_create_system(tv->m, dir, 5, &b), 0);
    assert_int_equal(
        count_detail(tv->aud, "backup.create", "system",
                     "error: interrupted: an earlier run did not finish "
                     "(leftovers removed: temp dirs 1, partial files 0)"),
        1);
    assert_false(has_prefix_in(tv->home, ".backup-tmp."));
    struct mamori_verify_result vr;
    assert_int_equal(mamori_audit_verify(tv->aud, NULL, 0, &vr), 0);
}

static int setup(void **state)
{
    snprintf(tmpdir_base, sizeof tmpdir_base, "/tmp/mamori-bkt.XXXXXX");
    if (!mkdtemp(tmpdir_base))
        return -1;
    return tv_group_setup(state);
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir_base);
    if (system(cmd) != 0)
        return -1;
    return tv_group_teardown(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_roundtrip),
        cmocka_unit_test(test_stream_tamper),
        cmocka_unit_test(test_stream_write_fails),
        cmocka_unit_test(test_stream_full_disk),
        cmocka_unit_test(test_header_hostile),
        cmocka_unit_test_setup_teardown(test_roundtrip_restore, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tamper_detected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keep_and_system, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shredding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_backup_newer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_fail_closed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigkill, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_resets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_target, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interrupted_noted, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_killed_out_elsewhere, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
