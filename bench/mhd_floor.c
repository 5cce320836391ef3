/*
 * mhd_floor.c - the floor under mamorid's record GET in `make bench`
 * (bench/bench_api.sh): libmicrohttpd as mamorid runs it (epoll, one
 * thread per CPU, suspend and resume), answering every GET with the bytes
 * of FILE and mamorid's headers, and doing nothing else. Each answer is
 * parked as mamorid parks a read's answer until its audit entry is
 * committed: the connection is suspended, and a second thread (standing
 * in for the committer) resumes everything parked so far in one sweep,
 * after the least a durable group commit does: one 4 KiB page written
 * into LOG (over an earlier one, as a reset WAL is written) and
 * fdatasync. Batches are gathered as the committer gathers them
 * (lib/guard_commit.c, gather: after a batch of GATHER_MIN or more, wait
 * up to GATHER_NS for as many again). No session, no SQLite, no
 * decryption, no audit entry.
 *
 * What it serves per second, against nginx in the same run, is the most
 * mamorid's answer could reach on this machine; the gap down to mamorid
 * is the cost of the work every record GET must do.
 *
 * usage: mhd-floor PORT FILE LOG   (runs until killed; LOG is made, 4 MiB)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "banned.h"

#define CONNS_MAX 1024
/* lib/guard_commit.c's */
#define GATHER_MIN 8
#define GATHER_NS 300000L
#define PAGE 4096
#define LOG_PAGES 1024
#define BODY_MAX 65536

static char body[BODY_MAX];
static size_t body_len;
static int log_fd = -1;

/* Parked connections, resumed in sweeps by sweeper(). */
static struct MHD_Connection *parked[CONNS_MAX];
static size_t n_parked;
static size_t gathering; /* the sweeper waits for this many (0: not) */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv; /* on CLOCK_MONOTONIC */

/* As the committer's gather(), under mu. */
static void gather(size_t last)
{
    struct timespec until;

    if (last < GATHER_MIN || n_parked >= last)
        return;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += GATHER_NS;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    gathering = last;
    while (n_parked < last && pthread_cond_timedwait(&cv, &mu, &until) == 0)
        ;
    gathering = 0;
}

/* The batch's page, on disk. */
static void commit(uint64_t i)
{
    static char page[PAGE];

    memset(page, (int)(i & 0xff), sizeof page);
    if (pwrite(log_fd, page, sizeof page, (off_t)(i % LOG_PAGES) * PAGE) !=
            (ssize_t)sizeof page ||
        fdatasync(log_fd) != 0) {
        perror("mhd-floor: log");
        exit(1);
    }
}

static void *sweeper(void *arg)
{
    static struct MHD_Connection *batch[CONNS_MAX];
    size_t last = 0;
    uint64_t commits = 0;

    (void)arg;
    for (;;) {
        size_t n;

        pthread_mutex_lock(&mu);
        while (n_parked == 0)
            pthread_cond_wait(&cv, &mu);
        gather(last);
        last = n = n_parked;
        memcpy(batch, parked, n * sizeof *batch);
        n_parked = 0;
        pthread_mutex_unlock(&mu);
        commit(commits++);
        for (size_t i = 0; i < n; i++)
            MHD_resume_connection(batch[i]);
    }
    return NULL;
}

static int hdr(struct MHD_Response *r, const char *k, const char *v)
{
    return MHD_add_response_header(r, k, v) == MHD_YES;
}

/* mamorid's answer: the body and the headers server/mhd.c queue() sends
 * with a record (a request id of the same length). */
static enum MHD_Result answer(struct MHD_Connection *con)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(body_len, body, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret;

    if (!r)
        return MHD_NO;
    if (!hdr(r, "Content-Type", "application/json") ||
        !hdr(r, "Cache-Control", "no-store") ||
        !hdr(r, "X-Content-Type-Options", "nosniff") ||
        !hdr(r, "Referrer-Policy", "no-referrer") ||
        !hdr(r, "Content-Security-Policy",
             "default-src 'none'; script-src 'self'; style-src 'self'; "
             "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
             "frame-ancestors 'none'; base-uri 'none'") ||
        !hdr(r, "X-Frame-Options", "DENY") ||
        !hdr(r, "X-Request-Id", "00112233445566778899aabbccddeeff")) {
        MHD_destroy_response(r);
        return MHD_NO;
    }
    ret = MHD_queue_response(con, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/* Request states in *state: NULL (headers in), HEADERS (called again with
 * the request whole: park it, as mamorid's handler does), PARKED (resumed:
 * answer). Parking on the first call instead, before libmicrohttpd has
 * seen that the request has no body, costs it two thirds of its speed. */
static char state_headers, state_parked;
#define HEADERS (&state_headers)
#define PARKED (&state_parked)

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *con,
                                 const char *url, const char *method,
                                 const char *version, const char *upload,
                                 size_t *upload_size, void **state)
{
    (void)cls;
    (void)url;
    (void)version;
    (void)upload;
    if (strcmp(method, "GET") != 0 || *upload_size != 0)
        return MHD_NO;
    if (!*state) {
        *state = HEADERS;
        return MHD_YES;
    }
    if (*state == PARKED)
        return answer(con);
    *state = PARKED;
    pthread_mutex_lock(&mu);
    if (n_parked == CONNS_MAX) { /* (the connection limit is CONNS_MAX) */
        pthread_mutex_unlock(&mu);
        return answer(con);
    }
    /* Suspended before the sweeper can resume it. */
    MHD_suspend_connection(con);
    parked[n_parked++] = con;
    if (n_parked == 1 || n_parked >= gathering)
        pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    return MHD_YES;
}

static int read_body(const char *path)
{
    FILE *f = fopen(path, "rb");

    if (!f)
        return -1;
    body_len = fread(body, 1, sizeof body, f);
    if (ferror(f) || !feof(f) || body_len == 0) {
        fclose(f);
        return -1;
    }
    return fclose(f);
}

int main(int argc, char **argv)
{
    struct sockaddr_in sa;
    struct MHD_Daemon *d;
    pthread_t t;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    char *end;
    unsigned long port;

    if (argc != 4) {
        fprintf(stderr, "usage: mhd-floor PORT FILE LOG\n");
        return 2;
    }
    errno = 0;
    port = strtoul(argv[1], &end, 10);
    if (errno || *end || port == 0 || port > 65535) {
        fprintf(stderr, "mhd-floor: bad port\n");
        return 2;
    }
    if (read_body(argv[2]) != 0) {
        fprintf(stderr, "mhd-floor: %s: cannot read it (1 to %d bytes)\n",
                argv[2], BODY_MAX - 1);
        return 1;
    }
    log_fd = open(argv[3], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (log_fd < 0 || ftruncate(log_fd, (off_t)LOG_PAGES * PAGE) != 0 ||
        fsync(log_fd) != 0) {
        perror("mhd-floor: log");
        return 1;
    }
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0 ||
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
        pthread_cond_init(&cv, &ca) != 0 ||
        pthread_create(&t, NULL, sweeper, NULL) != 0)
        return 1;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* mamorid's flags and limits (server/mhd.c, mhd_start), on loopback. */
    d = MHD_start_daemon(
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME,
        (uint16_t)port, NULL, NULL, access_cb, NULL, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)(cpus > 0 ? cpus : 1), MHD_OPTION_CONNECTION_TIMEOUT, 30u,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNS_MAX,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16 * 1024, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "mhd-floor: cannot listen on port %lu\n", port);
        return 1;
    }
    printf("listening on http://127.0.0.1:%lu\n", port);
    fflush(stdout);
    for (;;)
        pause();
}
