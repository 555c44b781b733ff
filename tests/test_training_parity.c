/* Training with every registered backend follows naive: 30 steps on real Fashion-MNIST (4 under
 * the sanitizers), batch 50, the same losses within float rounding (the op-by-op parity of the
 * backends is tests/test_backends.c's). */
#include "core/core.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scnn.h"

#define TRAIN_BATCH 50
#define MAX_STEPS 30

/* losses[s] of steps 0..steps-1: batch s is images s*50 .. s*50+49 */
static void train(const scnn_backend *b, const scnn_dataset *ds, int steps, float *losses)
{
    scnn_model *m;
    if (scnn_model_create(&m, TRAIN_BATCH, b, 3) != SCNN_OK)
        fail_msg("creating a model on %s: %s", b->name, scnn_last_error());
    for (int s = 0; s < steps; s++) {
        const size_t i0 = (size_t)s * TRAIN_BATCH;
        losses[s] = scnn_model_train_batch(m, ds->images + i0 * SCNN_PIXELS, ds->labels + i0,
                                           TRAIN_BATCH, NULL);
    }
    scnn_model_free(m);
}

/* mean of the last five losses (of all, if fewer) */
static double last_mean(const float *losses, int steps)
{
    const int from = steps > 5 ? steps - 5 : 0;
    double s = 0;
    for (int i = from; i < steps; i++)
        s += losses[i];
    return s / (steps - from);
}

static void test_training_parity(void **state)
{
    (void)state;
    scnn_dataset ds;
    if (scnn_dataset_load_dir(&ds, tu_data_dir("fashion_mnist"), "train") != SCNN_OK)
        fail_msg("%s (run `make data` first)", scnn_last_error());
    /* under the sanitizers naive and im2col run some 10 times slower: fewer steps */
    const char *san = getenv("SANITIZE");
    const int steps = san && strcmp(san, "1") == 0 ? 4 : MAX_STEPS;
    assert_true(ds.n >= (size_t)steps * TRAIN_BATCH);
    float ref[MAX_STEPS], got[MAX_STEPS];
    int failures = 0; /* every backend is tried, and each failure listed */
    double t0 = scnn_now();
    train(&scnn_backend_naive, &ds, steps, ref);
    print_message("naive: %d steps in %.1f s, loss %.6f -> %.6f (mean of last 5 %.6f)\n", steps,
                  scnn_now() - t0, (double)ref[0], (double)ref[steps - 1],
                  last_mean(ref, steps));
    /* learning at all, or the comparison means little */
    assert_true(last_mean(ref, steps) < ref[0]);

    for (int i = 0; i < scnn_backend_count(); i++) {
        const scnn_backend *b = scnn_backend_at(i);
        const char *why = "";
        if (b == &scnn_backend_naive || !scnn_backend_available(b, &why))
            continue;
        t0 = scnn_now();
        train(b, &ds, steps, got);
        const double fin = fabs((double)got[steps - 1] - ref[steps - 1]) / ref[steps - 1];
        const double mean = fabs(last_mean(got, steps) - last_mean(ref, steps)) /
                            last_mean(ref, steps);
        double worst = 0;
        for (int s = 0; s < steps; s++)
            worst = fmax(worst, fabs((double)got[s] - ref[s]) / ref[s]);
        print_message("%s: %d steps in %.1f s, final loss %.6f (rel diff %.2e), mean of last 5 "
                      "rel diff %.2e, worst step %.2e\n",
                      b->name, steps, scnn_now() - t0, (double)got[steps - 1], fin, mean, worst);
        /* a wrong kernel shows at once; float rounding stays near 1e-7 for the first steps,
         * then chaotic growth (Adam normalises gradients that are sums with heavy cancellation)
         * carries it towards 1e-3 by step 30 */
        double early = 0;
        for (int s = 0; s < 5 && s < steps; s++)
            early = fmax(early, fabs((double)got[s] - ref[s]) / ref[s]);
        if (!(early <= 1e-4)) {
            print_error("FAIL: backend %s, training parity: the first 5 steps' losses differ from "
                        "naive's by up to %.2e (tolerance 1e-4)\n",
                        b->name, early);
            failures++;
        }
        if (!(fin <= 1e-3) || !(mean <= 1e-3)) {
            print_error("FAIL: backend %s, training parity: final loss %.6f vs naive %.6f (rel "
                        "%.2e), mean of last 5 %.6f vs %.6f (rel %.2e); tolerance 1e-3\n",
                        b->name, (double)got[steps - 1], (double)ref[steps - 1], fin,
                        last_mean(got, steps), last_mean(ref, steps), mean);
            failures++;
        }
    }
    scnn_dataset_free(&ds);
    if (failures)
        fail_msg("%d training parity check(s) failed (listed above)", failures);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_training_parity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
