import { FfitError } from '../errors.js';
import { keepFirstInvalid, run1, runChunks, workerMain, type JobKernels, type WorkerData } from './worker.js';

/** Indices of the Int32 control block (see worker.ts, which spells them as numbers). */
const SEQ = 0, STATE = 2, ERROR = 3, OP = 4, CHUNKS = 5, SIZE = 6, READY = 7, QUIT = 8, RESULT = 10, THREADS = 12, SCRATCH = 16, CURSOR = 256;
/** Most threads a pool runs (scratch slots and chunk cursors of the control block). */
export const MAX_THREADS = 64;
/** Milliseconds a waiting thread polls before it sleeps: longer than the serial work between two
 *  jobs of a training step (tens of µs), short enough that a thread sharing its core with other
 *  work (a busy machine) soon gives the core back. */
const SPIN_MS = 0.1;
/** Bit of the job state word: the job is open, workers may still join it. */
const OPEN = 0x40000000;

/** Job codes of {@link runChunks}. */
export const Job = { forward: 1, learn: 2, transfer: 3, update: 4, ising: 5, gather: 6, sources: 7, forwardExamples: 8, load: 9, forwardRows: 10, loadForwardRows: 11 } as const;
export type Job = (typeof Job)[keyof typeof Job];

/** A started worker thread. */
export interface Thread {
  terminate(): void;
}

/**
 * Starts one worker running `body` (JavaScript source that expects a `DATA` binding holding the
 * {@link WorkerData}). Browsers use Web Workers; Node registers `worker_threads` from its entry
 * points (src/node/threads.ts), so this file — part of the browser bundle — names no Node API.
 */
export type Spawner = (body: string, data: WorkerData) => Thread;

let registered: Spawner | null = null;

/** Makes `spawn` start the workers of every later pool (called by the Node entry points). */
export function setThreadSpawner(spawn: Spawner): void {
  registered = spawn;
}

/** A Web Worker from a Blob URL: works in every bundler setup (no separate worker file to ship). */
const webWorker: Spawner = (body, data) => {
  const code = `self.onmessage = (e) => { self.onmessage = null; const DATA = e.data;\n${body} };`;
  const url = URL.createObjectURL(new Blob([code], { type: 'text/javascript' }));
  const worker = new Worker(url);
  worker.postMessage(data);
  URL.revokeObjectURL(url);
  return worker;
};

/**
 * `threads − 1` workers plus the calling thread, all running the `threads` WebAssembly build on
 * one shared memory. A job is one kernel call split into chunks (examples, sites or columns).
 * Chunk c belongs to thread c mod threads, so each thread works on the same part of the network
 * at every call and keeps it in its core's cache; a thread that is done (or a worker that is late,
 * its core busy with other work) takes the others' remaining chunks. When the calling thread runs
 * out of chunks it closes the job and waits only for the workers that joined it (Atomics.wait in Node; spinning on a browser's main thread, where waiting
 * is not allowed); a worker whose core was busy elsewhere is never waited for.
 */
export class ThreadPool {
  readonly threads: number;
  /** Jobs run so far (kernel calls that were split between threads). */
  jobs = 0;

  /** Times a worker had run out of spinning and slept before a job came (each costs a wake-up). */
  get sleeps(): number {
    return Atomics.load(this.ctl, 9);
  }

  /** Chunks of jobs that the workers (not the calling thread) ran. */
  get workerChunks(): number {
    return Atomics.load(this.ctl, 11);
  }
  private readonly ctl: Int32Array;
  private readonly args: Float64Array;
  private readonly workers: Thread[];
  private canWait = true;
  private closed = false;
  /** A job was started and not yet finished. */
  private open = false;

  private constructor(threads: number, control: SharedArrayBuffer, workers: Thread[]) {
    this.threads = threads;
    this.ctl = new Int32Array(control, 0, 2048);
    this.args = new Float64Array(control, 8192, 32);
    this.workers = workers;
  }

  /**
   * Starts `threads − 1` workers on `module` (the threads build) and `memory` (shared) and waits
   * until each has instantiated it. Throws `E_BACKEND` where workers cannot be started (no
   * registered spawner and no Web Worker) or do not start within 30 s.
   */
  static async create(threads: number, module: WebAssembly.Module, memory: WebAssembly.Memory): Promise<ThreadPool> {
    const control = new SharedArrayBuffer(8192 + 8 * 32);
    const ctl = new Int32Array(control, 0, 2048);
    const workers: Thread[] = [];
    const body = `${keepFirstInvalid.toString()}\n${run1.toString()}\n(${workerMain.toString()})(DATA, ${runChunks.toString()});`;
    const spawn = registered ??
      (typeof Worker === 'function' && typeof Blob === 'function' && typeof URL?.createObjectURL === 'function' ? webWorker : null);
    if (spawn === null) {
      throw new FfitError('E_BACKEND',
        "threads > 1 needs worker threads: in Node import ffit through its package entry points ('ffit' or 'ffit/node'), in a browser use a page with Web Workers; or use threads: 1.");
    }
    for (let i = 0; i < threads - 1; i++) {
      try {
        workers.push(spawn(body, { module, memory, control, index: i, spin: SPIN_MS }));
      } catch (err) {
        for (const w of workers) w.terminate();
        throw new FfitError('E_BACKEND', `A worker thread could not be started (${(err as Error).message}); use threads: 1.`);
      }
    }
    ctl[THREADS] = threads;
    const pool = new ThreadPool(threads, control, workers);
    const deadline = Date.now() + 30_000;
    while (Atomics.load(ctl, READY) < threads - 1) {
      if (Date.now() > deadline) {
        pool.close();
        throw new FfitError('E_BACKEND', `Only ${Atomics.load(ctl, READY)} of ${threads - 1} worker threads started within 30 s; use fewer threads.`);
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    if (Atomics.load(ctl, ERROR) !== 0) {
      pool.close();
      throw new FfitError('E_BACKEND', 'A worker thread could not instantiate the WebAssembly kernels; use threads: 1.');
    }
    return pool;
  }

  /**
   * Gives worker `i` a scratch block of at least `bytes` bytes; `alloc` / `free` are the main
   * instance's allocator (workers never allocate: the allocator's state lives in one instance).
   */
  ensureScratch(bytes: number, alloc: (bytes: number) => number, free: (ptr: number) => void): void {
    for (let i = 0; i < this.threads - 1; i++) {
      const have = this.ctl[SCRATCH + 2 * i + 1]!;
      if (have >= bytes) continue;
      const size = Math.max(bytes, 2 * have, 1 << 16);
      const old = this.ctl[SCRATCH + 2 * i]!;
      if (old !== 0) free(old);
      this.ctl[SCRATCH + 2 * i] = alloc(size);
      this.ctl[SCRATCH + 2 * i + 1] = size;
    }
  }

  /**
   * Runs job `op` with `args` in `chunks` chunks of `size` items on every thread, the caller's
   * instance `k` included; returns when all are done. Throws `E_BACKEND` if a worker's kernel threw.
   */
  run(op: Job, chunks: number, size: number, args: readonly number[], k: JobKernels): void {
    this.start(op, chunks, size, args);
    this.finish(k);
  }

  /**
   * Opens job `op` to the workers and returns at once: the calling thread may run other kernels
   * on data the job does not touch, then must call {@link finish} (which runs the chunks left for
   * it) before the next job.
   */
  start(op: Job, chunks: number, size: number, args: readonly number[]): void {
    if (this.closed) throw new FfitError('E_DISPOSED', 'This network was disposed; create a new one.');
    if (this.open) throw new FfitError('E_BACKEND', 'A thread pool job was started before the previous one finished (a bug in ffit; please report it).');
    const ctl = this.ctl;
    this.jobs++;
    for (let i = 0; i < args.length; i++) this.args[i] = args[i]!;
    ctl[OP] = op;
    ctl[CHUNKS] = chunks;
    ctl[SIZE] = size;
    for (let t = 0; t < this.threads; t++) Atomics.store(ctl, CURSOR + 16 * t, 0); // one cache line each
    Atomics.store(ctl, RESULT, 0x7fffffff);
    Atomics.store(ctl, STATE, OPEN);
    Atomics.add(ctl, SEQ, 1);
    Atomics.notify(ctl, SEQ);
    this.open = true;
  }

  /** Runs the calling thread's share of the job opened by {@link start} on `k`, then waits for the workers inside it. */
  finish(k: JobKernels): void {
    if (!this.open) return;
    this.open = false;
    const ctl = this.ctl;
    let failed = false;
    try {
      runChunks(k, ctl, this.args, 0);
    } catch {
      failed = true;
    }
    this.join();
    if (failed || Atomics.load(ctl, ERROR) !== 0) {
      Atomics.store(ctl, ERROR, 0);
      throw new FfitError('E_BACKEND', 'A WebAssembly kernel failed on a worker thread; use threads: 1 and report the error.');
    }
  }

  /** The integer result of the last job (`sources`: the first invalid example, or 2³¹ − 1). */
  get result(): number {
    return Atomics.load(this.ctl, RESULT);
  }

  /** Closes the current job (no worker may join any more) and waits for those inside to finish. */
  private join(): void {
    const ctl = this.ctl;
    Atomics.and(ctl, STATE, ~OPEN);
    for (let until = performance.now() + SPIN_MS, i = 1; ; i++) { // the clock every 256 polls (see worker.ts)
      if (Atomics.load(ctl, STATE) === 0) return;
      if ((i & 255) === 0 && performance.now() >= until) break;
    }
    for (let inside = Atomics.load(ctl, STATE); inside !== 0; inside = Atomics.load(ctl, STATE)) {
      if (this.canWait) {
        try {
          Atomics.wait(ctl, STATE, inside, 100);
        } catch {
          this.canWait = false; // a browser's main thread may not block: keep polling
        }
      }
    }
  }

  /** Stops the workers (they exit at their next wake-up; terminate() makes sure). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.ctl, QUIT, 1);
    Atomics.add(this.ctl, SEQ, 1);
    Atomics.notify(this.ctl, SEQ);
    for (const w of this.workers) w.terminate();
  }
}
