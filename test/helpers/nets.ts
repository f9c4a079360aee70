import { InterferenceNetwork } from '../../src/network.js';
import { sitePositions, type FfitOptions } from '../../src/options.js';
import { routesOf, testRandom, type Lattice } from './oracle.js';

/** Every backend, so one suite runs on all of them (tfjs's ALL_ENVS idea). */
export const BACKENDS = ['simd', 'scalar', 'js'] as const;

/** Random non-negative images (`count × n`, about a third of the values zero, like sparse pixels) and labels. */
export function randomData(seed: number, count: number, n: number, C: number): { images: Float32Array; labels: Int32Array } {
  const rnd = testRandom(seed);
  const images = new Float32Array(count * n).map(() => (rnd() < 0.35 ? 0 : rnd()));
  for (let b = 0; b < count; b++) images[b * n] = 0.5 + rnd(); // never an all-zero row
  const labels = Int32Array.from({ length: count }, () => Math.floor(rnd() * C));
  return { images, labels };
}

/** One network per backend from the same options (same seed, so the same initial logits). */
export async function perBackend(options: FfitOptions): Promise<InterferenceNetwork[]> {
  return Promise.all(BACKENDS.map((backend) => InterferenceNetwork.create({ ...options, backend })));
}

/** The oracle's view of a network's lattice: sizes, phases, travel times and route tables. */
export function latticeOf(net: InterferenceNetwork): Lattice {
  const o = net.options;
  const pos = o.layers.map((_, l) => sitePositions(o, l));
  return {
    sizes: [...o.layers], D: o.durations, omega: o.omega, tStar: o.tStar,
    delay: (l, u, v) => (Number.isFinite(o.speed) ? Math.abs(pos[l + 1]![v]! - pos[l]![u]!) / o.speed : 0),
    routes: o.layers.slice(1).map((_, l) => net.routes(l)),
  };
}

/** Route probabilities of every layer in float64. */
export const probs64 = (net: InterferenceNetwork): Float64Array[] => net.options.layers.slice(1).map((_, l) => Float64Array.from(net.probabilities(l)));

/** A worldline found by brute force: its sites (layer 0 … L), durations, probability and total duration. */
export interface BruteWorldline {
  target: number;
  prob: number;
  tau: number;
  sites: number[];
  durations: number[];
}

/** Every worldline source → target, by brute force over all route chains (`from` layer 0 to layer L). */
export function enumerateWorldlines(lat: Lattice, p: Float64Array[], source: number): BruteWorldline[] {
  const out: BruteWorldline[] = [];
  const walk = (l: number, u: number, prob: number, tau: number, sites: number[], durations: number[]): void => {
    if (l === lat.sizes.length - 1) {
      out.push({ target: u, prob, tau, sites, durations });
      return;
    }
    const { offsets, targets } = routesOf(lat, l);
    for (let j = offsets[u]!; j < offsets[u + 1]!; j++) {
      const v = targets[j]!;
      for (let d = 0; d < lat.D; d++) {
        walk(l + 1, v, prob * p[l]![j * lat.D + d]!, tau + lat.delay(l, u, v) + d, [...sites, v], [...durations, d]);
      }
    }
  };
  walk(0, source, 1, 0, [source], []);
  return out;
}
