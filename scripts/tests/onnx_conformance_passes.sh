#!/bin/sh
# The ONNX node tests again, with the standard pass pipeline of `fullconv convert` (remove
# identities, fold BN, fuse activations; no verification) between import and the .fcn: the
# same reference outputs then check the passes. See onnx_conformance.sh.
CONFORMANCE_NAME=onnx_conformance_passes exec sh "$(dirname "$0")/onnx_conformance.sh" --passes
