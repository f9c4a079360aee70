import { check } from './errors.js';
import { sitePositions, type ResolvedOptions } from './options.js';

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
  if (o.topology === 'causal') return pv >= pu - EPS;
  if (o.topology === 'local') return Math.abs(pv - pu) <= o.radius + EPS;
  return true;
}

/**
 * The route table of layer ℓ (`N_ℓ × N_{ℓ+1}` candidate pairs, kept when {@link connected}); for
 * `dense` every pair, in the row-major order of the dense logits. Building it takes
 * `O(N_ℓ N_{ℓ+1})` time once, storing it `O(routes)`. Throws `E_OPTION` when a site of layer ℓ has
 * no route (flow could not leave it), naming the site and the fix.
 */
export function buildRoutes(o: ResolvedOptions, layer: number): RouteTable {
  const nIn = o.layers[layer]!, nOut = o.layers[layer + 1]!;
  const pu = sitePositions(o, layer), pv = sitePositions(o, layer + 1);
  const offsets = new Int32Array(nIn + 1);
  let targets = new Int32Array(Math.min(nIn * nOut, 1 << 16));
  let count = 0;
  for (let u = 0; u < nIn; u++) {
    for (let v = 0; v < nOut; v++) {
      if (!connected(o, pu[u]!, pv[v]!)) continue;
      if (count === targets.length) {
        const grown = new Int32Array(Math.min(nIn * nOut, 2 * targets.length));
        grown.set(targets);
        targets = grown;
      }
      targets[count++] = v;
    }
    check(count > offsets[u]!,
      `Site ${u} of layer ${layer} (position ${pu[u]}) has no route to layer ${layer + 1} under topology "${o.topology}"` +
      (o.topology === 'local' ? `; increase radius (now ${o.radius}) or move the sites.` : '; every site needs a same-or-later position in the next layer.'));
    offsets[u + 1] = count;
  }
  return { offsets, targets: targets.slice(0, count), count };
}

/** Number of routes of every layer, without keeping the tables (for memory checks). */
export function routeCounts(o: ResolvedOptions): number[] {
  return o.layers.slice(1).map((_, l) => (o.topology === 'dense' ? o.layers[l]! * o.layers[l + 1]! : buildRoutes(o, l).count));
}
