/* The files that make `scnn train` resumable (model/train_state.h): iter-k/state.txt after each
 * epoch, and a finished iteration's result.txt and test_probs.f32 as a resumed run reads them
 * back. Their formats are checked strictly: a resume from a damaged file would continue with
 * numbers the run never had. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "model/train_state.h"

#define PATH_LEN 2300

/* The value after "key " on its own line in text, or NULL. */
static const char *find_key(const char *text, const char *key, char *val, size_t len)
{
    size_t kl = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, key, kl) == 0 && (p[kl] == ' ' || p[kl] == '=')) {
            const char *v = p + kl + 1, *e = strchr(v, '\n');
            size_t n = e ? (size_t)(e - v) : strlen(v);
            if (n >= len)
                return NULL; /* longer than any valid value */
            memcpy(val, v, n);
            val[n] = 0;
            return val;
        }
    }
    return NULL;
}

/* ---- per-epoch files ------------------------------------------------------------------------ */

scnn_status scnn_train_state_write(const char *path, const scnn_train_state *s,
                                   const hist_row *h)
{
    size_t cap = 512 + (size_t)s->epoch * 200;
    char *buf = malloc(cap);
    if (!buf)
        return scnn_fail(SCNN_ERR_NOMEM, "out of memory writing %s", path);
    size_t len = (size_t)snprintf(buf, cap,
                                  "scnn-train-state 1\nepoch %d\nslot %c\nckpt_sha256 %s\n"
                                  "best_epoch %d\nbest_metric %.17g\nsince_best %d\nhistory\n",
                                  s->epoch, s->slot, s->ckpt_sha, s->best_epoch, s->best_metric,
                                  s->since_best);
    for (int i = 0; i < s->epoch; i++)
        len += (size_t)scnn_run_history_row(buf + len, cap - len, &h[i], true);
    scnn_status st = scnn_write_atomic(path, buf, len);
    free(buf);
    return st;
}

/* One "epoch,loss,acc,val_loss,val_acc,seconds,images_per_s" line at full precision, every
 * figure finite; *p moves past the line. */
static bool parse_epoch_line(const char **p, hist_row *e)
{
    int used = 0;
    if (sscanf(*p, "%d,%lf,%lf,%lf,%lf,%lf,%lf%n", &e->epoch, &e->loss, &e->acc, &e->val_loss,
               &e->val_acc, &e->seconds, &e->images_per_s, &used) != 7 ||
        ((*p)[used] != '\n' && (*p)[used] != 0))
        return false;
    *p += used + ((*p)[used] == '\n');
    return isfinite(e->loss) && isfinite(e->acc) && isfinite(e->val_loss) &&
           isfinite(e->val_acc) && isfinite(e->seconds) && isfinite(e->images_per_s);
}

static bool is_hex64(const char *s)
{
    size_t n = 0;
    while (s[n] && strchr("0123456789abcdef", s[n]))
        n++;
    return n == 64 && !s[n];
}

/* state.txt's text: false unless every field is there, consistent and in range (the epoch
 * within max_epochs, the best epoch within the epochs run). */
bool scnn_train_state_parse(const char *t, scnn_train_state *s, hist_row *h, int max_epochs)
{
    char v[128];
    long x = 0;
    memset(s, 0, sizeof *s);
    bool ok = strncmp(t, "scnn-train-state 1\n", 19) == 0;
    ok = ok && find_key(t, "epoch", v, sizeof v) && scnn_parse_long(v, 1, max_epochs, &x);
    s->epoch = (int)x;
    ok = ok && find_key(t, "slot", v, sizeof v) && (v[0] == 'a' || v[0] == 'b') && !v[1];
    s->slot = v[0];
    ok = ok && find_key(t, "ckpt_sha256", s->ckpt_sha, sizeof s->ckpt_sha) &&
         is_hex64(s->ckpt_sha);
    ok = ok && find_key(t, "best_epoch", v, sizeof v) && scnn_parse_long(v, 1, s->epoch, &x);
    s->best_epoch = (int)x;
    ok = ok && find_key(t, "best_metric", v, sizeof v) &&
         scnn_parse_double(v, -1e308, 1e308, &s->best_metric);
    ok = ok && find_key(t, "since_best", v, sizeof v) &&
         scnn_parse_long(v, s->epoch - s->best_epoch, s->epoch - s->best_epoch, &x);
    s->since_best = (int)x;
    const char *p = ok ? strstr(t, "\nhistory\n") : NULL;
    ok = p != NULL;
    if (ok) {
        p += 9;
        for (int i = 0; i < s->epoch && ok; i++)
            ok = parse_epoch_line(&p, &h[i]) && h[i].epoch == i + 1;
        ok = ok && !*p;
    }
    return ok;
}

/* 1: read; 0: there is none (a fresh iteration); -1: malformed (the message is set). */
int scnn_train_state_read(const char *path, scnn_train_state *s, hist_row *h, int max_epochs)
{
    char *t = scnn_read_text(path, 16u << 20);
    if (!t && errno == ENOENT)
        return 0;
    bool ok = t && scnn_train_state_parse(t, s, h, max_epochs);
    free(t);
    if (!ok)
        scnn_fail(SCNN_ERR_FORMAT, "cannot resume: %s is unreadable or malformed (remove it to "
                                   "train this iteration again from the start)", path);
    return ok ? 1 : -1;
}

/* ---- results --------------------------------------------------------------------------------- */

scnn_status scnn_iteration_result_write(const char *dir, int k, const scnn_run_result *r,
                                        const float *probs, size_t n_test)
{
    char path[PATH_LEN];
    snprintf(path, sizeof path, "%s/iter-%d/test_probs.f32", dir, k);
    scnn_status st = scnn_write_atomic(path, probs, n_test * SCNN_CLASSES * sizeof(float));
    if (st != SCNN_OK)
        return st;
    snprintf(path, sizeof path, "%s/iter-%d/result.txt", dir, k);
    return scnn_run_result_write(path, r);
}

/* result.txt as a finished iteration of this run: complete, of n_test test images, the kept
 * epoch within the epochs run and those within max_epochs. */
static bool result_fits(const scnn_run_result *res, size_t n_test, int max_epochs)
{
    return res->complete && res->n_test == n_test && res->epochs_run >= 1 &&
           res->epochs_run <= max_epochs && res->best_epoch >= 1 &&
           res->best_epoch <= res->epochs_run;
}

/* A finished iteration's results (result.txt and test_probs.f32): a resumed run skips that
 * iteration. 1: read; 0: the iteration has not finished; -1: malformed or from other options
 * (the message is set: a silent retraining would hide it). */
int scnn_iteration_result_read(const char *dir, int k, scnn_run_result *r, float *probs,
                               size_t n_test, int max_epochs)
{
    char path[PATH_LEN];
    snprintf(path, sizeof path, "%s/iter-%d/result.txt", dir, k);
    if (access(path, F_OK) != 0 && errno == ENOENT)
        return 0;
    scnn_run_result res;
    if (scnn_run_result_read(path, &res) != SCNN_OK || !result_fits(&res, n_test, max_epochs)) {
        scnn_fail(SCNN_ERR_FORMAT, "cannot resume: %s or its test_probs.f32 is unreadable, "
                                   "malformed or from other options (remove both to evaluate this "
                                   "iteration again)", path);
        return -1;
    }
    *r = res;
    snprintf(path, sizeof path, "%s/iter-%d/test_probs.f32", dir, k);
    size_t want = n_test * SCNN_CLASSES * sizeof(float), len;
    uint8_t *data;
    bool ok = scnn_read_file(path, want, &data, &len) == SCNN_OK && len == want;
    if (ok)
        memcpy(probs, data, want);
    free(data);
    if (!ok)
        scnn_fail(SCNN_ERR_FORMAT, "cannot resume: %s is unreadable or not %zu bytes (remove it "
                                   "and result.txt to evaluate this iteration again)", path, want);
    return ok ? 1 : -1;
}

scnn_status scnn_train_parse_texts(const char *run_conf, const char *state, const char *result)
{
    scnn_run_conf c;
    scnn_status st = scnn_run_conf_parse_text(run_conf, &c);
    if (st != SCNN_OK)
        return st;
    if (c.epochs < 1 || c.epochs > SCNN_MAX_EPOCHS)
        return scnn_fail(SCNN_ERR_FORMAT, "run.conf: epochs %d", c.epochs);
    if (state) {
        hist_row *h = calloc((size_t)c.epochs, sizeof *h);
        scnn_train_state s;
        if (!h)
            return scnn_fail(SCNN_ERR_NOMEM, "out of memory");
        bool ok = scnn_train_state_parse(state, &s, h, c.epochs);
        free(h);
        if (!ok)
            return scnn_fail(SCNN_ERR_FORMAT, "state.txt: malformed");
    }
    scnn_run_result r;
    if (result && (st = scnn_run_result_parse_text(result, &r)) != SCNN_OK)
        return st;
    if (result && !result_fits(&r, r.n_test, c.epochs))
        return scnn_fail(SCNN_ERR_FORMAT, "result.txt: malformed");
    return SCNN_OK;
}
