#!/usr/bin/python3
"""Regenerates fullconv's reference models and goldens in testdata/ (run with Debian's python3).

    /usr/bin/python3 scripts/make_testdata.py            # everything (trains 3 small nets: minutes)
    /usr/bin/python3 scripts/make_testdata.py --quick    # skip training, reuse testdata/trained/*.pt

Every file is produced by the real frameworks (PyTorch 1.13, onnx 1.12): the ONNX models, a batch of
inputs per model (<name>.input.npy) and PyTorch's outputs on it (<name>.output.npy). Seeded, CPU only,
1 thread (see setup_torch), deterministic algorithms: running it twice gives the same numbers.

Produces:
  lenet_fc.onnx         LeNet-style CNN with a 2-layer FC head, trained on Fashion-MNIST
  lenet_gap.onnx        same backbone, 1x1 conv + GAP + FC head, trained the same way
  nopad_fc.onnx         no-padding CNN with a 2-layer FC head at 1x20x20 (FC->conv score-map test),
                        plus nopad_fc_big.input.npy (1x1x36x36) and nopad_fc_crops.npy (Ho x Wo x K)
  tiny_resnet.onnx      ResNet-style net (basic blocks, strided downsample, GAP, FC), random weights
  mobile_blocks.onnx    MobileNetV2-style inverted residuals + HardSwish + GAP + FC, random weights
  fc_forms/*.onnx       the graph forms FC->conv must recognise (Flatten/Reshape/MatMul+Add/AveragePool/
                        Gemm transB=0/Dropout between FCs)
  lenet_fc_ridge.npz    a numpy ridge-regression golden for `--gap-head fit` (+ its calibration images
                        and labels, lenet_fc_ridge_images.npy / _labels.npy)
  trained/*.pt          the trained state_dicts (for --quick)
  fashion_mnist_sample.npy / _labels.npy, lenet_accuracy.json, MODELS.md
Files are written atomically (temp + rename): tests reading testdata/ meanwhile never see half a file.
"""
import argparse
import contextlib
import gzip
import json
import os
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "testdata")
FMNIST_DIR = "/usr/share/datasets/fashion-mnist"
SEED = 20260101
EPOCHS = 2
BATCH = 128

MODEL_TABLE = []   # rows for MODELS.md


# ---------------------------------------------------------------------------------------------
# determinism and data
# ---------------------------------------------------------------------------------------------
def seed_all(seed):
    torch.manual_seed(seed)
    np.random.seed(seed % (2 ** 32))


def setup_torch(threads):
    """One thread by default: the results do not depend on the thread count's reduction splits, and on a
    shared 2-core machine OpenMP's barriers make 2 threads ~5x slower than 1 (measured: 1130 vs 220 s per
    LeNet epoch under load). oneDNN (mkldnn) convolutions are 3-4x faster than torch's im2col path here."""
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)


def read_idx(path):
    """IDX (big-endian header: magic 0x0000 type ndim, dims) read with gzip + numpy."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    if data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    return arr.reshape(dims)


def load_fashion_mnist(split):
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(os.path.join(FMNIST_DIR, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(FMNIST_DIR, f"{prefix}-labels-idx1-ubyte.gz"))
    x = images.astype(np.float32)[:, None, :, :] / np.float32(255.0)   # N x 1 x 28 x 28, pixel/255
    return x, labels.astype(np.int64)


# ---------------------------------------------------------------------------------------------
# models
# ---------------------------------------------------------------------------------------------
class LeNetFC(nn.Module):
    """conv5x5(1->16, pad 2)+BN+ReLU+pool -> 16x14x14; conv5x5(16->32, pad 0)+BN+ReLU+pool -> 32x5x5
    would be 800; we use pad 1 on the second conv so the map is 32x4x4 = 512 (the classic LeNet shape)."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 5, padding=2), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),   # 16x14x14
            nn.Conv2d(16, 32, 5, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(3),  # 32x12x12 -> 32x4x4
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(512, 128), nn.ReLU(), nn.Dropout(0.25), nn.Linear(128, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


class LeNetGAP(nn.Module):
    """The same backbone; the head is 1x1 conv (32->64)+ReLU, global average pool, FC(64,10)."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 5, padding=2), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 5, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(3),
            nn.Conv2d(32, 64, 1), nn.ReLU(),
        )
        self.classifier = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


class NoPadFC(nn.Module):
    """No padding anywhere, 1x20x20 input: conv5 -> 16x16, pool2 -> 8x8, conv3 -> 6x6, pool2 -> 3x3;
    total stride 4, receptive field 20. FC head 16*3*3=144 -> 64 -> ReLU -> 10."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(144, 64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


NOPAD_SIZE = 20
NOPAD_STRIDE = 4
NOPAD_BIG = 36
NOPAD_EPOCHS = 3


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.down is None else self.down(x)))


class TinyResNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.layers = nn.Sequential(BasicBlock(16, 16, 1), BasicBlock(16, 32, 2), BasicBlock(32, 64, 2))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.layers(self.stem(x))), 1))


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = cin * expand
        self.residual = stride == 1 and cin == cout
        self.body = nn.Sequential(
            nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(),
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(),
            nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout),
        )

    def forward(self, x):
        y = self.body(x)
        return x + y if self.residual else y


class MobileBlocks(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU6())
        self.blocks = nn.Sequential(
            InvertedResidual(16, 16, 1, 4), InvertedResidual(16, 24, 2, 4), InvertedResidual(24, 24, 1, 4))
        self.head = nn.Sequential(nn.Conv2d(24, 64, 1, bias=False), nn.BatchNorm2d(64), nn.Hardswish())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.head(self.blocks(self.stem(x)))), 1))


def randomize_bn(model, gen):
    """Random weights leave BN at mean 0 / var 1 / gamma 1 / beta 0, i.e. nearly the identity; give it
    real statistics so BN folding is actually exercised."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=gen) * 0.2)
            m.running_var.copy_(torch.rand(c, generator=gen) * 1.5 + 0.5)
            m.weight.data.copy_(torch.rand(c, generator=gen) + 0.5)
            m.bias.data.copy_(torch.randn(c, generator=gen) * 0.2)


# ---------------------------------------------------------------------------------------------
# training
# ---------------------------------------------------------------------------------------------
def train(model, x, y, epochs, seed, log_name, crop=None):
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    xt = torch.from_numpy(x)
    yt = torch.from_numpy(y)
    n = xt.shape[0]
    steps = (n + BATCH - 1) // BATCH
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=epochs * steps)
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(n, generator=gen)
        t0 = time.time()
        total = 0.0
        for i in range(steps):
            idx = perm[i * BATCH:(i + 1) * BATCH]
            xb = xt[idx]
            if crop is not None:   # random crops of `crop` pixels (train-time augmentation for nopad_fc)
                off = torch.randint(0, x.shape[2] - crop + 1, (2,), generator=gen)
                xb = xb[:, :, off[0]:off[0] + crop, off[1]:off[1] + crop]
            loss = F.cross_entropy(model(xb), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        print(f"  {log_name} epoch {epoch + 1}/{epochs}: loss {total / steps:.4f} ({time.time() - t0:.1f} s)",
              flush=True)
    model.eval()


@torch.no_grad()
def accuracy(model, x, y, crop=None):
    model.eval()
    correct = 0
    for i in range(0, x.shape[0], 1000):
        xb = torch.from_numpy(x[i:i + 1000])
        if crop is not None:
            o = (x.shape[2] - crop) // 2
            xb = xb[:, :, o:o + crop, o:o + crop]
        correct += int((model(xb).argmax(1).numpy() == y[i:i + 1000]).sum())
    return correct / x.shape[0]


# ---------------------------------------------------------------------------------------------
# export and goldens
# ---------------------------------------------------------------------------------------------
WRITTEN = set()   # every file this script writes (other components keep their own files in testdata/)


def path_of(rel, write=False):
    p = os.path.join(OUT, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    if write:
        WRITTEN.add(p)
    return p


@contextlib.contextmanager
def atomic(rel):
    """Yields a temporary path next to testdata/<rel>, renamed over it on success: other tests may be
    reading testdata/ while this script regenerates it, and must never see a half-written file."""
    final = path_of(rel, write=True)
    tmp = os.path.join(os.path.dirname(final), "." + os.path.basename(final) + ".tmp")
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def save_npy(rel, arr):
    with atomic(rel) as tmp, open(tmp, "wb") as f:
        np.save(f, np.ascontiguousarray(arr))


def export(model, x, rel, opset=13, preserve_bn=False, dynamic_batch=True, output_name="output", **kw):
    """Exports in eval mode. preserve_bn keeps BatchNormalization nodes (TrainingMode.PRESERVE on an eval
    model skips torch's Conv+BN fusion) so the converter's BN folding has something to fold."""
    model.eval()
    training = torch.onnx.TrainingMode.PRESERVE if preserve_bn else torch.onnx.TrainingMode.EVAL
    dyn = {"input": {0: "N"}, output_name: {0: "N"}} if dynamic_batch else None
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with atomic(rel) as tmp:
            torch.onnx.export(model, torch.from_numpy(x), tmp, opset_version=opset, training=training,
                              input_names=["input"], output_names=[output_name], dynamic_axes=dyn,
                              do_constant_folding=kw.pop("do_constant_folding", True), **kw)
            normalize_onnx(tmp)
            onnx.checker.check_model(onnx.load(tmp))


def normalize_onnx(path):
    """torch writes its own version into producer_version; pin it so regenerating on another patch
    release does not produce a spurious diff (the graph is what matters)."""
    m = onnx.load(path)
    m.producer_version = torch.__version__.split("+")[0]
    onnx.save(m, path)


@torch.no_grad()
def save_goldens(model, x, name):
    model.eval()
    y = model(torch.from_numpy(x)).numpy().astype(np.float32)
    save_npy(f"{name}.input.npy", x.astype(np.float32))
    save_npy(f"{name}.output.npy", y)
    return y


def ops_of(rel):
    m = onnx.load(path_of(rel))
    seen = []
    for n in m.graph.node:
        if n.op_type not in seen:
            seen.append(n.op_type)
    return seen


def record(name, source, model_params, accuracy_text, rel_files, notes=""):
    size = sum(os.path.getsize(path_of(f)) for f in rel_files)
    MODEL_TABLE.append((name, source, model_params, accuracy_text, size, notes))


def nparams(model):
    return sum(p.numel() for p in model.parameters())


# ---------------------------------------------------------------------------------------------
# the models
# ---------------------------------------------------------------------------------------------
def make_lenets(quick, sample_x):
    xtr, ytr = load_fashion_mnist("train")
    xte, yte = load_fashion_mnist("test")
    results = {}
    for name, cls, seed in (("lenet_fc", LeNetFC, SEED + 1), ("lenet_gap", LeNetGAP, SEED + 2)):
        seed_all(seed)
        model = cls()
        state_path = path_of(f"trained/{name}.pt")
        if quick and os.path.exists(state_path):
            model.load_state_dict(torch.load(state_path))
            print(f"  {name}: reusing {os.path.relpath(state_path, ROOT)}")
        else:
            t0 = time.time()
            train(model, xtr, ytr, EPOCHS, seed, name)
            print(f"  {name}: trained in {time.time() - t0:.0f} s")
            with atomic(f"trained/{name}.pt") as tmp:
                torch.save(model.state_dict(), tmp)
        model.eval()
        acc = accuracy(model, xte, yte)
        print(f"  {name}: Fashion-MNIST test top-1 {acc * 100:.2f}% ({nparams(model)} params)")
        x = sample_x[:4]
        export(model, x, f"{name}.onnx")
        save_goldens(model, x, name)
        results[name] = {"accuracy": acc, "correct": int(round(acc * len(yte))), "total": int(len(yte)),
                         "params": nparams(model), "epochs": EPOCHS, "seed": seed}
        record(name, f"trained {EPOCHS} epochs on Fashion-MNIST train (60k)", nparams(model),
               f"{acc * 100:.2f}%", [f"{name}.onnx", f"{name}.input.npy", f"{name}.output.npy"],
               " ".join(ops_of(f"{name}.onnx")))
        if name == "lenet_fc":
            make_ridge_golden(model, xtr, ytr)
    with atomic("lenet_accuracy.json") as tmp, open(tmp, "w") as f:
        json.dump({"dataset": "fashion-mnist t10k (10000 images, pixel/255, no mean/std)",
                   "measured_by": f"PyTorch {torch.__version__.split('+')[0]}", **results}, f, indent=2,
                  sort_keys=True)
        f.write("\n")
    return results


RIDGE_N = 256
RIDGE_LAMBDA = 1e-2


def make_ridge_golden(model, xtr, ytr):
    """Golden for `--gap-head fit`: GAP features of the backbone (the map the head flattens, 32x4x4, averaged
    over H,W) on the first RIDGE_N train images, the original head's logits as targets, and the ridge
    solution for a fixed lambda computed with numpy in float64:
        [W b] = argmin ||F W^T + 1 b^T - T||^2 + lambda ||W||^2      (bias not penalised)
    solved by centring F and T (which removes the unpenalised bias exactly), then Cholesky on the
    centred C x C Gram + lambda I. The images/labels go in separate .npy files (usable as --calib)."""
    n = RIDGE_N
    lam = RIDGE_LAMBDA
    with torch.no_grad():
        maps = model.features(torch.from_numpy(xtr[:n]))          # n x 32 x 4 x 4
        logits = model.classifier(maps).numpy().astype(np.float64)
    feats = maps.mean(dim=(2, 3)).numpy().astype(np.float64)     # GAP: n x 32

    def ridge(targets):
        fmean, tmean = feats.mean(0), targets.mean(0)
        fc, tc = feats - fmean, targets - tmean
        chol = np.linalg.cholesky(fc.T @ fc + lam * np.eye(fc.shape[1]))
        w = np.linalg.solve(chol.T, np.linalg.solve(chol, fc.T @ tc)).T   # K x C
        return w, tmean - w @ fmean

    w, b = ridge(logits)
    w_lab, b_lab = ridge(np.eye(10)[ytr[:n]])
    save_npy("lenet_fc_ridge_images.npy", xtr[:n].astype(np.float32))
    save_npy("lenet_fc_ridge_labels.npy", ytr[:n].astype(np.int64))
    with atomic("lenet_fc_ridge.npz") as tmp, open(tmp, "wb") as f:
        np.savez(f, features=feats.astype(np.float32), targets=logits.astype(np.float32),
                 **{"lambda": np.array([lam], dtype=np.float64)},
                 W=w.astype(np.float32), b=b.astype(np.float32),
                 W_labels=w_lab.astype(np.float32), b_labels=b_lab.astype(np.float32))


def make_nopad(quick):
    xtr, ytr = load_fashion_mnist("train")
    xte, yte = load_fashion_mnist("test")
    seed = SEED + 3
    seed_all(seed)
    model = NoPadFC()
    state_path = path_of("trained/nopad_fc.pt")
    if quick and os.path.exists(state_path):
        model.load_state_dict(torch.load(state_path))
    else:
        train(model, xtr, ytr, NOPAD_EPOCHS, seed, "nopad_fc", crop=NOPAD_SIZE)
        with atomic("trained/nopad_fc.pt") as tmp:
            torch.save(model.state_dict(), tmp)
    acc = accuracy(model, xte, yte, crop=NOPAD_SIZE)
    print(f"  nopad_fc: centre-crop 20x20 test top-1 {acc * 100:.2f}%")
    o = (28 - NOPAD_SIZE) // 2
    x = np.ascontiguousarray(xte[:4, :, o:o + NOPAD_SIZE, o:o + NOPAD_SIZE])
    export(model, x, "nopad_fc.onnx")
    save_goldens(model, x, "nopad_fc")
    # the big input: a 28x28 test image on a 36x36 canvas (zeros around it, as Fashion-MNIST's own border)
    big = np.zeros((1, 1, NOPAD_BIG, NOPAD_BIG), dtype=np.float32)
    big[0, 0, 4:32, 4:32] = xte[4, 0]
    ho = (NOPAD_BIG - NOPAD_SIZE) // NOPAD_STRIDE + 1
    crops = np.stack([big[0, :, i * NOPAD_STRIDE:i * NOPAD_STRIDE + NOPAD_SIZE,
                          j * NOPAD_STRIDE:j * NOPAD_STRIDE + NOPAD_SIZE]
                      for i in range(ho) for j in range(ho)])
    with torch.no_grad():
        scores = model(torch.from_numpy(crops)).numpy().reshape(ho, ho, 10).astype(np.float32)
        # self-check of the premise: the same backbone run on the big input, head as convs, must agree
        fmap = model.features(torch.from_numpy(big))
        w1 = model.classifier[1].weight.reshape(64, 16, 3, 3)
        h = F.relu(F.conv2d(fmap, w1, model.classifier[1].bias))
        s = F.conv2d(h, model.classifier[3].weight.reshape(10, 64, 1, 1), model.classifier[3].bias)
        sm = s[0].permute(1, 2, 0).numpy()
    err = np.abs(sm - scores).max() / np.abs(scores).max()
    assert sm.shape == scores.shape and err < 1e-5, f"score-map premise failed: rel err {err}"
    save_npy("nopad_fc_big.input.npy", big)
    save_npy("nopad_fc_crops.npy", scores)
    record("nopad_fc", f"trained {NOPAD_EPOCHS} epochs on random 20x20 crops of Fashion-MNIST train", nparams(model),
           f"{acc * 100:.2f}% (centre crops)",
           ["nopad_fc.onnx", "nopad_fc.input.npy", "nopad_fc.output.npy", "nopad_fc_big.input.npy",
            "nopad_fc_crops.npy"],
           " ".join(ops_of("nopad_fc.onnx")) + f"; big input 1x1x{NOPAD_BIG}x{NOPAD_BIG} -> "
           f"{ho}x{ho}x10 crops at stride {NOPAD_STRIDE}")
    return model


def make_random_models():
    for name, cls, seed, shape, opset in (("tiny_resnet", TinyResNet, SEED + 4, (3, 3, 32, 32), 13),
                                          ("mobile_blocks", MobileBlocks, SEED + 5, (3, 3, 32, 32), 14)):
        seed_all(seed)
        model = cls()
        gen = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            randomize_bn(model, gen)
        model.eval()
        x = torch.randn(*shape, generator=gen).numpy().astype(np.float32)
        export(model, x, f"{name}.onnx", opset=opset, preserve_bn=True)
        save_goldens(model, x, name)
        record(name, f"random weights (seed {seed}), BN with random statistics, opset {opset}",
               nparams(model), "-", [f"{name}.onnx", f"{name}.input.npy", f"{name}.output.npy"],
               " ".join(ops_of(f"{name}.onnx")))


# ---------------------------------------------------------------------------------------------
# FC->conv export forms
# ---------------------------------------------------------------------------------------------
# A tiny non-square backbone (1x10x12 -> 6x5x6 map) so a swapped H/W or C/HW weight permutation
# gives wrong numbers instead of passing by symmetry.
FORM_SHAPE = (2, 1, 10, 12)
FORM_C, FORM_H, FORM_W = 6, 5, 6
FORM_FEAT = FORM_C * FORM_H * FORM_W


class FormBackbone(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, FORM_C, 3, padding=1)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        return self.pool(F.relu(self.conv(x)))


class FlattenGemm(nn.Module):          # Flatten -> Gemm(transB=1) -> Relu -> Gemm
    def __init__(self):
        super().__init__()
        self.body = FormBackbone()
        self.fc1 = nn.Linear(FORM_FEAT, 16)
        self.fc2 = nn.Linear(16, 10)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(torch.flatten(self.body(x), 1))))


class ReshapeGemm(nn.Module):          # x.view(x.size(0), -1): Shape/Gather/Unsqueeze/Concat -> Reshape
    def __init__(self):
        super().__init__()
        self.body = FormBackbone()
        self.fc = nn.Linear(FORM_FEAT, 10)

    def forward(self, x):
        y = self.body(x)
        return self.fc(y.view(y.size(0), -1))


class ReshapeConstGemm(nn.Module):     # x.view(-1, C*H*W): Reshape with a constant shape
    def __init__(self):
        super().__init__()
        self.body = FormBackbone()
        self.fc = nn.Linear(FORM_FEAT, 10)

    def forward(self, x):
        return self.fc(self.body(x).view(-1, FORM_FEAT))


class MatMulAdd(nn.Module):            # torch.matmul(flat, W) + b: MatMul -> Add, W stored as (CHW, K)
    def __init__(self):
        super().__init__()
        self.body = FormBackbone()
        self.w = nn.Parameter(torch.randn(FORM_FEAT, 10) * 0.05)
        self.b = nn.Parameter(torch.randn(10) * 0.1)

    def forward(self, x):
        return torch.matmul(torch.flatten(self.body(x), 1), self.w) + self.b


class AvgPoolIdentityGemm(nn.Module):  # AdaptiveAvgPool2d((5,6)) on a 5x6 map (AlexNet/VGG style)
    def __init__(self):
        super().__init__()
        self.body = FormBackbone()
        self.avg = nn.AdaptiveAvgPool2d((FORM_H, FORM_W))
        self.fc1 = nn.Linear(FORM_FEAT, 16)
        self.drop = nn.Dropout(0.5)
        self.fc2 = nn.Linear(16, 10)

    def forward(self, x):
        return self.fc2(self.drop(F.relu(self.fc1(torch.flatten(self.avg(self.body(x)), 1)))))


class HardswishBetween(nn.Module):     # MobileNetV3's head: Gemm -> Hardswish -> Dropout -> Gemm
    """At opset 13 torch writes Hardswish as x * HardSigmoid(x): an elementwise Mul whose two inputs
    both come from the first FC, which FC->conv must carry over like any activation."""

    def __init__(self):
        super().__init__()
        self.body = FormBackbone()
        self.fc1 = nn.Linear(FORM_FEAT, 16)
        self.act = nn.Hardswish()
        self.drop = nn.Dropout(0.2)
        self.fc2 = nn.Linear(16, 10)

    def forward(self, x):
        return self.fc2(self.drop(self.act(self.fc1(torch.flatten(self.body(x), 1)))))


def make_handwritten_form(name, backbone, fc1_w, fc1_b, fc2_w, fc2_b, x):
    """ONNX graphs torch never emits: Gemm(transB=0) with W stored K-last, and an explicit Dropout
    (opset 13, inference: identity) between the two FCs. Weights come from a torch backbone export."""
    tmp = path_of(f"fc_forms/.{name}.backbone.onnx")
    export(backbone, x, f"fc_forms/.{name}.backbone.onnx", output_name="features")
    bb = onnx.load(tmp)
    os.remove(tmp)
    WRITTEN.discard(tmp)
    g = bb.graph
    feat_name = g.output[0].name
    nodes = list(g.node)
    inits = list(g.initializer)
    inits += [numpy_helper.from_array(fc1_w.T.copy(), "fc1.weight_KxN"),   # (CHW, 16): transB = 0
              numpy_helper.from_array(fc1_b, "fc1.bias"),
              numpy_helper.from_array(fc2_w.T.copy(), "fc2.weight_KxN"),
              numpy_helper.from_array(fc2_b, "fc2.bias"),
              numpy_helper.from_array(np.array(0.5, dtype=np.float32), "drop.ratio")]
    nodes += [helper.make_node("Flatten", [feat_name], ["flat"], name="Flatten_fc", axis=1),
              helper.make_node("Gemm", ["flat", "fc1.weight_KxN", "fc1.bias"], ["fc1"], name="Gemm_fc1",
                               alpha=1.0, beta=1.0, transA=0, transB=0),
              helper.make_node("Relu", ["fc1"], ["relu1"], name="Relu_fc1"),
              helper.make_node("Dropout", ["relu1", "drop.ratio"], ["drop1"], name="Dropout_fc1"),
              helper.make_node("Gemm", ["drop1", "fc2.weight_KxN", "fc2.bias"], ["output"], name="Gemm_fc2",
                               transB=0)]
    graph = helper.make_graph(
        nodes, name, [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, 10, 12])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 10])], inits)
    model = helper.make_model(graph, producer_name="fullconv make_testdata.py",
                              opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    with atomic(f"fc_forms/{name}.onnx") as tmp:
        onnx.save(model, tmp)


def make_fc_forms():
    forms = [("flatten_gemm", FlattenGemm, "Flatten -> Gemm(transB=1) -> Relu -> Gemm"),
             ("reshape_gemm", ReshapeGemm, "x.view(x.size(0), -1): Shape/Gather/Unsqueeze/Concat -> Reshape -> Gemm"),
             ("reshape_const_gemm", ReshapeConstGemm, "x.view(-1, 180): Reshape(const [-1,180]) -> Gemm"),
             ("matmul_add", MatMulAdd, "Flatten -> MatMul(W: 180x10) -> Add(bias)"),
             ("avgpool_identity_gemm", AvgPoolIdentityGemm,
              "AdaptiveAvgPool2d((5,6)) at 5x6 (AveragePool 1x1) -> Flatten -> Gemm -> Relu -> Gemm"),
             ("hardswish_between", HardswishBetween,
              "Flatten -> Gemm -> Hardswish (opset 13: HardSigmoid + Mul) -> Gemm, as in MobileNetV3's head")]
    rows = []
    for i, (name, cls, desc) in enumerate(forms):
        seed = SEED + 10 + i
        seed_all(seed)
        model = cls().eval()
        x = torch.randn(*FORM_SHAPE, generator=torch.Generator().manual_seed(seed)).numpy()
        export(model, x, f"fc_forms/{name}.onnx")
        save_goldens(model, x, f"fc_forms/{name}")
        rows.append((name, desc, " ".join(ops_of(f"fc_forms/{name}.onnx"))))
    # Gemm transB=0 + explicit Dropout: written with onnx.helper, outputs computed by torch.
    seed = SEED + 20
    seed_all(seed)
    body = FormBackbone().eval()
    fc1 = nn.Linear(FORM_FEAT, 16)
    fc2 = nn.Linear(16, 10)
    x = torch.randn(*FORM_SHAPE, generator=torch.Generator().manual_seed(seed)).numpy()
    with torch.no_grad():
        y = fc2(F.relu(fc1(torch.flatten(body(torch.from_numpy(x)), 1)))).numpy()
    make_handwritten_form("gemm_transb0_dropout", body, fc1.weight.detach().numpy(), fc1.bias.detach().numpy(),
                          fc2.weight.detach().numpy(), fc2.bias.detach().numpy(), x)
    save_npy("fc_forms/gemm_transb0_dropout.input.npy", x)
    save_npy("fc_forms/gemm_transb0_dropout.output.npy", y.astype(np.float32))
    rows.append(("gemm_transb0_dropout", "hand-written: Flatten -> Gemm(transB=0, W 180x16) -> Relu -> "
                 "Dropout(ratio input, opset 13) -> Gemm(transB=0)",
                 " ".join(ops_of("fc_forms/gemm_transb0_dropout.onnx"))))
    size = sum(os.path.getsize(p) for p in WRITTEN if os.sep + "fc_forms" + os.sep in p)
    MODEL_TABLE.append(("fc_forms/*", "random weights, input 2x1x10x12 (map 6x5x6 -> 180 features)",
                        0, "-", size, f"{len(rows)} models"))
    return rows


# ---------------------------------------------------------------------------------------------
def write_models_md(form_rows):
    lines = ["# testdata — reference models and goldens", "",
             "Generated by the real frameworks (PyTorch " + torch.__version__.split("+")[0] + ", onnx " +
             onnx.__version__ + ", numpy " + np.__version__ + "), seeded, CPU, 1 thread (deterministic):", "",
             "    /usr/bin/python3 scripts/make_testdata.py          # or: make testdata",
             "    /usr/bin/python3 scripts/make_testdata.py --quick  # reuse testdata/trained/*.pt, no training",
             "",
             "A full run trains three small nets: about 6 minutes wall clock (under 2 CPU-minutes) on a loaded",
             "2-core machine; `--quick` takes about 20 s. Both are deterministic: a second full run gives",
             "byte-identical files (checked), so regenerating never causes a spurious diff.",
             "Every model has `<name>.input.npy` (the batch) and",
             "`<name>.output.npy` (PyTorch's output on it); `scripts/tests/goldens.sh` converts and runs each one",
             "with `fullconv` and compares with `tool_npycmp` (rel err <= 1e-4). Inputs are float32 NCHW, batch",
             "dimension exported as dynamic (`N`). LeNet inputs are real Fashion-MNIST test images (pixel/255).",
             "", "| model | source | params | accuracy (PyTorch, 10k test) | bytes (onnx+npy) | ONNX ops / notes |",
             "|---|---|---:|---|---:|---|"]
    for name, source, params, acc, size, notes in MODEL_TABLE:
        lines.append(f"| `{name}` | {source} | {params if params else '-'} | {acc} | {size} | {notes} |")
    lines += ["", "## FC→conv export forms (`fc_forms/`)", "",
              "Non-square map (6×5×6 = 180 features) so a wrong flatten-order permutation cannot pass by symmetry.",
              "", "| file | form | ONNX ops |", "|---|---|---|"]
    for name, desc, ops in form_rows:
        lines.append(f"| `{name}.onnx` | {desc} | {ops} |")
    lines += ["", "## Other files", "",
              "- `fashion_mnist_sample.npy` (64×1×28×28 float32, the first 64 test images, pixel/255) and",
              "  `fashion_mnist_sample_labels.npy` (64, int64).",
              "- `lenet_accuracy.json`: the PyTorch test-set top-1 of `lenet_fc` and `lenet_gap`.",
              f"- `nopad_fc_big.input.npy` (1×1×{NOPAD_BIG}×{NOPAD_BIG}: test image 4 on a zero canvas) and",
              "  `nopad_fc_crops.npy` (Ho×Wo×K = 5×5×10): the original classifier's logits on every 20×20 crop at",
              f"  stride {NOPAD_STRIDE} (its total stride). With no padding anywhere, the FC→conv score map on the",
              "  big input equals these crops exactly (the script checks that premise in PyTorch).",
              "- `lenet_fc_ridge.npz`: golden for `--gap-head fit` on the calibration set",
              f"  `lenet_fc_ridge_images.npy` ({RIDGE_N}×1×28×28, the first {RIDGE_N} train images) +",
              f"  `lenet_fc_ridge_labels.npy`: `features` (GAP of lenet_fc's last feature map, {RIDGE_N}×32),",
              f"  `targets` (lenet_fc logits, {RIDGE_N}×10), `lambda` (= {RIDGE_LAMBDA}, float64, shape 1),",
              "  and the float64 numpy ridge solution `W` (10×32), `b` (10) fitted to the logits, `W_labels`,",
              "  `b_labels` fitted to one-hot labels. Bias unpenalised (solved by centring), Cholesky on the",
              "  centred C×C Gram + λI.",
              "- `trained/*.pt`: the trained state_dicts, so `--quick` regenerates exports without training.",
              "- `bad/`: malformed inputs with their expected errors (owned by the bad-input tests)."]
    with atomic("MODELS.md") as tmp, open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="reuse testdata/trained/*.pt instead of training")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1, see setup_torch)")
    args = ap.parse_args()
    setup_torch(args.threads)
    t0 = time.time()
    xte, yte = load_fashion_mnist("test")
    save_npy("fashion_mnist_sample.npy", xte[:64])
    save_npy("fashion_mnist_sample_labels.npy", yte[:64])
    print("lenets:", flush=True)
    make_lenets(args.quick, xte[:64])
    print("nopad_fc:", flush=True)
    make_nopad(args.quick)
    print("random models:", flush=True)
    make_random_models()
    print("fc_forms:", flush=True)
    rows = make_fc_forms()
    write_models_md(rows)
    total = sum(os.path.getsize(p) for p in WRITTEN)
    print(f"done in {time.time() - t0:.0f} s; wrote {len(WRITTEN)} files, {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
