/**
 * cos θ and sin θ (θ in radians), exact at whole quarter turns: `Math.cos(π/2)` is 6.1e-17, the
 * error of π/2 in a double, not a property of the phase. With the default ω = 2π/D the phases ωd
 * are quarter turns whenever 4 divides D, and exact zeros and ±1 let the training kernel sum the
 * duration phasors without products (`expPhasorRowQ` in assembly/index.ts, D = 4). A phase within
 * 1e-12 of a quarter turn (relative to the number of turns) counts as one; others are
 * `Math.cos` / `Math.sin`. Returns [cos θ, sin θ], each in [−1, 1]. Source: DESIGN.md §2 (e^{−iωτ}).
 */
export function unitPhasor(theta: number): [number, number] {
  const q = theta / (Math.PI / 2);
  const n = Math.round(q);
  if (Number.isFinite(q) && Math.abs(q - n) <= 1e-12 * Math.max(1, Math.abs(n))) {
    const r = ((n % 4) + 4) % 4;
    return r === 0 ? [1, 0] : r === 1 ? [0, 1] : r === 2 ? [-1, 0] : [0, -1];
  }
  return [Math.cos(theta), Math.sin(theta)];
}
