import { loadThenForward } from '../backend/compose.js';
import { createWasmBackend, threadsSupported, wasmModule, type WasmBackend } from '../backend/wasm.js';
import type { Backend, Complex, F32, I32, LearnStep, ObjectiveCode, Routes } from '../backend/types.js';
import { FfitError } from '../errors.js';
import { gammaCopySlot } from './copies.js';
import { Job, MAX_THREADS, ThreadPool } from './pool.js';

/** Below this many multiply-adds a kernel call is not worth splitting: the jobs of a 256 → 4 layer
 *  (tens of µs) gained nothing from a second thread, their synchronisation cost what they saved. */
const MIN_WORK = 1 << 16;
/** Copies are cheaper per element: a training batch (32 × 784) is copied faster than shared. */
const MIN_COPY = 1 << 17;
/** Gather and sources as one job pay from about 8 examples of MNIST (measured, 784 → 64 → 4). */
const MIN_LOAD = 1 << 12;
/** Chunks per thread of the load job (a few, so a late thread hands examples over). */
const LOAD_CHUNKS = 2;
/** Chunks per thread of the per-site jobs: small enough that the last chunk leaves little
 *  imbalance and a thread slowed by other load hands work over, large enough that the per-call
 *  overhead (under a microsecond) does not matter. */
const CHUNKS_PER_THREAD = 16;

/** Most targets for which a worker induces its own copy of Γ (C complex multiply-adds a value):
 *  with 1024 targets inducing made two threads slower than one (784 → 1024 → 1024: 8.9 s against
 *  6.8 s an epoch). */
const MAX_COPY_CLASSES = 16;

/**
 * A grow-only block of the shared memory, `floats` f32: grown to exactly what is asked (the
 * network's memory estimate counts it), never shrunk. A `line` block starts and ends on whole
 * 64-byte cache lines (32 floats more from the 16-byte aligned allocator), so that no other
 * buffer's writes share its lines.
 */
class Block {
  ptr = 0;
  floats = 0;
  private raw = 0;
  constructor(private readonly main: WasmBackend, private readonly line: boolean) {}

  /** The block, grown to at least `floats` f32; throws `E_MEMORY` where it cannot grow (and then holds nothing). */
  ensure(floats: number): number {
    if (floats <= this.floats) return this.ptr;
    if (this.raw !== 0) this.main.kernels.free(this.raw);
    this.raw = this.ptr = this.floats = 0; // freed: a failed allocation below must not leave it to be freed again
    this.raw = this.main.allocBytes(4 * (this.line ? floats + 32 : floats));
    this.ptr = this.line ? (this.raw + 63) & ~63 : this.raw;
    this.floats = floats;
    return this.ptr;
  }
}

/** Shared memories of disposed pools, kept for the next pool (see {@link ParallelBackend.dispose}). */
const spareMemories: WebAssembly.Memory[] = [];
const MAX_SPARE_MEMORIES = 2;
/** A larger memory is left to the garbage collector rather than kept for reuse. */
const MAX_SPARE_BYTES = 256 * 2 ** 20;

/**
 * The `simd` backend on `threads` threads sharing one WebAssembly memory (Node `worker_threads`
 * or Web Workers). Every allocation, every small kernel and the sparse-topology and worldline
 * kernels run on the calling thread; the
 * per-site transfer, update and fused learning step are split by sites, each thread owning the
 * same contiguous sites at every call, so each computes whole rows exactly as one thread would.
 * The forward pass of a wide layer is split by the same rows (each thread reads the rows of W it
 * wrote) and the threads' parts are added in a fixed order: equal to `threads: 1` up to float
 * rounding, and repeatable bit for bit for a given thread count. Everything else equals
 * `threads: 1` bit for bit.
 */
export class ParallelBackend implements Backend {
  readonly name = 'simd' as const;
  readonly threads: number;

  /** The forward parts of threads 1 … threads − 1 (see {@link forwardByRows}). */
  private readonly parts: Block;
  /**
   * The workers' copies of Γ (see {@link startLearn}), {@link copySlot} floats each, on cache lines
   * of their own: only the workers ever touch them. They used to share the forward parts' block,
   * which the calling thread reads after every forward pass, and each worker's write then took
   * every line back from that core (784 → 256 → 4: 2–6 % of a two-thread epoch in alternating
   * A/B runs).
   */
  private readonly gammaCopies: Block;
  private disposed = false;

  private constructor(private readonly main: WasmBackend, private readonly pool: ThreadPool, private readonly memory: WebAssembly.Memory) {
    this.threads = pool.threads;
    this.parts = new Block(main, false);
    this.gammaCopies = new Block(main, true);
  }

  /**
   * Starts a pool of `threads` (2 … 64). Throws `E_BACKEND` where shared WebAssembly memory is not
   * available (browsers need a cross-origin isolated page) or workers cannot be started.
   */
  static async create(threads: number): Promise<ParallelBackend> {
    if (!Number.isInteger(threads) || threads < 2 || threads > MAX_THREADS) {
      throw new FfitError('E_OPTION', `threads must be an integer from 1 to ${MAX_THREADS}; got ${JSON.stringify(threads)}.`);
    }
    if (!threadsSupported()) {
      throw new FfitError('E_BACKEND',
        'threads > 1 needs SharedArrayBuffer and WebAssembly threads (in a browser: a cross-origin isolated page); use threads: 1.');
    }
    let memory = spareMemories.pop();
    if (memory === undefined) {
      try {
        memory = new WebAssembly.Memory({ initial: 16, maximum: 65536, shared: true });
      } catch {
        memory = new WebAssembly.Memory({ initial: 16, maximum: 16384, shared: true }); // 1 GiB where 4 cannot be reserved
      }
    }
    const main = await createWasmBackend('simd', memory);
    const pool = await ThreadPool.create(threads, await wasmModule('threads'), memory);
    return new ParallelBackend(main, pool, memory);
  }

  /** Kernel calls split between the threads so far. */
  get jobs(): number {
    return this.pool.jobs;
  }

  /** Times a worker slept between jobs (diagnostics of the spin-then-wait policy). */
  get sleeps(): number {
    return this.pool.sleeps;
  }

  /** Chunks the worker threads ran (the rest ran on the calling thread). */
  get workerChunks(): number {
    return this.pool.workerChunks;
  }

  private split(items: number, perThread = CHUNKS_PER_THREAD): { chunks: number; size: number } {
    const size = Math.max(1, Math.ceil(items / (this.threads * perThread)));
    return { chunks: Math.ceil(items / size), size };
  }

  /** Chunks of whole 16-site blocks for the per-site jobs: a chunk's 4-byte per-site words (the
   *  `settled` flags) fill whole cache lines, so two threads never write the same line, and every
   *  chunk starts at an even site, so `learn` runs its two-site SIMD path on all of it (25-site
   *  chunks left one single site per chunk). */
  private splitSites(nIn: number): { chunks: number; size: number } {
    const size = 16 * Math.max(1, Math.floor(nIn / (16 * this.threads * CHUNKS_PER_THREAD)));
    return { chunks: Math.ceil(nIn / size), size };
  }

  private scratch(batch: number, nIn: number, nOut: number, D: number): void {
    this.main.ensureScratch(batch, nIn, nOut, D);
    const bytes = this.main.kernels.scratchBytes(batch, nIn, nOut, D);
    this.pool.ensureScratch(bytes, (b) => this.main.allocBytes(b), (p) => this.main.kernels.free(p));
  }

  f32(length: number): F32 { return this.main.f32(length); }
  i32(length: number): I32 { return this.main.i32(length); }
  release(buf: F32 | I32): void { this.main.release(buf); }
  view(buf: F32): Float32Array { return this.main.view(buf); }
  viewI32(buf: I32): Int32Array { return this.main.viewI32(buf); }
  memoryBytes(): number { return this.main.memoryBytes(); }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.pool.close();
    this.main.dispose();
    // V8 frees a shared memory only in a full garbage collection, which a small JS heap never
    // triggers: networks created and disposed in a loop grew the process by their memory each
    // (4.8 MiB for 784 → 64 → 4, linearly past 3 GiB). The next pool reuses it instead: its
    // workers are told to quit and never touch it again, and a new instance starts its allocator
    // afresh over whatever the memory holds (allocations are zero-filled).
    if (spareMemories.length < MAX_SPARE_MEMORIES && this.memory.buffer.byteLength <= MAX_SPARE_BYTES) spareMemories.push(this.memory);
  }

  gather(images: I32, bytes: boolean, rows: I32, count: number, n: number, x: F32): void {
    if (count < 2 * this.threads || count * n < MIN_COPY) return this.main.gather(images, bytes, rows, count, n, x);
    const { chunks, size } = this.split(count, 1);
    this.pool.run(Job.gather, chunks, size, [images.ptr, bytes ? 1 : 0, rows.ptr, count, n, x.ptr], this.main.kernels);
  }

  sources(x: F32, batch: number, n: number, a: F32): number {
    if (batch < 2 * this.threads || batch * n < MIN_COPY) return this.main.sources(x, batch, n, a);
    const { chunks, size } = this.split(batch, 1);
    this.pool.run(Job.sources, chunks, size, [x.ptr, batch, n, a.ptr], this.main.kernels);
    const bad = this.pool.result;
    return bad === 0x7fffffff ? -1 : bad;
  }

  load(images: I32, bytes: boolean, rows: I32, count: number, n: number, x: F32, a: F32): number {
    // one job for both copies: a batch of 32 × 784 is too small to pay for two wake-ups, not for one
    if (count < 2 * this.threads || count * n < MIN_LOAD) return this.main.load(images, bytes, rows, count, n, x, a);
    const { chunks, size } = this.split(count, LOAD_CHUNKS);
    this.pool.run(Job.load, chunks, size, [images.ptr, bytes ? 1 : 0, rows.ptr, count, n, x.ptr, a.ptr], this.main.kernels);
    const bad = this.pool.result;
    return bad === 0x7fffffff ? -1 : bad;
  }

  transfer(theta: F32, prob: F32, w: Complex, rot: Complex | null, nIn: number, nOut: number, D: number, cosD: F32, sinD: F32): void {
    if (nIn < 2 * this.threads || nIn * nOut * D < MIN_WORK) return this.main.transfer(theta, prob, w, rot, nIn, nOut, D, cosD, sinD);
    const { chunks, size } = this.splitSites(nIn);
    this.pool.run(Job.transfer, chunks, size, [theta.ptr, prob.ptr, w.re.ptr, w.im.ptr, rot ? rot.re.ptr : 0, rot ? rot.im.ptr : 0,
      nIn, nOut, D, cosD.ptr, sinD.ptr], this.main.kernels);
  }

  /** Whether a forward pass is split by the rows each thread owns (see {@link forward}). */
  private byRows(batch: number, nIn: number, nOut: number): boolean {
    return batch * nIn * nOut >= MIN_WORK && nOut >= 16 && nIn >= 32 * this.threads;
  }

  /** Runs a by-rows forward job (`extra` appended to its arguments) and adds the threads' parts into z in order. */
  private forwardByRows(op: Job, aRe: F32, aIm: F32 | null, batch: number, nIn: number, w: Complex, nOut: number, z: Complex, extra: number[]): void {
    const { chunks, size } = this.splitSites(nIn);
    const n = batch * nOut, parts = this.parts.ensure(2 * n * (this.threads - 1));
    this.scratch(batch, nIn, nOut, 1);
    this.pool.run(op, this.threads, 1, [aRe.ptr, aIm ? aIm.ptr : 0, batch, nIn, w.re.ptr, w.im.ptr, nOut, z.re.ptr, z.im.ptr,
      parts, chunks, size, ...extra], this.main.kernels);
    if (op === Job.loadForwardRows && this.pool.result !== 0x7fffffff) return; // an invalid image: z is not needed
    for (let t = 1; t < this.threads; t++) {
      const re = parts + 8 * (t - 1) * n;
      this.main.kernels.addTo(z.re.ptr, re, n);
      this.main.kernels.addTo(z.im.ptr, re + 4 * n, n);
    }
  }

  loadForward(images: I32, bytes: boolean, rows: I32, count: number, n: number, x: F32, a: F32, w: Complex, nOut: number, z: Complex): number {
    // byte images whose sums are exact in f32 (as loadSources needs): each thread makes the sources
    // of its own sites and sums their part of z in one job, so a never moves between cores either
    if (!bytes || n > this.main.kernels.EXACT_BYTE_SUM_PIXELS.value || !this.byRows(count, n, nOut)) {
      return loadThenForward(this, images, bytes, rows, count, n, x, a, w, nOut, z);
    }
    this.forwardByRows(Job.loadForwardRows, a, null, count, n, w, nOut, z, [images.ptr, rows.ptr]);
    const bad = this.pool.result;
    return bad === 0x7fffffff ? -1 : bad;
  }

  forward(aRe: F32, aIm: F32 | null, batch: number, nIn: number, w: Complex, nOut: number, z: Complex): void {
    if (batch * nIn * nOut < MIN_WORK) return this.main.forward(aRe, aIm, batch, nIn, w, nOut, z);
    if (this.byRows(batch, nIn, nOut)) {
      // by the rows each thread owns in `learn` (splitSites, contiguous): each thread reads the rows
      // of W it wrote in the last training step. Split by columns, half of every thread's reads and
      // of its next writes were lines the other core held, and each cost a transfer between cores
      // (measured: forward 1.08×, learn 1.38× on two threads for 784 → 256 → 4).
      return this.forwardByRows(Job.forwardRows, aRe, aIm, batch, nIn, w, nOut, z, []);
    }
    const args = [aRe.ptr, aIm ? aIm.ptr : 0, batch, nIn, w.re.ptr, w.im.ptr, nOut, z.re.ptr, z.im.ptr];
    if (nOut >= 16 * this.threads) {
      // by columns, one chunk per thread: every column costs the same, each thread streams only its
      // part of W, and each compacts the batch's lit sources once
      const size = 16 * Math.ceil(nOut / (16 * this.threads));
      this.scratch(batch, nIn, nOut, 1);
      this.pool.run(Job.forward, Math.ceil(nOut / size), size, args, this.main.kernels);
    } else if (batch >= 2 * this.threads) {
      // too narrow for column chunks (e.g. 256 → 4): by examples, W is small enough to share
      const size = Math.ceil(batch / this.threads);
      this.scratch(size, nIn, nOut, 1);
      this.pool.run(Job.forwardExamples, Math.ceil(batch / size), size, args, this.main.kernels);
    } else {
      this.main.forward(aRe, aIm, batch, nIn, w, nOut, z);
    }
  }

  ising(z: Complex, n: number, kappa: number): void {
    if (n < MIN_WORK / 16) return this.main.ising(z, n, kappa);
    const { chunks, size } = this.split(n);
    this.pool.run(Job.ising, chunks, size, [z.re.ptr, z.im.ptr, n, kappa], this.main.kernels);
  }

  targets(
    a: Complex, batch: number, C: number, labels: I32 | null, beta: number, cosT: number, sinT: number,
    objective: ObjectiveCode, J: number, moments: F32, proba: F32, predicted: I32, energy: F32, field: F32,
  ): void {
    this.main.targets(a, batch, C, labels, beta, cosT, sinT, objective, J, moments, proba, predicted, energy, field);
  }

  propagate(w: Complex, nIn: number, nOut: number, gNext: Complex, C: number, g: Complex): void {
    this.main.propagate(w, nIn, nOut, gNext, C, g);
  }

  induce(field: F32, batch: number, C: number, g: Complex, n: number, out: Complex): void {
    this.main.induce(field, batch, C, g, n, out);
  }

  accumulate(aRe: F32, aIm: F32 | null, batch: number, nIn: number, gamma: Complex, nOut: number, s: Complex): void {
    this.main.accumulate(aRe, aIm, batch, nIn, gamma, nOut, s);
  }

  update(
    theta: F32, s: Complex, rot: Complex | null, nIn: number, nOut: number, D: number,
    cosD: F32, sinD: F32, cosT: number, sinT: number, scale: number, recentre: boolean,
  ): void {
    if (nIn < 2 * this.threads || nIn * nOut * D < MIN_WORK) {
      return this.main.update(theta, s, rot, nIn, nOut, D, cosD, sinD, cosT, sinT, scale, recentre);
    }
    const { chunks, size } = this.splitSites(nIn);
    this.pool.run(Job.update, chunks, size, [theta.ptr, s.re.ptr, s.im.ptr, rot ? rot.re.ptr : 0, rot ? rot.im.ptr : 0,
      nIn, nOut, D, cosD.ptr, sinD.ptr, cosT, sinT, scale, recentre ? 1 : 0], this.main.kernels);
  }

  learn(
    aRe: F32, aIm: F32 | null, batch: number, nIn: number, gamma: Complex, nOut: number,
    theta: F32, prob: F32 | null, w: Complex, rot: Complex | null, D: number,
    cosD: F32, sinD: F32, cosT: number, sinT: number, scale: number, settled: I32 | null = null,
  ): void {
    const step = { aRe, aIm, batch, nIn, gamma, nOut, theta, prob, w, rot, D, cosD, sinD, cosT, sinT, scale, settled };
    if (!this.splits(step)) return this.main.learn(aRe, aIm, batch, nIn, gamma, nOut, theta, prob, w, rot, D, cosD, sinD, cosT, sinT, scale, settled);
    this.runLearn(step);
  }

  /**
   * The largest step that is worth splitting runs as a job on every thread, and while the workers
   * start on it the calling thread runs the steps too small to split (for 784 → 256 → 4, the
   * 256 → 4 layer: about 7 % of a two-thread step that its worker used to spend waiting); other
   * large steps follow as jobs of their own.
   */
  learnLayers(steps: readonly LearnStep[]): void {
    const big = steps.filter((s) => this.splits(s));
    if (big.length === 0) return this.main.learnLayers(steps);
    const first = big.reduce((a, b) => (b.nIn * b.nOut * (b.D + b.batch) > a.nIn * a.nOut * (a.D + a.batch) ? b : a));
    // the workers' copies of Γ for every step, made room for before any layer learns: a failed
    // allocation (E_MEMORY) then leaves the network as it was, not half updated
    this.gammaCopies.ensure((this.threads - 1) * Math.max(0, ...big.map((s) => this.copySlot(s))));
    this.startLearn(first);
    try {
      this.main.learnLayers(steps.filter((s) => !this.splits(s)));
    } finally {
      this.pool.finish(this.main.kernels);
    }
    for (const s of big) if (s !== first) this.runLearn(s);
  }

  /** One split `learn` step as a job of its own. */
  private runLearn(s: LearnStep): void {
    this.startLearn(s);
    this.pool.finish(this.main.kernels);
  }

  /** Floats of one worker's copy of Γ for step `s` ({@link gammaCopySlot}), 0 where copies are
   *  not made: Γ not induced as the step says, more than {@link MAX_COPY_CLASSES} targets
   *  (inducing one value then costs more than reading it from the other core), or a Γ too large. */
  private copySlot(s: LearnStep): number {
    return s.induced && s.induced.C <= MAX_COPY_CLASSES ? gammaCopySlot(s.batch, s.nOut) : 0;
  }

  /** Whether a `learn` step is large enough to split between the threads. */
  private splits(s: LearnStep): boolean {
    return s.nIn >= 2 * this.threads && s.nIn * s.nOut * (s.D + s.batch) >= MIN_WORK;
  }

  /**
   * Opens the job of one split `learn` step (the caller finishes it). Where the step says how Γ
   * was induced (and for few targets), each worker first makes its own copy of Γ from the field
   * and the propagators (a few KiB) in its slot of {@link gammaCopies}: reading the calling thread's Γ
   * cost every worker a transfer between cores per cache line (784 → 64 → 4: 2–8 % of a
   * two-thread epoch). Same bits: the same kernel on the same values.
   */
  private startLearn(s: LearnStep): void {
    const { chunks, size } = this.splitSites(s.nIn);
    this.scratch(s.batch, s.nIn, s.nOut, s.D);
    const slot = this.copySlot(s), i = s.induced!;
    const copies = slot > 0 ? [i.field.ptr, i.C, i.g.re.ptr, i.g.im.ptr, this.gammaCopies.ensure((this.threads - 1) * slot), slot] : [0, 0, 0, 0, 0, 0];
    this.pool.start(Job.learn, chunks, size, [s.aRe.ptr, s.aIm ? s.aIm.ptr : 0, s.batch, s.nIn, s.gamma.re.ptr, s.gamma.im.ptr, s.nOut,
      s.theta.ptr, s.prob ? s.prob.ptr : 0, s.w.re.ptr, s.w.im.ptr, s.rot ? s.rot.re.ptr : 0, s.rot ? s.rot.im.ptr : 0, s.D, s.cosD.ptr, s.sinD.ptr,
      s.cosT, s.sinT, s.scale, s.settled ? s.settled.ptr : 0, ...copies]);
  }

  entropy(prob: F32, nIn: number, R: number): number { return this.main.entropy(prob, nIn, R); }

  // Renormalisation, sparse layers and worldline tools run on the calling thread.
  renormalize(z: Complex, batch: number, n: number, scale: F32): void { this.main.renormalize(z, batch, n, scale); }
  normalizeMax(g: Complex, n: number): number { return this.main.normalizeMax(g, n); }
  scaleRows(x: F32, batch: number, n: number, scale: F32): void { this.main.scaleRows(x, batch, n, scale); }
  transferSparse(theta: F32, prob: F32, w: Complex, rot: Complex | null, routes: Routes, nIn: number, D: number, cosD: F32, sinD: F32): void {
    this.main.transferSparse(theta, prob, w, rot, routes, nIn, D, cosD, sinD);
  }
  forwardSparse(aRe: F32, aIm: F32 | null, batch: number, nIn: number, w: Complex, routes: Routes, nOut: number, z: Complex): void {
    this.main.forwardSparse(aRe, aIm, batch, nIn, w, routes, nOut, z);
  }
  propagateSparse(w: Complex, routes: Routes, nIn: number, nOut: number, gNext: Complex, C: number, g: Complex): void {
    this.main.propagateSparse(w, routes, nIn, nOut, gNext, C, g);
  }
  accumulateSparse(aRe: F32, aIm: F32 | null, batch: number, nIn: number, gamma: Complex, nOut: number, routes: Routes, s: Complex): void {
    this.main.accumulateSparse(aRe, aIm, batch, nIn, gamma, nOut, routes, s);
  }
  updateSparse(
    theta: F32, s: Complex, rot: Complex | null, routes: Routes, nIn: number, D: number,
    cosD: F32, sinD: F32, cosT: number, sinT: number, scale: number, recentre: boolean,
  ): void {
    this.main.updateSparse(theta, s, rot, routes, nIn, D, cosD, sinD, cosT, sinT, scale, recentre);
  }
  arrivals(hIn: F32, nIn: number, Tin: number, routes: Routes | null, nOut: number, prob: F32, D: number,
    shift: I32 | null, q: number, hOut: F32, Tout: number): void {
    this.main.arrivals(hIn, nIn, Tin, routes, nOut, prob, D, shift, q, hOut, Tout);
  }
  intensity(z: Complex, batch: number, n: number, out: F32): void { this.main.intensity(z, batch, n, out); }
}
