#!/bin/sh
# measure_load.sh — how long loading a .fcn takes: fcn_model_open (mmap + full validation,
# CRCs included) and fcn_session_create (weight expansion/packing, Winograd transforms, plan),
# min and median over N repetitions, wall clock and CPU time, via $BUILD/tests/tool_loadtime.
# Optionally also ONNX Runtime's session creation for the same model's .onnx (onnxruntime-node
# from build/peers or /tmp/ort-scratch; skipped when absent).
#
#   scripts/measure_load.sh MODEL.fcn [MODEL.onnx] [REPEATS]
#   BUILD=/tmp/b-x scripts/measure_load.sh ...       (default BUILD=build; run `make` first)
#   THREADS=2 scripts/measure_load.sh ...            (session threads; they also pack the weights)
#
# Each repetition is a fresh process (tool_loadtime forks), so every one pays for fresh memory
# as a program starting up does.
# On a loaded machine trust the CPU-time lines and the minima; `perf stat -e task-clock` on the
# same command separates CPU time from waiting for a core as well.
set -eu
BUILD=${BUILD:-build}
if [ $# -lt 1 ]; then
    echo "usage: $0 MODEL.fcn [MODEL.onnx] [REPEATS]" >&2
    exit 2
fi
fcn=$1
onnx=${2:-}
reps=${3:-20}
threads=${THREADS:-1}
tool="$BUILD/tests/tool_loadtime"
if [ ! -x "$tool" ]; then
    echo "measure_load: $tool not built (make BUILD=$BUILD)" >&2
    exit 2
fi
echo "== fullconv: $fcn ($(wc -c < "$fcn") bytes), $(date -u +%Y-%m-%dT%H:%MZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
# a first untimed open puts the file in the page cache, as for ORT below
"$tool" "$fcn" 1 >/dev/null
"$tool" "$fcn" "$reps" "$threads"

[ -n "$onnx" ] || exit 0
ort_dir=""
for d in build/peers/node_modules /tmp/ort-scratch/node_modules; do
    if [ -d "$d/onnxruntime-node" ]; then ort_dir=$d; break; fi
done
if [ -z "$ort_dir" ] || ! command -v node >/dev/null 2>&1; then
    echo "== onnxruntime-node not found (build/peers or /tmp/ort-scratch): ORT skipped"
    exit 0
fi
echo "== onnxruntime-node ($ort_dir): InferenceSession.create($onnx), $reps repetitions"
NODE_PATH=$ort_dir node - "$onnx" "$reps" <<'JS'
const ort = require('onnxruntime-node');
const fs = require('fs');
const [path, repsArg] = process.argv.slice(2);
const reps = parseInt(repsArg, 10);
(async () => {
  const opts = { executionProviders: ['cpu'], intraOpNumThreads: 1, graphOptimizationLevel: 'all' };
  const times = [], cpus = [];
  await ort.InferenceSession.create(path, opts);   // warm the page cache and the library
  for (let r = 0; r < reps; r++) {
    const c0 = process.cpuUsage(), t0 = process.hrtime.bigint();
    const s = await ort.InferenceSession.create(path, opts);
    const t1 = process.hrtime.bigint(), c1 = process.cpuUsage(c0);
    times.push(Number(t1 - t0) / 1e6);
    cpus.push((c1.user + c1.system) / 1e3);
    if (s.release) await s.release();
  }
  const st = v => { v.sort((a, b) => a - b); const n = v.length;
    return `min=${v[0].toFixed(3)} median=${(n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2).toFixed(3)} max=${v[n - 1].toFixed(3)} ms`; };
  console.log(`ort session     ${st(times)}`);
  console.log(`cpu ort session ${st(cpus)}`);
})().catch(e => { console.error('ORT failed: ' + e.message); process.exit(1); });
JS
