#!/bin/sh
# tfjs_goldens.sh — Keras models saved by TF.js (testdata/tfjs/<model>/, made by
# scripts/make_tfjs_testdata.js) through the CLI: `fullconv convert model.json` (plain, and with
# --fc-to-conv / --gap-head exact where the model has that head), `fullconv run` on the NCHW
# input, output compared with Keras' prediction (tool_npycmp, rel err <= 1e-4). Also the folder
# form (`fullconv run testdata/tfjs/<model>`) and a model whose shard is missing (exit 2, no
# output file). Ends with "N passed, N failed, N skipped".
BUILD=${BUILD:-build}
FULLCONV="$BUILD/fullconv"
NPYCMP="$BUILD/tests/tool_npycmp"
tmp=$(mktemp -d /tmp/fullconv-tfjs-goldens.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
pass=0; fail=0; skip=0

ok() { pass=$((pass + 1)); echo "ok   $1"; }
ko() { fail=$((fail + 1)); echo "FAIL $1: $2"; }

# compare NAME Y REF
compare() {
    if [ ! -x "$NPYCMP" ]; then
        skip=$((skip + 1)); echo "skip $1: $NPYCMP not built"; return
    fi
    if out=$("$NPYCMP" "$2" "$3" --rel-max 1e-4 2>&1); then ok "$1"; else ko "$1" "$out"; fi
}

# convert_run NAME MODEL_DIR [convert options...]
convert_run() {
    name=$1; dir=$2; shift 2
    fcn="$tmp/$name.fcn"
    if ! msg=$("$FULLCONV" convert "$dir/model.json" -o "$fcn" "$@" 2>&1 >/dev/null); then
        ko "$name" "convert failed: $msg"; return
    fi
    if ! msg=$("$FULLCONV" run "$fcn" --input "$dir/input.npy" --output "$tmp/$name.npy" 2>&1 >/dev/null); then
        ko "$name" "run failed: $msg"; return
    fi
    compare "$name" "$tmp/$name.npy" "$dir/output.npy"
}

if [ ! -x "$FULLCONV" ]; then
    echo "$FULLCONV not built"
    echo "0 passed, 1 failed"
    exit 1
fi

for model in seq_cnn functional quantized sharded shared prep; do
    convert_run "$model" "testdata/tfjs/$model"
done
convert_run seq_cnn-fc-to-conv testdata/tfjs/seq_cnn --fc-to-conv
convert_run quantized-fc-to-conv testdata/tfjs/quantized --fc-to-conv
convert_run functional-gap-head-exact testdata/tfjs/functional --gap-head exact

# the model folder itself is a model (converted in memory by `run`)
if msg=$("$FULLCONV" run testdata/tfjs/functional --input testdata/tfjs/functional/input.npy \
        --output "$tmp/folder.npy" 2>&1 >/dev/null); then
    compare folder-run "$tmp/folder.npy" testdata/tfjs/functional/output.npy
else
    ko folder-run "$msg"
fi

# a shard missing next to model.json: exit 2, a message naming it, no output file
mkdir -p "$tmp/missing"
cp testdata/tfjs/sharded/model.json testdata/tfjs/sharded/group1-shard1of2.bin "$tmp/missing/"
"$FULLCONV" convert "$tmp/missing/model.json" -o "$tmp/missing.fcn" >/dev/null 2>"$tmp/missing.err"
rc=$?
if [ "$rc" -eq 2 ] && grep -q "group1-shard2of2.bin" "$tmp/missing.err" && [ ! -e "$tmp/missing.fcn" ]; then
    ok missing-shard
else
    ko missing-shard "exit $rc, stderr: $(cat "$tmp/missing.err")"
fi

echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
