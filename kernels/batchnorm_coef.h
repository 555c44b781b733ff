/* The per-channel scalar part of the SIMD batch norms (avx2, avx512): from the double sums over
 * the rows to the float coefficients of the element-wise passes, for channels [0, cn) of the
 * arrays given (the caller offsets them by its channel block). Header-only and plain C, so each
 * backend computes exactly these operations in double. */
#ifndef SCNN_KERNELS_BATCHNORM_COEF_H
#define SCNN_KERNELS_BATCHNORM_COEF_H

#include <math.h>
#include <stdbool.h>

/* mu = sum x / m (given), ss = sum (x-mu)^2 -> mean, invstd, running stats, and
 * y = x*scale + shift */
static inline void scnn_bn_train_coef(int m, int cn, const double *mu, const double *ss,
                                      float eps, float momentum, bool unbiased_var,
                                      const float *gamma, const float *beta, float *mean,
                                      float *invstd, float *run_mean, float *run_var,
                                      float *scale, float *shift)
{
    for (int j = 0; j < cn; j++) {
        const double var = ss[j] / m, is = 1.0 / sqrt(var + (double)eps);
        mean[j] = (float)mu[j];
        invstd[j] = (float)is;
        const double stat_var = unbiased_var && m > 1 ? var * m / (m - 1) : var;
        run_mean[j] = (float)((double)momentum * run_mean[j] + (1.0 - (double)momentum) * mu[j]);
        run_var[j] =
            (float)((double)momentum * run_var[j] + (1.0 - (double)momentum) * stat_var);
        const double s = (double)gamma[j] * is;
        scale[j] = (float)s;
        shift[j] = (float)((double)beta[j] - mu[j] * s);
    }
}

/* inference: y = x*scale + shift from the running statistics */
static inline void scnn_bn_infer_coef(int cn, const float *gamma, const float *beta,
                                      const float *run_mean, const float *run_var, float eps,
                                      float *scale, float *shift)
{
    for (int j = 0; j < cn; j++) {
        const double s = (double)gamma[j] / sqrt((double)run_var[j] + (double)eps);
        scale[j] = (float)s;
        shift[j] = (float)((double)beta[j] - (double)run_mean[j] * s);
    }
}

/* dx = gamma*invstd/m * (m*dy - sum dy - xhat * sum dy*xhat), xhat = (x-mean)*invstd:
 * dx = ca*dy + cb*x + ce with ca = gamma*invstd, cb = -ca*invstd*sdyx/m,
 * ce = -ca*sdy/m - cb*mean; dgamma = sdyx, dbeta = sdy. */
static inline void scnn_bn_backward_coef(int m, int cn, const double *mu, const double *is,
                                         const double *sdy, const double *sdyx,
                                         const float *gamma, float *ca, float *cb, float *ce,
                                         float *dgamma, float *dbeta)
{
    for (int j = 0; j < cn; j++) {
        const double g = (double)gamma[j] * is[j];
        const double b = -g * is[j] * sdyx[j] / m;
        ca[j] = (float)g;
        cb[j] = (float)b;
        ce[j] = (float)(-g * sdy[j] / m - b * mu[j]);
        dgamma[j] = (float)sdyx[j];
        dbeta[j] = (float)sdy[j];
    }
}

#endif
