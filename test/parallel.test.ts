// Data-parallel kernels on two threads sharing one WebAssembly memory (src/parallel/): every thread
// computes whole examples or whole sites, except the forward pass of a wide layer, split by rows
// and added in order: equal to one thread up to float rounding, and repeatable bit for bit.
import { describe, expect, it } from 'vitest';
import '../src/node/threads.js'; // worker_threads, as the Node entry points register them
import { InterferenceNetwork } from '../src/network.js';
import type { FfitOptions } from '../src/options.js';
import { FfitError } from '../src/errors.js';
import { ParallelBackend } from '../src/parallel/backend.js';
import { gammaCopySlot, MAX_COPY_SLOT } from '../src/parallel/copies.js';
import { randomData } from './helpers/nets.js';
import { relErr, testRandom } from './helpers/oracle.js';

// Large enough that forward, learn, transfer and ising are split between the threads (below
// about 65 000 multiply-adds a call stays on the calling thread).
const CASES: FfitOptions[] = [
  { layers: [196, 72, 3], durations: 4, seed: 21, batchSize: 16, eta: 2 },
  { layers: [150, 64, 40, 4], durations: 8, seed: 22, batchSize: 24, eta: 2, speed: 0.6, tStar: 0.3, response: 'ising', kappa: 5 },
  // a hidden layer too narrow for column chunks: its forward pass is split by examples
  { layers: [120, 300, 8, 3], durations: 2, seed: 23, batchSize: 32, eta: 2 },
  // renormalised: the field is scaled in place on its way down, so only layer 0 (the last of the
  // loop) may let the workers induce their own Γ from it. Here the largest step, the one whose
  // workers would, is 256 → 128: given the field, they learned from a wrong Γ (relErr 0.02–0.36).
  { layers: [64, 256, 128, 4], durations: 4, seed: 24, batchSize: 32, eta: 1, renormalize: true },
];

describe.each(CASES)('threads: 2 against threads: 1 on %j', (options) => {
  it('agrees to float rounding, and repeats bit for bit on two threads', async () => {
    const C = options.layers[options.layers.length - 1]!;
    const { images, labels } = randomData(options.seed!, 120, options.layers[0]!, C);
    const one = await InterferenceNetwork.create({ ...options, threads: 1 });
    const two = await InterferenceNetwork.create({ ...options, threads: 2 });
    const again = await InterferenceNetwork.create({ ...options, threads: 2 });
    try {
      // the same network: the forward pass, split by rows and added in order, differs by rounding only
      const m1 = one.moments(images), m2 = two.moments(images);
      expect(relErr(m2, m1)).toBeLessThan(1e-6);
      expect(relErr(two.predictProba(images), one.predictProba(images))).toBeLessThan(1e-6);
      const h1 = one.fit({ images, labels }, { epochs: 2 });
      const h2 = two.fit({ images, labels }, { epochs: 2 });
      const h3 = again.fit({ images, labels }, { epochs: 2 });
      // repeatable bit for bit for a given thread count, whichever thread ran which chunk
      expect(h3.map((r) => r.trainLoss)).toEqual(h2.map((r) => r.trainLoss));
      for (let l = 0; l + 1 < options.layers.length; l++) expect(again.logits(l)).toEqual(two.logits(l));
      expect(again.moments(images)).toEqual(two.moments(images));
      // and close to one thread after training (η = 2 amplifies the rounding a little)
      h2.forEach((r, e) => expect(Math.abs(r.trainLoss - h1[e]!.trainLoss)).toBeLessThan(1e-4 * Math.abs(h1[e]!.trainLoss)));
      for (let l = 0; l + 1 < options.layers.length; l++) {
        expect(relErr(two.logits(l), one.logits(l))).toBeLessThan(1e-4);
        expect(relErr(two.probabilities(l), one.probabilities(l))).toBeLessThan(1e-4);
      }
      expect(relErr(two.moments(images), one.moments(images))).toBeLessThan(1e-4);
      // the work really was split: the kernels ran as jobs of the pool (whether the worker joined
      // these short jobs depends on the load: see 'the worker runs chunks' below)
      const pool = (two as unknown as { backend: ParallelBackend }).backend;
      expect(pool.jobs).toBeGreaterThan(20);
      // and training did something
      const fresh = await InterferenceNetwork.create({ ...options, threads: 1 });
      expect(relErr(fresh.logits(0), one.logits(0))).toBeGreaterThan(1e-3);
      fresh.dispose();
    } finally {
      one.dispose();
      two.dispose();
      again.dispose();
    }
  });
});

describe('byte images on two threads: sources and the first forward pass in one job', () => {
  const bytes = (seed: number, count: number, n: number) => {
    const { images } = randomData(seed, count, n, 3);
    return Uint8Array.from(images, (v) => Math.min(255, Math.round(v * 200)));
  };

  it('agree with one thread to float rounding and repeat bit for bit', async () => {
    const options: FfitOptions = { layers: [196, 72, 3], durations: 4, seed: 21, batchSize: 32, eta: 2 };
    const images = bytes(31, 128, 196), { labels } = randomData(32, 128, 196, 3);
    const [one, two, again] = await Promise.all([1, 2, 2].map((threads) => InterferenceNetwork.create({ ...options, threads })));
    try {
      const h = [one, two, again].map((net) => net.fit({ images, labels }, { epochs: 2 }));
      expect(h[2]!.map((r) => r.trainLoss)).toEqual(h[1]!.map((r) => r.trainLoss));
      expect(again.logits(0)).toEqual(two.logits(0));
      expect(relErr(two.logits(0), one.logits(0))).toBeLessThan(1e-4);
      expect(relErr(two.logits(1), one.logits(1))).toBeLessThan(1e-4);
      // one job for sources + forward and one for learning per batch (4 batches × 2 epochs), where
      // copying in, forward and learning were three (a batch of 32 × 196 bytes is worth splitting)
      expect((two as unknown as { backend: ParallelBackend }).backend.jobs).toBeLessThanOrEqual(8 * 2 + 2);
    } finally {
      [one, two, again].forEach((n) => n.dispose());
    }
  });

  it('name the first dark image of a batch, whichever thread\'s sites it would light', async () => {
    const images = bytes(33, 64, 196), { labels } = randomData(34, 64, 196, 3);
    images.fill(0, 37 * 196, 38 * 196);
    images.fill(0, 45 * 196, 46 * 196);
    const messages: string[] = [];
    for (const threads of [1, 2]) {
      const net = await InterferenceNetwork.create({ layers: [196, 72, 3], threads, seed: 3, batchSize: 32 });
      try {
        expect(() => net.fit({ images, labels }, { epochs: 1, shuffle: false })).toThrow(/Image 37 cannot be a source/);
        try { net.fit({ images, labels }, { epochs: 1, shuffle: false }); } catch (err) { messages.push((err as Error).message); }
      } finally {
        net.dispose();
      }
    }
    expect(messages[1]).toBe(messages[0]);
  });
});

describe('the worker runs chunks', () => {
  it('of jobs long enough that it wakes for them even on a busy machine', async () => {
    // a job is closed when the calling thread runs out of chunks, so a worker that wakes late joins
    // none: jobs of milliseconds (784 → 1024, batch 256) leave it time
    const net = await InterferenceNetwork.create({ layers: [784, 1024, 4], durations: 4, seed: 1, batchSize: 256, threads: 2 });
    try {
      const { images, labels } = randomData(7, 1024, 784, 4);
      const pool = (net as unknown as { backend: ParallelBackend }).backend;
      for (let i = 0; i < 20 && pool.workerChunks === 0; i++) net.fit({ images, labels }, { epochs: 1 });
      expect(pool.workerChunks).toBeGreaterThan(0);
    } finally {
      net.dispose();
    }
  }, 60_000);
});

describe("the workers' own copies of Γ", () => {
  // One split learn step (1024 → 64, batch 64) on two threads, Γ = induce(B, G) on the calling
  // thread; the step repeated from the same state until the worker has run chunks of it.
  async function learnOnce(be: ParallelBackend, induced: 'none' | 'same' | 'doubled', shape = { batch: 64, nIn: 1024, nOut: 64 }):
    Promise<{ theta: Float32Array; w: Float32Array } | null> {
    const { batch, nIn, nOut } = shape, C = 4, D = 4;
    const rnd = testRandom(5);
    const fill = (n: number, f: () => number) => {
      const buf = be.f32(n);
      be.view(buf).set(Float32Array.from({ length: n }, f));
      return buf;
    };
    const a = fill(batch * nIn, () => (rnd() < 0.6 ? 0 : rnd()));
    const field = fill(batch * C, () => rnd() - 0.5);
    const doubled = fill(batch * C, () => 0);
    be.view(doubled).set(be.view(field).map((x) => 2 * x));
    const g = { re: fill(C * nOut, () => rnd() - 0.5), im: fill(C * nOut, () => rnd() - 0.5) };
    const theta = fill(nIn * nOut * D, () => -rnd());
    const prob = fill(nIn * nOut * D, () => 0);
    const w = { re: fill(nIn * nOut, () => 0), im: fill(nIn * nOut, () => 0) };
    const cosD = fill(D, () => 0), sinD = fill(D, () => 0);
    be.view(cosD).set([1, Math.cos(0.7), Math.cos(1.4), Math.cos(2.1)]);
    be.view(sinD).set([0, Math.sin(0.7), Math.sin(1.4), Math.sin(2.1)]);
    be.transfer(theta, prob, w, null, nIn, nOut, D, cosD, sinD);
    const gamma = { re: fill(batch * nOut, () => 0), im: fill(batch * nOut, () => 0) };
    be.induce(field, batch, C, g, nOut, gamma);
    const before = be.workerChunks;
    be.learnLayers([{ aRe: a, aIm: null, batch, nIn, gamma, nOut, theta, prob: null, w, rot: null, D, cosD, sinD,
      cosT: 0.8, sinT: 0.6, scale: 0.5, settled: null,
      induced: induced === 'none' ? null : { field: induced === 'same' ? field : doubled, C, g } }]);
    const out = { theta: be.view(theta).slice(), w: be.view(w.re).slice() };
    for (const buf of [a, field, doubled, g.re, g.im, theta, prob, w.re, w.im, cosD, sinD, gamma.re, gamma.im]) be.release(buf);
    return be.workerChunks > before ? out : null;
  }

  async function withWorker(be: ParallelBackend, induced: 'none' | 'same' | 'doubled', shape?: { batch: number; nIn: number; nOut: number }) {
    for (let i = 0; i < 100; i++) {
      const out = await learnOnce(be, induced, shape);
      if (out) return out;
    }
    throw new Error('the worker never joined a learn job');
  }

  it('give the bits of the calling thread\'s Γ, and are what the workers learn from', async () => {
    const be = await ParallelBackend.create(2);
    try {
      const plain = await withWorker(be, 'none');
      const own = await withWorker(be, 'same');
      expect(own.theta).toEqual(plain.theta);
      expect(own.w).toEqual(plain.w);
      // a copy induced from another field changes the rows the worker learned: the copy is used
      const other = await withWorker(be, 'doubled');
      expect(other.theta).not.toEqual(plain.theta);
      // in a buffer of whole cache lines that only the workers touch, apart from the forward parts
      const bufs = be as unknown as { gammaCopies: { ptr: number; floats: number }; parts: { ptr: number } };
      expect(bufs.gammaCopies.ptr % 64).toBe(0);
      expect(bufs.gammaCopies.floats).toBe(gammaCopySlot(64, 64));
      expect(bufs.gammaCopies.ptr).not.toBe(bufs.parts.ptr);
    } finally {
      be.dispose();
    }
  }, 60_000);

  it('are not made for a Γ above 4 MiB: the workers read the calling thread\'s, same bits', async () => {
    const shape = { batch: 1024, nIn: 64, nOut: 520 }; // 2 × 1024 × 520 floats > 2^20
    expect(gammaCopySlot(shape.batch, shape.nOut)).toBe(0);
    expect(gammaCopySlot(1024, 512)).toBe(MAX_COPY_SLOT);
    expect(gammaCopySlot(3, 5)).toBe(32); // 30 floats, rounded up to whole lines
    const be = await ParallelBackend.create(2);
    try {
      const plain = await withWorker(be, 'none', shape);
      const given = await withWorker(be, 'doubled', shape); // a field the copies would differ by
      expect(given.theta).toEqual(plain.theta);
      expect((be as unknown as { gammaCopies: { floats: number } }).gammaCopies.floats).toBe(0);
    } finally {
      be.dispose();
    }
  }, 60_000);
});

describe('the room for the workers\' copies of Γ', () => {
  it('is made before any layer learns: a failed allocation leaves the network as it was', async () => {
    // 2048 → 16 → 256 → 4: the larger step (layer 0, Γ 16 wide) learns first, then layer 1 (Γ 256
    // wide) needs a larger buffer; made only then, its failure left layer 0 learned, layer 1 not
    const options: FfitOptions = { layers: [2048, 16, 256, 4], durations: 4, seed: 31, batchSize: 24, renormalize: false, threads: 2 };
    const { images, labels } = randomData(31, 24, 2048, 4);
    const net = await InterferenceNetwork.create(options);
    const fresh = await InterferenceNetwork.create(options);
    try {
      const main = (net as unknown as { backend: { main: { allocBytes(bytes: number): number } } }).backend.main;
      const alloc = main.allocBytes.bind(main);
      main.allocBytes = (bytes: number) => {
        // exactly the copies of layer 1's Γ: 24 examples × 256 complex for the one worker, and
        // 32 floats that give the buffer lines of its own
        if (bytes === 4 * (2 * 24 * 256 + 32)) throw new FfitError('E_MEMORY', 'no room (test)');
        return alloc(bytes);
      };
      // logits that differ (a count: a diff of 131 072 values would take vitest minutes to print)
      const differ = (x: Float32Array, y: Float32Array) => x.reduce((n, v, i) => n + (Object.is(v, y[i]) ? 0 : 1), 0);
      const before = [0, 1, 2].map((l) => net.logits(l));
      expect(() => net.trainBatch(images, labels)).toThrow(/no room/);
      expect([0, 1, 2].map((l) => differ(net.logits(l), before[l]!))).toEqual([0, 0, 0]);
      // with room, it trains as a network that never failed
      main.allocBytes = alloc;
      net.trainBatch(images, labels);
      fresh.trainBatch(images, labels);
      expect([0, 1, 2].map((l) => differ(net.logits(l), fresh.logits(l)))).toEqual([0, 0, 0]);
      expect(differ(net.logits(0), before[0]!)).toBeGreaterThan(0);
    } finally {
      net.dispose();
      fresh.dispose();
    }
  });
});

describe('disposed pools', () => {
  it('hand their memory to the next pool, which trains as on fresh memory (bit for bit)', async () => {
    const options: FfitOptions = { layers: [196, 72, 3], durations: 4, seed: 21, batchSize: 16, eta: 2, threads: 2 };
    const { images, labels } = randomData(21, 64, 196, 3);
    const logits: Float32Array[] = [];
    for (let round = 0; round < 3; round++) {
      const net = await InterferenceNetwork.create({ ...options, layers: round === 1 ? [196, 300, 3] : options.layers });
      net.fit({ images, labels }, { epochs: 1 }); // round 1 leaves a larger, dirty memory behind
      if (round !== 1) logits.push(net.logits(0));
      net.dispose();
    }
    expect(logits[1]).toEqual(logits[0]);
  });
});

describe('threads: 2 memory', () => {
  it('counts the forward parts of the threads before a huge batch allocates anything', async () => {
    const net = await InterferenceNetwork.create({ layers: [784, 2048, 4], threads: 2 });
    try {
      const n = 65536, images = new Uint8Array(784 * n).fill(1), labels = new Int32Array(n);
      const held = net.memoryBytes;
      expect(() => net.trainBatch(images, labels)).toThrow(new RegExp(
        `A batch of ${n} examples needs a single buffer of ${2 * n * 2048 * 4} bytes .* for the forward parts of 2 threads for ${n} examples, ` +
        'more than the 1073741820 bytes \\(2\\^30 − 4\\) .*use batches of at most \\d+ examples. Nothing was allocated.'));
      expect(net.memoryBytes).toBe(held);
    } finally {
      net.dispose();
    }
  });
});

describe('many threads', () => {
  it('32 threads train a wide layer like one (every worker\'s scratch slot apart from the chunk cursors)', async () => {
    const options: FfitOptions = { layers: [784, 2048, 4], durations: 4, seed: 5, batchSize: 16 };
    const { images, labels } = randomData(9, 32, 784, 4);
    const one = await InterferenceNetwork.create({ ...options, threads: 1 });
    const many = await InterferenceNetwork.create({ ...options, threads: 32 });
    try {
      for (const net of [one, many]) {
        net.trainBatch(images.subarray(0, 16 * 784), labels.subarray(0, 16));
        net.trainBatch(images.subarray(16 * 784), labels.subarray(16));
      }
      expect(relErr(many.logits(0), one.logits(0))).toBeLessThan(1e-5);
      expect(relErr(many.moments(images), one.moments(images))).toBeLessThan(1e-5);
    } finally {
      one.dispose();
      many.dispose();
    }
  }, 60_000);
});

describe('threads: 2 input checks', () => {
  it('reports the first invalid image of a batch split between threads', async () => {
    const net = await InterferenceNetwork.create({ layers: [196, 72, 3], threads: 2 });
    try {
      const { images, labels } = randomData(5, 700, 196, 3); // 700 × 196 values: sources() is split
      images.fill(0, 697 * 196, 698 * 196); // image 697: no light at all
      expect(() => net.trainBatch(images, labels)).toThrow(/Image 697 cannot be a source/);
      images.fill(0, 5 * 196, 6 * 196); // and image 5, in the other thread's half
      expect(() => net.trainBatch(images, labels)).toThrow(/Image 5 cannot be a source/);
      expect((net as unknown as { backend: ParallelBackend }).backend.jobs).toBeGreaterThan(0);
    } finally {
      net.dispose();
    }
  });

  it('fit names the same invalid image as one thread (batches copied and made sources as one job)', async () => {
    const { images, labels } = randomData(6, 200, 196, 3);
    images.fill(0, 137 * 196, 138 * 196); // image 137: no light at all
    const messages: string[] = [];
    for (const threads of [1, 2]) {
      const net = await InterferenceNetwork.create({ layers: [196, 72, 3], threads, seed: 3, batchSize: 32 });
      try {
        expect(() => net.fit({ images, labels }, { epochs: 1 })).toThrow(/Image 137 cannot be a source/);
        try { net.fit({ images, labels }, { epochs: 1 }); } catch (err) { messages.push((err as Error).message); }
      } finally {
        net.dispose();
      }
    }
    expect(messages[1]).toBe(messages[0]);
  });
});

describe('threads option', () => {
  it('rejects a thread count outside 1 … 64 and threads with the js or scalar backend', async () => {
    await expect(InterferenceNetwork.create({ layers: [4, 2], threads: 0 })).rejects.toMatchObject({ code: 'E_OPTION' });
    await expect(InterferenceNetwork.create({ layers: [4, 2], threads: 1.5 })).rejects.toMatchObject({ code: 'E_OPTION' });
    await expect(InterferenceNetwork.create({ layers: [4, 2], threads: 65 })).rejects.toMatchObject({ code: 'E_OPTION' });
    await expect(InterferenceNetwork.create({ layers: [4, 2], threads: 2, backend: 'js' })).rejects.toMatchObject({ code: 'E_OPTION' });
    await expect(InterferenceNetwork.create({ layers: [4, 2], threads: 2, backend: 'scalar' })).rejects.toMatchObject({ code: 'E_OPTION' });
  });

  it('is not saved with the model', async () => {
    const net = await InterferenceNetwork.create({ layers: [6, 2], threads: 2 });
    try {
      expect(net.options.threads).toBe(2);
      expect(net.toJSON().options).not.toHaveProperty('threads');
      const back = await InterferenceNetwork.fromJSON(net.toJSON());
      expect(back.options.threads).toBe(1);
      back.dispose();
      // chosen again when the model is loaded, with the backend or alone
      const two = await InterferenceNetwork.fromJSON(net.toJSON(), { backend: 'simd', threads: 2 });
      expect(two.options.threads).toBe(2);
      expect(two.backendName).toBe('simd');
      const { images } = randomData(4, 5, 6, 2);
      expect(two.predictProba(images)).toEqual(net.predictProba(images));
      two.dispose();
      await expect(InterferenceNetwork.fromJSON(net.toJSON(), { threads: 0 })).rejects.toMatchObject({ code: 'E_OPTION' });
      await expect(InterferenceNetwork.fromJSON(net.toJSON(), { backend: 'js', threads: 2 })).rejects.toMatchObject({ code: 'E_OPTION' });
    } finally {
      net.dispose();
    }
  });
});
