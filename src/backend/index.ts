import { FfitError } from '../errors.js';
import { createReferenceBackend } from './reference.js';
import type { Backend, BackendName } from './types.js';
import { createWasmBackend, simdSupported } from './wasm.js';

export type { Backend, BackendName, Complex, F32, I32, ObjectiveCode, Routes } from './types.js';
export { MAX_BLOCK_BYTES, simdSupported } from './wasm.js';

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
 * from SIMD (see {@link resolveBackend}). Throws `E_OPTION` for an unknown name and `E_BACKEND`
 * when `simd` is forced on an engine without SIMD.
 */
export async function createBackend(choice: BackendChoice = 'auto'): Promise<Backend> {
  if (!BACKENDS.includes(choice)) {
    throw new FfitError('E_OPTION', `Unknown backend "${String(choice)}"; use one of ${BACKENDS.join(', ')}.`);
  }
  const name = resolveBackend(choice);
  if (choice === 'auto') fallbackNotice(name);
  return name === 'js' ? createReferenceBackend() : createWasmBackend(name);
}
