/*
 * test_readgate.c - record reads from many threads at once (the read gate
 * and the group commit of their audit entries, guard.h): every read
 * audited exactly once under its own thread's request id, the chain
 * intact; a grant revoked, a session ended or a failing audit write stops
 * the reads at once, and no read is logged as allowed after the
 * revocation, also for a read in the snapshot its session was checked in
 * (mamori_session_open_read). Half the gets go through
 * mamori_record_get_later (the server's way: the verdict comes by
 * callback), under the same rules. A read of a missing record is written
 * by the read gate too; a refused one by the ordinary gate, which the
 * later way says it will wait for (mamori_later_blocks).
 */
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "helpers.h"
#include "internal.h"

#define THREADS 8
#define READS 150 /* per thread: gets and searches, alternating */

struct world {
    struct tvault tv;
    char token[MAMORI_TOKEN_LEN + 1]; /* op1's session */
    char rec[MAMORI_ID_LEN + 1];
    char name[64]; /* the record's name, canonical */
};

struct reader {
    struct world *w;
    int index;
    int stop_on_refusal; /* read until refused (at most READS * 20) */
    int fail_ok;         /* count MAMORI_EAUDIT answers instead of failing */
    int ok, refused, audit_failed, wrong, leaked;
    int last_rc;
    int queued;         /* reads mamori_record_get_later queued */
    atomic_int readies; /* its ready calls */
    sem_t ready_sem;    /* posted by each */
};

static void on_ready(void *arg)
{
    struct reader *r = arg;

    atomic_fetch_add(&r->readies, 1);
    sem_post(&r->ready_sem);
}

/* mamori_record_get the server's way; every other time the verdict is
 * waited for before mamori_later_end, else mamori_later_end waits. */
static int get_later(struct reader *r, mamori_sess *s, int i,
                     struct mamori_record **rec)
{
    mamori_later *ml = NULL;
    int rc =
        mamori_record_get_later(s, "people", r->w->rec, on_ready, r, rec, &ml);

    if (rc != 0 || !ml)
        return rc;
    if (*rec)
        r->leaked++; /* held back until the verdict */
    r->queued++;
    if (i % 8 == 2)
        while (sem_wait(&r->ready_sem) != 0)
            ;
    return mamori_later_end(ml, rec);
}

static const char *field(const struct mamori_record *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->fields[i].name, name) == 0)
            return r->fields[i].value;
    return NULL;
}

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof *w);
    struct mamori_kv kv[] = {{"name", "並列 読子"}, {"phone", "0312345678"}};
    struct mamori_record *rec = NULL;

    if (!w || tv_setup(&w->tv) != 0)
        return -1;
    if (mamori_record_add(w->tv.op, "people", kv, 2, w->rec, sizeof w->rec))
        return -1;
    if (tv_login_token(&w->tv, "op1", TV_OP_PW, NULL, w->token))
        return -1;
    if (mamori_record_get(w->tv.op, "people", w->rec, &rec) != 0)
        return -1;
    snprintf(w->name, sizeof w->name, "%s", field(rec, "name"));
    mamori_record_free(rec);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    struct world *w = *state;
    tv_teardown(&w->tv);
    free(w);
    return 0;
}

/* One read: a get (even i) or a search by phone (odd i). */
static int read_once(struct reader *r, mamori_sess *s, int i)
{
    int rc;

    if (i % 2 == 0) {
        struct mamori_record *rec = NULL;
        rc = i % 4 == 0 ? mamori_record_get(s, "people", r->w->rec, &rec)
                        : get_later(r, s, i, &rec);
        if (rc == 0 && (!rec || !field(rec, "name") ||
                        strcmp(field(rec, "name"), r->w->name) != 0))
            r->wrong++;
        if (rc != 0 && rec)
            r->leaked++;
        mamori_record_free(rec);
    } else {
        struct mamori_record **recs = NULL;
        size_t n = 0;
        rc = mamori_record_search(s, "people", "phone", "03-1234-5678", &recs,
                                  &n);
        if (rc == 0 && (n != 1 || strcmp(recs[0]->id, r->w->rec) != 0))
            r->wrong++;
        if (rc != 0 && (recs || n))
            r->leaked++;
        mamori_record_array_free(recs, n);
    }
    return rc;
}

static void *reader_run(void *arg)
{
    struct reader *r = arg;
    struct mamori_client cl = {.device = "test", .os_uid = -1};
    char reqid[32];
    mamori_sess *s = NULL;
    int max = r->stop_on_refusal ? READS * 20 : READS;

    snprintf(reqid, sizeof reqid, "thread-%d", r->index);
    mamori_set_request("192.0.2.1", reqid);
    if (mamori_session_open(r->w->tv.m, r->w->token, &cl, &s) != 0) {
        r->last_rc = -1;
        return NULL;
    }
    for (int i = 0; i < max; i++) {
        int rc = read_once(r, s, i);
        r->last_rc = rc;
        if (rc == 0) {
            r->ok++;
        } else if (rc == MAMORI_EAUDIT && r->fail_ok) {
            r->audit_failed++;
        } else {
            r->refused++;
            if (r->stop_on_refusal)
                break;
        }
    }
    mamori_session_close(s);
    mamori_set_request(NULL, NULL);
    return NULL;
}

static void run_readers(struct world *w, struct reader *r, int stop,
                        int fail_ok, void (*meanwhile)(struct world *))
{
    pthread_t th[THREADS];

    for (int i = 0; i < THREADS; i++) {
        r[i] = (struct reader){
            .w = w, .index = i, .stop_on_refusal = stop, .fail_ok = fail_ok};
        assert_int_equal(sem_init(&r[i].ready_sem, 0, 0), 0);
        assert_int_equal(pthread_create(&th[i], NULL, reader_run, &r[i]), 0);
    }
    if (meanwhile)
        meanwhile(w);
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        /* Each read queued was told its verdict exactly once. */
        assert_int_equal(atomic_load(&r[i].readies), r[i].queued);
        sem_destroy(&r[i].ready_sem);
    }
}

/* Entries after seq from, by action and outcome and (if not NULL) request
 * id; *last_seq receives the newest entry's seq. */
static int count_after(struct world *w, int64_t from, const char *action,
                       const char *outcome, const char *reqid,
                       int64_t *last_seq)
{
    struct mamori_audit_entry *e = NULL;
    size_t n = 0;
    int k = 0;

    assert_int_equal(mamori_audit_show(w->tv.aud, 0, &e, &n), 0);
    for (size_t i = 0; i < n; i++) {
        if (e[i].seq <= from || strcmp(e[i].outcome, outcome) != 0 ||
            strcmp(e[i].action, action) != 0)
            continue;
        if (reqid && strcmp(e[i].request_id, reqid) != 0)
            continue;
        k++;
    }
    if (last_seq)
        *last_seq = n ? e[n - 1].seq : 0;
    mamori_audit_entries_free(e, n);
    return k;
}

static int64_t last_seq(struct world *w)
{
    int64_t seq = 0;
    (void)count_after(w, 0, "-", "-", NULL, &seq);
    return seq;
}

static void chain_intact(struct world *w)
{
    struct mamori_verify_result res;
    assert_int_equal(mamori_audit_verify(w->tv.aud, NULL, 0, &res), 0);
    assert_int_equal(res.first_bad, 0);
}

static void parallel_reads_each_audited_once(void **state)
{
    struct world *w = *state;
    struct reader r[THREADS];
    int64_t from = last_seq(w);

    run_readers(w, r, 0, 0, NULL);
    for (int i = 0; i < THREADS; i++) {
        char reqid[32];
        assert_int_equal(r[i].ok, READS);
        assert_int_equal(r[i].queued, READS / 4);
        assert_int_equal(r[i].wrong + r[i].leaked + r[i].refused, 0);
        /* Each thread's entries carry its own request id, whichever
         * thread wrote the batch they were in. */
        snprintf(reqid, sizeof reqid, "thread-%d", i);
        assert_int_equal(count_after(w, from, "record.get", "ok", reqid, NULL),
                         READS / 2);
        assert_int_equal(
            count_after(w, from, "record.search", "ok", reqid, NULL),
            READS - READS / 2);
    }
    assert_int_equal(
        count_after(w, from, "record.get", "ok", NULL, NULL) +
            count_after(w, from, "record.search", "ok", NULL, NULL),
        THREADS * READS);
    chain_intact(w);
}

static void revoke_soon(struct world *w)
{
    struct timespec ts = {0, 30 * 1000 * 1000};
    nanosleep(&ts, NULL);
    assert_int_equal(mamori_dataset_revoke(w->tv.admin, "people", "op1"), 0);
}

static int64_t seq_of(struct world *w, const char *action)
{
    struct mamori_audit_entry *e = NULL;
    size_t n = 0;
    int64_t seq = 0;

    assert_int_equal(mamori_audit_show(w->tv.aud, 0, &e, &n), 0);
    for (size_t i = 0; i < n; i++)
        if (strcmp(e[i].action, action) == 0 && strcmp(e[i].outcome, "ok") == 0)
            seq = e[i].seq;
    mamori_audit_entries_free(e, n);
    return seq;
}

static void revoked_grant_stops_reads(void **state)
{
    struct world *w = *state;
    struct reader r[THREADS];
    int64_t revoked;

    run_readers(w, r, 1, 0, revoke_soon);
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(r[i].last_rc, MAMORI_EDENIED);
        assert_int_equal(r[i].wrong + r[i].leaked, 0);
    }
    /* Not one read is logged as allowed after the revocation, and each
     * thread's refusal is. */
    revoked = seq_of(w, "dataset.revoke");
    assert_true(revoked > 0);
    assert_int_equal(count_after(w, revoked, "record.get", "ok", NULL, NULL),
                     0);
    assert_int_equal(count_after(w, revoked, "record.search", "ok", NULL, NULL),
                     0);
    assert_true(
        count_after(w, revoked, "record.get", "denied", NULL, NULL) +
            count_after(w, revoked, "record.search", "denied", NULL, NULL) >=
        THREADS);
    chain_intact(w);
    assert_int_equal(mamori_dataset_grant(w->tv.admin, "people", "op1"), 0);
}

static void fail_audit_soon(struct world *w)
{
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    mamori_test_fail_audit(w->tv.m, 1);
}

static void audit_failure_releases_nothing(void **state)
{
    struct world *w = *state;
    struct reader r[THREADS];
    int failed = 0, ok = 0;
    int64_t from = last_seq(w);

    run_readers(w, r, 0, 1, fail_audit_soon);
    mamori_test_fail_audit(w->tv.m, 0);
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(r[i].wrong + r[i].leaked + r[i].refused, 0);
        failed += r[i].audit_failed;
        ok += r[i].ok;
    }
    assert_true(failed > 0);
    /* Exactly the reads answered are in the log. */
    assert_int_equal(
        count_after(w, from, "record.get", "ok", NULL, NULL) +
            count_after(w, from, "record.search", "ok", NULL, NULL),
        ok);
    chain_intact(w);
}

/* mamori_session_open_read: the read goes on in the snapshot the session
 * was checked in, so what changes between the two is caught by the group
 * commit's check against the live rows: an ended session, a revoked grant.
 * Another call in between ends the snapshot and reads start afresh. */
static void read_snapshot_checked_again(void **state)
{
    struct world *w = *state;
    struct mamori_client cl = {.device = "test", .os_uid = -1};
    struct mamori_kv kv[] = {{"name", "快照 読子"}};
    struct mamori_record *rec = NULL;
    char tok[MAMORI_TOKEN_LEN + 1], id[MAMORI_ID_LEN + 1];
    mamori_sess *a = NULL, *b = NULL;
    int64_t from = last_seq(w);

    assert_int_equal(tv_login_token(&w->tv, "op1", TV_OP_PW, NULL, tok), 0);
    /* The grant is revoked after the session's check. */
    assert_int_equal(mamori_session_open_read(w->tv.m, tok, &cl, &a), 0);
    assert_int_equal(mamori_dataset_revoke(w->tv.admin, "people", "op1"), 0);
    assert_int_equal(mamori_record_get(a, "people", w->rec, &rec),
                     MAMORI_EDENIED);
    assert_null(rec);
    mamori_session_close(a);
    assert_int_equal(mamori_dataset_grant(w->tv.admin, "people", "op1"), 0);
    assert_int_equal(count_after(w, from, "record.get", "ok", NULL, NULL), 0);
    assert_int_equal(count_after(w, from, "record.get", "denied", NULL, NULL),
                     1);
    /* The same the server's way: the read is queued (the snapshot still
     * shows the grant), the commit's check finds it gone, and the read
     * runs again through the ordinary gate, which refuses it. */
    {
        struct reader r = {.w = w};
        assert_int_equal(sem_init(&r.ready_sem, 0, 0), 0);
        assert_int_equal(mamori_session_open_read(w->tv.m, tok, &cl, &a), 0);
        assert_int_equal(mamori_dataset_revoke(w->tv.admin, "people", "op1"),
                         0);
        assert_int_equal(get_later(&r, a, 2, &rec), MAMORI_EDENIED);
        assert_null(rec);
        assert_int_equal(r.queued, 1);
        assert_int_equal(atomic_load(&r.readies), 1);
        assert_int_equal(r.leaked, 0);
        mamori_session_close(a);
        sem_destroy(&r.ready_sem);
        assert_int_equal(mamori_dataset_grant(w->tv.admin, "people", "op1"), 0);
        assert_int_equal(count_after(w, from, "record.get", "ok", NULL, NULL),
                         0);
        assert_int_equal(
            count_after(w, from, "record.get", "denied", NULL, NULL), 2);
    }

    /* A write in between: the snapshot ends (no write, nor anything long,
     * runs under it), the read sees the new record. */
    assert_int_equal(mamori_session_open_read(w->tv.m, tok, &cl, &a), 0);
    assert_non_null(a->snap);
    assert_int_equal(mamori_record_add(a, "people", kv, 1, id, sizeof id), 0);
    assert_null(a->snap);
    assert_int_equal(mamori_record_get(a, "people", id, &rec), 0);
    assert_string_equal(field(rec, "name"), "快照　読子");
    mamori_record_free(rec);
    rec = NULL;
    assert_int_equal(mamori_record_delete(a, "people", id), 0);
    mamori_session_close(a);

    /* The session ends after its check. */
    assert_int_equal(mamori_session_open_read(w->tv.m, tok, &cl, &a), 0);
    assert_non_null(a->snap);
    assert_int_equal(mamori_session_open(w->tv.m, tok, &cl, &b), 0);
    assert_int_equal(mamori_logout(b), 0);
    assert_int_equal(mamori_record_get(a, "people", w->rec, &rec),
                     MAMORI_ESESSION);
    assert_null(rec);
    assert_null(a->snap); /* the read gate read on in it */
    assert_int_equal(count_after(w, from, "record.get", "ok", NULL, NULL), 1);
    assert_int_equal(count_after(w, from, "record.get", "denied", NULL, NULL),
                     3);
    mamori_session_close(a);
    /* Closed unused, the snapshot is given back too (ASan: no leak). */
    assert_int_equal(mamori_session_open_read(w->tv.m, w->token, &cl, &a), 0);
    mamori_session_close(a);
    chain_intact(w);
}

static void ended_session_refused(void **state)
{
    struct world *w = *state;
    struct mamori_client cl = {.device = "test", .os_uid = -1};
    struct mamori_record *rec = NULL;
    mamori_sess *a = NULL, *b = NULL;
    int64_t from = last_seq(w);

    assert_int_equal(mamori_session_open(w->tv.m, w->token, &cl, &a), 0);
    assert_int_equal(mamori_session_open(w->tv.m, w->token, &cl, &b), 0);
    assert_int_equal(mamori_record_get(a, "people", w->rec, &rec), 0);
    mamori_record_free(rec);
    rec = NULL;
    assert_int_equal(mamori_logout(b), 0);
    assert_int_equal(mamori_record_get(a, "people", w->rec, &rec),
                     MAMORI_ESESSION);
    assert_null(rec);
    assert_int_equal(count_after(w, from, "record.get", "denied", NULL, NULL),
                     1);
    mamori_session_close(a);
}

/* What a session check and a read gate keep in memory (authcache.h)
 * follows changes made through another handle (another process, say):
 * a shorter idle limit set there ends this handle's idle session, though
 * its rows were cached under the longer one, and no check at commit would
 * catch it. */
static void cache_follows_other_handles(void **state)
{
    struct world *w = *state;
    struct mamori_client cl = {.device = "test", .os_uid = -1};
    struct mamori_keysrc src = {.key_file = w->tv.key};
    struct mamori_record *rec = NULL;
    struct tvault other = w->tv;
    char tok[MAMORI_TOKEN_LEN + 1];
    mamori_sess *a = NULL, *adm = NULL;

    assert_int_equal(mamori_open(w->tv.home, &src, &other.m), 0);
    adm = tv_login(&other, "admin", "Vault#Keeper-2026");
    assert_non_null(adm);
    assert_int_equal(tv_login_token(&w->tv, "op1", TV_OP_PW, NULL, tok), 0);
    /* read twice (the second from the cache), under the default 15 min */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(mamori_session_open_read(w->tv.m, tok, &cl, &a), 0);
        assert_int_equal(mamori_record_get(a, "people", w->rec, &rec), 0);
        mamori_record_free(rec);
        rec = NULL;
        mamori_session_close(a);
    }
    assert_int_equal(mamori_config_set(adm, "session.idle_minutes", "5"), 0);
    tv_clock_set(tv_clock() + 6 * 60);
    assert_int_equal(mamori_session_open_read(w->tv.m, tok, &cl, &a),
                     MAMORI_ESESSION);
    assert_null(a);
    /* and the other way: a longer limit set there is seen here too */
    assert_int_equal(tv_login_token(&w->tv, "op1", TV_OP_PW, NULL, tok), 0);
    assert_int_equal(mamori_session_open_read(w->tv.m, tok, &cl, &a), 0);
    mamori_session_close(a);
    mamori_session_close(adm); /* idled out as well */
    adm = tv_login(&other, "admin", "Vault#Keeper-2026");
    assert_non_null(adm);
    assert_int_equal(mamori_config_set(adm, "session.idle_minutes", "15"), 0);
    tv_clock_set(tv_clock() + 6 * 60);
    assert_int_equal(mamori_session_open_read(w->tv.m, tok, &cl, &a), 0);
    assert_int_equal(mamori_record_get(a, "people", w->rec, &rec), 0);
    mamori_record_free(rec);
    mamori_session_close(a);
    mamori_session_close(adm);
    mamori_close(other.m);
    chain_intact(w);
}

/* A read the later way whose verdict is in and needs no thread that may
 * wait (mamori_later_blocks 0): what mamori_later_end gives. */
static int later_quick(struct reader *r, mamori_sess *s, const char *ds,
                       const char *id, struct mamori_record **rec)
{
    mamori_later *ml = NULL;

    assert_int_equal(mamori_record_get_later(s, ds, id, on_ready, r, rec, &ml),
                     0);
    assert_non_null(ml);
    assert_null(*rec); /* held back until the verdict */
    while (sem_wait(&r->ready_sem) != 0)
        ;
    assert_int_equal(mamori_later_blocks(ml), 0);
    return mamori_later_end(ml, rec);
}

/* The newest entry's outcome, detail, ids and count. */
static void newest(struct world *w, const char *action, const char *outcome,
                   const char *detail_prefix, const char *ids, int64_t count)
{
    struct mamori_audit_entry *e = NULL;
    size_t n = 0;

    assert_int_equal(mamori_audit_show(w->tv.aud, 1, &e, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(e[0].action, action);
    assert_string_equal(e[0].outcome, outcome);
    assert_int_equal(strncmp(e[0].detail, detail_prefix, strlen(detail_prefix)),
                     0);
    assert_string_equal(e[0].record_ids ? e[0].record_ids : "", ids);
    assert_int_equal(e[0].count, count);
    mamori_audit_entries_free(e, n);
}

static int64_t read_commits(struct world *w)
{
    struct mamori_stats st;
    assert_int_equal(mamori_stats(w->tv.m, &st), 0);
    return st.read_commits;
}

/* A read of a record that is not there is written by the read gate, in a
 * group commit, with the entry the ordinary gate would write; the later
 * way gives the same answer, and does not send its caller to a thread
 * that may wait (mamori_later_blocks). */
static void missing_record_through_read_gate(void **state)
{
    static const char missing[] = "0d9c7a61-52e4-4b8f-9f3e-2a61c0b4d7e5";
    struct world *w = *state;
    struct reader r;
    struct mamori_record *rec = NULL;
    int64_t c0 = read_commits(w);

    assert_int_equal(mamori_record_get(w->tv.op, "people", missing, &rec),
                     MAMORI_ENOTFOUND);
    assert_null(rec);
    assert_int_equal(read_commits(w), c0 + 1);
    newest(w, "record.get", "error", "not-found", missing, 0);

    memset(&r, 0, sizeof r);
    assert_int_equal(sem_init(&r.ready_sem, 0, 0), 0);
    assert_int_equal(later_quick(&r, w->tv.op, "people", missing, &rec),
                     MAMORI_ENOTFOUND);
    assert_null(rec);
    assert_int_equal(read_commits(w), c0 + 2);
    newest(w, "record.get", "error", "not-found", missing, 0);

    /* the record that is there: the same way, and nothing to wait for */
    assert_int_equal(later_quick(&r, w->tv.op, "people", w->rec, &rec), 0);
    assert_non_null(rec);
    assert_string_equal(field(rec, "name"), w->name);
    mamori_record_free(rec);
    rec = NULL;
    newest(w, "record.get", "ok", "", w->rec, 1);
    assert_int_equal(atomic_load(&r.readies), 2);
    sem_destroy(&r.ready_sem);
    chain_intact(w);
}

/* A read the read gate does not take (the admin may not read records):
 * the verdict is in before mamori_record_get_later returns, ending it
 * waits for the ordinary gate's own commit (mamori_later_blocks), and the
 * answer and the entry are the ordinary gate's. */
static void refused_later_blocks(void **state)
{
    struct world *w = *state;
    struct reader r;
    struct mamori_record *rec = NULL;
    mamori_later *ml = NULL;
    int64_t from = last_seq(w), c0 = read_commits(w);

    memset(&r, 0, sizeof r);
    assert_int_equal(sem_init(&r.ready_sem, 0, 0), 0);
    assert_int_equal(mamori_record_get_later(w->tv.admin, "people", w->rec,
                                             on_ready, &r, &rec, &ml),
                     0);
    assert_non_null(ml);
    assert_null(rec);
    assert_int_equal(atomic_load(&r.readies), 1); /* already */
    assert_int_equal(count_after(w, from, "record.get", "denied", NULL, NULL),
                     0); /* not written yet */
    assert_int_equal(mamori_later_blocks(ml), 1);
    assert_int_equal(mamori_later_end(ml, &rec), MAMORI_EDENIED);
    assert_null(rec);
    assert_int_equal(count_after(w, from, "record.get", "denied", NULL, NULL),
                     1);
    assert_int_equal(read_commits(w), c0); /* the ordinary gate's commit */
    sem_destroy(&r.ready_sem);
    chain_intact(w);
}

/* A plain refusal (no such dataset, a dataset not granted) is written by
 * the read gate in a group commit, as the ordinary gate would write it,
 * and the later way needs no thread that may wait. */
static void refusals_through_read_gate(void **state)
{
    static const struct mamori_field_def fields[] = {{"name", "name", 1}};
    struct mamori_dataset_def d = {"other", "別会社", "名簿", NULL, fields, 1};
    struct world *w = *state;
    struct reader r;
    struct mamori_record *rec = NULL, **recs = NULL;
    size_t n = 0;
    int64_t c0;

    assert_int_equal(mamori_dataset_create(w->tv.admin, &d), 0);
    c0 = read_commits(w);
    assert_int_equal(mamori_record_get(w->tv.op, "nosuch", w->rec, &rec),
                     MAMORI_ENOTFOUND);
    assert_null(rec);
    assert_int_equal(read_commits(w), c0 + 1);
    newest(w, "record.get", "error", "not-found", "", 0);
    assert_int_equal(mamori_record_get(w->tv.op, "other", w->rec, &rec),
                     MAMORI_EDENIED);
    assert_int_equal(read_commits(w), c0 + 2);
    newest(w, "record.get", "denied", "not granted", "", 0);
    assert_int_equal(
        mamori_record_search(w->tv.op, "other", "name", "山田", &recs, &n),
        MAMORI_EDENIED);
    assert_null(recs);
    assert_int_equal(read_commits(w), c0 + 3);
    newest(w, "record.search", "denied", "not granted", "", 0);

    memset(&r, 0, sizeof r);
    assert_int_equal(sem_init(&r.ready_sem, 0, 0), 0);
    assert_int_equal(later_quick(&r, w->tv.op, "other", w->rec, &rec),
                     MAMORI_EDENIED);
    assert_null(rec);
    assert_int_equal(read_commits(w), c0 + 4);
    newest(w, "record.get", "denied", "not granted", "", 0);
    sem_destroy(&r.ready_sem);
    /* granted now: the same read goes through (nothing cached the no) */
    assert_int_equal(mamori_dataset_grant(w->tv.admin, "other", "op1"), 0);
    assert_int_equal(mamori_record_get(w->tv.op, "other", w->rec, &rec),
                     MAMORI_ENOTFOUND);
    newest(w, "record.get", "error", "not-found", w->rec, 0);
    chain_intact(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parallel_reads_each_audited_once),
        cmocka_unit_test(revoked_grant_stops_reads),
        cmocka_unit_test(audit_failure_releases_nothing),
        cmocka_unit_test(read_snapshot_checked_again),
        cmocka_unit_test(ended_session_refused),
        cmocka_unit_test(cache_follows_other_handles),
        cmocka_unit_test(missing_record_through_read_gate),
        cmocka_unit_test(refused_later_blocks),
        cmocka_unit_test(refusals_through_read_gate),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
