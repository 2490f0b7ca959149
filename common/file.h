/*
 * file -- whole-file writes that either happen completely or not at all, and
 * whole-file reads with a size limit.
 *
 * State files (the spool's position, containment rules, pushed indicators),
 * evidence copies and vault files are replaced the same way: the new contents go
 * to PATH.tmp, are optionally synced, and are renamed over PATH, so a crash or a
 * full disk leaves either the old file or the new one, never half of one.  On
 * failure the temporary file is removed and the old file is untouched.  Callers
 * log: they know what the file is for.
 */
#ifndef WARD_FILE_H
#define WARD_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ward.h"

enum file_flags {
    FILE_SYNC = 1,     /* fsync the new contents before the rename */
    FILE_SYNC_DIR = 2, /* then fsync the directory, so the rename itself is durable
                          (best effort: the file is already in place) */
};

/* Writes all len bytes to fd, retrying short writes and EINTR.  0 or a negative errno. */
WARD_MUST_CHECK int file_write_all(int fd, const void *data, size_t len);

/*
 * Reads the regular file path whole into *out (malloc'd, free it) and its length
 * into *len.  A file that shrinks while being read gives what was there.  0, or
 * a negative errno: -EINVAL not a regular file, -EFBIG larger than max bytes, or
 * what open, fstat or read said.
 */
WARD_MUST_CHECK int file_read_all(const char *path, size_t max, uint8_t **out, size_t *len);

/*
 * Replaces path by data (len bytes), created with mode (subject to the umask),
 * through path.tmp; flags is a mix of enum file_flags.  0, or a negative errno:
 * -ENAMETOOLONG when path.tmp does not fit PATH_MAX, else what open, write,
 * fsync or rename said (-EIO for a write that made no progress).
 */
WARD_MUST_CHECK int file_replace(const char *path, const void *data, size_t len, mode_t mode,
                                 unsigned flags);

#endif
