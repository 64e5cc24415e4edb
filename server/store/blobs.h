/*
 * blobs.h — content-addressed file storage under <data>/blobs/sha256/ab/abcd…
 *
 * An upload streams into a temp file in <data>/tmp while MD5 and SHA-256 are
 * computed; blob_commit fsyncs it, renames it to its hash path (an identical
 * blob already there is kept) and fsyncs the folder, so a blob referenced by
 * a committed database row is always complete on disk.
 * Every path below <data> is opened one folder at a time with O_NOFOLLOW:
 * a symbolic link inside blobs/ is refused, never followed.
 * Removal: blob_remove unlinks the path; a download that already opened the
 * file keeps reading it (POSIX keeps an unlinked open file alive), so a
 * package removed during a download is never cut off.
 */
#ifndef OPENFOTA_SERVER_BLOBS_H
#define OPENFOTA_SERVER_BLOBS_H

#include <stddef.h>
#include <stdint.h>

typedef struct blob_upload blob_upload;

/* Create <data>/blobs/sha256 and <data>/tmp, and empty the tmp folder. */
int blobs_init(const char *data_dir, char *err, size_t errlen);

/* Start an upload capped at max bytes. NULL on failure (logged). */
blob_upload *blob_begin(const char *data_dir, uint64_t max);
/* Append; returns 0, 1 when the cap was crossed (nothing more is written),
 * -1 on an I/O error (disk full ...). */
int blob_write(blob_upload *u, const void *data, size_t len);
uint64_t blob_size(const blob_upload *u);
/* errno of the write that failed (ENOSPC: disk full), 0 when none did. A
 * failed write is logged once; later blob_write calls return -1 silently. */
int blob_error(const blob_upload *u);
/* fd of the temp file (for validation before commit); still owned by u. */
int blob_fd(blob_upload *u);
/* Finish hashing; fills md5[33] and sha256[65] (hex). 0 ok. */
int blob_finish(blob_upload *u, char md5[33], char sha256[65]);
/* Move to the hash path (durably). 0 ok, -1 error (logged; errno tells
 * why, ENOSPC when the disk is full). Frees u. */
int blob_commit(blob_upload *u, const char *data_dir);
/* Drop the temp file. Frees u. NULL is fine. */
void blob_abort(blob_upload *u);

/* Path of a blob: <data>/blobs/sha256/ab/<hex>. */
void blob_path(const char *data_dir, const char *sha256, char *out, size_t outlen);
/* Open a blob read-only (O_CLOEXEC). -1 when missing. */
int blob_open(const char *data_dir, const char *sha256);
/* Unlink a blob no longer referenced. */
void blob_remove(const char *data_dir, const char *sha256);

/* Is a blob referenced (by a package, file or delta row)? 1 yes, 0 no,
 * -1 cannot tell (then it is kept). */
typedef int (*blob_ref_fn)(void *ctx, const char *sha256);
/* At start: remove blob files no row references whose modification time is
 * before older_than (unix seconds) — left by a crash between the file's
 * rename and its row's commit. Returns how many were removed (each logged). */
size_t blobs_collect_orphans(const char *data_dir, int64_t older_than, blob_ref_fn refs, void *ctx);

#endif
