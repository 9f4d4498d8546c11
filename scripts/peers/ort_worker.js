// ort_worker.js — ONNX Runtime (npm onnxruntime-node, CPU) timing worker for bench_peers.
// Usage: node ort_worker.js MODEL.onnx THREADS  (run with NODE_PATH=<scratch>/node_modules)
// Protocol: prints one JSON line when the session is ready ({"ready", "create_ms", ...}), then
// for every stdin line "round SECONDS" runs inference until SECONDS have passed (at least 3 runs)
// and prints {"mean_ms", "min_ms", "iters"}. "quit" ends it. Input: seeded uniform values.
'use strict';
const readline = require('readline');
const ort = require('onnxruntime-node');

function nowMs() { return Number(process.hrtime.bigint()) / 1e6; }

async function main() {
  const [model, threadsArg] = process.argv.slice(2);
  const threads = parseInt(threadsArg || '1', 10);
  const t0 = nowMs();
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: 'all', executionProviders: ['cpu'],
  });
  const createMs = nowMs() - t0;
  const inputName = session.inputNames[0];
  const dims = [1, 3, 224, 224];
  const count = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(count);
  let seed = 12345;
  for (let i = 0; i < count; i++) { seed = (seed * 1103515245 + 12345) >>> 0; data[i] = (seed / 4294967296) * 2 - 1; }
  const feeds = { [inputName]: new ort.Tensor('float32', data, dims) };
  await session.run(feeds);   // first run: lazy initialization, not timed
  let version = 'unknown';
  try { version = require('onnxruntime-node/package.json').version; } catch (e) { /* exports may hide it */ }
  process.stdout.write(JSON.stringify({ ready: true, create_ms: createMs, ort_version: version }) + '\n');
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    const parts = line.trim().split(/\s+/);
    if (parts[0] === 'quit') break;
    if (parts[0] !== 'round') continue;
    const seconds = parseFloat(parts[1] || '0.5');
    let iters = 0, total = 0, min = Infinity;
    const start = nowMs();
    while (iters < 3 || nowMs() - start < seconds * 1e3) {
      const a = nowMs();
      await session.run(feeds);
      const dt = nowMs() - a;
      total += dt; iters++; if (dt < min) min = dt;
    }
    process.stdout.write(JSON.stringify({ mean_ms: total / iters, min_ms: min, iters }) + '\n');
  }
  rl.close();
}
main().catch((e) => { process.stdout.write(JSON.stringify({ error: String(e) }) + '\n'); process.exit(1); });
