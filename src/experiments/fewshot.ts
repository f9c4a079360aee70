/**
 * `ffit experiment fewshot`: test accuracy against shots per class for every method, on identical
 * splits, with hyperparameters chosen on validation data for each shot count.
 *
 * Protocol, per shot count `s`:
 * 1. selection — for each selection seed, hold out the validation split and draw `s` shots per class
 *    ({@link makeSplit}); every method runs the same number of trials ({@link sampleTrials}) on
 *    these folds and keeps the best mean validation accuracy ({@link selectHyperparameters});
 * 2. evaluation — for each evaluation seed (disjoint from the selection seeds), the split of that
 *    seed is cut once and every method trains on exactly those examples with its chosen
 *    hyperparameters and that seed, then is scored on the full test set.
 */
import { dataRecord, indicesSha256, startRun, type DataRecord, type Environment, type ExperimentData } from './data.js';
import type { Hyperparameters, Method, MethodId, Scores } from './methods.js';
import { ExperimentProgress, evalUnits, trainUnits } from './progress.js';
import {
  mean, sampleTrials, selectHyperparameters, std, trialUpdates,
  type SearchLimits, type Selection, type SelectionFold,
} from './search.js';
import { makeSplit, type Shots, type Split } from './splits.js';

/** Everything that defines a few-shot run. */
export interface FewshotConfig {
  shots: Shots[];
  /** Evaluation seeds (splits, initial states, shuffling). */
  seeds: number[];
  /** Seeds of the selection folds; keep them apart from `seeds`. */
  selectionSeeds: number[];
  /** Trials per method per shot count (the same budget for every method). */
  trials: number;
  /** Fraction of every class held out for validation. */
  validation: number;
  limits: SearchLimits;
  /** Shot counts whose per-class accuracy and confusion matrices the report shows. */
  detailShots: Shots[];
}

/** One trained model scored on the test set. */
export interface FewshotRun {
  method: MethodId;
  shots: Shots;
  seed: number;
  trainCount: number;
  /** SHA-256 of the training indices (into the pool, in training order): equal across methods. */
  trainSha256: string;
  validationSha256: string;
  hyperparameters: Hyperparameters;
  testAccuracy: number;
  testLoss: number;
  perClassAccuracy: number[];
  confusion: number[][];
  /** Training wall-clock seconds (evaluation excluded). */
  seconds: number;
  updates: number;
}

/** Chosen hyperparameters of one method at one shot count, with every trial. */
export interface FewshotSelection {
  method: MethodId;
  shots: Shots;
  trainCount: number;
  selection: Selection;
  foldSeeds: number[];
}

/** Mean ± standard deviation over seeds. */
export interface SummaryRow {
  method: MethodId;
  shots: Shots;
  seeds: number;
  mean: number;
  std: number;
  min: number;
  max: number;
}

/** The splits used for evaluation: indices are listed when the training set is small. */
export interface SplitRecord {
  seed: number;
  shots: Shots;
  trainCount: number;
  validationCount: number;
  trainSha256: string;
  validationSha256: string;
  /** Training indices into the pool, in training order (only when ≤ 1000 of them). */
  trainIndices: number[] | null;
}

/** Raw results of `ffit experiment fewshot`. */
export interface FewshotResult {
  experiment: 'fewshot';
  config: FewshotConfig;
  methods: { id: MethodId; label: string; shape: string }[];
  data: DataRecord;
  selections: FewshotSelection[];
  splits: SplitRecord[];
  runs: FewshotRun[];
  summary: SummaryRow[];
  seconds: number;
  environment: Environment;
}

/** Injectable pieces, so tests can spy on selection and on what each method receives. */
export interface FewshotDeps {
  methods: Method[];
  select?: typeof selectHyperparameters;
  progress?: ExperimentProgress;
}

export const shotsKey = (s: Shots): string => String(s);
/** Seed of the trial sampler for shot count `s` (independent of the list it appears in). */
const trialSeed = (s: Shots): number => 7000 + (s === 'all' ? 0 : s);

/** Runs the few-shot protocol (module docstring). Never passes the test set to selection. */
export async function runFewshot(data: ExperimentData, config: FewshotConfig, deps: FewshotDeps): Promise<FewshotResult> {
  const finish = startRun(deps.methods);
  const select = deps.select ?? selectHyperparameters;
  const progress = deps.progress ?? new ExperimentProgress('fewshot', false);
  const { pool, test } = data;
  const features = pool.features, C = pool.classes.length;

  // Folds and trials of every shot count first, so the progress total is known from the start.
  const plan = config.shots.map((s) => {
    const folds: SelectionFold[] = config.selectionSeeds.map((seed) => {
      const sp = makeSplit(pool, seed, s, config.validation);
      return { seed, train: sp.train, validation: sp.validation };
    });
    const n = folds[0]!.train.count;
    const trials = new Map(deps.methods.map((m) => [m.id, sampleTrials(m, n, config.trials, trialSeed(s), config.limits)]));
    return { s, folds, n, trials };
  });
  const costOf = (n: number, hp: Hyperparameters, evalCount: number): number =>
    trainUnits(trialUpdates(n, hp), n * hp.epochs) + evalUnits(evalCount);
  for (const p of plan) {
    for (const m of deps.methods) {
      const trials = p.trials.get(m.id)!;
      const perFold = trials.map((hp) => costOf(p.n, hp, p.folds[0]!.validation.count));
      progress.plan(perFold.reduce((a, b) => a + b, 0) * p.folds.length);
      progress.plan(mean(perFold) * config.seeds.length); // estimate until the choice is known
    }
  }

  const selections: FewshotSelection[] = [];
  const runs: FewshotRun[] = [];
  const splits: SplitRecord[] = [];
  for (const p of plan) {
    const chosen = new Map<MethodId, Hyperparameters>();
    for (const m of deps.methods) {
      const trials = p.trials.get(m.id)!;
      const selection = await select(m, trials, p.folds, {
        onTrial: (t, f) => progress.set({ phase: `select ${t + 1}/${trials.length}`, method: m.id, seed: p.folds[f]!.seed, shots: shotsKey(p.s) }),
        onUpdate: (k) => progress.advance(trainUnits(1, k)),
        onScored: (_t, _f, sc) => progress.advance(evalUnits(sc.count)),
      });
      selections.push({ method: m.id, shots: p.s, trainCount: p.n, selection, foldSeeds: p.folds.map((f) => f.seed) });
      chosen.set(m.id, selection.best);
      const estimate = mean(trials.map((hp) => costOf(p.n, hp, p.folds[0]!.validation.count)));
      progress.plan((costOf(p.n, selection.best, test.count) - estimate) * config.seeds.length);
    }
    for (const seed of config.seeds) {
      const split: Split = makeSplit(pool, seed, p.s, config.validation);
      const record = splitRecord(split);
      splits.push(record);
      for (const m of deps.methods) {
        const hp = chosen.get(m.id)!;
        progress.set({ phase: 'evaluate', method: m.id, seed, shots: shotsKey(p.s) });
        const learner = await m.create(hp, seed, features, C);
        try {
          const t1 = performance.now();
          let updates = 0;
          await learner.fit(split.train, {
            epochs: hp.epochs, schedule: hp.schedule,
            onUpdate: (k) => { updates++; progress.advance(trainUnits(1, k)); },
          });
          const seconds = (performance.now() - t1) / 1000;
          const sc: Scores = await learner.evaluate(test);
          progress.advance(evalUnits(test.count));
          runs.push({
            method: m.id, shots: p.s, seed, trainCount: split.train.count,
            trainSha256: record.trainSha256, validationSha256: record.validationSha256, hyperparameters: hp,
            testAccuracy: sc.accuracy, testLoss: sc.loss, perClassAccuracy: sc.perClassAccuracy, confusion: sc.confusion,
            seconds, updates,
          });
        } finally {
          learner.dispose();
        }
      }
    }
  }
  progress.stop();
  return {
    experiment: 'fewshot',
    config,
    data: dataRecord(data),
    selections,
    splits,
    runs,
    summary: summarise(runs, deps.methods.map((m) => m.id), config.shots),
    ...finish(),
  };
}

function splitRecord(split: Split): SplitRecord {
  return {
    seed: split.seed,
    shots: split.shots,
    trainCount: split.train.count,
    validationCount: split.validation.count,
    trainSha256: indicesSha256(split.trainIndices),
    validationSha256: indicesSha256(split.validationIndices),
    trainIndices: split.trainIndices.length <= 1000 ? Array.from(split.trainIndices) : null,
  };
}

/** Mean, standard deviation, min and max of test accuracy per (method, shots). */
export function summarise(runs: readonly FewshotRun[], methods: readonly MethodId[], shots: readonly Shots[]): SummaryRow[] {
  const out: SummaryRow[] = [];
  for (const s of shots) {
    for (const method of methods) {
      const acc = runs.filter((r) => r.method === method && r.shots === s).map((r) => r.testAccuracy);
      if (acc.length === 0) continue;
      out.push({ method, shots: s, seeds: acc.length, mean: mean(acc), std: std(acc), min: Math.min(...acc), max: Math.max(...acc) });
    }
  }
  return out;
}

