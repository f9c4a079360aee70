import { FfitError } from '../errors.js';
import { createReferenceBackend } from './reference.js';
import type { Backend, BackendName } from './types.js';
import { createWasmBackend, simdSupported } from './wasm.js';
import { ParallelBackend } from '../parallel/backend.js';

export type { Backend, BackendName, Complex, F32, I32, ObjectiveCode } from './types.js';
export { simdSupported, threadsSupported } from './wasm.js';

/** What a user may ask for: a backend by name, or `auto` (SIMD where the engine validates it, else scalar). */
export type BackendChoice = BackendName | 'auto';

/** Backend names accepted by {@link createBackend}, in order of preference for `auto`. */
export const BACKENDS: readonly BackendChoice[] = ['auto', 'simd', 'scalar', 'js'];

/**
 * Resolves `auto` to the fastest backend this engine runs: `simd` where `WebAssembly.validate`
 * accepts the SIMD build (tfjs-style feature detection), otherwise `scalar`.
 */
export function resolveBackend(choice: BackendChoice): BackendName {
  if (choice === 'auto') return simdSupported() ? 'simd' : 'scalar';
  return choice;
}

/**
 * A fresh backend instance (its own WebAssembly memory). With `threads` > 1 the SIMD kernels run
 * on that many threads sharing one memory (src/parallel/), with results identical to one thread.
 * Throws `E_OPTION` for an unknown name or for `threads` > 1 with the `scalar` or `js` backend,
 * and `E_BACKEND` when `simd` is forced on an engine without SIMD or threads are unavailable.
 */
export async function createBackend(choice: BackendChoice = 'auto', threads = 1): Promise<Backend> {
  if (!BACKENDS.includes(choice)) {
    throw new FfitError('E_OPTION', `Unknown backend "${String(choice)}"; use one of ${BACKENDS.join(', ')}.`);
  }
  const name = resolveBackend(choice);
  if (threads !== 1) {
    if (name !== 'simd') {
      throw new FfitError('E_OPTION', `threads > 1 runs the SIMD kernels; backend "${name}" runs on one thread (use backend "simd" or "auto", or threads: 1).`);
    }
    return ParallelBackend.create(threads);
  }
  return name === 'js' ? createReferenceBackend() : createWasmBackend(name);
}
