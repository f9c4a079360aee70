/**
 * The file formats the experiments write, as zod schemas: `results.json` of each experiment and
 * the columns of each CSV. Results are validated before they are written (a bug fails loudly
 * instead of writing a malformed file) and the tests read the files back against the same schemas.
 */
import { z } from 'zod';
import type { DynamicsResult } from './dynamics.js';
import type { FewshotResult } from './fewshot.js';
import { FORGETTING_METRICS, type ForgettingResult } from './forgetting.js';

const fraction = z.number().min(0).max(1);
const int = z.number().int();
const shots = z.union([z.number().int().min(1), z.literal('all')]);
const method = z.enum(['ffit', 'backprop', 'logreg']);
const sha = z.string().regex(/^[0-9a-f]{64}$/);
const matrix = z.array(z.array(int.min(0)));

export const hyperparametersSchema = z.object({
  batch: int.min(1),
  epochs: int.min(1),
  beta: z.number().positive().optional(),
  eta: z.number().min(0).optional(),
  schedule: z.enum(['constant', 'linear', 'cosine']).optional(),
  learningRate: z.number().positive().optional(),
}).strict();

const limits = z.object({
  batches: z.array(int.min(1)).min(1),
  epochs: z.array(int.min(1)).min(1),
  maxUpdates: int.min(1),
  maxExamples: int.min(1),
}).strict();

const selection = z.object({
  best: hyperparametersSchema,
  bestTrial: int.min(0),
  trials: z.array(z.object({
    hyperparameters: hyperparametersSchema,
    validationAccuracy: z.array(fraction).min(1),
    validationLoss: z.array(z.number().min(0)).min(1),
    score: fraction,
    seconds: z.number().min(0),
  }).strict()).min(1),
}).strict();

/** Text that the report prints in Markdown tables and prose: no control characters, table pipes,
 *  HTML brackets or backticks (a hand-edited label must not break a table or inject markup). */
const text = z.string().max(300).regex(/^[^\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069|<>`]*$/,
  'must not contain control characters, bidirectional overrides, |, <, > or `');
const environment = z.object({
  node: text, cpus: int.min(1), loadStart: z.number().min(0), loadEnd: z.number().min(0), startedAt: z.string().datetime(),
}).strict();

const methods = z.array(z.object({ id: method, label: text.min(1), shape: text }).strict()).min(1);
const dataInfo = z.object({
  source: text,
  classes: z.array(int.min(0).max(255)), // IDX labels are unsigned bytes
  poolCount: int.min(1),
  testCount: int.min(1),
}).strict();

export const fewshotResultSchema = z.object({
  experiment: z.literal('fewshot'),
  config: z.object({
    shots: z.array(shots).min(1),
    seeds: z.array(int).min(1),
    selectionSeeds: z.array(int).min(1),
    trials: int.min(1),
    validation: z.number().gt(0).lt(1),
    limits,
    detailShots: z.array(shots),
  }).strict(),
  methods,
  data: dataInfo,
  selections: z.array(z.object({
    method, shots, trainCount: int.min(1), selection, foldSeeds: z.array(int).min(1),
  }).strict()),
  splits: z.array(z.object({
    seed: int, shots, trainCount: int.min(1), validationCount: int.min(1),
    trainSha256: sha, validationSha256: sha, trainIndices: z.array(int.min(0)).nullable(),
  }).strict()),
  runs: z.array(z.object({
    method, shots, seed: int, trainCount: int.min(1), trainSha256: sha, validationSha256: sha,
    hyperparameters: hyperparametersSchema, testAccuracy: fraction, testLoss: z.number().min(0),
    perClassAccuracy: z.array(fraction), confusion: matrix, seconds: z.number().min(0), updates: int.min(1),
  }).strict()),
  summary: z.array(z.object({
    method, shots, seeds: int.min(1), mean: fraction, std: z.number().min(0), min: fraction, max: fraction,
  }).strict()),
  seconds: z.number().min(0),
  environment,
}).strict();

export const dynamicsResultSchema = z.object({
  experiment: z.literal('dynamics'),
  config: z.object({
    steps: int.min(1),
    seeds: z.array(int).min(1),
    selectionSeeds: z.array(int).min(1),
    trials: int.min(1),
    validation: z.number().gt(0).lt(1),
    testPerClass: int.min(1),
    testSeed: int,
    limits,
  }).strict(),
  methods,
  data: dataInfo.extend({ testSubsetCount: int.min(1) }).strict(),
  selections: z.array(z.object({ method, selection, foldSeeds: z.array(int).min(1) }).strict()),
  streams: z.array(z.object({ seed: int, trainSha256: sha, trainIndices: z.array(int.min(0)) }).strict()),
  points: z.array(z.object({
    method, seed: int, step: int.min(0), testAccuracy: fraction, testLoss: z.number().min(0),
    testEnergy: z.number().nullable(), entropy: z.array(z.number().min(0)).nullable(),
  }).strict()),
  curve: z.array(z.object({
    method, step: int.min(0), seeds: int.min(1), accuracyMean: fraction, accuracyStd: z.number().min(0),
    lossMean: z.number().min(0), lossStd: z.number().min(0), energyMean: z.number().nullable(),
    energyStd: z.number().min(0).nullable(), entropyMean: z.array(z.number().min(0)).nullable(),
  }).strict()),
  seconds: z.number().min(0),
  environment,
}).strict();

const taskScores = z.object({ accuracyA: fraction, accuracyB: fraction, accuracyAll: fraction, taskAwareA: fraction }).strict();

export const forgettingResultSchema = z.object({
  experiment: z.literal('forgetting'),
  config: z.object({
    shots,
    taskA: z.array(int).min(1),
    taskB: z.array(int).min(1),
    criterion: z.number().gt(0).max(1),
    maxEpochs: int.min(1).nullable(),
    seeds: z.array(int).min(1),
    selectionSeeds: z.array(int).min(1),
    trials: int.min(1),
    validation: z.number().gt(0).lt(1),
    limits,
  }).strict(),
  methods,
  data: dataInfo,
  selections: z.array(z.object({ method, selection, foldSeeds: z.array(int).min(1) }).strict()),
  runs: z.array(z.object({
    method, seed: int, trainSha256: sha, hyperparameters: hyperparametersSchema,
    epochsA: int.min(1), reachedA: z.boolean(), epochsB: int.min(1), reachedB: z.boolean(),
    afterA: taskScores, afterB: taskScores,
    duringB: z.array(z.object({ epoch: int.min(0), accuracyA: fraction, accuracyB: fraction }).strict()).min(2),
  }).strict()),
  summary: z.array(z.object({
    method, seeds: int.min(1), metric: z.enum(FORGETTING_METRICS), mean: z.number().min(-1).max(1), std: z.number().min(0),
  }).strict()),
  seconds: z.number().min(0),
  environment,
}).strict();

// The schemas and the TypeScript result types must describe the same documents.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const sameShape = <A, B>(ok: Same<A, B>): Same<A, B> => ok;
sameShape<z.infer<typeof fewshotResultSchema>, FewshotResult>(true);
sameShape<z.infer<typeof dynamicsResultSchema>, DynamicsResult>(true);
sameShape<z.infer<typeof forgettingResultSchema>, ForgettingResult>(true);

/** A CSV file: its columns in order and the type of every cell once parsed. */
export interface CsvSpec {
  columns: readonly string[];
  /** Validates one parsed row (cells are strings; empty = not applicable). */
  row: z.ZodType;
}

const num = z.string().regex(/^-?\d+(\.\d+)?(e[-+]?\d+)?$/i);
const optNum = z.union([num, z.literal('')]);
const integer = z.string().regex(/^-?\d+$/);
const shotsCell = z.union([integer, z.literal('all')]);
const methodCell = method;
const rowOf = (cells: Record<string, z.ZodType>) => z.object(cells).strict();
const hpCells = { batch: integer, epochs: integer, beta: optNum, eta: optNum, learning_rate: optNum, schedule: z.string() };

/** Columns of `runs.csv` of fewshot for `C` classes. */
export function fewshotRunsCsv(C: number): CsvSpec {
  const perClass = Object.fromEntries(Array.from({ length: C }, (_, k) => [`accuracy_class_${k}`, num]));
  const cells = {
    method: methodCell, shots: shotsCell, seed: integer, train_count: integer, train_sha256: z.string().regex(/^[0-9a-f]{64}$/),
    test_accuracy: num, test_loss: num, ...perClass, seconds: num, updates: integer, ...hpCells,
  };
  return { columns: Object.keys(cells), row: rowOf(cells) };
}

export const fewshotSummaryCsv: CsvSpec = (() => {
  const cells = { method: methodCell, shots: shotsCell, seeds: integer, mean: num, std: num, min: num, max: num };
  return { columns: Object.keys(cells), row: rowOf(cells) };
})();

/** `selection.csv` of every experiment: one row per trial. */
export const selectionCsv: CsvSpec = (() => {
  const cells = {
    method: methodCell, shots: z.string(), trial: integer, chosen: z.enum(['yes', 'no']), ...hpCells,
    score: num, fold_seeds: z.string().regex(/^-?\d+(;-?\d+)*$/), validation_accuracy: z.string().regex(/^[\d.e-]+(;[\d.e-]+)*$/i), seconds: num,
  };
  return { columns: Object.keys(cells), row: rowOf(cells) };
})();

export const dynamicsPointsCsv: CsvSpec = (() => {
  const cells = {
    method: methodCell, seed: integer, step: integer, test_accuracy: num, test_loss: num, test_energy: optNum,
    entropy_layer_0: optNum, entropy_layer_1: optNum,
  };
  return { columns: Object.keys(cells), row: rowOf(cells) };
})();

export const dynamicsCurveCsv: CsvSpec = (() => {
  const cells = {
    method: methodCell, step: integer, seeds: integer, accuracy_mean: num, accuracy_std: num, loss_mean: num, loss_std: num,
    energy_mean: optNum, energy_std: optNum, entropy_layer_0_mean: optNum, entropy_layer_1_mean: optNum,
  };
  return { columns: Object.keys(cells), row: rowOf(cells) };
})();

export const forgettingRunsCsv: CsvSpec = (() => {
  const cells = {
    method: methodCell, seed: integer, train_sha256: z.string().regex(/^[0-9a-f]{64}$/), epochs_a: integer, reached_a: z.enum(['true', 'false']),
    epochs_b: integer, reached_b: z.enum(['true', 'false']),
    a_after_a: num, b_after_a: num, all_after_a: num, a_after_b: num, b_after_b: num, all_after_b: num, a_task_aware_after_b: num,
    ...hpCells,
  };
  return { columns: Object.keys(cells), row: rowOf(cells) };
})();

export const forgettingSummaryCsv: CsvSpec = (() => {
  const cells = { method: methodCell, metric: z.string(), seeds: integer, mean: num, std: num };
  return { columns: Object.keys(cells), row: rowOf(cells) };
})();

export const forgettingDuringCsv: CsvSpec = (() => {
  const cells = { method: methodCell, seed: integer, epoch_b: integer, accuracy_a: num, accuracy_b: num };
  return { columns: Object.keys(cells), row: rowOf(cells) };
})();
