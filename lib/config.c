/*
 * config.c - the vault's settings. See config.h.
 *
 * Every setting has a type (a bounded integer, or one word of a list), a
 * default and a one-line description. Values are stored as text in the
 * store's config table; a change is audited with the old and the new value.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "guard.h"
#include "i18n.h"
#include "store.h"
#include "banned.h"

struct setting {
    const char *key;
    const char *words; /* "a|b" for a word setting, NULL for an integer */
    int def, min, max; /* for words: the default's index */
    const char *help;
};

static const struct setting settings[CFG_COUNT] = {
    [CFG_PASSWORD_PROFILE] = {"password.profile", "requirements|nist", 0, 0, 1,
                              N_("password rules: the requirement list's "
                                 "(length and character classes) or NIST SP "
                                 "800-63B (length and blocklist)")},
    [CFG_PASSWORD_MIN_LENGTH] =
        {"password.min_length", NULL, 10, 8, 128,
         N_("shortest password (requirements profile)")},
    [CFG_PASSWORD_HISTORY] =
        {"password.history", NULL, 5, 0, 24,
         N_("earlier passwords that may not be used again")},
    [CFG_LOCKOUT_THRESHOLD] = {"lockout.threshold", NULL, 5, 3, 20,
                               N_("consecutive failed logins that lock the "
                                  "account")},
    [CFG_LOCKOUT_MINUTES] = {"lockout.minutes", NULL, 15, 1, 1440,
                             N_("how long a locked account stays locked")},
    [CFG_SESSION_IDLE_MINUTES] = {"session.idle_minutes", NULL, 15, 1, 240,
                                  N_("idle time after which a session ends")},
    [CFG_SESSION_LIFETIME_HOURS] = {"session.lifetime_hours", NULL, 12, 1, 72,
                                    N_("longest life of a session")},
    [CFG_MFA_OPERATOR] = {"mfa.operator", "off|on", 1, 0, 1,
                          N_("operators must use a one-time code (admins "
                             "and auditors always must)")},
    [CFG_MFA_VIEWER] = {"mfa.viewer", "off|on", 1, 0, 1,
                        N_("viewers must use a one-time code")},
    [CFG_DEVICE_REQUIRED] = {"device.required", "off|on", 1, 0, 1,
                             N_("logins only from approved devices")},
    [CFG_ADMIN_MAX] = {"admin.max", NULL, 2, 1, 5,
                       N_("most users with the admin role")},
    [CFG_BREAKGLASS_MINUTES] =
        {"breakglass.minutes", NULL, 60, 15, 240,
         N_("how long an approved break-glass read lasts")},
    [CFG_REVIEW_DORMANT_DAYS] = {"review.dormant_days", NULL, 90, 7, 730,
                                 N_("days without a login after which the "
                                    "access review flags an account")},
    [CFG_EXPORT_ALERT_THRESHOLD] =
        {"export.alert_threshold", NULL, 100, 1, 1000000,
         N_("an export of more records than this raises a bulk-export "
            "alert")},
    [CFG_EXPORT_APPROVAL_HOURS] =
        {"export.approval_hours", NULL, 72, 1, 8760,
         N_("hours an approved export may wait for its run")},
    [CFG_ENTRY_EXPIRE_HOURS] = {"entry.expire_hours", NULL, 72, 1, 720,
                                N_("hours after which a pending verified "
                                   "entry is wiped")},
    [CFG_BACKUP_KEEP] = {"backup.keep", NULL, 14, 1, 3650,
                         N_("backups kept when `backup create` runs without "
                            "--keep")},
};

/* Index of word w in the list "a|b|c", or -1. */
static int word_index(const char *list, const char *w)
{
    size_t wl = strlen(w);
    int i = 0;

    for (const char *p = list; p; i++) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == wl && memcmp(p, w, n) == 0)
            return i;
        p = bar ? bar + 1 : NULL;
    }
    return -1;
}

/* The word at index i of the list into out. */
static void word_at(const char *list, int i, char *out, size_t size)
{
    const char *p = list;
    for (; i > 0 && p; i--) {
        p = strchr(p, '|');
        p = p ? p + 1 : NULL;
    }
    if (!p) {
        snprintf(out, size, "?");
        return;
    }
    const char *bar = strchr(p, '|');
    int n = bar ? (int)(bar - p) : (int)strlen(p);
    snprintf(out, size, "%.*s", n, p);
}

/* Parses text as a value of setting st: 0 and *v, or -1. */
static int parse_value(const struct setting *st, const char *text, int *v)
{
    if (st->words) {
        *v = word_index(st->words, text);
        return *v < 0 ? -1 : 0;
    }
    char *end;
    long x = strtol(text, &end, 10);
    if (end == text || *end != '\0' || x < st->min || x > st->max)
        return -1;
    *v = (int)x;
    return 0;
}

static void format_value(const struct setting *st, int v, char *out,
                         size_t size)
{
    if (st->words)
        word_at(st->words, v, out, size);
    else
        snprintf(out, size, "%d", v);
}

int config_int(struct mamori *m, enum config_key k)
{
    return config_int_in(m ? m->store : NULL, k);
}

int config_int_read(struct store *st, enum config_key k, int *v)
{
    char text[MAMORI_CONFIG_VALUE_MAX];
    int rc;

    *v = k < CFG_COUNT ? settings[k].def : 0;
    if (k >= CFG_COUNT || !st)
        return 0;
    rc = store_config_get(st, settings[k].key, text, sizeof text);
    if (rc == MAMORI_ENOTFOUND)
        return 0;
    if (rc == 0 && parse_value(&settings[k], text, v) != 0)
        *v = settings[k].def;
    return rc;
}

int config_int_in(struct store *st, enum config_key k)
{
    int v;

    (void)config_int_read(st, k, &v); /* a failed read leaves the default */
    return v;
}

static const struct setting *find(const char *key, enum config_key *k)
{
    for (int i = 0; key && i < CFG_COUNT; i++) {
        if (strcmp(settings[i].key, key) == 0) {
            *k = (enum config_key)i;
            return &settings[i];
        }
    }
    return NULL;
}

static void describe_range(const struct setting *st, char *out, size_t size)
{
    if (st->words) {
        snprintf(out, size, "%s", st->words);
    } else {
        snprintf(out, size, "%d-%d", st->min, st->max);
    }
}

int mamori_config_list(mamori_sess *s, struct mamori_config_item **out,
                       size_t *n)
{
    struct guard_call c;
    struct mamori_config_item *items;
    int rc;

    if (!out || !n)
        return MAMORI_EINVAL;
    *out = NULL;
    *n = 0;
    items = calloc(CFG_COUNT, sizeof *items);
    if (!items)
        return MAMORI_ENOMEM;
    rc = guard_begin(&c, s, OP_CONFIG_LIST, NULL);
    if (rc != 0) {
        free(items);
        return rc;
    }
    for (int i = 0; i < CFG_COUNT; i++) {
        const struct setting *st = &settings[i];
        snprintf(items[i].key, sizeof items[i].key, "%s", st->key);
        format_value(st, config_int(s->m, (enum config_key)i), items[i].value,
                     sizeof items[i].value);
        format_value(st, st->def, items[i].def, sizeof items[i].def);
        describe_range(st, items[i].range, sizeof items[i].range);
        snprintf(items[i].help, sizeof items[i].help, "%s", st->help);
    }
    c.count = CFG_COUNT;
    rc = guard_end(&c, 0);
    if (rc != 0) {
        free(items);
        return rc;
    }
    *out = items;
    *n = CFG_COUNT;
    return 0;
}

int mamori_config_normalize(const char *key, const char *value, char *out,
                            size_t size)
{
    enum config_key k;
    const struct setting *st = find(key, &k);
    int v;

    if (size > 0)
        out[0] = '\0';
    if (!st)
        return MAMORI_ENOTFOUND;
    if (!value || parse_value(st, value, &v) != 0)
        return MAMORI_EINVAL;
    format_value(st, v, out, size);
    return 0;
}

int mamori_config_set(mamori_sess *s, const char *key, const char *value)
{
    struct guard_call c;
    enum config_key k = CFG_COUNT;
    const struct setting *st = find(key, &k);
    char range[64], oldv[24], newv[24]; /* values are short words, numbers */
    int v, rc;

    rc = guard_begin(&c, s, OP_CONFIG_SET, NULL);
    if (rc != 0)
        return rc;
    if (!st) {
        /* (as config get: no such setting; the name may be anything the
         * user typed, so it stays out of the log) */
        sess_detail(s, "no setting of that name (see mamori config list)");
        snprintf(c.detail, sizeof c.detail, "no such setting");
        return guard_end(&c, MAMORI_ENOTFOUND);
    }
    describe_range(st, range, sizeof range);
    if (!value || parse_value(st, value, &v) != 0) {
        sess_detail(s, "%s: value must be %s", st->key, range);
        snprintf(c.detail, sizeof c.detail, "%s: value out of range", st->key);
        return guard_end(&c, MAMORI_EINVAL);
    }
    format_value(st, config_int(s->m, k), oldv, sizeof oldv);
    format_value(st, v, newv, sizeof newv);
    rc = store_config_set(s->m->store, st->key, newv);
    c.count = 1;
    snprintf(c.detail, sizeof c.detail, "%s: %s -> %s", st->key, oldv, newv);
    return guard_end(&c, rc);
}
