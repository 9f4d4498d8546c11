#!/bin/sh
# fullconv vs ONNX Runtime (npm onnxruntime-node, CPU) vs PyTorch (Debian python3-torch),
# interleaved in one run: torchvision ResNet-18, MobileNetV2, SqueezeNet 1.1, AlexNet, VGG-11
# (seeded random weights, exported by scripts/make_big_models.py), batch 1, 224x224, 1 and 2
# threads. Prints the latency table with ratios and writes JSON (default build/peers/peers.json)
# that `fullconv bench --peers FILE` folds into its reports.
#
# ORT is installed with `npm install --ignore-scripts` into build/peers/: its CPU library ships
# inside the package (bin/napi-v6/linux/x64/libonnxruntime.so.1); the skipped postinstall script
# only downloads the CUDA 12 execution provider from NuGet, which a CPU run never loads.
#
# Options: --out FILE  --models a,b  --threads 1,2  --rounds R  --seconds S  --no-ort
set -e
BUILD=${BUILD:-build}
cd "$(dirname "$0")/.."
OUT="$BUILD/peers/peers.json"
MODELS=resnet18,mobilenet_v2,squeezenet1_1,alexnet,vgg11
THREADS=1,2
ROUNDS=5
SECONDS_PER_ROUND=0.4
USE_ORT=1
ORT_VERSION=${ORT_VERSION:-1.30.0}
while [ $# -gt 0 ]; do
    case "$1" in
        --out) OUT=$2; shift 2 ;;
        --models) MODELS=$2; shift 2 ;;
        --threads) THREADS=$2; shift 2 ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        --seconds) SECONDS_PER_ROUND=$2; shift 2 ;;
        --no-ort) USE_ORT=0; shift ;;
        *) echo "bench_peers: unknown option $1" >&2; exit 2 ;;
    esac
done
PY=/usr/bin/python3
WORK="$BUILD/peers"
MODELS_DIR="$BUILD/models"
mkdir -p "$WORK" "$(dirname "$OUT")"
[ -x "$BUILD/fullconv" ] || { echo "bench_peers: build first ($BUILD/fullconv missing)" >&2; exit 2; }

# The models: exported once by the testdata script.
missing=""
for m in $(echo "$MODELS" | tr ',' ' '); do [ -f "$MODELS_DIR/$m.onnx" ] || missing="$missing $m"; done
if [ -n "$missing" ]; then
    if [ -f scripts/make_big_models.py ]; then
        echo "bench_peers: exporting$missing with scripts/make_big_models.py" >&2
        BUILD="$BUILD" $PY scripts/make_big_models.py --out "$MODELS_DIR" --models "$(echo $missing | tr ' ' ',')" >&2
    else
        echo "bench_peers: $MODELS_DIR lacks$missing and scripts/make_big_models.py is absent" >&2
        exit 2
    fi
fi

NODE_ARGS=""
if [ "$USE_ORT" = 1 ]; then
    if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
        echo "bench_peers: node/npm not found: ONNX Runtime column skipped" >&2
    else
        if [ ! -d "$WORK/node_modules/onnxruntime-node" ]; then
            [ -f "$WORK/package.json" ] || echo '{"name": "fullconv-peers", "private": true}' >"$WORK/package.json"
            echo "bench_peers: npm install onnxruntime-node@$ORT_VERSION --ignore-scripts into $WORK" >&2
            (cd "$WORK" && npm install --ignore-scripts --no-audit --no-fund "onnxruntime-node@$ORT_VERSION" >&2)
        fi
        NODE_ARGS="--node-modules $(cd "$WORK" && pwd)/node_modules"
    fi
fi
$PY scripts/peers/run_peers.py --fullconv "$BUILD/fullconv" --models-dir "$MODELS_DIR" --work "$WORK" \
    --models "$MODELS" --threads "$THREADS" --rounds "$ROUNDS" --seconds "$SECONDS_PER_ROUND" \
    --out "$OUT" $NODE_ARGS
echo "bench_peers: wrote $OUT" >&2
