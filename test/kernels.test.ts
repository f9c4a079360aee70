// The SIMD, scalar and JS backends agree (DESIGN.md §2–§5 computed three ways).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createBackend } from '../src/backend/index.js';
import { FfitError } from '../src/errors.js';
import { InterferenceNetwork } from '../src/network.js';
import { resolveOptions, sitePositions, type FfitOptions } from '../src/options.js';
import { buildRoutes, connected, countRoutes } from '../src/topology.js';
import { perBackend, randomData } from './helpers/nets.js';
import { relErr, testRandom } from './helpers/oracle.js';

// Odd sizes (never multiples of 4) exercise the scalar tails of every SIMD loop.
const CASES: FfitOptions[] = [
  { layers: [7, 5, 3], durations: 4, initScale: 1, seed: 1 },
  { layers: [13, 9, 6, 3], durations: 3, initScale: 1.5, seed: 2 },
  { layers: [11, 2], durations: 1, initScale: 2, seed: 3 },
  { layers: [9, 7, 5], durations: 8, initScale: 1, seed: 4, speed: 0.37, tStar: 0.6 },
  { layers: [6, 5, 7, 3], durations: 5, initScale: 1, seed: 5, response: 'ising', kappa: 30 },
  { layers: [10, 6, 4], durations: 4, initScale: 1, seed: 6, objective: 'field', beta: 7, omega: 1.1 },
  { layers: [21, 14, 7, 3], topology: 'causal', sequence: 7, durations: 4, initScale: 1, seed: 7, speed: 0.9 },
  { layers: [15, 9, 5], topology: 'local', radius: 0.3, durations: 3, initScale: 1, seed: 8, response: 'ising', kappa: 20 },
  { layers: [6, 5, 3], topology: 'local', radius: 0.5, durations: 5, initScale: 1, seed: 9, speed: 0.4,
    positions: [[0.9, 0.1, 0.5, 0.3, 0.7, 0.2], [0.6, 0, 1, 0.4, 0.2], [0.3, 0.8, 0.5]] },
  // wide enough for the 16-column tiles, the D = 1 and D = 4 vector paths and complex hidden amplitudes
  { layers: [41, 37, 19, 3], durations: 1, initScale: 1, seed: 7, speed: 0.8 },
  { layers: [38, 35, 21, 5], durations: 4, initScale: 1, seed: 8, response: 'ising', kappa: 20 },
  { layers: [19, 18, 3], durations: 8, initScale: 2, seed: 9, tStar: 0.3 },
  // next-layer widths that are multiples of 8: learn's two-site gains path (odd and even site counts)
  { layers: [21, 16, 3], durations: 4, initScale: 1, seed: 11, speed: 0.6, tStar: 0.4 },
  { layers: [22, 8, 3], durations: 3, initScale: 1, seed: 12 },
  // more than 128 source sites: forward runs W in several blocks of rows
  { layers: [300, 21, 3], durations: 2, initScale: 1, seed: 10 },
];

describe.each(CASES)('backends agree on %j', (options) => {
  it('route probabilities are on the simplex and agree', async () => {
    const nets = await perBackend(options);
    const D = options.durations!;
    for (const net of nets) {
      for (let l = 0; l + 1 < options.layers.length; l++) {
        const p = net.probabilities(l);
        const { offsets } = net.routes(l);
        for (let u = 0; u < options.layers[l]!; u++) {
          const row = p.subarray(offsets[u]! * D, offsets[u + 1]! * D);
          expect(row.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
          expect(Math.min(...row)).toBeGreaterThan(0);
        }
        expect(relErr(p, nets[2]!.probabilities(l))).toBeLessThan(1e-6);
        const w = net.transfer(l), ref = nets[2]!.transfer(l);
        expect(relErr(w.re, ref.re)).toBeLessThan(1e-5);
        expect(relErr(w.im, ref.im)).toBeLessThan(1e-5);
      }
      for (let l = 1; l < options.layers.length; l++) {
        const g = net.propagators(l), ref = nets[2]!.propagators(l);
        expect(relErr(g.re, ref.re)).toBeLessThan(1e-5);
        expect(relErr(g.im, ref.im)).toBeLessThan(1e-5);
      }
    }
    nets.forEach((n) => n.dispose());
  });

  it('moments, probabilities and gains agree within 1e-5', async () => {
    const nets = await perBackend(options);
    const C = options.layers[options.layers.length - 1]!;
    const { images, labels } = randomData(options.seed! + 100, 9, options.layers[0]!, C);
    const [simd, scalar, js] = nets.map((n) => ({
      moments: n.moments(images),
      proba: n.predictProba(images),
      gains: n.gains(images, labels),
      energy: n.energy(images, labels),
    }));
    for (const got of [simd!, scalar!]) {
      expect(relErr(got.moments, js!.moments)).toBeLessThan(1e-5);
      expect(relErr(got.proba, js!.proba)).toBeLessThan(1e-5);
      expect(relErr(got.energy, js!.energy)).toBeLessThan(1e-5);
      got.gains.forEach((g, l) => expect(relErr(g, js!.gains[l]!)).toBeLessThan(1e-5));
    }
    // the gains are not trivially zero
    expect(Math.max(...js!.gains[0]!.map(Math.abs))).toBeGreaterThan(1e-4);
    nets.forEach((n) => n.dispose());
  });

  it('training steps move the logits identically', async () => {
    const nets = await perBackend({ ...options, eta: 0.5, batchSize: 4 });
    const C = options.layers[options.layers.length - 1]!;
    const { images, labels } = randomData(options.seed! + 200, 12, options.layers[0]!, C);
    const initial = options.layers.slice(1).map((_, l) => nets[2]!.logits(l));
    for (const net of nets) net.fit({ images, labels }, { epochs: 2, schedule: 'constant' });
    for (let l = 0; l + 1 < options.layers.length; l++) {
      const ref = nets[2]!.logits(l);
      expect(relErr(ref, initial[l]!)).toBeGreaterThan(1e-3); // the update did something
      for (const net of nets.slice(0, 2)) expect(relErr(net.logits(l), ref)).toBeLessThan(1e-4);
    }
    nets.forEach((n) => n.dispose());
  });
});

describe('staged training images', () => {
  it.each(['simd', 'scalar', 'js'] as const)('Uint8Array pixels and the same values as Float32Array train identically (%s)', async (backend) => {
    const options: FfitOptions = { layers: [50, 20, 3], durations: 4, seed: 31, batchSize: 7, backend };
    const { labels } = randomData(31, 40, 50, 3);
    const pixels = Uint8Array.from({ length: 40 * 50 }, (_, i) => ((i * 7919) % 251) * (i % 3 === 0 ? 0 : 1) + (i % 50 === 0 ? 1 : 0));
    const [u8, f32] = await Promise.all([InterferenceNetwork.create(options), InterferenceNetwork.create(options)]);
    u8.fit({ images: pixels, labels }, { epochs: 2 });
    f32.fit({ images: Float32Array.from(pixels), labels }, { epochs: 2 });
    expect(u8.logits(0)).toEqual(f32.logits(0));
    expect(u8.logits(1)).toEqual(f32.logits(1));
    // the staged batches are the images one trainBatch call at a time would copy in
    const manual = await InterferenceNetwork.create(options);
    const staged = await InterferenceNetwork.create(options);
    staged.fit({ images: pixels, labels }, { epochs: 1, shuffle: false, schedule: 'constant' });
    for (let start = 0; start < 40; start += 7) {
      manual.trainBatch(pixels, labels, Array.from({ length: Math.min(7, 40 - start) }, (_, b) => start + b));
    }
    expect(staged.logits(0)).toEqual(manual.logits(0));
    const fresh = await InterferenceNetwork.create(options);
    expect(relErr(u8.logits(0), fresh.logits(0))).toBeGreaterThan(1e-3); // training did something
    [u8, f32, manual, staged, fresh].forEach((n) => n.dispose());
  });
});

describe('staged images after a fit that threw', () => {
  it('are read afresh by trainBatch once the caller has changed the same array in place', async () => {
    const options: FfitOptions = { layers: [50, 8, 3], durations: 2, seed: 5, batchSize: 4 };
    const { labels } = randomData(5, 12, 50, 3);
    const pixels = Uint8Array.from({ length: 12 * 50 }, (_, i) => 1 + (i % 7));
    const blank = 9;
    const saved = pixels.slice(blank * 50, (blank + 1) * 50);
    pixels.fill(0, blank * 50, (blank + 1) * 50);
    const net = await InterferenceNetwork.create(options);
    const untrained = net.logits(0);
    expect(() => net.fit({ images: pixels, labels }, { epochs: 1, shuffle: false })).toThrow(/Image 9 cannot be a source: .*blank/);
    // found before the first batch: the batches before image 9 did not train either
    expect(net.logits(0)).toEqual(untrained);
    pixels.set(saved, blank * 50); // the caller fixes the image in place
    // until fit forgot its copy on the way out, this read the blank copy and threw again
    const m = net.trainBatch(pixels, labels, [blank, 1]);
    expect(m.count).toBe(2);
    // and it trains on the new pixels: the same step as on a fresh array with the same values
    const twin = await InterferenceNetwork.create(options);
    expect(() => twin.fit({ images: pixels.slice().fill(0, blank * 50, (blank + 1) * 50), labels }, { epochs: 1, shuffle: false })).toThrow(/Image 9 /);
    twin.trainBatch(pixels.slice(), labels, [blank, 1]);
    expect(net.logits(0)).toEqual(twin.logits(0));
    [net, twin].forEach((n) => n.dispose());
  });

  it('are checked up front also when memory is too short to stage them (the batches then copy their images)', async () => {
    const options: FfitOptions = { layers: [50, 8, 3], durations: 2, seed: 5, batchSize: 4 };
    const { labels } = randomData(5, 12, 50, 3);
    const pixels = Uint8Array.from({ length: 12 * 50 }, (_, i) => 1 + (i % 7)).fill(0, 9 * 50, 10 * 50);
    const net = await InterferenceNetwork.create(options);
    // the staging buffer (150 words) cannot be had; the network's own buffers (at most 24 words) can
    const be = (net as unknown as { backend: { i32(n: number): unknown } }).backend, i32 = be.i32.bind(be);
    be.i32 = (n: number) => {
      if (n >= 100) throw new FfitError('E_MEMORY', 'no room (test)');
      return i32(n);
    };
    const untrained = net.logits(0);
    expect(() => net.fit({ images: pixels, labels }, { epochs: 1, shuffle: false })).toThrow(/Image 9 cannot be a source: .*blank/);
    expect(net.logits(0)).toEqual(untrained);
    net.dispose();
  });

  it('a blank image in the test or validation set is refused, named by its set, before anything trains', async () => {
    const options: FfitOptions = { layers: [50, 8, 3], durations: 2, seed: 5, batchSize: 4 };
    const { labels } = randomData(5, 12, 50, 3);
    const pixels = Uint8Array.from({ length: 12 * 50 }, (_, i) => 1 + (i % 7));
    const bad = pixels.slice(0, 6 * 50).fill(0, 5 * 50, 6 * 50);
    const net = await InterferenceNetwork.create(options);
    const untrained = net.logits(0);
    for (const what of ['test', 'validation'] as const) {
      expect(() => net.fit({ images: pixels, labels }, { epochs: 1, [what]: { images: bad, labels: labels.slice(0, 6) } }))
        .toThrow(new RegExp(`^In the ${what} set: Image 5 cannot be a source: it is blank`));
      expect(net.logits(0)).toEqual(untrained);
    }
    net.dispose();
  });
});

describe('forward of a narrow layer with complex sources (no compaction on SIMD)', () => {
  it('equals the scalar build bit for bit, zero and −0 sources included, and the JS reference to rounding', async () => {
    const [simd, scalar, js] = await Promise.all([createBackend('simd'), createBackend('scalar'), createBackend('js')]);
    const rnd = testRandom(17);
    // [nIn, nOut, batch]: 4 to 16 columns (the direct pass), 20 (tiles and compaction as before),
    // batches not a multiple of 4, more than 128 sites (several row blocks on the compacting path)
    for (const [nIn, nOut, batch] of [[256, 4, 32], [64, 4, 7], [37, 8, 5], [130, 16, 9], [64, 12, 33], [50, 20, 6], [3, 4, 1]] as const) {
      const aRe = Float32Array.from({ length: batch * nIn }, () => (rnd() < 0.3 ? 0 : rnd() - 0.5));
      const aIm = Float32Array.from(aRe, (x, i) => (x === 0 ? (i % 3 === 0 ? -0 : 0) : rnd() - 0.5));
      aRe[1] = 0; aIm[1] = 0.25; // a purely imaginary source is not skipped
      const wRe = Float32Array.from({ length: nIn * nOut }, () => rnd() - 0.5);
      const wIm = Float32Array.from({ length: nIn * nOut }, () => rnd() - 0.5);
      const out = [simd, scalar, js].map((be) => {
        const put = (v: Float32Array) => { const b = be.f32(v.length); be.view(b).set(v); return b; };
        const ar = put(aRe), ai = put(aIm), w = { re: put(wRe), im: put(wIm) };
        const z = { re: be.f32(batch * nOut), im: be.f32(batch * nOut) };
        be.view(z.re).fill(Number.NaN); // overwritten, never added to
        be.forward(ar, ai, batch, nIn, w, nOut, z);
        const r = [...be.view(z.re), ...be.view(z.im)];
        for (const b of [ar, ai, w.re, w.im, z.re, z.im]) be.release(b);
        return Float32Array.from(r);
      });
      expect(Array.from(out[0]!), `${nIn}→${nOut}, batch ${batch}`).toEqual(Array.from(out[1]!));
      expect(relErr(out[0]!, out[2]!)).toBeLessThan(1e-5);
    }
    for (const be of [simd, scalar, js]) be.dispose?.();
  });
});

describe('load: byte images made into sources in one pass', () => {
  it.each(['simd', 'scalar'] as const)('equal gather + sources bit for bit, below and above the exact-sum size, and name a dark image (%s)', async (name) => {
    const be = await createBackend(name);
    try {
      // 784: the one-pass path; 70 001: 255·n ≥ 2^24, so the kernel goes through x as before
      for (const n of [784, 70_001]) {
        const count = 3, bytes = new Uint8Array(count * n);
        for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) % 257 < 200 ? (i * 31) % 256 : 0;
        const images = be.i32(Math.ceil(bytes.length / 4));
        new Uint8Array(be.viewI32(images).buffer, be.viewI32(images).byteOffset, bytes.length).set(bytes);
        const rows = be.i32(count);
        be.viewI32(rows).set([2, 0, 1]);
        const x = be.f32(count * n), a = be.f32(count * n), x2 = be.f32(count * n), a2 = be.f32(count * n);
        expect(be.load(images, true, rows, count, n, x, a)).toBe(-1);
        be.gather(images, true, rows, count, n, x2);
        expect(be.sources(x2, count, n, a2)).toBe(-1);
        expect(Array.from(be.view(a))).toEqual(Array.from(be.view(a2)));
        expect(be.view(a)[0]).toBeGreaterThan(0);
        // image 0, second in this batch, made dark: reported by its position in the batch
        new Uint8Array(be.viewI32(images).buffer, be.viewI32(images).byteOffset + n * 0, n).fill(0);
        expect(be.load(images, true, rows, count, n, x, a)).toBe(1);
      }
    } finally {
      be.dispose();
    }
  });
});

// Sparse kernels on a topology whose routes happen to be all pairs must reproduce the dense kernels.
describe.each([
  { topology: 'local', radius: 2 },
  { topology: 'causal', sequence: 1 },
] as const)('sparse kernels agree with dense ones where the topology is dense (%j)', (topo) => {
  it.each(['simd', 'scalar', 'js'] as const)('on %s', async (backend) => {
    const base: FfitOptions = { layers: [13, 7, 5, 3], durations: 4, initScale: 1, seed: 41, speed: 0.8, tStar: 0.2, backend };
    const [dense, sparse] = await Promise.all([{ ...base, ...topo, topology: 'dense' as const }, { ...base, ...topo }].map((o) => InterferenceNetwork.create(o)));
    expect(sparse.routes(0).count).toBe(13 * 7);
    const { images, labels } = randomData(41, 10, 13, 3);
    expect(relErr(sparse.moments(images), dense.moments(images))).toBeLessThan(1e-6);
    const gs = sparse.gains(images, labels), gd = dense.gains(images, labels);
    gs.forEach((g, l) => expect(relErr(g, gd[l]!)).toBeLessThan(1e-5));
    for (const net of [dense, sparse]) net.fit({ images, labels }, { epochs: 2, schedule: 'constant' });
    for (let l = 0; l < 3; l++) {
      expect(relErr(sparse.logits(l), dense.logits(l))).toBeLessThan(1e-5);
      expect(relErr(sparse.propagators(l + 1).re, dense.propagators(l + 1).re)).toBeLessThan(1e-5);
    }
    expect(sparse.routeEntropy()[0]!).toBeCloseTo(dense.routeEntropy()[0]!, 5);
    dense.dispose();
    sparse.dispose();
  });
});

describe('sparse topologies store only their routes', () => {
  it('a causal lattice over 28 positions keeps the same-or-later pairs', async () => {
    const net = await InterferenceNetwork.create({ layers: [784, 56, 4], topology: 'causal', sequence: 28 });
    // sources at row r reach hidden sites at positions ≥ r: 2 per position → 2·(28 − r) routes each
    expect(net.routes(0).count).toBe(28 * Array.from({ length: 28 }, (_, r) => 2 * (28 - r)).reduce((a, b) => a + b));
    expect(net.routes(1).count).toBe(56 * 4);
    expect(net.logits(0).length).toBe(net.routes(0).count * 4);
    net.dispose();
  });

  it('a trained sparse lattice survives toJSON / fromJSON bit for bit', async () => {
    const net = await InterferenceNetwork.create({ layers: [12, 8, 3], topology: 'causal', sequence: 4, speed: 0.5, seed: 3, renormalize: true });
    const { images, labels } = randomData(3, 20, 12, 3);
    net.fit({ images, labels }, { epochs: 2 });
    const json = net.toJSON();
    const back = await InterferenceNetwork.fromJSON(JSON.stringify(json));
    expect(back.options.topology).toBe('causal');
    expect(back.options.renormalize).toBe(true);
    expect(Array.from(back.moments(images))).toEqual(Array.from(net.moments(images)));
    for (const n of [net, back]) n.dispose();
  });

  it('a version-1 file (from before `renormalize` existed) of a deep lattice loads without it', async () => {
    const net = await InterferenceNetwork.create({ layers: [12, 8, 6, 3], seed: 3, renormalize: false });
    const { images } = randomData(3, 5, 12, 3);
    const { renormalize: _r, backend: _b, speed: _s, ...options } = net.options;
    const v1 = {
      format: 'ffit-model', version: 1, examplesSeen: 0,
      options: { ...options, speed: 'Infinity' },
      logits: net.toJSON().logits.map((l) => l.data),
    };
    const legacy = await InterferenceNetwork.fromJSON(JSON.stringify(v1));
    expect(legacy.options.renormalize).toBe(false); // "auto" would switch it on for two hidden layers
    expect(Array.from(legacy.moments(images))).toEqual(Array.from(net.moments(images)));
    for (const n of [net, legacy]) n.dispose();
  });

  it('a site without routes is an E_OPTION error naming the fix', async () => {
    await expect(InterferenceNetwork.create({ layers: [9, 3, 2], topology: 'local', radius: 0.1 })).rejects.toMatchObject({ code: 'E_OPTION', message: /increase radius/ });
    await expect(InterferenceNetwork.create({ layers: [9, 3, 2], topology: 'causal' })).rejects.toMatchObject({ code: 'E_OPTION', message: /sequence/ });
    await expect(InterferenceNetwork.create({ layers: [9, 4, 2], sequence: 3 })).rejects.toMatchObject({ code: 'E_OPTION', message: /multiple of 3/ });
  });
});

describe('backend selection', () => {
  it('auto picks simd on Node 20 and reports it', async () => {
    const net = await InterferenceNetwork.create({ layers: [4, 2] });
    expect(net.backendName).toBe('simd');
    net.dispose();
  });

  it('an unknown backend is an E_OPTION error', async () => {
    await expect(InterferenceNetwork.create({ layers: [4, 2], backend: 'gpu' as never })).rejects.toMatchObject({ code: 'E_OPTION' });
  });
});

describe('route tables are built from sorted positions, not by testing every pair', () => {
  // the tables (and the counts that size memory before any table exists) equal the brute-force
  // definition: every pair (u, v) that `connected` keeps, ascending v per site, ≥ 1 route per site
  const position = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.double({ min: -2, max: 2, noNaN: true }));
  it('equal brute force over all pairs for causal and local lattices with any positions (ties, unordered)', () => {
    fc.assert(fc.property(
      fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 2, maxLength: 4 }), fc.constantFrom('causal', 'local'),
      fc.double({ min: 0.05, max: 3, noNaN: true }), fc.boolean(), fc.infiniteStream(position),
      (sizes, topology, radius, given, stream) => {
        const layers = [...sizes, 2];
        const it = stream[Symbol.iterator]();
        const positions = given || topology === 'causal' ? layers.map((n) => Array.from({ length: n }, () => it.next().value as number)) : undefined;
        const o = resolveOptions({ layers, topology, radius, positions });
        for (let l = 0; l + 1 < layers.length; l++) {
          const pu = sitePositions(o, l), pv = sitePositions(o, l + 1);
          const rows = pu.map((p) => pv.flatMap((q, v) => (connected(o, p, q) ? [v] : [])));
          if (rows.some((r) => r.length === 0)) {
            const u = rows.findIndex((r) => r.length === 0);
            expect(() => buildRoutes(o, l)).toThrow(`Site ${u} of layer ${l} `);
            expect(() => countRoutes(o, l)).toThrow(`Site ${u} of layer ${l} `);
            return;
          }
          const t = buildRoutes(o, l);
          expect(Array.from(t.targets)).toEqual(rows.flat());
          expect(Array.from(t.offsets)).toEqual([0, ...rows.map((_, u) => rows.slice(0, u + 1).flat().length)]);
          expect(countRoutes(o, l)).toBe(t.count);
        }
      }), { numRuns: 300, seed: 11 });
  });

  it('counts the routes of a huge sequence lattice in closed form without building it', () => {
    // 28 positions, 400 000 hidden sites per position: a source at row i reaches rows i … 27
    const o = resolveOptions({ layers: [784, 28 * 400000, 4], topology: 'causal', sequence: 28 });
    expect(countRoutes(o, 0)).toBe(28 * 400000 * (28 * 29) / 2);
    expect(countRoutes(o, 1)).toBe(28 * 400000 * 4);
  });
});
