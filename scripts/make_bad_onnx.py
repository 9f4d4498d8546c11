#!/usr/bin/python3
"""Writes the malformed ONNX cases of testdata/bad/ (each <case>.onnx with its <case>.expect).

Run with Debian's python3 (python3-onnx, python3-numpy):  /usr/bin/python3 scripts/make_bad_onnx.py
The outputs are small and committed; this script documents how each was made. Deterministic.
"""
import os
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testdata", "bad")


def model(nodes, inputs, outputs, initializers=(), opset=13):
    graph = helper.make_graph(nodes, "bad", inputs, outputs, initializer=list(initializers))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="make_bad_onnx")
    m.ir_version = 8
    return m


def fvi(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def relu_model():
    return model([helper.make_node("Relu", ["x"], ["y"], name="relu")], [fvi("x", [1, 4])], [fvi("y", [1, 4])])


def write(case, data, expect, cmd=None, status=None):
    ext = "onnx"
    path = os.path.join(OUT, f"{case}.{ext}")
    if isinstance(data, onnx.ModelProto):
        data = data.SerializeToString()
    with open(path, "wb") as f:
        f.write(data)
    lines = [expect]
    if cmd:
        lines.append(f"cmd: {cmd}")
    if status is not None:
        lines.append(f"status: {status}")
    with open(os.path.join(OUT, f"{case}.expect"), "w") as f:
        f.write("\n".join(lines) + "\n")


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def external_model(location, offset=None, length=None):
    t = TensorProto()
    t.name = "w"
    t.data_type = TensorProto.FLOAT
    t.dims.extend([10])
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", offset), ("length", length)):
        if v is not None:
            e = t.external_data.add()
            e.key, e.value = k, str(v)
    return model([helper.make_node("Add", ["x", "w"], ["y"], name="add")], [fvi("x", [10])], [fvi("y", [10])], [t])


def main():
    os.makedirs(OUT, exist_ok=True)
    good = relu_model().SerializeToString()

    write("onnx_truncated", good[: len(good) // 2], "not a valid ONNX protobuf")

    # field 7 (graph) sent as a varint: wrong wire type for a message field
    write("onnx_wrong_wire_type", bytes([0x08, 0x08]) + bytes([7 << 3 | 0]) + varint(5), "not a valid ONNX protobuf")

    # field 7 (graph) declares 2^40 bytes, the file has 3
    write("onnx_huge_length", bytes([0x08, 0x08]) + bytes([7 << 3 | 2]) + varint(1 << 40) + b"abc",
          "not a valid ONNX protobuf")

    w = numpy_helper.from_array(np.zeros(3, np.float32), "w")
    w.dims[:] = [10]   # 12 bytes of raw_data for 10 floats
    write("onnx_raw_data_size",
          model([helper.make_node("Add", ["x", "w"], ["y"], name="add")], [fvi("x", [10])], [fvi("y", [10])], [w]),
          "raw_data has 12 bytes, the shape needs 40")

    w = numpy_helper.from_array(np.zeros(4, np.float32), "w")
    w.dims[:] = [1 << 40, 1 << 40]
    write("onnx_dims_overflow",
          model([helper.make_node("Add", ["x", "w"], ["y"], name="add")], [fvi("x", [4])], [fvi("y", [4])], [w]),
          "dims are negative or overflow")

    w = numpy_helper.from_array(np.zeros(4, np.float32), "w")
    w.dims[:] = [-4]
    write("onnx_negative_dims",
          model([helper.make_node("Add", ["x", "w"], ["y"], name="add")], [fvi("x", [4])], [fvi("y", [4])], [w]),
          "dims are negative or overflow")

    write("onnx_input_dim_overflow",
          model([helper.make_node("Relu", ["x"], ["y"], name="relu")], [fvi("x", [1 << 50, 4])], [fvi("y", [1, 4])]),
          "value 'x': dimension 0 is 1125899906842624")

    write("onnx_unsupported_op",
          model([helper.make_node("Einsum", ["x", "x"], ["y"], name="weird", equation="ij,ij->ij")],
                [fvi("x", [2, 2])], [fvi("y", [2, 2])]),
          "node 'weird' (Einsum, opset 13): unsupported operator")

    write("onnx_unknown_domain",
          model([helper.make_node("FusedConv", ["x"], ["y"], name="fused", domain="com.microsoft")],
                [fvi("x", [2, 2])], [fvi("y", [2, 2])]),
          "node 'fused' (FusedConv, opset 13): unknown operator domain 'com.microsoft'")

    write("onnx_opset_too_new", model([helper.make_node("Relu", ["x"], ["y"])], [fvi("x", [2])], [fvi("y", [2])],
                                      opset=99),
          "opset 99 is not supported")

    write("onnx_ext_dotdot", external_model("../secret.bin"), "external data location '../secret.bin' leaves the model's folder")
    write("onnx_ext_absolute", external_model("/etc/passwd"), "external data location '/etc/passwd' is an absolute path")
    # onnx_ext_symlink_data.bin is a symlink to /etc/passwd (outside the folder) next to the model
    link = os.path.join(OUT, "onnx_ext_symlink_data.bin")
    if os.path.lexists(link):
        os.remove(link)
    os.symlink("/etc/passwd", link)
    write("onnx_ext_symlink", external_model("onnx_ext_symlink_data.bin"),
          "external data location 'onnx_ext_symlink_data.bin' resolves outside the model's folder")
    with open(os.path.join(OUT, "onnx_ext_small_data.bin"), "wb") as f:
        f.write(bytes(8))
    write("onnx_ext_bounds", external_model("onnx_ext_small_data.bin", offset=4, length=40),
          "external data 'onnx_ext_small_data.bin' has 8 bytes, needs 40 at offset 4")

    write("onnx_cycle",
          model([helper.make_node("Relu", ["b"], ["a"], name="first"), helper.make_node("Relu", ["a"], ["b"], name="second")],
                [fvi("x", [2])], [fvi("a", [2])]),
          "graph has a cycle through node")

    write("onnx_missing_input",
          model([helper.make_node("Relu", ["nowhere"], ["y"], name="lost")], [fvi("x", [2])], [fvi("y", [2])]),
          "node 'lost' (Relu, opset 13): input 'nowhere' is not produced by any node, initializer or graph input")

    write("onnx_reshape_not_const",
          model([helper.make_node("Reshape", ["x", "s"], ["y"], name="reshape")],
                [fvi("x", [2, 3]), helper.make_tensor_value_info("s", TensorProto.INT64, [2])], [fvi("y", [3, 2])]),
          "node 'reshape' (Reshape, opset 13): input 's' is not a constant")

    bn_init = [numpy_helper.from_array(np.ones(2, np.float32), n) for n in ("s", "b", "m", "v")]
    write("onnx_bn_training",
          model([helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], name="bn", training_mode=1)],
                [fvi("x", [1, 2, 2, 2])], [fvi("y", [1, 2, 2, 2])], bn_init, opset=15),
          "node 'bn' (BatchNormalization, opset 15): training mode is not supported")

    no_graph = onnx.ModelProto()
    no_graph.ir_version = 8
    no_graph.opset_import.add().version = 13
    write("onnx_no_graph", no_graph, "the model has no graph")

    write("onnx_empty", b"", "empty file")

    write("onnx_unknown_output",
          model([helper.make_node("Relu", ["x"], ["y"], name="relu")], [fvi("x", [2])], [fvi("z", [2])]),
          "graph output 'z' is not produced by any node")

    # run: input tensors the model cannot take
    np.save(os.path.join(OUT, "run_input_4x4.npy"), np.zeros((4, 4), np.float32))
    np.save(os.path.join(OUT, "run_input_int.npy"), np.zeros((1, 4), np.int64))
    np.save(os.path.join(OUT, "run_input_fortran.npy"), np.asfortranarray(np.zeros((2, 4), np.float32).T))
    write("run_wrong_shape", relu_model(), "the model expects 1x4",
          cmd="run {} --input testdata/bad/run_input_4x4.npy -o {out}")
    write("run_int_input", relu_model(), "dtype i64, expected float32",
          cmd="run {} --input testdata/bad/run_input_int.npy -o {out}")
    write("run_fortran_input", relu_model(), "Fortran order",
          cmd="run {} --input testdata/bad/run_input_fortran.npy -o {out}")
    write("run_missing_input_option", relu_model(), "no input (--input X.npy)", cmd="run {}")
    write("convert_same_output", relu_model(), "refusing to overwrite the source model",
          cmd="convert {} -o {} --force")
    return 0


if __name__ == "__main__":
    sys.exit(main())
