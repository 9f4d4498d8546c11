#!/usr/bin/env node
// make_tfjs_testdata.js — small Keras models saved by TF.js (layers format) + their outputs.
//
// Regenerate (needs node + npm registry access; installs @tensorflow/tfjs@4 into a scratch folder):
//     sh scripts/make_tfjs_testdata.sh                # writes testdata/tfjs/<model>/
// or, with tfjs already installed somewhere:
//     NODE_PATH=/path/to/node_modules node scripts/make_tfjs_testdata.js testdata/tfjs
//
// Each testdata/tfjs/<model>/ holds:
//     model.json + *.bin      exactly what a TF.js user has after model.save() (layers-model format)
//     input_nhwc.npy          the input Keras saw (N,H,W,C)
//     input.npy               the same input in NCHW: what `fullconv run` is fed
//     output.npy              Keras' prediction on that input (computed from the saved files,
//                             loaded back through tf.loadLayersModel, so quantized weights are
//                             dequantized exactly as TF.js does it)
// Models:
//     seq_cnn    Sequential: Conv2D same + BN + ReLU + MaxPool + Conv2D valid + Flatten + Dense(relu)
//                + Dropout + Dense(softmax). Flatten sees channels_last data: the NHWC flatten trap.
//     functional Functional: Add, Concatenate, DepthwiseConv2D, SeparableConv2D, ZeroPadding2D,
//                AveragePooling2D same (padding excluded from the mean), GlobalAveragePooling2D, Dense.
//     quantized  seq_cnn's topology with quantized shards: uint8 (scale/min), float16 and uint16 weights.
//     sharded    Functional net with LeakyReLU, ReLU(max_value), relu6/elu/hard_sigmoid activations,
//                MaxPooling2D same, GlobalMaxPooling2D, Reshape, Softmax layer, Concatenate on a
//                3-D tensor; its weights split mid-tensor over two shard files.
//     prep       Rescaling (pixels in 0..255), Cropping2D, strided conv, PReLU with per-pixel and
//                channel-shared slopes, GlobalAveragePooling2D, Dense.
//     shared     one Conv2D called twice (shared layer), Multiply/Minimum/Maximum/Average, Dense on a 4-D
//                tensor, BatchNormalization on (N, C), swish/softplus/softsign/sigmoid.
// Weights come from a seeded PRNG (mulberry32), so reruns write identical files.
//
// It also writes the hand-made hostile model.json cases testdata/bad/tfjs_*.json (+ .expect: first
// line = the stderr substring `fullconv convert` must print; see testdata/bad/README.md). Those
// need no tfjs: `node scripts/make_tfjs_testdata.js --bad-only` writes just them.
'use strict';
const fs = require('fs');
const path = require('path');

const badOnly = process.argv.includes('--bad-only');
const outRoot = process.argv.slice(2).find((a) => !a.startsWith('--')) || 'testdata/tfjs';
const badRoot = path.join(path.dirname(outRoot), 'bad');
const tf = badOnly ? null : require('@tensorflow/tfjs');

// ---- deterministic numbers ----------------------------------------------------------------
function mulberry32(seed) {
  let a = seed >>> 0;
  return function () {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function seededWeights(model, seed) {
  const rand = mulberry32(seed);
  const values = model.weights.map((w) => {
    const shape = w.shape;
    const n = shape.reduce((a, b) => a * b, 1);
    const name = w.originalName || w.name;
    const data = new Float32Array(n);
    let lo = -0.5, hi = 0.5;
    if (/moving_variance|gamma/.test(name)) { lo = 0.5; hi = 1.5; }
    else if (/bias|beta|moving_mean/.test(name)) { lo = -0.2; hi = 0.2; }
    else if (shape.length >= 2) {
      const fanIn = shape.slice(0, -1).reduce((a, b) => a * b, 1);
      const a = Math.sqrt(3 / fanIn);
      lo = -a; hi = a;
    }
    for (let i = 0; i < n; i++) data[i] = lo + (hi - lo) * rand();
    return tf.tensor(data, shape, 'float32');
  });
  model.setWeights(values);
}

function seededInput(shape, seed) {
  const rand = mulberry32(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = 2 * rand() - 1;
  return tf.tensor(data, shape, 'float32');
}

// ---- .npy (v1, '<f4', C order) --------------------------------------------------------------
function npyBytes(tensor) {
  const shape = tensor.shape;
  const data = tensor.dataSync();
  const shapeStr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const buf = Buffer.alloc(10 + header.length + data.length * 4);
  buf.write('\x93NUMPY', 0, 'latin1');
  buf[6] = 1; buf[7] = 0;
  buf.writeUInt16LE(header.length, 8);
  buf.write(header, 10, 'latin1');
  for (let i = 0; i < data.length; i++) buf.writeFloatLE(data[i], 10 + header.length + 4 * i);
  return buf;
}

// ---- saving ---------------------------------------------------------------------------------
async function artifactsOf(model) {
  let saved = null;
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    saved = artifacts;
    return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
  }));
  let data = saved.weightData;
  if (Array.isArray(data)) data = Buffer.concat(data.map((b) => Buffer.from(b)));
  return { topology: saved.modelTopology, specs: saved.weightSpecs, data: Buffer.from(data) };
}

function float32ToFloat16Bits(f) {
  const buf = new DataView(new ArrayBuffer(4));
  buf.setFloat32(0, f);
  const x = buf.getUint32(0);
  const sign = (x >>> 16) & 0x8000;
  let exp = ((x >>> 23) & 0xff) - 127 + 15;
  let mant = x & 0x7fffff;
  if (exp <= 0) return sign;                       // tiny weights: flush to zero (none here)
  if (exp >= 31) return sign | 0x7c00;
  let h = sign | (exp << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;                      // round to nearest even
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h++;
  return h;
}

// Rewrites float32 weights into quantized form: spec.quantization as tfjs-converter writes it.
function quantize(specs, data, choose) {
  const out = [];
  const newSpecs = [];
  let off = 0;
  for (const spec of specs) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const vals = new Float32Array(data.buffer.slice(data.byteOffset + off, data.byteOffset + off + 4 * n));
    off += 4 * n;
    const kind = choose(spec);
    const s = { name: spec.name, shape: spec.shape, dtype: 'float32' };
    if (kind === 'uint8' || kind === 'uint16') {
      const levels = kind === 'uint8' ? 255 : 65535;
      let min = Infinity, max = -Infinity;
      for (const v of vals) { min = Math.min(min, v); max = Math.max(max, v); }
      const scale = max > min ? (max - min) / levels : 1;
      s.quantization = { dtype: kind, scale, min };
      const q = kind === 'uint8' ? Buffer.alloc(n) : Buffer.alloc(2 * n);
      for (let i = 0; i < n; i++) {
        const v = Math.max(0, Math.min(levels, Math.round((vals[i] - min) / scale)));
        if (kind === 'uint8') q[i] = v; else q.writeUInt16LE(v, 2 * i);
      }
      out.push(q);
    } else if (kind === 'float16') {
      s.quantization = { dtype: 'float16' };
      const q = Buffer.alloc(2 * n);
      for (let i = 0; i < n; i++) q.writeUInt16LE(float32ToFloat16Bits(vals[i]), 2 * i);
      out.push(q);
    } else {
      out.push(Buffer.from(vals.buffer));
    }
    newSpecs.push(s);
  }
  return { specs: newSpecs, data: Buffer.concat(out) };
}

async function writeModel(name, model, inputShape, seed, opts = {}) {
  const dir = path.join(outRoot, name);
  fs.mkdirSync(dir, { recursive: true });
  for (const f of fs.readdirSync(dir)) fs.unlinkSync(path.join(dir, f));
  let { topology, specs, data } = await artifactsOf(model);
  if (opts.quantize) ({ specs, data } = quantize(specs, data, opts.quantize));
  const cuts = opts.cuts || [];                  // byte offsets where a new shard starts
  const bounds = [0, ...cuts, data.length];
  const paths = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const p = bounds.length > 2 ? `group1-shard${i + 1}of${bounds.length - 1}.bin` : 'weights.bin';
    fs.writeFileSync(path.join(dir, p), data.subarray(bounds[i], bounds[i + 1]));
    paths.push(p);
  }
  const modelJson = {
    modelTopology: topology,
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${tf.version.layers}`,
    convertedBy: null,
    weightsManifest: [{ paths, weights: specs }],
  };
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(modelJson));

  // Reference output: reload exactly what was written, as a TF.js user would.
  const reloaded = await tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: topology, weightSpecs: specs, weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.length),
  }));
  let x = seededInput(inputShape, seed + 1);
  if (opts.inputScale) x = x.mul(opts.inputScale).add(opts.inputOffset || 0);
  const y = reloaded.predict(x);
  fs.writeFileSync(path.join(dir, 'input_nhwc.npy'), npyBytes(x));
  fs.writeFileSync(path.join(dir, 'input.npy'), npyBytes(x.rank === 4 ? x.transpose([0, 3, 1, 2]) : x));
  fs.writeFileSync(path.join(dir, 'output.npy'), npyBytes(y));
  console.log(`${dir}: ${specs.length} weights, ${data.length} bytes in ${paths.length} shard(s), output ${JSON.stringify(y.shape)}`);
}

// ---- models -----------------------------------------------------------------------------------
function seqCnn() {
  const m = tf.sequential({ name: 'seq_cnn' });
  m.add(tf.layers.conv2d({ name: 'conv1', inputShape: [8, 8, 3], filters: 4, kernelSize: 3, padding: 'same' }));
  m.add(tf.layers.batchNormalization({ name: 'bn1', epsilon: 1e-3 }));
  m.add(tf.layers.activation({ name: 'relu1', activation: 'relu' }));
  m.add(tf.layers.maxPooling2d({ name: 'pool1', poolSize: 2 }));
  m.add(tf.layers.conv2d({ name: 'conv2', filters: 6, kernelSize: 3, padding: 'valid' }));
  m.add(tf.layers.flatten({ name: 'flatten' }));
  m.add(tf.layers.dense({ name: 'fc1', units: 10, activation: 'relu' }));
  m.add(tf.layers.dropout({ name: 'drop', rate: 0.5 }));
  m.add(tf.layers.dense({ name: 'fc2', units: 5, activation: 'softmax' }));
  return m;
}

function functionalNet() {
  const x = tf.input({ name: 'image', shape: [10, 10, 3] });
  const a = tf.layers.conv2d({ name: 'stem', filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(x);
  const b = tf.layers.depthwiseConv2d({ name: 'dw', kernelSize: 3, padding: 'same', depthMultiplier: 2 }).apply(a);
  const c = tf.layers.conv2d({ name: 'proj', filters: 16, kernelSize: 1, useBias: false }).apply(a);
  const d = tf.layers.add({ name: 'add' }).apply([b, c]);
  const e = tf.layers.separableConv2d({ name: 'sep', filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu6' }).apply(d);
  const f = tf.layers.zeroPadding2d({ name: 'zpad', padding: [[1, 0], [0, 1]] }).apply(d);
  const g = tf.layers.conv2d({ name: 'conv_s2', filters: 6, kernelSize: 2, strides: 2, dilationRate: 1, padding: 'valid' }).apply(f);
  const h = tf.layers.averagePooling2d({ name: 'avg', poolSize: 3, strides: 2, padding: 'same' }).apply(d);
  const cat = tf.layers.concatenate({ name: 'cat', axis: -1 }).apply([e, g, h]);
  const bn = tf.layers.batchNormalization({ name: 'bn', axis: 3 }).apply(cat);
  const gap = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(bn);
  const out = tf.layers.dense({ name: 'logits', units: 7 }).apply(gap);
  return tf.model({ name: 'functional', inputs: x, outputs: out });
}

function shardedNet() {
  const x = tf.input({ name: 'pixels', shape: [9, 7, 2] });
  const a = tf.layers.conv2d({ name: 'c1', filters: 6, kernelSize: [3, 2], padding: 'same', dilationRate: [1, 2], activation: 'elu' }).apply(x);
  const b = tf.layers.leakyReLU({ name: 'leaky', alpha: 0.2 }).apply(a);
  const c = tf.layers.maxPooling2d({ name: 'mp', poolSize: 2, strides: 2, padding: 'same' }).apply(b);  // 9x7 -> 5x4
  const d = tf.layers.conv2d({ name: 'c2', filters: 8, kernelSize: 3, padding: 'same', activation: 'hardSigmoid' }).apply(c);
  const e = tf.layers.reLU({ name: 'relu_cap', maxValue: 0.7 }).apply(d);
  const r = tf.layers.reshape({ name: 'rows', targetShape: [20, 8] }).apply(e);             // (H*W, C)
  const t = tf.layers.dense({ name: 'tok', units: 4, activation: 'tanh' }).apply(r);          // dense on 3-D
  const cat = tf.layers.concatenate({ name: 'cat3', axis: -1 }).apply([r, t]);              // (20, 12)
  const f = tf.layers.flatten({ name: 'flat' }).apply(cat);
  const g = tf.layers.globalMaxPooling2d({ name: 'gmp' }).apply(e);
  const h = tf.layers.concatenate({ name: 'cat2' }).apply([f, g]);
  const i = tf.layers.dense({ name: 'head', units: 6, activation: 'selu' }).apply(h);
  const j = tf.layers.dense({ name: 'out', units: 4 }).apply(i);
  const k = tf.layers.softmax({ name: 'prob' }).apply(j);
  return tf.model({ name: 'sharded', inputs: x, outputs: k });
}

// ---- hostile model.json files ------------------------------------------------------------------
function denseModel(paths) {
  return {
    format: 'layers-model',
    modelTopology: {
      class_name: 'Sequential',
      config: { name: 'bad', layers: [{ class_name: 'Dense', config: { name: 'd', units: 2, batch_input_shape: [null, 3] } }] },
    },
    weightsManifest: [{ paths, weights: [
      { name: 'd/kernel', shape: [3, 2], dtype: 'float32' }, { name: 'd/bias', shape: [2], dtype: 'float32' }] }],
  };
}

function writeBad() {
  fs.mkdirSync(badRoot, { recursive: true });
  const cases = {
    tfjs_path_traversal: [denseModel(['../../../../../etc/passwd']), 'leaves the model folder'],
    tfjs_absolute_path: [denseModel(['/etc/passwd']), 'must be a relative path inside the model folder'],
    tfjs_missing_shard: [denseModel(['no-such-shard.bin']), "weight shard 'no-such-shard.bin' not found"],
    tfjs_unsupported_layer: [{ format: 'layers-model', modelTopology: { class_name: 'Sequential', config: { name: 'rnn', layers: [
      { class_name: 'LSTM', config: { name: 'lstm', units: 4, batch_input_shape: [null, 5, 3] } }] } } },
    "layer 'lstm' (LSTM): layer class not supported"],
    tfjs_graph_model: [{ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [] }, 'graph models'],
    tfjs_keras3_inbound: [{
      format: 'layers-model',
      modelTopology: { class_name: 'Functional', config: {
        name: 'k3',
        layers: [
          { class_name: 'InputLayer', name: 'x', config: { name: 'x', batch_shape: [null, 3] }, inbound_nodes: [] },
          { class_name: 'Activation', name: 'r', config: { name: 'r', activation: 'relu' },
            inbound_nodes: [{ args: [{ class_name: '__keras_tensor__', config: { keras_history: ['x', 0, 0] } }], kwargs: {} }] }],
        input_layers: [['x', 0, 0]], output_layers: [['r', 0, 0]] } },
    }, 'Keras 3 inbound_nodes format is not supported'],
    tfjs_dangling_input: [{
      format: 'layers-model',
      modelTopology: { class_name: 'Model', config: {
        name: 'dangling',
        layers: [
          { class_name: 'InputLayer', name: 'x', config: { name: 'x', batch_input_shape: [null, 3] }, inbound_nodes: [] },
          { class_name: 'Activation', name: 'r', config: { name: 'r', activation: 'relu' }, inbound_nodes: [[['nowhere', 0, 0, {}]]] }],
        input_layers: [['x', 0, 0]], output_layers: [['r', 0, 0]] } },
    }, 'never produced'],
  };
  for (const [name, [json, expect]] of Object.entries(cases)) {
    fs.writeFileSync(path.join(badRoot, name + '.json'), JSON.stringify(json));
    fs.writeFileSync(path.join(badRoot, name + '.expect'), expect + '\n');
  }
  // nesting that would overflow a recursive JSON parser's stack
  const deep = '{"modelTopology":' + '['.repeat(5000) + ']'.repeat(5000) + '}';
  fs.writeFileSync(path.join(badRoot, 'tfjs_deep_nesting.json'), deep);
  fs.writeFileSync(path.join(badRoot, 'tfjs_deep_nesting.expect'), 'nested deeper than\n');
  console.log(`${badRoot}: ${Object.keys(cases).length + 1} hostile model.json cases`);
}

// Shared layer (one Conv2D called twice), Multiply/Minimum/Maximum/Average merges, Dense on a 4-D
// tensor (a 1x1 conv in NCHW), BatchNormalization on (N, C), swish/softplus/softsign/sigmoid.
function sharedNet() {
  const x = tf.input({ name: 'img', shape: [6, 6, 4] });
  const shared = tf.layers.conv2d({ name: 'shared', filters: 4, kernelSize: 3, padding: 'same', activation: 'swish' });
  const a = shared.apply(x);
  const b = shared.apply(a);
  const m = tf.layers.multiply({ name: 'mul' }).apply([a, b]);
  const d = tf.layers.minimum({ name: 'min' }).apply([m, x]);
  const mx = tf.layers.maximum({ name: 'max' }).apply([d, b]);
  const av = tf.layers.average({ name: 'avg' }).apply([a, b, mx]);
  const p = tf.layers.dense({ name: 'pixelwise', units: 5, activation: 'softplus' }).apply(av);
  const g = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(p);
  const bn = tf.layers.batchNormalization({ name: 'bn1d' }).apply(g);
  const s = tf.layers.activation({ name: 'soft', activation: 'softsign' }).apply(bn);
  const out = tf.layers.dense({ name: 'out', units: 3, activation: 'sigmoid' }).apply(s);
  return tf.model({ name: 'shared', inputs: x, outputs: out });
}

// Preprocessing and edge layers: Rescaling, Cropping2D, PReLU (per-pixel and channel-shared
// slopes), ThresholdedReLU-free; Sequential with an explicit InputLayer-less first layer.
function prepNet() {
  const m = tf.sequential({ name: 'prep' });
  m.add(tf.layers.rescaling({ name: 'rescale', inputShape: [9, 8, 3], scale: 1 / 127.5, offset: -1 }));
  m.add(tf.layers.cropping2D({ name: 'crop', cropping: [[1, 2], [0, 1]] }));
  m.add(tf.layers.conv2d({ name: 'conv', filters: 5, kernelSize: 3, strides: 2, padding: 'same' }));
  m.add(tf.layers.prelu({ name: 'prelu_px' }));
  m.add(tf.layers.conv2d({ name: 'conv_b', filters: 4, kernelSize: 1 }));
  m.add(tf.layers.prelu({ name: 'prelu_ch', sharedAxes: [1, 2] }));
  m.add(tf.layers.globalAveragePooling2d({ name: 'gap' }));
  m.add(tf.layers.dense({ name: 'fc', units: 3 }));
  return m;
}

async function main() {
  writeBad();
  if (badOnly) return;
  const seq = seqCnn();
  seededWeights(seq, 1);
  await writeModel('seq_cnn', seq, [1, 8, 8, 3], 100);

  const fn = functionalNet();
  seededWeights(fn, 2);
  await writeModel('functional', fn, [1, 10, 10, 3], 200);

  const q = seqCnn();
  seededWeights(q, 3);
  await writeModel('quantized', q, [1, 8, 8, 3], 300, {
    quantize: (spec) => (/conv1|fc1\/kernel/.test(spec.name) ? 'uint8'
      : /conv2|fc2/.test(spec.name) ? 'float16'
      : /bn1\/gamma/.test(spec.name) ? 'uint16' : null),
  });

  const sh = shardedNet();
  seededWeights(sh, 4);
  const { data } = await artifactsOf(sh);
  await writeModel('sharded', sh, [1, 9, 7, 2], 400, { cuts: [Math.floor(data.length / 2) + 2] });

  const sn = sharedNet();
  seededWeights(sn, 5);
  await writeModel('shared', sn, [1, 6, 6, 4], 500);

  const pn = prepNet();
  seededWeights(pn, 6);
  await writeModel('prep', pn, [1, 9, 8, 3], 600, { inputScale: 127.5, inputOffset: 127.5 });
}

main().catch((e) => { console.error(e); process.exit(1); });
