#!/usr/bin/env node
// `npm run bench`: how fast ffit trains, against this machine's limit and against TensorFlow.js.
// Writes bench/results/latest.json and bench/results/latest.md (atomically). Every ratio is taken
// within this one run; every figure is a median of several repetitions.
//
//   node bench/run.mjs            full run (a few minutes on a quiet 2-core machine)
//   node bench/run.mjs --quick    fewer repetitions and smaller samples, for development
//   node bench/run.mjs --smoke    seconds; only checks that everything runs (used by a test)
//   --out DIR                     where to write latest.json / latest.md (default bench/results, or
//                                 bench/results/quick|smoke for the shorter modes: the committed files stay)
//   --no-tfjs                     skip the TensorFlow.js baseline
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { createBackend, InterferenceNetwork, loadMnist, Rng, selectClasses } from '../dist/node.js';
import { epochFlops, exponent, flops, measure, median, replaceFiles } from './lib.mjs';
import { markdown } from './report.mjs';
import { tfjsMlp, tfjsVersion } from './tfjs.mjs';

/** Throws EISDIR (or the like) unless latest.json and latest.md in --out are absent or plain files that a rename can replace. */
function checkResultFiles() {
  for (const name of ['latest.json', 'latest.md']) {
    const path = join(argv.out, name);
    if (existsSync(path) && !statSync(path).isFile()) throw Object.assign(new Error(`${path} is not a file`), { code: 'EISDIR' });
  }
}

/** Ends the run before it measures anything: one line on stderr, exit code 2. */
function refuse(message) {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}
let argv;
try {
  ({ values: argv } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      smoke: { type: 'boolean', default: false },
      out: { type: 'string' },
      'no-tfjs': { type: 'boolean', default: false },
    },
  }));
} catch (err) {
  refuse(`${err.message.replace(/\.?$/, '.')} It takes --quick or --smoke, --out DIR and --no-tfjs (see the top of bench/run.mjs).`);
}
if (argv.quick && argv.smoke) refuse('--quick and --smoke are two different modes; give one of them.');
const mode = argv.smoke ? 'smoke' : argv.quick ? 'quick' : 'full';
if (argv.out === '') { // join('', 'latest.json') would write into whatever directory the bench runs in
  refuse('--out is empty; give the results directory (or leave --out out for the default).');
}
// only a full run replaces the committed bench/results/latest.*; --quick and --smoke go to a subdirectory (git-ignored)
argv.out ??= fileURLToPath(new URL(mode === 'full' ? './results/' : `./results/${mode}/`, import.meta.url));
// --out is made now, one directory at a time, and a file is written to it and removed, so that a bad
// path fails in a second, not after the run (and not in Node's recursive mkdir, which never
// returns under /proc); the directories made for a path that then fails are removed again
/** Directories this run made for --out (removed again if the run is refused or interrupted before it writes). */
const made = [];
function removeMadeDirs() {
  for (const p of made.reverse()) {
    try {
      rmdirSync(p); // only while empty
    } catch { /* not empty: something else was put there */ }
  }
  made.length = 0;
}
process.once('SIGINT', () => {
  removeMadeDirs();
  process.exit(130);
});
{
  const parts = [];
  let d = resolve(argv.out);
  while (!existsSync(d) && dirname(d) !== d) {
    parts.push(d);
    d = dirname(d);
  }
  try {
    if (!statSync(d).isDirectory()) throw Object.assign(new Error(), { code: 'ENOTDIR' });
    for (const p of parts.reverse()) {
      mkdirSync(p);
      made.push(p);
    }
    const probe = join(argv.out, `.bench-probe-${process.pid}`);
    writeFileSync(probe, '');
    rmSync(probe);
    checkResultFiles();
  } catch (err) {
    removeMadeDirs();
    refuse(`--out ${argv.out} cannot be used as the results directory (${err.code ?? err.message}); choose a directory you can write to.`);
  }
}
/** Sizes of each section per mode: repetitions (medians are over these) and sample sizes. */
const P = {
  full: { coreCount: 4096, coreReps: 3, kTime: 300, kIter: 10, trainCount: 4096, trainReps: 5, configs: 'all', tfWasm: 2048, tfCpu: 512, tfReps: 3, scaleCount: 2048, scaleReps: 3, epochReps: 5, threadLattices: 2 },
  quick: { coreCount: 2048, coreReps: 2, kTime: 100, kIter: 5, trainCount: 1024, trainReps: 3, configs: 'all', tfWasm: 512, tfCpu: 256, tfReps: 2, scaleCount: 1024, scaleReps: 2, epochReps: 2, threadLattices: 1 },
  smoke: { coreCount: 256, coreReps: 1, kTime: 10, kIter: 2, trainCount: 256, trainReps: 1, configs: 'one', tfWasm: 64, tfCpu: 32, tfReps: 1, scaleCount: 128, scaleReps: 1, epochReps: 1, threadLattices: 1, epochCount: 1024 },
}[mode];
const BATCH = 32;
const log = (line) => process.stderr.write(`bench: ${line}\n`);
const t0 = performance.now();
const loadStart = os.loadavg();

// ---------------------------------------------------------------------------------------------
// Data: MNIST digits 0–3 (training set), a seeded shuffle, and how sparse the images are.
const mnist = loadMnist();
const train = selectClasses(mnist.train, [0, 1, 2, 3]);
const n0 = train.features;
const order = new Rng(1).permutation(train.count);
const shuffled = new Uint8Array(train.count * n0), shuffledLabels = new Int32Array(train.count);
order.forEach((i, j) => {
  shuffled.set(train.images.subarray(i * n0, (i + 1) * n0), j * n0);
  shuffledLabels[j] = train.labels[i];
});
const subset = (count) => ({ images: shuffled.subarray(0, count * n0), labels: shuffledLabels.subarray(0, count) });
const sparsity = (() => {
  let lit = 0;
  for (let i = 0; i < shuffled.length; i++) lit += shuffled[i] !== 0 ? 1 : 0;
  // sites of layer 0 lit by at least one example of a batch: the rows the fused step really updates
  const rng = new Rng(2), trials = 200, seen = new Uint8Array(n0);
  let active = 0;
  for (let t = 0; t < trials; t++) {
    seen.fill(0);
    for (let b = 0; b < BATCH; b++) {
      const i = Math.floor(rng.float() * train.count);
      for (let u = 0; u < n0; u++) if (shuffled[i * n0 + u] !== 0) seen[u] = 1;
    }
    for (let u = 0; u < n0; u++) active += seen[u];
  }
  return { litPerExample: lit / train.count, activeRowsPerBatch: active / trials };
})();
log(`MNIST 0–3: ${train.count} training images, ${sparsity.litPerExample.toFixed(1)} of ${n0} pixels lit on average, ` +
  `${sparsity.activeRowsPerBatch.toFixed(0)} sites lit per batch of ${BATCH}`);

// ---------------------------------------------------------------------------------------------
// 0. Cores. On a shared machine the cores of one VM need not be equal: here one of the two often
//    runs memory-heavy code about a third slower than the other (its physical core is busy with
//    another guest), while the register-only probe barely notices, and which one is slow changes
//    over minutes. So one-thread figures are measured with the main thread pinned (Linux
//    `taskset`, this thread only: V8's helpers and workers stay free): the training section and
//    the one-thread epochs of the thread comparison on each core in turn (the faster is quoted),
//    the other sections on the core that trained faster here, and both cores are reported.
const cpuCount = os.cpus().length;

/** Restricts the main thread to the cores `cpus` (null: all of them); false where that is not possible. */
function pinMain(cpus) {
  if (process.platform !== 'linux') return false;
  const list = cpus === null ? `0-${cpuCount - 1}` : cpus.join(',');
  const r = spawnSync('taskset', ['-p', '-c', list, String(process.pid)], { stdio: 'ignore' });
  return r.status === 0;
}

async function cores() {
  if (cpuCount < 2 || !pinMain([0])) {
    pinMain(null);
    return null;
  }
  const data = subset(P.coreCount);
  const net = await InterferenceNetwork.create({ layers: [n0, 256, 4], durations: 4, batchSize: BATCH, seed: 0, threads: 1 });
  const per = Array.from({ length: cpuCount }, (_, cpu) => ({ cpu, train: [], chains: [] }));
  for (let round = 0; round < 2; round++) {
    for (const c of per) {
      pinMain([c.cpu]);
      net.fit(data, { epochs: 1, schedule: 'constant' }); // settles on the core
      for (let r = 0; r < P.coreReps; r++) {
        const t = performance.now();
        net.fit(data, { epochs: 1, schedule: 'constant' });
        c.train.push(P.coreCount / ((performance.now() - t) / 1000));
      }
      const m = await measure(() => probe.chains(CHAIN_ITERS), { time: P.kTime / 3, iterations: 3 });
      c.chains.push((CHAIN_ITERS * 96) / (m.ms / 1000) / 1e9);
    }
  }
  net.dispose();
  const perCore = per.map((c) => ({ cpu: c.cpu, trainPerSecond: median(c.train), chainsGflops: median(c.chains) }));
  const best = perCore.reduce((a, b) => (b.trainPerSecond > a.trainPerSecond ? b : a)).cpu;
  pinMain([best]);
  log(`cores: ${perCore.map((c) => `cpu ${c.cpu} ${Math.round(c.trainPerSecond)} ex/s`).join(', ')}; one-thread sections pinned to cpu ${best}`);
  return { lattice: [n0, 256, 4], D: 4, examples: P.coreCount, perCore, pinned: best };
}

// ---------------------------------------------------------------------------------------------
// 1. Roofline probe: best f32x4 multiply-add rate of one WebAssembly thread, and copy bandwidth.
const probe = (await WebAssembly.instantiate(readFileSync(new URL('../build/probe.wasm', import.meta.url)),
  { env: { abort() { throw new Error('probe abort'); } } })).instance.exports;
const CHAIN_ITERS = 2_000_000;

async function roofline() {
  const k = probe;
  const opts = { time: P.kTime, iterations: P.kIter };
  const iters = CHAIN_ITERS;
  const chains = await measure(() => k.chains(iters), opts);
  const n = 2048, passes = 2000; // 8 KiB: in L1
  const x = k.alloc(n * 4), y = k.alloc(n * 4);
  const blocked = await measure(() => k.blocked(x, n, passes), opts);
  const axpy = await measure(() => k.axpy(x, y, n, passes), opts);
  const big = 64 << 20, src = k.alloc(big), dst = k.alloc(big);
  const copy = await measure(() => k.copy(dst, src, big, 1), opts);
  const gf = (f, m) => f / (m.ms / 1000) / 1e9;
  const r = {
    chainsGflops: gf(iters * 96, chains),
    blockedGflops: gf(8 * n * passes, blocked),
    axpyGflops: gf(2 * n * passes, axpy),
    copyGBs: big / (copy.ms / 1000) / 1e9,
  };
  r.gflops = Math.max(r.chainsGflops, r.blockedGflops, r.axpyGflops);
  return r;
}

// ---------------------------------------------------------------------------------------------
// 2. Every kernel on every backend, on the first layer of 784 → 256 → 4 (D = 4, batch 32) with
//    dense inputs (no zero to skip, so the counted operations are all executed).
async function kernels(peak) {
  const shape = { nIn: 784, nOut: 256, D: 4, batch: BATCH, C: 4 };
  const { nIn, nOut, D, batch, C } = shape;
  const rows = [];
  const results = {};
  for (const name of ['simd', 'scalar', 'js']) {
    const be = await createBackend(name);
    const rnd = new Rng(3);
    const buf = (n, f) => {
      const b = be.f32(n);
      if (f) {
        const v = be.view(b);
        for (let i = 0; i < n; i++) v[i] = f(i);
      }
      return b;
    };
    const cx = (n, f) => ({ re: buf(n, f), im: buf(n, f) });
    const theta = buf(nIn * nOut * D, () => 0.2 * rnd.float() - 0.1), prob = buf(nIn * nOut * D);
    const w = cx(nIn * nOut), s = cx(nIn * nOut);
    const cosD = buf(D, (d) => Math.cos((2 * Math.PI * d) / D)), sinD = buf(D, (d) => Math.sin((2 * Math.PI * d) / D));
    const a = buf(batch * nIn, () => (0.5 + rnd.float()) / nIn);
    const z = cx(batch * nOut), gamma = cx(batch * nOut, () => rnd.float() - 0.5);
    const g = cx(C * nIn), gNext = cx(C * nOut, () => rnd.float() - 0.5);
    const field = buf(batch * C, () => rnd.float() - 0.5);
    be.transfer(theta, prob, w, null, nIn, nOut, D, cosD, sinD);
    const calls = {
      transfer: () => be.transfer(theta, prob, w, null, nIn, nOut, D, cosD, sinD),
      forward: () => be.forward(a, null, batch, nIn, w, nOut, z),
      propagate: () => be.propagate(w, nIn, nOut, gNext, C, g),
      induce: () => be.induce(field, batch, C, gNext, nOut, gamma),
      accumulate: () => be.accumulate(a, null, batch, nIn, gamma, nOut, s),
      update: () => be.update(theta, s, null, nIn, nOut, D, cosD, sinD, 1, 0, 1e-3, true),
      learn: () => be.learn(a, null, batch, nIn, gamma, nOut, theta, null, w, null, D, cosD, sinD, 1, 0, 1e-3),
    };
    for (const [kernel, fn] of Object.entries(calls)) {
      const m = await measure(fn, { time: name === 'js' ? P.kTime / 2 : P.kTime, iterations: name === 'js' ? Math.max(2, P.kIter >> 1) : P.kIter });
      (results[kernel] ??= {})[name] = m;
    }
    be.dispose();
    log(`kernels on ${name} done`);
  }
  for (const [kernel, byBackend] of Object.entries(results)) {
    const f = flops[kernel](shape);
    const row = { kernel, flops: f, backends: {} };
    for (const [name, m] of Object.entries(byBackend)) {
      const gflops = f / (m.ms / 1000) / 1e9;
      row.backends[name] = { ms: m.ms, minMs: m.minMs, samples: m.samples, gflops, pctRoofline: (100 * gflops) / peak };
    }
    row.simdOverScalar = byBackend.scalar.ms / byBackend.simd.ms;
    row.simdOverJs = byBackend.js.ms / byBackend.simd.ms;
    rows.push(row);
  }
  return { shape: { ...shape, inputs: 'dense random (no zeros)' }, rows };
}

// ---------------------------------------------------------------------------------------------
// 3. End-to-end training and inference throughput on MNIST 0–3, one thread.
async function training(peak) {
  const configs = [];
  for (const width of P.configs === 'one' ? [64] : [64, 256]) {
    for (const D of P.configs === 'one' ? [4] : [1, 4, 8]) configs.push({ layers: [n0, width, 4], D });
  }
  const data = subset(P.trainCount);
  const out = [];
  for (const { layers, D } of configs) {
    const net = await InterferenceNetwork.create({ layers, durations: D, batchSize: BATCH, seed: 0, threads: 1 });
    net.fit(data, { epochs: 1, schedule: 'constant' }); // warm-up: V8 tiers the kernels up
    // measured on each core (see `cores`: which one is slower can change during the run), each
    // core's repetitions after one untimed epoch there (a move leaves θ and W in the other core's
    // caches); the faster core is reported
    const cpus = result.cores ? result.cores.perCore.map((c) => c.cpu) : [null];
    const train = cpus.map(() => []), infer = cpus.map(() => []);
    cpus.forEach((cpu, i) => {
      if (cpu !== null) {
        pinMain([cpu]);
        net.fit(data, { epochs: 1, schedule: 'constant' });
      }
      for (let r = 0; r < P.trainReps; r++) {
        let t = performance.now();
        net.fit(data, { epochs: 1, schedule: 'constant' });
        train[i].push(P.trainCount / ((performance.now() - t) / 1000));
        t = performance.now();
        net.predict(data.images);
        infer[i].push(P.trainCount / ((performance.now() - t) / 1000));
      }
    });
    if (result.cores) pinMain([result.cores.pinned]);
    const f = epochFlops({ layers, D, batch: BATCH, count: P.trainCount, ...sparsity });
    const rates = train.map(median), fastest = rates.indexOf(Math.max(...rates));
    const rate = rates[fastest];
    const seconds = P.trainCount / rate;
    out.push({
      layers, D, batch: BATCH, examples: P.trainCount, reps: P.trainReps,
      cpu: cpus[fastest], perCore: cpus.map((cpu, i) => ({ cpu, trainPerSecond: rates[i], inferPerSecond: median(infer[i]) })),
      trainPerSecond: rate, inferPerSecond: median(infer[fastest]),
      wasmMemoryBytes: net.memoryBytes,
      gflops: { executed: f.executed / seconds / 1e9, dense: f.dense / seconds / 1e9 },
      pctRoofline: { executed: (100 * f.executed) / seconds / 1e9 / peak, dense: (100 * f.dense) / seconds / 1e9 / peak },
    });
    net.dispose();
    log(`training ${layers.join('→')} D=${D}: ${Math.round(rate)} examples/s`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// 4. The same-shape backprop MLP in TensorFlow.js, same data, same batch size.
async function baseline() {
  const out = [];
  for (const width of P.configs === 'one' ? [64] : [64, 256]) {
    for (const backend of ['wasm', 'cpu']) {
      const count = backend === 'wasm' ? P.tfWasm : P.tfCpu;
      const r = await tfjsMlp(backend, { layers: [n0, width, 4], ...subset(count), count, batch: BATCH, reps: P.tfReps });
      out.push({ layers: [n0, width, 4], examples: count, ...r });
      log(`tfjs ${backend} ${n0}→${width}→4: ${Math.round(r.train)} examples/s`);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// 5. Scaling: time per epoch (per `scaleCount` examples) as width, D and depth double.
async function scaling() {
  const data = subset(P.scaleCount);
  const time = async (layers, D) => {
    const net = await InterferenceNetwork.create({ layers, durations: D, batchSize: BATCH, seed: 0 });
    net.fit(data, { epochs: 1, schedule: 'constant' });
    const ts = [];
    for (let r = 0; r < P.scaleReps; r++) {
      const t = performance.now();
      net.fit(data, { epochs: 1, schedule: 'constant' });
      ts.push((performance.now() - t) / 1000);
    }
    net.dispose();
    return median(ts);
  };
  const series = async (xs, lattice) => {
    const points = [];
    for (const x of xs) {
      const { layers, D } = lattice(x);
      points.push({ x, seconds: await time(layers, D) });
    }
    return { points, exponent: exponent(points.map((p) => p.x), points.map((p) => p.seconds)) };
  };
  const small = mode === 'smoke';
  const width = await series(small ? [64, 128] : [64, 128, 256, 512], (w) => ({ layers: [n0, w, 4], D: 4 }));
  const durations = await series(small ? [2, 4] : [1, 2, 4, 8, 16], (D) => ({ layers: [n0, 128, 4], D }));
  const depth = await series(small ? [1, 2] : [1, 2, 4, 8], (h) => ({ layers: [n0, ...Array(h).fill(128), 4], D: 4 }));
  log('scaling done');
  return { examples: P.scaleCount, width, durations, depth };
}

// ---------------------------------------------------------------------------------------------
// 6. Both cores: a full-data epoch on 1 and 2 threads, alternating to share any drift in load,
//    and, as the ceiling of that speed-up, two independent one-thread trainers at once.

/**
 * A one-thread network of `layers` on a worker thread of its own (bench/twin.mjs), warmed up like
 * the main thread's; `together(fit)` starts its epoch, runs `fit` (the main thread's epoch) at the
 * same time and returns both epochs' seconds.
 */
async function twinTrainer(layers, D, data) {
  const go = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(new URL('./twin.mjs', import.meta.url),
    { workerData: { layers, D, batch: BATCH, images: data.images, labels: data.labels, warm: 3, go: go.buffer } });
  let pending = null, failed = null;
  worker.on('message', (m) => { const p = pending; pending = null; p?.resolve(m); });
  worker.on('error', (err) => { failed = err; pending?.reject(err); });
  const next = () => new Promise((resolve, reject) => (failed ? reject(failed) : (pending = { resolve, reject })));
  const ready = next();
  return {
    ready,
    async together(fit) {
      const theirs = next();
      Atomics.add(go, 0, 1);
      Atomics.notify(go, 0);
      const mine = fit();
      return [mine, (await theirs).seconds];
    },
    async close() {
      Atomics.store(go, 0, -1);
      Atomics.notify(go, 0);
      await worker.terminate();
    },
  };
}

/**
 * Where a batch's time goes, for `net` (one or two threads) over one more epoch of `data`: the
 * first layer's load and forward pass and the learning step (the two calls that run as jobs on
 * two threads), and the rest of the batch (the calling thread alone: the narrow last layer, the
 * targets, the induced field, the propagators, bookkeeping in JavaScript). Medians per batch, in
 * µs, and the mean batch (the epoch over its batches, slow batches included). The bench times
 * the two calls by wrapping them on the network's backend, which is not public API.
 */
function batchBreakdown(net, data) {
  const be = net.backend, names = ['loadForward', 'learnLayers'];
  const starts = [], spans = { loadForward: [], learnLayers: [] };
  for (const name of names) {
    const call = be[name];
    be[name] = (...args) => {
      const t0 = performance.now();
      if (name === 'loadForward') starts.push(t0);
      try {
        return call.apply(be, args);
      } finally {
        spans[name].push(1000 * (performance.now() - t0));
      }
    };
  }
  let seconds;
  try {
    seconds = net.fit(data, { epochs: 1 })[0].seconds;
  } finally {
    for (const name of names) delete be[name]; // the prototype's methods again
  }
  const batches = starts.length, batch = [], rest = [];
  for (let i = 0; i + 1 < batches; i++) {
    batch.push(1000 * (starts[i + 1] - starts[i]));
    rest.push(batch[i] - spans.loadForward[i] - spans.learnLayers[i]);
  }
  return {
    batches, loadForwardMicros: median(spans.loadForward), learnMicros: median(spans.learnLayers), restMicros: median(rest),
    batchMedianMicros: median(batch), batchMeanMicros: (1e6 * seconds) / batches,
  };
}

async function threads() {
  const count = P.epochCount ?? train.count;
  const data = subset(count);
  const lattices = [{ layers: [n0, 256, 4], D: 4 }, { layers: [n0, 64, 4], D: 4 }].slice(0, P.threadLattices);
  const out = [];
  for (const { layers, D } of lattices) {
    const nets = {};
    pinMain(null); // the pool's worker starts free to run on any core
    const twin = await twinTrainer(layers, D, data); // warms up while the main thread does
    for (const t of [1, 2]) {
      nets[t] = await InterferenceNetwork.create({ layers, durations: D, batchSize: BATCH, seed: 0, threads: t });
      // warm-up, untimed: one thread is steady from its second epoch, two threads only from their
      // third or fourth (784→64→4: 0.298, 0.229, 0.216, 0.215 s on one thread; epochs 2–5 on two
      // 0.20, 0.17, 0.14, 0.15 s; not garbage collection, which is idle then)
      nets[t].fit(data, { epochs: 3 });
    }
    // one thread on the pinned (faster) core and, for reference, on the other; two threads free
    const pinned = result.cores?.pinned ?? null;
    const other = pinned === null ? null : (pinned + 1) % cpuCount;
    await twin.ready;
    const secs = { one: [], other: [], two: [], pair: [] };
    for (let r = 0; r < P.epochReps; r++) {
      // the epoch as fit times it: its batches, not copying the images in or the route entropy after
      if (other !== null) {
        pinMain([other]);
        secs.other.push(nets[1].fit(data, { epochs: 1 })[0].seconds);
      }
      pinMain(pinned === null ? null : [pinned]);
      secs.one.push(nets[1].fit(data, { epochs: 1 })[0].seconds);
      pinMain(null); // the main thread starts the two-thread epoch where the one-thread epoch ended
      secs.two.push(nets[2].fit(data, { epochs: 1 })[0].seconds);
      secs.pair.push(await twin.together(() => nets[1].fit(data, { epochs: 1 })[0].seconds));
    }
    await twin.close();
    // the speed-up is over the core that was faster during these repetitions
    const a = median(secs.one), b = other === null ? null : median(secs.other), two = median(secs.two);
    const one = b === null ? a : Math.min(a, b), slow = b === null ? null : Math.max(a, b);
    const oneCpu = b === null || a <= b ? pinned : other;
    // one more epoch each, timed per batch: one thread on the faster core, two threads free
    pinMain(oneCpu === null ? null : [oneCpu]);
    const breakdownOne = batchBreakdown(nets[1], data);
    pinMain(null);
    const breakdownTwo = batchBreakdown(nets[2], data);
    // two trainers at once: examples per second of both together, over one trainer's alone
    const pair = [median(secs.pair.map((p) => p[0])), median(secs.pair.map((p) => p[1]))];
    const independent = one / pair[0] + one / pair[1];
    out.push({ layers, D, examples: count, reps: P.epochReps, oneThreadSeconds: one, twoThreadSeconds: two, speedup: one / two,
      oneThreadPerSecond: count / one, twoThreadPerSecond: count / two,
      oneThreadCpu: oneCpu,
      otherCoreSeconds: slow, speedupOverOtherCore: slow === null ? null : slow / two,
      independentSeconds: pair, independentSpeedup: independent, breakdown: { one: breakdownOne, two: breakdownTwo } });
    nets[1].dispose();
    nets[2].dispose();
    log(`threads ${layers.join('→')}: ${(one / two).toFixed(2)}× on 2 threads; two one-thread trainers at once ${independent.toFixed(2)}×`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

const rss = () => process.resourceUsage().maxRSS * 1024;
const result = {
  meta: {
    date: new Date().toISOString(),
    mode,
    node: process.version,
    v8: process.versions.v8,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    platform: `${os.platform()} ${os.arch()}`,
    loadavgStart: loadStart,
  },
  data: { set: 'MNIST digits 0–3, training images', count: train.count, batch: BATCH, ...sparsity },
};
log(`mode ${mode}; load average ${loadStart.map((x) => x.toFixed(2)).join(' ')} on ${os.cpus().length} cores`);
result.cores = await cores();
result.roofline = await roofline();
log(`roofline ${result.roofline.gflops.toFixed(1)} GFLOP/s, copy ${result.roofline.copyGBs.toFixed(1)} GB/s`);
const peak = result.roofline.gflops;
result.kernels = await kernels(peak);
result.training = await training(peak);
result.memory = { rssAfterFfitBytes: rss() };
result.scaling = await scaling();
result.threads = await threads();
if (result.cores) pinMain([result.cores.pinned]);
if (!argv['no-tfjs']) {
  result.meta.tfjs = await tfjsVersion();
  result.tfjs = await baseline();
}
result.memory.rssPeakBytes = rss();
result.meta.loadavgEnd = os.loadavg();
result.meta.seconds = (performance.now() - t0) / 1000;

// Targets of issue 5, as measured in this run.
const kernel = (k) => result.kernels.rows.find((r) => r.kernel === k);
const wide = result.training.find((r) => r.layers[1] === 256 && r.D === 4) ?? result.training[0];
const targets = [];
for (const k of ['forward', 'accumulate', 'learn']) {
  targets.push({ target: `${k}: SIMD ≥ 3× scalar`, value: kernel(k).simdOverScalar, threshold: 3 });
  targets.push({ target: `${k}: SIMD ≥ 5× JS`, value: kernel(k).simdOverJs, threshold: 5 });
}
targets.push({ target: `training ${wide.layers.join('→')} D=${wide.D}, one thread: ≥ 40% of roofline (executed FLOPs)`, value: wide.pctRoofline.executed / 100, threshold: 0.4 });
targets.push({ target: `training ${wide.layers.join('→')} D=${wide.D}, one thread: ≥ 40% of roofline (dense-equivalent FLOPs)`, value: wide.pctRoofline.dense / 100, threshold: 0.4 });
if (result.tfjs) {
  for (const width of [64, 256]) {
    const ffit = result.training.filter((r) => r.layers[1] === width && r.D === 4)[0];
    const tf = result.tfjs.find((r) => r.layers[1] === width && r.backend === 'wasm');
    if (ffit && tf) targets.push({ target: `FFIT ${ffit.layers.join('→')} D=4 training ≥ 5× tfjs-wasm MLP`, value: ffit.trainPerSecond / tf.train, threshold: 5 });
  }
}
for (const t of result.threads) targets.push({ target: `${t.layers.join('→')} D=${t.D}: 2 threads ≥ 1.6× one thread (full-data epoch)`, value: t.speedup, threshold: 1.6 });
for (const t of targets) t.met = t.value >= t.threshold;
result.targets = targets;

// both files written in full beside the old ones first, then renamed over them: a failure leaves
// the old pair as it was, never a new latest.json beside an old latest.md
try {
  checkResultFiles(); // again: so that a rename cannot fail after the first has replaced its file
  replaceFiles([{ path: join(argv.out, 'latest.json'), text: JSON.stringify(result, null, 2) + '\n' },
    { path: join(argv.out, 'latest.md'), text: markdown(result) }]);
} catch (err) {
  removeMadeDirs();
  refuse(`the results could not be written to ${argv.out} (${err.code ?? err.message}); ` +
    (err.replaced?.length ? `only ${err.replaced.join(' and ')} was replaced.` : 'the files there are as they were.'));
}
log(`wrote ${join(argv.out, 'latest.json')} and latest.md in ${result.meta.seconds.toFixed(0)} s`);
