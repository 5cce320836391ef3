/*
 * bench_vault.c - mamori's side of `make bench`: bulk insert of a synthetic
 * CSV, exact-match lookups, audit verification. Prints "key value" lines
 * that bench/run.sh compares with the sqlite3 and sqlcipher shells.
 *
 * usage: bench-vault WORKDIR PEOPLE.CSV PHONES.TXT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "internal.h"
#include "mamori.h"
#include "store.h"
/* The tests' log-in helpers: device proof, TOTP via liboath, first-login
 * password change. */
#include "../tests/unit/helpers.h"
#include "banned.h"

#define BATCH 8192
#define NF 8
#define VERIFY_ENTRIES 2000000
#define LOOKUP_BATCH 1000

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench-vault: %s: %s\n", what, mamori_strerror(rc));
    exit(1);
}

#define ADMIN_PW "Bench-Root-91!x"
#define OP_INITIAL_PW "Bench-Op-12!"
#define OP_FINAL_PW "Vault-Bench-7xQ#"

/* Splits one CSV line (RFC 4180 quotes, no embedded newlines in the
 * synthetic data) into NF fields, in place. */
static int split(char *line, char *f[NF])
{
    char *p = line, *w;
    for (int i = 0; i < NF; i++) {
        if (*p == '"') {
            f[i] = w = ++p;
            for (;;) {
                if (*p == '"' && p[1] == '"') {
                    *w++ = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else if (!*p) {
                    return -1;
                } else {
                    *w++ = *p++;
                }
            }
            if (*p != ',' && *p != '\0' && *p != '\n' && *p != '\r')
                return -1;
            char c = *p;
            *w = '\0';
            p += c ? 1 : 0;
        } else {
            f[i] = p;
            p += strcspn(p, ",\r\n");
            char c = *p;
            *p = '\0';
            p += c ? 1 : 0;
        }
    }
    return 0;
}

/* Peak RSS since the last peak_rss_reset (VmHWM): the insert's own peak,
 * not the logins' (Argon2id takes 64 MiB by design). */
static void peak_rss_reset(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

static double peak_rss_mib(void)
{
    char line[256];
    double kib = -1;
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kib = strtod(line + 6, NULL);
    if (f)
        fclose(f);
    return kib / 1024.0;
}

int main(int argc, char **argv)
{
    static const char *names[NF] = {"name",    "kana",  "birth", "postal",
                                    "address", "phone", "email", "mynumber"};
    static const struct mamori_field_def fields[NF] = {
        {"name", "name", 1},       {"kana", "kana", 1},
        {"birth", "date", 0},      {"postal", "postal", 0},
        {"address", "address", 0}, {"phone", "phone", 1},
        {"email", "email", 0},     {"mynumber", "mynumber", 0}};
    char home[4096], key[4200];
    struct mamori_keysrc src = {0};
    struct tvault tv;
    mamori *m = NULL;
    int rc;

    if (argc != 4) {
        fprintf(stderr, "usage: bench-vault WORKDIR PEOPLE.CSV PHONES.TXT\n");
        return 2;
    }
    if (mamori_library_init() != 0)
        return 1;
    snprintf(home, sizeof home, "%s/vault", argv[1]);
    snprintf(key, sizeof key, "%s/vault.key", argv[1]);
    src.key_file = key;
    memset(&tv, 0, sizeof tv);
    /* The helpers step the library's clock 30 s per one-time code. */
    setenv("MAMORI_TEST_HOOKS", "1", 1);
    mamori_device_keygen(tv.device_pk, tv.device_sk);
    if ((rc =
             mamori_init_device(home, &src, "admin", ADMIN_PW, strlen(ADMIN_PW),
                                "bench PC", tv.device_pk, tv.device)) != 0)
        die("init", rc);
    if ((rc = mamori_open(home, &src, &m)) != 0)
        die("open", rc);
    tv.m = m;
    mamori_sess *admin = tv_login(&tv, "admin", ADMIN_PW);
    if (!admin || tv_enrol(&tv, admin, "admin") != 0)
        die("admin login", MAMORI_EAUTH);
    struct mamori_dataset_def d = {"people", "bench", "benchmark",
                                   NULL,     fields,  NF};
    if ((rc = mamori_user_add(admin, "op", "operator", OP_INITIAL_PW,
                              strlen(OP_INITIAL_PW))) ||
        (rc = mamori_dataset_create(admin, &d)) ||
        (rc = mamori_dataset_grant_flags(admin, "people", "op",
                                         MAMORI_GRANT_HANDLER)))
        die("set-up", rc);
    mamori_sess *op = tv_first_login(&tv, "op", OP_INITIAL_PW, OP_FINAL_PW);
    if (!op)
        die("operator login", MAMORI_EAUTH);

    /* ---- bulk insert ---- */
    FILE *csv = fopen(argv[2], "r");
    if (!csv)
        die("open csv", MAMORI_EIO);
    struct mamori_kv *kv = calloc((size_t)BATCH * NF, sizeof *kv);
    char **lines = calloc(BATCH, sizeof *lines);
    char *ids = malloc((size_t)BATCH * (MAMORI_ID_LEN + 1));
    size_t cap[BATCH] = {0};
    long total = 0;
    mamori_bulk *bulk = NULL;
    peak_rss_reset();
    double t0 = now();
    /* One import: one transaction, all rows or none. */
    if ((rc = mamori_bulk_begin(op, "people", &bulk)) != 0)
        die("bulk begin", rc);
    for (;;) {
        size_t n = 0;
        while (n < BATCH && getline(&lines[n], &cap[n], csv) > 0) {
            char *f[NF];
            if (split(lines[n], f) != 0)
                die("csv line", MAMORI_EINVAL);
            for (int i = 0; i < NF; i++) {
                kv[n * NF + i].name = names[i];
                kv[n * NF + i].value = f[i];
            }
            n++;
        }
        if (n == 0)
            break;
        rc = mamori_bulk_add(bulk, kv, NF, n, ids,
                             (size_t)BATCH * (MAMORI_ID_LEN + 1));
        if (rc != 0) {
            fprintf(stderr, "%s\n", mamori_errdetail(op));
            die("bulk add", rc);
        }
        total += (long)n;
    }
    if ((rc = mamori_bulk_commit(bulk)) != 0)
        die("bulk commit", rc);
    double t1 = now();
    fclose(csv);
    printf("insert_rows %ld\ninsert_seconds %.3f\ninsert_peak_rss_mib %.1f\n",
           total, t1 - t0, peak_rss_mib());
    fflush(stdout);

    /* ---- lookups ---- */
    FILE *nf = fopen(argv[3], "r");
    if (!nf)
        die("open names", MAMORI_EIO);
    char *line = NULL;
    size_t lcap = 0, nlook = 0, hits = 0;
    char **want = NULL;
    size_t wcap = 0;
    ssize_t len;
    while ((len = getline(&line, &lcap, nf)) > 0) {
        line[strcspn(line, "\r\n")] = '\0';
        if (nlook == wcap) {
            wcap = wcap ? wcap * 2 : 1024;
            want = realloc(want, wcap * sizeof *want);
        }
        want[nlook++] = strdup(line);
    }
    fclose(nf);
    free(line);
    /* Lookups go in batches, one audited call per batch, as an import's
     * duplicate check or a batch client does. */
    size_t *first = malloc((LOOKUP_BATCH + 1) * sizeof *first);
    t0 = now();
    for (size_t i = 0; i < nlook; i += LOOKUP_BATCH) {
        struct mamori_record **rs = NULL;
        size_t n = 0, k = nlook - i < LOOKUP_BATCH ? nlook - i : LOOKUP_BATCH;
        rc = mamori_record_search_many(op, "people", "phone",
                                       (const char *const *)want + i, k, &rs,
                                       &n, first);
        if (rc != 0)
            die("search", rc);
        hits += n;
        mamori_record_array_free(rs, n);
    }
    t1 = now();
    printf("lookups %zu\nlookup_hits %zu\nlookups_per_second %.0f\n", nlook,
           hits, (double)nlook / (t1 - t0));
    fflush(stdout);

    if (getenv("BENCH_SKIP_VERIFY"))
        goto done;
    /* ---- audit verification over VERIFY_ENTRIES entries ---- */
    struct store_audit_row row;
    memset(&row, 0, sizeof row);
    snprintf(row.user, sizeof row.user, "op");
    snprintf(row.action, sizeof row.action, "record.get");
    snprintf(row.dataset, sizeof row.dataset, "people");
    snprintf(row.outcome, sizeof row.outcome, "ok");
    row.record_ids = ids; /* one id */
    ids[MAMORI_ID_LEN] = '\0';
    row.count = 1;
    int64_t have = 0;
    if (store_audit_count(m->store, &have) != 0)
        die("audit count", MAMORI_EIO);
    if (store_begin(m->store) != 0)
        die("begin", MAMORI_EIO);
    for (int64_t i = have; i < VERIFY_ENTRIES; i++) {
        row.time = 1790000000 + i;
        if ((rc = audit_append(m, &row)) != 0)
            die("audit append", rc);
    }
    if (store_commit(m->store) != 0)
        die("commit", MAMORI_EIO);
    struct mamori_verify_result vr;
    t0 = now();
    rc = mamori_audit_verify(admin, NULL, 0, &vr);
    t1 = now();
    if (rc != 0)
        die("verify", rc);
    printf("verify_entries %lld\nverify_seconds %.3f\n"
           "verify_entries_per_second %.0f\n",
           (long long)vr.entries, t1 - t0, (double)vr.entries / (t1 - t0));

done:
    for (size_t i = 0; i < nlook; i++)
        free(want[i]);
    free(want);
    free(first);
    for (size_t i = 0; i < BATCH; i++)
        free(lines[i]);
    free(lines);
    free(kv);
    free(ids);
    mamori_session_close(op);
    mamori_session_close(admin);
    mamori_close(m);
    return 0;
}
