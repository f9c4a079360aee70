// An independent float64 model of DESIGN.md §3–§4, written straight from the equations and taking
// route probabilities as free variables: the yardstick for finite differences and for worldline
// enumeration. It shares no code with src/.

export interface Lattice {
  sizes: number[];
  D: number;
  omega: number;
  tStar: number;
  /** δ(u, v) of layer ℓ in ticks (0 for an infinite speed). */
  delay: (l: number, u: number, v: number) => number;
  /**
   * Which routes exist, per layer: the next-layer sites reached from u are
   * `targets[offsets[u] … offsets[u+1]−1]`, and route j's probabilities sit at `p[j·D + d]`.
   * Absent: dense (`offsets[u] = u·N_{ℓ+1}`, every v).
   */
  routes?: { offsets: ArrayLike<number>; targets: ArrayLike<number> }[];
}

export interface Cx {
  re: number[];
  im: number[];
}

/** The routes of layer ℓ as CSR (dense when the lattice gives none). */
export function routesOf(lat: Lattice, l: number): { offsets: ArrayLike<number>; targets: ArrayLike<number> } {
  if (lat.routes) return lat.routes[l]!;
  const nIn = lat.sizes[l]!, nOut = lat.sizes[l + 1]!;
  return {
    offsets: Array.from({ length: nIn + 1 }, (_, u) => u * nOut),
    targets: Array.from({ length: nIn * nOut }, (_, j) => j % nOut),
  };
}

/**
 * Target amplitudes a^L of one input x (linear response) for probabilities p[ℓ] (routes × D).
 * With `scales`, hidden layer h is multiplied by `scales[h]` (renormalisation factors held fixed);
 * with `scalesOut`, the factors s_h = 1/Σ|z^h| are computed, applied and written there.
 */
export function amplitudes64(lat: Lattice, p: Float64Array[], x: ArrayLike<number>, scales?: number[], scalesOut?: number[]): Cx {
  const total = Array.from(x).reduce((s, v) => s + v, 0);
  let re = Array.from(x, (v) => v / total);
  let im = re.map(() => 0);
  const L = lat.sizes.length - 1;
  for (let l = 0; l < L; l++) {
    const nIn = lat.sizes[l]!, nOut = lat.sizes[l + 1]!;
    const { offsets, targets } = routesOf(lat, l);
    const zr = new Array<number>(nOut).fill(0), zi = new Array<number>(nOut).fill(0);
    for (let u = 0; u < nIn; u++) {
      for (let j = offsets[u]!; j < offsets[u + 1]!; j++) {
        const v = targets[j]!;
        for (let d = 0; d < lat.D; d++) {
          const q = p[l]![j * lat.D + d]!;
          const ph = -lat.omega * (lat.delay(l, u, v) + d);
          const wr = q * Math.cos(ph), wi = q * Math.sin(ph);
          zr[v] += re[u]! * wr - im[u]! * wi;
          zi[v] += re[u]! * wi + im[u]! * wr;
        }
      }
    }
    if (l + 1 < L && (scales || scalesOut)) {
      const s = scales ? scales[l + 1]! : 1 / zr.reduce((t, r, v) => t + Math.hypot(r, zi[v]!), 0);
      if (scalesOut) scalesOut[l + 1] = s;
      for (let v = 0; v < nOut; v++) {
        zr[v] *= s;
        zi[v] *= s;
      }
    }
    re = zr;
    im = zi;
  }
  return { re, im };
}

/** M_k = Re(e^{iωt*} a_k). */
export function moments64(lat: Lattice, a: Cx): number[] {
  const c = Math.cos(lat.omega * lat.tStar), s = Math.sin(lat.omega * lat.tStar);
  return a.re.map((r, k) => c * r - s * a.im[k]!);
}

/** log P(y|x) = β M_y − log Σ_k e^{β M_k}. */
export function logLikelihood64(M: number[], y: number, beta: number): number {
  const hi = Math.max(...M);
  return beta * (M[y]! - hi) - Math.log(M.reduce((s, m) => s + Math.exp(beta * (m - hi)), 0));
}

/** Σ_k h_k M_k with h_y = 1, h_k = −1/(C−1): minus the field part of the energy. */
export function fieldTerm64(M: number[], y: number): number {
  const C = M.length;
  return M.reduce((s, m, k) => s + (k === y ? 1 : -1 / (C - 1)) * m, 0);
}

/** A deterministic generator for test data (mulberry32); tests only. */
export function testRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** max |a − b| / max |b|: the relative error of a whole array. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} ≠ ${b.length}`);
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return den === 0 ? num : num / den;
}
