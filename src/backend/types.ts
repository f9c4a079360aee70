/**
 * The one kernel interface behind every backend (`simd`, `scalar`, `js`). The network orchestrates
 * these calls and never knows which backend runs them. Each method is one hot loop of DESIGN.md
 * §2–§5; shapes are row-major, complex values are split into `re` / `im` buffers.
 */

/** Backend names: `simd` (WebAssembly f32x4), `scalar` (WebAssembly, same source), `js` (reference). */
export type BackendName = 'simd' | 'scalar' | 'js';

/** A Float32 buffer owned by a backend. `ptr` is its byte offset in WebAssembly memory (0 in `js`). */
export interface F32 {
  readonly ptr: number;
  readonly length: number;
}

/** An Int32 buffer owned by a backend. */
export interface I32 {
  readonly ptr: number;
  readonly length: number;
}

/** A complex array stored as two Float32 buffers of equal length. */
export interface Complex {
  readonly re: F32;
  readonly im: F32;
}

/**
 * The routes of a sparse layer (DESIGN.md §1) in backend memory: compressed sparse rows, `offsets`
 * (`nIn + 1` entries) and `targets` (`count` next-layer sites, strictly ascending per row, ≥ 1 per
 * row). Route j owns θ, p at `[j·D, j·D + D)` and W, rot, S at j.
 */
export interface Routes {
  readonly offsets: I32;
  readonly targets: I32;
  readonly count: number;
}

/** Objective codes passed to {@link Backend.targets}: 0 = `boltzmann`, 1 = `field` (DESIGN.md §5.2). */
export type ObjectiveCode = 0 | 1;

/** The arguments of one {@link Backend.learn} call, by name (see there for shapes). */
export interface LearnStep {
  aRe: F32; aIm: F32 | null; batch: number; nIn: number; gamma: Complex; nOut: number;
  theta: F32; prob: F32 | null; w: Complex; rot: Complex | null; D: number;
  cosD: F32; sinD: F32; cosT: number; sinT: number; scale: number; settled: I32 | null;
  /**
   * Where `gamma` came from, when it is exactly `induce(field, batch, C, g, nOut, gamma)` and
   * `field` (batch × C) and `g` (C × nOut complex) still hold those values: a backend may make its
   * own copy of Γ from these few KiB (the thread pool's workers do: reading batch × nOut complex
   * values written on another core costs a transfer per cache line). Omitted: Γ is only read.
   */
  induced?: { field: F32; C: number; g: Complex } | null;
}

export interface Backend {
  readonly name: BackendName;

  /** A zero-filled Float32 buffer of `length` elements. Throws `E_MEMORY` when it cannot grow. */
  f32(length: number): F32;
  /** A zero-filled Int32 buffer of `length` elements. Throws `E_MEMORY` when it cannot grow. */
  i32(length: number): I32;
  /** Returns a buffer to the allocator. */
  release(buf: F32 | I32): void;
  /** A live view of a buffer. Valid until the next allocation (memory may grow); do not keep it. */
  view(buf: F32): Float32Array;
  /** A live view of an Int32 buffer, valid like {@link Backend.view}. */
  viewI32(buf: I32): Int32Array;
  /** Bytes of memory held by this backend instance (WebAssembly memory size; estimate for `js`). */
  memoryBytes(): number;
  /** Frees everything; the backend must not be used afterwards. */
  dispose(): void;

  /**
   * x (count × n) ← the images `rows` (count indices) of an image set in backend memory: one byte
   * per value (u8 pixels, packed 4 per I32 element) when `bytes`, else Float32 bit patterns.
   */
  gather(images: I32, bytes: boolean, rows: I32, count: number, n: number, x: F32): void;
  /** a⁰ = x / Σx per row; returns the first invalid row (NaN, ∞, negative, total zero, subnormal or beyond Float32) or −1. */
  sources(x: F32, batch: number, n: number, a: F32): number;
  /**
   * `gather` then `sources` on the same rows in one call (a thread pool runs it as one job, not
   * two), same `a`; returns what `sources` returns. `x` is working space: a backend may leave it
   * unwritten (the WebAssembly kernel makes byte images into sources in one pass).
   */
  load(images: I32, bytes: boolean, rows: I32, count: number, n: number, x: F32, a: F32): number;
  /**
   * {@link load} then {@link forward} of the first layer (a: count × n real, W: n × nOut, z:
   * count × nOut): the thread pool runs both as one job in which each thread makes the sources of
   * the sites it owns in `learn` and sums their part of z. Returns what `load` returns; when it is
   * −1, `z` holds a·W (equal to `forward` up to float rounding, as `forward` on threads).
   */
  loadForward(images: I32, bytes: boolean, rows: I32, count: number, n: number, x: F32, a: F32, w: Complex, nOut: number, z: Complex): number;
  /** θ (nIn × nOut × D) → p (same shape, rows on the simplex) → W (nIn × nOut complex). */
  transfer(theta: F32, prob: F32, w: Complex, rot: Complex | null, nIn: number, nOut: number, D: number, cosD: F32, sinD: F32): void;
  /** z (batch × nOut) = a (batch × nIn; real when `aIm` is null) · W (nIn × nOut). */
  forward(aRe: F32, aIm: F32 | null, batch: number, nIn: number, w: Complex, nOut: number, z: Complex): void;
  /** Ising response in place on `n` complex values: z · tanh(κ|z|)/(κ|z|). */
  ising(z: Complex, n: number, kappa: number): void;
  /** Moments, probabilities, predictions and (with labels) energies and induced fields, see DESIGN.md §4–§5.2. */
  targets(
    a: Complex, batch: number, C: number, labels: I32 | null, beta: number, cosT: number, sinT: number,
    objective: ObjectiveCode, J: number, moments: F32, proba: F32, predicted: I32, energy: F32, field: F32,
  ): void;
  /** G (C × nIn) = rows of W (nIn × nOut) against Gnext (C × nOut): G[k,u] = Σ_v W[u,v] Gnext[k,v]. */
  propagate(w: Complex, nIn: number, nOut: number, gNext: Complex, C: number, g: Complex): void;
  /** Γ (batch × n complex) = B (batch × C real) · G (C × n complex). */
  induce(field: F32, batch: number, C: number, g: Complex, n: number, out: Complex): void;
  /** S (nIn × nOut) += aᵀ Γ over the batch; a real when `aIm` is null. */
  accumulate(aRe: F32, aIm: F32 | null, batch: number, nIn: number, gamma: Complex, nOut: number, s: Complex): void;
  /**
   * θ += scale · Re(e^{iωt*} rot e^{−iωd} S), S ← 0; with `recentre`, each site's logits are then
   * shifted to max 0 and floored at −88 (softmax unchanged).
   */
  update(
    theta: F32, s: Complex, rot: Complex | null, nIn: number, nOut: number, D: number,
    cosD: F32, sinD: F32, cosT: number, sinT: number, scale: number, recentre: boolean,
  ): void;
  /**
   * One fused training step of a layer (DESIGN.md §5.5–§5.6 then §2–§3): S = aᵀ Γ over the batch
   * (never stored), θ += scale · Re(e^{iωt*} rot e^{−iωd} S), each site recentred (max 0, floor
   * −88), then p (only when `prob` is given) and W recomputed. Equals {@link accumulate} +
   * {@link update} (recentring) + {@link transfer}. On entry W (and `prob`) must hold the transfer of θ.
   * Shapes: a batch × nIn (real when `aIm` is null), Γ batch × nOut, θ and p nIn × nOut × D.
   * `settled` (optional, nIn flags, all 0 whenever θ was written other than by `learn`) lets the
   * kernel remember which sites it left with maximum logit 0, so that a site no example lights is
   * skipped without reading its θ row; the results are the same with or without it.
   */
  learn(
    aRe: F32, aIm: F32 | null, batch: number, nIn: number, gamma: Complex, nOut: number,
    theta: F32, prob: F32 | null, w: Complex, rot: Complex | null, D: number,
    cosD: F32, sinD: F32, cosT: number, sinT: number, scale: number, settled?: I32 | null,
  ): void;
  /**
   * {@link learn} for several layers of one training step, one {@link LearnStep} each. The steps
   * must be independent: each reads its own sources a and Γ and writes only its own layer's θ, W
   * and flags. A backend may run them in any order or at once (the thread pool runs the largest
   * on every thread while the calling thread also runs the small ones); the results are those of
   * calling `learn` on each.
   */
  learnLayers(steps: readonly LearnStep[]): void;
  /** Mean entropy (nats) of `nIn` route distributions of `R` entries each. */
  entropy(prob: F32, nIn: number, R: number): number;
  /**
   * Renormalised hidden layer (README "Deep lattices"): per row of `batch × n` complex amplitudes,
   * z ← s·z with s = 1/Σ_v|z_v|; s is written to `scale`. A total below 2^-64 (0 included) is
   * Float32 rounding residue: the row is set to 0 and s = 0 (so 0 ≤ s ≤ 2^64). A non-finite total
   * leaves the row as it is, s = 1.
   */
  renormalize(z: Complex, batch: number, n: number, scale: F32): void;
  /**
   * In place on `n` complex values (a propagator G): when the largest |re| or |im| is positive and
   * below 2^-40, multiplies all by the power of two 2^e that brings it into [0.5, 1) and returns
   * e ≥ 1; otherwise changes nothing and returns 0. Exact (powers of two).
   */
  normalizeMax(g: Complex, n: number): number;
  /** In place: x[b, :] ← x[b, :] · scale[b] over `batch × n` reals. */
  scaleRows(x: F32, batch: number, n: number, scale: F32): void;

  // Sparse layers: the same equations over a layer's routes only; cost O(routes).
  /** {@link transfer} per site over its routes: θ, p are `routes × D`, W and rot `routes` complex. */
  transferSparse(theta: F32, prob: F32, w: Complex, rot: Complex | null, routes: Routes, nIn: number, D: number, cosD: F32, sinD: F32): void;
  /** z (batch × nOut) = Σ over routes u→v of a[b,u] W[j]; a real when `aIm` is null. */
  forwardSparse(aRe: F32, aIm: F32 | null, batch: number, nIn: number, w: Complex, routes: Routes, nOut: number, z: Complex): void;
  /** G[k,u] = Σ_{routes j of u} W[j] Gnext[k, targets[j]]; G is C × nIn, Gnext C × nOut. */
  propagateSparse(w: Complex, routes: Routes, nIn: number, nOut: number, gNext: Complex, C: number, g: Complex): void;
  /** S[j] += Σ_b a[b,u] Γ[b, targets[j]] for every route j of u. */
  accumulateSparse(aRe: F32, aIm: F32 | null, batch: number, nIn: number, gamma: Complex, nOut: number, routes: Routes, s: Complex): void;
  /** {@link update} per site over its routes. */
  updateSparse(
    theta: F32, s: Complex, rot: Complex | null, routes: Routes, nIn: number, D: number,
    cosD: F32, sinD: F32, cosT: number, sinT: number, scale: number, recentre: boolean,
  ): void;

  // Worldline tools (DESIGN.md §1, §3)
  /**
   * One layer of the arrival-time distribution on a grid of `q` steps per tick:
   * hOut[v, t + shift_j + d·q] += p(j,d) hIn[u, t] over routes j = u→v (dense when `routes` is null)
   * and durations d; `hIn` nIn × Tin, `hOut` nOut × Tout (zeroed first), `shift` per route or null.
   */
  arrivals(hIn: F32, nIn: number, Tin: number, routes: Routes | null, nOut: number, prob: F32, D: number,
    shift: I32 | null, q: number, hOut: F32, Tout: number): void;
  /** out[v] += Σ_b |z[b,v]|² over `batch × n` complex values. */
  intensity(z: Complex, batch: number, n: number, out: F32): void;
}
