/**
 * The strongest worldlines of one example (DESIGN.md §1, §3): chains of routes from a source site
 * to one target, ranked by the amplitude they carry, `a⁰_i · Π p(r)`. Their phasors
 * `a⁰_i Π p(r) e^{−iωτ}` summed over all worldlines give the target's amplitude of the linear
 * lattice, so the top ones show which pixels, hidden sites and durations the answer rides on.
 *
 * Exact top-K by dynamic programming over the layers: the weight is a product of non-negative
 * factors, so the best K worldlines to a site extend the best K to the sites before it.
 * Cost `Σ_ℓ N_ℓ N_{ℓ+1} D K` multiply-compares for one example (visualisation, not training).
 */

/** One worldline: site index per layer (source … target), the duration taken on each route. */
export interface Worldline {
  /** `sites[ℓ]` is the site in layer ℓ, ℓ = 0 … L. */
  sites: number[];
  /** `durations[ℓ]` ∈ 0 … D−1 is the duration index of the route from layer ℓ to ℓ+1. */
  durations: number[];
  /** `a⁰_i · Π p(r)`, the amplitude it carries, ≥ 0. */
  weight: number;
  /** Total duration τ in ticks, travel time included. */
  tau: number;
  /** Its share of the target's moment, `weight · cos(ω (t* − τ))` (may be negative: destructive). */
  moment: number;
}

/** The lattice as {@link strongestWorldlines} needs it. */
export interface WorldlineLattice {
  /** Sites per layer `N_0 … N_L`. */
  layers: readonly number[];
  /** Durations per route D. */
  durations: number;
  /** ω in radians per tick, t* in ticks, signal speed c (Infinity: no travel time). */
  omega: number;
  tStar: number;
  speed: number;
  /** Site positions per layer (only used when `speed` is finite). */
  positions: readonly (readonly number[])[];
  /** Route probabilities per layer, `N_ℓ × N_{ℓ+1} × D`. */
  probabilities: readonly Float32Array[];
}

interface Partial {
  weight: number;
  tau: number;
  /** Site in the previous layer and the index of its partial there, −1 in layer 0. */
  from: number;
  fromRank: number;
  d: number;
}

/**
 * The `count` worldlines carrying the most amplitude from the sources `a0` (length `N_0`, ≥ 0;
 * normalise to unit sum to match the network) to `target`, strongest first. Ties keep the lower
 * site and duration first. Throws `RangeError` for a target or count out of range.
 */
export function strongestWorldlines(lattice: WorldlineLattice, a0: ArrayLike<number>, target: number, count: number): Worldline[] {
  const { layers, durations: D, omega, tStar, speed, positions, probabilities } = lattice;
  const L = layers.length - 1;
  if (!(Number.isInteger(target) && target >= 0 && target < layers[L]!)) throw new RangeError(`target must be 0 … ${layers[L]! - 1}`);
  if (!(Number.isInteger(count) && count >= 1)) throw new RangeError('count must be an integer ≥ 1');
  const K = count;
  let beams: Partial[][] = Array.from({ length: layers[0]! }, (_, i) =>
    a0[i]! > 0 ? [{ weight: a0[i]!, tau: 0, from: -1, fromRank: -1, d: -1 }] : []);
  const history: Partial[][][] = [beams];
  for (let l = 0; l < L; l++) {
    const nIn = layers[l]!, nOut = layers[l + 1]!, p = probabilities[l]!;
    const travel = (u: number, v: number): number =>
      Number.isFinite(speed) ? Math.abs(positions[l + 1]![v]! - positions[l]![u]!) / speed : 0;
    const next: Partial[][] = Array.from({ length: nOut }, () => []);
    const targets = l === L - 1 ? [target] : Array.from({ length: nOut }, (_, v) => v);
    for (const v of targets) {
      const best = next[v]!;
      for (let u = 0; u < nIn; u++) {
        const here = beams[u]!;
        if (here.length === 0) continue;
        const dt = travel(u, v);
        for (let d = 0; d < D; d++) {
          const pr = p[(u * nOut + v) * D + d]!;
          for (let r = 0; r < here.length; r++) {
            const w = here[r]!.weight * pr;
            if (best.length === K && w <= best[K - 1]!.weight) break; // `here` is sorted: the rest are weaker
            insert(best, { weight: w, tau: here[r]!.tau + dt + d, from: u, fromRank: r, d }, K);
          }
        }
      }
    }
    beams = next;
    history.push(beams);
  }
  const cosT = (tau: number): number => Math.cos(omega * (tStar - tau));
  return beams[target]!.map((end) => {
    const sites = new Array<number>(L + 1), ds = new Array<number>(L);
    sites[L] = target;
    let node = end;
    for (let l = L; l > 0; l--) {
      ds[l - 1] = node.d;
      sites[l - 1] = node.from;
      node = history[l - 1]![node.from]![node.fromRank]!;
    }
    return { sites, durations: ds, weight: end.weight, tau: end.tau, moment: end.weight * cosT(end.tau) };
  });
}

/** Inserts `item` into `list` (sorted by weight, descending; equal weights keep arrival order), capped at `k`. */
function insert(list: Partial[], item: Partial, k: number): void {
  let i = list.length;
  while (i > 0 && list[i - 1]!.weight < item.weight) i--;
  if (i >= k) return;
  list.splice(i, 0, item);
  if (list.length > k) list.pop();
}
