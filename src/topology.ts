import { FfitError, check } from './errors.js';
import { checkLayerIndex, checkResolved, sitePositions, type ResolvedOptions } from './options.js';

/**
 * The routes of one layer in compressed sparse rows (DESIGN.md §1): the next-layer sites reached
 * from site `u` are `targets[offsets[u] … offsets[u+1] − 1]`, strictly ascending, at least one per
 * site. Route `j` of the layer owns the logits `θ[j·D … j·D + D − 1]`. `offsets` has `N_ℓ + 1`
 * entries, `targets` has `count` entries (the number of site pairs with routes).
 */
export interface RouteTable {
  offsets: Int32Array;
  targets: Int32Array;
  count: number;
}

/** Position tolerance of the causal and local rules (positions are user numbers; avoid 0.1 + 0.2 surprises). */
const EPS = 1e-9;

/**
 * Whether `u` (at `pu`) reaches `v` (at `pv`) under the lattice's topology (DESIGN.md §1):
 * `dense` always; `causal` when `pv ≥ pu` (the causal mask, a light cone in sequence order);
 * `local` when `|pv − pu| ≤ radius`.
 */
export function connected(o: ResolvedOptions, pu: number, pv: number): boolean {
  checkResolved(o, 'connected');
  check(Number.isFinite(pu) && Number.isFinite(pv), `connected: positions must be finite numbers (space units); got ${String(pu)} and ${String(pv)}.`);
  if (o.topology === 'causal') return pv >= pu - EPS;
  if (o.topology === 'local') return Math.abs(pv - pu) <= o.radius + EPS;
  return true;
}

/** Positions of one layer: `at(k)` the k-th smallest, `site(k)` the site holding it. */
interface Sorted {
  n: number;
  at(k: number): number;
  site(k: number): number;
  /** Whether sites are already in ascending position order (site(k) = k). */
  ordered: boolean;
}

/**
 * The positions of layer ℓ in ascending order. The default positions (DESIGN.md §1: sequence
 * positions ⌊i·S/N⌋, or i/(N−1)) ascend with the site index and are computed, not stored, so that
 * sizing a huge layer costs no memory; given positions are sorted once (O(N log N)).
 */
function sortedPositions(o: ResolvedOptions, layer: number): Sorted {
  const n = o.layers[layer]!, S = o.sequence;
  if (!o.positions) {
    const last = layer === o.layers.length - 1;
    const at = S > 0 ? (k: number) => (last ? S - 1 : Math.floor((k * S) / n)) : (k: number) => (n === 1 ? 0.5 : k / (n - 1));
    return { n, at, site: (k) => k, ordered: true };
  }
  const pos = o.positions[layer]!;
  let ordered = true;
  for (let i = 1; i < n && ordered; i++) ordered = pos[i - 1]! <= pos[i]!;
  if (ordered) return { n, at: (k) => pos[k]!, site: (k) => k, ordered };
  const order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => pos[a]! - pos[b]! || a - b);
  return { n, at: (k) => pos[order[k]!]!, site: (k) => order[k]!, ordered };
}

/** The first k in [0, n) with `pred(at(k))` true, for a predicate false then true along ascending positions (n if none). */
function firstWhere(s: Sorted, pred: (p: number) => boolean): number {
  let lo = 0, hi = s.n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pred(s.at(mid))) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * The ranks [lo, hi) of the next-layer sites that a site at `pu` reaches: under every topology they
 * are one run of the ascending positions, found by binary search with exactly the comparisons of
 * {@link connected} (floating-point subtraction is monotone, so the run is exact).
 */
function reach(o: ResolvedOptions, pu: number, next: Sorted): [number, number] {
  if (o.topology === 'causal') return [firstWhere(next, (pv) => pv >= pu - EPS), next.n];
  if (o.topology === 'local') {
    const r = o.radius + EPS;
    return [firstWhere(next, (pv) => pv - pu >= -r), firstWhere(next, (pv) => pv - pu > r)];
  }
  return [0, next.n];
}

/** Throws the `E_OPTION` of a site without routes (flow could not leave it). */
function noRoute(o: ResolvedOptions, layer: number, u: number, pu: number): never {
  throw new FfitError('E_OPTION',
    `Site ${u} of layer ${layer} (position ${pu}) has no route to layer ${layer + 1} under topology "${o.topology}"` +
    (o.topology === 'local' ? `; increase radius (now ${o.radius}) or move the sites.` : '; every site needs a same-or-later position in the next layer.'));
}

/** Site positions of layer ℓ in site order, computed on demand for the defaults. */
function positionOf(o: ResolvedOptions, layer: number): (u: number) => number {
  if (o.positions) {
    const pos = o.positions[layer]!;
    return (u) => pos[u]!;
  }
  const s = sortedPositions(o, layer);
  return (u) => s.at(u);
}

/**
 * Number of routes of layer ℓ (`N_ℓ N_{ℓ+1}` for `dense`), counted without building the table: a
 * binary search per site, `O((N_ℓ + N_{ℓ+1}) log N_{ℓ+1})` time and no memory beyond sorting given
 * positions. The count may exceed 2³¹ (it is what memory checks need before anything is built).
 * Throws `E_OPTION` when a site of layer ℓ has no route, like {@link buildRoutes}.
 */
export function countRoutes(o: ResolvedOptions, layer: number): number {
  const nIn = o.layers[layer]!, nOut = o.layers[layer + 1]!;
  if (o.topology === 'dense') return nIn * nOut;
  const next = sortedPositions(o, layer + 1), pos = positionOf(o, layer);
  let count = 0, last = NaN, lo = 0, hi = 0;
  for (let u = 0; u < nIn; u++) {
    const pu = pos(u);
    if (pu !== last) [lo, hi] = reach(o, pu, next); // sites of one sequence position share their routes
    last = pu;
    if (hi <= lo) noRoute(o, layer, u, pu);
    count += hi - lo;
  }
  return count;
}

/** Number of routes of every layer, without building the tables (for memory checks). */
export function routeCounts(o: ResolvedOptions): number[] {
  return o.layers.slice(1).map((_, l) => countRoutes(o, l));
}

/**
 * The route table of layer ℓ (the pairs {@link connected} keeps); for `dense` every pair, in the
 * row-major order of the dense logits. Costs `O(routes + N_ℓ log N_{ℓ+1})` time (each site's routes
 * are one run of the sorted next-layer positions) and `O(routes)` memory. Throws `E_OPTION` when a
 * site of layer ℓ has no route (flow could not leave it), naming the site and the fix; `E_MEMORY`
 * when the layer has 2³¹ routes or more (Int32 offsets; far beyond WebAssembly memory anyway).
 */
export function buildRoutes(o: ResolvedOptions, layer: number): RouteTable {
  checkResolved(o, 'buildRoutes');
  checkLayerIndex(o, layer, o.layers.length - 2, 'buildRoutes');
  const nIn = o.layers[layer]!, nOut = o.layers[layer + 1]!;
  const count = countRoutes(o, layer);
  check(count < 2 ** 31, `Layer ${layer} has ${count} routes, more than a route table can index (2^31 − 1); use fewer sites.`, 'E_MEMORY');
  const offsets = new Int32Array(nIn + 1), targets = new Int32Array(count);
  if (o.topology === 'dense') {
    for (let u = 0; u < nIn; u++) {
      offsets[u + 1] = (u + 1) * nOut;
      for (let v = 0; v < nOut; v++) targets[u * nOut + v] = v;
    }
    return { offsets, targets, count };
  }
  const next = sortedPositions(o, layer + 1), pos = positionOf(o, layer);
  let j = 0;
  for (let u = 0; u < nIn; u++) {
    const [lo, hi] = reach(o, pos(u), next);
    for (let k = lo; k < hi; k++) targets[j++] = next.site(k);
    if (!next.ordered) targets.subarray(offsets[u]!, j).sort();
    offsets[u + 1] = j;
  }
  return { offsets, targets, count };
}
