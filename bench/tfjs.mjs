// The backprop baseline: the same-shape MLP in TensorFlow.js (@tensorflow/tfjs 4.22.0) on its
// WebAssembly backend (@tensorflow/tfjs-backend-wasm, XNNPACK kernels) and its plain-JS CPU backend.
// tfjs-node (native TensorFlow) cannot be installed on this machine and is not what a browser user
// gets, so it is not measured.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { median } from './lib.mjs';

let tf = null;

/** Loads tfjs once, pointing the WASM backend at the .wasm files in node_modules (setWasmPaths). */
async function load() {
  if (tf) return tf;
  const warn = console.warn, log = console.log;
  console.warn = console.log = () => {}; // tfjs greets Node users with an advert for tfjs-node
  try {
    tf = await import('@tensorflow/tfjs');
    tf.env().set('PROD', true); // production mode: no debug checks, no console warnings
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const require = createRequire(import.meta.url);
    // In Node the backend reads the binaries from this directory with fs (a path, not a URL).
    wasm.setWasmPaths(join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/');
  } finally {
    console.warn = warn;
    console.log = log;
  }
  return tf;
}

/**
 * Trains `layers` (e.g. [784, 256, 4]: ReLU hidden layers, softmax output, Adam, cross-entropy)
 * on `images` (count × 784, uint8 pixels, scaled to [0, 1]) for `reps` timed passes of `count`
 * examples in batches of `batch`, two ways: `model.fit` (what a user writes) and a hand-written
 * loop of `optimizer.minimize` (less framework overhead). Also times `model.predict` (batches of
 * 256, on at most 512 images). Returns examples/s (medians) and which backend and flags tfjs really used.
 */
export async function tfjsMlp(backend, { layers, images, labels, count, batch, reps }) {
  await load();
  const warn = console.warn, log = console.log;
  console.warn = console.log = () => {};
  try {
    if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend ${backend} failed to initialise`);
    await tf.ready();
  } finally {
    console.warn = warn;
    console.log = log;
  }
  const C = layers[layers.length - 1], n0 = layers[0];
  const xs = tf.tidy(() => tf.tensor2d(Float32Array.from(images.subarray(0, count * n0), (v) => v / 255), [count, n0]));
  const ys = tf.tidy(() => tf.oneHot(tf.tensor1d(Int32Array.from(labels.subarray(0, count)), 'int32'), C));
  const model = tf.sequential();
  layers.slice(1).forEach((units, i) => model.add(tf.layers.dense({
    units, activation: i === layers.length - 2 ? 'softmax' : 'relu', ...(i === 0 ? { inputShape: [n0] } : {}),
  })));
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
  const fitOnce = async () => {
    const t = performance.now();
    await model.fit(xs, ys, { batchSize: batch, epochs: 1, shuffle: false, verbose: 0 });
    return count / ((performance.now() - t) / 1000);
  };
  const optimizer = tf.train.adam(1e-3);
  const xb = [], yb = [];
  for (let s = 0; s < count; s += batch) {
    const n = Math.min(batch, count - s);
    xb.push(xs.slice([s, 0], [n, n0]));
    yb.push(ys.slice([s, 0], [n, C]));
  }
  const loopOnce = async () => {
    const t = performance.now();
    for (let i = 0; i < xb.length; i++) {
      const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(yb[i], model.apply(xb[i], { training: true })), true);
      loss.dispose();
    }
    await tf.nextFrame?.();
    (await model.predict(xb[0]).data()); // synchronise (the wasm and cpu backends are synchronous anyway)
    return count / ((performance.now() - t) / 1000);
  };
  // tfjs-wasm's predict slows down superlinearly with the size of one input tensor in Node (2 048
  // images ran 10× slower per image than 512 here), so inference is timed on 512 images.
  const inferCount = Math.min(count, 512);
  const xi = xs.slice([0, 0], [inferCount, n0]);
  const predictOnce = async () => {
    const t = performance.now();
    const out = model.predict(xi, { batchSize: 256 });
    await out.data();
    out.dispose();
    return inferCount / ((performance.now() - t) / 1000);
  };
  // warm-up: kernels compiled, memory pools sized
  await fitOnce();
  await loopOnce();
  await predictOnce();
  const fit = [], loop = [], predict = [];
  for (let r = 0; r < reps; r++) {
    fit.push(await fitOnce());
    loop.push(await loopOnce());
    predict.push(await predictOnce());
  }
  const info = {
    backend: tf.getBackend(),
    simd: backend === 'wasm' ? tf.env().getBool('WASM_HAS_SIMD_SUPPORT') : false,
    multithread: backend === 'wasm' ? tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT') : false,
  };
  xi.dispose();
  xb.forEach((t) => t.dispose());
  yb.forEach((t) => t.dispose());
  xs.dispose();
  ys.dispose();
  model.dispose();
  optimizer.dispose();
  return {
    ...info,
    trainFit: median(fit),
    trainLoop: median(loop),
    train: Math.max(median(fit), median(loop)),
    infer: median(predict),
    samples: reps,
  };
}

/** tfjs's version string. */
export async function tfjsVersion() {
  await load();
  return tf.version.tfjs;
}
