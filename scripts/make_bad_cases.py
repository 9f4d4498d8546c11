#!/usr/bin/python3
"""Malformed inputs for testdata/bad/ (issue 7's list), beyond the importers' own generators
(scripts/make_bad_onnx.py, make_bad_calib.py, runtime/tests/tool_make_bad_fcn.c, ...):

  hard_fcn_*     a .fcn (testdata/onnx/cli_cnn.onnx converted) truncated at every section
                 boundary, bit flips in header fields (CRC recomputed so the field check itself
                 is tested), a wrong section-table CRC, sections with negative/huge/unaligned
                 offsets, overlapping or missing sections, tensor records out of range;
  hard_npz_*     zip names with "..", absolute paths and backslashes, a deflate bomb (ratio),
                 a duplicate member;
  hard_idx_*     IDX calibration files with a bad magic, overflowing dims, label count mismatch;
  hard_tfjs_*    NaN / negative / overflowing shapes, a short shard, an unknown dtype, a cycle;
  hard_torch_*   pickles using opcodes or globals a loader must never run (INST, EXT1, getattr,
                 REDUCE on a non-callable), a storage key escaping the archive.

Each case is <name>.<ext> + <name>.expect (testdata/bad/README.md). The .fcn cases need a
built fullconv: FULLCONV=path (default build/fullconv). Run from the repository root with
Debian's /usr/bin/python3. Deterministic: rerunning rewrites identical files."""
import io
import json
import os
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib

BAD = "testdata/bad"
FC = os.environ.get("FULLCONV", "build/fullconv")
written = []


# The message each case must produce (the first line of its .expect).
EXPECT = {
    "hard_fcn_trunc_in_header": "truncated: 40 bytes, the header alone is 64",
    "hard_fcn_trunc_after_header": "file has 64 (truncated or padded)",
    "hard_fcn_trunc_in_table": "file has 104 (truncated or padded)",
    "hard_fcn_trunc_at_meta": "(truncated or padded)",
    "hard_fcn_trunc_at_strings": "(truncated or padded)",
    "hard_fcn_trunc_at_tensors": "(truncated or padded)",
    "hard_fcn_trunc_at_graph": "(truncated or padded)",
    "hard_fcn_trunc_at_data": "(truncated or padded)",
    "hard_fcn_trunc_mid_last": "(truncated or padded)",
    "hard_fcn_bad_magic": "not a valid ONNX protobuf",
    "hard_fcn_header_size": "header_size is 65, expected 64",
    "hard_fcn_file_size_flip": "(truncated or padded)",
    "hard_fcn_table_offset_huge": "section table at offset 18446744073709551552 (5 entries) lies outside",
    "hard_fcn_table_offset_unaligned": "section table crc mismatch",
    "hard_fcn_section_count_zero": "section_count 0 (must be 1..64)",
    "hard_fcn_section_count_huge": "section_count 2147483649 (must be 1..64)",
    "hard_fcn_text_mode": "already a .fcn model",
    "hard_fcn_table_crc": "section table crc mismatch",
    "hard_fcn_section_offset_negative": "section 4 (DATA) [18446744073709551552, +",
    "hard_fcn_section_offset_unaligned": "is not a multiple of 64",
    "hard_fcn_section_size_wrap": "+18446744073709551552) extends past the end",
    "hard_fcn_section_past_end": "extends past the end of the",
    "hard_fcn_sections_overlap": "overlaps the previous section or the table",
    "hard_fcn_duplicate_section": "a second TENSORS section",
    "hard_fcn_name_outside_strings": "lies outside STRINGS",
    "hard_fcn_name_len_zero": "has a name of 0 bytes (must be 1..4096)",
    "hard_fcn_dtype_invalid": "has invalid dtype 99",
    "hard_fcn_ndim_nine": "has 9 dims (at most 8)",
    "hard_fcn_data_size_mismatch": "its shape needs",
    "hard_fcn_data_off_unaligned": "is not a multiple of 64",
    "hard_fcn_aux_id_out_of_range": "has an aux tensor",
    "hard_fcn_tensors_overlap": "overlap in DATA",
    "hard_fcn_broadcast_overflow": "input 'x' is too large",
    "hard_npz_dotdot_name": "unsafe name ('..' component in path)",
    "hard_npz_absolute_name": "unsafe name (absolute path)",
    "hard_npz_backslash_name": "unsafe name (backslash in path)",
    "hard_npz_deflate_bomb": "(ratio limit 1000: zip bomb?)",
    "hard_npz_duplicate_name": "zip has duplicate entry names",
    "hard_npz_entry_count_lie": "a zip file that cannot be opened",
    "hard_npz_not_zip": "a zip file that cannot be opened",
    "hard_idx_bad_magic-images-idx3-ubyte": "not an IDX file (bad magic)",
    "hard_idx_dims_overflow-images-idx3-ubyte": "IDX dimension 0 is 4294967295",
    "hard_idx_zero_dims-images-idx3-ubyte": "IDX rank 0, expected 3",
    "hard_idx_bad_type-images-idx3-ubyte": "IDX element type 0x42",
    "hard_idx_label_count": "3 labels for 4 images",
    "hard_tfjs_nan_shape": "not a JSON object",
    "hard_tfjs_negative_shape": "shape entries must be non-negative integers",
    "hard_tfjs_float_shape": "shape entries must be non-negative integers",
    "hard_tfjs_shape_overflow": "shape overflows",
    "hard_tfjs_short_shard": "needs 24 bytes at offset 0, the shards hold only 20",
    "hard_tfjs_bad_dtype": "dtype 'complex64' not supported",
    "hard_tfjs_shard_is_dir": "weight shard '.'",
    "hard_tfjs_not_json": "not a JSON object",
    "hard_tfjs_huge_number": "'units' must be an integer",
    "hard_torch_inst_opcode": "opcode INST is not supported",
    "hard_torch_ext_opcode": "extension-registry opcodes (EXT1/2/4) are not allowed",
    "hard_torch_getattr": "global 'builtins.getattr' is not allowed",
    "hard_torch_reduce_string": "call of a str",
    "hard_torch_storage_key_escape": "bad storage key",
    "hard_torch_stop_empty": "stack underflow",
    "hard_torch_no_stop": "truncated: no STOP opcode",
}


def case(name, ext, data, expect, cmd=None, status=None):
    expect = expect or EXPECT[name]
    path = os.path.join(BAD, name + "." + ext)
    mode = "wb" if isinstance(data, (bytes, bytearray)) else "w"
    with open(path, mode) as f:
        f.write(data)
    lines = [expect]
    if cmd:
        lines.append("cmd: " + cmd)
    if status is not None:
        lines.append("status: %d" % status)
    with open(os.path.join(BAD, name + ".expect"), "w") as f:
        f.write("\n".join(lines) + "\n")
    written.append(name)


def helper(name, data):
    with open(os.path.join(BAD, name), "wb") as f:
        f.write(data)


# ---- .fcn ------------------------------------------------------------------------------------
HDR = struct.Struct("<8sHHIQQIII16sI")        # fcn_header, 64 bytes
SEC = struct.Struct("<IIQQII")                # fcn_section, 32 bytes
TEN = struct.Struct("<IIII8qQQII")            # fcn_tensor_rec, 104 bytes
KINDS = {1: "META", 2: "STRINGS", 3: "TENSORS", 4: "GRAPH", 5: "DATA"}


def fcn_parse(b):
    h = list(HDR.unpack_from(b, 0))
    secs = [list(SEC.unpack_from(b, h[5] + i * 32)) for i in range(h[6])]
    return h, secs


def fcn_build(b, h, secs, fix_sections=True):
    """Writes header/table back, recomputing the CRCs (so only the intended field is wrong)."""
    b = bytearray(b)
    for i, s in enumerate(secs):
        if fix_sections and s[2] + s[3] <= len(b):
            s[4] = zlib.crc32(bytes(b[s[2]:s[2] + s[3]]))
        SEC.pack_into(b, 64 + i * 32, *s)       # the table stays where the writer put it
    h[8] = zlib.crc32(bytes(b[64:64 + 32 * len(secs)]))
    HDR.pack_into(b, 0, *h)
    h[10] = zlib.crc32(bytes(b[:60]))
    HDR.pack_into(b, 0, *h)
    return bytes(b)


def make_fcn_cases():
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "m.fcn")
        subprocess.run([FC, "convert", "testdata/onnx/cli_cnn.onnx", "-o", out, "--no-verify"],
                       check=True, stdout=subprocess.DEVNULL)
        base = open(out, "rb").read()
    h, secs = fcn_parse(base)
    insp = "inspect {}"
    # truncation at every boundary: inside the header, after it, inside the table, at each section start
    case("hard_fcn_trunc_in_header", "fcn", base[:40], "", insp)
    case("hard_fcn_trunc_after_header", "fcn", base[:64], "", insp)
    case("hard_fcn_trunc_in_table", "fcn", base[:64 + 40], "", insp)
    for i, s in enumerate(secs):
        case("hard_fcn_trunc_at_%s" % KINDS.get(s[0], str(s[0])).lower(), "fcn", base[:s[2]], "", insp)
    last = secs[-1]
    case("hard_fcn_trunc_mid_last", "fcn", base[:last[2] + last[3] // 2], "", insp)
    # bit flips in header fields, CRC recomputed
    def hdr_case(name, idx, value):
        hh, ss = fcn_parse(base)
        hh[idx] = value
        case(name, "fcn", fcn_build(base, hh, ss), "", insp)
    hdr_case("hard_fcn_bad_magic", 0, b"\x89FCM\r\n\x1a\n")
    hdr_case("hard_fcn_header_size", 3, 65)
    hdr_case("hard_fcn_file_size_flip", 4, h[4] ^ 0x100)
    hdr_case("hard_fcn_table_offset_huge", 5, 0xFFFFFFFFFFFFFFC0)
    hdr_case("hard_fcn_table_offset_unaligned", 5, 72)
    hdr_case("hard_fcn_section_count_zero", 6, 0)
    hdr_case("hard_fcn_section_count_huge", 6, 0x80000001)
    # the magic of a text-mode transfer (CRLF -> LF): one byte shorter, no CRC fix possible
    case("hard_fcn_text_mode", "fcn", base[:4] + base[5:], "", insp)
    # a wrong section-table CRC (header CRC fixed)
    b = bytearray(base)
    hh, ss = fcn_parse(base)
    hh[8] ^= 1
    HDR.pack_into(b, 0, *hh)
    hh[10] = zlib.crc32(bytes(b[:60]))
    HDR.pack_into(b, 0, *hh)
    case("hard_fcn_table_crc", "fcn", bytes(b), "", insp)
    # section offsets/sizes
    def sec_case(name, i, field, value, fix=True):
        hh, ss = fcn_parse(base)
        ss[i][field] = value
        case(name, "fcn", fcn_build(base, hh, ss, fix), "", insp)
    di = [k for k, s in enumerate(secs) if s[0] == 5][0]
    gi = [k for k, s in enumerate(secs) if s[0] == 4][0]
    ti = [k for k, s in enumerate(secs) if s[0] == 3][0]
    sec_case("hard_fcn_section_offset_negative", di, 2, (1 << 64) - 64)
    sec_case("hard_fcn_section_offset_unaligned", di, 2, secs[di][2] + 8)
    sec_case("hard_fcn_section_size_wrap", di, 3, (1 << 64) - 64)
    sec_case("hard_fcn_section_past_end", di, 3, secs[di][3] + 4096)
    sec_case("hard_fcn_sections_overlap", gi, 2, secs[ti][2])
    sec_case("hard_fcn_duplicate_section", gi, 0, 3)
    # tensor records (TENSORS section, CRCs fixed)
    def ten_case(name, field, value, which=0):
        b = bytearray(base)
        off = secs[ti][2] + which * TEN.size
        rec = list(TEN.unpack_from(b, off))
        if isinstance(field, tuple):
            rec[field[0]] = value
        else:
            rec[field] = value
        TEN.pack_into(b, off, *rec)
        hh, ss = fcn_parse(bytes(b))
        case(name, "fcn", fcn_build(bytes(b), hh, ss), "", insp)
    n_ten = secs[ti][3] // TEN.size
    # find a constant (weights) record and an activation record
    recs = [TEN.unpack_from(base, secs[ti][2] + k * TEN.size) for k in range(n_ten)]
    const = [k for k, r in enumerate(recs) if r[12] != 0xFFFFFFFFFFFFFFFF][0]
    const2 = [k for k, r in enumerate(recs) if r[12] != 0xFFFFFFFFFFFFFFFF][1]
    ten_case("hard_fcn_name_outside_strings", 0, 0x7FFFFFF0, const)
    ten_case("hard_fcn_name_len_zero", 1, 0, const)
    ten_case("hard_fcn_dtype_invalid", 2, 99, const)
    ten_case("hard_fcn_ndim_nine", 3, 9, const)
    ten_case("hard_fcn_data_size_mismatch", 13, recs[const][13] + 4, const)
    ten_case("hard_fcn_data_off_unaligned", 12, recs[const][12] + 4, const)
    ten_case("hard_fcn_aux_id_out_of_range", 14, 77777, const)
    # two constants claiming the same bytes: the smaller one pointed into the larger one
    consts = sorted((r[13], k) for k, r in enumerate(recs) if r[12] != 0xFFFFFFFFFFFFFFFF and r[13] > 0)
    small, big = consts[0][1], consts[-1][1]
    ten_case("hard_fcn_tensors_overlap", 12, recs[big][12], small)
    # fuzz_fcn finding (signed overflow in fcn_numel_dims on a broadcast of huge dims): the
    # reproducer is kept as a seed; here with its CRCs made valid
    rep = open("testdata/fuzz/fcn/regress_broadcast_overflow.fcn", "rb").read()
    hh, ss = fcn_parse(rep)
    case("hard_fcn_broadcast_overflow", "fcn", fcn_build(rep, hh, ss), "", insp)


# ---- .npz (zip layer) ---------------------------------------------------------------------------
def npy_f32(shape):
    import numpy as np
    b = io.BytesIO()
    np.save(b, np.zeros(shape, np.float32))
    return b.getvalue()


def zip_bytes(members, method=zipfile.ZIP_STORED):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", method) as z:
        for name, data in members:
            z.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return b.getvalue()


def make_npz_cases():
    cmd = "convert {} -o {out} --arch resnet18"
    x = npy_f32((2, 2))
    case("hard_npz_dotdot_name", "npz", zip_bytes([("../../evil.npy", x)]), "", cmd)
    case("hard_npz_absolute_name", "npz", zip_bytes([("/etc/evil.npy", x)]), "", cmd)
    case("hard_npz_backslash_name", "npz", zip_bytes([("..\\evil.npy", x)]), "", cmd)
    # 64 MiB of zeros in one deflated entry: ~64 KiB on disk, ratio ~1000:1
    import numpy as np
    b = io.BytesIO()
    np.save(b, np.zeros((16, 1024, 1024), np.float32))
    case("hard_npz_deflate_bomb", "npz", zip_bytes([("fc.weight.npy", b.getvalue())], zipfile.ZIP_DEFLATED), "", cmd)
    # duplicate member names (the zip module warns; the bytes are what an attacker would write)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        case("hard_npz_duplicate_name", "npz", zip_bytes([("fc.weight.npy", x), ("fc.weight.npy", x)]), "", cmd)
    # a zip whose EOCD claims more entries than the central directory holds
    z = bytearray(zip_bytes([("a.npy", x)]))
    eocd = z.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", z, eocd + 8, 60000, 60000)
    case("hard_npz_entry_count_lie", "npz", bytes(z), "", cmd)
    case("hard_npz_not_zip", "npz", b"PK\x03\x04" + b"\x00" * 60, "", cmd)


# ---- IDX (calibration data) -----------------------------------------------------------------------
def make_idx_cases():
    cmd = "convert testdata/lenet_fc.onnx -o {out} --gap-head fit --calib {}"
    img = bytes(range(256)) * 49 * 4   # 4 x 28 x 28 bytes... (784*4 = 3136 = 256*12.25): sized below
    img = (bytes(range(256)) * 13)[:4 * 28 * 28]

    def idx(code, dims, payload):
        return struct.pack(">HBB", 0, code, len(dims)) + b"".join(struct.pack(">I", d) for d in dims) + payload
    case("hard_idx_bad_magic-images-idx3-ubyte", "bin", struct.pack(">HBB", 0x1234, 8, 3) + b"\0" * 12 + img, "", cmd)
    case("hard_idx_dims_overflow-images-idx3-ubyte", "bin", idx(8, [0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF], img), "", cmd)
    case("hard_idx_zero_dims-images-idx3-ubyte", "bin", idx(8, [], b""), "", cmd)
    case("hard_idx_bad_type-images-idx3-ubyte", "bin", idx(0x42, [4, 28, 28], img), "", cmd)
    helper("hard_idx_pair_images.idx", idx(8, [4, 28, 28], img))
    case("hard_idx_label_count", "idx", idx(8, [3], b"\x01\x02\x03"), "",
         "convert testdata/lenet_fc.onnx -o {out} --gap-head fit --calib testdata/bad/hard_idx_pair_images.idx:{} --calib-labels")


# ---- TF.js -------------------------------------------------------------------------------------
def tfjs_model(name, shape, dtype="float32", shard_bytes=24, layers=None, paths=None):
    layers = layers or [{"class_name": "Dense", "config": {"name": "d", "units": 2, "batch_input_shape": [None, 3]}}]
    return json.dumps({
        "format": "layers-model",
        "modelTopology": {"class_name": "Sequential", "config": {"name": "bad", "layers": layers}},
        "weightsManifest": [{"paths": paths or [name + "-weights.bin"],
                             "weights": [{"name": "d/kernel", "shape": shape, "dtype": dtype},
                                         {"name": "d/bias", "shape": [2], "dtype": "float32"}]}]},
        separators=(",", ":"))


def make_tfjs_cases():
    def with_shard(name, text, shard, expect):
        helper(name + "-weights.bin", shard)
        case(name, "json", text, expect)
    full = b"\0" * 32
    with_shard("hard_tfjs_nan_shape", tfjs_model("hard_tfjs_nan_shape", [3, 2]).replace("[3,2]", "[NaN,2]"), full, "")
    with_shard("hard_tfjs_negative_shape", tfjs_model("hard_tfjs_negative_shape", [-3, 2]), full, "")
    with_shard("hard_tfjs_float_shape", tfjs_model("hard_tfjs_float_shape", [1.5, 2]), full, "")
    with_shard("hard_tfjs_shape_overflow", tfjs_model("hard_tfjs_shape_overflow", [4294967296, 4294967296, 4294967296]), full, "")
    with_shard("hard_tfjs_short_shard", tfjs_model("hard_tfjs_short_shard", [3, 2]), b"\0" * 20, "")
    with_shard("hard_tfjs_bad_dtype", tfjs_model("hard_tfjs_bad_dtype", [3, 2], dtype="complex64"), full, "")
    with_shard("hard_tfjs_shard_is_dir", tfjs_model("hard_tfjs_shard_is_dir", [3, 2], paths=["."]), full, "")
    case("hard_tfjs_not_json", "json", "{\"format\": \"layers-model\", \"modelTopology\": [", "")
    with_shard("hard_tfjs_huge_number", tfjs_model("hard_tfjs_huge_number", [3, 2]).replace("\"units\":2", "\"units\":1e400"), full, "")


# ---- torch pickles -----------------------------------------------------------------------------
def pt(name, pickle_bytes, extra=()):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_STORED) as z:
        z.writestr(name + "/data.pkl", pickle_bytes)
        z.writestr(name + "/version", b"3\n")
        for n, d in extra:
            z.writestr(name + "/" + n, d)
    return b.getvalue()


def make_torch_cases():
    P = b"\x80\x02"
    # protocol-0 INST: builds an instance by calling the class
    case("hard_torch_inst_opcode", "pt", pt("m", P + b"(ios\nsystem\nS'id'\n."), "")
    # EXT1: a copyreg extension registry lookup (arbitrary global by code)
    case("hard_torch_ext_opcode", "pt", pt("m", P + b"\x82\x01."), "")
    # builtins.getattr: the usual first step of a gadget chain
    case("hard_torch_getattr", "pt", pt("m", P + b"cbuiltins\ngetattr\n(cos\npath\nS'join'\ntR."), "")
    # REDUCE on a plain string (not callable; must not be attempted)
    case("hard_torch_reduce_string", "pt", pt("m", P + b"X\x03\x00\x00\x00abc)R."), "")
    # a state_dict whose storage key climbs out of data/ (torch.save output, key rewritten)
    import torch
    b = io.BytesIO()
    torch.save({"fc.weight": torch.zeros(4)}, b, _use_new_zipfile_serialization=True)
    z = zipfile.ZipFile(io.BytesIO(b.getvalue()))
    pkl_name = [n for n in z.namelist() if n.endswith("data.pkl")][0]
    pkl = z.read(pkl_name)
    evil = b"../../../etc/passwd"
    pkl = pkl.replace(b"X\x01\x00\x00\x000", b"X" + struct.pack("<I", len(evil)) + evil, 1)
    assert evil in pkl
    case("hard_torch_storage_key_escape", "pt", pt("m", pkl, [("data/0", b"\0" * 16)]), "")
    # STOP with an empty stack, and a pickle without STOP
    case("hard_torch_stop_empty", "pt", pt("m", P + b"."), "")
    case("hard_torch_no_stop", "pt", pt("m", P + b"}q\x00"), "")


# ---- ONNX: tiny file, huge activations (found by fuzz_onnx: a multi-GB arena memset) ---------
def make_onnx_cases():
    import onnx
    from onnx import TensorProto, helper as oh
    # 3 x 3 GiB tensors live at once: each under max_tensor_bytes, the arena over max_arena_bytes
    x = oh.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16384, 16384])
    y = oh.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 16384, 16384])
    g = oh.make_graph([oh.make_node("Relu", ["x"], ["r"]), oh.make_node("Sigmoid", ["x"], ["s"]),
                       oh.make_node("Add", ["r", "s"], ["t"]), oh.make_node("Add", ["t", "x"], ["y"])],
                      "huge", [x], [y])
    m = oh.make_model(g, opset_imports=[oh.make_opsetid("", 13)], producer_name="make_bad_cases")
    case("hard_onnx_huge_arena", "onnx", m.SerializeToString(), "over the limit of 8589934592")
    # found by fuzz_onnx: a node with fewer outputs (or inputs) than its operator needs made the
    # importer read node->output[0] of an empty array (NULL dereference)
    x = oh.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = oh.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    g = oh.make_graph([oh.make_node("Dropout", ["x"], [], name="drop"), oh.make_node("Relu", ["x"], ["y"])],
                      "no_outputs", [x], [y])
    m = oh.make_model(g, opset_imports=[oh.make_opsetid("", 13)], producer_name="make_bad_cases")
    case("hard_onnx_node_without_outputs", "onnx", m.SerializeToString(),
         "node 'drop' (Dropout, opset 13): has 1 inputs and 0 outputs, needs at least 1 and 1")
    g = oh.make_graph([oh.make_node("Relu", [], ["y"], name="relu")], "no_inputs", [x], [y])
    m = oh.make_model(g, opset_imports=[oh.make_opsetid("", 13)], producer_name="make_bad_cases")
    case("hard_onnx_node_without_inputs", "onnx", m.SerializeToString(), "node 'relu' (Relu) has 0 inputs and 1 outputs")


def main():
    only = sys.argv[1:]
    for name, fn in [("fcn", make_fcn_cases), ("npz", make_npz_cases), ("idx", make_idx_cases),
                     ("tfjs", make_tfjs_cases), ("torch", make_torch_cases),
                     ("onnx", make_onnx_cases)]:
        if not only or name in only:
            fn()
    print("make_bad_cases: %d cases" % len(written))


if __name__ == "__main__":
    main()
