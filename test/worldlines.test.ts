// Worldline tools (DESIGN.md §1, §3, §4) against closed forms and brute force.
import { describe, expect, it } from 'vitest';
import { InterferenceNetwork } from '../src/network.js';
import type { FfitOptions } from '../src/options.js';
import { ARRIVAL_GRID_VALUES, arrivalGridValues, arrivalResolution, attentionEvents, countWorldlines, energyOverPeriod, topWorldlines } from '../src/worldlines.js';
import { expectFfit } from './helpers/ffit-error.js';
import { BACKENDS, enumerateWorldlines, latticeOf, probs64, randomData } from './helpers/nets.js';
import { testRandom } from './helpers/oracle.js';
import { phaseColour, spaceTimeSvg } from '../src/svg.js';

const binomial = (n: number, k: number): bigint => {
  let r = 1n;
  for (let i = 0; i < k; i++) r = (r * BigInt(n - i)) / BigInt(i + 1);
  return r;
};

describe('countWorldlines', () => {
  it('dense: D^m times the sites of the layers in between, beyond 2^53 as a BigInt', async () => {
    const net = await InterferenceNetwork.create({ layers: [5, 100, 100, 100, 100, 100, 2], durations: 16, backend: 'js' });
    const n = countWorldlines(net, { layer: 0, site: 3 }, { layer: 6, site: 1 });
    expect(n).toBe(16n ** 6n * 100n ** 5n);
    expect(n > BigInt(Number.MAX_SAFE_INTEGER)).toBe(true);
    expect(countWorldlines(net, { layer: 2, site: 7 }, { layer: 2, site: 7 })).toBe(1n);
    expect(countWorldlines(net, { layer: 2, site: 7 }, { layer: 2, site: 8 })).toBe(0n);
    net.dispose();
  });

  it('causal, one site per position: D^m · C(j − i + m − 1, m − 1) from position i to j over m routes', async () => {
    const S = 9, D = 3;
    const net = await InterferenceNetwork.create({ layers: [S, S, S, S, S, 2], topology: 'causal', sequence: S, durations: D, backend: 'js' });
    for (let m = 1; m <= 4; m++) {
      for (let i = 0; i < S; i++) {
        for (let j = 0; j < S; j++) {
          const want = j < i ? 0n : BigInt(D) ** BigInt(m) * binomial(j - i + m - 1, m - 1);
          expect(countWorldlines(net, { layer: 0, site: i }, { layer: m, site: j })).toBe(want);
        }
      }
    }
    net.dispose();
  });

  it('equals brute-force enumeration on small sparse lattices', async () => {
    for (const options of [
      { layers: [6, 5, 4, 3], topology: 'local', radius: 0.4, durations: 2, positions: [[0.9, 0.1, 0.5, 0.3, 0.7, 0.2], [0.6, 0, 1, 0.4, 0.2], [0.3, 0.8, 0.5, 0.1], [0.2, 0.5, 0.8]] },
      { layers: [6, 4, 6, 2], topology: 'causal', sequence: 2, durations: 3 },
    ] as FfitOptions[]) {
      const net = await InterferenceNetwork.create({ ...options, backend: 'js' });
      const lat = latticeOf(net), p = probs64(net), C = options.layers[3]!;
      for (let i = 0; i < 6; i++) {
        const all = enumerateWorldlines(lat, p, i);
        for (let k = 0; k < C; k++) {
          expect(countWorldlines(net, { layer: 0, site: i }, { layer: 3, site: k })).toBe(BigInt(all.filter((w) => w.target === k).length));
        }
      }
      net.dispose();
    }
  });

  it('rejects sites outside the lattice', async () => {
    const net = await InterferenceNetwork.create({ layers: [4, 3, 2], backend: 'js' });
    expect(() => countWorldlines(net, { layer: 0, site: 4 }, { layer: 2, site: 0 })).toThrow(/from.site must be/);
    expect(() => countWorldlines(net, { layer: 2, site: 0 }, { layer: 1, site: 0 })).toThrow(/run forward in time/);
    net.dispose();
  });
});

describe('topWorldlines', () => {
  const CASES: FfitOptions[] = [
    { layers: [4, 5, 3, 3], durations: 3, initScale: 2, seed: 51, speed: 0.7 },
    { layers: [6, 4, 6, 2], topology: 'causal', sequence: 2, durations: 2, initScale: 2, seed: 52 },
  ];
  it.each(CASES)('best-first equals sorting every worldline (%j)', async (options) => {
    const net = await InterferenceNetwork.create({ ...options, backend: 'js' });
    const lat = latticeOf(net), p = probs64(net), n0 = options.layers[0]!;
    const { images } = randomData(options.seed!, 1, n0, 2);
    images[1] = 0; // a dark source never starts a worldline
    const total = images.reduce((s, v) => s + v, 0);
    for (const target of [0, 1]) {
      // one source
      const brute = enumerateWorldlines(lat, p, 2).filter((w) => w.target === target).sort((a, b) => b.prob - a.prob);
      const top = topWorldlines(net, { target, source: 2, k: 12 });
      expect(top.length).toBe(Math.min(12, brute.length));
      top.forEach((w, r) => {
        expect(w.probability).toBeCloseTo(brute[r]!.prob, 12);
        expect(w.sites).toEqual(brute[r]!.sites);
        expect(w.durations).toEqual(brute[r]!.durations);
        expect(w.tau).toBeCloseTo(brute[r]!.tau, 12);
        expect(Math.cos(w.phase)).toBeCloseTo(Math.cos(-lat.omega * w.tau), 12);
      });
      // all sources weighted by the image
      const weighted = Array.from({ length: n0 }, (_, i) => enumerateWorldlines(lat, p, i).map((w) => ({ ...w, weight: (images[i]! / total) * w.prob })))
        .flat().filter((w) => w.target === target && w.weight > 0).sort((a, b) => b.weight - a.weight);
      const topImage = topWorldlines(net, { target, image: images, k: 20 });
      topImage.forEach((w, r) => {
        expect(w.weight).toBeCloseTo(weighted[r]!.weight, 12);
        expect(w.sites).toEqual(weighted[r]!.sites);
        expect(w.sites[0]).not.toBe(1);
      });
    }
    net.dispose();
  });
});

describe('topWorldlines: bounded search and misuse', () => {
  it('refuses a K whose search exceeds the memory budget, naming the largest K that fits; that K runs exactly', async () => {
    const options: FfitOptions = { layers: [6, 4, 3], durations: 8, initScale: 2, seed: 54, backend: 'js' };
    const net = await InterferenceNetwork.create(options);
    const maxBytes = 2 ** 20;
    const e = await expectFfit(() => topWorldlines(net, { target: 1, k: 1e6, maxBytes }), 'E_OPTION',
      'k = 1000000 worldlines would need up to', 'to search on this 2-layer lattice with D = 8, more than the 1 MiB allowed; ask for at most');
    const most = Number(/ask for at most (\d+)\./.exec(e.message)![1]);
    expect(most).toBeGreaterThan(1);
    await expectFfit(() => topWorldlines(net, { target: 1, k: most + 1, maxBytes }), 'E_OPTION', `ask for at most ${most}.`);
    // K = most is searched: every worldline into the target (6·4·8·8 = 1536 < most), in the order of brute force
    const lat = latticeOf(net), p = probs64(net);
    const brute = Array.from({ length: 6 }, (_, i) => enumerateWorldlines(lat, p, i)).flat().filter((w) => w.target === 1).sort((a, b) => b.prob - a.prob);
    const top = topWorldlines(net, { target: 1, k: most, maxBytes });
    expect(brute.length).toBeLessThan(most);
    expect(top.length).toBe(brute.length);
    top.forEach((w, r) => {
      expect(w.probability).toBeCloseTo(brute[r]!.prob, 14);
      expect(w.sites).toEqual(brute[r]!.sites);
      expect(w.durations).toEqual(brute[r]!.durations);
    });
    net.dispose();
  });

  it('ends on lattices where every worldline ties (uniform routing): K distinct worldlines of equal weight', async () => {
    const net = await InterferenceNetwork.create({ layers: [4, 3, 2], durations: 3, initScale: 0, omega: 1, backend: 'js' });
    const weight = (1 / 4) * (1 / (3 * 3)) * (1 / (2 * 3)); // a⁰ of 4 equal pixels × uniform p of each site
    for (const k of [50, 1000]) {
      const top = topWorldlines(net, { target: 0, image: [1, 1, 1, 1], k });
      expect(top.length).toBe(Math.min(k, 4 * 3 * 3 * 3));
      expect(new Set(top.map((w) => `${w.sites}|${w.durations}`)).size).toBe(top.length);
      for (const w of top) expect(w.weight).toBe(top[0]!.weight);
      expect(top[0]!.weight / weight).toBeCloseTo(1, 6); // Float32 probabilities
    }
    net.dispose();
  });

  it('misuse is an FfitError: missing options, images that cannot be sources, a bad budget', async () => {
    const net = await InterferenceNetwork.create({ layers: [4, 3, 2], backend: 'js' });
    await expectFfit(() => topWorldlines(net, undefined as never), 'E_OPTION', 'topWorldlines options must be an object such as { target: 0, k: 10 }', 'got undefined');
    await expectFfit(() => topWorldlines(net, { target: 0, image: [1, -2, 1, 1] }), 'E_INPUT', 'The image cannot be a source: value 1 is -2, negative');
    await expectFfit(() => topWorldlines(net, { target: 0, image: ['1', '2', '3', '4'] as never }), 'E_INPUT', 'value 0 is "1", not a number');
    await expectFfit(() => topWorldlines(net, { target: 0, image: [0, 0, 0, 0] }), 'E_INPUT', 'it is blank');
    await expectFfit(() => topWorldlines(net, { target: 0, image: [1, 1, 1] }), 'E_SHAPE', 'not a multiple of the 4 source sites');
    await expectFfit(() => topWorldlines(net, { target: 0, maxBytes: 1000 }), 'E_OPTION', 'maxBytes must be a number of bytes ≥ 1 MiB');
    await expectFfit(() => countWorldlines(net, null as never, { layer: 2, site: 0 }), 'E_OPTION', 'from must be an object such as { layer: 0, site: 3 }', 'got null');
    net.dispose();
  });

  it('after dispose(): routes, counts and the search answer E_DISPOSED', async () => {
    const net = await InterferenceNetwork.create({ layers: [4, 3, 2], backend: 'js' });
    net.dispose();
    for (const call of [() => net.routes(0), () => countWorldlines(net, { layer: 0, site: 0 }, { layer: 2, site: 0 }),
      () => countWorldlines(net, { layer: 1, site: 0 }, { layer: 1, site: 0 }), () => topWorldlines(net, { target: 0 })]) {
      await expectFfit(call, 'E_DISPOSED', 'This network was disposed');
    }
  });
});

describe('arrival-time grid sizing', () => {
  it('arrivalGridValues is the size of the grid arrivalTimes builds', async () => {
    // the last layer is the widest, so the largest grid is the one returned: C × ticks
    const net = await InterferenceNetwork.create({ layers: [4, 2, 6], durations: 3, speed: 0.35, initScale: 1, seed: 64, backend: 'js' });
    for (const q of [1, 2, 3, 8]) expect(arrivalGridValues(net, q)).toBe(6 * net.arrivalTimes([1, 2, 3, 4], q).ticks);
    await expectFfit(() => arrivalGridValues(net, 0), 'E_OPTION', 'resolution must be an integer from 1 to 1024');
    net.dispose();
  });

  it('arrivalResolution lowers the resolution until the grid fits, and gives 0 when nothing fits', async () => {
    // positions in [0, 1]: the longest route takes 1/c ticks; 4 hidden sites, 3 targets, D = 4
    const slow = await InterferenceNetwork.create({ layers: [16, 4, 3], speed: 1e-7, backend: 'js' });
    const q = arrivalResolution(slow, 8);
    expect(q).toBeGreaterThanOrEqual(1);
    expect(q).toBeLessThan(8);
    expect(arrivalGridValues(slow, q)).toBeLessThanOrEqual(ARRIVAL_GRID_VALUES);
    expect(arrivalGridValues(slow, q + 1)).toBeGreaterThan(ARRIVAL_GRID_VALUES);
    const slowest = await InterferenceNetwork.create({ layers: [16, 4, 3], speed: 1e-9, backend: 'js' });
    expect(arrivalResolution(slowest, 8)).toBe(0);
    expect(arrivalGridValues(slowest, 1)).toBeGreaterThan(ARRIVAL_GRID_VALUES);
    slow.dispose();
    slowest.dispose();
  });
});

describe.each(BACKENDS)('arrivalTimes (%s backend)', (backend) => {
  it.each([
    { layers: [7, 5, 3], durations: 4, initScale: 1, seed: 61, renormalize: false },
    { layers: [12, 8, 4, 3], topology: 'causal', sequence: 4, durations: 3, initScale: 1, seed: 62, speed: 1, omega: 0.8, renormalize: false },
    { layers: [5, 4, 3], topology: 'local', radius: 0.5, durations: 2, initScale: 1, seed: 63, speed: 0.5, renormalize: false,
      positions: [[0, 0.25, 0.5, 0.75, 1], [0, 0.25, 0.75, 1], [0.25, 0.5, 0.75]] },
  ] as FfitOptions[])('Fourier-transformed at ω it equals the forward pass (%j)', async (options) => {
    const net = await InterferenceNetwork.create({ ...options, backend });
    const n0 = options.layers[0]!, C = options.layers[options.layers.length - 1]!;
    const { images } = randomData(options.seed!, 3, n0, C);
    const amps = net.amplitudes(images);
    for (let b = 0; b < 3; b++) {
      const { resolution: q, ticks, h } = net.arrivalTimes(images.subarray(b * n0, (b + 1) * n0), 4);
      expect(h.length).toBe(C * ticks);
      expect(h.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5); // flow is conserved
      for (let k = 0; k < C; k++) {
        let re = 0, im = 0;
        for (let t = 0; t < ticks; t++) {
          re += h[k * ticks + t]! * Math.cos((net.options.omega * t) / q);
          im -= h[k * ticks + t]! * Math.sin((net.options.omega * t) / q);
        }
        expect(re).toBeCloseTo(amps.re[b * C + k]!, 5);
        expect(im).toBeCloseTo(amps.im[b * C + k]!, 5);
      }
    }
    net.dispose();
  });
});

describe('energyOverPeriod and attentionEvents', () => {
  it('E(t) at the observation instant is the energy of the forward pass, and it oscillates', async () => {
    const net = await InterferenceNetwork.create({ layers: [8, 6, 3], initScale: 2, seed: 71 });
    const { images } = randomData(71, 1, 8, 3);
    const cycle = energyOverPeriod(net, images, 2, 32);
    expect(cycle.period).toBeCloseTo(4, 12); // 2π/ω with ω = 2π/D, D = 4
    expect(cycle.energy[0]).toBeCloseTo(net.energy(images, [2])[0]!, 6);
    expect(Math.max(...cycle.energy) - Math.min(...cycle.energy)).toBeGreaterThan(1e-6);
    net.dispose();
  });

  it('E(t*) is reported at the observation instant t*, wherever the samples fall', async () => {
    const net = await InterferenceNetwork.create({ layers: [8, 6, 3], initScale: 2, seed: 74, tStar: 1.3 });
    const { images } = randomData(74, 1, 8, 3);
    const cycle = energyOverPeriod(net, images, 1, 16);
    expect(cycle.window).toBe(cycle.period);
    expect(cycle.atTStar).toBeCloseTo(net.energy(images, [1])[0]!, 6);
    expect(Math.abs(cycle.energy[0]! - cycle.atTStar)).toBeGreaterThan(1e-6); // t = 0 is another instant
    net.dispose();
  });

  it('ω = 0: nothing oscillates, E(t) is constant over a window of one sample per tick, never NaN; the diagram says so', async () => {
    const net = await InterferenceNetwork.create({ layers: [8, 6, 3], initScale: 2, seed: 75, omega: 0 });
    const { images } = randomData(75, 1, 8, 3);
    const cycle = energyOverPeriod(net, images, 2, 32);
    expect(cycle.period).toBe(Infinity);
    expect(cycle.window).toBe(32);
    expect(Array.from(cycle.t)).toEqual(Array.from({ length: 32 }, (_, s) => s));
    const e = net.energy(images, [2])[0]!;
    for (const v of cycle.energy) expect(v).toBeCloseTo(e, 6);
    expect(cycle.atTStar).toBeCloseTo(e, 6);
    const svg = spaceTimeSvg(net, images, { label: 2 });
    expect(svg).not.toMatch(/NaN|Infinity|undefined/);
    expect(svg).toContain('target energy E(t): constant (ω = 0)');
    net.dispose();
  });

  it.each([
    { layers: [6, 5, 4, 2], durations: 3, initScale: 1, seed: 72 },
    { layers: [6, 6, 4, 2], topology: 'causal', sequence: 2, durations: 2, initScale: 1, seed: 73, speed: 0.9 },
  ] as FfitOptions[])('interaction energies equal −J Σ_{i<j} Re(c_i c̄_j) from the transfer matrices (%j)', async (options) => {
    const net = await InterferenceNetwork.create({ ...options, coupling: 0.7, backend: 'simd' });
    const rnd = testRandom(options.seed!);
    const image = Float32Array.from({ length: 6 }, (_, i) => (i === 4 ? 0 : 0.2 + rnd()));
    const total = image.reduce((s, v) => s + v, 0);
    const amps = net.meetings(image);
    // contributions c_i(v) of each source by explicit products of W (CSR), then renormalised
    let contributions: { re: number[]; im: number[] }[] = Array.from({ length: 6 }, (_, i) => {
      const re = new Array(6).fill(0), im = new Array(6).fill(0);
      re[i] = image[i]! / total;
      return { re, im };
    });
    for (let l = 0; l < 2; l++) {
      const w = net.transfer(l), t = net.routes(l), nOut = options.layers[l + 1]!;
      contributions = contributions.map(({ re, im }) => {
        const zr = new Array(nOut).fill(0), zi = new Array(nOut).fill(0);
        for (let u = 0; u < re.length; u++) {
          for (let j = t.offsets[u]!; j < t.offsets[u + 1]!; j++) {
            zr[t.targets[j]!] += re[u]! * w.re[j]! - im[u]! * w.im[j]!;
            zi[t.targets[j]!] += re[u]! * w.im[j]! + im[u]! * w.re[j]!;
          }
        }
        return { re: zr, im: zi };
      });
      const sumRe = contributions.reduce((s, x) => x.re.map((v, i) => v + s[i]!), new Array(nOut).fill(0));
      const sumIm = contributions.reduce((s, x) => x.im.map((v, i) => v + s[i]!), new Array(nOut).fill(0));
      const norm = 1 / sumRe.reduce((s, v, i) => s + Math.hypot(v, sumIm[i]!), 0);
      contributions = contributions.map(({ re, im }) => ({ re: re.map((v) => v * norm), im: im.map((v) => v * norm) }));
      const m = amps[l]!;
      expect(m.layer).toBe(l + 1);
      for (let v = 0; v < nOut; v++) {
        expect(m.re[v]).toBeCloseTo(sumRe[v]! * norm, 5);
        let pair = 0, lit = 0;
        for (let i = 0; i < 6; i++) {
          const ci = contributions[i]!;
          if (ci.re[v] !== 0 || ci.im[v] !== 0) lit++;
          for (let j = i + 1; j < 6; j++) pair += ci.re[v]! * contributions[j]!.re[v]! + ci.im[v]! * contributions[j]!.im[v]!;
        }
        expect(m.sources[v]).toBe(lit);
        const z2 = m.re[v]! ** 2 + m.im[v]! ** 2;
        expect(-0.35 * (z2 - m.incoherent[v]!)).toBeCloseTo(-0.7 * pair, 6);
      }
    }
    const events = attentionEvents(net, image, 5);
    expect(events.length).toBe(5);
    for (let e = 1; e < events.length; e++) expect(events[e]!.interaction).toBeGreaterThanOrEqual(events[e - 1]!.interaction);
    expect(events.every((e) => e.sources >= 2)).toBe(true);
    net.dispose();
  });
});

describe('spaceTimeSvg', () => {
  it('draws the requested worldlines per target, the targets\' field and E(t), with a cyclic phase colour', async () => {
    const net = await InterferenceNetwork.create({ layers: [12, 8, 4, 3], topology: 'causal', sequence: 4, initScale: 1, seed: 81 });
    const { images } = randomData(81, 1, 12, 3);
    const svg = spaceTimeSvg(net, images, { label: 1, perTarget: 5, events: 3 });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<polyline /g)!.length).toBe(15);
    expect(svg.match(/h=\+1/g)!.length).toBe(1);
    expect(svg.match(/self-attention event: /g)!.length).toBe(3);
    expect(svg).toContain('E(t)');
    expect(svg).not.toMatch(/NaN|undefined/);
    await expectFfit(() => spaceTimeSvg(net, undefined as never), 'E_SHAPE', 'images must be a flat typed array', 'got undefined');
    await expectFfit(() => spaceTimeSvg(net, images.map((v, i) => (i === 3 ? -1 : v))), 'E_INPUT', 'The image cannot be a source: value 3 is -1');
    await expectFfit(() => spaceTimeSvg(net, images, { classNames: ['a'] }), 'E_OPTION', 'classNames must list 3 names, one per target');
    await expectFfit(() => spaceTimeSvg(net, images, { perTarget: 0 }), 'E_OPTION', 'perTarget must be an integer from 1 to 1000');
    expect(phaseColour(-Math.PI)).toBe(phaseColour(Math.PI));
    expect(phaseColour(0)).not.toBe(phaseColour(Math.PI));
    net.dispose();
  });
});
