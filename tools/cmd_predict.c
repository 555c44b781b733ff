/* scnn predict: classify a user's own PNG images with a checkpoint or an ensemble (by default
 * the shipped models). A bad image is reported on one line and the others are still predicted;
 * the exit status says whether any failed. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/core.h"
#include "scnn_png.h"
#include "tools/cli.h"

#define PREDICT_CHUNK 64

static void predict_help(void)
{
    printf("usage: %s predict [--model FILE|DIR] [options] IMAGE|FOLDER...\n\n"
           "Prints the most likely class of each PNG image and its probability. A folder\n"
           "stands for every *.png in it (not recursive), sorted by name.\n\n"
           "  --model FILE     a checkpoint (for example runs/X/iter-0/best.ckpt)\n"
           "  --model DIR      the ensemble of every *.ckpt in DIR and every DIR/*/best.ckpt\n"
           "                   (a run folder): the mean of their probabilities\n"
           "                   (default: the shipped models of the data set, the first of\n"
           "                   $SCNN_MODELS/D, models/D beside the program, %s/D)\n"
           "  --top K          the K most likely classes (1..10, default 1)\n"
           "  --invert         255 - v: for dark objects on a light background (photos,\n"
           "                   scans); Fashion-MNIST images are light objects on black\n"
           "  --format F       text (default) or csv: file,class,name,prob[,class_2,name_2,\n"
           "                   prob_2,...]\n"
           "  --dataset D      fashion_mnist or mnist: whose models and class names (default:\n"
           "                   the checkpoint's, else fashion_mnist); a checkpoint of another\n"
           "                   data set is an error\n\n"
           "The model sees 28x28 8-bit grayscale, as in the data sets. Other PNGs are\n"
           "converted, and a note on stderr says how, for each image: 16-bit samples are\n"
           "scaled to 8 bits, palettes and 1/2/4-bit gray expanded; colour becomes gray with\n"
           "luma 0.299 R + 0.587 G + 0.114 B; transparent pixels are composited on black (on\n"
           "white with --invert, so that they end up black either way); a non-square image\n"
           "is centred on a square of that colour; any other size is resized to 28x28 by area\n"
           "averaging. Gamma and colour profiles are ignored. Images larger than %dx%d or\n"
           "files over %u MiB, and anything that is not a valid PNG, are refused.\n\n"
           "Exit status: 0 all images predicted, 1 some could not be read (each says why on\n"
           "stderr; the others are still predicted), 2 a usage error.\n"
           "Environment: SCNN_BACKEND selects the kernels.\n",
           prog, models_installed_dir(), SCNN_PNG_MAX_DIM, SCNN_PNG_MAX_DIM,
           SCNN_PNG_MAX_FILE >> 20);
}

typedef struct path_list {
    char **v;
    size_t n, cap;
} path_list;

static bool list_push(path_list *l, const char *a, const char *b)
{
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 16;
        char **nv = realloc(l->v, ncap * sizeof *nv);
        if (!nv)
            return false;
        l->v = nv;
        l->cap = ncap;
    }
    size_t la = strlen(a), lb = b ? strlen(b) : 0;
    char *p = malloc(la + lb + 2);
    if (!p)
        return false;
    if (b)
        sprintf(p, "%s%s%s", a, la && a[la - 1] == '/' ? "" : "/", b);
    else
        memcpy(p, a, la + 1);
    l->v[l->n++] = p;
    return true;
}

static void list_free(path_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void report(const char *fmt, const char *path, const char *detail)
{
    fflush(stdout);
    fprintf(stderr, "%s predict: ", prog);
    fprintf(stderr, fmt, path, detail);
    fputc('\n', stderr);
}

/* Appends the inputs of one argument: a file, or a folder's *.png sorted by name. A folder
 * that cannot be read or holds no PNG counts as a failed input. */
static bool expand_arg(path_list *out, const char *arg, int *failed)
{
    struct stat sb;
    if (stat(arg, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return list_push(out, arg, NULL);   /* decoding reports a missing file */
    DIR *d = opendir(arg);
    if (!d) {
        report("error: %s: cannot open folder: %s", arg, strerror(errno));
        ++*failed;
        return true;
    }
    path_list names = {0};
    struct dirent *e;
    bool ok = true;
    while (ok && (e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] != '.' && len > 4 && strcasecmp(e->d_name + len - 4, ".png") == 0)
            ok = list_push(&names, e->d_name, NULL);
    }
    closedir(d);
    if (ok && names.n == 0) {
        report("error: %s: no .png files in this folder%s", arg, "");
        ++*failed;
    }
    if (names.n)
        qsort(names.v, names.n, sizeof *names.v, cmp_str);
    for (size_t i = 0; ok && i < names.n; i++)
        ok = list_push(out, arg, names.v[i]);
    list_free(&names);
    return ok;
}

static void csv_field(const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        if (*s == '"')
            putchar('"');
        putchar(*s);
    }
    putchar('"');
}

typedef struct predict_opts {
    int top;
    bool csv;
    const char *const *names;
} predict_opts;

static void print_result(const predict_opts *o, const char *path, const float *p)
{
    int order[SCNN_CLASSES];
    scnn_probs_order(p, order);
    if (o->csv)
        csv_field(path);
    else
        printf("%s:", path);
    for (int k = 0; k < o->top; k++) {
        int c = order[k];
        if (o->csv) {
            printf(",%d,", c);
            csv_field(o->names[c]);
            printf(",%.6f", (double)p[c]);
        } else {
            printf("%s %s (%d) %.4f", k ? "," : "", o->names[c], c, (double)p[c]);
        }
    }
    putchar('\n');
}

/* Predicts n prepared images and prints them. */
static bool flush_chunk(scnn_ensemble *e, const predict_opts *o, char **paths,
                        const uint8_t *images, size_t n)
{
    if (!n)
        return true;
    float probs[PREDICT_CHUNK * SCNN_CLASSES];
    if (scnn_ensemble_probs(e, images, n, probs) != SCNN_OK)
        return false;
    for (size_t i = 0; i < n; i++)
        print_result(o, paths[i], probs + i * SCNN_CLASSES);
    fflush(stdout);
    return true;
}

int cmd_predict(int argc, char **argv)
{
    const char *model_path = NULL, *dataset = NULL;
    predict_opts o = {.top = 1};
    bool invert = false, opts_done = false;
    path_list args = {0};
    int rc = 0;
    static const char *const formats[] = {"text", "csv", NULL};
    cli c = cli_start("predict", argc, argv);
    while (cli_next(&c)) {
        const char *a = cli_arg(&c), *format = NULL;
        long n;
        if (opts_done || a[0] != '-' || a[1] == 0) {
            if (!list_push(&args, a, NULL)) {
                list_free(&args);
                fprintf(stderr, "%s predict: error: out of memory\n", prog);
                return 1;
            }
        } else if (cli_flag(&c, "--")) {
            opts_done = true;
        } else if (cli_help(&c)) {
            list_free(&args);
            predict_help();
            return 0;
        } else if (cli_flag(&c, "--invert")) {
            invert = true;
        } else if (cli_str(&c, "--model", &model_path) ||
                   cli_dataset(&c, "--dataset", false, &dataset)) {
        } else if (cli_long(&c, "--top", 1, SCNN_CLASSES, &n)) {
            o.top = (int)n;
        } else if (cli_choice(&c, "--format", formats, &format)) {
            o.csv = format && strcmp(format, "csv") == 0;
        } else {
            cli_unknown(&c);
        }
    }
    if (c.rc >= 0) {
        list_free(&args);
        return c.rc;
    }
    if (args.n == 0)
        rc = usage_error("predict", "%s", "no images: give PNG files or folders of them");
    const scnn_backend *be = rc ? NULL : pick_backend("predict");
    if (!rc && !be)
        rc = EXIT_USAGE;
    if (rc) {
        list_free(&args);
        return rc;
    }

    char shipped[4096];
    if (!model_path) {
        if (!default_models("predict", dataset ? dataset : "fashion_mnist", shipped,
                            sizeof shipped)) {
            list_free(&args);
            return 1;
        }
        model_path = shipped;
    }
    scnn_ensemble *m = NULL;
    if (scnn_ensemble_open(&m, model_path, dataset, PREDICT_CHUNK, be) != SCNN_OK) {
        list_free(&args);
        return runtime_error("predict");
    }
    if (!(dataset = scnn_ensemble_dataset(m)))
        dataset = "fashion_mnist";
    o.names = scnn_class_names(dataset);
    if (scnn_ensemble_size(m) > 1) {
        char count[16];
        snprintf(count, sizeof count, "%d", scnn_ensemble_size(m));
        report("%s: note: the ensemble of its %s models (the mean of their probabilities)",
               model_path, count);
    }

    int failed = 0;
    path_list inputs = {0};
    bool ok = true;
    for (size_t i = 0; ok && i < args.n; i++)
        ok = expand_arg(&inputs, args.v[i], &failed);
    list_free(&args);
    if (!ok) {
        scnn_ensemble_free(m);
        list_free(&inputs);
        fprintf(stderr, "%s predict: error: out of memory\n", prog);
        return 1;
    }

    if (o.csv) {
        printf("file,class,name,prob");
        for (int k = 2; k <= o.top; k++)
            printf(",class_%d,name_%d,prob_%d", k, k, k);
        putchar('\n');
    }
    static uint8_t images[PREDICT_CHUNK * SCNN_PIXELS];
    char *paths[PREDICT_CHUNK];
    size_t pending = 0;
    bool flushed = true;
    for (size_t i = 0; flushed && i < inputs.n; i++) {
        scnn_image img;
        if (scnn_png_read(&img, inputs.v[i]) != SCNN_OK) {
            report("error: %s%s", scnn_last_error(), "");
            failed++;
            continue;
        }
        char notes[1024];
        scnn_status st = scnn_image_to_input(&img, invert, images + pending * SCNN_PIXELS, notes,
                                             sizeof notes);
        scnn_image_free(&img);
        if (st != SCNN_OK) {
            report("error: %s: %s", inputs.v[i], scnn_last_error());
            failed++;
            continue;
        }
        if (notes[0])
            report("%s: note: %s", inputs.v[i], notes);
        paths[pending++] = inputs.v[i];
        if (pending == PREDICT_CHUNK) {
            flushed = flush_chunk(m, &o, paths, images, pending);
            pending = 0;
        }
    }
    flushed = flushed && flush_chunk(m, &o, paths, images, pending);
    scnn_ensemble_free(m);
    list_free(&inputs);
    if (!flushed)
        return runtime_error("predict");
    return failed ? 1 : 0;
}
