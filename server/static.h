/*
 * static.h - the web UI's files, embedded in mamorid at build time
 * (tools/webembed.sh writes the table from web/), and their serving.
 */
#ifndef MAMORID_STATIC_H
#define MAMORID_STATIC_H

#include <stddef.h>

struct web_file {
    const char *path; /* "/web/app.js" */
    const char *type; /* Content-Type */
    const unsigned char *data;
    size_t len;
};

extern const struct web_file web_files[];
extern const size_t web_nfiles;

struct ctx;
/* GET or HEAD of "/" (index.html) or "/web/FILE": fills c->rs and returns
 * 1; 0 for any other request (left to the API routes). */
int srv_static(struct ctx *c, const char *method, const char *path);

#endif
