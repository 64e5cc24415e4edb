/*
 * store_pg.h — the PostgreSQL backend of store.h (store_pg.c) and the pieces
 * `openfota db copy` (db_copy.c) shares with it.
 */
#ifndef OPENFOTA_SERVER_STORE_PG_H
#define OPENFOTA_SERVER_STORE_PG_H

#include "store.h"

#include <libpq-fe.h>

#define STORE_PG_POOL_DEFAULT 4
#define STORE_PG_POOL_MAX 64

/* Connect to uri (a postgresql:// URI), create the schema and apply every
 * schema step under an advisory lock. pool: connections at most (0 =
 * STORE_PG_POOL_DEFAULT). The store copies uri. NULL with err on failure. */
store *store_pg_open(const char *uri, unsigned pool, char *err, size_t errlen);

/* 1 when uri starts with postgresql:// or postgres://. */
int store_pg_uri_ok(const char *uri);

/* The schema version the PostgreSQL steps lead to (must equal
 * store_sqlite_schema_version()). */
int store_pg_schema_version(void);

/* One plain connection (the caller PQfinish'es it); NULL with err. */
PGconn *store_pg_connect(const char *uri, char *err, size_t errlen);
/* Create / migrate the schema on c inside its own transaction holding the
 * schema advisory lock. 0 ok, -1 with err. */
int store_pg_migrate(PGconn *c, char *err, size_t errlen);

#endif
