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
// Scratch: per-instance working memory for the kernels that compact sparse inputs or buffer a
// row. The host allocates it (`alloc`) and registers it here; each WebAssembly instance has its own
// globals, so every thread sharing one memory registers its own block.

let scratchPtr: usize = 0;
let scratchLen: usize = 0;

/**
 * Registers `bytes` bytes at `ptr` as this instance's scratch memory. `forward`, `accumulate` and
 * `learn` need `scratchBytes(batch, nIn, nOut, D)` bytes; `forward` works with less (slower).
 */
export function scratch(ptr: usize, bytes: usize): void {
  scratchPtr = ptr;
  scratchLen = bytes;
}

/** Examples whose active sources `forward` compacts at once (their lists stay in L1/L2). */
const GROUP: i32 = 32;

// @ts-ignore: decorator
@inline function align16(bytes: usize): usize {
  return (bytes + 15) & ~(<usize>15);
}

/** Scratch bytes that `forward`, `accumulate` and `learn` need for these shapes (see `scratch`). */
export function scratchBytes(batch: i32, nIn: i32, nOut: i32, D: i32): usize {
  const fwd = <usize>min(batch, GROUP) * forwardBytesPerExample(nIn);
  const col = align16(<usize>batch << 2) * 3 + align16(<usize>nOut << 2) * 4 + align16(<usize>(nOut * D) << 2) + align16(<usize>D << 2) * 2;
  return max(fwd, col);
}

// ---------------------------------------------------------------------------------------------
// exp (the route softmax, the Boltzmann occupation, the Ising response).
//
// e^x = 2ⁿ · e^t with n = round(x log₂e) and t = x − n ln 2 ∈ [−ln2/2, ln2/2] (Cody–Waite: ln 2 in
// two parts so that n·ln2_hi is exact), e^t ≈ 1 + t·(c1 + t·(c2 + t·(c3 + t·(c4 + t·c5)))), the
// degree-5 minimax polynomial also used by XNNPACK (`expminus_rr2_p5`). Adding the magic bias
// 1.5·2²³ + 127 rounds x·log₂e to an integer held in the low mantissa bits, already biased, so 2ⁿ
// is those bits shifted into the exponent field: no float→int conversion (several x86
// instructions in WebAssembly). Max relative error about 2 ulp (≈ 2.4e-7) on [−87.33, 88.3];
// below −87.33 (where e^x would be subnormal) the result is exactly 0, which is what the route
// softmax wants: a route whose logit is 87 below its site's maximum has p = 0.

const EXP_LO: f32 = -87.33654022216797;
const EXP_HI: f32 = 88.3;
const LOG2E: f32 = 1.4426950216293335;
const MAGIC: f32 = 12583039.0;
const MINUS_LN2_HI: f32 = -0.693145751953125;
const MINUS_LN2_LO: f32 = -1.428606765330187e-06;
const C1: f32 = 0.9999997019767761;
const C2: f32 = 0.4999915063381195;
const C3: f32 = 0.16667652130126953;
const C4: f32 = 0.04189782217144966;
const C5: f32 = 0.008289290592074394;

/** e^x for x ≤ 88.3 (larger x are clamped); 0 below −87.33. */
// @ts-ignore: decorator
@inline function expf(x: f32): f32 {
  if (x < EXP_LO) return 0;
  x = select<f32>(EXP_HI, x, x > EXP_HI);
  let n = x * LOG2E + MAGIC;
  const s = reinterpret<f32>(reinterpret<i32>(n) << 23);
  n -= MAGIC;
  let t = n * MINUS_LN2_HI + x;
  t = n * MINUS_LN2_LO + t;
  let p = C5 * t + C4;
  p = p * t + C3;
  p = p * t + C2;
  p = p * t + C1;
  t *= s;
  return t * p + s;
}

/** e^x on four lanes, x ∈ [−∞, 88.3] (callers clamp above); lanes below −87.33 give exactly 0. */
// @ts-ignore: decorator
@inline function expv(x: v128): v128 {
  let n = f32x4.add(f32x4.mul(x, f32x4.splat(LOG2E)), f32x4.splat(MAGIC));
  const s = i32x4.shl(n, 23);
  n = f32x4.sub(n, f32x4.splat(MAGIC));
  let t = f32x4.add(f32x4.mul(n, f32x4.splat(MINUS_LN2_HI)), x);
  t = f32x4.add(f32x4.mul(n, f32x4.splat(MINUS_LN2_LO)), t);
  let p = f32x4.add(f32x4.mul(t, f32x4.splat(C5)), f32x4.splat(C4));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(C3));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(C2));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(C1));
  t = f32x4.mul(t, s);
  return v128.and(f32x4.add(f32x4.mul(t, p), s), f32x4.ge(x, f32x4.splat(EXP_LO)));
}

// The route softmax of the training step (`learn`, D = 4) takes e^x of logits already floored at
// −88 with fewer instructions: e^x = 2^y, y = x log₂e, 2^y = 2ⁿ · 2^f with n = round(y) (magic
// bias as above) and f = y − n ∈ [−½, ½], 2^f ≈ 1 + f·(Q0 + f·(Q1 + f·(Q2 + f·(Q3 + f·Q4)))), a
// minimax fit of relative error 9.2e-8. No Cody–Waite split: the rounding of y costs a relative
// error that grows with |x| (measured in float32 over a dense grid: ≤ 2.1e-7 on [−1, 0], ≤ 6.2e-7
// on [−10, −1], ≤ 4e-6 on [−87.3, −10]) while the absolute error stays ≤ 1.3e-7 on [−87.3, 0]
// (`expv`: 1.2e-7), which is what a softmax whose largest term is 1 sees. Floored input means
// n ≥ −127, and n = −127 gives the bits of 2ⁿ exactly 0: no mask is needed either.
const Q0: f32 = 0.6931470036506653;
const Q1: f32 = 0.24022242426872253;
const Q2: f32 = 0.05550733581185341;
const Q3: f32 = 0.009671512991189957;
const Q4: f32 = 0.001326472731307149;

/** e^x on four lanes for x ∈ [−88, 88.3] (see above); lanes below −87.68 give exactly 0. */
// @ts-ignore: decorator
@inline function expvFloored(x: v128): v128 {
  const y = f32x4.mul(x, f32x4.splat(LOG2E));
  const n = f32x4.add(y, f32x4.splat(MAGIC));
  const s = i32x4.shl(n, 23);
  const f = f32x4.sub(y, f32x4.sub(n, f32x4.splat(MAGIC)));
  let q = f32x4.add(f32x4.mul(f, f32x4.splat(Q4)), f32x4.splat(Q3));
  q = f32x4.add(f32x4.mul(q, f), f32x4.splat(Q2));
  q = f32x4.add(f32x4.mul(q, f), f32x4.splat(Q1));
  q = f32x4.add(f32x4.mul(q, f), f32x4.splat(Q0));
  return f32x4.add(f32x4.mul(f32x4.mul(f, s), q), s);
}

// WebAssembly's f32.max / f32x4.max order NaN and ±0 exactly, which costs V8 about eight x86
// instructions each; no input of these loops is NaN, so a plain compare-select (pmax: one `maxps`)
// gives the same results.

// @ts-ignore: decorator
@inline function fmax(a: f32, b: f32): f32 {
  return select<f32>(a, b, a > b);
}

// @ts-ignore: decorator
@inline function vmax(a: v128, b: v128): v128 {
  return f32x4.pmax(a, b);
}

// @ts-ignore: decorator
@inline function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) +
    (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

// @ts-ignore: decorator
@inline function hmax(v: v128): f32 {
  return fmax(fmax(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)),
    fmax(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
}

/** [Σ x0, Σ x1, Σ x2, Σ x3]: four horizontal sums in six shuffles and three adds. */
// @ts-ignore: decorator
@inline function hsum4(x0: v128, x1: v128, x2: v128, x3: v128): v128 {
  const s01 = f32x4.add(f32x4.shuffle(x0, x1, 0, 4, 1, 5), f32x4.shuffle(x0, x1, 2, 6, 3, 7));
  const s23 = f32x4.add(f32x4.shuffle(x2, x3, 0, 4, 1, 5), f32x4.shuffle(x2, x3, 2, 6, 3, 7));
  return f32x4.add(f32x4.shuffle(s01, s23, 0, 1, 4, 5), f32x4.shuffle(s01, s23, 2, 3, 6, 7));
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

// @ts-ignore: decorator
@inline function fma4(acc: v128, a: v128, b: v128): v128 {
  return f32x4.add(acc, f32x4.mul(a, b));
}

/** Largest of `n` floats at `p`. */
// @ts-ignore: decorator
@inline function rowMax(p: usize, n: i32): f32 {
  let hi: f32 = -Infinity;
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    let m = f32x4.splat(-Infinity);
    for (; j + 4 <= n; j += 4) m = vmax(m, vld(p, j));
    hi = hmax(m);
  }
  for (; j < n; j++) hi = fmax(hi, ld(p, j));
  return hi;
}

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

/**
 * Copies the examples `rows` (`count` i32 indices) of an image set held in this memory into `x`
 * (count × n f32): `images` holds one byte per value (u8 pixels) when `bytes` ≠ 0, else f32
 * values, n per image. So a training set goes into memory once and each batch by index.
 */
export function gather(images: usize, bytes: i32, rows: usize, count: i32, n: i32, x: usize): void {
  for (let b = 0; b < count; b++) {
    const r = <usize>load<i32>(rows + (<usize>b << 2));
    const out = x + (<usize>(b * n) << 2);
    if (bytes != 0) scaleBytes(images + r * <usize>n, n, 1, out); // f32(byte) · 1 is exact
    else memory.copy(out, images + ((r * <usize>n) << 2), <usize>n << 2);
  }
}

/** Most pixels of a byte image whose sum is exact in f32 (255·n < 2^24): the largest n for which
 *  `loadSources` takes the one-pass path and `loadForwardBlock` may be called (exported, so that
 *  the thread pool reads the same value). */
export const EXACT_BYTE_SUM_PIXELS: i32 = 65793;

/** Σ of `n` bytes (exact in i32). */
// @ts-ignore: decorator
@inline function byteSum(src: usize, n: i32): i32 {
  let sum: i32 = 0;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    let acc = i32x4.splat(0);
    for (; i + 16 <= n; i += 16) acc = i32x4.add(acc, i32x4.extadd_pairwise_i16x8_u(i16x8.extadd_pairwise_i8x16_u(v128.load(src + <usize>i))));
    sum = i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) + i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3);
  }
  for (; i < n; i++) sum += <i32>load<u8>(src + <usize>i);
  return sum;
}

/** out[i] = f32(src[i]) · inv for `n` bytes (inv = 1: the bytes widened to f32). */
// @ts-ignore: decorator
@inline function scaleBytes(src: usize, n: i32, inv: f32, out: usize): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const k = f32x4.splat(inv);
    for (; i + 16 <= n; i += 16) {
      const v = v128.load(src + <usize>i);
      const lo = i16x8.extend_low_i8x16_u(v), hi = i16x8.extend_high_i8x16_u(v);
      const o = out + (<usize>i << 2);
      v128.store(o, f32x4.mul(f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(lo)), k));
      v128.store(o, f32x4.mul(f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(lo)), k), 16);
      v128.store(o, f32x4.mul(f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(hi)), k), 32);
      v128.store(o, f32x4.mul(f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(hi)), k), 48);
    }
  }
  for (; i < n; i++) st(out, i, <f32>load<u8>(src + <usize>i) * inv);
}

/**
 * `gather` then `sources` (examples `rows` of an image set in this memory → sources `a`, count × n),
 * in one pass per example where the images are bytes and 255·n < 2^24: the integer sum of an
 * image's bytes is then exact in f32, so it equals the f32 sum `sources` takes in any order, and
 * a = f32(byte) · (1 / total) gives the same bits without writing and re-reading `x`. Otherwise
 * (f32 images or huge images) it is `gather` + `sources` through `x`. `x` (count × n) is working
 * space. Returns the first example that cannot be a source (see `sources`), or −1.
 */
export function loadSources(images: usize, bytes: i32, rows: usize, count: i32, n: i32, x: usize, a: usize): i32 {
  if (bytes == 0 || n > EXACT_BYTE_SUM_PIXELS) {
    gather(images, bytes, rows, count, n, x);
    return sources(x, count, n, a);
  }
  return byteSources(images, rows, count, n, a, 0, n);
}

/**
 * The one-pass sources of byte images (255·n < 2^24) on the sites u0 ≤ u < u1: each example's
 * total over all n bytes, a[b, u0…u1) = f32(byte) · (1 / total). Returns the first example whose
 * bytes are all 0 (not a source), or −1.
 */
// @ts-ignore: decorator
@inline function byteSources(images: usize, rows: usize, count: i32, n: i32, a: usize, u0: i32, u1: i32): i32 {
  for (let b = 0; b < count; b++) {
    const src = images + <usize>load<i32>(rows + (<usize>b << 2)) * <usize>n;
    const sum = byteSum(src, n);
    if (sum == 0) return b;
    scaleBytes(src + <usize>u0, u1 - u0, 1 / <f32>sum, a + (<usize>(b * n + u0) << 2));
  }
  return -1;
}

// ---------------------------------------------------------------------------------------------
// Sparse multiply-accumulate, the core of the forward pass and of the gains (DESIGN.md §3, §5.5).
//
// Both are sums of rows of a dense matrix M (W for the forward pass, Γ for the gains) weighted by a
// few non-zero coefficients: the pixels that are lit in an image, the examples in which a source is
// lit. The coefficients are first compacted into a list (row byte offset, re, im) without branches;
// then each tile of 16 columns is summed in eight registers, reading M once and writing the output
// once: no read-modify-write of the output per coefficient, no test of a coefficient per column.

/**
 * Compacts `count` coefficients (stride `stride` bytes, imaginary part optional) into the list
 * `lOff` / `lRe` / `lIm`, keeping those that are not zero; coefficient t gets the row offset
 * `base` + t·`rowBytes`. Returns the number kept.
 */
// @ts-ignore: decorator
@inline function compact(
  re: usize, im: usize, count: i32, stride: usize, rowBytes: i32, base: i32, lOff: usize, lRe: usize, lIm: usize,
): i32 {
  let n = 0;
  if (im == 0) {
    for (let t = 0; t < count; t++) {
      const x = load<f32>(re);
      const o = <usize>n << 2;
      store<i32>(lOff + o, base + t * rowBytes);
      store<f32>(lRe + o, x);
      n += <i32>(x != 0);
      re += stride;
    }
  } else {
    for (let t = 0; t < count; t++) {
      const x = load<f32>(re), y = load<f32>(im);
      const o = <usize>n << 2;
      store<i32>(lOff + o, base + t * rowBytes);
      store<f32>(lRe + o, x);
      store<f32>(lIm + o, y);
      n += <i32>(x != 0) | <i32>(y != 0);
      re += stride;
      im += stride;
    }
  }
  return n;
}

/**
 * out[v] (+)= Σ_t c_t · M[row_t, v] for v in [v0, v1): `n` list entries (`lOff` byte offsets of
 * rows of M, coefficients `lRe` + i·`lIm`, real when `complexC` is false), M complex (`mRe`,
 * `mIm`), out complex. With `add` false the output is overwritten.
 */
// @ts-ignore: decorator
@inline function gatherMac(
  n: i32, lOff: usize, lRe: usize, lIm: usize, complexC: bool,
  mRe: usize, mIm: usize, outRe: usize, outIm: usize, v0: i32, v1: i32, add: bool,
): void {
  let v = v0;
  if (ASC_FEATURE_SIMD) {
    for (; v + 16 <= v1; v += 16) {
      const vo = <usize>v << 2;
      const orr = outRe + vo, oi = outIm + vo;
      if (!complexC) {
        // Re and im in two passes of four accumulators: with eight, V8 hoists the eight loads of
        // an iteration ahead of their uses and 8 + 8 + 1 vectors spill out of x64's 16 registers.
        for (let h = 0; h < 2; h++) {
          const m = h == 0 ? mRe : mIm, o = h == 0 ? orr : oi;
          let r0 = f32x4.splat(0), r1 = f32x4.splat(0), r2 = f32x4.splat(0), r3 = f32x4.splat(0);
          if (add) { r0 = v128.load(o); r1 = v128.load(o, 16); r2 = v128.load(o, 32); r3 = v128.load(o, 48); }
          let t = 0;
          for (; t + 2 <= n; t += 2) {
            const to = <usize>t << 2;
            const p = m + <usize>load<i32>(lOff + to) + vo, q = m + <usize>load<i32>(lOff + to, 4) + vo;
            const a = v128.load32_splat(lRe + to), b = v128.load32_splat(lRe + to + 4);
            r0 = fma4(fma4(r0, a, v128.load(p)), b, v128.load(q)); r1 = fma4(fma4(r1, a, v128.load(p, 16)), b, v128.load(q, 16));
            r2 = fma4(fma4(r2, a, v128.load(p, 32)), b, v128.load(q, 32)); r3 = fma4(fma4(r3, a, v128.load(p, 48)), b, v128.load(q, 48));
          }
          if (t < n) {
            const to = <usize>t << 2;
            const p = m + <usize>load<i32>(lOff + to) + vo;
            const a = v128.load32_splat(lRe + to);
            r0 = fma4(r0, a, v128.load(p)); r1 = fma4(r1, a, v128.load(p, 16));
            r2 = fma4(r2, a, v128.load(p, 32)); r3 = fma4(r3, a, v128.load(p, 48));
          }
          v128.store(o, r0); v128.store(o, r1, 16); v128.store(o, r2, 32); v128.store(o, r3, 48);
        }
        continue;
      }
      let r0 = f32x4.splat(0), r1 = f32x4.splat(0), r2 = f32x4.splat(0), r3 = f32x4.splat(0);
      let i0 = f32x4.splat(0), i1 = f32x4.splat(0), i2 = f32x4.splat(0), i3 = f32x4.splat(0);
      if (add) {
        r0 = v128.load(orr); r1 = v128.load(orr, 16); r2 = v128.load(orr, 32); r3 = v128.load(orr, 48);
        i0 = v128.load(oi); i1 = v128.load(oi, 16); i2 = v128.load(oi, 32); i3 = v128.load(oi, 48);
      }
      for (let t = 0; t < n; t++) {
        const to = <usize>t << 2;
        const off = <usize>load<i32>(lOff + to) + vo;
        const a = v128.load32_splat(lRe + to);
        const pr = mRe + off, pi = mIm + off;
        const b = v128.load32_splat(lIm + to);
        let x = v128.load(pr), y = v128.load(pi);
        r0 = f32x4.sub(fma4(r0, a, x), f32x4.mul(b, y)); i0 = fma4(fma4(i0, a, y), b, x);
        x = v128.load(pr, 16); y = v128.load(pi, 16);
        r1 = f32x4.sub(fma4(r1, a, x), f32x4.mul(b, y)); i1 = fma4(fma4(i1, a, y), b, x);
        x = v128.load(pr, 32); y = v128.load(pi, 32);
        r2 = f32x4.sub(fma4(r2, a, x), f32x4.mul(b, y)); i2 = fma4(fma4(i2, a, y), b, x);
        x = v128.load(pr, 48); y = v128.load(pi, 48);
        r3 = f32x4.sub(fma4(r3, a, x), f32x4.mul(b, y)); i3 = fma4(fma4(i3, a, y), b, x);
      }
      v128.store(orr, r0); v128.store(orr, r1, 16); v128.store(orr, r2, 32); v128.store(orr, r3, 48);
      v128.store(oi, i0); v128.store(oi, i1, 16); v128.store(oi, i2, 32); v128.store(oi, i3, 48);
    }
    for (; v + 4 <= v1; v += 4) {
      const vo = <usize>v << 2;
      let r = add ? v128.load(outRe + vo) : f32x4.splat(0);
      let i = add ? v128.load(outIm + vo) : f32x4.splat(0);
      for (let t = 0; t < n; t++) {
        const to = <usize>t << 2;
        const off = <usize>load<i32>(lOff + to) + vo;
        const a = v128.load32_splat(lRe + to);
        const x = v128.load(mRe + off), y = v128.load(mIm + off);
        if (!complexC) {
          r = fma4(r, a, x);
          i = fma4(i, a, y);
        } else {
          const b = v128.load32_splat(lIm + to);
          r = f32x4.sub(fma4(r, a, x), f32x4.mul(b, y));
          i = fma4(fma4(i, a, y), b, x);
        }
      }
      v128.store(outRe + vo, r);
      v128.store(outIm + vo, i);
    }
  } else {
    for (; v + 4 <= v1; v += 4) {
      const vo = <usize>v << 2;
      let r0: f32 = 0, r1: f32 = 0, r2: f32 = 0, r3: f32 = 0, i0: f32 = 0, i1: f32 = 0, i2: f32 = 0, i3: f32 = 0;
      if (add) {
        r0 = load<f32>(outRe + vo); r1 = load<f32>(outRe + vo, 4); r2 = load<f32>(outRe + vo, 8); r3 = load<f32>(outRe + vo, 12);
        i0 = load<f32>(outIm + vo); i1 = load<f32>(outIm + vo, 4); i2 = load<f32>(outIm + vo, 8); i3 = load<f32>(outIm + vo, 12);
      }
      for (let t = 0; t < n; t++) {
        const to = <usize>t << 2;
        const off = <usize>load<i32>(lOff + to) + vo;
        const a = load<f32>(lRe + to);
        const pr = mRe + off, pi = mIm + off;
        const x0 = load<f32>(pr), x1 = load<f32>(pr, 4), x2 = load<f32>(pr, 8), x3 = load<f32>(pr, 12);
        const y0 = load<f32>(pi), y1 = load<f32>(pi, 4), y2 = load<f32>(pi, 8), y3 = load<f32>(pi, 12);
        r0 += a * x0; r1 += a * x1; r2 += a * x2; r3 += a * x3;
        i0 += a * y0; i1 += a * y1; i2 += a * y2; i3 += a * y3;
        if (complexC) {
          const b = load<f32>(lIm + to);
          r0 += -b * y0; r1 += -b * y1; r2 += -b * y2; r3 += -b * y3;
          i0 += b * x0; i1 += b * x1; i2 += b * x2; i3 += b * x3;
        }
      }
      store<f32>(outRe + vo, r0); store<f32>(outRe + vo, r1, 4); store<f32>(outRe + vo, r2, 8); store<f32>(outRe + vo, r3, 12);
      store<f32>(outIm + vo, i0); store<f32>(outIm + vo, i1, 4); store<f32>(outIm + vo, i2, 8); store<f32>(outIm + vo, i3, 12);
    }
  }
  for (; v < v1; v++) {
    const vo = <usize>v << 2;
    let r: f32 = add ? load<f32>(outRe + vo) : 0;
    let i: f32 = add ? load<f32>(outIm + vo) : 0;
    for (let t = 0; t < n; t++) {
      const to = <usize>t << 2;
      const off = <usize>load<i32>(lOff + to) + vo;
      const a = load<f32>(lRe + to);
      const x = load<f32>(mRe + off), y = load<f32>(mIm + off);
      r += a * x;
      i += a * y;
      if (complexC) {
        const b = load<f32>(lIm + to);
        r += -b * y;
        i += b * x;
      }
    }
    store<f32>(outRe + vo, r);
    store<f32>(outIm + vo, i);
  }
}

/** y += (ar + i·ai) · x over `n` complex entries (the fallback when no scratch is registered). */
// @ts-ignore: decorator
@inline function cmacRow(yr: usize, yi: usize, ar: f32, ai: f32, xr: usize, xi: usize, n: i32): void {
  for (let v = 0; v < n; v++) {
    const a = ld(xr, v), b = ld(xi, v);
    st(yr, v, ld(yr, v) + (ar * a - ai * b));
    st(yi, v, ld(yi, v) + (ar * b + ai * a));
  }
}

// ---------------------------------------------------------------------------------------------
// Feed forward (DESIGN.md §3): z^{ℓ+1} = a^ℓ W^ℓ, complex, for a batch.

/** W is processed in blocks of ROWS sites × 16 columns (16 KiB): a block stays in L1 while every
 *  example of a group adds its lit sites of those rows; z is carried from one row block to the next. */
const ROWS: i32 = 128;

/** Scratch bytes per example of a `forward` group: three lists of nIn entries and the list
 *  positions where each block of ROWS sites starts. */
// @ts-ignore: decorator
@inline function forwardBytesPerExample(nIn: i32): usize {
  return align16(<usize>nIn << 2) * 3 + align16(<usize>((nIn + ROWS - 1) / ROWS + 1) << 2);
}

/**
 * `z` (batch × nOut complex) = `a` (batch × nIn complex, or real when `aIm` is 0) · `W`
 * (nIn × nOut complex). Zero entries of `a` cost nothing (sparse images): each example's non-zero
 * sources are compacted into scratch first (see `scratch`; without enough scratch a slower
 * fallback runs). Sums run over u in increasing order in both builds.
 */
export function forward(
  aRe: usize, aIm: usize, batch: i32, nIn: i32,
  wRe: usize, wIm: usize, nOut: i32, zRe: usize, zIm: usize,
): void {
  forwardBlock(aRe, aIm, batch, nIn, wRe, wIm, nOut, zRe, zIm, 0, nIn, 0, nOut);
}

/**
 * `forwardBlock` for a narrow layer (c1 − c0 a multiple of 4, at most 16) with complex sources, by
 * a direct pass over the sources instead of compacting them: complex sources are the amplitudes of
 * the layer below and almost never 0, and compacting them cost more than the multiply-adds
 * (784 → 256 → 4: two thirds of the 256 → 4 pass, which runs on the calling thread alone between
 * the jobs of a two-thread step). Four examples share each row of W. Zero sources are skipped and
 * every sum runs over u in increasing order, as in gatherMac: the same bits.
 */
// @ts-ignore: decorator
@inline function forwardNarrow(
  aRe: usize, aIm: usize, batch: i32, nIn: i32,
  wRe: usize, wIm: usize, nOut: i32, zRe: usize, zIm: usize, u0: i32, u1: i32, c0: i32, c1: i32,
): void {
  const stride = <usize>nIn << 2, rowBytes = <usize>nOut << 2;
  for (let v = c0; v < c1; v += 4) {
    const vo = <usize>v << 2;
    let b = 0;
    for (; b + 4 <= batch; b += 4) {
      let r0 = f32x4.splat(0), r1 = f32x4.splat(0), r2 = f32x4.splat(0), r3 = f32x4.splat(0);
      let i0 = f32x4.splat(0), i1 = f32x4.splat(0), i2 = f32x4.splat(0), i3 = f32x4.splat(0);
      const p0 = <usize>b * stride, p1 = p0 + stride, p2 = p1 + stride, p3 = p2 + stride;
      for (let u = u0; u < u1; u++) {
        const uo = <usize>u << 2, wo = <usize>u * rowBytes + vo;
        const x = v128.load(wRe + wo), y = v128.load(wIm + wo);
        // the four examples written out: an @inline helper per source became a select that does
        // the multiply-adds of zero sources too, 4–15 % slower (same bits)
        let ar = load<f32>(aRe + p0 + uo), ai = load<f32>(aIm + p0 + uo);
        if (ar != 0 || ai != 0) {
          const sa = f32x4.splat(ar), sb = f32x4.splat(ai);
          r0 = f32x4.sub(fma4(r0, sa, x), f32x4.mul(sb, y)); i0 = fma4(fma4(i0, sa, y), sb, x);
        }
        ar = load<f32>(aRe + p1 + uo); ai = load<f32>(aIm + p1 + uo);
        if (ar != 0 || ai != 0) {
          const sa = f32x4.splat(ar), sb = f32x4.splat(ai);
          r1 = f32x4.sub(fma4(r1, sa, x), f32x4.mul(sb, y)); i1 = fma4(fma4(i1, sa, y), sb, x);
        }
        ar = load<f32>(aRe + p2 + uo); ai = load<f32>(aIm + p2 + uo);
        if (ar != 0 || ai != 0) {
          const sa = f32x4.splat(ar), sb = f32x4.splat(ai);
          r2 = f32x4.sub(fma4(r2, sa, x), f32x4.mul(sb, y)); i2 = fma4(fma4(i2, sa, y), sb, x);
        }
        ar = load<f32>(aRe + p3 + uo); ai = load<f32>(aIm + p3 + uo);
        if (ar != 0 || ai != 0) {
          const sa = f32x4.splat(ar), sb = f32x4.splat(ai);
          r3 = f32x4.sub(fma4(r3, sa, x), f32x4.mul(sb, y)); i3 = fma4(fma4(i3, sa, y), sb, x);
        }
      }
      const o0 = (<usize>b * nOut << 2) + vo, o1 = o0 + rowBytes, o2 = o1 + rowBytes, o3 = o2 + rowBytes;
      v128.store(zRe + o0, r0); v128.store(zRe + o1, r1); v128.store(zRe + o2, r2); v128.store(zRe + o3, r3);
      v128.store(zIm + o0, i0); v128.store(zIm + o1, i1); v128.store(zIm + o2, i2); v128.store(zIm + o3, i3);
    }
    for (; b < batch; b++) {
      let r = f32x4.splat(0), i = f32x4.splat(0);
      const p = <usize>b * stride;
      for (let u = u0; u < u1; u++) {
        const uo = <usize>u << 2, wo = <usize>u * rowBytes + vo;
        const ar = load<f32>(aRe + p + uo), ai = load<f32>(aIm + p + uo);
        if (ar != 0 || ai != 0) {
          const x = v128.load(wRe + wo), y = v128.load(wIm + wo), sa = f32x4.splat(ar), sb = f32x4.splat(ai);
          r = f32x4.sub(fma4(r, sa, x), f32x4.mul(sb, y)); i = fma4(fma4(i, sa, y), sb, x);
        }
      }
      const o = (<usize>b * nOut << 2) + vo;
      v128.store(zRe + o, r);
      v128.store(zIm + o, i);
    }
  }
}

/**
 * `forward` restricted to the source sites u0 ≤ u < u1 (rows of W; `a` keeps its row stride nIn)
 * and the columns c0 ≤ v < c1 of W and z (c0 a multiple of 16): z[b, c0…c1) = Σ_{u0 ≤ u < u1}
 * a[b,u] W[u, c0…c1), overwritten (0 for an empty range). Threads split a layer's forward pass by
 * columns, or by the rows each of them owns in `learn` so that every thread reads the rows of W
 * that it wrote (`z` then receives one part and `addTo` adds the others).
 */
export function forwardBlock(
  aRe: usize, aIm: usize, batch: i32, nIn: i32,
  wRe: usize, wIm: usize, nOut: i32, zRe: usize, zIm: usize, u0: i32, u1: i32, c0: i32, c1: i32,
): void {
  if (ASC_FEATURE_SIMD && aIm != 0 && u1 > u0 && c1 - c0 <= 16 && ((c1 - c0) & 3) == 0) {
    forwardNarrow(aRe, aIm, batch, nIn, wRe, wIm, nOut, zRe, zIm, u0, u1, c0, c1);
    return;
  }
  const listBytes = align16(<usize>nIn << 2);
  const perExample = forwardBytesPerExample(nIn);
  const group = <i32>min<usize>(<usize>GROUP, scratchLen / perExample);
  const rowBytes = nOut << 2;
  const stride = <usize>nIn << 2;
  if (group < 1 || u1 <= u0) {
    const n = c1 - c0;
    for (let b = 0; b < batch; b++) {
      const zo = <usize>(b * nOut + c0) << 2;
      memory.fill(zRe + zo, 0, <usize>n << 2);
      memory.fill(zIm + zo, 0, <usize>n << 2);
      for (let u = u0; u < u1; u++) {
        const ar = ld(aRe, b * nIn + u);
        const ai: f32 = aIm != 0 ? ld(aIm, b * nIn + u) : 0;
        if (ar == 0 && ai == 0) continue;
        const wo = <usize>(u * nOut + c0) << 2;
        cmacRow(zRe + zo, zIm + zo, ar, ai, wRe + wo, wIm + wo, n);
      }
    }
    return;
  }
  const blocks = (u1 - u0 + ROWS - 1) / ROWS;
  for (let b0 = 0; b0 < batch; b0 += group) {
    const g = min(group, batch - b0);
    // each example's lit sources, with the list position where each block of rows starts
    for (let j = 0; j < g; j++) {
      const lOff = scratchPtr + <usize>j * perExample;
      const bounds = lOff + listBytes * 3;
      const x = aRe + <usize>(b0 + j) * stride, y = aIm != 0 ? aIm + <usize>(b0 + j) * stride : 0;
      let n = 0;
      for (let k = 0; k < blocks; k++) {
        store<i32>(bounds + (<usize>k << 2), n);
        const r0 = u0 + k * ROWS, m = min(ROWS, u1 - r0), o = <usize>n << 2, ro = <usize>r0 << 2;
        n += compact(x + ro, y != 0 ? y + ro : 0, m, 4, rowBytes, r0 * rowBytes, lOff + o, lOff + listBytes + o, lOff + listBytes * 2 + o);
      }
      store<i32>(bounds + (<usize>blocks << 2), n);
    }
    for (let k = 0; k < blocks; k++) {
      for (let v0 = c0; v0 < c1; v0 += 16) {
        const v1 = min(c1, v0 + 16);
        for (let j = 0; j < g; j++) {
          const lOff = scratchPtr + <usize>j * perExample;
          const bounds = lOff + listBytes * 3;
          const t0 = load<i32>(bounds + (<usize>k << 2));
          const n = load<i32>(bounds + (<usize>(k + 1) << 2)) - t0;
          if (n == 0 && k > 0) continue;
          const o = <usize>t0 << 2;
          const zo = <usize>((b0 + j) * nOut) << 2;
          if (aIm == 0) gatherMac(n, lOff + o, lOff + listBytes + o, 0, false, wRe, wIm, zRe + zo, zIm + zo, v0, v1, k > 0);
          else gatherMac(n, lOff + o, lOff + listBytes + o, lOff + listBytes * 2 + o, true, wRe, wIm, zRe + zo, zIm + zo, v0, v1, k > 0);
        }
      }
    }
  }
}

/**
 * `loadSources` for byte images (255·n < 2^24) restricted to the source sites u0 ≤ u < u1, then
 * `forwardBlock` over those rows: each example's total is taken over all n bytes, a[b, u0…u1) is
 * written with the same bits as `loadSources`, and z = a[:, u0…u1) W[u0…u1, :]. A thread that owns
 * these sites in `learn` thereby writes and reads its own part of `a` and of W (no line moves
 * between cores). Returns the first example whose bytes are all 0 (not a source), or −1.
 */
export function loadForwardBlock(
  images: usize, rows: usize, count: i32, n: i32, a: usize,
  wRe: usize, wIm: usize, nOut: i32, zRe: usize, zIm: usize, u0: i32, u1: i32,
): i32 {
  const bad = byteSources(images, rows, count, n, a, u0, u1);
  if (bad < 0) forwardBlock(a, 0, count, n, wRe, wIm, nOut, zRe, zIm, u0, u1, 0, nOut);
  return bad;
}

/** dst[i] += src[i] for i < n (f32): adds the parts of a forward pass split by rows, in order. */
export function addTo(dst: usize, src: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) vst(dst, i, f32x4.add(vld(dst, i), vld(src, i)));
  }
  for (; i < n; i++) st(dst, i, ld(dst, i) + ld(src, i));
}

// ---------------------------------------------------------------------------------------------
// Site response (DESIGN.md §3, `ising`): φ(z) = z · tanh(κ|z|) / (κ|z|), in place.

const T1: f32 = -0.33333333;
const T2: f32 = 0.13333333;
const T3: f32 = -0.053968254;
const T4: f32 = 0.021869488;
const T5: f32 = -0.0088632355;

// @ts-ignore: decorator
@inline function tanhOverX(t: f32): f32 {
  // Series below 0.25 (truncation < 3e-10); above, 1 − 2/(e^{2t}+1) loses at most 2 bits.
  if (t < 0.25) {
    const s = t * t;
    return 1 + s * (T1 + s * (T2 + s * (T3 + s * (T4 + s * T5))));
  }
  return (1 - 2 / (expf(2 * t) + 1)) / t;
}

/** In place on `n` complex values: z ← z · tanh(κ|z|)/(κ|z|). Magnitude saturates at 1/κ. */
export function ising(zRe: usize, zIm: usize, n: i32, kappa: f32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const k = f32x4.splat(kappa), one = f32x4.splat(1), two = f32x4.splat(2), quarter = f32x4.splat(0.25);
    for (; i + 4 <= n; i += 4) {
      const re = vld(zRe, i), im = vld(zIm, i);
      const t = f32x4.mul(k, f32x4.sqrt(f32x4.add(f32x4.mul(re, re), f32x4.mul(im, im))));
      const s = f32x4.mul(t, t);
      let series = f32x4.add(f32x4.splat(T4), f32x4.mul(s, f32x4.splat(T5)));
      series = f32x4.add(f32x4.splat(T3), f32x4.mul(s, series));
      series = f32x4.add(f32x4.splat(T2), f32x4.mul(s, series));
      series = f32x4.add(f32x4.splat(T1), f32x4.mul(s, series));
      series = f32x4.add(one, f32x4.mul(s, series));
      // lanes where t < 0.25 divide by a clamped t and are then discarded by the select
      const e = expv(f32x4.pmin(f32x4.add(t, t), f32x4.splat(EXP_HI)));
      const big = f32x4.div(f32x4.sub(one, f32x4.div(two, f32x4.add(e, one))), f32x4.pmax(t, quarter));
      const f = v128.bitselect(series, big, f32x4.lt(t, quarter));
      vst(zRe, i, f32x4.mul(re, f));
      vst(zIm, i, f32x4.mul(im, f));
    }
  }
  for (; i < n; i++) {
    const re = ld(zRe, i), im = ld(zIm, i);
    const s = tanhOverX(kappa * Mathf.sqrt(re * re + im * im));
    st(zRe, i, re * s);
    st(zIm, i, im * s);
  }
}

// ---------------------------------------------------------------------------------------------
// One site's routes (DESIGN.md §2–§3, §5.6): the row-wise passes shared by `transfer`, `update` and
// the fused `learn`. A site u owns R = nOut·D logits θ[u, v, d], d innermost.

/**
 * Softmax numerators of one site: e_j = exp(max(θ_j − hi, −88)) → `buf` (R floats); with
 * `recentre`, also θ_j ← max(θ_j − hi, −88) (the softmax is shift-invariant). Returns Σ e_j.
 */
// @ts-ignore: decorator
@inline function expRow(th: usize, buf: usize, R: i32, hi: f32, recentre: bool): f32 {
  let total: f32 = 0;
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    const h = f32x4.splat(hi), lo = f32x4.splat(-88);
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
    for (; j + 8 <= R; j += 8) {
      const p = th + (<usize>j << 2), q = buf + (<usize>j << 2);
      const t0 = vmax(f32x4.sub(v128.load(p), h), lo);
      const t1 = vmax(f32x4.sub(v128.load(p, 16), h), lo);
      if (recentre) {
        v128.store(p, t0);
        v128.store(p, t1, 16);
      }
      const e0 = expv(t0), e1 = expv(t1);
      v128.store(q, e0);
      v128.store(q, e1, 16);
      s0 = f32x4.add(s0, e0);
      s1 = f32x4.add(s1, e1);
    }
    for (; j + 4 <= R; j += 4) {
      const t = vmax(f32x4.sub(vld(th, j), h), lo);
      if (recentre) vst(th, j, t);
      const e = expv(t);
      vst(buf, j, e);
      s0 = f32x4.add(s0, e);
    }
    total = hsum(f32x4.add(s0, s1));
  }
  for (; j < R; j++) {
    const t = fmax(ld(th, j) - hi, -88);
    if (recentre) st(th, j, t);
    const e = expf(t);
    st(buf, j, e);
    total += e;
  }
  return total;
}

/**
 * W_v = rot_v · Σ_d (e[v·D + d] / total) (cos ωd − i sin ωd) for the `nOut` routes pairs of one
 * site (`rr` = 0: no travel phase) and, when `prob` ≠ 0, p = e / total → `prob` (may be `buf`).
 */
// @ts-ignore: decorator
@inline function phasorRow(
  buf: usize, prob: usize, wr: usize, wi: usize, rr: usize, ri: usize,
  nOut: i32, D: i32, cosD: usize, sinD: usize, total: f32,
): void {
  const inv: f32 = 1 / total;
  let v = 0;
  if (ASC_FEATURE_SIMD) {
    if (D == 1) {
      const c = f32x4.splat(ld(cosD, 0) * inv), s = f32x4.splat(-ld(sinD, 0) * inv);
      for (; v + 4 <= nOut; v += 4) {
        const e = vld(buf, v);
        vst(wr, v, f32x4.mul(e, c));
        vst(wi, v, f32x4.mul(e, s));
      }
    } else if (D == 4) {
      const c = v128.load(cosD), s = v128.load(sinD);
      const k = f32x4.splat(inv), nk = f32x4.splat(-inv);
      for (; v + 4 <= nOut; v += 4) {
        const p = buf + (<usize>v << 4);
        const e0 = v128.load(p), e1 = v128.load(p, 16), e2 = v128.load(p, 32), e3 = v128.load(p, 48);
        vst(wr, v, f32x4.mul(hsum4(f32x4.mul(e0, c), f32x4.mul(e1, c), f32x4.mul(e2, c), f32x4.mul(e3, c)), k));
        vst(wi, v, f32x4.mul(hsum4(f32x4.mul(e0, s), f32x4.mul(e1, s), f32x4.mul(e2, s), f32x4.mul(e3, s)), nk));
      }
    } else if ((D & 3) == 0) {
      const k = f32x4.splat(inv), nk = f32x4.splat(-inv);
      for (; v + 4 <= nOut; v += 4) {
        let r0 = f32x4.splat(0), r1 = f32x4.splat(0), r2 = f32x4.splat(0), r3 = f32x4.splat(0);
        let i0 = f32x4.splat(0), i1 = f32x4.splat(0), i2 = f32x4.splat(0), i3 = f32x4.splat(0);
        const p = buf + (<usize>(v * D) << 2);
        const step = <usize>D << 2;
        for (let d = 0; d < D; d += 4) {
          const c = vld(cosD, d), s = vld(sinD, d);
          const q = p + (<usize>d << 2);
          const e0 = v128.load(q), e1 = v128.load(q + step), e2 = v128.load(q + 2 * step), e3 = v128.load(q + 3 * step);
          r0 = fma4(r0, e0, c); r1 = fma4(r1, e1, c); r2 = fma4(r2, e2, c); r3 = fma4(r3, e3, c);
          i0 = fma4(i0, e0, s); i1 = fma4(i1, e1, s); i2 = fma4(i2, e2, s); i3 = fma4(i3, e3, s);
        }
        vst(wr, v, f32x4.mul(hsum4(r0, r1, r2, r3), k));
        vst(wi, v, f32x4.mul(hsum4(i0, i1, i2, i3), nk));
      }
    }
  }
  for (; v < nOut; v++) {
    let re: f32 = 0, im: f32 = 0;
    for (let d = 0; d < D; d++) {
      const e = ld(buf, v * D + d);
      re += e * ld(cosD, d);
      im += e * ld(sinD, d);
    }
    st(wr, v, re * inv);
    st(wi, v, -im * inv);
  }
  if (prob != 0) {
    const R = nOut * D;
    let j = 0;
    if (ASC_FEATURE_SIMD) {
      const k = f32x4.splat(inv);
      for (; j + 4 <= R; j += 4) vst(prob, j, f32x4.mul(vld(buf, j), k));
    }
    for (; j < R; j++) st(prob, j, ld(buf, j) * inv);
  }
  if (rr != 0) {
    v = 0;
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

/**
 * In place on one site's accumulated S (`nOut` complex): T = (kc + i·ks) · rot · S, where
 * kc + i·ks = scale · e^{iωt*}; `rr` = 0 means no travel phase.
 */
// @ts-ignore: decorator
@inline function turnRow(sr: usize, si: usize, rr: usize, ri: usize, nOut: i32, kc: f32, ks: f32): void {
  let v = 0;
  if (ASC_FEATURE_SIMD) {
    const c = f32x4.splat(kc), s = f32x4.splat(ks);
    for (; v + 4 <= nOut; v += 4) {
      let a = vld(sr, v), b = vld(si, v);
      if (rr != 0) {
        const x = vld(rr, v), y = vld(ri, v);
        const t = f32x4.sub(f32x4.mul(a, x), f32x4.mul(b, y));
        b = f32x4.add(f32x4.mul(a, y), f32x4.mul(b, x));
        a = t;
      }
      vst(sr, v, f32x4.sub(f32x4.mul(c, a), f32x4.mul(s, b)));
      vst(si, v, f32x4.add(f32x4.mul(c, b), f32x4.mul(s, a)));
    }
  }
  for (; v < nOut; v++) {
    let a = ld(sr, v), b = ld(si, v);
    if (rr != 0) {
      const x = ld(rr, v), y = ld(ri, v);
      const t = a * x - b * y;
      b = a * y + b * x;
      a = t;
    }
    st(sr, v, kc * a - ks * b);
    st(si, v, kc * b + ks * a);
  }
}

/**
 * θ[v, d] += cos ωd · Re T_v + sin ωd · Im T_v = Re(e^{−iωd} T_v) over one site's routes (T from
 * `turnRow`). Returns the new maximum logit of the site.
 */
// @ts-ignore: decorator
@inline function gainRow(th: usize, tr: usize, ti: usize, nOut: i32, D: i32, cosD: usize, sinD: usize): f32 {
  let v = 0;
  let hi: f32 = -Infinity;
  if (ASC_FEATURE_SIMD) {
    let m = f32x4.splat(-Infinity);
    if (D == 1) {
      const c = f32x4.splat(ld(cosD, 0)), s = f32x4.splat(ld(sinD, 0));
      for (; v + 4 <= nOut; v += 4) {
        const t = f32x4.add(vld(th, v), f32x4.add(f32x4.mul(c, vld(tr, v)), f32x4.mul(s, vld(ti, v))));
        vst(th, v, t);
        m = vmax(m, t);
      }
    } else if (D == 4) {
      const c = v128.load(cosD), s = v128.load(sinD);
      for (; v < nOut; v++) {
        const p = th + (<usize>v << 4), o = <usize>v << 2;
        const t = f32x4.add(v128.load(p), f32x4.add(f32x4.mul(c, v128.load32_splat(tr + o)), f32x4.mul(s, v128.load32_splat(ti + o))));
        v128.store(p, t);
        m = vmax(m, t);
      }
    } else if ((D & 3) == 0) {
      for (; v < nOut; v++) {
        const o = <usize>v << 2;
        const a = v128.load32_splat(tr + o), b = v128.load32_splat(ti + o);
        for (let d = 0; d < D; d += 4) {
          const j = v * D + d;
          const t = f32x4.add(vld(th, j), f32x4.add(f32x4.mul(vld(cosD, d), a), f32x4.mul(vld(sinD, d), b)));
          vst(th, j, t);
          m = vmax(m, t);
        }
      }
    }
    hi = hmax(m);
  }
  for (; v < nOut; v++) {
    const a = ld(tr, v), b = ld(ti, v);
    for (let d = 0; d < D; d++) {
      const j = v * D + d;
      const t = ld(th, j) + (ld(cosD, d) * a + ld(sinD, d) * b);
      st(th, j, t);
      hi = fmax(hi, t);
    }
  }
  return hi;
}

/** θ ← max(θ − hi, −88) over one site's `n` logits. */
// @ts-ignore: decorator
@inline function recentreRow(th: usize, n: i32, hi: f32): void {
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    const h = f32x4.splat(hi), lo = f32x4.splat(-88);
    for (; j + 4 <= n; j += 4) vst(th, j, vmax(f32x4.sub(vld(th, j), h), lo));
  }
  for (; j < n; j++) st(th, j, fmax(ld(th, j) - hi, -88));
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
    const o = <usize>(u * nOut) << 2;
    const hi = rowMax(th, R);
    const total = expRow(th, pr, R, hi, false);
    phasorRow(pr, pr, wRe + o, wIm + o, rotRe != 0 ? rotRe + o : 0, rotIm + o, nOut, D, cosD, sinD, total);
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

/** Result of `cdot` (a pair of f32 cannot be returned). */
let dotRe: f32 = 0;
let dotIm: f32 = 0;

/** dotRe + i·dotIm = Σ_v (xr + i·xi)[v] · (yr + i·yi)[v] over `n` complex entries. */
// @ts-ignore: decorator
@inline function cdot(xr: usize, xi: usize, yr: usize, yi: usize, n: i32): void {
  let re: f32 = 0, im: f32 = 0;
  let v = 0;
  if (ASC_FEATURE_SIMD) {
    let sr = f32x4.splat(0), si = f32x4.splat(0), tr = f32x4.splat(0), ti = f32x4.splat(0);
    for (; v + 4 <= n; v += 4) {
      const a = vld(xr, v), b = vld(xi, v), c = vld(yr, v), d = vld(yi, v);
      sr = fma4(sr, a, c);
      tr = fma4(tr, b, d);
      si = fma4(si, a, d);
      ti = fma4(ti, b, c);
    }
    re = hsum(f32x4.sub(sr, tr));
    im = hsum(f32x4.add(si, ti));
  }
  for (; v < n; v++) {
    const a = ld(xr, v), b = ld(xi, v), c = ld(yr, v), d = ld(yi, v);
    re += a * c - b * d;
    im += a * d + b * c;
  }
  dotRe = re;
  dotIm = im;
}

/**
 * `G` (C × nIn complex) with G[k,u] = Σ_v W[u,v] · Gnext[k,v], where `W` is nIn × nOut and
 * `Gnext` is C × nOut (both complex): the sum over all worldlines from site u to target k of
 * probability × phase, hidden sites linear.
 */
export function propagate(
  wRe: usize, wIm: usize, nIn: i32, nOut: i32,
  gNextRe: usize, gNextIm: usize, C: i32, gRe: usize, gIm: usize,
): void {
  // u outer: the row W[u, ·] is read from memory once and stays in L1 for all C targets
  for (let u = 0; u < nIn; u++) {
    const wr = wRe + (<usize>(u * nOut) << 2);
    const wi = wIm + (<usize>(u * nOut) << 2);
    for (let k = 0; k < C; k++) {
      const nr = gNextRe + (<usize>(k * nOut) << 2);
      const ni = gNextIm + (<usize>(k * nOut) << 2);
      cdot(wr, wi, nr, ni, nOut);
      st(gRe, k * nIn + u, dotRe);
      st(gIm, k * nIn + u, dotIm);
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
  const rowBytes = <usize>n << 2;
  for (let b = 0; b < batch; b++) {
    const yr = outRe + <usize>b * rowBytes;
    const yi = outIm + <usize>b * rowBytes;
    const f = field + (<usize>(b * C) << 2);
    let v = 0;
    if (ASC_FEATURE_SIMD) {
      for (; v + 8 <= n; v += 8) {
        const vo = <usize>v << 2;
        let r0 = f32x4.splat(0), r1 = f32x4.splat(0), i0 = f32x4.splat(0), i1 = f32x4.splat(0);
        for (let k = 0; k < C; k++) {
          const a = v128.load32_splat(f + (<usize>k << 2));
          const pr = gRe + <usize>k * rowBytes + vo, pi = gIm + <usize>k * rowBytes + vo;
          r0 = fma4(r0, a, v128.load(pr)); r1 = fma4(r1, a, v128.load(pr, 16));
          i0 = fma4(i0, a, v128.load(pi)); i1 = fma4(i1, a, v128.load(pi, 16));
        }
        v128.store(yr + vo, r0); v128.store(yr + vo, r1, 16);
        v128.store(yi + vo, i0); v128.store(yi + vo, i1, 16);
      }
    }
    for (; v < n; v++) {
      let r: f32 = 0, i: f32 = 0;
      for (let k = 0; k < C; k++) {
        const a = ld(f, k);
        r += a * ld(gRe + <usize>k * rowBytes, v);
        i += a * ld(gIm + <usize>k * rowBytes, v);
      }
      st(yr, v, r);
      st(yi, v, i);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Route gains (DESIGN.md §5.5): accumulate S = Σ_batch a^ℓ ⊗ Γ^{ℓ+1}; expand and apply in `update`.

/**
 * `S` (nIn × nOut complex) += Σ_b a[b,u] · Γ[b,v], with `a` batch × nIn (complex, or real when
 * `aIm` is 0) and Γ batch × nOut complex. Row by row: the examples in which source u is lit are
 * compacted into scratch, then S[u, ·] is summed in registers and written once. Without enough
 * scratch (see `scratch`) a slower fallback runs.
 */
export function accumulate(
  aRe: usize, aIm: usize, batch: i32, nIn: i32,
  gamRe: usize, gamIm: usize, nOut: i32, sRe: usize, sIm: usize,
): void {
  const listBytes = align16(<usize>batch << 2);
  if (scratchLen < listBytes * 3) {
    for (let b = 0; b < batch; b++) {
      const gr = gamRe + (<usize>(b * nOut) << 2);
      const gi = gamIm + (<usize>(b * nOut) << 2);
      for (let u = 0; u < nIn; u++) {
        const ar = ld(aRe, b * nIn + u);
        const ai: f32 = aIm != 0 ? ld(aIm, b * nIn + u) : 0;
        if (ar == 0 && ai == 0) continue;
        cmacRow(sRe + (<usize>(u * nOut) << 2), sIm + (<usize>(u * nOut) << 2), ar, ai, gr, gi, nOut);
      }
    }
    return;
  }
  const lOff = scratchPtr, lRe = lOff + listBytes, lIm = lRe + listBytes;
  const stride = <usize>nIn << 2;
  for (let u = 0; u < nIn; u++) {
    const uo = <usize>u << 2;
    const n = compact(aRe + uo, aIm != 0 ? aIm + uo : 0, batch, stride, nOut << 2, 0, lOff, lRe, lIm);
    if (n == 0) continue;
    const so = <usize>(u * nOut) << 2;
    if (aIm == 0) gatherMac(n, lOff, lRe, 0, false, gamRe, gamIm, sRe + so, sIm + so, 0, nOut, true);
    else gatherMac(n, lOff, lRe, lIm, true, gamRe, gamIm, sRe + so, sIm + so, 0, nOut, true);
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
  const kc = scale * cosT, ks = scale * sinT;
  for (let u = 0; u < nIn; u++) {
    const th = theta + (<usize>(u * R) << 2);
    const o = <usize>(u * nOut) << 2;
    const sr = sRe + o, si = sIm + o;
    turnRow(sr, si, rotRe != 0 ? rotRe + o : 0, rotIm + o, nOut, kc, ks);
    const hi = gainRow(th, sr, si, nOut, D, cosD, sinD);
    memory.fill(sr, 0, <usize>nOut << 2);
    memory.fill(si, 0, <usize>nOut << 2);
    if (recentreRows != 0) recentreRow(th, R, hi);
  }
}

/**
 * One training step of a layer, fused (DESIGN.md §5.5–§5.6 then §2–§3), for the sites
 * u0 ≤ u < u1 (so that threads can share a layer):
 *   S_u = Σ_b a[b,u] Γ[b,·]                       (the gains' outer product, never stored)
 *   θ(u→v,d) += scale · Re(e^{iωt*} rot_uv e^{−iωd} S_uv),  then θ_u ← max(θ_u − max θ_u, −88)
 *   p_u = softmax θ_u → `prob` (optional: 0 skips it),  W_u = rot · Σ_d p e^{−iωd}
 * Equal to `accumulate` + `update` (recentring) + `transfer` on these rows, in one pass over θ
 * while the site's row is in L1. On entry W (and `prob`, when given) must hold the transfer of θ:
 * a site that no example of the batch lights and whose maximum logit is already 0 is then left
 * as it is (its θ would not change). `a` is batch × nIn (real when `aIm` is 0), Γ batch × nOut.
 * `settled` (optional, i32 per site, all 0 whenever θ was written by anything but `learn`) marks
 * the sites whose maximum logit this kernel left at exactly 0: an unlit settled site is skipped
 * without reading its θ row (when `prob` is 0). Needs `scratchBytes(batch, nIn, nOut, D)` bytes of
 * scratch; does nothing without them.
 */
export function learn(
  aRe: usize, aIm: usize, batch: i32, nIn: i32, gamRe: usize, gamIm: usize, nOut: i32,
  theta: usize, prob: usize, wRe: usize, wIm: usize, rotRe: usize, rotIm: usize,
  D: i32, cosD: usize, sinD: usize, cosT: f32, sinT: f32, scale: f32, u0: i32, u1: i32, settled: usize,
): void {
  const R = nOut * D;
  const listBytes = align16(<usize>batch << 2);
  const rowBytes = align16(<usize>nOut << 2);
  if (scratchLen < listBytes * 3 + rowBytes * 2 + align16(<usize>R << 2)) return;
  const lOff = scratchPtr, lRe = lOff + listBytes, lIm = lRe + listBytes;
  const sr = lIm + listBytes, si = sr + rowBytes, ebuf = si + rowBytes;
  // two sites at once (real sources, SIMD): each Γ tile loaded feeds both sites' gains
  const pairs = ASC_FEATURE_SIMD && aIm == 0 && (nOut & 7) == 0 &&
    scratchLen >= listBytes * 3 + rowBytes * 4 + align16(<usize>R << 2);
  const sr2 = ebuf + align16(<usize>R << 2), si2 = sr2 + rowBytes;
  const stride = <usize>nIn << 2;
  const kc = scale * cosT, ks = scale * sinT;
  // without travel phases, T = (kc + i·ks) S folds into the duration phasors: θ_vd += c'_d Re S_v +
  // s'_d Im S_v with c' = kc cos ωd + ks sin ωd, s' = kc sin ωd − ks cos ωd (no turnRow pass)
  let cosK = cosD, sinK = sinD;
  if (rotRe == 0 && scratchLen >= listBytes * 3 + rowBytes * 4 + align16(<usize>R << 2) + align16(<usize>D << 2) * 2) {
    cosK = si2 + rowBytes;
    sinK = cosK + align16(<usize>D << 2);
    for (let d = 0; d < D; d++) {
      const c = ld(cosD, d), s = ld(sinD, d);
      st(cosK, d, kc * c + ks * s);
      st(sinK, d, kc * s - ks * c);
    }
  }
  const quarter = D == 4 && ld(cosD, 0) == 1 && ld(cosD, 1) == 0 && ld(cosD, 2) == -1 && ld(cosD, 3) == 0 &&
    ld(sinD, 0) == 0 && ld(sinD, 1) == 1 && ld(sinD, 2) == 0 && ld(sinD, 3) == -1;
  let u = u0;
  while (u < u1) {
    const uo = <usize>u << 2;
    if (pairs && u + 1 < u1) {
      const counts = compactPair(aRe + uo, batch, stride, nOut << 2, lOff, lRe, lIm);
      const n = counts & 0x3fffffff;
      if (n != 0) gatherPair(n, lOff, lRe, lIm, gamRe, gamIm, sr, si, sr2, si2, nOut);
      learnRow(u, (counts >>> 30) & 1, sr, si, nOut, D, R, theta, prob, wRe, wIm, rotRe, rotIm, cosD, sinD, cosK, sinK, kc, ks, ebuf, settled, quarter);
      learnRow(u + 1, counts >>> 31, sr2, si2, nOut, D, R, theta, prob, wRe, wIm, rotRe, rotIm, cosD, sinD, cosK, sinK, kc, ks, ebuf, settled, quarter);
      u += 2;
      continue;
    }
    const n = compact(aRe + uo, aIm != 0 ? aIm + uo : 0, batch, stride, nOut << 2, 0, lOff, lRe, lIm);
    if (n != 0) {
      if (aIm == 0) gatherMac(n, lOff, lRe, 0, false, gamRe, gamIm, sr, si, 0, nOut, false);
      else gatherMac(n, lOff, lRe, lIm, true, gamRe, gamIm, sr, si, 0, nOut, false);
    }
    learnRow(u, n, sr, si, nOut, D, R, theta, prob, wRe, wIm, rotRe, rotIm, cosD, sinD, cosK, sinK, kc, ks, ebuf, settled, quarter);
    u++;
  }
}

/**
 * The per-site part of `learn` for site u whose gains' outer product S_u (nOut complex, `n`
 * examples light u; 0: none, S unused) is in `sr`, `si`. `cosK`, `sinK` are `cosD`, `sinD`, or
 * without travel phases the phasors with (kc + i·ks) folded in (see `learn`); `quarter`: cos ωd,
 * sin ωd are the exact quarter turns of ω = π/2 (see {@link expPhasorRowQ}).
 */
// @ts-ignore: decorator
@inline function learnRow(
  u: i32, n: i32, sr: usize, si: usize, nOut: i32, D: i32, R: i32, theta: usize, prob: usize,
  wRe: usize, wIm: usize, rotRe: usize, rotIm: usize, cosD: usize, sinD: usize, cosK: usize, sinK: usize,
  kc: f32, ks: f32, ebuf: usize, settled: usize, quarter: bool,
): void {
  const th = theta + (<usize>(u * R) << 2);
  const o = <usize>(u * nOut) << 2;
  const flag = settled + (<usize>u << 2);
  let hi: f32;
  if (n == 0) {
    if (prob == 0 && settled != 0 && load<i32>(flag) != 0) return;
    hi = rowMax(th, R);
    if (hi == 0 && prob == 0) {
      if (settled != 0) store<i32>(flag, 1);
      return;
    }
  } else {
    if (cosK != cosD) hi = gainRow(th, sr, si, nOut, D, cosK, sinK);
    else {
      turnRow(sr, si, rotRe != 0 ? rotRe + o : 0, rotIm + o, nOut, kc, ks);
      hi = gainRow(th, sr, si, nOut, D, cosD, sinD);
    }
  }
  // recentring leaves the maximum at exactly 0 (hi − hi) unless hi is not finite
  if (settled != 0) store<i32>(flag, <i32>(hi - hi == 0));
  if (ASC_FEATURE_SIMD && D == 4 && prob == 0) {
    const total = quarter
      ? expPhasorRowQ(th, wRe + o, wIm + o, nOut, hi)
      : expPhasorRow4(th, wRe + o, wIm + o, nOut, hi, cosD, sinD);
    scaleTurnRow(wRe + o, wIm + o, rotRe != 0 ? rotRe + o : 0, rotIm + o, nOut, 1 / total);
    return;
  }
  const pr = prob != 0 ? prob + (<usize>(u * R) << 2) : 0;
  const buf = pr != 0 ? pr : ebuf;
  const total = expRow(th, buf, R, hi, true);
  phasorRow(buf, pr, wRe + o, wIm + o, rotRe != 0 ? rotRe + o : 0, rotIm + o, nOut, D, cosD, sinD, total);
}

/**
 * Compacts the sources of two neighbouring sites (columns u, u+1 of a, real) over `batch` examples
 * into (row offset, a_u, a_u+1), keeping examples that light either. Returns the kept count
 * (bits 0–29) and whether any example lights u (bit 30) and u+1 (bit 31).
 */
// @ts-ignore: decorator
@inline function compactPair(a: usize, batch: i32, stride: usize, rowBytes: i32, lOff: usize, lA: usize, lB: usize): i32 {
  let n = 0, n1 = 0, n2 = 0;
  for (let t = 0; t < batch; t++) {
    const x = load<f32>(a), y = load<f32>(a, 4);
    const o = <usize>n << 2;
    store<i32>(lOff + o, t * rowBytes);
    store<f32>(lA + o, x);
    store<f32>(lB + o, y);
    const p = <i32>(x != 0), q = <i32>(y != 0);
    n += p | q;
    n1 += p;
    n2 += q;
    a += stride;
  }
  return n | (<i32>(n1 != 0) << 30) | (<i32>(n2 != 0) << 31);
}

/**
 * S_u = Σ_t lA_t Γ[row_t, ·] and S_u+1 = Σ_t lB_t Γ[row_t, ·] (complex, nOut a multiple of 8) in
 * tiles of 8 columns: each Γ load feeds both sites (eight accumulators). Same sums, in the same
 * order, as `gatherMac` on each site's own list (a zero coefficient adds an exact 0).
 */
// @ts-ignore: decorator
@inline function gatherPair(
  n: i32, lOff: usize, lA: usize, lB: usize, gRe: usize, gIm: usize,
  sr: usize, si: usize, sr2: usize, si2: usize, nOut: i32,
): void {
  for (let v = 0; v < nOut; v += 8) {
    const vo = <usize>v << 2;
    let ar0 = f32x4.splat(0), ar1 = f32x4.splat(0), ai0 = f32x4.splat(0), ai1 = f32x4.splat(0);
    let br0 = f32x4.splat(0), br1 = f32x4.splat(0), bi0 = f32x4.splat(0), bi1 = f32x4.splat(0);
    for (let t = 0; t < n; t++) {
      const to = <usize>t << 2;
      const off = <usize>load<i32>(lOff + to) + vo;
      const a = v128.load32_splat(lA + to), b = v128.load32_splat(lB + to);
      const pr = gRe + off, pi = gIm + off;
      const x0 = v128.load(pr), x1 = v128.load(pr, 16);
      ar0 = fma4(ar0, a, x0); br0 = fma4(br0, b, x0);
      ar1 = fma4(ar1, a, x1); br1 = fma4(br1, b, x1);
      const y0 = v128.load(pi), y1 = v128.load(pi, 16);
      ai0 = fma4(ai0, a, y0); bi0 = fma4(bi0, b, y0);
      ai1 = fma4(ai1, a, y1); bi1 = fma4(bi1, b, y1);
    }
    v128.store(sr + vo, ar0); v128.store(sr + vo, ar1, 16);
    v128.store(si + vo, ai0); v128.store(si + vo, ai1, 16);
    v128.store(sr2 + vo, br0); v128.store(sr2 + vo, br1, 16);
    v128.store(si2 + vo, bi0); v128.store(si2 + vo, bi1, 16);
  }
}

/** One route pair's four logits at `p` (D = 4): θ ← max(θ − hi, −88) stored, e^θ returned. */
// @ts-ignore: decorator
@inline function recentreExp(p: usize, h: v128, lo: v128): v128 {
  const t = vmax(f32x4.sub(v128.load(p), h), lo);
  v128.store(p, t);
  return expvFloored(t);
}

/**
 * D = 4 (one v128 holds the four durations of a route pair), training (no p wanted): recentres θ
 * (θ ← max(θ − hi, −88)), takes e = exp θ and sums W̃_v = Σ_d e_vd cos ωd + i Σ_d e_vd sin ωd in
 * the same pass, so e is never stored and reloaded. Returns Σ e; W = conj(W̃) / Σ e is finished
 * by {@link scaleTurnRow}. Same values as `expRow` + `phasorRow` up to the order of the sums.
 */
// @ts-ignore: decorator
@inline function expPhasorRow4(th: usize, wr: usize, wi: usize, nOut: i32, hi: f32, cosD: usize, sinD: usize): f32 {
  const h = f32x4.splat(hi), lo = f32x4.splat(-88);
  const c = v128.load(cosD), s = v128.load(sinD);
  let sum = f32x4.splat(0);
  let v = 0;
  for (; v + 4 <= nOut; v += 4) {
    const p = th + (<usize>v << 4);
    const e0 = recentreExp(p, h, lo), e1 = recentreExp(p + 16, h, lo), e2 = recentreExp(p + 32, h, lo), e3 = recentreExp(p + 48, h, lo);
    sum = f32x4.add(sum, f32x4.add(f32x4.add(e0, e1), f32x4.add(e2, e3)));
    vst(wr, v, hsum4(f32x4.mul(e0, c), f32x4.mul(e1, c), f32x4.mul(e2, c), f32x4.mul(e3, c)));
    vst(wi, v, hsum4(f32x4.mul(e0, s), f32x4.mul(e1, s), f32x4.mul(e2, s), f32x4.mul(e3, s)));
  }
  for (; v < nOut; v++) {
    const e = recentreExp(th + (<usize>v << 4), h, lo);
    sum = f32x4.add(sum, e);
    st(wr, v, hsum(f32x4.mul(e, c)));
    st(wi, v, hsum(f32x4.mul(e, s)));
  }
  return hsum(sum);
}

/**
 * {@link expPhasorRow4} for quarter-turn phasors, ω = π/2 (the default 2π/D at D = 4): cos ωd =
 * 1, 0, −1, 0 and sin ωd = 0, 1, 0, −1 exactly, so W̃_v = (e_v0 − e_v2) + i (e_v1 − e_v3): one
 * subtraction per pair and shuffles instead of eight products and two horizontal sums. The same
 * bits as {@link expPhasorRow4} with these constants (its products by 0 and ±1 are exact and add
 * only zeros).
 */
// @ts-ignore: decorator
@inline function expPhasorRowQ(th: usize, wr: usize, wi: usize, nOut: i32, hi: f32): f32 {
  const h = f32x4.splat(hi), lo = f32x4.splat(-88);
  let sum = f32x4.splat(0);
  let v = 0;
  for (; v + 4 <= nOut; v += 4) {
    // each pair stored and exponentiated in turn: fewer live vectors than four interleaved chains
    const p = th + (<usize>v << 4);
    const e0 = recentreExp(p, h, lo), e1 = recentreExp(p + 16, h, lo);
    // [e00 − e02, e01 − e03, e10 − e12, e11 − e13] = [Re W̃_v, Im W̃_v, Re W̃_v+1, Im W̃_v+1]
    const d01 = f32x4.sub(f32x4.shuffle(e0, e1, 0, 1, 4, 5), f32x4.shuffle(e0, e1, 2, 3, 6, 7));
    const e2 = recentreExp(p + 32, h, lo), e3 = recentreExp(p + 48, h, lo);
    const d23 = f32x4.sub(f32x4.shuffle(e2, e3, 0, 1, 4, 5), f32x4.shuffle(e2, e3, 2, 3, 6, 7));
    sum = f32x4.add(sum, f32x4.add(f32x4.add(e0, e1), f32x4.add(e2, e3)));
    vst(wr, v, f32x4.shuffle(d01, d23, 0, 2, 4, 6));
    vst(wi, v, f32x4.shuffle(d01, d23, 1, 3, 5, 7));
  }
  for (; v < nOut; v++) {
    const e = recentreExp(th + (<usize>v << 4), h, lo);
    sum = f32x4.add(sum, e);
    st(wr, v, f32x4.extract_lane(e, 0) - f32x4.extract_lane(e, 2));
    st(wi, v, f32x4.extract_lane(e, 1) - f32x4.extract_lane(e, 3));
  }
  return hsum(sum);
}

/** W ← rot · (k·Re W̃ − i·k·Im W̃) over one site's `nOut` pairs (`rr` = 0: no travel phase). */
// @ts-ignore: decorator
@inline function scaleTurnRow(wr: usize, wi: usize, rr: usize, ri: usize, nOut: i32, k: f32): void {
  let v = 0;
  const pk = f32x4.splat(k), nk = f32x4.splat(-k);
  if (rr == 0) {
    for (; v + 4 <= nOut; v += 4) {
      vst(wr, v, f32x4.mul(vld(wr, v), pk));
      vst(wi, v, f32x4.mul(vld(wi, v), nk));
    }
  } else {
    for (; v + 4 <= nOut; v += 4) {
      const a = f32x4.mul(vld(wr, v), pk), b = f32x4.mul(vld(wi, v), nk), c = vld(rr, v), e = vld(ri, v);
      vst(wr, v, f32x4.sub(f32x4.mul(a, c), f32x4.mul(b, e)));
      vst(wi, v, f32x4.add(f32x4.mul(a, e), f32x4.mul(b, c)));
    }
  }
  for (; v < nOut; v++) {
    const a = ld(wr, v) * k, b = ld(wi, v) * -k;
    if (rr == 0) {
      st(wr, v, a);
      st(wi, v, b);
    } else {
      const c = ld(rr, v), e = ld(ri, v);
      st(wr, v, a * c - b * e);
      st(wi, v, a * e + b * c);
    }
  }
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
    let j = 0;
    if (ASC_FEATURE_SIMD) {
      // p ln p in f32 (relative error ≈ 1e-7; p below the smallest normal f32 counts 0), summed in f64
      let acc = f64x2.splat(0);
      const tiny = f32x4.splat(F32_MIN_NORMAL);
      for (; j + 4 <= R; j += 4) {
        const p = vld(pr, j);
        const y = v128.and(f32x4.mul(p, logv(p)), f32x4.ge(p, tiny));
        acc = f64x2.add(acc, f64x2.promote_low_f32x4(y));
        acc = f64x2.add(acc, f64x2.promote_low_f32x4(i32x4.shuffle(y, y, 2, 3, 0, 1)));
      }
      h = -(f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1));
    }
    for (; j < R; j++) {
      const p = <f64>ld(pr, j);
      if (p > 0) h -= p * Math.log(p);
    }
    total += h;
  }
  return nIn > 0 ? total / nIn : 0;
}

const SQRT2: f32 = 1.4142135381698608;
const LN2_HI: f32 = 0.693145751953125;
const LN2_LO: f32 = 1.428606765330187e-06;

/**
 * ln x on four lanes for normal positive x: x = m·2^e with m ∈ [√½, √2), ln m = 2 atanh s,
 * s = (m − 1)/(m + 1), |s| ≤ 0.1716, by its series to s⁹ (truncation < 3e-10), plus e ln 2 in two
 * parts. Relative error about 1e-7 (float32 rounding); used only for entropies.
 */
// @ts-ignore: decorator
@inline function logv(x: v128): v128 {
  let e = i32x4.sub(i32x4.shr_u(x, 23), i32x4.splat(127));
  let m = v128.or(v128.and(x, i32x4.splat(0x7fffff)), i32x4.splat(0x3f800000));
  const big = f32x4.gt(m, f32x4.splat(SQRT2));
  m = v128.bitselect(f32x4.mul(m, f32x4.splat(0.5)), m, big);
  e = i32x4.sub(e, big); // big lanes are −1
  const s = f32x4.div(f32x4.sub(m, f32x4.splat(1)), f32x4.add(m, f32x4.splat(1)));
  const z = f32x4.mul(s, s);
  let q = f32x4.add(f32x4.mul(z, f32x4.splat(<f32>(1.0 / 9))), f32x4.splat(<f32>(1.0 / 7)));
  q = f32x4.add(f32x4.mul(q, z), f32x4.splat(<f32>(1.0 / 5)));
  q = f32x4.add(f32x4.mul(q, z), f32x4.splat(<f32>(1.0 / 3)));
  const s2 = f32x4.add(s, s);
  const lnm = f32x4.add(s2, f32x4.mul(f32x4.mul(s2, z), q));
  const ef = f32x4.convert_i32x4_s(e);
  return f32x4.add(f32x4.mul(ef, f32x4.splat(LN2_HI)), f32x4.add(f32x4.mul(ef, f32x4.splat(LN2_LO)), lnm));
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
        cdot(wr, wi, gr, gi, o1 - o0);
        re = dotRe;
        im = dotIm;
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
