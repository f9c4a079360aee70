#!/usr/bin/env node
// Rewrites the benchmark block of README.md (between <!-- bench:start --> and <!-- bench:end -->)
// from bench/results/latest.json, so the README quotes exactly what `npm run bench` measured.
//   node bench/readme.mjs [results.json] [--force]   (refuses a --quick or --smoke result unless forced)
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { breakdownTable, fmt, replaceFiles, table } from './lib.mjs';

/** Ends with one line on stderr and exit code 1; README.md is not touched. */
function fail(message) {
  process.stderr.write(`bench/readme.mjs: ${message}\n`);
  process.exit(1);
}

let args;
try {
  args = parseArgs({ options: { force: { type: 'boolean', default: false } }, allowPositionals: true });
} catch (err) {
  fail(`${err.message.replace(/\.?$/, '.')} It takes one results file (default bench/results/latest.json) and --force.`);
}
if (args.positionals.length > 1) fail(`give one results file, not ${args.positionals.length} (${args.positionals.join(', ')}).`);
const source = args.positionals[0] ?? fileURLToPath(new URL('./results/latest.json', import.meta.url));
let r;
try {
  r = JSON.parse(readFileSync(source, 'utf8'));
} catch (err) {
  fail(`cannot read ${source} as a benchmark result (${err.code ?? err.message}); give the latest.json that \`npm run bench\` wrote.`);
}
// the fields the block quotes: a file without them is not a result of bench/run.mjs (or of an older one)
const missing = ['meta.mode', 'meta.date', 'meta.cpu', 'meta.cores', 'meta.node', 'meta.loadavgStart', 'meta.loadavgEnd', 'roofline.gflops',
  'training', 'kernels.rows', 'threads', 'scaling.width', 'scaling.durations', 'scaling.depth', 'memory.rssPeakBytes', 'targets']
  .find((path) => path.split('.').reduce((o, k) => (o === null || typeof o !== 'object' ? undefined : o[k]), r) === undefined);
if (missing) fail(`${source} is not a complete result of bench/run.mjs (it has no ${missing}); run \`npm run bench\` for a new one.`);
// and the values it quotes, of the right kinds: no "undefined", "NaN" or empty table in the README
const finite = (v) => typeof v === 'number' && Number.isFinite(v);
const wrong = [
  [!finite(r.roofline.gflops) || !finite(r.roofline.copyGBs), 'roofline'],
  [![r.meta.loadavgStart, r.meta.loadavgEnd].every((a) => Array.isArray(a) && a.length > 0 && a.every(finite)), 'meta.loadavgStart / loadavgEnd'],
  [!Array.isArray(r.training) || r.training.length === 0 ||
    !r.training.every((t) => finite(t.trainPerSecond) && finite(t.inferPerSecond) && finite(t.pctRoofline?.executed) && finite(t.pctRoofline?.dense)), 'training'],
  [!['forward', 'accumulate', 'learn', 'transfer', 'update'].every((n) => {
    const k = Array.isArray(r.kernels.rows) && r.kernels.rows.find((row) => row.kernel === n);
    return k && finite(k.backends?.simd?.gflops) && finite(k.simdOverScalar) && finite(k.simdOverJs);
  }), 'kernels.rows'],
  [!Array.isArray(r.threads), 'threads'],
  [!Array.isArray(r.targets) || !r.targets.every((t) => typeof t.target === 'string' && finite(t.value) && finite(t.threshold) && typeof t.met === 'boolean'), 'targets'],
].find(([bad]) => bad);
if (wrong) fail(`${source} has values of the wrong kind in ${wrong[1]}; run \`npm run bench\` for a new result.`);
if (r.meta.mode !== 'full' && !args.values.force) {
  fail(`${source} is from a --${r.meta.mode} run; the README quotes full runs only (npm run bench), or pass --force.`);
}
const readme = fileURLToPath(new URL('../README.md', import.meta.url));
const text = readFileSync(readme, 'utf8');
const START = '<!-- bench:start -->', END = '<!-- bench:end -->';
const start = text.indexOf(START), end = text.indexOf(END, start);
if (start < 0 || end < 0 || text.indexOf(START, start + 1) >= 0) fail(`README.md needs exactly one ${START} followed by ${END}; README.md is unchanged.`);

const x = (v) => `${fmt(v, 3)}×`;
const lattice = (layers) => layers.join('→');
const m = r.meta;
const train = (w, D) => r.training.find((t) => t.layers[1] === w && t.D === D);
const tf = (w, b) => r.tfjs?.find((t) => t.layers[1] === w && t.backend === b);
/** The speed table's rows. */
function speedRows() {
  const rows = [];
  for (const w of [64, 256]) {
    for (const D of [1, 4, 8]) {
      const t = train(w, D);
      if (!t) continue;
      rows.push(`| FFIT ${lattice(t.layers)}, D = ${D} | ${fmt(t.trainPerSecond)} | ${fmt(t.inferPerSecond)} | ${fmt(t.pctRoofline.executed)} % / ${fmt(t.pctRoofline.dense)} % |`);
    }
    for (const b of ['wasm', 'cpu']) {
      const t = tf(w, b);
      if (t) rows.push(`| tfjs ${b} MLP ${lattice(t.layers)} (backprop, Adam) | ${fmt(t.train)} | ${fmt(t.infer)} | |`);
    }
  }
  return rows;
}
const k = (name) => r.kernels.rows.find((row) => row.kernel === name);
/** The thread comparison's table, or nothing for a result without it. */
function threadBlock() {
  if (r.threads.length === 0) return [];
  const n = r.threads[0].examples, what = n === r.data?.count ? `full-data epoch (${fmt(n)} images)` : `epoch of ${fmt(n)} images`;
  return [`| ${what} | 1 thread, faster core | 1 thread, slower core | 2 threads | speed-up (over the slower core) | two one-thread trainers at once |`,
    '| --- | --- | --- | --- | --- | --- |',
    ...r.threads.map((t) => `| ${lattice(t.layers)}, D = ${t.D} | ${fmt(t.oneThreadSeconds)} s | ${t.otherCoreSeconds ? `${fmt(t.otherCoreSeconds)} s` : '—'} | ` +
      `${fmt(t.twoThreadSeconds)} s | ${x(t.speedup)}${t.speedupOverOtherCore ? ` (${x(t.speedupOverOtherCore)})` : ''} | ` +
      `${t.independentSpeedup ? x(t.independentSpeedup) : '—'} |`),
    ''];
}
/** The per-batch table of the thread comparison and its note, or nothing for a result without it. */
function breakdownBlock() {
  const b = breakdownTable(r.threads);
  if (b.rows.length === 0) return [];
  return [table(b.head, b.rows), '',
    'Per batch, over one more epoch each: the first two columns are the calls that run as jobs on both threads (in parentheses, one ' +
    'thread\'s time over two threads\'); the rest is what the calling thread does alone; the mean batch (the epoch over its batches) ' +
    'includes the slow batches. One epoch each: these figures move more than the medians of the epoch table above.', ''];
}
let block;
try {
  block = render();
} catch (err) {
  fail(`${source} could not be rendered (${err.message}); is it a result of this version of bench/run.mjs? README.md is unchanged.`);
}
if (/undefined|NaN/.test(block)) fail(`${source} gave "undefined" or "NaN" in the block; run \`npm run bench\` for a new result. README.md is unchanged.`);
try {
  replaceFiles([{ path: readme, text: text.slice(0, start) + block + text.slice(end + END.length) }]);
} catch (err) {
  fail(`README.md could not be written (${err.code ?? err.message}); it is unchanged.`);
}
process.stderr.write(`README.md: benchmark block rewritten from ${source}\n`);

/** The whole block, START to END. */
function render() {
  const loaded = Math.max(...m.loadavgStart, ...m.loadavgEnd) > 0.5 * m.cores;
  const rows = speedRows();
  return [
  START,
  `Measured by \`npm run bench\` (${m.mode} mode) on ${m.date.slice(0, 10)}: ${m.cpu}, ${m.cores} cores, Node ${m.node}` +
    (m.tfjs ? `, TensorFlow.js ${m.tfjs}` : '') +
    `; load average (1, 5, 15 minutes) ${m.loadavgStart.map((x) => x.toFixed(1)).join(', ')} at the start, ${m.loadavgEnd.map((x) => x.toFixed(1)).join(', ')} at the end` +
    (loaded ? ' — other work had been running, so these figures may be lower and noisier than on an idle machine.' : '.'),
  '',
  `Roofline of one WebAssembly thread (f32x4 multiply-add in L1): **${fmt(r.roofline.gflops)} GFLOP/s**; memory.copy ${fmt(r.roofline.copyGBs)} GB/s.` +
    (r.cores ? ` This VM's two cores need not be equal, and which one is slower changes within minutes (at the start of this run ` +
      `${r.cores.perCore.map((c) => `cpu ${c.cpu}: ${fmt(c.trainPerSecond)}`).join(', ')} training examples/s): training and the ` +
      'one-thread epochs of the thread comparison are measured with the main thread pinned to each core in turn, and the faster ' +
      `core is quoted; the other one-thread sections run pinned to the core that trained faster at the start (cpu ${r.cores.pinned}).` : ''),
  '',
  '| MNIST 0–3, batch 32, one thread | train examples/s | inference examples/s | % of roofline (executed / dense-equivalent FLOPs) |',
  '| --- | --- | --- | --- |',
  ...rows,
  '',
  '| kernel (784→256, D = 4, batch 32) | SIMD GFLOP/s | SIMD ÷ scalar | SIMD ÷ JS |',
  '| --- | --- | --- | --- |',
  ...['forward', 'accumulate', 'learn', 'transfer', 'update'].map((n) => `| \`${n}\` | ${fmt(k(n).backends.simd.gflops)} | ${x(k(n).simdOverScalar)} | ${x(k(n).simdOverJs)} |`),
  '',
  ...threadBlock(),
  ...breakdownBlock(),
  `Scaling of one thread's time per epoch: width^${fmt(r.scaling.width.exponent, 2)}, D^${fmt(r.scaling.durations.exponent, 2)}, ` +
    `hidden layers^${fmt(r.scaling.depth.exponent, 2)} (exponents fitted over width 64…512, D 1…16, 1…8 hidden layers of 128). ` +
    `Peak RSS ${fmt(r.memory.rssPeakBytes / 2 ** 20)} MiB for the whole benchmark (tfjs included).`,
  '',
  '| target (issue 5) | measured | met |',
  '| --- | --- | --- |',
  ...r.targets.map((t) => `| ${t.target} | ${t.threshold < 1 ? `${fmt(100 * t.value)} %` : x(t.value)} | ${t.met ? 'yes' : '**no**'} |`),
  END,
  ].join('\n');
}
