import { BACKENDS, type BackendChoice } from './backend/index.js';
import { check } from './errors.js';
import { plainOptions, readMember } from './validate.js';
import { unitPhasor } from './phase.js';

/**
 * Route topology of every layer (DESIGN.md §1): `dense` (every site to every next-layer site),
 * `causal` (to same-or-later positions: a GPT's causal mask) or `local` (within `radius`).
 */
export type Topology = 'dense' | 'causal' | 'local';
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
  /** Route topology, DESIGN.md §1. `causal` needs `sequence` or `positions`. Default `dense`. */
  topology?: Topology;
  /** Reach of the `local` topology: routes join sites with |pos(v) − pos(u)| ≤ radius (space units, > 0). Default 1. */
  radius?: number;
  /**
   * Sequence length S ≥ 1 (0 = no sequence): the sites of every layer but the last are grouped by
   * sequence position, site i of N at position ⌊i·S/N⌋ (N must be a multiple of S), and the targets
   * sit at the last position S − 1 (DESIGN.md §1, `causal`). Positions are then in tokens. Default 0.
   */
  sequence?: number;
  /** Durations per route pair `D ≥ 1` (integer, ticks). Default 4. */
  durations?: number;
  /** Signal speed `c > 0` (space units per tick); `Infinity` means δ(u,v) = 0. Default `Infinity`. */
  speed?: number;
  /**
   * Site positions per layer (space units), `layers[ℓ]` finite numbers each; default the sequence
   * positions when `sequence` > 0, else `i / (N_ℓ − 1)` in [0, 1].
   */
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
  /**
   * Renormalise every hidden layer to unit total amplitude, `a^ℓ ← a^ℓ / Σ_v |a^ℓ_v|` per example
   * (ℓ = 1 … L−1), as the sources are (DESIGN.md §3). Without it amplitudes shrink by about
   * `|Σ_d p e^{−iωd}|` ≪ 1 per layer (uniform routing over D durations sums to 0 at ω = 2π/D) and
   * lattices deeper than two layers do not learn. For a linear lattice it only rescales the target
   * amplitudes by a positive factor per example, i.e. it is an inverse temperature that adapts to
   * the amplitude scale: predictions are unchanged, the gains stay exact derivatives with the
   * factors held at their feed-forward values (README "Deep lattices"). `auto` (the default)
   * renormalises lattices with two or more hidden layers, where raw amplitudes vanish; a single
   * hidden layer trains without it, and with it its effective step starts about Π s ≈ 30× larger
   * (measured: `--shots 10 --batch 4 --epochs 10` 92.5 % raw, 86.9 % renormalised at η = 10).
   */
  renormalize?: boolean | 'auto';
  /**
   * Half-width of the uniform noise of the initial logits θ ∈ [−s, s], 0 … 80. With hidden layers and
   * cancelling duration phasors (the default ω = 2π/D, D > 1) it must be ≥ {@link INIT_SCALE_MIN}.
   * Default 0.1.
   */
  initScale?: number;
  /** Seed of the initial logits and of data shuffling (integer). Default 0. */
  seed?: number;
  /** Kernel backend. Default `auto` (SIMD where supported, else scalar). */
  backend?: BackendChoice;
  /**
   * Threads the SIMD kernels run on (1 … 64), sharing one WebAssembly memory: Node
   * `worker_threads` or Web Workers (browsers: cross-origin isolated pages). Results equal those
   * of 1 up to float rounding (a wide layer's forward pass is summed in one part per thread) and
   * repeat bit for bit for a given count. A runtime choice like `backend`: not saved with the
   * model. Default 1.
   */
  threads?: number;
}

/** {@link FfitOptions} with every default filled in. */
export type ResolvedOptions = Required<Omit<FfitOptions, 'positions' | 'omega' | 'renormalize'>> & {
  positions: number[][] | null;
  omega: number;
  /** `auto` resolved: true when the lattice has ≥ 2 hidden layers. */
  renormalize: boolean;
};

/** Every default in one place (brain.js style); `layers` has none. */
export function defaults(): Omit<ResolvedOptions, 'layers' | 'omega' | 'renormalize'> & { renormalize: boolean | 'auto' } {
  return {
    topology: 'dense',
    radius: 1,
    sequence: 0,
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
    renormalize: 'auto',
    initScale: 0.1,
    seed: 0,
    backend: 'auto',
    threads: 1,
  };
}

const isInt = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x);
const isNum = (x: unknown): x is number => typeof x === 'number' && !Number.isNaN(x);
/** A received value for messages: JSON where it is exact, String() for NaN, ±Infinity and non-JSON values. */
function show(x: unknown): string {
  if (typeof x === 'bigint') return `${x}n (a BigInt; pass a number)`;
  try {
    // messages are built even when a check passes: a long (or sparse, huge) array is not written out
    if (Array.isArray(x) && x.length > 16) return `an array of ${x.length} values`;
  } catch {
    return 'a value that cannot be shown';
  }
  if (typeof x === 'number' || x === undefined) return String(x);
  try {
    return JSON.stringify(x) ?? String(x);
  } catch {
    try {
      return String(x);
    } catch {
      return 'a value that cannot be shown'; // e.g. an array with a throwing getter (messages are built even when a check passes)
    }
  }
}


/** Largest site count per layer and route count per layer that the API accepts before sizing memory. */
export const MAX_SITES = 1 << 24;
/** Most layers of a lattice, sources and targets included: far more than any lattice that learns
 *  (README "Deep lattices" goes to 8 hidden layers; a test checks gains through 64), few enough
 *  that a malformed `layers` array (a huge sparse one) is refused at once instead of being walked. */
export const MAX_LAYERS = 4096;

/**
 * Bounds of the numeric options. Wide enough for any experiment, narrow enough that every quantity
 * the Float32 kernels form stays finite: β·ΔM (|M| ≤ 1), the logit step η·β·gain, ω·t*, the travel
 * phase ω·|Δpos|/c, κ|z| and J·M². Beyond them the kernels would produce ∞ and then NaN.
 * The lower bounds of β and κ keep them what they claim to be, > 0, in Float32 (1e-320 is 0
 * there, and training then does nothing). `epochs` bounds {@link InterferenceNetwork.fit} and the CLI.
 */
export const LIMITS = {
  durations: 1024,
  batchSize: 65536,
  betaMin: 1e-6,
  beta: 1e6,
  eta: 1e12,
  kappaMin: 1e-6,
  kappa: 1e6,
  coupling: 1e6,
  omega: 1e6,
  tStar: 1e9,
  speedMin: 1e-9,
  position: 1e9,
  initScale: 80,
  epochs: 1e6,
} as const;

/**
 * Smallest initScale > 0 accepted for lattices with hidden layers whose uniform routing cancels the
 * duration phasors (ω D a multiple of 2π, e.g. the default ω = 2π/D): W is then the initial noise
 * alone, and smaller noise is lost in Float32 rounding of the softmax and the phasor sum.
 */
export const INIT_SCALE_MIN = 1e-3;

/**
 * Fills defaults and validates every field. Throws `FfitError('E_OPTION')` naming the field, the
 * value received and what is allowed.
 */
export function resolveOptions(options: FfitOptions): ResolvedOptions {
  check(typeof options === 'object' && options !== null, 'Options must be an object with at least `layers`, e.g. { layers: [784, 64, 4] }.');
  // read once: a getter that throws becomes an E_OPTION naming it
  options = plainOptions(options, 'The options', null, '{ layers: [784, 64, 4] }', (key) => `Option "${key}"`) as unknown as FfitOptions;
  const known = new Set([...Object.keys(defaults()), 'layers', 'omega']);
  for (const key of Object.keys(options)) {
    check(known.has(key), `Unknown option "${key}"; known options are ${[...known].sort().join(', ')}.`);
  }
  const d = defaults();
  const o = { ...d, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as Omit<ResolvedOptions, 'renormalize'> & { omega?: number; renormalize: boolean | 'auto' };

  const given = options.layers;
  const length = Array.isArray(given) ? readMember(given, 'length', 'layers', 'pass a plain array of numbers') as number : 0;
  check(Array.isArray(given) && length >= 2,
    `layers must list at least two layer sizes (sources … targets), e.g. [784, 64, 4]; got ${show(given)}.`);
  check(length <= MAX_LAYERS, `layers lists ${length} layer sizes; a lattice has at most ${MAX_LAYERS} layers (${MAX_LAYERS - 1} steps).`);
  // each size read once, by index (a hole, [784, , 4], is a missing size, not one to skip)
  const layers: number[] = [];
  for (let i = 0; i < length; i++) {
    const n = readMember(given, i, `layers[${i}]`, 'pass plain numbers');
    check(isInt(n) && n >= 1 && n <= MAX_SITES, `layers[${i}] must be an integer from 1 to ${MAX_SITES}; got ${i in given ? show(n) : 'nothing (a hole in the array)'}.`);
    layers.push(n);
  }
  check(layers[layers.length - 1]! >= 2, `The last layer holds one target per class and needs at least 2 sites; got ${layers[layers.length - 1]}.`);
  check(o.topology === 'dense' || o.topology === 'causal' || o.topology === 'local',
    `topology must be "dense", "causal" or "local"; got ${show(o.topology)}.`);
  check(isNum(o.radius) && o.radius > 0 && o.radius <= LIMITS.position, `radius must be a number > 0 and ≤ ${LIMITS.position.toExponential().replace('e+', 'e')} (space units); got ${show(o.radius)}.`);
  check(isInt(o.sequence) && o.sequence >= 0 && o.sequence <= MAX_SITES, `sequence must be an integer from 0 to ${MAX_SITES} (0 = no sequence); got ${show(o.sequence)}.`);
  if (o.sequence > 0) {
    layers.slice(0, -1).forEach((n, i) => check(n % o.sequence === 0,
      `With sequence ${o.sequence}, layers[${i}] (${n} sites) must be a multiple of ${o.sequence}: each position holds the same number of sites.`));
  }
  check(o.topology !== 'causal' || o.sequence > 0 || (options.positions !== undefined && options.positions !== null),
    'The causal topology needs sequence positions: set sequence (e.g. 28 for MNIST rows) or positions.');
  check(typeof o.renormalize === 'boolean' || o.renormalize === 'auto', `renormalize must be true, false or "auto"; got ${show(o.renormalize)}.`);
  const L = Object.fromEntries(Object.entries(LIMITS).map(([k, v]) => [k, v >= 1e6 || v < 1e-3 ? v.toExponential().replace('e+', 'e') : String(v)])) as Record<keyof typeof LIMITS, string>;
  check(isInt(o.durations) && o.durations >= 1 && o.durations <= LIMITS.durations, `durations (D) must be an integer from 1 to ${L.durations}; got ${show(o.durations)}.`);
  check(isNum(o.speed) && o.speed >= LIMITS.speedMin, `speed (c) must be a number ≥ ${L.speedMin} (space units per tick) or Infinity (no travel time); got ${show(o.speed)}.`);
  const omega = options.omega ?? (2 * Math.PI) / o.durations;
  check(isNum(omega) && Math.abs(omega) <= LIMITS.omega, `omega must be a number from −${L.omega} to ${L.omega} (radians per tick); got ${show(options.omega)}.`);
  check(isNum(o.tStar) && Math.abs(o.tStar) <= LIMITS.tStar, `tStar must be a number from −${L.tStar} to ${L.tStar} (ticks); got ${show(o.tStar)}.`);
  check(isNum(o.beta) && o.beta >= LIMITS.betaMin && o.beta <= LIMITS.beta, `beta must be a number from ${L.betaMin} to ${L.beta} (inverse temperature); got ${show(o.beta)}.`);
  check(isNum(o.eta) && o.eta >= 0 && o.eta <= LIMITS.eta, `eta must be a number from 0 to ${L.eta} (learning rate); got ${show(o.eta)}.`);
  check(isInt(o.batchSize) && o.batchSize >= 1 && o.batchSize <= LIMITS.batchSize, `batchSize must be an integer from 1 to ${L.batchSize}; got ${show(o.batchSize)}.`);
  check(o.objective === 'boltzmann' || o.objective === 'field', `objective must be "boltzmann" or "field"; got ${show(o.objective)}.`);
  check(o.response === 'linear' || o.response === 'ising', `response must be "linear" or "ising"; got ${show(o.response)}.`);
  check(isNum(o.kappa) && o.kappa >= LIMITS.kappaMin && o.kappa <= LIMITS.kappa, `kappa must be a number from ${L.kappaMin} to ${L.kappa}; got ${show(o.kappa)}.`);
  check(isNum(o.coupling) && o.coupling >= 0 && o.coupling <= LIMITS.coupling, `coupling (J) must be a number from 0 to ${L.coupling}; got ${show(o.coupling)}.`);
  check(isNum(o.initScale) && o.initScale >= 0 && o.initScale <= LIMITS.initScale,
    `initScale must be a number from 0 to ${L.initScale}; got ${show(o.initScale)}.`);
  check(isInt(o.seed) && Math.abs(o.seed) <= 2 ** 31 - 1, `seed must be an integer in ±(2^31 − 1); got ${show(o.seed)}.`);
  // Uniform routing sums the duration phasors to |Σ_d e^{−iωd}| / D; where that vanishes every W
  // is 0, no signal reaches a hidden site, and the gains of a hidden lattice stay 0 forever.
  let re = 0, im = 0;
  for (let d = 0; d < o.durations; d++) {
    const [c, sn] = unitPhasor(omega * d);
    re += c;
    im -= sn;
  }
  const cancel = layers.length > 2 && Math.hypot(re, im) < 1e-6 * o.durations;
  check(!(cancel && o.initScale === 0),
    `initScale 0 gives uniform routing, whose ${o.durations} duration phasors cancel (W = 0): a lattice with hidden layers ` +
    'would never learn. Use initScale > 0 (default 0.1), or a single layer.');
  // With the phasors cancelling, W is the initial noise alone; Float32 resolves p only to 2^-24 relative
  // (below about 3e-8 the noise rounds away entirely), so tiny noise leaves W as rounding residue that
  // differs from backend to backend (measured: 0.02–0.2 % of the target moments at 1e-3, 0.2–3 % at 1e-4).
  check(!(cancel && o.initScale > 0 && o.initScale < INIT_SCALE_MIN),
    `initScale ${show(o.initScale)} is too small for a lattice with hidden layers: uniform routing's ${o.durations} duration phasors ` +
    `cancel, so W is made of the initial noise alone, and Float32 resolves noise below ${INIT_SCALE_MIN} too coarsely: W would be ` +
    `rounding residue that differs between backends. Use initScale ≥ ${INIT_SCALE_MIN} (default 0.1), or a single layer.`);
  check(BACKENDS.includes(o.backend), `backend must be one of ${BACKENDS.join(', ')}; got ${show(o.backend)}.`);
  check(isInt(o.threads) && o.threads >= 1 && o.threads <= 64, `threads must be an integer from 1 to 64; got ${show(o.threads)}.`);
  check(o.threads === 1 || o.backend === 'simd' || o.backend === 'auto',
    `threads > 1 runs the SIMD kernels; backend "${o.backend}" runs on one thread (use backend "simd" or "auto", or threads: 1).`);

  let positions: number[][] | null = null;
  if (options.positions !== undefined && options.positions !== null) {
    check(Array.isArray(options.positions) && options.positions.length === layers.length,
      `positions must hold one array per layer (${layers.length}); got ${Array.isArray(options.positions) ? options.positions.length : typeof options.positions}.`);
    positions = options.positions.map((row, l) => {
      check(Array.isArray(row) && row.length === layers[l], `positions[${l}] must hold ${layers[l]} numbers, one per site.`);
      row.forEach((x, i) => check(isNum(x) && Math.abs(x) <= LIMITS.position, `positions[${l}][${i}] must be a number from −${L.position} to ${L.position} (space units); got ${show(x)}.`));
      return [...row];
    });
  }
  // ≥ 2 hidden layers: raw amplitudes shrink too far to learn (README "Deep lattices")
  const renormalize = o.renormalize === 'auto' ? layers.length > 3 : o.renormalize;
  return { ...o, layers: [...layers], positions, omega, renormalize };
}

/**
 * Site positions of layer ℓ (DESIGN.md §1): the given ones; else with `sequence` S the position
 * ⌊i·S/N⌋ of site i (targets: S − 1); else `i / (N − 1)` spread over [0, 1] (0.5 for one site).
 */
export function sitePositions(o: ResolvedOptions, layer: number): number[] {
  checkResolved(o, 'sitePositions');
  checkLayerIndex(o, layer, o.layers.length - 1, 'sitePositions');
  if (o.positions) return o.positions[layer]!;
  const n = o.layers[layer]!, S = o.sequence;
  if (S > 0) return Array.from({ length: n }, (_, i) => (layer === o.layers.length - 1 ? S - 1 : Math.floor((i * S) / n)));
  return Array.from({ length: n }, (_, i) => (n === 1 ? 0.5 : i / (n - 1)));
}

/**
 * Throws `E_OPTION` unless `o` is what {@link resolveOptions} returns (a `layers` array of site
 * counts and a topology); `fn` names the caller.
 */
export function checkResolved(o: unknown, fn: string): asserts o is ResolvedOptions {
  const r = o as Partial<ResolvedOptions> | null;
  check(typeof r === 'object' && r !== null && Array.isArray(r.layers) && r.layers.length >= 2 && r.layers.every(isInt) &&
    typeof r.topology === 'string' && typeof r.sequence === 'number',
    `${fn}: pass the options that resolveOptions returns (or network.options); got ${show(o)}.`);
}

/** Throws `E_OPTION` unless `layer` is an integer from 0 to `last`; `fn` names the caller. */
export function checkLayerIndex(o: ResolvedOptions, layer: number, last: number, fn: string): void {
  check(isInt(layer) && layer >= 0 && layer <= last,
    `${fn}: the layer index must be an integer from 0 to ${last} (the lattice ${o.layers.join('→')}); got ${show(layer)}.`);
}
