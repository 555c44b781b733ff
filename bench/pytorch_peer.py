#!/usr/bin/python3
"""PyTorch peer of `make bench`: the SPEC section 1 model in PyTorch, measured as scnn_bench_e2e
measures our backends. scnn_bench_e2e runs it once per measurement (each in its own process, so
its peak memory is its own) with /usr/bin/python3 (Debian's python3-torch):

    pytorch_peer.py KIND --threads N --data DIR [--images N --batch B --eval E --warmup W
                    --steps S --min-time T --dropout 0|1 --seed S --weights FILE ...]

KIND: short    train --images in order in batches of --batch (dropout as --dropout), starting
               from the weights in --weights (scnn's initialisation, so that the loss can be
               compared with naive's), then the clipped test loss and accuracy on --eval images
      train    training images/s (forward, backward, Adam) at --batch after --warmup steps
      infer    inference images/s at --batch
      latency  batch-1 inference latency (median, 90th percentile), --steps passes
Output: key=value lines on stdout, as scnn_bench_e2e's own children write them.

The model is written the ordinary PyTorch way (nn.Conv2d/nn.Linear/nn.BatchNorm,
torch.optim.Adam), in channels_last memory format (NHWC, as ours; with NCHW this PyTorch runs
its convolutions as im2col + GEMM instead of oneDNN's kernels, slower), with SPEC's details: TensorFlow's asymmetric "same" padding (1 before, 2
after), flatten in (h, w, c) order, BatchNorm eps 1e-3 and momentum 0.01, Adam eps 1e-7.
The short training (the one compared with naive's loss) also uses Keras's Adam arithmetic and
Keras's running variance of the 64-feature BatchNorm (KerasAdam, biased_running_var); the timed
runs use torch.optim.Adam, whose cost is the same.
"""
import argparse
import gzip
import math
import os
import resource
import struct
import sys
import time

# glibc returns every large freed block to the kernel, so PyTorch, which allocates a fresh
# tensor per operation, pays a page fault per 4 KiB of every activation on every step (about
# 20 us each on a virtual machine: 10x slower training here). Keep freed memory in the heap
# instead, as the usual advice to run PyTorch on the CPU with jemalloc/tcmalloc does; the
# environment must be set before the process starts, hence the re-exec.
MALLOC_ENV = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": "68719476736",
              "MALLOC_TOP_PAD_": "536870912"}
if os.environ.get("SCNN_TORCH_MALLOC", "heap") == "heap" and \
        any(os.environ.get(k) != v for k, v in MALLOC_ENV.items()):
    os.execve(sys.executable, [sys.executable] + sys.argv, {**os.environ, **MALLOC_ENV})

import numpy as np

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:  # the harness checks first; this is for someone running it by hand
    print(f"pytorch_peer.py: PyTorch is not installed ({e}); `make bench PEERS=all` installs "
          "python3-torch", file=sys.stderr)
    sys.exit(1)

PIXELS = 784


def read_idx(directory, part, n):
    """The first n images and labels of an IDX pair (plain or .gz)."""
    out = []
    for kind, magic, head in (("images-idx3", 2051, 16), ("labels-idx1", 2049, 8)):
        path = os.path.join(directory, f"{part}-{kind}-ubyte")
        opener = open
        if not os.path.exists(path):
            path += ".gz"
            opener = gzip.open
        with opener(path, "rb") as f:
            h = f.read(head)
            if len(h) != head or struct.unpack(">I", h[:4])[0] != magic:
                sys.exit(f"pytorch_peer.py: {path}: not an IDX file")
            total = struct.unpack(">I", h[4:8])[0]
            take = min(n, total)
            each = PIXELS if magic == 2051 else 1
            data = f.read(take * each)
            if len(data) != take * each:
                sys.exit(f"pytorch_peer.py: {path}: truncated")
            out.append(np.frombuffer(data, dtype=np.uint8).copy())
    images = out[0].reshape(-1, 1, 28, 28)
    if len(images) < n:
        sys.exit(f"pytorch_peer.py: {directory}/{part}: {len(images)} images, need {n}")
    return images, out[1].astype(np.int64)


class SimpleCNN(nn.Module):
    def __init__(self, dropout=True):
        super().__init__()
        self.bn0 = nn.BatchNorm2d(1, eps=1e-3, momentum=0.01)
        self.conv1 = nn.Conv2d(1, 64, 4)
        self.conv2 = nn.Conv2d(64, 64, 4)
        self.dense = nn.Linear(1600, 256)
        self.dense1 = nn.Linear(256, 64)
        self.bn1 = nn.BatchNorm1d(64, eps=1e-3, momentum=0.01)
        self.dense2 = nn.Linear(64, 10)
        p = (0.1, 0.3, 0.5) if dropout else (0.0, 0.0, 0.0)
        self.drop = nn.ModuleList(nn.Dropout(q) for q in p)

    def forward(self, x):
        x = self.bn0(x)
        x = F.relu(self.conv1(F.pad(x, (1, 2, 1, 2))))     # TF "same" for a 4x4 kernel
        x = self.drop[0](F.max_pool2d(x, 2))
        x = F.relu(self.conv2(x))
        x = self.drop[1](F.max_pool2d(x, 2))               # 11 -> 5 (floor)
        x = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)  # Keras's (h, w, c) flatten
        x = self.drop[2](F.relu(self.dense(x)))
        x = self.bn1(F.relu(self.dense1(x)))
        return self.dense2(x)


def load_weights(model, path):
    """scnn's initial weights (scnn_bench_e2e's `child weights` file): HWIO conv kernels and
    [in, out] dense kernels, in the C layout."""
    w = {}
    with open(path, "rb") as f:
        if f.readline() != b"SCNNW1\n":
            sys.exit(f"pytorch_peer.py: {path}: not a weights file")
        while True:
            line = f.readline()
            if not line:
                break
            name, count = line.decode().split()
            count = int(count)
            w[name] = np.frombuffer(f.read(4 * count), dtype="<f4").copy()

    def t(a):
        return torch.from_numpy(np.ascontiguousarray(a))

    with torch.no_grad():
        for bn, key in ((model.bn0, "batch_normalization"), (model.bn1, "batch_normalization_1")):
            bn.weight.copy_(t(w[key + "/gamma"]))
            bn.bias.copy_(t(w[key + "/beta"]))
            bn.running_mean.copy_(t(w[key + "/moving_mean"]))
            bn.running_var.copy_(t(w[key + "/moving_variance"]))
        for conv, key, cin in ((model.conv1, "conv2d", 1), (model.conv2, "conv2d_1", 64)):
            k = w[key + "/kernel"].reshape(4, 4, cin, 64).transpose(3, 2, 0, 1)  # HWIO -> OIHW
            conv.weight.copy_(t(k))
            conv.bias.copy_(t(w[key + "/bias"]))
        for lin, key, (i, o) in ((model.dense, "dense", (1600, 256)),
                                 (model.dense1, "dense_1", (256, 64)),
                                 (model.dense2, "dense_2", (64, 10))):
            lin.weight.copy_(t(w[key + "/kernel"].reshape(i, o).T))
            lin.bias.copy_(t(w[key + "/bias"]))


class KerasAdam:
    """Adam as Keras (and scnn) do it, the "epsilon-hat" form: lr_t = lr*sqrt(1-b2^t)/(1-b1^t),
    p -= lr_t*m/(sqrt(v)+eps). torch.optim.Adam adds eps to sqrt(v/(1-b2^t)) instead, which
    differs where gradients are tiny; the short training uses this one so that its loss can be
    held to naive's at the harness's tolerance."""

    def __init__(self, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-7):
        self.params = [p for p in params if p.requires_grad]
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.lr, self.b1, self.b2, self.eps, self.t = lr, b1, b2, eps, 0

    def zero_grad(self, set_to_none=True):
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self):
        self.t += 1
        lr_t = self.lr * math.sqrt(1 - self.b2 ** self.t) / (1 - self.b1 ** self.t)
        for p, m, v in zip(self.params, self.m, self.v):
            m.mul_(self.b1).add_(p.grad, alpha=1 - self.b1)
            v.mul_(self.b2).addcmul_(p.grad, p.grad, value=1 - self.b2)
            p.sub_(lr_t * m / (v.sqrt() + self.eps))


def biased_running_var(bn):
    """Keras's (non-fused) 64-feature BatchNorm moves its running variance with the biased batch
    variance, PyTorch with the unbiased one. Returns a function that undoes the difference of
    the last training forward; call it after backward (autograd still needs the tensor before)."""
    pending = []

    def hook(module, inputs, output):
        if module.training:
            x = inputs[0].detach()
            pending.append(module.momentum * x.var(0, unbiased=False) / (x.shape[0] - 1))

    def fix():
        with torch.no_grad():
            while pending:
                bn.running_var.sub_(pending.pop())

    bn.register_forward_hook(hook)
    return fix


def to_input(images):
    """uint8 [n,1,28,28] -> float32 in [0, 1], as scnn_images_to_float (channels_last)."""
    x = torch.from_numpy(images).float().div_(255.0)
    return x.contiguous(memory_format=torch.channels_last)


def vmhwm_kb():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def onednn_conv_impl():
    """The implementation oneDNN picks for conv2's shape here ("jit:avx512_core", ...): its
    verbose line for one small convolution, read from file descriptor 1."""
    try:
        import tempfile
        sys.stdout.flush()
        saved = os.dup(1)
        with tempfile.TemporaryFile() as tf:
            os.dup2(tf.fileno(), 1)
            try:
                with torch.backends.mkldnn.verbose(1):
                    F.conv2d(torch.rand(2, 64, 14, 14).contiguous(
                        memory_format=torch.channels_last),
                        torch.rand(64, 64, 4, 4).contiguous(memory_format=torch.channels_last))
            finally:
                os.dup2(saved, 1)
                os.close(saved)
            tf.seek(0)
            for line in tf.read().decode(errors="replace").splitlines():
                f = line.split(",")
                if len(f) > 4 and f[1] == "exec" and f[3] == "convolution":
                    return f[4]
    except (AttributeError, OSError, RuntimeError):
        pass
    return "unknown"


def timed(fn, warmup, steps, min_time):
    for i in range(warmup):
        fn(i)
    samples, total, i = [], 0.0, warmup
    while (len(samples) < steps or total < min_time) and len(samples) < 100000:
        t0 = time.perf_counter()
        fn(i)
        dt = time.perf_counter() - t0
        samples.append(dt)
        total += dt
        i += 1
    return float(np.median(samples)), len(samples)


def clipped_loss_acc(logits, labels):
    p = torch.softmax(logits.double(), dim=1).clamp(1e-7, 1 - 1e-7)
    loss = -torch.log(p[torch.arange(len(labels)), labels]).mean().item()
    acc = (logits.argmax(dim=1) == labels).double().mean().item()
    return loss, acc


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("kind", choices=["short", "train", "infer", "latency"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data", default="data/idx/fashion_mnist")
    ap.add_argument("--weights")
    ap.add_argument("--images", type=int, default=100)
    ap.add_argument("--batch", type=int, default=250)
    ap.add_argument("--eval", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--steps", type=int, default=1)
    ap.add_argument("--prof-steps", type=int, default=0)
    ap.add_argument("--min-time", type=float, default=0.0)
    ap.add_argument("--dropout", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if a.threads < 1 or a.batch < 1 or a.images < 1:
        sys.exit("pytorch_peer.py: --threads, --batch and --images must be positive")

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    print(f"threads={torch.get_num_threads()}")
    isa = os.environ.get("DNNL_MAX_CPU_ISA", "")
    heap = all(os.environ.get(k) == v for k, v in MALLOC_ENV.items())
    print(f"impl=pytorch-{torch.__version__}-conv:{onednn_conv_impl()}-channels_last"
          + ("-heap_malloc" if heap else "") + (f"-dnnl_max_{isa.lower()}" if isa else ""))
    model = SimpleCNN(dropout=a.dropout != 0)
    if a.weights:
        load_weights(model, a.weights)
    model = model.to(memory_format=torch.channels_last)
    fix_bn = None
    if a.kind == "short":
        opt = KerasAdam(model.parameters())
        fix_bn = biased_running_var(model.bn1)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)

    def train_step(x_u8, y):
        model.train()
        logits = model(to_input(x_u8))
        loss = F.cross_entropy(logits, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if fix_bn:
            fix_bn()
        opt.step()
        return logits, loss

    if a.kind == "short":
        images, labels = read_idx(a.data, "train", a.images)
        timg, tlab = read_idx(a.data, "t10k", a.eval)
        labels, tlab = torch.from_numpy(labels), torch.from_numpy(tlab)
        t0 = time.perf_counter()
        losses = []
        for i in range(0, a.images, a.batch):
            logits, _ = train_step(images[i:i + a.batch], labels[i:i + a.batch])
            losses.append(clipped_loss_acc(logits.detach(), labels[i:i + a.batch])[0])
        train_s = time.perf_counter() - t0
        model.eval()
        with torch.no_grad():
            logits = torch.cat([model(to_input(timg[i:i + a.batch]))
                                for i in range(0, a.eval, a.batch)])
        loss, acc = clipped_loss_acc(logits, tlab)
        print(f"images={a.images}\nsteps={len(losses)}\ntrain_loss={np.mean(losses):.9g}\n"
              f"last_loss={losses[-1]:.9g}\nloss={loss:.9g}\nacc={acc:.9g}\ntrain_s={train_s:.6f}")
    elif a.kind in ("train", "infer"):
        pool = a.batch * max(1, 2500 // a.batch)
        images, labels = read_idx(a.data, "train", pool)
        labels = torch.from_numpy(labels)
        nb = pool // a.batch

        def step(i):
            k = (i % nb) * a.batch
            if a.kind == "train":
                train_step(images[k:k + a.batch], labels[k:k + a.batch])
            else:
                with torch.no_grad():
                    model(to_input(images[k:k + a.batch]))

        if a.kind == "infer":
            model.eval()
        med, reps = timed(step, a.warmup, a.steps, a.min_time)
        print(f"batch={a.batch}\nreps={reps}\nmedian_ms={1e3 * med:.6f}\n"
              f"images_per_s={a.batch / med:.6f}")
    else:
        images, _ = read_idx(a.data, "t10k", 100)
        model.eval()
        samples = []

        def one(i):
            with torch.no_grad():
                model(to_input(images[i % 100:i % 100 + 1]))

        for i in range(a.warmup):
            one(i)
        for i in range(max(1, a.steps)):
            t0 = time.perf_counter()
            one(i)
            samples.append(time.perf_counter() - t0)
        samples.sort()
        p90 = samples[int(0.9 * (len(samples) - 1) + 0.5)]
        print(f"reps={len(samples)}\nlatency_ms={1e3 * float(np.median(samples)):.6f}\n"
              f"latency_p90_ms={1e3 * p90:.6f}")
    print(f"vmhwm_kb={vmhwm_kb()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
