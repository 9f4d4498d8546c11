#!/usr/bin/python3
"""Seed corpora for the libFuzzer harnesses (fuzz/fuzz_<target>.c) -> testdata/fuzz/<target>/.
Files named regress_* are inputs of fixed fuzz findings: committed by hand, never regenerated.

Seeds are small valid (and a few deliberately broken) inputs taken from testdata/ plus a few
synthesized here, in the layout each harness expects (see the harness headers). Needs a built
`fullconv` (for the .fcn seeds): FULLCONV=path/to/fullconv (default build/fullconv).
Run from the repository root with Debian's /usr/bin/python3 (numpy)."""
import io
import json
import os
import struct
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

ROOT = "testdata/fuzz"
FC = os.environ.get("FULLCONV", "build/fullconv")
MAX_SEED = 100 * 1024


def out(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    assert len(data) <= MAX_SEED, (target, name, len(data))
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def npy_bytes(arr, fortran=False):
    b = io.BytesIO()
    np.save(b, np.asfortranarray(arr) if fortran else arr)
    return b.getvalue()


def main():
    # regenerate everything except the committed fuzz reproducers (regress_*: kept as seeds so
    # every campaign re-checks the fixed bugs first)
    for dp, _, fs in os.walk(ROOT):
        for f in fs:
            if not f.startswith("regress_"):
                os.remove(os.path.join(dp, f))
    rng = np.random.default_rng(7)

    # fcn: small models converted with the CLI (fp32, fp16, int8, rewritten) + a few broken ones.
    with tempfile.TemporaryDirectory() as tmp:
        jobs = [("cli_gap", "testdata/onnx/cli_gap.onnx", []),
                ("cli_gap_fp16", "testdata/onnx/cli_gap.onnx", ["--weights", "fp16"]),
                ("cli_cnn", "testdata/onnx/cli_cnn.onnx", []),
                ("cli_cnn_int8", "testdata/onnx/cli_cnn.onnx", ["--weights", "int8"]),
                ("cli_cnn_fc2conv", "testdata/onnx/cli_cnn.onnx", ["--fc-to-conv"]),
                ("cli_cnn_prepack", "testdata/onnx/cli_cnn.onnx", ["--prepack"]),
                ("seq_mlp", "testdata/torch/seq_mlp.pt", []),
                ("tfjs_seq_cnn", "testdata/tfjs/seq_cnn/model.json", [])]
        for name, src, opts in jobs:
            dst = os.path.join(tmp, name + ".fcn")
            r = subprocess.run([FC, "convert", src, "-o", dst, "--no-verify"] + opts,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if r.returncode == 0:
                out("fcn", name + ".fcn", read(dst))
            else:
                print("make_fuzz_seeds: skipped", name, r.stderr.decode().strip(), file=sys.stderr)
    for f in ("fcn_cycle", "fcn_truncated", "fcn_unknown_critical"):
        out("fcn", f + ".fcn", read("testdata/bad/%s.fcn" % f))

    # onnx
    for f in ("testdata/onnx/cli_cnn.onnx", "testdata/onnx/cli_gap.onnx",
              "testdata/bad/onnx_cycle.onnx", "testdata/bad/onnx_reshape_not_const.onnx",
              "testdata/bad/onnx_unsupported_op.onnx"):
        out("onnx", os.path.basename(f), read(f))

    # torch / zip / pickle
    pts = ["seq_fp16", "seq_mlp", "seq_nested", "seq_bigendian", "seq_noncontig", "seq_fp64"]
    for p in pts:
        data = read("testdata/torch/%s.pt" % p)
        out("torch", p + ".pt", data)
        out("zip", p + ".pt", data)
        with zipfile.ZipFile("testdata/torch/%s.pt" % p) as z:
            pkl = [n for n in z.namelist() if n.endswith("data.pkl")][0]
            body = z.read(pkl)
            out("pickle", p + "_weights_only.pkl", b"\x01" + body)
            out("pickle", p + ".pkl", b"\x00" + body)
    with zipfile.ZipFile("testdata/torch/seq_whole.pt") as z:
        pkl = [n for n in z.namelist() if n.endswith("data.pkl")][0]
        out("pickle", "seq_whole.pkl", b"\x00" + z.read(pkl))
    for f in ("torch_memo_bomb", "torch_deep_nesting", "torch_os_system", "torch_zip_bomb"):
        p = "testdata/bad/%s.pt" % f
        if os.path.exists(p) and os.path.getsize(p) <= MAX_SEED:
            out("torch", f + ".pt", read(p))
    out("zip", "small_alltypes.npz", read("testdata/weights/small_alltypes.npz"))
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.txt", b"hello " * 100)
        z.writestr("dir/b.bin", bytes(range(256)))
    out("zip", "deflated.zip", b.getvalue())

    # npy
    for name, arr in [("f32_4d", rng.standard_normal((1, 3, 4, 4), dtype=np.float32)),
                      ("f16", rng.standard_normal((5,)).astype(np.float16)),
                      ("f64", rng.standard_normal((2, 3))),
                      ("i8", np.arange(-8, 8, dtype=np.int8)),
                      ("u8", np.arange(16, dtype=np.uint8).reshape(4, 4)),
                      ("i64", np.arange(6, dtype=np.int64)),
                      ("bool", np.array([True, False, True])),
                      ("scalar", np.float32(3.5)),
                      ("empty", np.zeros((0, 3), np.float32)),
                      ("big_endian", np.arange(4, dtype=">f4"))]:
        out("npy", name + ".npy", npy_bytes(arr))
    out("npy", "fortran.npy", npy_bytes(rng.standard_normal((3, 4)).astype(np.float32), True))
    v2 = bytearray(npy_bytes(np.arange(3, dtype=np.float32)))
    out("npy", "v2.npy", b"\x93NUMPY\x02\x00" + struct.pack("<I", struct.unpack("<H", v2[8:10])[0]) + v2[10:])

    # npz
    out("npz", "small_alltypes.npz", read("testdata/weights/small_alltypes.npz"))
    out("npz", "lenet_fc_ridge.npz", read("testdata/lenet_fc_ridge.npz"))
    b = io.BytesIO()
    np.savez_compressed(b, x=rng.standard_normal((2, 1, 4, 4)).astype(np.float32), y=np.array([1, 0]))
    out("npz", "xy_compressed.npz", b.getvalue())

    # safetensors
    out("safetensors", "small_alltypes.safetensors", read("testdata/weights/small_alltypes.safetensors"))
    for f in ("st_overlap", "st_deep_nesting", "st_nan_size"):
        out("safetensors", f + ".safetensors", read("testdata/bad/%s.safetensors" % f))
    tensors = {"0.weight": np.ones((4, 1, 3, 3), np.float32), "0.bias": np.zeros(4, np.float32),
               "3.weight": np.ones((2, 4), np.float32), "3.bias": np.zeros(2, np.float32)}
    header, blob = {}, b""
    for k, v in tensors.items():
        header[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [len(blob), len(blob) + v.nbytes]}
        blob += v.tobytes()
    h = json.dumps(header).encode()
    out("safetensors", "seq.safetensors", struct.pack("<Q", len(h)) + h + blob)

    # tfjs: model.json (paths rewritten to the one shard "shard.bin") + separator + the shard
    for d in sorted(os.listdir("testdata/tfjs")):
        mj = "testdata/tfjs/%s/model.json" % d
        if not os.path.exists(mj):
            continue
        m = json.loads(read(mj))
        shard = b""
        for group in m.get("weightsManifest", []):
            for p in group["paths"]:
                shard += read("testdata/tfjs/%s/%s" % (d, p))
            group["paths"] = ["shard.bin"]
        if len(m.get("weightsManifest", [])) > 1:
            continue
        data = json.dumps(m, separators=(",", ":")).encode() + b"\n@@SHARD@@\n" + shard
        if len(data) <= MAX_SEED:
            out("tfjs", d + ".bin", data)

    # idx: images (N x H x W u8) alone and with labels
    def idx(arr, code=0x08):
        return struct.pack(">HBB", 0, code, arr.ndim) + b"".join(struct.pack(">I", s) for s in arr.shape) + arr.tobytes()
    imgs = rng.integers(0, 255, (4, 8, 8), dtype=np.uint8)
    labels = np.array([0, 3, 9, 1], np.uint8)
    out("idx", "images.idx", idx(imgs))
    out("idx", "images_labels.idx", idx(imgs) + b"@@LABELS@@" + idx(labels))
    out("idx", "float_images.idx", idx(imgs.astype(">f4"), 0x0D))

    # run_input: npy inputs for testdata/onnx/cli_gap.onnx (1x3xHxW, free H, W)
    out("run_input", "cli_gap_x.npy", read("testdata/onnx/cli_gap_x.npy"))
    out("run_input", "x_8x8.npy", npy_bytes(rng.standard_normal((1, 3, 8, 8), dtype=np.float32)))
    out("run_input", "x_wrong_dtype.npy", npy_bytes(np.zeros((1, 3, 8, 8))))
    out("run_input", "x_fortran.npy", npy_bytes(np.zeros((1, 3, 8, 8), np.float32), True))

    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(ROOT) for f in fs)
    print("make_fuzz_seeds: %d bytes in %s" % (total, ROOT))
    assert total <= 1536 * 1024


if __name__ == "__main__":
    main()
