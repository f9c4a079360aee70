import { createBackend, MAX_BLOCK_BYTES, resolveBackend, type Backend, type BackendChoice, type BackendName, type Complex, type F32, type I32, type LearnStep, type Routes } from './backend/index.js';
import { FfitError, check } from './errors.js';
import { decodeModel, encodeModel, type ModelJSON, type ModelJSONv1 } from './model-format.js';
import { defaults, LIMITS, resolveOptions, sitePositions, type FfitOptions, type ResolvedOptions } from './options.js';
import { Rng } from './rng.js';
import { unitPhasor } from './phase.js';
import { checkJsonValue, checkLabelledSet, checkLabels, describe, imageCount, plainOptions, readLabelledSet, sourceError } from './validate.js';

import { buildRoutes, routeCounts, type RouteTable } from './topology.js';
import { gammaCopySlot } from './parallel/copies.js';

export type { ModelJSON, ModelJSONv1 } from './model-format.js';

/** What a model file does not store and {@link InterferenceNetwork.fromJSON} may choose: the backend (default `auto`) and threads (default 1). */
export interface RuntimeChoice {
  backend?: BackendChoice;
  threads?: number;
}

/** Pixels or intensities, flat, row-major: `count × N_0` values ≥ 0 (any scale: each row is normalised). */
export type Images = Uint8Array | Uint8ClampedArray | Float32Array | Float64Array | readonly number[];
/** Class indices `0 … C−1`, one per image. */
export type Labels = Uint8Array | Int32Array | readonly number[];

/** What one `trainBatch` saw, measured before its update. */
export interface BatchMetrics {
  /** Examples in the batch. */
  count: number;
  /** Examples whose prediction argmax_k M_k was the label. */
  correct: number;
  /** Mean instantaneous energy E of the targets (DESIGN.md §4), dimensionless. */
  energy: number;
  /** Mean moment M_y of the labelled target. */
  momentY: number;
  /** Mean −log P(y|x) (nats). */
  loss: number;
}

/** Metrics over a labelled set (DESIGN.md §4). */
export interface Evaluation {
  count: number;
  /** Fraction of argmax_k M_k = y, in [0, 1]. */
  accuracy: number;
  /** Mean instantaneous energy E of the targets. */
  energy: number;
  /** Mean moment M_y of the labelled target. */
  momentY: number;
  /** Mean −log P(y|x) (nats). */
  loss: number;
  /** C × C counts, row = true class, column = predicted class. */
  confusion: number[][];
}

/** A labelled set in memory: `images` is `count × features`, `labels` has `count` entries. */
export interface LabelledSet {
  images: Images;
  labels: Labels;
}

/** Per-epoch record of {@link InterferenceNetwork.fit}. */
export interface EpochRecord {
  /** 1-based epoch number. */
  epoch: number;
  /** Accuracy of the predictions made on each batch just before its update (running). */
  trainAccuracy: number;
  /** Mean target energy over the epoch's batches, before each update. */
  trainEnergy: number;
  /** Mean −log P(y|x) over the epoch's batches. */
  trainLoss: number;
  /** Mean route entropy per site (nats), per layer, after the epoch. */
  entropy: number[];
  validation?: Evaluation;
  test?: Evaluation;
  /** Wall-clock seconds of training in this epoch (evaluation excluded). */
  seconds: number;
  /** Training examples per second in this epoch. */
  samplesPerSecond: number;
}

/** Learning-rate schedules of {@link FitOptions.schedule}. */
export type Schedule = 'constant' | 'linear' | 'cosine';

/** Options of {@link InterferenceNetwork.fit}. */
export interface FitOptions {
  /** Passes over the training set (integer ≥ 1). Default 3. */
  epochs?: number;
  /** Shuffle the training order each epoch with the network's seeded generator. Default true. */
  shuffle?: boolean;
  /** Evaluated after every epoch. */
  validation?: LabelledSet;
  /** Evaluated after every epoch (reported only; never used to choose anything). */
  test?: LabelledSet;
  /**
   * Learning-rate schedule over the whole run: `constant` keeps η; `linear` scales it by
   * 1 − t/T and `cosine` by (1 + cos πt/T)/2, t = batches done, T = batches in all epochs.
   * Annealing removes the last epoch's jitter of online updates (DESIGN.md §5.6 is the
   * `constant` rule; `linear` adds 0.5 points of 4-class MNIST test accuracy). Default `linear`.
   */
  schedule?: Schedule;
  /** Called after every batch with the epoch (1-based), examples done in this epoch and the batch metrics. */
  onBatch?: (epoch: number, done: number, total: number, metrics: BatchMetrics) => void;
  /** Called after every epoch. */
  onEpoch?: (record: EpochRecord) => void;
}

/** The keys of {@link FitOptions}. */
const FIT_OPTIONS: readonly string[] = ['epochs', 'shuffle', 'validation', 'test', 'schedule', 'onBatch', 'onEpoch'];

/** Evaluation and prediction run in chunks of this many examples. */
const CHUNK = 256;

/**
 * Cap of the factor μ = Π s · 2^{−e} that carries the induced field down a renormalised lattice
 * (2^60). With Σ_k |B_k| ≤ 2, G's components ≤ 1 and Σ_u |a_u| ≤ 1, |S| ≤ 4 · batch · μ and a logit
 * step is at most 4 η β μ < 5e36 for η β ≤ 1e18 (LIMITS), so θ and its recentring stay finite in
 * Float32 (3.4e38).
 */
const MU_MAX = 2 ** 60;

interface Layer {
  nIn: number;
  nOut: number;
  /** Routes in backend memory for `causal` / `local`; null for `dense` (dense kernels). */
  routes: Routes | null;
  /** The same routes on the JavaScript side (null for `dense`). */
  table: RouteTable | null;
  /** Number of routes: N_ℓ N_{ℓ+1} (dense) or table.count. */
  count: number;
  theta: F32;
  prob: F32;
  w: Complex;
  rot: Complex | null;
  s: Complex;
  /** Dense layers: per site, whether `learn` left its maximum logit at 0 (see Backend.learn); null for sparse. */
  settled: I32 | null;
}

/**
 * A space-time lattice with its probability network, trained by feed-forward induced interference
 * (DESIGN.md §1–§5). Create with {@link InterferenceNetwork.create}; free with {@link dispose}.
 *
 * Shapes: layer ℓ has `N_ℓ` sites; its route logits and probabilities are `N_ℓ × N_{ℓ+1} × D`,
 * its transfer `W^ℓ` is `N_ℓ × N_{ℓ+1}` complex. Inputs are `count × N_0`, outputs `count × C`.
 */
export class InterferenceNetwork {
  /** Resolved options (every default filled in). */
  readonly options: Readonly<ResolvedOptions>;
  /** Number of classes C = N_L. */
  readonly classes: number;
  /** Examples trained on so far. */
  examplesSeen = 0;
  /** What the model file carried in `meta` (empty for a new network); saved again by {@link toJSON}. */
  meta: Record<string, unknown> = {};
  /** Training metrics the model file carried (empty for a new network); saved again by {@link toJSON}. */
  metrics: Record<string, unknown> = {};

  private backend: Backend | null;
  private readonly layers: Layer[];
  private readonly cosD: F32;
  private readonly sinD: F32;
  private readonly cosT: number;
  private readonly sinT: number;
  /** G^ℓ for ℓ = 1 … L, each C × N_ℓ complex (transposed), G^L = I; stored as 2^{gExp} G (see refresh). */
  private readonly g: Complex[];
  /** Power of two e_ℓ that {@link Backend.normalizeMax} applied to g[i] = G^{i+1} on top of g[i+1]'s (0 unless renormalised). */
  private readonly gExp: number[];
  private readonly rng: Rng;
  /** θ changed since W and G were computed. */
  private dirty = true;
  /** θ changed since p was computed (the fused training step skips p; it is made on demand). */
  private probStale = true;
  // batch buffers, sized for `capacity` examples
  private capacity = 0;
  private x!: F32;
  private a!: Complex[]; // a[0].im unused (sources are real)
  private gammas!: Complex[]; // Γ^{ℓ+1} of layer ℓ, batch × N_{ℓ+1}: one per layer, so the layers' steps are independent
  private labels!: I32;
  private momentsB!: F32;
  private probaB!: F32;
  private predictedB!: I32;
  private energyB!: F32;
  private fieldB!: F32;
  /** Per hidden layer ℓ (index ℓ; 0 and L unused): the renormalisation factor s_ℓ of each example. */
  private scales!: F32[];
  /** Per example: the factor applied to the induced field on its way down (renormalised lattices). */
  private fieldFactor!: F32;
  /** Per example: the product of those factors so far, μ (float64). */
  private mu = new Float64Array(0);
  private rowsB!: I32;
  /** The training images of the running `fit`, copied into backend memory once: batches go in by index. */
  private staged: { images: Images; buf: I32; bytes: boolean } | null = null;
  /** The last staging buffer, kept between fits: growing WebAssembly memory costs ~0.1 s, and the
   *  allocator does not always find a freed block of exactly the size asked for again. */
  private spare: I32 | null = null;

  private constructor(options: ResolvedOptions, backend: Backend, logits: Float32Array[] | null, tables: (RouteTable | null)[]) {
    this.options = Object.freeze(options);
    this.backend = backend;
    const { layers: sizes, durations: D, omega, tStar } = options;
    const C = sizes[sizes.length - 1]!;
    this.classes = C;
    this.rng = new Rng(options.seed);
    [this.cosT, this.sinT] = unitPhasor(omega * tStar);
    this.cosD = backend.f32(D);
    this.sinD = backend.f32(D);
    const cd = backend.view(this.cosD), sd = backend.view(this.sinD);
    for (let d = 0; d < D; d++) [cd[d], sd[d]] = unitPhasor(omega * d);

    this.layers = [];
    for (let l = 0; l + 1 < sizes.length; l++) {
      const nIn = sizes[l]!, nOut = sizes[l + 1]!;
      const table = tables[l]!;
      const count = table ? table.count : nIn * nOut;
      const layer: Layer = {
        nIn, nOut, table, count,
        routes: table ? this.upload(table) : null,
        theta: backend.f32(count * D),
        prob: backend.f32(count * D),
        w: this.complex(count),
        rot: Number.isFinite(options.speed) ? this.complex(count) : null,
        s: this.complex(count),
        settled: table ? null : backend.i32(nIn), // zero: nothing known yet (θ is set just below)
      };
      this.layers.push(layer);
      this.initLayer(layer, l, logits ? logits[l]! : null);
    }
    this.g = sizes.slice(1).map((n) => this.complex(C * n));
    this.gExp = this.g.map(() => 0);
    const gl = backend.view(this.g[this.g.length - 1]!.re);
    for (let k = 0; k < C; k++) gl[k * C + k] = 1;
    this.ensureCapacity(Math.max(options.batchSize, CHUNK));
  }

  /**
   * Builds a network: validates `options` (throws `FfitError('E_OPTION')`), counts the routes and
   * sizes memory before building anything (`E_MEMORY` beyond 4 GiB in all, or a buffer beyond the
   * 1 GiB block of the WebAssembly allocator), instantiates the backend (`E_BACKEND` if forced
   * `simd` is unsupported) and draws the initial logits θ ∈ [−initScale, initScale] from the seed.
   */
  static async create(options: FfitOptions): Promise<InterferenceNetwork> {
    const resolved = resolveOptions(options);
    checkMemory(resolved, routeCounts(resolved));
    const tables = tablesOf(resolved);
    const backend = await createBackend(resolved.backend, resolved.threads);
    return new InterferenceNetwork(resolved, backend, null, tables);
  }

  /**
   * Rebuilds a network from a model document (JSON text or object, docs/MODEL_FORMAT.md):
   * version 2 from {@link toJSON}, or version 1 (migrated). `runtime` chooses what the file does
   * not store: a backend name (default `auto`), or `{ backend, threads }` (threads default 1, as
   * in {@link create}); `source` names the document in error messages (e.g. its path).
   * Throws `FfitError` `E_MODEL` (not a model, malformed, invalid options, logits that do not fit
   * the lattice or are not finite), `E_MODEL_CHECKSUM` (changed since saving), `E_MODEL_VERSION`
   * (written by a newer ffit), `E_OPTION` (a bad backend or thread count), `E_MEMORY`, `E_BACKEND`.
   */
  static async fromJSON(json: ModelJSON | ModelJSONv1 | string, runtime?: BackendChoice | RuntimeChoice, source = 'the model'): Promise<InterferenceNetwork> {
    const { backend, threads } = typeof runtime === 'object' && runtime !== null
      ? plainOptions(runtime, 'the runtime choice', ['backend', 'threads'], "{ backend: 'simd', threads: 2 }") as RuntimeChoice
      : { backend: runtime, threads: undefined };
    const model = decodeModel(json, source);
    const resolved = resolveOptions({ ...model.options, positions: model.options.positions ?? undefined, backend: backend ?? 'auto',
      ...(threads === undefined ? {} : { threads }) });
    const sizes = resolved.layers;
    check(model.logits.length === sizes.length - 1,
      `The lattice ${sizes.join('→')} of ${source} needs ${sizes.length - 1} logit arrays; the file holds ${model.logits.length}. It is damaged.`, 'E_MODEL');
    // shapes against the counted routes before any route table is built (a tiny file may declare a huge lattice)
    let counts: number[];
    try {
      counts = routeCounts(resolved);
    } catch (err) {
      // a lattice the file declares but no options could build (e.g. a local radius that leaves a site without routes)
      if (err instanceof FfitError && err.code === 'E_OPTION') throw new FfitError('E_MODEL', `The lattice of ${source} cannot be built: ${err.message} The file is damaged.`);
      throw err;
    }
    model.logits.forEach(({ shape }, l) => {
      const want = logitShape(resolved, counts, l);
      check(shape.length === want.length && shape.every((n, i) => n === want[i]),
        `Layer ${l} of ${source} has logits of shape ${shape.join('×')}; its ${resolved.topology} lattice needs ${want.join('×')}. The file is damaged.`, 'E_MODEL');
    });
    checkMemory(resolved, counts);
    const tables = tablesOf(resolved);
    const net = new InterferenceNetwork(resolved, await createBackend(resolved.backend, resolved.threads), model.logits.map((x) => x.values), tables);
    net.examplesSeen = model.examplesSeen;
    net.meta = { ...model.meta };
    net.metrics = { ...model.metrics };
    return net;
  }

  /** The backend running the kernels (`simd`, `scalar` or `js`). */
  get backendName(): BackendName {
    return this.be.name;
  }

  /** Bytes of memory the backend holds (WebAssembly memory size); 0 after {@link dispose}. */
  get memoryBytes(): number {
    return this.backend?.memoryBytes() ?? 0;
  }

  private get be(): Backend {
    if (this.backend === null) throw new FfitError('E_DISPOSED', 'This network was disposed; create a new one.');
    return this.backend;
  }

  private complex(n: number): Complex {
    return { re: this.be.f32(n), im: this.be.f32(n) };
  }

  /** Copies a route table into backend memory. */
  private upload(table: RouteTable): Routes {
    const offsets = this.be.i32(table.offsets.length), targets = this.be.i32(table.count);
    this.be.viewI32(offsets).set(table.offsets);
    this.be.viewI32(targets).set(table.targets);
    return { offsets, targets, count: table.count };
  }

  private initLayer(layer: Layer, l: number, logits: Float32Array | null): void {
    const { initScale, omega, speed } = this.options;
    const theta = this.be.view(layer.theta);
    if (logits) theta.set(logits);
    else for (let i = 0; i < theta.length; i++) theta[i] = initScale * (2 * this.rng.float() - 1);
    if (layer.rot) {
      // travel phase e^{−iωδ(u,v)}, δ = |pos(v) − pos(u)| / c   (DESIGN.md §1, §3)
      const pu = sitePositions(this.options, l), pv = sitePositions(this.options, l + 1);
      const re = this.be.view(layer.rot.re), im = this.be.view(layer.rot.im);
      const t = layer.table;
      for (let u = 0; u < layer.nIn; u++) {
        const j0 = t ? t.offsets[u]! : u * layer.nOut, j1 = t ? t.offsets[u + 1]! : (u + 1) * layer.nOut;
        for (let j = j0; j < j1; j++) {
          const v = t ? t.targets[j]! : j - j0;
          const phase = -omega * (Math.abs(pv[v]! - pu[u]!) / speed);
          re[j] = Math.cos(phase);
          im[j] = Math.sin(phase);
        }
      }
    }
  }

  /**
   * Sizes the per-call buffers for `n` examples. Checked first against the same estimate as
   * {@link checkMemory} (`E_MEMORY` with the size needed and the largest batch that fits, before
   * anything is allocated); then all-or-nothing: if an allocation still fails, the new buffers are
   * released and the old capacity restored, so the network stays usable (freed memory is reused by
   * the allocator; WebAssembly memory never shrinks).
   */
  private ensureCapacity(n: number): void {
    if (n <= this.capacity) return;
    const be = this.be;
    const spare = this.spare !== null && this.staged === null ? this.spare.length * 4 + 16 : 0;
    try {
      checkBatchMemory(this.options, this.layers.map((L) => L.count), n, this.staged ? this.staged.buf.length * 4 + 16 : spare);
    } catch (err) {
      if (spare === 0) throw err;
      // the images kept from the last fit are in the way: give their block back and try without it
      be.release(this.spare!);
      this.spare = null;
      checkBatchMemory(this.options, this.layers.map((L) => L.count), n, 0);
    }
    const old = this.capacity;
    if (old > 0) for (const buf of this.batchBuffers()) be.release(buf);
    this.capacity = 0;
    try {
      this.allocateBatch(n);
    } catch (err) {
      if (old > 0) this.allocateBatch(old); // the blocks just freed: this cannot fail for lack of memory
      throw err;
    }
  }

  /** Every buffer {@link allocateBatch} made. */
  private batchBuffers(): (F32 | I32)[] {
    return [this.x, this.labels, this.rowsB, this.momentsB, this.probaB, this.predictedB, this.energyB, this.fieldB,
      ...this.gammas.flatMap((c) => [c.re, c.im]), ...this.a.flatMap((c) => [c.re, c.im]), ...this.scales, this.fieldFactor];
  }

  /** Allocates the per-call buffers for `n` examples; on failure releases what it made and throws. */
  private allocateBatch(n: number): void {
    const be = this.be, made: (F32 | I32)[] = [];
    const f32 = (len: number): F32 => { const b = be.f32(len); made.push(b); return b; };
    const i32 = (len: number): I32 => { const b = be.i32(len); made.push(b); return b; };
    const complex = (len: number): Complex => ({ re: f32(len), im: f32(len) });
    try {
      const sizes = this.options.layers, C = this.classes;
      const x = f32(n * sizes[0]!);
      const a = sizes.map((N, l) => (l === 0 ? { re: f32(n * N), im: f32(0) } : complex(n * N)));
      const gammas = sizes.slice(1).map((N) => complex(n * N));
      const labels = i32(n), rowsB = i32(n), momentsB = f32(n * C), probaB = f32(n * C), predictedB = i32(n);
      const energyB = f32(n), fieldB = f32(n * C), scales = sizes.map(() => f32(n)), fieldFactor = f32(n);
      this.x = x; this.a = a; this.gammas = gammas; this.labels = labels; this.rowsB = rowsB; this.momentsB = momentsB;
      this.probaB = probaB; this.predictedB = predictedB; this.energyB = energyB; this.fieldB = fieldB;
      this.scales = scales; this.fieldFactor = fieldFactor;
      this.mu = new Float64Array(n);
      this.capacity = n;
    } catch (err) {
      for (const b of made) be.release(b);
      throw err;
    }
  }

  /** Recomputes p and W of every layer and the propagators G after θ changed outside a training step. */
  private refresh(): void {
    if (!this.dirty) return;
    for (const L of this.layers) this.transferLayer(L);
    this.propagateAll();
    this.dirty = false;
    this.probStale = false;
  }

  /** p of every layer, when the fused training steps left it behind θ (W and G are current). */
  private refreshProbabilities(): void {
    this.refresh();
    if (!this.probStale) return;
    for (const L of this.layers) this.transferLayer(L);
    this.probStale = false;
  }

  /** θ → p → W of one layer (DESIGN.md §2–§3), with its dense or sparse kernel. */
  private transferLayer(L: Layer): void {
    const be = this.be, D = this.options.durations;
    if (L.routes) be.transferSparse(L.theta, L.prob, L.w, L.rot, L.routes, L.nIn, D, this.cosD, this.sinD);
    else be.transfer(L.theta, L.prob, L.w, L.rot, L.nIn, L.nOut, D, this.cosD, this.sinD);
  }

  /**
   * G^ℓ = W^ℓ G^{ℓ+1} for ℓ = L−1 … 1 (DESIGN.md §5.3); g[i] holds G^{i+1}. Renormalised, G shrinks
   * with depth as the factors s grow: a tiny G is scaled by 2^e here and 2^−e travels with the factors.
   */
  private propagateAll(): void {
    const be = this.be, C = this.classes;
    for (let l = this.layers.length - 1; l >= 1; l--) {
      const L = this.layers[l]!;
      if (L.routes) be.propagateSparse(L.w, L.routes, L.nIn, L.nOut, this.g[l]!, C, this.g[l - 1]!);
      else be.propagate(L.w, L.nIn, L.nOut, this.g[l]!, C, this.g[l - 1]!);
      this.gExp[l - 1] = this.options.renormalize ? be.normalizeMax(this.g[l - 1]!, C * L.nIn) : 0;
    }
  }

  /** Copies `images` into backend memory for the batches of a `fit` (skipped if memory is short). */
  private stage(images: Images): void {
    this.unstage();
    const bytes = images instanceof Uint8Array || images instanceof Uint8ClampedArray;
    const words = bytes ? Math.ceil(images.length / 4) : images.length;
    let buf: I32;
    if (this.spare !== null && this.spare.length >= words) {
      buf = this.spare;
    } else {
      if (this.spare !== null) this.be.release(this.spare);
      this.spare = null;
      try {
        buf = this.be.i32(words);
      } catch (err) {
        if (err instanceof FfitError && err.code === 'E_MEMORY') return; // batches are then copied one by one
        throw err;
      }
    }
    this.spare = buf;
    const view = this.be.viewI32(buf);
    if (bytes) new Uint8Array(view.buffer, view.byteOffset, images.length).set(images);
    else new Float32Array(view.buffer, view.byteOffset, images.length).set(images as ArrayLike<number>);
    this.staged = { images, buf, bytes };
  }

  /**
   * Throws `E_INPUT` for the first image of `images` that cannot be a source, before anything
   * trains, through the same {@link load} as the batches (the staged copy, for `rows` of the
   * staged images; `fit` passes all rows in order). `what` (e.g. "test set") prefixes the message.
   */
  private checkSources(images: Images, rows: ArrayLike<number> | null, what: string | null): void {
    const count = this.checkImages(images), n0 = this.options.layers[0]!;
    try {
      for (let start = 0; start < count; start += this.capacity) this.load(images, n0, rows, start, Math.min(this.capacity, count - start));
    } catch (err) {
      if (what !== null && err instanceof FfitError && err.code === 'E_INPUT') throw new FfitError('E_INPUT', `In the ${what}: ${err.message}`);
      throw err;
    }
  }

  /** Forgets the staged images (the caller may change them); their buffer stays as `spare`. */
  private unstage(): void {
    this.staged = null;
  }

  /**
   * Copies examples `rows` (or the first `count`) of `images` into the input buffer and makes
   * sources. With `forward` and staged images on a dense first layer it also feeds them through
   * that layer (one job on a thread pool) and returns true.
   */
  private load(images: Images, n0: number, rows: ArrayLike<number> | null, start: number, count: number, forward = false): boolean {
    const rowOf = (i: number) => (images as Float32Array).subarray
      ? (images as Float32Array).subarray(i * n0, (i + 1) * n0)
      : (images as readonly number[]).slice(i * n0, (i + 1) * n0);
    if (rows !== null && this.staged !== null && this.staged.images === images) {
      const rv = this.be.viewI32(this.rowsB);
      for (let b = 0; b < count; b++) rv[b] = rows[start + b]!;
      const L = this.layers[0]!;
      const fused = forward && L.routes === null;
      if (fused) this.refresh(); // W must be current before the first layer's forward pass
      const bad = fused
        ? this.be.loadForward(this.staged.buf, this.staged.bytes, this.rowsB, count, n0, this.x, this.a[0]!.re, L.w, L.nOut, this.a[1]!)
        : this.be.load(this.staged.buf, this.staged.bytes, this.rowsB, count, n0, this.x, this.a[0]!.re);
      if (bad >= 0) throw sourceError(rows[start + bad]!, rowOf(rows[start + bad]!));
      return fused;
    }
    const xv = this.be.view(this.x);
    for (let b = 0; b < count; b++) {
      const i = rows ? rows[start + b]! : start + b;
      try {
        xv.set(rowOf(i), b * n0);
      } catch {
        throw sourceError(i, rowOf(i)); // e.g. a BigInt in a plain array
      }
    }
    const bad = this.be.sources(this.x, count, n0, this.a[0]!.re);
    if (bad >= 0) {
      const i = rows ? rows[start + bad]! : start + bad;
      throw sourceError(i, rowOf(i));
    }
    return false;
  }

  /** Feeds the loaded batch forward through every layer (DESIGN.md §3) and evaluates the targets. */
  private feed(count: number, labels: I32 | null, firstDone = false): void {
    const be = this.be, o = this.options, C = this.classes;
    this.refresh();
    for (let l = 0; l < this.layers.length; l++) {
      const L = this.layers[l]!;
      const aIm = l === 0 ? null : this.a[l]!.im;
      if (l === 0 && firstDone) { /* made with the sources by `load` */ }
      else if (L.routes) be.forwardSparse(this.a[l]!.re, aIm, count, L.nIn, L.w, L.routes, L.nOut, this.a[l + 1]!);
      else be.forward(this.a[l]!.re, aIm, count, L.nIn, L.w, L.nOut, this.a[l + 1]!);
      if (l + 1 === this.layers.length) break;
      if (o.renormalize) be.renormalize(this.a[l + 1]!, count, L.nOut, this.scales[l + 1]!);
      if (o.response === 'ising') be.ising(this.a[l + 1]!, count * L.nOut, o.kappa);
    }
    be.targets(this.a[this.layers.length]!, count, C, labels, o.beta, this.cosT, this.sinT,
      o.objective === 'boltzmann' ? 0 : 1, o.coupling, this.momentsB, this.probaB, this.predictedB, this.energyB, this.fieldB);
  }

  private checkImages(images: Images): number {
    return imageCount(images, this.options.layers[0]!);
  }

  private checkLabels(labels: Labels, count: number): void {
    checkLabels(labels, count, this.classes, this.options.layers[0]!);
  }

  private batchMetrics(count: number, labels: ArrayLike<number>, start: number): BatchMetrics {
    const C = this.classes, beta = this.options.beta;
    const M = this.be.view(this.momentsB), E = this.be.view(this.energyB), pred = this.be.viewI32(this.predictedB);
    let correct = 0, energy = 0, momentY = 0, loss = 0;
    for (let b = 0; b < count; b++) {
      const y = labels[start + b]!;
      if (pred[b] === y) correct++;
      energy += E[b]!;
      momentY += M[b * C + y]!;
      let hi = -Infinity;
      for (let k = 0; k < C; k++) hi = Math.max(hi, M[b * C + k]!);
      let z = 0;
      for (let k = 0; k < C; k++) z += Math.exp(beta * (M[b * C + k]! - hi));
      loss += Math.log(z) - beta * (M[b * C + y]! - hi);
    }
    return { count, correct, energy: energy / count, momentY: momentY / count, loss: loss / count };
  }

  /**
   * One step of DESIGN.md §5 on a batch: feed forward, induced field, propagators, route gains
   * accumulated over the batch, then θ ← θ + η ḡ once. `images` is `count × N_0`, `labels` has
   * `count` entries in `0 … C−1`; with `rows`, only those examples (indices into `images`) form
   * the batch. Returns metrics measured before the update. Throws `E_SHAPE`, `E_LABEL`, `E_INPUT`.
   */
  trainBatch(images: Images, labels: Labels, rows?: ArrayLike<number>): BatchMetrics {
    const total = this.checkImages(images);
    const count = rows ? rows.length : total;
    this.checkLabels(labels, total);
    if (rows) {
      for (let b = 0; b < count; b++) {
        const i = rows[b]!;
        check(Number.isInteger(i) && i >= 0 && i < total, `rows[${b}] = ${i} is not an image index (0 … ${total - 1}).`, 'E_SHAPE');
      }
    }
    check(count >= 1, 'A batch needs at least one example.', 'E_SHAPE');
    this.ensureCapacity(count);
    return this.step(images, labels, rows ?? null, 0, count);
  }

  private step(images: Images, labels: Labels, rows: ArrayLike<number> | null, start: number, count: number, etaScale = 1): BatchMetrics {
    const be = this.be, o = this.options, n0 = o.layers[0]!;
    const firstDone = this.load(images, n0, rows, start, count, true);
    const lv = be.viewI32(this.labels);
    for (let b = 0; b < count; b++) lv[b] = labels[rows ? rows[start + b]! : start + b]!;
    this.feed(count, this.labels, firstDone);
    const metrics = this.batchMetrics(count, lv, 0);
    // θ ← θ + η ḡ, ḡ = (β / batch) Re(e^{iω(t*−τ)} S)   (DESIGN.md §5.6)
    this.learnLayers(count, (etaScale * o.eta * o.beta) / count);
    this.examplesSeen += count;
    return metrics;
  }

  /**
   * The update of DESIGN.md §5.3–§5.6 for every layer, followed at once by the transfer of the new
   * θ: top-down (as {@link accumulateGains}), so that Γ^{ℓ+1} = B · G^{ℓ+1} still uses the
   * propagators of the network that made the predictions; then the propagators of the new network.
   * A dense layer does it in one fused kernel (`learn`) that skips p; a sparse layer accumulates,
   * updates and transfers with its own kernels.
   */
  private learnLayers(count: number, scale: number): void {
    const be = this.be, o = this.options, C = this.classes, top = this.layers.length - 1;
    const steps: LearnStep[] = [];
    for (let l = top; l >= 0; l--) {
      const L = this.layers[l]!, gamma = this.gammas[l]!;
      if (o.renormalize) this.fieldDown(l, count);
      be.induce(this.fieldB, count, C, this.g[l]!, L.nOut, gamma);
      const aIm = l === 0 ? null : this.a[l]!.im;
      if (L.routes) {
        be.accumulateSparse(this.a[l]!.re, aIm, count, L.nIn, gamma, L.nOut, L.routes, L.s);
        this.applyUpdate(L, L.theta, scale, true);
        this.transferLayer(L);
      } else {
        // the field is scaled in place on its way down a renormalised lattice: as induced, it
        // stays only for the last layer of this loop (l = 0)
        const induced = !o.renormalize || l === 0 ? { field: this.fieldB, C, g: this.g[l]! } : null;
        steps.push({ aRe: this.a[l]!.re, aIm, batch: count, nIn: L.nIn, gamma, nOut: L.nOut, theta: L.theta, prob: null, w: L.w,
          rot: L.rot, D: o.durations, cosD: this.cosD, sinD: this.sinD, cosT: this.cosT, sinT: this.sinT, scale, settled: L.settled, induced });
      }
    }
    // the dense layers' steps are independent (each has its own Γ): the backend may overlap them
    be.learnLayers(steps);
    this.propagateAll();
    this.probStale = true;
  }

  /**
   * The induced field B on its way down a renormalised lattice to layer ℓ+1 (call for ℓ = L−1 … 0
   * in turn). a^L = a^ℓ (s_{ℓ+1} W^{ℓ+1}) ⋯ (s_{L−1} W^{L−1}) sends it down scaled by
   * c_{ℓ+1} = Π_{m>ℓ} s_m per example: B is multiplied in place by s_{ℓ+1} 2^{−e_{ℓ+1}} (G stays per
   * batch, stored as 2^{e} G; the factors come from the forward pass, no backward pass). The field's
   * total factor μ is capped at {@link MU_MAX}, which only a lattice whose output reacts to its
   * routes more than 2^60 times as strongly as to its sources reaches: then |Γ| ≤ 2√2 μ and every
   * logit step stays below 4 η β μ < 5e36 within LIMITS (no ∞, no NaN).
   */
  private fieldDown(l: number, count: number): void {
    const be = this.be, mu = this.mu;
    if (l === this.layers.length - 1) {
      mu.fill(1, 0, count);
      return;
    }
    const s = be.view(this.scales[l + 1]!), f = be.view(this.fieldFactor), k = 2 ** -this.gExp[l]!;
    for (let b = 0; b < count; b++) {
      let m = s[b]! * k;
      if (mu[b]! * m > MU_MAX) m = MU_MAX / mu[b]!;
      f[b] = m;
      mu[b] = mu[b]! * f[b]!;
    }
    be.scaleRows(this.fieldB, count, this.classes, this.fieldFactor);
  }

  /**
   * S^ℓ += Σ_batch a^ℓ ⊗ Γ^{ℓ+1}, Γ^{ℓ+1} = B · G^{ℓ+1}, for every layer (DESIGN.md §5.3–§5.5),
   * the field scaled on its way down by {@link fieldDown} when renormalised.
   */
  private accumulateGains(count: number): void {
    const be = this.be, C = this.classes, top = this.layers.length - 1;
    for (let l = top; l >= 0; l--) {
      const L = this.layers[l]!;
      if (this.options.renormalize) this.fieldDown(l, count);
      const gamma = this.gammas[l]!;
      be.induce(this.fieldB, count, C, this.g[l]!, L.nOut, gamma);
      const aIm = l === 0 ? null : this.a[l]!.im;
      if (L.routes) be.accumulateSparse(this.a[l]!.re, aIm, count, L.nIn, gamma, L.nOut, L.routes, L.s);
      else be.accumulate(this.a[l]!.re, aIm, count, L.nIn, gamma, L.nOut, L.s);
    }
  }

  /**
   * Route gains ḡ of DESIGN.md §5.5 averaged over a labelled batch, without updating anything:
   * one `routes × D` array per layer (dense: `N_ℓ × N_{ℓ+1} × D`; units of log-probability per unit probability). For a
   * `linear` lattice ḡ = ∂ mean log P(y|x) / ∂p (`boltzmann`) or β ∂ mean Σ_k h_k M_k / ∂p (`field`).
   */
  gains(images: Images, labels: Labels): Float32Array[] {
    const count = this.checkImages(images);
    this.checkLabels(labels, count);
    check(count >= 1, 'gains() needs at least one example.', 'E_SHAPE');
    this.ensureCapacity(count);
    const be = this.be, o = this.options;
    this.load(images, o.layers[0]!, null, 0, count);
    const lv = be.viewI32(this.labels);
    for (let b = 0; b < count; b++) lv[b] = labels[b]!;
    this.feed(count, this.labels);
    this.accumulateGains(count);
    return this.layers.map((L) => {
      const out = be.f32(L.count * o.durations);
      this.applyUpdate(L, out, o.beta / count, false);
      const copy = be.view(out).slice();
      be.release(out);
      return copy;
    });
  }

  /** θ += scale · Re(e^{iωt*} rot e^{−iωd} S), S ← 0, with the layer's dense or sparse kernel. */
  private applyUpdate(L: Layer, theta: F32, scale: number, recentre: boolean): void {
    const o = this.options;
    if (L.routes) this.be.updateSparse(theta, L.s, L.rot, L.routes, L.nIn, o.durations, this.cosD, this.sinD, this.cosT, this.sinT, scale, recentre);
    else this.be.update(theta, L.s, L.rot, L.nIn, L.nOut, o.durations, this.cosD, this.sinD, this.cosT, this.sinT, scale, recentre);
  }

  /**
   * Trains for `epochs` passes over `train` in batches of `options.batchSize`, shuffled by the
   * seeded generator. Returns one record per epoch (`seconds`: the epoch's batches, not its
   * evaluation). The images are copied into WebAssembly memory once per call; that buffer is kept
   * for the next `fit` until {@link dispose}. Throws like {@link trainBatch}; every training image,
   * and every image of `validation` and `test`, is checked before the first batch, so an `E_INPUT`
   * leaves the network as it was.
   */
  fit(train: LabelledSet, fitOptions: FitOptions = {}): EpochRecord[] {
    // every option and set read once: a getter can neither throw later nor swap an array once checked
    fitOptions = plainOptions(fitOptions, 'fit options', null, '{ epochs: 3 } (or left out)') as FitOptions;
    for (const key of Object.keys(fitOptions)) {
      if (FIT_OPTIONS.includes(key)) continue;
      check(!(key in defaults()) && key !== 'layers' && key !== 'omega',
        `"${key}" is an option of the network, not of fit(): pass it to InterferenceNetwork.create({ …, ${key} }). fit() takes ${FIT_OPTIONS.join(', ')}.`);
      check(false, `Unknown fit option "${key}"; fit() takes ${FIT_OPTIONS.join(', ')}.`);
    }
    const { epochs = 3, shuffle = true, schedule = 'linear' } = fitOptions;
    check(Number.isInteger(epochs) && epochs >= 1 && epochs <= LIMITS.epochs, `epochs must be an integer from 1 to ${LIMITS.epochs.toExponential().replace('e+', 'e')}; got ${describe(epochs)}.`);
    check(['constant', 'linear', 'cosine'].includes(schedule), `schedule must be "constant", "linear" or "cosine"; got ${JSON.stringify(schedule)}.`);
    const n0 = this.options.layers[0]!;
    // each set read once, and what is checked is what trains
    train = readLabelledSet(train, 'training set') as LabelledSet;
    const count = checkLabelledSet(train, n0, this.classes, 'training set');
    check(count >= 1, 'The training set is empty; pass at least one image.', 'E_DATA');
    for (const what of ['validation', 'test'] as const) {
      if (fitOptions[what] === undefined) continue;
      const set = fitOptions[what] = readLabelledSet(fitOptions[what], `${what} set`) as LabelledSet;
      check(checkLabelledSet(set, n0, this.classes, `${what} set`) >= 1,
        `The ${what} set is empty: its accuracy would be meaningless; pass at least one image, or leave ${what} out.`, 'E_DATA');
    }
    const batch = this.options.batchSize;
    this.ensureCapacity(batch);
    const history: EpochRecord[] = [];
    const perEpoch = Math.ceil(count / batch), total = perEpoch * epochs;
    const factor = (t: number): number =>
      schedule === 'linear' ? 1 - t / total : schedule === 'cosine' ? 0.5 * (1 + Math.cos((Math.PI * t) / total)) : 1;
    this.stage(train.images);
    try {
      const inOrder = Int32Array.from({ length: count }, (_, i) => i);
      this.checkSources(train.images, inOrder, null);
      for (const what of ['validation', 'test'] as const) {
        const set = fitOptions[what];
        if (set !== undefined) this.checkSources(set.images, null, `${what} set`);
      }
      for (let epoch = 1; epoch <= epochs; epoch++) {
        const order = shuffle ? this.rng.permutation(count) : inOrder;
        const t0 = now();
        let correct = 0, energy = 0, loss = 0;
        for (let start = 0; start < count; start += batch) {
          const n = Math.min(batch, count - start);
          const m = this.step(train.images, train.labels, order, start, n, factor((epoch - 1) * perEpoch + start / batch));
          correct += m.correct;
          energy += m.energy * n;
          loss += m.loss * n;
          fitOptions.onBatch?.(epoch, start + n, count, m);
        }
        const seconds = (now() - t0) / 1000;
        const record: EpochRecord = {
          epoch,
          trainAccuracy: correct / count,
          trainEnergy: energy / count,
          trainLoss: loss / count,
          entropy: this.routeEntropy(),
          seconds,
          samplesPerSecond: count / Math.max(seconds, 1e-9),
        };
        if (fitOptions.validation) record.validation = this.evaluate(fitOptions.validation.images, fitOptions.validation.labels);
        if (fitOptions.test) record.test = this.evaluate(fitOptions.test.images, fitOptions.test.labels);
        history.push(record);
        fitOptions.onEpoch?.(record);
      }
    } finally {
      // also when a batch or a callback throws: a later trainBatch on the same array, changed in
      // the meantime, must read it afresh, not this copy
      this.unstage();
    }
    return history;
  }

  /** Runs `fn` over `images` in chunks after feeding each chunk forward. */
  private chunks(images: Images, labels: Labels | null, fn: (start: number, n: number) => void): number {
    const count = this.checkImages(images);
    if (labels) this.checkLabels(labels, count);
    const n0 = this.options.layers[0]!;
    for (let start = 0; start < count; start += this.capacity) {
      const n = Math.min(this.capacity, count - start);
      this.load(images, n0, null, start, n);
      if (labels) {
        const lv = this.be.viewI32(this.labels);
        for (let b = 0; b < n; b++) lv[b] = labels[start + b]!;
      }
      this.feed(n, labels ? this.labels : null);
      fn(start, n);
    }
    return count;
  }

  private collect(images: Images, buf: () => F32): Float32Array {
    const C = this.classes;
    const out = new Float32Array(this.checkImages(images) * C);
    this.chunks(images, null, (start, n) => out.set(this.be.view(buf()).subarray(0, n * C), start * C));
    return out;
  }

  /** Predicted class argmax_k M_k per image (DESIGN.md §4): `count` integers in 0 … C−1. */
  predict(images: Images): Int32Array {
    const out = new Int32Array(this.checkImages(images));
    this.chunks(images, null, (start, n) => out.set(this.be.viewI32(this.predictedB).subarray(0, n), start));
    return out;
  }

  /** P(k|x) = softmax_k(β M_k): `count × C`, rows sum to 1. */
  predictProba(images: Images): Float32Array {
    return this.collect(images, () => this.probaB);
  }

  /** Instantaneous moments M_k = Re(e^{iωt*} a^L_k): `count × C`, amplitude units (|M| ≤ 1). */
  moments(images: Images): Float32Array {
    return this.collect(images, () => this.momentsB);
  }

  /** Instantaneous target energy E = −Σ h_k M_k − (J/2) Σ M_k² per labelled image (`count`). */
  energy(images: Images, labels: Labels): Float32Array {
    const out = new Float32Array(this.checkImages(images));
    this.chunks(images, labels, (start, n) => out.set(this.be.view(this.energyB).subarray(0, n), start));
    return out;
  }

  /**
   * Accuracy, mean energy, mean M_y, mean −log P(y|x) and the confusion matrix over a labelled set.
   * Throws `E_DATA` for an empty set (its accuracy and means would be meaningless, as in `fit`),
   * `E_SHAPE` / `E_INPUT` / `E_OPTION` for images and labels that do not fit (see {@link predict}).
   */
  evaluate(images: Images, labels: Labels): Evaluation {
    const C = this.classes;
    if (this.checkImages(images) === 0) {
      throw new FfitError('E_DATA', 'evaluate: the set is empty, so its accuracy and means would be meaningless; pass at least one image.');
    }
    const confusion = Array.from({ length: C }, () => new Array<number>(C).fill(0));
    let correct = 0, energy = 0, momentY = 0, loss = 0;
    const count = this.chunks(images, labels, (start, n) => {
      const m = this.batchMetrics(n, labels, start);
      const pred = this.be.viewI32(this.predictedB);
      for (let b = 0; b < n; b++) confusion[labels[start + b]!]![pred[b]!]!++;
      correct += m.correct;
      energy += m.energy * n;
      momentY += m.momentY * n;
      loss += m.loss * n;
    });
    const k = Math.max(count, 1);
    return { count, accuracy: correct / k, energy: energy / k, momentY: momentY / k, loss: loss / k, confusion };
  }

  /**
   * The routes of layer ℓ (DESIGN.md §1) as compressed sparse rows (copies): `offsets` (`N_ℓ + 1`)
   * and `targets` (one next-layer site per route, ascending per site). Route j's logits,
   * probabilities and gains are entries `j·D … j·D + D − 1` of {@link logits}, {@link probabilities}
   * and {@link gains}, its transfer entry j of {@link transfer}. Dense layers: route j = u·N_{ℓ+1} + v.
   */
  routes(layer: number): RouteTable {
    const L = this.layerAt(layer);
    if (L.table) return { offsets: L.table.offsets.slice(), targets: L.table.targets.slice(), count: L.count };
    return {
      offsets: Int32Array.from({ length: L.nIn + 1 }, (_, u) => u * L.nOut),
      targets: Int32Array.from({ length: L.count }, (_, j) => j % L.nOut),
      count: L.count,
    };
  }

  /** Route probabilities p of layer ℓ: a copy, `routes × D` (dense: `N_ℓ × N_{ℓ+1} × D`), each site's routes sum to 1. */
  probabilities(layer: number): Float32Array {
    this.refreshProbabilities();
    return this.be.view(this.layerAt(layer).prob).slice();
  }

  /** Route logits θ of layer ℓ: a copy, `routes × D` (dense: `N_ℓ × N_{ℓ+1} × D`), each site's maximum is 0 after an update. */
  logits(layer: number): Float32Array {
    return this.be.view(this.layerAt(layer).theta).slice();
  }

  /** Complex transfer W^ℓ (DESIGN.md §3): copies `{re, im}`, one entry per route (dense: `N_ℓ × N_{ℓ+1}`), |W_j| ≤ Σ_d p. */
  transfer(layer: number): { re: Float32Array; im: Float32Array } {
    this.refresh();
    const w = this.layerAt(layer).w;
    return { re: this.be.view(w.re).slice(), im: this.be.view(w.im).slice() };
  }

  /**
   * Worldline propagators G^ℓ (DESIGN.md §5.3) for ℓ = 1 … L: copies `{re, im}`, each `C × N_ℓ`
   * (row k = target), the sum over worldlines from each site of layer ℓ to target k of p × phase.
   */
  propagators(layer: number): { re: Float32Array; im: Float32Array } {
    check(Number.isInteger(layer) && layer >= 1 && layer <= this.layers.length, `Propagators exist for layers 1 … ${this.layers.length}; got ${describe(layer)}.`);
    this.refresh();
    const g = this.g[layer - 1]!, re = this.be.view(g.re).slice(), im = this.be.view(g.im).slice();
    // undo the powers of two of a renormalised lattice's tiny propagators (see refresh)
    const k = 2 ** -this.gExp.slice(layer - 1).reduce((t, e) => t + e, 0);
    if (k !== 1) for (let i = 0; i < re.length; i++) [re[i], im[i]] = [re[i]! * k, im[i]! * k];
    return { re, im };
  }

  /**
   * Target amplitudes a^L for each image (DESIGN.md §3): copies `{re, im}`, each `count × C`.
   */
  amplitudes(images: Images): { re: Float32Array; im: Float32Array } {
    const C = this.classes, count = this.checkImages(images);
    const re = new Float32Array(count * C), im = new Float32Array(count * C);
    const top = () => this.a[this.layers.length]!;
    this.chunks(images, null, (start, n) => {
      re.set(this.be.view(top().re).subarray(0, n * C), start * C);
      im.set(this.be.view(top().im).subarray(0, n * C), start * C);
    });
    return { re, im };
  }

  /** Mean route entropy per site (nats) of each layer; ln(N_{ℓ+1} D) is uniform routing. */
  routeEntropy(): number[] {
    this.refreshProbabilities();
    const D = this.options.durations;
    // a sparse layer's rows differ in length: sum every row's entropy (one "row" of all routes), then average
    return this.layers.map((L) => (L.routes ? this.be.entropy(L.prob, 1, L.count * D) / L.nIn : this.be.entropy(L.prob, L.nIn, L.nOut * D)));
  }

  private layerAt(layer: number): Layer {
    void this.be; // E_DISPOSED: route tables live on the JS side too, but a disposed network has none to offer
    check(Number.isInteger(layer) && layer >= 0 && layer < this.layers.length, `Layer index must be 0 … ${this.layers.length - 1}; got ${describe(layer)}.`);
    return this.layers[layer]!;
  }

  /** Loads one image as the source row 0 and checks it is one image. */
  private loadOne(image: Images): number[] {
    const n0 = this.options.layers[0]!;
    check(this.checkImages(image) === 1, `Pass exactly one image of ${n0} values; got ${image.length / n0} images.`, 'E_SHAPE');
    this.load(image, n0, null, 0, 1);
    return Array.from(this.be.view(this.a[0]!.re).subarray(0, n0));
  }

  /**
   * The arrival-time distribution of one image at every target (DESIGN.md §3, linear response):
   * `h[k·T + t]` is the source intensity that reaches target k along worldlines of duration
   * `t / resolution` ticks, `h_k(τ) = Σ_i a⁰_i Σ_{worldlines i→k of duration τ} Π p`, computed layer
   * by layer in WebAssembly (`arrivals` kernel). Travel times δ = |Δpos|/c are rounded to the grid
   * of `resolution` steps per tick (integer ≥ 1; default 1 for c = ∞, else 8): exact when δ·resolution
   * is whole, else each phase is off by at most ω/(2·resolution). Σ_t h_k(t) e^{−iωt/resolution}
   * is then the target amplitude of the lattice without renormalisation (with it, divided by
   * Π_ℓ s_ℓ). The whole distribution sums to 1. Throws `E_SHAPE` unless `image` is one image,
   * `E_OPTION` for a bad resolution.
   */
  arrivalTimes(image: Images, resolution?: number): { resolution: number; ticks: number; h: Float32Array } {
    const o = this.options, be = this.be, D = o.durations, C = this.classes;
    const q = resolution ?? (Number.isFinite(o.speed) ? 8 : 1);
    check(Number.isInteger(q) && q >= 1 && q <= 1024, `resolution must be an integer from 1 to 1024 (grid steps per tick); got ${JSON.stringify(resolution)}.`);
    this.loadOne(image);
    this.refreshProbabilities(); // the arrival times follow p
    const temps: (F32 | I32)[] = [];
    let T = 1;
    let h = be.f32(o.layers[0]!);
    temps.push(h);
    be.view(h).set(be.view(this.a[0]!.re).subarray(0, o.layers[0]!));
    try {
      for (let l = 0; l < this.layers.length; l++) {
        const L = this.layers[l]!;
        let shift: I32 | null = null, most = 0;
        if (Number.isFinite(o.speed)) {
          const t = this.routes(l), pu = sitePositions(o, l), pv = sitePositions(o, l + 1);
          shift = be.i32(L.count);
          temps.push(shift);
          const sv = be.viewI32(shift);
          for (let u = 0; u < L.nIn; u++) {
            for (let j = t.offsets[u]!; j < t.offsets[u + 1]!; j++) {
              sv[j] = Math.round((Math.abs(pv[t.targets[j]!]! - pu[u]!) / o.speed) * q);
              most = Math.max(most, sv[j]!);
            }
          }
        }
        const Tout = T + most + (D - 1) * q;
        check(L.nOut * Tout <= 1 << 26, `The arrival-time grid of layer ${l + 1} would hold ${L.nOut * Tout} values; use a smaller resolution.`, 'E_MEMORY');
        const next = be.f32(L.nOut * Tout);
        temps.push(next);
        be.arrivals(h, L.nIn, T, L.routes, L.nOut, L.prob, D, shift, q, next, Tout);
        h = next;
        T = Tout;
      }
      return { resolution: q, ticks: T, h: be.view(h).slice(0, C * T) };
    } finally {
      for (const buf of temps) be.release(buf);
    }
  }

  /**
   * Where worldlines of one image meet (DESIGN.md §1 self-attention events, §3 linear response):
   * for each hidden layer ℓ = 1 … L−1 and site v, the coherent amplitude z_v = Σ_i c_i(v) of the
   * contributions c_i(v) arriving from the sources i (with the renormalisation factors of this
   * image's forward pass), the incoherent intensity Σ_i |c_i(v)|² and the number of lit sources
   * (a⁰_i > 0) whose worldlines reach v. The interaction energy of the meeting dipoles is
   * `−(J/2)(|z_v|² − Σ_i |c_i|²) = −J Σ_{i<j} Re(c_i c̄_j)` (negative where they interfere
   * constructively). Contributions are fed forward in WebAssembly as a batch of one row per lit
   * source. Throws `E_SHAPE` unless `image` is one image.
   */
  meetings(image: Images): { layer: number; re: Float32Array; im: Float32Array; incoherent: Float32Array; sources: Int32Array }[] {
    const o = this.options, be = this.be, n0 = o.layers[0]!, top = this.layers.length;
    const a0 = this.loadOne(image);
    this.refresh();
    const lit = a0.flatMap((v, i) => (v > 0 ? [i] : []));
    // this image's coherent amplitudes and renormalisation factors, hidden sites linear
    const coherent: { re: Float32Array; im: Float32Array }[] = [];
    const factors: number[] = [];
    for (let l = 0; l + 1 < top; l++) {
      const L = this.layers[l]!, aIm = l === 0 ? null : this.a[l]!.im;
      if (L.routes) be.forwardSparse(this.a[l]!.re, aIm, 1, L.nIn, L.w, L.routes, L.nOut, this.a[l + 1]!);
      else be.forward(this.a[l]!.re, aIm, 1, L.nIn, L.w, L.nOut, this.a[l + 1]!);
      if (o.renormalize) be.renormalize(this.a[l + 1]!, 1, L.nOut, this.scales[l + 1]!);
      factors.push(o.renormalize ? be.view(this.scales[l + 1]!)[0]! : 1);
      coherent.push({ re: be.view(this.a[l + 1]!.re).slice(0, L.nOut), im: be.view(this.a[l + 1]!.im).slice(0, L.nOut) });
    }
    const incoherent = this.layers.slice(0, -1).map((L) => be.f32(L.nOut));
    try {
      for (let start = 0; start < lit.length; start += this.capacity) {
        const n = Math.min(this.capacity, lit.length - start);
        const x = be.view(this.a[0]!.re);
        x.fill(0, 0, n * n0);
        for (let b = 0; b < n; b++) x[b * n0 + lit[start + b]!] = a0[lit[start + b]!]!;
        for (let l = 0; l + 1 < top; l++) {
          const L = this.layers[l]!, aIm = l === 0 ? null : this.a[l]!.im;
          if (L.routes) be.forwardSparse(this.a[l]!.re, aIm, n, L.nIn, L.w, L.routes, L.nOut, this.a[l + 1]!);
          else be.forward(this.a[l]!.re, aIm, n, L.nIn, L.w, L.nOut, this.a[l + 1]!);
          const sc = this.scales[l + 1]!;
          be.view(sc).fill(factors[l]!, 0, n);
          be.scaleRows(this.a[l + 1]!.re, n, L.nOut, sc);
          be.scaleRows(this.a[l + 1]!.im, n, L.nOut, sc);
          be.intensity(this.a[l + 1]!, n, L.nOut, incoherent[l]!);
        }
      }
      // which lit sources reach each site: bit sets pushed along the routes
      const words = Math.ceil(n0 / 32);
      let reach = new Uint32Array(n0 * words);
      for (const i of lit) reach[i * words + (i >> 5)] = reach[i * words + (i >> 5)]! | (1 << (i & 31));
      return coherent.map((c, l) => {
        const t = this.routes(l), nOut = this.layers[l]!.nOut;
        const next = new Uint32Array(nOut * words);
        for (let u = 0; u < this.layers[l]!.nIn; u++) {
          for (let j = t.offsets[u]!; j < t.offsets[u + 1]!; j++) {
            const v = t.targets[j]!;
            for (let w = 0; w < words; w++) next[v * words + w] = next[v * words + w]! | reach[u * words + w]!;
          }
        }
        reach = next;
        const sources = Int32Array.from({ length: nOut }, (_, v) => {
          let k = 0;
          for (let w = 0; w < words; w++) {
            let x = next[v * words + w]!;
            for (; x; k++) x &= x - 1;
          }
          return k;
        });
        return { layer: l + 1, re: c.re, im: c.im, incoherent: be.view(incoherent[l]!).slice(), sources };
      });
    } finally {
      for (const buf of incoherent) be.release(buf);
    }
  }

  /**
   * The model document (format `ffit-model` version 2, docs/MODEL_FORMAT.md): options, logits as
   * little-endian Float32 base64, training record, metadata and SHA-256 checksums. `meta` and
   * `metrics` (JSON objects) default to what the network was loaded with. Exact round trip:
   * {@link fromJSON} gives bit-identical logits, and its `toJSON()` the same JSON text. Throws
   * `E_OPTION` when `meta` or `metrics` holds what JSON would not save as it is (NaN, Infinity, a
   * Map, a function, a cycle), naming the member.
   */
  toJSON(meta?: Record<string, unknown>, metrics?: Record<string, unknown>): ModelJSON {
    const D = this.options.durations;
    // what JSON would change (NaN, Infinity, a Map, …) is refused rather than saved as something else;
    // a string is JSON.stringify(net)'s key argument, not metadata
    check(meta === undefined || typeof meta === 'string' || (typeof meta === 'object' && meta !== null),
      `toJSON(meta, metrics): meta must be an object of metadata (or left out); got ${describe(meta)}.`);
    if (typeof meta === 'object' && meta !== null) checkJsonValue(meta, 'meta');
    if (metrics !== undefined) checkJsonValue(metrics, 'metrics');
    return encodeModel({
      options: this.options,
      logits: this.layers.map((L, l) => ({ shape: logitShape(this.options, this.layers.map((x) => x.count), l), values: this.be.view(L.theta) })),
      examplesSeen: this.examplesSeen,
      // JSON.stringify(net) calls toJSON('') : only objects count as meta
      meta: typeof meta === 'object' && meta !== null ? meta : this.meta,
      metrics: metrics ?? this.metrics,
    });
  }

  /** Releases the WebAssembly instance and its memory; the network cannot be used afterwards. */
  dispose(): void {
    this.staged = null;
    this.spare = null;
    this.backend?.dispose();
    this.backend = null;
  }
}

/** Shape of layer ℓ's logits in a model file: `N_ℓ × N_{ℓ+1} × D` dense, `routes × D` sparse (`counts`: routes per layer). */
function logitShape(o: ResolvedOptions, counts: readonly number[], l: number): number[] {
  return o.topology === 'dense' ? [o.layers[l]!, o.layers[l + 1]!, o.durations] : [counts[l]!, o.durations];
}

/** The route table of every layer (null for dense layers). Throws `E_OPTION` for a site without routes. */
function tablesOf(o: ResolvedOptions): (RouteTable | null)[] {
  return o.layers.slice(1).map((_, l) => (o.topology === 'dense' ? null : buildRoutes(o, l)));
}

/** One buffer of a network: Float32 (or Int32) values, and what it holds ('' for the unnamed). */
type Buffer = [floats: number, what: string];

/** The buffers of the lattice itself: what the constructor allocates (`counts`: routes per layer). */
function latticeBuffers(o: ResolvedOptions, counts: readonly number[]): Buffer[] {
  const sizes = o.layers, D = o.durations, C = sizes[sizes.length - 1]!, sparse = o.topology !== 'dense';
  const buffers: Buffer[] = [[D, ''], [D, '']];
  counts.forEach((n, l) => {
    buffers.push([n * D, `the route logits of layer ${l} (${n} routes × ${D} durations)`], [n * D, ''], [n, ''], [n, ''], [n, ''], [n, '']);
    if (Number.isFinite(o.speed)) buffers.push([n, ''], [n, '']);
    if (sparse) buffers.push([n, ''], [sizes[l]! + 1, '']);
    else buffers.push([sizes[l]!, '']);
  });
  sizes.forEach((n, l) => {
    if (l > 0) buffers.push([C * n, `the propagator G of layer ${l}`], [C * n, '']);
  });
  return buffers;
}

/** The per-call buffers for `n` examples: what {@link InterferenceNetwork.allocateBatch} allocates. */
function batchBuffers(o: ResolvedOptions, n: number): Buffer[] {
  const sizes = o.layers, C = sizes[sizes.length - 1]!;
  const buffers: Buffer[] = [[n * sizes[0]!, `the inputs of ${n} examples`], [n * sizes[0]!, ''], [0, '']];
  sizes.forEach((N, l) => {
    if (l > 0) buffers.push([n * N, `the amplitudes of layer ${l} for ${n} examples`], [n * N, '']);
    buffers.push([n, '']);
  });
  sizes.slice(1).forEach((N, l) => buffers.push([n * N, `the induced field of layer ${l + 1} for ${n} examples`], [n * N, '']));
  buffers.push([n, ''], [n, ''], [n * C, ''], [n * C, ''], [n, ''], [n, ''], [n * C, ''], [n, '']);
  // on threads > 1 the forward pass of a wide layer sums one part per thread, and each worker
  // induces its own copy of Γ in a buffer of whole cache lines (src/parallel/backend.ts)
  const widest = Math.max(...sizes.slice(1));
  if (o.threads > 1) {
    buffers.push([2 * (o.threads - 1) * n * widest, `the forward parts of ${o.threads} threads for ${n} examples`]);
    const slot = Math.max(...sizes.slice(1).map((N) => gammaCopySlot(n, N)));
    if (slot > 0) buffers.push([(o.threads - 1) * slot + 32, `the workers' copies of the induced field for ${n} examples`]);
  }
  return buffers;
}

/**
 * Bytes of the kernels' scratch for batches of up to `n` examples, on every thread: at most twice
 * `scratchBytes` of assembly/index.ts (it grows by doubling), bounded here from above.
 */
function scratchBytes(o: ResolvedOptions, n: number): number {
  if (resolveBackend(o.backend) === 'js') return 0;
  const a16 = (b: number) => Math.ceil(b / 16) * 16, D = o.durations;
  let most = 1 << 16;
  for (let l = 0; l + 1 < o.layers.length; l++) {
    const nIn = o.layers[l]!, nOut = o.layers[l + 1]!;
    const fwd = Math.min(n, 32) * (a16(4 * nIn) * 3 + a16(4 * (Math.ceil(nIn / 128) + 1)));
    const col = a16(4 * n) * 3 + a16(4 * nOut) * 4 + a16(4 * nOut * D) + a16(4 * D) * 2;
    most = Math.max(most, fwd, col);
  }
  return 2 * most * o.threads;
}

/** What WebAssembly memory may hold in all: 4 GiB less 16 MiB for the module's own data, stack and allocator. */
const MEMORY_LIMIT = 4 * 1024 ** 3 - 2 ** 24;

/** Bytes of a list of buffers, each with the allocator's header and 16-byte alignment. */
const bytesOf = (buffers: Buffer[]): number => buffers.reduce((t, [n]) => t + 4 * n + 16, 0);

const gib = (b: number): string => (b / 2 ** 30).toFixed(2);

/**
 * Rejects, before anything is allocated, lattices whose buffers exceed wasm32 memory (4 GiB in
 * all) or, on the WebAssembly backends, the largest block the AssemblyScript TLSF allocator hands
 * out ({@link MAX_BLOCK_BYTES}, 1 GiB). `counts` are the routes per layer ({@link routeCounts}).
 * The sum mirrors what the constructor and {@link InterferenceNetwork.allocateBatch} allocate.
 */
function checkMemory(o: ResolvedOptions, counts: readonly number[]): void {
  const sizes = o.layers, D = o.durations, sparse = o.topology !== 'dense';
  const cap = Math.max(o.batchSize, CHUNK);
  const buffers = [...batchBuffers(o, cap), ...latticeBuffers(o, counts)];
  const bytes = bytesOf(buffers) + scratchBytes(o, cap);
  const logits = counts.reduce((t, n) => t + n * D * 4, 0);
  const lattice = `The lattice ${sizes.join('→')}${sparse ? ` (${o.topology}, ${counts.reduce((t, n) => t + n, 0)} routes)` : ''} with D = ${D}`;
  if (bytes > MEMORY_LIMIT) {
    throw new FfitError('E_MEMORY', `${lattice} and buffers for ${cap} examples needs about ` +
      `${gib(bytes)} GiB of memory (its route logits alone ${gib(logits)} GiB), more than the ` +
      '4 GiB a WebAssembly instance can address; use fewer sites, fewer durations or a smaller batch. Nothing was allocated.');
  }
  const [floats, what] = buffers.reduce((a, b) => (b[0] > a[0] ? b : a));
  if (resolveBackend(o.backend) !== 'js' && 4 * floats > MAX_BLOCK_BYTES) {
    throw new FfitError('E_MEMORY', `${lattice} ${tooLargeForBlock(floats, what || 'its largest array')}; use fewer sites, fewer ` +
      'durations or a smaller batch (the js backend has no per-buffer limit). Nothing was allocated.');
  }
}

/** "needs a single buffer of … for `what`, more than … one block": sizes in bytes, since 2^30 and 2^30 − 4 look alike in GiB. */
function tooLargeForBlock(floats: number, what: string): string {
  return `needs a single buffer of ${4 * floats} bytes (${gib(4 * floats)} GiB, ${floats} Float32 values) for ${what}, more than the ` +
    `${MAX_BLOCK_BYTES} bytes (2^30 − 4) that the WebAssembly allocator hands out in one block`;
}

/**
 * Rejects, before anything is allocated, a call on `n` examples (`trainBatch`, `gains`) whose
 * per-call buffers do not fit next to the lattice (and `held` more bytes, e.g. staged images):
 * the same estimate as {@link checkMemory}, so the answer depends only on the lattice and `n`,
 * never on what earlier calls grew memory to. The message names the size needed and the largest
 * batch that fits.
 */
function checkBatchMemory(o: ResolvedOptions, counts: readonly number[], n: number, held: number): void {
  const fixed = bytesOf(latticeBuffers(o, counts)) + held;
  const block = resolveBackend(o.backend) !== 'js';
  const largest = (m: number) => batchBuffers(o, m).reduce((a, b) => (b[0] > a[0] ? b : a));
  // room for one more largest buffer: the allocator grows memory by a whole block even when a
  // smaller free block sits at its end, and it may leave such blocks behind
  const need = (m: number) => bytesOf(batchBuffers(o, m)) + scratchBytes(o, m) + (block ? 4 * largest(m)[0] : 0);
  const fits = (m: number) => fixed + need(m) <= MEMORY_LIMIT && (!block || 4 * largest(m)[0] <= MAX_BLOCK_BYTES);
  if (fits(n)) return;
  let lo = 0, hi = n; // fits(lo), !fits(hi)
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  const fix = lo >= 1 ? `use batches of at most ${lo} examples` : 'use a smaller lattice';
  const [floats, what] = largest(n);
  if (block && 4 * floats > MAX_BLOCK_BYTES) {
    throw new FfitError('E_MEMORY', `A batch of ${n} examples ${tooLargeForBlock(floats, what)}; ` +
      `${fix}. Nothing was allocated.`);
  }
  throw new FfitError('E_MEMORY', `A batch of ${n} examples needs about ${gib(need(n))} GiB of memory for its buffers next to the ` +
    `${gib(fixed)} GiB of the lattice ${o.layers.join('→')}${held > 0 ? ' and its staged images' : ''}, more than the 4 GiB a WebAssembly instance can address; ` +
    `${fix}. Nothing was allocated.`);
}

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

export { resolveBackend };
