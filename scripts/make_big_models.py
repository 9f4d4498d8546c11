#!/usr/bin/python3
"""Exports torchvision classifiers with seeded random weights to ONNX for the big-model checks
(issue 2 "Done when": ResNet-18 matches PyTorch within rel err 1e-4; issue 3 targets on AlexNet, VGG-11,
ResNet-18, SqueezeNet). Not committed and not run by `make test` (hundreds of MB, minutes).

    /usr/bin/python3 scripts/make_big_models.py                      # resnet18 alexnet vgg11 squeezenet1_1 mobilenet_v2
    /usr/bin/python3 scripts/make_big_models.py --models resnet18    # a subset
    /usr/bin/python3 scripts/make_big_models.py --all                # also resnet50
    then: sh scripts/check_big_models.sh

Writes build/models/<name>.onnx, <name>.input.npy (seeded 1x3x224x224 standard normal; --batch N for
more rows) and <name>.output.npy (PyTorch's output). Models are built with weights=None after
torch.manual_seed(0), so nothing is downloaded; BN layers get seeded running statistics; exported in
eval mode, opset 13, batch 1 (fixed unless --dynamic-batch).
"""
import argparse
import os
import sys
import time

import numpy as np
import torch
import torchvision

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT = ["resnet18", "alexnet", "vgg11", "squeezenet1_1", "mobilenet_v2"]
EXTRA = ["resnet50"]
KNOWN = DEFAULT + EXTRA + ["vgg16", "resnet34", "densenet121", "mobilenet_v3_small", "shufflenet_v2_x1_0",
                           "efficientnet_b0", "googlenet", "mnasnet1_0", "regnet_x_400mf",
                           "resnext50_32x4d", "regnet_y_400mf", "mobilenet_v3_large"]


def build(name):
    torch.manual_seed(0)
    kwargs = {"weights": None}
    if name == "googlenet":
        kwargs.update(aux_logits=False, init_weights=True)
    model = getattr(torchvision.models, name)(**kwargs)
    model.eval()
    # Random-init BN layers have mean 0 / var 1: give them seeded statistics so inference BN (and the
    # converter's BN folding) does real work, as in a trained net.
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                c = m.num_features
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(c, generator=gen) * 0.5 + 0.75)
    return model


def shown(path):
    rel = os.path.relpath(path, ROOT)
    return path if rel.startswith("..") else rel


def main():
    ap = argparse.ArgumentParser(description="export seeded-random torchvision models to build/models/")
    ap.add_argument("--models", help="comma-separated list (default: %s)" % ",".join(DEFAULT))
    ap.add_argument("--all", action="store_true", help="default list plus %s" % ",".join(EXTRA))
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "models"), help="output folder")
    ap.add_argument("--opset", type=int, default=13)
    ap.add_argument("--batch", type=int, default=1,
                    help="rows in <name>.input.npy (the ONNX keeps a fixed batch of 1 unless --dynamic-batch)")
    ap.add_argument("--dynamic-batch", action="store_true", help="export the batch dimension as dynamic 'N'")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1: fastest on a loaded machine)")
    args = ap.parse_args()
    names = args.models.split(",") if args.models else DEFAULT + (EXTRA if args.all else [])
    for n in names:
        if n not in KNOWN:
            ap.error(f"unknown model '{n}' (known: {', '.join(KNOWN)})")
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    for name in names:
        t0 = time.time()
        model = build(name)
        x = torch.randn(args.batch, 3, 224, 224, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            y = model(x)
        onnx_path = os.path.join(args.out, f"{name}.onnx")
        tmp_path = onnx_path + ".tmp"
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dyn = {"input": {0: "N"}, "output": {0: "N"}} if args.dynamic_batch else None
            torch.onnx.export(model, x[:1], tmp_path, opset_version=args.opset, input_names=["input"],
                              output_names=["output"], do_constant_folding=True, dynamic_axes=dyn)
        os.replace(tmp_path, onnx_path)
        np.save(os.path.join(args.out, f"{name}.input.npy"), x.numpy().astype(np.float32))
        np.save(os.path.join(args.out, f"{name}.output.npy"), y.numpy().astype(np.float32))
        params = sum(p.numel() for p in model.parameters())
        print(f"{name:20s} {params / 1e6:7.2f} M params  {os.path.getsize(onnx_path) / 1e6:8.1f} MB  "
              f"{time.time() - t0:6.1f} s  -> {shown(onnx_path)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
