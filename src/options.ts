import { BACKENDS, type BackendChoice } from './backend/index.js';
import { check } from './errors.js';

/** Route topology of a layer (DESIGN.md §1). Only `dense` is implemented so far. */
export type Topology = 'dense';
/** What the update rule drives (DESIGN.md §5.2). */
export type Objective = 'boltzmann' | 'field';
/** Hidden site response (DESIGN.md §3). Target sites are always linear. */
export type Response = 'linear' | 'ising';

/**
 * Everything that defines a network: the space-time lattice (DESIGN.md §1–§3) and the training
 * rule (§4–§5). All fields but `layers` are optional; {@link defaults} lists every default.
 */
export interface FfitOptions {
  /** Sites per layer `N_0 … N_L` (L ≥ 1): N_0 sources (e.g. 784 pixels), N_L = C ≥ 2 targets. */
  layers: readonly number[];
  /** Route topology, DESIGN.md §1. Default `dense`. */
  topology?: Topology;
  /** Durations per route pair `D ≥ 1` (integer, ticks). Default 4. */
  durations?: number;
  /** Signal speed `c > 0` (space units per tick); `Infinity` means δ(u,v) = 0. Default `Infinity`. */
  speed?: number;
  /** Site positions per layer (space units), `layers[ℓ]` finite numbers each; default `i / (N_ℓ − 1)` in [0, 1]. */
  positions?: readonly (readonly number[])[];
  /** Angular frequency ω of the source wave (radians per tick). Default `2π / D`. */
  omega?: number;
  /** Observation instant t* (ticks). Default 0. */
  tStar?: number;
  /** Inverse temperature β > 0 of the target occupation. Default 60. */
  beta?: number;
  /** Learning rate η ≥ 0 of the logit update θ ← θ + η ḡ. Default 10. */
  eta?: number;
  /** Examples per update (1 = online learning). Default 32. */
  batchSize?: number;
  /** `boltzmann` (B = δ_y − P) or `field` (B = h). Default `boltzmann`. */
  objective?: Objective;
  /** Hidden site response. Default `linear`. */
  response?: Response;
  /** κ > 0 of the `ising` response φ(z) = z·tanh(κ|z|)/(κ|z|) (per unit amplitude). Default 1. */
  kappa?: number;
  /** Ising coupling J ≥ 0 in the target energy E = −Σ h M − (J/2) Σ M². Default 1. */
  coupling?: number;
  /** Half-width of the uniform noise of the initial logits θ ∈ [−s, s]. Default 0.1. */
  initScale?: number;
  /** Seed of the initial logits and of data shuffling (integer). Default 0. */
  seed?: number;
  /** Kernel backend. Default `auto` (SIMD where supported, else scalar). */
  backend?: BackendChoice;
  /**
   * Threads the SIMD kernels run on (1 … 64), sharing one WebAssembly memory: Node
   * `worker_threads` or Web Workers (browsers: cross-origin isolated pages). Results are the
   * same bits as with 1. A runtime choice like `backend`: not saved with the model. Default 1.
   */
  threads?: number;
}

/** {@link FfitOptions} with every default filled in. */
export type ResolvedOptions = Required<Omit<FfitOptions, 'positions' | 'omega'>> & {
  positions: number[][] | null;
  omega: number;
};

/** Every default in one place (brain.js style); `layers` has none. */
export function defaults(): Omit<ResolvedOptions, 'layers' | 'omega'> {
  return {
    topology: 'dense',
    durations: 4,
    speed: Infinity,
    positions: null,
    tStar: 0,
    beta: 60,
    eta: 10,
    batchSize: 32,
    objective: 'boltzmann',
    response: 'linear',
    kappa: 1,
    coupling: 1,
    initScale: 0.1,
    seed: 0,
    backend: 'auto',
    threads: 1,
  };
}

const isInt = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x);
const isNum = (x: unknown): x is number => typeof x === 'number' && !Number.isNaN(x);

/** Largest site count per layer and route count per layer that the API accepts before sizing memory. */
export const MAX_SITES = 1 << 24;

/**
 * Fills defaults and validates every field. Throws `FfitError('E_OPTION')` naming the field, the
 * value received and what is allowed.
 */
export function resolveOptions(options: FfitOptions): ResolvedOptions {
  check(typeof options === 'object' && options !== null, 'Options must be an object with at least `layers`, e.g. { layers: [784, 64, 4] }.');
  const known = new Set([...Object.keys(defaults()), 'layers', 'omega']);
  for (const key of Object.keys(options)) {
    check(known.has(key), `Unknown option "${key}"; known options are ${[...known].sort().join(', ')}.`);
  }
  const d = defaults();
  const o = { ...d, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as ResolvedOptions & { omega?: number };

  const layers = options.layers;
  check(Array.isArray(layers) && layers.length >= 2,
    `layers must list at least two layer sizes (sources … targets), e.g. [784, 64, 4]; got ${JSON.stringify(layers)}.`);
  layers.forEach((n, i) => check(isInt(n) && n >= 1 && n <= MAX_SITES,
    `layers[${i}] must be an integer from 1 to ${MAX_SITES}; got ${JSON.stringify(n)}.`));
  check(layers[layers.length - 1]! >= 2, `The last layer holds one target per class and needs at least 2 sites; got ${layers[layers.length - 1]}.`);
  check(o.topology === 'dense', `topology must be "dense" (causal and local are not implemented yet); got ${JSON.stringify(o.topology)}.`);
  check(isInt(o.durations) && o.durations >= 1 && o.durations <= 1024, `durations (D) must be an integer from 1 to 1024; got ${JSON.stringify(o.durations)}.`);
  check(isNum(o.speed) && o.speed > 0, `speed (c) must be a positive number or Infinity; got ${JSON.stringify(o.speed)}.`);
  const omega = options.omega ?? (2 * Math.PI) / o.durations;
  check(isNum(omega) && Number.isFinite(omega), `omega must be a finite number (radians per tick); got ${JSON.stringify(options.omega)}.`);
  check(isNum(o.tStar) && Number.isFinite(o.tStar), `tStar must be a finite number (ticks); got ${JSON.stringify(o.tStar)}.`);
  check(isNum(o.beta) && Number.isFinite(o.beta) && o.beta > 0, `beta must be a finite number > 0; got ${JSON.stringify(o.beta)}.`);
  check(isNum(o.eta) && Number.isFinite(o.eta) && o.eta >= 0, `eta must be a finite number ≥ 0; got ${JSON.stringify(o.eta)}.`);
  check(isInt(o.batchSize) && o.batchSize >= 1 && o.batchSize <= 65536, `batchSize must be an integer from 1 to 65536; got ${JSON.stringify(o.batchSize)}.`);
  check(o.objective === 'boltzmann' || o.objective === 'field', `objective must be "boltzmann" or "field"; got ${JSON.stringify(o.objective)}.`);
  check(o.response === 'linear' || o.response === 'ising', `response must be "linear" or "ising"; got ${JSON.stringify(o.response)}.`);
  check(isNum(o.kappa) && Number.isFinite(o.kappa) && o.kappa > 0, `kappa must be a finite number > 0; got ${JSON.stringify(o.kappa)}.`);
  check(isNum(o.coupling) && Number.isFinite(o.coupling) && o.coupling >= 0, `coupling (J) must be a finite number ≥ 0; got ${JSON.stringify(o.coupling)}.`);
  check(isNum(o.initScale) && Number.isFinite(o.initScale) && o.initScale >= 0 && o.initScale <= 80,
    `initScale must be a number from 0 to 80; got ${JSON.stringify(o.initScale)}.`);
  check(isInt(o.seed) && Math.abs(o.seed) <= 2 ** 31 - 1, `seed must be an integer in ±(2^31 − 1); got ${JSON.stringify(o.seed)}.`);
  // Uniform routing sums the duration phasors to |Σ_d e^{−iωd}| / D; where that vanishes every W
  // is 0, no signal reaches a hidden site, and the gains of a hidden lattice stay 0 forever.
  let re = 0, im = 0;
  for (let d = 0; d < o.durations; d++) {
    re += Math.cos(omega * d);
    im -= Math.sin(omega * d);
  }
  check(!(o.initScale === 0 && layers.length > 2 && Math.hypot(re, im) < 1e-6 * o.durations),
    `initScale 0 gives uniform routing, whose ${o.durations} duration phasors cancel (W = 0): a lattice with hidden layers ` +
    'would never learn. Use initScale > 0 (default 0.1), or a single layer.');
  check(BACKENDS.includes(o.backend), `backend must be one of ${BACKENDS.join(', ')}; got ${JSON.stringify(o.backend)}.`);
  check(isInt(o.threads) && o.threads >= 1 && o.threads <= 64, `threads must be an integer from 1 to 64; got ${JSON.stringify(o.threads)}.`);
  check(o.threads === 1 || o.backend === 'simd' || o.backend === 'auto',
    `threads > 1 runs the SIMD kernels; backend "${o.backend}" runs on one thread (use backend "simd" or "auto", or threads: 1).`);

  let positions: number[][] | null = null;
  if (options.positions !== undefined && options.positions !== null) {
    check(Array.isArray(options.positions) && options.positions.length === layers.length,
      `positions must hold one array per layer (${layers.length}); got ${Array.isArray(options.positions) ? options.positions.length : typeof options.positions}.`);
    positions = options.positions.map((row, l) => {
      check(Array.isArray(row) && row.length === layers[l], `positions[${l}] must hold ${layers[l]} numbers, one per site.`);
      row.forEach((x, i) => check(isNum(x) && Number.isFinite(x), `positions[${l}][${i}] must be a finite number; got ${JSON.stringify(x)}.`));
      return [...row];
    });
  }
  return { ...o, layers: [...layers], positions, omega };
}

/** Site positions of layer ℓ: the given ones, or `i / (N − 1)` spread over [0, 1] (0.5 for one site). */
export function sitePositions(o: ResolvedOptions, layer: number): number[] {
  if (o.positions) return o.positions[layer]!;
  const n = o.layers[layer]!;
  return Array.from({ length: n }, (_, i) => (n === 1 ? 0.5 : i / (n - 1)));
}
