/**
 * `ffit experiment forgetting`: learn task A (digits {0, 1}) to a criterion, then task B ({2, 3})
 * to the same criterion, with a model that has all four targets throughout (class-incremental).
 * Reported: test accuracy on A's digits before and after B (the forgetting), on B's digits, on
 * all four, and A's accuracy after every epoch of B. "Task-aware" accuracy on A (the argmax over
 * A's targets only) separates a lost representation from a shifted output bias.
 *
 * Hyperparameters (FFIT's β, η, batch; Adam's step, batch) are chosen on the validation split of
 * the joint 4-class problem at the same number of shots, constant step. Each task then trains epoch
 * by epoch until the validation accuracy on its digits reaches `criterion`, for at most the chosen
 * number of epochs (or `maxEpochs` when given).
 */
import type { Dataset } from '../data/dataset.js';
import { dataRecord, indicesSha256, startRun, type DataRecord, type Environment, type ExperimentData } from './data.js';
import type { Hyperparameters, Learner, Method, MethodId } from './methods.js';
import { ExperimentProgress, evalUnits, trainUnits } from './progress.js';
import { mean, sampleTrials, selectHyperparameters, std, trialUpdates, type SearchLimits, type Selection, type SelectionFold } from './search.js';
import { keepLabels, makeSplit, type Shots } from './splits.js';

export interface ForgettingConfig {
  /** Training examples per class of each task. */
  shots: Shots;
  taskA: number[];
  taskB: number[];
  /** Validation accuracy on the current task's digits that ends its training, in (0, 1]. */
  criterion: number;
  /** Most epochs per task; `null`: the number of epochs chosen for the method on the joint problem. */
  maxEpochs: number | null;
  seeds: number[];
  selectionSeeds: number[];
  trials: number;
  validation: number;
  limits: SearchLimits;
}

/** Test accuracies of one model at one moment. */
export interface TaskScores {
  /** 4-way accuracy on the test images of task A's digits. */
  accuracyA: number;
  /** 4-way accuracy on the test images of task B's digits. */
  accuracyB: number;
  /** 4-way accuracy on all test images. */
  accuracyAll: number;
  /** Accuracy on task A's test images with the argmax restricted to A's targets. */
  taskAwareA: number;
}

export interface ForgettingRun {
  method: MethodId;
  seed: number;
  trainSha256: string;
  hyperparameters: Hyperparameters;
  epochsA: number;
  reachedA: boolean;
  epochsB: number;
  reachedB: boolean;
  /** After task A. */
  afterA: TaskScores;
  /** After task B. */
  afterB: TaskScores;
  /** A's and B's 4-way test accuracy after each epoch of task B (index 0 = before B). */
  duringB: { epoch: number; accuracyA: number; accuracyB: number }[];
}

/** The quantities summarised over seeds, in report order. */
export const FORGETTING_METRICS = [
  'A after A', 'A after B', 'B after B', 'all after B', 'A task-aware after B', 'forgetting (A after A − A after B)',
] as const;

export interface ForgettingSummary {
  method: MethodId;
  seeds: number;
  metric: (typeof FORGETTING_METRICS)[number];
  mean: number;
  std: number;
}

export interface ForgettingResult {
  experiment: 'forgetting';
  config: ForgettingConfig;
  methods: { id: MethodId; label: string; shape: string }[];
  data: DataRecord;
  selections: { method: MethodId; selection: Selection; foldSeeds: number[] }[];
  runs: ForgettingRun[];
  summary: ForgettingSummary[];
  seconds: number;
  environment: Environment;
}

export interface ForgettingDeps {
  methods: Method[];
  select?: typeof selectHyperparameters;
  progress?: ExperimentProgress;
}

/** Argmax accuracy of `scores` (`count × C`) over the targets in `allowed` only. */
function restrictedAccuracy(scores: Float32Array, labels: Int32Array, C: number, allowed: readonly number[]): number {
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    let best = allowed[0]!;
    for (const k of allowed) if (scores[i * C + k]! > scores[i * C + best]!) best = k;
    if (best === labels[i]) correct++;
  }
  return labels.length === 0 ? 0 : correct / labels.length;
}

/** Runs the forgetting protocol (module docstring). */
export async function runForgetting(data: ExperimentData, config: ForgettingConfig, deps: ForgettingDeps): Promise<ForgettingResult> {
  const finish = startRun(deps.methods);
  const select = deps.select ?? selectHyperparameters;
  const progress = deps.progress ?? new ExperimentProgress('forgetting', false);
  const { pool, test } = data;
  const features = pool.features, C = pool.classes.length;
  const testA = keepLabels(test, config.taskA), testB = keepLabels(test, config.taskB);

  const folds: SelectionFold[] = config.selectionSeeds.map((seed) => {
    const sp = makeSplit(pool, seed, config.shots, config.validation);
    return { seed, train: sp.train, validation: sp.validation };
  });
  const n = folds[0]!.train.count;
  const trials = new Map(deps.methods.map((m) => [m.id, sampleTrials(m, n, config.trials, 9200, config.limits, { schedule: 'constant' })]));
  for (const m of deps.methods) {
    for (const hp of trials.get(m.id)!) progress.plan((trainUnits(trialUpdates(n, hp), n * hp.epochs) + evalUnits(folds[0]!.validation.count)) * folds.length);
    progress.plan(config.seeds.length * (trainUnits(n, n * 4) + evalUnits(test.count * 6))); // rough until the choice is known
  }

  const selections: ForgettingResult['selections'] = [];
  const chosen = new Map<MethodId, Hyperparameters>();
  for (const m of deps.methods) {
    const list = trials.get(m.id)!;
    const selection = await select(m, list, folds, {
      onTrial: (t, f) => progress.set({ phase: `select ${t + 1}/${list.length}`, method: m.id, seed: folds[f]!.seed, shots: String(config.shots) }),
      onUpdate: (k) => progress.advance(trainUnits(1, k)),
      onScored: (_t, _f, sc) => progress.advance(evalUnits(sc.count)),
    });
    selections.push({ method: m.id, selection, foldSeeds: folds.map((f) => f.seed) });
    chosen.set(m.id, selection.best);
  }

  const runs: ForgettingRun[] = [];
  for (const seed of config.seeds) {
    const split = makeSplit(pool, seed, config.shots, config.validation);
    const trainA = keepLabels(split.train, config.taskA), trainB = keepLabels(split.train, config.taskB);
    const valA = keepLabels(split.validation, config.taskA), valB = keepLabels(split.validation, config.taskB);
    for (const m of deps.methods) {
      const hp = chosen.get(m.id)!;
      const learner = await m.create(hp, seed, features, C);
      try {
        const scoresNow = async (): Promise<TaskScores> => {
          const a = await learner.evaluate(testA), b = await learner.evaluate(testB), all = await learner.evaluate(test);
          const taskAwareA = restrictedAccuracy(await learner.scores(testA), testA.labels, C, config.taskA);
          progress.advance(evalUnits(2 * test.count));
          return { accuracyA: a.accuracy, accuracyB: b.accuracy, accuracyAll: all.accuracy, taskAwareA };
        };
        const maxEpochs = config.maxEpochs ?? hp.epochs;
        const toCriterion = async (train: Dataset, val: Dataset, task: string,
          each?: (epoch: number) => Promise<void>): Promise<{ epochs: number; reached: boolean }> => {
          for (let epoch = 1; epoch <= maxEpochs; epoch++) {
            progress.set({ phase: `task ${task} epoch ${epoch}`, method: m.id, seed, shots: String(config.shots) });
            await learner.fit(train, { epochs: 1, schedule: 'constant', onUpdate: (k) => progress.advance(trainUnits(1, k)) });
            await each?.(epoch);
            const v = await learner.evaluate(val);
            if (v.accuracy >= config.criterion) return { epochs: epoch, reached: true };
          }
          return { epochs: maxEpochs, reached: false };
        };
        const a = await toCriterion(trainA, valA, 'A');
        const afterA = await scoresNow();
        const duringB = [{ epoch: 0, accuracyA: afterA.accuracyA, accuracyB: afterA.accuracyB }];
        const b = await toCriterion(trainB, valB, 'B', async (epoch) => {
          const [sa, sb] = [await learner.evaluate(testA), await learner.evaluate(testB)];
          duringB.push({ epoch, accuracyA: sa.accuracy, accuracyB: sb.accuracy });
        });
        const afterB = await scoresNow();
        runs.push({
          method: m.id, seed, trainSha256: indicesSha256(split.trainIndices), hyperparameters: hp,
          epochsA: a.epochs, reachedA: a.reached, epochsB: b.epochs, reachedB: b.reached, afterA, afterB, duringB,
        });
      } finally {
        learner.dispose();
      }
    }
  }
  progress.stop();
  return {
    experiment: 'forgetting',
    config,
    data: dataRecord(data),
    selections,
    runs,
    summary: summariseForgetting(runs, deps.methods.map((m) => m.id)),
    ...finish(),
  };
}

/** Mean ± standard deviation over seeds of every reported quantity. */
export function summariseForgetting(runs: readonly ForgettingRun[], methods: readonly MethodId[]): ForgettingSummary[] {
  const metrics: [ForgettingSummary['metric'], (r: ForgettingRun) => number][] = [
    ['A after A', (r) => r.afterA.accuracyA],
    ['A after B', (r) => r.afterB.accuracyA],
    ['B after B', (r) => r.afterB.accuracyB],
    ['all after B', (r) => r.afterB.accuracyAll],
    ['A task-aware after B', (r) => r.afterB.taskAwareA],
    ['forgetting (A after A − A after B)', (r) => r.afterA.accuracyA - r.afterB.accuracyA],
  ];
  const out: ForgettingSummary[] = [];
  for (const method of methods) {
    const rs = runs.filter((r) => r.method === method);
    if (rs.length === 0) continue;
    for (const [metric, f] of metrics) out.push({ method, seeds: rs.length, metric, mean: mean(rs.map(f)), std: std(rs.map(f)) });
  }
  return out;
}
