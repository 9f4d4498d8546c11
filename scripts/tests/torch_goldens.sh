#!/bin/sh
# PyTorch goldens: every case of testdata/torch/cases.txt (written by scripts/make_torch_testdata.py)
# is converted from its .pt file (state_dict, whole model, TorchScript) with build/fullconv, run on
# the saved input, and compared with PyTorch's own output (rel err <= 1e-4).
#   CASES=file to run another list (scripts/check_torch_big.sh), DIR=folder of the models.
BUILD=${BUILD:-build}
DIR=${DIR:-testdata/torch}
CASES=${CASES:-$DIR/cases.txt}
FULLCONV="$BUILD/fullconv"
NPYCMP=${NPYCMP:-"$BUILD/tests/tool_npycmp"}
pass=0; fail=0; skip=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

if [ ! -f "$CASES" ]; then
    echo "no $CASES: run /usr/bin/python3 scripts/make_torch_testdata.py"
    echo "0 passed, 1 failed"
    exit 1
fi
while IFS='|' read -r name model options input expected; do
    case "$name" in ''|'#'*) continue;; esac
    if [ ! -x "$NPYCMP" ]; then
        echo "SKIP $name: $NPYCMP not built"
        skip=$((skip + 1)); continue
    fi
    out="$tmp/$name.fcn"
    # shellcheck disable=SC2086  # options is a list of words
    if ! "$FULLCONV" convert "$DIR/$model" -o "$out" $options >"$tmp/log" 2>&1; then
        echo "FAIL $name: convert $DIR/$model $options:"; tail -n 3 "$tmp/log" | sed 's/^/    /'
        fail=$((fail + 1)); continue
    fi
    if ! "$FULLCONV" run "$out" --input "$DIR/$input" --output "$tmp/$name.npy" >"$tmp/log" 2>&1; then
        echo "FAIL $name: run:"; tail -n 3 "$tmp/log" | sed 's/^/    /'
        fail=$((fail + 1)); continue
    fi
    if "$NPYCMP" "$tmp/$name.npy" "$DIR/$expected" --rel-max 1e-4 >"$tmp/log" 2>&1; then
        echo "ok   $name: $(tail -n 1 "$tmp/log")"
        pass=$((pass + 1))
    else
        echo "FAIL $name: output differs from PyTorch: $(tail -n 1 "$tmp/log")"
        fail=$((fail + 1))
    fi
done < "$CASES"
# A state_dict of an unknown architecture: inspect lists its tensors (exit 0), convert asks for --arch.
# (testdata/torch/custom_sd.pt comes from write_custom_sd() in scripts/make_torch_testdata.py)
if "$FULLCONV" inspect "$DIR/custom_sd.pt" >"$tmp/log" 2>&1 &&
   grep -q "no graph" "$tmp/log" && grep -Eq "^head.table +f32 +2x3 +24$" "$tmp/log" &&
   grep -q "total: 22 params" "$tmp/log"; then
    echo "ok   inspect custom_sd.pt: tensors listed"
    pass=$((pass + 1))
else
    echo "FAIL inspect custom_sd.pt:"; sed 's/^/    /' "$tmp/log" | head -n 8
    fail=$((fail + 1))
fi
if ! "$FULLCONV" convert "$DIR/custom_sd.pt" -o "$tmp/custom.fcn" >"$tmp/log" 2>&1 && grep -q "pass --arch" "$tmp/log" &&
   [ ! -e "$tmp/custom.fcn" ]; then
    echo "ok   convert custom_sd.pt: refused, asks for --arch"
    pass=$((pass + 1))
else
    echo "FAIL convert custom_sd.pt:"; sed 's/^/    /' "$tmp/log" | head -n 4
    fail=$((fail + 1))
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
