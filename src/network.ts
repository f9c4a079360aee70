import { createBackend, resolveBackend, type Backend, type BackendChoice, type BackendName, type Complex, type F32, type I32 } from './backend/index.js';
import { FfitError, check } from './errors.js';
import { resolveOptions, sitePositions, type FfitOptions, type ResolvedOptions } from './options.js';
import { Rng } from './rng.js';

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

/** The serialised model (format `ffit-model`, version 1): options plus logits per layer, base64 Float32 LE. */
export interface ModelJSON {
  format: 'ffit-model';
  version: 1;
  options: Omit<ResolvedOptions, 'backend' | 'threads' | 'speed'> & { speed: number | 'Infinity' };
  /** θ^ℓ per layer, `N_ℓ × N_{ℓ+1} × D` little-endian Float32, base64. */
  logits: string[];
  /** Examples seen in training so far. */
  examplesSeen: number;
  /** Anything the caller attaches (metrics, data description). */
  meta?: Record<string, unknown>;
}

/** Evaluation and prediction run in chunks of this many examples. */
const CHUNK = 256;

interface Layer {
  nIn: number;
  nOut: number;
  theta: F32;
  prob: F32;
  w: Complex;
  rot: Complex | null;
  s: Complex;
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
  /** What the model file carried in `meta` (empty for a new network). */
  meta: Record<string, unknown> = {};

  private backend: Backend | null;
  private readonly layers: Layer[];
  private readonly cosD: F32;
  private readonly sinD: F32;
  private readonly cosT: number;
  private readonly sinT: number;
  /** G^ℓ for ℓ = 1 … L, each C × N_ℓ complex (transposed), G^L = I. */
  private readonly g: Complex[];
  private readonly rng: Rng;
  /** θ changed since W and G were computed. */
  private dirty = true;
  /** θ changed since p was computed (the fused training step skips p; it is made on demand). */
  private probStale = true;
  // batch buffers, sized for `capacity` examples
  private capacity = 0;
  private x!: F32;
  private a!: Complex[]; // a[0].im unused (sources are real)
  private gamma!: Complex;
  private labels!: I32;
  private momentsB!: F32;
  private probaB!: F32;
  private predictedB!: I32;
  private energyB!: F32;
  private fieldB!: F32;
  private rowsB!: I32;
  /** The training images of the running `fit`, copied into backend memory once: batches go in by index. */
  private staged: { images: Images; buf: I32; bytes: boolean } | null = null;

  private constructor(options: ResolvedOptions, backend: Backend, logits: Float32Array[] | null) {
    this.options = Object.freeze(options);
    this.backend = backend;
    const { layers: sizes, durations: D, omega, tStar } = options;
    const C = sizes[sizes.length - 1]!;
    this.classes = C;
    this.rng = new Rng(options.seed);
    this.cosT = Math.cos(omega * tStar);
    this.sinT = Math.sin(omega * tStar);
    this.cosD = backend.f32(D);
    this.sinD = backend.f32(D);
    const cd = backend.view(this.cosD);
    for (let d = 0; d < D; d++) cd[d] = Math.cos(omega * d);
    const sd = backend.view(this.sinD);
    for (let d = 0; d < D; d++) sd[d] = Math.sin(omega * d);

    this.layers = [];
    for (let l = 0; l + 1 < sizes.length; l++) {
      const nIn = sizes[l]!, nOut = sizes[l + 1]!;
      const layer: Layer = {
        nIn, nOut,
        theta: backend.f32(nIn * nOut * D),
        prob: backend.f32(nIn * nOut * D),
        w: this.complex(nIn * nOut),
        rot: Number.isFinite(options.speed) ? this.complex(nIn * nOut) : null,
        s: this.complex(nIn * nOut),
      };
      this.layers.push(layer);
      this.initLayer(layer, l, logits ? logits[l]! : null);
    }
    this.g = sizes.slice(1).map((n) => this.complex(C * n));
    const gl = backend.view(this.g[this.g.length - 1]!.re);
    for (let k = 0; k < C; k++) gl[k * C + k] = 1;
    this.ensureCapacity(Math.max(options.batchSize, CHUNK));
  }

  /**
   * Builds a network: validates `options` (throws `FfitError('E_OPTION')`), instantiates the
   * backend (`E_BACKEND` if forced `simd` is unsupported), sizes memory (`E_MEMORY` beyond 4 GiB)
   * and draws the initial logits θ ∈ [−initScale, initScale] from the seed.
   */
  static async create(options: FfitOptions): Promise<InterferenceNetwork> {
    const resolved = resolveOptions(options);
    checkMemory(resolved);
    const backend = await createBackend(resolved.backend, resolved.threads);
    return new InterferenceNetwork(resolved, backend, null);
  }

  /**
   * Rebuilds a network from {@link toJSON} output. `backend` overrides the stored choice.
   * Throws `FfitError('E_MODEL')` when the document is not a version-1 ffit model or its logits
   * do not match the lattice.
   */
  static async fromJSON(json: ModelJSON | string, backend?: BackendChoice): Promise<InterferenceNetwork> {
    let doc: ModelJSON;
    try {
      doc = typeof json === 'string' ? (JSON.parse(json) as ModelJSON) : json;
    } catch (err) {
      throw new FfitError('E_MODEL', `The model file is not valid JSON (${(err as Error).message}); re-save it with ffit.`);
    }
    check(typeof doc === 'object' && doc !== null && doc.format === 'ffit-model', 'This is not an ffit model (missing "format": "ffit-model").', 'E_MODEL');
    check(doc.version === 1, `Unsupported model version ${JSON.stringify(doc.version)}; this ffit reads version 1.`, 'E_MODEL');
    const { speed, ...rest } = doc.options;
    const resolved = resolveOptions({ ...rest, speed: speed === 'Infinity' ? Infinity : speed, backend: backend ?? 'auto' } as FfitOptions);
    const sizes = resolved.layers;
    check(Array.isArray(doc.logits) && doc.logits.length === sizes.length - 1, `The model has ${doc.logits?.length} logit arrays; its lattice needs ${sizes.length - 1}.`, 'E_MODEL');
    const logits = doc.logits.map((b64, l) => {
      const arr = fromBase64F32(b64);
      const want = sizes[l]! * sizes[l + 1]! * resolved.durations;
      check(arr.length === want, `Layer ${l} of the model holds ${arr.length} logits; ${sizes[l]}×${sizes[l + 1]}×${resolved.durations} = ${want} expected.`, 'E_MODEL');
      for (const v of arr) check(Number.isFinite(v), `Layer ${l} of the model holds a non-finite logit; the file is corrupt.`, 'E_MODEL');
      return arr;
    });
    checkMemory(resolved);
    const net = new InterferenceNetwork(resolved, await createBackend(resolved.backend, resolved.threads), logits);
    net.examplesSeen = Number(doc.examplesSeen) || 0;
    if (doc.meta && typeof doc.meta === 'object') net.meta = { ...doc.meta };
    return net;
  }

  /** The backend running the kernels (`simd`, `scalar` or `js`). */
  get backendName(): BackendName {
    return this.be.name;
  }

  /** Bytes of memory the backend holds (WebAssembly memory size). */
  get memoryBytes(): number {
    return this.be.memoryBytes();
  }

  private get be(): Backend {
    if (this.backend === null) throw new FfitError('E_DISPOSED', 'This network was disposed; create a new one.');
    return this.backend;
  }

  private complex(n: number): Complex {
    return { re: this.be.f32(n), im: this.be.f32(n) };
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
      for (let u = 0; u < layer.nIn; u++) {
        for (let v = 0; v < layer.nOut; v++) {
          const phase = -omega * (Math.abs(pv[v]! - pu[u]!) / speed);
          re[u * layer.nOut + v] = Math.cos(phase);
          im[u * layer.nOut + v] = Math.sin(phase);
        }
      }
    }
  }

  private ensureCapacity(n: number): void {
    if (n <= this.capacity) return;
    const be = this.be;
    if (this.capacity > 0) {
      for (const buf of [this.x, this.labels, this.rowsB, this.momentsB, this.probaB, this.predictedB, this.energyB, this.fieldB,
        this.gamma.re, this.gamma.im, ...this.a.flatMap((c) => [c.re, c.im])]) be.release(buf);
    }
    const sizes = this.options.layers, C = this.classes;
    this.x = be.f32(n * sizes[0]!);
    this.a = sizes.map((N, l) => (l === 0 ? { re: be.f32(n * N), im: be.f32(0) } : this.complex(n * N)));
    this.gamma = this.complex(n * Math.max(...sizes.slice(1)));
    this.labels = be.i32(n);
    this.rowsB = be.i32(n);
    this.momentsB = be.f32(n * C);
    this.probaB = be.f32(n * C);
    this.predictedB = be.i32(n);
    this.energyB = be.f32(n);
    this.fieldB = be.f32(n * C);
    this.capacity = n;
  }

  /** Recomputes p and W of every layer and the propagators G after θ changed outside a training step. */
  private refresh(): void {
    if (!this.dirty) return;
    const be = this.be, D = this.options.durations;
    for (const L of this.layers) be.transfer(L.theta, L.prob, L.w, L.rot, L.nIn, L.nOut, D, this.cosD, this.sinD);
    this.propagateAll();
    this.dirty = false;
    this.probStale = false;
  }

  /** p of every layer, when the fused training steps left it behind θ (W and G are current). */
  private refreshProbabilities(): void {
    this.refresh();
    if (!this.probStale) return;
    const be = this.be, D = this.options.durations;
    for (const L of this.layers) be.transfer(L.theta, L.prob, L.w, L.rot, L.nIn, L.nOut, D, this.cosD, this.sinD);
    this.probStale = false;
  }

  /** G^ℓ = W^ℓ G^{ℓ+1} for ℓ = L−1 … 1 (DESIGN.md §5.3); g[i] holds G^{i+1}. */
  private propagateAll(): void {
    const be = this.be, C = this.classes;
    for (let l = this.layers.length - 1; l >= 1; l--) {
      const L = this.layers[l]!;
      be.propagate(L.w, L.nIn, L.nOut, this.g[l]!, C, this.g[l - 1]!);
    }
  }

  /** Copies `images` into backend memory for the batches of a `fit` (skipped if memory is short). */
  private stage(images: Images): void {
    this.unstage();
    const bytes = images instanceof Uint8Array || images instanceof Uint8ClampedArray;
    let buf: I32;
    try {
      buf = this.be.i32(bytes ? Math.ceil(images.length / 4) : images.length);
    } catch (err) {
      if (err instanceof FfitError && err.code === 'E_MEMORY') return; // batches are then copied one by one
      throw err;
    }
    const words = this.be.viewI32(buf);
    if (bytes) new Uint8Array(words.buffer, words.byteOffset, images.length).set(images);
    else new Float32Array(words.buffer, words.byteOffset, images.length).set(images as ArrayLike<number>);
    this.staged = { images, buf, bytes };
  }

  private unstage(): void {
    if (this.staged !== null && this.backend !== null) this.backend.release(this.staged.buf);
    this.staged = null;
  }

  /** Copies examples `rows` (or the first `count`) of `images` into the input buffer and makes sources. */
  private load(images: Images, n0: number, rows: ArrayLike<number> | null, start: number, count: number): void {
    if (rows !== null && this.staged !== null && this.staged.images === images) {
      const rv = this.be.viewI32(this.rowsB);
      for (let b = 0; b < count; b++) rv[b] = rows[start + b]!;
      this.be.gather(this.staged.buf, this.staged.bytes, this.rowsB, count, n0, this.x);
    } else {
      const xv = this.be.view(this.x);
      for (let b = 0; b < count; b++) {
        const i = rows ? rows[start + b]! : start + b;
        const row = (images as Float32Array).subarray
          ? (images as Float32Array).subarray(i * n0, (i + 1) * n0)
          : (images as readonly number[]).slice(i * n0, (i + 1) * n0);
        xv.set(row, b * n0);
      }
    }
    const bad = this.be.sources(this.x, count, n0, this.a[0]!.re);
    if (bad >= 0) {
      const i = rows ? rows[start + bad]! : start + bad;
      throw new FfitError('E_INPUT', `Image ${i} cannot be a source: its values must be finite, ≥ 0 and not all zero (the input is normalised to unit total intensity, DESIGN.md §3).`);
    }
  }

  /** Feeds the loaded batch forward through every layer (DESIGN.md §3) and evaluates the targets. */
  private feed(count: number, labels: I32 | null): void {
    const be = this.be, o = this.options, C = this.classes;
    this.refresh();
    for (let l = 0; l < this.layers.length; l++) {
      const L = this.layers[l]!;
      be.forward(this.a[l]!.re, l === 0 ? null : this.a[l]!.im, count, L.nIn, L.w, L.nOut, this.a[l + 1]!);
      if (o.response === 'ising' && l + 1 < this.layers.length) be.ising(this.a[l + 1]!, count * L.nOut, o.kappa);
    }
    be.targets(this.a[this.layers.length]!, count, C, labels, o.beta, this.cosT, this.sinT,
      o.objective === 'boltzmann' ? 0 : 1, o.coupling, this.momentsB, this.probaB, this.predictedB, this.energyB, this.fieldB);
  }

  private checkImages(images: Images): number {
    const n0 = this.options.layers[0]!;
    check(images !== null && typeof images === 'object' && typeof images.length === 'number', 'images must be a typed array or an array of numbers.', 'E_SHAPE');
    check(images.length % n0 === 0,
      `images holds ${images.length} values, not a multiple of the ${n0} source sites of this lattice; each image must have ${n0} values.`, 'E_SHAPE');
    return images.length / n0;
  }

  private checkLabels(labels: Labels, count: number): void {
    check(labels !== null && typeof labels === 'object' && labels.length === count,
      `labels must hold one class per image (${count}); got ${labels?.length}.`, 'E_SHAPE');
    for (let i = 0; i < count; i++) {
      const y = labels[i]!;
      check(Number.isInteger(y) && y >= 0 && y < this.classes, `Label ${i} is ${y}; labels must be integers from 0 to ${this.classes - 1}.`, 'E_LABEL');
    }
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
    this.load(images, n0, rows, start, count);
    const lv = be.viewI32(this.labels);
    for (let b = 0; b < count; b++) lv[b] = labels[rows ? rows[start + b]! : start + b]!;
    this.feed(count, this.labels);
    const metrics = this.batchMetrics(count, lv, 0);
    // θ ← θ + η ḡ, ḡ = (β / batch) Re(e^{iω(t*−τ)} S)   (DESIGN.md §5.6)
    this.learnLayers(count, (etaScale * o.eta * o.beta) / count);
    this.examplesSeen += count;
    return metrics;
  }

  /**
   * The update of DESIGN.md §5.3–§5.6 for every layer, fused with the transfer of the new θ:
   * top-down, so that Γ^{ℓ+1} = B · G^{ℓ+1} still uses the propagators of the network that made
   * the predictions; then the propagators of the new network.
   */
  private learnLayers(count: number, scale: number): void {
    const be = this.be, o = this.options, C = this.classes;
    for (let l = this.layers.length - 1; l >= 0; l--) {
      const L = this.layers[l]!;
      be.induce(this.fieldB, count, C, this.g[l]!, L.nOut, this.gamma);
      be.learn(this.a[l]!.re, l === 0 ? null : this.a[l]!.im, count, L.nIn, this.gamma, L.nOut, L.theta, null, L.w, L.rot,
        o.durations, this.cosD, this.sinD, this.cosT, this.sinT, scale);
    }
    this.propagateAll();
    this.probStale = true;
  }

  /** S^ℓ += Σ_batch a^ℓ ⊗ Γ^{ℓ+1}, Γ^{ℓ+1} = B · G^{ℓ+1}, for every layer (DESIGN.md §5.3–§5.5). */
  private accumulateGains(count: number): void {
    const be = this.be, C = this.classes;
    for (let l = this.layers.length - 1; l >= 0; l--) {
      const L = this.layers[l]!;
      be.induce(this.fieldB, count, C, this.g[l]!, L.nOut, this.gamma);
      be.accumulate(this.a[l]!.re, l === 0 ? null : this.a[l]!.im, count, L.nIn, this.gamma, L.nOut, L.s);
    }
  }

  /**
   * Route gains ḡ of DESIGN.md §5.5 averaged over a labelled batch, without updating anything:
   * one `N_ℓ × N_{ℓ+1} × D` array per layer (units of log-probability per unit probability). For a
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
      const out = be.f32(L.nIn * L.nOut * o.durations);
      be.update(out, L.s, L.rot, L.nIn, L.nOut, o.durations, this.cosD, this.sinD, this.cosT, this.sinT, o.beta / count, false);
      const copy = be.view(out).slice();
      be.release(out);
      return copy;
    });
  }

  /**
   * Trains for `epochs` passes over `train` in batches of `options.batchSize`, shuffled by the
   * seeded generator. Returns one record per epoch. Throws like {@link trainBatch}.
   */
  fit(train: LabelledSet, fitOptions: FitOptions = {}): EpochRecord[] {
    const { epochs = 3, shuffle = true, schedule = 'linear' } = fitOptions;
    check(Number.isInteger(epochs) && epochs >= 1, `epochs must be an integer ≥ 1; got ${JSON.stringify(epochs)}.`);
    check(['constant', 'linear', 'cosine'].includes(schedule), `schedule must be "constant", "linear" or "cosine"; got ${JSON.stringify(schedule)}.`);
    const count = this.checkImages(train.images);
    this.checkLabels(train.labels, count);
    check(count >= 1, 'The training set is empty.', 'E_DATA');
    for (const set of [fitOptions.validation, fitOptions.test]) {
      if (set) this.checkLabels(set.labels, this.checkImages(set.images));
    }
    const batch = this.options.batchSize;
    this.ensureCapacity(batch);
    const history: EpochRecord[] = [];
    const perEpoch = Math.ceil(count / batch), total = perEpoch * epochs;
    const factor = (t: number): number =>
      schedule === 'linear' ? 1 - t / total : schedule === 'cosine' ? 0.5 * (1 + Math.cos((Math.PI * t) / total)) : 1;
    this.stage(train.images); // released below, or by the next fit / dispose if a batch throws
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const order = shuffle ? this.rng.permutation(count) : Int32Array.from({ length: count }, (_, i) => i);
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
    this.unstage();
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

  /** Accuracy, mean energy, mean M_y, mean −log P(y|x) and the confusion matrix over a labelled set. */
  evaluate(images: Images, labels: Labels): Evaluation {
    const C = this.classes;
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

  /** Route probabilities p of layer ℓ: a copy, `N_ℓ × N_{ℓ+1} × D`, each site's row sums to 1. */
  probabilities(layer: number): Float32Array {
    this.refreshProbabilities();
    return this.be.view(this.layerAt(layer).prob).slice();
  }

  /** Route logits θ of layer ℓ: a copy, `N_ℓ × N_{ℓ+1} × D`, each site's maximum is 0 after an update. */
  logits(layer: number): Float32Array {
    return this.be.view(this.layerAt(layer).theta).slice();
  }

  /** Complex transfer W^ℓ (DESIGN.md §3): copies `{re, im}`, each `N_ℓ × N_{ℓ+1}`, |W_uv| ≤ Σ_d p. */
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
    check(Number.isInteger(layer) && layer >= 1 && layer <= this.layers.length, `Propagators exist for layers 1 … ${this.layers.length}; got ${layer}.`);
    this.refresh();
    const g = this.g[layer - 1]!;
    return { re: this.be.view(g.re).slice(), im: this.be.view(g.im).slice() };
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
    return this.layers.map((L) => this.be.entropy(L.prob, L.nIn, L.nOut * this.options.durations));
  }

  private layerAt(layer: number): Layer {
    check(Number.isInteger(layer) && layer >= 0 && layer < this.layers.length, `Layer index must be 0 … ${this.layers.length - 1}; got ${layer}.`);
    return this.layers[layer]!;
  }

  /** Serialises the options and logits (see {@link ModelJSON}); exact round trip. */
  toJSON(meta?: Record<string, unknown>): ModelJSON {
    const { backend: _backend, threads: _threads, speed, ...rest } = this.options;
    return {
      format: 'ffit-model',
      version: 1,
      options: { ...rest, layers: [...rest.layers], speed: Number.isFinite(speed) ? speed : 'Infinity' },
      logits: this.layers.map((L) => toBase64F32(this.be.view(L.theta))),
      examplesSeen: this.examplesSeen,
      ...(meta ? { meta } : {}),
    };
  }

  /** Releases the WebAssembly instance and its memory; the network cannot be used afterwards. */
  dispose(): void {
    this.staged = null;
    this.backend?.dispose();
    this.backend = null;
  }
}

/** Rejects lattices whose buffers exceed wasm32 memory before anything is allocated. */
function checkMemory(o: ResolvedOptions): void {
  const sizes = o.layers, D = o.durations;
  let floats = 0;
  for (let l = 0; l + 1 < sizes.length; l++) floats += sizes[l]! * sizes[l + 1]! * (2 * D + 6);
  const cap = Math.max(o.batchSize, CHUNK);
  floats += cap * sizes.reduce((s, n) => s + 3 * n, 0) + 2 * sizes[sizes.length - 1]! * sizes.reduce((s, n) => s + n, 0);
  const bytes = floats * 4;
  if (bytes > 4 * 1024 ** 3 - 2 ** 24) {
    throw new FfitError('E_MEMORY', `This lattice needs about ${(bytes / 2 ** 30).toFixed(2)} GiB, more than WebAssembly's 4 GiB; use fewer sites, durations or a smaller batch.`);
  }
}

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

function toBase64F32(arr: Float32Array): string {
  const bytes = new Uint8Array(arr.length * 4);
  const dv = new DataView(bytes.buffer);
  for (let i = 0; i < arr.length; i++) dv.setFloat32(i * 4, arr[i]!, true);
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

function fromBase64F32(b64: unknown): Float32Array {
  check(typeof b64 === 'string', 'Model logits must be base64 strings.', 'E_MODEL');
  let bin: string;
  try {
    bin = atob(b64);
  } catch {
    throw new FfitError('E_MODEL', 'Model logits are not valid base64; the file is corrupt.');
  }
  check(bin.length % 4 === 0, 'Model logits are not a whole number of Float32 values; the file is corrupt.', 'E_MODEL');
  const dv = new DataView(new ArrayBuffer(bin.length));
  for (let i = 0; i < bin.length; i++) dv.setUint8(i, bin.charCodeAt(i));
  const out = new Float32Array(bin.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = dv.getFloat32(i * 4, true);
  return out;
}

export { resolveBackend };
