/*
 * main.c - mamorid start-up and shutdown: settings, no core dumps, the
 * listening socket, unsealing the vault, dropping privileges, then the
 * HTTP daemon until SIGTERM/SIGINT (graceful drain: stop accepting, finish
 * the requests in flight, close the vault, exit 0).
 *
 * Exit status: 0 after a clean stop, 1 when the vault or the daemon fails,
 * 2 for a usage or settings problem (plain HTTP off loopback, root
 * without --user, no key source).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <locale.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <syslog.h>
#include <unistd.h>

#include <sodium.h>
#include <systemd/sd-daemon.h>

#include "mamorid.h"
#include "banned.h"

#define PEM_MAX (256 * 1024)
#define PASS_MAX 1024

extern const unsigned char mamorid_openapi_yaml[];
extern const size_t mamorid_openapi_yaml_len;

static int read_file(const char *path, size_t max, char **out)
{
    char *buf = NULL;
    size_t len = 0;
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -1;

    *out = NULL;
    if (fd < 0)
        return -1;
    buf = sodium_malloc(max + 1);
    if (!buf)
        goto out;
    while (len < max && (n = read(fd, buf + len, max - len)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            goto out;
        }
        len += (size_t)n;
    }
    if (len == max) /* too big to be a PEM file */
        goto out;
    buf[len] = '\0';
    *out = buf;
    buf = NULL;
    rc = 0;
out:
    if (buf)
        sodium_free(buf);
    close(fd);
    return rc;
}

/* Reads a passphrase line from fd into sodium memory: up to the first
 * newline or the end. 0, or -1. */
static int read_line_secret(int fd, char **out, size_t *len)
{
    char *buf = sodium_malloc(PASS_MAX + 1);
    size_t n = 0;

    if (!buf)
        return -1;
    while (n < PASS_MAX) {
        ssize_t r = read(fd, buf + n, 1);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || buf[n] == '\n')
            break;
        n++;
    }
    if (n == 0 || n == PASS_MAX) {
        sodium_free(buf); /* wipes */
        return -1;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

/* Asks for the passphrase on the terminal, without echo (typed-ahead input
 * is kept). 1 if there is no terminal. */
static int prompt_passphrase(char **out, size_t *len)
{
    struct termios old, quiet;
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY), rc;
    static const char ask[] = "mamorid: vault passphrase: ";

    if (fd < 0)
        return 1;
    if (!isatty(fd) || tcgetattr(fd, &old) != 0) {
        close(fd);
        return 1;
    }
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
    quiet.c_lflag |= ICANON;
    if (tcsetattr(fd, TCSANOW, &quiet) != 0) {
        close(fd);
        return -1;
    }
    if (write(fd, ask, sizeof ask - 1) < 0) {
        /* the prompt is a courtesy: read anyway */
    }
    rc = read_line_secret(fd, out, len);
    (void)tcsetattr(fd, TCSAFLUSH, &old);
    if (write(fd, "\n", 1) < 0) {
        /* as above */
    }
    close(fd);
    return rc;
}

/* The passphrase from the descriptor of --passphrase-fd (flag_fd >= 0) or
 * MAMORI_PASSPHRASE_FD, closed after; else from the terminal. 1 if none
 * of them is there. */
static int read_passphrase(int flag_fd, char **out, size_t *len)
{
    const char *e = getenv("MAMORI_PASSPHRASE_FD");
    long fd = flag_fd;
    int rc;

    *out = NULL;
    *len = 0;
    if (fd < 0 && e && *e) {
        char *end;

        errno = 0;
        fd = strtol(e, &end, 10);
        if (errno || *end || fd < 0 || fd > 65535)
            return -1;
    }
    if (fd < 0)
        return isatty(STDIN_FILENO) ? prompt_passphrase(out, len) : 1;
    rc = read_line_secret((int)fd, out, len);
    close((int)fd);
    return rc;
}

static int is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const void *)sa;
        return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const void *)sa;
        return IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
    }
    return 0;
}

/* The address fd is bound to, as HOST:PORT ([HOST]:PORT for IPv6): with
 * port 0 in --listen the kernel picks a free one, and this names it (the
 * tests start servers side by side that way). Falls back to listen. */
static void bound_address(int fd, const char *listen, char *out, size_t size)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char host[INET6_ADDRSTRLEN];
    unsigned port;

    snprintf(out, size, "%s", listen);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0 ||
        srv_addr_text((struct sockaddr *)&ss, host, sizeof host, &port) != 0)
        return;
    snprintf(out, size, ss.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", host,
             port);
}

/* Splits "HOST:PORT" or "[V6]:PORT". */

static int split_listen(const char *s, char *host, size_t hsize, char *port,
                        size_t psize)
{
    const char *colon;
    size_t hl;

    if (s[0] == '[') {
        const char *rb = strchr(s, ']');

        if (!rb || rb[1] != ':')
            return -1;
        hl = (size_t)(rb - s - 1);
        if (hl == 0 || hl >= hsize)
            return -1;
        memcpy(host, s + 1, hl);
        host[hl] = '\0';
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return -1;
        hl = (size_t)(colon - s);
        if (hl == 0 || hl >= hsize)
            return -1;
        memcpy(host, s, hl);
        host[hl] = '\0';
    }
    if (!colon[1] || strlen(colon + 1) >= psize ||
        strspn(colon + 1, "0123456789") != strlen(colon + 1))
        return -1;
    snprintf(port, psize, "%s", colon + 1);
    return 0;
}

/* gettext maps a catalog on its first use and keeps it: use the Japanese
 * one now, while its file is still readable (a build tree under /root is
 * not, for the user the server drops to). */
static void preload_catalogs(void)
{
    locale_t ja = newlocale(LC_ALL_MASK, "ja_JP.UTF-8", (locale_t)0);
    locale_t old;

    if (ja == (locale_t)0)
        return;
    old = uselocale(ja);
    (void)mamori_strerror(MAMORI_EAUTH);
    uselocale(old);
    freelocale(ja);
}

static int drop_to(const struct passwd *pw)
{
    if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 ||
        setuid(pw->pw_uid) != 0)
        return -1;
    /* No way back. */
    if (setuid(0) == 0 || geteuid() != pw->pw_uid)
        return -1;
    /* setuid resets the dumpable flag (to fs.suid_dumpable): set it again;
     * the process holds the master key. */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    struct srv_config cfg;
    struct addrinfo hints, *ai = NULL;
    struct passwd *pw = NULL;
    struct mamori_keysrc src;
    struct rlimit rl = {0, 0};
    struct mhd_opts mo;
    struct srv S;
    struct MHD_Daemon *d = NULL;
    mamori *m = NULL;
    char host[256], port[16], keypath[4096], bound[INET6_ADDRSTRLEN + 16];
    char *cert = NULL, *key = NULL, *pass = NULL;
    size_t pass_len = 0;
    const char *kf;
    sigset_t set;
    int fd = -1, rc, ret = 1, srv_ok = 0, one = 1, tls;

    memset(&src, 0, sizeof src);
    memset(&S, 0, sizeof S);
    rc = srv_config_load(&cfg, argc, argv);
    if (rc || cfg.help) {
        srv_config_release(&cfg);
        return rc;
    }
    if (cfg.routes) {
        srv_routes_print();
        srv_config_release(&cfg);
        return 0;
    }
    openlog("mamorid", LOG_PID, LOG_DAEMON);
    /* No core dumps: the process holds the master key and personal data. */
    if (setrlimit(RLIMIT_CORE, &rl) != 0 ||
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
        fprintf(stderr, "mamorid: cannot disable core dumps\n");
        goto out;
    }
    if (mamori_library_init() != 0) {
        fprintf(stderr, "mamorid: library initialisation failed\n");
        goto out;
    }
    ret = 2;
    if (!cfg.home || !cfg.listen) {
        fprintf(stderr, "mamorid: --home and --listen are required\n");
        goto out;
    }
    if (!cfg.tls_cert != !cfg.tls_key) {
        fprintf(stderr, "mamorid: --tls-cert and --tls-key go together\n");
        goto out;
    }
    tls = cfg.tls_cert != NULL;
    if (split_listen(cfg.listen, host, sizeof host, port, sizeof port)) {
        fprintf(stderr, "mamorid: --listen wants HOST:PORT or [V6]:PORT\n");
        goto out;
    }
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai) {
        fprintf(stderr, "mamorid: cannot resolve the listen address\n");
        goto out;
    }
    if (!tls && !is_loopback(ai->ai_addr)) {
        fprintf(stderr,
                "mamorid: refusing plain HTTP on %s, which is not a loopback "
                "address: give --tls-cert and --tls-key, or listen on "
                "127.0.0.1 or [::1]\n",
                host);
        goto out;
    }
    if (geteuid() == 0 && !cfg.user) {
        fprintf(stderr, "mamorid: refusing to run as root: give --user NAME "
                        "(privileges are dropped after start-up)\n");
        goto out;
    }
    if (cfg.user) {
        pw = getpwnam(cfg.user);
        if (!pw) {
            fprintf(stderr, "mamorid: no such user: %s\n", cfg.user);
            goto out;
        }
        if (pw->pw_uid == 0) {
            fprintf(stderr, "mamorid: --user must not be root\n");
            goto out;
        }
    }
    /* The key: flag or config, environment, systemd credential, passphrase
     * descriptor, else the key file the vault remembers. */
    kf = cfg.key_file;
    if (!kf && getenv("MAMORI_KEY_FILE") && *getenv("MAMORI_KEY_FILE"))
        kf = getenv("MAMORI_KEY_FILE");
    if (!kf && getenv("CREDENTIALS_DIRECTORY")) {
        struct stat st;

        snprintf(keypath, sizeof keypath, "%s/mamori.key",
                 getenv("CREDENTIALS_DIRECTORY"));
        if (stat(keypath, &st) == 0)
            kf = keypath;
    }
    if (!kf && !getenv("MAMORI_PASSPHRASE_FD") && cfg.passphrase_fd < 0) {
        char kind[16];

        /* The key file the vault remembers, as the CLI uses it. */
        if (mamori_key_source(cfg.home, kind, sizeof kind, keypath,
                              sizeof keypath) == 0 &&
            strcmp(kind, "keyfile") == 0 && keypath[0])
            kf = keypath;
    }
    if (kf) {
        src.key_file = kf;
    } else {
        rc = read_passphrase(cfg.passphrase_fd, &pass, &pass_len);
        if (rc) {
            fprintf(stderr, rc > 0 ? "mamorid: no key: give --key-file, "
                                     "MAMORI_KEY_FILE, a systemd credential "
                                     "mamori.key, --passphrase-fd or a "
                                     "terminal to ask on\n"
                                   : "mamorid: cannot read the passphrase\n");
            goto out;
        }
        src.passphrase = pass;
        src.passphrase_len = pass_len;
    }
    if (tls && (read_file(cfg.tls_cert, PEM_MAX, &cert) != 0 ||
                read_file(cfg.tls_key, PEM_MAX, &key) != 0)) {
        fprintf(stderr, "mamorid: cannot read the TLS certificate or key\n");
        goto out;
    }
    ret = 1;
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
    if (fd < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 128) != 0) {
        fprintf(stderr, "mamorid: cannot listen on %s: %s\n", cfg.listen,
                strerror(errno));
        goto out;
    }
    bound_address(fd, cfg.listen, bound, sizeof bound);
    rc = mamori_open(cfg.home, &src, &m);
    if (pass) {
        sodium_free(pass);
        pass = NULL;
    }
    if (rc) {
        fprintf(stderr, "mamorid: cannot open the vault: %s\n",
                mamori_strerror(rc));
        m = NULL;
        goto out;
    }
    preload_catalogs();
    if (pw && drop_to(pw) != 0) {
        fprintf(stderr, "mamorid: cannot drop privileges to %s\n", cfg.user);
        goto out;
    }
    /* Signals go to the main thread's sigwait only: block them before the
     * daemon's threads start (they inherit the mask). */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
        goto out;
    signal(SIGPIPE, SIG_IGN);
    if (srv_init(&S, m, tls, cfg.login_per_ip, cfg.login_per_user) != 0) {
        fprintf(stderr, "mamorid: server initialisation failed\n");
        goto out;
    }
    srv_ok = 1;
    S.upload_max = cfg.upload_max;
    S.access_log = cfg.access_log;
    S.metrics_token_always = cfg.metrics_token_always;
    S.openapi = (const char *)mamorid_openapi_yaml;
    S.openapi_len = mamorid_openapi_yaml_len;
    S.home = cfg.home;
    memset(&mo, 0, sizeof mo);
    mo.listen_fd = fd;
    mo.threads = cfg.threads;
    mo.cert_pem = cert;
    mo.key_pem = key;
    d = mhd_start(&S, &mo);
    if (!d) {
        fprintf(stderr, "mamorid: the HTTP daemon did not start (TLS "
                        "certificate and key?)\n");
        goto out;
    }
    fd = -1; /* the daemon owns it */
    fprintf(stderr, "mamorid: listening on %s://%s\n", tls ? "https" : "http",
            bound);
    (void)sd_notify(0, "READY=1");
    syslog(LOG_INFO, "listening on %s (%s)", bound, tls ? "TLS" : "HTTP");
    for (;;) {
        int sig = 0;

        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGUSR1 || sig == SIGUSR2) {
            /* Test hook: make audit writes fail (USR1) or work (USR2);
             * the library honours it only with MAMORI_TEST_HOOKS=1. */
            if (S.test_hooks)
                mamori_test_fail_audit(m, sig == SIGUSR1);
            continue;
        }
        break;
    }
    (void)sd_notify(0, "STOPPING=1");
    syslog(LOG_INFO, "stopping: draining requests");
    mhd_drain_stop(d, 30);
    d = NULL;
    ret = 0;
out:
    if (d)
        mhd_drain_stop(d, 0);
    if (fd >= 0)
        close(fd);
    if (m)
        mamori_close(m);
    if (srv_ok)
        srv_release(&S);
    if (ai)
        freeaddrinfo(ai);
    if (cert)
        sodium_free(cert);
    if (key)
        sodium_free(key);
    if (pass)
        sodium_free(pass);
    srv_config_release(&cfg);
    closelog();
    return ret;
}
