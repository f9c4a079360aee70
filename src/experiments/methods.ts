/**
 * The methods an experiment compares, behind one interface: FFIT (the interference lattice of
 * DESIGN.md) and two backprop baselines (`src/baselines/tfjs.ts`). Every method gets the same
 * data (`Dataset`s cut by `splits.ts`), the same seed and the same number of passes, and is
 * measured by the same code ({@link scoresFrom}).
 *
 * Inputs: every method receives the same pixel bytes 0 … 255. FFIT normalises each image to unit
 * total intensity (its source amplitudes, DESIGN.md §3), so it is invariant to the pixel scale;
 * the baselines divide by 255 (the usual MNIST scaling).
 */
import type { Dataset } from '../data/dataset.js';
import { InterferenceNetwork, type Schedule } from '../network.js';
import type { BackendChoice } from '../backend/index.js';

/** Identifiers of the compared methods. */
export type MethodId = 'ffit' | 'backprop' | 'logreg';
/** All methods, in report order. */
export const METHOD_IDS: readonly MethodId[] = ['ffit', 'backprop', 'logreg'];

/**
 * Hyperparameters of one training run. `batch` (examples per update) and `epochs` (passes over the
 * training set) are shared by every method; `beta`, `eta`, `schedule` are FFIT's (DESIGN.md §4–§5),
 * `learningRate` is Adam's step size for the baselines.
 */
export interface Hyperparameters {
  batch: number;
  epochs: number;
  beta?: number;
  eta?: number;
  /** FFIT's η schedule over the run (`fit`); the baselines always use a constant Adam step. */
  schedule?: Schedule;
  learningRate?: number;
}

/** A method-specific hyperparameter searched log-uniformly in `[min, max]`. */
export interface ParamRange {
  name: 'beta' | 'eta' | 'learningRate';
  min: number;
  max: number;
  /** The method's usual value, tried as trial 0 of every search. */
  default: number;
}

/** Metrics of a learner on a labelled set, computed from its class scores. */
export interface Scores {
  count: number;
  /** Fraction of argmax = label, in [0, 1]. */
  accuracy: number;
  /** Mean −log P(y|x), nats (FFIT: P = softmax(β M), so it depends on β). */
  loss: number;
  /** Per true class: fraction predicted correctly (NaN-free: classes with no example get 0). */
  perClassAccuracy: number[];
  /** C × C counts, row = true class, column = predicted class. */
  confusion: number[][];
  /** FFIT only: mean instantaneous target energy E (DESIGN.md §4), dimensionless. */
  energy?: number;
}

/** Options of {@link Learner.fit}. */
export interface FitCall {
  epochs: number;
  /** FFIT's η schedule across these epochs; ignored by the baselines (constant Adam step). */
  schedule?: Schedule;
  /** Called after every update with the number of examples it used. */
  onUpdate?: (examples: number) => void;
}

/** A model being trained by one method. */
export interface Learner {
  /** `epochs` passes over `train` in shuffled batches of the configured size (order seeded by the learner's seed). */
  fit(train: Dataset, call: FitCall): Promise<void>;
  /** One update on exactly these examples (`images` is `count × features`), no shuffling: online learning. */
  step(images: Uint8Array | Float32Array, labels: Int32Array): Promise<void>;
  /** Class scores, `count × C`: FFIT's moments M_k, the baselines' logits. Prediction is the argmax. */
  scores(ds: Dataset): Promise<Float32Array>;
  /** Accuracy, loss, per-class accuracy and confusion on `ds` (plus energy for FFIT). */
  evaluate(ds: Dataset): Promise<Scores>;
  /** FFIT only: mean route entropy per site (nats), one value per layer. */
  routeEntropy?(): number[];
  dispose(): void;
}

/** A method: its hyperparameter ranges and how to build a learner. */
export interface Method {
  id: MethodId;
  /** Human name used in reports. */
  label: string;
  /** Shape of the model, for the report (e.g. `784→64→4 lattice, D=4`). */
  shape: string;
  ranges: ParamRange[];
  /** Builds an untrained learner for `classes` targets from `hp` and `seed` (initial state and shuffling). */
  create(hp: Hyperparameters, seed: number, features: number, classes: number): Promise<Learner>;
}

/**
 * Accuracy, per-class accuracy and confusion from argmax of `scores` (`count × C`), plus
 * `loss` supplied by the caller.
 */
export function scoresFrom(scores: Float32Array, labels: Int32Array, C: number, loss: number): Scores {
  const confusion = Array.from({ length: C }, () => new Array<number>(C).fill(0));
  const n = labels.length;
  let correct = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let k = 1; k < C; k++) if (scores[i * C + k]! > scores[i * C + best]!) best = k;
    confusion[labels[i]!]![best]!++;
    if (best === labels[i]) correct++;
  }
  const perClassAccuracy = confusion.map((row, k) => {
    const total = row.reduce((a, b) => a + b, 0);
    return total === 0 ? 0 : row[k]! / total;
  });
  return { count: n, accuracy: n === 0 ? 0 : correct / n, loss, perClassAccuracy, confusion };
}

/** FFIT's lattice `features → hidden → C`, dense, D durations, linear response, Boltzmann objective. */
export interface FfitMethodOptions {
  hidden: number;
  durations: number;
  backend: BackendChoice;
}

/**
 * FFIT as a {@link Method}: an {@link InterferenceNetwork} `features → hidden → C` with the project
 * defaults (DESIGN.md) except β, η, batch, epochs and schedule, which come from `hp`.
 */
export function ffitMethod(options: Partial<FfitMethodOptions> = {}): Method {
  const { hidden = 64, durations = 4, backend = 'auto' } = options;
  return {
    id: 'ffit',
    label: 'FFIT',
    shape: `lattice ·→${hidden}→· (dense, D = ${durations}, linear response, Boltzmann objective)`,
    ranges: [
      { name: 'beta', min: 15, max: 240, default: 60 },
      { name: 'eta', min: 0.1, max: 100, default: 10 },
    ],
    async create(hp, seed, features, classes) {
      const net = await InterferenceNetwork.create({
        layers: [features, hidden, classes], durations, beta: hp.beta, eta: hp.eta, batchSize: hp.batch, seed, backend,
      });
      const evaluate = async (ds: Dataset): Promise<Scores> => {
        const r = net.evaluate(ds.images, ds.labels);
        const perClassAccuracy = r.confusion.map((row, k) => {
          const total = row.reduce((a, b) => a + b, 0);
          return total === 0 ? 0 : row[k]! / total;
        });
        return { count: r.count, accuracy: r.accuracy, loss: r.loss, perClassAccuracy, confusion: r.confusion, energy: r.energy };
      };
      return {
        async fit(train, call) {
          net.fit(train, {
            epochs: call.epochs,
            schedule: call.schedule ?? hp.schedule ?? 'linear',
            onBatch: call.onUpdate ? (_e, _done, _total, m) => call.onUpdate!(m.count) : undefined,
          });
        },
        async step(images, labels) {
          net.trainBatch(images, labels);
        },
        async scores(ds) {
          return net.moments(ds.images);
        },
        evaluate,
        routeEntropy: () => net.routeEntropy(),
        dispose: () => net.dispose(),
      };
    },
  };
}
