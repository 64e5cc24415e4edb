/*
 * db_copy.c — `openfota db copy --from sqlite:DIR --to postgresql://...`:
 * moves an installation's database from SQLite to PostgreSQL without loss.
 *
 * Both sides are first brought to this binary's schema version (the source
 * through the SQLite backend's own open, the destination through
 * store_pg_migrate), so their tables and columns are the same. Then, in one
 * PostgreSQL transaction: the destination must be empty; every table of the
 * source is streamed with COPY (ids kept as they are); each id sequence is
 * set past the largest copied id (and past meta.last_id.<table>); the row counts of both sides are compared;
 * only then is it committed. Tables are found in the source's catalogue, so
 * a table a later schema step adds is copied without a change here.
 * Blobs (packages, files, deltas) stay in the data folder: run the server
 * with the same --data and the new --db.
 */
#include "db_copy.h"

#include "store.h"
#include "store_pg.h"

#include <errno.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#define LINE_INIT 4096

static void usage(FILE *out)
{
    fprintf(out, "usage: openfota db copy --from sqlite:DIR --to postgresql://USER@HOST:PORT/DB\n"
                 "\n"
                 "Copy the database of the data folder DIR (DIR/openfota.db) into an empty\n"
                 "PostgreSQL database: projects, firmware, packages, signed facts, deltas,\n"
                 "files, listed devices, devices, history and settings, ids kept. Stop the\n"
                 "server first. Package and file contents stay in DIR: start the server again\n"
                 "with --data DIR --db postgresql://... .\n");
}

/* A growable line buffer for one COPY row. */
typedef struct line {
    char *p;
    size_t n, cap;
} line;

static int line_put(line *l, const char *s, size_t n)
{
    if (l->n + n + 1 > l->cap) {
        size_t nc = l->cap ? l->cap : LINE_INIT;
        while (nc < l->n + n + 1)
            nc *= 2;
        char *np = realloc(l->p, nc);
        if (np == NULL)
            return -1;
        l->p = np;
        l->cap = nc;
    }
    memcpy(l->p + l->n, s, n);
    l->n += n;
    return 0;
}

/* COPY text format: backslash, tab, newline and carriage return escaped. */
static int line_field(line *l, const unsigned char *v, int len)
{
    if (v == NULL)
        return line_put(l, "\\N", 2);
    for (int i = 0; i < len; i++) {
        const char *esc = NULL;
        switch (v[i]) {
        case '\\': esc = "\\\\"; break;
        case '\t': esc = "\\t"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        }
        if (esc ? line_put(l, esc, 2) : line_put(l, (const char *)&v[i], 1))
            return -1;
    }
    return 0;
}

static long long pg_count(PGconn *c, const char *qtable, char *err, size_t errlen)
{
    char sql[300];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM %s", qtable);
    PGresult *r = PQexec(c, sql);
    long long n = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK)
        n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    else
        snprintf(err, errlen, "%s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
    return n;
}

static int pg_ok(PGconn *c, const char *sql, char *err, size_t errlen)
{
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok)
        snprintf(err, errlen, "%.120s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
    return ok ? 0 : -1;
}

/* Copies one table; *rows gets the number of source rows. */
static int copy_table(sqlite3 *src, PGconn *dst, const char *table, long long *rows, char *err, size_t errlen)
{
    int rc = -1;
    char *qt = PQescapeIdentifier(dst, table, strlen(table));
    char *sel = sqlite3_mprintf("SELECT * FROM \"%w\"", table);
    sqlite3_stmt *st = NULL;
    line l = {0};
    char *copy = NULL;
    *rows = 0;
    if (qt == NULL || sel == NULL || sqlite3_prepare_v2(src, sel, -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot read table %s: %s", table, sqlite3_errmsg(src));
        goto out;
    }
    int ncol = sqlite3_column_count(st);
    int is_meta = !strcmp(table, "meta");
    /* COPY qt (c1, c2, ...) FROM STDIN */
    line head = {0};
    int bad = line_put(&head, "COPY ", 5) || line_put(&head, qt, strlen(qt)) || line_put(&head, " (", 2);
    for (int i = 0; i < ncol && !bad; i++) {
        const char *cn = sqlite3_column_name(st, i);
        char *qc = PQescapeIdentifier(dst, cn, strlen(cn));
        bad = qc == NULL || (i && line_put(&head, ", ", 2)) || line_put(&head, qc, strlen(qc));
        PQfreemem(qc);
    }
    bad = bad || line_put(&head, ") FROM STDIN", 13); /* with the NUL */
    copy = head.p;
    if (bad) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (is_meta) {
        /* the destination already holds its own schema_version (equal to the
         * source's after both were migrated): copy every other setting */
        if (pg_ok(dst, "DELETE FROM meta WHERE key <> 'schema_version'", err, errlen) < 0)
            goto out;
    }
    PGresult *r = PQexec(dst, copy);
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        snprintf(err, errlen, "cannot copy into %s: %s", table, PQresultErrorMessage(r));
        PQclear(r);
        goto out;
    }
    PQclear(r);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (is_meta && sqlite3_column_text(st, 0) &&
            !strcmp((const char *)sqlite3_column_text(st, 0), "schema_version"))
            continue;
        l.n = 0;
        for (int i = 0; i < ncol && !bad; i++) {
            const unsigned char *v = sqlite3_column_text(st, i);
            int len = sqlite3_column_bytes(st, i);
            if (v == NULL && sqlite3_column_type(st, i) != SQLITE_NULL) {
                bad = 1;
                break;
            }
            bad = (i && line_put(&l, "\t", 1)) || line_field(&l, sqlite3_column_type(st, i) == SQLITE_NULL ? NULL : v,
                                                             len);
        }
        bad = bad || line_put(&l, "\n", 1);
        if (bad || PQputCopyData(dst, l.p, (int)l.n) != 1) {
            PQputCopyEnd(dst, "openfota: read error");
            PQclear(PQgetResult(dst));
            snprintf(err, errlen, "copying %s failed: %s", table, bad ? "out of memory" : PQerrorMessage(dst));
            goto out;
        }
        (*rows)++;
    }
    if (step != SQLITE_DONE) {
        PQputCopyEnd(dst, "openfota: read error");
        PQclear(PQgetResult(dst));
        snprintf(err, errlen, "reading %s failed: %s", table, sqlite3_errmsg(src));
        goto out;
    }
    if (PQputCopyEnd(dst, NULL) != 1) {
        snprintf(err, errlen, "copying %s failed: %s", table, PQerrorMessage(dst));
        goto out;
    }
    r = PQgetResult(dst);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        snprintf(err, errlen, "copying %s failed: %s", table, PQresultErrorMessage(r));
        PQclear(r);
        while ((r = PQgetResult(dst)) != NULL)
            PQclear(r);
        goto out;
    }
    PQclear(r);
    while ((r = PQgetResult(dst)) != NULL)
        PQclear(r);
    if (is_meta)
        (*rows)++; /* schema_version: present on both sides */
    rc = 0;
out:
    free(copy);
    free(l.p);
    sqlite3_finalize(st);
    sqlite3_free(sel);
    PQfreemem(qt);
    return rc;
}

/* Every serial id column: its sequence continues after the largest id. */
static int advance_sequences(PGconn *c, char *err, size_t errlen)
{
    PGresult *r = PQexec(c, "SELECT table_name, column_name FROM information_schema.columns"
                            " WHERE table_schema = current_schema() AND column_default LIKE 'nextval(%'");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "cannot list the id sequences: %s", PQresultErrorMessage(r));
        PQclear(r);
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
        const char *t = PQgetvalue(r, i, 0), *col = PQgetvalue(r, i, 1);
        char *qt = PQescapeIdentifier(c, t, strlen(t));
        char *qc = PQescapeIdentifier(c, col, strlen(col));
        char *lt = PQescapeLiteral(c, t, strlen(t));
        char *lc = PQescapeLiteral(c, col, strlen(col));
        char sql[1024];
        if (qt && qc && lt && lc) {
            /* past the largest id and past meta.last_id.<table> (SQLite's
             * record of the highest id ever given: a removed newest row's id
             * is not handed out again) */
            snprintf(sql, sizeof sql,
                     "SELECT setval(pg_get_serial_sequence(%s, %s), GREATEST(m, 1), m > 0) FROM (SELECT"
                     " GREATEST(COALESCE(MAX(%s), 0), COALESCE((SELECT MAX(value::bigint) FROM meta WHERE key ="
                     " 'last_id.' || %s AND value ~ '^[0-9]+$'), 0)) AS m FROM %s) AS t",
                     lt, lc, qc, lt, qt);
            rc = pg_ok(c, sql, err, errlen);
        } else {
            snprintf(err, errlen, "out of memory");
            rc = -1;
        }
        PQfreemem(qt);
        PQfreemem(qc);
        PQfreemem(lt);
        PQfreemem(lc);
    }
    PQclear(r);
    return rc;
}

/* 1 when DIR/serve.json names a live process (a server runs on DIR). */
static int server_running(const char *dir)
{
    char path[4200], buf[2048];
    snprintf(path, sizeof path, "%s/serve.json", dir);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strstr(buf, "\"pid\":");
    if (p == NULL)
        return 0;
    long pid = strtol(p + 6, NULL, 10);
    return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

int db_copy(const char *dir, const char *uri, FILE *out, char *err, size_t errlen)
{
    char path[4200];
    struct stat sb;
    snprintf(path, sizeof path, "%s/openfota.db", dir);
    if (stat(path, &sb) != 0) {
        snprintf(err, errlen, "no database at %s (is DIR the server's --data folder?)", path);
        return -1;
    }
    if (server_running(dir)) {
        snprintf(err, errlen, "a server is running on %s: stop it first (what it writes meanwhile would be missed)",
                 dir);
        return -1;
    }
    /* bring the source to this binary's schema (what the server would do) */
    store *s = store_sqlite_open(dir, err, errlen);
    if (s == NULL)
        return -1;
    s->ops->close(s);
    sqlite3 *src = NULL;
    if (sqlite3_open_v2(path, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s: %s", path, src ? sqlite3_errmsg(src) : "out of memory");
        sqlite3_close(src);
        return -1;
    }
    PGconn *dst = store_pg_connect(uri, err, errlen);
    if (dst == NULL) {
        sqlite3_close(src);
        return -1;
    }
    int rc = -1;
    sqlite3_stmt *tl = NULL;
    char **names = NULL;
    long long *counts = NULL;
    size_t nt = 0;
    if (store_pg_migrate(dst, err, errlen) < 0)
        goto out;
    if (sqlite3_exec(src, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(src,
                           "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE "
                           "'\\' ORDER BY name",
                           -1, &tl, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot list the tables of %s: %s", path, sqlite3_errmsg(src));
        goto out;
    }
    while (sqlite3_step(tl) == SQLITE_ROW) {
        char **nn = realloc(names, (nt + 1) * sizeof *names);
        long long *nc = realloc(counts, (nt + 1) * sizeof *counts);
        if (nn)
            names = nn;
        if (nc)
            counts = nc;
        if (nn == NULL || nc == NULL || (names[nt] = strdup((const char *)sqlite3_column_text(tl, 0))) == NULL) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        nt++;
    }
    if (pg_ok(dst, "BEGIN", err, errlen) < 0)
        goto out;
    /* the destination must hold nothing yet (a half-done copy rolled back
     * leaves nothing, so running again is safe) */
    for (size_t i = 0; i < nt; i++) {
        if (!strcmp(names[i], "meta"))
            continue;
        char *qt = PQescapeIdentifier(dst, names[i], strlen(names[i]));
        long long n = qt ? pg_count(dst, qt, err, errlen) : -1;
        PQfreemem(qt);
        if (n < 0) {
            if (qt)
                snprintf(err + strlen(err), errlen - strlen(err),
                         " (the destination lacks table %s: is it made by a different openfota version?)", names[i]);
            goto rollback;
        }
        if (n > 0) {
            snprintf(err, errlen,
                     "the destination already holds data (%lld rows in %s): copy into an empty database "
                     "(createdb a new one, or drop this one's tables)",
                     n, names[i]);
            goto rollback;
        }
    }
    for (size_t i = 0; i < nt; i++) {
        if (copy_table(src, dst, names[i], &counts[i], err, errlen) < 0)
            goto rollback;
    }
    if (advance_sequences(dst, err, errlen) < 0)
        goto rollback;
    for (size_t i = 0; i < nt; i++) {
        char *qt = PQescapeIdentifier(dst, names[i], strlen(names[i]));
        long long n = qt ? pg_count(dst, qt, err, errlen) : -1;
        PQfreemem(qt);
        if (n != counts[i]) {
            if (n >= 0)
                snprintf(err, errlen, "table %s: %lld rows read, %lld rows in the destination; nothing was kept",
                         names[i], counts[i], n);
            goto rollback;
        }
    }
    if (pg_ok(dst, "COMMIT", err, errlen) < 0)
        goto out;
    for (size_t i = 0; i < nt; i++)
        fprintf(out, "%-16s %lld rows\n", names[i], counts[i]);
    fprintf(out, "copied %s into PostgreSQL; start the server with --data %s --db <the URI>\n", path, dir);
    rc = 0;
    goto out;
rollback:
    PQclear(PQexec(dst, "ROLLBACK"));
out:
    for (size_t i = 0; i < nt; i++)
        free(names[i]);
    free(names);
    free(counts);
    sqlite3_finalize(tl);
    sqlite3_exec(src, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(src);
    PQfinish(dst);
    return rc;
}

int db_cli_main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "copy") != 0) {
        fprintf(stderr, "openfota db: unknown command '%s' (the one command is: copy)\n", argv[1]);
        return 2;
    }
    const char *from = NULL, *to = NULL;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
        if (i + 1 < argc && !strcmp(argv[i], "--from"))
            from = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--to"))
            to = argv[++i];
        else {
            fprintf(stderr, "openfota db copy: unexpected '%s' (see openfota db copy --help)\n", argv[i]);
            return 2;
        }
    }
    if (from == NULL || to == NULL) {
        fprintf(stderr, "openfota db copy: both --from sqlite:DIR and --to postgresql://... are needed\n");
        return 2;
    }
    if (strncmp(from, "sqlite:", 7) != 0 || from[7] == 0) {
        fprintf(stderr, "openfota db copy: --from must be sqlite:DIR (the server's data folder), not '%s'\n", from);
        return 2;
    }
    if (!store_pg_uri_ok(to)) {
        fprintf(stderr, "openfota db copy: --to must be a postgresql:// URI, not '%s'\n", to);
        return 2;
    }
    char err[1024];
    if (db_copy(from + 7, to, stdout, err, sizeof err) < 0) {
        fprintf(stderr, "openfota db copy: %s\n", err);
        return 1;
    }
    return 0;
}
