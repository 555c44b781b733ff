/* Files: mkdir -p, the one atomic write, the one whole-file read. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"

scnn_status scnn_mkdirs(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return scnn_fail(SCNN_ERR_ARG, "%s: path too long", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return scnn_fail(SCNN_ERR_IO, "cannot create directory %s: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
        return scnn_fail(SCNN_ERR_IO, "cannot create directory %s: %s", buf, strerror(errno));
    return SCNN_OK;
}

static bool write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t got = write(fd, p, len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got == 0)
            errno = ENOSPC;
        if (got <= 0)
            return false;
        p += got;
        len -= (size_t)got;
    }
    return true;
}

/* Makes the rename durable. Filesystems that cannot sync a directory say EINVAL: nothing to do. */
static scnn_status sync_dir(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return scnn_fail(SCNN_ERR_NOMEM, "%s: out of memory", path);
    const char *dir = dirname(copy);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int err = 0;
    if (fd < 0 || (fsync(fd) != 0 && errno != EINVAL && errno != ENOTSUP))
        err = errno;
    if (fd >= 0)
        close(fd);
    scnn_status st = SCNN_OK;
    if (err)
        st = scnn_fail(SCNN_ERR_IO, "%s: written, but syncing directory %s failed: %s", path, dir,
                       strerror(err));
    free(copy);
    return st;
}

scnn_status scnn_write_file(const char *path, const void *data, size_t len, unsigned flags)
{
    if (!path || !*path)
        return scnn_fail(SCNN_ERR_ARG, "scnn_write_file: no path");
    size_t tlen = strlen(path) + 40;
    char *tmp = malloc(tlen);
    if (!tmp)
        return scnn_fail(SCNN_ERR_NOMEM, "%s: out of memory", path);
    if (flags & SCNN_WRITE_HIDDEN_TMP) {
        const char *slash = strrchr(path, '/');
        int dlen = slash ? (int)(slash - path + 1) : 0;
        snprintf(tmp, tlen, "%.*s.%s.tmp.%ld", dlen, path, path + dlen, (long)getpid());
    } else {
        snprintf(tmp, tlen, "%s.tmp.%ld", path, (long)getpid());
    }

    const char *what = NULL;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        what = "cannot create";
    else if (!write_all(fd, data, len))
        what = "cannot write";
    else if ((flags & SCNN_WRITE_DURABLE) && fsync(fd) != 0)
        what = "cannot fsync";
    int err = errno;
    if (fd >= 0 && close(fd) != 0 && !what) {
        what = "cannot close";
        err = errno;
    }
    if (!what && rename(tmp, path) != 0) {
        what = "cannot rename over the target";
        err = errno;
    }
    scnn_status st = SCNN_OK;
    if (what) {
        if (fd >= 0)
            unlink(tmp);
        st = scnn_fail(SCNN_ERR_IO, "%s: %s (temporary file %s): %s", path, what, tmp,
                       strerror(err));
    } else if (flags & SCNN_WRITE_DURABLE) {
        st = sync_dir(path);
    }
    free(tmp);
    return st;
}

scnn_status scnn_write_atomic(const char *path, const void *data, size_t len)
{
    return scnn_write_file(path, data, len, SCNN_WRITE_DURABLE);
}

scnn_status scnn_read_file(const char *path, size_t max, uint8_t **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return scnn_fail(SCNN_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return scnn_fail(SCNN_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        errno = S_ISDIR(sb.st_mode) ? EISDIR : EINVAL;
        return scnn_fail(SCNN_ERR_IO, "%s: not a regular file%s", path,
                         S_ISDIR(sb.st_mode) ? " (a folder)" : "");
    }
    if ((uint64_t)sb.st_size > max) {
        close(fd);
        errno = EFBIG;
        bool mib = max >= (1u << 20) && max % (1u << 20) == 0;
        return scnn_fail(SCNN_ERR_SHAPE, "%s: %lld bytes, larger than the %zu %s accepted", path,
                         (long long)sb.st_size, mib ? max >> 20 : max, mib ? "MiB" : "bytes");
    }
    /* One byte more than fstat said, to see a file that grew, and room for the NUL. */
    size_t cap = (size_t)sb.st_size + 1, n = 0;
    uint8_t *buf = malloc(cap + 1);
    if (!buf) {
        close(fd);
        errno = ENOMEM;
        return scnn_fail(SCNN_ERR_NOMEM, "%s: out of memory", path);
    }
    for (;;) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            close(fd);
            errno = e;
            return scnn_fail(SCNN_ERR_IO, "%s: read failed: %s", path, strerror(e));
        }
        if (r == 0 || (n += (size_t)r) == cap)
            break;
    }
    close(fd);
    if (n == cap) {
        free(buf);
        errno = EIO;
        return scnn_fail(SCNN_ERR_IO, "%s: the file grew while it was read", path);
    }
    buf[n] = 0;
    *data = buf;
    *len = n;
    return SCNN_OK;
}

char *scnn_read_text(const char *path, size_t max)
{
    uint8_t *buf;
    size_t len;
    if (scnn_read_file(path, max, &buf, &len) != SCNN_OK)
        return NULL;
    if (strlen((char *)buf) != len) { /* a NUL byte: not a text file */
        free(buf);
        errno = EINVAL;
        return NULL;
    }
    return (char *)buf;
}
