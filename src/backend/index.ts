import { FfitError } from '../errors.js';
import { createReferenceBackend } from './reference.js';
import type { Backend, BackendName } from './types.js';
import { createWasmBackend, simdSupported } from './wasm.js';
import { ParallelBackend } from '../parallel/backend.js';

export type { Backend, BackendName, Complex, F32, I32, LearnStep, ObjectiveCode, Routes } from './types.js';
export { MAX_BLOCK_BYTES, simdSupported, threadsSupported } from './wasm.js';

/** What a user may ask for: a backend by name, or `auto` (SIMD where the engine validates it, else scalar). */
export type BackendChoice = BackendName | 'auto';

/** Backend names accepted by {@link createBackend}, in order of preference for `auto`. */
export const BACKENDS: readonly BackendChoice[] = ['auto', 'simd', 'scalar', 'js'];

/**
 * Resolves `auto` to the fastest backend this engine runs, detected before anything is
 * instantiated: `simd` where `WebAssembly.validate` accepts the SIMD build (tfjs-style feature
 * detection), else `scalar`, else (no WebAssembly at all, e.g. a jitless engine) `js`.
 */
export function resolveBackend(choice: BackendChoice): BackendName {
  if (!BACKENDS.includes(choice)) {
    throw new FfitError('E_OPTION', `backend must be one of ${BACKENDS.map((b) => `"${b}"`).join(', ')}; got ${typeof choice === 'string' ? JSON.stringify(choice) : String(choice)}.`);
  }
  if (choice !== 'auto') return choice;
  if (simdSupported()) return 'simd';
  return typeof WebAssembly === 'object' ? 'scalar' : 'js';
}

let noticed = false;

/**
 * Says once per page or process, on `console.warn`, that `auto` fell back from SIMD; the fallback
 * is silent after that and never happens for a forced backend. `net.backendName` tells which ran.
 */
function fallbackNotice(name: BackendName): void {
  if (noticed || name === 'simd' || typeof console === 'undefined') return;
  noticed = true;
  console.warn(name === 'scalar'
    ? 'ffit: this WebAssembly engine has no SIMD; using the scalar build (about 1.5× slower). Pass backend: "scalar" to choose it explicitly.'
    : 'ffit: this engine has no WebAssembly; using the TypeScript reference backend "js" (about 8× slower). Pass backend: "js" to choose it explicitly.');
}

/**
 * A fresh backend instance (its own WebAssembly memory). `auto` warns once when it falls back
 * from SIMD (see {@link resolveBackend}). With `threads` > 1 the SIMD kernels run on that many
 * threads sharing one memory (src/parallel/), with results identical to one thread. Throws
 * `E_OPTION` for an unknown name or for `threads` > 1 with the `scalar` or `js` backend, and
 * `E_BACKEND` when `simd` is forced on an engine without SIMD or threads are unavailable.
 */
export async function createBackend(choice: BackendChoice = 'auto', threads = 1): Promise<Backend> {
  if (!BACKENDS.includes(choice)) {
    throw new FfitError('E_OPTION', `Unknown backend "${String(choice)}"; use one of ${BACKENDS.join(', ')}.`);
  }
  const name = resolveBackend(choice);
  if (choice === 'auto') fallbackNotice(name);
  if (threads !== 1) {
    if (name !== 'simd') {
      throw new FfitError('E_OPTION', `threads > 1 runs the SIMD kernels; backend "${name}" runs on one thread (use backend "simd" or "auto", or threads: 1).`);
    }
    return ParallelBackend.create(threads);
  }
  return name === 'js' ? createReferenceBackend() : createWasmBackend(name);
}
