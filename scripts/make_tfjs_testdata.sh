#!/bin/sh
# Regenerates testdata/tfjs/ (Keras models saved by TF.js + their outputs).
#     sh scripts/make_tfjs_testdata.sh [SCRATCH_DIR]
# Installs @tensorflow/tfjs@4 (pure JS, CPU backend; no install scripts run) into a scratch
# folder outside the tracked tree (default build/tfjs-scratch; never the repo root), then runs
# scripts/make_tfjs_testdata.js. Tests only read the committed results: they never need npm.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
scratch=${1:-"$root/build/tfjs-scratch"}
mkdir -p "$scratch"
if [ ! -d "$scratch/node_modules/@tensorflow/tfjs" ]; then
    [ -f "$scratch/package.json" ] || echo '{"name":"fullconv-tfjs-scratch","private":true}' > "$scratch/package.json"
    (cd "$scratch" && npm install --ignore-scripts --no-audit --no-fund @tensorflow/tfjs@4)
fi
cd "$root"
NODE_PATH="$scratch/node_modules" node scripts/make_tfjs_testdata.js testdata/tfjs
