// The experiment suite: identical splits for every method, no test data in model selection,
// the file schemas, and `ffit experiment … --quick` end to end on real MNIST.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import { backpropMethod, logregMethod } from '../src/baselines/tfjs.js';
import { indicesOf, subset, type Dataset } from '../src/data/dataset.js';
import { indicesSha256, loadExperimentData, type ExperimentData } from '../src/experiments/data.js';
import { runFewshot, summarise } from '../src/experiments/fewshot.js';
import { ffitMethod, scoresFrom, type Hyperparameters, type Learner, type Method } from '../src/experiments/methods.js';
import {
  dynamicsCurveCsv, dynamicsPointsCsv, dynamicsResultSchema, fewshotResultSchema, fewshotRunsCsv, fewshotSummaryCsv,
  forgettingDuringCsv, forgettingResultSchema, forgettingRunsCsv, forgettingSummaryCsv, selectionCsv, type CsvSpec,
} from '../src/experiments/schema.js';
import { DEFAULT_LIMITS, feasibleSchedules, sampleTrials, selectHyperparameters, type SelectionFold } from '../src/experiments/search.js';
import { keepLabels, makeSplit, parseShots } from '../src/experiments/splits.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const TINY = { batches: [1, 8, 32], epochs: [1, 2, 5], maxUpdates: 12, maxExamples: 200 };

let data: ExperimentData;
beforeAll(() => {
  const full = loadExperimentData();
  // a small, fixed test set keeps the runs below fast; the pool stays the real one
  data = { ...full, test: subset(full.test, Array.from({ length: 300 }, (_, i) => i * 13)) };
});

const rowsEqual = (a: Dataset, b: Dataset): boolean =>
  a.count === b.count && a.images.length === b.images.length && a.images.every((v, i) => v === b.images[i]) && a.labels.every((v, i) => v === b.labels[i]);

describe('splits', () => {
  it('same seed, same indices; validation disjoint from training; shots per class exact; labels traced to the pool', () => {
    const a = makeSplit(data.pool, 3, 5, 0.1), b = makeSplit(data.pool, 3, 5, 0.1), c = makeSplit(data.pool, 4, 5, 0.1);
    expect(Array.from(a.trainIndices)).toEqual(Array.from(b.trainIndices));
    expect(Array.from(a.trainIndices)).not.toEqual(Array.from(c.trainIndices));
    expect(a.train.count).toBe(20);
    expect(indicesOf(a.train).map((x) => x.length)).toEqual([5, 5, 5, 5]);
    const val = new Set(a.validationIndices);
    for (const i of a.trainIndices) expect(val.has(i)).toBe(false);
    a.trainIndices.forEach((i, k) => expect(a.train.labels[k]).toBe(data.pool.labels[i]));
    expect(rowsEqual(a.train, subset(data.pool, a.trainIndices))).toBe(true);
    // validation is held out before the shots, so it does not depend on the shot count
    expect(Array.from(makeSplit(data.pool, 3, 50, 0.1).validationIndices)).toEqual(Array.from(a.validationIndices));
    // per class: round(10 %) of the class to validation
    const counts = indicesOf(data.pool).map((x) => x.length);
    expect(a.validation.count).toBe(counts.reduce((s, n) => s + Math.round(0.1 * n), 0));
  });

  it("'all' keeps exactly the pool minus validation", () => {
    const s = makeSplit(data.pool, 0, 'all', 0.1);
    expect(s.train.count + s.validation.count).toBe(data.pool.count);
    const seen = new Set([...s.trainIndices, ...s.validationIndices]);
    expect(seen.size).toBe(data.pool.count);
  });

  it('keepLabels and parseShots', () => {
    const s = makeSplit(data.pool, 1, 4, 0.1);
    const a = keepLabels(s.train, [0, 1]);
    expect(a.count).toBe(8);
    expect([...a.labels].every((y) => y === 0 || y === 1)).toBe(true);
    expect(parseShots('1, 10,all')).toEqual([1, 10, 'all']);
    expect(() => parseShots('0')).toThrow(/whole number ≥ 1 or "all"/);
  });
});

describe('hyperparameter search', () => {
  it('trial j has the same batch and epochs for every method, within the limits; trial 0 is the usual setting', () => {
    const methods = [ffitMethod(), backpropMethod(), logregMethod()];
    const n = 400;
    const trials = methods.map((m) => sampleTrials(m, n, 6, 77, DEFAULT_LIMITS));
    for (let j = 0; j < 6; j++) {
      const shared = trials.map((t) => [t[j]!.batch, t[j]!.epochs]);
      expect(new Set(shared.map((x) => x.join()))).toHaveProperty('size', 1);
      const { batch, epochs } = trials[0]![j]!;
      expect(Math.ceil(n / batch) * epochs).toBeLessThanOrEqual(DEFAULT_LIMITS.maxUpdates);
      expect(n * epochs).toBeLessThanOrEqual(DEFAULT_LIMITS.maxExamples);
      expect(feasibleSchedules(n, DEFAULT_LIMITS).get(batch)).toContain(epochs);
    }
    expect(trials[0]![0]).toMatchObject({ beta: 60, eta: 10, batch: 32 });
    expect(trials[1]![0]).toMatchObject({ learningRate: 1e-3, batch: 32 });
    for (const t of trials[0]!.slice(1)) {
      expect(t.beta!).toBeGreaterThanOrEqual(15);
      expect(t.beta!).toBeLessThanOrEqual(240);
      expect(t.eta!).toBeGreaterThanOrEqual(0.1);
      expect(t.eta!).toBeLessThanOrEqual(100);
    }
    expect(sampleTrials(methods[0]!, n, 6, 77, DEFAULT_LIMITS)).toEqual(trials[0]);
  });

  it('picks the trial with the best mean validation accuracy and scores only on the folds\' validation sets', async () => {
    // a fake method whose validation accuracy is its learning rate, so the winner is known
    const evaluated: Dataset[] = [];
    const fake: Method = {
      id: 'logreg', label: 'fake', shape: 'fake', ranges: [],
      async create(hp) {
        const learner: Learner = {
          fit: async () => undefined, step: async () => undefined, scores: async (ds) => new Float32Array(ds.count * 4),
          async evaluate(ds) {
            evaluated.push(ds);
            return { ...scoresFrom(new Float32Array(0), new Int32Array(0), 4, 1 - hp.learningRate!), accuracy: hp.learningRate!, count: ds.count };
          },
          dispose: () => undefined,
        };
        return learner;
      },
    };
    const folds: SelectionFold[] = [1000, 1001].map((seed) => {
      const s = makeSplit(data.pool, seed, 2, 0.1);
      return { seed, train: s.train, validation: s.validation };
    });
    const trials: Hyperparameters[] = [0.3, 0.9, 0.5].map((learningRate) => ({ batch: 1, epochs: 1, learningRate }));
    const sel = await selectHyperparameters(fake, trials, folds);
    expect(sel.bestTrial).toBe(1);
    expect(sel.best.learningRate).toBe(0.9);
    expect(sel.trials.map((t) => t.score)).toEqual([0.3, 0.9, 0.5]);
    expect(evaluated).toHaveLength(6);
    for (const ds of evaluated) expect(folds.some((f) => f.validation === ds)).toBe(true);
  });
});

/** Wraps a method so that every dataset its learners train or are scored on is recorded. */
function recording(method: Method, log: { method: string; phase: string; kind: 'fit' | 'evaluate'; ds: Dataset; seed: number }[], phase: () => string): Method {
  return {
    ...method,
    async create(hp, seed, features, classes) {
      const inner = await method.create(hp, seed, features, classes);
      return {
        ...inner,
        fit: (ds, call) => { log.push({ method: method.id, phase: phase(), kind: 'fit', ds, seed }); return inner.fit(ds, call); },
        evaluate: (ds) => { log.push({ method: method.id, phase: phase(), kind: 'evaluate', ds, seed }); return inner.evaluate(ds); },
      };
    },
  };
}

/** True if `value` reaches `target` (by identity, or shares its buffer) anywhere inside. */
function reaches(value: unknown, target: Dataset, seen = new Set<unknown>()): boolean {
  if (value === null || typeof value !== 'object' || seen.has(value)) return false;
  seen.add(value);
  if (value === target || value === target.images || value === target.labels) return true;
  if (ArrayBuffer.isView(value)) return value.buffer === target.images.buffer || value.buffer === target.labels.buffer;
  return Object.values(value as Record<string, unknown>).some((v) => reaches(v, target, seen));
}

describe('fewshot protocol', () => {
  it('every method trains on the same examples per (seed, shots), and selection never sees the test set', async () => {
    const log: Parameters<typeof recording>[1] = [];
    let phase = 'evaluate';
    const methods = [ffitMethod(), backpropMethod(), logregMethod()].map((m) => recording(m, log, () => phase));
    const selectCalls: unknown[][] = [];
    const result = await runFewshot(data, {
      shots: [1, 3], seeds: [0, 1], selectionSeeds: [1000], trials: 2, validation: 0.1, limits: TINY, detailShots: [1],
    }, {
      methods,
      select: async (...args) => {
        selectCalls.push(args);
        phase = 'select';
        try {
          return await selectHyperparameters(...args);
        } finally {
          phase = 'evaluate';
        }
      },
    });
    // selection: called once per (method, shots), never reaching the test set, only fitting/scoring pool examples
    expect(selectCalls).toHaveLength(6);
    for (const args of selectCalls) expect(reaches(args, data.test)).toBe(false);
    const selectionLog = log.filter((e) => e.phase === 'select');
    expect(selectionLog.length).toBe(6 * 2 * 2); // 6 selections × 2 trials × (fit + evaluate)
    for (const e of selectionLog) expect(e.ds).not.toBe(data.test);
    for (const e of selectionLog.filter((x) => x.kind === 'evaluate')) {
      const fold = makeSplit(data.pool, 1000, 1, 0.1);
      expect(rowsEqual(e.ds, fold.validation)).toBe(true);
    }
    // evaluation: the test set is scored only here, after training on the split of that seed
    const fits = log.filter((e) => e.phase === 'evaluate' && e.kind === 'fit');
    expect(fits).toHaveLength(2 * 2 * 3);
    for (const shots of [1, 3]) {
      for (const seed of [0, 1]) {
        const split = makeSplit(data.pool, seed, shots, 0.1);
        const cell = fits.filter((e) => e.seed === seed && e.ds.count === 4 * shots);
        expect(cell.map((e) => e.method).sort()).toEqual(['backprop', 'ffit', 'logreg']);
        for (const e of cell) expect(rowsEqual(e.ds, split.train)).toBe(true);
        const runs = result.runs.filter((r) => r.shots === shots && r.seed === seed);
        expect(new Set(runs.map((r) => r.trainSha256))).toEqual(new Set([indicesSha256(split.trainIndices)]));
      }
    }
    expect(log.filter((e) => e.phase === 'evaluate' && e.kind === 'evaluate').every((e) => e.ds === data.test)).toBe(true);
    // the results document is what the schema says
    expect(fewshotResultSchema.safeParse(result).success).toBe(true);
    expect(result.summary).toHaveLength(6);
    for (const r of result.runs) expect(r.confusion.flat().reduce((a, b) => a + b, 0)).toBe(data.test.count);
  }, 120_000);
});

describe('baselines (TensorFlow.js on WebAssembly)', () => {
  it('learn, and the same seed gives the same bits', async () => {
    const split = makeSplit(data.pool, 5, 20, 0.1);
    for (const method of [backpropMethod(), logregMethod()]) {
      const hp = { batch: 8, epochs: 5, learningRate: 3e-3 };
      const scores: Float32Array[] = [];
      for (let k = 0; k < 2; k++) {
        const learner = await method.create(hp, 9, 784, 4);
        const before = await learner.evaluate(data.test);
        await learner.fit(split.train, { epochs: hp.epochs });
        const after = await learner.evaluate(data.test);
        expect(after.loss).toBeLessThan(before.loss);
        expect(after.accuracy).toBeGreaterThan(0.7); // chance is 0.25
        scores.push(await learner.scores(data.test));
        learner.dispose();
      }
      expect(Array.from(scores[0]!)).toEqual(Array.from(scores[1]!));
    }
  }, 60_000);
});

/** Parses a CSV file and checks its header and every row against `spec`. */
function checkCsv(path: string, spec: CsvSpec): Record<string, string>[] {
  const text = readFileSync(path, 'utf8');
  const header = text.split('\n', 1)[0]!.split(',');
  expect(header).toEqual([...spec.columns]);
  const rows = parse(text, { columns: true }) as Record<string, string>[];
  expect(rows.length).toBeGreaterThan(0);
  for (const row of rows) {
    const r = spec.row.safeParse(row);
    if (!r.success) throw new Error(`${path}: ${r.error.message}`);
  }
  return rows;
}

/** `ffit experiment … --quick` exactly as a user runs it (15–40 s each on this shared 2-core machine). */
describe('ffit experiment --quick writes every file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ffit-exp-'));
  const run = (...args: string[]) => {
    const r = spawnSync(process.execPath, [CLI, 'experiment', ...args, '--quick', '--no-progress'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    return r.stdout;
  };

  it('fewshot', () => {
    const out = join(dir, 'fewshot');
    const stdout = run('fewshot', '--out', out);
    expect(stdout).toMatch(/wrote 9 files/);
    expect(readdirSync(out).sort()).toEqual([
      'accuracy-vs-shots.svg', 'confusion.svg', 'paired-difference.svg', 'per-class.svg', 'report.md', 'results.json', 'runs.csv', 'selection.csv', 'summary.csv',
    ]);
    const result = fewshotResultSchema.parse(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')));
    const runs = checkCsv(join(out, 'runs.csv'), fewshotRunsCsv(4));
    expect(runs).toHaveLength(result.runs.length);
    expect(runs.map((r) => Number(r.test_accuracy))).toEqual(result.runs.map((r) => r.testAccuracy));
    checkCsv(join(out, 'summary.csv'), fewshotSummaryCsv);
    checkCsv(join(out, 'selection.csv'), selectionCsv);
    const axes: Record<string, string> = {
      'accuracy-vs-shots.svg': 'training examples per class', 'paired-difference.svg': 'training examples per class',
      'per-class.svg': 'digit', 'confusion.svg': 'predicted digit',
    };
    for (const [svg, axis] of Object.entries(axes)) {
      const text = readFileSync(join(out, svg), 'utf8');
      expect(text.startsWith('<svg')).toBe(true);
      expect(text).toContain(`axis" aria-label="X-axis titled '${axis}`);
      expect(text).toContain('FFIT');
    }
    const report = readFileSync(join(out, 'report.md'), 'utf8');
    for (const s of ['![', 'accuracy-vs-shots.svg', '## Chosen hyperparameters', '## Protocol', '## What the numbers show', 'FFIT']) expect(report).toContain(s);
    // `ffit experiment report` rebuilds the same files from results.json alone
    const before = Object.fromEntries(readdirSync(out).map((f) => [f, readFileSync(join(out, f), 'utf8')]));
    for (const f of ['report.md', 'runs.csv', 'confusion.svg']) rmSync(join(out, f));
    const rebuilt = spawnSync(process.execPath, [CLI, 'experiment', 'report', out], { encoding: 'utf8' });
    expect(rebuilt.status).toBe(0);
    expect(Object.fromEntries(readdirSync(out).map((f) => [f, readFileSync(join(out, f), 'utf8')]))).toEqual(before);
  }, 120_000);

  it('dynamics', () => {
    const out = join(dir, 'dynamics');
    run('dynamics', '--out', out);
    expect(readdirSync(out).sort()).toEqual(['accuracy.svg', 'curve.csv', 'energy.svg', 'entropy.svg', 'loss.svg', 'points.csv', 'report.md', 'results.json', 'selection.csv']);
    const result = dynamicsResultSchema.parse(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')));
    expect(result.points).toHaveLength(2 * 3 * 201); // 2 seeds × 3 methods × (200 updates + the untrained model)
    const points = checkCsv(join(out, 'points.csv'), dynamicsPointsCsv);
    expect(points.filter((p) => p.method === 'ffit').every((p) => p.test_energy !== '' && p.entropy_layer_1 !== '')).toBe(true);
    expect(points.filter((p) => p.method !== 'ffit').every((p) => p.test_energy === '')).toBe(true);
    checkCsv(join(out, 'curve.csv'), dynamicsCurveCsv);
    checkCsv(join(out, 'selection.csv'), selectionCsv);
    // one stream per seed, 200 distinct pool examples, 50 of each digit, the same for every method
    expect(result.streams).toHaveLength(2);
    for (const st of result.streams) {
      expect(new Set(st.trainIndices).size).toBe(200);
      expect(indicesSha256(Int32Array.from(st.trainIndices))).toBe(st.trainSha256);
    }
  }, 120_000);

  it('forgetting', () => {
    const out = join(dir, 'forgetting');
    run('forgetting', '--out', out);
    expect(readdirSync(out).sort()).toEqual(['during-b.csv', 'during-b.svg', 'forgetting.svg', 'report.md', 'results.json', 'runs.csv', 'selection.csv', 'summary.csv']);
    const result = forgettingResultSchema.parse(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')));
    for (const seed of [0, 1]) expect(new Set(result.runs.filter((r) => r.seed === seed).map((r) => r.trainSha256)).size).toBe(1);
    checkCsv(join(out, 'runs.csv'), forgettingRunsCsv);
    checkCsv(join(out, 'summary.csv'), forgettingSummaryCsv);
    checkCsv(join(out, 'during-b.csv'), forgettingDuringCsv);
    checkCsv(join(out, 'selection.csv'), selectionCsv);
  }, 120_000);

  it('bad flags and bad results files fail with one clear line', () => {
    const bad = join(dir, 'bad');
    run('dynamics', '--out', bad, '--steps', '4', '--test-per-class', '2', '--methods', 'logreg', '--seeds', '1', '--trials', '1');
    writeFileSync(join(bad, 'results.json'), JSON.stringify({ experiment: 'dynamics', config: {} }));
    const r0 = spawnSync(process.execPath, [CLI, 'experiment', 'report', bad], { encoding: 'utf8' });
    expect(r0.status).toBe(1);
    expect(r0.stderr).toMatch(/does not match the dynamics results schema: config\.steps.*E_DATA/);
    const r = spawnSync(process.execPath, [CLI, 'experiment', 'fewshot', '--shots', '0'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/shot count "0" must be a whole number ≥ 1 or "all"/);
    const m = spawnSync(process.execPath, [CLI, 'experiment', 'fewshot', '--methods', 'ffit,sgd'], { encoding: 'utf8' });
    expect(m.status).toBe(1);
    expect(m.stderr).toMatch(/unknown method "sgd"/);
  }, 60_000);

  /** A failing `ffit experiment …` (no --quick: a fix that regresses must not turn into minutes of training). */
  const fail = (args: string[], cwd?: string) => {
    const r = spawnSync(process.execPath, [CLI, 'experiment', ...args, ...(args[0] === 'report' ? [] : ['--no-progress'])], { encoding: 'utf8', cwd });
    expect(r.stdout).toBe('');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^[^\n]+\n$/); // one line
    return r.stderr.trimEnd();
  };
  /** Flags of a fewshot run of a few seconds. */
  const TINY_FEWSHOT = ['--shots', '1,10', '--methods', 'logreg', '--seeds', '1', '--selection-seeds', '1', '--trials', '1', '--max-updates', '2'];
  const TINY_DYNAMICS = ['--steps', '4', '--test-per-class', '2', '--methods', 'logreg', '--seeds', '1', '--trials', '1'];

  it('report refuses a results.json whose parts disagree, naming what disagrees (E_DATA), for every experiment', () => {
    const edited = (what: string, edit: (r: Record<string, any>) => void): string => {
      const r = JSON.parse(readFileSync(join(dir, what, 'results.json'), 'utf8'));
      edit(r);
      const d = mkdtempSync(join(dir, `${what}-edited-`));
      writeFileSync(join(d, 'results.json'), JSON.stringify(r));
      const stderr = fail(['report', d]);
      expect(readdirSync(d)).toEqual(['results.json']);
      return stderr;
    };
    // a shot count in config without runs or summary rows crashed the report ("reading 'mean'")
    expect(edited('fewshot', (r) => r.config.shots.push(20))).toMatch(/results\.json: its parts disagree: config\.seeds is \[0,1\] but runs at 20 shots has no run of "ffit" for seeds 0, 1; .*\[E_DATA\]$/);
    // a method without summary rows, likewise
    expect(edited('fewshot', (r) => { r.summary = r.summary.filter((x: { method: string }) => x.method !== 'logreg'); }))
      .toMatch(/its parts disagree: summary has 0 rows for "logreg" at 1 shots, not 1; .*\[E_DATA\]$/);
    // three seeds in config, runs of one: was reported as "over 3 seeds … ± 0.0"
    expect(edited('fewshot', (r) => {
      r.config.seeds = [0, 1, 2];
      r.runs = r.runs.filter((x: { seed: number }) => x.seed === 0);
      r.summary = summarise(r.runs, ['ffit', 'backprop', 'logreg'], r.config.shots);
    })).toMatch(/config\.seeds is \[0,1,2\] but runs at 1 shots has no run of "ffit" for seeds 1, 2; .*\[E_DATA\]$/);
    expect(edited('fewshot', (r) => { r.summary[0].mean = 0.5; })).toMatch(/the summary row of "ffit" at 1 shots \(2 seeds, mean 0\.5\) is not that of its runs .*\[E_DATA\]$/);
    expect(edited('dynamics', (r) => { r.config.seeds = [0, 1, 2]; })).toMatch(/config\.seeds is \[0,1,2\] but points at step 0 has no point of "ffit" for seed 2; .*\[E_DATA\]$/);
    expect(edited('dynamics', (r) => { r.curve = r.curve.filter((p: { method: string; step: number }) => !(p.method === 'backprop' && p.step === 200)); }))
      .toMatch(/curve has 0 points for "backprop" at step 200, not 1; .*\[E_DATA\]$/);
    expect(edited('forgetting', (r) => { r.config.seeds = [0, 1, 2]; })).toMatch(/config\.seeds is \[0,1,2\] but runs has no run of "ffit" for seed 2; .*\[E_DATA\]$/);
    expect(edited('forgetting', (r) => { r.summary = r.summary.filter((x: { metric: string }) => x.metric !== 'A after B'); }))
      .toMatch(/summary has 0 rows for "ffit", "A after B", not 1; .*\[E_DATA\]$/);
    // second hostile round: numbers that contradict each other within one run, and text that would break the report
    expect(edited('fewshot', (r) => { r.runs[0].confusion = r.runs[0].confusion.map((row: number[]) => row.map(() => 999)); }))
      .toMatch(/the run of "ffit" at 1 shots, seed 0, has a confusion matrix of \d+ test images, data\.testCount is 4157; .*\[E_DATA\]$/);
    expect(edited('fewshot', (r) => { r.runs[0].perClassAccuracy = r.runs[0].perClassAccuracy.map(() => 1); }))
      .toMatch(/the run of "ffit" at 1 shots, seed 0, has accuracy 1 for class 0, its confusion matrix 0\.\d+; .*\[E_DATA\]$/);
    expect(edited('fewshot', (r) => { r.runs[0].trainCount = 123456; })).toMatch(/trained on 123456 images, not 1 shots × 4 classes; .*\[E_DATA\]$/);
    expect(edited('fewshot', (r) => { r.methods[0].label = 'A</text><script>alert(1)</script>'; })).toMatch(/must not contain control characters, bidirectional overrides, \|, <, > or `.*\[E_DATA\]$/);
    expect(edited('fewshot', (r) => { r.selections[0].selection.bestTrial = 99; })).toMatch(/the selection of "ffit" at 1 shots names trial 99 as the best of \d+; .*\[E_DATA\]$/);
    expect(edited('fewshot', (r) => { r.selections.push(r.selections[0]); })).toMatch(/selections has two rows for "ffit" at 1 shots; .*\[E_DATA\]$/);
    expect(edited('dynamics', (r) => { r.config.testPerClass = 1e9; })).toMatch(/data\.testSubsetCount is \d+, not config\.testPerClass 1000000000 × 4 classes; .*\[E_DATA\]$/);
    expect(edited('dynamics', (r) => { r.streams[0].trainIndices[0] = 1e9; })).toMatch(/the stream of seed 0 names an example beyond the \d+ of data\.poolCount; .*\[E_DATA\]$/);
    expect(edited('dynamics', (r) => { r.data.classes = [0, 0, 1, 2]; })).toMatch(/data\.classes \[0,0,1,2\] must list at least 2 distinct classes; .*\[E_DATA\]$/);
    expect(edited('dynamics', (r) => {
      const p = r.points.find((x: { method: string; entropy: number[] | null }) => x.method === 'ffit' && x.entropy !== null);
      p.entropy = [...p.entropy, 0.5];
    })).toMatch(/the points of "ffit" have entropy lists of different lengths .*\[E_DATA\]$/);
    // third round
    expect(edited('dynamics', (r) => { r.selections[0].selection.best.beta = 1; })).toMatch(/the selection of "ffit" gives best settings other than those of its trial \d+; .*\[E_DATA\]$/);
    expect(edited('dynamics', (r) => { r.curve[0].accuracyStd = 5; })).toMatch(/the curve of "ffit" at step 0 \(\d+ seeds, accuracy [\d.]+ ± 5, loss .*\) is not the mean of its points .*\[E_DATA\]$/);
    expect(edited('dynamics', (r) => { r.data.classes = [0, 1, 2, 300]; })).toMatch(/data\.classes.*\[E_DATA\]$/);
    expect(edited('dynamics', (r) => { r.environment.startedAt = 'not a date'; })).toMatch(/environment\.startedAt.*\[E_DATA\]$/);
    expect(edited('dynamics', (r) => { r.methods[0].label = ''; })).toMatch(/methods\.0\.label.*\[E_DATA\]$/);
    // fourth round
    expect(edited('dynamics', (r) => { r.config.trials = 1e9; })).toMatch(/the selection of "ffit" has \d+ trials, config\.trials is 1000000000; .*\[E_DATA\]$/);
    expect(edited('dynamics', (r) => { r.data.testCount = 10; })).toMatch(/data\.testSubsetCount \d+ is more than data\.testCount 10; .*\[E_DATA\]$/);
    expect(edited('dynamics', (r) => { r.points[0].testAccuracy = 0.1234; })).toMatch(/has test accuracy 0\.1234, not a whole number of the \d+ test images; .*\[E_DATA\]$/);
    expect(edited('dynamics', (r) => {
      r.streams[0].trainIndices[1] = r.streams[0].trainIndices[0];
      r.streams[0].trainSha256 = indicesSha256(Int32Array.from(r.streams[0].trainIndices));
    })).toMatch(/the stream of seed 0 names example \d+ twice; .*\[E_DATA\]$/);
    // fifth round
    expect(edited('dynamics', (r) => { r.streams[0].trainSha256 = '0'.repeat(64); })).toMatch(/the stream of seed 0 has a trainSha256 that is not the hash of its trainIndices; .*\[E_DATA\]$/);
    expect(edited('dynamics', (r) => { r.selections[0].foldSeeds = [5]; })).toMatch(/the selection of "ffit" used fold seeds \[5\], config\.selectionSeeds is \[\d+\]; .*\[E_DATA\]$/);
    expect(edited('dynamics', (r) => { r.methods[0].label = 'FF\u202eIT'; })).toMatch(/bidirectional overrides.*\[E_DATA\]$/);
  }, 60_000);

  it("a directory that holds another experiment's results, or a results.json that is not ffit's, is refused before any work", () => {
    const other = mkdtempSync(join(dir, 'other-'));
    writeFileSync(join(other, 'results.json'), readFileSync(join(dir, 'fewshot', 'results.json')));
    expect(fail(['dynamics', '--out', other, ...TINY_DYNAMICS])).toBe(
      `ffit: ${other} holds the results of experiment fewshot; running dynamics there would overwrite them: choose another --out directory. [E_OPTION]`);
    const foreign = mkdtempSync(join(dir, 'foreign-'));
    writeFileSync(join(foreign, 'results.json'), '{"mine": true}');
    expect(fail(['dynamics', '--out', foreign, ...TINY_DYNAMICS])).toBe(
      `ffit: ${join(foreign, 'results.json')} is not the results of an ffit experiment; it is not overwritten: choose another --out directory. [E_OPTION]`);
    expect(readFileSync(join(foreign, 'results.json'), 'utf8')).toBe('{"mine": true}');
    expect(readdirSync(other)).toEqual(['results.json']);
    // a project directory with files of the experiment's names but no results.json: nothing is overwritten or deleted
    const project = mkdtempSync(join(dir, 'project-'));
    writeFileSync(join(project, 'report.md'), 'my notes');
    writeFileSync(join(project, 'energy.svg'), '<svg>mine</svg>');
    expect(fail(['dynamics', '--out', project, ...TINY_DYNAMICS])).toBe(
      `ffit: ${project} holds energy.svg, report.md but no results.json, so no ffit run of dynamics wrote them; they are not overwritten: choose another --out directory, or remove them. [E_OPTION]`);
    expect(readFileSync(join(project, 'report.md'), 'utf8')).toBe('my notes');
    expect(readdirSync(project).sort()).toEqual(['energy.svg', 'report.md']);
    // a results.json that is a FIFO is refused at once (it used to block the write-time check forever),
    // and a link among the outputs (it could lead into another run's directory) is not written through
    const fifo = mkdtempSync(join(dir, 'fifo-'));
    expect(spawnSync('mkfifo', [join(fifo, 'results.json')]).status).toBe(0);
    expect(fail(['dynamics', '--out', fifo, ...TINY_DYNAMICS])).toMatch(/results\.json: it is a device, FIFO or socket, not a regular file.*\[E_OPTION\]$/);
    const linked = mkdtempSync(join(dir, 'linked-'));
    symlinkSync(join(dir, 'dynamics', 'results.json'), join(linked, 'results.json'));
    const before = readFileSync(join(dir, 'dynamics', 'results.json'), 'utf8');
    expect(fail(['dynamics', '--out', linked, ...TINY_DYNAMICS])).toBe(
      `ffit: ${join(linked, 'results.json')} is a symbolic link; an experiment does not write its files through links (one could lead into another run's directory): remove it or choose another --out directory. [E_OPTION]`);
    expect(readFileSync(join(dir, 'dynamics', 'results.json'), 'utf8')).toBe(before);
  }, 60_000);

  it('a reused --out directory keeps no figures of an earlier run; other files stay', () => {
    const out = mkdtempSync(join(dir, 'reused-'));
    // energy.svg and entropy.svg are FFIT's: a run without FFIT must not leave old ones beside its report
    for (const f of ['energy.svg', 'entropy.svg', 'notes.txt', 'confusion.svg']) writeFileSync(join(out, f), 'old');
    writeFileSync(join(out, 'results.json'), readFileSync(join(dir, 'dynamics', 'results.json'))); // an earlier run's
    run('dynamics', '--out', out, ...TINY_DYNAMICS);
    const dynamicsFiles = ['accuracy.svg', 'curve.csv', 'loss.svg', 'points.csv', 'report.md', 'results.json', 'selection.csv'];
    // confusion.svg is not a dynamics name (fewshot's): left alone like any unrelated file
    expect(readdirSync(out).sort()).toEqual(['confusion.svg', ...dynamicsFiles, 'notes.txt'].sort());
    writeFileSync(join(out, 'entropy.svg'), 'old');
    const r = spawnSync(process.execPath, [CLI, 'experiment', 'report', out], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/rebuilt 7 files/);
    expect(readdirSync(out).sort()).toEqual(['confusion.svg', ...dynamicsFiles, 'notes.txt'].sort());
  }, 60_000);

  it('a run whose results cannot be written (a full disk) leaves the earlier report whole', () => {
    const out = mkdtempSync(join(dir, 'full-'));
    run('dynamics', '--out', out, ...TINY_DYNAMICS);
    const before = Object.fromEntries(readdirSync(out).map((f) => [f, readFileSync(join(out, f), 'utf8')]));
    // a 1 KiB file-size limit stands for a full disk: results.json cannot be written
    const r = spawnSync('bash', ['-c', `trap '' XFSZ; ulimit -f 1; exec "$0" "$@"`, process.execPath, CLI, 'experiment', 'dynamics', '--no-progress',
      '--out', out, ...TINY_DYNAMICS], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^ffit: cannot write .*results\.json \(EFBIG\); choose another --out directory\. \[E_OPTION\]\n$/);
    expect(Object.fromEntries(readdirSync(out).map((f) => [f, readFileSync(join(out, f), 'utf8')]))).toEqual(before);
  }, 60_000);

  it('--detail-shots must be among --shots (E_OPTION)', () => {
    const out = join(dir, 'detail');
    expect(fail(['fewshot', '--out', out, ...TINY_FEWSHOT, '--detail-shots', '1,3'])).toBe(
      'ffit: --detail-shots 1,3: 3 is not among the shot counts run (--shots 1,10); list detail shots from those, or add 3 to --shots. [E_OPTION]');
    expect(existsSync(out)).toBe(false);
  });

  it('a blocked output file or an empty --out fails before any work, naming it (E_OPTION)', () => {
    const out = mkdtempSync(join(dir, 'blocked-'));
    mkdirSync(join(out, 'report.md'));
    expect(fail(['fewshot', '--out', out, ...TINY_FEWSHOT])).toBe(
      `ffit: cannot write ${join(out, 'report.md')}: it is a directory; remove it or choose another --out directory. [E_OPTION]`);
    expect(readdirSync(out)).toEqual(['report.md']); // nothing written beside it
    rmSync(join(out, 'report.md'), { recursive: true });
    expect(spawnSync('mkfifo', [join(out, 'runs.csv')]).status).toBe(0);
    expect(fail(['fewshot', '--out', out, ...TINY_FEWSHOT])).toMatch(/cannot write .*runs\.csv: it is a device, FIFO or socket, not a regular file, so it is not replaced; .*\[E_OPTION\]$/);
    // '' joined to bare names, i.e. wrote into the current directory
    const cwd = mkdtempSync(join(dir, 'cwd-'));
    expect(fail(['fewshot', '--out', '', ...TINY_FEWSHOT], cwd)).toBe(
      'ffit: --out: the directory is empty (""); give a directory path, e.g. --out ffit-results/fewshot. [E_OPTION]');
    expect(fail(['report', ''], cwd)).toMatch(/directory is empty.*\[E_OPTION\]$/);
    expect(readdirSync(cwd)).toEqual([]);
  }, 60_000);

  it('an option refused after loading the data leaves no output directory behind, but keeps one that existed', () => {
    const made = join(dir, 'made');
    expect(fail(['dynamics', '--out', join(made, 'deeper'), '--test-per-class', '100000'])).toMatch(/^ffit: --test-per-class: at most \d+ .*\[E_OPTION\]$/);
    expect(existsSync(made)).toBe(false);
    expect(fail(['dynamics', '--out', made, '--steps', '100000'])).toMatch(/^ffit: --steps: at most \d+ online examples.*\[E_OPTION\]$/);
    expect(existsSync(made)).toBe(false);
    const existing = mkdtempSync(join(dir, 'existing-'));
    fail(['dynamics', '--out', existing, '--steps', '100000']);
    expect(readdirSync(existing)).toEqual([]);
  }, 60_000);
});
