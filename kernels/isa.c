/* SCNN_HIDE_ISA (kernels/isa.h): its own object, so that the SIMD backends that call it do not
 * refer back to the registry that refers to them. */
#include <stdlib.h>
#include <string.h>

#include "kernels/isa.h"

bool scnn_isa_hidden(const char *isa)
{
    const char *list = getenv("SCNN_HIDE_ISA");
    const size_t n = strlen(isa);
    for (const char *p = list; p && *p;) {
        const char *end = strchr(p, ',');
        const size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, isa, n) == 0)
            return true;
        p = end ? end + 1 : p + len;
    }
    return false;
}

bool scnn_isa_usable(const char *isa, bool cpu_has, const char *lacks, const char *hidden,
                     const char **why_not)
{
    /* hidden first: the test hook names itself on a CPU without the ISA too */
    const char *why = scnn_isa_hidden(isa) ? hidden : !cpu_has ? lacks : "";
    if (why_not)
        *why_not = why;
    return why[0] == 0;
}
