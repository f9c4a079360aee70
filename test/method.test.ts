// The method itself (DESIGN.md §3, §5): gains are exact derivatives, and the phasor forward pass is
// the Fourier transform of the worldlines' arrival-time distribution.
import { describe, expect, it } from 'vitest';
import { InterferenceNetwork } from '../src/network.js';
import type { FfitOptions } from '../src/options.js';
import { BACKENDS, enumerateWorldlines, latticeOf, probs64, randomData } from './helpers/nets.js';
import { amplitudes64, fieldTerm64, logLikelihood64, moments64, relErr } from './helpers/oracle.js';


// `renormalize` (default with ≥ 2 hidden layers) holds the hidden layers' factors s_h(x) at their feed-forward values:
// the gains are then exact derivatives of the objective with those factors fixed.
const FD_CASES: FfitOptions[] = [
  { layers: [5, 3], durations: 4, initScale: 1, seed: 11, beta: 3 },
  { layers: [6, 4, 3], durations: 3, initScale: 1, seed: 12, beta: 4, renormalize: false },
  { layers: [6, 4, 3], durations: 3, initScale: 1, seed: 12, beta: 0.2, renormalize: true },
  { layers: [5, 3, 4, 2], durations: 2, initScale: 1, seed: 13, beta: 5, speed: 0.7, tStar: 0.4, renormalize: false },
  { layers: [5, 3, 4, 2], durations: 2, initScale: 1, seed: 13, beta: 0.5, speed: 0.7, tStar: 0.4 },
  { layers: [7, 5, 3], durations: 4, initScale: 1, seed: 14, beta: 2, objective: 'field', renormalize: false },
  { layers: [4, 3, 3], durations: 5, initScale: 1, seed: 15, beta: 3, objective: 'field', speed: 1.3, tStar: 1.7, omega: 0.9, renormalize: true },
  // sparse topologies: a GPT-like causal lattice (2 positions) and light cones of finite radius
  { layers: [6, 4, 3], topology: 'causal', sequence: 2, durations: 3, initScale: 1, seed: 16, beta: 3, renormalize: false },
  { layers: [9, 6, 3, 2], topology: 'causal', sequence: 3, durations: 2, initScale: 1, seed: 17, beta: 2, speed: 0.8, tStar: 0.3 },
  // the paper's first version: one duration, constant finite speed, phases from travel times only
  { layers: [6, 4, 3], topology: 'causal', sequence: 2, durations: 1, initScale: 1, seed: 20, beta: 3, speed: 0.6 },
  { layers: [7, 5, 3], topology: 'local', radius: 0.3, durations: 4, initScale: 1, seed: 18, beta: 3, renormalize: false, speed: 0.5 },
  { layers: [6, 5, 3], topology: 'local', radius: 0.5, durations: 2, initScale: 1, seed: 19, beta: 2, objective: 'field',
    positions: [[0.9, 0.1, 0.5, 0.3, 0.7, 0.2], [0.6, 0, 1, 0.4, 0.2], [0.3, 0.8, 0.5]] },
  // 64 renormalised hidden layers that each shrink the amplitude about 4×: Π s ≈ 1e40 and G^1 ≈ 6e-41 are beyond
  // Float32 (the gains were NaN), their product is not
  { layers: [4, ...new Array<number>(64).fill(2), 2], durations: 2, omega: 3, initScale: 1, seed: 26, beta: 3 },
];

describe.each(BACKENDS)('gains equal finite differences (%s backend)', (backend) => {
  it.each(FD_CASES)('on %j', async (options) => {
    const net = await InterferenceNetwork.create({ ...options, backend });
    const lat = latticeOf(net);
    const C = options.layers[options.layers.length - 1]!;
    const { images, labels } = randomData(options.seed!, 3, options.layers[0]!, C);
    const gains = net.gains(images, labels);
    const p = probs64(net);
    const n0 = options.layers[0]!;
    const x = (b: number) => images.subarray(b * n0, (b + 1) * n0);
    const scales = Array.from(labels, (_, b) => {
      const s: number[] = [];
      if (net.options.renormalize) amplitudes64(lat, p, x(b), undefined, s);
      return s;
    });
    // mean over the batch of log P(y|x) (boltzmann) or β Σ h M = −β E_field (field)
    const objective = (): number => {
      let total = 0;
      for (let b = 0; b < labels.length; b++) {
        const M = moments64(lat, amplitudes64(lat, p, x(b), net.options.renormalize ? scales[b] : undefined));
        total += options.objective === 'field' ? options.beta! * fieldTerm64(M, labels[b]!) : logLikelihood64(M, labels[b]!, options.beta!);
      }
      return total / labels.length;
    };
    const eps = 1e-6;
    for (let l = 0; l < p.length; l++) {
      const fd = new Float64Array(p[l]!.length);
      for (let i = 0; i < fd.length; i++) {
        const keep = p[l]![i]!;
        p[l]![i] = keep + eps;
        const up = objective();
        p[l]![i] = keep - eps;
        const down = objective();
        p[l]![i] = keep;
        fd[i] = (up - down) / (2 * eps);
      }
      expect(relErr(gains[l]!, fd)).toBeLessThan(2e-4);
      expect(Math.max(...fd.map(Math.abs))).toBeGreaterThan(1e-3);
    }
    net.dispose();
  });
});

describe.each(BACKENDS)('worldline enumeration (%s backend)', (backend) => {
  it.each([
    { layers: [3, 2, 2], durations: 3, initScale: 1, seed: 21, renormalize: false },
    { layers: [4, 3, 2, 3], durations: 2, initScale: 1, seed: 22, speed: 0.45, tStar: 0.3, renormalize: false },
    { layers: [2, 4, 2], durations: 5, initScale: 2, seed: 23, omega: 0.77, renormalize: false },
    { layers: [4, 6, 2, 3], topology: 'causal', sequence: 2, durations: 2, initScale: 1, seed: 24, speed: 0.7, renormalize: false },
    { layers: [5, 4, 3], topology: 'local', radius: 0.4, durations: 3, initScale: 1, seed: 25, speed: 2, renormalize: false },
  ] as FfitOptions[])('h_k(τ) transformed at ω equals the phasor forward pass on %j', async (options) => {
    const net = await InterferenceNetwork.create({ ...options, backend });
    const lat = latticeOf(net);
    const p = probs64(net);
    const n0 = options.layers[0]!, C = options.layers[options.layers.length - 1]!;
    const { images } = randomData(options.seed!, 4, n0, C);
    const amps = net.amplitudes(images);
    for (let b = 0; b < 4; b++) {
      const x = images.subarray(b * n0, (b + 1) * n0);
      const total = x.reduce((s, v) => s + v, 0);
      // arrival-time distribution h_k(τ) = Σ_i a⁰_i Σ_{worldlines i→k of duration τ} Π p
      const h = Array.from({ length: C }, () => new Map<number, number>());
      let count = 0;
      for (let i = 0; i < n0; i++) {
        for (const w of enumerateWorldlines(lat, p, i)) {
          const key = Math.round(w.tau * 1e9) / 1e9;
          h[w.target]!.set(key, (h[w.target]!.get(key) ?? 0) + (x[i]! / total) * w.prob);
          count++;
        }
      }
      // every worldline exists: Π_ℓ N_{ℓ+1} D chains per source
      if (!options.topology) expect(count).toBe(n0 * options.layers.slice(1).reduce((s, n) => s * n * options.durations!, 1));
      for (let k = 0; k < C; k++) {
        let re = 0, im = 0;
        for (const [tau, mass] of h[k]!) {
          re += mass * Math.cos(lat.omega * tau);
          im -= mass * Math.sin(lat.omega * tau);
        }
        expect(amps.re[b * C + k]!).toBeCloseTo(re, 6);
        expect(amps.im[b * C + k]!).toBeCloseTo(im, 6);
      }
      // flow is conserved: the arrival-time distributions hold all the source intensity
      const mass = h.reduce((s, m) => s + [...m.values()].reduce((a, v) => a + v, 0), 0);
      expect(mass).toBeCloseTo(1, 6);
    }
    net.dispose();
  });
});

describe('repeatability', () => {
  const data = randomData(5, 40, 12, 3);
  const train = async (seed: number, backend: 'simd' | 'js') => {
    const net = await InterferenceNetwork.create({ layers: [12, 7, 3], seed, backend, batchSize: 8 });
    net.fit(data, { epochs: 2 });
    const out = [0, 1].map((l) => new Uint8Array(net.logits(l).buffer));
    net.dispose();
    return out;
  };

  it.each(['simd', 'js'] as const)('same seed gives the same bits (%s)', async (backend) => {
    const [a, b] = [await train(7, backend), await train(7, backend)];
    expect(Buffer.compare(a[0]!, b[0]!)).toBe(0);
    expect(Buffer.compare(a[1]!, b[1]!)).toBe(0);
  });

  it('different seeds give different logits', async () => {
    const [a, b] = [await train(7, 'simd'), await train(8, 'simd')];
    expect(Buffer.compare(a[0]!, b[0]!)).not.toBe(0);
  });
});

describe.each(BACKENDS)('renormalised hidden layers (%s backend)', (backend) => {
  const options: FfitOptions = { layers: [9, 7, 5, 6, 3], durations: 4, initScale: 0.5, seed: 31, speed: 0.6 };
  it('scale each example\'s target amplitudes by Π_h s_h = Π_h 1/Σ_v|z^h_v| and keep its predictions', async () => {
    const [on, off] = await Promise.all([true, false].map((renormalize) => InterferenceNetwork.create({ ...options, renormalize, backend })));
    const lat = latticeOf(on);
    const p = probs64(on);
    const { images } = randomData(31, 6, 9, 3);
    const a = on.amplitudes(images), raw = off.amplitudes(images);
    expect(Array.from(on.predict(images))).toEqual(Array.from(off.predict(images)));
    let minFactor = Infinity;
    for (let b = 0; b < 6; b++) {
      const s: number[] = [];
      const ref = amplitudes64(lat, p, images.subarray(b * 9, (b + 1) * 9), undefined, s);
      const factor = s.slice(1).reduce((t, v) => t * v, 1);
      minFactor = Math.min(minFactor, factor);
      for (let k = 0; k < 3; k++) {
        expect(a.re[b * 3 + k]! / ref.re[k]!).toBeCloseTo(1, 4);
        expect(a.re[b * 3 + k]! / raw.re[b * 3 + k]!).toBeCloseTo(factor, -Math.log10(factor) + 3);
      }
    }
    // at initialisation the raw amplitudes shrink layer by layer: the factors are large
    expect(minFactor).toBeGreaterThan(30);
    on.dispose();
    off.dispose();
  });
});
