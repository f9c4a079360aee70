import { SCALAR_WASM, SIMD_WASM, THREADS_WASM } from '../generated/wasm.js';
import { FfitError } from '../errors.js';
import type { Backend, Complex, F32, I32, LearnStep, ObjectiveCode, Routes } from './types.js';
import { learnInTurn, loadThenForward } from './compose.js';

/** The raw exports of assembly/index.ts (pointers are byte offsets, counts are elements). */
export interface Kernels {
  memory: WebAssembly.Memory;
  alloc(bytes: number): number;
  free(ptr: number): void;
  memoryBytes(): number;
  sources(x: number, batch: number, n: number, a: number): number;
  gather(images: number, bytes: number, rows: number, count: number, n: number, x: number): void;
  loadSources(images: number, bytes: number, rows: number, count: number, n: number, x: number, a: number): number;
  loadForwardBlock(images: number, rows: number, count: number, n: number, a: number, wRe: number, wIm: number, nOut: number,
    zRe: number, zIm: number, u0: number, u1: number): number;
  transfer(theta: number, prob: number, wRe: number, wIm: number, rotRe: number, rotIm: number,
    nIn: number, nOut: number, D: number, cosD: number, sinD: number): void;
  forward(aRe: number, aIm: number, batch: number, nIn: number, wRe: number, wIm: number, nOut: number,
    zRe: number, zIm: number): void;
  forwardBlock(aRe: number, aIm: number, batch: number, nIn: number, wRe: number, wIm: number, nOut: number,
    zRe: number, zIm: number, u0: number, u1: number, v0: number, v1: number): void;
  addTo(dst: number, src: number, n: number): void;
  ising(zRe: number, zIm: number, n: number, kappa: number): void;
  targets(aRe: number, aIm: number, batch: number, C: number, labels: number, beta: number, cosT: number,
    sinT: number, objective: number, J: number, moments: number, proba: number, predicted: number,
    energy: number, field: number): void;
  propagate(wRe: number, wIm: number, nIn: number, nOut: number, gNextRe: number, gNextIm: number,
    C: number, gRe: number, gIm: number): void;
  induce(field: number, batch: number, C: number, gRe: number, gIm: number, n: number, outRe: number,
    outIm: number): void;
  accumulate(aRe: number, aIm: number, batch: number, nIn: number, gamRe: number, gamIm: number,
    nOut: number, sRe: number, sIm: number): void;
  update(theta: number, sRe: number, sIm: number, rotRe: number, rotIm: number, nIn: number, nOut: number,
    D: number, cosD: number, sinD: number, cosT: number, sinT: number, scale: number, recentre: number): void;
  entropy(prob: number, nIn: number, R: number): number;
  scratch(ptr: number, bytes: number): void;
  scratchBytes(batch: number, nIn: number, nOut: number, D: number): number;
  learn(aRe: number, aIm: number, batch: number, nIn: number, gamRe: number, gamIm: number, nOut: number,
    theta: number, prob: number, wRe: number, wIm: number, rotRe: number, rotIm: number, D: number,
    cosD: number, sinD: number, cosT: number, sinT: number, scale: number, u0: number, u1: number, settled: number): void;
  renormalize(zRe: number, zIm: number, batch: number, n: number, scale: number): void;
  normalizeMax(re: number, im: number, n: number): number;
  scaleRows(x: number, batch: number, n: number, scale: number): void;
  transferSparse(theta: number, prob: number, wRe: number, wIm: number, rotRe: number, rotIm: number,
    offsets: number, nIn: number, D: number, cosD: number, sinD: number): void;
  forwardSparse(aRe: number, aIm: number, batch: number, nIn: number, offsets: number, targets: number,
    wRe: number, wIm: number, nOut: number, zRe: number, zIm: number): void;
  propagateSparse(wRe: number, wIm: number, offsets: number, targets: number, nIn: number, nOut: number,
    gNextRe: number, gNextIm: number, C: number, gRe: number, gIm: number): void;
  accumulateSparse(aRe: number, aIm: number, batch: number, nIn: number, gamRe: number, gamIm: number, nOut: number,
    offsets: number, targets: number, sRe: number, sIm: number): void;
  updateSparse(theta: number, sRe: number, sIm: number, rotRe: number, rotIm: number, offsets: number, nIn: number,
    D: number, cosD: number, sinD: number, cosT: number, sinT: number, scale: number, recentre: number): void;
  arrivals(hIn: number, nIn: number, Tin: number, offsets: number, targets: number, nOut: number, prob: number,
    D: number, shift: number, q: number, hOut: number, Tout: number): void;
  intensity(zRe: number, zIm: number, batch: number, n: number, out: number): void;
  /** Most pixels per image for which `loadSources` / `loadForwardBlock` sum bytes as integers (255·n < 2^24: exact in f32). */
  readonly EXACT_BYTE_SUM_PIXELS: WebAssembly.Global;
}

/** WebAssembly pages are 64 KiB; wasm32 memory stops at 4 GiB. */
const MAX_BYTES = 4 * 1024 ** 3;

/**
 * The largest single block the AssemblyScript TLSF allocator hands out: BLOCK_MAXSIZE = 2^30 minus
 * its 4-byte block header (std/assembly/rt/common.ts). A bigger request aborts inside `alloc`.
 */
export const MAX_BLOCK_BYTES = 2 ** 30 - 4;

const modules = new Map<'simd' | 'scalar' | 'threads', Promise<WebAssembly.Module>>();

/** The compiled module of one build (compiled once per process). */
export function wasmModule(build: 'simd' | 'scalar' | 'threads'): Promise<WebAssembly.Module> {
  let mod = modules.get(build);
  if (!mod) {
    const b64 = build === 'simd' ? SIMD_WASM : build === 'scalar' ? SCALAR_WASM : THREADS_WASM;
    mod = WebAssembly.compile(decode(b64) as BufferSource);
    modules.set(build, mod);
  }
  return mod;
}

function decode(base64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(base64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

/**
 * Whether this engine can run the SIMD build. The probe is the SIMD build itself: if
 * `WebAssembly.validate` accepts it, every instruction it uses is supported.
 */
export function simdSupported(): boolean {
  return typeof WebAssembly === 'object' && WebAssembly.validate(decode(SIMD_WASM));
}

/**
 * Whether this engine can run several threads on one WebAssembly memory: SharedArrayBuffer exists
 * (in browsers only on cross-origin isolated pages) and the shared-memory SIMD build validates.
 */
export function threadsSupported(): boolean {
  return typeof SharedArrayBuffer === 'function' && typeof Atomics === 'object' &&
    typeof WebAssembly === 'object' && WebAssembly.validate(decode(THREADS_WASM));
}

/**
 * Compiles (once per process) and instantiates one build; every instance has its own memory,
 * except with `memory`: then the `threads` build is instantiated on that shared memory (the
 * main thread's instance of a thread pool, see src/parallel/).
 */
export async function createWasmBackend(name: 'simd' | 'scalar', memory?: WebAssembly.Memory): Promise<WasmBackend> {
  if (name === 'simd' && !simdSupported()) {
    throw new FfitError('E_BACKEND', 'This WebAssembly engine does not support SIMD; use backend "scalar" or "auto".');
  }
  const imports = {
    env: {
      ...(memory ? { memory } : {}),
      abort(): never {
        throw new FfitError('E_MEMORY', 'WebAssembly memory is exhausted (4 GiB limit); use a smaller lattice or batch.');
      },
    },
  };
  const instance = await WebAssembly.instantiate(await wasmModule(memory ? 'threads' : name), imports);
  return new WasmBackend(name, instance.exports as unknown as Kernels);
}

const ptrOf = (b: F32 | I32 | null): number => (b === null ? 0 : b.ptr);

/** A backend running one WebAssembly instance's kernels on the calling thread; create it with {@link createWasmBackend}. */
export class WasmBackend implements Backend {
  readonly name: 'simd' | 'scalar';
  private k: Kernels | null;
  private buffer: ArrayBuffer | null = null;
  private f32All: Float32Array = new Float32Array(0);
  private i32All: Int32Array = new Int32Array(0);
  /** This instance's scratch block (see `scratch` in assembly/index.ts): grows, never shrinks. */
  private scratchPtr = 0;
  private scratchSize = 0;

  constructor(name: 'simd' | 'scalar', kernels: Kernels) {
    this.name = name;
    this.k = kernels;
  }

  /** The instance's raw exports (for a thread pool that splits calls between instances). */
  get kernels(): Kernels {
    if (this.k === null) throw new FfitError('E_DISPOSED', 'This network was disposed; create a new one.');
    return this.k;
  }

  /** Whole-memory views, re-created whenever memory.grow detached the previous buffer. */
  private refresh(): void {
    const buf = this.kernels.memory.buffer;
    if (buf !== this.buffer) {
      this.buffer = buf;
      this.f32All = new Float32Array(buf);
      this.i32All = new Int32Array(buf);
    }
  }

  /** Allocates `bytes` bytes of this instance's memory; throws `E_MEMORY` when it cannot grow. */
  allocBytes(bytes: number): number {
    const need = Math.max(16, bytes);
    const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
    if (need > MAX_BLOCK_BYTES) {
      throw new FfitError('E_MEMORY',
        `A buffer of ${need} bytes (${mib(need)}) is more than the ${MAX_BLOCK_BYTES} bytes (2^30 − 4) that the WebAssembly allocator hands out in one block; use fewer sites, durations or a smaller batch.`);
    }
    // no check against the memory already grown: the allocator reuses freed blocks (memory never
    // shrinks), and a grow beyond 4 GiB traps before the allocator changes anything
    try {
      return this.kernels.alloc(need);
    } catch (err) {
      if (err instanceof FfitError) throw err;
      throw new FfitError('E_MEMORY',
        `A buffer of ${mib(need)} does not fit: this instance holds ${mib(this.memoryBytes())} of the 4 GiB that WebAssembly memory can address and has no free block that large; use fewer sites, durations or a smaller batch.`);
    }
  }

  f32(length: number): F32 {
    return { ptr: this.allocBytes(length * 4), length };
  }

  i32(length: number): I32 {
    return { ptr: this.allocBytes(length * 4), length };
  }

  release(buf: F32 | I32): void {
    if (this.k !== null) this.k.free(buf.ptr);
  }

  view(buf: F32): Float32Array {
    this.refresh();
    return this.f32All.subarray(buf.ptr >>> 2, (buf.ptr >>> 2) + buf.length);
  }

  viewI32(buf: I32): Int32Array {
    this.refresh();
    return this.i32All.subarray(buf.ptr >>> 2, (buf.ptr >>> 2) + buf.length);
  }

  memoryBytes(): number {
    // the buffer's length, not the u32 export: wasm returns u32 as a signed i32 (negative above 2 GiB, 0 at 4 GiB)
    return this.k === null ? 0 : this.k.memory.buffer.byteLength;
  }

  /** Makes sure the kernels' scratch holds what these shapes need (allocation only when it grows). */
  ensureScratch(batch: number, nIn: number, nOut: number, D: number): void {
    const need = this.kernels.scratchBytes(batch, nIn, nOut, D);
    if (need <= this.scratchSize) return;
    const size = Math.max(need, 2 * this.scratchSize, 1 << 16);
    if (this.scratchPtr !== 0) this.kernels.free(this.scratchPtr);
    this.scratchPtr = 0;
    this.scratchSize = 0;
    this.scratchPtr = this.allocBytes(size);
    this.scratchSize = size;
    this.kernels.scratch(this.scratchPtr, size);
  }

  dispose(): void {
    this.k = null;
    this.buffer = null;
    this.f32All = new Float32Array(0);
    this.i32All = new Int32Array(0);
  }

  gather(images: I32, bytes: boolean, rows: I32, count: number, n: number, x: F32): void {
    this.kernels.gather(images.ptr, bytes ? 1 : 0, rows.ptr, count, n, x.ptr);
  }

  sources(x: F32, batch: number, n: number, a: F32): number {
    return this.kernels.sources(x.ptr, batch, n, a.ptr);
  }

  load(images: I32, bytes: boolean, rows: I32, count: number, n: number, x: F32, a: F32): number {
    return this.kernels.loadSources(images.ptr, bytes ? 1 : 0, rows.ptr, count, n, x.ptr, a.ptr);
  }
  loadForward(images: I32, bytes: boolean, rows: I32, count: number, n: number, x: F32, a: F32, w: Complex, nOut: number, z: Complex): number {
    return loadThenForward(this, images, bytes, rows, count, n, x, a, w, nOut, z);
  }

  transfer(theta: F32, prob: F32, w: Complex, rot: Complex | null, nIn: number, nOut: number, D: number, cosD: F32, sinD: F32): void {
    this.kernels.transfer(theta.ptr, prob.ptr, w.re.ptr, w.im.ptr, ptrOf(rot && rot.re), ptrOf(rot && rot.im),
      nIn, nOut, D, cosD.ptr, sinD.ptr);
  }

  forward(aRe: F32, aIm: F32 | null, batch: number, nIn: number, w: Complex, nOut: number, z: Complex): void {
    this.ensureScratch(batch, nIn, nOut, 1);
    this.kernels.forward(aRe.ptr, ptrOf(aIm), batch, nIn, w.re.ptr, w.im.ptr, nOut, z.re.ptr, z.im.ptr);
  }

  ising(z: Complex, n: number, kappa: number): void {
    this.kernels.ising(z.re.ptr, z.im.ptr, n, kappa);
  }

  targets(
    a: Complex, batch: number, C: number, labels: I32 | null, beta: number, cosT: number, sinT: number,
    objective: ObjectiveCode, J: number, moments: F32, proba: F32, predicted: I32, energy: F32, field: F32,
  ): void {
    this.kernels.targets(a.re.ptr, a.im.ptr, batch, C, ptrOf(labels), beta, cosT, sinT, objective, J,
      moments.ptr, proba.ptr, predicted.ptr, energy.ptr, field.ptr);
  }

  propagate(w: Complex, nIn: number, nOut: number, gNext: Complex, C: number, g: Complex): void {
    this.kernels.propagate(w.re.ptr, w.im.ptr, nIn, nOut, gNext.re.ptr, gNext.im.ptr, C, g.re.ptr, g.im.ptr);
  }

  induce(field: F32, batch: number, C: number, g: Complex, n: number, out: Complex): void {
    this.kernels.induce(field.ptr, batch, C, g.re.ptr, g.im.ptr, n, out.re.ptr, out.im.ptr);
  }

  accumulate(aRe: F32, aIm: F32 | null, batch: number, nIn: number, gamma: Complex, nOut: number, s: Complex): void {
    this.ensureScratch(batch, nIn, nOut, 1);
    this.kernels.accumulate(aRe.ptr, ptrOf(aIm), batch, nIn, gamma.re.ptr, gamma.im.ptr, nOut, s.re.ptr, s.im.ptr);
  }

  update(
    theta: F32, s: Complex, rot: Complex | null, nIn: number, nOut: number, D: number,
    cosD: F32, sinD: F32, cosT: number, sinT: number, scale: number, recentre: boolean,
  ): void {
    this.kernels.update(theta.ptr, s.re.ptr, s.im.ptr, ptrOf(rot && rot.re), ptrOf(rot && rot.im),
      nIn, nOut, D, cosD.ptr, sinD.ptr, cosT, sinT, scale, recentre ? 1 : 0);
  }

  learn(
    aRe: F32, aIm: F32 | null, batch: number, nIn: number, gamma: Complex, nOut: number,
    theta: F32, prob: F32 | null, w: Complex, rot: Complex | null, D: number,
    cosD: F32, sinD: F32, cosT: number, sinT: number, scale: number, settled: I32 | null = null,
  ): void {
    this.ensureScratch(batch, nIn, nOut, D);
    this.kernels.learn(aRe.ptr, ptrOf(aIm), batch, nIn, gamma.re.ptr, gamma.im.ptr, nOut, theta.ptr, ptrOf(prob),
      w.re.ptr, w.im.ptr, ptrOf(rot && rot.re), ptrOf(rot && rot.im), D, cosD.ptr, sinD.ptr, cosT, sinT, scale, 0, nIn,
      ptrOf(settled));
  }

  learnLayers(steps: readonly LearnStep[]): void {
    learnInTurn(this, steps);
  }

  entropy(prob: F32, nIn: number, R: number): number {
    return this.kernels.entropy(prob.ptr, nIn, R);
  }

  renormalize(z: Complex, batch: number, n: number, scale: F32): void {
    this.kernels.renormalize(z.re.ptr, z.im.ptr, batch, n, scale.ptr);
  }

  normalizeMax(g: Complex, n: number): number {
    return this.kernels.normalizeMax(g.re.ptr, g.im.ptr, n);
  }

  scaleRows(x: F32, batch: number, n: number, scale: F32): void {
    this.kernels.scaleRows(x.ptr, batch, n, scale.ptr);
  }

  transferSparse(theta: F32, prob: F32, w: Complex, rot: Complex | null, routes: Routes, nIn: number, D: number, cosD: F32, sinD: F32): void {
    this.kernels.transferSparse(theta.ptr, prob.ptr, w.re.ptr, w.im.ptr, ptrOf(rot && rot.re), ptrOf(rot && rot.im),
      routes.offsets.ptr, nIn, D, cosD.ptr, sinD.ptr);
  }

  forwardSparse(aRe: F32, aIm: F32 | null, batch: number, nIn: number, w: Complex, routes: Routes, nOut: number, z: Complex): void {
    this.kernels.forwardSparse(aRe.ptr, ptrOf(aIm), batch, nIn, routes.offsets.ptr, routes.targets.ptr, w.re.ptr, w.im.ptr,
      nOut, z.re.ptr, z.im.ptr);
  }

  propagateSparse(w: Complex, routes: Routes, nIn: number, nOut: number, gNext: Complex, C: number, g: Complex): void {
    this.kernels.propagateSparse(w.re.ptr, w.im.ptr, routes.offsets.ptr, routes.targets.ptr, nIn, nOut,
      gNext.re.ptr, gNext.im.ptr, C, g.re.ptr, g.im.ptr);
  }

  accumulateSparse(aRe: F32, aIm: F32 | null, batch: number, nIn: number, gamma: Complex, nOut: number, routes: Routes, s: Complex): void {
    this.kernels.accumulateSparse(aRe.ptr, ptrOf(aIm), batch, nIn, gamma.re.ptr, gamma.im.ptr, nOut,
      routes.offsets.ptr, routes.targets.ptr, s.re.ptr, s.im.ptr);
  }

  updateSparse(
    theta: F32, s: Complex, rot: Complex | null, routes: Routes, nIn: number, D: number,
    cosD: F32, sinD: F32, cosT: number, sinT: number, scale: number, recentre: boolean,
  ): void {
    this.kernels.updateSparse(theta.ptr, s.re.ptr, s.im.ptr, ptrOf(rot && rot.re), ptrOf(rot && rot.im), routes.offsets.ptr,
      nIn, D, cosD.ptr, sinD.ptr, cosT, sinT, scale, recentre ? 1 : 0);
  }

  arrivals(hIn: F32, nIn: number, Tin: number, routes: Routes | null, nOut: number, prob: F32, D: number,
    shift: I32 | null, q: number, hOut: F32, Tout: number): void {
    this.kernels.arrivals(hIn.ptr, nIn, Tin, routes ? routes.offsets.ptr : 0, routes ? routes.targets.ptr : 0, nOut,
      prob.ptr, D, ptrOf(shift), q, hOut.ptr, Tout);
  }

  intensity(z: Complex, batch: number, n: number, out: F32): void {
    this.kernels.intensity(z.re.ptr, z.im.ptr, batch, n, out.ptr);
  }
}
