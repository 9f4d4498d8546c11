#!/bin/sh
# Installs the Debian packages fullconv needs to build, test and run its demo. Idempotent:
# prints what is missing, installs only that, and does nothing when all are present.
set -e
PKGS="build-essential pkg-config libzip-dev libcjson-dev libprotobuf-c-dev protobuf-c-compiler
zlib1g-dev libbenchmark-dev libcmocka-dev libonnx-testdata dataset-fashion-mnist
python3-numpy python3-onnx python3-torch python3-torchvision clang libclang-rt-14-dev chromium"
missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
if [ -z "$missing" ]; then
    echo "install-deps: all packages present"
    exit 0
fi
echo "install-deps: installing:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
echo "install-deps: done"
