#!/bin/sh
# Data-driven checks of `fullconv bench` and `fullconv compare` on the bundled LeNet:
#  - top-1 over the whole Fashion-MNIST test set equals PyTorch's count in testdata/lenet_accuracy.json
#  - two runs of the same build compare as "no regression" (exit 0); an injected 2x slowdown, an
#    accuracy drop and a size growth compare as regressions (exit 1); bad input exits 2
#  - the JSON embeds Google Benchmark's own output (benchmarks with repetitions, min statistic)
#  - the HTML report loads in headless Chromium with no console errors and a non-blank screenshot
#    (skipped, and counted as skipped, when /usr/bin/chromium is absent)
# Ends with "N passed, N failed, N skipped".
BUILD=${BUILD:-build}
FC="$BUILD/fullconv"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
pass=0; fail=0; skip=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
ko() { fail=$((fail + 1)); echo "FAIL $1"; }
sk() { skip=$((skip + 1)); echo "skip $1"; }
expect_rc() { # name expected_rc command...
    name=$1; want=$2; shift 2
    "$@" >"$T/out.txt" 2>&1
    got=$?
    if [ "$got" -eq "$want" ]; then ok "$name"; else ko "$name (exit $got, expected $want)"; sed 's/^/    /' "$T/out.txt" | tail -n 15; fi
}
finish() {
    rm -rf "$T"
    echo "$pass passed, $fail failed, $skip skipped"
    [ "$fail" -eq 0 ]
    exit $?
}
T=$(mktemp -d /tmp/fullconv-bench-test.XXXXXX)
MODEL=testdata/lenet_fc.onnx
SAMPLE=testdata/fashion_mnist_sample.npy:testdata/fashion_mnist_sample_labels.npy
if [ ! -x "$FC" ] || [ ! -f "$MODEL" ]; then
    sk "bench runner: needs $FC and $MODEL"
    finish
fi

# 1. accuracy over the full test set against PyTorch's count (+-2 images for float-order ties);
#    a sanitizer build (10x slower) checks the same through the 64-image sample only (section 2).
if grep -q __asan_init "$FC" 2>/dev/null; then
    sk "full test set under AddressSanitizer (too slow; the sample runs below)"
elif [ -f testdata/lenet_accuracy.json ] && [ -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ] ||
   [ -n "$FULLCONV_FASHION_MNIST" ]; then
    expect_rc "bench --no-speed over fashion-mnist:test" 0 \
        "$FC" bench "$MODEL" --variants original,fc2conv --data fashion-mnist:test --no-speed --threads 2 \
        --batch 100 --json "$T/acc.json"
    if $PY - "$T/acc.json" testdata/lenet_accuracy.json <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1])); ref = json.load(open(sys.argv[2]))["lenet_fc"]
v = {x["name"]: x for x in doc["variants"]}
correct = round(v["original"]["accuracy"]["top1"] * v["original"]["accuracy"]["n"])
print("fullconv correct", correct, "pytorch correct", ref["correct"])
assert v["original"]["accuracy"]["n"] == 10000
assert abs(correct - ref["correct"]) <= 2
assert v["fc2conv"]["accuracy"]["agreement"] >= 0.999      # an exact rewrite
assert v["fc2conv"]["size"]["params"] == v["original"]["size"]["params"]
EOF
    then ok "top-1 equals PyTorch's on 10000 images"; else ko "top-1 equals PyTorch's on 10000 images"; fi
else
    sk "full test set (needs testdata/lenet_accuracy.json and Debian's dataset-fashion-mnist)"
fi

# 2. two timed runs of the same build, small sample, enough repetitions for the U test
GB="--benchmark_repetitions=6 --benchmark_min_time=0.01"
for run in a b; do
    expect_rc "bench run $run" 0 "$FC" bench "$MODEL" --variants original,fc2conv --data "$SAMPLE" \
        --threads 1 --batch 8 --profile --json "$T/$run.json" --md "$T/$run.md" --html "$T/$run.html" -- $GB
done
if [ ! -f "$T/a.json" ] || [ ! -f "$T/b.json" ]; then finish; fi
# A rerun is not a regression. The threshold is generous and times are normalized by each run's
# FMA probe: this runs on a shared 2-core machine where a neighbour's job can slow a 10 ms
# benchmark down by more than 2x (seen once at --threshold 100 without --normalize). What this
# checks is the no-regression path on real reports; detection is tested on fixed data
# (bench/tests/test_compare.c) and by the CI gate.
expect_rc "compare rerun of the same build exits 0" 0 "$FC" compare "$T/a.json" "$T/b.json" --threshold 300 --normalize
expect_rc "compare a file with itself exits 0" 0 "$FC" compare "$T/a.json" "$T/a.json"

inject() { # in out python-expression-on-doc
    $PY - "$1" "$2" "$3" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
for v in doc["variants"]:
    exec(sys.argv[3])
json.dump(doc, open(sys.argv[2], "w"))
EOF
}
# The slowdown is injected into run a's own repetitions (every one doubled), so the gate sees two
# fully separated samples of 6: exact p = 2/C(12,6) = 0.002 whatever the machine's noise.
inject "$T/a.json" "$T/slow.json" '
for c in v.get("speed", []):
    c["reps_ms"] = [t * 2 for t in c["reps_ms"]]; c["median_ms"] *= 2'
expect_rc "compare exits 1 on an injected 2x slowdown" 1 "$FC" compare "$T/a.json" "$T/slow.json" --threshold 50
if grep -q "SLOWER" "$T/out.txt" && grep -q "geometric mean" "$T/out.txt"; then ok "slowdown named SLOWER, geomean printed"
else ko "slowdown named SLOWER, geomean printed"; fi
inject "$T/a.json" "$T/acc_drop.json" 'v["accuracy"]["top1"] -= 1/64'
expect_rc "compare exits 1 on an accuracy drop" 1 "$FC" compare "$T/a.json" "$T/acc_drop.json" --threshold 1000
inject "$T/a.json" "$T/big.json" 'v["size"]["fcn_bytes"] += 64'
expect_rc "compare exits 1 on a size growth" 1 "$FC" compare "$T/a.json" "$T/big.json" --threshold 1000
expect_rc "compare --normalize on the slowdown still exits 1" 1 "$FC" compare "$T/a.json" "$T/slow.json" --threshold 50 --normalize
echo '{"benchmarks": []}' >"$T/foreign.json"
expect_rc "compare refuses a foreign JSON (exit 2)" 2 "$FC" compare "$T/a.json" "$T/foreign.json"
expect_rc "bench refuses an unknown variant (exit 2)" 2 "$FC" bench "$MODEL" --variants original,gap-magic --no-speed
expect_rc "bench refuses an unknown Google Benchmark flag (exit 2)" 2 "$FC" bench "$MODEL" --variants original \
    --data "$SAMPLE" --threads 1 --batch 1 -- --benchmark_no_such_flag=1

# 3. the document: Google Benchmark's JSON kept whole; our statistics read from it
if $PY - "$T/a.json" <<'EOF'
import json, statistics, sys
doc = json.load(open(sys.argv[1]))
assert doc["schema"] == "fullconv-bench/1"
gb = doc["gbench"]
assert "context" in gb and gb["benchmarks"]
names = {b["run_name"] for b in gb["benchmarks"]}
assert "original/b1/t1/real_time" in names, names
aggs = {b.get("aggregate_name") for b in gb["benchmarks"] if b["run_type"] == "aggregate"}
assert {"mean", "median", "min", "p90"} <= aggs, aggs
m = doc["machine"]
for k in ("cpu", "cores", "isa", "compiler", "git", "date", "peak_gflops"):
    assert k in m, k
assert m["peak_gflops"] > 0
v = {x["name"]: x for x in doc["variants"]}["original"]
c = {x["case"]: x for x in v["speed"]}["b1/t1"]
reps = [b["real_time"] for b in gb["benchmarks"]
        if b["run_name"] == "original/b1/t1/real_time" and b["run_type"] == "iteration"]
assert len(reps) == 6 and c["repetitions"] == 6
assert abs(statistics.median(reps) - c["median_ms"]) < 1e-9 and abs(min(reps) - c["min_ms"]) < 1e-9
assert c["gflops"] > 0 and 0 < c["peak_pct"] < 100
assert v["profile"] and v["profile"][0]["ms"] >= v["profile"][-1]["ms"]
assert v["size"]["fcn_bytes"] > 0 and v["memory"]["arena_bytes"] > 0
EOF
then ok "JSON embeds Google Benchmark's output; medians agree"; else ko "JSON embeds Google Benchmark's output; medians agree"; fi
if grep -q "^| original | b1/t1 |" "$T/a.md"; then ok "Markdown speed table"; else ko "Markdown speed table"; fi

# 3b. the +prepack variant: same outputs, a bigger file, the session uses the packed weights in
#     place (on a SIMD machine); with the reference kernels it is not applicable, and says why
expect_rc "bench original,original+prepack" 0 "$FC" bench "$MODEL" --variants original,original+prepack \
    --data "$SAMPLE" --no-speed --json "$T/pp.json" --md "$T/pp.md"
if $PY - "$T/pp.json" <<'EOF'
import json, sys
v = {x["name"]: x for x in json.load(open(sys.argv[1]))["variants"]}
o, p = v["original"], v["original+prepack"]
if not p["applicable"] and "--prepack needs" in p.get("reason", ""):
    sys.exit(3)   # no AVX2 here: nothing to prepack for
assert p["applicable"], p.get("reason")
assert p["accuracy"]["agreement"] == 1.0 and p["accuracy"]["max_abs_err"] == 0
assert p["size"]["fcn_bytes"] > o["size"]["fcn_bytes"]
assert p["memory"]["prepacked_used_bytes"] > 0 and o["memory"]["prepacked_used_bytes"] == 0
EOF
then ok "+prepack: same outputs, bigger file, packed weights used in place"
elif [ $? -eq 3 ]; then sk "+prepack (the reference kernels are in use here)"
else ko "+prepack: same outputs, bigger file, packed weights used in place"; fi
if grep -q "session ms" "$T/pp.md"; then ok "Markdown accuracy table has session ms"; else ko "Markdown accuracy table has session ms"; fi
FULLCONV_REFERENCE=1 "$FC" bench "$MODEL" --variants original,original+prepack --data "$SAMPLE" --no-speed \
    --json "$T/ppr.json" >"$T/ppr.txt" 2>&1
if $PY -c "import json,sys; v={x['name']:x for x in json.load(open(sys.argv[1]))['variants']}; p=v['original+prepack']; sys.exit(0 if not p['applicable'] and '--prepack needs' in p['reason'] else 1)" "$T/ppr.json"
then ok "+prepack on the reference kernels: not applicable, reason given"; else ko "+prepack on the reference kernels: not applicable, reason given"; fi

# 4. the HTML report in headless Chromium
CHROMIUM=""
for c in /usr/bin/chromium /usr/bin/chromium-browser; do [ -x "$c" ] && CHROMIUM=$c && break; done
if [ -z "$CHROMIUM" ]; then
    sk "HTML in headless Chromium (install Debian's chromium)"
else
    timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --enable-logging=stderr --v=0 \
        --user-data-dir="$T/chromium-profile" --window-size=1200,1600 --screenshot="$T/shot.png" \
        "file://$(cd "$T" && pwd)/a.html" >"$T/chromium.log" 2>&1
    if grep -E ':CONSOLE|Uncaught' "$T/chromium.log" >"$T/console.txt"; [ -s "$T/console.txt" ]; then
        ko "HTML loads without console errors"; sed 's/^/    /' "$T/console.txt" | head
    else
        ok "HTML loads without console errors"
    fi
    if [ -f "$T/shot.png" ] && $PY - "$T/shot.png" <<'EOF'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n"
pos, idat, w = 8, b"", 0
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
        bpp = {2: 3, 6: 4}[ctype]
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
raw = zlib.decompress(idat)
stride = w * bpp + 1
# Count rows that are not one flat color (filter byte + identical pixels compress to runs).
busy = 0
for y in range(h):
    row = raw[y * stride + 1:(y + 1) * stride]
    if row.count(row[:bpp]) * bpp != len(row) and row.strip(b"\x00") != b"":
        busy += 1
print("rows with content:", busy, "of", h)
assert busy > h // 10
EOF
    then ok "screenshot is not blank"; else ko "screenshot is not blank"; fi
fi
finish
