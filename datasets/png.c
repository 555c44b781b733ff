/* PNG reading and writing with libpng, from and to memory. Everything a decode allocates hangs
 * off one heap context, so a libpng error (a longjmp) frees it all; the dimensions in IHDR are
 * checked before libpng sees the file, so a hostile header costs no memory. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <png.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "scnn_png.h"

typedef struct png_ctx {
    const uint8_t *data;  /* reading: the file */
    size_t len, pos;
    uint8_t *buf;         /* writing: the encoded bytes */
    size_t blen, cap;
    uint8_t *px;          /* reading: the pixels and their row pointers */
    png_bytep *rows;
    char msg[200];        /* libpng's error message */
} png_ctx;

static void on_error(png_structp png, png_const_charp msg)
{
    png_ctx *c = png_get_error_ptr(png);
    snprintf(c->msg, sizeof c->msg, "%s", msg ? msg : "unknown libpng error");
    png_longjmp(png, 1);
}

/* Warnings (unknown profiles, bad ancillary CRCs that libpng skips) do not stop a decode. */
static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static void mem_read(png_structp png, png_bytep out, size_t n)
{
    png_ctx *c = png_get_io_ptr(png);
    if (n > c->len - c->pos)
        png_error(png, "unexpected end of file");
    memcpy(out, c->data + c->pos, n);
    c->pos += n;
}

static void mem_write(png_structp png, png_bytep data, size_t n)
{
    png_ctx *c = png_get_io_ptr(png);
    if (n > c->cap - c->blen) {
        size_t ncap = c->cap ? c->cap : 1024;
        while (ncap - c->blen < n)
            ncap *= 2;
        uint8_t *nb = realloc(c->buf, ncap);
        if (!nb)
            png_error(png, "out of memory");
        c->buf = nb;
        c->cap = ncap;
    }
    memcpy(c->buf + c->blen, data, n);
    c->blen += n;
}

static void mem_flush(png_structp png)
{
    (void)png;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* What a file that is not a PNG looks like, for the message. */
static const char *sniff(const uint8_t *d, size_t len)
{
    if (len >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff)
        return "a JPEG image";
    if (len >= 6 && (memcmp(d, "GIF87a", 6) == 0 || memcmp(d, "GIF89a", 6) == 0))
        return "a GIF image";
    if (len >= 12 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBP", 4) == 0)
        return "a WebP image";
    if (len >= 4 && (memcmp(d, "II*\0", 4) == 0 || memcmp(d, "MM\0*", 4) == 0))
        return "a TIFF image";
    if (len >= 2 && d[0] == 'B' && d[1] == 'M')
        return "a BMP image";
    if (len >= 4 && memcmp(d, "\x89PNG", 4) == 0)
        return "a PNG with a damaged signature (copied in text mode?)";
    return NULL;
}

static scnn_status decode_failure(const char *name, const char *msg)
{
    if (strstr(msg, "CRC error"))
        return scnn_fail(SCNN_ERR_FORMAT, "%s: corrupt PNG: checksum (CRC) mismatch: %s", name,
                         msg);
    if (strcmp(msg, "unexpected end of file") == 0 || strstr(msg, "Not enough image data"))
        return scnn_fail(SCNN_ERR_FORMAT, "%s: truncated PNG: the file ends before its image does",
                         name);
    if (strcmp(msg, "out of memory") == 0 || strstr(msg, "Insufficient memory"))
        return scnn_fail(SCNN_ERR_NOMEM, "%s: out of memory decoding the PNG", name);
    return scnn_fail(SCNN_ERR_FORMAT, "%s: corrupt PNG: %s", name, msg);
}

static const char *color_name(int ct)
{
    switch (ct) {
    case PNG_COLOR_TYPE_GRAY: return "gray";
    case PNG_COLOR_TYPE_GRAY_ALPHA: return "gray+alpha";
    case PNG_COLOR_TYPE_RGB: return "RGB";
    case PNG_COLOR_TYPE_RGB_ALPHA: return "RGBA";
    case PNG_COLOR_TYPE_PALETTE: return "palette";
    }
    return "unknown colour type";
}

static void ctx_free(png_ctx *c)
{
    if (!c)
        return;
    free(c->buf);
    free(c->px);
    free(c->rows);
    free(c);
}

/* The libpng part of a decode: false with c->msg set on any error. Neither argument changes
 * after setjmp, and what is allocated lives in *c, so a longjmp loses nothing. */
static bool decode_libpng(png_ctx *c, scnn_image *img)
{
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, c, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(png ? &png : NULL, NULL, NULL);
        snprintf(c->msg, sizeof c->msg, "out of memory");
        return false;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        return false;
    }
    png_set_user_limits(png, SCNN_PNG_MAX_DIM, SCNN_PNG_MAX_DIM);
    /* scnn_png_decode has checked that every chunk fits in the file; these bound what libpng may
     * allocate for one chunk and how many ancillary chunks it keeps. */
    png_set_chunk_malloc_max(png, c->len);
    png_set_chunk_cache_max(png, 128);
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    /* Mutated chunks would almost never carry a matching CRC or zlib Adler-32. */
    png_set_crc_action(png, PNG_CRC_QUIET_USE, PNG_CRC_QUIET_USE);
#ifdef PNG_IGNORE_ADLER32
    png_set_option(png, PNG_IGNORE_ADLER32, PNG_OPTION_ON);
#endif
#endif
    png_set_read_fn(png, c, mem_read);
    png_read_info(png, info);

    png_uint_32 w, h;
    int depth, ct, interlace;
    png_get_IHDR(png, info, &w, &h, &depth, &ct, &interlace, NULL, NULL);
    bool trns = png_get_valid(png, info, PNG_INFO_tRNS) != 0;
    snprintf(img->format, sizeof img->format, "%d-bit %s%s", depth, color_name(ct),
             trns ? "+transparency" : "");
    if (ct == PNG_COLOR_TYPE_PALETTE)
        snprintf(img->decoded, sizeof img->decoded, "expanded the palette to RGB");
    else if (depth == 16)
        snprintf(img->decoded, sizeof img->decoded, "scaled 16-bit samples to 8 bits");
    else if (depth < 8)
        snprintf(img->decoded, sizeof img->decoded, "expanded %d-bit gray to 8 bits", depth);
    if (ct == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if (ct == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (trns)
        png_set_tRNS_to_alpha(png);
    if (depth == 16)
        png_set_scale_16(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    int ch = png_get_channels(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    if (ch < 1 || ch > 4 || png_get_bit_depth(png, info) != 8 || rowbytes != (size_t)w * ch)
        png_error(png, "unsupported pixel layout");
    c->px = malloc((size_t)h * rowbytes);
    c->rows = malloc((size_t)h * sizeof *c->rows);
    if (!c->px || !c->rows)
        png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < h; y++)
        c->rows[y] = c->px + (size_t)y * rowbytes;
    png_read_image(png, c->rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    img->width = (int)w;
    img->height = (int)h;
    img->channels = ch;
    return true;
}

scnn_status scnn_png_decode(scnn_image *img, const void *data, size_t len, const char *name)
{
    if (img)
        memset(img, 0, sizeof *img);
    if (!img || (!data && len))
        return scnn_fail(SCNN_ERR_ARG, "scnn_png_decode: NULL argument");
    if (!name)
        name = "image";
    const uint8_t *d = data;
    if (len == 0)
        return scnn_fail(SCNN_ERR_FORMAT, "%s: empty file (want a PNG image)", name);
    if (len < 8 || png_sig_cmp(d, 0, 8) != 0) {
        const char *what = sniff(d, len);
        if (what)
            return scnn_fail(SCNN_ERR_FORMAT, "%s: not a PNG (looks like %s): only PNG is accepted",
                             name, what);
        return scnn_fail(SCNN_ERR_FORMAT, "%s: not a PNG (no PNG signature): only PNG is accepted",
                         name);
    }
    /* IHDR must be the first chunk; libpng itself rejects a file where it is not. */
    if (len >= 24 && memcmp(d + 12, "IHDR", 4) == 0) {
        uint32_t w = be32(d + 16), h = be32(d + 20);
        if (w > SCNN_PNG_MAX_DIM || h > SCNN_PNG_MAX_DIM)
            return scnn_fail(SCNN_ERR_SHAPE, "%s: %ux%u pixels, larger than the %dx%d accepted",
                             name, w, h, SCNN_PNG_MAX_DIM, SCNN_PNG_MAX_DIM);
    }

    /* Every chunk must fit in the file: libpng allocates what a chunk's length word says before
     * it reads the data, and Debian's libpng does not bound a tEXt chunk by the chunk limit set
     * above, so a 100-byte file asked for 1.3 GB (fuzz/corpus/png/finding-chunk-length-1g). */
    for (size_t pos = 8; pos + 8 <= len;) {
        uint32_t clen = be32(d + pos);
        if (clen > len - pos - 8)
            return scnn_fail(SCNN_ERR_FORMAT, "%s: truncated PNG: the file ends before its image does",
                             name);
        if (memcmp(d + pos + 4, "IEND", 4) == 0)
            break;
        pos += 12 + (size_t)clen;
    }

    png_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return scnn_fail(SCNN_ERR_NOMEM, "%s: out of memory", name);
    c->data = d;
    c->len = len;
    if (!decode_libpng(c, img)) {
        memset(img, 0, sizeof *img);
        scnn_status st = decode_failure(name, c->msg);
        ctx_free(c);
        return st;
    }
    img->px = c->px;
    c->px = NULL;
    ctx_free(c);
    return SCNN_OK;
}

void scnn_image_free(scnn_image *img)
{
    if (!img)
        return;
    free(img->px);
    img->px = NULL;
    img->width = img->height = img->channels = 0;
}

scnn_status scnn_png_read(scnn_image *img, const char *path)
{
    if (img)
        memset(img, 0, sizeof *img);
    if (!img || !path)
        return scnn_fail(SCNN_ERR_ARG, "scnn_png_read: NULL argument");
    uint8_t *data;
    size_t len;
    scnn_status st = scnn_read_file(path, SCNN_PNG_MAX_FILE, &data, &len);
    if (st)
        return st;
    st = scnn_png_decode(img, data, len, path);
    free(data);
    return st;
}

scnn_status scnn_png_read_gray8(const char *path, uint8_t *px, int w, int h)
{
    if (!path || !px)
        return scnn_fail(SCNN_ERR_ARG, "scnn_png_read_gray8: NULL argument");
    scnn_image img;
    scnn_status st = scnn_png_read(&img, path);
    if (st)
        return st;
    if (img.width != w || img.height != h || img.channels != 1 ||
        strcmp(img.format, "8-bit gray") != 0) {
        st = scnn_fail(SCNN_ERR_SHAPE, "%s: %dx%d %s image, want %dx%d 8-bit gray (as `scnn "
                       "extract` writes)", path, img.width, img.height, img.format, w, h);
        scnn_image_free(&img);
        return st;
    }
    memcpy(px, img.px, (size_t)w * (size_t)h);
    scnn_image_free(&img);
    return SCNN_OK;
}

scnn_status scnn_png_encode_gray8(const uint8_t *px, int w, int h, uint8_t **out, size_t *len)
{
    if (out)
        *out = NULL;
    if (len)
        *len = 0;
    if (!px || !out || !len || w < 1 || h < 1 || w > SCNN_PNG_MAX_DIM || h > SCNN_PNG_MAX_DIM)
        return scnn_fail(SCNN_ERR_ARG, "scnn_png_encode_gray8: bad argument");
    png_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return scnn_fail(SCNN_ERR_NOMEM, "out of memory encoding a PNG");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, c, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_write_struct(png ? &png : NULL, NULL);
        ctx_free(c);
        return scnn_fail(SCNN_ERR_NOMEM, "out of memory encoding a PNG");
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        scnn_status st = scnn_fail(SCNN_ERR_NOMEM, "encoding a PNG failed: %s", c->msg);
        ctx_free(c);
        return st;
    }
    png_set_write_fn(png, c, mem_write, mem_flush);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_GRAY,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < h; y++)
        png_write_row(png, px + (size_t)y * (size_t)w);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    *out = c->buf;
    *len = c->blen;
    c->buf = NULL;
    ctx_free(c);
    return SCNN_OK;
}

scnn_status scnn_png_write_gray8(const char *path, const uint8_t *px, int w, int h)
{
    if (!path)
        return scnn_fail(SCNN_ERR_ARG, "scnn_png_write_gray8: NULL path");
    uint8_t *buf;
    size_t len;
    scnn_status st = scnn_png_encode_gray8(px, w, h, &buf, &len);
    if (st)
        return st;
    /* A hidden temporary beside path: the tree loader skips hidden files. Not fsynced: an
     * extracted tree is rebuilt from the IDX files. */
    st = scnn_write_file(path, buf, len, SCNN_WRITE_HIDDEN_TMP);
    free(buf);
    return st;
}

/* ---- a user's image as the model's input ----------------------------------------------------- */

static void note(char *notes, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void note(char *notes, size_t len, const char *fmt, ...)
{
    if (!notes || !len)
        return;
    size_t used = strlen(notes);
    if (used && used + 2 < len) {
        strcpy(notes + used, "; ");
        used += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    if (used < len)
        vsnprintf(notes + used, len - used, fmt, ap);
    va_end(ap);
}

/* Gray value of pixel x of row p, composited on bg (0..255). */
static double gray_at(const uint8_t *p, int ch, double bg)
{
    double v = ch >= 3 ? 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2] : p[0];
    if (ch == 2 || ch == 4) {
        double a = p[ch - 1] / 255.0;
        v = a * v + (1.0 - a) * bg;
    }
    return v;
}

/* Area average of canvas samples src(j), j in [0, s), over output cell i of SCNN_IMG_W cells:
 * the canvas interval [i*s/28, (i+1)*s/28), partial samples weighted by their overlap. */
static double area_mean(const double *src, int s, int i, int cells)
{
    double lo = (double)i * s / cells, hi = (double)(i + 1) * s / cells, sum = 0;
    for (int j = (int)floor(lo); j < s && j < hi; j++) {
        double ov = fmin(hi, j + 1.0) - fmax(lo, (double)j);
        if (ov > 0)
            sum += ov * src[j];
    }
    return sum / (hi - lo);
}

scnn_status scnn_image_to_input(const scnn_image *img, bool invert, uint8_t out[SCNN_PIXELS],
                                char *notes, size_t notes_len)
{
    if (notes && notes_len)
        notes[0] = 0;
    const int w = img->width, h = img->height, ch = img->channels;
    const int s = w > h ? w : h, ox = (s - w) / 2, oy = (s - h) / 2;
    const double bg = invert ? 255.0 : 0.0;
    const char *bg_name = invert ? "white" : "black";

    if (img->decoded[0])
        note(notes, notes_len, "%s", img->decoded);
    if (ch >= 3)
        note(notes, notes_len, "converted %s to gray (luma 0.299 R + 0.587 G + 0.114 B)",
             ch == 3 ? "RGB" : "RGBA");
    if (ch == 2 || ch == 4) {
        bool translucent = false;
        for (size_t i = 0; !translucent && i < (size_t)w * h; i++)
            translucent = img->px[i * ch + ch - 1] != 255;
        if (translucent)
            note(notes, notes_len, "composited transparent pixels on %s", bg_name);
    }
    if (w != h)
        note(notes, notes_len, "centred %dx%d on a %dx%d %s square", w, h, s, s, bg_name);
    if (s != SCNN_IMG_W)
        note(notes, notes_len, "resized %dx%d to %dx%d (area average)", s, s, SCNN_IMG_W,
             SCNN_IMG_H);

    /* Horizontal pass over each image row (on the square canvas), then vertical over the
     * canvas rows; the canvas itself is never built. */
    double *row = malloc((size_t)s * sizeof *row), *col = malloc((size_t)s * sizeof *col);
    double *tmp = malloc((size_t)s * SCNN_IMG_W * sizeof *tmp);
    if (!row || !col || !tmp) {
        free(row);
        free(col);
        free(tmp);
        return scnn_fail(SCNN_ERR_NOMEM, "out of memory converting a %dx%d image", w, h);
    }
    for (int y = 0; y < s; y++) {
        if (y < oy || y >= oy + h) {
            for (int x = 0; x < SCNN_IMG_W; x++)
                tmp[(size_t)y * SCNN_IMG_W + x] = bg;
            continue;
        }
        const uint8_t *p = img->px + (size_t)(y - oy) * w * ch;
        for (int x = 0; x < s; x++)
            row[x] = x < ox || x >= ox + w ? bg : gray_at(p + (size_t)(x - ox) * ch, ch, bg);
        for (int x = 0; x < SCNN_IMG_W; x++)
            tmp[(size_t)y * SCNN_IMG_W + x] = area_mean(row, s, x, SCNN_IMG_W);
    }
    for (int x = 0; x < SCNN_IMG_W; x++) {
        for (int y = 0; y < s; y++)
            col[y] = tmp[(size_t)y * SCNN_IMG_W + x];
        for (int y = 0; y < SCNN_IMG_H; y++) {
            double v = floor(area_mean(col, s, y, SCNN_IMG_H) + 0.5);
            v = v < 0 ? 0 : v > 255 ? 255 : v;
            out[y * SCNN_IMG_W + x] = (uint8_t)(invert ? 255 - (int)v : (int)v);
        }
    }
    free(row);
    free(col);
    free(tmp);

    double border = 0;
    for (int i = 0; i < SCNN_IMG_W; i++)
        border += out[i] + out[(SCNN_IMG_H - 1) * SCNN_IMG_W + i];
    for (int i = 1; i < SCNN_IMG_H - 1; i++)
        border += out[i * SCNN_IMG_W] + out[i * SCNN_IMG_W + SCNN_IMG_W - 1];
    border /= 2.0 * SCNN_IMG_W + 2.0 * (SCNN_IMG_H - 2);
    if (border > 127.5)
        note(notes, notes_len,
             "the border is light (mean %.0f) but the model expects a light object on black%s",
             border, invert ? ": try without --invert" : ": try --invert");
    return SCNN_OK;
}
