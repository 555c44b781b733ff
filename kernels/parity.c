/* The parity comparison: see kernels/parity.h. */
#include <math.h>

#include "kernels/parity.h"

static double rms_finite(const float *x, size_t n)
{
    double s = 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(x[i])) {
            s += (double)x[i] * x[i];
            m++;
        }
    return m ? sqrt(s / (double)m) : 0.0;
}

bool scnn_parity_compare(const float *got, const float *ref, size_t n, double rel_tol,
                         scnn_parity *p)
{
    *p = (scnn_parity){.n = n, .rms = rms_finite(ref, n)};
    for (size_t i = 0; i < n; i++) {
        const bool finite = isfinite(got[i]) && isfinite(ref[i]);
        const double err = finite ? fabs((double)got[i] - (double)ref[i]) : INFINITY;
        const double scale = fmax(fabs((double)ref[i]), p->rms);
        const double rel = err == 0 ? 0 : scale > 0 ? err / scale : INFINITY;
        const bool ok = rel_tol == 0 ? finite && got[i] == ref[i] : rel <= rel_tol;
        p->max_abs = fmax(p->max_abs, err);
        p->max_rel = fmax(p->max_rel, rel);
        if (!ok && p->bad++ == 0)
            p->first = i;
    }
    return p->bad == 0;
}
