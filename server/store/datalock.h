/*
 * datalock.h — one server per data folder.
 *
 * `openfota serve` takes an exclusive flock(2) on <data>/serve.lock right
 * after creating the folder and holds it (the descriptor stays open) for the
 * life of the process; the kernel drops it when the process ends, even after
 * kill -9. A second server on the same folder does not start: it is told
 * which one is running (pid, and URL from that server's serve.json).
 */
#ifndef OPENFOTA_SERVER_DATALOCK_H
#define OPENFOTA_SERVER_DATALOCK_H

#include <stddef.h>

/* Takes the lock of data folder dir. Returns the lock's descriptor (keep it
 * open; close it only at exit), or -1 with err set: another server holds
 * the folder (the message names its pid and URL) or the file cannot be
 * opened. */
int datalock_acquire(const char *dir, char *err, size_t errlen);

#endif
