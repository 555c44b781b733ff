/* Aligned allocation: one place for it. posix_memalign, unlike aligned_alloc, takes any size,
 * so a buffer is exactly as large as asked and ASan sees a kernel's overrun of its tail. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

void *scnn_alloc_aligned(size_t bytes)
{
    void *p = NULL;
    if (bytes > PTRDIFF_MAX) /* can never be had (and ASan aborts on asking) */
        return NULL;
    if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0)
        return NULL;
    memset(p, 0, bytes ? bytes : 64);
    return p;
}
