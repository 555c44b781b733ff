#!/usr/bin/env python3
"""Writes the seed corpora of fuzz/corpus/<target>/ (small valid and nearly valid files, each at
most 64 KiB). Run from the repository root: python3 fuzz/make_seeds.py CKPT, where CKPT is any
checkpoint scnn wrote (its header, metadata and tensor table seed the checkpoint corpus; the
tensor data, 5.9 MB, is cut off). Findings are added to the corpora by hand (fuzz/README.md)."""
import gzip, os, struct, sys, zlib

def put(target, name, data):
    assert len(data) <= 65536, (target, name, len(data))
    d = os.path.join("fuzz", "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

# ---- idx: 2-byte big-endian length of the images file, the images file, the labels file ----
def images(n, rows=28, cols=28, data=None):
    body = bytes((i * 7 + i // 784) & 255 for i in range(n * rows * cols)) if data is None else data
    return struct.pack(">IIII", 0x803, n, rows, cols) + body

def labels(n, data=None):
    return struct.pack(">II", 0x801, n) + (bytes(i % 10 for i in range(n)) if data is None else data)

def idx(img, lab):
    return struct.pack(">H", len(img)) + img + lab

def gz(b):
    return gzip.compress(b, mtime=0)

put("idx", "plain-1", idx(images(1), labels(1)))
put("idx", "plain-3", idx(images(3), labels(3)))
put("idx", "gzip-2", idx(gz(images(2)), gz(labels(2))))
put("idx", "gzip-images-plain-labels", idx(gz(images(1)), labels(1)))
put("idx", "truncated-images", idx(images(2)[:800], labels(2)))
put("idx", "bad-label", idx(images(1), labels(1, b"\x0a")))
put("idx", "count-mismatch", idx(images(2), labels(3)))
put("idx", "huge-count", idx(struct.pack(">IIII", 0x803, 10000000, 28, 28) + b"\0" * 64,
                             struct.pack(">II", 0x801, 10000000)))
put("idx", "trailing", idx(images(1) + b"xx", labels(1)))
put("idx", "gzip-truncated", idx(gz(images(2))[:-9], gz(labels(2))))

# ---- png --------------------------------------------------------------------------------------
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)

def png(w, h, depth, ctype, rows, interlace=0, extra=b""):
    raw = b"".join(b"\0" + r for r in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, interlace))
            + extra + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))

put("png", "gray8-28x28", png(28, 28, 8, 0, [bytes((x * 9 + y) & 255 for x in range(28)) for y in range(28)]))
put("png", "gray8-3x2", png(3, 2, 8, 0, [b"\x00\x80\xff", b"\x10\x20\x30"]))
put("png", "rgba8-4x3", png(4, 3, 8, 6, [bytes(range(y * 16, y * 16 + 16)) for y in range(3)]))
put("png", "rgb16-2x2", png(2, 2, 16, 2, [bytes(12), bytes(range(12))]))
put("png", "gray16-2x1", png(2, 1, 16, 0, [b"\x12\x34\xff\xff"]))
put("png", "palette2-trns-5x2", png(5, 2, 2, 3, [b"\x1b\x00", b"\xe4\x40"],
    extra=chunk(b"PLTE", bytes([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255])) + chunk(b"tRNS", b"\x00\x80")))
put("png", "gray1-9x2", png(9, 2, 1, 0, [b"\xa5\x80", b"\x5a\x00"]))
put("png", "graya8-2x2", png(2, 2, 8, 4, [b"\x10\xff\x20\x00", b"\x30\x80\x40\x40"]))
put("png", "gray8-trns-2x1", png(2, 1, 8, 0, [b"\x00\x07"], extra=chunk(b"tRNS", b"\x00\x07")))
put("png", "interlaced-gray8-3x3", png(3, 3, 8, 0, [], interlace=1).replace(
    chunk(b"IDAT", zlib.compress(b"")),
    # Adam7 passes of a 3x3 image: 1 (1x1), 4 (1x1 at x=2), 5 (2x1 row 2), 6 (1x2), 7 (3x1 rows 1)
    chunk(b"IDAT", zlib.compress(b"\0\x01" + b"\0\x02" + b"\0\x03\x04" + b"\0\x05\0\x06" + b"\0\x07\x08\x09"))))
put("png", "truncated", png(28, 28, 8, 0, [bytes(28)] * 28)[:60])
put("png", "huge-ihdr", png(1, 1, 8, 0, [b"\0"]).replace(struct.pack(">II", 1, 1), struct.pack(">II", 100000, 100000), 1))
put("png", "not-png-jpeg", b"\xff\xd8\xff\xe0" + bytes(20))

# ---- checkpoint ---------------------------------------------------------------------------------
def ckpt_fix(b):
    """Sets the header's file length and recomputes the trailing CRC-32."""
    b = bytearray(b)
    b[16:24] = struct.pack("<Q", len(b))
    b[-4:] = struct.pack("<I", zlib.crc32(bytes(b[:-4])) & 0xffffffff)
    return bytes(b)

if len(sys.argv) > 1:
    full = open(sys.argv[1], "rb").read()
    mlen = struct.unpack_from("<I", full, 24)[0]
    at = 28 + mlen
    count = struct.unpack_from("<I", full, at)[0]
    at += 4
    for _ in range(count):
        nl = full[at]
        rank = full[at + 1 + nl]
        at += 1 + nl + 2 + 4 * rank
    head = full[:at]  # header, metadata, tensor table
    put("checkpoint", "table-no-data", ckpt_fix(head + bytes(4)))
    put("checkpoint", "table-some-data", ckpt_fix(head + bytes(4096) + bytes(4)))
    put("checkpoint", "header-only", ckpt_fix(full[:24] + bytes(8)))
    put("checkpoint", "meta-only", ckpt_fix(full[:28 + mlen] + bytes(8)))
    bad = bytearray(ckpt_fix(head + bytes(4)))
    bad[8] = 2
    put("checkpoint", "version-2", bytes(bad))
    put("checkpoint", "bad-crc", bytes(ckpt_fix(head + bytes(4)))[:-4] + b"\0\0\0\0")

# ---- runfolder: run.conf, history.csv, result.txt, summary.json, state.txt, NUL-separated ----
run_conf = ("# scnn train options; 'scnn train --resume runs/x' continues this run\n"
            "dataset=fashion_mnist\ndata_dir=\nepochs=3\nbatch=250\nlimit=600\ntest_limit=200\n"
            "val_split=0.20000000000000001\nseed=1\niterations=1\naugment=2\nprotocol=clean\n"
            "select=val_loss\npatience=0\nbackend=naive\n")
history = ("epoch,loss,acc,val_loss,val_acc,seconds,images_per_s\n"
           "1,1.234567,0.512345,0.912345,0.701234,1.234,1234.5\n"
           "2,0.834567,0.712345,0.712345,0.751234,1.200,1300.1\n"
           "3,0.734567,0.742345,0.742345,0.741234,1.210,1290.0\n")
result = ("best_epoch 2\nepochs_run 3\ntrain_loss 0.83456700000000002\ntrain_acc 0.71234500000000001\n"
          "val_loss 0.71234500000000001\nval_acc 0.75123399999999996\ntest_loss 0.72999999999999998\n"
          "test_acc 0.745\nseconds 3.6440000000000001\nseconds_per_epoch 1.2146666666666666\nn_test 200\n")
summary = ('{\n  "dataset": "fashion_mnist",\n  "protocol": "clean",\n  "select": "val_loss",\n'
           '  "seed": 1,\n  "backend": "naive",\n  "threads": 1,\n  "git_rev": "0123456789ab",\n'
           '  "epochs": 3,\n  "batch": 250,\n  "val_split": 0.2000,\n  "augment": 2,\n  "patience": 0,\n'
           '  "n_originals": 600,\n  "n_train": 1440,\n  "n_val": 120,\n  "n_test": 200,\n'
           '  "trainable_params": 493772,\n  "data_sha256": "' + "a" * 64 + '",\n  "iterations": [\n'
           '    {"iteration": 0, "seed": 1, "best_epoch": 2, "epochs_run": 3, "train_loss": 0.834567, '
           '"train_acc": 0.712345, "val_loss": 0.712345, "val_acc": 0.751234, "test_loss": 0.730000, '
           '"test_acc": 0.745000, "seconds": 3.6, "seconds_per_epoch": 1.21}\n  ],\n'
           '  "mean_test_loss": 0.730000,\n  "std_test_loss": 0.000000,\n  "mean_test_acc": 0.745000,\n'
           '  "std_test_acc": 0.000000,\n  "mean_train_loss": 0.834567,\n  "mean_train_acc": 0.712345,\n'
           '  "mean_val_loss": 0.712345,\n  "mean_val_acc": 0.751234,\n  "mean_best_epoch": 2.00,\n'
           '  "ensemble_test_loss": 0.730000,\n  "ensemble_test_acc": 0.745000\n}\n')
state = ("scnn-train-state 1\nepoch 3\nslot a\nckpt_sha256 " + "0123456789abcdef" * 4 + "\n"
         "best_epoch 2\nbest_metric 0.71234500000000001\nsince_best 1\nhistory\n"
         "1,1.234567,0.512345,0.912345,0.701234,1.234,1234.5\n"
         "2,0.834567,0.712345,0.712345,0.751234,1.2,1300.1\n"
         "3,0.734567,0.742345,0.742345,0.741234,1.21,1290\n")
def rf(*parts):
    return "\0".join(parts).encode()
put("runfolder", "finished", rf(run_conf, history, result, summary, state))
put("runfolder", "unfinished", rf(run_conf, history, "", "", state))
put("runfolder", "conf-only", rf(run_conf))
put("runfolder", "conf-bad-value", rf(run_conf.replace("epochs=3", "epochs=3x"), history))
put("runfolder", "history-gap", rf(run_conf, history.replace("\n2,", "\n4,"), result))
