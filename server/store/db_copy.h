/*
 * db_copy.h — `openfota db copy`: an installation's SQLite database into an
 * empty PostgreSQL database, ids kept (db_copy.c).
 */
#ifndef OPENFOTA_SERVER_DB_COPY_H
#define OPENFOTA_SERVER_DB_COPY_H

#include <stdio.h>

/* Copy dir/openfota.db into the database at uri in one transaction; prints
 * the rows per table to out. 0 ok, -1 with err (nothing kept). */
int db_copy(const char *dir, const char *uri, FILE *out, char *err, size_t errlen);

/* `openfota db copy --from sqlite:DIR --to URI`; argv[0] is "db". */
int db_cli_main(int argc, char **argv);

#endif
