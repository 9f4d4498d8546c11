#!/bin/sh
# The ONNX node tests again, with the standard pass pipeline of `fullconv convert` (remove
# identities, fold BN, fuse activations; no verification) between import and the .fcn: the
# same reference outputs then check the passes. See onnx_conformance.sh.
BUILD=${BUILD:-build}
data=""
if command -v dpkg >/dev/null 2>&1; then
    data=$(dpkg -L libonnx-testdata 2>/dev/null | grep -m1 '/data/node$')
fi
[ -n "$data" ] || data=/usr/share/libonnx-testdata/data/node
if [ ! -d "$data" ]; then
    echo "onnx_conformance_passes: libonnx-testdata is not installed ($data missing): skipped"
    echo "0 passed, 0 failed, 0 skipped"
    exit 0
fi
exec "$BUILD/tests/tool_conformance" --passes "$data"
