// Shared helpers of `npm run bench`: timing through tinybench, statistics, FLOP counts.
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Bench } from 'tinybench';

/**
 * Times `fn` with tinybench: at least `iterations` calls and `time` ms after a warm-up (so V8 has
 * tiered the WebAssembly and JavaScript up). Returns the median and the minimum latency (ms) and
 * the number of samples. Medians are what the report uses; minima only show the noise.
 */
export async function measure(fn, { time = 300, iterations = 10, warmupIterations = 3 } = {}) {
  const bench = new Bench({ time, iterations, warmupIterations, warmupTime: Math.min(200, time), throws: true });
  bench.add('task', fn);
  await bench.run();
  const r = bench.tasks[0].result;
  if (r.state !== 'completed') throw r.error ?? new Error(`benchmark ${r.state}`);
  return { ms: r.latency.p50, minMs: r.latency.min, samples: r.latency.samplesCount };
}

/** Median of numbers. */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Least-squares slope of log(y) against log(x): the scaling exponent k of y ∝ x^k. */
export function exponent(xs, ys) {
  const lx = xs.map(Math.log), ly = ys.map(Math.log);
  const mx = lx.reduce((s, v) => s + v, 0) / lx.length, my = ly.reduce((s, v) => s + v, 0) / ly.length;
  let num = 0, den = 0;
  for (let i = 0; i < lx.length; i++) {
    num += (lx[i] - mx) * (ly[i] - my);
    den += (lx[i] - mx) ** 2;
  }
  return num / den;
}

/**
 * Counted floating-point operations of one call of each kernel (DESIGN.md §5 cost model), for a
 * layer nIn → nOut with D durations, `batch` examples, C targets. A real·complex multiply-add is
 * 4 operations, a complex·complex one 8; exp counts as 1; comparisons (max, floors) count 0.
 *   transfer  per route: θ − max, exp, Σ, p = e/Σ, two multiply-adds into W (8); per pair: 2 (scale W)
 *   update    per pair: scale · e^{iωt*} · S (6); per route: θ += cos·T + sin·T (4), θ − max (1)
 *   learn     accumulate + update + transfer
 */
export const flops = {
  transfer: ({ nIn, nOut, D }) => nIn * nOut * (8 * D + 2),
  forward: ({ nIn, nOut, batch, complex = false }) => batch * nIn * nOut * (complex ? 8 : 4),
  propagate: ({ nIn, nOut, C }) => nIn * nOut * C * 8,
  induce: ({ nOut, batch, C }) => batch * C * nOut * 4,
  accumulate: ({ nIn, nOut, batch, complex = false }) => batch * nIn * nOut * (complex ? 8 : 4),
  update: ({ nIn, nOut, D }) => nIn * nOut * (5 * D + 6),
  learn: (s) => flops.accumulate(s) + flops.update(s) + flops.transfer(s),
};

/**
 * FLOPs of one training epoch of a dense lattice on a data set, two ways:
 * - `dense`: as if every pixel were lit and every site row updated (what a dense matrix code does);
 * - `executed`: the work the kernels actually do: the forward pass and the gains of layer 0 only
 *   over lit pixels (`litPerExample` on average), and the per-site update/transfer of layer 0 only
 *   for sites lit in the batch (`activeRowsPerBatch` on average; the other rows cost one max pass,
 *   counted 0). Hidden layers are dense in both.
 */
export function epochFlops({ layers, D, batch, count, litPerExample, activeRowsPerBatch }) {
  const batches = Math.ceil(count / batch);
  const C = layers[layers.length - 1];
  let dense = 0, executed = 0;
  for (let l = 0; l + 1 < layers.length; l++) {
    const nIn = layers[l], nOut = layers[l + 1], complex = l > 0;
    const perExample = (complex ? 8 : 4) * nIn * nOut * 2 + 4 * C * nOut; // forward + gains outer product + induce
    const perBatch = flops.update({ nIn, nOut, D }) + flops.transfer({ nIn, nOut, D });
    dense += count * perExample + batches * perBatch;
    if (l === 0) {
      executed += count * ((4 * litPerExample * nOut) * 2 + 4 * C * nOut)
        + batches * perBatch * (activeRowsPerBatch / nIn);
    } else {
      executed += count * perExample + batches * perBatch;
    }
    if (l + 1 < layers.length - 1) {
      dense += batches * flops.propagate({ nIn: nOut, nOut: layers[l + 2], C });
      executed += batches * flops.propagate({ nIn: nOut, nOut: layers[l + 2], C });
    }
  }
  return { dense, executed };
}

/** Formats a number with `digits` significant digits (no exponent for the sizes in the report). */
export function fmt(x, digits = 3) {
  if (x === null || x === undefined || Number.isNaN(x)) return '—';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 10 ** digits) return Math.round(x).toLocaleString('en-US');
  return Number(x.toPrecision(digits)).toString();
}

/** A Markdown table: `head` cells, then `rows` of cells. */
export function table(head, rows) {
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** Head and rows (cells as strings) of the per-batch table of the thread comparison, for report.mjs and readme.mjs. */
export function breakdownTable(threads) {
  const head = ['per batch, µs (medians)', 'threads', 'load + forward pass, layer 0', 'learning step', 'rest (calling thread alone)', 'batch', 'batch, mean'];
  const rows = [];
  for (const t of threads) {
    if (!t.breakdown?.one || !t.breakdown?.two) continue;
    const { one, two } = t.breakdown;
    const ratio = (a, b) => `${fmt(a)} (${fmt(b / a, 3)}×)`;
    rows.push([t.layers.join('→'), '1', fmt(one.loadForwardMicros), fmt(one.learnMicros), fmt(one.restMicros), fmt(one.batchMedianMicros), fmt(one.batchMeanMicros)]);
    rows.push([t.layers.join('→'), '2', ratio(two.loadForwardMicros, one.loadForwardMicros), ratio(two.learnMicros, one.learnMicros),
      fmt(two.restMicros), ratio(two.batchMedianMicros, one.batchMedianMicros), ratio(two.batchMeanMicros, one.batchMeanMicros)]);
  }
  return { head, rows };
}

/**
 * Replaces each `{ path, text }` with its new text, all or (as far as the system allows) none:
 * every text is first written in full to a temporary file beside its target (writeFileSync
 * continues short writes, as on a nearly full disk, and throws when the disk refuses), then all
 * are renamed over their targets. On failure the temporary files are removed; the error thrown
 * has `replaced`, the targets already renamed over (empty unless a rename itself failed).
 */
export function replaceFiles(files) {
  const tmp = files.map((f) => join(dirname(f.path), `.${basename(f.path)}.${process.pid}.tmp`));
  const replaced = [];
  try {
    files.forEach((f, i) => writeFileSync(tmp[i], f.text));
    files.forEach((f, i) => {
      renameSync(tmp[i], f.path);
      replaced.push(f.path);
    });
  } catch (err) {
    for (const t of tmp) rmSync(t, { force: true });
    throw Object.assign(err, { replaced });
  }
}
