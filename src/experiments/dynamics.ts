/**
 * `ffit experiment dynamics`: online learning (batch 1, constant step) from the very first example.
 * Every method sees the same stream of `steps` training examples (class-balanced, in a seeded
 * random order) and is scored on a fixed, class-balanced test subset before the first update and
 * after every update: accuracy, mean −log P(y|x) and, for FFIT, the mean target energy E
 * (DESIGN.md §4) and the mean route entropy per site of every layer.
 *
 * FFIT's β, η and the baselines' Adam step are chosen on validation data with the same budget:
 * each trial makes one online pass over a selection seed's stream and is scored by its validation
 * accuracy at the end of the stream.
 */
import type { Dataset } from '../data/dataset.js';
import { subset } from '../data/dataset.js';
import { dataRecord, indicesSha256, startRun, type DataRecord, type Environment, type ExperimentData } from './data.js';
import type { Hyperparameters, Learner, Method, MethodId } from './methods.js';
import { ExperimentProgress, evalUnits, trainUnits } from './progress.js';
import { mean, sampleTrials, selectHyperparameters, std, type SearchLimits, type Selection, type SelectionFold } from './search.js';
import { balancedSubset, makeSplit } from './splits.js';
import { group } from 'd3-array';

export interface DynamicsConfig {
  /** Online updates per run (examples of the stream). */
  steps: number;
  seeds: number[];
  selectionSeeds: number[];
  trials: number;
  validation: number;
  /** Test images per class in the fixed test subset. */
  testPerClass: number;
  /** Seed of the test subset (the same subset for every seed and method). */
  testSeed: number;
  limits: SearchLimits;
}

/** One method, one seed, one point of the curve: after `step` updates (0 = untrained). */
export interface DynamicsPoint {
  method: MethodId;
  seed: number;
  step: number;
  testAccuracy: number;
  testLoss: number;
  /** FFIT: mean target energy on the test subset; null for the baselines (no lattice, no energy). */
  testEnergy: number | null;
  /** FFIT: mean route entropy per site (nats) of layer 0 and layer 1; null for the baselines. */
  entropy: number[] | null;
}

/** Mean and standard deviation over seeds at one step. */
export interface DynamicsMeanPoint {
  method: MethodId;
  step: number;
  seeds: number;
  accuracyMean: number;
  accuracyStd: number;
  lossMean: number;
  lossStd: number;
  energyMean: number | null;
  energyStd: number | null;
  entropyMean: number[] | null;
}

export interface DynamicsResult {
  experiment: 'dynamics';
  config: DynamicsConfig;
  methods: { id: MethodId; label: string; shape: string }[];
  data: DataRecord & { testSubsetCount: number };
  selections: { method: MethodId; selection: Selection; foldSeeds: number[] }[];
  /** SHA-256 of each seed's stream (indices into the pool, in order): equal for every method. */
  streams: { seed: number; trainSha256: string; trainIndices: number[] }[];
  points: DynamicsPoint[];
  curve: DynamicsMeanPoint[];
  seconds: number;
  environment: Environment;
}

export interface DynamicsDeps {
  methods: Method[];
  select?: typeof selectHyperparameters;
  progress?: ExperimentProgress;
}

/** The stream of one seed: `steps` examples, class-balanced, seeded order. */
function stream(pool: Dataset, seed: number, steps: number, validation: number): { fold: SelectionFold; indices: Int32Array } {
  const C = pool.classes.length;
  const split = makeSplit(pool, seed, Math.ceil(steps / C), validation);
  const indices = split.trainIndices.subarray(0, steps);
  return { fold: { seed, train: subset(pool, indices), validation: split.validation }, indices };
}

/** One online pass, one update per example in stream order. */
async function onlinePass(learner: Learner, train: Dataset, onUpdate?: (examples: number) => void,
  after?: (step: number) => Promise<void>): Promise<void> {
  const f = train.features;
  for (let i = 0; i < train.count; i++) {
    await learner.step(train.images.subarray(i * f, (i + 1) * f), train.labels.subarray(i, i + 1));
    onUpdate?.(1);
    await after?.(i + 1);
  }
}

/** Runs the dynamics protocol (module docstring). The test subset is used only for the curves. */
export async function runDynamics(data: ExperimentData, config: DynamicsConfig, deps: DynamicsDeps): Promise<DynamicsResult> {
  const finish = startRun(deps.methods);
  const select = deps.select ?? selectHyperparameters;
  const progress = deps.progress ?? new ExperimentProgress('dynamics', false);
  const { pool } = data;
  const features = pool.features, C = pool.classes.length;
  const testSubset = balancedSubset(data.test, config.testPerClass, config.testSeed);
  const folds = config.selectionSeeds.map((seed) => stream(pool, seed, config.steps, config.validation).fold);
  const fixed: Partial<Hyperparameters> = { batch: 1, epochs: 1, schedule: 'constant' };
  const trials = new Map(deps.methods.map((m) => [m.id, sampleTrials(m, config.steps, config.trials, 9100, config.limits, fixed)]));

  const perRun = trainUnits(config.steps, config.steps);
  for (const m of deps.methods) {
    progress.plan((perRun + evalUnits(folds[0]!.validation.count)) * config.trials * folds.length);
    progress.plan((perRun + evalUnits(testSubset.count) * (config.steps + 1)) * config.seeds.length);
  }
  const selections: DynamicsResult['selections'] = [];
  const chosen = new Map<MethodId, Hyperparameters>();
  for (const m of deps.methods) {
    const list = trials.get(m.id)!;
    const selection = await select(m, list, folds, {
      onTrial: (t, f) => progress.set({ phase: `select ${t + 1}/${list.length}`, method: m.id, seed: folds[f]!.seed, shots: `${config.steps} online` }),
      onUpdate: (k) => progress.advance(trainUnits(1, k)),
      onScored: (_t, _f, sc) => progress.advance(evalUnits(sc.count)),
      train: (learner, fold, _hp, onUpdate) => onlinePass(learner, fold.train, onUpdate),
    });
    selections.push({ method: m.id, selection, foldSeeds: folds.map((f) => f.seed) });
    chosen.set(m.id, selection.best);
  }

  const points: DynamicsPoint[] = [];
  const streams: DynamicsResult['streams'] = [];
  for (const seed of config.seeds) {
    const { fold, indices } = stream(pool, seed, config.steps, config.validation);
    streams.push({ seed, trainSha256: indicesSha256(indices), trainIndices: Array.from(indices) });
    for (const m of deps.methods) {
      progress.set({ phase: 'online', method: m.id, seed, shots: `${config.steps} online` });
      const learner = await m.create(chosen.get(m.id)!, seed, features, C);
      try {
        const record = async (step: number): Promise<void> => {
          const sc = await learner.evaluate(testSubset);
          progress.advance(evalUnits(testSubset.count));
          points.push({
            method: m.id, seed, step, testAccuracy: sc.accuracy, testLoss: sc.loss,
            testEnergy: sc.energy ?? null, entropy: learner.routeEntropy?.() ?? null,
          });
        };
        await record(0);
        await onlinePass(learner, fold.train, (k) => progress.advance(trainUnits(1, k)), record);
      } finally {
        learner.dispose();
      }
    }
  }
  progress.stop();
  return {
    experiment: 'dynamics',
    config,
    data: { ...dataRecord(data), testSubsetCount: testSubset.count },
    selections,
    streams,
    points,
    curve: meanCurve(points, deps.methods.map((m) => m.id), config.steps),
    ...finish(),
  };
}

/** Mean and standard deviation over seeds of every step of every method. */
export function meanCurve(points: readonly DynamicsPoint[], methods: readonly MethodId[], steps: number): DynamicsMeanPoint[] {
  const out: DynamicsMeanPoint[] = [];
  // grouped in one pass, each group in the points' order (the same sums as filtering per step,
  // which cost points × steps: 1.8 s for 2000 steps)
  const groups = group(points, (p) => p.method, (p) => p.step);
  for (const method of methods) {
    for (let step = 0; step <= steps; step++) {
      const at = groups.get(method)?.get(step) ?? [];
      if (at.length === 0) continue;
      const acc = at.map((p) => p.testAccuracy), loss = at.map((p) => p.testLoss);
      const energy = at.every((p) => p.testEnergy !== null) ? at.map((p) => p.testEnergy!) : null;
      const entropy = at.every((p) => p.entropy !== null)
        ? at[0]!.entropy!.map((_, l) => mean(at.map((p) => p.entropy![l]!)))
        : null;
      out.push({
        method, step, seeds: at.length,
        accuracyMean: mean(acc), accuracyStd: std(acc), lossMean: mean(loss), lossStd: std(loss),
        energyMean: energy ? mean(energy) : null, energyStd: energy ? std(energy) : null, entropyMean: entropy,
      });
    }
  }
  return out;
}
