/*
 * posix_storage.c — file-backed slots for the host (see fota_port_posix.h).
 *
 * Behaves like NOR flash where it matters to the library: erase sets bytes
 * to 0xff, bounds are checked, and each call is one pwrite/pread.
 */
#include "fota_port_posix.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATE_SIZE 4096u

static void slot_path(const fota_posix_fs *fs, unsigned slot, char *out, size_t cap)
{
  if (slot < 2)
    snprintf(out, cap, "%s/slot%u.bin", fs->dir, slot);
  else
    snprintf(out, cap, "%s/state%u.bin", fs->dir, slot - 2);
}

static uint64_t fs_size(void *ctx, unsigned slot)
{
  fota_posix_fs *fs = ctx;
  return slot < 2 ? fs->slot_size : slot < 4 ? STATE_SIZE : 0;
}

static int fs_open(fota_posix_fs *fs, unsigned slot, int flags)
{
  char p[300];
  slot_path(fs, slot, p, sizeof p);
  return open(p, flags | O_CLOEXEC);
}

static int fs_erase(void *ctx, unsigned slot, uint64_t off, uint64_t len)
{
  fota_posix_fs *fs = ctx;
  uint64_t size = fs_size(ctx, slot);
  if (off > size || len > size - off)
    return FOTA_ERR_STORAGE;
  int fd = fs_open(fs, slot, O_WRONLY);
  if (fd < 0)
    return FOTA_ERR_STORAGE;
  uint8_t ff[4096];
  memset(ff, 0xff, sizeof ff);
  int rc = 0;
  while (len && !rc) {
    size_t n = len < sizeof ff ? (size_t)len : sizeof ff;
    if (pwrite(fd, ff, n, (off_t)off) != (ssize_t)n)
      rc = FOTA_ERR_STORAGE;
    off += n;
    len -= n;
  }
  close(fd);
  return rc;
}

static int fs_write(void *ctx, unsigned slot, uint64_t off, const void *buf, size_t len)
{
  fota_posix_fs *fs = ctx;
  uint64_t size = fs_size(ctx, slot);
  if (off > size || len > size - off)
    return FOTA_ERR_STORAGE;
  int fd = fs_open(fs, slot, O_WRONLY);
  if (fd < 0)
    return FOTA_ERR_STORAGE;
  int rc = pwrite(fd, buf, len, (off_t)off) == (ssize_t)len ? 0 : FOTA_ERR_STORAGE;
  if (!rc && slot >= 2)
    rc = fdatasync(fd) ? FOTA_ERR_STORAGE : 0; /* boot state must be durable */
  close(fd);
  return rc;
}

static int fs_read(void *ctx, unsigned slot, uint64_t off, void *buf, size_t len)
{
  fota_posix_fs *fs = ctx;
  uint64_t size = fs_size(ctx, slot);
  if (off > size || len > size - off)
    return FOTA_ERR_STORAGE;
  int fd = fs_open(fs, slot, O_RDONLY);
  if (fd < 0)
    return FOTA_ERR_STORAGE;
  int rc = pread(fd, buf, len, (off_t)off) == (ssize_t)len ? 0 : FOTA_ERR_STORAGE;
  close(fd);
  return rc;
}

int fota_posix_storage_init(fota_posix_fs *fs, const char *dir, uint64_t slot_size)
{
  if (!fs || !dir || strlen(dir) >= sizeof fs->dir || slot_size == 0)
    return FOTA_ERR_INVAL;
  memset(fs, 0, sizeof *fs);
  memcpy(fs->dir, dir, strlen(dir) + 1);
  fs->slot_size = slot_size;
  fs->erase_unit = 4096;
  for (unsigned s = 0; s < 4; s++) {
    char p[300];
    slot_path(fs, s, p, sizeof p);
    struct stat st;
    uint64_t want = fs_size(fs, s);
    if (stat(p, &st) == 0 && (uint64_t)st.st_size == want)
      continue;
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
      return FOTA_ERR_STORAGE;
    close(fd);
    if (fs_erase(fs, s, 0, want))
      return FOTA_ERR_STORAGE;
  }
  fs->storage.ctx = fs;
  fs->storage.slot_size = fs_size;
  fs->storage.erase = fs_erase;
  fs->storage.write = fs_write;
  fs->storage.read = fs_read;
  fs->storage.erase_unit = fs->erase_unit;
  return 0;
}
