/**
 * Turns experiment results into files: `results.json` (validated against `schema.ts`), CSVs
 * (csv-stringify, every row validated), SVG figures (`plots.ts`) and a `report.md` that embeds the
 * figures, states the protocol and the chosen hyperparameters, and says what the numbers show.
 * {@link writeFiles} writes each file atomically (temporary file written in full, then renamed).
 */
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { writeAtomically, writeFailure } from '../node/atomic.js';
import type { z } from 'zod';
import { FfitError } from '../errors.js';
import { checkConsistent } from './consistency.js';
import type { DynamicsResult } from './dynamics.js';
import type { FewshotResult, FewshotRun, SummaryRow } from './fewshot.js';
import type { ForgettingResult } from './forgetting.js';
import type { Hyperparameters, MethodId } from './methods.js';
import { bandPlot, confusionGrid, groupedBars, renderSvg, type BandRow, type BarRow, type ConfusionCell } from './plots.js';
import {
  dynamicsCurveCsv, dynamicsPointsCsv, dynamicsResultSchema, fewshotResultSchema, fewshotRunsCsv, fewshotSummaryCsv,
  forgettingDuringCsv, forgettingResultSchema, forgettingRunsCsv, forgettingSummaryCsv, selectionCsv, type CsvSpec,
} from './schema.js';
import { MIN_TRIAL_UPDATES, mean, std, type Selection } from './search.js';
import type { Shots } from './splits.js';
import { makeDirs } from '../node/dirs.js';
import { checkReusable, removeStale, type ExperimentName } from './outdir.js';

/** File name → contents. */
export type Files = Record<string, string>;

/**
 * Writes every file into `dir` (created if missing), each atomically, `report.md` last so that a
 * report never links to a figure that is not there yet. With `what`, the directory is checked
 * again first ({@link checkReusable}), and unless `prune` is false the files of that experiment's
 * naming that `files` does not hold are removed after all are written (see {@link removeStale}).
 *
 * @throws FfitError `E_OPTION` when a file cannot be written or removed (names the path and the OS error).
 */
export function writeFiles(dir: string, files: Files, what?: ExperimentName, prune = true): string[] {
  // results.json first (a directory with any of the run's files then has its results.json), report.md last
  const rank = (name: string): number => (name === 'results.json' ? 0 : name === 'report.md' ? 2 : 1);
  const names = Object.keys(files).sort((a, b) => rank(a) - rank(b));
  if (what) checkReusable(dir, what, 'choose another --out directory'); // again: another run may have written there meanwhile
  let path = dir;
  try {
    makeDirs(dir);
    for (const name of names) {
      path = join(dir, name);
      writeAtomically(path, files[name]!);
    }
    // only once every new file is in place: a write that fails (a full disk) leaves the old report whole
    path = dir;
    if (what && prune) removeStale(dir, what, names);
  } catch (err) {
    throw new FfitError('E_OPTION', `cannot write ${path === dir ? `the report into ${dir}` : path} (${writeFailure(err)}); choose another --out directory.`);
  }
  return names.map((n) => join(dir, n));
}

/** Full-precision text of a number for CSV cells. */
const cell = (x: number | null | undefined): string => (x === null || x === undefined ? '' : String(x));

/** CSV text of `rows`, each checked against `spec` first. */
export function toCsv(spec: CsvSpec, rows: Record<string, string>[]): string {
  rows.forEach((row, i) => {
    const r = spec.row.safeParse(row);
    if (!r.success) throw new Error(`CSV row ${i} does not match its schema: ${r.error.message}`);
  });
  return stringify(rows, { header: true, columns: [...spec.columns] });
}

/** The validated value, its members in the schema's order (so a rebuilt report writes the same bytes). */
function json<T>(schema: z.ZodType<T>, value: T): string {
  return JSON.stringify(schema.parse(value), null, 1) + '\n';
}

/** Any experiment's raw results. */
export type ExperimentResult = FewshotResult | DynamicsResult | ForgettingResult;

/** `results.json` of any experiment, validated against its schema. */
export function resultsJson(r: ExperimentResult): string {
  if (r.experiment === 'fewshot') return json(fewshotResultSchema, r);
  if (r.experiment === 'dynamics') return json(dynamicsResultSchema, r);
  return json(forgettingResultSchema, r);
}

/** Every file of any experiment's report. */
export function reportFiles(r: ExperimentResult): Promise<Files> {
  if (r.experiment === 'fewshot') return fewshotFiles(r);
  if (r.experiment === 'dynamics') return dynamicsFiles(r);
  return forgettingFiles(r);
}

/**
 * Reads and validates a `results.json` written by any experiment.
 *
 * @throws FfitError `E_DATA` when the file is missing, not JSON, not a results document, or one
 * whose parts disagree ({@link checkConsistent}).
 */
export function parseResults(text: string, path: string): ExperimentResult {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new FfitError('E_DATA', `${path} is not JSON (${(err as Error).message}); pass the results.json an experiment wrote.`);
  }
  const kind = (doc as { experiment?: unknown } | null)?.experiment;
  const schema = kind === 'fewshot' ? fewshotResultSchema : kind === 'dynamics' ? dynamicsResultSchema : kind === 'forgetting' ? forgettingResultSchema : null;
  if (!schema) throw new FfitError('E_DATA', `${path} is not experiment results ("experiment" is ${JSON.stringify(kind)}, expected fewshot, dynamics or forgetting).`);
  const r = schema.safeParse(doc);
  if (!r.success) throw new FfitError('E_DATA', `${path} does not match the ${String(kind)} results schema: ${r.error.issues[0]?.path.join('.')}: ${r.error.issues[0]?.message}.`);
  checkConsistent(r.data as ExperimentResult, path);
  return r.data as ExperimentResult;
}

const hpCells = (hp: Hyperparameters): Record<string, string> => ({
  batch: String(hp.batch), epochs: String(hp.epochs), beta: cell(hp.beta), eta: cell(hp.eta),
  learning_rate: cell(hp.learningRate), schedule: hp.schedule ?? (hp.learningRate !== undefined ? 'constant (Adam)' : ''),
});

function selectionRows(list: { method: MethodId; shots?: Shots; selection: Selection; foldSeeds: number[] }[], shotsLabel?: string): Record<string, string>[] {
  return list.flatMap((s) => s.selection.trials.map((t, j) => ({
    method: s.method, shots: shotsLabel ?? String(s.shots), trial: String(j), chosen: j === s.selection.bestTrial ? 'yes' : 'no',
    ...hpCells(t.hyperparameters), score: cell(t.score), fold_seeds: s.foldSeeds.join(';'),
    validation_accuracy: t.validationAccuracy.map(cell).join(';'), seconds: cell(t.seconds),
  })));
}

/** `97.93` style percentage with `digits` decimals. */
const pct = (x: number, digits = 1): string => (100 * x).toFixed(digits);
const pm = (m: number, s: number): string => `${pct(m)} ± ${pct(s)}`;
const labelOf = (r: { methods: { id: MethodId; label: string }[] }, id: MethodId): string => r.methods.find((m) => m.id === id)?.label ?? id;
const fmtHp = (hp: Hyperparameters): string => [
  `batch ${hp.batch}`, `${hp.epochs} epoch${hp.epochs === 1 ? '' : 's'}`,
  hp.beta !== undefined ? `β = ${hp.beta}` : '', hp.eta !== undefined ? `η = ${hp.eta}` : '',
  hp.learningRate !== undefined ? `Adam step ${hp.learningRate}` : '', hp.schedule ? `${hp.schedule} schedule` : '',
].filter(Boolean).join(', ');
/** `1 seed`, `5 seeds`. */
const seedsWord = (n: number): string => `${n} seed${n === 1 ? '' : 's'}`;
const minutes = (s: number): string => (s < 120 ? `${s.toFixed(0)} s` : `${(s / 60).toFixed(1)} min`);
const envLine = (e: { node: string; cpus: number; loadStart: number; loadEnd: number; startedAt: string }, seconds: number): string =>
  `Run started ${e.startedAt}, took ${minutes(seconds)} on ${e.cpus} cores (Node ${e.node}); 1-minute load average ` +
  `${e.loadStart.toFixed(1)} at the start and ${e.loadEnd.toFixed(1)} at the end (the machine is shared, so a load above ` +
  `${e.cpus} means other jobs were competing for the cores).`;

/** Shots as a label. */
const shotsLabel = (s: Shots): string => String(s);
/** `1 shot`, `10 shots`, `all shots`. */
const shotsWord = (s: Shots): string => `${s} shot${s === 1 ? '' : 's'}`;

// ───────────────────────────── few-shot ─────────────────────────────

/** Paired (same split, same seed) difference of FFIT minus `other` at shot count `s`. */
function paired(runs: readonly FewshotRun[], s: Shots, other: MethodId): { diffs: number[]; wins: number } | null {
  const ffit = runs.filter((r) => r.method === 'ffit' && r.shots === s);
  const diffs: number[] = [];
  for (const f of ffit) {
    const o = runs.find((r) => r.method === other && r.shots === s && r.seed === f.seed);
    if (o) diffs.push(f.testAccuracy - o.testAccuracy);
  }
  return diffs.length ? { diffs, wins: diffs.filter((d) => d > 0).length } : null;
}

function fewshotFindings(r: FewshotResult): string[] {
  const out: string[] = [];
  const ids = r.methods.map((m) => m.id);
  const at = (m: MethodId, s: Shots): SummaryRow | undefined => r.summary.find((x) => x.method === m && x.shots === s);
  const best = (s: Shots): SummaryRow => ids.map((m) => at(m, s)!).reduce((a, b) => (b.mean > a.mean ? b : a));
  const winners = r.config.shots.map((s) => `${shotsLabel(s)}: ${labelOf(r, best(s).method)}`);
  out.push(`Highest mean test accuracy per shot count — ${winners.join('; ')}.`);
  if (!ids.includes('ffit')) return out;
  const baselines = ids.filter((m) => m !== 'ffit');
  const losses: string[] = [];
  for (const s of r.config.shots) {
    const f = at('ffit', s)!, b = best(s);
    if (b.method !== 'ffit') losses.push(`${shotsWord(s)} (${pct(f.mean)} % vs ${labelOf(r, b.method)} ${pct(b.mean)} %, ${pct(b.mean - f.mean)} points behind)`);
  }
  out.push(losses.length
    ? `FFIT loses (lower mean than the best baseline) at ${losses.join('; ')}.`
    : 'FFIT has the highest mean at every shot count.');
  for (const other of baselines) {
    const parts = r.config.shots.map((s) => {
      const p = paired(r.runs, s, other);
      if (!p) return null;
      const d = mean(p.diffs);
      return `${shotsLabel(s)}: ${d >= 0 ? '+' : ''}${pct(d)} ± ${pct(std(p.diffs))} points, FFIT ahead on ${p.wins}/${p.diffs.length} seeds`;
    }).filter(Boolean);
    out.push(`FFIT − ${labelOf(r, other)}, paired by seed (same training examples): ${parts.join('; ')}.`);
  }
  // The paper's claim concerns few examples: call it "few" up to 10 shots per class.
  const few = r.config.shots.filter((s) => s !== 'all' && s <= 10);
  if (few.length && baselines.includes('backprop')) {
    const verdicts = few.map((s) => {
      const p = paired(r.runs, s, 'backprop')!;
      const d = mean(p.diffs), se = std(p.diffs) / Math.sqrt(p.diffs.length);
      return { s, d, clear: d > 2 * se && p.wins === p.diffs.length, behind: d < -2 * se };
    });
    const clear = verdicts.filter((v) => v.clear).map((v) => v.s), behind = verdicts.filter((v) => v.behind).map((v) => v.s);
    const at = (xs: Shots[]): string => `${xs.map(String).join(', ')} shot${xs.length === 1 && xs[0] === 1 ? '' : 's'} per class`;
    let verdict: string;
    if (clear.length === few.length) verdict = `supported: FFIT beats the backprop MLP on every seed at ${at(few)}, by more than two standard errors of the paired difference.`;
    else if (behind.length > 0) verdict = `not supported: FFIT is behind the backprop MLP by more than two standard errors at ${at(behind)}` + (clear.length ? `, though clearly ahead at ${at(clear)}.` : '.');
    else if (clear.length > 0) verdict = `partly supported: FFIT is clearly ahead of the backprop MLP only at ${at(clear)}; at ${at(few.filter((s) => !clear.includes(s)))} the difference is within two standard errors.`;
    else verdict = `not supported: at ${at(few)} the paired differences to the backprop MLP are within two standard errors (no clear advantage either way).`;
    const within = few.filter((s) => !clear.includes(s) && !behind.includes(s));
    if (behind.length > 0 && within.length > 0) verdict += ` At ${at(within)} the two are within two standard errors of each other.`;
    out.push(`The paper's claim that FFIT learns better than backprop from few examples (here: ≤ 10 shots per class) is ${verdict}`);
  }
  return out;
}

/** Every file of a few-shot report. */
export async function fewshotFiles(r: FewshotResult): Promise<Files> {
  const C = r.data.classes.length;
  const ids = r.methods.map((m) => m.id);
  const meanAll = r.splits.find((s) => s.shots === 'all')?.trainCount;
  const perClassAll = meanAll ? meanAll / C : Math.max(...r.config.shots.filter((s): s is number => s !== 'all'), 1) * 4;
  const xOf = (s: Shots): number => (s === 'all' ? perClassAll : s);

  const runsCsv = toCsv(fewshotRunsCsv(C), r.runs.map((x) => ({
    method: x.method, shots: String(x.shots), seed: String(x.seed), train_count: String(x.trainCount), train_sha256: x.trainSha256,
    test_accuracy: cell(x.testAccuracy), test_loss: cell(x.testLoss),
    ...Object.fromEntries(x.perClassAccuracy.map((a, k) => [`accuracy_class_${k}`, cell(a)])),
    seconds: cell(x.seconds), updates: String(x.updates), ...hpCells(x.hyperparameters),
  })));
  const summaryCsv = toCsv(fewshotSummaryCsv, r.summary.map((x) => ({
    method: x.method, shots: String(x.shots), seeds: String(x.seeds), mean: cell(x.mean), std: cell(x.std), min: cell(x.min), max: cell(x.max),
  })));
  const selCsv = toCsv(selectionCsv, selectionRows(r.selections));

  const band: BandRow[] = r.summary.map((x) => ({ method: labelOf(r, x.method), x: xOf(x.shots), mean: x.mean, std: x.std }));
  const ticks = r.config.shots.map(xOf);
  const accuracySvg = await bandPlot(band, {
    title: `Test accuracy vs shots per class (MNIST ${r.data.classes.join(',')}, ${seedsWord(r.config.seeds.length)})`,
    x: 'training examples per class (log scale; rightmost = all)', y: 'test accuracy', logX: true, percent: true,
    xTicks: ticks, xLabels: meanAll ? { [perClassAll]: `all (${Math.round(perClassAll)})` } : undefined,
  });

  const diffRows: BandRow[] = [];
  if (ids.includes('ffit')) {
    for (const other of ids.filter((m) => m !== 'ffit')) {
      for (const s of r.config.shots) {
        const p = paired(r.runs, s, other);
        if (p) diffRows.push({ method: `FFIT − ${labelOf(r, other)}`, x: xOf(s), mean: mean(p.diffs), std: std(p.diffs) });
      }
    }
  }

  const detail = r.config.detailShots.filter((s) => r.config.shots.includes(s));
  const perClassRows: BarRow[] = [];
  const confusion: ConfusionCell[] = [];
  for (const s of detail) {
    for (const m of ids) {
      const rs = r.runs.filter((x) => x.method === m && x.shots === s);
      if (!rs.length) continue;
      for (let k = 0; k < C; k++) {
        const a = rs.map((x) => x.perClassAccuracy[k]!);
        perClassRows.push({ method: labelOf(r, m), group: String(r.data.classes[k]), facet: shotsWord(s), mean: mean(a), std: std(a) });
        const row = Array.from({ length: C }, (_, j) => rs.reduce((acc, x) => acc + x.confusion[k]![j]!, 0));
        const total = row.reduce((a2, b) => a2 + b, 0);
        row.forEach((count, j) => confusion.push({
          method: labelOf(r, m), facet: shotsWord(s), truth: String(r.data.classes[k]), predicted: String(r.data.classes[j]),
          count, rate: total ? count / total : 0,
        }));
      }
    }
  }
  const facets = detail.map(shotsWord);
  const files: Files = {
    'results.json': json(fewshotResultSchema, r),
    'runs.csv': runsCsv,
    'summary.csv': summaryCsv,
    'selection.csv': selCsv,
    'accuracy-vs-shots.svg': accuracySvg,
  };
  if (diffRows.length) {
    files['paired-difference.svg'] = await bandPlot(diffRows, {
      title: 'FFIT minus each baseline, paired by seed (same training examples)',
      subtitle: 'line: mean paired difference of test accuracy; band: ± 1 standard deviation over seeds; above 0: FFIT better',
      x: 'training examples per class (log scale; rightmost = all)', y: 'difference in test accuracy (percentage points)', logX: true, percent: true, clamp: false,
      zeroRule: true, legend: 'comparison', xTicks: ticks, xLabels: meanAll ? { [perClassAll]: `all (${Math.round(perClassAll)})` } : undefined,
    });
  }
  if (detail.length) {
    files['per-class.svg'] = await groupedBars(perClassRows, {
      title: `Per-class test accuracy (mean over ${seedsWord(r.config.seeds.length)})`, x: 'digit', y: 'test accuracy', facet: 'shots per class', facets,
      groups: r.data.classes.map(String),
    });
    files['confusion.svg'] = await confusionGrid(confusion, {
      title: `Confusion matrices (test set, summed over ${seedsWord(r.config.seeds.length)}; cells: fraction of the true digit)`,
      facet: 'shots per class', facets, methods: ids.map((m) => labelOf(r, m)),
    });
  }

  const L: string[] = [];
  L.push(`# Few-shot learning on MNIST ${r.data.classes.join(', ')}: FFIT vs backprop vs logistic regression`, '');
  L.push(`Generated by \`ffit experiment fewshot\`. ${envLine(r.environment, r.seconds)}`, '');
  L.push('## Headline: test accuracy (%)', '');
  L.push(`Mean ± sample standard deviation over ${seedsWord(r.config.seeds.length)} (seeds ${r.config.seeds.join(', ')}); ` +
    `test set: all ${r.data.testCount} MNIST test images of the digits ${r.data.classes.join(', ')}. Bold: highest mean.`, '');
  L.push(`| shots per class | ${ids.map((m) => labelOf(r, m)).join(' | ')} |`, `| --- | ${ids.map(() => '---:').join(' | ')} |`);
  for (const s of r.config.shots) {
    const rows = ids.map((m) => r.summary.find((x) => x.method === m && x.shots === s)!);
    const top = Math.max(...rows.map((x) => x.mean));
    const n = r.runs.find((x) => x.shots === s)?.trainCount;
    L.push(`| ${shotsLabel(s)}${s === 'all' && n ? ` (${n} images)` : ''} | ${rows.map((x) => (x.mean === top ? `**${pm(x.mean, x.std)}**` : pm(x.mean, x.std))).join(' | ')} |`);
  }
  L.push('', '![Test accuracy against shots per class, mean ± 1 s.d. over seeds](accuracy-vs-shots.svg)', '');
  L.push('## What the numbers show', '');
  for (const f of fewshotFindings(r)) L.push(`- ${f}`);
  if (diffRows.length) L.push('', '![FFIT minus each baseline, paired by seed](paired-difference.svg)', '');
  L.push('- Standard deviations are over seeds; each seed changes the training examples, the initial state and the order of updates together. ' +
    'The paired differences above compare methods on the same examples, which removes most of the example-to-example spread.', '');

  L.push('## Protocol', '');
  const sel0 = r.selections[0];
  L.push(
    `- **Data**: ${r.data.source}; training pool = the ${r.data.poolCount} training images of the digits ${r.data.classes.join(', ')}, ` +
    `test = the ${r.data.testCount} test images of those digits. Labels are 0 … ${C - 1} in the order ${r.data.classes.join(', ')}.`,
    `- **Splits** (\`src/experiments/splits.ts\`): for a seed, ${pct(r.config.validation, 0)} % of every class of the pool is held out as the validation split, ` +
    'then the shots are drawn per class from the rest (class-balanced, seeded order); "all" keeps the whole rest. Every method trains on exactly the same ' +
    'indices for a (seed, shots) cell — `runs.csv` lists the SHA-256 of the training indices of every run, and `results.json` lists the indices themselves up to 1000 of them.',
    `- **Seeds**: evaluation seeds ${r.config.seeds.join(', ')}; hyperparameters are chosen on different seeds (${r.config.selectionSeeds.join(', ')}), ` +
    'i.e. on other draws of the shots and of the validation split. A seed also fixes each model\'s initial state and its batch order.',
    '- **Inputs**: every method receives the same pixel bytes 0 … 255. FFIT normalises each image to unit total intensity (its source amplitudes, DESIGN.md §3), ' +
    'which makes it blind to the pixel scale; the two baselines get pixels / 255, the usual MNIST scaling.',
    `- **Models**: ${r.methods.map((m) => `${m.label}: ${m.shape}`).join('; ')}. Inputs 784 pixels, ${C} outputs.`,
    '- **Training**: `epochs` passes over the training examples in batches shuffled each epoch by a seeded generator. FFIT uses the project\'s linear η decay ' +
    '(`fit`, schedule `linear`); the baselines use Adam with a constant step, its usual setting.',
    `- **Model selection** (\`src/experiments/search.ts\`): the same budget for every method — ${r.config.trials} trials per method and shot count, each trained on ` +
    `${sel0?.foldSeeds.length ?? r.config.selectionSeeds.length} selection fold(s) and scored by mean validation accuracy (ties: lower validation loss). ` +
    'Trial 0 is the method\'s usual setting (FFIT β = 60, η = 10; Adam step 10⁻³; batch 32); the other trials are random search, log-uniform over ' +
    r.methods.map((m) => `${m.label}: ${(fewshotRanges[m.id] ?? '')}`).join('; ') + '. ' +
    `The batch size and number of epochs of trial j are the same for every method: a batch from {${r.config.limits.batches.join(', ')}} (one larger than the training set is the whole set, so the tables show e.g. batch 40 at 10 shots), then the epochs from ` +
    `{${r.config.limits.epochs.join(', ')}} whose number of updates is nearest a target drawn log-uniformly between ${MIN_TRIAL_UPDATES} and the most the limits allow ` +
    `(at most ${r.config.limits.maxUpdates} updates and ${r.config.limits.maxExamples} training examples per run; trial 0 makes at least 3 passes and 1000 updates where the limits allow), ` +
    'so every method gets the same candidate numbers of passes. The test set is never passed to the selection code.',
    '',
  );
  L.push('## Chosen hyperparameters', '');
  L.push('| shots | method | chosen | mean validation accuracy | trials |', '| --- | --- | --- | ---: | ---: |');
  for (const s of r.selections) {
    L.push(`| ${shotsLabel(s.shots)} | ${labelOf(r, s.method)} | ${fmtHp(s.selection.best)} | ${pct(s.selection.trials[s.selection.bestTrial]!.score, 2)} % | ${s.selection.trials.length} |`);
  }
  L.push('', 'Every trial with its validation accuracy per fold is in `selection.csv`.', '');
  if (detail.length) {
    L.push(`## Per-class accuracy and confusion (${detail.map(shotsLabel).join(', ')} shots)`, '');
    L.push(`| shots | method | ${r.data.classes.map((c) => `digit ${c}`).join(' | ')} |`, `| --- | --- | ${r.data.classes.map(() => '---:').join(' | ')} |`);
    for (const s of detail) {
      for (const m of ids) {
        const cells = r.data.classes.map((_, k) => perClassRows.find((x) => x.method === labelOf(r, m) && x.facet === shotsWord(s) && x.group === String(r.data.classes[k])));
        L.push(`| ${shotsLabel(s)} | ${labelOf(r, m)} | ${cells.map((c) => (c ? pm(c.mean, c.std) : '—')).join(' | ')} |`);
      }
    }
    L.push('', '![Per-class test accuracy](per-class.svg)', '', '![Confusion matrices](confusion.svg)', '');
  }
  L.push('## Cost', '');
  L.push('| shots | ' + ids.map((m) => `${labelOf(r, m)} training s (mean)`).join(' | ') + ' |', `| --- | ${ids.map(() => '---:').join(' | ')} |`);
  for (const s of r.config.shots) {
    L.push(`| ${shotsLabel(s)} | ${ids.map((m) => mean(r.runs.filter((x) => x.method === m && x.shots === s).map((x) => x.seconds)).toFixed(2)).join(' | ')} |`);
  }
  L.push('', 'Wall-clock seconds of one training run with the chosen hyperparameters (evaluation excluded), on the shared machine described above.', '');
  L.push('## Files', '', '- `results.json`: everything (configuration, every trial, every split, every run); schema in `src/experiments/schema.ts`.',
    '- `runs.csv`: one row per (method, shots, seed); `summary.csv`: mean, s.d., min, max per (method, shots); `selection.csv`: every selection trial.',
    '- `accuracy-vs-shots.svg`' + (diffRows.length ? ', `paired-difference.svg`' : '') + (detail.length ? ', `per-class.svg`, `confusion.svg`' : '') +
    ': the figures above (Vega-Lite, rendered to SVG in Node).', '');
  files['report.md'] = L.join('\n');
  return files;
}

/** Search ranges as text, per method (must match `ranges` of the methods). */
const fewshotRanges: Record<string, string> = {
  ffit: 'β ∈ [15, 240], η ∈ [0.1, 100]',
  backprop: 'Adam step ∈ [10⁻⁴, 10⁻¹]',
  logreg: 'Adam step ∈ [10⁻⁴, 10⁻¹]',
};

// ───────────────────────────── dynamics ─────────────────────────────

/** Every file of a dynamics report. */
export async function dynamicsFiles(r: DynamicsResult): Promise<Files> {
  const ids = r.methods.map((m) => m.id);
  const layers = r.points.find((p) => p.entropy)?.entropy?.length ?? 0;
  const pointsCsv = toCsv(dynamicsPointsCsv, r.points.map((p) => ({
    method: p.method, seed: String(p.seed), step: String(p.step), test_accuracy: cell(p.testAccuracy), test_loss: cell(p.testLoss),
    test_energy: cell(p.testEnergy), entropy_layer_0: cell(p.entropy?.[0]), entropy_layer_1: cell(p.entropy?.[1]),
  })));
  const curveCsv = toCsv(dynamicsCurveCsv, r.curve.map((p) => ({
    method: p.method, step: String(p.step), seeds: String(p.seeds), accuracy_mean: cell(p.accuracyMean), accuracy_std: cell(p.accuracyStd),
    loss_mean: cell(p.lossMean), loss_std: cell(p.lossStd), energy_mean: cell(p.energyMean), energy_std: cell(p.energyStd),
    entropy_layer_0_mean: cell(p.entropyMean?.[0]), entropy_layer_1_mean: cell(p.entropyMean?.[1]),
  })));
  const selCsv = toCsv(selectionCsv, selectionRows(r.selections, `${r.config.steps} online`));
  const n = r.config.seeds.length;
  const steps = `examples seen (online updates, batch 1)`;
  const files: Files = {
    'results.json': json(dynamicsResultSchema, r),
    'points.csv': pointsCsv,
    'curve.csv': curveCsv,
    'selection.csv': selCsv,
    'accuracy.svg': await bandPlot(r.curve.map((p) => ({ method: labelOf(r, p.method), x: p.step, mean: p.accuracyMean, std: p.accuracyStd })), {
      title: `Test accuracy during online learning (${r.data.testSubsetCount} fixed test images, ${seedsWord(n)})`, x: steps, y: 'test accuracy', percent: true, points: false, zeroY: true,
    }),
    'loss.svg': await bandPlot(r.curve.map((p) => ({ method: labelOf(r, p.method), x: p.step, mean: p.lossMean, std: p.lossStd })), {
      title: `Test loss −log P(y|x) during online learning (${seedsWord(n)})`, x: steps, y: 'mean −log P(y|x) (nats)', points: false, zeroY: true,
    }),
  };
  const ffit = r.curve.filter((p) => p.method === 'ffit' && p.energyMean !== null);
  if (ffit.length) {
    files['energy.svg'] = await bandPlot(ffit.map((p) => ({ method: 'FFIT', x: p.step, mean: p.energyMean!, std: p.energyStd! })), {
      title: `FFIT: mean instantaneous target energy E on the test subset (${seedsWord(n)})`, x: steps, y: 'E = −Σ h_k M_k − (J/2) Σ M_k² (dimensionless)', points: false,
    });
    const ent: BandRow[] = [];
    for (let l = 0; l < layers; l++) {
      for (const p of ffit) ent.push({ method: `layer ${l}`, x: p.step, mean: p.entropyMean![l]!, std: 0 });
    }
    files['entropy.svg'] = await entropyPlot(ent, n);
  }
  const at = (m: MethodId, step: number) => r.curve.find((p) => p.method === m && p.step === step);
  const checkpoints = [0, 1, 5, 10, 20, 50, 100, 200].filter((s) => s <= r.config.steps);
  if (!checkpoints.includes(r.config.steps)) checkpoints.push(r.config.steps);
  const L: string[] = [];
  L.push(`# Learning dynamics: online learning from the first example (MNIST ${r.data.classes.join(', ')})`, '');
  L.push(`Generated by \`ffit experiment dynamics\`. ${envLine(r.environment, r.seconds)}`, '');
  L.push(`## Test accuracy (%) after k examples, mean ± s.d. over ${seedsWord(n)}`, '');
  L.push(`| examples seen | ${ids.map((m) => labelOf(r, m)).join(' | ')} |`, `| ---: | ${ids.map(() => '---:').join(' | ')} |`);
  for (const s of checkpoints) L.push(`| ${s} | ${ids.map((m) => { const p = at(m, s); return p ? pm(p.accuracyMean, p.accuracyStd) : '—'; }).join(' | ')} |`);
  L.push('', '![Test accuracy during online learning](accuracy.svg)', '', '![Test loss during online learning](loss.svg)', '');
  if (ffit.length) L.push('![FFIT target energy](energy.svg)', '', '![FFIT route entropy](entropy.svg)', '');
  L.push('## What the numbers show', '');
  for (const f of dynamicsFindings(r, checkpoints)) L.push(`- ${f}`);
  L.push('', '## Protocol', '');
  L.push(
    `- **Stream**: for each seed (${r.config.seeds.join(', ')}), the validation split is held out of the pool (${pct(r.config.validation, 0)} % per class) and ` +
    `${r.config.steps} training examples are drawn class-balanced in a seeded random order; every method sees exactly this stream, one example per update ` +
    '(batch 1, constant step, one pass). `results.json` lists the stream\'s indices per seed.',
    `- **Measured**: before the first update and after every update, on a fixed subset of the test set — ${r.config.testPerClass} images per digit ` +
    `(${r.data.testSubsetCount} in all, chosen once with seed ${r.config.testSeed}, the same for every seed and method), to keep ${r.config.steps + 1} evaluations per run fast. ` +
    'Test accuracy and mean −log P(y|x) for every method; for FFIT also the mean instantaneous target energy E (DESIGN.md §4) of the test subset and the mean route ' +
    'entropy per site of each layer (ln(N_{ℓ+1}·D) = uniform routing: ln 256 ≈ 5.545 for layer 0, ln 16 ≈ 2.773 for layer 1). The baselines have no lattice, so no energy or route entropy.',
    `- **Hyperparameters**: chosen on validation with the same budget for every method: ${r.config.trials} trials (trial 0 = usual setting, the rest random search) on ` +
    `${r.config.selectionSeeds.length} selection stream(s) (seeds ${r.config.selectionSeeds.join(', ')}), each one online pass scored by validation accuracy at its end. ` +
    'Chosen: ' + r.selections.map((s) => `${labelOf(r, s.method)} — ${fmtHp(s.selection.best)}`).join('; ') + '. Every trial is in `selection.csv`.',
    `- **Models**: ${r.methods.map((m) => `${m.label}: ${m.shape}`).join('; ')}.`,
    '',
    '## Files', '', '- `results.json` (schema in `src/experiments/schema.ts`), `points.csv` (every seed and step), `curve.csv` (mean and s.d. over seeds), `selection.csv`; figures as SVG.', '',
  );
  files['report.md'] = L.join('\n');
  return files;
}

function dynamicsFindings(r: DynamicsResult, checkpoints: number[]): string[] {
  const out: string[] = [];
  const ids = r.methods.map((m) => m.id);
  const at = (m: MethodId, step: number) => r.curve.find((p) => p.method === m && p.step === step)!;
  const label = (m: MethodId) => labelOf(r, m);
  for (const s of checkpoints.filter((c) => c > 0)) {
    const best = ids.reduce((a, b) => (at(b, s).accuracyMean > at(a, s).accuracyMean ? b : a));
    out.push(`After ${s} example${s === 1 ? '' : 's'}: highest mean test accuracy ${label(best)} (${pct(at(best, s).accuracyMean)} %)` +
      (ids.includes('ffit') && best !== 'ffit' ? `; FFIT ${pct(at('ffit', s).accuracyMean)} %.` : '.'));
  }
  // Examples needed to first reach 80 % mean accuracy.
  const reach = ids.map((m) => {
    const p = r.curve.find((q) => q.method === m && q.accuracyMean >= 0.8);
    return `${label(m)} ${p ? `${p.step} examples` : `not within ${r.config.steps}`}`;
  });
  out.push(`Examples until the mean test accuracy first reaches 80 %: ${reach.join('; ')}.`);
  const areas = ids.map((m) => ({ m, a: mean(r.curve.filter((p) => p.method === m && p.step > 0).map((p) => p.accuracyMean)) }));
  out.push(`Mean test accuracy over the whole stream (area under the curve): ${areas.map((x) => `${label(x.m)} ${pct(x.a)} %`).join('; ')}.`);
  const f0 = at('ffit', 0), fEnd = at('ffit', r.config.steps);
  if (f0?.energyMean !== null && f0 && fEnd?.energyMean !== null && fEnd) {
    out.push(`FFIT's mean target energy on the test subset goes from ${f0.energyMean!.toFixed(4)} to ${fEnd.energyMean!.toFixed(4)} ` +
      `(${fEnd.energyMean! < f0.energyMean! ? 'deeper: the update digs the energy well at the right target' : 'not deeper'}); ` +
      `its route entropy per site goes from ${f0.entropyMean!.map((e) => e.toFixed(3)).join(' / ')} to ${fEnd.entropyMean!.map((e) => e.toFixed(3)).join(' / ')} nats (layer 0 / layer 1).`);
  }
  return out;
}

/** Route entropy per site against examples seen, one panel per lattice layer (own y scale each). */
function entropyPlot(rows: BandRow[], seeds: number): Promise<string> {
  return renderSvg({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: `FFIT: mean route entropy per site (mean over ${seedsWord(seeds)})`, subtitle: 'uniform routing = ln(N_{ℓ+1}·D): ln 256 ≈ 5.55 nats (layer 0), ln 16 ≈ 2.77 nats (layer 1) for 784→64→4, D = 4' },
    width: 560,
    height: 160,
    config: { font: 'sans-serif', view: { stroke: null } },
    data: { values: rows.map((r) => ({ layer: r.method, step: r.x, entropy: r.mean })) },
    mark: { type: 'line', strokeWidth: 2 },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'examples seen (online updates, batch 1)' },
      y: { field: 'entropy', type: 'quantitative', title: 'route entropy per site (nats)', scale: { zero: false } },
      color: { field: 'layer', type: 'nominal', title: 'lattice layer' },
      row: { field: 'layer', type: 'nominal', title: null },
    },
    resolve: { scale: { y: 'independent' } },
  });
}

// ───────────────────────────── forgetting ─────────────────────────────

/** What the task-aware accuracy says about where task A went, against chance among A's targets. */
function retention(aware: number, before: number, chance: number): string {
  const kept = before > chance ? (aware - chance) / (before - chance) : 0;
  if (kept >= 0.8) return `(chance: ${pct(chance, 0)} %): the features for task A survive and the 4-way errors come from the outputs now preferring the new digits`;
  if (kept <= 0.3) return `(chance: ${pct(chance, 0)} %): close to chance, so what was learnt for task A itself was overwritten, not only the output preference`;
  return `(chance: ${pct(chance, 0)} %): part of what was learnt for task A survives`;
}

/** Every file of a forgetting report. */
export async function forgettingFiles(r: ForgettingResult): Promise<Files> {
  const ids = r.methods.map((m) => m.id);
  const A = r.config.taskA.map((k) => r.data.classes[k]).join(','), B = r.config.taskB.map((k) => r.data.classes[k]).join(',');
  const runsCsv = toCsv(forgettingRunsCsv, r.runs.map((x) => ({
    method: x.method, seed: String(x.seed), train_sha256: x.trainSha256, epochs_a: String(x.epochsA), reached_a: String(x.reachedA),
    epochs_b: String(x.epochsB), reached_b: String(x.reachedB),
    a_after_a: cell(x.afterA.accuracyA), b_after_a: cell(x.afterA.accuracyB), all_after_a: cell(x.afterA.accuracyAll),
    a_after_b: cell(x.afterB.accuracyA), b_after_b: cell(x.afterB.accuracyB), all_after_b: cell(x.afterB.accuracyAll),
    a_task_aware_after_b: cell(x.afterB.taskAwareA), ...hpCells(x.hyperparameters),
  })));
  const summaryCsv = toCsv(forgettingSummaryCsv, r.summary.map((x) => ({
    method: x.method, metric: x.metric, seeds: String(x.seeds), mean: cell(x.mean), std: cell(x.std),
  })));
  const duringCsv = toCsv(forgettingDuringCsv, r.runs.flatMap((x) => x.duringB.map((d) => ({
    method: x.method, seed: String(x.seed), epoch_b: String(d.epoch), accuracy_a: cell(d.accuracyA), accuracy_b: cell(d.accuracyB),
  }))));
  const shown = ['A after A', 'A after B', 'B after B', 'all after B', 'A task-aware after B'] as const;
  const names: Record<(typeof shown)[number], string> = {
    'A after A': `{${A}} after task A`, 'A after B': `{${A}} after task B`, 'B after B': `{${B}} after task B`,
    'all after B': 'all four after task B', 'A task-aware after B': `{${A}} after B, argmax over {${A}} only`,
  };
  const short: Record<(typeof shown)[number], string> = { ...names, 'A task-aware after B': `{${A}} after B, task-aware` };
  const bars: BarRow[] = r.summary.filter((x) => (shown as readonly string[]).includes(x.metric))
    .map((x) => ({ method: labelOf(r, x.method), group: short[x.metric as (typeof shown)[number]], mean: x.mean, std: x.std }));
  const maxEpoch = Math.max(...r.runs.map((x) => x.duringB.length - 1));
  const during: BandRow[] = [];
  for (const m of ids) {
    for (let e = 0; e <= maxEpoch; e++) {
      // a run that reached the criterion earlier keeps its last value (it stopped training)
      const vals = r.runs.filter((x) => x.method === m).map((x) => x.duringB[Math.min(e, x.duringB.length - 1)]!.accuracyA);
      if (vals.length) during.push({ method: labelOf(r, m), x: e, mean: mean(vals), std: std(vals) });
    }
  }
  const files: Files = {
    'results.json': json(forgettingResultSchema, r),
    'runs.csv': runsCsv,
    'summary.csv': summaryCsv,
    'during-b.csv': duringCsv,
    'selection.csv': toCsv(selectionCsv, selectionRows(r.selections, String(r.config.shots))),
    'forgetting.svg': await groupedBars(bars, {
      title: `Sequential learning: task A = {${A}}, then task B = {${B}} (${seedsWord(r.config.seeds.length)})`,
      x: `test images (task-aware: argmax over {${A}}'s targets only)`, y: 'test accuracy',
      groups: shown.map((s) => short[s]),
    }),
    'during-b.svg': await bandPlot(during, {
      title: `Accuracy on task A's digits {${A}} while training task B`, x: 'epochs of task B (0 = after task A)', y: `test accuracy on {${A}}`,
      percent: true, zeroY: true, points: maxEpoch <= 30, xTicks: maxEpoch <= 20 ? Array.from({ length: maxEpoch + 1 }, (_, i) => i) : undefined,
    }),
  };
  const get = (m: MethodId, metric: string) => r.summary.find((x) => x.method === m && x.metric === metric)!;
  const L: string[] = [];
  L.push(`# Forgetting: learn {${A}}, then {${B}} (MNIST)`, '');
  L.push(`Generated by \`ffit experiment forgetting\`. ${envLine(r.environment, r.seconds)}`, '');
  L.push(`## Test accuracy (%), mean ± s.d. over ${seedsWord(r.config.seeds.length)}`, '');
  L.push(`| | ${ids.map((m) => labelOf(r, m)).join(' | ')} |`, `| --- | ${ids.map(() => '---:').join(' | ')} |`);
  for (const metric of r.summary.filter((x) => x.method === ids[0]).map((x) => x.metric)) {
    const name = (names as Record<string, string>)[metric] ?? `forgetting on {${A}} (after A − after B, points)`;
    L.push(`| ${name} | ${ids.map((m) => pm(get(m, metric).mean, get(m, metric).std)).join(' | ')} |`);
  }
  L.push(`| epochs to criterion, task A / task B (mean) | ${ids.map((m) => {
    const rs = r.runs.filter((x) => x.method === m);
    return `${mean(rs.map((x) => x.epochsA)).toFixed(1)} / ${mean(rs.map((x) => x.epochsB)).toFixed(1)}`;
  }).join(' | ')} |`);
  L.push('', '![Accuracies after each task](forgetting.svg)', '', '![Accuracy on task A during task B](during-b.svg)', '');
  L.push('## What the numbers show', '');
  for (const m of ids) {
    const f = get(m, 'forgetting (A after A − A after B)'), aware = get(m, 'A task-aware after B'), after = get(m, 'A after B');
    L.push(`- ${labelOf(r, m)}: {${A}} drops from ${pct(get(m, 'A after A').mean)} % to ${pct(after.mean)} % after learning {${B}} ` +
      `(forgetting ${pct(f.mean)} ± ${pct(f.std)} points); with the argmax restricted to {${A}}'s targets it scores ${pct(aware.mean)} % ` +
      `${retention(aware.mean, get(m, 'A after A').mean, 1 / r.config.taskA.length)}.`);
  }
  if (ids.includes('ffit') && ids.includes('backprop')) {
    const ff = get('ffit', 'forgetting (A after A − A after B)').mean, bp = get('backprop', 'forgetting (A after A − A after B)').mean;
    const d = r.runs.filter((x) => x.method === 'ffit').map((x) => {
      const o = r.runs.find((y) => y.method === 'backprop' && y.seed === x.seed)!;
      return (x.afterA.accuracyA - x.afterB.accuracyA) - (o.afterA.accuracyA - o.afterB.accuracyA);
    });
    const se = std(d) / Math.sqrt(Math.max(d.length, 1));
    const word = Math.abs(ff - bp) <= Math.max(0.01, 2 * se) ? 'about as much as' : ff < bp ? 'less than' : 'more than';
    L.push(`- FFIT forgets ${word} the backprop MLP on these numbers (${pct(ff)} vs ${pct(bp)} points; paired difference ${pct(mean(d))} ± ${pct(std(d))}).`);
  }
  const unreached = r.runs.filter((x) => !x.reachedA || !x.reachedB);
  if (unreached.length) L.push(`- ${unreached.length} run(s) stopped at their epoch limit without reaching the criterion on a task: ${unreached.map((x) => `${x.method} seed ${x.seed}`).join(', ')}.`);
  L.push('', '## Protocol', '');
  L.push(
    `- **Data**: per seed (${r.config.seeds.join(', ')}), the validation split (${pct(r.config.validation, 0)} % per class) is held out of the pool and ` +
    `${r.config.shots} training examples per digit are drawn; task A trains on those of {${A}}, task B on those of {${B}}. Every method uses the same examples.`,
    `- **Model**: 4 targets throughout (class-incremental); ${r.methods.map((m) => `${m.label}: ${m.shape}`).join('; ')}.`,
    `- **Criterion**: train task A epoch by epoch until the validation accuracy on {${A}}'s validation images reaches ${pct(r.config.criterion, 0)} % ` +
    `(at most ${r.config.maxEpochs === null ? 'the number of epochs chosen for the method' : r.config.maxEpochs} epochs), then the same for task B on {${B}}. ` +
    'Constant step for every method; Adam keeps its state across tasks.',
    `- **Hyperparameters**: chosen on the joint 4-class problem with the same shots (validation split only, ${r.config.trials} trials per method, selection seeds ` +
    `${r.config.selectionSeeds.join(', ')}, constant step); the chosen epochs become each task's epoch limit. Chosen: ` +
    r.selections.map((s) => `${labelOf(r, s.method)} — ${fmtHp({ ...s.selection.best })}`).join('; ') + '.',
    '- **Test sets**: all MNIST test images of task A\'s digits, of task B\'s digits, and of all four.',
    '', '## Files', '', '- `results.json` (schema in `src/experiments/schema.ts`), `runs.csv`, `summary.csv`, `during-b.csv`, `selection.csv`; figures as SVG.', '',
  );
  files['report.md'] = L.join('\n');
  return files;
}
