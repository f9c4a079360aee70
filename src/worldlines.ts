/**
 * Worldline tools: look inside a lattice the way the paper draws it (DESIGN.md §1, §3, §4).
 * Counting and best-first enumeration walk the route tables of {@link InterferenceNetwork.routes};
 * the arrival-time distribution and the source-resolved meetings run in the network's WebAssembly
 * kernels ({@link InterferenceNetwork.arrivalTimes}, {@link InterferenceNetwork.meetings}).
 * Browser-safe.
 */
import FlatQueue from 'flatqueue';
import { check } from './errors.js';
import type { Images, InterferenceNetwork } from './network.js';
import { sitePositions } from './options.js';

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

function checkSite(net: InterferenceNetwork, ref: SiteRef, name: string): void {
  const sizes = net.options.layers;
  check(Number.isInteger(ref.layer) && ref.layer >= 0 && ref.layer < sizes.length,
    `${name}.layer must be an integer from 0 to ${sizes.length - 1}; got ${JSON.stringify(ref.layer)}.`);
  check(Number.isInteger(ref.site) && ref.site >= 0 && ref.site < sizes[ref.layer]!,
    `${name}.site must be an integer from 0 to ${sizes[ref.layer]! - 1} (layer ${ref.layer}); got ${JSON.stringify(ref.site)}.`);
}

/**
 * The exact number of worldlines (chains of routes, each route one (u → v, d), DESIGN.md §1) from
 * site `from` to site `to` in a later layer, counted layer by layer over the route tables:
 * `O(routes)` big-integer additions, never enumeration. Dense: `D^m Π N` of the layers between;
 * causal with one site per position i → j over m routes: `D^m · C(j − i + m − 1, m − 1)`.
 * 0 when `to` cannot be reached (e.g. earlier in the sequence); 1 when `from` = `to`.
 * Throws `E_OPTION` for a site outside the lattice or `to.layer < from.layer`.
 */
export function countWorldlines(net: InterferenceNetwork, from: SiteRef, to: SiteRef): bigint {
  checkSite(net, from, 'from');
  checkSite(net, to, 'to');
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
  /** How many worldlines (integer ≥ 1). Default 10. */
  k?: number;
  /** Only worldlines from this source site; default every source (weighted by `image` if given). */
  source?: number;
  /** An image (N_0 values ≥ 0): worldlines are ranked by a⁰_i Π p, dark sources skipped. */
  image?: Images;
}

/**
 * The K most probable worldlines into target `target` (DESIGN.md §1), best first, without listing
 * them all: A* search over partial worldlines whose priority is their log-probability plus the exact
 * best completion (a max-product pass backwards over the route tables), so complete worldlines
 * leave the queue in order of weight. Ties keep discovery order. Costs about K·L expansions of a
 * site's routes × D. Throws `E_OPTION` for a bad target, source or K, `E_SHAPE` for a bad image.
 */
export function topWorldlines(net: InterferenceNetwork, options: TopOptions): Worldline[] {
  const o = net.options, sizes = o.layers, L = sizes.length - 1, D = o.durations, C = sizes[L]!;
  const { target, k = 10, source, image } = options;
  check(Number.isInteger(target) && target >= 0 && target < C, `target must be an integer from 0 to ${C - 1}; got ${JSON.stringify(target)}.`);
  check(Number.isInteger(k) && k >= 1 && k <= 1e6, `k must be an integer from 1 to 1000000; got ${JSON.stringify(k)}.`);
  if (source !== undefined) checkSite(net, { layer: 0, site: source }, 'source');
  const routes = sizes.slice(1).map((_, l) => net.routes(l));
  const logp = sizes.slice(1).map((_, l) => Float64Array.from(net.probabilities(l), Math.log));
  const pos = sizes.map((_, l) => sitePositions(o, l));
  const delay = (l: number, u: number, v: number): number => (Number.isFinite(o.speed) ? Math.abs(pos[l + 1]![v]! - pos[l]![u]!) / o.speed : 0);

  // best[l][u]: the largest log-probability of any worldline from (l, u) to the target
  const best: Float64Array[] = new Array(L + 1);
  best[L] = new Float64Array(C).fill(-Infinity);
  best[L]![target] = 0;
  for (let l = L - 1; l >= 0; l--) {
    const { offsets, targets } = routes[l]!, lp = logp[l]!, up = best[l + 1]!;
    const row = new Float64Array(sizes[l]!).fill(-Infinity);
    for (let u = 0; u < sizes[l]!; u++) {
      for (let j = offsets[u]!; j < offsets[u + 1]!; j++) {
        const rest = up[targets[j]!]!;
        if (rest === -Infinity) continue;
        for (let d = 0; d < D; d++) row[u] = Math.max(row[u]!, lp[j * D + d]! + rest);
      }
    }
    best[l] = row;
  }

  // partial worldlines as parent-linked nodes
  const parent: number[] = [], layer: number[] = [], site: number[] = [], dur: number[] = [], score: number[] = [];
  const queue = new FlatQueue<number>();
  const push = (par: number, l: number, u: number, d: number, s: number): void => {
    const f = s + best[l]![u]!;
    if (f === -Infinity || Number.isNaN(f)) return;
    parent.push(par); layer.push(l); site.push(u); dur.push(d); score.push(s);
    queue.push(parent.length - 1, -f);
  };
  let a0: Float64Array | null = null;
  if (image) {
    const n0 = sizes[0]!;
    check(image.length === n0, `image must hold ${n0} values (one image); got ${image.length}.`, 'E_SHAPE');
    let total = 0;
    for (let i = 0; i < n0; i++) total += Number(image[i]);
    check(total > 0 && Number.isFinite(total), 'image must be finite, ≥ 0 and not all zero.', 'E_INPUT');
    a0 = Float64Array.from({ length: n0 }, (_, i) => Number(image[i]) / total);
  }
  for (let i = 0; i < sizes[0]!; i++) {
    if (source !== undefined && i !== source) continue;
    const w = a0 ? a0[i]! : 1;
    if (w > 0) push(-1, 0, i, -1, Math.log(w));
  }
  const out: Worldline[] = [];
  while (out.length < k && queue.length > 0) {
    const n = queue.pop()!;
    const l = layer[n]!, u = site[n]!;
    if (l === L) {
      const sites: number[] = [], durations: number[] = [];
      for (let m = n; m >= 0; m = parent[m]!) {
        sites.unshift(site[m]!);
        if (dur[m]! >= 0) durations.unshift(dur[m]!);
      }
      let tau = 0;
      for (let h = 0; h < L; h++) tau += delay(h, sites[h]!, sites[h + 1]!) + durations[h]!;
      const weight = Math.exp(score[n]!);
      const probability = a0 ? weight / a0[sites[0]!]! : weight;
      let phase = -o.omega * tau;
      phase -= 2 * Math.PI * Math.round(phase / (2 * Math.PI));
      if (phase <= -Math.PI) phase += 2 * Math.PI;
      out.push({ sites, durations, tau, phase, probability, weight });
      continue;
    }
    const { offsets, targets } = routes[l]!, lp = logp[l]!;
    for (let j = offsets[u]!; j < offsets[u + 1]!; j++) {
      for (let d = 0; d < D; d++) push(n, l + 1, targets[j]!, d, score[n]! + lp[j * D + d]!);
    }
  }
  return out;
}

/** E(t) of {@link energyOverPeriod}. */
export interface EnergyCycle {
  /** Period 2π/ω, ticks. */
  period: number;
  /** Label whose field h acts on the targets (given, or the predicted class). */
  label: number;
  /** Sample instants t_s = s·period/samples, ticks. */
  t: Float64Array;
  /** Instantaneous energy E(t) = −Σ_k h_k M_k(t) − (J/2) Σ_k M_k(t)² at each instant. */
  energy: Float64Array;
  /** Moments M_k(t) = Re(e^{iωt} a_k), `samples × C`. */
  moments: Float64Array;
}

/**
 * The instantaneous energy of the targets over one period of the source wave (DESIGN.md §4): the
 * target dipoles oscillate as M_k(t) = Re(e^{iωt} a_k); E(t) is their Ising energy in the field of
 * `label` (default: the predicted class). `samples` ≥ 2 instants (default 64). Throws `E_SHAPE`
 * unless `image` is one image, `E_LABEL` for a bad label.
 */
export function energyOverPeriod(net: InterferenceNetwork, image: Images, label?: number, samples = 64): EnergyCycle {
  const C = net.classes, { omega, coupling: J } = net.options;
  check(Number.isInteger(samples) && samples >= 2 && samples <= 1e5, `samples must be an integer from 2 to 100000; got ${JSON.stringify(samples)}.`);
  check(image.length === net.options.layers[0], `image must hold ${net.options.layers[0]} values (one image); got ${image.length}.`, 'E_SHAPE');
  const a = net.amplitudes(image);
  const y = label ?? net.predict(image)[0]!;
  check(Number.isInteger(y) && y >= 0 && y < C, `label must be an integer from 0 to ${C - 1}; got ${JSON.stringify(label)}.`, 'E_LABEL');
  const period = (2 * Math.PI) / Math.abs(omega);
  const t = new Float64Array(samples), energy = new Float64Array(samples), moments = new Float64Array(samples * C);
  for (let s = 0; s < samples; s++) {
    t[s] = (s * period) / samples;
    const c = Math.cos(omega * t[s]!), sn = Math.sin(omega * t[s]!);
    let e = 0;
    for (let k = 0; k < C; k++) {
      const m = c * a.re[k]! - sn * a.im[k]!;
      moments[s * C + k] = m;
      e -= (k === y ? 1 : -1 / (C - 1)) * m + 0.5 * J * m * m;
    }
    energy[s] = e;
  }
  return { period, label: y, t, energy, moments };
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
