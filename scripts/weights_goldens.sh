#!/bin/sh
# weights_goldens.sh — end-to-end check of safetensors / .npz weights + --arch on real torchvision
# state_dicts (too large to commit, so not part of `make test`):
#     sh scripts/weights_goldens.sh [DIR] [ARCH ...]      (default DIR build/models, ARCH squeezenet1_1)
# Generates DIR/<arch>.{safetensors,npz} + torch's output with Debian's /usr/bin/python3 (random
# seeded weights, no download) when missing, then for each file: `fullconv convert` (arch guessed
# from the key names, and given with --arch), `fullconv run`, output vs torch (rel err <= 1e-4).
BUILD=${BUILD:-build}
dir=${1:-build/models}
[ $# -gt 0 ] && shift
archs=${*:-squeezenet1_1}
FULLCONV="$BUILD/fullconv"
NPYCMP="$BUILD/tests/tool_npycmp"
tmp=$(mktemp -d /tmp/fullconv-weights-goldens.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
pass=0; fail=0

for arch in $archs; do
    if [ ! -f "$dir/$arch.safetensors" ] || [ ! -f "$dir/$arch.npz" ]; then
        /usr/bin/python3 scripts/make_weights_testdata.py --models "$dir" "$arch" || exit 2
    fi
    for ext in safetensors npz; do
        for how in guessed given; do
            name="$arch.$ext ($how)"
            set -- convert "$dir/$arch.$ext" -o "$tmp/m.fcn" --force
            [ "$how" = given ] && set -- "$@" --arch "$arch"
            if ! msg=$("$FULLCONV" "$@" 2>&1 >/dev/null) ||
               ! msg=$("$FULLCONV" run "$tmp/m.fcn" --input "$dir/${arch}_input.npy" --output "$tmp/y.npy" --force 2>&1 >/dev/null) ||
               ! msg=$("$NPYCMP" "$tmp/y.npy" "$dir/${arch}_output.npy" --rel-max 1e-4 2>&1); then
                fail=$((fail + 1)); echo "FAIL $name: $msg"
            else
                pass=$((pass + 1)); echo "ok   $name"
            fi
        done
    done
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
