#!/usr/bin/python3
"""Golden reference for tests/test_augment.c: the seed's augmentation, computed by scipy.

Run from the repository root, after `make data` (it embeds three Fashion-MNIST test images):

    /usr/bin/python3 tests/golden/augment_golden.py

Needs Debian's python3-numpy and python3-scipy. If python3-keras-preprocessing is installed too
(Debian ships 1.1.0, the code behind Keras 2.2-2.8 and tf.keras up to TF 2.8), every case is also
run through the real ImageDataGenerator.apply_transform and must agree bit for bit; the script
says whether that check ran. It writes tests/golden/augment_golden.bin next to itself.

What is computed (keras_preprocessing 1.1.x, ImageDataGenerator(rotation_range=10,
horizontal_flip=True, fill_mode='nearest'), one image of shape (rows, cols, 1)):
  - the uint8 image becomes float32 (flow() converts with np.asarray(x, dtype='float32'));
  - theta = deg2rad(angle); R = [[cos, -sin], [sin, cos]] in (row, col) index coordinates;
  - the centre is Keras's transform_matrix_offset_center: o = (rows/2 + 0.5, cols/2 + 0.5),
    i.e. (14.5, 14.5) for 28x28, one pixel right of and below the geometric centre (13.5, 13.5);
  - ndimage.affine_transform(img, R, offset = o - R o, order=1, mode='nearest'): output pixel p
    samples the input at R (p - o) + o, bilinearly, with coordinates clamped to the image;
    positive angles turn the picture clockwise as displayed (row 0 at the top);
  - then the horizontal flip, if any (Keras flips after the affine transform): out[r][c] =
    rotated[r][cols-1-c];
  - the float32 result becomes a byte by round-half-up: floor(value + 0.5), clipped to 0..255
    (our C code stores bytes; Keras kept float32).

File layout (little-endian):
    char    magic[8] = "SCNNAUG1"; uint32 version = 1; uint32 n_images; uint32 n_cases
    n_images records: uint32 rows; uint32 cols; uint8 pixels[rows*cols]       (row-major)
    n_cases records:  uint32 image; uint32 flip; float64 angle_deg;
                      float32 value[rows*cols]     the Keras/scipy float32 output
                      uint8   expected[rows*cols]  floor(value + 0.5), clipped
"""
import os
import struct
import sys

import numpy as np
import scipy
from scipy import ndimage

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(HERE, "augment_golden.bin")
FASHION = os.path.join(ROOT, "data", "idx", "fashion_mnist", "t10k-images-idx3-ubyte")
FASHION_INDICES = (0, 1, 2)   # ankle boot, pullover, trouser (touches the top and bottom edges)
ANGLES = (10.0, -10.0, 7.3)


def synthetic_images():
    r, c = np.mgrid[0:28, 0:28]
    ramp = (r * 9 + c * 4 + ((r * c) % 7) * 13) % 256           # asymmetric, busy at every edge
    z, noise = 0x5CA7, []
    for _ in range(28 * 28):                                       # 64-bit LCG, top byte
        z = (z * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        noise.append(z >> 56)
    r2, c2 = np.mgrid[0:20, 0:31]
    rect = np.where((r2 - 6) ** 2 + (c2 - 20) ** 2 < 30, 250, (r2 * 11 + c2 * 5) % 97)
    return [ramp.astype(np.uint8), np.array(noise, np.uint8).reshape(28, 28),
            rect.astype(np.uint8)]


def fashion_images():
    with open(FASHION, "rb") as f:
        magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
        if magic != 2051 or rows != 28 or cols != 28:
            sys.exit(f"{FASHION}: not a 28x28 IDX image file")
        data = np.frombuffer(f.read(), np.uint8).reshape(n, 28, 28)
    return [data[i].copy() for i in FASHION_INDICES]


def keras_rotate_flip(img, angle, flip):
    """ImageDataGenerator.apply_transform({'theta': angle, 'flip_horizontal': flip}) restated."""
    x = img.astype(np.float32)
    if angle != 0:
        theta = np.deg2rad(angle)
        rotation = np.array([[np.cos(theta), -np.sin(theta), 0],
                             [np.sin(theta), np.cos(theta), 0],
                             [0, 0, 1]])
        h, w = x.shape
        o_x, o_y = float(h) / 2 + 0.5, float(w) / 2 + 0.5
        offset = np.array([[1, 0, o_x], [0, 1, o_y], [0, 0, 1]])
        reset = np.array([[1, 0, -o_x], [0, 1, -o_y], [0, 0, 1]])
        m = np.dot(np.dot(offset, rotation), reset)
        x = ndimage.affine_transform(x, m[:2, :2], m[:2, 2], order=1, mode="nearest", cval=0.0)
    if flip:
        x = x[:, ::-1]
    return np.ascontiguousarray(x, dtype=np.float32)


def keras_reference():
    """The real keras_preprocessing, when installed (else None)."""
    try:
        import keras_preprocessing
        from keras_preprocessing.image import ImageDataGenerator
    except ImportError:
        return None, None
    gen = ImageDataGenerator(rotation_range=10, horizontal_flip=True, fill_mode="nearest")

    def run(img, angle, flip):
        x = img.astype(np.float32)[:, :, None]
        y = gen.apply_transform(x, {"theta": angle, "flip_horizontal": flip})
        return np.asarray(y, np.float32)[:, :, 0]
    return run, keras_preprocessing.__version__


def to_bytes(value):
    return np.clip(np.floor(value.astype(np.float64) + 0.5), 0, 255).astype(np.uint8)


def main():
    images = synthetic_images() + fashion_images()
    keras_run, keras_version = keras_reference()
    cases, near_half = [], 0
    for k, img in enumerate(images):
        for angle in ANGLES:
            for flip in (False, True):
                value = keras_rotate_flip(img, angle, flip)
                if keras_run is not None:
                    ref = keras_run(img, angle, flip)
                    if not np.array_equal(value.view(np.uint32), ref.view(np.uint32)):
                        sys.exit(f"image {k} angle {angle} flip {flip}: differs from "
                                 f"keras_preprocessing {keras_version}")
                frac = value.astype(np.float64) - np.floor(value)
                near_half += int(np.sum(np.abs(frac - 0.5) < 1e-3))
                cases.append((k, flip, angle, value, to_bytes(value)))

    blob = bytearray(b"SCNNAUG1")
    blob += struct.pack("<III", 1, len(images), len(cases))
    for img in images:
        blob += struct.pack("<II", *img.shape) + img.astype(np.uint8).tobytes()
    for k, flip, angle, value, expected in cases:
        blob += struct.pack("<IId", k, int(flip), angle)
        blob += value.astype("<f4").tobytes() + expected.tobytes()
    with open(OUT, "wb") as f:
        f.write(blob)

    pixels = sum(v.size for _, _, _, v, _ in cases)
    print(f"wrote {OUT}: {len(images)} images, {len(cases)} cases, {pixels} pixels, "
          f"{len(blob)} bytes (numpy {np.__version__}, scipy {scipy.__version__})")
    print(f"values within 1e-3 of a .5 rounding boundary: {near_half}")
    if keras_run is None:
        print("keras_preprocessing not installed: cross-check skipped "
              "(apt-get install python3-keras-preprocessing)")
    else:
        print(f"all cases identical to keras_preprocessing {keras_version} "
              "ImageDataGenerator.apply_transform")


if __name__ == "__main__":
    main()
