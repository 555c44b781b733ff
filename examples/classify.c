/* classify: a 28x28 grayscale PNG in, its class out, with the installed libscnn.
 *
 *   cc classify.c $(pkg-config --cflags --libs scnn) -lpng -o classify
 *   ./classify [--model FILE|DIR] image.png...
 *
 * Without --model it uses the shipped Fashion-MNIST models (PREFIX/share/scnn/models, or
 * $SCNN_MODELS); SCNN_BACKEND names the backend (default: the fastest). */
#include <libscnn.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The image as 784 bytes of gray (libpng converts colour and other depths). */
static int read_png(const char *path, unsigned char *pixels)
{
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&img, path)) {
        fprintf(stderr, "classify: %s: %s\n", path, img.message);
        return -1;
    }
    if (img.width != SCNN_LIB_IMAGE_SIDE || img.height != SCNN_LIB_IMAGE_SIDE) {
        fprintf(stderr, "classify: %s: %ux%u, not 28x28 (scnn predict converts any size)\n",
                path, img.width, img.height);
        png_image_free(&img);
        return -1;
    }
    img.format = PNG_FORMAT_GRAY;
    if (!png_image_finish_read(&img, NULL, pixels, 0, NULL)) {
        fprintf(stderr, "classify: %s: %s\n", path, img.message);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *model = NULL;
    int first = 1;
    if (argc > 2 && strcmp(argv[1], "--model") == 0) {
        model = argv[2];
        first = 3;
    }
    if (first >= argc) {
        fprintf(stderr, "usage: classify [--model FILE|DIR] image.png...\n");
        return 2;
    }
    scnn_classifier *c;
    if (scnn_classifier_open(&c, model, getenv("SCNN_BACKEND")) != SCNN_LIB_OK) {
        fprintf(stderr, "classify: %s\n", scnn_lib_message());
        return 1;
    }
    fprintf(stderr, "libscnn %s: %d model(s) of %s on backend %s\n", scnn_lib_version(),
            scnn_classifier_models(c), scnn_classifier_dataset(c), scnn_classifier_backend(c));
    int failed = 0;
    for (int i = first; i < argc; i++) {
        unsigned char pixels[SCNN_LIB_IMAGE_SIDE * SCNN_LIB_IMAGE_SIDE];
        int cls;
        float prob;
        if (read_png(argv[i], pixels) != 0 ||
            scnn_classify(c, pixels, 1, NULL, 1, &cls, &prob) != SCNN_LIB_OK) {
            failed = 1;
            continue;
        }
        printf("%s: %s (%d) %.4f\n", argv[i], scnn_classifier_class_name(c, cls), cls,
               (double)prob);
    }
    scnn_classifier_close(c);
    return failed;
}
