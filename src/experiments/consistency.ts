/**
 * Cross-checks of a schema-valid `results.json`: the schema checks each part on its own, but the
 * reports read the parts together (the summary row of every method and shot count in `config`,
 * the runs of every seed, the curve of every step), so a file whose parts disagree would crash a
 * report or, worse, print "over 3 seeds" above numbers from one. An experiment writes consistent
 * files; these checks catch files edited, merged or truncated by hand.
 */
import { group } from 'd3-array';
import { FfitError } from '../errors.js';
import { indicesSha256 } from './data.js';
import type { DynamicsResult } from './dynamics.js';
import { meanCurve } from './dynamics.js';
import type { FewshotResult } from './fewshot.js';
import { summarise } from './fewshot.js';
import type { ForgettingResult } from './forgetting.js';
import { FORGETTING_METRICS, summariseForgetting } from './forgetting.js';
import type { ExperimentResult } from './report.js';

/** Relative tolerance of a recomputed mean (the file's numbers went through JSON, which keeps doubles exact). */
const close = (a: number | null, b: number | null): boolean =>
  a === b || (a !== null && b !== null && Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b)));

const list = (xs: readonly unknown[]): string => `[${xs.map(String).join(',')}]`;

/** JSON text of `x` with object keys sorted: equal for equal values whatever the order of their members. */
const canonical = (x: unknown): string => JSON.stringify(x, (_, v: unknown) =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v);

/** The first repeated value of `xs`, if any (one pass: streams hold up to 10⁶ examples). */
function repeated<T>(xs: readonly T[]): T | undefined {
  const seen = new Set<T>();
  for (const x of xs) {
    if (seen.has(x)) return x;
    seen.add(x);
  }
  return undefined;
}

/**
 * Checks that the parts of `r` agree with each other and with `config`.
 *
 * @throws FfitError `E_DATA` naming `path` and the first disagreement found.
 */
export function checkConsistent(r: ExperimentResult, path: string): void {
  const problem = r.experiment === 'fewshot' ? fewshotProblem(r) : r.experiment === 'dynamics' ? dynamicsProblem(r) : forgettingProblem(r);
  if (problem) throw new FfitError('E_DATA', `${path}: its parts disagree: ${problem}; pass a results.json as an experiment wrote it.`);
}

/** What every experiment lists once: methods and seeds. */
function commonProblem(r: ExperimentResult): string | null {
  const ids = r.methods.map((m) => m.id);
  const twice = repeated(ids);
  if (twice !== undefined) return `methods lists "${twice}" twice`;
  const seed = repeated(r.config.seeds);
  if (seed !== undefined) return `config.seeds lists ${seed} twice`;
  const sel = r.selections.map((s) => s.method).find((m) => !ids.includes(m));
  if (sel !== undefined) return `selections has a row for method "${sel}", which methods does not list`;
  const key = (s: { method: string; shots?: unknown }) => `"${s.method}"${s.shots === undefined ? '' : ` at ${s.shots} shots`}`;
  const dup = repeated(r.selections.map(key));
  if (dup !== undefined) return `selections has two rows for ${dup}`;
  const chosen = r.selections.find((s) => s.selection.bestTrial >= s.selection.trials.length);
  if (chosen) return `the selection of ${key(chosen)} names trial ${chosen.selection.bestTrial} as the best of ${chosen.selection.trials.length}`;
  const folds = r.selections.find((s) => canonical(s.foldSeeds) !== canonical(r.config.selectionSeeds));
  if (folds) return `the selection of ${key(folds)} used fold seeds ${list(folds.foldSeeds)}, config.selectionSeeds is ${list(r.config.selectionSeeds)}`;
  const budget = r.selections.find((s) => s.selection.trials.length !== r.config.trials);
  if (budget) return `the selection of ${key(budget)} has ${budget.selection.trials.length} trials, config.trials is ${r.config.trials}`;
  const other = r.selections.find((s) => canonical(s.selection.best) !== canonical(s.selection.trials[s.selection.bestTrial]!.hyperparameters));
  if (other) return `the selection of ${key(other)} gives best settings other than those of its trial ${other.selection.bestTrial}`;
  const classes = r.data.classes;
  if (classes.length < 2 || repeated(classes) !== undefined) return `data.classes ${list(classes)} must list at least 2 distinct classes`;
  return null;
}

/** Runs keyed `method/seed`: every (method, seed) of the config exactly once and nothing else. */
function runsProblem(runs: readonly { method: string; seed: number }[], ids: readonly string[], seeds: readonly number[], where: string, noun = 'run'): string | null {
  for (const m of ids) {
    const got = runs.filter((x) => x.method === m).map((x) => x.seed);
    const missing = seeds.filter((s) => !got.includes(s)), extra = got.filter((s) => !seeds.includes(s)), twice = repeated(got);
    if (missing.length) return `config.seeds is ${list(seeds)} but ${where} has no ${noun} of "${m}" for seed${missing.length === 1 ? '' : 's'} ${missing.join(', ')}`;
    if (extra.length) return `${where} has a ${noun} of "${m}" for seed ${extra[0]}, which config.seeds ${list(seeds)} does not list`;
    if (twice !== undefined) return `${where} has two ${noun}s of "${m}" for seed ${twice}`;
  }
  const stray = runs.find((x) => !ids.includes(x.method));
  return stray ? `${where} has a ${noun} of method "${stray.method}", which methods does not list` : null;
}

/** Every fewshot run trained on its shots of every class, its confusion matrix covers the test set, and its accuracies are read off it. */
function confusionProblem(r: FewshotResult): string | null {
  const classes = r.data.classes;
  for (const x of r.runs) {
    const total = x.confusion.flat().reduce((a, b) => a + b, 0), hits = x.confusion.reduce((a, row, k) => a + row[k]!, 0);
    const at = `the run of "${x.method}" at ${x.shots} shots, seed ${x.seed},`;
    if (typeof x.shots === 'number' && x.trainCount !== x.shots * classes.length) {
      return `${at} trained on ${x.trainCount} images, not ${x.shots} shots × ${classes.length} classes`;
    }
    if (total !== r.data.testCount) return `${at} has a confusion matrix of ${total} test images, data.testCount is ${r.data.testCount}`;
    if (!close(x.testAccuracy, hits / total)) return `${at} has test accuracy ${x.testAccuracy}, its confusion matrix ${hits / total}`;
    for (let k = 0; k < classes.length; k++) {
      const row = x.confusion[k]!.reduce((t, v) => t + v, 0);
      if (row > 0 && !close(x.perClassAccuracy[k]!, x.confusion[k]![k]! / row)) {
        return `${at} has accuracy ${x.perClassAccuracy[k]} for class ${classes[k]}, its confusion matrix ${x.confusion[k]![k]! / row}`;
      }
    }
  }
  return null;
}

function fewshotProblem(r: FewshotResult): string | null {
  const common = commonProblem(r);
  if (common) return common;
  const ids = r.methods.map((m) => m.id), C = r.data.classes.length;
  const twice = repeated(r.config.shots);
  if (twice !== undefined) return `config.shots lists ${twice} twice`;
  const detail = r.config.detailShots.find((s) => !r.config.shots.includes(s));
  if (detail !== undefined) return `config.detailShots lists ${detail}, which config.shots ${list(r.config.shots)} does not`;
  for (const s of r.config.shots) {
    const p = runsProblem(r.runs.filter((x) => x.shots === s), ids, r.config.seeds, `runs at ${s} shots`);
    if (p) return p;
    for (const m of ids) {
      if (!r.selections.some((x) => x.method === m && x.shots === s)) return `config.shots lists ${s} but selections has no row for "${m}" at ${s} shots`;
    }
    for (const seed of r.config.seeds) {
      if (!r.splits.some((x) => x.seed === seed && x.shots === s)) return `splits has no split for seed ${seed} at ${s} shots`;
    }
  }
  const oddSel = r.selections.find((x) => !r.config.shots.includes(x.shots));
  if (oddSel) return `selections has a row at ${oddSel.shots} shots, which config.shots ${list(r.config.shots)} does not list`;
  const odd = r.runs.find((x) => !r.config.shots.includes(x.shots));
  if (odd) return `runs has a run at ${odd.shots} shots, which config.shots ${list(r.config.shots)} does not list`;
  const shape = r.runs.find((x) => x.perClassAccuracy.length !== C || x.confusion.length !== C || x.confusion.some((row) => row.length !== C));
  if (shape) return `a run of "${shape.method}" at ${shape.shots} shots, seed ${shape.seed}, has no ${C} × ${C} confusion matrix and ${C} per-class accuracies for the ${C} classes of data.classes`;
  const confusion = confusionProblem(r);
  if (confusion) return confusion;
  // the summary must be that of the runs: the report prints it beside figures drawn from the runs
  const want = summarise(r.runs, ids, r.config.shots);
  for (const w of want) {
    const got = r.summary.filter((x) => x.method === w.method && x.shots === w.shots);
    if (got.length !== 1) return `summary has ${got.length} rows for "${w.method}" at ${w.shots} shots, not 1`;
    const g = got[0]!;
    if (g.seeds !== w.seeds || !close(g.mean, w.mean) || !close(g.std, w.std) || !close(g.min, w.min) || !close(g.max, w.max)) {
      return `the summary row of "${w.method}" at ${w.shots} shots (${g.seeds} seeds, mean ${g.mean}) is not that of its runs (${w.seeds} seeds, mean ${w.mean})`;
    }
  }
  if (r.summary.length !== want.length) return `summary has ${r.summary.length} rows, not the ${want.length} of methods × config.shots`;
  return null;
}

function dynamicsProblem(r: DynamicsResult): string | null {
  const common = commonProblem(r);
  if (common) return common;
  const ids = r.methods.map((m) => m.id), steps = r.config.steps;
  for (const m of ids) {
    if (!r.selections.some((x) => x.method === m)) return `selections has no row for "${m}"`;
  }
  const byStep = group(r.points, (x) => x.step); // grouped once: filtering per step cost points × steps
  for (let step = 0; step <= steps; step++) {
    const p = runsProblem(byStep.get(step) ?? [], ids, r.config.seeds, `points at step ${step}`, 'point');
    if (p) return p;
  }
  for (const seed of r.config.seeds) {
    const st = r.streams.filter((x) => x.seed === seed);
    if (st.length !== 1) return `streams has ${st.length} streams for seed ${seed}, not 1`;
    if (st[0]!.trainIndices.length !== steps) return `the stream of seed ${seed} has ${st[0]!.trainIndices.length} examples, config.steps is ${steps}`;
  }
  if (r.streams.length !== r.config.seeds.length) return `streams has ${r.streams.length} streams for the ${r.config.seeds.length} seeds of config.seeds`;
  const far = r.streams.find((x) => x.trainIndices.some((i) => i >= r.data.poolCount));
  if (far) return `the stream of seed ${far.seed} names an example beyond the ${r.data.poolCount} of data.poolCount`;
  const hashed = r.streams.find((x) => indicesSha256(Int32Array.from(x.trainIndices)) !== x.trainSha256);
  if (hashed) return `the stream of seed ${hashed.seed} has a trainSha256 that is not the hash of its trainIndices`;
  const again = r.streams.find((x) => repeated(x.trainIndices) !== undefined);
  if (again) return `the stream of seed ${again.seed} names example ${repeated(again.trainIndices)} twice`;
  if (r.data.testSubsetCount > r.data.testCount) return `data.testSubsetCount ${r.data.testSubsetCount} is more than data.testCount ${r.data.testCount}`;
  // an accuracy on n test images is a whole number of them over n
  const n = r.data.testSubsetCount, odd = r.points.find((x) => Math.abs(x.testAccuracy * n - Math.round(x.testAccuracy * n)) > 1e-6);
  if (odd) return `the point of "${odd.method}", seed ${odd.seed}, step ${odd.step} has test accuracy ${odd.testAccuracy}, not a whole number of the ${n} test images`;
  const C = r.data.classes.length;
  if (r.data.testSubsetCount !== r.config.testPerClass * C) {
    return `data.testSubsetCount is ${r.data.testSubsetCount}, not config.testPerClass ${r.config.testPerClass} × ${C} classes`;
  }
  for (const m of ids) {
    const lengths = new Set(r.points.filter((x) => x.method === m && x.entropy !== null).map((x) => x.entropy!.length));
    if (lengths.size > 1) return `the points of "${m}" have entropy lists of different lengths (${[...lengths].join(', ')})`;
  }
  const late = r.points.find((x) => x.step > steps);
  if (late) return `points has a point at step ${late.step}, beyond config.steps ${steps}`;
  const want = meanCurve(r.points, ids, steps), curve = group(r.curve, (x) => x.method, (x) => x.step);
  for (const w of want) {
    const got = curve.get(w.method)?.get(w.step) ?? [];
    if (got.length !== 1) return `curve has ${got.length} points for "${w.method}" at step ${w.step}, not 1`;
    const g = got[0]!;
    if (g.seeds !== w.seeds || !close(g.accuracyMean, w.accuracyMean) || !close(g.lossMean, w.lossMean) || !close(g.energyMean, w.energyMean) ||
      !close(g.accuracyStd, w.accuracyStd) || !close(g.lossStd, w.lossStd) || !close(g.energyStd, w.energyStd)) {
      return `the curve of "${w.method}" at step ${w.step} (${g.seeds} seeds, accuracy ${g.accuracyMean} ± ${g.accuracyStd}, ` +
        `loss ${g.lossMean} ± ${g.lossStd}, energy ${g.energyMean} ± ${g.energyStd}) is not the mean of its points (${w.seeds} seeds, ` +
        `accuracy ${w.accuracyMean} ± ${w.accuracyStd}, loss ${w.lossMean} ± ${w.lossStd}, energy ${w.energyMean} ± ${w.energyStd})`;
    }
  }
  if (r.curve.length !== want.length) return `curve has ${r.curve.length} points, not the ${want.length} of methods × (config.steps + 1)`;
  return null;
}

function forgettingProblem(r: ForgettingResult): string | null {
  const common = commonProblem(r);
  if (common) return common;
  const ids = r.methods.map((m) => m.id), C = r.data.classes.length;
  const task = [...r.config.taskA, ...r.config.taskB].find((k) => k < 0 || k >= C);
  if (task !== undefined) return `config.taskA/taskB name class ${task}, but data.classes has ${C} classes`;
  for (const m of ids) {
    if (!r.selections.some((x) => x.method === m)) return `selections has no row for "${m}"`;
  }
  const runs = runsProblem(r.runs, ids, r.config.seeds, 'runs');
  if (runs) return runs;
  const want = summariseForgetting(r.runs, ids);
  for (const w of want) {
    const got = r.summary.filter((x) => x.method === w.method && x.metric === w.metric);
    if (got.length !== 1) return `summary has ${got.length} rows for "${w.method}", "${w.metric}", not 1`;
    const g = got[0]!;
    if (g.seeds !== w.seeds || !close(g.mean, w.mean) || !close(g.std, w.std)) {
      return `the summary row of "${w.method}", "${w.metric}" (${g.seeds} seeds, mean ${g.mean}) is not that of its runs (${w.seeds} seeds, mean ${w.mean})`;
    }
  }
  if (r.summary.length !== want.length) return `summary has ${r.summary.length} rows, not the ${want.length} of methods × ${FORGETTING_METRICS.length} metrics`;
  return null;
}
