/* The naive backend: plain loops, the reference every other backend is checked against.
 *
 * Every sum is accumulated in double and rounded to float once, at the end (as NNPACK's
 * reference kernels do), so the reference is more accurate than any float kernel it judges.
 * The loop orders keep the innermost loop on contiguous memory, because the training tests
 * run this backend too. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "backend.h"
#include "scnn.h"

/* Output channels handled per pass, so that accumulators fit on the stack for any k. */
#define KBLOCK 64

/* Backward-filter's double accumulators for one (kh,kw) slice: c*k doubles. */
static size_t naive_conv2d_workspace(const scnn_conv2d *d)
{
    return (size_t)d->c * d->k * sizeof(double);
}

/* x [n,h,w,c], w [kh,kw,c,k], b [k] -> y [n,p,q,k] = (relu?)(conv(x,w) + b) */
static void naive_conv2d_forward(const scnn_conv2d *d, const float *x, const float *w,
                                 const float *b, float *y, void *ws)
{
    (void)ws;
    const int c = d->c, k = d->k;
    for (int n = 0; n < d->n; n++)
        for (int p = 0; p < d->p; p++)
            for (int q = 0; q < d->q; q++) {
                float *yrow = y + (((size_t)n * d->p + p) * d->q + q) * k;
                for (int k0 = 0; k0 < k; k0 += KBLOCK) {
                    const int kn = k - k0 < KBLOCK ? k - k0 : KBLOCK;
                    double acc[KBLOCK];
                    for (int kk = 0; kk < kn; kk++)
                        acc[kk] = b ? (double)b[k0 + kk] : 0.0;
                    for (int i = 0; i < d->kh; i++) {
                        const int ih = p - d->pad_top + i;
                        if (ih < 0 || ih >= d->h)
                            continue;
                        for (int j = 0; j < d->kw; j++) {
                            const int iw = q - d->pad_left + j;
                            if (iw < 0 || iw >= d->w)
                                continue;
                            const float *xrow = x + (((size_t)n * d->h + ih) * d->w + iw) * c;
                            const float *wij = w + ((size_t)i * d->kw + j) * c * k + k0;
                            for (int ci = 0; ci < c; ci++) {
                                const double xv = xrow[ci];
                                const float *wrow = wij + (size_t)ci * k;
                                int kk = 0; /* by four: gcc -O2 then uses SSE2 pairs */
                                for (; kk + 4 <= kn; kk += 4) {
                                    acc[kk] += xv * wrow[kk];
                                    acc[kk + 1] += xv * wrow[kk + 1];
                                    acc[kk + 2] += xv * wrow[kk + 2];
                                    acc[kk + 3] += xv * wrow[kk + 3];
                                }
                                for (; kk < kn; kk++)
                                    acc[kk] += xv * wrow[kk];
                            }
                        }
                    }
                    for (int kk = 0; kk < kn; kk++) {
                        float v = (float)acc[kk];
                        if (d->relu && v < 0.0f)
                            v = 0.0f;
                        yrow[k0 + kk] = v;
                    }
                }
            }
}

/* dy [n,p,q,k], w [kh,kw,c,k] -> dx [n,h,w,c]: gather form,
 * dx[n,y,x,c] = sum over (i,j,kk) of dy[n, y+pad_top-i, x+pad_left-j, kk] * w[i,j,c,kk]. */
static void naive_conv2d_backward_data(const scnn_conv2d *d, const float *dy, const float *w,
                                       float *dx, void *ws)
{
    (void)ws;
    const int c = d->c, k = d->k;
    for (int n = 0; n < d->n; n++)
        for (int yy = 0; yy < d->h; yy++)
            for (int xx = 0; xx < d->w; xx++)
                for (int ci = 0; ci < c; ci++) {
                    /* Four partial sums only break the add-latency chain; all are double. */
                    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                    for (int i = 0; i < d->kh; i++) {
                        const int p = yy + d->pad_top - i;
                        if (p < 0 || p >= d->p)
                            continue;
                        for (int j = 0; j < d->kw; j++) {
                            const int q = xx + d->pad_left - j;
                            if (q < 0 || q >= d->q)
                                continue;
                            const float *dyrow = dy + (((size_t)n * d->p + p) * d->q + q) * k;
                            const float *wrow = w + (((size_t)i * d->kw + j) * c + ci) * k;
                            int kk = 0;
                            for (; kk + 4 <= k; kk += 4) {
                                s0 += (double)dyrow[kk] * wrow[kk];
                                s1 += (double)dyrow[kk + 1] * wrow[kk + 1];
                                s2 += (double)dyrow[kk + 2] * wrow[kk + 2];
                                s3 += (double)dyrow[kk + 3] * wrow[kk + 3];
                            }
                            for (; kk < k; kk++)
                                s0 += (double)dyrow[kk] * wrow[kk];
                        }
                    }
                    dx[(((size_t)n * d->h + yy) * d->w + xx) * c + ci] =
                        (float)((s0 + s1) + (s2 + s3));
                }
}

/* dw[i,j,c,kk] = sum over (n,p,q) of x[n, p-pad_top+i, q-pad_left+j, c] * dy[n,p,q,kk], one
 * (i,j) slice at a time so that its [c,k] accumulators stay in cache. */
static void filter_slice(const scnn_conv2d *d, const float *x, const float *dy, int i, int j,
                         double *acc)
{
    const int c = d->c, k = d->k;
    memset(acc, 0, sizeof *acc * (size_t)c * k);
    for (int n = 0; n < d->n; n++)
        for (int p = 0; p < d->p; p++) {
            const int ih = p - d->pad_top + i;
            if (ih < 0 || ih >= d->h)
                continue;
            for (int q = 0; q < d->q; q++) {
                const int iw = q - d->pad_left + j;
                if (iw < 0 || iw >= d->w)
                    continue;
                const float *xrow = x + (((size_t)n * d->h + ih) * d->w + iw) * c;
                const float *dyrow = dy + (((size_t)n * d->p + p) * d->q + q) * k;
                for (int ci = 0; ci < c; ci++) {
                    const double xv = xrow[ci];
                    double *arow = acc + (size_t)ci * k;
                    int kk = 0;
                    for (; kk + 4 <= k; kk += 4) {
                        arow[kk] += xv * dyrow[kk];
                        arow[kk + 1] += xv * dyrow[kk + 1];
                        arow[kk + 2] += xv * dyrow[kk + 2];
                        arow[kk + 3] += xv * dyrow[kk + 3];
                    }
                    for (; kk < k; kk++)
                        arow[kk] += xv * dyrow[kk];
                }
            }
        }
}

/* x [n,h,w,c], dy [n,p,q,k] -> dw [kh,kw,c,k], db [k] (db may be NULL) */
static void naive_conv2d_backward_filter(const scnn_conv2d *d, const float *x, const float *dy,
                                         float *dw, float *db, void *ws)
{
    const int c = d->c, k = d->k;
    const size_t slice = (size_t)c * k;
    /* Callers that pass no workspace (tests) get a temporary one. */
    double *acc = ws ? ws : malloc(sizeof *acc * slice);
    for (int i = 0; i < d->kh; i++)
        for (int j = 0; j < d->kw; j++) {
            float *dwij = dw + ((size_t)i * d->kw + j) * slice;
            if (acc) {
                filter_slice(d, x, dy, i, j, acc);
                for (size_t e = 0; e < slice; e++)
                    dwij[e] = (float)acc[e];
                continue;
            }
            /* No memory for the accumulators: the same sums, one weight at a time. */
            for (int ci = 0; ci < c; ci++)
                for (int kk = 0; kk < k; kk++) {
                    double s = 0;
                    for (int n = 0; n < d->n; n++)
                        for (int p = 0; p < d->p; p++)
                            for (int q = 0; q < d->q; q++) {
                                const int ih = p - d->pad_top + i, iw = q - d->pad_left + j;
                                if (ih < 0 || ih >= d->h || iw < 0 || iw >= d->w)
                                    continue;
                                s += (double)x[(((size_t)n * d->h + ih) * d->w + iw) * c + ci] *
                                     dy[(((size_t)n * d->p + p) * d->q + q) * k + kk];
                            }
                    dwij[(size_t)ci * k + kk] = (float)s;
                }
        }
    if (!ws)
        free(acc);
    if (!db)
        return;
    const size_t rows = (size_t)d->n * d->p * d->q;
    for (int k0 = 0; k0 < k; k0 += KBLOCK) {
        const int kn = k - k0 < KBLOCK ? k - k0 : KBLOCK;
        double s[KBLOCK] = {0};
        for (size_t r = 0; r < rows; r++)
            for (int kk = 0; kk < kn; kk++)
                s[kk] += dy[r * k + k0 + kk];
        for (int kk = 0; kk < kn; kk++)
            db[k0 + kk] = (float)s[kk];
    }
}

/* c [m,n] = alpha * op(a) [m,kk] * op(b) [kk,n] + beta * c, row-major.
 * op(a)[i][l] = ta ? a[l*lda+i] : a[i*lda+l]; op(b)[l][j] = tb ? b[j*ldb+l] : b[l*ldb+j]. */
static void naive_gemm(bool ta, bool tb, int m, int n, int kk, float alpha, const float *a,
                       int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    for (int i = 0; i < m; i++)
        for (int j0 = 0; j0 < n; j0 += KBLOCK) {
            const int jn = n - j0 < KBLOCK ? n - j0 : KBLOCK;
            double acc[KBLOCK] = {0};
            if (!tb) {
                /* rows of b are contiguous: accumulate a row of c at once */
                for (int l = 0; l < kk; l++) {
                    const double av = ta ? a[(size_t)l * lda + i] : a[(size_t)i * lda + l];
                    const float *brow = b + (size_t)l * ldb + j0;
                    for (int jj = 0; jj < jn; jj++)
                        acc[jj] += av * brow[jj];
                }
            } else {
                /* rows of b^T's source are contiguous in l: one dot product per element */
                for (int jj = 0; jj < jn; jj++) {
                    const float *bcol = b + (size_t)(j0 + jj) * ldb;
                    double s = 0;
                    for (int l = 0; l < kk; l++)
                        s += (double)(ta ? a[(size_t)l * lda + i] : a[(size_t)i * lda + l]) *
                             bcol[l];
                    acc[jj] = s;
                }
            }
            float *crow = c + (size_t)i * ldc + j0;
            for (int jj = 0; jj < jn; jj++)
                crow[jj] = beta == 0.0f ? (float)(alpha * acc[jj])
                                        : (float)(alpha * acc[jj] + (double)beta * crow[jj]);
        }
}

/* y [rows,cols] += bias [cols], then ReLU if relu (in place). NaN stays NaN. */
static void naive_bias_act(int rows, int cols, float *y, const float *bias, bool relu)
{
    for (size_t r = 0; r < (size_t)rows; r++)
        for (int j = 0; j < cols; j++) {
            float v = y[r * cols + j] + bias[j];
            if (relu && v < 0.0f)
                v = 0.0f;
            y[r * cols + j] = v;
        }
}

/* dy [rows,cols] -> db [cols] = column sums */
static void naive_bias_grad(int rows, int cols, const float *dy, float *db)
{
    for (int j0 = 0; j0 < cols; j0 += KBLOCK) {
        const int jn = cols - j0 < KBLOCK ? cols - j0 : KBLOCK;
        double s[KBLOCK] = {0};
        for (size_t r = 0; r < (size_t)rows; r++)
            for (int jj = 0; jj < jn; jj++)
                s[jj] += dy[r * cols + j0 + jj];
        for (int jj = 0; jj < jn; jj++)
            db[j0 + jj] = (float)s[jj];
    }
}

/* y, dy [count]: dy = y > 0 ? dy : 0 */
static void naive_relu_backward(size_t count, const float *y, float *dy)
{
    for (size_t i = 0; i < count; i++)
        if (!(y[i] > 0.0f))
            dy[i] = 0.0f;
}

/* x [n,h,w,c] -> y [n,h/2,w/2,c], idx [n,h/2,w/2,c] = dy*2+dx of the first maximum */
static void naive_maxpool_forward(int n, int h, int w, int c, const float *x, float *y,
                                  uint8_t *idx)
{
    const int ph = h / 2, pw = w / 2;
    for (int b = 0; b < n; b++)
        for (int oy = 0; oy < ph; oy++)
            for (int ox = 0; ox < pw; ox++)
                for (int ch = 0; ch < c; ch++) {
                    float best = 0.0f;
                    int arg = 0;
                    for (int t = 0; t < 4; t++) {
                        const int iy = 2 * oy + t / 2, ix = 2 * ox + t % 2;
                        const float v = x[(((size_t)b * h + iy) * w + ix) * c + ch];
                        if (t == 0 || v > best) {
                            best = v;
                            arg = t;
                        }
                    }
                    const size_t o = (((size_t)b * ph + oy) * pw + ox) * c + ch;
                    y[o] = best;
                    idx[o] = (uint8_t)arg;
                }
}

/* dy [n,h/2,w/2,c], idx -> dx [n,h,w,c] */
static void naive_maxpool_backward(int n, int h, int w, int c, const float *dy,
                                   const uint8_t *idx, float *dx)
{
    const int ph = h / 2, pw = w / 2;
    memset(dx, 0, sizeof *dx * (size_t)n * h * w * c);
    for (int b = 0; b < n; b++)
        for (int oy = 0; oy < ph; oy++)
            for (int ox = 0; ox < pw; ox++)
                for (int ch = 0; ch < c; ch++) {
                    const size_t o = (((size_t)b * ph + oy) * pw + ox) * c + ch;
                    const int iy = 2 * oy + idx[o] / 2, ix = 2 * ox + idx[o] % 2;
                    dx[(((size_t)b * h + iy) * w + ix) * c + ch] = dy[o];
                }
}

/* x [m,c] -> y [m,c], mean [c], invstd [c]; updates run_mean [c], run_var [c] */
static void naive_batchnorm_forward_train(int m, int c, const float *x, const float *gamma,
                                          const float *beta, float eps, float momentum,
                                          bool unbiased_var, float *y, float *mean, float *invstd,
                                          float *run_mean, float *run_var)
{
    for (int ch = 0; ch < c; ch++) {
        double s = 0;
        for (size_t r = 0; r < (size_t)m; r++)
            s += x[r * c + ch];
        const double mu = s / m;
        double ss = 0;
        for (size_t r = 0; r < (size_t)m; r++) {
            const double e = x[r * c + ch] - mu;
            ss += e * e;
        }
        const double var = ss / m; /* biased: the one that normalises */
        const double is = 1.0 / sqrt(var + (double)eps);
        for (size_t r = 0; r < (size_t)m; r++)
            y[r * c + ch] = (float)((double)gamma[ch] * ((double)x[r * c + ch] - mu) * is +
                                    (double)beta[ch]);
        mean[ch] = (float)mu;
        invstd[ch] = (float)is;
        const double stat_var = unbiased_var && m > 1 ? var * m / (m - 1) : var;
        run_mean[ch] = (float)((double)momentum * run_mean[ch] + (1.0 - (double)momentum) * mu);
        run_var[ch] =
            (float)((double)momentum * run_var[ch] + (1.0 - (double)momentum) * stat_var);
    }
}

/* x [m,c] -> y [m,c] with the running statistics */
static void naive_batchnorm_forward_infer(int m, int c, const float *x, const float *gamma,
                                          const float *beta, const float *run_mean,
                                          const float *run_var, float eps, float *y)
{
    for (int ch = 0; ch < c; ch++) {
        const double is = 1.0 / sqrt((double)run_var[ch] + (double)eps);
        for (size_t r = 0; r < (size_t)m; r++)
            y[r * c + ch] = (float)((double)gamma[ch] * ((double)x[r * c + ch] - run_mean[ch]) *
                                        is +
                                    (double)beta[ch]);
    }
}

/* x, dy [m,c] -> dx [m,c], dgamma [c], dbeta [c]. With xhat = (x-mean)*invstd:
 * dbeta = sum dy, dgamma = sum dy*xhat, dx = gamma*invstd/m * (m*dy - dbeta - xhat*dgamma). */
static void naive_batchnorm_backward(int m, int c, const float *x, const float *dy,
                                     const float *gamma, const float *mean, const float *invstd,
                                     float *dx, float *dgamma, float *dbeta)
{
    for (int ch = 0; ch < c; ch++) {
        const double mu = mean[ch], is = invstd[ch];
        double sdy = 0, sdyx = 0;
        for (size_t r = 0; r < (size_t)m; r++) {
            sdy += dy[r * c + ch];
            sdyx += (double)dy[r * c + ch] * (((double)x[r * c + ch] - mu) * is);
        }
        const double scale = (double)gamma[ch] * is / m;
        for (size_t r = 0; r < (size_t)m; r++) {
            const double xhat = ((double)x[r * c + ch] - mu) * is;
            dx[r * c + ch] = (float)(scale * ((double)m * dy[r * c + ch] - sdy - xhat * sdyx));
        }
        dgamma[ch] = (float)sdyx;
        dbeta[ch] = (float)sdy;
    }
}

/* x, mask, y [count]: y = x * mask */
static void naive_mul(size_t count, const float *x, const float *mask, float *y)
{
    for (size_t i = 0; i < count; i++)
        y[i] = x[i] * mask[i];
}

/* logits [n,classes], labels [n] -> probs [n,classes], dlogits [n,classes] (or NULL);
 * returns the mean of -log(clip(p_label, 1e-7, 1-1e-7)). */
static float naive_softmax_xent(int n, int classes, const float *logits, const uint8_t *labels,
                                float *probs, float *dlogits)
{
    double loss = 0;
    for (size_t r = 0; r < (size_t)n; r++) {
        const float *l = logits + r * classes;
        double mx = l[0];
        for (int j = 1; j < classes; j++)
            if (l[j] > mx)
                mx = l[j];
        double sum = 0;
        for (int j = 0; j < classes; j++)
            sum += exp((double)l[j] - mx);
        double plabel = 0;
        for (int j = 0; j < classes; j++) {
            const double pj = exp((double)l[j] - mx) / sum;
            probs[r * classes + j] = (float)pj;
            if (j == labels[r])
                plabel = pj;
            if (dlogits)
                dlogits[r * classes + j] = (float)((pj - (j == labels[r])) / n);
        }
        plabel = fmin(fmax(plabel, 1e-7), 1.0 - 1e-7);
        loss -= log(plabel);
    }
    return (float)(loss / n);
}

/* p, g, m, v [count]; computed in double, each result rounded to float once:
 * m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g*g; p -= lr_t * m / (sqrt(v) + eps) */
static void naive_adam_update(size_t count, float *p, const float *g, float *m, float *v,
                              float lr_t, float b1, float b2, float eps)
{
    for (size_t i = 0; i < count; i++) {
        const double gi = g[i];
        const double mi = (double)b1 * m[i] + (1.0 - (double)b1) * gi;
        const double vi = (double)b2 * v[i] + (1.0 - (double)b2) * gi * gi;
        m[i] = (float)mi;
        v[i] = (float)vi;
        p[i] = (float)((double)p[i] - (double)lr_t * mi / (sqrt(vi) + (double)eps));
    }
}

/* mask [count]: 0 or 1/(1-p), four 16-bit uniforms per 64-bit draw */
static void naive_dropout_mask(size_t count, float p, uint64_t key, float *mask)
{
    const uint32_t threshold = (uint32_t)lrint((double)p * 65536.0);
    const float keep = 1.0f / (1.0f - p);
    for (size_t i = 0; i < count; i++) {
        const uint64_t r = scnn_rng_at(key, i / 4);
        mask[i] = ((r >> (16 * (i % 4))) & 0xffff) < threshold ? 0.0f : keep;
    }
}

const scnn_backend scnn_backend_naive = {
    .name = "naive",
    .description = "plain loops, the reference",
    .conv2d_workspace = naive_conv2d_workspace,
    .conv2d_forward = naive_conv2d_forward,
    .conv2d_backward_data = naive_conv2d_backward_data,
    .conv2d_backward_filter = naive_conv2d_backward_filter,
    .gemm = naive_gemm,
    .bias_act = naive_bias_act,
    .bias_grad = naive_bias_grad,
    .relu_backward = naive_relu_backward,
    .maxpool_forward = naive_maxpool_forward,
    .maxpool_backward = naive_maxpool_backward,
    .batchnorm_forward_train = naive_batchnorm_forward_train,
    .batchnorm_forward_infer = naive_batchnorm_forward_infer,
    .batchnorm_backward = naive_batchnorm_backward,
    .mul = naive_mul,
    .softmax_xent = naive_softmax_xent,
    .adam_update = naive_adam_update,
    .dropout_mask = naive_dropout_mask,
};
