// Property-based fuzzing (fast-check) of everything a user can hand to ffit: random lattices and
// options, random inputs and labels, corrupted model files and IDX files. The only exception ever
// allowed out is ffit's own FfitError (a WebAssembly trap is a RuntimeError and fails the property);
// outputs are never NaN; probabilities stay on the simplex; memory is returned after dispose().
// Bounded and reproducible: a fixed seed and a fixed number of runs per property.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { gzipSync } from 'fflate';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fromIdx } from '../src/data/dataset.js';
import { encodeIdx, parseImages, parseLabels } from '../src/data/idx.js';
import { FfitError } from '../src/errors.js';
import { decodeModel, type ModelJSON } from '../src/model-format.js';
import { InterferenceNetwork } from '../src/network.js';
import type { FfitOptions } from '../src/options.js';
import { BACKENDS, randomData } from './helpers/nets.js';

/** Fixed seed: a failure reproduces exactly (fast-check prints the counterexample and its path). */
const SEED = 20_261_130;
const runs = (numRuns: number) => ({ seed: SEED, numRuns });

type Attempt<T> = { ok: true; value: T } | { ok: false; error: FfitError };

/** Runs `fn`; an FfitError is an allowed outcome, any other exception fails the property. */
async function attempt<T>(fn: () => T | Promise<T>): Promise<Attempt<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (e) {
    if (e instanceof FfitError) return { ok: false, error: e };
    throw new Error(`not an FfitError: ${String(e)}`, { cause: e });
  }
}

const finite = (a: ArrayLike<number>) => Array.prototype.every.call(a, (x: number) => Number.isFinite(x));

/** Rows of `C` probabilities: finite, in [0, 1], summing to 1. */
function expectSimplex(p: Float32Array, C: number): void {
  expect(finite(p)).toBe(true);
  for (let b = 0; b < p.length / C; b++) {
    let s = 0;
    for (let k = 0; k < C; k++) {
      expect(p[b * C + k]!).toBeGreaterThanOrEqual(0);
      s += p[b * C + k]!;
    }
    expect(Math.abs(s - 1)).toBeLessThan(1e-5);
  }
}

/** A number option: mostly in its valid range, sometimes any double, an edge value or not a number at all. */
const numberOption = (valid: fc.Arbitrary<number>) => fc.oneof(
  { weight: 40, arbitrary: valid },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.constantFrom(0, -1, Number.NaN, Infinity, -Infinity, 1e300, -0, 5e-324) },
  { weight: 1, arbitrary: fc.anything() },
);

const optionsArb: fc.Arbitrary<Record<string, unknown>> = fc.record({
  layers: fc.oneof(
    { weight: 20, arbitrary: fc.array(fc.oneof({ weight: 30, arbitrary: fc.integer({ min: 1, max: 9 }) }, { weight: 1, arbitrary: fc.constantFrom(0, -2, 2.5, Number.NaN, 2 ** 25, '4', null) }), { minLength: 2, maxLength: 4 }) },
    { weight: 1, arbitrary: fc.anything() },
  ),
  durations: fc.oneof({ weight: 20, arbitrary: fc.integer({ min: 1, max: 6 }) }, { weight: 1, arbitrary: fc.constantFrom(0, 1.5, 1025, -3, Number.NaN, '4') }),
  speed: numberOption(fc.oneof(fc.double({ min: 1e-9, max: 1e3, noNaN: true }), fc.constant(Infinity))),
  omega: numberOption(fc.double({ min: -10, max: 10, noNaN: true })),
  tStar: numberOption(fc.double({ min: -1e9, max: 1e9, noNaN: true })),
  beta: numberOption(fc.double({ min: 1e-6, max: 1e6, noNaN: true })),
  eta: numberOption(fc.double({ min: 0, max: 1e12, noNaN: true })),
  batchSize: fc.oneof({ weight: 20, arbitrary: fc.integer({ min: 1, max: 8 }) }, { weight: 1, arbitrary: fc.constantFrom(0, 2.5, 65537, -1, '8') }),
  objective: fc.oneof({ weight: 20, arbitrary: fc.constantFrom('boltzmann', 'field') }, { weight: 1, arbitrary: fc.constantFrom('energy', 1) }),
  response: fc.oneof({ weight: 20, arbitrary: fc.constantFrom('linear', 'ising') }, { weight: 1, arbitrary: fc.constant('relu') }),
  kappa: numberOption(fc.double({ min: 1e-6, max: 1e6, noNaN: true })),
  coupling: numberOption(fc.double({ min: 0, max: 1e6, noNaN: true })),
  initScale: numberOption(fc.double({ min: 0, max: 80, noNaN: true })),
  seed: fc.oneof({ weight: 20, arbitrary: fc.integer({ min: -(2 ** 31) + 1, max: 2 ** 31 - 1 }) }, { weight: 1, arbitrary: fc.double() }),
  backend: fc.oneof({ weight: 20, arbitrary: fc.constantFrom('simd', 'scalar', 'js', 'auto') }, { weight: 1, arbitrary: fc.constant('gpu') }),
  positions: fc.oneof({ weight: 20, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.anything() }),
}, { requiredKeys: ['layers'] });

describe('random lattices and options', () => {
  it('create() either throws an FfitError or gives a network that trains to finite, normalised outputs', async () => {
    let built = 0;
    await fc.assert(fc.asyncProperty(optionsArb, fc.integer({ min: 0, max: 1000 }), async (options, dataSeed) => {
      const r = await attempt(() => InterferenceNetwork.create(options as unknown as FfitOptions));
      if (!r.ok) return;
      built++;
      const net = r.value;
      try {
        const n0 = net.options.layers[0]!, C = net.classes;
        const { images, labels } = randomData(dataSeed, 3, n0, C);
        const m = net.trainBatch(images, labels);
        expect(finite([m.energy, m.loss, m.momentY])).toBe(true);
        expectSimplex(net.predictProba(images), C);
        expect(finite(net.moments(images))).toBe(true);
        expect(finite(net.energy(images, labels))).toBe(true);
        for (let l = 0; l + 1 < net.options.layers.length; l++) expect(finite(net.logits(l))).toBe(true);
      } finally {
        net.dispose();
      }
    }), runs(150));
    expect(built).toBeGreaterThan(30); // the generator reaches valid lattices, not only errors
  });
});

/** A pixel: mostly a valid intensity, sometimes zero, any double, an edge value or not a number. */
const pixel = fc.oneof(
  { weight: 60, arbitrary: fc.double({ min: 0, max: 255, noNaN: true }) },
  { weight: 10, arbitrary: fc.constant(0) },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.constantFrom(Number.NaN, Infinity, -1, 1e39, 1e-45, -0, 3e38) },
  { weight: 1, arbitrary: fc.anything() },
);

const N0 = 5, C = 2;
const batchArb = fc.integer({ min: 0, max: 5 }).chain((count) => fc.record({
  images: fc.oneof(
    { weight: 10, arbitrary: fc.array(pixel, { minLength: count * N0, maxLength: count * N0 }) },
    { weight: 1, arbitrary: fc.array(pixel, { maxLength: 30 }) },
    { weight: 1, arbitrary: fc.anything() },
  ),
  kind: fc.constantFrom('array', 'float64', 'float32', 'uint8'),
  labels: fc.oneof(
    { weight: 10, arbitrary: fc.array(fc.integer({ min: 0, max: C - 1 }), { minLength: count, maxLength: count }) },
    { weight: 1, arbitrary: fc.array(fc.oneof(fc.integer({ min: -2, max: 4 }), fc.double(), fc.anything()), { maxLength: 6 }) },
    { weight: 1, arbitrary: fc.anything() },
  ),
  rows: fc.option(fc.array(fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: Math.max(count - 1, 0) }) }, { weight: 1, arbitrary: fc.anything() }), { maxLength: 4 })),
  method: fc.constantFrom('predict', 'predictProba', 'moments', 'amplitudes', 'energy', 'evaluate', 'gains', 'trainBatch', 'fit'),
}));

/** The images in the requested container (typed arrays only when every value is a number). */
function container(images: unknown, kind: string): unknown {
  if (!Array.isArray(images) || kind === 'array' || !images.every((x) => typeof x === 'number')) return images;
  return kind === 'float64' ? Float64Array.from(images) : kind === 'float32' ? Float32Array.from(images) : Uint8Array.from(images);
}

describe.each(BACKENDS)('random inputs on the %s backend', (backend) => {
  it('every method either throws an FfitError or returns finite results; a refused call leaves the network intact', async () => {
    const net = await InterferenceNetwork.create({ layers: [N0, 3, C], durations: 3, batchSize: 2, backend, seed: 4 });
    const probe = Float32Array.of(1, 2, 3, 4, 5);
    let answered = 0;
    await fc.assert(fc.asyncProperty(batchArb, async ({ images: raw, kind, labels, rows, method }) => {
      const images = container(raw, kind) as Float32Array, y = labels as number[];
      const r = await attempt(() => {
        switch (method) {
          case 'predict': return net.predict(images);
          case 'predictProba': return net.predictProba(images);
          case 'moments': return net.moments(images);
          case 'amplitudes': return net.amplitudes(images);
          case 'energy': return net.energy(images, y);
          case 'evaluate': return net.evaluate(images, y);
          case 'gains': return net.gains(images, y);
          case 'trainBatch': return rows ? net.trainBatch(images, y, rows as number[]) : net.trainBatch(images, y);
          default: return net.fit({ images, labels: y }, { epochs: 2 });
        }
      });
      if (r.ok) {
        answered++;
        const v = r.value as unknown;
        if (method === 'predictProba') expectSimplex(v as Float32Array, C);
        else if (method === 'predict') expect(Array.from(v as Int32Array).every((k) => k >= 0 && k < C)).toBe(true);
        else if (method === 'amplitudes') expect(finite((v as { re: Float32Array }).re) && finite((v as { im: Float32Array }).im)).toBe(true);
        else if (method === 'gains') expect((v as Float32Array[]).every(finite)).toBe(true);
        else if (method === 'evaluate') {
          const e = v as { accuracy: number; energy: number; loss: number };
          expect(finite([e.accuracy, e.energy, e.loss])).toBe(true);
        } else if (method === 'trainBatch') {
          const m = v as { energy: number; loss: number; momentY: number };
          expect(finite([m.energy, m.loss, m.momentY])).toBe(true);
        } else if (method === 'fit') {
          expect((v as { trainLoss: number; trainEnergy: number }[]).every((e) => finite([e.trainLoss, e.trainEnergy]))).toBe(true);
        } else expect(finite(v as Float32Array)).toBe(true);
      }
      // whatever happened, the network still answers, and its logits are finite
      expectSimplex(net.predictProba(probe), C);
      expect(finite(net.logits(0)) && finite(net.logits(1))).toBe(true);
    }), runs(250));
    expect(answered).toBeGreaterThan(30);
    net.dispose();
  });

  it('repeated calls of every size reuse memory: WebAssembly memory stops growing', async () => {
    const net = await InterferenceNetwork.create({ layers: [40, 12, 3], durations: 4, batchSize: 8, backend });
    const sizes = [1, 300, 7, 64, 513, 2, 256, 1000];
    const round = () => {
      for (const n of sizes) {
        const { images, labels } = randomData(n, n, 40, 3);
        net.trainBatch(images, labels);
        net.gains(images.subarray(0, 40 * Math.min(n, 9)), labels.subarray(0, Math.min(n, 9)));
        net.predictProba(images);
      }
    };
    round();
    const after1 = net.memoryBytes;
    for (let i = 0; i < 5; i++) round();
    expect(net.memoryBytes).toBe(after1);
    net.dispose();
    expect(net.memoryBytes).toBe(0);
  });
});

describe('corrupted model files', () => {
  const modelText = async () => {
    const net = await InterferenceNetwork.create({ layers: [6, 4, 3], durations: 2, seed: 8, batchSize: 3 });
    const { images, labels } = randomData(3, 9, 6, 3);
    net.fit({ images, labels }, { epochs: 2 });
    const text = JSON.stringify(net.toJSON({ classes: [0, 1, 2], note: 'fuzz' }, { accuracy: 0.5 }));
    net.dispose();
    return text;
  };
  const MODEL_CODES = ['E_MODEL', 'E_MODEL_CHECKSUM', 'E_MODEL_VERSION'];

  const edit = fc.oneof(
    fc.record({ kind: fc.constant('replace'), at: fc.nat(), s: fc.oneof(fc.constantFrom(...'0123456789{}[]",:abcAZ+/= -.e\n'.split('')), fc.string({ minLength: 1, maxLength: 1 })) }),
    fc.record({ kind: fc.constant('insert'), at: fc.nat(), s: fc.string({ maxLength: 4 }) }),
    fc.record({ kind: fc.constant('delete'), at: fc.nat(), n: fc.integer({ min: 1, max: 40 }) }),
    fc.record({ kind: fc.constant('truncate'), at: fc.nat() }),
  );
  const applyEdit = (text: string, e: { kind: string; at: number; s?: string; n?: number }): string => {
    const at = e.at % (text.length + 1);
    switch (e.kind) {
      case 'replace': return text.slice(0, at) + e.s + text.slice(at + 1);
      case 'insert': return text.slice(0, at) + e.s + text.slice(at);
      case 'delete': return text.slice(0, at) + text.slice(at + e.n!);
      default: return text.slice(0, at);
    }
  };

  it('any edit of the text is refused with an E_MODEL* code, unless it left the same model (e.g. whitespace)', async () => {
    const text = await modelText();
    const original = decodeModel(text);
    let refused = 0;
    await fc.assert(fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 3 }), async (edits) => {
      const changed = edits.reduce(applyEdit, text);
      const r = await attempt(() => InterferenceNetwork.fromJSON(changed, 'js'));
      if (!r.ok) {
        refused++;
        expect(MODEL_CODES).toContain(r.error.code);
        return;
      }
      // accepted: it must be the very same model
      const net = r.value;
      expect(net.options).toEqual({ ...original.options, backend: 'js', threads: 1 }); // runtime choices, not stored
      original.logits.forEach((l, i) => expect(Array.from(net.logits(i))).toEqual(Array.from(l.values)));
      expect(net.meta).toEqual(original.meta);
      expect(net.metrics).toEqual(original.metrics);
      net.dispose();
    }), runs(300));
    expect(refused).toBeGreaterThan(250);
  });

  it('changed values behind valid checksums are refused with an FfitError or load as a working network', async () => {
    const doc = JSON.parse(await modelText()) as ModelJSON;
    const paths: (string | number)[][] = [];
    const walk = (v: unknown, path: (string | number)[]) => {
      if (path[0] === 'checksum') return;
      paths.push(path);
      if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i]));
      else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
    };
    walk(doc, []);
    const value = fc.oneof(fc.jsonValue(), fc.integer({ min: -3, max: 1100 }), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom('Infinity', '-Infinity', 'AAAA', ''));
    await fc.assert(fc.asyncProperty(fc.nat(paths.length - 1), value, async (p, v) => {
      const copy = JSON.parse(JSON.stringify(doc)) as Record<string, unknown>;
      const path = paths[p]!;
      if (path.length === 0) return;
      let target = copy as Record<string | number, unknown>;
      for (const k of path.slice(0, -1)) target = target[k] as Record<string | number, unknown>;
      target[path[path.length - 1]!] = v;
      const r = await attempt(() => InterferenceNetwork.fromJSON(resign(copy) as never, 'js'));
      if (!r.ok) {
        expect([...MODEL_CODES, 'E_MEMORY']).toContain(r.error.code);
        return;
      }
      const net = r.value;
      expectSimplex(net.predictProba(new Float32Array(net.options.layers[0]!).fill(1)), net.classes);
      net.dispose();
    }), runs(200));
  });

  it('arbitrary JSON is refused with an E_MODEL* code', async () => {
    const shaped = fc.record({
      format: fc.oneof(fc.constant('ffit-model'), fc.jsonValue()),
      version: fc.oneof(fc.constantFrom(1, 2, 3), fc.jsonValue()),
      options: fc.jsonValue(), logits: fc.jsonValue(), training: fc.jsonValue(), meta: fc.jsonValue(), checksum: fc.jsonValue(), examplesSeen: fc.jsonValue(),
    }, { requiredKeys: ['format', 'version'] });
    await fc.assert(fc.asyncProperty(fc.oneof(fc.jsonValue(), shaped, fc.string()), async (doc) => {
      const r = await attempt(() => decodeModel(typeof doc === 'string' ? doc : JSON.stringify(doc)));
      expect(r.ok).toBe(false);
      if (!r.ok) expect(MODEL_CODES).toContain(r.error.code);
    }), runs(300));
  });
});

/** Recomputes both checksums of a (changed) document so the checks behind them are reached. */
function resign(doc: Record<string, unknown>): Record<string, unknown> {
  const { checksum, ...body } = doc;
  const h = sha256.create();
  try {
    for (const layer of doc.logits as { data: string }[]) h.update(Uint8Array.from(atob(layer.data), (c) => c.charCodeAt(0)));
  } catch {
    return doc; // not decodable: the decoder refuses it before any checksum
  }
  let manifest: string;
  try {
    manifest = bytesToHex(sha256(new TextEncoder().encode(canonicalize(body)!)));
  } catch {
    return doc;
  }
  return { ...body, checksum: { ...(checksum as object), logits: bytesToHex(h.digest()), manifest } };
}

describe('corrupted IDX files', () => {
  const images = encodeIdx([3, 4, 4], Uint8Array.from({ length: 48 }, (_, i) => (i * 7) % 256));
  const labels = encodeIdx([3], Uint8Array.of(0, 1, 2));
  const IDX_CODES = ['E_IDX_MAGIC', 'E_IDX_TYPE', 'E_IDX_SIZE', 'E_IDX_GZIP'];

  const corruption = fc.record({
    flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
    cut: fc.option(fc.nat()),
    extra: fc.uint8Array({ maxLength: 4 }),
    gzip: fc.constantFrom('none', 'before', 'after'),
  });
  const corrupt = (file: Uint8Array, c: { flips: [number, number][]; cut: number | null; extra: Uint8Array; gzip: string }) => {
    let bytes = c.gzip === 'before' ? gzipSync(file) : file.slice();
    bytes = bytes.slice();
    for (const [at, v] of c.flips) if (bytes.length) bytes[at % bytes.length] = v;
    if (c.cut !== null) bytes = bytes.subarray(0, c.cut % (bytes.length + 1));
    bytes = Uint8Array.of(...bytes, ...c.extra);
    return c.gzip === 'after' ? gzipSync(bytes) : bytes;
  };

  it('parse either throws an E_IDX_* error or returns arrays consistent with their header', async () => {
    await fc.assert(fc.asyncProperty(corruption, corruption, async (ci, cl) => {
      const pi = await attempt(() => parseImages(corrupt(images, ci), 'images'));
      const pl = await attempt(() => parseLabels(corrupt(labels, cl), 'labels'));
      if (!pi.ok) expect(IDX_CODES).toContain(pi.error.code);
      if (!pl.ok) expect(IDX_CODES).toContain(pl.error.code);
      if (pi.ok) {
        expect(pi.value.rows * pi.value.cols).toBeGreaterThan(0);
        expect(pi.value.pixels.length).toBe(pi.value.count * pi.value.rows * pi.value.cols);
      }
      if (pl.ok) expect(pl.value.labels.length).toBe(pl.value.count);
      if (pi.ok && pl.ok) {
        const ds = await attempt(() => fromIdx(pi.value, pl.value));
        if (!ds.ok) expect(['E_DATA', 'E_SHAPE']).toContain(ds.error.code);
        else expect(ds.value.images.length).toBe(ds.value.count * ds.value.features);
      }
    }), runs(400));
  });
});

describe('memory after dispose()', () => {
  it('creating and disposing 20 networks of 10 MiB each does not grow the process (node --expose-gc probe)', { timeout: 120_000 }, () => {
    const probe = fileURLToPath(new URL('helpers/memory-probe.mjs', import.meta.url));
    const r = spawnSync(process.execPath, ['--expose-gc', probe], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { perNetworkMiB: number; disposedMiB: number; heldMiB: number; memoryBytesAfterDispose: number };
    expect(out.perNetworkMiB).toBeGreaterThan(8);
    // 20 disposed networks, still referenced: their WebAssembly memory is gone (at most ~2 not yet collected)
    expect(out.disposedMiB).toBeLessThan(3 * out.perNetworkMiB);
    // control: 4 networks held without dispose() keep their memory, so the probe can see a leak
    expect(out.heldMiB).toBeGreaterThan(3.5 * out.perNetworkMiB);
    expect(out.memoryBytesAfterDispose).toBe(0);
  });
});
