/**
 * What runs on each thread of a {@link ThreadPool}. These functions are shipped to workers as
 * source text (`Function.prototype.toString`), so they refer to nothing outside themselves and
 * each other: no imports, no module constants (the control-block layout is written out as
 * numbers; pool.ts names them, and ships run1, keepFirstInvalid, runChunks and workerMain).
 *
 * Control block (Int32 view of a SharedArrayBuffer):
 *   0 job generation (workers wait on it)   1 (unused)
 *   2 job state: bit 30 = open (workers may join), low bits = workers inside the job
 *   3 error flag                            4 job code              5 number of chunks
 *   6 items per chunk                       7 workers ready         8 quit flag
 *   9 times a worker fell asleep waiting for a job (diagnostics)
 *   10 result of a job (the first invalid example of `sources`)   11 chunks run by workers (diagnostics)
 *   12 threads   256 + 16t: cursor into the chunks of thread t (t = 0 the calling thread, i + 1 worker i)
 *   16 + 2i, 17 + 2i: scratch pointer and size of worker i (i < 63: words 16 … 141, below the cursors)
 * Job arguments: Float64 view at byte 8192 (pointers and sizes are exact in a double).
 */

/** The raw kernel exports a job calls (a subset of assembly/index.ts). */
export interface JobKernels {
  forwardBlock(aRe: number, aIm: number, batch: number, nIn: number, wRe: number, wIm: number, nOut: number,
    zRe: number, zIm: number, u0: number, u1: number, v0: number, v1: number): void;
  learn(aRe: number, aIm: number, batch: number, nIn: number, gamRe: number, gamIm: number, nOut: number,
    theta: number, prob: number, wRe: number, wIm: number, rotRe: number, rotIm: number, D: number,
    cosD: number, sinD: number, cosT: number, sinT: number, scale: number, u0: number, u1: number, settled: number): void;
  transfer(theta: number, prob: number, wRe: number, wIm: number, rotRe: number, rotIm: number,
    nIn: number, nOut: number, D: number, cosD: number, sinD: number): void;
  update(theta: number, sRe: number, sIm: number, rotRe: number, rotIm: number, nIn: number, nOut: number,
    D: number, cosD: number, sinD: number, cosT: number, sinT: number, scale: number, recentre: number): void;
  ising(zRe: number, zIm: number, n: number, kappa: number): void;
  gather(images: number, bytes: number, rows: number, count: number, n: number, x: number): void;
  loadSources(images: number, bytes: number, rows: number, count: number, n: number, x: number, a: number): number;
  loadForwardBlock(images: number, rows: number, count: number, n: number, a: number, wRe: number, wIm: number, nOut: number,
    zRe: number, zIm: number, u0: number, u1: number): number;
  sources(x: number, batch: number, n: number, a: number): number;
  induce(field: number, batch: number, C: number, gRe: number, gIm: number, n: number, outRe: number, outIm: number): void;
  scratch(ptr: number, bytes: number): void;
}

/**
 * Claims chunks of the current job until none is left and runs each on `k` (every thread does
 * this, the calling thread `self` = 0 included); returns how many it ran. Job codes and their
 * chunking: 1 forward (columns of W, multiples of 16), 2 learn (sites; args 20–25, when arg 20
 * is not 0: field, C, G re, G im, the buffer of the workers' copies of Γ and the floats of each
 * worker's slot in it; each worker induces its copy before it claims a chunk), 3 transfer (sites),
 * 4 update (sites), 5 ising (values), 6 gather (examples), 7 sources (examples; the first invalid
 * example is kept in slot 10), 8 forward (examples, for layers too narrow to split by columns),
 * 9 gather then sources (examples; args: gather's six, then a), 10 forward (one part of the source
 * sites per thread, the parts of `learn`'s ownership; see {@link run1}), 11 sources of byte images
 * then forward, on the same parts.
 * Each chunk is a kernel call on a contiguous slice, so the result does not depend on which
 * thread ran which chunk: repeatable bit for bit. Threaded results equal single-threaded ones bit
 * for bit, except where a forward pass is split by rows (op 10): its parts are summed apart and
 * added in order, equal up to float rounding.
 */
export function runChunks(k: JobKernels, ctl: Int32Array, args: Float64Array, self: number): number {
  const op = ctl[4]!, chunks = ctl[5]!, size = ctl[6]!, threads = ctl[12]!;
  let a = (i: number): number => args[i]!;
  if (op === 2 && self > 0 && args[20]! !== 0) {
    // a worker's own copy of Γ, induced from the field and the propagators (args 20–25)
    const batch = args[2]!, nOut = args[6]!, re = args[24]! + 4 * (self - 1) * args[25]!, im = re + 4 * batch * nOut;
    k.induce(args[20]!, batch, args[21]!, args[22]!, args[23]!, nOut, re, im);
    a = (i: number): number => (i === 4 ? re : i === 5 ? im : args[i]!);
  }
  let done = 0;
  // Thread t owns the chunks floor(t·chunks/threads) … floor((t+1)·chunks/threads) − 1: the same
  // contiguous rows (or columns) at every call, so the θ and W a thread writes stay in its core's
  // cache, and the forward pass split by rows (op 10) reads the rows of W each thread wrote (a line
  // written on one core costs a transfer on another). Thread t claims its own chunks from its
  // cursor (one cache line each), then helps the others.
  for (let i = 0; i < threads; i++) {
    const owner = (self + i) % threads;
    const first = Math.floor((owner * chunks) / threads), end = Math.floor(((owner + 1) * chunks) / threads);
    for (;;) {
      const c = first + Atomics.add(ctl, 256 + 16 * owner, 1);
      if (c >= end) break;
      done++;
      run1(k, op, c * size, size, a, ctl);
    }
  }
  return done;
}

/** Runs one chunk (items lo … lo + size − 1) of job `op` (see {@link runChunks}). */
export function run1(k: JobKernels, op: number, lo: number, size: number, a: (i: number) => number, ctl: Int32Array): void {
  if (op === 1) {
    // forward(aRe, aIm, batch, nIn, wRe, wIm, nOut, zRe, zIm) on a range of columns
    k.forwardBlock(a(0), a(1), a(2), a(3), a(4), a(5), a(6), a(7), a(8), 0, a(3), lo, Math.min(a(6), lo + size));
  } else if (op === 8) {
    // the same on a range of examples (rows of a and z), for narrow layers
    const nIn = a(3), nOut = a(6), n = Math.min(size, a(2) - lo);
    k.forwardBlock(a(0) + 4 * lo * nIn, a(1) === 0 ? 0 : a(1) + 4 * lo * nIn, n, nIn, a(4), a(5), nOut,
      a(7) + 4 * lo * nOut, a(8) + 4 * lo * nOut, 0, nIn, 0, nOut);
  } else if (op === 10 || op === 11) {
    // the same on part lo of the source sites (args 9–11: the parts' buffer, the layer's site
    // chunks and their size in learn): part 0 goes to z, part p > 0 to partials + (p − 1) × 2 × batch × nOut.
    // 11: the sources of those sites are made first from byte images (args 12, 13: images, rows)
    const batch = a(2), nIn = a(3), nOut = a(6), parts = ctl[5]!, L = a(10), sz = a(11);
    const u0 = Math.min(nIn, Math.floor((lo * L) / parts) * sz), u1 = Math.min(nIn, Math.floor(((lo + 1) * L) / parts) * sz);
    const n = batch * nOut, re = lo === 0 ? a(7) : a(9) + 8 * (lo - 1) * n, im = lo === 0 ? a(8) : re + 4 * n;
    if (op === 10) {
      k.forwardBlock(a(0), a(1), batch, nIn, a(4), a(5), nOut, re, im, u0, u1, 0, nOut);
      return;
    }
    const bad = k.loadForwardBlock(a(12), a(13), batch, nIn, a(0), a(4), a(5), nOut, re, im, u0, u1);
    if (bad >= 0) keepFirstInvalid(ctl, bad);
  } else if (op === 2) {
    // learn(..., 19 arguments, settled): the kernel takes the site range itself
    k.learn(a(0), a(1), a(2), a(3), a(4), a(5), a(6), a(7), a(8), a(9), a(10), a(11), a(12), a(13),
      a(14), a(15), a(16), a(17), a(18), lo, Math.min(a(3), lo + size), a(19));
  } else if (op === 3) {
    // transfer(theta, prob, wRe, wIm, rotRe, rotIm, nIn, nOut, D, cosD, sinD): rows are sites
    const nOut = a(7), D = a(8), n = Math.min(size, a(6) - lo), r = 4 * lo * nOut * D, w = 4 * lo * nOut;
    k.transfer(a(0) + r, a(1) + r, a(2) + w, a(3) + w, a(4) === 0 ? 0 : a(4) + w, a(5) === 0 ? 0 : a(5) + w,
      n, nOut, D, a(9), a(10));
  } else if (op === 4) {
    // update(theta, sRe, sIm, rotRe, rotIm, nIn, nOut, D, cosD, sinD, cosT, sinT, scale, recentre)
    const nOut = a(6), D = a(7), n = Math.min(size, a(5) - lo), r = 4 * lo * nOut * D, w = 4 * lo * nOut;
    k.update(a(0) + r, a(1) + w, a(2) + w, a(3) === 0 ? 0 : a(3) + w, a(4) === 0 ? 0 : a(4) + w,
      n, nOut, D, a(8), a(9), a(10), a(11), a(12), a(13));
  } else if (op === 5) {
    // ising(zRe, zIm, n, kappa)
    const n = Math.min(size, a(2) - lo);
    k.ising(a(0) + 4 * lo, a(1) + 4 * lo, n, a(3));
  } else if (op === 6) {
    // gather(images, bytes, rows, count, n, x)
    const n = Math.min(size, a(3) - lo);
    k.gather(a(0), a(1), a(2) + 4 * lo, n, a(4), a(5) + 4 * lo * a(4));
  } else if (op === 7 || op === 9) {
    // sources(x, batch, n, a); 9: loadSources(images, bytes, rows, count, n, x, a): gather and sources in one
    const x = op === 9 ? a(5) : a(0), batch = op === 9 ? a(3) : a(1), w = op === 9 ? a(4) : a(2), out = op === 9 ? a(6) : a(3);
    const n = Math.min(size, batch - lo);
    const bad = op === 9
      ? k.loadSources(a(0), a(1), a(2) + 4 * lo, n, w, x + 4 * lo * w, out + 4 * lo * w)
      : k.sources(x + 4 * lo * w, n, w, out + 4 * lo * w);
    if (bad >= 0) keepFirstInvalid(ctl, lo + bad);
  }
}

/** Records example `i` as invalid in the job's result (word 10) unless a smaller one is there already. */
export function keepFirstInvalid(ctl: Int32Array, i: number): void {
  for (let cur = Atomics.load(ctl, 10); i < cur; cur = Atomics.load(ctl, 10)) {
    if (Atomics.compareExchange(ctl, 10, cur, i) === cur) return;
  }
}

/** Start-up data of a worker: the compiled threads build, the shared memory, the control block. */
export interface WorkerData {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: SharedArrayBuffer;
  index: number;
  /** Milliseconds to poll for the next job before sleeping. */
  spin: number;
}

/**
 * A worker's whole life: instantiate the threads build on the shared memory, report ready, then
 * wait for jobs (polling for `spin` ms first, so that back-to-back jobs of a training step do not
 * pay a futex wake-up), run chunks, report done; exit on the quit flag.
 */
export function workerMain(data: WorkerData, run: (k: JobKernels, ctl: Int32Array, args: Float64Array, self: number) => number): void {
  const ctl = new Int32Array(data.control, 0, 2048);
  const args = new Float64Array(data.control, 8192, 32);
  let k: JobKernels;
  try {
    const imports = { env: { memory: data.memory, abort(): never { throw new Error('WebAssembly abort'); } } };
    k = new WebAssembly.Instance(data.module, imports).exports as unknown as JobKernels;
  } catch {
    Atomics.store(ctl, 3, 1);
    Atomics.add(ctl, 7, 1);
    Atomics.notify(ctl, 7);
    return;
  }
  Atomics.add(ctl, 7, 1);
  Atomics.notify(ctl, 7);
  let seen = Atomics.load(ctl, 0);
  let scratch = 0;
  for (;;) {
    let seq = Atomics.load(ctl, 0);
    // the clock is read every 256 polls: each read made a heap number, and a worker polling it
    // all the time filled its young generation every 20–40 ms (a scavenge, with helper threads)
    for (let until = performance.now() + data.spin, i = 1; seq === seen; i++) {
      seq = Atomics.load(ctl, 0);
      if ((i & 255) === 0 && performance.now() >= until) break;
    }
    while (seq === seen) {
      Atomics.add(ctl, 9, 1);
      Atomics.wait(ctl, 0, seen);
      seq = Atomics.load(ctl, 0);
    }
    seen = seq;
    if (Atomics.load(ctl, 8) !== 0) return;
    // join the job only while it is open: a worker that wakes late (its core was busy with other
    // work) finds the job closed and goes back to waiting, and nobody ever waits for it
    let joined = false;
    for (let state = Atomics.load(ctl, 2); (state & 0x40000000) !== 0; state = Atomics.load(ctl, 2)) {
      if (Atomics.compareExchange(ctl, 2, state, state + 1) === state) {
        joined = true;
        break;
      }
    }
    if (!joined) continue;
    const ptr = ctl[16 + 2 * data.index]!;
    if (ptr !== scratch) {
      k.scratch(ptr, ctl[17 + 2 * data.index]!);
      scratch = ptr;
    }
    try {
      Atomics.add(ctl, 11, run(k, ctl, args, data.index + 1));
    } catch {
      Atomics.store(ctl, 3, 1);
    }
    Atomics.sub(ctl, 2, 1);
    Atomics.notify(ctl, 2);
  }
}
