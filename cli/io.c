/*
 * io.c - what the mamori command reads and writes: secrets from a terminal
 * or stdin, errors, JSON, tables, private files.
 *
 * Secrets are read with read(2) byte by byte into the caller's fixed buffer,
 * so no copy is left in a stdio buffer; stdout goes through a buffer of our
 * own that is wiped at exit, and jansson's allocations are wiped when freed,
 * since both can hold personal values.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include "cli.h"
#include "i18n.h"
#include "banned.h"

/* ---- error codes -------------------------------------------------------- */

int cli_exit_code(int rc)
{
    switch (rc) {
    case MAMORI_OK:
        return CLI_EXIT_OK;
    case MAMORI_ENOTFOUND:
        return CLI_EXIT_NOTFOUND;
    case MAMORI_EDENIED:
    case MAMORI_EAUTH:
    case MAMORI_EOTP:
    case MAMORI_EDEVICE:
    case MAMORI_ESESSION:
    case MAMORI_EKEY:
        return CLI_EXIT_DENIED;
    case MAMORI_EINVAL:
    case MAMORI_ETOOBIG:
    case MAMORI_EMISMATCH:
        return CLI_EXIT_INVALID;
    case MAMORI_ECRYPTO:
    case MAMORI_ETAMPER:
        return CLI_EXIT_INTEGRITY;
    case MAMORI_EAUDIT:
        return CLI_EXIT_AUDIT;
    default:
        return CLI_EXIT_FAIL;
    }
}

/* ---- errors and messages ------------------------------------------------ */

static void json_error(const char *code, const char *message,
                       const char *detail)
{
    json_t *err = json_object();
    json_t *top = json_object();
    char *s = NULL;
    size_t n;

    if (!err || !top)
        goto out;
    if (json_object_set_new(err, "code", json_string(code)) ||
        json_object_set_new(err, "message", cli_json_str(message)))
        goto out;
    if (detail && *detail &&
        json_object_set_new(err, "detail", cli_json_str(detail)))
        goto out;
    if (json_object_set(top, "error", err))
        goto out;
    n = json_dumpb(top, NULL, 0, JSON_COMPACT);
    if (n == 0 || n == SIZE_MAX || !(s = malloc(n)))
        goto out;
    if (json_dumpb(top, s, n, JSON_COMPACT) != n)
        goto out;
    fwrite(s, 1, n, stdout);
    fputc('\n', stdout);
    fflush(stdout);
out:
    free(s);
    json_decref(err);
    json_decref(top);
}

int cli_fail_detail(struct cli *c, const char *what, int rc, const char *detail)
{
    const char *msg = mamori_strerror(rc);

    fflush(stdout);
    if (detail && *detail)
        fprintf(stderr, "mamori: %s: %s: %s\n", what, msg, detail);
    else
        fprintf(stderr, "mamori: %s: %s\n", what, msg);
    if (c && c->a.json) {
        char full[1024];

        snprintf(full, sizeof full, "%s: %s", what, msg);
        json_error(mamori_errname(rc), full, detail);
    }
    return cli_exit_code(rc);
}

int cli_fail(struct cli *c, const char *what, int rc)
{
    const char *detail = NULL;

    if (c && c->s)
        detail = mamori_errdetail(c->s);
    return cli_fail_detail(c, what, rc, detail);
}

int cli_error(struct cli *c, int rc, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fflush(stdout);
    fprintf(stderr, "mamori: %s\n", msg);
    if (c && c->a.json)
        json_error(mamori_errname(rc), msg, NULL);
    return cli_exit_code(rc);
}

int cli_usage(struct cli *c, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fflush(stdout);
    fprintf(stderr, "mamori: %s\n", msg);
    if (c && c->cmd) {
        char name[64];

        if (c->cmd->verb)
            snprintf(name, sizeof name, "%s %s", c->cmd->group, c->cmd->verb);
        else
            snprintf(name, sizeof name, "%s", c->cmd->group);
        fprintf(stderr, _("usage: mamori %s\n"), _(c->cmd->synopsis));
        fprintf(stderr, _("Try `mamori help %s` for more information.\n"),
                name);
    } else {
        fprintf(stderr, _("Try `mamori --help` for more information.\n"));
    }
    if (c && c->a.json)
        json_error("usage", msg, NULL);
    return CLI_EXIT_USAGE;
}

void cli_note(struct cli *c, const char *fmt, ...)
{
    va_list ap;

    if (c->a.quiet || c->a.json)
        return;
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
}

/* ---- secrets ------------------------------------------------------------ */

int cli_read_line(int fd, char *buf, size_t size, size_t *len)
{
    size_t n = 0;
    int got = 0;
    char ch = 0;

    if (size == 0)
        return MAMORI_ETOOBIG;
    for (;;) {
        ssize_t r = read(fd, &ch, 1);

        if (r < 0) {
            if (errno == EINTR)
                continue;
            explicit_bzero(buf, size);
            return MAMORI_EIO;
        }
        if (r == 0)
            break;
        got = 1;
        if (ch == '\n')
            break;
        if (n + 1 >= size) {
            ch = 0;
            explicit_bzero(buf, size);
            return MAMORI_ETOOBIG;
        }
        buf[n++] = ch;
    }
    ch = 0;
    if (!got) {
        buf[0] = '\0';
        *len = 0;
        return 1;
    }
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    *len = n;
    return 0;
}

/* The terminal a prompt has switched echo off on, to put it back if a
 * signal ends the program while the prompt waits. */
static volatile sig_atomic_t tty_active;
static int tty_fd = -1;
static struct termios tty_saved;

static void tty_on_signal(int sig)
{
    if (tty_active) {
        tcsetattr(tty_fd, TCSAFLUSH, &tty_saved);
        (void)!write(tty_fd, "\n", 1);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static const int tty_signals[] = {SIGINT, SIGTERM, SIGQUIT, SIGHUP};
#define NTTY_SIGNALS (sizeof tty_signals / sizeof tty_signals[0])

static int tty_prompt(const char *prompt, char *buf, size_t size, size_t *len)
{
    struct sigaction sa, old[NTTY_SIGNALS];
    struct termios t;
    sigset_t block, oldmask;
    int fd, rc = MAMORI_EIO, echo_off = 0;
    size_t i;

    fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return MAMORI_EIO;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = tty_on_signal;
    sigemptyset(&sa.sa_mask);
    for (i = 0; i < NTTY_SIGNALS; i++) {
        sigaction(tty_signals[i], &sa, &old[i]);
        /* A signal ignored by whoever started us stays ignored. */
        if (old[i].sa_handler == SIG_IGN)
            sigaction(tty_signals[i], &old[i], NULL);
    }
    /* Being stopped with echo off would leave the shell without echo. */
    sigemptyset(&block);
    sigaddset(&block, SIGTSTP);
    sigaddset(&block, SIGTTIN);
    sigaddset(&block, SIGTTOU);
    sigprocmask(SIG_BLOCK, &block, &oldmask);

    if (tcgetattr(fd, &tty_saved) == 0) {
        t = tty_saved;
        t.c_lflag &= ~(tcflag_t)ECHO;
        t.c_lflag |= ICANON;
        tty_fd = fd;
        tty_active = 1;
        if (tcsetattr(fd, TCSAFLUSH, &t) == 0)
            echo_off = 1;
        else
            tty_active = 0;
    }
    /* A secret is never read with echo on. */
    if (!echo_off || write(fd, prompt, strlen(prompt)) < 0)
        goto out;
    rc = cli_read_line(fd, buf, size, len);
out:
    if (echo_off) {
        tcsetattr(fd, TCSAFLUSH, &tty_saved);
        (void)!write(fd, "\n", 1);
    }
    tty_active = 0;
    tty_fd = -1;
    sigprocmask(SIG_SETMASK, &oldmask, NULL);
    for (i = 0; i < NTTY_SIGNALS; i++)
        sigaction(tty_signals[i], &old[i], NULL);
    close(fd);
    return rc;
}

int cli_read_secret(const char *prompt, const char *confirm, char *buf,
                    size_t size, size_t *len)
{
    char again[CLI_SECRET_MAX];
    size_t again_len = 0;
    int rc;

    if (!isatty(STDIN_FILENO)) {
        rc = cli_read_line(STDIN_FILENO, buf, size, len);
        if (rc == 0 && *len == 0)
            rc = 1;
        return rc;
    }
    rc = tty_prompt(prompt, buf, size, len);
    if (rc != 0)
        return rc;
    if (*len == 0)
        return 1;
    if (!confirm)
        return 0;
    rc = tty_prompt(confirm, again, sizeof again, &again_len);
    if (rc == 0 && (again_len != *len || memcmp(again, buf, *len) != 0))
        rc = MAMORI_EINVAL;
    else if (rc == 1)
        rc = MAMORI_EINVAL;
    explicit_bzero(again, sizeof again);
    if (rc != 0) {
        explicit_bzero(buf, size);
        *len = 0;
    }
    return rc;
}

int cli_read_passphrase(const char *prompt, const char *confirm, char *buf,
                        size_t size, size_t *len)
{
    const char *env = getenv("MAMORI_PASSPHRASE_FD");
    char *end;
    long fd;
    int rc;

    if (!env || !*env)
        return cli_read_secret(prompt, confirm, buf, size, len);
    errno = 0;
    fd = strtol(env, &end, 10);
    if (errno || *end || end == env || fd < 0 || fd > INT_MAX ||
        fcntl((int)fd, F_GETFD) < 0)
        return CLI_EBADFD;
    rc = cli_read_line((int)fd, buf, size, len);
    if (rc == 0 && *len == 0)
        rc = 1;
    return rc;
}

static int read_urandom(unsigned char *buf, size_t n)
{
    size_t got = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return MAMORI_EIO;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            close(fd);
            return MAMORI_EIO;
        }
        got += (size_t)r;
    }
    close(fd);
    return 0;
}

int cli_generate_password(char *buf, size_t size)
{
    static const char lower[] = "abcdefghijklmnopqrstuvwxyz";
    static const char upper[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    static const char digit[] = "0123456789";
    static const char symbol[] = "!#%+-.:=?@^_~";
    char alphabet[sizeof lower + sizeof upper + sizeof digit + sizeof symbol];
    unsigned char rnd[64];
    size_t na = 0, limit, i, n;
    int rc = MAMORI_EIO, attempt;

    if (size <= CLI_GEN_PASSWORD_LEN)
        return MAMORI_ETOOBIG;
    memcpy(alphabet + na, lower, sizeof lower - 1);
    na += sizeof lower - 1;
    memcpy(alphabet + na, upper, sizeof upper - 1);
    na += sizeof upper - 1;
    memcpy(alphabet + na, digit, sizeof digit - 1);
    na += sizeof digit - 1;
    memcpy(alphabet + na, symbol, sizeof symbol - 1);
    na += sizeof symbol - 1;
    /* Reject bytes at or over the largest multiple of na: uniform choice. */
    limit = 256 - 256 % na;

    for (attempt = 0; attempt < 1000; attempt++) {
        int has_l = 0, has_u = 0, has_d = 0, has_s = 0;

        n = 0;
        while (n < CLI_GEN_PASSWORD_LEN) {
            if (read_urandom(rnd, sizeof rnd) != 0)
                goto out;
            for (i = 0; i < sizeof rnd && n < CLI_GEN_PASSWORD_LEN; i++)
                if (rnd[i] < limit)
                    buf[n++] = alphabet[rnd[i] % na];
        }
        buf[n] = '\0';
        for (i = 0; i < n; i++) {
            if (memchr(lower, buf[i], sizeof lower - 1))
                has_l = 1;
            else if (memchr(upper, buf[i], sizeof upper - 1))
                has_u = 1;
            else if (memchr(digit, buf[i], sizeof digit - 1))
                has_d = 1;
            else
                has_s = 1;
        }
        /* Redrawing the whole password keeps it uniform over the passwords
         * that have every class. */
        if (has_l && has_u && has_d && has_s) {
            rc = 0;
            goto out;
        }
    }
out:
    explicit_bzero(rnd, sizeof rnd);
    if (rc != 0)
        explicit_bzero(buf, size);
    return rc;
}

/* ---- files -------------------------------------------------------------- */

int cli_output_ok(struct cli *c, const char *opt, const char *path,
                  const char *const *reads, size_t n)
{
    const char *all[8], *why;
    size_t k = 0;

    if (n > sizeof all / sizeof all[0] - 2)
        return cli_error(c, MAMORI_EINVAL, "%s: too many inputs", opt);
    all[k++] = c->a.key_file;
    all[k++] = getenv("MAMORI_KEY_FILE");
    for (size_t i = 0; i < n; i++)
        all[k++] = reads[i];
    if (mamori_output_check(c->home, path, all, k, &why) == 0)
        return 0;
    return cli_error(c, MAMORI_EINVAL, _("%s: will not write %s: %s"), opt,
                     path, _(why));
}

int cli_write_private_file(const char *path, const void *data, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char rnd[8];
    char tmp[4200], suffix[2 * sizeof rnd + 1];
    const unsigned char *p = data;
    size_t done = 0, i;
    int fd = -1, rc = MAMORI_EIO, attempt, saved;

    if (strlen(path) + sizeof suffix + 8 > sizeof tmp) {
        errno = ENAMETOOLONG;
        return MAMORI_EIO;
    }
    for (attempt = 0; attempt < 16 && fd < 0; attempt++) {
        if (read_urandom(rnd, sizeof rnd) != 0)
            return MAMORI_EIO;
        for (i = 0; i < sizeof rnd; i++) {
            suffix[2 * i] = hex[rnd[i] >> 4];
            suffix[2 * i + 1] = hex[rnd[i] & 15];
        }
        suffix[2 * sizeof rnd] = '\0';
        snprintf(tmp, sizeof tmp, "%s.%s.tmp", path, suffix);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                  0600);
        if (fd < 0 && errno != EEXIST)
            return MAMORI_EIO;
    }
    if (fd < 0)
        return MAMORI_EIO;
    if (fchmod(fd, 0600) != 0)
        goto out;
    while (done < len) {
        ssize_t w = write(fd, p + done, len - done);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto out;
        done += (size_t)w;
    }
    if (fsync(fd) != 0)
        goto out;
    if (close(fd) != 0) {
        fd = -1;
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0)
        goto out;
    rc = 0;
out:
    saved = errno;
    if (fd >= 0)
        close(fd);
    if (rc != 0)
        unlink(tmp);
    errno = saved;
    return rc;
}

int cli_read_small_file(const char *path, size_t max, char **out, size_t *len)
{
    struct stat st;
    char *buf = NULL;
    size_t got = 0;
    int fd, rc = MAMORI_EIO, saved;

    *out = NULL;
    *len = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? MAMORI_ENOTFOUND : MAMORI_EIO;
    if (fstat(fd, &st) != 0)
        goto out;
    if (!S_ISREG(st.st_mode)) {
        errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
        goto out;
    }
    if (st.st_size < 0 || (uintmax_t)st.st_size > max) {
        rc = MAMORI_ETOOBIG;
        goto out;
    }
    buf = malloc(max + 1);
    if (!buf) {
        rc = MAMORI_ENOMEM;
        goto out;
    }
    for (;;) {
        ssize_t r;

        if (got == max + 1)
            break;
        r = read(fd, buf + got, max + 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            goto out;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    if (got > max) {
        rc = MAMORI_ETOOBIG;
        goto out;
    }
    buf[got] = '\0';
    *out = buf;
    *len = got;
    buf = NULL;
    rc = 0;
out:
    saved = errno;
    free(buf);
    close(fd);
    errno = saved;
    return rc;
}

/* ---- output setup ------------------------------------------------------- */

static char stdout_buf[1 << 16];

void cli_output_init(void)
{
    setvbuf(stdout, stdout_buf, isatty(STDOUT_FILENO) ? _IOLBF : _IOFBF,
            sizeof stdout_buf);
}

int cli_output_finish(void)
{
    int bad = fflush(stdout) != 0 || ferror(stdout);

    explicit_bzero(stdout_buf, sizeof stdout_buf);
    return bad ? -1 : 0;
}

/* ---- UTF-8 -------------------------------------------------------------- */

/* Decodes one UTF-8 sequence at s (n bytes left). Returns its length, or 0
 * if the bytes there are not valid UTF-8 (overlong, surrogate, > U+10FFFF,
 * truncated). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    uint32_t c;
    size_t len, i;

    if (n == 0)
        return 0;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2;
        c = s[0] & 0x1f;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3;
        c = s[0] & 0x0f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4;
        c = s[0] & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) || c > 0x10ffff ||
        (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return len;
}

static int is_bidi_control(uint32_t c)
{
    return c == 0x061c || c == 0x200e || c == 0x200f ||
           (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

char *cli_sanitize(const char *s, int tsv)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t n = strlen((const char *)p), i = 0, o = 0;
    char *out;

    /* Worst case: 4 output bytes per input byte ("\x1b"), or 6 for a
     * 3-byte character ("\u202e"); 6 per byte bounds both. */
    if (n > (SIZE_MAX - 1) / 6)
        return NULL;
    out = malloc(6 * n + 1);
    if (!out)
        return NULL;
    while (i < n) {
        uint32_t c;
        size_t len = utf8_decode(p + i, n - i, &c);

        if (len == 0) {
            o += (size_t)snprintf(out + o, 6 * n + 1 - o, "\\x%02x", p[i]);
            i++;
            continue;
        }
        if (c == '\n') {
            memcpy(out + o, "\\n", 2);
            o += 2;
        } else if (c == '\t') {
            memcpy(out + o, "\\t", 2);
            o += 2;
        } else if (c == '\r') {
            memcpy(out + o, "\\r", 2);
            o += 2;
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t)snprintf(out + o, 6 * n + 1 - o, "\\x%02x",
                                  (unsigned)c);
        } else if ((c >= 0x80 && c <= 0x9f) || is_bidi_control(c)) {
            o += (size_t)snprintf(out + o, 6 * n + 1 - o, "\\u%04x",
                                  (unsigned)c);
        } else if (c == '\\' && tsv) {
            memcpy(out + o, "\\\\", 2);
            o += 2;
        } else {
            memcpy(out + o, p + i, len);
            o += len;
        }
        i += len;
    }
    out[o] = '\0';
    return out;
}

/* A UTF-8 LC_CTYPE for wcwidth, whatever the user's locale is. */
static locale_t utf8_locale(void)
{
    static locale_t loc;
    static int tried;

    if (!tried) {
        tried = 1;
        loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
        if (!loc)
            loc = newlocale(LC_CTYPE_MASK, "en_US.UTF-8", (locale_t)0);
    }
    return loc;
}

/* Columns of s, and (if cut is non-NULL) the byte length of the longest
 * prefix that fits in max columns. */
static size_t width_upto(const char *s, size_t max, size_t *cut)
{
    locale_t loc = utf8_locale(), old = (locale_t)0;
    mbstate_t st;
    size_t n = strlen(s), i = 0, w = 0;

    if (loc)
        old = uselocale(loc);
    memset(&st, 0, sizeof st);
    if (cut)
        *cut = n;
    while (i < n) {
        wchar_t wc;
        size_t len = mbrtowc(&wc, s + i, n - i, &st);
        int cw;

        if (len == (size_t)-1 || len == (size_t)-2 || len == 0) {
            memset(&st, 0, sizeof st);
            len = 1;
            cw = 1;
        } else {
            cw = wcwidth(wc);
            if (cw < 0)
                cw = 1;
        }
        if (cut && w + (size_t)cw > max) {
            *cut = i;
            break;
        }
        w += (size_t)cw;
        i += len;
    }
    if (loc)
        uselocale(old);
    return w;
}

size_t cli_display_width(const char *s)
{
    return width_upto(s, 0, NULL);
}

/* ---- JSON --------------------------------------------------------------- */

int cli_json_print(struct cli *c, json_t *j)
{
    const size_t flags = JSON_COMPACT;
    char *s = NULL;
    size_t n;
    int rc = CLI_EXIT_FAIL;

    if (!j)
        return cli_fail(c, _("output"), MAMORI_ENOMEM);
    n = json_dumpb(j, NULL, 0, flags);
    if (n == 0 || n == SIZE_MAX)
        goto out;
    s = malloc(n);
    if (!s || json_dumpb(j, s, n, flags) != n)
        goto out;
    fwrite(s, 1, n, stdout);
    fputc('\n', stdout);
    rc = CLI_EXIT_OK;
out:
    if (s) {
        explicit_bzero(s, n);
        free(s);
    }
    json_decref(j);
    if (rc != CLI_EXIT_OK)
        return cli_fail(c, _("output"), MAMORI_ENOMEM);
    return rc;
}

json_t *cli_json_str(const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t n = strlen((const char *)p), i = 0, o = 0;
    json_t *j;
    char *fixed;

    j = json_stringn((const char *)p, n);
    if (j)
        return j;
    /* Not UTF-8 (or NUL inside): replace each bad byte by U+FFFD. */
    if (n > (SIZE_MAX - 1) / 3)
        return NULL;
    fixed = malloc(3 * n + 1);
    if (!fixed)
        return NULL;
    while (i < n) {
        uint32_t c;
        size_t len = utf8_decode(p + i, n - i, &c);

        if (len == 0) {
            memcpy(fixed + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        } else {
            memcpy(fixed + o, p + i, len);
            o += len;
            i += len;
        }
    }
    j = json_stringn(fixed, o);
    explicit_bzero(fixed, 3 * n + 1);
    free(fixed);
    return j;
}

json_t *cli_json_time(int64_t t)
{
    char buf[32];
    struct tm tm;
    time_t tt = (time_t)t;

    if (t == 0 || !gmtime_r(&tt, &tm) ||
        strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return json_null();
    return json_string(buf);
}

void cli_format_time(int64_t t, char *buf, size_t size)
{
    struct tm tm;
    time_t tt = (time_t)t;

    if (size == 0)
        return;
    if (t == 0 || !localtime_r(&tt, &tm) ||
        strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf(buf, size, "-");
}

/* ---- tables ------------------------------------------------------------- */

/* Widest a column other than the last gets on a terminal; longer cells are
 * cut and end in "...". */
#define TABLE_COL_MAX 40

void cli_table_init(struct cli_table *t, const char *const *headers,
                    size_t ncols)
{
    memset(t, 0, sizeof *t);
    t->headers = headers;
    t->ncols = ncols;
}

int cli_table_add(struct cli_table *t, const char *const *cells)
{
    size_t i, base;

    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **p;

        if (cap > SIZE_MAX / sizeof(char *) / t->ncols)
            return MAMORI_ENOMEM;
        p = realloc(t->cells, cap * t->ncols * sizeof(char *));
        if (!p)
            return MAMORI_ENOMEM;
        t->cells = p;
        t->cap = cap;
    }
    base = t->nrows * t->ncols;
    for (i = 0; i < t->ncols; i++) {
        t->cells[base + i] = strdup(cells[i] ? cells[i] : "");
        if (!t->cells[base + i]) {
            while (i-- > 0) {
                free(t->cells[base + i]);
                t->cells[base + i] = NULL;
            }
            return MAMORI_ENOMEM;
        }
    }
    t->nrows++;
    return 0;
}

static void print_padded(const char *s, size_t width, int last)
{
    size_t w, cut;

    w = width_upto(s, width, &cut);
    if (!last && s[cut] != '\0') {
        /* Too wide: cut to width - 3 columns and add "...". */
        size_t cut3;

        w = width_upto(s, width >= 3 ? width - 3 : 0, &cut3);
        fwrite(s, 1, cut3, stdout);
        fputs("...", stdout);
        w += 3;
    } else {
        fputs(s, stdout);
        w = cli_display_width(s);
    }
    if (!last)
        for (; w < width; w++)
            fputc(' ', stdout);
}

int cli_table_print(const struct cli_table *t, int tty)
{
    int rc = MAMORI_ENOMEM;
    size_t *width = NULL, r, i;
    char **shown = NULL;
    size_t ncells = t->nrows * t->ncols;

    shown = calloc(ncells ? ncells : 1, sizeof *shown);
    width = calloc(t->ncols, sizeof *width);
    if (!shown || !width)
        goto out;
    for (i = 0; i < ncells; i++) {
        shown[i] = cli_sanitize(t->cells[i], !tty);
        if (!shown[i])
            goto out;
    }
    if (!tty) {
        for (r = 0; r < t->nrows; r++) {
            for (i = 0; i < t->ncols; i++) {
                if (i)
                    fputc('\t', stdout);
                fputs(shown[r * t->ncols + i], stdout);
            }
            fputc('\n', stdout);
        }
        rc = 0;
        goto out;
    }
    for (i = 0; i < t->ncols; i++)
        width[i] = cli_display_width(t->headers[i]);
    for (r = 0; r < t->nrows; r++)
        for (i = 0; i < t->ncols; i++) {
            size_t w = cli_display_width(shown[r * t->ncols + i]);

            if (w > width[i])
                width[i] = w;
        }
    for (i = 0; i + 1 < t->ncols; i++)
        if (width[i] > TABLE_COL_MAX)
            width[i] = TABLE_COL_MAX;
    for (i = 0; i < t->ncols; i++) {
        if (i)
            fputs("  ", stdout);
        print_padded(t->headers[i], width[i], i + 1 == t->ncols);
    }
    fputc('\n', stdout);
    for (r = 0; r < t->nrows; r++) {
        for (i = 0; i < t->ncols; i++) {
            if (i)
                fputs("  ", stdout);
            print_padded(shown[r * t->ncols + i], width[i], i + 1 == t->ncols);
        }
        fputc('\n', stdout);
    }
    rc = 0;
out:
    if (shown) {
        for (i = 0; i < ncells; i++) {
            if (shown[i]) {
                explicit_bzero(shown[i], strlen(shown[i]));
                free(shown[i]);
            }
        }
    }
    free(shown);
    free(width);
    return rc;
}

void cli_table_release(struct cli_table *t)
{
    size_t i;

    for (i = 0; i < t->nrows * t->ncols; i++) {
        if (t->cells[i]) {
            explicit_bzero(t->cells[i], strlen(t->cells[i]));
            free(t->cells[i]);
        }
    }
    free(t->cells);
    memset(t, 0, sizeof *t);
}

void cli_print_kv(const char *label, const char *value)
{
    char *v = cli_sanitize(value, 0);

    if (!v) {
        printf("%s: ?\n", label);
        return;
    }
    printf("%s: %s\n", label, v);
    explicit_bzero(v, strlen(v));
    free(v);
}
