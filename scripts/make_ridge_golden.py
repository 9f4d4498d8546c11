#!/usr/bin/python3
"""Golden for `--gap-head fit`, computed independently of fullconv's runtime.

Loads testdata/lenet_fc.onnx with the `onnx` package, re-implements its forward pass in numpy
(float64: Conv via im2col, BatchNormalization, Relu, MaxPool, Flatten, Gemm — the ops the export
contains), takes the GAP features of the map the head flattens (N x C, mean over H, W) and the
original head's logits on the first N Fashion-MNIST train images (pixel/255), and solves

    [W b] = argmin ||F W^T + 1 b^T - T||^2 + lambda ||W||^2      (bias not penalised)

with numpy in float64 (normal equations with a bias column, numpy.linalg.solve), for the fixed
lambda = LAMBDA_REL * trace(F^T F) / C. Writes testdata/ridge_golden.npz:
    W (K x C), b (K), lambda, n, features_sum, features_sqsum (the calibration set is
    fashion-mnist:train[:n]).
The C test (converter/tests/test_ridge_golden.c) collects the same features through the runtime,
fits the same lambda and compares the weights (<= 1e-4 relative).

Usage: /usr/bin/python3 scripts/make_ridge_golden.py [N]   (default 2000)
"""
import gzip
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FASHION = os.environ.get("FULLCONV_FASHION_MNIST", "/usr/share/datasets/fashion-mnist")
LAMBDA_REL = 1e-2


def read_images(n):
    with gzip.open(os.path.join(FASHION, "train-images-idx3-ubyte.gz"), "rb") as f:
        data = f.read()
    assert data[:4] == b"\x00\x00\x08\x03"
    count, h, w = (int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(3))
    px = np.frombuffer(data, dtype=np.uint8, offset=16).reshape(count, 1, h, w)[:n]
    return px.astype(np.float64) / 255.0


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def conv(x, w, b, a):
    n, c, h, wd = x.shape
    k, cg, kh, kw = w.shape
    group = a.get("group", 1)
    sh, sw = a.get("strides", [1, 1])
    pt, pl, pb, pr = a.get("pads", [0, 0, 0, 0])
    dh, dw = a.get("dilations", [1, 1])
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    oh = (h + pt + pb - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + pl + pr - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, k, oh, ow))
    kg = k // group
    for g in range(group):
        cols = np.empty((n, cg, kh, kw, oh, ow))
        for i in range(kh):
            for j in range(kw):
                cols[:, :, i, j] = xp[:, g * cg:(g + 1) * cg, i * dh:i * dh + sh * oh:sh, j * dw:j * dw + sw * ow:sw]
        wg = w[g * kg:(g + 1) * kg].reshape(kg, -1)
        out[:, g * kg:(g + 1) * kg] = np.einsum("kp,npxy->nkxy", wg, cols.reshape(n, -1, oh, ow))
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out


def maxpool(x, a):
    kh, kw = a["kernel_shape"]
    sh, sw = a.get("strides", [1, 1])
    pt, pl, pb, pr = a.get("pads", [0, 0, 0, 0])
    assert not a.get("ceil_mode", 0), "ceil_mode not needed for lenet_fc"
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=-np.inf)
    n, c, h, w = xp.shape
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    out = np.full((n, c, oh, ow), -np.inf)
    for i in range(kh):
        for j in range(kw):
            out = np.maximum(out, xp[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw])
    return out


def run(model, x):
    """Returns (the map the head flattens, the graph output)."""
    g = model.graph
    env = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in g.initializer}
    env[g.input[0].name] = x
    flat_map = None
    for node in g.node:
        a = attrs(node)
        i = [env[n] if n else None for n in node.input]
        op = node.op_type
        if op == "Conv":
            y = conv(i[0], i[1], i[2] if len(i) > 2 else None, a)
        elif op == "BatchNormalization":
            s = i[1] / np.sqrt(i[4] + a.get("epsilon", 1e-5))
            y = (i[0] - i[3].reshape(1, -1, 1, 1)) * s.reshape(1, -1, 1, 1) + i[2].reshape(1, -1, 1, 1)
        elif op == "Relu":
            y = np.maximum(i[0], 0)
        elif op == "MaxPool":
            y = maxpool(i[0], a)
        elif op in ("Flatten", "Reshape"):
            flat_map = i[0]
            y = i[0].reshape(i[0].shape[0], -1)
        elif op == "Gemm":
            w = i[1].T if a.get("transB", 0) else i[1]
            y = a.get("alpha", 1.0) * i[0] @ w
            if len(i) > 2 and i[2] is not None:
                y = y + a.get("beta", 1.0) * i[2]
        elif op in ("Identity", "Dropout"):
            y = i[0]
        elif op == "Constant":
            y = numpy_helper.to_array(a["value"]).astype(np.float64)
        else:
            raise SystemExit(f"make_ridge_golden: op {op} not implemented")
        env[node.output[0]] = y
    return flat_map, env[g.output[0].name]


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    model = onnx.load(os.path.join(ROOT, "testdata", "lenet_fc.onnx"))
    x = read_images(n)
    maps, logits = [], []
    for s in range(0, n, 250):
        m, y = run(model, x[s:s + 250])
        maps.append(m)
        logits.append(y)
    feats = np.concatenate(maps).mean(axis=(2, 3))          # n x C
    targets = np.concatenate(logits)                         # n x K
    c = feats.shape[1]
    a = np.hstack([feats, np.ones((n, 1))])
    lam = LAMBDA_REL * np.trace(feats.T @ feats) / c
    d = np.eye(c + 1) * lam
    d[c, c] = 0.0                                            # the bias is not penalised
    sol = np.linalg.solve(a.T @ a + d, a.T @ targets)        # (C+1) x K
    w, b = sol[:c].T, sol[c]
    out = os.path.join(ROOT, "testdata", "ridge_golden.npz")
    np.savez(out, W=w, b=b, **{"lambda": np.array([lam])}, n=np.array([n]),
             features_sum=np.array([feats.sum()]), features_sqsum=np.array([(feats ** 2).sum()]))
    print(f"{out}: n={n} C={c} K={w.shape[0]} lambda={lam:.6g} |W|max={np.abs(w).max():.4g}")


if __name__ == "__main__":
    main()
