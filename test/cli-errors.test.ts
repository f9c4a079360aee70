// Every bad input through the `ffit` command: exit status 1 and exactly one line on stderr,
// `ffit: <problem and fix> [E_CODE]`, never a stack trace. Data are tiny IDX directories made here
// (4×4 images), so no case waits for MNIST. The whole matrix runs the CLI's `main` in this process
// (the exit status is `process.exitCode`); one case of each kind also runs as a real `ffit` process.
import { spawn, spawnSync } from 'node:child_process';
import { gzipSync } from 'fflate';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli.js';
import { encodeIdx } from '../src/data/idx.js';
import { InterferenceNetwork } from '../src/network.js';
import type { FfitOptions } from '../src/options.js';
import { saveModel } from '../src/node/model-file.js';
import { MAX_TEXT_FILE_BYTES } from '../src/node/read-file.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'ffit-cli-errors-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `ffit args…` as a process and resolves with its exit status and output. */
function spawnCli(args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args]);
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Runs the CLI's `main` on `args` in this process; one call at a time (it sets `process.exitCode`). */
async function run(args: string[]): Promise<Result> {
  const out: string[] = [], err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.join(' ')));
  const before = process.exitCode;
  process.exitCode = undefined;
  try {
    await main([process.execPath, CLI, ...args]);
    return { status: (process.exitCode as number | undefined) ?? 0, stdout: out.map((l) => l + '\n').join(''), stderr: err.map((l) => l + '\n').join('') };
  } finally {
    process.exitCode = before;
    log.mockRestore();
    error.mockRestore();
  }
}

type Files = Record<string, Uint8Array | null>;

/** 48 training and 16 test images of 4×4, labels i mod 8 (classes 0 … 7), every image with ink. */
function standardFiles(): Files {
  const images = (n: number) => Uint8Array.from({ length: n * 16 }, (_, i) => ((i * 37) % 11 === 0 ? 0 : (i * 53) % 256) | (i % 16 === 5 ? 1 : 0));
  const labels = (n: number) => Uint8Array.from({ length: n }, (_, i) => i % 8);
  return {
    'train-images-idx3-ubyte': encodeIdx([48, 4, 4], images(48)),
    'train-labels-idx1-ubyte': encodeIdx([48], labels(48)),
    't10k-images-idx3-ubyte': encodeIdx([16, 4, 4], images(16)),
    't10k-labels-idx1-ubyte': encodeIdx([16], labels(16)),
  };
}

let counter = 0;
/** A data directory holding the standard files changed by `edit` (null deletes a file). */
function dataDir(edit: (files: Files) => void = () => undefined): string {
  const dir = join(root, `data-${counter++}`);
  mkdirSync(dir);
  const files = standardFiles();
  edit(files);
  for (const [name, bytes] of Object.entries(files)) if (bytes) writeFileSync(join(dir, name), bytes);
  return dir;
}

const good = dataDir();
const train = (...args: string[]) => ['train', '--data', good, '--no-save', '--epochs', '1', ...args];

const usageCases: [string[], string, string][] = [
  [['train', '--foo'], 'E_USAGE', "unknown option '--foo'; run `ffit train --help` for usage."],
  [['bogus'], 'E_USAGE', "unknown command 'bogus'; run `ffit --help` for usage."],
  [['train', 'extra'], 'E_USAGE', "too many arguments for 'train'"],
  [['train', '--beta'], 'E_OPTION', "option '--beta <β>' argument missing"],
  [['train', '--beta', 'abc'], 'E_OPTION', '--beta must be a number; got "abc"'],
  // breaker 2 item 11: decimal numbers only (surrounding spaces are ignored, as around list items)
  [['train', '--eta', '0x10'], 'E_OPTION', '--eta must be a number; got "0x10"'],
  [['train', '--shots', '0b111'], 'E_OPTION', '--shots must be an integer; got "0b111"'],
  [['train', '--classes', '0,0o1'], 'E_OPTION', '--classes must be an integer; got "0o1"'],
  [['experiment', 'fewshot', '--shots', '0x10'], 'E_OPTION', 'shot count "0x10" must be a whole number ≥ 1 or "all"'],
  [['experiment', 'forgetting', '--criterion', '0x1'], 'E_OPTION', '--criterion must be a number in (0, 1]; got "0x1"'],
  // breaker 2 item 5: epochs are bounded
  // breaker 2 item 9: MNIST is 28×28, so the causal layer sizes are checked against its 28 rows before it is loaded
  [['train', '--topology', 'causal', '--layers', '784,33,4', '--shots', '23', '--no-save'], 'E_OPTION',
    'With sequence 28, layers[1] (33 sites) must be a multiple of 28: each position holds the same number of sites.'],
  [['experiment', 'forgetting', '--max-epochs', '1e308'], 'E_OPTION', '--max-epochs must be a whole number from 1 to 1000000; got "1e308"'],
  [['train', '--durations', '1.5'], 'E_OPTION', '--durations must be an integer; got "1.5"'],
  [['train', '--classes', '0,,1'], 'E_OPTION', '--classes must be an integer; got ""'],
  [['train', '--schedule', 'step'], 'E_OPTION', 'Allowed choices are constant, linear, cosine'],
  [['train', '--backend', 'gpu'], 'E_OPTION', 'Allowed choices are auto, simd, scalar, js'],
  [['evaluate'], 'E_OPTION', "required option '--model <file>' not specified; run `ffit evaluate --help` for usage."],
  // unknown options are reported before a missing --model, and every hint names the subcommand
  [['worldlines', '--bogus'], 'E_USAGE', "unknown option '--bogus'; run `ffit worldlines --help` for usage."],
  [['evaluate', '--bogus'], 'E_USAGE', "unknown option '--bogus'; run `ffit evaluate --help` for usage."],
  [['worldlines'], 'E_OPTION', "required option '--model <file>' not specified; run `ffit worldlines --help` for usage."],
  [['worldlines', '--model', 'm.json', '--top', 'x'], 'E_OPTION', '--top must be an integer; got "x"; run `ffit worldlines --help` for usage.'],
  [['experiment', 'fewshot', '--bogus'], 'E_USAGE', "unknown option '--bogus'; run `ffit experiment fewshot --help` for usage."],
  // the report directory is checked (and created) before any data is loaded or model trained
  [['experiment', 'fewshot', '--quick', '--out', CLI], 'E_OPTION', `--out: cannot use ${CLI} as the report directory (EEXIST); choose another --out directory.`],
  [['experiment', 'dynamics', '--quick', '--out', join(CLI, 'sub')], 'E_OPTION', `--out: cannot use ${join(CLI, 'sub')} as the report directory (ENOTDIR)`],
  // experiment counts are bounded and name their flag (tiny data: 5 training images per digit after the hold-out, 2 test images)
  [['experiment', 'fewshot', '--seeds', '1e308'], 'E_OPTION', '--seeds must be a whole number from 1 to 100; got "1e308"'],
  [['experiment', 'fewshot', '--trials', '1000000000'], 'E_OPTION', '--trials must be a whole number from 1 to 1000; got "1000000000"'],
  [['experiment', 'fewshot', '--max-updates', '1e308'], 'E_OPTION', '--max-updates must be a whole number from 1 to 100000000'],
  [['experiment', 'forgetting', '--max-epochs', '0x10'], 'E_OPTION', '--max-epochs must be a whole number from 1 to 1000000; got "0x10"'],
  [['experiment', 'fewshot', '--methods', 'ffit,ffit'], 'E_OPTION', 'method "ffit" is listed twice; list each method once'],
  [['experiment', 'fewshot', '--shots', '1,all,1'], 'E_OPTION', '1 is listed twice; list each shot count once'],
  // flag values checked before the model is read (m.json does not exist)
  [['worldlines', '--model', 'm.json', '--top', '0'], 'E_OPTION', '--top must be an integer from 1 to 1000000 (worldlines to list); got 0.'],
  [['worldlines', '--model', 'm.json', '--resolution', '0'], 'E_OPTION', '--resolution must be an integer from 1 to 1024 (arrival-time grid steps per tick); got 0.'],
];

const optionCases: [string[], string, string][] = [
  [['experiment', 'dynamics', '--data', good, '--out', join(root, 'dyn'), '--steps', '100'], 'E_OPTION', '--steps: at most 20 online examples (5 per digit are left after the validation hold-out); got 100.'],
  [['experiment', 'dynamics', '--data', good, '--out', join(root, 'dyn'), '--steps', '8', '--test-per-class', '3'], 'E_OPTION', '--test-per-class: at most 2 (the test images of the rarest digit); got 3.'],
  [train('--batch', '0'), 'E_OPTION', '--batch: batchSize must be an integer from 1 to 65536; got 0.'],
  [train('--batch', '70000'), 'E_OPTION', '--batch: batchSize must be an integer from 1 to 65536; got 70000.'],
  [train('--durations', '0'), 'E_OPTION', '--durations: durations (D) must be an integer from 1 to 1024; got 0.'],
  [train('--beta', '0'), 'E_OPTION', '--beta: beta must be a number from 1e-6 to 1e6 (inverse temperature); got 0.'],
  [train('--beta', '-1'), 'E_OPTION', '--beta: beta must be a number from 1e-6 to 1e6'],
  [train('--beta', 'Infinity'), 'E_OPTION', '--beta: beta must be a number from 1e-6 to 1e6 (inverse temperature); got Infinity.'],
  [train('--eta', '-1'), 'E_OPTION', '--eta: eta must be a number from 0 to 1e12 (learning rate); got -1.'],
  [train('--eta', '1e13'), 'E_OPTION', '--eta: eta must be a number from 0 to 1e12'],
  [train('--kappa', '0'), 'E_OPTION', '--kappa: kappa must be a number from 1e-6 to 1e6; got 0.'],
  [train('--coupling', '-1'), 'E_OPTION', '--coupling: coupling (J) must be a number from 0 to 1e6; got -1.'],
  [train('--init-scale', '100'), 'E_OPTION', '--init-scale: initScale must be a number from 0 to 80; got 100.'],
  [train('--speed', '0'), 'E_OPTION', '--speed: speed (c) must be a number ≥ 1e-9'],
  [train('--omega', '1e7'), 'E_OPTION', '--omega: omega must be a number from −1e6 to 1e6 (radians per tick); got 10000000.'],
  [train('--t-star', '1e10'), 'E_OPTION', '--t-star: tStar must be a number from −1e9 to 1e9 (ticks); got 10000000000.'],
  [train('--seed', '3000000000'), 'E_OPTION', '--seed: seed must be an integer in ±(2^31 − 1); got 3000000000.'],
  [train('--epochs', '0'), 'E_OPTION', '--epochs: epochs must be an integer from 1 to 1e6; got 0.'],
  [train('--layers', '16,0,4'), 'E_OPTION', '--layers: layers[1] must be an integer from 1 to 16777216; got 0.'],
  [train('--topology', 'local', '--radius', '1e10'), 'E_OPTION', '--radius: radius must be a number > 0 and ≤ 1e9 (space units); got 10000000000.'],
  [train('--layers', '784,64,4'), 'E_OPTION', '--layers must start with 16 (pixels per image) and end with 4 (one target per class); got 784,64,4.'],
  [train('--layers', '16,4000000,4'), 'E_MEMORY', 'The lattice 16→4000000→4 with D = 4 and buffers for 256 examples needs about 21.84 GiB of memory (its route logits alone 1.19 GiB)'],
  [train('--val', '1'), 'E_OPTION', '--val: validation fraction must be in [0, 1), got 1'],
  [train('--shots', '0'), 'E_OPTION', '--shots: shots must be an integer ≥ 1 (examples per class), got 0'],
  [train('--shots', '50'), 'E_DATA', 'class 0 has only 5 examples, fewer than the 50 shots asked for; use --shots ≤ 5.'],
  [train('--classes', '0,0'), 'E_OPTION', '--classes: class 0 is listed twice in [0, 0]; list each class once.'],
  [train('--classes', '1'), 'E_OPTION', '--classes: need at least 2 classes to classify, got 1'],
  [train('--classes', '0,9'), 'E_DATA', 'class 9 has no examples in the training data in ' + good + ', which has classes 0, 1, 2, 3, 4, 5, 6, 7: choose classes from those.'],
];

const dataCases: [string, () => string, string, string][] = [
  ['missing directory', () => join(root, 'nope'), 'E_DATA', `data directory ${join(root, 'nope')} does not exist or is not a directory`],
  ['missing file', () => dataDir((f) => { f['t10k-labels-idx1-ubyte'] = null; }), 'E_DATA', 'has no t10k-labels-idx1-ubyte file; looked for'],
  ['empty file', () => dataDir((f) => { f['train-labels-idx1-ubyte'] = new Uint8Array(0); }), 'E_IDX_SIZE', 'train-labels-idx1-ubyte is empty (0 bytes); re-download it.'],
  ['truncated file', () => dataDir((f) => { f['train-images-idx3-ubyte'] = f['train-images-idx3-ubyte']!.subarray(0, 500); }), 'E_IDX_SIZE',
    'train-images-idx3-ubyte is truncated: header declares 48×4×4 = 768 bytes of data, file has 484; re-download it.'],
  ['wrong magic', () => dataDir((f) => { f['train-images-idx3-ubyte']![0] = 0x89; }), 'E_IDX_MAGIC', 'is not an IDX file: it starts with 0x89 0x00'],
  ['wrong type code', () => dataDir((f) => { f['t10k-images-idx3-ubyte']![2] = 0x0d; }), 'E_IDX_TYPE', 'holds elements of type 0x0d (float32)'],
  ['corrupt gzip', () => dataDir((f) => {
    const gz = gzipSync(f['train-images-idx3-ubyte']!);
    f['train-images-idx3-ubyte'] = null;
    f['train-images-idx3-ubyte.gz'] = gz.subarray(0, gz.length - 6);
  }), 'E_IDX_GZIP', 'train-images-idx3-ubyte.gz is not valid gzip data'],
  ['image/label count mismatch', () => dataDir((f) => { f['train-labels-idx1-ubyte'] = encodeIdx([47], new Uint8Array(47)); }), 'E_DATA',
    'the image file has 48 images but the label file has 47 labels'],
  ['swapped files', () => dataDir((f) => { [f['t10k-images-idx3-ubyte'], f['t10k-labels-idx1-ubyte']] = [f['t10k-labels-idx1-ubyte']!, f['t10k-images-idx3-ubyte']!]; }),
    'E_IDX_SIZE', 'did you swap the image and label files?'],
  ['blank image', () => dataDir((f) => { f['train-images-idx3-ubyte']!.fill(0, 16 + 4 * 16, 16 + 5 * 16); }), 'E_INPUT',
    'cannot be a source: it is blank (every value is 0), so it has no intensity to normalise; remove blank images from the data.'],
  ['a directory instead of a file', () => dataDir((f) => { f['train-labels-idx1-ubyte'] = null; }), 'E_DATA', 'train-labels-idx1-ubyte is a directory, not a regular file; it must be a readable IDX file'],
];

/** Expects one line `ffit: … [code]` containing `fragment`, exit status 1, no stack trace. */
function expectOneLine(r: { status: number | null; stderr: string }, code: string, fragment: string): void {
  expect(r.status, r.stderr).toBe(1);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^ffit: \S.* \[E_[A-Z_]+\]$/);
  expect(lines[0]!.endsWith(`[${code}]`), lines[0]).toBe(true);
  expect(lines[0]).toContain(fragment);
}

describe('command line and options', () => {
  it.each([...usageCases, ...optionCases])('ffit %j', async (args, code, fragment) => {
    expectOneLine(await run(args), code, fragment);
  });

  it('--debug adds the stack', async () => {
    const r = await run(train('--batch', '0', '--debug'));
    expect(r.status).toBe(1);
    expect(r.stderr.split('\n')[0]).toContain('[E_OPTION]');
    expect(r.stderr).toMatch(/\n\s+at /);
  });
});

describe('data files', () => {
  it.each(dataCases)('%s', async (_name, makeDir, code, fragment) => {
    const dir = makeDir();
    if (_name === 'a directory instead of a file') mkdirSync(join(dir, 'train-labels-idx1-ubyte'));
    expectOneLine(await run(['train', '--data', dir, '--no-save']), code, fragment);
  });
});

describe('model files', () => {
  const models = join(root, 'models');
  const path = (name: string) => join(models, name);
  let text = '';

  beforeAll(async () => {
    mkdirSync(models);
    const net = await InterferenceNetwork.create({ layers: [16, 4, 3], seed: 2 });
    const doc = net.toJSON({ classes: [0, 1, 2] });
    text = JSON.stringify(doc);
    saveModel(path('good.json'), doc);
    writeFileSync(path('notjson.json'), 'PK\u0003\u0004 zip data');
    writeFileSync(path('truncated.json'), text.slice(0, text.length >> 1));
    const data = doc.logits[0]!.data, i = data.length >> 1;
    writeFileSync(path('flipped.json'), text.replace(data, data.slice(0, i) + (data[i] === 'Q' ? 'R' : 'Q') + data.slice(i + 1)));
    writeFileSync(path('future.json'), JSON.stringify({ ...doc, version: 7 }));
    writeFileSync(path('other.json'), JSON.stringify({ name: 'resnet', weights: [] }));
    saveModel(path('wrong-classes.json'), net.toJSON({ classes: [0, 1] }));
    const big = await InterferenceNetwork.create({ layers: [784, 4, 3] });
    saveModel(path('mnist.json'), big.toJSON({ classes: [0, 1, 2] }));
    writeFileSync(path('v1.json'), readFileSync(new URL('fixtures/model-v1.json', import.meta.url)));
    net.dispose();
    big.dispose();
  });

  const evaluate = (model: string) => run(['evaluate', '--model', path(model), '--data', good]);

  it.each([
    ['missing.json', 'E_MODEL', 'Cannot read model file', '(ENOENT); check the path'],
    ['notjson.json', 'E_MODEL', 'is not valid JSON', 'truncated, damaged or not an ffit model'],
    ['truncated.json', 'E_MODEL', 'is not valid JSON', 'use the file that ffit saved'],
    ['flipped.json', 'E_MODEL_CHECKSUM', 'is corrupted: its logits do not match their SHA-256 checksum', 'restore the file from a copy or retrain'],
    ['future.json', 'E_MODEL_VERSION', 'is format version 7, written by a newer ffit', 'upgrade ffit'],
    ['other.json', 'E_MODEL', 'is not an ffit model (its "format" is missing, expected "ffit-model")'],
    ['wrong-classes.json', 'E_MODEL', 'meta.classes is [0,1]; it must list 3 distinct integer classes ≥ 0, one per target site'],
    ['mnist.json', 'E_SHAPE', 'expects 784 pixels per image; the test images in', 'have 16 (4×4). Use data of the size it was trained on (--data)'],
  ])('%s', async (model, code, ...fragments) => {
    const r = await evaluate(model);
    for (const f of fragments) expectOneLine(r, code, f);
    if (model !== 'missing.json') expect(r.stderr).toContain(`Model file ${path(model)}`);
  });

  it('a good model and a version-1 model evaluate (exit 0)', async () => {
    for (const model of ['good.json', 'v1.json']) {
      const r = await run(['evaluate', '--model', path(model), '--data', good, '--json']);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
      expect(out.testCount).toBe(6); // two test images of each of the model's 3 classes
      expect(out.classes).toEqual(model === 'v1.json' ? [4, 1, 7] : [0, 1, 2]);
    }
  });

  it('train saves a model whose manifest records the metrics, and evaluate reproduces its accuracy', async () => {
    const out = path('trained.json');
    const r = await run(['train', '--data', good, '--val', '0', '--epochs', '2', '--batch', '4', '--json', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout.trim().split('\n').pop()!);
    const doc = JSON.parse(readFileSync(out, 'utf8'));
    expect(doc.version).toBe(2);
    expect(doc.training.metrics.testAccuracy).toBe(summary.testAccuracy);
    expect(doc.training.metrics.epochs).toBe(2);
    expect(doc.training.examplesSeen).toBe(2 * summary.trainCount);
    expect(doc.meta).toEqual({ classes: [0, 1, 2, 3], data: good });
    const ev = await run(['evaluate', '--model', out, '--data', good, '--json']);
    expect(JSON.parse(ev.stdout.trim().split('\n').pop()!).testAccuracy).toBe(summary.testAccuracy);
    unlinkSync(out);
  });
});

describe('checks before any work: nothing is loaded and nothing printed', () => {
  const nowhere = () => join(root, 'no-such-data'); // loading it would be E_DATA: these errors come first
  it.each([
    [['--epochs', '0'], 'E_OPTION', '--epochs: epochs must be an integer from 1 to 1e6; got 0.'],
    [['--epochs', '1e308'], 'E_OPTION', '--epochs: epochs must be an integer from 1 to 1e6; got 1e+308.'],
    [['--beta', '0'], 'E_OPTION', '--beta: beta must be a number from 1e-6 to 1e6'],
    [['--beta', '1e-320'], 'E_OPTION', '--beta: beta must be a number from 1e-6 to 1e6 (inverse temperature); got 1e-320.'],
    [['--layers', '16,0,4'], 'E_OPTION', '--layers: layers[1] must be an integer from 1 to 16777216; got 0.'],
    [['--classes', '3,3'], 'E_OPTION', '--classes: class 3 is listed twice'],
    [['--out', root], 'E_OPTION', `--out ${root} is a directory; give a file path such as ${join(root, 'ffit-model.json')}.`],
  ])('train %j', async (flags, code, fragment) => {
    const r = await run(['train', '--data', nowhere(), ...flags]);
    expectOneLine(r, code, fragment);
    expect(r.stdout).toBe('');
  });

  it('test images of another size than the training images: E_SHAPE naming both, before the network and any progress line', async () => {
    const dir = dataDir((f) => { f['t10k-images-idx3-ubyte'] = encodeIdx([16, 2, 8], f['t10k-images-idx3-ubyte']!.subarray(16)); });
    const r = await run(['train', '--data', dir, '--no-save']);
    expectOneLine(r, 'E_SHAPE', `The test images in ${dir} are 2×8 pixels but the training images are 4×4; use test files of the same size as the training files (--data).`);
    expect(r.stdout).toBe('');
  });

  it('data errors name the file at fault: a class missing from the test file only', async () => {
    const dir = dataDir((f) => { f['t10k-labels-idx1-ubyte'] = encodeIdx([16], Uint8Array.from({ length: 16 }, (_, i) => i % 7)); });
    expectOneLine(await run(['train', '--data', dir, '--no-save', '--classes', '0,7']), 'E_DATA',
      `class 7 has no examples in the test data in ${dir}, which has classes 0, 1, 2, 3, 4, 5, 6: choose classes from those.`);
  });
});

describe('--out is checked before training, and written only where asked', () => {
  const out = join(root, 'out');
  beforeAll(() => mkdirSync(out));
  const save = (path: string) => ['train', '--data', good, '--epochs', '1', '--out', path];

  it('a trailing separator names a directory: refused, and the file it resembles is left alone', async () => {
    const file = join(out, 'existing.json');
    writeFileSync(file, 'keep');
    const r = await run(save(`${file}/`));
    expectOneLine(r, 'E_OPTION', `--out ${file}/ ends with a path separator, so it names a directory, not a file; give a file path such as ${join(file, 'ffit-model.json')}.`);
    expect(readFileSync(file, 'utf8')).toBe('keep');
    expect(r.stdout).toBe('');
    expectOneLine(await run(save(join(out, 'newdir') + '/')), 'E_OPTION', 'ends with a path separator');
    expect(existsSync(join(out, 'newdir'))).toBe(false);
    expectOneLine(await run(save(join(file, 'm.json'))), 'E_OPTION', `--out ${join(file, 'm.json')} cannot be created: ${file} is a file, not a directory; choose another path.`);
  });

  it('a directory that cannot be made (under /proc, where Node\'s recursive mkdir never returns) is refused before training', async () => {
    const r = await run(save('/proc/ffit-no-such-dir/m.json'));
    expectOneLine(r, 'E_OPTION', '--out /proc/ffit-no-such-dir/m.json cannot be created (ENOENT); choose a directory you can write to.');
    expect(r.stdout).toBe('');
  });

  it('an IDX file that the command reads is refused as --out, before training, and left alone', async () => {
    const images = join(good, 't10k-images-idx3-ubyte'), before = readFileSync(images);
    const r = await run(save(images));
    expectOneLine(r, 'E_OPTION', `--out ${images} is one of the IDX files this command reads; writing there would destroy it: choose another path, e.g. ffit-model.json.`);
    expect(r.stdout).toBe('');
    expect(readFileSync(images)).toEqual(before);
  });

  it('a file that exists but cannot be written, and a directory that cannot hold files, are refused before training', async () => {
    // /proc/version exists and is a regular file, but no file can be made beside it
    const r = await run(save('/proc/version'));
    expectOneLine(r, 'E_OPTION', '--out /proc/version cannot be written: no file can be created in /proc (ENOENT); choose another path.');
    expect(r.stdout).toBe('');
    // a link is checked where it leads: the file would be written beside /proc/version
    const link = join(out, 'to-proc.json');
    symlinkSync('/proc/version', link);
    expectOneLine(await run(save(link)), 'E_OPTION', `--out ${link} cannot be written: no file can be created in /proc (ENOENT)`);
  });

  it('a command refused after the output checks leaves none of the directories they made', async () => {
    const path = join(out, 'nd1', 'nd2', 'm.json');
    expectOneLine(await run(['train', '--data', join(root, 'no-such-data'), '--epochs', '1', '--out', path]), 'E_DATA', 'no-such-data');
    expect(existsSync(join(out, 'nd1'))).toBe(false);
  });

  it('a path whose temporary file would be too long, and a name beside a .gz input it would shadow, are refused before training', async () => {
    // a path of 4090 bytes with a 65-byte name fits PATH_MAX (4096); its temporary file (.<name>.<pid>.<n>.tmp) does not
    let deep = join(out, 'deep');
    while (deep.length + 101 <= 4024) deep = join(deep, 'd'.repeat(100));
    deep = join(deep, 'd'.repeat(4024 - deep.length - 1));
    mkdirSync(deep, { recursive: true });
    const long = join(deep, 'm'.repeat(65));
    expect(long).toHaveLength(4090);
    expectOneLine(await run(save(long)), 'E_OPTION', 'cannot be written: no file can be created in');
    expectOneLine(await run(save(long)), 'E_OPTION', '(ENAMETOOLONG)');
    const gz = dataDir((f) => {
      for (const name of Object.keys(f)) { f[`${name}.gz`] = gzipSync(f[name]!); f[name] = null; }
    });
    const plain = join(gz, 't10k-labels-idx1-ubyte');
    expectOneLine(await run(['train', '--data', gz, '--epochs', '1', '--out', plain]), 'E_OPTION', `--out ${plain} is one of the IDX files this command reads`);
    expect(existsSync(plain)).toBe(false);
    // the data directory reached through a link: the same place
    const viaLink = join(out, 'gz-link');
    symlinkSync(gz, viaLink);
    expectOneLine(await run(['train', '--data', viaLink, '--epochs', '1', '--out', plain]), 'E_OPTION',
      `--out ${plain} is the same file as ${join(viaLink, 't10k-labels-idx1-ubyte')}, one of the IDX files this command reads`);
    expect(existsSync(plain)).toBe(false);
  });

  it('a file name longer than a file system allows is refused before training; one near the limit is written', async () => {
    const long = join(out, 'm'.repeat(256));
    expectOneLine(await run(save(long)), 'E_OPTION', '--out: the file name mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm… is 256 bytes, more than a file system allows (255); choose a shorter name.');
    const near = join(out, 'm'.repeat(250));
    const r = await run(['train', '--data', good, '--epochs', '1', '--json', '--out', near]);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(near, 'utf8')).format).toBe('ffit-model');
  });

  it('a symbolic link is written through: the link stays, the file it names is replaced and keeps its permissions', async () => {
    const file = join(out, 'private.json'), link = join(out, 'private-link.json');
    writeFileSync(file, 'old', { mode: 0o600 });
    symlinkSync(file, link);
    const r = await run(['train', '--data', good, '--epochs', '1', '--json', '--out', link]);
    expect(r.status, r.stderr).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(JSON.parse(readFileSync(file, 'utf8')).format).toBe('ffit-model');
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('missing parent directories are created', async () => {
    const path = join(out, 'a', 'b', 'model.json');
    const r = await run(['train', '--data', good, '--epochs', '1', '--val', '0', '--json', '--out', path]);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(path, 'utf8')).format).toBe('ffit-model');
  });
});

describe('ffit worldlines', () => {
  const dir = join(root, 'worldlines');
  const path = (name: string) => join(dir, name);
  const wl = (model: string, ...args: string[]) => run(['worldlines', '--model', path(model), '--data', good, ...args]);

  beforeAll(async () => {
    mkdirSync(dir);
    const save = async (name: string, options: Partial<FfitOptions>, meta: Record<string, unknown> = { classes: [0, 1, 2] }) => {
      const net = await InterferenceNetwork.create({ layers: [16, 4, 3], seed: 5, initScale: 1, ...options });
      saveModel(path(name), net.toJSON(meta));
      net.dispose();
    };
    await save('plain.json', {});
    await save('omega0.json', { omega: 0 });
    await save('slow.json', { speed: 1e-9 });
    await save('d1024.json', { durations: 1024 });
    await save('classes-dup.json', {}, { classes: [0, 0, 1] });
    await save('tokens-str.json', {}, { classes: [0, 1, 2], tokens: 'rows' });
    await save('patch-str.json', {}, { classes: [0, 1, 2], tokens: { mode: 'patches', patch: '7' } });
    await save('patch-3.json', {}, { classes: [0, 1, 2], tokens: { mode: 'patches', patch: 3 } });
    await save('classes-absent.json', {}, { classes: [0, 1, 9] });
    await save('rows4.json', { topology: 'causal', sequence: 4, layers: [16, 8, 3] }, { classes: [0, 1, 2], tokens: { mode: 'rows' } });
    await save('single.json', { layers: [16, 3] });
  });

  it('a row-token model and images of its pixel count but another shape (2×8 against 4×4 rows) is a shape error', async () => {
    const wide = dataDir((f) => { f['t10k-images-idx3-ubyte'] = encodeIdx([16, 2, 8], f['t10k-images-idx3-ubyte']!.subarray(16)); });
    for (const command of ['evaluate', 'worldlines']) {
      expectOneLine(await run([command, '--model', path('rows4.json'), '--data', wide]), 'E_SHAPE',
        `Model file ${path('rows4.json')} reads each image as 4 tokens (rows) of 4 pixels; the 2×8 test images in ${wide} make 2 tokens of 8.`);
    }
    expect((await run(['evaluate', '--model', path('rows4.json'), '--data', good])).status).toBe(0);
  });

  it('a lattice without hidden sites says it has no self-attention events (no empty heading)', async () => {
    const r = await wl('single.json');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('no self-attention events: no hidden site of this lattice is reached by worldlines from ≥ 2 lit sources of this image.');
    expect(r.stdout).not.toContain('strongest self-attention events');
  });

  it('control characters from a file are shown escaped in the error, never sent to the terminal', async () => {
    const file = path('escape.json');
    writeFileSync(file, '\x1b]0;pwned\x07\x1b[2J{');
    const r = await run(['evaluate', '--model', file, '--data', good]);
    expectOneLine(r, 'E_MODEL', '\\x1b]0;pwned\\x07');
    expect(r.stderr).not.toMatch(/[\x00-\x09\x0b-\x1f]/);
  });

  it('a model whose classes the test data lacks says so and points at --data (evaluate has no --classes)', async () => {
    for (const command of ['evaluate', 'worldlines']) {
      const r = await run([command, '--model', path('classes-absent.json'), '--data', good]);
      expectOneLine(r, 'E_DATA', `The model classifies 0, 1, 9, but the test data in ${good} has no examples of class 9; ` +
        'evaluate it on data that has every class it was trained on (--data).');
    }
  });

  it('ω = 0: E(t) is constant and finite (period null in JSON), and the diagram has no NaN', async () => {
    const svg = path('omega0.svg');
    const r = await wl('omega0.json', '--json', '--svg', svg);
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(report.energy.period).toBe(null);
    expect(report.energy.E.every((e: number) => Number.isFinite(e) && e === report.energy.atTStar)).toBe(true);
    const text = readFileSync(svg, 'utf8');
    expect(text).not.toMatch(/NaN|Infinity/);
    const human = await wl('omega0.json');
    expect(human.stdout).toContain('E(t) is constant (ω = 0: no phases, nothing oscillates');
  });

  it('a slow signal: the arrival times are skipped with a note; an explicit --resolution that cannot fit is refused', async () => {
    const r = await wl('slow.json', '--json');
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(report.arrivals).toBe(null);
    expect(report.notes[0]).toContain('arrival times skipped: at speed 1e-9 travel times are so long that even 1 grid step per tick needs');
    expect(report.top.length).toBe(10);
    const refused = await wl('slow.json', '--resolution', '2');
    expectOneLine(refused, 'E_OPTION', 'leave --resolution out to skip the arrival times');
    expect(refused.stderr).toMatch(/--resolution 2: the arrival-time grid would hold \d{10,} values in one layer, more than 67108864; no resolution fits/);
  });

  it('--resolution sets the arrival-time grid', async () => {
    const r = await wl('plain.json', '--json', '--resolution', '3');
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').pop()!).arrivals.resolution).toBe(3);
  });

  it('--top beyond what the search may hold is refused up front, naming the largest K', async () => {
    const r = await wl('d1024.json', '--top', '1000000');
    expectOneLine(r, 'E_OPTION', '--top: k = 1000000 worldlines would need up to');
    expect(r.stderr).toMatch(/more than the 256 MiB allowed; ask for at most \d+\./);
  });

  it('--svg never overwrites the model it reads (same file by another path or a link)', async () => {
    const before = readFileSync(path('plain.json'), 'utf8');
    symlinkSync(path('plain.json'), path('link.json'));
    for (const svg of [path('plain.json'), join(dir, '.', 'sub', '..', 'plain.json')]) {
      expectOneLine(await wl('plain.json', '--svg', svg), 'E_OPTION',
        `--svg ${svg} is one of the files this command reads (the model and the IDX files); writing there would destroy it`);
    }
    expectOneLine(await wl('plain.json', '--svg', path('link.json')), 'E_OPTION',
      `--svg ${path('link.json')} is the same file as ${path('plain.json')}, one of the files this command reads`);
    expect(readFileSync(path('plain.json'), 'utf8')).toBe(before);
  });

  it('--svg never overwrites the IDX files it reads', async () => {
    const labels = join(good, 't10k-labels-idx1-ubyte'), before = readFileSync(labels);
    expectOneLine(await wl('plain.json', '--svg', labels), 'E_OPTION', `--svg ${labels} is one of the files this command reads`);
    expect(readFileSync(labels)).toEqual(before);
  });

  it.each([
    ['classes-dup.json', 'E_MODEL', 'meta.classes is [0,0,1]; it must list 3 distinct integer classes'],
    ['tokens-str.json', 'E_MODEL', 'meta.tokens is "rows"; it must be { "mode": "rows" or "patches", "patch": side in pixels }'],
    ['patch-str.json', 'E_MODEL', 'meta.tokens.patch is "7"; patches need a whole number of pixels ≥ 1'],
    ['patch-3.json', 'E_MODEL', `meta.tokens.patch 3 does not divide the 4×4 test images in ${good}`],
  ])('a bad meta in %s is a model error naming the file', async (model, code, fragment) => {
    for (const command of ['evaluate', 'worldlines']) {
      const r = await run([command, '--model', path(model), '--data', good]);
      expectOneLine(r, code, `Model file ${path(model)}: ${fragment}`);
    }
  });
});

describe('model and results files that are not regular files, or too large, are refused before reading (breaker 2, item 1)', () => {
  const special = join(root, 'special');
  mkdirSync(special);
  const fifo = join(special, 'model.fifo');
  spawnSync('mkfifo', [fifo]);
  const rep = join(special, 'rep');
  mkdirSync(rep);
  symlinkSync('/dev/zero', join(rep, 'results.json'));
  const repDir = join(special, 'repdir');
  mkdirSync(join(repDir, 'results.json'), { recursive: true });
  const fix = 'check the path (it must be a file written by `ffit train`).';

  it.each([
    [['evaluate', '--model', '/dev/zero'], 'E_MODEL', `ffit: Model file /dev/zero is a character device, not a regular file (it could be read forever or block); ${fix} [E_MODEL]`],
    [['worldlines', '--model', '/dev/zero'], 'E_MODEL', 'ffit: Model file /dev/zero is a character device, not a regular file'],
    [['evaluate', '--model', fifo], 'E_MODEL', `ffit: Model file ${fifo} is a FIFO (named pipe), not a regular file (it could be read forever or block); ${fix} [E_MODEL]`],
    [['evaluate', '--model', special], 'E_MODEL', `ffit: Model file ${special} is a directory, not a regular file; ${fix} [E_MODEL]`],
    [['experiment', 'report', rep], 'E_DATA', `ffit: Results file ${join(rep, 'results.json')} is a character device, not a regular file (it could be read forever or block); pass the --out directory of an experiment. [E_DATA]`],
    [['experiment', 'report', repDir], 'E_DATA', `ffit: Results file ${join(repDir, 'results.json')} is a directory, not a regular file; pass the --out directory of an experiment. [E_DATA]`],
  ])('ffit %j', async (args, code, line) => {
    const r = await run(args);
    expectOneLine(r, code, line);
  });

  it('a sparse 3 GiB model or results file is refused from its size, naming the cap', async () => {
    const big = join(special, 'big.json');
    writeFileSync(big, '{');
    truncateSync(big, 3 * 2 ** 30);
    const bigRep = join(special, 'bigrep');
    mkdirSync(bigRep);
    symlinkSync(big, join(bigRep, 'results.json'));
    try {
      expectOneLine(await run(['evaluate', '--model', big]), 'E_MODEL',
        `ffit: Model file ${big} is 3.00 GiB (3221225472 bytes), more than the 512.0 MiB ffit reads (${MAX_TEXT_FILE_BYTES} bytes); it is not a file ffit can use, or is damaged: ${fix}`);
      expectOneLine(await run(['experiment', 'report', bigRep]), 'E_DATA', `Results file ${join(bigRep, 'results.json')} is 3.00 GiB (3221225472 bytes), more than the 512.0 MiB ffit reads`);
    } finally {
      unlinkSync(big);
    }
  });
});

describe.concurrent('as real processes', { timeout: 60_000 }, () => {
  it.each([
    [['train', '--foo'], 'E_USAGE', "unknown option '--foo'"],
    [train('--beta', '0'), 'E_OPTION', '--beta: beta must be a number from 1e-6 to 1e6'],
    [['train', '--data', join(root, 'nope')], 'E_DATA', 'does not exist or is not a directory'],
    [['evaluate', '--model', join(root, 'nope.json')], 'E_MODEL', 'Cannot read model file'],
  ])('ffit %j exits with status 1 and one line', async (args, code, fragment) => {
    expectOneLine(await spawnCli(args), code, fragment);
  });

  it('help is not an error', async () => {
    for (const args of [['--help'], ['train', '--help']]) {
      const r = await spawnCli(args);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('Usage: ffit');
    }
    const bare = await spawnCli([]);
    expect(bare.status).toBe(1); // `ffit` alone prints the help, on stderr
    expect(bare.stderr).toContain('Commands:');
  });
});
