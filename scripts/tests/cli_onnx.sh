#!/bin/sh
# fullconv convert / run / inspect on the small ONNX models of testdata/onnx/ (made by
# scripts/make_onnx_cli_testdata.py), against PyTorch's outputs: conversion, determinism,
# running a .fcn and an .onnx directly, a dynamic batch, --top, --repeat, --output-dir,
# inspect (table and JSON), and the refusals (existing output, wrong input).
BUILD=${BUILD:-build}
FC="$BUILD/fullconv"
CMP="$BUILD/tests/tool_npycmp"
D=testdata/onnx
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check() { # $1 = name, rest = command that must succeed
    name=$1; shift
    if "$@" >"$tmp/log" 2>&1; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL $name: $*"
        sed 's/^/    /' "$tmp/log" | head -n 8
    fi
}
status_is() { # $1 = expected status, rest = command
    want=$1; shift
    "$@" >/dev/null 2>&1
    [ $? -eq "$want" ]
}
contains() { # $1 = file, $2 = fixed string
    grep -qF -- "$2" "$1"
}

check convert_cnn "$FC" convert "$D/cli_cnn.onnx" -o "$tmp/cnn.fcn" -q
check convert_cnn_again "$FC" convert "$D/cli_cnn.onnx" -o "$tmp/cnn2.fcn" -q
check deterministic cmp "$tmp/cnn.fcn" "$tmp/cnn2.fcn"
check refuse_existing status_is 2 "$FC" convert "$D/cli_cnn.onnx" -o "$tmp/cnn.fcn" -q
check force_overwrite "$FC" convert "$D/cli_cnn.onnx" -o "$tmp/cnn.fcn" -q --force
check run_fcn "$FC" run "$tmp/cnn.fcn" --input "$D/cli_cnn_x2.npy" -o "$tmp/y2.npy"
check match_torch "$CMP" "$tmp/y2.npy" "$D/cli_cnn_y2.npy" --rel-max 1e-4
check run_dynamic_batch "$FC" run "$tmp/cnn.fcn" --input "$D/cli_cnn_x3.npy" --output "$tmp/y3.npy" --threads 2
check match_torch_batch3 "$CMP" "$tmp/y3.npy" "$D/cli_cnn_y3.npy" --rel-max 1e-4
check run_onnx_directly "$FC" run "$D/cli_cnn.onnx" --input "$D/cli_cnn_x2.npy" -o "$tmp/y2o.npy"
check match_torch_onnx "$CMP" "$tmp/y2o.npy" "$D/cli_cnn_y2.npy" --rel-max 1e-4
"$FC" run "$tmp/cnn.fcn" --input "$D/cli_cnn_x3.npy" --top 2 >"$tmp/top.txt" 2>&1
check top_rows contains "$tmp/top.txt" "row 2:"
"$FC" run "$tmp/cnn.fcn" --input "$D/cli_cnn_x2.npy" --repeat 3 >/dev/null 2>"$tmp/lat.txt"
check repeat_latency contains "$tmp/lat.txt" "latency_ms min="
check output_dir "$FC" run "$tmp/cnn.fcn" --input "$D/cli_cnn_x2.npy" --output-dir "$tmp/outs"
check output_dir_file "$CMP" "$tmp/outs/probs.npy" "$D/cli_cnn_y2.npy" --rel-max 1e-4
check refuse_wrong_input status_is 2 "$FC" run "$tmp/cnn.fcn" --input "$D/cli_gap_x.npy" -o "$tmp/bad.npy"
check no_partial_output test ! -e "$tmp/bad.npy"

check convert_shuffle "$FC" convert "$D/cli_shuffle.onnx" -o "$tmp/shuffle.fcn" -q
check run_shuffle "$FC" run "$tmp/shuffle.fcn" --input "$D/cli_shuffle_x2.npy" -o "$tmp/s2.npy"
check match_torch_shuffle "$CMP" "$tmp/s2.npy" "$D/cli_shuffle_y2.npy" --rel-max 1e-4
check run_shuffle_batch3 "$FC" run "$tmp/shuffle.fcn" --input "$D/cli_shuffle_x3.npy" -o "$tmp/s3.npy"
check match_torch_shuffle3 "$CMP" "$tmp/s3.npy" "$D/cli_shuffle_y3.npy" --rel-max 1e-4

for op in 7 9 11 13 17; do
    check "run_opset$op" "$FC" run "$D/cli_ops_op$op.onnx" --input "$D/cli_ops_x.npy" -o "$tmp/ops$op.npy"
    check "match_torch_opset$op" "$CMP" "$tmp/ops$op.npy" "$D/cli_ops_y.npy" --rel-max 1e-4
done

check convert_gap "$FC" convert "$D/cli_gap.onnx" -o "$tmp/gap.fcn" -q
check run_gap "$FC" run "$tmp/gap.fcn" --input "$D/cli_gap_x.npy" -o "$tmp/g.npy"
check match_torch_gap "$CMP" "$tmp/g.npy" "$D/cli_gap_y.npy" --rel-max 1e-4
"$FC" inspect "$tmp/gap.fcn" >"$tmp/inspect.txt" 2>&1
check inspect_table contains "$tmp/inspect.txt" "/conv1/Conv"
check inspect_source contains "$tmp/inspect.txt" "source: cli_gap.onnx (onnx)"
check inspect_totals contains "$tmp/inspect.txt" "7 nodes, 844 params"
"$FC" inspect "$D/cli_gap.onnx" --json >"$tmp/inspect.json" 2>&1
check inspect_json contains "$tmp/inspect.json" '"totals":'
check inspect_json_macs contains "$tmp/inspect.json" '"macs":	73992'
# convert --prepack (the PREPACKED section): same outputs, bit for bit, with the weights used in
# place; inspect reports the section; other kernels (the reference path) ignore it
if "$FC" convert "$D/cli_cnn.onnx" -o "$tmp/cnnp.fcn" -q --prepack 2>"$tmp/pp.err"; then
    check prepack_bigger test "$(wc -c <"$tmp/cnnp.fcn")" -gt "$(wc -c <"$tmp/cnn.fcn")"
    check run_prepacked "$FC" run "$tmp/cnnp.fcn" --input "$D/cli_cnn_x2.npy" -o "$tmp/y2p.npy"
    check prepacked_same_bits cmp "$tmp/y2p.npy" "$tmp/y2.npy"
    "$FC" inspect "$tmp/cnnp.fcn" >"$tmp/inspect_p.txt" 2>&1
    check inspect_prepacked contains "$tmp/inspect_p.txt" "prepacked: "
    check inspect_prepacked_used contains "$tmp/inspect_p.txt" "bytes used in place"
    FULLCONV_REFERENCE=1 "$FC" run "$tmp/cnnp.fcn" --input "$D/cli_cnn_x2.npy" -o "$tmp/y2pr.npy" >/dev/null 2>&1
    check prepacked_reference_path "$CMP" "$tmp/y2pr.npy" "$D/cli_cnn_y2.npy" --rel-max 1e-4
    check prepack_twice_deterministic "$FC" convert "$D/cli_cnn.onnx" -o "$tmp/cnnp2.fcn" -q --prepack
    check prepack_deterministic cmp "$tmp/cnnp.fcn" "$tmp/cnnp2.fcn"
else   # a CPU without AVX2: the refusal must say why, and nothing is written
    check prepack_refusal_names_kernels contains "$tmp/pp.err" "--prepack needs the AVX2 or AVX-512 kernels"
    check prepack_no_output test ! -e "$tmp/cnnp.fcn"
fi
FULLCONV_REFERENCE=1 "$FC" convert "$D/cli_cnn.onnx" -o "$tmp/cnnr.fcn" -q --prepack 2>"$tmp/ppr.err"
check prepack_reference_refused contains "$tmp/ppr.err" "--prepack needs the AVX2 or AVX-512 kernels"
check prepack_reference_no_output test ! -e "$tmp/cnnr.fcn"
check help "$FC" convert --help
check usage_status status_is 2 "$FC"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
