#!/usr/bin/python3
"""run_peers.py — fullconv vs ONNX Runtime vs PyTorch, interleaved in one run (scripts/bench_peers.sh).

For every model and thread count, R rounds; in each round the three runtimes run one timing
window of about --seconds each, in a shuffled order, so slow drifts of a shared machine (turbo,
other jobs) hit all three alike. A round's value is the mean latency over its window; the table
shows the min and the median over rounds, and the ratios fullconv/ORT and fullconv/PyTorch of
the medians. Batch 1, 3x224x224, same seeded input values for ORT and PyTorch.

  fullconv   `fullconv bench MODEL.fcn --variants original -- --benchmark_repetitions=1 ...`
             per round (the .fcn converted once; the session is built before timing starts)
  ORT        scripts/peers/ort_worker.js, a long-lived node process (npm onnxruntime-node, CPU EP)
  PyTorch    in this process: the model of scripts/make_big_models.py (build(name)), eval + inference_mode
Also: ORT session creation time vs fullconv's open + session creation time.
"""
import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time

MODELS = ["resnet18", "mobilenet_v2", "squeezenet1_1", "alexnet", "vgg11"]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class OrtWorker:
    def __init__(self, node_modules, model, threads):
        env = dict(os.environ, NODE_PATH=node_modules)
        worker = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ort_worker.js")
        self.p = subprocess.Popen(["node", worker, model, str(threads)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True, env=env)
        self.ready = self._read()
        if "error" in self.ready:
            raise RuntimeError("onnxruntime-node: " + self.ready["error"])

    def _read(self):
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError("onnxruntime-node worker exited")
        return json.loads(line)

    def round(self, seconds):
        self.p.stdin.write(f"round {seconds}\n")
        self.p.stdin.flush()
        r = self._read()
        if "error" in r:
            raise RuntimeError(r["error"])
        return r["mean_ms"]

    def close(self):
        try:
            self.p.stdin.write("quit\n")
            self.p.stdin.flush()
        except BrokenPipeError:
            pass
        self.p.wait(timeout=30)


class TorchRunner:
    def __init__(self, name, threads):
        import torch
        import torchvision
        self.torch = torch
        torch.set_num_threads(threads)
        # The very model scripts/make_big_models.py exported (same seeds, BN statistics), when
        # that script is there; else the same architecture seeded the same way.
        scripts = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        sys.path.insert(0, scripts)
        try:
            from make_big_models import build
            self.model = build(name).eval()
        except ImportError:
            torch.manual_seed(0)
            self.model = getattr(torchvision.models, name)(weights=None).eval()
        finally:
            sys.path.remove(scripts)
        # The same seeded uniform input as the ORT worker (an LCG), so both see identical values.
        n, seed, vals = 3 * 224 * 224, 12345, []
        for _ in range(n):
            seed = (seed * 1103515245 + 12345) % 4294967296
            vals.append(seed / 4294967296 * 2 - 1)
        self.x = torch.tensor(vals, dtype=torch.float32).reshape(1, 3, 224, 224)
        with torch.inference_mode():
            self.model(self.x)

    def round(self, seconds):
        total, iters, start = 0.0, 0, time.perf_counter()
        with self.torch.inference_mode():
            while iters < 3 or time.perf_counter() - start < seconds:
                a = time.perf_counter()
                self.model(self.x)
                total += time.perf_counter() - a
                iters += 1
        return total / iters * 1e3


class FullconvRunner:
    def __init__(self, fullconv, fcn, threads):
        self.cmd = [fullconv, "bench", fcn, "--variants", "original", "--no-peak", "--samples", "1",
                    "--threads", str(threads), "--batch", "1"]
        self.open_ms = self.session_ms = None

    def round(self, seconds):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "r.json")
            subprocess.run(self.cmd + ["--json", out, "--", "--benchmark_repetitions=1",
                                       f"--benchmark_min_time={seconds}",
                                       "--benchmark_enable_random_interleaving=false"],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            doc = json.load(open(out))
        v = doc["variants"][0]
        self.open_ms = v.get("build_ms")
        self.session_ms = v.get("memory", {}).get("session_ms")
        return v["speed"][0]["median_ms"]


def convert(fullconv, onnx_path, out_dir, name):
    """One conversion per model through `fullconv bench --save-dir` (the converter's pipeline)."""
    fcn = os.path.join(out_dir, name + ".fcn")
    # reused only if newer than both the model and the converter (a rebuilt fullconv may rewrite
    # the graph differently: fused activations, removed nodes)
    if os.path.exists(fcn) and os.path.getmtime(fcn) >= max(os.path.getmtime(onnx_path), os.path.getmtime(fullconv)):
        return fcn
    with tempfile.TemporaryDirectory(dir=out_dir) as d:
        subprocess.run([fullconv, "bench", onnx_path, "--variants", "original", "--no-speed", "--no-peak",
                        "--samples", "1", "--batch", "1", "--threads", "1", "--save-dir", d],
                       check=True, stdout=subprocess.DEVNULL)
        os.replace(os.path.join(d, "original.fcn"), fcn)
    return fcn


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fullconv", required=True)
    ap.add_argument("--models-dir", required=True)
    ap.add_argument("--node-modules", default=None, help="scratch node_modules with onnxruntime-node")
    ap.add_argument("--work", required=True)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=0.4)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    rng = random.Random(0)
    rows, creation = [], []
    have_torch = True
    try:
        import torch  # noqa: F401
        import torchvision  # noqa: F401
    except ImportError:
        have_torch = False
        log("peers: PyTorch/torchvision not importable: PyTorch column skipped")
    for name in a.models.split(","):
        onnx_path = os.path.join(a.models_dir, name + ".onnx")
        if not os.path.exists(onnx_path):
            log(f"peers: {onnx_path} missing: {name} skipped")
            continue
        log(f"peers: {name}: converting")
        fcn = convert(a.fullconv, onnx_path, a.work, name)
        for threads in [int(t) for t in a.threads.split(",")]:
            runners = {"fullconv": FullconvRunner(a.fullconv, fcn, threads)}
            ort_create = None
            if a.node_modules:
                try:
                    runners["ort"] = OrtWorker(a.node_modules, onnx_path, threads)
                    ort_create = runners["ort"].ready["create_ms"]
                except Exception as e:  # a model ORT refuses is a result, not a crash
                    log(f"peers: {name}: ORT failed: {e}")
            if have_torch:
                runners["torch"] = TorchRunner(name, threads)
            times = {k: [] for k in runners}
            for r in range(a.rounds):
                order = list(runners)
                rng.shuffle(order)
                for k in order:
                    times[k].append(runners[k].round(a.seconds))
                log(f"peers: {name} t{threads} round {r + 1}/{a.rounds}: " +
                    ", ".join(f"{k} {times[k][-1]:.2f} ms" for k in runners))
            if "ort" in runners:
                runners["ort"].close()
            row = {"model": name, "threads": threads, "batch": 1, "rounds": a.rounds}
            for k, vals in times.items():
                row[f"{k}_min_ms"] = min(vals)
                row[f"{k}_median_ms"] = statistics.median(vals)
                row[f"{k}_rounds_ms"] = vals
            fc = row["fullconv_median_ms"]
            if "ort_median_ms" in row:
                row["ratio_ort"] = fc / row["ort_median_ms"]
            if "torch_median_ms" in row:
                row["ratio_torch"] = fc / row["torch_median_ms"]
            rows.append(row)
            creation.append({"model": name, "threads": threads, "ort_create_ms": ort_create,
                             "fullconv_open_ms": runners["fullconv"].open_ms,
                             "fullconv_session_ms": runners["fullconv"].session_ms})
    doc = {"schema": "fullconv-peers/1", "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version()},
           "method": "interleaved rounds; value = mean latency over a window of ~%.2f s; batch 1, 1x3x224x224"
                     % a.seconds,
           "rows": rows, "creation": creation}
    try:
        import torch
        doc["machine"]["torch"] = torch.__version__
    except ImportError:
        pass
    with open(a.out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print_table(doc)


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def fmt(v, spec=".2f"):
    return "-" if v is None else format(v, spec)


def print_table(doc):
    print(f"peers on {doc['machine']['cpu']} ({doc['machine']['cores']} cores), {doc['date']}, batch 1, 224x224")
    print(f"{'model':<14} {'thr':>3} {'fullconv min/med ms':>20} {'ORT min/med ms':>18} {'PyTorch min/med ms':>19}"
          f" {'fc/ORT':>7} {'fc/PT':>7}")
    for r in doc["rows"]:
        def pair(k):
            if f"{k}_min_ms" not in r:
                return "-"
            return f"{r[k + '_min_ms']:.2f}/{r[k + '_median_ms']:.2f}"
        print(f"{r['model']:<14} {r['threads']:>3} {pair('fullconv'):>20} {pair('ort'):>18} {pair('torch'):>19}"
              f" {fmt(r.get('ratio_ort')):>7} {fmt(r.get('ratio_torch')):>7}")
    print(f"\n{'model':<14} {'thr':>3} {'ORT create ms':>14} {'fullconv open ms':>17} {'fullconv session ms':>20}")
    for c in doc["creation"]:
        print(f"{c['model']:<14} {c['threads']:>3} {fmt(c['ort_create_ms'], '.1f'):>14}"
              f" {fmt(c['fullconv_open_ms'], '.1f'):>17} {fmt(c['fullconv_session_ms'], '.1f'):>20}")


if __name__ == "__main__":
    main()
