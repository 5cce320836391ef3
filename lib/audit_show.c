/*
 * audit_show.c - reading the audit log back: mamori_audit_show and
 * mamori_audit_find (by user, action and time), for the CLI and the API.
 * Entries hold ids and counts, never personal values.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "crypto.h"
#include "guard.h"
#include "i18n.h"
#include "store.h"
#include "banned.h"

#define FILTER_USER_MAX 63
#define FILTER_ACTION_MAX 31

struct show_state {
    const struct mamori_audit_filter *f; /* NULL: every entry */
    size_t last;                         /* with f: keep only the last */
    struct mamori_audit_entry *e;
    size_t n, cap;
};

static int matches(const struct mamori_audit_filter *f,
                   const struct store_audit_row *row)
{
    size_t al = f->action ? strlen(f->action) : 0;

    if (f->user && strcmp(row->user, f->user) != 0)
        return 0;
    if (f->action && !(strcmp(row->action, f->action) == 0 ||
                       (al && f->action[al - 1] == '.' &&
                        strncmp(row->action, f->action, al) == 0)))
        return 0;
    if (f->from && row->time < f->from)
        return 0;
    return !f->to || row->time <= f->to;
}

/* Keeps the newest `keep` entries of st, freeing the older ones. */
static void keep_newest(struct show_state *st, size_t keep)
{
    size_t drop;

    if (st->n <= keep)
        return;
    drop = st->n - keep;
    for (size_t i = 0; i < drop; i++)
        free(st->e[i].record_ids);
    memmove(st->e, st->e + drop, keep * sizeof *st->e);
    st->n = keep;
}

static int show_row(void *arg, const struct store_audit_row *row)
{
    struct show_state *st = arg;
    struct mamori_audit_entry *e;

    if (st->f && !matches(st->f, row))
        return 0;
    /* A filtered search reads the whole log: hold at most 2 * last. */
    if (st->f && st->last && st->n >= 2 * st->last)
        keep_newest(st, st->last);
    if (st->n == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 64;
        e = realloc(st->e, cap * sizeof *e);
        if (!e)
            return MAMORI_ENOMEM;
        st->e = e;
        st->cap = cap;
    }
    e = &st->e[st->n];
    memset(e, 0, sizeof *e);
    e->seq = row->seq;
    e->time = row->time;
    e->count = row->count;
    snprintf(e->user, sizeof e->user, "%s", row->user);
    snprintf(e->device, sizeof e->device, "%s", row->device);
    snprintf(e->action, sizeof e->action, "%s", row->action);
    snprintf(e->dataset, sizeof e->dataset, "%s", row->dataset);
    snprintf(e->outcome, sizeof e->outcome, "%s", row->outcome);
    snprintf(e->detail, sizeof e->detail, "%s", row->detail);
    snprintf(e->client, sizeof e->client, "%s", row->client);
    snprintf(e->request_id, sizeof e->request_id, "%s", row->request_id);
    if (row->record_ids && row->record_ids[0]) {
        e->record_ids = strdup(row->record_ids);
        if (!e->record_ids)
            return MAMORI_ENOMEM;
    }
    st->n++;
    return 0;
}

void mamori_audit_entries_free(struct mamori_audit_entry *e, size_t n)
{
    if (!e)
        return;
    for (size_t i = 0; i < n; i++)
        free(e[i].record_ids);
    free(e);
}

/* MAMORI_EINVAL for a filter out of bounds, named for the user and in
 * the audit entry. */
static int filter_check(mamori_sess *s, struct guard_call *c,
                        const struct mamori_audit_filter *f)
{
    const char *what = NULL;

    if (f->user && strlen(f->user) > FILTER_USER_MAX)
        what = N_("filter: the user name is longer than 63 bytes");
    else if (f->action && strlen(f->action) > FILTER_ACTION_MAX)
        what = N_("filter: the action is longer than 31 bytes");
    else if (f->from < 0 || f->to < 0 || (f->to && f->from > f->to))
        what = N_("filter: the time range ends before it starts");
    if (!what)
        return 0;
    sess_detail_text(s, _(what));
    snprintf(c->detail, sizeof c->detail, "%s", what);
    return MAMORI_EINVAL;
}

int mamori_audit_find(mamori_sess *s, const struct mamori_audit_filter *f,
                      size_t last, struct mamori_audit_entry **out, size_t *n)
{
    struct guard_call c;
    struct show_state st = {.f = f, .last = last};
    int64_t from = 1;
    int rc;

    *out = NULL;
    *n = 0;
    rc = guard_begin(&c, s, OP_AUDIT_SHOW, NULL);
    if (rc != 0)
        return rc;
    if (f)
        rc = filter_check(s, &c, f);
    if (rc == 0 && !f && last > 0) {
        /* Unfiltered, the last entries are the newest seqs. */
        int64_t head = 0;
        uint8_t mac[CRYPTO_MAC_LEN];
        rc = store_audit_head(s->m->store, &head, mac);
        if (rc == 0 && (int64_t)last < head)
            from = head - (int64_t)last + 1;
        if (rc == MAMORI_ENOTFOUND)
            rc = 0;
    }
    if (rc == 0)
        rc = store_audit_scan(s->m->store, from, INT64_MAX, show_row, &st);
    if (rc == 0 && f && last)
        keep_newest(&st, last);
    c.count = (int64_t)st.n;
    rc = guard_end(&c, rc);
    if (rc != 0) {
        mamori_audit_entries_free(st.e, st.n);
        return rc;
    }
    *out = st.e;
    *n = st.n;
    return 0;
}

int mamori_audit_show(mamori_sess *s, size_t last,
                      struct mamori_audit_entry **out, size_t *n)
{
    return mamori_audit_find(s, NULL, last, out, n);
}

/* Whether p holds the pattern: 'd' a digit, any other byte itself. */
static int shaped(const char *p, const char *pattern)
{
    for (; *pattern; p++, pattern++)
        if (*pattern == 'd' ? !(*p >= '0' && *p <= '9') : *p != *pattern)
            return 0;
    return 1;
}

int mamori_audit_time(const char *text, int end_of_day, int64_t *out)
{
    int y, mo, d, hh = 0, mi = 0, ss = 0, used = 0;
    const char *p;
    struct tm tm;
    time_t t;

    *out = 0;
    memset(&tm, 0, sizeof tm);
    if (!text || !shaped(text, "dddd-dd-dd") ||
        sscanf(text, "%4d-%2d-%2d%n", &y, &mo, &d, &used) != 3 || used != 10)
        return MAMORI_EINVAL;
    p = text + 10;
    if (*p == 'T') {
        if (!shaped(p, "Tdd:dd:dd") ||
            sscanf(p, "T%2d:%2d:%2d%n", &hh, &mi, &ss, &used) != 3 || used != 9)
            return MAMORI_EINVAL;
        p += 9;
        if (*p == '.') {
            p++;
            while (*p >= '0' && *p <= '9')
                p++;
        }
        if (strcmp(p, "Z") != 0)
            return MAMORI_EINVAL;
    } else if (*p) {
        return MAMORI_EINVAL;
    } else if (end_of_day) {
        hh = 23;
        mi = 59;
        ss = 59;
    }
    if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 ||
        hh < 0 || hh > 23 || mi < 0 || mi > 59 || ss < 0 || ss > 59)
        return MAMORI_EINVAL;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = hh;
    tm.tm_min = mi;
    tm.tm_sec = ss;
    t = timegm(&tm);
    /* timegm moves 2026-02-30 on to March: such a day does not exist. */
    if (t == (time_t)-1 || tm.tm_mday != d || tm.tm_mon != mo - 1)
        return MAMORI_EINVAL;
    *out = (int64_t)t;
    return 0;
}
