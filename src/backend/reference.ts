import { FfitError } from '../errors.js';
import { F32_MAX, F32_MIN_NORMAL } from '../validate.js';
import type { Backend, Complex, F32, I32, LearnStep, ObjectiveCode, Routes } from './types.js';
import { learnInTurn, loadThenForward } from './compose.js';

/** Smallest row total that `renormalize` restores (2^-64), as in assembly/index.ts. */
const RENORM_FLOOR = 2 ** -64;
/** Largest propagator component below which `normalizeMax` rescales (2^-40), as in assembly/index.ts. */
const TINY_PROPAGATOR = 2 ** -40;

/**
 * The readable TypeScript reference of DESIGN.md §2–§5: the oracle every WebAssembly kernel is
 * tested against, and the `js` backend. Plain loops that follow the equations, arithmetic in
 * float64 (JavaScript numbers), results stored as Float32 like the other backends.
 */
export function createReferenceBackend(): Backend {
  return new ReferenceBackend();
}

/** Runs an allocation of `length` 4-byte elements, turning the engine's RangeError into `E_MEMORY`. */
function allocate<T>(make: () => T, length: number): T {
  try {
    return make();
  } catch (err) {
    throw new FfitError('E_MEMORY', `Could not allocate ${(length * 4 / 2 ** 20).toFixed(1)} MiB for the js backend (${(err as Error).message}); use a smaller lattice or batch.`);
  }
}

interface Stored extends F32 {
  readonly data: Float32Array | Int32Array;
}

class ReferenceBackend implements Backend {
  readonly name = 'js' as const;
  private bytes = 0;
  private disposed = false;

  private arr(b: F32 | I32): Float32Array {
    if (this.disposed) throw new FfitError('E_DISPOSED', 'This network was disposed; create a new one.');
    return (b as Stored).data as Float32Array;
  }

  private ints(b: I32): Int32Array {
    return (b as Stored).data as unknown as Int32Array;
  }

  f32(length: number): F32 {
    const data = allocate(() => new Float32Array(length), length);
    this.bytes += length * 4;
    return { ptr: 0, length, data } as Stored;
  }

  i32(length: number): I32 {
    const data = allocate(() => new Int32Array(length), length);
    this.bytes += length * 4;
    return { ptr: 0, length, data } as Stored;
  }

  release(buf: F32 | I32): void {
    this.bytes -= buf.length * 4;
  }

  view(buf: F32): Float32Array {
    return this.arr(buf);
  }

  viewI32(buf: I32): Int32Array {
    return this.ints(buf);
  }

  memoryBytes(): number {
    return this.bytes;
  }

  dispose(): void {
    this.disposed = true;
    this.bytes = 0;
  }

  gather(imagesB: I32, bytes: boolean, rowsB: I32, count: number, n: number, xb: F32): void {
    const words = this.ints(imagesB), rows = this.ints(rowsB), x = this.arr(xb);
    const values = bytes ? new Uint8Array(words.buffer, words.byteOffset, words.byteLength) : new Float32Array(words.buffer, words.byteOffset, words.length);
    for (let b = 0; b < count; b++) {
      for (let i = 0; i < n; i++) x[b * n + i] = values[rows[b]! * n + i]!;
    }
  }

  load(images: I32, bytes: boolean, rows: I32, count: number, n: number, x: F32, a: F32): number {
    this.gather(images, bytes, rows, count, n, x);
    return this.sources(x, count, n, a);
  }
  loadForward(images: I32, bytes: boolean, rows: I32, count: number, n: number, x: F32, a: F32, w: Complex, nOut: number, z: Complex): number {
    return loadThenForward(this, images, bytes, rows, count, n, x, a, w, nOut, z);
  }

  sources(xb: F32, batch: number, n: number, ab: F32): number {
    const x = this.arr(xb), a = this.arr(ab);
    for (let b = 0; b < batch; b++) {
      let total = 0;
      for (let i = 0; i < n; i++) {
        const v = x[b * n + i]!;
        if (!(v >= 0) || v === Infinity) return b;
        total += v;
      }
      // same rule as the f32 kernels: the total must be a normal, finite Float32
      if (!(total >= F32_MIN_NORMAL) || !(total <= F32_MAX)) return b;
      for (let i = 0; i < n; i++) a[b * n + i] = x[b * n + i]! / total;
    }
    return -1;
  }

  transfer(thetaB: F32, probB: F32, w: Complex, rot: Complex | null, nIn: number, nOut: number, D: number, cosB: F32, sinB: F32): void {
    const theta = this.arr(thetaB), p = this.arr(probB);
    const wr = this.arr(w.re), wi = this.arr(w.im), cos = this.arr(cosB), sin = this.arr(sinB);
    const R = nOut * D;
    for (let u = 0; u < nIn; u++) {
      // p(u→v,d) = softmax_{(v,d)} θ(u→v,d)   (DESIGN.md §2)
      let hi = -Infinity;
      for (let j = 0; j < R; j++) hi = Math.max(hi, theta[u * R + j]!);
      let total = 0;
      for (let j = 0; j < R; j++) total += Math.exp(theta[u * R + j]! - hi);
      for (let j = 0; j < R; j++) p[u * R + j] = Math.exp(theta[u * R + j]! - hi) / total;
      // W_uv = Σ_d p(u→v,d) e^{−iωτ}, τ = δ(u,v) + d   (DESIGN.md §3)
      for (let v = 0; v < nOut; v++) {
        let re = 0, im = 0;
        for (let d = 0; d < D; d++) {
          const q = p[u * R + v * D + d]!;
          re += q * cos[d]!;
          im -= q * sin[d]!;
        }
        if (rot) {
          const c = this.arr(rot.re)[u * nOut + v]!, s = this.arr(rot.im)[u * nOut + v]!;
          [re, im] = [re * c - im * s, re * s + im * c];
        }
        wr[u * nOut + v] = re;
        wi[u * nOut + v] = im;
      }
    }
  }

  forward(aReB: F32, aImB: F32 | null, batch: number, nIn: number, w: Complex, nOut: number, z: Complex): void {
    const ar = this.arr(aReB), ai = aImB ? this.arr(aImB) : null;
    const wr = this.arr(w.re), wi = this.arr(w.im), zr = this.arr(z.re), zi = this.arr(z.im);
    // z_v = Σ_u a_u W_uv   (DESIGN.md §3: arrivals superpose)
    for (let b = 0; b < batch; b++) {
      for (let v = 0; v < nOut; v++) {
        let re = 0, im = 0;
        for (let u = 0; u < nIn; u++) {
          const xr = ar[b * nIn + u]!, xi = ai ? ai[b * nIn + u]! : 0;
          const yr = wr[u * nOut + v]!, yi = wi[u * nOut + v]!;
          re += xr * yr - xi * yi;
          im += xr * yi + xi * yr;
        }
        zr[b * nOut + v] = re;
        zi[b * nOut + v] = im;
      }
    }
  }

  ising(z: Complex, n: number, kappa: number): void {
    const zr = this.arr(z.re), zi = this.arr(z.im);
    // φ(z) = z · tanh(κ|z|) / (κ|z|)   (DESIGN.md §3, `ising`)
    for (let i = 0; i < n; i++) {
      const t = kappa * Math.hypot(zr[i]!, zi[i]!);
      const s = t === 0 ? 1 : Math.tanh(t) / t;
      zr[i] = zr[i]! * s;
      zi[i] = zi[i]! * s;
    }
  }

  targets(
    a: Complex, batch: number, C: number, labelsB: I32 | null, beta: number, cosT: number, sinT: number,
    objective: ObjectiveCode, J: number, momentsB: F32, probaB: F32, predictedB: I32, energyB: F32, fieldB: F32,
  ): void {
    const ar = this.arr(a.re), ai = this.arr(a.im);
    const M = this.arr(momentsB), P = this.arr(probaB), E = this.arr(energyB), B = this.arr(fieldB);
    const pred = this.ints(predictedB), labels = labelsB ? this.ints(labelsB) : null;
    for (let b = 0; b < batch; b++) {
      // M_k = Re(e^{iωt*} a_k)   (DESIGN.md §4)
      const m: number[] = [];
      for (let k = 0; k < C; k++) m.push(cosT * ar[b * C + k]! - sinT * ai[b * C + k]!);
      let best = 0;
      for (let k = 1; k < C; k++) if (m[k]! > m[best]!) best = k;
      pred[b] = best;
      // P(k|x) = softmax_k(β M_k)
      const hi = m[best]!;
      let total = 0;
      for (let k = 0; k < C; k++) total += Math.exp(beta * (m[k]! - hi));
      for (let k = 0; k < C; k++) {
        M[b * C + k] = m[k]!;
        P[b * C + k] = Math.exp(beta * (m[k]! - hi)) / total;
      }
      if (!labels) continue;
      // h_y = 1, h_k = −1/(C−1);  E = −Σ h M − (J/2) Σ M²;  B = δ − P  or  h   (DESIGN.md §4, §5.2)
      const y = labels[b]!;
      let e = 0;
      for (let k = 0; k < C; k++) {
        const h = k === y ? 1 : -1 / (C - 1);
        e -= h * m[k]! + 0.5 * J * m[k]! * m[k]!;
        B[b * C + k] = objective === 0 ? (k === y ? 1 : 0) - P[b * C + k]! : h;
      }
      E[b] = e;
    }
  }

  propagate(w: Complex, nIn: number, nOut: number, gNext: Complex, C: number, g: Complex): void {
    const wr = this.arr(w.re), wi = this.arr(w.im), nr = this.arr(gNext.re), ni = this.arr(gNext.im);
    const gr = this.arr(g.re), gi = this.arr(g.im);
    // G^ℓ = W^ℓ G^{ℓ+1}, stored transposed: G[k,u] = Σ_v W[u,v] Gnext[k,v]   (DESIGN.md §5.3)
    for (let k = 0; k < C; k++) {
      for (let u = 0; u < nIn; u++) {
        let re = 0, im = 0;
        for (let v = 0; v < nOut; v++) {
          const a = wr[u * nOut + v]!, b = wi[u * nOut + v]!, c = nr[k * nOut + v]!, d = ni[k * nOut + v]!;
          re += a * c - b * d;
          im += a * d + b * c;
        }
        gr[k * nIn + u] = re;
        gi[k * nIn + u] = im;
      }
    }
  }

  induce(fieldB: F32, batch: number, C: number, g: Complex, n: number, out: Complex): void {
    const B = this.arr(fieldB), gr = this.arr(g.re), gi = this.arr(g.im);
    const or = this.arr(out.re), oi = this.arr(out.im);
    // Γ_v = Σ_k B_k G_vk   (DESIGN.md §5.4)
    for (let b = 0; b < batch; b++) {
      for (let v = 0; v < n; v++) {
        let re = 0, im = 0;
        for (let k = 0; k < C; k++) {
          re += B[b * C + k]! * gr[k * n + v]!;
          im += B[b * C + k]! * gi[k * n + v]!;
        }
        or[b * n + v] = re;
        oi[b * n + v] = im;
      }
    }
  }

  accumulate(aReB: F32, aImB: F32 | null, batch: number, nIn: number, gamma: Complex, nOut: number, s: Complex): void {
    const ar = this.arr(aReB), ai = aImB ? this.arr(aImB) : null;
    const gr = this.arr(gamma.re), gi = this.arr(gamma.im), sr = this.arr(s.re), si = this.arr(s.im);
    // S_uv += Σ_b a_u Γ_v   (the outer product a^ℓ ⊗ Γ^{ℓ+1} of DESIGN.md §5.5)
    for (let u = 0; u < nIn; u++) {
      for (let v = 0; v < nOut; v++) {
        let re = sr[u * nOut + v]!, im = si[u * nOut + v]!;
        for (let b = 0; b < batch; b++) {
          const xr = ar[b * nIn + u]!, xi = ai ? ai[b * nIn + u]! : 0;
          const yr = gr[b * nOut + v]!, yi = gi[b * nOut + v]!;
          re += xr * yr - xi * yi;
          im += xr * yi + xi * yr;
        }
        sr[u * nOut + v] = re;
        si[u * nOut + v] = im;
      }
    }
  }

  update(
    thetaB: F32, s: Complex, rot: Complex | null, nIn: number, nOut: number, D: number,
    cosB: F32, sinB: F32, cosT: number, sinT: number, scale: number, recentre: boolean,
  ): void {
    const theta = this.arr(thetaB), sr = this.arr(s.re), si = this.arr(s.im);
    const cos = this.arr(cosB), sin = this.arr(sinB);
    const R = nOut * D;
    for (let u = 0; u < nIn; u++) {
      for (let v = 0; v < nOut; v++) {
        // T = e^{iωt*} · e^{−iωδ} · S;  g(u→v,d) ∝ Re(e^{−iωd} T)   (DESIGN.md §5.5–§5.6)
        let a = sr[u * nOut + v]!, b = si[u * nOut + v]!;
        if (rot) {
          const c = this.arr(rot.re)[u * nOut + v]!, e = this.arr(rot.im)[u * nOut + v]!;
          [a, b] = [a * c - b * e, a * e + b * c];
        }
        const tr = cosT * a - sinT * b, ti = cosT * b + sinT * a;
        for (let d = 0; d < D; d++) theta[u * R + v * D + d] = theta[u * R + v * D + d]! + scale * (cos[d]! * tr + sin[d]! * ti);
        sr[u * nOut + v] = 0;
        si[u * nOut + v] = 0;
      }
      if (!recentre) continue;
      // softmax is shift-invariant: keep each site's logits in [−88, 0]
      let hi = -Infinity;
      for (let j = 0; j < R; j++) hi = Math.max(hi, theta[u * R + j]!);
      for (let j = 0; j < R; j++) theta[u * R + j] = Math.max(theta[u * R + j]! - hi, -88);
    }
  }

  learn(
    aRe: F32, aIm: F32 | null, batch: number, nIn: number, gamma: Complex, nOut: number,
    theta: F32, prob: F32 | null, w: Complex, rot: Complex | null, D: number,
    cosD: F32, sinD: F32, cosT: number, sinT: number, scale: number,
  ): void {
    // the definition of the fused step: accumulate, update with recentring, transfer
    const s = this.work(`s${nIn}x${nOut}`, () => ({ re: this.f32(nIn * nOut), im: this.f32(nIn * nOut) }));
    const p = prob ?? this.work(`p${nIn}x${nOut}x${D}`, () => this.f32(nIn * nOut * D));
    this.accumulate(aRe, aIm, batch, nIn, gamma, nOut, s);
    this.update(theta, s, rot, nIn, nOut, D, cosD, sinD, cosT, sinT, scale, true); // leaves S = 0
    this.transfer(theta, p, w, rot, nIn, nOut, D, cosD, sinD);
  }
  learnLayers(steps: readonly LearnStep[]): void {
    learnInTurn(this, steps);
  }

  /** Work buffers of `learn`, one per shape, kept for the next batch (update leaves S zeroed). */
  private readonly workBuffers = new Map<string, unknown>();

  private work<T>(key: string, make: () => T): T {
    let buf = this.workBuffers.get(key) as T | undefined;
    if (buf === undefined) {
      buf = make();
      this.workBuffers.set(key, buf);
    }
    return buf;
  }

  entropy(probB: F32, nIn: number, R: number): number {
    const p = this.arr(probB);
    let total = 0;
    for (let u = 0; u < nIn; u++) {
      for (let j = 0; j < R; j++) {
        const q = p[u * R + j]!;
        if (q > 0) total -= q * Math.log(q);
      }
    }
    return nIn > 0 ? total / nIn : 0;
  }

  renormalize(z: Complex, batch: number, n: number, scaleB: F32): void {
    const zr = this.arr(z.re), zi = this.arr(z.im), scale = this.arr(scaleB);
    // s = 1 / Σ_v |z_v|: the hidden layer carries unit total amplitude again, like the sources;
    // a total below 2^-64 is rounding residue (s would exceed 2^64): the row is cut, s = 0
    for (let b = 0; b < batch; b++) {
      let total = 0;
      for (let v = 0; v < n; v++) total += Math.hypot(zr[b * n + v]!, zi[b * n + v]!);
      const s = !(total < Infinity) ? 1 : total >= RENORM_FLOOR ? 1 / total : 0;
      scale[b] = s;
      for (let v = 0; v < n; v++) {
        zr[b * n + v] = zr[b * n + v]! * s;
        zi[b * n + v] = zi[b * n + v]! * s;
      }
    }
  }

  normalizeMax(g: Complex, n: number): number {
    const re = this.arr(g.re), im = this.arr(g.im);
    let hi = 0;
    for (let i = 0; i < n; i++) hi = Math.max(hi, Math.abs(re[i]!), Math.abs(im[i]!));
    if (!(hi > 0 && hi < TINY_PROPAGATOR)) return 0;
    // the power of two that brings the largest component into [0.5, 1)
    let e = -Math.floor(Math.log2(hi)) - 1;
    while (hi * 2 ** e >= 1) e--;
    while (hi * 2 ** e < 0.5) e++;
    const k = 2 ** e;
    for (let i = 0; i < n; i++) {
      re[i] = re[i]! * k;
      im[i] = im[i]! * k;
    }
    return e;
  }

  scaleRows(xB: F32, batch: number, n: number, scaleB: F32): void {
    const x = this.arr(xB), scale = this.arr(scaleB);
    for (let b = 0; b < batch; b++) for (let i = 0; i < n; i++) x[b * n + i] = x[b * n + i]! * scale[b]!;
  }

  // Sparse layers: route j of site u goes to v = targets[j], offsets[u] ≤ j < offsets[u+1] (DESIGN.md §1).

  transferSparse(thetaB: F32, probB: F32, w: Complex, rot: Complex | null, routes: Routes, nIn: number, D: number, cosB: F32, sinB: F32): void {
    const theta = this.arr(thetaB), p = this.arr(probB), off = this.ints(routes.offsets);
    const wr = this.arr(w.re), wi = this.arr(w.im), cos = this.arr(cosB), sin = this.arr(sinB);
    for (let u = 0; u < nIn; u++) {
      // p = softmax over the site's routes × durations   (DESIGN.md §2)
      const j0 = off[u]! * D, j1 = off[u + 1]! * D;
      let hi = -Infinity;
      for (let j = j0; j < j1; j++) hi = Math.max(hi, theta[j]!);
      let total = 0;
      for (let j = j0; j < j1; j++) total += Math.exp(theta[j]! - hi);
      for (let j = j0; j < j1; j++) p[j] = Math.exp(theta[j]! - hi) / total;
      // W_j = rot_j Σ_d p(j,d) e^{−iωd}   (DESIGN.md §3)
      for (let r = off[u]!; r < off[u + 1]!; r++) {
        let re = 0, im = 0;
        for (let d = 0; d < D; d++) {
          re += p[r * D + d]! * cos[d]!;
          im -= p[r * D + d]! * sin[d]!;
        }
        if (rot) {
          const c = this.arr(rot.re)[r]!, s = this.arr(rot.im)[r]!;
          [re, im] = [re * c - im * s, re * s + im * c];
        }
        wr[r] = re;
        wi[r] = im;
      }
    }
  }

  forwardSparse(aReB: F32, aImB: F32 | null, batch: number, nIn: number, w: Complex, routes: Routes, nOut: number, z: Complex): void {
    const ar = this.arr(aReB), ai = aImB ? this.arr(aImB) : null, off = this.ints(routes.offsets), to = this.ints(routes.targets);
    const wr = this.arr(w.re), wi = this.arr(w.im), zr = this.arr(z.re), zi = this.arr(z.im);
    zr.fill(0, 0, batch * nOut);
    zi.fill(0, 0, batch * nOut);
    // z_v = Σ_{routes u→v} a_u W_j
    for (let b = 0; b < batch; b++) {
      for (let u = 0; u < nIn; u++) {
        const xr = ar[b * nIn + u]!, xi = ai ? ai[b * nIn + u]! : 0;
        for (let j = off[u]!; j < off[u + 1]!; j++) {
          const v = b * nOut + to[j]!;
          zr[v] = zr[v]! + (xr * wr[j]! - xi * wi[j]!);
          zi[v] = zi[v]! + (xr * wi[j]! + xi * wr[j]!);
        }
      }
    }
  }

  propagateSparse(w: Complex, routes: Routes, nIn: number, nOut: number, gNext: Complex, C: number, g: Complex): void {
    const wr = this.arr(w.re), wi = this.arr(w.im), nr = this.arr(gNext.re), ni = this.arr(gNext.im);
    const gr = this.arr(g.re), gi = this.arr(g.im), off = this.ints(routes.offsets), to = this.ints(routes.targets);
    // G[k,u] = Σ_{routes j of u} W_j Gnext[k, v_j]   (DESIGN.md §5.3)
    for (let k = 0; k < C; k++) {
      for (let u = 0; u < nIn; u++) {
        let re = 0, im = 0;
        for (let j = off[u]!; j < off[u + 1]!; j++) {
          const a = wr[j]!, b = wi[j]!, c = nr[k * nOut + to[j]!]!, d = ni[k * nOut + to[j]!]!;
          re += a * c - b * d;
          im += a * d + b * c;
        }
        gr[k * nIn + u] = re;
        gi[k * nIn + u] = im;
      }
    }
  }

  accumulateSparse(aReB: F32, aImB: F32 | null, batch: number, nIn: number, gamma: Complex, nOut: number, routes: Routes, s: Complex): void {
    const ar = this.arr(aReB), ai = aImB ? this.arr(aImB) : null, off = this.ints(routes.offsets), to = this.ints(routes.targets);
    const gr = this.arr(gamma.re), gi = this.arr(gamma.im), sr = this.arr(s.re), si = this.arr(s.im);
    // S_j += Σ_b a_u Γ_{v_j}   (DESIGN.md §5.5, over routes only)
    for (let u = 0; u < nIn; u++) {
      for (let j = off[u]!; j < off[u + 1]!; j++) {
        let re = sr[j]!, im = si[j]!;
        for (let b = 0; b < batch; b++) {
          const xr = ar[b * nIn + u]!, xi = ai ? ai[b * nIn + u]! : 0;
          const yr = gr[b * nOut + to[j]!]!, yi = gi[b * nOut + to[j]!]!;
          re += xr * yr - xi * yi;
          im += xr * yi + xi * yr;
        }
        sr[j] = re;
        si[j] = im;
      }
    }
  }

  updateSparse(
    thetaB: F32, s: Complex, rot: Complex | null, routes: Routes, nIn: number, D: number,
    cosB: F32, sinB: F32, cosT: number, sinT: number, scale: number, recentre: boolean,
  ): void {
    const theta = this.arr(thetaB), sr = this.arr(s.re), si = this.arr(s.im), off = this.ints(routes.offsets);
    const cos = this.arr(cosB), sin = this.arr(sinB);
    for (let u = 0; u < nIn; u++) {
      for (let j = off[u]!; j < off[u + 1]!; j++) {
        // T = e^{iωt*} rot_j S_j;  θ(j,d) += scale Re(e^{−iωd} T)   (DESIGN.md §5.5–§5.6)
        let a = sr[j]!, b = si[j]!;
        if (rot) {
          const c = this.arr(rot.re)[j]!, e = this.arr(rot.im)[j]!;
          [a, b] = [a * c - b * e, a * e + b * c];
        }
        const tr = cosT * a - sinT * b, ti = cosT * b + sinT * a;
        for (let d = 0; d < D; d++) theta[j * D + d] = theta[j * D + d]! + scale * (cos[d]! * tr + sin[d]! * ti);
        sr[j] = 0;
        si[j] = 0;
      }
      if (!recentre) continue;
      const j0 = off[u]! * D, j1 = off[u + 1]! * D;
      let hi = -Infinity;
      for (let j = j0; j < j1; j++) hi = Math.max(hi, theta[j]!);
      for (let j = j0; j < j1; j++) theta[j] = Math.max(theta[j]! - hi, -88);
    }
  }

  arrivals(hInB: F32, nIn: number, Tin: number, routes: Routes | null, nOut: number, probB: F32, D: number,
    shiftB: I32 | null, q: number, hOutB: F32, Tout: number): void {
    const hIn = this.arr(hInB), p = this.arr(probB), hOut = this.arr(hOutB);
    const off = routes ? this.ints(routes.offsets) : null, to = routes ? this.ints(routes.targets) : null;
    const shift = shiftB ? this.ints(shiftB) : null;
    hOut.fill(0, 0, nOut * Tout);
    // h^{ℓ+1}_v(t + τ) += p(u→v,d) h^ℓ_u(t), τ = δ(u,v) + d on the grid   (DESIGN.md §3)
    for (let u = 0; u < nIn; u++) {
      const j0 = off ? off[u]! : u * nOut, j1 = off ? off[u + 1]! : (u + 1) * nOut;
      for (let j = j0; j < j1; j++) {
        const v = to ? to[j]! : j - j0;
        for (let d = 0; d < D; d++) {
          const o = v * Tout + (shift ? shift[j]! : 0) + d * q;
          for (let t = 0; t < Tin; t++) hOut[o + t] = hOut[o + t]! + p[j * D + d]! * hIn[u * Tin + t]!;
        }
      }
    }
  }

  intensity(z: Complex, batch: number, n: number, outB: F32): void {
    const zr = this.arr(z.re), zi = this.arr(z.im), out = this.arr(outB);
    for (let b = 0; b < batch; b++) for (let v = 0; v < n; v++) out[v] = out[v]! + zr[b * n + v]! ** 2 + zi[b * n + v]! ** 2;
  }
}
