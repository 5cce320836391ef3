/*
 * config.h - the vault's settings: the known keys with their defaults and
 * bounds (the defaults follow the client's requirement list), read by the
 * modules that apply them and changed, audited, by `mamori config set`.
 */
#ifndef MAMORI_CONFIG_H
#define MAMORI_CONFIG_H

#include "internal.h"

enum config_key {
    CFG_PASSWORD_PROFILE,    /* "requirements" (0) or "nist" (1) */
    CFG_PASSWORD_MIN_LENGTH, /* requirements profile */
    CFG_PASSWORD_HISTORY,    /* earlier passwords that may not come back */
    CFG_LOCKOUT_THRESHOLD,   /* consecutive failures that lock */
    CFG_LOCKOUT_MINUTES,     /* how long a lock lasts */
    CFG_SESSION_IDLE_MINUTES,
    CFG_SESSION_LIFETIME_HOURS,
    CFG_MFA_OPERATOR, /* on (1) / off (0) */
    CFG_MFA_VIEWER,
    CFG_DEVICE_REQUIRED,        /* on (1) / off (0) */
    CFG_ADMIN_MAX,              /* most users with the admin role */
    CFG_BREAKGLASS_MINUTES,     /* how long an approved break-glass lasts */
    CFG_REVIEW_DORMANT_DAYS,    /* no login for this long: dormant */
    CFG_EXPORT_ALERT_THRESHOLD, /* exports of more records raise an alert */
    CFG_EXPORT_APPROVAL_HOURS,  /* an approved export not run lapses after */
    CFG_ENTRY_EXPIRE_HOURS,     /* pending verified entries are wiped after */
    CFG_BACKUP_KEEP,            /* backups kept by the daily backup */
    CFG_COUNT
};

/* The setting's value: its stored value, or the default when it was never
 * set or cannot be read (the defaults are the strict values). Words map to
 * their index ("requirements" 0, "nist" 1). Call with m->lock held; with
 * m NULL (a vault being made), the default. */
int config_int(struct mamori *m, enum config_key k);
/* As config_int, read through the connection st (a reader). */
int config_int_in(struct store *st, enum config_key k);
/* The same into *v, but a failed read is told (its error; *v is then the
 * default) from a setting never set (0). */
int config_int_read(struct store *st, enum config_key k, int *v);

#endif
