#!/usr/bin/python3
"""Bad-input cases for the rewrites (issue 3) in testdata/bad/: calibration data that does not fit
the model, and models on which a requested rewrite finds no pattern. Each case is <case>.<ext> plus
<case>.expect (see testdata/bad/README.md). Run with Debian's python3 (numpy, onnx):

    /usr/bin/python3 scripts/make_bad_calib.py
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BAD = os.path.join(ROOT, "testdata", "bad")
LENET = "testdata/lenet_fc.onnx"


def expect(case, message, cmd=None, status=None):
    with open(os.path.join(BAD, case + ".expect"), "w") as f:
        f.write(message + "\n")
        if cmd:
            f.write("cmd: " + cmd + "\n")
        if status is not None:
            f.write(f"status: {status}\n")


def tiny_model(path, with_conv):
    """with_conv: x 1x1x6x6 -> Conv 3x3 (2) -> Flatten -> Gemm(32 -> 3); else an MLP on x N x 8."""
    rng = np.random.default_rng(7)
    inits, nodes = [], []
    if with_conv:
        inits += [numpy_helper.from_array(rng.standard_normal((2, 1, 3, 3)).astype(np.float32), "cw"),
                  numpy_helper.from_array(rng.standard_normal((3, 32)).astype(np.float32), "fw"),
                  numpy_helper.from_array(np.zeros(3, np.float32), "fb")]
        nodes += [helper.make_node("Conv", ["x", "cw"], ["c"], name="conv", kernel_shape=[3, 3]),
                  helper.make_node("Flatten", ["c"], ["f"], name="flatten", axis=1),
                  helper.make_node("Gemm", ["f", "fw", "fb"], ["y"], name="fc", transB=1)]
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 6, 6])
    else:
        inits += [numpy_helper.from_array(rng.standard_normal((3, 8)).astype(np.float32), "fw"),
                  numpy_helper.from_array(np.zeros(3, np.float32), "fb")]
        nodes += [helper.make_node("Gemm", ["x", "fw", "fb"], ["y"], name="fc", transB=1)]
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])
    model = helper.make_model(helper.make_graph(nodes, "bad_rewrite", [x], [y], inits),
                              producer_name="fullconv make_bad_calib.py", opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    onnx.save(model, path)


def main():
    rng = np.random.default_rng(3)
    # calibration images of the wrong size for lenet_fc (28x28)
    np.save(os.path.join(BAD, "calib_wrong_shape.npy"), rng.integers(0, 256, (12, 20, 20), dtype=np.uint8))
    expect("calib_wrong_shape", "images are 1x20x20, the model input is",
           f"convert {LENET} -o {{out}} --gap-head fit --calib {{}}")
    # labels 0..11 for a 10-class model
    np.savez(os.path.join(BAD, "calib_labels_out_of_range.npz"),
             x=rng.integers(0, 256, (12, 1, 28, 28), dtype=np.uint8), y=np.arange(12, dtype=np.int64))
    expect("calib_labels_out_of_range", "has label 10, the model has 10 classes (0..9)",
           f"convert {LENET} -o {{out}} --gap-head fit --calib {{}} --calib-labels")
    # too few samples to hold out 20%
    np.save(os.path.join(BAD, "calib_too_few.npy"), rng.integers(0, 256, (6, 28, 28), dtype=np.uint8))
    expect("calib_too_few", "6 calibration samples, at least 10 are needed",
           f"convert {LENET} -o {{out}} --gap-head fit --calib {{}}")
    # an IDX images file whose header promises more pixels than it holds
    with open(os.path.join(BAD, "calib_idx_short-images-idx3-ubyte.idx"), "wb") as f:
        f.write(bytes([0, 0, 8, 3]) + (100).to_bytes(4, "big") + (28).to_bytes(4, "big") + (28).to_bytes(4, "big"))
        f.write(bytes(784))
    expect("calib_idx_short-images-idx3-ubyte", "IDX header promises 78400 bytes of data, the file has 784",
           f"convert {LENET} -o {{out}} --gap-head fit --calib {{}}")
    # requested rewrites without a matching pattern
    tiny_model(os.path.join(BAD, "rewrite_gap_exact_no_pool.onnx"), True)
    expect("rewrite_gap_exact_no_pool", "--gap-head exact: no GlobalAveragePool→Flatten→Gemm head found; looked from "
           "output 'y' back to node 'fc' (Gemm), whose input comes from 'flatten' (Flatten) over a 2x4x4 map",
           "convert {} -o {out} --gap-head exact")
    tiny_model(os.path.join(BAD, "rewrite_fc_to_conv_mlp.onnx"), False)
    expect("rewrite_fc_to_conv_mlp", "--fc-to-conv: no Flatten/Reshape -> Gemm/MatMul head found; looked from output "
           "'y' back to the graph input 'x'", "convert {} -o {out} --fc-to-conv")
    print("wrote the rewrite/calibration bad cases to", BAD)


if __name__ == "__main__":
    main()
