#!/usr/bin/python3
"""Small ONNX models + inputs + PyTorch reference outputs for scripts/tests/cli_onnx.sh.

Run with Debian's python3 (python3-torch, python3-onnx):  /usr/bin/python3 scripts/make_onnx_cli_testdata.py
Seeded and small (a few KB each); the outputs in testdata/onnx/ are committed.

  cli_cnn.onnx   opset 11, dynamic batch: Conv+BN+ReLU, MaxPool, x.view(x.size(0), -1) (the
                 Shape->Gather->Unsqueeze->Concat->Reshape chain), Linear, Dropout, Linear,
                 Softmax(dim=1) (legacy 2-D coercion) — inputs x2 (batch 2) and x3 (batch 3)
  cli_shuffle.onnx  opset 11, dynamic batch: ShuffleNet's channel split (x.chunk -> Slice with
                 shape-derived bounds) and channel shuffle (view(b, g, c/g, h, w) -> transpose ->
                 view) — inputs x2 and x3
  cli_ops_opN.onnx  the same small net at opsets 7 (onnx's version converter from 9), 9, 11, 13
                 and 17: Conv, BN, ReLU, MaxPool(ceil_mode), AveragePool(pads, count_include_pad=0),
                 Pad, Clip, Slice, Reshape, Dropout, Gemm, LogSoftmax — attributes at old opsets,
                 inputs at new ones; one input/output pair for all
  cli_gap.onnx   opset 13, fixed shape: Conv, SiLU (Sigmoid*Mul), ReLU6 (Clip with min/max
                 inputs), Pad, AvgPool, global average pool, Flatten, Linear
"""
import os

import numpy as np
import torch
import torch.nn as nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testdata", "onnx")


class Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 6, 3, padding=1)
        self.bn = nn.BatchNorm2d(6)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(6 * 6 * 6, 16)
        self.drop = nn.Dropout(0.3)
        self.fc2 = nn.Linear(16, 5)

    def forward(self, x):
        x = self.pool(torch.relu(self.bn(self.conv(x))))
        x = x.view(x.size(0), -1)
        return torch.softmax(self.fc2(self.drop(torch.relu(self.fc1(x)))), dim=1)


class Gap(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3)
        self.conv2 = nn.Conv2d(8, 8, 3, stride=2)
        self.pool = nn.AvgPool2d(2, stride=1)
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        x = nn.functional.silu(self.conv1(x))
        x = nn.functional.pad(x, (1, 1, 1, 1))
        x = torch.clamp(self.conv2(x), 0.0, 6.0)
        x = self.pool(x)
        x = torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(x)


class Shuffle(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 8, 1)
        self.branch = nn.Conv2d(4, 4, 3, padding=1, groups=4)

    def forward(self, x):
        x = self.conv(x)
        a, b = x.chunk(2, dim=1)
        x = torch.cat((a, torch.relu(self.branch(b))), dim=1)
        n, c, h, w = x.size()
        x = x.view(n, 2, c // 2, h, w).transpose(1, 2).contiguous().view(n, -1, h, w)
        return torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)


class Ops(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3)
        self.bn = nn.BatchNorm2d(6)
        self.fc = nn.Linear(6 * 3 * 3, 4)
        self.drop = nn.Dropout(0.2)

    def forward(self, x):
        x = nn.functional.max_pool2d(torch.relu(self.bn(self.conv(x))), 2, ceil_mode=True)
        x = nn.functional.avg_pool2d(x, 2, stride=1, padding=1, count_include_pad=False)
        x = nn.functional.pad(x, (0, 1, 0, 1))
        x = torch.clamp(x, -1, 3)
        x = x[:, :, 1:4, 0:3]
        x = x.reshape(x.shape[0], -1)
        return torch.log_softmax(self.fc(self.drop(x)), dim=1)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(1234)
    cnn = Cnn().eval()
    with torch.no_grad():   # non-trivial BN statistics
        cnn.bn.running_mean.uniform_(-0.5, 0.5)
        cnn.bn.running_var.uniform_(0.5, 2.0)
    x2 = torch.randn(2, 1, 12, 12)
    x3 = torch.randn(3, 1, 12, 12)
    torch.onnx.export(cnn, x2, os.path.join(OUT, "cli_cnn.onnx"), opset_version=11, input_names=["x"],
                      output_names=["probs"], dynamic_axes={"x": {0: "batch"}, "probs": {0: "batch"}})
    with torch.no_grad():
        np.save(os.path.join(OUT, "cli_cnn_x2.npy"), x2.numpy())
        np.save(os.path.join(OUT, "cli_cnn_y2.npy"), cnn(x2).numpy())
        np.save(os.path.join(OUT, "cli_cnn_x3.npy"), x3.numpy())
        np.save(os.path.join(OUT, "cli_cnn_y3.npy"), cnn(x3).numpy())

    shuffle = Shuffle().eval()
    s2 = torch.randn(2, 4, 6, 6)
    s3 = torch.randn(3, 4, 6, 6)
    torch.onnx.export(shuffle, s2, os.path.join(OUT, "cli_shuffle.onnx"), opset_version=11, input_names=["x"],
                      output_names=["y"], dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
    with torch.no_grad():
        np.save(os.path.join(OUT, "cli_shuffle_x2.npy"), s2.numpy())
        np.save(os.path.join(OUT, "cli_shuffle_y2.npy"), shuffle(s2).numpy())
        np.save(os.path.join(OUT, "cli_shuffle_x3.npy"), s3.numpy())
        np.save(os.path.join(OUT, "cli_shuffle_y3.npy"), shuffle(s3).numpy())

    ops = Ops().eval()
    with torch.no_grad():
        ops.bn.running_mean.uniform_(-0.5, 0.5)
        ops.bn.running_var.uniform_(0.5, 2.0)
    xo = torch.randn(2, 3, 12, 12)
    for opset in (9, 11, 13, 17):
        torch.onnx.export(ops, xo, os.path.join(OUT, f"cli_ops_op{opset}.onnx"), opset_version=opset)
    import onnx
    from onnx import version_converter
    op7 = version_converter.convert_version(onnx.load(os.path.join(OUT, "cli_ops_op9.onnx")), 7)
    onnx.save(op7, os.path.join(OUT, "cli_ops_op7.onnx"))
    with torch.no_grad():
        np.save(os.path.join(OUT, "cli_ops_x.npy"), xo.numpy())
        np.save(os.path.join(OUT, "cli_ops_y.npy"), ops(xo).numpy())

    gap = Gap().eval()
    xg = torch.randn(1, 3, 16, 16)
    torch.onnx.export(gap, xg, os.path.join(OUT, "cli_gap.onnx"), opset_version=13, input_names=["image"],
                      output_names=["logits"])
    with torch.no_grad():
        np.save(os.path.join(OUT, "cli_gap_x.npy"), xg.numpy())
        np.save(os.path.join(OUT, "cli_gap_y.npy"), gap(xg).numpy())


if __name__ == "__main__":
    main()
