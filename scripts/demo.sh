#!/bin/sh
# make demo: the bundled Fashion-MNIST FC-head LeNet -> every variant (FC->conv, GAP exact/fold/fit,
# fp16, int8) -> accuracy on the 10k test set, size, speed -> build/demo/report.{html,json,md}.
# The separately trained GAP LeNet is an extra row. Runs from a fresh clone: installs the Debian
# packages it needs (scripts/install-deps.sh), builds, then benches. About a minute on 2 cores.
set -e
BUILD=${BUILD:-build}
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh
make -s BUILD="$BUILD" -j"$(nproc 2>/dev/null || echo 2)" all
OUT="$BUILD/demo"
mkdir -p "$OUT/variants"
MODEL=testdata/lenet_fc.onnx
[ -f "$MODEL" ] || { echo "demo: $MODEL is missing (make testdata regenerates it)" >&2; exit 2; }
EXTRA=""
[ -f testdata/lenet_gap.onnx ] && EXTRA=testdata/lenet_gap.onnx
echo "demo: $MODEL${EXTRA:+ (+ $EXTRA)} on fashion-mnist:test"
"$BUILD/fullconv" bench "$MODEL" $EXTRA \
    --variants original,fc2conv,gap-exact,gap-fold,gap-fit,fp16,int8 \
    --data fashion-mnist:test --calib 'fashion-mnist:train[:10000]' \
    --threads 1,2 --batch 64 --profile --save-dir "$OUT/variants" \
    --json "$OUT/report.json" --md "$OUT/report.md" --html "$OUT/report.html" \
    -- --benchmark_repetitions=5 --benchmark_min_time=0.05
echo "demo: open $OUT/report.html in a browser (self-contained, works offline)"
