/* IDX image and label files, plain or gzip. Every header field, the exact length and every
 * label are checked before the data is trusted; a malformed file is a specific status and a
 * message naming the file, never a crash or a huge allocation. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "core/core.h"
#include "datasets/datasets.h"

#define IDX_MAX_COUNT 10000000u
#define IDX_TYPE_UBYTE 0x08
#define IDX_CHUNK (1u << 20)

typedef struct idx_file {
    const char *path;
    const char *what;   /* "images" or "labels" */
    int rank;           /* 3 or 1 */
    gzFile gz;
    uint32_t count;
    size_t header;      /* bytes */
    size_t payload;     /* bytes after the header */
} idx_file;

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static scnn_status read_error(const idx_file *f)
{
    int err = Z_OK;
    const char *msg = gzerror(f->gz, &err);
    if (err == Z_ERRNO)
        return scnn_fail(SCNN_ERR_IO, "%s: read failed: %s", f->path, strerror(errno));
    size_t plen = strlen(f->path);   /* zlib's message starts with "<path>: " */
    if (msg && strncmp(msg, f->path, plen) == 0 && strncmp(msg + plen, ": ", 2) == 0)
        msg += plen + 2;
    return scnn_fail(SCNN_ERR_FORMAT, "%s: corrupt or truncated gzip stream: %s", f->path,
                     msg ? msg : "unknown zlib error");
}

/* A fuzzing build takes a gzip stream whose only fault is its CRC-32 or length trailer as
 * ending there: a fuzzer's mutations would almost never carry a matching one. */
static bool fuzz_skips_check(const idx_file *f)
{
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    int err = Z_OK;
    const char *msg = gzerror(f->gz, &err);
    return err == Z_DATA_ERROR && msg &&
           (strstr(msg, "incorrect data check") || strstr(msg, "incorrect length check"));
#else
    (void)f;
    return false;
#endif
}

/* Reads up to len bytes; *got is how many arrived before the end of the (uncompressed)
 * stream. A read or decompression error is a failure, not an early end. */
static scnn_status read_some(const idx_file *f, void *buf, size_t len, size_t *got)
{
    *got = 0;
    while (*got < len) {
        size_t want = len - *got;
        unsigned ask = want > IDX_CHUNK ? IDX_CHUNK : (unsigned)want;
        int n = gzread(f->gz, (uint8_t *)buf + *got, ask);
        if (n < 0 && fuzz_skips_check(f))
            return SCNN_OK;
        if (n < 0)
            return read_error(f);
        if (n == 0)
            break;
        *got += (size_t)n;
    }
    /* gzread returns what it has from a gzip stream cut short and leaves "unexpected end of
     * file" (Z_BUF_ERROR) in gzerror; the CRC check fails only at the end of the stream. */
    int err = Z_OK;
    gzerror(f->gz, &err);
    return err == Z_OK || fuzz_skips_check(f) ? SCNN_OK : read_error(f);
}

static scnn_status open_header(idx_file *f)
{
    errno = 0;
    f->gz = gzopen(f->path, "rb");
    if (!f->gz)
        return scnn_fail(SCNN_ERR_IO, "%s: cannot open: %s", f->path,
                         errno ? strerror(errno) : "out of memory");
    gzbuffer(f->gz, 1u << 17);

    uint8_t h[16];
    size_t got;
    f->header = 4 + 4 * (size_t)f->rank;
    scnn_status st = read_some(f, h, f->header, &got);
    if (st)
        return st;
    if (got == 0)
        return scnn_fail(SCNN_ERR_FORMAT, "%s: empty file (want IDX %s)", f->path, f->what);
    if (got < f->header)
        return scnn_fail(SCNN_ERR_FORMAT, "%s: truncated header: %zu of %zu bytes", f->path, got,
                         f->header);

    uint32_t magic = be32(h);
    uint32_t want_magic = (uint32_t)IDX_TYPE_UBYTE << 8 | (uint32_t)f->rank;
    if (h[0] != 0 || h[1] != 0)
        return scnn_fail(SCNN_ERR_FORMAT, "%s: bad magic 0x%08x, want 0x%08x (IDX %s)", f->path,
                         magic, want_magic, f->what);
    if (h[2] != IDX_TYPE_UBYTE)
        return scnn_fail(SCNN_ERR_FORMAT,
                         "%s: element type 0x%02x, want 0x08 (unsigned byte) in magic 0x%08x",
                         f->path, h[2], want_magic);
    if (h[3] != f->rank)
        return scnn_fail(SCNN_ERR_FORMAT, "%s: rank %d, want %d (IDX %s: magic 0x%08x)", f->path,
                         h[3], f->rank, f->what, want_magic);

    f->count = be32(h + 4);
    if (f->count == 0 || f->count > IDX_MAX_COUNT)
        return scnn_fail(SCNN_ERR_FORMAT, "%s: header says %u %s (want 1..%u)", f->path, f->count,
                         f->what, IDX_MAX_COUNT);
    f->payload = f->count;
    if (f->rank == 3) {
        uint32_t rows = be32(h + 8), cols = be32(h + 12);
        if (rows != SCNN_IMG_H || cols != SCNN_IMG_W)
            return scnn_fail(SCNN_ERR_SHAPE, "%s: images are %ux%u, want %dx%d", f->path, rows,
                             cols, SCNN_IMG_H, SCNN_IMG_W);
        f->payload *= SCNN_PIXELS;
    }
    return SCNN_OK;
}

/* Reads exactly f->payload bytes and checks that nothing follows. The buffer grows with the
 * data actually present, so a header that promises more than the file holds costs no more
 * memory than the file itself. */
static scnn_status read_payload(idx_file *f, uint8_t **out)
{
    size_t cap = f->payload < IDX_CHUNK ? f->payload : IDX_CHUNK, len = 0;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return scnn_fail(SCNN_ERR_NOMEM, "%s: cannot allocate %zu bytes", f->path, cap);
    scnn_status st = SCNN_OK;
    for (;;) {
        size_t got;
        st = read_some(f, buf + len, cap - len, &got);
        if (st)
            goto fail;
        len += got;
        if (len < cap || cap == f->payload)
            break;
        size_t ncap = cap * 2 < f->payload ? cap * 2 : f->payload;
        uint8_t *nbuf = realloc(buf, ncap);
        if (!nbuf) {
            st = scnn_fail(SCNN_ERR_NOMEM, "%s: cannot allocate %zu bytes", f->path, ncap);
            goto fail;
        }
        buf = nbuf;
        cap = ncap;
    }
    const char *has = gzdirect(f->gz) ? "file has" : "uncompressed data has";
    if (len < f->payload) {
        st = scnn_fail(SCNN_ERR_FORMAT,
                       "%s: truncated: header says %u %s (%zu bytes) but %s %zu bytes", f->path,
                       f->count, f->what, f->header + f->payload, has, f->header + len);
        goto fail;
    }

    uint8_t extra[4096];
    size_t trailing = 0, got;
    do {
        st = read_some(f, extra, sizeof extra, &got);
        if (st)
            goto fail;
        trailing += got;
    } while (got == sizeof extra && trailing < IDX_CHUNK);
    if (trailing) {
        st = scnn_fail(SCNN_ERR_FORMAT, "%s: %s%zu trailing bytes after %u %s (%zu bytes)", f->path,
                       got == sizeof extra ? "over " : "", trailing, f->count, f->what,
                       f->header + f->payload);
        goto fail;
    }
    *out = buf;
    return SCNN_OK;
fail:
    free(buf);
    return st;
}

/* The first `want` records of an opened file (all of them if it has fewer): the header is
 * checked as for a whole load; what follows them is not read. */
static scnn_status read_first(idx_file *f, size_t want, size_t each, uint8_t **out, size_t *n)
{
    *n = want < f->count ? want : f->count;
    const size_t bytes = *n * each;
    *out = malloc(bytes ? bytes : 1);
    if (!*out)
        return scnn_fail(SCNN_ERR_NOMEM, "%s: cannot allocate %zu bytes", f->path, bytes);
    size_t got;
    scnn_status st = read_some(f, *out, bytes, &got);
    if (!st && got < bytes)
        st = scnn_fail(SCNN_ERR_FORMAT, "%s: truncated: %zu of the first %zu bytes", f->path,
                       f->header + got, f->header + bytes);
    if (st) {
        free(*out);
        *out = NULL;
    }
    return st;
}

/* first == 0: the whole files (their exact length checked); else their first `first` records
 * (all if they have fewer), reading no more of them than that. */
static scnn_status idx_load(scnn_dataset *ds, const char *images_path, const char *labels_path,
                            size_t first)
{
    idx_file img = {.path = images_path, .what = "images", .rank = 3};
    idx_file lab = {.path = labels_path, .what = "labels", .rank = 1};
    uint8_t *images = NULL, *labels = NULL;
    size_t n = 0, nl = 0;

    scnn_status st = open_header(&img);
    if (!st)
        st = open_header(&lab);
    if (!st && img.count != lab.count)
        st = scnn_fail(SCNN_ERR_SHAPE, "%s has %u images but %s has %u labels", images_path,
                       img.count, labels_path, lab.count);
    if (!st)
        st = first ? read_first(&img, first, SCNN_PIXELS, &images, &n)
                   : read_payload(&img, &images);
    if (!st)
        st = first ? read_first(&lab, first, 1, &labels, &nl) : read_payload(&lab, &labels);
    if (!first)
        n = lab.count;
    for (size_t i = 0; !st && i < n; i++)
        if (labels[i] >= SCNN_CLASSES)
            st = scnn_fail(SCNN_ERR_FORMAT, "%s: label %u at index %zu, want 0..%d", labels_path,
                           labels[i], i, SCNN_CLASSES - 1);

    if (img.gz)
        gzclose(img.gz);
    if (lab.gz)
        gzclose(lab.gz);
    return scnn_dataset_adopt(ds, st, n, images, labels);
}

scnn_status scnn_idx_load(scnn_dataset *ds, const char *images_path, const char *labels_path)
{
    if (ds)
        memset(ds, 0, sizeof *ds);
    if (!ds || !images_path || !labels_path)
        return scnn_fail(SCNN_ERR_ARG, "scnn_idx_load: NULL argument");
    return idx_load(ds, images_path, labels_path, 0);
}

/* dir/<part>-<kind>: the plain file if there is one, else dir/<part>-<kind>.gz. */
static scnn_status find_file(char *buf, size_t len, const char *dir, const char *part,
                             const char *kind)
{
    int n = snprintf(buf, len, "%s/%s-%s", dir, part, kind);
    if (n < 0 || (size_t)n + 3 >= len)
        return scnn_fail(SCNN_ERR_ARG, "%s: path too long", dir);
    if (access(buf, F_OK) == 0)
        return SCNN_OK;
    strcpy(buf + n, ".gz");
    if (access(buf, F_OK) == 0)
        return SCNN_OK;
    buf[n] = 0;
    return scnn_fail(SCNN_ERR_IO,
                     "%s: not found (nor %s.gz): run `make data` to fetch the data sets", buf, buf);
}

/* The IDX pair of part ("train" or "t10k") in dir. */
static scnn_status find_pair(char images[PATH_MAX], char labels[PATH_MAX], const char *dir,
                             const char *part)
{
    scnn_status st = find_file(images, PATH_MAX, dir, part, "images-idx3-ubyte");
    return st ? st : find_file(labels, PATH_MAX, dir, part, "labels-idx1-ubyte");
}

scnn_status scnn_idx_load_dir(scnn_dataset *ds, const char *dir, const char *part)
{
    char images[PATH_MAX], labels[PATH_MAX];
    scnn_status st = find_pair(images, labels, dir, part);
    return st ? st : scnn_idx_load(ds, images, labels);
}

scnn_status scnn_idx_load_first_dir(scnn_dataset *ds, const char *dir, const char *part,
                                    size_t n)
{
    char images[PATH_MAX], labels[PATH_MAX];
    scnn_status st = find_pair(images, labels, dir, part);
    return st ? st : idx_load(ds, images, labels, n);
}
