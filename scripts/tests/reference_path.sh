#!/bin/sh
# The golden models once more with the portable reference kernels forced (FULLCONV_REFERENCE=1),
# so both dispatch paths are tested on every machine, whatever its CPU.
FULLCONV_REFERENCE=1 exec sh "$(dirname "$0")/goldens.sh"
