/* The seed's PNG folder layout: ROOT/{train,test}/<dataset>/<label>/<index>.png. Extracting
 * writes it from an IDX set; loading reads it back in the IDX order, so training from the tree
 * and from the IDX files sees the same bytes in the same order. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "datasets/datasets.h"
#include "scnn_png.h"

#define TREE_MAX_IMAGES 10000000u

/* snprintf into a path buffer; false when it does not fit. */
static bool pathf(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool pathf(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < len;
}

static scnn_status too_long(const char *path)
{
    return scnn_fail(SCNN_ERR_ARG, "%.200s...: path too long", path);
}

static const char *part_folder(const char *part)
{
    if (part && strcmp(part, "train") == 0)
        return "train";
    if (part && strcmp(part, "t10k") == 0)
        return "test";
    return NULL;
}

static bool is_dir(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* "123.png" -> 123; false for anything else ("0123.png", "12.PNG", "-1.png", "x.png"). */
static bool parse_index_name(const char *name, uint32_t *index)
{
    uint64_t v = 0;
    const char *p = name;
    if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] != '.'))
        return false;
    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (uint64_t)(*p - '0');
        if (v >= TREE_MAX_IMAGES)
            return false;
    }
    if (strcmp(p, ".png") != 0)
        return false;
    *index = (uint32_t)v;
    return true;
}

/* ---- extract ----------------------------------------------------------------------------- */

static bool same_bytes(const char *path, const uint8_t *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    uint8_t have[8192];
    struct stat sb;
    bool same = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && (size_t)sb.st_size == len &&
                len <= sizeof have && read(fd, have, sizeof have) == (ssize_t)len &&
                memcmp(have, buf, len) == 0;
    close(fd);
    return same;
}

/* Removes leftover temporaries (".N.png.tmp.PID") and images in the wrong class folder. */
static scnn_status remove_stale(const char *cdir, int label, const scnn_dataset *ds, size_t n,
                                scnn_extract_stats *stats)
{
    DIR *d = opendir(cdir);
    if (!d)
        return scnn_fail(SCNN_ERR_IO, "%s: cannot list: %s", cdir, strerror(errno));
    struct dirent *e;
    char path[PATH_MAX];
    scnn_status st = SCNN_OK;
    while (!st && (e = readdir(d))) {
        uint32_t idx;
        bool stale = (e->d_name[0] == '.' && strstr(e->d_name, ".png.tmp.")) ||
                     (parse_index_name(e->d_name, &idx) && idx < n && ds->labels[idx] != label);
        if (!stale)
            continue;
        if (!pathf(path, sizeof path, "%s/%s", cdir, e->d_name)) {
            st = too_long(cdir);
            break;
        }
        if (unlink(path) != 0 && errno != ENOENT)
            st = scnn_fail(SCNN_ERR_IO, "%s: cannot remove stale file: %s", path, strerror(errno));
        else
            stats->removed++;
    }
    closedir(d);
    return st;
}

scnn_status scnn_png_tree_extract(const scnn_dataset *ds, const char *root, const char *dataset,
                                  const char *part, size_t limit,
                                  void (*progress)(size_t done, size_t total, void *ctx), void *ctx,
                                  const volatile sig_atomic_t *stop, scnn_extract_stats *stats)
{
    scnn_extract_stats dummy;
    if (!stats)
        stats = &dummy;
    memset(stats, 0, sizeof *stats);
    const char *folder = part_folder(part);
    if (!ds || !root || !dataset || !*dataset || strchr(dataset, '/'))
        return scnn_fail(SCNN_ERR_ARG, "scnn_png_tree_extract: bad argument");
    if (!folder)
        return scnn_fail(SCNN_ERR_ARG, "unknown data set part '%s' (want train or t10k)",
                         part ? part : "(null)");
    if (ds->rows != SCNN_IMG_H || ds->cols != SCNN_IMG_W)
        return scnn_fail(SCNN_ERR_SHAPE, "images are %dx%d, want %dx%d", ds->rows, ds->cols,
                         SCNN_IMG_H, SCNN_IMG_W);
    size_t n = limit && limit < ds->n ? limit : ds->n;
    char base[PATH_MAX - 64], cdir[SCNN_CLASSES][PATH_MAX - 32];
    if (!pathf(base, sizeof base, "%s/%s/%s", root, folder, dataset))
        return too_long(root);
    for (int c = 0; c < SCNN_CLASSES; c++) {
        pathf(cdir[c], sizeof cdir[c], "%s/%d", base, c);   /* fits: base is 64 shorter */
        scnn_status st = scnn_mkdirs(cdir[c]);
        if (st)
            return st;
    }
    for (size_t i = 0; i < n; i++) {
        if (stop && *stop)
            return scnn_fail(SCNN_ERR_IO, "%s: interrupted after %zu of %zu images", base, i, n);
        uint8_t label = ds->labels[i];
        if (label >= SCNN_CLASSES)
            return scnn_fail(SCNN_ERR_FORMAT, "label %u at index %zu, want 0..9", label, i);
        uint8_t *buf;
        size_t len;
        scnn_status st = scnn_png_encode_gray8(ds->images + i * SCNN_PIXELS, SCNN_IMG_W,
                                               SCNN_IMG_H, &buf, &len);
        if (st)
            return st;
        char path[PATH_MAX];
        if (!pathf(path, sizeof path, "%s/%zu.png", cdir[label], i)) {
            free(buf);
            return too_long(cdir[label]);
        }
        if (same_bytes(path, buf, len)) {
            stats->unchanged++;
        } else {
            /* ".N.png.tmp.PID" beside it, renamed over it: never half-written */
            st = scnn_write_file(path, buf, len, SCNN_WRITE_HIDDEN_TMP);
            stats->written++;
        }
        free(buf);
        if (st)
            return st;
        if (progress && ((i + 1) % 500 == 0 || i + 1 == n))
            progress(i + 1, n, ctx);
    }
    for (int c = 0; c < SCNN_CLASSES; c++) {
        scnn_status st = remove_stale(cdir[c], c, ds, n, stats);
        if (st)
            return st;
    }
    return SCNN_OK;
}

/* ---- detect and load ------------------------------------------------------------------------ */

static bool has_idx(const char *dir)
{
    static const char *const names[] = {
        "train-images-idx3-ubyte", "train-images-idx3-ubyte.gz",
        "t10k-images-idx3-ubyte", "t10k-images-idx3-ubyte.gz",
    };
    char path[PATH_MAX];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (pathf(path, sizeof path, "%s/%s", dir, names[i]) && access(path, F_OK) == 0)
            return true;
    }
    return false;
}

static bool has_class_dirs(const char *dir)
{
    char path[PATH_MAX];
    for (int c = 0; c < SCNN_CLASSES; c++) {
        if (pathf(path, sizeof path, "%s/%d", dir, c) && is_dir(path))
            return true;
    }
    return false;
}

static bool is_root(const char *dir)
{
    char path[PATH_MAX];
    return (pathf(path, sizeof path, "%s/train", dir) && is_dir(path)) ||
           (pathf(path, sizeof path, "%s/test", dir) && is_dir(path));
}

bool scnn_png_tree_detect(const char *dir)
{
    return dir && is_dir(dir) && !has_idx(dir) && (is_root(dir) || has_class_dirs(dir));
}

/* The one data set folder under pdir (ROOT/train or ROOT/test), or an error listing them. */
static scnn_status only_dataset(const char *pdir, const char *root, char *out, size_t len)
{
    struct dirent **list;
    int n = scandir(pdir, &list, NULL, alphasort);
    if (n < 0)
        return scnn_fail(SCNN_ERR_IO, "%s: cannot open: %s (extract it with `scnn extract --out "
                         "%s`)", pdir, strerror(errno), root);
    char found[512] = "", first[256] = "";
    int count = 0;
    for (int i = 0; i < n; i++) {
        char path[PATH_MAX];
        const char *nm = list[i]->d_name;
        if (nm[0] != '.' && pathf(path, sizeof path, "%s/%s", pdir, nm) && is_dir(path)) {
            if (count++ == 0)
                snprintf(first, sizeof first, "%s", nm);
            size_t used = strlen(found);
            snprintf(found + used, sizeof found - used, "%s%s", used ? ", " : "", nm);
        }
        free(list[i]);
    }
    free(list);
    if (count == 0)
        return scnn_fail(SCNN_ERR_FORMAT, "%s: no data set folder in this PNG tree", pdir);
    if (count > 1)
        return scnn_fail(SCNN_ERR_ARG, "%s holds several data sets (%s): name one, e.g. --data "
                         "%s/train/%s", root, found, root, first);
    return pathf(out, len, "%s/%s", pdir, first) ? SCNN_OK : too_long(pdir);
}

/* The folder holding the class folders of part: see scnn_png_tree_load. */
static scnn_status resolve(const char *dir, const char *dataset, const char *folder, char *out,
                           size_t len)
{
    char pdir[PATH_MAX];
    if (is_root(dir)) {
        if (!pathf(pdir, sizeof pdir, "%s/%s", dir, folder) ||
            (dataset && !pathf(out, len, "%s/%s", pdir, dataset)))
            return too_long(dir);
        if (!dataset)
            return only_dataset(pdir, dir, out, len);
        if (!is_dir(out))
            return scnn_fail(SCNN_ERR_IO, "%s: not found: the PNG tree %s has no %s images of %s "
                             "(`scnn extract --dataset %s --out %s` writes them)", out, dir,
                             folder, dataset, dataset, dir);
        return SCNN_OK;
    }
    if (!has_class_dirs(dir))
        return scnn_fail(SCNN_ERR_FORMAT, "%s: not a PNG tree (want ROOT/{train,test}/<dataset>/"
                         "<class>/<index>.png, or one ROOT/train/<dataset> folder)", dir);
    /* A class-folder tree: its parent says whether it is train or test. */
    char abs[PATH_MAX];
    if (!realpath(dir, abs))
        return scnn_fail(SCNN_ERR_IO, "%s: %s", dir, strerror(errno));
    char *slash = strrchr(abs, '/');
    const char *name = slash + 1;
    *slash = 0;
    char *pslash = strrchr(abs, '/');
    if (!pslash)
        return scnn_fail(SCNN_ERR_ARG, "%s: not a PNG tree", dir);
    const char *parent = pslash + 1;
    if (strcmp(parent, "train") != 0 && strcmp(parent, "test") != 0)
        return scnn_fail(SCNN_ERR_ARG, "%s: a folder of class folders must be ROOT/train/<name> "
                         "or ROOT/test/<name>, so that the train and test images are told apart "
                         "(this one is in '%s')", dir, parent);
    if (dataset && scnn_class_names(name) && strcmp(name, dataset) != 0)
        return scnn_fail(SCNN_ERR_ARG, "%s holds %s images, not %s: pass --dataset %s", dir, name,
                         dataset, name);
    if (strcmp(parent, folder) == 0)
        return pathf(out, len, "%s", dir) ? SCNN_OK : too_long(dir);
    *pslash = 0;   /* realpath is absolute: pslash is at least abs itself */
    if (!pathf(out, len, "%s/%s/%s", abs, folder, name))
        return too_long(abs);
    if (!is_dir(out))
        return scnn_fail(SCNN_ERR_IO, "%s: not found: the %s images that go with %s", out, folder,
                         dir);
    return SCNN_OK;
}

typedef struct tree_entry {
    uint32_t index;
    uint8_t label;
} tree_entry;

static int cmp_entry(const void *a, const void *b)
{
    const tree_entry *x = a, *y = b;
    if (x->index != y->index)
        return x->index < y->index ? -1 : 1;
    return (x->label > y->label) - (x->label < y->label);
}

/* Lists base/<class>/<index>.png into *out (sorted by index), rejecting anything else. */
static scnn_status list_tree(const char *base, tree_entry **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    DIR *d = opendir(base);
    if (!d)
        return scnn_fail(SCNN_ERR_IO, "%s: cannot open: %s", base, strerror(errno));
    struct dirent *e;
    char path[PATH_MAX];
    scnn_status st = SCNN_OK;
    while (!st && (e = readdir(d))) {
        const char *nm = e->d_name;
        if (nm[0] == '.')
            continue;
        pathf(path, sizeof path, "%s/%s", base, nm);   /* only for the message and is_dir */
        if (!(nm[0] >= '0' && nm[0] <= '9' && nm[1] == 0 && is_dir(path)))
            st = scnn_fail(SCNN_ERR_FORMAT, "%s: unexpected %s in a PNG tree (want only the class "
                           "folders 0..9)", path, is_dir(path) ? "folder" : "file");
    }
    closedir(d);
    if (st)
        return st;

    size_t n = 0, cap = 0;
    tree_entry *v = NULL;
    for (int c = 0; !st && c < SCNN_CLASSES; c++) {
        char cdir[PATH_MAX];
        pathf(cdir, sizeof cdir, "%s/%d", base, c);   /* fits: base is 64 shorter */
        if (!(d = opendir(cdir))) {
            if (errno == ENOENT)
                continue;
            st = scnn_fail(SCNN_ERR_IO, "%s: cannot open: %s", cdir, strerror(errno));
            break;
        }
        while (!st && (e = readdir(d))) {
            uint32_t idx;
            if (e->d_name[0] == '.')
                continue;
            if (!parse_index_name(e->d_name, &idx)) {
                st = scnn_fail(SCNN_ERR_FORMAT, "%s/%s: not an image name: want <index>.png, the "
                               "image's index in the data set without leading zeros", cdir,
                               e->d_name);
                break;
            }
            if (n == cap) {
                size_t ncap = cap ? cap * 2 : 4096;
                tree_entry *nv = ncap <= TREE_MAX_IMAGES ? realloc(v, ncap * sizeof *v) : NULL;
                if (!nv) {
                    st = ncap > TREE_MAX_IMAGES
                             ? scnn_fail(SCNN_ERR_FORMAT, "%s: more than %u images", base,
                                         TREE_MAX_IMAGES)
                             : scnn_fail(SCNN_ERR_NOMEM, "%s: out of memory", base);
                    break;
                }
                v = nv;
                cap = ncap;
            }
            v[n++] = (tree_entry){.index = idx, .label = (uint8_t)c};
        }
        closedir(d);
    }
    if (!st && n == 0)
        st = scnn_fail(SCNN_ERR_FORMAT, "%s: no images (want <class>/<index>.png files)", base);
    if (!st) {
        qsort(v, n, sizeof *v, cmp_entry);
        for (size_t i = 0; i < n; i++) {
            if (v[i].index == i)
                continue;
            if (i > 0 && v[i].index == v[i - 1].index)
                st = scnn_fail(SCNN_ERR_FORMAT, "%s: index %u is there twice: %u/%u.png and "
                               "%u/%u.png", base, v[i].index, v[i - 1].label, v[i].index,
                               v[i].label, v[i].index);
            else
                st = scnn_fail(SCNN_ERR_FORMAT, "%s: no image with index %zu (%zu images, indices "
                               "up to %u; want exactly 0..%zu, one <class>/<index>.png each)",
                               base, i, n, v[n - 1].index, n - 1);
            break;
        }
    }
    if (st) {
        free(v);
        return st;
    }
    *out = v;
    *count = n;
    return SCNN_OK;
}

scnn_status scnn_png_tree_load(scnn_dataset *ds, const char *dir, const char *dataset,
                               const char *part)
{
    /* ds, dir and part ("train" or "t10k") are checked by scnn_dataset_load, the only caller */
    memset(ds, 0, sizeof *ds);
    const char *folder = part_folder(part);
    char base[PATH_MAX - 64];
    scnn_status st = resolve(dir, dataset, folder, base, sizeof base);
    if (st)
        return st;
    tree_entry *v;
    size_t n;
    if ((st = list_tree(base, &v, &n)))
        return st;
    uint8_t *images = malloc(n * SCNN_PIXELS), *labels = malloc(n);
    if (!images || !labels)
        st = scnn_fail(SCNN_ERR_NOMEM, "%s: out of memory for %zu images", base, n);
    for (size_t i = 0; !st && i < n; i++) {
        char path[PATH_MAX];
        pathf(path, sizeof path, "%s/%u/%zu.png", base, v[i].label, i);   /* fits, as cdir */
        st = scnn_png_read_gray8(path, images + i * SCNN_PIXELS, SCNN_IMG_W, SCNN_IMG_H);
        labels[i] = v[i].label;
    }
    free(v);
    return scnn_dataset_adopt(ds, st, n, images, labels);
}
