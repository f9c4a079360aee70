// ffit kernels: the hot loops of DESIGN.md §2–§5 in AssemblyScript.
//
// One source, two builds: `ASC_FEATURE_SIMD` is a compile-time constant, so the `simd` target keeps
// only the f32x4 branches and the `scalar` target only the scalar ones (asconfig.json).
//
// Conventions shared by every kernel:
// - Arguments are byte pointers into this module's memory plus element counts (never byte counts).
// - Every array is a row-major Float32 array (labels and predictions: Int32), 4-byte aligned; the
//   allocator returns 16-byte aligned blocks but `v128.load` does not require alignment.
// - Complex values are split into a real and an imaginary array of the same shape.
// - Outputs never alias inputs unless a kernel says "in place".
// - A zero pointer means "absent" where a kernel says the argument is optional.
// - No kernel allocates; none traps on finite input of the documented shapes.

// ---------------------------------------------------------------------------------------------
// Memory

/** Allocates `bytes` bytes, zero-filled, 16-byte aligned. Returns the pointer. */
export function alloc(bytes: usize): usize {
  const ptr = heap.alloc(bytes);
  memory.fill(ptr, 0, bytes);
  return ptr;
}

/** Returns a block from `alloc` to the allocator (TLSF: the memory is really reused). */
export function free(ptr: usize): void {
  heap.free(ptr);
}

/** Current memory size in bytes (grows, never shrinks). */
export function memoryBytes(): usize {
  return (<usize>memory.size()) << 16;
}

// ---------------------------------------------------------------------------------------------
// exp: Cephes `expf` (range reduction by ln 2, degree-6 polynomial). Max relative error about
// 2 ulp (≈ 2.4e-7) on [−87.3, 88.3]. Below −87.3 it returns exactly 0 (no subnormals), which is
// what the route softmax wants: a route whose logit is 87 below its site's maximum has p = 0.

const EXP_LO: f32 = -87.3;
const EXP_HI: f32 = 88.3;
const LOG2E: f32 = 1.44269504088896341;
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.12194440e-4;
const P0: f32 = 1.9875691500e-4;
const P1: f32 = 1.3981999507e-3;
const P2: f32 = 8.3334519073e-3;
const P3: f32 = 4.1665795894e-2;
const P4: f32 = 1.6666665459e-1;
const P5: f32 = 5.0000001201e-1;

// @ts-ignore: decorator
@inline function expf(x: f32): f32 {
  if (x < EXP_LO) return 0;
  x = min(x, EXP_HI);
  const n = Mathf.floor(x * LOG2E + 0.5);
  const r = x - n * LN2_HI - n * LN2_LO;
  const z = r * r;
  let y = ((((P0 * r + P1) * r + P2) * r + P3) * r + P4) * r + P5;
  y = y * z + r + 1;
  return y * reinterpret<f32>((<i32>n + 127) << 23);
}

// @ts-ignore: decorator
@inline function expv(x: v128): v128 {
  const keep = f32x4.ge(x, f32x4.splat(EXP_LO));
  x = f32x4.max(f32x4.min(x, f32x4.splat(EXP_HI)), f32x4.splat(EXP_LO));
  const n = f32x4.floor(f32x4.add(f32x4.mul(x, f32x4.splat(LOG2E)), f32x4.splat(0.5)));
  const r = f32x4.sub(f32x4.sub(x, f32x4.mul(n, f32x4.splat(LN2_HI))), f32x4.mul(n, f32x4.splat(LN2_LO)));
  const z = f32x4.mul(r, r);
  let y = f32x4.add(f32x4.mul(f32x4.splat(P0), r), f32x4.splat(P1));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(P2));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(P3));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(P4));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(P5));
  y = f32x4.add(f32x4.add(f32x4.mul(y, z), r), f32x4.splat(1));
  const pow2 = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return v128.and(f32x4.mul(y, pow2), keep);
}

// @ts-ignore: decorator
@inline function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) +
    (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

// @ts-ignore: decorator
@inline function hmax(v: v128): f32 {
  return max(max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)),
    max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
}

// @ts-ignore: decorator
@inline function ld(p: usize, i: i32): f32 {
  return load<f32>(p + (<usize>i << 2));
}

// @ts-ignore: decorator
@inline function st(p: usize, i: i32, x: f32): void {
  store<f32>(p + (<usize>i << 2), x);
}

// @ts-ignore: decorator
@inline function vld(p: usize, i: i32): v128 {
  return v128.load(p + (<usize>i << 2));
}

// @ts-ignore: decorator
@inline function vst(p: usize, i: i32, x: v128): void {
  v128.store(p + (<usize>i << 2), x);
}

/** Rows of a weight matrix processed together, so that a block of `W` (≤ 64 × N_{ℓ+1} complex)
 *  stays in L1/L2 while every example of the batch streams past it. */
const BLOCK: i32 = 64;

// ---------------------------------------------------------------------------------------------
// Sources (DESIGN.md §3): a⁰_i = x_i / Σ_j x_j.

const F32_MIN_NORMAL: f32 = 1.17549435e-38;

/**
 * Normalises `batch` rows of `n` non-negative intensities to unit total.
 * `x` (batch × n, f32) → `a` (batch × n, f32). Returns the index of the first row that is not a
 * valid source (a NaN, an infinity, a negative value, a total that is zero, subnormal or overflows
 * f32), or −1 when all are valid.
 */
export function sources(x: usize, batch: i32, n: i32, a: usize): i32 {
  for (let b = 0; b < batch; b++) {
    const xr = x + (<usize>(b * n) << 2);
    const ar = a + (<usize>(b * n) << 2);
    let total: f32 = 0;
    let lo: f32 = 0;
    let i = 0;
    if (ASC_FEATURE_SIMD) {
      let s = f32x4.splat(0);
      let m = f32x4.splat(0);
      for (; i + 4 <= n; i += 4) {
        const v = vld(xr, i);
        s = f32x4.add(s, v);
        m = f32x4.min(m, v); // NaN propagates through f32x4.min
      }
      total = hsum(s);
      lo = min(min(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)),
        min(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
    }
    for (; i < n; i++) {
      const v = ld(xr, i);
      total += v;
      lo = min(lo, v);
    }
    // a total below the smallest normal f32 has no finite reciprocal: 0 · ∞ would make NaN sources
    if (!(lo >= 0) || !(total >= F32_MIN_NORMAL) || total == Infinity) return b;
    const inv: f32 = 1 / total;
    i = 0;
    if (ASC_FEATURE_SIMD) {
      const s = f32x4.splat(inv);
      for (; i + 4 <= n; i += 4) vst(ar, i, f32x4.mul(vld(xr, i), s));
    }
    for (; i < n; i++) st(ar, i, ld(xr, i) * inv);
  }
  return -1;
}

/** Widens `count` bytes (u8 pixels) to f32 without scaling: `out[i] = x[i]`. */
export function widenU8(x: usize, count: i32, out: usize): void {
  for (let i = 0; i < count; i++) st(out, i, <f32>load<u8>(x + <usize>i));
}

// ---------------------------------------------------------------------------------------------
// Transfer (DESIGN.md §2–§3): route logits θ → probabilities p → complex transfer W.

/**
 * For each site u of a layer (`nIn` sites, `nOut` next-layer sites, `D` durations):
 *   p(u→v,d) = softmax over (v,d) of θ(u→v,d),                       θ, p: nIn × nOut × D
 *   W_uv     = rot_uv · Σ_d p(u→v,d) (cos ωd − i sin ωd),            W: nIn × nOut complex
 * `cosD`, `sinD` hold cos(ωd), sin(ωd) for d < D; `rot` (optional, nIn × nOut complex) is the travel
 * phase e^{−iωδ(u,v)} of a finite signal speed. Rows sum to 1 within a few ulp.
 */
export function transfer(
  theta: usize, prob: usize, wRe: usize, wIm: usize, rotRe: usize, rotIm: usize,
  nIn: i32, nOut: i32, D: i32, cosD: usize, sinD: usize,
): void {
  const R = nOut * D;
  for (let u = 0; u < nIn; u++) {
    const th = theta + (<usize>(u * R) << 2);
    const pr = prob + (<usize>(u * R) << 2);
    const wr = wRe + (<usize>(u * nOut) << 2);
    const wi = wIm + (<usize>(u * nOut) << 2);
    // 1. maximum logit (softmax shift)
    let hi: f32 = -Infinity;
    let j = 0;
    if (ASC_FEATURE_SIMD) {
      let m = f32x4.splat(-Infinity);
      for (; j + 4 <= R; j += 4) m = f32x4.max(m, vld(th, j));
      hi = hmax(m);
    }
    for (; j < R; j++) hi = max(hi, ld(th, j));
    // 2. unnormalised probabilities and their sum
    let total: f32 = 0;
    j = 0;
    if (ASC_FEATURE_SIMD) {
      const h = f32x4.splat(hi);
      let s = f32x4.splat(0);
      for (; j + 4 <= R; j += 4) {
        const e = expv(f32x4.sub(vld(th, j), h));
        vst(pr, j, e);
        s = f32x4.add(s, e);
      }
      total = hsum(s);
    }
    for (; j < R; j++) {
      const e = expf(ld(th, j) - hi);
      st(pr, j, e);
      total += e;
    }
    const inv: f32 = 1 / total;
    // 3. normalise and sum the duration phasors
    if (ASC_FEATURE_SIMD && D == 1) {
      const c = f32x4.splat(ld(cosD, 0) * inv);
      const s = f32x4.splat(-ld(sinD, 0) * inv);
      const k = f32x4.splat(inv);
      let v = 0;
      for (; v + 4 <= nOut; v += 4) {
        const p = vld(pr, v);
        vst(pr, v, f32x4.mul(p, k));
        vst(wr, v, f32x4.mul(p, c));
        vst(wi, v, f32x4.mul(p, s));
      }
      for (; v < nOut; v++) {
        const p = ld(pr, v);
        st(pr, v, p * inv);
        st(wr, v, p * ld(cosD, 0) * inv);
        st(wi, v, -p * ld(sinD, 0) * inv);
      }
    } else if (ASC_FEATURE_SIMD && (D & 3) == 0) {
      const k = f32x4.splat(inv);
      for (let v = 0; v < nOut; v++) {
        const base = v * D;
        let accRe = f32x4.splat(0);
        let accIm = f32x4.splat(0);
        for (let d = 0; d < D; d += 4) {
          const p = f32x4.mul(vld(pr, base + d), k);
          vst(pr, base + d, p);
          accRe = f32x4.add(accRe, f32x4.mul(p, vld(cosD, d)));
          accIm = f32x4.add(accIm, f32x4.mul(p, vld(sinD, d)));
        }
        st(wr, v, hsum(accRe));
        st(wi, v, -hsum(accIm));
      }
    } else {
      for (let v = 0; v < nOut; v++) {
        const base = v * D;
        let re: f32 = 0;
        let im: f32 = 0;
        for (let d = 0; d < D; d++) {
          const p = ld(pr, base + d) * inv;
          st(pr, base + d, p);
          re += p * ld(cosD, d);
          im += p * ld(sinD, d);
        }
        st(wr, v, re);
        st(wi, v, -im);
      }
    }
    // 4. travel phase of a finite signal speed
    if (rotRe != 0) {
      const rr = rotRe + (<usize>(u * nOut) << 2);
      const ri = rotIm + (<usize>(u * nOut) << 2);
      let v = 0;
      if (ASC_FEATURE_SIMD) {
        for (; v + 4 <= nOut; v += 4) {
          const a = vld(wr, v), b = vld(wi, v), c = vld(rr, v), e = vld(ri, v);
          vst(wr, v, f32x4.sub(f32x4.mul(a, c), f32x4.mul(b, e)));
          vst(wi, v, f32x4.add(f32x4.mul(a, e), f32x4.mul(b, c)));
        }
      }
      for (; v < nOut; v++) {
        const a = ld(wr, v), b = ld(wi, v), c = ld(rr, v), e = ld(ri, v);
        st(wr, v, a * c - b * e);
        st(wi, v, a * e + b * c);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Feed forward (DESIGN.md §3): z^{ℓ+1} = a^ℓ W^ℓ, complex, for a batch.

/**
 * `z` (batch × nOut complex) = `a` (batch × nIn complex, or real when `aIm` is 0) · `W`
 * (nIn × nOut complex). Rows of `a` that are exactly zero are skipped (sparse images).
 * Summation order over u is the same in both builds, so they agree to the bit.
 */
export function forward(
  aRe: usize, aIm: usize, batch: i32, nIn: i32,
  wRe: usize, wIm: usize, nOut: i32, zRe: usize, zIm: usize,
): void {
  memory.fill(zRe, 0, <usize>(batch * nOut) << 2);
  memory.fill(zIm, 0, <usize>(batch * nOut) << 2);
  for (let u0 = 0; u0 < nIn; u0 += BLOCK) {
    const u1 = min(nIn, u0 + BLOCK);
    for (let b = 0; b < batch; b++) {
      const zr = zRe + (<usize>(b * nOut) << 2);
      const zi = zIm + (<usize>(b * nOut) << 2);
      for (let u = u0; u < u1; u++) {
        const ar = ld(aRe, b * nIn + u);
        const ai: f32 = aIm != 0 ? ld(aIm, b * nIn + u) : 0;
        if (ar == 0 && ai == 0) continue;
        const wr = wRe + (<usize>(u * nOut) << 2);
        const wi = wIm + (<usize>(u * nOut) << 2);
        cmacRow(zr, zi, ar, ai, wr, wi, nOut);
      }
    }
  }
}

/** y += (ar + i·ai) · x over `n` complex entries (the axpy shared by forward and accumulate). */
// @ts-ignore: decorator
@inline function cmacRow(yr: usize, yi: usize, ar: f32, ai: f32, xr: usize, xi: usize, n: i32): void {
  let v = 0;
  if (ASC_FEATURE_SIMD) {
    const r = f32x4.splat(ar);
    const i = f32x4.splat(ai);
    if (ai == 0) {
      for (; v + 4 <= n; v += 4) {
        vst(yr, v, f32x4.add(vld(yr, v), f32x4.mul(r, vld(xr, v))));
        vst(yi, v, f32x4.add(vld(yi, v), f32x4.mul(r, vld(xi, v))));
      }
    } else {
      for (; v + 4 <= n; v += 4) {
        const a = vld(xr, v), b = vld(xi, v);
        vst(yr, v, f32x4.add(vld(yr, v), f32x4.sub(f32x4.mul(r, a), f32x4.mul(i, b))));
        vst(yi, v, f32x4.add(vld(yi, v), f32x4.add(f32x4.mul(r, b), f32x4.mul(i, a))));
      }
    }
  }
  if (ai == 0) {
    for (; v < n; v++) {
      st(yr, v, ld(yr, v) + ar * ld(xr, v));
      st(yi, v, ld(yi, v) + ar * ld(xi, v));
    }
  } else {
    for (; v < n; v++) {
      const a = ld(xr, v), b = ld(xi, v);
      st(yr, v, ld(yr, v) + (ar * a - ai * b));
      st(yi, v, ld(yi, v) + (ar * b + ai * a));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Site response (DESIGN.md §3, `ising`): φ(z) = z · tanh(κ|z|) / (κ|z|), in place.

// @ts-ignore: decorator
@inline function tanhOverX(t: f32): f32 {
  // Series below 0.25 (truncation < 3e-10); above, 1 − 2/(e^{2t}+1) loses at most 2 bits.
  if (t < 0.25) {
    const s = t * t;
    return 1 + s * (-0.33333333 + s * (0.13333333 + s * (-0.053968254 + s * (0.021869488 + s * -0.0088632355))));
  }
  return (1 - 2 / (expf(2 * t) + 1)) / t;
}

/** In place on `n` complex values: z ← z · tanh(κ|z|)/(κ|z|). Magnitude saturates at 1/κ. */
export function ising(zRe: usize, zIm: usize, n: i32, kappa: f32): void {
  for (let i = 0; i < n; i++) {
    const re = ld(zRe, i), im = ld(zIm, i);
    const s = tanhOverX(kappa * Mathf.sqrt(re * re + im * im));
    st(zRe, i, re * s);
    st(zIm, i, im * s);
  }
}

// ---------------------------------------------------------------------------------------------
// Targets (DESIGN.md §4–§5.2): moments, Boltzmann occupation, energy, induced field.

/**
 * For a batch of target amplitudes `a` (batch × C complex):
 *   M_k = Re(e^{iωt*} a_k) → `moments`;  P = softmax(β M) → `proba`;  argmax M → `predicted` (i32).
 * With `labels` (i32, optional): h_y = 1, h_k = −1/(C−1);
 *   E = −Σ h_k M_k − (J/2) Σ M_k² → `energy` (batch);
 *   B = δ_{ky} − P_k (objective 0, boltzmann) or h_k (objective 1, field) → `field` (batch × C).
 */
export function targets(
  aRe: usize, aIm: usize, batch: i32, C: i32, labels: usize,
  beta: f32, cosT: f32, sinT: f32, objective: i32, J: f32,
  moments: usize, proba: usize, predicted: usize, energy: usize, field: usize,
): void {
  const hOther: f32 = C > 1 ? -1 / <f32>(C - 1) : 0;
  for (let b = 0; b < batch; b++) {
    const o = b * C;
    let best = 0;
    let hi: f32 = -Infinity;
    for (let k = 0; k < C; k++) {
      const m = cosT * ld(aRe, o + k) - sinT * ld(aIm, o + k);
      st(moments, o + k, m);
      if (m > hi) { hi = m; best = k; }
    }
    store<i32>(predicted + (<usize>b << 2), best);
    let total: f32 = 0;
    for (let k = 0; k < C; k++) {
      const e = expf(beta * (ld(moments, o + k) - hi));
      st(proba, o + k, e);
      total += e;
    }
    const inv: f32 = 1 / total;
    for (let k = 0; k < C; k++) st(proba, o + k, ld(proba, o + k) * inv);
    if (labels == 0) continue;
    const y = load<i32>(labels + (<usize>b << 2));
    let e: f32 = 0;
    for (let k = 0; k < C; k++) {
      const m = ld(moments, o + k);
      const h: f32 = k == y ? 1 : hOther;
      e -= h * m + 0.5 * J * m * m;
      st(field, o + k, objective == 0 ? (k == y ? 1 : 0) - ld(proba, o + k) : h);
    }
    st(energy, b, e);
  }
}

// ---------------------------------------------------------------------------------------------
// Worldline propagators (DESIGN.md §5.3): G^ℓ = W^ℓ G^{ℓ+1}, stored transposed (C × N_ℓ).

/**
 * `G` (C × nIn complex) with G[k,u] = Σ_v W[u,v] · Gnext[k,v], where `W` is nIn × nOut and
 * `Gnext` is C × nOut (both complex): the sum over all worldlines from site u to target k of
 * probability × phase, hidden sites linear.
 */
export function propagate(
  wRe: usize, wIm: usize, nIn: i32, nOut: i32,
  gNextRe: usize, gNextIm: usize, C: i32, gRe: usize, gIm: usize,
): void {
  for (let k = 0; k < C; k++) {
    const nr = gNextRe + (<usize>(k * nOut) << 2);
    const ni = gNextIm + (<usize>(k * nOut) << 2);
    for (let u = 0; u < nIn; u++) {
      const wr = wRe + (<usize>(u * nOut) << 2);
      const wi = wIm + (<usize>(u * nOut) << 2);
      let re: f32 = 0;
      let im: f32 = 0;
      let v = 0;
      if (ASC_FEATURE_SIMD) {
        let sr = f32x4.splat(0);
        let si = f32x4.splat(0);
        for (; v + 4 <= nOut; v += 4) {
          const a = vld(wr, v), b = vld(wi, v), c = vld(nr, v), d = vld(ni, v);
          sr = f32x4.add(sr, f32x4.sub(f32x4.mul(a, c), f32x4.mul(b, d)));
          si = f32x4.add(si, f32x4.add(f32x4.mul(a, d), f32x4.mul(b, c)));
        }
        re = hsum(sr);
        im = hsum(si);
      }
      for (; v < nOut; v++) {
        const a = ld(wr, v), b = ld(wi, v), c = ld(nr, v), d = ld(ni, v);
        re += a * c - b * d;
        im += a * d + b * c;
      }
      st(gRe, k * nIn + u, re);
      st(gIm, k * nIn + u, im);
    }
  }
}

/**
 * Induced signal (DESIGN.md §5.4): Γ[b,v] = Σ_k B[b,k] · G[k,v]; `field` B is batch × C (real),
 * `G` is C × n (complex), Γ is batch × n (complex).
 */
export function induce(
  field: usize, batch: i32, C: i32, gRe: usize, gIm: usize, n: i32, outRe: usize, outIm: usize,
): void {
  memory.fill(outRe, 0, <usize>(batch * n) << 2);
  memory.fill(outIm, 0, <usize>(batch * n) << 2);
  for (let b = 0; b < batch; b++) {
    const yr = outRe + (<usize>(b * n) << 2);
    const yi = outIm + (<usize>(b * n) << 2);
    for (let k = 0; k < C; k++) {
      const f = ld(field, b * C + k);
      if (f == 0) continue;
      const gr = gRe + (<usize>(k * n) << 2);
      const gi = gIm + (<usize>(k * n) << 2);
      cmacRow(yr, yi, f, 0, gr, gi, n);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Route gains (DESIGN.md §5.5): accumulate S = Σ_batch a^ℓ ⊗ Γ^{ℓ+1}; expand and apply in `update`.

/**
 * `S` (nIn × nOut complex) += Σ_b a[b,u] · Γ[b,v], with `a` batch × nIn (complex, or real when
 * `aIm` is 0) and Γ batch × nOut complex. Zero entries of `a` are skipped. Rows of S are blocked
 * so that a block stays in cache while the whole batch streams past it.
 */
export function accumulate(
  aRe: usize, aIm: usize, batch: i32, nIn: i32,
  gamRe: usize, gamIm: usize, nOut: i32, sRe: usize, sIm: usize,
): void {
  for (let u0 = 0; u0 < nIn; u0 += BLOCK) {
    const u1 = min(nIn, u0 + BLOCK);
    for (let b = 0; b < batch; b++) {
      const gr = gamRe + (<usize>(b * nOut) << 2);
      const gi = gamIm + (<usize>(b * nOut) << 2);
      for (let u = u0; u < u1; u++) {
        const ar = ld(aRe, b * nIn + u);
        const ai: f32 = aIm != 0 ? ld(aIm, b * nIn + u) : 0;
        if (ar == 0 && ai == 0) continue;
        cmacRow(sRe + (<usize>(u * nOut) << 2), sIm + (<usize>(u * nOut) << 2), ar, ai, gr, gi, nOut);
      }
    }
  }
}

/**
 * Probability update (DESIGN.md §5.6), in place on θ (nIn × nOut × D), and S is zeroed:
 *   T_uv = e^{iωt*} · rot_uv · S_uv     (rot optional, see `transfer`)
 *   θ(u→v,d) += scale · Re(e^{−iωd} T_uv) = scale · (cos ωd · Re T + sin ωd · Im T)
 * with scale = η β / batch, so that θ moves by η ḡ. With `recentreRows` ≠ 0 each site's logits are
 * then shifted so their maximum is 0 (the softmax is unchanged) and floored at −88 (where exp
 * already gives 0): logits stay bounded however long training runs. With 0 and θ = 0 on entry,
 * θ receives the gains themselves (scale = β / batch gives ḡ).
 */
export function update(
  theta: usize, sRe: usize, sIm: usize, rotRe: usize, rotIm: usize,
  nIn: i32, nOut: i32, D: i32, cosD: usize, sinD: usize, cosT: f32, sinT: f32, scale: f32,
  recentreRows: i32,
): void {
  const R = nOut * D;
  for (let u = 0; u < nIn; u++) {
    const th = theta + (<usize>(u * R) << 2);
    const sr = sRe + (<usize>(u * nOut) << 2);
    const si = sIm + (<usize>(u * nOut) << 2);
    const rr = rotRe + (<usize>(u * nOut) << 2);
    const ri = rotIm + (<usize>(u * nOut) << 2);
    for (let v = 0; v < nOut; v++) {
      let a = ld(sr, v), b = ld(si, v);
      if (rotRe != 0) {
        const c = ld(rr, v), e = ld(ri, v);
        const t = a * c - b * e;
        b = a * e + b * c;
        a = t;
      }
      const tr = scale * (cosT * a - sinT * b);
      const ti = scale * (cosT * b + sinT * a);
      const base = v * D;
      let d = 0;
      if (ASC_FEATURE_SIMD) {
        const vr = f32x4.splat(tr), vi = f32x4.splat(ti);
        for (; d + 4 <= D; d += 4) {
          const g = f32x4.add(f32x4.mul(vld(cosD, d), vr), f32x4.mul(vld(sinD, d), vi));
          vst(th, base + d, f32x4.add(vld(th, base + d), g));
        }
      }
      for (; d < D; d++) st(th, base + d, ld(th, base + d) + (ld(cosD, d) * tr + ld(sinD, d) * ti));
    }
    memory.fill(sr, 0, <usize>nOut << 2);
    memory.fill(si, 0, <usize>nOut << 2);
    if (recentreRows != 0) recentre(th, R);
  }
}

/** θ ← max(θ − max θ, −88) over one site's `n` logits. */
// @ts-ignore: decorator
@inline function recentre(th: usize, n: i32): void {
  let hi: f32 = -Infinity;
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    let m = f32x4.splat(-Infinity);
    for (; j + 4 <= n; j += 4) m = f32x4.max(m, vld(th, j));
    hi = hmax(m);
  }
  for (; j < n; j++) hi = max(hi, ld(th, j));
  j = 0;
  if (ASC_FEATURE_SIMD) {
    const h = f32x4.splat(hi), lo = f32x4.splat(-88);
    for (; j + 4 <= n; j += 4) vst(th, j, f32x4.max(f32x4.sub(vld(th, j), h), lo));
  }
  for (; j < n; j++) st(th, j, max(ld(th, j) - hi, <f32>-88));
}

/**
 * Mean Shannon entropy (nats) of the sites' route distributions: p is nIn × R, each row on the
 * simplex. Range [0, ln R]. Used by reports of the learning dynamics.
 */
export function entropy(prob: usize, nIn: i32, R: i32): f64 {
  let total: f64 = 0;
  for (let u = 0; u < nIn; u++) {
    const pr = prob + (<usize>(u * R) << 2);
    let h: f64 = 0;
    for (let j = 0; j < R; j++) {
      const p = <f64>ld(pr, j);
      if (p > 0) h -= p * Math.log(p);
    }
    total += h;
  }
  return nIn > 0 ? total / nIn : 0;
}

// ---------------------------------------------------------------------------------------------
// Depth (README "Deep lattices"): renormalised hidden layers.

/** Totals below this are recomputed from moduli prescaled by 2^64, whose squares cannot underflow. */
const RENORM_RESCUE: f32 = 2.3283064e-10; // 2^-32
const TWO64: f32 = 1.8446744e19; // 2^64, exact

/**
 * In place on `batch` rows of `n` complex amplitudes: z ← s·z with s = 1 / Σ_v |z_v|, so that each
 * hidden layer again carries unit total amplitude, like the sources (DESIGN.md §3). Writes s per row
 * to `scale` (batch). The moduli of a small row are summed prescaled by 2^64 (exact), because
 * |z|² underflows f32 below 2^-63. A row whose total is below 2^-64 (0 included) carries no usable
 * signal (its arrivals cancelled to Float32 rounding residue) and would need s > 2^64: it is set to
 * 0 with s = 0, so every row holds unit total amplitude or none. A non-finite total leaves the row
 * as it is, with s = 1.
 */
export function renormalize(zRe: usize, zIm: usize, batch: i32, n: i32, scale: usize): void {
  for (let b = 0; b < batch; b++) {
    const zr = zRe + (<usize>(b * n) << 2);
    const zi = zIm + (<usize>(b * n) << 2);
    let total = modulusSum(zr, zi, n, 1);
    let s: f32 = 1;
    if (total >= RENORM_RESCUE && total < Infinity) s = 1 / total;
    else if (total < RENORM_RESCUE) {
      total = modulusSum(zr, zi, n, TWO64); // total · 2^64, accurate
      s = total >= 1 ? TWO64 / total : 0;
    }
    st(scale, b, s);
    if (s == 1) continue;
    let v = 0;
    if (ASC_FEATURE_SIMD) {
      const k = f32x4.splat(s);
      for (; v + 4 <= n; v += 4) {
        vst(zr, v, f32x4.mul(vld(zr, v), k));
        vst(zi, v, f32x4.mul(vld(zi, v), k));
      }
    }
    for (; v < n; v++) {
      st(zr, v, ld(zr, v) * s);
      st(zi, v, ld(zi, v) * s);
    }
  }
}

/** Σ_v |k·z_v| over one row of `n` complex values (k a power of two, so k·z is exact). */
// @ts-ignore: decorator
@inline function modulusSum(zr: usize, zi: usize, n: i32, k: f32): f32 {
  let total: f32 = 0;
  let v = 0;
  if (ASC_FEATURE_SIMD) {
    const m = f32x4.splat(k);
    let s = f32x4.splat(0);
    for (; v + 4 <= n; v += 4) {
      const a = f32x4.mul(vld(zr, v), m), c = f32x4.mul(vld(zi, v), m);
      s = f32x4.add(s, f32x4.sqrt(f32x4.add(f32x4.mul(a, a), f32x4.mul(c, c))));
    }
    total = hsum(s);
  }
  for (; v < n; v++) {
    const a = ld(zr, v) * k, c = ld(zi, v) * k;
    total += Mathf.sqrt(a * a + c * c);
  }
  return total;
}

/** Propagators whose largest component is below this are rescaled by {@link normalizeMax}. */
const TINY_PROPAGATOR: f32 = 9.094947e-13; // 2^-40

/**
 * In place on `n` complex values: when the largest |re| or |im| is positive but below 2^-40,
 * multiplies every value by 2^e, e ≥ 1 the power that brings it into [0.5, 1), and returns e (else
 * returns 0 and changes nothing). Used on the worldline propagators G of a renormalised lattice,
 * which shrink like the raw amplitudes while the renormalisation factors grow: the network carries
 * 2^−e with the factors (in float64), so neither G underflows nor Π s overflows Float32.
 */
export function normalizeMax(re: usize, im: usize, n: i32): i32 {
  let hi: f32 = 0;
  for (let i = 0; i < n; i++) hi = max(hi, max(Mathf.abs(ld(re, i)), Mathf.abs(ld(im, i))));
  if (!(hi > 0 && hi < TINY_PROPAGATOR)) return 0;
  const e = powerToHalf(<f64>hi);
  const k = Math.pow(2, <f64>e);
  for (let i = 0; i < n; i++) {
    st(re, i, <f32>(<f64>ld(re, i) * k));
    st(im, i, <f32>(<f64>ld(im, i) * k));
  }
  return e;
}

/** The integer e with x·2^e in [0.5, 1), for 0 < x < ∞ (exact: the products are powers of two). */
// @ts-ignore: decorator
@inline function powerToHalf(x: f64): i32 {
  let e = <i32>-Math.floor(Math.log2(x)) - 1;
  while (x * Math.pow(2, <f64>e) >= 1) e--;
  while (x * Math.pow(2, <f64>e) < 0.5) e++;
  return e;
}

/** In place: x[b, :] ← x[b, :] · scale[b] for `batch` rows of `n` reals. */
export function scaleRows(x: usize, batch: i32, n: i32, scale: usize): void {
  for (let b = 0; b < batch; b++) {
    const s = ld(scale, b);
    const xr = x + (<usize>(b * n) << 2);
    for (let i = 0; i < n; i++) st(xr, i, ld(xr, i) * s);
  }
}

// ---------------------------------------------------------------------------------------------
// Sparse topologies (DESIGN.md §1, `causal` and `local`): layers that store only their routes.
//
// A layer's routes are compressed sparse rows: `offsets` (i32, nIn + 1) and `targets` (i32, one
// next-layer site per route, strictly ascending within a site's row). Route j owns θ, p at
// [j·D, j·D + D) and W, rot, S at j. Every kernel costs O(routes), never O(nIn × nOut). A row whose
// targets are contiguous (always so for causal and local lattices with ordered positions) runs
// through the dense SIMD row loops; any other row through a scalar gather/scatter.

// @ts-ignore: decorator
@inline function ldi(p: usize, i: i32): i32 {
  return load<i32>(p + (<usize>i << 2));
}

/** Whether row [o0, o1) of `targets` is the contiguous run targets[o0], targets[o0] + 1, … (ascending rows). */
// @ts-ignore: decorator
@inline function contiguous(targets: usize, o0: i32, o1: i32): bool {
  return ldi(targets, o1 - 1) - ldi(targets, o0) == o1 - o0 - 1;
}

/** `transfer` per site over its own routes: p = softmax of the site's routes × D logits, W per route. */
export function transferSparse(
  theta: usize, prob: usize, wRe: usize, wIm: usize, rotRe: usize, rotIm: usize,
  offsets: usize, nIn: i32, D: i32, cosD: usize, sinD: usize,
): void {
  for (let u = 0; u < nIn; u++) {
    const o0 = ldi(offsets, u), o1 = ldi(offsets, u + 1);
    const r = <usize>o0 << 2, t = <usize>(o0 * D) << 2;
    transfer(theta + t, prob + t, wRe + r, wIm + r, rotRe != 0 ? rotRe + r : 0, rotIm != 0 ? rotIm + r : 0,
      1, o1 - o0, D, cosD, sinD);
  }
}

/** z (batch × nOut complex) = a (batch × nIn; real when `aIm` is 0) through the routes' W (routes complex). */
export function forwardSparse(
  aRe: usize, aIm: usize, batch: i32, nIn: i32, offsets: usize, targets: usize,
  wRe: usize, wIm: usize, nOut: i32, zRe: usize, zIm: usize,
): void {
  memory.fill(zRe, 0, <usize>(batch * nOut) << 2);
  memory.fill(zIm, 0, <usize>(batch * nOut) << 2);
  for (let b = 0; b < batch; b++) {
    const zr = zRe + (<usize>(b * nOut) << 2);
    const zi = zIm + (<usize>(b * nOut) << 2);
    for (let u = 0; u < nIn; u++) {
      const ar = ld(aRe, b * nIn + u);
      const ai: f32 = aIm != 0 ? ld(aIm, b * nIn + u) : 0;
      if (ar == 0 && ai == 0) continue;
      const o0 = ldi(offsets, u), o1 = ldi(offsets, u + 1);
      if (contiguous(targets, o0, o1)) {
        const v0 = <usize>ldi(targets, o0) << 2;
        cmacRow(zr + v0, zi + v0, ar, ai, wRe + (<usize>o0 << 2), wIm + (<usize>o0 << 2), o1 - o0);
        continue;
      }
      for (let j = o0; j < o1; j++) {
        const v = ldi(targets, j), a = ld(wRe, j), c = ld(wIm, j);
        st(zr, v, ld(zr, v) + (ar * a - ai * c));
        st(zi, v, ld(zi, v) + (ar * c + ai * a));
      }
    }
  }
}

/** G (C × nIn complex), G[k,u] = Σ_{routes j of u} W[j] · Gnext[k, targets[j]] (Gnext C × nOut). */
export function propagateSparse(
  wRe: usize, wIm: usize, offsets: usize, targets: usize, nIn: i32, nOut: i32,
  gNextRe: usize, gNextIm: usize, C: i32, gRe: usize, gIm: usize,
): void {
  for (let k = 0; k < C; k++) {
    const nr = gNextRe + (<usize>(k * nOut) << 2);
    const ni = gNextIm + (<usize>(k * nOut) << 2);
    for (let u = 0; u < nIn; u++) {
      const o0 = ldi(offsets, u), o1 = ldi(offsets, u + 1);
      let re: f32 = 0, im: f32 = 0;
      if (contiguous(targets, o0, o1)) {
        const v0 = <usize>ldi(targets, o0) << 2;
        const wr = wRe + (<usize>o0 << 2), wi = wIm + (<usize>o0 << 2), gr = nr + v0, gi = ni + v0;
        const n = o1 - o0;
        let v = 0;
        if (ASC_FEATURE_SIMD) {
          let sr = f32x4.splat(0), si = f32x4.splat(0);
          for (; v + 4 <= n; v += 4) {
            const a = vld(wr, v), b = vld(wi, v), c = vld(gr, v), d = vld(gi, v);
            sr = f32x4.add(sr, f32x4.sub(f32x4.mul(a, c), f32x4.mul(b, d)));
            si = f32x4.add(si, f32x4.add(f32x4.mul(a, d), f32x4.mul(b, c)));
          }
          re = hsum(sr);
          im = hsum(si);
        }
        for (; v < n; v++) {
          const a = ld(wr, v), b = ld(wi, v), c = ld(gr, v), d = ld(gi, v);
          re += a * c - b * d;
          im += a * d + b * c;
        }
      } else {
        for (let j = o0; j < o1; j++) {
          const v = ldi(targets, j);
          const a = ld(wRe, j), b = ld(wIm, j), c = ld(nr, v), d = ld(ni, v);
          re += a * c - b * d;
          im += a * d + b * c;
        }
      }
      st(gRe, k * nIn + u, re);
      st(gIm, k * nIn + u, im);
    }
  }
}

/** S (routes complex) += Σ_b a[b,u] · Γ[b, targets[j]] for every route j of u (a real when `aIm` is 0). */
export function accumulateSparse(
  aRe: usize, aIm: usize, batch: i32, nIn: i32, gamRe: usize, gamIm: usize, nOut: i32,
  offsets: usize, targets: usize, sRe: usize, sIm: usize,
): void {
  for (let b = 0; b < batch; b++) {
    const gr = gamRe + (<usize>(b * nOut) << 2);
    const gi = gamIm + (<usize>(b * nOut) << 2);
    for (let u = 0; u < nIn; u++) {
      const ar = ld(aRe, b * nIn + u);
      const ai: f32 = aIm != 0 ? ld(aIm, b * nIn + u) : 0;
      if (ar == 0 && ai == 0) continue;
      const o0 = ldi(offsets, u), o1 = ldi(offsets, u + 1);
      if (contiguous(targets, o0, o1)) {
        const v0 = <usize>ldi(targets, o0) << 2;
        cmacRow(sRe + (<usize>o0 << 2), sIm + (<usize>o0 << 2), ar, ai, gr + v0, gi + v0, o1 - o0);
        continue;
      }
      for (let j = o0; j < o1; j++) {
        const v = ldi(targets, j), c = ld(gr, v), d = ld(gi, v);
        st(sRe, j, ld(sRe, j) + (ar * c - ai * d));
        st(sIm, j, ld(sIm, j) + (ar * d + ai * c));
      }
    }
  }
}

/** `update` per site over its own routes (θ routes × D, S and rot per route); S is zeroed. */
export function updateSparse(
  theta: usize, sRe: usize, sIm: usize, rotRe: usize, rotIm: usize, offsets: usize, nIn: i32,
  D: i32, cosD: usize, sinD: usize, cosT: f32, sinT: f32, scale: f32, recentreRows: i32,
): void {
  for (let u = 0; u < nIn; u++) {
    const o0 = ldi(offsets, u), o1 = ldi(offsets, u + 1);
    const r = <usize>o0 << 2, t = <usize>(o0 * D) << 2;
    update(theta + t, sRe + r, sIm + r, rotRe != 0 ? rotRe + r : 0, rotIm != 0 ? rotIm + r : 0,
      1, o1 - o0, D, cosD, sinD, cosT, sinT, scale, recentreRows);
  }
}

// ---------------------------------------------------------------------------------------------
// Worldline tools (DESIGN.md §1, §3): arrival-time distributions and source-resolved intensities.

/**
 * One layer of the arrival-time distribution h (DESIGN.md §3, linear response) on a grid of
 * `q` steps per tick: hOut[v, t + shift_j + d·q] += p(j, d) · hIn[u, t] for every route j = u→v
 * and duration d. `hIn` is nIn × Tin, `hOut` nOut × Tout (zeroed here; the caller makes
 * Tout ≥ Tin + max shift + (D−1)·q). `offsets` 0 means a dense layer (route j = u·nOut + v,
 * `targets` unused); `shift` (i32 per route, travel time δ in grid steps) 0 means none.
 */
export function arrivals(
  hIn: usize, nIn: i32, Tin: i32, offsets: usize, targets: usize, nOut: i32,
  prob: usize, D: i32, shift: usize, q: i32, hOut: usize, Tout: i32,
): void {
  memory.fill(hOut, 0, <usize>(nOut * Tout) << 2);
  for (let u = 0; u < nIn; u++) {
    const hu = hIn + (<usize>(u * Tin) << 2);
    // the support of h[u] (a source is a single tick; most of a deep layer's grid is empty)
    let t0 = 0, t1 = Tin;
    while (t0 < t1 && ld(hu, t0) == 0) t0++;
    while (t1 > t0 && ld(hu, t1 - 1) == 0) t1--;
    if (t0 == t1) continue;
    const o0 = offsets != 0 ? ldi(offsets, u) : u * nOut;
    const o1 = offsets != 0 ? ldi(offsets, u + 1) : (u + 1) * nOut;
    for (let j = o0; j < o1; j++) {
      const v = offsets != 0 ? ldi(targets, j) : j - o0;
      const s = shift != 0 ? ldi(shift, j) : 0;
      for (let d = 0; d < D; d++) {
        const p = ld(prob, j * D + d);
        if (p == 0) continue;
        const hv = hOut + (<usize>(v * Tout + s + d * q) << 2);
        let t = t0;
        if (ASC_FEATURE_SIMD) {
          const k = f32x4.splat(p);
          for (; t + 4 <= t1; t += 4) vst(hv, t, f32x4.add(vld(hv, t), f32x4.mul(k, vld(hu, t))));
        }
        for (; t < t1; t++) st(hv, t, ld(hv, t) + p * ld(hu, t));
      }
    }
  }
}

/** out[v] += Σ_b |z[b, v]|² over `batch` rows of `n` complex values (incoherent intensity per site). */
export function intensity(zRe: usize, zIm: usize, batch: i32, n: i32, out: usize): void {
  for (let b = 0; b < batch; b++) {
    const zr = zRe + (<usize>(b * n) << 2);
    const zi = zIm + (<usize>(b * n) << 2);
    let v = 0;
    if (ASC_FEATURE_SIMD) {
      for (; v + 4 <= n; v += 4) {
        const a = vld(zr, v), c = vld(zi, v);
        vst(out, v, f32x4.add(vld(out, v), f32x4.add(f32x4.mul(a, a), f32x4.mul(c, c))));
      }
    }
    for (; v < n; v++) {
      const a = ld(zr, v), c = ld(zi, v);
      st(out, v, ld(out, v) + (a * a + c * c));
    }
  }
}
