#!/bin/sh
# make bench: the standard suite on this machine. The bundled LeNets with every variant on the
# full Fashion-MNIST test set (9 repetitions), then the peers (ONNX Runtime, PyTorch) on the
# torchvision models when they are available, folded into one report: build/bench/report.*.
set -e
BUILD=${BUILD:-build}
cd "$(dirname "$0")/.."
OUT="$BUILD/bench"
mkdir -p "$OUT"
PEERS_ARG=""
if [ "${FULLCONV_SKIP_PEERS:-0}" != 1 ]; then
    if sh scripts/bench_peers.sh --out "$OUT/peers.json"; then
        PEERS_ARG="--peers $OUT/peers.json"
    else
        echo "bench: peers skipped (scripts/bench_peers.sh failed; see above)" >&2
    fi
fi
EXTRA=""
[ -f testdata/lenet_gap.onnx ] && EXTRA=testdata/lenet_gap.onnx
"$BUILD/fullconv" bench testdata/lenet_fc.onnx $EXTRA \
    --variants original,fc2conv,gap-exact,gap-fold,gap-fit,fp16,int8 \
    --data fashion-mnist:test --threads 1,2 --batch 64 --profile $PEERS_ARG \
    --json "$OUT/report.json" --md "$OUT/report.md" --html "$OUT/report.html" \
    -- --benchmark_repetitions=9 --benchmark_min_time=0.1
echo "bench: compare later runs with: $BUILD/fullconv compare $OUT/report.json NEW.json"
