/*
 * metrics.h - /metrics: request counters and latency histograms kept with
 * atomics (no lock on the request path), in the Prometheus text format
 * 0.0.4. Internal to the server.
 */
#ifndef MAMORID_METRICS_H
#define MAMORID_METRICS_H

#include <stddef.h>

#include "mamorid.h"

/* Routes the counters have room for; srv_routes beyond it count as
 * "no route". */
#define METRICS_ROUTES_MAX 128

/* Counts one handled request: route is its index in srv_routes
 * (srv_nroutes or more when none matched), status the HTTP status,
 * seconds the time srv_handle took, audit_failed whether an audit write
 * failed (the request was refused, 503). */
void metrics_observe(size_t route, int status, double seconds,
                     int audit_failed);

/* 1 if the text address is a loopback one (127.0.0.0/8, ::1, or
 * ::ffff:127.x). */
int metrics_loopback(const char *address);

/* GET /metrics: from a loopback address, or with the bearer token of an
 * admin's or auditor's session. */
void h_metrics(struct ctx *c);

#endif
