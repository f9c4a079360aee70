// Roofline probe for `npm run bench` (not part of the library): how many f32x4 multiply-adds one
// WebAssembly thread retires per second, and how fast it copies memory. WebAssembly SIMD has no
// fused multiply-add without relaxed-simd, so a multiply-add is an `f32x4.mul` then an
// `f32x4.add`: 8 floating-point operations per pair.

/** Allocates `bytes` bytes (16-byte aligned, zeroed). */
export function alloc(bytes: usize): usize {
  const ptr = heap.alloc(bytes);
  memory.fill(ptr, 0, bytes);
  return ptr;
}

/**
 * `iterations` rounds of 12 independent chains acc ← acc·m + c in registers (no memory traffic):
 * 12 × 8 = 96 flops per round. Twelve chains cover the mul→add latency on every current x86 and
 * ARM core while leaving registers for the constants. Returns a checksum so nothing is elided.
 */
export function chains(iterations: i32): f32 {
  const m = f32x4.splat(0.999);
  const c = f32x4.splat(0.001);
  let a0 = f32x4.splat(0.10), a1 = f32x4.splat(0.11), a2 = f32x4.splat(0.12), a3 = f32x4.splat(0.13);
  let a4 = f32x4.splat(0.14), a5 = f32x4.splat(0.15), a6 = f32x4.splat(0.16), a7 = f32x4.splat(0.17);
  let a8 = f32x4.splat(0.18), a9 = f32x4.splat(0.19), a10 = f32x4.splat(0.20), a11 = f32x4.splat(0.21);
  for (let i = 0; i < iterations; i++) {
    a0 = f32x4.add(f32x4.mul(a0, m), c); a1 = f32x4.add(f32x4.mul(a1, m), c);
    a2 = f32x4.add(f32x4.mul(a2, m), c); a3 = f32x4.add(f32x4.mul(a3, m), c);
    a4 = f32x4.add(f32x4.mul(a4, m), c); a5 = f32x4.add(f32x4.mul(a5, m), c);
    a6 = f32x4.add(f32x4.mul(a6, m), c); a7 = f32x4.add(f32x4.mul(a7, m), c);
    a8 = f32x4.add(f32x4.mul(a8, m), c); a9 = f32x4.add(f32x4.mul(a9, m), c);
    a10 = f32x4.add(f32x4.mul(a10, m), c); a11 = f32x4.add(f32x4.mul(a11, m), c);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)), f32x4.add(f32x4.add(a4, a5), f32x4.add(a6, a7)));
  const t = f32x4.add(s, f32x4.add(f32x4.add(a8, a9), f32x4.add(a10, a11)));
  return f32x4.extract_lane(t, 0) + f32x4.extract_lane(t, 1) + f32x4.extract_lane(t, 2) + f32x4.extract_lane(t, 3);
}

/**
 * `passes` passes of y ← y + s·x over `n` floats (n a multiple of 16) held in cache: the axpy that
 * the forward and gain kernels are made of, with its loads and stores. 2n flops per pass.
 */
export function axpy(x: usize, y: usize, n: i32, passes: i32): f32 {
  const s = f32x4.splat(1e-3);
  for (let p = 0; p < passes; p++) {
    for (let i = 0; i < n; i += 16) {
      const o = <usize>i << 2;
      v128.store(y + o, f32x4.add(v128.load(y + o), f32x4.mul(s, v128.load(x + o))));
      v128.store(y + o + 16, f32x4.add(v128.load(y + o + 16), f32x4.mul(s, v128.load(x + o + 16))));
      v128.store(y + o + 32, f32x4.add(v128.load(y + o + 32), f32x4.mul(s, v128.load(x + o + 32))));
      v128.store(y + o + 48, f32x4.add(v128.load(y + o + 48), f32x4.mul(s, v128.load(x + o + 48))));
    }
  }
  return load<f32>(y);
}

/**
 * `passes` passes of a register-blocked multiply-add over `n` floats in cache (n a multiple of 16):
 * 8 accumulators += x · 4 broadcast scalars, one load per 4 multiply-adds, like the inner loop of
 * a blocked matrix product. 32 flops per 4 floats of x, i.e. 8n flops per pass.
 */
export function blocked(x: usize, n: i32, passes: i32): f32 {
  const b0 = f32x4.splat(0.5), b1 = f32x4.splat(0.25), b2 = f32x4.splat(0.125), b3 = f32x4.splat(0.0625);
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
  let c4 = f32x4.splat(0), c5 = f32x4.splat(0), c6 = f32x4.splat(0), c7 = f32x4.splat(0);
  for (let p = 0; p < passes; p++) {
    for (let i = 0; i < n; i += 8) {
      const o = <usize>i << 2;
      const x0 = v128.load(x + o), x1 = v128.load(x + o + 16);
      c0 = f32x4.add(c0, f32x4.mul(x0, b0)); c1 = f32x4.add(c1, f32x4.mul(x0, b1));
      c2 = f32x4.add(c2, f32x4.mul(x0, b2)); c3 = f32x4.add(c3, f32x4.mul(x0, b3));
      c4 = f32x4.add(c4, f32x4.mul(x1, b0)); c5 = f32x4.add(c5, f32x4.mul(x1, b1));
      c6 = f32x4.add(c6, f32x4.mul(x1, b2)); c7 = f32x4.add(c7, f32x4.mul(x1, b3));
    }
  }
  const s = f32x4.add(f32x4.add(f32x4.add(c0, c1), f32x4.add(c2, c3)), f32x4.add(f32x4.add(c4, c5), f32x4.add(c6, c7)));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
}

/** `passes` × memory.copy of `bytes` bytes from `src` to `dst` (bandwidth = 2 × bytes per pass moved). */
export function copy(dst: usize, src: usize, bytes: usize, passes: i32): void {
  for (let p = 0; p < passes; p++) memory.copy(dst, src, bytes);
}
