// The demo's strongest-worldline search (demo/src/worldlines.ts) against brute-force enumeration,
// and the full set of worldlines against the network's own forward pass (DESIGN.md §3).
import { describe, expect, it } from 'vitest';
import { strongestWorldlines, type WorldlineLattice } from '../demo/src/worldlines.js';
import { InterferenceNetwork } from '../src/network.js';
import { sitePositions, type FfitOptions } from '../src/options.js';
import { randomData } from './helpers/nets.js';

async function lattice(options: FfitOptions): Promise<{ net: InterferenceNetwork; lat: WorldlineLattice }> {
  // the demo's worldlines sum to the raw linear lattice: keep hidden layers unrenormalised
  const net = await InterferenceNetwork.create({ initScale: 2, renormalize: false, ...options });
  const o = net.options;
  const lat: WorldlineLattice = {
    ...o,
    positions: o.layers.map((_, l) => sitePositions(o, l)),
    probabilities: o.layers.slice(1).map((_, l) => net.probabilities(l)),
  };
  return { net, lat };
}

/** Every worldline from any source to `target`, by nested loops over sites and durations. */
function enumerate(lat: WorldlineLattice, a0: ArrayLike<number>, target: number) {
  const { layers, durations: D, probabilities, positions, speed } = lat;
  const L = layers.length - 1;
  const out: { sites: number[]; durations: number[]; weight: number; tau: number }[] = [];
  const walk = (l: number, sites: number[], ds: number[], weight: number, tau: number): void => {
    if (l === L) {
      if (sites[L] === target) out.push({ sites: [...sites], durations: [...ds], weight, tau });
      return;
    }
    const u = sites[l]!, nOut = layers[l + 1]!;
    for (let v = 0; v < nOut; v++) {
      const dt = Number.isFinite(speed) ? Math.abs(positions[l + 1]![v]! - positions[l]![u]!) / speed : 0;
      for (let d = 0; d < D; d++) {
        walk(l + 1, [...sites, v], [...ds, d], weight * probabilities[l]![(u * nOut + v) * D + d]!, tau + dt + d);
      }
    }
  };
  for (let i = 0; i < layers[0]!; i++) if (a0[i]! > 0) walk(0, [i], [], a0[i]!, 0);
  return out.sort((a, b) => b.weight - a.weight);
}

const CASES: FfitOptions[] = [
  { layers: [6, 3], durations: 3, seed: 1 },
  { layers: [7, 4, 3], durations: 2, seed: 2 },
  { layers: [5, 3, 4, 2], durations: 3, seed: 3, speed: 0.8, tStar: 0.6 },
];

describe('strongest worldlines', () => {
  it.each(CASES)('are the top of the brute-force enumeration on %j', async (options) => {
    const { net, lat } = await lattice(options);
    const { images } = randomData(options.seed!, 1, options.layers[0]!, 2);
    const sum = images.reduce((s, v) => s + v, 0);
    const a0 = images.map((v) => v / sum);
    const C = options.layers[options.layers.length - 1]!;
    for (let k = 0; k < C; k++) {
      const all = enumerate(lat, a0, k);
      for (const count of [1, 5, 17]) {
        const top = strongestWorldlines(lat, a0, k, count);
        expect(top).toHaveLength(Math.min(count, all.length));
        top.forEach((w, r) => {
          expect(w.sites).toEqual(all[r]!.sites);
          expect(w.durations).toEqual(all[r]!.durations);
          expect(w.weight).toBeCloseTo(all[r]!.weight, 12);
          expect(w.tau).toBeCloseTo(all[r]!.tau, 12);
        });
      }
    }
    net.dispose();
  });

  it.each(CASES)('all of them add up to the network\'s moments on %j', async (options) => {
    const { net, lat } = await lattice(options);
    const { images } = randomData(options.seed! + 10, 1, options.layers[0]!, 2);
    const sum = images.reduce((s, v) => s + v, 0);
    const a0 = images.map((v) => v / sum);
    const C = options.layers[options.layers.length - 1]!;
    const moments = net.moments(images);
    // worldlines start at every lit source (a zero pixel emits nothing)
    const lit = a0.filter((v) => v > 0).length;
    const everyone = lit * options.layers.slice(1, -1).reduce((n, s) => n * s, 1) * lat.durations ** (options.layers.length - 1);
    for (let k = 0; k < C; k++) {
      const lines = strongestWorldlines(lat, a0, k, everyone);
      expect(lines).toHaveLength(everyone);
      const m = lines.reduce((s, w) => s + w.moment, 0);
      expect(m).toBeCloseTo(moments[k]!, 5);
    }
    net.dispose();
  });

  it('rejects a target or count out of range', async () => {
    const { lat } = await lattice(CASES[0]!);
    const a0 = new Float32Array(6).fill(1 / 6);
    expect(() => strongestWorldlines(lat, a0, 3, 1)).toThrow(RangeError);
    expect(() => strongestWorldlines(lat, a0, 0, 0)).toThrow(RangeError);
  });
});
