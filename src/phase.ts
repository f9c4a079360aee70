/** Quarter turns beyond which no phase is snapped (|θ| ≳ 6.7e9 rad): there a double holds θ to about 1e-6 rad only. */
const MAX_QUARTER_TURNS = 2 ** 32;

/**
 * cos θ and sin θ (θ in radians), exact at whole quarter turns: `Math.cos(π/2)` is 6.1e-17, the
 * error of π/2 in a double, not a property of the phase. With the default ω = 2π/D the phases ωd
 * are quarter turns whenever 4 divides D, and exact zeros and ±1 let the training kernel sum the
 * duration phasors without products (`expPhasorRowQ` in assembly/index.ts, D = 4). A phase counts
 * as a quarter turn n when θ/(π/2) is within 8 double ulps of n (the rounding of ω = 2π/D, of ωd
 * and of the division) and |n| ≤ 2^32; every other phase is `Math.cos` / `Math.sin`. Returns
 * [cos θ, sin θ], each in [−1, 1]. Source: DESIGN.md §2 (e^{−iωτ}).
 */
export function unitPhasor(theta: number): [number, number] {
  const q = theta / (Math.PI / 2);
  const n = Math.round(q);
  if (Number.isFinite(q) && Math.abs(n) <= MAX_QUARTER_TURNS && Math.abs(q - n) <= 8 * Number.EPSILON * Math.max(1, Math.abs(n))) {
    const r = ((n % 4) + 4) % 4;
    return r === 0 ? [1, 0] : r === 1 ? [0, 1] : r === 2 ? [-1, 0] : [0, -1];
  }
  return [Math.cos(theta), Math.sin(theta)];
}
