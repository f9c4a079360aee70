import { FfitError } from '../errors.js';
import { createReferenceBackend } from './reference.js';
import type { Backend, BackendName } from './types.js';
import { createWasmBackend, simdSupported } from './wasm.js';

export type { Backend, BackendName, Complex, F32, I32, ObjectiveCode, Routes } from './types.js';
export { simdSupported } from './wasm.js';

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
 * A fresh backend instance (its own WebAssembly memory). Throws `E_OPTION` for an unknown name
 * and `E_BACKEND` when `simd` is forced on an engine without SIMD.
 */
export async function createBackend(choice: BackendChoice = 'auto'): Promise<Backend> {
  if (!BACKENDS.includes(choice)) {
    throw new FfitError('E_OPTION', `Unknown backend "${String(choice)}"; use one of ${BACKENDS.join(', ')}.`);
  }
  const name = resolveBackend(choice);
  return name === 'js' ? createReferenceBackend() : createWasmBackend(name);
}
