/* Fuzz target: the PNG reader (datasets/png.c): scnn_png_decode on the input, then the
 * conversion of whatever it decoded into the model's 28x28 input (inverted when the last byte
 * is odd), and the strict 8-bit gray check that the PNG folder loader applies. */
#include <string.h>

#include "fuzz/fuzz.h"
#include "scnn_png.h"

SCNN_FUZZ_TARGET(png)
{
    scnn_image img;
    scnn_status st = scnn_png_decode(&img, data, size, "fuzz.png");
    if (st != SCNN_OK) {
        FUZZ_CHECK(!img.px);
        FUZZ_CHECK(scnn_last_error()[0] && !strchr(scnn_last_error(), '\n'));
        return 0;
    }
    FUZZ_CHECK(img.width >= 1 && img.width <= SCNN_PNG_MAX_DIM && img.height >= 1 &&
               img.height <= SCNN_PNG_MAX_DIM && img.channels >= 1 && img.channels <= 4);
    FUZZ_CHECK(img.px && memchr(img.format, 0, sizeof img.format));
    uint8_t out[SCNN_PIXELS];
    char notes[512];
    bool invert = size && (data[size - 1] & 1);
    FUZZ_CHECK(scnn_image_to_input(&img, invert, out, notes, sizeof notes) == SCNN_OK);
    FUZZ_CHECK(memchr(notes, 0, sizeof notes));
    scnn_image_free(&img);
    return 0;
}
