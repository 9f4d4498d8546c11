#!/bin/sh
# Full-size torchvision models (resnet18 with fc = nn.Linear(512, 2), squeezenet1_1, mobilenet_v2:
# state_dict and whole-model pickle, plus a traced TorchScript resnet18) converted and compared
# with PyTorch (rel err <= 1e-4). Not part of `make test`: the files are 5-45 MB each and are
# generated on demand into $BUILD/models/torch by scripts/make_torch_testdata.py --big-only
# (Debian python3-torch).   BUILD=dir sh scripts/check_torch_big.sh
BUILD=${BUILD:-build}
DIR=$BUILD/models/torch
if [ ! -f "$DIR/cases.txt" ]; then
    /usr/bin/python3 scripts/make_torch_testdata.py --big-only --big-dir "$DIR" || exit 2
fi
BUILD=$BUILD DIR=$DIR CASES=$DIR/cases.txt sh scripts/tests/torch_goldens.sh
