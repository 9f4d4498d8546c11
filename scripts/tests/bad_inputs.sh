#!/bin/sh
# Malformed inputs (testdata/bad/README.md): every testdata/bad/<case>.expect names a case file
# testdata/bad/<case>.<ext> (or a directory testdata/bad/<case>). The first line of the .expect
# must appear in stderr; optional lines "cmd: <fullconv args>" ({} = the case file, {out} = an
# output path in a fresh temp dir; default "convert {} -o {out}") and "status: N" (default 2).
# Checked: the exit status, no signal, the message, stderr is one line, {out} not created, no
# stray files in the temp dir, the case file unchanged.
BUILD=${BUILD:-build}
FC="$BUILD/fullconv"
dir=testdata/bad
pass=0
fail=0
if [ ! -x "$FC" ]; then
    echo "bad_inputs: $FC not built"
    echo "0 passed, 1 failed"
    exit 1
fi
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
for expect in "$dir"/*.expect; do
    [ -f "$expect" ] || continue
    case_base=${expect%.expect}
    name=$(basename "$case_base")
    file=""
    for f in "$case_base".*; do
        [ "$f" = "$expect" ] && continue
        [ -e "$f" ] || [ -L "$f" ] || continue
        file=$f
        break
    done
    [ -z "$file" ] && [ -d "$case_base" ] && file=$case_base
    if [ -z "$file" ]; then
        echo "FAIL $name: no case file next to $expect"
        fail=$((fail + 1))
        continue
    fi
    want_msg=$(head -n 1 "$expect")
    cmdline=$(grep -m1 '^cmd:' "$expect" | sed 's/^cmd:[ ]*//')
    [ -n "$cmdline" ] || cmdline='convert {} -o {out}'
    want_status=$(grep -m1 '^status:' "$expect" | sed 's/^status:[ ]*//')
    [ -n "$want_status" ] || want_status=2
    tmp=$(mktemp -d)
    out="$tmp/out.fcn"
    args=$(printf '%s\n' "$cmdline" | sed -e "s|{out}|$out|g" -e "s|{}|$file|g")
    sum_before=$(cksum < "$file" 2>/dev/null)
    # shellcheck disable=SC2086 # args are split on purpose (paths without spaces)
    "$FC" $args >"$logs/stdout" 2>"$logs/stderr"
    rc=$?
    sum_after=$(cksum < "$file" 2>/dev/null)
    why=""
    lines=$(wc -l < "$logs/stderr")
    if [ "$rc" -ge 128 ]; then why="killed by signal $((rc - 128))"
    elif [ "$rc" -ne "$want_status" ]; then why="exit status $rc, expected $want_status"
    elif ! grep -qF -- "$want_msg" "$logs/stderr"; then why="stderr lacks '$want_msg'"
    elif [ "$lines" -ne 1 ]; then why="stderr has $lines lines, expected one"
    elif [ -e "$out" ]; then why="output file $out was created"
    elif [ -n "$(ls -A "$tmp")" ]; then why="stray files left: $(ls -A "$tmp" | tr '\n' ' ')"
    elif [ "$sum_before" != "$sum_after" ]; then why="the case file was modified"
    fi
    if [ -z "$why" ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL $name: $why"
        echo "     fullconv $args"
        sed 's/^/     stderr: /' "$logs/stderr" | head -n 3
    fi
    rm -rf "$tmp"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
