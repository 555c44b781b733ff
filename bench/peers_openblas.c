/* Peer: OpenBLAS cblas_sgemm, on the model's GEMM shapes. Built only with -DSCNN_HAVE_OPENBLAS
 * (bench.mk defines it when <cblas.h> and -lopenblas are there); otherwise stubs say why. */
#include <stdio.h>

#include "bench/bench_ops.h"

#ifdef SCNN_HAVE_OPENBLAS
#include <cblas.h>

bool peer_openblas_built(const char **why_not)
{
    *why_not = "";
    return true;
}

const char *peer_openblas_version(void)
{
    static char buf[256];
    snprintf(buf, sizeof buf, "%s (core %s)", openblas_get_config(), openblas_get_corename());
    return buf;
}

const char *peer_openblas_core(void)
{
    return openblas_get_corename();
}

void peer_openblas_set_threads(int threads)
{
    openblas_set_num_threads(threads);
}

int peer_openblas_threads(void)
{
    return openblas_get_num_threads();
}

void peer_openblas_gemm(bool ta, bool tb, int m, int n, int kk, float alpha, const float *a,
                        int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m,
                n, kk, alpha, a, lda, b, ldb, beta, c, ldc);
}

#else

bool peer_openblas_built(const char **why_not)
{
    *why_not = "not built: <cblas.h> or -lopenblas was missing at build time "
               "(apt-get install libopenblas-dev, then rebuild)";
    return false;
}

const char *peer_openblas_version(void)
{
    return "not built";
}

const char *peer_openblas_core(void)
{
    return "";
}

void peer_openblas_set_threads(int threads)
{
    (void)threads;
}

int peer_openblas_threads(void)
{
    return 1;
}

void peer_openblas_gemm(bool ta, bool tb, int m, int n, int kk, float alpha, const float *a,
                        int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    (void)ta, (void)tb, (void)m, (void)n, (void)kk, (void)alpha, (void)a, (void)lda, (void)b;
    (void)ldb, (void)beta, (void)c, (void)ldc;
}

#endif
