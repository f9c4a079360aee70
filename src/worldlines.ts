/**
 * Worldline tools: look inside a lattice the way the paper draws it (DESIGN.md §1, §3, §4).
 * Counting and best-first enumeration walk the route tables of {@link InterferenceNetwork.routes};
 * the arrival-time distribution and the source-resolved meetings run in the network's WebAssembly
 * kernels ({@link InterferenceNetwork.arrivalTimes}, {@link InterferenceNetwork.meetings}).
 * Browser-safe.
 */
import FlatQueue from 'flatqueue';
import { FfitError, check } from './errors.js';
import type { Images, InterferenceNetwork } from './network.js';
import { sitePositions } from './options.js';
import { describe, imageCount, plainOptions, sourceProblem } from './validate.js';
import { unitPhasor } from './phase.js';

/** A site of the lattice: layer ℓ (0 = sources … L = targets) and index within the layer. */
export interface SiteRef {
  layer: number;
  site: number;
}

/** One worldline from a source (layer 0) to a target (layer L). */
export interface Worldline {
  /** Site at every layer 0 … L (`sites[0]` the source, `sites[L]` the target). */
  sites: number[];
  /** Duration d ∈ 0 … D−1 chosen on each of the L routes (ticks). */
  durations: number[];
  /** Total duration τ = Σ (δ + d), ticks (travel time δ = |Δpos|/c included). */
  tau: number;
  /** Phase −ωτ picked up on the way, radians, wrapped to (−π, π]. */
  phase: number;
  /** Product of the route probabilities, in (0, 1]. */
  probability: number;
  /** Source amplitude × probability, a⁰_i Π p (equals `probability` when no image is given). */
  weight: number;
}

/** Checks a site reference and returns a plain copy of it (read once). */
function checkSite(net: InterferenceNetwork, site: SiteRef, name: string): SiteRef {
  const ref = plainOptions(site, name, ['layer', 'site'], '{ layer: 0, site: 3 }') as unknown as SiteRef;
  const sizes = net.options.layers;
  check(Number.isInteger(ref.layer) && ref.layer >= 0 && ref.layer < sizes.length,
    `${name}.layer must be an integer from 0 to ${sizes.length - 1}; got ${JSON.stringify(ref.layer)}.`);
  check(Number.isInteger(ref.site) && ref.site >= 0 && ref.site < sizes[ref.layer]!,
    `${name}.site must be an integer from 0 to ${sizes[ref.layer]! - 1} (layer ${ref.layer}); got ${JSON.stringify(ref.site)}.`);
  return ref;
}

/** Refuses anything but a network (e.g. `{}` passed by mistake) with `E_OPTION` instead of a
 *  TypeError. By shape, not `instanceof`: a network from another copy of the bundle is one too. */
function checkNetwork(net: unknown, fn: string): asserts net is InterferenceNetwork {
  const n = net as Partial<InterferenceNetwork> | null;
  check(typeof n === 'object' && n !== null && typeof n.routes === 'function' && typeof n.options === 'object',
    `${fn}: the first argument must be an InterferenceNetwork; got ${describe(net)}.`);
}

/**
 * The exact number of worldlines (chains of routes, each route one (u → v, d), DESIGN.md §1) from
 * site `from` to site `to` in a later layer, counted layer by layer over the route tables:
 * `O(routes)` big-integer additions, never enumeration. Dense: `D^m Π N` of the layers between;
 * causal with one site per position i → j over m routes: `D^m · C(j − i + m − 1, m − 1)`.
 * 0 when `to` cannot be reached (e.g. earlier in the sequence); 1 when `from` = `to`.
 * Throws `E_OPTION` for a site that is not `{ layer, site }` inside the lattice or `to.layer < from.layer`;
 * `E_DISPOSED` after `dispose()`.
 */
export function countWorldlines(net: InterferenceNetwork, from: SiteRef, to: SiteRef): bigint {
  checkNetwork(net, 'countWorldlines');
  void net.backendName; // E_DISPOSED after dispose(), even where no route table is read
  from = checkSite(net, from, 'from');
  to = checkSite(net, to, 'to');
  check(to.layer >= from.layer, `to.layer (${to.layer}) must not be earlier than from.layer (${from.layer}): worldlines run forward in time.`);
  const D = BigInt(net.options.durations);
  let count: bigint[] = new Array<bigint>(net.options.layers[from.layer]!).fill(0n);
  count[from.site] = 1n;
  for (let l = from.layer; l < to.layer; l++) {
    const { offsets, targets } = net.routes(l);
    const next = new Array<bigint>(net.options.layers[l + 1]!).fill(0n);
    for (let u = 0; u < count.length; u++) {
      const c = count[u]!;
      if (c === 0n) continue;
      for (let j = offsets[u]!; j < offsets[u + 1]!; j++) next[targets[j]!] = next[targets[j]!]! + c * D;
    }
    count = next;
  }
  return count[to.site]!;
}

/** Options of {@link topWorldlines}. */
export interface TopOptions {
  /** Target site k (0 … C−1). */
  target: number;
  /** How many worldlines (integer ≥ 1; at most 10⁶ and what {@link TOP_SEARCH_BYTES} allows). Default 10. */
  k?: number;
  /** Only worldlines from this source site; default every source (weighted by `image` if given). */
  source?: number;
  /** An image (N_0 values ≥ 0, not all 0): worldlines are ranked by a⁰_i Π p, dark sources skipped. */
  image?: Images;
  /** Memory budget of the search in bytes (≥ 1 MiB). Default {@link TOP_SEARCH_BYTES}. */
  maxBytes?: number;
}

/**
 * Memory (bytes) the search of {@link topWorldlines} may hold, beyond its copy of the route
 * probabilities: a K whose search could need more is refused before anything is allocated.
 */
export const TOP_SEARCH_BYTES = 256 * 2 ** 20;
/** One search node: six typed-array fields with doubling slack, and a frontier entry. */
const NODE_BYTES = 64;
/** One returned worldline of L routes (object, `sites`, `durations`). */
const resultBytes = (L: number): number => 200 + 16 * L;

/** Parent-linked partial worldlines (struct of typed arrays, grown by doubling). */
class Nodes {
  length = 0;
  parent = new Int32Array(64);
  layer = new Int32Array(64);
  site = new Int32Array(64);
  /** Route·D + duration taken from the parent's layer (−1 for a source). */
  code = new Int32Array(64);
  /** Index in the parent's child order (in the source order for a source). */
  rank = new Int32Array(64);
  /** Log-weight of the best complete worldline through the node (A* priority, exact). */
  f = new Float64Array(64);

  add(parent: number, layer: number, site: number, code: number, rank: number, f: number): number {
    if (this.length === this.f.length) {
      const grow = <T extends Int32Array | Float64Array>(a: T): T => {
        const b = new (a.constructor as new (n: number) => T)(2 * a.length);
        b.set(a);
        return b;
      };
      this.parent = grow(this.parent); this.layer = grow(this.layer); this.site = grow(this.site);
      this.code = grow(this.code); this.rank = grow(this.rank); this.f = grow(this.f);
    }
    const n = this.length++;
    this.parent[n] = parent; this.layer[n] = layer; this.site[n] = site; this.code[n] = code; this.rank[n] = rank; this.f[n] = f;
    return n;
  }
}

/**
 * The K most probable worldlines into target `target` (DESIGN.md §1), best first, without listing
 * them all. A* over partial worldlines whose priority f is the log-weight of the best completion
 * (exact: a max-product pass backwards over the route tables). Each site's (route, duration)
 * choices are sorted once by f, and a node enters the frontier only when its previous sibling
 * leaves it; a popped node descends straight along best choices (f does not change on the way, so
 * the completion beats the whole frontier) and yields one worldline. So K worldlines cost exactly K
 * pops and at most K·(2L + 1) nodes, whatever D and the layer sizes, and memory is known up
 * front: a K whose search could need more than `maxBytes` (default {@link TOP_SEARCH_BYTES}) is
 * refused, naming the largest K that fits. Ties come out in a fixed order.
 *
 * Throws `E_OPTION` for missing options, a bad target, source or K (the message names the largest
 * K this lattice allows); `E_SHAPE` unless `image` is one image; `E_INPUT` for an image that cannot
 * be a source (negative, NaN, non-numeric, all zero, as everywhere else); `E_DISPOSED`.
 */
export function topWorldlines(net: InterferenceNetwork, options: TopOptions): Worldline[] {
  checkNetwork(net, 'topWorldlines');
  options = plainOptions(options, 'topWorldlines options', ['target', 'k', 'source', 'image', 'maxBytes'], '{ target: 0, k: 10 }') as unknown as TopOptions;
  const o = net.options, sizes = o.layers, L = sizes.length - 1, D = o.durations, C = sizes[L]!;
  const { target, k = 10, source, image, maxBytes = TOP_SEARCH_BYTES } = options;
  check(Number.isInteger(target) && target >= 0 && target < C, `target must be an integer from 0 to ${C - 1}; got ${describe(target)}.`);
  check(Number.isInteger(k) && k >= 1 && k <= 1e6, `k must be an integer from 1 to 1000000; got ${describe(k)}.`);
  check(typeof maxBytes === 'number' && maxBytes >= 2 ** 20, `maxBytes must be a number of bytes ≥ 1 MiB (1048576); got ${describe(maxBytes)}.`);
  if (source !== undefined) checkSite(net, { layer: 0, site: source }, 'source');
  let a0: Float64Array | null = null;
  if (image !== undefined) {
    check(imageCount(image, sizes[0]!) === 1, `image must hold ${sizes[0]} values (one image); got ${(image as ArrayLike<number>).length}.`, 'E_SHAPE');
    const problem = sourceProblem(image);
    if (problem !== null) throw new FfitError('E_INPUT', `The image cannot be a source: ${problem}.`);
    let total = 0;
    for (let i = 0; i < sizes[0]!; i++) total += Number(image[i]);
    a0 = Float64Array.from({ length: sizes[0]! }, (_, i) => Number(image[i]) / total);
  }
  const routes = sizes.slice(1).map((_, l) => net.routes(l));

  // memory of the search for k worldlines: nodes and results grow with k; sorted choice lists
  // (4 bytes per route and duration) with the sites expanded, at most one per layer and pop
  let rowBytes = 0, allRows = 0;
  routes.forEach(({ offsets, count }, l) => {
    let widest = 0;
    for (let u = 0; u < sizes[l]!; u++) widest = Math.max(widest, offsets[u + 1]! - offsets[u]!);
    rowBytes += widest * D * 4;
    allRows += count * D * 4;
  });
  const fixed = 20 * sizes.reduce((s, n) => s + n, 0);
  const need = (K: number): number => fixed + K * ((2 * L + 1) * NODE_BYTES + resultBytes(L)) + Math.min(K * rowBytes, allRows);
  if (need(k) > maxBytes) {
    let lo = 0, hi = k; // largest K with need(K) ≤ budget
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (need(mid) <= maxBytes) lo = mid; else hi = mid - 1;
    }
    const mib = (b: number) => `${Math.ceil(b / 2 ** 20)} MiB`;
    throw new FfitError('E_OPTION', `k = ${k} worldlines would need up to ${mib(need(k))} to search on this ${L}-layer lattice with D = ${D}, ` +
      `more than the ${mib(maxBytes)} allowed; ` + (lo >= 1 ? `ask for at most ${lo}.` : 'this lattice is too large to search.'));
  }

  const prob = sizes.slice(1).map((_, l) => net.probabilities(l));
  const pos = Number.isFinite(o.speed) ? sizes.map((_, l) => sitePositions(o, l)) : null;
  // best[l][u]: the largest log-probability of any worldline from (l, u) to the target
  const best: Float64Array[] = new Array(L + 1);
  best[L] = new Float64Array(C).fill(-Infinity);
  best[L]![target] = 0;
  for (let l = L - 1; l >= 0; l--) {
    const { offsets, targets } = routes[l]!, p = prob[l]!, up = best[l + 1]!;
    const row = new Float64Array(sizes[l]!).fill(-Infinity);
    for (let u = 0; u < sizes[l]!; u++) {
      for (let j = offsets[u]!; j < offsets[u + 1]!; j++) {
        const rest = up[targets[j]!]!;
        if (rest === -Infinity) continue;
        for (let d = 0; d < D; d++) row[u] = Math.max(row[u]!, Math.log(p[j * D + d]!) + rest);
      }
    }
    best[l] = row;
  }
  // the value by which a choice's completion falls short of the site's best (≤ 0; exactly 0 for the first)
  const gain = (l: number, u: number, c: number): number =>
    Math.log(prob[l]![c]!) + best[l + 1]![routes[l]!.targets[Math.floor(c / D)]!]! - best[l]![u]!;
  const sorted = (codes: number[], key: (c: number) => number): Int32Array => {
    const keys = Float64Array.from(codes, key), idx = Array.from(codes, (_, i) => i);
    idx.sort((a, b) => keys[b]! - keys[a]! || codes[a]! - codes[b]!);
    return Int32Array.from(idx, (i) => codes[i]!);
  };
  // each site's (route, duration) choices that reach the target, best completion first; built when first expanded
  const choices = sizes.slice(0, L).map(() => new Map<number, Int32Array>());
  const choicesOf = (l: number, u: number): Int32Array => {
    let list = choices[l]!.get(u);
    if (!list) {
      const { offsets, targets } = routes[l]!, p = prob[l]!, up = best[l + 1]!, codes: number[] = [];
      for (let j = offsets[u]!; j < offsets[u + 1]!; j++) {
        if (up[targets[j]!] === -Infinity) continue;
        for (let d = 0; d < D; d++) if (p[j * D + d]! > 0) codes.push(j * D + d);
      }
      list = sorted(codes, (c) => gain(l, u, c));
      choices[l]!.set(u, list);
    }
    return list;
  };
  // sources by log a⁰ + best completion; dark or unconnected sources never start a worldline
  const rootF = (i: number): number => Math.log(a0 ? a0[i]! : 1) + best[0]![i]!;
  const rootCodes: number[] = [];
  for (let i = 0; i < sizes[0]!; i++) {
    if ((source === undefined || i === source) && (a0 === null || a0[i]! > 0) && best[0]![i]! > -Infinity) rootCodes.push(i);
  }
  const roots = sorted(rootCodes, rootF);

  const nodes = new Nodes();
  const queue = new FlatQueue<number>();
  const enqueue = (n: number): void => queue.push(n, -nodes.f[n]!);
  /** The node after `n` among its parent's choices (or among the sources), queued; none past the end. */
  const nextSibling = (n: number): void => {
    const par = nodes.parent[n]!, r = nodes.rank[n]! + 1;
    if (par < 0) {
      if (r < roots.length) enqueue(nodes.add(-1, 0, roots[r]!, -1, r, rootF(roots[r]!)));
      return;
    }
    const l = nodes.layer[par]!, u = nodes.site[par]!, list = choicesOf(l, u);
    if (r >= list.length) return;
    const c = list[r]!;
    enqueue(nodes.add(par, l + 1, routes[l]!.targets[Math.floor(c / D)]!, c, r, nodes.f[par]! + gain(l, u, c)));
  };
  if (roots.length > 0) enqueue(nodes.add(-1, 0, roots[0]!, -1, 0, rootF(roots[0]!)));
  const out: Worldline[] = [];
  while (out.length < k && queue.length > 0) {
    let n = queue.pop()!;
    nextSibling(n);
    for (let l = nodes.layer[n]!; l < L; l++) {
      const u = nodes.site[n]!, c = choicesOf(l, u)[0]!;
      n = nodes.add(n, l + 1, routes[l]!.targets[Math.floor(c / D)]!, c, 0, nodes.f[n]!);
      nextSibling(n);
    }
    const sites = new Array<number>(L + 1), durations = new Array<number>(L);
    let probability = 1;
    for (let m = n, l = L; m >= 0; m = nodes.parent[m]!, l--) {
      sites[l] = nodes.site[m]!;
      if (l > 0) {
        durations[l - 1] = nodes.code[m]! % D;
        probability *= prob[l - 1]![nodes.code[m]!]!;
      }
    }
    let tau = 0;
    for (let h = 0; h < L; h++) tau += (pos ? Math.abs(pos[h + 1]![sites[h + 1]!]! - pos[h]![sites[h]!]!) / o.speed : 0) + durations[h]!;
    let phase = -o.omega * tau;
    phase -= 2 * Math.PI * Math.round(phase / (2 * Math.PI));
    if (phase <= -Math.PI) phase += 2 * Math.PI;
    out.push({ sites, durations, tau, phase, probability, weight: a0 ? a0[sites[0]!]! * probability : probability });
  }
  return out;
}

/** E(t) of {@link energyOverPeriod}. */
export interface EnergyCycle {
  /**
   * Period 2π/|ω|, ticks; `Infinity` when ω = 0 (or so small that 2π/ω overflows): the sources do
   * not oscillate, every route has phase 0 (the no-interference baseline) and E(t) is constant.
   */
  period: number;
  /** Ticks spanned by the samples: one period; `samples` ticks (one per tick) when the period is infinite. */
  window: number;
  /** Label whose field h acts on the targets (given, or the predicted class). */
  label: number;
  /** Sample instants t_s = s·window/samples, ticks. */
  t: Float64Array;
  /** Instantaneous energy E(t) = −Σ_k h_k M_k(t) − (J/2) Σ_k M_k(t)² at each instant. */
  energy: Float64Array;
  /** E(t*) at the observation instant t* (the energy the forward pass reports, DESIGN.md §4). */
  atTStar: number;
  /** Moments M_k(t) = Re(e^{iωt} a_k), `samples × C`. */
  moments: Float64Array;
}

/**
 * The instantaneous energy of the targets over one period of the source wave (DESIGN.md §4): the
 * target dipoles oscillate as M_k(t) = Re(e^{iωt} a_k); E(t) is their Ising energy in the field of
 * `label` (default: the predicted class), sampled at `samples` ≥ 2 instants (default 64) from t = 0.
 * With ω = 0 nothing oscillates (a legitimate lattice: no phases, no interference), the period is
 * infinite and E(t) is constant: it is sampled once per tick over `samples` ticks, never at NaN
 * instants. Throws `E_OPTION` for bad `samples`, `E_SHAPE` unless `image` is one image, `E_INPUT`
 * for an image that cannot be a source, `E_LABEL` for a bad label.
 */
export function energyOverPeriod(net: InterferenceNetwork, image: Images, label?: number, samples = 64): EnergyCycle {
  checkNetwork(net, 'energyOverPeriod');
  const C = net.classes, { omega, coupling: J, tStar } = net.options;
  check(Number.isInteger(samples) && samples >= 2 && samples <= 1e5, `samples must be an integer from 2 to 100000; got ${describe(samples)}.`);
  check(imageCount(image, net.options.layers[0]!) === 1, `image must hold ${net.options.layers[0]} values (one image); got ${(image as ArrayLike<number>).length}.`, 'E_SHAPE');
  const a = net.amplitudes(image);
  const y = label ?? net.predict(image)[0]!;
  check(Number.isInteger(y) && y >= 0 && y < C, `label must be an integer from 0 to ${C - 1}; got ${describe(label)}.`, 'E_LABEL');
  const period = (2 * Math.PI) / Math.abs(omega);
  const window = Number.isFinite(period) ? period : samples;
  const t = new Float64Array(samples), energy = new Float64Array(samples), moments = new Float64Array(samples * C);
  const at = (time: number, row: Float64Array | null): number => {
    const [c, sn] = unitPhasor(omega * time); // as the network's e^{iωt*}
    let e = 0;
    for (let k = 0; k < C; k++) {
      const m = c * a.re[k]! - sn * a.im[k]!;
      if (row) row[k] = m;
      e -= (k === y ? 1 : -1 / (C - 1)) * m + 0.5 * J * m * m;
    }
    return e;
  };
  for (let s = 0; s < samples; s++) {
    t[s] = (s * window) / samples;
    energy[s] = at(t[s]!, moments.subarray(s * C, (s + 1) * C));
  }
  return { period, window, label: y, t, energy, atTStar: at(tStar, null), moments };
}

/** Values per layer that the arrival-time grid of {@link InterferenceNetwork.arrivalTimes} may hold (its `E_MEMORY` bound). */
export const ARRIVAL_GRID_VALUES = 1 << 26;

/**
 * The size of the arrival-time grid that {@link InterferenceNetwork.arrivalTimes} builds at
 * `resolution` steps per tick (integer 1 … 1024): the largest number of values of any layer,
 * N_{ℓ+1} × (ticks up to layer ℓ+1), with travel times |Δpos|/c rounded to the grid as that method
 * does. Nothing is allocated; `O(routes)` time. Throws `E_OPTION` for a bad resolution,
 * `E_DISPOSED` after `dispose()`.
 */
export function arrivalGridValues(net: InterferenceNetwork, resolution: number): number {
  checkResolution(resolution);
  return gridValues(net, travelTimes(net), resolution);
}

function checkResolution(resolution: number): void {
  check(Number.isInteger(resolution) && resolution >= 1 && resolution <= 1024,
    `resolution must be an integer from 1 to 1024 (grid steps per tick); got ${describe(resolution)}.`);
}

function gridValues(net: InterferenceNetwork, travel: number[], resolution: number): number {
  const sizes = net.options.layers, D = net.options.durations;
  let ticks = 1, worst = 0;
  travel.forEach((most, l) => {
    ticks += Math.round(most * resolution) + (D - 1) * resolution;
    worst = Math.max(worst, sizes[l + 1]! * ticks);
  });
  return worst;
}

/** The longest travel time |Δpos|/c of a route of each layer, ticks (0 for c = ∞). */
function travelTimes(net: InterferenceNetwork): number[] {
  const o = net.options;
  return o.layers.slice(1).map((_, l) => {
    if (!Number.isFinite(o.speed)) return 0;
    const pu = sitePositions(o, l), pv = sitePositions(o, l + 1);
    let most = 0;
    if (o.topology === 'dense') {
      let ul = Infinity, uh = -Infinity, vl = Infinity, vh = -Infinity;
      for (const x of pu) [ul, uh] = [Math.min(ul, x), Math.max(uh, x)];
      for (const x of pv) [vl, vh] = [Math.min(vl, x), Math.max(vh, x)];
      most = Math.max(Math.abs(vh - ul), Math.abs(uh - vl));
    } else {
      const { offsets, targets } = net.routes(l);
      for (let u = 0; u < pu.length; u++) {
        for (let j = offsets[u]!; j < offsets[u + 1]!; j++) most = Math.max(most, Math.abs(pv[targets[j]!]! - pu[u]!));
      }
    }
    return most / o.speed;
  });
}

/**
 * The finest resolution (steps per tick) from `preferred` down to 1 whose arrival-time grid fits
 * in {@link ARRIVAL_GRID_VALUES} values per layer, or 0 when none does (a slow signal speed makes
 * travel times so long that even one step per tick is too many). Throws as {@link arrivalGridValues}.
 */
export function arrivalResolution(net: InterferenceNetwork, preferred: number): number {
  checkResolution(preferred);
  const travel = travelTimes(net);
  for (let q = preferred; q >= 1; q--) if (gridValues(net, travel, q) <= ARRIVAL_GRID_VALUES) return q;
  return 0;
}

/** A self-attention event (DESIGN.md §1): a hidden site where worldlines from several sources meet. */
export interface AttentionEvent {
  layer: number;
  site: number;
  /** Position of the site (space units; sequence position with `sequence`). */
  position: number;
  /** Lit sources (a⁰ > 0) whose worldlines reach the site, ≥ 2. */
  sources: number;
  /** Coherent amplitude z = Σ_i c_i arriving at the site (after renormalisation). */
  re: number;
  im: number;
  /** Interaction energy of the meeting dipoles, −(J/2)(|z|² − Σ_i |c_i|²) = −J Σ_{i<j} Re(c_i c̄_j). */
  interaction: number;
}

/**
 * The self-attention events of one image (DESIGN.md §1, §3 linear response): every hidden site
 * reached by worldlines from ≥ 2 lit sources, with the interaction energy of the signals meeting
 * there, strongest (most negative: constructive) first, at most `limit` (default 20).
 * Throws `E_SHAPE` unless `image` is one image.
 */
export function attentionEvents(net: InterferenceNetwork, image: Images, limit = 20): AttentionEvent[] {
  checkNetwork(net, 'attentionEvents');
  check(Number.isInteger(limit) && limit >= 1, `limit must be an integer ≥ 1; got ${JSON.stringify(limit)}.`);
  const J = net.options.coupling;
  const events: AttentionEvent[] = [];
  for (const m of net.meetings(image)) {
    const pos = sitePositions(net.options, m.layer);
    for (let v = 0; v < m.re.length; v++) {
      if (m.sources[v]! < 2) continue;
      const z2 = m.re[v]! ** 2 + m.im[v]! ** 2;
      events.push({
        layer: m.layer, site: v, position: pos[v]!, sources: m.sources[v]!, re: m.re[v]!, im: m.im[v]!,
        interaction: -0.5 * J * (z2 - m.incoherent[v]!),
      });
    }
  }
  events.sort((a, b) => a.interaction - b.interaction);
  return events.slice(0, limit);
}
