/**
 * The training worker: holds the data and the network, so the page stays responsive while the
 * kernels run. `fit` is synchronous here; its per-batch callback posts the live curves.
 */
import { FfitError, InterferenceNetwork, simdSupported, sitePositions, type Dataset } from 'ffit';
import type { ExampleRef, FromWorker, ToWorker, WorldlineView } from './protocol.js';
import { prepareData, readIdxFiles, runTraining, type LoadedData, type TrainConfig } from './run.js';
import { strongestWorldlines } from './worldlines.js';

/** The parts of DedicatedWorkerGlobalScope used here (the demo compiles against the DOM lib). */
const scope = self as unknown as {
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
};
const post = (message: FromWorker, transfer: Transferable[] = []): void => scope.postMessage(message, transfer);

let data: LoadedData | null = null;
let net: InterferenceNetwork | null = null;
let test: Dataset | null = null;
let config: TrainConfig | null = null;

function need<T>(value: T | null, what: string): T {
  if (value === null) throw new FfitError('E_DATA', what);
  return value;
}

async function train(c: TrainConfig): Promise<void> {
  const loaded = need(data, 'No data loaded yet; wait for the MNIST slice or drop IDX files.');
  const sets = prepareData(loaded, c);
  net?.dispose();
  net = null;
  const run = await runTraining(sets, c, {
    onStart: (info) => post({ type: 'started', ...info }),
    onProgress: (point) => post({ type: 'progress', point }),
    onEpoch: (record) => post({ type: 'epoch', record }),
  });
  net = run.net;
  test = sets.test;
  config = c;
  post({ type: 'done', result: run.result });
}

function image(example: ExampleRef): { pixels: Float32Array; digit: number | null } {
  if ('pixels' in example) return { pixels: example.pixels, digit: null };
  const t = need(test, 'Train a network first.');
  const i = Math.min(Math.max(0, Math.trunc(example.test)), t.count - 1);
  const f = t.features;
  return { pixels: Float32Array.from(t.images.subarray(i * f, (i + 1) * f)), digit: t.classes[t.labels[i]!]! };
}

function worldlines(example: ExampleRef, count: number): WorldlineView {
  const n = need(net, 'Train a network first.'), c = need(config, 'Train a network first.');
  const { pixels, digit } = image(example);
  const o = n.options, L = o.layers.length - 1;
  const proba = Array.from(n.predictProba(pixels)), moments = Array.from(n.moments(pixels));
  const predicted = n.predict(pixels)[0]!;
  const positions = o.layers.map((_, l) => sitePositions(o, l));
  const probabilities = o.layers.slice(0, L).map((_, l) => n.probabilities(l));
  let total = 0;
  for (const v of pixels) total += v;
  const a0 = pixels.map((v) => v / total);
  const lines = strongestWorldlines({ ...o, positions, probabilities }, a0, predicted, count);
  const last = probabilities[L - 1]!, nIn = o.layers[L - 1]!, C = o.layers[L]!, D = o.durations;
  const lastRoutes = new Float32Array(nIn * C);
  for (let i = 0; i < nIn * C; i++) for (let d = 0; d < D; d++) lastRoutes[i] = lastRoutes[i]! + last[i * D + d]!;
  return {
    pixels, digit, predicted, classes: c.classes, proba, moments, layers: [...o.layers], positions,
    omega: o.omega, tStar: o.tStar, durations: D, worldlines: lines, lastRoutes, testCount: test?.count ?? 0,
  };
}

async function handle(msg: ToWorker): Promise<void> {
  switch (msg.type) {
    case 'data': {
      data = readIdxFiles(msg.files.map((f) => ({ name: f.name, bytes: new Uint8Array(f.bytes) })));
      const digits = data.train.classes.filter((_, j) => data!.train.labels.includes(j));
      post({ type: 'data', source: msg.source, trainCount: data.train.count, testCount: data.test?.count ?? null, digits });
      return;
    }
    case 'train':
      return train(msg.config);
    case 'predict': {
      const n = need(net, 'Train a network first, then draw.');
      post({ type: 'prediction', id: msg.id, predicted: n.predict(msg.pixels)[0]!, proba: Array.from(n.predictProba(msg.pixels)), classes: need(config, '').classes });
      return;
    }
    case 'worldlines': {
      const view = worldlines(msg.example, msg.count);
      post({ type: 'worldlines', id: msg.id, ...view });
      return;
    }
  }
}

scope.onmessage = (e) => {
  handle(e.data).catch((err: unknown) => {
    post({
      type: 'error', during: e.data.type, message: err instanceof Error ? err.message : String(err),
      code: err instanceof FfitError ? err.code : null,
    });
  });
};

post({ type: 'ready', simd: simdSupported(), wasm: typeof WebAssembly === 'object' });
