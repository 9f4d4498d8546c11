#!/usr/bin/python3
"""PyTorch .pt goldens and hostile .pt files for fullconv's torch importer (Debian python3-torch 1.13).

    /usr/bin/python3 scripts/make_torch_testdata.py          # testdata/torch/ + testdata/bad/torch_*
    /usr/bin/python3 scripts/make_torch_testdata.py --big    # also full-size torchvision models into
                                                             # $BUILD/models/torch/ (scripts/check_torch_big.sh)

Models are real torchvision classes (ResNet, VGG, AlexNet, SqueezeNet, MobileNetV2) with their
state_dict key layout intact but narrowed channel counts, so the committed files stay small
(a few hundred KB) while the importer's architecture templates are checked against PyTorch's own
forward. Plus nn.Sequential whole-model pickles (nested, every supported layer kind) and
TorchScript archives (trace + script). Seeded; writes testdata/torch/cases.txt, read by
scripts/tests/torch_goldens.sh:  name|model file|convert options|input .npy|expected output .npy

The malicious files are written opcode by opcode / with zipfile; nothing here ever unpickles them.
"""
import argparse
import collections
import copy
import io
import os
import struct
import sys
import zipfile

import numpy as np
import torch
import torch.nn as nn
import torchvision
import torchvision.models.resnet as tv_resnet
from torchvision.models.squeezenet import Fire
from torchvision.ops.misc import Conv2dNormActivation

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "testdata", "torch")
BAD = os.path.join(ROOT, "testdata", "bad")


def seed(s):
    torch.manual_seed(s)
    np.random.seed(s)


def randomize_bn(model):
    """Non-trivial running statistics, so BatchNorm is really tested."""
    g = torch.Generator().manual_seed(123)
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.1)
    return model.eval()


def narrow_resnet(block, layers, div, num_classes):
    """A torchvision ResNet whose widths are divided by `div` (same module names and strides)."""
    orig = tv_resnet.ResNet._make_layer

    def small(self, blk, planes, blocks, stride=1, dilate=False):
        if planes == 64:
            self.inplanes = 64 // div
        return orig(self, blk, planes // div, blocks, stride, dilate)

    tv_resnet.ResNet._make_layer = small
    try:
        m = tv_resnet.ResNet(block, layers, num_classes=num_classes)
    finally:
        tv_resnet.ResNet._make_layer = orig
    m.conv1 = nn.Conv2d(3, 64 // div, 7, 2, 3, bias=False)
    m.bn1 = nn.BatchNorm2d(64 // div)
    m.fc = nn.Linear(512 // div * block.expansion, num_classes)
    return randomize_bn(m)


def narrow_vgg(cfg, bn, num_classes):
    layers, c = [], 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(c, v, 3, padding=1)] + ([nn.BatchNorm2d(v)] if bn else []) + [nn.ReLU(True)]
            c = v
    m = torchvision.models.VGG(nn.Sequential(*layers), num_classes=num_classes, init_weights=False)
    m.classifier = nn.Sequential(nn.Linear(c * 49, 32), nn.ReLU(True), nn.Dropout(), nn.Linear(32, 32), nn.ReLU(True),
                                 nn.Dropout(), nn.Linear(32, num_classes))
    return randomize_bn(m)


def narrow_alexnet(num_classes):
    m = torchvision.models.AlexNet(num_classes=num_classes)
    m.features = nn.Sequential(
        nn.Conv2d(3, 8, 11, 4, 2), nn.ReLU(True), nn.MaxPool2d(3, 2),
        nn.Conv2d(8, 12, 5, padding=2), nn.ReLU(True), nn.MaxPool2d(3, 2),
        nn.Conv2d(12, 16, 3, padding=1), nn.ReLU(True),
        nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(True),
        nn.Conv2d(16, 8, 3, padding=1), nn.ReLU(True), nn.MaxPool2d(3, 2))
    m.classifier = nn.Sequential(nn.Dropout(), nn.Linear(8 * 36, 32), nn.ReLU(True), nn.Dropout(),
                                 nn.Linear(32, 32), nn.ReLU(True), nn.Linear(32, num_classes))
    return m.eval()


def narrow_squeezenet(version, num_classes):
    m = torchvision.models.SqueezeNet(version, num_classes=num_classes)
    if version == "1_0":
        m.features = nn.Sequential(
            nn.Conv2d(3, 12, 7, 2), nn.ReLU(True), nn.MaxPool2d(3, 2, ceil_mode=True),
            Fire(12, 4, 8, 8), Fire(16, 4, 8, 8), Fire(16, 6, 12, 12), nn.MaxPool2d(3, 2, ceil_mode=True),
            Fire(24, 6, 12, 12), Fire(24, 8, 12, 12), Fire(24, 8, 16, 16), Fire(32, 8, 16, 16),
            nn.MaxPool2d(3, 2, ceil_mode=True), Fire(32, 8, 16, 16))
    else:
        m.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, 2), nn.ReLU(True), nn.MaxPool2d(3, 2, ceil_mode=True),
            Fire(8, 4, 8, 8), Fire(16, 4, 8, 8), nn.MaxPool2d(3, 2, ceil_mode=True),
            Fire(16, 6, 12, 12), Fire(24, 6, 12, 12), nn.MaxPool2d(3, 2, ceil_mode=True),
            Fire(24, 8, 12, 12), Fire(24, 8, 16, 16), Fire(32, 8, 16, 16), Fire(32, 8, 16, 16))
    m.classifier[1] = nn.Conv2d(32, num_classes, 1)
    return m.eval()


def sequential_models():
    seed(1)
    full = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=2), nn.LeakyReLU(0.1),
        nn.Sequential(nn.Conv2d(8, 16, 1, bias=False), nn.Hardswish(), nn.Conv2d(16, 16, 3, padding="same", dilation=2)),
        nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
        nn.ReLU6(), nn.AdaptiveAvgPool2d(4), nn.Sigmoid(),
        nn.Flatten(), nn.Dropout(0.3), nn.Linear(256, 32), nn.Tanh(), nn.Identity(),
        nn.Linear(32, 10), nn.Softmax(dim=1))
    seed(2)
    nested = nn.Sequential(
        nn.Sequential(nn.Sequential(nn.Conv2d(1, 6, 5), nn.BatchNorm2d(6), nn.ReLU()), nn.MaxPool2d(2, ceil_mode=True)),
        nn.Sequential(nn.Conv2d(6, 12, 3), nn.ReLU(), nn.AdaptiveAvgPool2d((1, 1))),
        nn.Flatten(), nn.Sequential(nn.Linear(12, 5)))
    seed(3)
    mlp = nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.BatchNorm1d(16), nn.Linear(16, 4))
    return randomize_bn(full), randomize_bn(nested), randomize_bn(mlp)


def save_big_endian(model, path):
    """torch.save on a big-endian machine: same pickle, storages byte-swapped, byteorder 'big'.
    Every storage of `model` is float32."""
    buf = io.BytesIO()
    torch.save(model, buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for info in src.infolist():
            data = src.read(info.filename)
            if "/data/" in info.filename:
                data = np.frombuffer(data, dtype="<f4").astype(">f4").tobytes()
            z.writestr(zinfo(info.filename), data)
        prefix = src.namelist()[0].split("/")[0]
        if prefix + "/byteorder" not in src.namelist():
            z.writestr(zinfo(prefix + "/byteorder"), b"big")


def same_archive(a, b):
    """Same tensors and same layout. TorchScript archives differ from run to run in their code/
    folder, debug info and class-name mangling numbers (inside data.pkl too), none of which the
    importer reads; a plain torch.save archive must be byte-identical."""
    za, zb = zipfile.ZipFile(a), zipfile.ZipFile(b)
    script = any("/code/" in n for n in za.namelist())
    if not script:
        return sorted(za.namelist()) == sorted(zb.namelist()) and all(za.read(n) == zb.read(n) for n in za.namelist())
    data = lambda z: sorted(n for n in z.namelist() if "/data/" in n)
    return data(za) == data(zb) and all(za.read(n) == zb.read(n) for n in data(za))


class Cases:
    def __init__(self):
        self.lines = []
        self.inputs = {}

    def input(self, shape):
        name = "x_" + "x".join(str(d) for d in shape) + ".npy"
        if name not in self.inputs:
            g = np.random.default_rng(sum(shape))
            self.inputs[name] = g.standard_normal(shape).astype(np.float32)
            np.save(os.path.join(OUT, name), self.inputs[name])
        return name

    def add(self, name, model, save, options, shape, fname=None):
        inp = self.input(shape)
        with torch.no_grad():
            y = model(torch.from_numpy(self.inputs[inp])).numpy()
        np.save(os.path.join(OUT, name + ".output.npy"), y.astype(np.float32))
        fname = fname or name + ".pt"
        if save is not None:
            # same base name in a scratch folder: torch.save names the archive's top folder after it
            path, scratch = os.path.join(OUT, fname), os.path.join(OUT, ".new")
            os.makedirs(scratch, exist_ok=True)
            save(os.path.join(scratch, fname))
            if os.path.exists(path) and same_archive(path, os.path.join(scratch, fname)):
                os.remove(os.path.join(scratch, fname))   # keep the committed bytes (TorchScript debug info varies)
            else:
                os.replace(os.path.join(scratch, fname), path)
            os.rmdir(scratch)
        self.lines.append("|".join([name, fname, options, inp, name + ".output.npy"]))


def write_goldens():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(2)
    c = Cases()
    full, nested, mlp = sequential_models()
    c.add("seq_whole", full, lambda p: torch.save(full, p), "--input-shape 1x3x32x32", (1, 3, 32, 32))
    c.add("seq_whole_fc2conv", full, None, "--input-shape 1x3x32x32 --fc-to-conv", (1, 3, 32, 32), "seq_whole.pt")
    c.add("seq_nested", nested, lambda p: torch.save(nested, p), "--input-shape 2x1x28x28", (2, 1, 28, 28))
    c.add("seq_mlp", mlp, lambda p: torch.save(mlp, p), "", (1, 20))   # input shape guessed from Linear(20, .)
    seed(5)
    lone = nn.Linear(20, 3).eval()
    c.add("single_linear", lone, lambda p: torch.save(lone, p), "", (1, 20))

    # storage forms: a non-contiguous (transposed) parameter, fp16 and fp64 storages, a big-endian archive
    seed(4)
    odd = nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 4)).eval()
    odd[0].weight = nn.Parameter(torch.randn(20, 16).t())   # strides (1, 16)
    assert not odd[0].weight.is_contiguous()
    c.add("seq_noncontig", odd, lambda p: torch.save(odd, p), "", (1, 20))
    half = copy.deepcopy(odd).half()
    ref = copy.deepcopy(half).float()
    c.add("seq_fp16", ref, lambda p: torch.save(half, p), "", (1, 20))
    dbl = copy.deepcopy(odd).double()
    c.add("seq_fp64", odd, lambda p: torch.save(dbl, p), "", (1, 20))
    c.add("seq_bigendian", odd, lambda p: save_big_endian(odd, p), "", (1, 20))

    seed(10)
    r18 = narrow_resnet(tv_resnet.BasicBlock, [2, 2, 2, 2], 16, 2)
    c.add("resnet18_sd", r18, lambda p: torch.save(r18.state_dict(), p), "--arch resnet18 --input-shape 1x3x64x64", (1, 3, 64, 64))
    c.add("resnet18_sd_guess", r18, None, "--input-shape 1x3x64x64", (1, 3, 64, 64), "resnet18_sd.pt")
    c.add("resnet18_whole", r18, lambda p: torch.save(r18, p), "--input-shape 1x3x64x64", (1, 3, 64, 64))
    ckpt = {"epoch": 3, "state_dict": {"module." + k: v for k, v in r18.state_dict().items()}}
    c.add("resnet18_ckpt", r18, lambda p: torch.save(ckpt, p), "--input-shape 1x3x64x64", (1, 3, 64, 64))
    x = torch.from_numpy(c.inputs[c.input((1, 3, 64, 64))])
    traced = torch.jit.trace(r18, x)
    c.add("resnet18_ts", r18, lambda p: torch.jit.save(traced, p), "--arch resnet18 --input-shape 1x3x64x64", (1, 3, 64, 64))
    c.add("resnet18_gap", r18, None, "--input-shape 1x3x64x64 --gap-head exact", (1, 3, 64, 64), "resnet18_sd.pt")

    seed(11)
    r50 = narrow_resnet(tv_resnet.Bottleneck, [3, 4, 6, 3], 16, 3)
    c.add("resnet50_sd", r50, lambda p: torch.save(r50.state_dict(), p), "--input-shape 1x3x64x64", (1, 3, 64, 64))

    seed(12)
    cfg11 = [4, "M", 8, "M", 8, 8, "M", 16, 16, "M", 16, 16, "M"]
    vgg = narrow_vgg(cfg11, True, 5)
    c.add("vgg11_bn_sd", vgg, lambda p: torch.save(vgg.state_dict(), p), "", (1, 3, 224, 224))
    c.add("vgg11_bn_fc2conv", vgg, None, "--fc-to-conv", (1, 3, 224, 224), "vgg11_bn_sd.pt")
    seed(13)
    cfg16 = [4, 4, "M", 8, 8, "M", 8, 8, 8, "M", 16, 16, 16, "M", 16, 16, 16, "M"]
    vgg16 = narrow_vgg(cfg16, False, 4)
    c.add("vgg16_sd", vgg16, lambda p: torch.save(vgg16.state_dict(), p), "--arch vgg16", (1, 3, 224, 224))

    seed(14)
    alex = narrow_alexnet(6)
    c.add("alexnet_sd", alex, lambda p: torch.save(alex.state_dict(), p), "", (1, 3, 224, 224))

    seed(15)
    sq11 = narrow_squeezenet("1_1", 7)
    c.add("squeezenet1_1_whole", sq11, lambda p: torch.save(sq11, p), "", (1, 3, 224, 224))
    seed(16)
    sq10 = narrow_squeezenet("1_0", 7)
    c.add("squeezenet1_0_sd", sq10, lambda p: torch.save(sq10.state_dict(), p), "", (1, 3, 224, 224))

    seed(17)
    mb = torchvision.models.MobileNetV2(num_classes=10, width_mult=0.1)
    # the 1280-wide last conv would dominate the file: narrow it (same module names)
    mb.features[18] = Conv2dNormActivation(mb.features[17].out_channels, 64, kernel_size=1, norm_layer=nn.BatchNorm2d,
                                           activation_layer=nn.ReLU6)
    mb.classifier[1] = nn.Linear(64, 10)
    mb = randomize_bn(mb)
    c.add("mobilenet_v2_sd", mb, lambda p: torch.save(mb.state_dict(), p), "--input-shape 1x3x64x64", (1, 3, 64, 64))
    c.add("mobilenet_v2_whole", mb, lambda p: torch.save(mb, p), "--input-shape 1x3x64x64", (1, 3, 64, 64))
    scripted = torch.jit.script(mb)
    c.add("mobilenet_v2_ts", mb, lambda p: torch.jit.save(scripted, p), "--input-shape 1x3x64x64", (1, 3, 64, 64))

    with open(os.path.join(OUT, "cases.txt"), "w") as f:
        f.write("# name|model|convert options|input|expected output (scripts/make_torch_testdata.py)\n")
        f.write("\n".join(c.lines) + "\n")
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print("testdata/torch: %d cases, %.1f KB" % (len(c.lines), total / 1024))


# ---- hostile files: pickles written opcode by opcode, never loaded -----------------------------
def pk_str(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def zinfo(name, method=zipfile.ZIP_STORED):
    """A fixed timestamp, so regenerated files are byte-identical."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = method
    return info


def torch_zip(path, pickle_bytes, storages=None, prefix="archive", extra=None):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr(zinfo(prefix + "/data.pkl"), pickle_bytes)
        for key, data in (storages or {}).items():
            z.writestr(zinfo(prefix + "/data/" + key), data)
        for name, data in (extra or []):
            z.writestr(zinfo(name), data)
        z.writestr(zinfo(prefix + "/version"), b"3\n")


def tensor_pickle(key, numel, size, stride, offset=0):
    """OrderedDict({'w': _rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())})"""
    t = lambda xs: b"(" + b"".join(b"J" + struct.pack("<i", x) for x in xs) + b"t"
    return (b"\x80\x02ccollections\nOrderedDict\n)R" + pk_str("w") +
            b"ctorch._utils\n_rebuild_tensor_v2\n(" +
            b"(" + pk_str("storage") + b"ctorch\nFloatStorage\n" + pk_str(key) + pk_str("cpu") +
            b"J" + struct.pack("<i", numel) + b"tQ" +
            b"J" + struct.pack("<i", offset) + t(size) + t(stride) + b"\x89ccollections\nOrderedDict\n)RtR" +
            b"s.")


def bad(name, data_or_writer, expect, cmd="convert {} -o {out}", ext="pt"):
    path = os.path.join(BAD, "torch_%s.%s" % (name, ext))
    if callable(data_or_writer):
        data_or_writer(path)
    else:
        with open(path, "wb") as f:
            f.write(data_or_writer)
    with open(os.path.join(BAD, "torch_%s.expect" % name), "w") as f:
        f.write(expect + "\n")
        if cmd:
            f.write("cmd: " + cmd + "\n")


def write_bad():
    os.makedirs(BAD, exist_ok=True)
    w = lambda pk, **kw: (lambda p: torch_zip(p, pk, **kw))
    bad("os_system", w(b"\x80\x02cos\nsystem\n" + pk_str("echo pwned") + b"\x85R."),
        "global 'os.system' is not allowed (fullconv never executes code from model files)")
    bad("posix_system", w(b"\x80\x04\x8c\x05posix\x8c\x06system\x93" + pk_str("id") + b"\x85R."),
        "global 'posix.system' is not allowed")
    bad("builtins_eval", w(b"\x80\x02c__builtin__\neval\n" + pk_str("1+1") + b"\x85R."),
        "global 'builtins.eval' is not allowed")
    bad("subprocess", w(b"\x80\x02csubprocess\nPopen\n(" + pk_str("true") + b"\x85tR."),
        "global 'subprocess.Popen' is not allowed")
    bad("load_from_bytes", w(b"\x80\x02ctorch.storage\n_load_from_bytes\nC\x01x\x85R."),
        "global 'torch.storage._load_from_bytes' is not allowed")
    bad("deep_nesting", w(b"\x80\x02" + b"]" * 5000 + b"a" * 4999 + b"."), "nesting deeper than")
    bad("deep_marks", w(b"\x80\x02" + b"(" * 5000 + b"."), "nesting deeper than")
    # memo bomb: 10 levels of a list holding 50 references to the previous level; fine as references
    # (the VM never copies), and then refused because a list of lists is not a state_dict.
    bomb = b"\x80\x02]q\x00"
    for level in range(1, 11):
        bomb += b"](" + (b"h" + bytes([level - 1])) * 50 + b"eq" + bytes([level])
    bad("memo_bomb", w(bomb + b"."), "data.pkl holds a list")
    # shared submodules: 30 levels of a Sequential whose two children are the same level below
    # (2^30 paths through ~30 records) -> the importer's walk budget stops it
    dag = b"\x80\x02ctorch.nn.modules.container\nSequential\nq\x00"
    dag += b"h\x00)\x81}" + pk_str("_modules") + b"}sbq\x01"
    for level in range(1, 31):
        child = b"h" + bytes([level])
        dag += (b"h\x00)\x81}" + pk_str("_modules") + b"}(" + pk_str("0") + child + pk_str("1") + child +
                b"usbq" + bytes([level + 1]))
    bad("shared_modules", w(dag + b"."), "module records to walk (shared submodules?)")
    t = tensor_pickle("0", 6, [2, 3], [3, 1])
    dup = t[:-1] + pk_str("w") + t[t.index(b"ctorch._utils"):-2] + b"s."
    bad("duplicate_key", w(dup, storages={"0": b"\x00" * 24}), "tensor 'w' appears twice")
    bad("huge_long", w(b"\x80\x02\x8b\xff\xff\xff\x7f" + b"\x00" * 16 + b"."), "integer of 2147483647 bytes is too large")
    bad("memo_index", w(b"\x80\x02Nr\xff\xff\xff\x0f."), "memo index 268435455 exceeds")
    bad("storage_size", w(tensor_pickle("0", 6, [2, 3], [3, 1]), storages={"0": b"\x00" * 20}),
        "storage 'archive/data/0' has 20 bytes, 6 x f32 needs 24")
    bad("tensor_bounds", w(tensor_pickle("0", 6, [2, 3], [3, 1], offset=2), storages={"0": b"\x00" * 24}),
        "reaches element 7 of a 6-element storage")
    bad("storage_missing", w(tensor_pickle("7", 6, [2, 3], [3, 1])), "storage entry 'archive/data/7' is missing")
    bad("path_traversal", w(b"\x80\x02}.", extra=[("../../evil", b"x")]), "unsafe name")
    bad("absolute_path", w(b"\x80\x02}.", extra=[("/etc/evil", b"x")]), "unsafe name")

    def encrypted(path):
        torch_zip(path, b"\x80\x02}.")
        data = bytearray(open(path, "rb").read())
        # set the "encrypted" bit of the first entry in both the local and the central header
        data[6] |= 1
        first_cd = data.find(b"PK\x01\x02")
        data[first_cd + 8] |= 1
        open(path, "wb").write(bytes(data))
    bad("encrypted", encrypted, "is encrypted")

    def zip_bomb(path):
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(zinfo("archive/data.pkl", zipfile.ZIP_DEFLATED), b"\x80\x02}.")
            z.writestr(zinfo("archive/data/0", zipfile.ZIP_DEFLATED), b"\x00" * (64 << 20))
    bad("zip_bomb", zip_bomb, "zip bomb")
    # torch < 1.6 format: a bare pickle stream starting with the magic number
    bad("legacy", b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.\x80\x02M\xe9\x03.", "legacy (")
    bad("no_data_pkl", w(b"\x80\x02}.", prefix="a/b"), "without <name>/data.pkl")
    bad("not_state_dict", w(b"\x80\x02" + pk_str("hello") + b"."), "expected a state_dict or an nn.Module")
    bad("custom_class", w(b"\x80\x02c__main__\nNet\n)\x81}b."), "global '__main__.Net' is not allowed")
    bad("unknown_arch", w(tensor_pickle("0", 6, [2, 3], [3, 1]), storages={"0": b"\x00" * 24}),
        "cannot tell the architecture")
    print("testdata/bad: torch_* written")


# ---- full-size torchvision models (not committed) ------------------------------------------------
def write_big(out):
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(2)
    seed(20)
    x = torch.randn(1, 3, 224, 224)
    np.save(os.path.join(out, "x224.npy"), x.numpy())
    lines = []
    r18 = torchvision.models.resnet18()
    r18.fc = nn.Linear(512, 2)
    models = [("resnet18_fc2", randomize_bn(r18), "--arch resnet18"),
              ("squeezenet1_1", torchvision.models.squeezenet1_1().eval(), ""),
              ("mobilenet_v2", randomize_bn(torchvision.models.mobilenet_v2()), "")]
    for name, m, opts in models:
        with torch.no_grad():
            np.save(os.path.join(out, name + ".output.npy"), m(x).numpy())
        torch.save(m.state_dict(), os.path.join(out, name + "_sd.pt"))
        torch.save(m, os.path.join(out, name + "_whole.pt"))
        lines.append("%s_sd|%s_sd.pt|%s|x224.npy|%s.output.npy" % (name, name, opts, name))
        lines.append("%s_whole|%s_whole.pt||x224.npy|%s.output.npy" % (name, name, name))
    torch.jit.save(torch.jit.trace(models[0][1], x), os.path.join(out, "resnet18_fc2_ts.pt"))
    lines.append("resnet18_fc2_ts|resnet18_fc2_ts.pt|--arch resnet18|x224.npy|resnet18_fc2.output.npy")
    with open(os.path.join(out, "cases.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("%s: %d cases" % (out, len(lines)))


def write_custom_sd():
    """A state_dict of no known architecture: `inspect` lists its tensors, `convert` asks for --arch
    (scripts/tests/torch_goldens.sh)."""
    torch.manual_seed(0)
    sd = collections.OrderedDict([("encoder.proj.weight", torch.randn(4, 3)),
                                  ("encoder.proj.bias", torch.zeros(4, dtype=torch.float16)),
                                  ("head.table", torch.arange(6).reshape(2, 3))])
    torch.save(sd, os.path.join("testdata", "torch", "custom_sd.pt"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--big", action="store_true", help="also write full-size torchvision models (see --big-dir)")
    ap.add_argument("--big-only", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--big-dir", default=os.path.join(os.environ.get("BUILD", "build"), "models", "torch"),
                    help="where --big writes (default $BUILD/models/torch)")
    a = ap.parse_args()
    if not a.big_only:
        write_goldens()
        write_custom_sd()
        write_bad()
    if a.big or a.big_only:
        write_big(a.big_dir)


if __name__ == "__main__":
    sys.exit(main())
