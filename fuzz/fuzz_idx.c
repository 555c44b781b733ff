/* Fuzz target: the IDX reader, plain and gzip (datasets/idx.c, scnn_idx_load).
 * Input: a 2-byte big-endian length L, then L bytes of the images file, then the labels file.
 * The reader takes paths (zlib's gzopen reads plain and gzip files alike), so each part goes
 * into a memfd read back through /proc/self/fd: the very path a user's file takes. */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz/fuzz.h"
#include "scnn.h"

static int fd_images = -1, fd_labels = -1;

static void fill(int fd, const uint8_t *p, size_t n)
{
    FUZZ_CHECK(ftruncate(fd, 0) == 0);
    FUZZ_CHECK(n == 0 || pwrite(fd, p, n, 0) == (ssize_t)n);
}

SCNN_FUZZ_TARGET(idx)
{
    if (fd_images < 0) {
        fd_images = memfd_create("images", MFD_CLOEXEC);
        fd_labels = memfd_create("labels", MFD_CLOEXEC);
        FUZZ_CHECK(fd_images >= 0 && fd_labels >= 0);
    }
    size_t split = size >= 2 ? (size_t)data[0] << 8 | data[1] : 0;
    const uint8_t *p = size >= 2 ? data + 2 : data;
    size_t n = size >= 2 ? size - 2 : size;
    if (split > n)
        split = n;
    fill(fd_images, p, split);
    fill(fd_labels, p + split, n - split);
    char img[64], lab[64];
    snprintf(img, sizeof img, "/proc/self/fd/%d", fd_images);
    snprintf(lab, sizeof lab, "/proc/self/fd/%d", fd_labels);

    scnn_dataset ds;
    scnn_status st = scnn_idx_load(&ds, img, lab);
    if (st == SCNN_OK) {
        FUZZ_CHECK(ds.n >= 1 && ds.rows == 28 && ds.cols == 28 && ds.images && ds.labels);
        for (size_t i = 0; i < ds.n; i++)
            FUZZ_CHECK(ds.labels[i] < SCNN_CLASSES);
        /* Every byte the data set claims is readable (ASan checks the reads). */
        unsigned sum = 0;
        for (size_t i = 0; i < ds.n * SCNN_PIXELS; i++)
            sum += ds.images[i];
        (void)sum;
    } else {
        FUZZ_CHECK(ds.n == 0 && !ds.images && !ds.labels);
        FUZZ_CHECK(scnn_last_error()[0] && !strchr(scnn_last_error(), '\n'));
    }
    scnn_dataset_free(&ds);
    return 0;
}
