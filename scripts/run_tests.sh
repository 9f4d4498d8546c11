#!/bin/sh
# Runs every test and prints one closing line "N passed, N failed".
#  - $BUILD/tests/test_*   cmocka unit tests (counts from cmocka's "[  PASSED  ]"/"[  FAILED  ]" lines)
#  - scripts/tests/*.sh    data-driven runners (conformance, goldens, bad inputs, ...); each ends
#                          with a line "N passed, N failed[, N skipped]"
# A test binary or runner that crashes or prints no count is counted as one failure.
BUILD=${BUILD:-build}
export BUILD
total_pass=0
total_fail=0
total_skip=0
log_dir="$BUILD/test-logs"
mkdir -p "$log_dir"

count() { # $1 = log file; sets p f s
    p=0; f=0; s=0
    line=$(grep -E '^(\[  PASSED  \]|\[  FAILED  \]) [0-9]+ test' "$1" | head -n 2)
    if [ -n "$line" ]; then
        p=$(grep -E '^\[  PASSED  \] [0-9]+ test' "$1" | tail -n 1 | sed -E 's/^\[  PASSED  \] ([0-9]+).*/\1/')
        f=$(grep -E '^\[  FAILED  \] [0-9]+ test' "$1" | tail -n 1 | sed -E 's/^\[  FAILED  \] ([0-9]+).*/\1/')
        p=${p:-0}; f=${f:-0}
        return 0
    fi
    line=$(grep -E '^([A-Za-z-]+: )?[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
    if [ -n "$line" ]; then
        p=$(echo "$line" | sed -E 's/^([A-Za-z-]+: )?([0-9]+) passed.*/\2/')
        f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
        s=$(echo "$line" | grep -oE '[0-9]+ skipped' | grep -oE '[0-9]+')
        s=${s:-0}
        return 0
    fi
    return 1
}

run_one() { # $1 = name, rest = command
    name=$1; shift
    log="$log_dir/$name.log"
    "$@" >"$log" 2>&1
    rc=$?
    if count "$log"; then
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    else
        p=0; f=1; s=0
        echo "  $name: exited $rc without a test count (see $log)"
    fi
    printf '%-28s %5s passed, %3s failed, %3s skipped\n' "$name" "$p" "$f" "$s"
    if [ "$f" -ne 0 ]; then
        grep -E 'FAIL|fail|Error|error' "$log" | head -n 20 | sed 's/^/    /'
    fi
    total_pass=$((total_pass + p)); total_fail=$((total_fail + f)); total_skip=$((total_skip + s))
}

for t in "$BUILD"/tests/test_*; do
    case "$t" in *.o|*.d) continue;; esac
    [ -x "$t" ] || continue
    run_one "$(basename "$t")" "$t"
done
for r in scripts/tests/*.sh; do
    [ -f "$r" ] || continue
    run_one "$(basename "$r" .sh)" sh "$r"
done
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ]
