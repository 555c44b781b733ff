/* Aligned allocation: one place for the rounding aligned_alloc requires. */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

void *scnn_alloc_aligned(size_t bytes)
{
    if (bytes > SIZE_MAX - 63)
        return NULL;
    size_t rounded = bytes ? (bytes + 63) & ~(size_t)63 : 64;
    void *p = aligned_alloc(64, rounded);
    if (p)
        memset(p, 0, rounded);
    return p;
}
