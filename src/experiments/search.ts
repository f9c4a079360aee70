/**
 * Hyperparameter selection on the validation split, with the same budget for every method.
 *
 * Every method gets `trials` configurations per cell. Trial 0 is the method's usual setting
 * (FFIT: β = 60, η = 10; Adam: 10⁻³) with batch 32 and a default number of epochs; trials 1 … are
 * random search (log-uniform in each method's ranges; the number of updates log-uniform too). The
 * shared part of a trial — batch size and epochs — is drawn from one generator, so trial j of every
 * method trains with the same batch size and the same number of passes; only the method's own
 * knobs differ.
 *
 * {@link selectHyperparameters} takes training and validation examples only: its signature has no
 * place for test data, so model selection cannot see the test set.
 */
import { check } from '../errors.js';
import type { Dataset } from '../data/dataset.js';
import { Rng } from '../rng.js';
import type { Hyperparameters, Learner, Method, Scores } from './methods.js';

/** How much one trial may cost, and the grids it draws from. */
export interface SearchLimits {
  /** Candidate batch sizes (examples per update); a batch larger than the set becomes the whole set. */
  batches: number[];
  /** Candidate numbers of epochs (passes over the training set). */
  epochs: number[];
  /** At most this many updates per trial. */
  maxUpdates: number;
  /** At most this many training examples processed per trial (examples × epochs). */
  maxExamples: number;
}

/** Defaults of the full protocol. */
export const DEFAULT_LIMITS: SearchLimits = {
  batches: [1, 8, 32, 128],
  epochs: [1, 2, 3, 5, 10, 20, 50, 100, 200],
  maxUpdates: 2500,
  maxExamples: 200_000,
};

const updatesOf = (n: number, batch: number, epochs: number): number => Math.ceil(n / Math.min(batch, n)) * epochs;

/**
 * The `(batch, epochs)` pairs a trial on `n` training examples may use: batch sizes are capped at
 * `n` (duplicates dropped), and a pair is kept if it stays within `maxUpdates` and `maxExamples`.
 * Falls back to the cheapest pair when none fits. Returned grouped by batch, each list non-empty.
 */
export function feasibleSchedules(n: number, limits: SearchLimits): Map<number, number[]> {
  check(n >= 1, 'a trial needs at least one training example.', 'E_DATA');
  const out = new Map<number, number[]>();
  for (const b0 of limits.batches) {
    const b = Math.min(b0, n);
    if (out.has(b)) continue;
    const epochs = limits.epochs.filter((e) => updatesOf(n, b, e) <= limits.maxUpdates && n * e <= limits.maxExamples);
    if (epochs.length > 0) out.set(b, epochs);
  }
  if (out.size === 0) {
    const b = Math.min(Math.max(...limits.batches), n);
    out.set(b, [Math.min(...limits.epochs)]);
  }
  return out;
}

/**
 * The default schedule of trial 0: batch 32 (or the nearest feasible), and the fewest epochs that
 * make at least 3 passes and 1000 updates (the project's `ffit train` default, 3 epochs of batch 32
 * on the full set, is 2091 updates), or the most the limits allow.
 */
export function defaultSchedule(n: number, limits: SearchLimits): { batch: number; epochs: number } {
  const feasible = feasibleSchedules(n, limits);
  const batches = [...feasible.keys()];
  const batch = batches.reduce((a, b) => (Math.abs(b - Math.min(32, n)) < Math.abs(a - Math.min(32, n)) ? b : a));
  const epochs = feasible.get(batch)!;
  return { batch, epochs: epochs.find((e) => e >= 3 && updatesOf(n, batch, e) >= 1000) ?? epochs[epochs.length - 1]! };
}

/** Fewest updates a random trial aims for (its target is log-uniform from here to the most its batch allows). */
export const MIN_TRIAL_UPDATES = 100;

/**
 * A random schedule: a batch size uniformly from the feasible ones, then the feasible number of
 * epochs whose update count is nearest (in log scale) to a target drawn log-uniformly between
 * {@link MIN_TRIAL_UPDATES} and the most updates that batch allows. Drawing the *updates*
 * rather than the epochs keeps trials from spending most of the budget on a handful of steps.
 */
function randomSchedule(n: number, feasible: Map<number, number[]>, rng: Rng): { batch: number; epochs: number } {
  const batches = [...feasible.keys()];
  const batch = batches[rng.int(batches.length)]!;
  const epochs = feasible.get(batch)!;
  const most = updatesOf(n, batch, epochs[epochs.length - 1]!);
  const least = Math.min(MIN_TRIAL_UPDATES, most);
  const target = Math.exp(Math.log(least) + rng.float() * Math.log(most / least));
  const distance = (e: number): number => Math.abs(Math.log(updatesOf(n, batch, e) / target));
  return { batch, epochs: epochs.reduce((a, e) => (distance(e) < distance(a) ? e : a)) };
}

const round3 = (x: number): number => Number(x.toPrecision(3));

/**
 * `trials` configurations for `method` on `n` training examples, seeded by `seed`. Trial 0 is the
 * default; the shared `(batch, epochs)` of trial j ≥ 1 depends only on `(seed, n, j)`, not on the
 * method. Method knobs are log-uniform in `method.ranges`, rounded to 3 significant digits.
 */
export function sampleTrials(method: Pick<Method, 'id' | 'ranges'>, n: number, trials: number, seed: number,
  limits: SearchLimits, fixed: Partial<Hyperparameters> = {}): Hyperparameters[] {
  check(Number.isInteger(trials) && trials >= 1, `the search budget must be at least 1 trial per method; got ${trials}.`);
  const feasible = feasibleSchedules(n, limits);
  const shared = new Rng(seed);
  const own = new Rng(seed ^ 0x5bd1e995 ^ hashId(method.id));
  const out: Hyperparameters[] = [];
  for (let j = 0; j < trials; j++) {
    let hp: Hyperparameters;
    if (j === 0) {
      hp = { ...defaultSchedule(n, limits) };
      for (const r of method.ranges) hp[r.name] = r.default;
    } else {
      hp = randomSchedule(n, feasible, shared);
      for (const r of method.ranges) hp[r.name] = round3(Math.exp(Math.log(r.min) + own.float() * Math.log(r.max / r.min)));
    }
    out.push({ ...hp, ...fixed });
  }
  return out;
}

function hashId(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return h | 0;
}

/** Training and validation examples of one selection seed. No test data. */
export interface SelectionFold {
  seed: number;
  train: Dataset;
  validation: Dataset;
}

/** One trial's outcome. */
export interface TrialResult {
  hyperparameters: Hyperparameters;
  /** Validation accuracy on each fold, in fold order. */
  validationAccuracy: number[];
  /** Validation loss (mean −log P(y|x), nats) on each fold. */
  validationLoss: number[];
  /** Mean validation accuracy over folds: the selection score. */
  score: number;
  seconds: number;
}

/** What {@link selectHyperparameters} returns. */
export interface Selection {
  best: Hyperparameters;
  /** Index of the chosen trial. */
  bestTrial: number;
  trials: TrialResult[];
}

/** Callbacks of a selection run. */
export interface SelectionHooks {
  /** Before each (trial, fold). */
  onTrial?: (trial: number, fold: number, hp: Hyperparameters) => void;
  /** After every update with the number of examples it used. */
  onUpdate?: (examples: number) => void;
  /** After each (trial, fold) is scored. */
  onScored?: (trial: number, fold: number, scores: Scores) => void;
  /**
   * Trains one trial on one fold; by default `learner.fit(fold.train, {epochs})`. The dynamics
   * experiment replaces it by one online pass.
   */
  train?: (learner: Learner, fold: SelectionFold, hp: Hyperparameters, onUpdate?: (examples: number) => void) => Promise<void>;
}

/**
 * Trains every trial on every fold's training examples, scores it on that fold's validation
 * examples and picks the trial with the highest mean validation accuracy (ties: lower mean
 * validation loss, then the earlier trial). Learners are seeded with the fold's seed.
 *
 * @throws FfitError `E_OPTION` with no trials or no folds.
 */
export async function selectHyperparameters(method: Method, trials: readonly Hyperparameters[],
  folds: readonly SelectionFold[], hooks: SelectionHooks = {}): Promise<Selection> {
  check(trials.length >= 1 && folds.length >= 1, 'selection needs at least one trial and one fold.');
  const results: TrialResult[] = [];
  for (let t = 0; t < trials.length; t++) {
    const hp = trials[t]!;
    const acc: number[] = [], loss: number[] = [];
    const t0 = performance.now();
    for (let f = 0; f < folds.length; f++) {
      const fold = folds[f]!;
      hooks.onTrial?.(t, f, hp);
      const learner = await method.create(hp, fold.seed, fold.train.features, fold.train.classes.length);
      try {
        if (hooks.train) await hooks.train(learner, fold, hp, hooks.onUpdate);
        else await learner.fit(fold.train, { epochs: hp.epochs, schedule: hp.schedule, onUpdate: hooks.onUpdate });
        const s = await learner.evaluate(fold.validation);
        hooks.onScored?.(t, f, s);
        acc.push(s.accuracy);
        loss.push(s.loss);
      } finally {
        learner.dispose();
      }
    }
    results.push({ hyperparameters: hp, validationAccuracy: acc, validationLoss: loss, score: mean(acc), seconds: (performance.now() - t0) / 1000 });
  }
  let bestTrial = 0;
  for (let t = 1; t < results.length; t++) {
    const a = results[t]!, b = results[bestTrial]!;
    if (a.score > b.score || (a.score === b.score && mean(a.validationLoss) < mean(b.validationLoss))) bestTrial = t;
  }
  return { best: trials[bestTrial]!, bestTrial, trials: results };
}

/** Arithmetic mean (0 for an empty list). */
export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample standard deviation (n − 1 in the denominator; 0 below two values). */
export function std(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

/** Estimated updates of a trial (for progress and ETA). */
export function trialUpdates(n: number, hp: Hyperparameters): number {
  return updatesOf(n, hp.batch, hp.epochs);
}
