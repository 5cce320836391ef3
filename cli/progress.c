/*
 * progress.c - a one-line progress display on stderr for long commands
 * (import): rows, rows/s, percent and ETA from bytes read against the file
 * size. Only on a terminal; scripts and logs see nothing.
 */
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "i18n.h"
#include "banned.h"

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cli_progress_start(struct cli_progress *p, const char *label,
                        uint64_t total_bytes)
{
    p->on = isatty(STDERR_FILENO) == 1;
    p->label = label;
    p->total = total_bytes;
    p->start_ms = now_ms();
    p->last_ms = 0;
    p->drawn = 0;
}

void cli_progress_update(struct cli_progress *p, uint64_t bytes, uint64_t rows)
{
    int64_t t, el;
    double rate;
    char eta[64] = "";

    if (!p->on)
        return;
    t = now_ms();
    if (p->drawn && t - p->last_ms < 100)
        return;
    p->last_ms = t;
    el = t - p->start_ms;
    rate = el > 0 ? (double)rows * 1000.0 / (double)el : 0.0;
    if (p->total && bytes && bytes <= p->total && el > 0) {
        double left =
            (double)el / 1000.0 * ((double)(p->total - bytes) / (double)bytes);
        long s = (long)(left + 0.5);
        snprintf(eta, sizeof eta, "  %3u%%  ETA %ld:%02ld",
                 (unsigned)(bytes * 100 / p->total), s / 60, s % 60);
    }
    fprintf(stderr, "\r\033[K%s: %llu %s  %.0f %s%s", p->label,
            (unsigned long long)rows, _("rows"), rate, _("rows/s"), eta);
    fflush(stderr);
    p->drawn = 1;
}

void cli_progress_end(struct cli_progress *p)
{
    if (p->on && p->drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    p->drawn = 0;
}
