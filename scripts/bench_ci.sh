#!/bin/sh
# make bench-ci: the regression gate. A short deterministic subset (the bundled FC-head LeNet,
# four variants, 2000 test images, one thread, batch 1 and 16, 9 repetitions) compared against
# the committed baseline bench/baseline-ci.json:
#   - times are normalized by the FMA peak measured in the same process (--normalize), so a
#     uniformly slower or busier machine does not look like a regression; the U test over the 9
#     repetitions plus a 25% threshold decide "significantly slower";
#   - top-1, top-5, agreement and .fcn size are compared exactly.
# `sh scripts/bench_ci.sh --update` rewrites the baseline (after an intended change; commit it).
set -e
BUILD=${BUILD:-build}
cd "$(dirname "$0")/.."
OUT="$BUILD/bench-ci"
BASELINE=bench/baseline-ci.json
THRESHOLD=${FULLCONV_CI_THRESHOLD:-25}
mkdir -p "$OUT"
start=$(date +%s)
"$BUILD/fullconv" bench testdata/lenet_fc.onnx --variants original,fc2conv,gap-fold,int8 \
    --data 'fashion-mnist:test[:2000]' --threads 1 --batch 16 \
    --json "$OUT/report.json" --md "$OUT/report.md" \
    -- --benchmark_repetitions=9 --benchmark_min_time=0.05 --benchmark_enable_random_interleaving=true
if [ "${1:-}" = "--update" ]; then
    cp "$OUT/report.json" "$BASELINE"
    echo "bench-ci: baseline updated: $BASELINE ($(($(date +%s) - start)) s)"
    exit 0
fi
set +e
"$BUILD/fullconv" compare "$BASELINE" "$OUT/report.json" --normalize --threshold "$THRESHOLD"
rc=$?
echo "bench-ci: $(($(date +%s) - start)) s, compare exit $rc"
exit $rc
