#!/bin/sh
# libFuzzer campaign over every parser (docs/HARDENING.md). `make fuzz FUZZ_SECONDS=N`.
#
# Builds the library with clang + ASan/UBSan + fuzzer coverage into build-fuzz/ (through the
# Makefile, so the objects are exactly the tree's; the AVX-512 kernels with coverage only — clang
# took minutes to instrument each with the sanitizers, see SAN_AVX512 in the Makefile), links
# fuzz/fuzz_<target>.c against it, then
# runs each target for FUZZ_SECONDS (default 60), FUZZ_JOBS at a time (default 2), with its
# committed seeds testdata/fuzz/<target>/ copied into a scratch corpus build-fuzz/corpus/<target>/
# (new inputs stay there, out of the tree). Crashes, leaks, timeouts (> 1 s) and OOMs
# (> 2048 MB) land in build-fuzz/crashes/<target>/. Prints executions and coverage (cov/ft of
# libFuzzer's final line) per target; exits 1 if any target found something.
#
# Environment: FUZZ_SECONDS, FUZZ_JOBS, FUZZ_TARGETS (space separated subset), FUZZ_OUT
# (default build-fuzz), CLANG (default clang), FUZZ_NO_BUILD=1 (reuse the binaries).
set -u
SECONDS_PER=${FUZZ_SECONDS:-60}
JOBS=${FUZZ_JOBS:-2}
OUT=${FUZZ_OUT:-build-fuzz}
CLANG=${CLANG:-clang}
CLANGXX=${CLANGXX:-clang++}
ALL="fcn onnx zip pickle torch npy npz safetensors tfjs idx run_input"
TARGETS=${FUZZ_TARGETS:-$ALL}
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"

max_len() {
    case $1 in
        fcn|torch) echo 131072 ;;
        onnx|zip|npz|run_input) echo 65536 ;;
        tfjs|idx) echo 32768 ;;
        *) echo 16384 ;;
    esac
}

if ! command -v "$CLANG" >/dev/null 2>&1; then
    echo "fuzz: $CLANG not found (apt-get install clang)" >&2
    exit 2
fi

mkdir -p "$OUT"
if [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
    # -fsanitize=fuzzer-no-link: coverage instrumentation in the library, libFuzzer's main only
    # in the harnesses.
    make --no-print-directory -j"$JOBS" BUILD="$OUT" CC="$CLANG" CXX="$CLANGXX" OPT=-O1 \
        SAN="$SAN -fsanitize=fuzzer-no-link" SAN_AVX512="-fsanitize=fuzzer-no-link" \
        "$OUT/libfullconv.a" >"$OUT/build.log" 2>&1 || {
        echo "fuzz: library build failed, see $OUT/build.log" >&2
        tail -n 20 "$OUT/build.log" >&2
        exit 2
    }
    PKG_CFLAGS=$(pkg-config --cflags libzip libcjson libprotobuf-c zlib 2>/dev/null)
    PKG_LIBS=$(pkg-config --libs libzip libcjson libprotobuf-c zlib 2>/dev/null)
    for t in $TARGETS; do
        # shellcheck disable=SC2086 # flag lists are split on purpose
        "$CLANG" -std=c11 -O1 -g -D_GNU_SOURCE -I. -I"$OUT/gen" $PKG_CFLAGS $SAN -fsanitize=fuzzer \
            -c "fuzz/fuzz_$t.c" -o "$OUT/fuzz_$t.o" &&
        "$CLANGXX" $SAN -fsanitize=fuzzer -o "$OUT/fuzz_$t" "$OUT/fuzz_$t.o" "$OUT/libfullconv.a" \
            $PKG_LIBS -lpthread -lm || { echo "fuzz: cannot build fuzz_$t" >&2; exit 2; }
    done
fi

export FULLCONV_THREADS=1
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

run_one() {
    t=$1
    mkdir -p "$OUT/corpus/$t" "$OUT/crashes/$t"
    [ -d "testdata/fuzz/$t" ] && cp -n testdata/fuzz/"$t"/* "$OUT/corpus/$t/" 2>/dev/null
    "$OUT/fuzz_$t" -max_len="$(max_len "$t")" -timeout=1 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
        -max_total_time="$SECONDS_PER" -print_final_stats=1 \
        -artifact_prefix="$OUT/crashes/$t/" "$OUT/corpus/$t" >"$OUT/fuzz_$t.log" 2>&1
    echo $? >"$OUT/fuzz_$t.rc"
}

# Run JOBS targets at a time.
# shellcheck disable=SC2086 # the target list is split on purpose
set -- $TARGETS
while [ $# -gt 0 ]; do
    pids=""
    n=0
    while [ $# -gt 0 ] && [ "$n" -lt "$JOBS" ]; do
        run_one "$1" &
        pids="$pids $!"
        n=$((n + 1))
        shift
    done
    for p in $pids; do wait "$p"; done
done

bad=0
printf '%-12s %12s %8s %8s %8s  %s\n' target execs cov ft corpus result
for t in $TARGETS; do
    log="$OUT/fuzz_$t.log"
    execs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
    last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1)
    cov=$(printf '%s\n' "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
    ft=$(printf '%s\n' "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
    corpus=$(ls "$OUT/corpus/$t" | wc -l)
    rc=$(cat "$OUT/fuzz_$t.rc" 2>/dev/null || echo '?')
    found=$(ls "$OUT/crashes/$t" 2>/dev/null | wc -l)
    result=ok
    if [ "$rc" != 0 ] || [ "$found" -gt 0 ]; then
        result="FOUND $found (rc $rc): $(ls "$OUT/crashes/$t" | head -n 3 | tr '\n' ' ') see $log"
        bad=1
    fi
    printf '%-12s %12s %8s %8s %8s  %s\n' "$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$corpus" "$result"
done
exit $bad
