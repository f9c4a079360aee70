/**
 * The demo's training run, the same code in the page's Web Worker and in Node (the end-to-end
 * test imports this file to check that the browser reproduces the Node result bit for bit).
 * Only the public `ffit` API is used: the page gets the browser bundle, Node the Node bundle.
 */
import {
  FfitError, InterferenceNetwork, Rng, fromIdx, parseIdx, sampleShots, selectClasses, splitValidation,
  type BackendChoice, type BatchMetrics, type Dataset, type EpochRecord, type Evaluation, type ModelJSON,
  type Response,
} from 'ffit';

/** What the user chose in the page's controls. */
export interface TrainConfig {
  /** Digits to classify, e.g. [0, 1, 2, 3]; target k is `classes[k]`. */
  classes: number[];
  /** Training examples per class (few-shot), or null for all of them. */
  shots: number | null;
  /** Hidden sites between the 784 sources and the targets; 0 = no hidden layer. */
  hidden: number;
  /** Durations per route D (ticks). */
  durations: number;
  /** Inverse temperature β of the targets. */
  beta: number;
  /** Learning rate η of the route logits. */
  eta: number;
  response: Response;
  epochs: number;
  batchSize: number;
  /** Seeds the network, the few-shot sample and the training order. */
  seed: number;
  backend: BackendChoice;
}

/** The demo's defaults: the README's `npm start` lattice, on the shipped slice. */
export const DEFAULT_CONFIG: TrainConfig = {
  classes: [0, 1, 2, 3], shots: null, hidden: 64, durations: 4, beta: 60, eta: 10, response: 'linear',
  epochs: 5, batchSize: 32, seed: 0, backend: 'auto',
};

/** A named file's bytes: an IDX file, plain or gzipped. */
export interface NamedBytes {
  name: string;
  bytes: Uint8Array;
}

/** Training and (optional) test sets read from IDX files. */
export interface LoadedData {
  train: Dataset;
  test: Dataset | null;
}

/**
 * Reads two or four IDX files (images: 3 dimensions, labels: 1; plain or .gz) in any order and
 * pairs images with labels by count. With two pairs, the one named `t10k`/`test` (else the smaller
 * one) is the test set. Throws `FfitError` (`E_DATA`, `E_IDX_*`) naming what is missing.
 */
export function readIdxFiles(files: readonly NamedBytes[]): LoadedData {
  const images: { name: string; dims: number[]; data: Uint8Array }[] = [];
  const labels: { name: string; dims: number[]; data: Uint8Array }[] = [];
  for (const f of files) {
    const idx = parseIdx(f.bytes, f.name);
    if (idx.dims.length === 3) images.push({ name: f.name, ...idx });
    else if (idx.dims.length === 1) labels.push({ name: f.name, ...idx });
    else throw new FfitError('E_DATA', `${f.name} has ${idx.dims.length} dimensions; drop image files (3: count × rows × cols) and label files (1: count).`);
  }
  const pairs = images.map((im) => {
    const matches = labels.filter((lb) => lb.dims[0] === im.dims[0]);
    const lb = matches.length === 1 ? matches[0] : matches.find((l) => isTest(l.name) === isTest(im.name));
    if (!lb) throw new FfitError('E_DATA', `${im.name} holds ${im.dims[0]} images but no dropped label file holds ${im.dims[0]} labels; drop its labels file too.`);
    const ds = fromIdx({ count: im.dims[0]!, rows: im.dims[1]!, cols: im.dims[2]!, pixels: im.data },
      { count: lb.dims[0]!, labels: lb.data }, im.name);
    return { test: isTest(im.name), ds };
  });
  if (pairs.length === 0) throw new FfitError('E_DATA', 'No image file among the dropped files; drop train-images-idx3-ubyte and train-labels-idx1-ubyte (optionally t10k-… too, .gz is fine).');
  if (pairs.length > 2) throw new FfitError('E_DATA', `${pairs.length} image files dropped; drop one training pair and at most one test pair.`);
  if (pairs.length === 1) return { train: pairs[0]!.ds, test: null };
  const [a, b] = pairs as [typeof pairs[0], typeof pairs[0]];
  const aIsTest = a.test !== b.test ? a.test : a.ds.count < b.ds.count;
  return aIsTest ? { train: b.ds, test: a.ds } : { train: a.ds, test: b.ds };
}

const isTest = (name: string): boolean => /t10k|test/i.test(name);

/**
 * The sets one run trains and tests on: the chosen classes (labels become 0 … C−1); a seeded 20 %
 * of the training data as the test set when no test file was given; then `shots` per class.
 */
export function prepareData(data: LoadedData, config: TrainConfig): { train: Dataset; test: Dataset } {
  const rng = new Rng(config.seed);
  let train = selectClasses(data.train, config.classes);
  let test: Dataset;
  if (data.test) {
    test = selectClasses(data.test, config.classes);
  } else {
    const split = splitValidation(train, 0.2, rng);
    train = split.train;
    test = split.validation!;
  }
  if (config.shots !== null) train = sampleShots(train, config.shots, rng);
  return { train, test };
}

/** A point of the live curves: running means over the batches since the previous point. */
export interface ProgressPoint {
  /** Epochs done, fractional (e.g. 1.5 = half-way through epoch 2). */
  x: number;
  /** Fraction of examples since the last point predicted right before their update. */
  trainAccuracy: number;
  /** Their mean target energy E. */
  trainEnergy: number;
  /** Examples done in the whole run, and in all. */
  done: number;
  total: number;
}

/** What one run returns. */
export interface RunResult {
  backend: string;
  lattice: number[];
  trainCount: number;
  testCount: number;
  history: EpochRecord[];
  /** The test set after the last epoch, with its confusion matrix. */
  test: Evaluation;
  model: ModelJSON;
  seconds: number;
}

/** Callbacks of {@link runTraining}; `pointsPerEpoch` curve points are reported per epoch. */
export interface RunHooks {
  pointsPerEpoch?: number;
  onStart?: (info: { backend: string; lattice: number[]; trainCount: number; testCount: number }) => void;
  onProgress?: (point: ProgressPoint) => void;
  onEpoch?: (record: EpochRecord) => void;
}

/** Builds the lattice 784 → hidden → C and trains it with `fit` (DESIGN.md §5), evaluating the test set every epoch. */
export async function runTraining(
  sets: { train: Dataset; test: Dataset }, config: TrainConfig, hooks: RunHooks = {},
): Promise<{ net: InterferenceNetwork; result: RunResult }> {
  const { train, test } = sets;
  const layers = [train.features, ...(config.hidden > 0 ? [config.hidden] : []), config.classes.length];
  const net = await InterferenceNetwork.create({
    layers, durations: config.durations, beta: config.beta, eta: config.eta, response: config.response,
    batchSize: config.batchSize, seed: config.seed, backend: config.backend,
  });
  hooks.onStart?.({ backend: net.backendName, lattice: layers, trainCount: train.count, testCount: test.count });
  const batches = Math.ceil(train.count / config.batchSize);
  const stride = Math.max(1, Math.round(batches / (hooks.pointsPerEpoch ?? 20)));
  let seen = 0, correct = 0, energy = 0, count = 0, batch = 0;
  const t0 = performance.now();
  const history = net.fit(train, {
    epochs: config.epochs,
    test,
    onBatch: (epoch: number, done: number, total: number, m: BatchMetrics) => {
      seen += m.count;
      correct += m.correct;
      energy += m.energy * m.count;
      count += m.count;
      batch++;
      if (batch % stride === 0 || done === total) {
        hooks.onProgress?.({
          x: epoch - 1 + done / total, trainAccuracy: correct / count, trainEnergy: energy / count,
          done: seen, total: total * config.epochs,
        });
        correct = energy = count = 0;
      }
      if (done === total) batch = 0;
    },
    onEpoch: hooks.onEpoch,
  });
  const seconds = (performance.now() - t0) / 1000;
  return {
    net,
    result: {
      backend: net.backendName, lattice: layers, trainCount: train.count, testCount: test.count, history,
      test: history[history.length - 1]!.test!, model: net.toJSON(), seconds,
    },
  };
}
