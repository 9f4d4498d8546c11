#!/usr/bin/python3
"""make_weights_testdata.py — safetensors / .npz test files for converter/import_weights.c.

Regenerate the committed files (small, deterministic; numpy only):
    /usr/bin/python3 scripts/make_weights_testdata.py
        testdata/weights/small_alltypes.safetensors   every dtype the reader takes, a __metadata__ map
        testdata/weights/small_alltypes.npz           the same arrays via np.savez (+ a Fortran-order one)
        testdata/bad/st_*.safetensors        malformed safetensors, each with its .expect
        testdata/bad/npz_*.npz               malformed .npz archives, each with its .expect
Positive end-to-end files for an --arch template (too large to commit: squeezenet1_1 is 4.9 MB),
generated on demand with Debian's torch/torchvision (no download: random seeded weights):
    /usr/bin/python3 scripts/make_weights_testdata.py --models build/models [ARCH ...]
        <dir>/<arch>.safetensors, <dir>/<arch>.npz, <dir>/<arch>_input.npy,
        <dir>/<arch>_output.npy (torch's output on that input); ARCH defaults to squeezenet1_1,
        any torchvision.models constructor name works (num_classes=10, BN given real statistics)
    then: sh scripts/weights_goldens.sh <dir>   (not part of `make test`)

The safetensors files are written by this script itself (the `safetensors` package is not in
Debian); the layout follows the format spec: u64 LE header size, JSON header padded with spaces
to a multiple of 8, then the tensors back to back in header order.

Values: element i of every test array is ((i % 7) - 3) / 4, exact in every float dtype; the
cmocka test (converter/tests/test_safetensors.c) recomputes them.
"""
import json
import os
import struct
import sys
import zipfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pattern(n):
    return np.array([((i % 7) - 3) / 4.0 for i in range(n)], dtype=np.float64)


# name, safetensors dtype, numpy dtype, shape
SMALL = [
    ("features.0.weight", "F32", np.float32, (2, 1, 3, 3)),
    ("features.0.bias", "F16", np.float16, (2,)),
    ("classifier.weight", "BF16", None, (3, 4)),
    ("classifier.bias", "F64", np.float64, (3,)),
    ("bn.num_batches_tracked", "I64", np.int64, ()),
    ("counts", "I32", np.int32, (2, 2)),
    ("small_ints", "I16", np.int16, (3,)),
    ("signed", "I8", np.int8, (4,)),
    ("bytes", "U8", np.uint8, (5,)),
    ("mask", "BOOL", np.bool_, (4,)),
    ("empty", "F32", np.float32, (0, 3)),
]


def values_for(st_dtype, np_dtype, shape):
    n = int(np.prod(shape)) if shape else 1
    v = pattern(n)
    if st_dtype in ("I64", "I32", "I16", "I8"):
        v = np.arange(n) - 2           # small signed integers
    elif st_dtype == "U8":
        v = np.arange(n) * 3
    elif st_dtype == "BOOL":
        v = (np.arange(n) % 2) == 1
    return v.reshape(shape)


def tensor_bytes(st_dtype, np_dtype, arr):
    if st_dtype == "BF16":
        f = np.asarray(arr, dtype=np.float32).reshape(-1)
        return (f.view(np.uint32) >> 16).astype("<u2").tobytes()   # exact: pattern values fit bf16
    return np.ascontiguousarray(np.asarray(arr).astype(np.dtype(np_dtype).newbyteorder("<"))).tobytes()


def safetensors_bytes(tensors, metadata=None, header_override=None, pad=True):
    """tensors: list of (name, dtype, shape, raw bytes); offsets assigned back to back."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    blobs, at = [], 0
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [at, at + len(raw)]}
        blobs.append(raw)
        at += len(raw)
    text = header_override if header_override is not None else json.dumps(header, separators=(",", ":"))
    hb = text.encode("utf-8") if isinstance(text, str) else text
    if pad:
        hb += b" " * ((8 - len(hb) % 8) % 8)
    return struct.pack("<Q", len(hb)) + hb + b"".join(blobs)


def write(rel, data):
    path = os.path.join(ROOT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def write_expect(case, message, cmd=None, where="testdata/bad"):
    lines = [message]
    if cmd:
        lines.append("cmd: " + cmd)
    write("%s/%s.expect" % (where, case), ("\n".join(lines) + "\n").encode())


def make_small():
    tensors = []
    npz = {}
    for name, dt, npdt, shape in SMALL:
        arr = values_for(dt, npdt, shape)
        tensors.append((name, dt, shape, tensor_bytes(dt, npdt, arr)))
        if dt != "BF16":              # numpy has no bfloat16
            npz[name] = np.asarray(arr).astype(npdt)
    write("testdata/weights/small_alltypes.safetensors", safetensors_bytes(tensors, {"format": "pt", "source": "fullconv"}))
    # .npz: same arrays plus a Fortran-ordered one (the reader transposes it to C order)
    npz["fortran"] = np.asfortranarray(pattern(6).reshape(2, 3).astype(np.float32))
    path = os.path.join(ROOT, "testdata/weights/small_alltypes.npz")
    np.savez(path, **npz)
    # np.savez stamps the current time into the zip: rewrite with a fixed date so reruns match
    normalize_zip(path)


def normalize_zip(path):
    with zipfile.ZipFile(path) as z:
        members = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            z.writestr(info, data)


def f32(n):
    return np.arange(n, dtype="<f4").tobytes()


def make_bad():
    ok = [("a", "F32", (2,), f32(2)), ("b", "F32", (3,), f32(3))]

    def st(case, data, msg, direct_only=False):
        # direct_only: fullconv's format sniffing does not take the file for safetensors at all
        # (it needs 8 bytes then '{'), so the CLI bad-input runner would see another message;
        # those live in testdata/weights/bad/ and only the reader's own test uses them.
        where = "testdata/weights/bad" if direct_only else "testdata/bad"
        write("%s/%s.safetensors" % (where, case), data)
        write_expect(case, msg, where=where)

    # header length over the reference reader's 100 MB limit
    st("st_header_too_long", struct.pack("<Q", 100_000_001) + b"{}" + b" " * 6, "over the 100 MB limit")
    # header length past the end of the file
    st("st_header_past_end", struct.pack("<Q", 4096) + b'{"a":{}}', "runs past the end of the file")
    # two tensors sharing bytes
    st("st_overlap", safetensors_bytes(ok, header_override=json.dumps({
        "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
        "b": {"dtype": "F32", "shape": [3], "data_offsets": [4, 16]}})) , "overlaps the previous tensor")
    # a gap between tensors
    st("st_hole", safetensors_bytes(ok + [("pad", "U8", (4,), b"\0" * 4)], header_override=json.dumps({
        "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
        "b": {"dtype": "F32", "shape": [3], "data_offsets": [12, 24]}})), "a hole before it")
    # tensors not reaching the end of the buffer
    st("st_short_cover", safetensors_bytes(ok + [("x", "U8", (4,), b"\0" * 4)], header_override=json.dumps({
        "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
        "b": {"dtype": "F32", "shape": [3], "data_offsets": [8, 20]}})), "bytes of a 24-byte data buffer")
    # the same key twice (cJSON would keep both silently)
    st("st_dup_key", safetensors_bytes(ok, header_override=(
        '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
        '"a":{"dtype":"F32","shape":[3],"data_offsets":[8,20]}}')), "has the key 'a' twice")
    # bytes != numel * dtype size
    st("st_size_mismatch", safetensors_bytes(ok, header_override=json.dumps({
        "a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]},
        "b": {"dtype": "F32", "shape": [3], "data_offsets": [8, 20]}})), "shape x F32 needs 12")
    # not JSON
    st("st_bad_json", safetensors_bytes(ok, header_override='{"a": {"dtype": "F32", "shape": [2], '), "not valid JSON")
    # NaN (not JSON) and a float as a size
    st("st_nan_size", safetensors_bytes(ok, header_override=(
        '{"a":{"dtype":"F32","shape":[NaN],"data_offsets":[0,8]},'
        '"b":{"dtype":"F32","shape":[3],"data_offsets":[8,20]}}')), "not valid JSON")
    st("st_float_size", safetensors_bytes(ok, header_override=(
        '{"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]},'
        '"b":{"dtype":"F32","shape":[3],"data_offsets":[8,20]}}')), "shape entries must be non-negative integers")
    st("st_negative_offset", safetensors_bytes(ok, header_override=(
        '{"a":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]},'
        '"b":{"dtype":"F32","shape":[3],"data_offsets":[8,20]}}')), "data_offsets must be two non-negative integers")
    # nesting deep enough to blow a recursive parser's stack
    st("st_deep_nesting", safetensors_bytes(ok, header_override='{"__metadata__":' + "[" * 2000 + "]" * 2000 + "}"),
       "nested deeper than")
    # header bytes that are not UTF-8
    st("st_not_utf8", safetensors_bytes(ok, header_override=b'{"\xff\xfe":{"dtype":"F32","shape":[5],"data_offsets":[0,20]}}'),
       "not valid UTF-8")
    st("st_bad_dtype", safetensors_bytes(ok, header_override=json.dumps({
        "a": {"dtype": "C64", "shape": [1], "data_offsets": [0, 8]},
        "b": {"dtype": "F32", "shape": [3], "data_offsets": [8, 20]}})), "dtype 'C64' not supported")
    st("st_bad_metadata", safetensors_bytes(ok, metadata={"epoch": 3}), "'__metadata__' value 'epoch' is not a string")
    st("st_not_object", safetensors_bytes([], header_override="[1, 2, 3]"), "does not start with '{'", True)
    st("st_trailing_garbage", safetensors_bytes(ok, header_override=json.dumps({
        "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
        "b": {"dtype": "F32", "shape": [3], "data_offsets": [8, 20]}}) + "xx"), "bytes after the JSON object")
    st("st_truncated", b"\x10\0\0", "too short for a safetensors header", True)

    # .npz: a member that is not an array; an object array
    def npz(case, members, msg, direct_only=False):
        where = "testdata/weights/bad" if direct_only else "testdata/bad"
        os.makedirs(os.path.join(ROOT, where), exist_ok=True)
        path = os.path.join(ROOT, "%s/%s.npz" % (where, case))
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
            for name, data in members:
                z.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), data)
        write_expect(case, msg, where=where)

    import io
    buf = io.BytesIO()
    np.save(buf, np.arange(4, dtype=np.float32))
    good = buf.getvalue()
    # (fullconv's sniffing calls a zip with other members "neither PyTorch nor .npz" first)
    npz("npz_not_npy_member", [("a.npy", good), ("notes.txt", b"hello")], "member 'notes.txt' is not a .npy array", True)
    npz("npz_bad_npy", [("a.npy", good), ("b.npy", b"NUMPY but not really")], "not a .npy file")
    npz("npz_truncated_npy", [("a.npy", good[:-5])], ".npy data truncated")
    buf = io.BytesIO()
    np.save(buf, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    npz("npz_object_array", [("a.npy", buf.getvalue())], "object arrays")


def make_models(out_dir, archs):
    import torch
    import torchvision
    os.makedirs(out_dir, exist_ok=True)
    for arch in archs:
        torch.manual_seed(0)
        model = getattr(torchvision.models, arch)(num_classes=10).eval()
        gen = torch.Generator().manual_seed(2)
        with torch.no_grad():
            for m in model.modules():   # untrained BN is the identity: give it real statistics
                if isinstance(m, torch.nn.BatchNorm2d):
                    m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
                    m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                    m.weight.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                    m.bias.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
            x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(1))
            y = model(x)
        sd = model.state_dict()
        tensors = []
        for k, v in sd.items():
            a = v.detach().cpu().contiguous().numpy()
            dt = {np.dtype("float32"): "F32", np.dtype("int64"): "I64"}[a.dtype]
            tensors.append((k, dt, a.shape, a.astype(a.dtype.newbyteorder("<")).tobytes()))
        with open(os.path.join(out_dir, arch + ".safetensors"), "wb") as f:
            f.write(safetensors_bytes(tensors, {"format": "pt"}))
        np.savez(os.path.join(out_dir, arch + ".npz"), **{k: v.numpy() for k, v in sd.items()})
        np.save(os.path.join(out_dir, arch + "_input.npy"), x.numpy())
        np.save(os.path.join(out_dir, arch + "_output.npy"), y.numpy())
        print("%s: %s (10 classes) safetensors + npz + input/output" % (out_dir, arch))


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "--models":
        make_models(sys.argv[2], sys.argv[3:] or ["squeezenet1_1"])
        return
    make_small()
    make_bad()
    print("wrote testdata/weights/small_alltypes.{safetensors,npz} and testdata/bad/st_*, npz_*")


if __name__ == "__main__":
    main()
