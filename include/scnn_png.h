/* PNG images (datasets/png.c) and the seed's PNG folder layout (datasets/png_tree.c).
 *
 * The layout: ROOT/{train,test}/<dataset>/<label>/<index>.png, one 28x28 8-bit grayscale PNG per
 * image, <index> its position in the IDX file (no leading zeros), <label> 0..9. The IDX part
 * "train" is the folder train/, "t10k" is test/. */
#ifndef SCNN_PNG_H
#define SCNN_PNG_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scnn.h"

/* Larger images are refused before anything is allocated for their pixels. */
#define SCNN_PNG_MAX_DIM 4096
#define SCNN_PNG_MAX_FILE (64u << 20)

/* ---- decoding and encoding ------------------------------------------------------------------ */

/* A decoded image, 8 bits per sample, rows top to bottom: channels 1 gray, 2 gray+alpha, 3 RGB,
 * 4 RGBA. */
typedef struct scnn_image {
    int width, height, channels;
    uint8_t *px;                 /* [height][width][channels] */
    char format[40];             /* what the file held: "8-bit gray", "16-bit RGBA", "4-bit
                                  * palette", "8-bit gray+transparency" */
    char decoded[48];            /* how decoding changed the samples ("scaled 16-bit samples to 8
                                  * bits", "expanded the palette to RGB"); "" when it did not */
} scnn_image;

/* Decodes any valid PNG of at most SCNN_PNG_MAX_DIM x SCNN_PNG_MAX_DIM: palettes expand to RGB,
 * tRNS to an alpha channel, 1/2/4-bit gray to 8 bits, 16-bit samples are scaled to 8 bits
 * (rounded). Gamma and colour profiles are ignored: samples are taken as they are. Errors (empty,
 * not a PNG, truncated, bad CRC, bad zlib data, too large) are SCNN_ERR_FORMAT or SCNN_ERR_SHAPE
 * with a message that starts with name. */
scnn_status scnn_png_decode(scnn_image *img, const void *data, size_t len, const char *name);
/* Reads path (a regular file of at most SCNN_PNG_MAX_FILE bytes) and decodes it. */
scnn_status scnn_png_read(scnn_image *img, const char *path);
void scnn_image_free(scnn_image *img);

/* Strict: path must be a w x h 8-bit grayscale PNG (what scnn_png_write_gray8 writes); px gets
 * w*h bytes. Anything else is an error naming the file and saying what it holds. */
scnn_status scnn_png_read_gray8(const char *path, uint8_t *px, int w, int h);
/* An 8-bit grayscale PNG of px [h][w] in memory (*out malloc'd). The same pixels always give the
 * same bytes (no time or text chunks). */
scnn_status scnn_png_encode_gray8(const uint8_t *px, int w, int h, uint8_t **out, size_t *len);
/* Encodes and writes path through a temporary file in the same folder and a rename, so path
 * is either absent, its old content, or complete; not fsynced. */
scnn_status scnn_png_write_gray8(const char *path, const uint8_t *px, int w, int h);

/* ---- a user's image as the model's input ---------------------------------------------------- */

/* Turns any decoded image into a 28x28 gray image in Fashion-MNIST's convention (a light object
 * on black), in this order:
 *   colour -> gray with luma 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601, as PIL's convert("L"));
 *   alpha  -> composited onto the background: black, or white when invert (so that transparent
 *             areas end up black either way);
 *   not square -> centred on a square canvas of that background colour (proportions kept);
 *   not 28x28 -> resized by area averaging (each output pixel is the mean of the input area it
 *             covers, partial pixels weighted by their overlap);
 *   invert -> 255 - v (for dark objects on a light background, as in most photos).
 * A 28x28 8-bit gray image without alpha passes through unchanged. notes (may be NULL) gets a
 * "; "-separated account of every conversion made ("" when none), and a hint when the result's
 * border is light (the background looks wrong for the model). Fails only for lack of memory. */
scnn_status scnn_image_to_input(const scnn_image *img, bool invert, uint8_t out[SCNN_PIXELS],
                                char *notes, size_t notes_len);

/* ---- the PNG folder layout (datasets/png_tree.c) --------------------------------------------- */

typedef struct scnn_extract_stats {
    size_t written;     /* new or replaced files */
    size_t unchanged;   /* already there with exactly the bytes we would write */
    size_t removed;     /* stale files: an index in the wrong class folder, leftover temp files */
} scnn_extract_stats;

/* Writes root/<train|test>/<dataset>/<label>/<index>.png for the first limit images of ds
 * (0: all), ds being the IDX part "train" or "t10k". Re-running is safe: identical files are
 * kept, others replaced atomically. progress (may be NULL) is called now and then; when *stop
 * becomes non-zero (a signal handler) it stops between files and fails with "interrupted". */
scnn_status scnn_png_tree_extract(const scnn_dataset *ds, const char *root, const char *dataset,
                                  const char *part, size_t limit,
                                  void (*progress)(size_t done, size_t total, void *ctx), void *ctx,
                                  const volatile sig_atomic_t *stop, scnn_extract_stats *stats);

#endif
