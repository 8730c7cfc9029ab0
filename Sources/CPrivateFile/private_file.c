// Linux file calls the Swift Glibc module does not export (O_TMPFILE, copy_file_range, the FICLONE ioctl).
#define _GNU_SOURCE
#include "private_file.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

int funnel_private_file(const char *directory) {
    int fd = open(directory, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)) return fd;
    char path[4096];
    if (snprintf(path, sizeof path, "%s/.funnel-private-XXXXXX", directory) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    fd = mkostemp(path, O_CLOEXEC);
    if (fd >= 0) unlink(path);
    return fd;
}

static int copy_by_read_write(int from, int to, int64_t offset, int64_t length) {
    enum { chunk = 1 << 20 };
    char *buffer = malloc(chunk);
    if (buffer == NULL) return -1;
    int result = 0;
    while (offset < length) {
        size_t want = (size_t)(length - offset < chunk ? length - offset : chunk);
        ssize_t got = pread(from, buffer, want, offset);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
            if (got == 0) errno = EIO;
            result = -1;
            break;
        }
        for (ssize_t written = 0; written < got;) {
            ssize_t count = pwrite(to, buffer + written, (size_t)(got - written), offset + written);
            if (count < 0 && errno == EINTR) continue;
            if (count < 0) {
                free(buffer);
                return -1;
            }
            written += count;
        }
        offset += got;
    }
    free(buffer);
    return result;
}

int funnel_copy_file(int from, int to, int64_t length) {
    if (ioctl(to, FICLONE, from) == 0) {
        struct stat status;
        if (fstat(to, &status) != 0) return -1;
        if (status.st_size < length) {
            errno = EIO;
            return -1;
        }
        return ftruncate(to, length);  // a clone takes the whole file; keep the bytes that were asked for
    }
    loff_t in = 0, out = 0;
    while (in < length) {
        ssize_t count = copy_file_range(from, &in, to, &out, (size_t)(length - in), 0);
        if (count > 0) continue;
        if (count == 0) {
            errno = EIO;  // the source ended early (truncated while copied)
            return -1;
        }
        if (errno == EINTR) continue;
        if (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL) {
            return copy_by_read_write(from, to, in, length);
        }
        return -1;
    }
    return 0;
}
