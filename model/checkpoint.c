/* Checkpoints: the model's tensors, Adam moments, optimiser step and run metadata in one
 * versioned little-endian file with a trailing CRC-32; or, weights-only (for shipping and
 * inference), the tensors and metadata without the optimiser state. The layout is documented byte by byte in
 * docs/checkpoint-format.md; keep the two in step. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/core.h"
#include "scnn.h"

#define CKPT_MAGIC "SCNNCKPT"
#define CKPT_VERSION 2u    /* written; version 1 (always full, no flags) is still read */
#define CKPT_HEADER 24    /* magic, version, flags, file length */
#define CKPT_FLAG_WEIGHTS_ONLY 1u
#define CKPT_ARR_VALUE 1u /* table entry "arrays" bits */
#define CKPT_ARR_ADAM 2u  /* Adam m and v follow the value */
#define CKPT_MAX_NAME 255
#define CKPT_META_MAX (5 * (1 + 255) + 8 + 4 + 4 + 8 + 8 + 8 + 8)
#define CKPT_ENTRY_MAX (1 + CKPT_MAX_NAME + 1 + 1 + 4 * 4)

/* ---- little-endian encoding ------------------------------------------------------------------ */

/* With p == NULL a writer only counts, so one function both sizes and fills the buffer. */
typedef struct wbuf {
    uint8_t *p;
    size_t n;
} wbuf;

static void put_bytes(wbuf *w, const void *src, size_t len)
{
    if (w->p && len)
        memcpy(w->p + w->n, src, len);
    w->n += len;
}

static void put_u8(wbuf *w, unsigned v)
{
    uint8_t b = (uint8_t)v;
    put_bytes(w, &b, 1);
}

static void put_u32(wbuf *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put_bytes(w, b, 4);
}

static void put_u64(wbuf *w, uint64_t v)
{
    put_u32(w, (uint32_t)v);
    put_u32(w, (uint32_t)(v >> 32));
}

static void put_f64(wbuf *w, double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    put_u64(w, u);
}

static void put_f32s(wbuf *w, const float *x, size_t count)
{
    if (!w->p) {
        w->n += 4 * count;
        return;
    }
    uint8_t *o = w->p + w->n;
    for (size_t i = 0; i < count; i++, o += 4) {
        uint32_t u;
        memcpy(&u, &x[i], sizeof u);
        o[0] = (uint8_t)u;
        o[1] = (uint8_t)(u >> 8);
        o[2] = (uint8_t)(u >> 16);
        o[3] = (uint8_t)(u >> 24);
    }
    w->n += 4 * count;
}

static void put_str(wbuf *w, const char *s)
{
    size_t len = strlen(s);
    put_u8(w, (unsigned)len);
    put_bytes(w, s, len);
}

static uint32_t get_u32_at(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint64_t get_u64_at(const uint8_t *b)
{
    return (uint64_t)get_u32_at(b) | (uint64_t)get_u32_at(b + 4) << 32;
}

static void get_f32s(const uint8_t *b, float *x, size_t count)
{
    for (size_t i = 0; i < count; i++, b += 4) {
        uint32_t u = get_u32_at(b);
        memcpy(&x[i], &u, sizeof u);
    }
}

/* A bounds-checked reader: every get fails (returns false) instead of reading past end. */
typedef struct rbuf {
    const uint8_t *p;
    size_t pos, end;
} rbuf;

static bool get_bytes(rbuf *r, void *dst, size_t len)
{
    if (len > r->end - r->pos)
        return false;
    memcpy(dst, r->p + r->pos, len);
    r->pos += len;
    return true;
}

static bool get_u8(rbuf *r, unsigned *v)
{
    uint8_t b;
    if (!get_bytes(r, &b, 1))
        return false;
    *v = b;
    return true;
}

static bool get_u32(rbuf *r, uint32_t *v)
{
    uint8_t b[4];
    if (!get_bytes(r, b, 4))
        return false;
    *v = get_u32_at(b);
    return true;
}

static bool get_u64(rbuf *r, uint64_t *v)
{
    uint8_t b[8];
    if (!get_bytes(r, b, 8))
        return false;
    *v = get_u64_at(b);
    return true;
}

static bool get_f64(rbuf *r, double *d)
{
    uint64_t u;
    if (!get_u64(r, &u))
        return false;
    memcpy(d, &u, sizeof u);
    return true;
}

/* A length-prefixed string into dst[cap]: shorter than cap, printable ASCII only (the strings
 * end up in messages and on the terminal: a newline or an escape sequence there would be
 * garbage; found by fuzz/fuzz_checkpoint.c). */
static bool get_str(rbuf *r, char *dst, size_t cap)
{
    unsigned len;
    if (!get_u8(r, &len) || len >= cap || !get_bytes(r, dst, len))
        return false;
    dst[len] = 0;
    for (unsigned i = 0; i < len; i++)
        if (dst[i] < 0x20 || dst[i] > 0x7e)
            return false;
    return true;
}

/* ---- the model's side ------------------------------------------------------------------------ */

static unsigned param_arrays(const scnn_param *p)
{
    return CKPT_ARR_VALUE | (p->m && p->v ? CKPT_ARR_ADAM : 0);
}

static void shape_str(char *buf, size_t len, int rank, const uint32_t *dims)
{
    size_t at = 0;
    at += (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < rank && at < len; i++)
        at += (size_t)snprintf(buf + at, len - at, "%s%u", i ? "," : "", dims[i]);
    if (at < len)
        snprintf(buf + at, len - at, "]");
}

/* Checks that the model's own tensor descriptions can be written (and compared) faithfully. */
static scnn_status check_model(scnn_model *m, const char *path)
{
    int n = scnn_model_param_count(m);
    if (n < 0)
        return scnn_fail(SCNN_ERR_ARG, "%s: model reports %d tensors", path, n);
    for (int i = 0; i < n; i++) {
        const scnn_param *p = scnn_model_param(m, i);
        if (!p || !p->name || !p->w)
            return scnn_fail(SCNN_ERR_ARG, "%s: model tensor %d is incomplete", path, i);
        size_t nl = strlen(p->name), size = 1;
        bool ok = nl >= 1 && nl <= CKPT_MAX_NAME && p->rank >= 1 && p->rank <= 4;
        for (int d = 0; ok && d < p->rank; d++) {
            ok = p->dims[d] >= 1 && (size_t)p->dims[d] <= SIZE_MAX / 12 / size;
            if (ok)
                size *= (size_t)p->dims[d];
        }
        if (!ok || size != p->size)
            return scnn_fail(SCNN_ERR_ARG, "%s: model tensor \"%s\" has an inconsistent shape",
                             path, p->name);
    }
    return SCNN_OK;
}

/* ---- save ------------------------------------------------------------------------------------ */

static bool meta_strings_ok(const scnn_ckpt_meta *md)
{
    return strnlen(md->dataset, sizeof md->dataset) < sizeof md->dataset &&
           strnlen(md->protocol, sizeof md->protocol) < sizeof md->protocol &&
           strnlen(md->backend, sizeof md->backend) < sizeof md->backend &&
           strnlen(md->git_rev, sizeof md->git_rev) < sizeof md->git_rev &&
           strnlen(md->data_sha256, sizeof md->data_sha256) < sizeof md->data_sha256;
}

/* Everything but the trailing checksum; w->p == NULL only measures. */
static void serialize(wbuf *w, scnn_model *m, const scnn_ckpt_meta *md, uint64_t file_len)
{
    int n = scnn_model_param_count(m);
    put_bytes(w, CKPT_MAGIC, 8);
    bool wo = md->weights_only;
    put_u32(w, CKPT_VERSION);
    put_u32(w, wo ? CKPT_FLAG_WEIGHTS_ONLY : 0);
    put_u64(w, file_len);
    /* The metadata goes twice through the writer: once to measure its length, which precedes it. */
    wbuf meta = {NULL, 0};
    for (int pass = 0; pass < 2; pass++) {
        wbuf *o = pass ? w : &meta;
        if (pass)
            put_u32(w, (uint32_t)meta.n);
        put_str(o, md->dataset);
        put_str(o, md->protocol);
        put_str(o, md->backend);
        put_str(o, md->git_rev);
        put_str(o, md->data_sha256);
        put_u64(o, md->seed);
        put_u32(o, (uint32_t)md->epoch);
        put_u32(o, (uint32_t)md->iteration);
        put_u64(o, md->step);
        put_f64(o, md->val_loss);
        put_f64(o, md->val_acc);
        put_u64(o, wo ? 0 : scnn_model_step(m));
    }
    put_u32(w, (uint32_t)n);
    for (int i = 0; i < n; i++) {
        const scnn_param *p = scnn_model_param(m, i);
        put_str(w, p->name);
        put_u8(w, (unsigned)p->rank);
        put_u8(w, wo ? CKPT_ARR_VALUE : param_arrays(p));
        for (int d = 0; d < p->rank; d++)
            put_u32(w, (uint32_t)p->dims[d]);
    }
    for (int i = 0; i < n; i++) {
        const scnn_param *p = scnn_model_param(m, i);
        put_f32s(w, p->w, p->size);
        if (!wo && (param_arrays(p) & CKPT_ARR_ADAM)) {
            put_f32s(w, p->m, p->size);
            put_f32s(w, p->v, p->size);
        }
    }
}

scnn_status scnn_checkpoint_save(const char *path, scnn_model *m, const scnn_ckpt_meta *meta)
{
    if (!path || !*path || !m)
        return scnn_fail(SCNN_ERR_ARG, "checkpoint save: no path or no model");
    scnn_ckpt_meta empty;
    if (!meta) {
        memset(&empty, 0, sizeof empty);
        meta = &empty;
    }
    if (!meta_strings_ok(meta))
        return scnn_fail(SCNN_ERR_ARG, "%s: a metadata string is not NUL-terminated", path);
    scnn_status st = check_model(m, path);
    if (st != SCNN_OK)
        return st;

    wbuf w = {NULL, 0};
    serialize(&w, m, meta, 0);
    size_t len = w.n + 4;
    w.p = malloc(len);
    if (!w.p)
        return scnn_fail(SCNN_ERR_NOMEM, "%s: cannot allocate %zu bytes", path, len);
    w.n = 0;
    serialize(&w, m, meta, len);
    put_u32(&w, (uint32_t)crc32_z(0, w.p, len - 4));

    st = scnn_write_atomic(path, w.p, len);
    free(w.p);
    return st;
}

/* ---- load ------------------------------------------------------------------------------------ */

static bool read_all(int fd, uint8_t *p, size_t len)
{
    while (len) {
        ssize_t got = read(fd, p, len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got == 0)
            errno = 0; /* end of file: it shrank while we read */
        if (got <= 0)
            return false;
        p += got;
        len -= (size_t)got;
    }
    return true;
}

/* The largest file a checkpoint of m can be, so that no size read from a file is trusted
 * before it is compared with this. */
static size_t max_file_len(scnn_model *m)
{
    int n = scnn_model_param_count(m);
    size_t len = CKPT_HEADER + 4 + CKPT_META_MAX + 4 + 4;
    for (int i = 0; i < n; i++)
        len += CKPT_ENTRY_MAX + 12 * scnn_model_param(m, i)->size;
    return len;
}

/* Validates the header, the file length and the checksum; *buf gets the whole file and *flags
 * the header's flags (always 0 in version 1, where the field is reserved). */
/* Validates the header hdr[0..hn) (hn = min(size, CKPT_HEADER)) of a file of size bytes: every
 * size it states is compared with the real length, and with cap (the most a checkpoint of this
 * model can be), before anything is allocated or read by it. */
static scnn_status check_header(const char *path, const uint8_t *hdr, size_t hn, size_t size,
                                size_t cap, uint32_t *flags)
{
    scnn_status st = SCNN_OK;
    uint64_t want = hn == CKPT_HEADER ? get_u64_at(hdr + 16) : 0;
    uint32_t version = hn >= 12 ? get_u32_at(hdr + 8) : 0;
    uint32_t fl = hn == CKPT_HEADER ? get_u32_at(hdr + 12) : 0;
    *flags = fl;
    if (memcmp(hdr, CKPT_MAGIC, hn < 8 ? hn : 8) != 0 || size == 0)
        st = scnn_fail(SCNN_ERR_FORMAT, "%s: not an SCNN checkpoint", path);
    else if (hn >= 12 && version != 1 && version != CKPT_VERSION)
        st = scnn_fail(SCNN_ERR_VERSION,
                       "%s: checkpoint format version %u; this build reads versions 1 and %u",
                       path, version, CKPT_VERSION);
    else if (hn < CKPT_HEADER)
        st = scnn_fail(SCNN_ERR_FORMAT, "%s: truncated: %zu bytes, shorter than the header", path,
                       size);
    else if (version == 1 && fl != 0)
        st = scnn_fail(SCNN_ERR_FORMAT, "%s: reserved header field is %u, not 0", path, fl);
    else if (fl & ~CKPT_FLAG_WEIGHTS_ONLY)
        st = scnn_fail(SCNN_ERR_FORMAT, "%s: unknown header flags 0x%x", path,
                       fl & ~CKPT_FLAG_WEIGHTS_ONLY);
    else if (want > size)
        st = scnn_fail(SCNN_ERR_FORMAT, "%s: truncated: %zu of %llu bytes", path, size,
                       (unsigned long long)want);
    else if (want < size)
        st = scnn_fail(SCNN_ERR_FORMAT, "%s: %zu bytes where the header says %llu", path, size,
                       (unsigned long long)want);
    else if (size < CKPT_HEADER + 4 + 4 + 4)
        st = scnn_fail(SCNN_ERR_FORMAT, "%s: %zu bytes is too short for a checkpoint", path, size);
    else if (size > cap)
        st = scnn_fail(SCNN_ERR_SHAPE,
                       "%s: %zu bytes, more than a checkpoint of this model can be (%zu)", path,
                       size, cap);
    return st;
}

/* The trailing CRC-32 of a whole file b[0..size). */
static scnn_status check_crc(const char *path, const uint8_t *b, size_t size)
{
    uint32_t stored = get_u32_at(b + size - 4);
    uint32_t actual = (uint32_t)crc32_z(0, b, size - 4);
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    /* A fuzzer's mutations would almost never carry a matching CRC past this point. */
    actual = stored;
#endif
    if (stored != actual)
        return scnn_fail(SCNN_ERR_CHECKSUM, "%s: corrupt: CRC-32 is %08x, the file says %08x",
                         path, actual, stored);
    return SCNN_OK;
}

static scnn_status read_checked(const char *path, size_t cap, uint8_t **buf, size_t *len,
                                uint32_t *flags)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return scnn_fail(SCNN_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    int rc = fstat(fd, &sb);
    if (rc != 0 || !S_ISREG(sb.st_mode)) {
        const char *why = rc != 0 ? strerror(errno) : "not a regular file";
        close(fd);
        return scnn_fail(SCNN_ERR_IO, "%s: cannot read: %s", path, why);
    }
    uint8_t hdr[CKPT_HEADER];
    size_t size = (size_t)sb.st_size;
    size_t hn = size < sizeof hdr ? size : sizeof hdr;
    if (!read_all(fd, hdr, hn)) {
        int err = errno;
        close(fd);
        return scnn_fail(SCNN_ERR_IO, "%s: read failed: %s", path,
                         err ? strerror(err) : "file shrank while reading");
    }
    uint32_t fl = 0;
    scnn_status st = check_header(path, hdr, hn, size, cap, &fl);
    if (st != SCNN_OK) {
        close(fd);
        return st;
    }

    uint8_t *b = malloc(size);
    if (!b) {
        close(fd);
        return scnn_fail(SCNN_ERR_NOMEM, "%s: cannot allocate %zu bytes", path, size);
    }
    memcpy(b, hdr, sizeof hdr);
    bool ok = read_all(fd, b + sizeof hdr, size - sizeof hdr);
    int err = errno;
    close(fd);
    if (!ok) {
        free(b);
        return scnn_fail(SCNN_ERR_IO, "%s: read failed: %s", path,
                         err ? strerror(err) : "file shrank while reading");
    }
    if ((st = check_crc(path, b, size)) != SCNN_OK) {
        free(b);
        return st;
    }
    *buf = b;
    *len = size;
    *flags = fl;
    return SCNN_OK;
}

static scnn_status parse_meta(const char *path, rbuf *r, scnn_ckpt_meta *md, uint64_t *step)
{
    uint32_t mlen, epoch, iteration;
    if (!get_u32(r, &mlen) || mlen > r->end - r->pos)
        return scnn_fail(SCNN_ERR_FORMAT, "%s: metadata section overruns the file", path);
    rbuf s = {r->p, r->pos, r->pos + mlen};
    memset(md, 0, sizeof *md);
    bool ok = get_str(&s, md->dataset, sizeof md->dataset) &&
              get_str(&s, md->protocol, sizeof md->protocol) &&
              get_str(&s, md->backend, sizeof md->backend) &&
              get_str(&s, md->git_rev, sizeof md->git_rev) &&
              get_str(&s, md->data_sha256, sizeof md->data_sha256) && get_u64(&s, &md->seed) &&
              get_u32(&s, &epoch) && get_u32(&s, &iteration) && get_u64(&s, &md->step) &&
              get_f64(&s, &md->val_loss) && get_f64(&s, &md->val_acc) && get_u64(&s, step);
    if (!ok || s.pos != s.end)
        return scnn_fail(SCNN_ERR_FORMAT, "%s: malformed metadata section (%u bytes)", path, mlen);
    md->epoch = (int32_t)epoch;
    md->iteration = (int32_t)iteration;
    r->pos = s.end;
    return SCNN_OK;
}

/* Reads the tensor table and checks it against the model entry by entry (in a weights-only
 * file every entry holds the value alone); *data_len gets the bytes of tensor data the table
 * describes. */
static scnn_status parse_table(const char *path, rbuf *r, scnn_model *m, bool weights_only,
                               size_t *data_len)
{
    uint32_t count;
    int n = scnn_model_param_count(m);
    if (!get_u32(r, &count))
        return scnn_fail(SCNN_ERR_FORMAT, "%s: tensor table overruns the file", path);
    if (count != (uint32_t)n)
        return scnn_fail(SCNN_ERR_SHAPE, "%s: file has %u tensors, the model has %d", path, count,
                         n);
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        const scnn_param *p = scnn_model_param(m, i);
        char name[CKPT_MAX_NAME + 1];
        unsigned rank, arrays;
        uint32_t dims[4] = {0};
        if (!get_str(r, name, sizeof name) || !get_u8(r, &rank) || !get_u8(r, &arrays))
            return scnn_fail(SCNN_ERR_FORMAT, "%s: tensor table entry %d is malformed", path, i);
        if (!name[0] || rank < 1 || rank > 4 || !(arrays & CKPT_ARR_VALUE) ||
            (arrays & ~(CKPT_ARR_VALUE | CKPT_ARR_ADAM)))
            return scnn_fail(SCNN_ERR_FORMAT,
                             "%s: tensor table entry %d: bad name, rank %u or arrays %u", path, i,
                             rank, arrays);
        for (unsigned d = 0; d < rank; d++)
            if (!get_u32(r, &dims[d]))
                return scnn_fail(SCNN_ERR_FORMAT, "%s: tensor table entry %d is malformed", path,
                                 i);
        if (strcmp(name, p->name) != 0)
            return scnn_fail(SCNN_ERR_SHAPE,
                             "%s: tensor %d is \"%s\" in the file, \"%s\" in the model", path, i,
                             name, p->name);
        uint32_t mdims[4] = {0};
        bool same = (int)rank == p->rank;
        for (int d = 0; d < p->rank; d++) {
            mdims[d] = (uint32_t)p->dims[d];
            same = same && dims[d] == mdims[d];
        }
        if (!same) {
            char fs[64], ms[64];
            shape_str(fs, sizeof fs, (int)rank, dims);
            shape_str(ms, sizeof ms, p->rank, mdims);
            return scnn_fail(SCNN_ERR_SHAPE,
                             "%s: tensor \"%s\" has shape %s in the file, %s in the model", path,
                             name, fs, ms);
        }
        if (weights_only && arrays != CKPT_ARR_VALUE)
            return scnn_fail(SCNN_ERR_FORMAT,
                             "%s: weights-only checkpoint, but tensor \"%s\" has Adam moments",
                             path, name);
        if (!weights_only && arrays != param_arrays(p))
            return scnn_fail(SCNN_ERR_SHAPE,
                             "%s: tensor \"%s\" %s Adam moments in the file but %s in the model",
                             path, name, arrays & CKPT_ARR_ADAM ? "has" : "lacks",
                             param_arrays(p) & CKPT_ARR_ADAM ? "has them" : "not");
        /* Sizes come from the model now, which check_model bounded. */
        total += 4 * p->size * (arrays & CKPT_ARR_ADAM ? 3 : 1);
    }
    *data_len = total;
    return SCNN_OK;
}

/* need_state: refuse a weights-only file (before anything changes), as resuming needs the
 * optimiser state. */
/* The parse of a whole checked checkpoint buf[0..len) (not freed here); the model changes only
 * when everything is valid. */
static scnn_status load_buffer(const char *path, const uint8_t *buf, size_t len, uint32_t flags,
                               scnn_model *m, scnn_ckpt_meta *meta, bool need_state)
{
    scnn_status st;
    bool wo = flags & CKPT_FLAG_WEIGHTS_ONLY;

    rbuf r = {buf, CKPT_HEADER, len - 4};
    scnn_ckpt_meta md;
    uint64_t step = 0;
    size_t data_len = 0;
    st = parse_meta(path, &r, &md, &step);
    if (st == SCNN_OK)
        st = parse_table(path, &r, m, wo, &data_len);
    if (st == SCNN_OK && data_len != r.end - r.pos)
        st = scnn_fail(SCNN_ERR_FORMAT, "%s: %zu bytes of tensor data, the table describes %zu",
                       path, r.end - r.pos, data_len);
    if (st == SCNN_OK && wo && need_state)
        st = scnn_fail(SCNN_ERR_FORMAT,
                       "%s: a weights-only checkpoint (no Adam moments or optimiser step) cannot "
                       "resume training; it is for evaluation and prediction",
                       path);
    if (st != SCNN_OK)
        return st;

    /* Everything is validated: only now does the model change. */
    const uint8_t *at = buf + r.pos;
    int n = scnn_model_param_count(m);
    for (int i = 0; i < n; i++) {
        scnn_param *p = scnn_model_param(m, i);
        get_f32s(at, p->w, p->size);
        at += 4 * p->size;
        if (!(param_arrays(p) & CKPT_ARR_ADAM))
            continue;
        if (wo) {
            memset(p->m, 0, p->size * sizeof *p->m);
            memset(p->v, 0, p->size * sizeof *p->v);
            continue;
        }
        get_f32s(at, p->m, p->size);
        at += 4 * p->size;
        get_f32s(at, p->v, p->size);
        at += 4 * p->size;
    }
    scnn_model_set_step(m, step);
    md.weights_only = wo;
    if (meta)
        *meta = md;
    return SCNN_OK;
}

static scnn_status load(const char *path, scnn_model *m, scnn_ckpt_meta *meta, bool need_state)
{
    if (!path || !*path || !m)
        return scnn_fail(SCNN_ERR_ARG, "checkpoint load: no path or no model");
    scnn_status st = check_model(m, path);
    if (st != SCNN_OK)
        return st;
    uint8_t *buf = NULL;
    size_t len = 0;
    uint32_t flags = 0;
    st = read_checked(path, max_file_len(m), &buf, &len, &flags);
    if (st == SCNN_OK)
        st = load_buffer(path, buf, len, flags, m, meta, need_state);
    free(buf);
    return st;
}

scnn_status scnn_checkpoint_load_mem(const void *data, size_t len, const char *name,
                                     scnn_model *m, scnn_ckpt_meta *meta)
{
    if ((!data && len) || !m)
        return scnn_fail(SCNN_ERR_ARG, "checkpoint load: no data or no model");
    if (!name)
        name = "checkpoint";
    const uint8_t *b = data ? data : (const uint8_t *)"";
    uint32_t flags = 0;
    scnn_status st = check_model(m, name);
    if (st == SCNN_OK)
        st = check_header(name, b, len < CKPT_HEADER ? len : CKPT_HEADER, len, max_file_len(m),
                          &flags);
    if (st == SCNN_OK)
        st = check_crc(name, b, len);
    if (st == SCNN_OK)
        st = load_buffer(name, b, len, flags, m, meta, false);
    return st;
}

scnn_status scnn_checkpoint_load(const char *path, scnn_model *m, scnn_ckpt_meta *meta)
{
    return load(path, m, meta, false);
}

scnn_status scnn_checkpoint_load_state(const char *path, scnn_model *m, scnn_ckpt_meta *meta)
{
    return load(path, m, meta, true);
}
