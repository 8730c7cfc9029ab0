#ifndef FUNNEL_PRIVATE_FILE_H
#define FUNNEL_PRIVATE_FILE_H

#include <stdint.h>

/// A new, empty, read-write file in `directory` that no other process can open by name: O_TMPFILE where the file
/// system supports it, otherwise mkstemp followed by unlink. Returns the descriptor, or -1 with errno set.
int funnel_private_file(const char *directory);

/// Copies `length` bytes from the start of `from` into the empty file `to`: a reflink (FICLONE, no data copied on
/// btrfs/XFS) when possible, else copy_file_range (in the kernel, no user-space buffer), else read/write.
/// Returns 0, or -1 with errno set; a source shorter than `length` fails with EIO.
int funnel_copy_file(int from, int to, int64_t length);

#endif
