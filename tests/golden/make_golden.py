#!/usr/bin/python3
"""Golden reference for tests/test_golden.c: the SPEC section 1 model in PyTorch (float64).

Run with Debian's python3-torch:   /usr/bin/python3 tests/golden/make_golden.py
It writes tests/golden/golden.bin (about 0.3 MB) next to this script and prints, for information,
how far a float32 run of the same PyTorch model lands from the float64 golden.

Weights are not stored: every parameter element is defined by an integer hash that the C test
computes bit for bit (see param_values below and golden_param() in tests/test_golden.c):

    z = splitmix64(0x5CAA0000_00000000 + (t << 32) + i)   (uint64 arithmetic, wraps)
    u = (z >> 32) / 2^32                                   (float64, exact)
    s = 2*u - 1                                            (float64, exact)
    kernel: s * sqrt(6 / (fan_in + fan_out))   (conv: fan_in = kh*kw*in, fan_out = kh*kw*out)
    bias:   s * 0.1
    gamma:  1 + 0.2 * s
    beta:   0.1 * s
    each computed in float64 (products rounded as written, no FMA), then rounded once to float32.

t is the parameter's index in PARAMS below and i the element's index in the C/Keras layout (conv
kernels HWIO [kh,kw,in,out], dense kernels [in,out], both row-major). Running statistics start
at mean 0, variance 1.

The golden computation: batch of 4 images (uint8, stored in the file), labels {0, 3, 6, 9};
dropout off; one training-mode forward (batch statistics; running statistics updated as
r = 0.99 r + 0.01 batch, with the UNBIASED batch variance for the 1-channel input BatchNorm, as
TensorFlow's fused kernel does, and the biased one for the 64-feature BatchNorm), the mean
softmax cross-entropy (unclipped), its gradient w.r.t. every trainable parameter, then an
inference-mode forward that uses the running statistics AFTER that update.

File layout (little-endian throughout):
    header:  char magic[8] = "SCNNGLD1"; uint32 version = 1; uint32 nrec
    nrec records, each:
        char     name[48]     NUL-padded
        uint32   kind         1 = uint8 data, 2 = float64 data, 3 = float32 data
        uint32   stride       stored elements are those with i % stride == 0
        uint64   size         elements in the full tensor
        uint64   nstored      = ceil(size / stride)
        float64  sum, sumsq, sumabs   over the FULL tensor (math.fsum: correctly rounded)
        data     nstored elements (1, 8 or 4 bytes each for kind 1, 2, 3)
Tensors with more than 4096 elements are stored with stride 13 (the w/ records, which only check
the C hash, with stride 101), smaller ones in full (stride 1).

Records:
    images [4*784] (uint8), labels [4] (uint8)
    w/<param>            the float32 weights as the hash defines them (float32; checks the C hash)
    logits_train [4,10], loss [1], logits_infer [4,10]
    <bn>/moving_mean, <bn>/moving_variance   after the training forward, for both BatchNorms
    grad/<param>         d loss / d param, C layout
    variant/<what>       logits of deliberately wrong models, to show the golden discriminates:
        pad_2_1               conv1 "same" padding 2 before, 1 after (mirrored TF padding)
        flatten_nchw          flatten in (c, h, w) order instead of Keras's (h, w, c)
        conv_flipped          true convolution (kernel flipped) instead of cross-correlation
        bn_unbiased_norm      BatchNorms normalise with the unbiased batch variance
        infer_initial_stats   inference logits with the initial running statistics (0, 1)
    variant/grad_bn_const/<param>   gradients (a few small parameters) of a wrong backward that
                          treats the BatchNorm batch mean and variance as constants
"""
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

M64 = (1 << 64) - 1
N = 4
LABELS = [0, 3, 6, 9]
EPS = 1e-3
MOMENTUM = 0.99
SAMPLE_ABOVE = 4096
SAMPLE_STRIDE = 13
# gradients also stored for the wrong "BatchNorm statistics are constants" backward
GRAD_VARIANT_PARAMS = ["batch_normalization/gamma", "conv2d/bias", "dense_1/bias"]

# name, shape in the C layout, kind, (fan_in, fan_out) for kernels
PARAMS = [
    ("batch_normalization/gamma", (1,), "gamma", None),
    ("batch_normalization/beta", (1,), "beta", None),
    ("conv2d/kernel", (4, 4, 1, 64), "kernel", (16, 1024)),
    ("conv2d/bias", (64,), "bias", None),
    ("conv2d_1/kernel", (4, 4, 64, 64), "kernel", (1024, 1024)),
    ("conv2d_1/bias", (64,), "bias", None),
    ("dense/kernel", (1600, 256), "kernel", (1600, 256)),
    ("dense/bias", (256,), "bias", None),
    ("dense_1/kernel", (256, 64), "kernel", (256, 64)),
    ("dense_1/bias", (64,), "bias", None),
    ("batch_normalization_1/gamma", (64,), "gamma", None),
    ("batch_normalization_1/beta", (64,), "beta", None),
    ("dense_2/kernel", (64, 10), "kernel", (64, 10)),
    ("dense_2/bias", (10,), "bias", None),
]


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & M64
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def param_values(t, shape, kind, fans):
    size = int(np.prod(shape))
    base = 0x5CAA000000000000 + (t << 32)
    u = np.array([(splitmix64((base + i) & M64) >> 32) for i in range(size)], dtype=np.float64)
    u = u / 4294967296.0
    s = 2.0 * u - 1.0
    if kind == "kernel":
        v = s * math.sqrt(6.0 / (fans[0] + fans[1]))
    elif kind == "bias":
        v = s * 0.1
    elif kind == "gamma":
        v = 1.0 + 0.2 * s
    else:
        v = 0.1 * s
    return v.astype(np.float32).reshape(shape)


def make_images():
    """4 Fashion-MNIST-like images: a bright noisy ellipse (a different one per image) with a
    darker band, on a mostly black background with sparse faint noise. Integers only."""
    img = np.zeros((N, 28, 28), dtype=np.uint8)
    shapes = [(14, 14, 10, 7), (13, 15, 12, 5), (15, 13, 8, 11), (14, 14, 6, 12)]
    for n, (cy, cx, ry, rx) in enumerate(shapes):
        for r in range(28):
            for c in range(28):
                h = splitmix64(0x1A6E000000000000 + n * 784 + r * 28 + c) >> 32
                d = (r - cy) ** 2 * rx * rx + (c - cx) ** 2 * ry * ry
                inside = d <= ry * ry * rx * rx
                if inside:
                    v = 120 + (h % 136)                 # 120..255
                    if (r + 2 * n) % 7 == 0:
                        v = v // 3                      # a darker band
                elif h % 11 == 0:
                    v = h % 40                          # sparse faint background noise
                else:
                    v = 0
                img[n, r, c] = v
    return img


# ---- the model --------------------------------------------------------------------------------

def bn_train(x, gamma, beta, dims, unbiased_norm=False, stats_const=False):
    """Normalise with batch statistics over dims; returns y, batch mean, biased and unbiased var.
    stats_const: a wrong backward that treats the batch statistics as constants."""
    m = 1
    for d in dims:
        m *= x.shape[d]
    mean = x.mean(dim=dims, keepdim=True)
    var_b = ((x - mean) ** 2).mean(dim=dims, keepdim=True)
    var_u = var_b * (m / (m - 1))
    var_n = var_u if unbiased_norm else var_b
    if stats_const:
        mean, var_n = mean.detach(), var_n.detach()
    y = gamma * (x - mean) / torch.sqrt(var_n + EPS) + beta
    return y, mean.flatten(), var_b.flatten(), var_u.flatten()


def bn_infer(x, gamma, beta, rmean, rvar):
    return gamma * (x - rmean) / torch.sqrt(rvar + EPS) + beta


def forward(p, x_nhwc, training, stats=None, pad=(1, 2), flatten="nhwc", flip=False,
            unbiased_norm=False, stats_const=False):
    """p: dict name -> tensor in the C layout. x_nhwc [N,28,28,1]. Returns logits and the batch
    statistics (training) needed for the running-stat update."""
    batch = {}
    x = x_nhwc.permute(0, 3, 1, 2)                                  # NCHW, C = 1
    g1 = p["batch_normalization/gamma"].view(1, 1, 1, 1)
    b1 = p["batch_normalization/beta"].view(1, 1, 1, 1)
    if training:
        x, mu, vb, vu = bn_train(x, g1, b1, (0, 2, 3), unbiased_norm, stats_const)
        batch["batch_normalization"] = (mu, vu)                     # TF fused: unbiased
    else:
        x = bn_infer(x, g1, b1, stats["batch_normalization/moving_mean"].view(1, 1, 1, 1),
                     stats["batch_normalization/moving_variance"].view(1, 1, 1, 1))

    def conv_w(name):
        w = p[name].permute(3, 2, 0, 1)                             # HWIO -> OIHW
        return torch.flip(w, dims=(2, 3)) if flip else w

    x = F.pad(x, (pad[0], pad[1], pad[0], pad[1]))                  # left, right, top, bottom
    x = F.relu(F.conv2d(x, conv_w("conv2d/kernel"), p["conv2d/bias"]))
    x = F.max_pool2d(x, 2, 2)
    x = F.relu(F.conv2d(x, conv_w("conv2d_1/kernel"), p["conv2d_1/bias"]))
    x = F.max_pool2d(x, 2, 2)                                       # 11 -> 5 (floor)
    if flatten == "nhwc":
        x = x.permute(0, 2, 3, 1)
    x = x.reshape(x.shape[0], -1)
    x = F.relu(x @ p["dense/kernel"] + p["dense/bias"])
    x = F.relu(x @ p["dense_1/kernel"] + p["dense_1/bias"])
    g2 = p["batch_normalization_1/gamma"]
    b2 = p["batch_normalization_1/beta"]
    if training:
        x, mu, vb, vu = bn_train(x, g2, b2, (0,), unbiased_norm, stats_const)
        batch["batch_normalization_1"] = (mu, vb)                   # Keras non-fused: biased
    else:
        x = bn_infer(x, g2, b2, stats["batch_normalization_1/moving_mean"],
                     stats["batch_normalization_1/moving_variance"])
    logits = x @ p["dense_2/kernel"] + p["dense_2/bias"]
    return logits, batch


def run_model(weights, images, dtype):
    """The golden computation in the given dtype. Returns dict of named numpy float64 arrays."""
    p = {name: torch.tensor(weights[name], dtype=dtype, requires_grad=True) for name, *_ in PARAMS}
    # The input exactly as the C code makes it: float32(v / 255), correctly rounded.
    x = (torch.tensor(images.reshape(N, 28, 28, 1), dtype=torch.float32) / 255.0).to(dtype)
    labels = torch.tensor(LABELS, dtype=torch.long)

    logits, batch = forward(p, x, True)
    loss = F.cross_entropy(logits, labels)
    loss.backward()

    stats = {}
    for bn, nch in (("batch_normalization", 1), ("batch_normalization_1", 64)):
        mu, var = batch[bn]
        stats[bn + "/moving_mean"] = (1 - MOMENTUM) * mu.detach()
        stats[bn + "/moving_variance"] = MOMENTUM * torch.ones(nch, dtype=dtype) + \
            (1 - MOMENTUM) * var.detach()
    with torch.no_grad():
        logits_inf, _ = forward(p, x, False, stats)
        initial = {k: (torch.zeros_like(v) if k.endswith("mean") else torch.ones_like(v))
                   for k, v in stats.items()}
        out = {
            "logits_train": logits.detach(),
            "loss": loss.detach().reshape(1),
            "logits_infer": logits_inf,
            "variant/pad_2_1": forward(p, x, True, pad=(2, 1))[0],
            "variant/flatten_nchw": forward(p, x, True, flatten="nchw")[0],
            "variant/conv_flipped": forward(p, x, True, flip=True)[0],
            "variant/bn_unbiased_norm": forward(p, x, True, unbiased_norm=True)[0],
            "variant/infer_initial_stats": forward(p, x, False, initial)[0],
        }
    out.update(stats)
    for name, *_ in PARAMS:
        out["grad/" + name] = p[name].grad.clone()

    # A wrong backward: BatchNorm batch statistics treated as constants.
    for v in p.values():
        v.grad = None
    F.cross_entropy(forward(p, x, True, stats_const=True)[0], labels).backward()
    for name in GRAD_VARIANT_PARAMS:
        out["variant/grad_bn_const/" + name] = p[name].grad.clone()
    return {k: v.double().numpy().ravel().copy() for k, v in out.items()}


# ---- the file ---------------------------------------------------------------------------------

def record(name, arr, kind, sample_stride=SAMPLE_STRIDE):
    arr = np.ascontiguousarray(arr).ravel()
    size = arr.size
    stride = sample_stride if size > SAMPLE_ABOVE else 1
    stored = arr[::stride]
    a64 = arr.astype(np.float64)
    sums = (math.fsum(a64), math.fsum(a64 * a64), math.fsum(np.abs(a64)))
    enc = name.encode()
    assert len(enc) < 48, name
    head = struct.pack("<48sIIQQddd", enc, kind, stride, size, stored.size, *sums)
    body = stored.astype({1: np.uint8, 2: "<f8", 3: "<f4"}[kind]).tobytes()
    return head + body


def main():
    torch.set_num_threads(1)
    images = make_images()
    weights = {name: param_values(t, shape, kind, fans)
               for t, (name, shape, kind, fans) in enumerate(PARAMS)}
    gold = run_model(weights, images, torch.float64)
    f32 = run_model(weights, images, torch.float32)

    recs = [record("images", images, 1), record("labels", np.array(LABELS, np.uint8), 1)]
    for name, *_ in PARAMS:
        recs.append(record("w/" + name, weights[name], 3, sample_stride=101))
    order = ["logits_train", "loss", "logits_infer"]
    for bn in ("batch_normalization", "batch_normalization_1"):
        order += [bn + "/moving_mean", bn + "/moving_variance"]
    order += ["grad/" + name for name, *_ in PARAMS]
    order += sorted(k for k in gold if k.startswith("variant/"))
    for k in order:
        recs.append(record(k, gold[k], 2))
    blob = b"SCNNGLD1" + struct.pack("<II", 1, len(recs)) + b"".join(recs)
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden.bin")
    with open(path, "wb") as f:
        f.write(blob)
    print(f"wrote {path}: {len(blob)} bytes, {len(recs)} records")

    # For information: float32 PyTorch vs the float64 golden, in the test's error measure
    # |a - ref| / max(|ref|, rms(ref)), and how far each wrong variant lies from the golden.
    print(f"loss {gold['loss'][0]:.10f}; logits_train[0] {np.round(gold['logits_train'][:10], 4)}")
    print("float32 PyTorch vs float64 golden (normalised max error):")
    for k in order:
        ref, got = gold[k], f32[k]
        scale = np.maximum(np.abs(ref), math.sqrt(np.mean(ref * ref)))
        scale[scale == 0] = 1.0
        print(f"  {k:42s} {np.max(np.abs(got - ref) / scale):.2e}")
    ref = gold["logits_train"]
    rms = math.sqrt(np.mean(ref * ref))
    for k in sorted(x for x in gold if x.startswith("variant/")):
        base = gold["logits_infer"] if "infer" in k else ref
        if "/grad_bn_const/" in k:
            base = gold["grad/" + k.split("/grad_bn_const/")[1]]
        scale = np.maximum(np.abs(base), math.sqrt(np.mean(base * base)))
        print(f"  {k:42s} differs from the golden by {np.max(np.abs(gold[k] - base) / scale):.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
