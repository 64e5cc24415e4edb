/*
 * session.h — console login sessions behind a small interface, so that a
 * multi-node setup can keep them in its database instead of in memory.
 *
 * A session is a random id (the cookie value; never the admin token) with a
 * random anti-forgery token (CSRF) of its own, a creation time, and the time
 * it was last used. It ends when idle for idle_s, absolute_s after creation,
 * or at logout. Ids and CSRF tokens are 64 lower-case hex characters (32
 * random bytes each, from getrandom).
 *
 * Every operation is thread-safe (the console runs on the HTTP workers, the
 * admin API on the admin worker). The store owns its sessions; callers get
 * copies (session_info) and never pointers into it.
 */
#ifndef OPENFOTA_SERVER_SESSION_H
#define OPENFOTA_SERVER_SESSION_H

#include <stddef.h>
#include <stdint.h>

#define SESSION_HEX 64 /* length of a session id and of a CSRF token */

typedef struct session_info {
    char id[SESSION_HEX + 1];
    char csrf[SESSION_HEX + 1];
    int64_t created;   /* Unix seconds */
    int64_t last_used; /* Unix seconds, updated by lookup */
    int64_t expires;   /* the earlier of last_used + idle_s and created + absolute_s */
    char who[65];      /* set by the caller of create: the admin token's name that logged in */
    int role;          /* and its role (auth.h auth_role); kept as given, never interpreted here */
} session_info;

typedef struct session_store session_store;

typedef struct session_ops {
    /* Create a session at time now for out->who / out->role (set by the
     * caller); fills the rest of *out (id and CSRF are fresh random values).
     * When the store is full the least recently used session is ended to
     * make room. 0 ok, -1 no randomness or storage error. */
    int (*create)(session_store *st, int64_t now, session_info *out);
    /* Find a live session by id (any string; compared in constant time),
     * mark it used at now and copy it to *out. An expired session is
     * removed. 0 found, -1 absent or expired. */
    int (*lookup)(session_store *st, const char *id, int64_t now, session_info *out);
    /* End a session. 0 ended, -1 absent. */
    int (*destroy)(session_store *st, const char *id);
    /* Live sessions at now. */
    size_t (*count)(session_store *st, int64_t now);
    /* Free the store and every session in it. */
    void (*close)(session_store *st);
} session_ops;

struct session_store {
    const session_ops *ops;
};

/* In-memory store of at most max sessions (max >= 1). NULL on OOM. */
session_store *session_mem_new(size_t max, int64_t idle_s, int64_t absolute_s);

#endif
