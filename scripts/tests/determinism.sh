#!/bin/sh
# Determinism (issue 7, part 6): the same input and options give a byte-identical .fcn on
# repeated runs and whatever the thread count (FULLCONV_THREADS=1 and 2: verification,
# calibration and the GAP-head fit run multi-threaded). ONNX, PyTorch and TF.js sources, with
# the rewrites (--fc-to-conv, --gap-head exact|fit) and quantization (--weights fp16|int8).
BUILD=${BUILD:-build}
FC="$BUILD/fullconv"
pass=0
fail=0
if [ ! -x "$FC" ]; then
    echo "determinism: $FC not built"
    echo "0 passed, 1 failed"
    exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# model|options (options split on spaces)
cases='testdata/lenet_fc.onnx|
testdata/lenet_fc.onnx|--fc-to-conv
testdata/lenet_fc.onnx|--weights int8
testdata/lenet_fc.onnx|--gap-head fit --calib testdata/fashion_mnist_sample.npy
testdata/onnx/cli_gap.onnx|--gap-head exact
testdata/onnx/cli_cnn.onnx|--fc-to-conv --weights fp16
testdata/torch/resnet18_sd.pt|--gap-head exact
testdata/torch/resnet18_sd.pt|--fc-to-conv --weights int8
testdata/torch/seq_whole.pt|--fc-to-conv
testdata/torch/seq_fp16.pt|
testdata/tfjs/seq_cnn/model.json|--fc-to-conv
testdata/tfjs/functional/model.json|--weights int8'

n=0
printf '%s\n' "$cases" | while IFS='|' read -r model opts; do
    [ -n "$model" ] || continue
    n=$((n + 1))
    why=""
    for run in a b c; do
        case $run in a) t=1 ;; *) t=2 ;; esac
        # shellcheck disable=SC2086 # options are split on purpose
        FULLCONV_THREADS=$t "$FC" convert "$model" -o "$work/$n$run.fcn" -q $opts >/dev/null 2>"$work/err"
        rc=$?
        if [ "$rc" -ne 0 ]; then why="run $run (threads $t) exit $rc: $(head -n 1 "$work/err")"; break; fi
    done
    if [ -z "$why" ]; then
        if ! cmp -s "$work/${n}a.fcn" "$work/${n}b.fcn"; then why="threads 1 vs 2 differ at $(cmp "$work/${n}a.fcn" "$work/${n}b.fcn" | sed 's/.*differ: //')"
        elif ! cmp -s "$work/${n}b.fcn" "$work/${n}c.fcn"; then why="two runs with threads 2 differ"
        fi
    fi
    if [ -z "$why" ]; then
        echo "pass" >>"$work/results"
    else
        echo "fail" >>"$work/results"
        echo "FAIL $model $opts: $why"
    fi
done
pass=$(grep -c '^pass' "$work/results" 2>/dev/null)
fail=$(grep -c '^fail' "$work/results" 2>/dev/null)
echo "${pass:-0} passed, ${fail:-0} failed"
[ "${fail:-0}" -eq 0 ]
