/* Every registered backend against naive, op by op, on the model's shapes and on awkward ones
 * (end to end, training with each backend against naive, is tests/test_training_parity.c).
 *
 * Covers whatever the registry holds (scnn_backend_at), skipping what this CPU/build cannot run,
 * with the table resolved as the model resolves it (NULL ops fall back to naive). Each check runs
 * twice on its inputs: with small integers (float32 sums are exact, so convolution, gemm, bias,
 * ReLU, pooling and mul must match naive EXACTLY; batchnorm, softmax and Adam use the tolerance)
 * and with uniform random numbers (tolerance 1e-4); the dropout mask must have naive's bits.
 * Every output starts as NaN (an op must overwrite it), and every op runs a second time over
 * other garbage (and a scrambled workspace sized for a bigger batch) and must give the same
 * bits. A failure names the backend, the op and the shape; all the checks of a test run, so a
 * report lists every failing case. The checks are tests/backend_checks.c's; that each fails on a
 * deliberately broken copy of a backend is tests/test_backends_broken.c's. */

#include "backend_checks.h"
#include "core/core.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scnn.h"

static void test_conv_parity(void **state)
{
    (void)state;
    scnn_backend bs[8];
    const int nb = bk_backends(bs);
    char msg[MSG];
    for (int bi = 0; bi < nb; bi++)
        for (int i = 0; i < BK_CONV_CASES; i++)
            for (int kind = 0; kind < 2; kind++)
                bk_report(check_conv(&bs[bi], bk_conv_case(i), kind, 100 + i, msg, sizeof msg), msg);
    bk_finish("convolution");
}

static void test_gemm_parity(void **state)
{
    (void)state;
    scnn_backend bs[8];
    const int nb = bk_backends(bs);
    char msg[MSG];
    static const int dims[] = {1, 3, 17, 70};
    static const float ab[][2] = {{1, 0}, {2, 0}, {1, 1}, {-2, 0.5f}};
    for (int bi = 0; bi < nb; bi++) {
        const scnn_backend *b = &bs[bi];
        uint64_t seed = 1;
        for (int t = 0; t < 4; t++)
            for (int mi = 0; mi < 4; mi++)
                for (int ni = 0; ni < 4; ni++)
                    for (int ki = 0; ki < 4; ki++, seed++) {
                        const int s = (int)(seed % 4), gap = seed % 3 ? 3 : 0;
                        for (int kind = 0; kind < 2; kind++)
                            bk_report(check_gemm(b, t & 1, t & 2, dims[mi], dims[ni], dims[ki],
                                              ab[s][0], ab[s][1], gap, kind, seed, msg,
                                              sizeof msg),
                                   msg);
                    }
        /* larger than the blocking of a fast kernel in every direction, every transpose */
        for (int t = 0; t < 4; t++)
            for (int kind = 0; kind < 2; kind++) {
                bk_report(check_gemm(b, t & 1, t & 2, 131, 150, 600, 1, 0, 5, kind, 7, msg,
                                  sizeof msg),
                       msg);
                bk_report(check_gemm(b, t & 1, t & 2, 260, 9, 300, 2, 0.5f, 0, kind, 8, msg,
                                  sizeof msg),
                       msg);
            }
    }
    bk_finish("gemm");
}

/* The model's dense products at batch 3 (forward, then dW = a^T dy and dx = dy W^T), with its
 * leading dimensions. */
static void test_gemm_model_shapes(void **state)
{
    (void)state;
    scnn_backend bs[8];
    const int nb = bk_backends(bs);
    char msg[MSG];
    static const int layers[3][2] = {{1600, 256}, {256, 64}, {64, 10}};
    const int n = 3;
    for (int bi = 0; bi < nb; bi++)
        for (int l = 0; l < 3; l++)
            for (int kind = 0; kind < 2; kind++) {
                const int in = layers[l][0], out = layers[l][1];
                const scnn_backend *b = &bs[bi];
                bk_report(check_gemm(b, false, false, n, out, in, 1, 0, 0, kind, 20 + l, msg,
                                  sizeof msg),
                       msg);
                bk_report(check_gemm(b, true, false, in, out, n, 1, 0, 0, kind, 30 + l, msg,
                                  sizeof msg),
                       msg);
                bk_report(check_gemm(b, false, true, n, in, out, 1, 0, 0, kind, 40 + l, msg,
                                  sizeof msg),
                       msg);
            }
    bk_finish("dense gemm");
}

static void test_elementwise_parity(void **state)
{
    (void)state;
    scnn_backend bs[8];
    const int nb = bk_backends(bs);
    char msg[MSG];
    /* the model's (batch 3) and odd ones */
    static const int rc[][2] = {{3, 256}, {3, 64}, {3, 10}, {3 * 121, 64}, {7, 13}, {1, 1},
                                {5, 70}, {33, 3}};
    static const int pool[][4] = {{3, 28, 28, 64}, {3, 11, 11, 64}, {2, 7, 9, 3}, {1, 5, 4, 13},
                                  {2, 3, 3, 70}, {1, 6, 6, 1}, {2, 1, 3, 5}};
    for (int bi = 0; bi < nb; bi++)
        for (int kind = 0; kind < 2; kind++) {
            for (size_t i = 0; i < sizeof rc / sizeof rc[0]; i++)
                bk_report(check_bias_relu(&bs[bi], rc[i][0], rc[i][1], kind, 50 + i, msg,
                                       sizeof msg),
                       msg);
            for (size_t i = 0; i < sizeof pool / sizeof pool[0]; i++)
                bk_report(check_maxpool(&bs[bi], pool[i][0], pool[i][1], pool[i][2], pool[i][3],
                                     kind, 70 + i, msg, sizeof msg),
                       msg);
        }
    bk_finish("element-wise/pooling");
}

static void test_norm_loss_adam_dropout_parity(void **state)
{
    (void)state;
    scnn_backend bs[8];
    const int nb = bk_backends(bs);
    char msg[MSG];
    static const int bn[][2] = {{3 * 784, 1}, {3, 64}, {7, 13}, {2, 70}, {50, 64}, {1000, 3}};
    static const int sm[][3] = {{3, 10, 5}, {50, 10, 5}, {1, 10, 5}, {7, 3, 5}, {5, 17, 50}};
    static const size_t adam[] = {1, 7, 13, 64, 1029, 1600 * 256 + 3};
    for (int bi = 0; bi < nb; bi++)
        for (int kind = 0; kind < 2; kind++) {
            for (size_t i = 0; i < sizeof bn / sizeof bn[0]; i++)
                for (int u = 0; u < 2; u++)
                    bk_report(check_batchnorm(&bs[bi], bn[i][0], bn[i][1], u, kind, 80 + i, msg,
                                           sizeof msg),
                           msg);
            for (size_t i = 0; i < sizeof sm / sizeof sm[0]; i++)
                bk_report(check_softmax(&bs[bi], sm[i][0], sm[i][1], sm[i][2], kind, 90 + i, msg,
                                     sizeof msg),
                       msg);
            for (size_t i = 0; i < sizeof adam / sizeof adam[0]; i++)
                bk_report(check_adam(&bs[bi], adam[i], kind, 95 + i, msg, sizeof msg), msg);
        }
    /* the model's three layers at batch 3 and 50, odd counts, p = 0 */
    static const size_t dm[] = {3 * 14 * 14 * 64, 50 * 1600, 3 * 256, 1, 3, 5, 13, 1029};
    static const float dp[] = {0.1f, 0.3f, 0.5f, 0.0f, 0.95f};
    for (int bi = 0; bi < nb; bi++)
        for (size_t i = 0; i < sizeof dm / sizeof dm[0]; i++)
            for (size_t j = 0; j < sizeof dp / sizeof dp[0]; j++)
                bk_report(check_dropout_mask(&bs[bi], dm[i], dp[j], tu_rand_u64(7, i * 8 + j), msg,
                                          sizeof msg),
                       msg);
    bk_finish("batchnorm/softmax/adam/dropout");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_parity),
        cmocka_unit_test(test_gemm_parity),
        cmocka_unit_test(test_gemm_model_shapes),
        cmocka_unit_test(test_elementwise_parity),
        cmocka_unit_test(test_norm_loss_adam_dropout_parity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
