#!/bin/sh
# ONNX backend node tests (Debian's libonnx-testdata, data/node) through import -> .fcn ->
# runtime, compared with the reference outputs (rtol 1e-4, atol 1e-5). The runner prints the
# skips grouped by reason, every failure with its first mismatch, and "N passed, N failed,
# N skipped"; it exits 1 on any failure. Without the package it says so and counts nothing.
# Extra arguments go to the tool (onnx_conformance_passes.sh passes --passes).
BUILD=${BUILD:-build}
name=${CONFORMANCE_NAME:-onnx_conformance}
data=""
if command -v dpkg >/dev/null 2>&1; then
    data=$(dpkg -L libonnx-testdata 2>/dev/null | grep -m1 '/data/node$')
fi
[ -n "$data" ] || data=/usr/share/libonnx-testdata/data/node
if [ ! -d "$data" ]; then
    echo "$name: libonnx-testdata is not installed ($data missing): skipped"
    echo "0 passed, 0 failed, 0 skipped"
    exit 0
fi
exec "$BUILD/tests/tool_conformance" "$@" "$data"
