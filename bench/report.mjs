// The Markdown report of `npm run bench` (bench/results/latest.md), from the JSON result.
import { breakdownTable, fmt, table } from './lib.mjs';

const pct = (x) => `${fmt(x, 3)}%`;
const times = (x) => `${fmt(x, 3)}×`;
const lattice = (layers) => layers.join('→');
const mib = (b) => `${fmt(b / 2 ** 20, 3)} MiB`;


/** Renders the whole result as Markdown. */
export function markdown(r) {
  const m = r.meta;
  const loaded = Math.max(...m.loadavgStart, ...m.loadavgEnd) > 0.5 * m.cores;
  const out = [];
  out.push('# ffit benchmark');
  out.push('');
  out.push(`${m.date}, \`npm run bench\` (${m.mode} mode, ${fmt(m.seconds, 3)} s): ${m.cpu}, ${m.cores} cores, Node ${m.node} (V8 ${m.v8})` +
    (m.tfjs ? `, TensorFlow.js ${m.tfjs}` : '') + '. ' +
    `Load average at start ${m.loadavgStart.map((x) => x.toFixed(2)).join(' / ')}, at end ${m.loadavgEnd.map((x) => x.toFixed(2)).join(' / ')}` +
    (loaded ? ' — **the machine was busy with other work: timings are noisy and low**.' : '.'));
  out.push('');
  out.push(`Data: ${r.data.set} (${r.data.count} images), batch ${r.data.batch}; on average ${fmt(r.data.litPerExample, 3)} of 784 pixels ` +
    `are lit per image and ${fmt(r.data.activeRowsPerBatch, 3)} source sites are lit in a batch. Figures are medians of repetitions.`);
  out.push('');

  if (r.cores) {
    const c = r.cores;
    out.push('## Cores');
    out.push('');
    out.push(table(['core', `training ${lattice(c.lattice)} D=${c.D} ex/s`, 'f32x4 multiply-add chains GFLOP/s'],
      c.perCore.map((x) => [`cpu ${x.cpu}${x.cpu === c.pinned ? ' (pinned)' : ''}`, fmt(x.trainPerSecond), fmt(x.chainsGflops)])));
    out.push('');
    out.push(`The cores of a virtual machine need not be equal, and which one is slower can change within minutes (on this one, memory-heavy ` +
      `code has run up to 45 % slower on one core than on the other while the register-only probe differed by under 10 %). One-thread ` +
      `figures are measured with the main thread pinned (\`taskset\`, this thread only): the roofline, kernel, scaling and tfjs sections on ` +
      `cpu ${c.pinned}, the faster on training at the start (above: medians of ${c.examples}-example epochs, two rounds per core); the ` +
      `training section measures each core in turn and the two-thread comparison alternates them; both report the faster one.`);
    out.push('');
  }

  const rf = r.roofline;
  out.push('## Roofline of one WebAssembly thread');
  out.push('');
  out.push(table(['probe', 'rate'], [
    ['12 independent f32x4 multiply-add chains in registers', `${fmt(rf.chainsGflops)} GFLOP/s`],
    ['register-blocked multiply-add over 8 KiB in L1 (1 load per 4 multiply-adds)', `${fmt(rf.blockedGflops)} GFLOP/s`],
    ['axpy y += s·x over 8 KiB in L1 (2 loads, 1 store per multiply-add)', `${fmt(rf.axpyGflops)} GFLOP/s`],
    ['**roofline** (best of the above)', `**${fmt(rf.gflops)} GFLOP/s**`],
    ['memory.copy of 64 MiB', `${fmt(rf.copyGBs)} GB/s copied`],
  ]));
  out.push('');
  out.push('A multiply-add is `f32x4.mul` + `f32x4.add` (8 FLOPs; WebAssembly SIMD has no fused multiply-add without relaxed-simd).');
  out.push('');

  const k = r.kernels;
  out.push(`## Kernels (layer ${k.shape.nIn}→${k.shape.nOut}, D = ${k.shape.D}, batch ${k.shape.batch}, C = ${k.shape.C}, ${k.shape.inputs})`);
  out.push('');
  out.push(table(['kernel', 'FLOPs', 'simd ms', 'simd GFLOP/s', '% roofline', 'scalar ms', 'js ms', 'simd / scalar', 'simd / js'],
    k.rows.map((row) => [row.kernel, fmt(row.flops), fmt(row.backends.simd.ms), fmt(row.backends.simd.gflops), pct(row.backends.simd.pctRoofline),
      fmt(row.backends.scalar.ms), fmt(row.backends.js.ms), times(row.simdOverScalar), times(row.simdOverJs)])));
  out.push('');
  out.push('FLOPs are counted from the equations (bench/lib.mjs): a real·complex multiply-add is 4, exp is 1, comparisons 0. ' +
    '`learn` is the fused training step (gains outer product + update + transfer) that training runs; `accumulate`, `update` and ' +
    '`transfer` are its unfused parts. `js` is the float64 TypeScript reference.');
  out.push('');

  out.push('## Training and inference on MNIST 0–3 (one thread, simd)');
  out.push('');
  const slower = (t) => (t.perCore ?? []).filter((c) => c.cpu !== t.cpu).map((c) => fmt(c.trainPerSecond)).join(', ') || '—';
  out.push(table(['lattice', 'D', 'core', 'train ex/s', 'infer ex/s', 'GFLOP/s executed', '% roofline', 'GFLOP/s dense-equiv.', '% roofline', 'Wasm memory', 'train ex/s, other core'],
    r.training.map((t) => [lattice(t.layers), t.D, t.cpu === null || t.cpu === undefined ? '—' : `cpu ${t.cpu}`, fmt(t.trainPerSecond), fmt(t.inferPerSecond),
      fmt(t.gflops.executed), pct(t.pctRoofline.executed), fmt(t.gflops.dense), pct(t.pctRoofline.dense), mib(t.wasmMemoryBytes), slower(t)])));
  out.push('');
  out.push(`${r.training[0].examples} examples per repetition, ${r.training[0].reps} repetitions per core after an untimed epoch there (the faster core is shown). *Executed* FLOPs count the work the kernels do: ` +
    'the forward pass and gains of layer 0 only over lit pixels, the per-site update and transfer only for sites lit in the batch (the rest is ' +
    'skipped exactly: their logits would not change). *Dense-equivalent* FLOPs count every pixel and every site, as a dense matrix code would; ' +
    'that denominator is debatable (it credits skipped zeros as work), so both are shown.');
  out.push('');

  if (r.tfjs) {
    out.push('## Against TensorFlow.js (same-shape backprop MLP: ReLU, softmax, Adam; same images, batch 32)');
    out.push('');
    const rows = [];
    for (const t of r.tfjs) {
      const ffit = r.training.find((f) => f.layers[1] === t.layers[1] && f.D === 4);
      rows.push([lattice(t.layers), `tfjs ${t.backend}${t.backend === 'wasm' ? ` (SIMD ${t.simd ? 'on' : 'off'}, threads ${t.multithread ? 'on' : 'off'})` : ''}`,
        fmt(t.trainFit), fmt(t.trainLoop), fmt(t.infer), ffit ? fmt(ffit.trainPerSecond) : '—', ffit ? times(ffit.trainPerSecond / t.train) : '—']);
    }
    out.push(table(['lattice', 'baseline', 'model.fit ex/s', 'minimize loop ex/s', 'predict ex/s', 'FFIT D=4 train ex/s', 'FFIT / best tfjs'], rows));
    out.push('');
    out.push('The ratio divides by the faster of the two tfjs training loops. tfjs `predict` is timed on 512 images with batches of 256 ' +
      '(in Node its time grows faster than the tensor: 2 048 images took 10× longer per image). tfjs-node (native TensorFlow) is not ' +
      'measured: it cannot be installed here and is not what a browser user gets.');
    out.push('');
  }

  const s = r.scaling;
  out.push(`## Scaling (time per ${s.examples} training examples, one thread)`);
  out.push('');
  const series = (name, v, unit) => [name, v.points.map((p) => `${p.x}${unit}: ${fmt(p.seconds * 1000)} ms`).join(', '), fmt(v.exponent)];
  out.push(table(['doubling', 'points', 'exponent k (time ∝ x^k)'], [
    series('hidden width (784→w→4, D=4)', s.width, ''),
    series('durations D (784→128→4)', s.durations, ''),
    series('hidden layers h (784→128^h→4, D=4)', s.depth, ''),
  ]));
  out.push('');

  out.push('## Both cores (full-data epoch, worker_threads sharing one WebAssembly memory)');
  out.push('');
  const other = r.threads.some((t) => t.otherCoreSeconds !== null && t.otherCoreSeconds !== undefined);
  out.push(table(['lattice', 'D', 'examples', other ? '1 thread s (faster core)' : '1 thread s', ...(other ? ['1 thread s (slower core)'] : []),
    '2 threads s', 'speed-up', ...(other ? ['speed-up over the slower core'] : []), 'two one-thread trainers at once'],
    r.threads.map((t) => [lattice(t.layers), t.D, t.examples, fmt(t.oneThreadSeconds) + (other ? ` (cpu ${t.oneThreadCpu})` : ''), ...(other ? [fmt(t.otherCoreSeconds)] : []),
      fmt(t.twoThreadSeconds), times(t.speedup), ...(other ? [times(t.speedupOverOtherCore)] : []),
      `${times(t.independentSpeedup)} (${t.independentSeconds.map((x) => fmt(x)).join(' s, ')} s)`])));
  out.push('');
  out.push('Seconds are the epoch as `fit` reports it (`history[0].seconds`: all its batches; not the one-off copy of the images into WebAssembly memory). ' +
    'Median of repetitions; one thread (pinned to each core in turn) and two threads (free) alternate. The speed-up divides the faster core\'s one-thread time by the ' +
    'two-thread time; with one core slower, two threads can at best add that core\'s rate to the faster one\'s. ' +
    'The last column is that ceiling as measured: the main thread and a worker thread each train a one-thread network of the same lattice, ' +
    'at the same time (their epochs in seconds); it gives their examples per second together over one thread\'s alone.');
  out.push('');
  const b = breakdownTable(r.threads);
  if (b.rows.length > 0) {
    out.push(table(b.head, b.rows));
    out.push('');
    out.push('One more epoch each (one thread on the faster core, two threads free), timed per batch: the first layer\'s load and forward pass and ' +
      'the learning step are the two calls that run as jobs on both threads (in parentheses: one thread\'s time over two threads\'); the rest is what the ' +
      'calling thread does alone (the narrow last layer, the targets, the induced field, the propagators, JavaScript bookkeeping). ' +
      'The mean batch is the epoch over its batches: above the median by the slow batches. One epoch each, so these figures move more than the ' +
      'timed medians above; on a machine busy with other work they can show two threads slower than one.');
    out.push('');
  }

  out.push('## Memory');
  out.push('');
  out.push(`Peak process RSS: ${mib(r.memory.rssAfterFfitBytes)} after the FFIT sections, ${mib(r.memory.rssPeakBytes)} at the end (tfjs included). ` +
    `WebAssembly memory per network: see the training table.`);
  out.push('');

  out.push('## Targets (issue 5)');
  out.push('');
  out.push(table(['target', 'measured', 'met'], r.targets.map((t) =>
    [t.target, t.threshold < 1 ? pct(100 * t.value) : times(t.value), t.met ? 'yes' : '**no**'])));
  out.push('');
  return out.join('\n');
}
