/**
 * Backprop baselines for the experiments, trained with TensorFlow.js on its WebAssembly backend
 * (`@tensorflow/tfjs` + `@tensorflow/tfjs-backend-wasm`, single-threaded, so seeded runs repeat
 * bit for bit on one machine):
 *
 * - `backprop`: an MLP of the lattice's shape, `features → hidden → C`, ReLU, softmax
 *   cross-entropy, Adam;
 * - `logreg`: multinomial logistic regression `features → C`, softmax cross-entropy, Adam.
 *
 * Weights start Glorot-uniform (Keras' default) drawn from ffit's seeded {@link Rng}, biases at 0;
 * batches are shuffled by the same kind of generator from the same seed as FFIT. Inputs are the
 * pixel bytes divided by 255. Node only: the wasm binaries are loaded from the package's `dist/`.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as TF from '@tensorflow/tfjs';
import type { Dataset } from '../data/dataset.js';
import { FfitError } from '../errors.js';
import { Rng } from '../rng.js';
import { scoresFrom, type Hyperparameters, type Learner, type Method } from '../experiments/methods.js';

let tfPromise: Promise<typeof TF> | null = null;

/**
 * TensorFlow.js with the `wasm` backend active, loaded once per process. In Node the backend must
 * be told where its `.wasm` files are (`setWasmPaths` with the package's `dist/` directory,
 * trailing slash). Loaded lazily so that `ffit train` does not pay for it.
 *
 * @throws FfitError `E_BACKEND` when the packages are missing or the backend cannot start.
 */
export function loadTf(): Promise<typeof TF> {
  tfPromise ??= (async () => {
    try {
      const tf = await import('@tensorflow/tfjs');
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      const pkg = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json');
      wasm.setWasmPaths(join(dirname(pkg), 'dist') + '/');
      if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") returned false');
      await tf.ready();
      return tf;
    } catch (err) {
      tfPromise = null;
      throw new FfitError('E_BACKEND',
        `TensorFlow.js on WebAssembly cannot start (${(err as Error).message}); the backprop baselines need ` +
        '@tensorflow/tfjs and @tensorflow/tfjs-backend-wasm 4.22.0: run `npm ci`.');
    }
  })();
  return tfPromise;
}

/** Pixels scaled to [0, 1] as Float32, cached per image array (the same split is reused across runs). */
const scaled = new WeakMap<object, Float32Array>();
function inputs(images: Uint8Array | Float32Array): Float32Array {
  let x = scaled.get(images);
  if (!x) {
    x = new Float32Array(images.length);
    for (let i = 0; i < images.length; i++) x[i] = images[i]! / 255;
    scaled.set(images, x);
  }
  return x;
}

/** Glorot-uniform `fanIn × fanOut` weights, U(−√(6/(fanIn+fanOut)), +√(…)), from `rng`. */
function glorot(rng: Rng, fanIn: number, fanOut: number): Float32Array {
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  const w = new Float32Array(fanIn * fanOut);
  for (let i = 0; i < w.length; i++) w[i] = limit * (2 * rng.float() - 1);
  return w;
}

/** Rows evaluated per forward pass. */
const CHUNK = 1024;

/**
 * A dense softmax classifier `sizes[0] → … → sizes[last]` (ReLU between layers) trained with
 * Adam on mean softmax cross-entropy.
 */
async function denseLearner(sizes: number[], hp: Hyperparameters, seed: number): Promise<Learner> {
  const tf = await loadTf();
  const rng = new Rng(seed);
  const C = sizes[sizes.length - 1]!;
  const vars: TF.Variable[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    vars.push(tf.variable(tf.tensor2d(glorot(rng, sizes[l]!, sizes[l + 1]!), [sizes[l]!, sizes[l + 1]!])));
    vars.push(tf.variable(tf.zeros([sizes[l + 1]!])));
  }
  const optimizer = tf.train.adam(hp.learningRate ?? 1e-3);
  const features = sizes[0]!;
  const logits = (x: TF.Tensor2D): TF.Tensor2D => {
    let h = x;
    for (let l = 0; l < vars.length; l += 2) {
      h = tf.add(tf.matMul(h, vars[l] as TF.Tensor2D), vars[l + 1]!);
      if (l + 2 < vars.length) h = tf.relu(h);
    }
    return h;
  };
  const update = (x: Float32Array, y: Int32Array): void => {
    tf.tidy(() => {
      const xt = tf.tensor2d(x, [y.length, features]);
      const yt = tf.oneHot(tf.tensor1d(y, 'int32'), C);
      optimizer.minimize(() => tf.losses.softmaxCrossEntropy(yt, logits(xt)) as TF.Scalar, false, vars);
    });
  };
  const scores = (ds: Dataset): { s: Float32Array; loss: number } => {
    const x = inputs(ds.images);
    const s = new Float32Array(ds.count * C);
    let loss = 0;
    for (let start = 0; start < ds.count; start += CHUNK) {
      const n = Math.min(CHUNK, ds.count - start);
      const out = tf.tidy(() => {
        const z = logits(tf.tensor2d(x.subarray(start * features, (start + n) * features), [n, features]));
        const nll = tf.neg(tf.sum(tf.mul(tf.logSoftmax(z), tf.oneHot(tf.tensor1d(ds.labels.subarray(start, start + n), 'int32'), C))));
        return [z.dataSync() as Float32Array, (nll.dataSync() as Float32Array)[0]!] as const;
      });
      s.set(out[0], start * C);
      loss += out[1];
    }
    return { s, loss: ds.count === 0 ? 0 : loss / ds.count };
  };
  let disposed = false;
  return {
    async fit(train, call) {
      const x = inputs(train.images);
      const n = train.count, b = Math.min(hp.batch, n);
      const xb = new Float32Array(b * features), yb = new Int32Array(b);
      for (let e = 0; e < call.epochs; e++) {
        const order = rng.permutation(n);
        for (let start = 0; start < n; start += b) {
          const m = Math.min(b, n - start);
          for (let j = 0; j < m; j++) {
            const i = order[start + j]!;
            xb.set(x.subarray(i * features, (i + 1) * features), j * features);
            yb[j] = train.labels[i]!;
          }
          update(xb.subarray(0, m * features), yb.subarray(0, m));
          call.onUpdate?.(m);
        }
      }
    },
    async step(images, labels) {
      const x = new Float32Array(images.length);
      for (let i = 0; i < images.length; i++) x[i] = images[i]! / 255;
      update(x, labels);
    },
    async scores(ds) {
      return scores(ds).s;
    },
    async evaluate(ds) {
      const { s, loss } = scores(ds);
      return scoresFrom(s, ds.labels, C, loss);
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      tf.dispose(vars);
      optimizer.dispose();
    },
  };
}

/** Adam's step size: searched log-uniformly; 10⁻³ (Adam's and Keras' default) is trial 0. */
const LEARNING_RATE = { name: 'learningRate', min: 1e-4, max: 1e-1, default: 1e-3 } as const;

/** The backprop MLP `features → hidden → C` (ReLU, softmax cross-entropy, Adam): the lattice's shape. */
export function backpropMethod(hidden = 64): Method {
  return {
    id: 'backprop',
    label: 'backprop MLP',
    shape: `MLP ·→${hidden}→· (ReLU, softmax cross-entropy, Adam; TensorFlow.js wasm)`,
    ranges: [{ ...LEARNING_RATE }],
    create: (hp, seed, features, classes) => denseLearner([features, hidden, classes], hp, seed),
  };
}

/** Multinomial logistic regression `features → C` (softmax cross-entropy, Adam). */
export function logregMethod(): Method {
  return {
    id: 'logreg',
    label: 'logistic regression',
    shape: 'linear ·→· (softmax cross-entropy, Adam; TensorFlow.js wasm)',
    ranges: [{ ...LEARNING_RATE }],
    create: (hp, seed, features, classes) => denseLearner([features, classes], hp, seed),
  };
}
