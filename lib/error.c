/*
 * error.c - library set-up, error messages, the clock.
 */
#include <limits.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "i18n.h"
#include "internal.h"
#include "mamori.h"
#include "store.h"
#include "banned.h"

const char *mamori_strerror(int err)
{
    switch (err) {
    case MAMORI_OK:
        return _("success");
    case MAMORI_EINVAL:
        return _("invalid value");
    case MAMORI_ENOMEM:
        return _("out of memory");
    case MAMORI_EIO:
        return _("input/output error");
    case MAMORI_ECRYPTO:
        return _("decryption or integrity check failed");
    case MAMORI_EDENIED:
        return _("permission denied");
    case MAMORI_EAUTH:
        return _("authentication failed");
    case MAMORI_ENOTFOUND:
        return _("not found");
    case MAMORI_EEXIST:
        return _("already exists");
    case MAMORI_EAUDIT:
        return _("audit log write failed; operation refused");
    case MAMORI_ETAMPER:
        return _("audit log integrity check failed");
    case MAMORI_EKEY:
        return _("key file or passphrase is wrong or unsafe");
    case MAMORI_ESESSION:
        return _("not logged in or session expired");
    case MAMORI_ESTATE:
        return _("not possible in the current state");
    case MAMORI_ETOOBIG:
        return _("value too large");
    case MAMORI_ESCHEMA:
        return _("vault was created by a newer mamori");
    case MAMORI_EOTP:
        return _("a one-time code is needed");
    case MAMORI_EDEVICE:
        return _("this device is not approved");
    case MAMORI_EMISMATCH:
        return _("the second keying does not match the first");
    default:
        return _("unknown error");
    }
}

const char *mamori_errname(int err)
{
    switch (err) {
    case MAMORI_OK:
        return "ok";
    case MAMORI_EINVAL:
        return "invalid";
    case MAMORI_ENOMEM:
        return "no_memory";
    case MAMORI_EIO:
        return "io";
    case MAMORI_ECRYPTO:
        return "crypto";
    case MAMORI_EDENIED:
        return "denied";
    case MAMORI_EAUTH:
        return "auth";
    case MAMORI_ENOTFOUND:
        return "not_found";
    case MAMORI_EEXIST:
        return "exists";
    case MAMORI_EAUDIT:
        return "audit";
    case MAMORI_ETAMPER:
        return "tamper";
    case MAMORI_EKEY:
        return "key";
    case MAMORI_ESESSION:
        return "session";
    case MAMORI_ESTATE:
        return "state";
    case MAMORI_ETOOBIG:
        return "too_big";
    case MAMORI_ESCHEMA:
        return "schema";
    case MAMORI_EOTP:
        return "otp_needed";
    case MAMORI_EDEVICE:
        return "device_not_approved";
    case MAMORI_EMISMATCH:
        return "mismatch";
    default:
        return "error";
    }
}

void i18n_bind(const char *dir)
{
    char exe[PATH_MAX], local[PATH_MAX + 16];
    struct stat st;

    if (dir) {
        bindtextdomain(MAMORI_TEXTDOMAIN, dir);
    } else {
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        const char *use = LOCALEDIR;
        if (n > 0) {
            exe[n] = '\0';
            char *slash = strrchr(exe, '/');
            if (slash) {
                *slash = '\0';
                snprintf(local, sizeof local, "%s/locale", exe);
                if (stat(local, &st) == 0 && S_ISDIR(st.st_mode))
                    use = local;
            }
        }
        bindtextdomain(MAMORI_TEXTDOMAIN, use);
    }
    bind_textdomain_codeset(MAMORI_TEXTDOMAIN, "UTF-8");
}

int mamori_library_init(void)
{
    static int done;
    if (done)
        return 0;
    if (crypto_init() != 0)
        return MAMORI_ECRYPTO;
    store_global_init();
    /* jansson's frees wipe (record values, passwords and tokens pass
     * through it), before anything allocates through it. */
    json_wipe_install();
    i18n_bind(NULL);
    done = 1;
    return 0;
}

static int test_hooks_on(void)
{
    const char *h = getenv("MAMORI_TEST_HOOKS");
    return h && strcmp(h, "1") == 0;
}

int64_t mamori_now(void)
{
    if (test_hooks_on()) {
        const char *t = getenv("MAMORI_TEST_NOW");
        if (t && *t) {
            char *end;
            long long v = strtoll(t, &end, 10);
            if (*end == '\0' && v > 0)
                return v;
        }
    }
    return (int64_t)time(NULL);
}

/* Cuts buf (len bytes long, NUL-terminated) back to its last complete
 * UTF-8 character, so that a detail cut short by its buffer stays valid. */
static void utf8_cut(char *buf, size_t len)
{
    size_t lead = len, back = 0;

    /* the start of the last character: at most 3 continuation bytes */
    while (lead > 0 && back < 3 &&
           ((unsigned char)buf[lead - 1] & 0xC0) == 0x80) {
        lead--;
        back++;
    }
    if (lead > 0) {
        unsigned char c = (unsigned char)buf[lead - 1];
        size_t need = c < 0x80             ? 1
                      : (c & 0xE0) == 0xC0 ? 2
                      : (c & 0xF0) == 0xE0 ? 3
                      : (c & 0xF8) == 0xF0 ? 4
                                           : 0;
        if (need == back + 1)
            return; /* the last character is whole */
        lead--;     /* incomplete or stray: drop it with its tail */
    }
    buf[lead] = '\0';
}

void sess_detail(mamori_sess *s, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (!s)
        return;
    /* The detail is shown to the user, in their language (an empty format
     * is left alone: its "translation" is the catalog's header). */
    va_start(ap, fmt);
    n = vsnprintf(s->errdetail, sizeof s->errdetail,
                  fmt[0] ? dgettext(MAMORI_TEXTDOMAIN, fmt) : fmt, ap);
    va_end(ap);
    if (n < 0)
        s->errdetail[0] = '\0';
    else if ((size_t)n >= sizeof s->errdetail)
        utf8_cut(s->errdetail, sizeof s->errdetail - 1);
}

void sess_detail_text(mamori_sess *s, const char *text)
{
    if (s && (size_t)snprintf(s->errdetail, sizeof s->errdetail, "%s", text) >=
                 sizeof s->errdetail)
        utf8_cut(s->errdetail, sizeof s->errdetail - 1);
}

const char *mamori_errdetail(const mamori_sess *s)
{
    return s ? s->errdetail : "";
}
