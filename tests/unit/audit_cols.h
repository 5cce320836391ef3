/*
 * audit_cols.h - docs/audit-cols.sql for the unit tests: a view that
 * splits each audit entry into its former columns, so that a test can read
 * or edit them with SQL. The tests run from the source tree's top.
 */
#ifndef MAMORI_TEST_AUDIT_COLS_H
#define MAMORI_TEST_AUDIT_COLS_H

#include <stdio.h>
#include <stdlib.h>

/* The file's SQL, read once (NUL-terminated; never freed). */
static const char *audit_cols_sql(void)
{
    static char *sql;
    FILE *f;
    long n;

    if (sql != NULL)
        return sql;
    f = fopen("docs/audit-cols.sql", "r");
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) <= 0 ||
        fseek(f, 0, SEEK_SET) != 0 || (sql = malloc((size_t)n + 1)) == NULL ||
        fread(sql, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "docs/audit-cols.sql: cannot read it (run the "
                        "tests from the source tree's top)\n");
        abort();
    }
    sql[n] = '\0';
    fclose(f);
    return sql;
}

#endif
