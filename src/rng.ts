import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';
import { check } from './errors.js';

/** Largest `n` of {@link Rng.permutation} (an Int32Array of n entries, 4 GiB at 2^30). */
const MAX_PERMUTATION = 2 ** 30;

const show = (x: unknown): string => (typeof x === 'number' ? String(x) : x === null ? 'null' : typeof x);

/**
 * Seeded pseudo-random numbers (xoroshiro128+ from `pure-rand`): the same seed gives the same
 * sequence on every machine and engine, so seeded runs are repeatable bit for bit.
 * Misuse (a seed or count that is not an integer, a non-array to shuffle) throws
 * `FfitError('E_OPTION')`.
 */
export class Rng {
  private readonly gen: RandomGenerator;

  /** `seed`: any safe integer; only its low 32 bits (two's complement) select the sequence. */
  constructor(seed: number) {
    check(Number.isSafeInteger(seed), `Rng seed must be an integer (e.g. 0 or 42); got ${show(seed)}.`);
    this.gen = xoroshiro128plus(seed | 0);
  }

  /** Uniform in [0, 1), 53 random bits. */
  float(): number {
    return uniformFloat64(this.gen);
  }

  /** Uniform integer in [0, n), n an integer from 1 to 2^53 − 1. */
  int(n: number): number {
    check(Number.isSafeInteger(n) && n >= 1, `Rng.int(n) needs an integer n ≥ 1 (the number of choices); got ${show(n)}.`);
    return uniformInt(this.gen, 0, n - 1);
  }

  /** Fisher–Yates shuffle in place of an array or typed array; returns `items`. */
  shuffle<T extends { length: number; [i: number]: unknown }>(items: T): T {
    check(Array.isArray(items) || (ArrayBuffer.isView(items) && !(items instanceof DataView)),
      `Rng.shuffle needs an array or typed array; got ${show(items)}.`);
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = items[i];
      items[i] = items[j];
      items[j] = t;
    }
    return items;
  }

  /** `0 … n−1` in a seeded random order; n an integer from 0 to 2^30. */
  permutation(n: number): Int32Array {
    check(Number.isInteger(n) && n >= 0 && n <= MAX_PERMUTATION, `Rng.permutation(n) needs an integer n from 0 to ${MAX_PERMUTATION}; got ${show(n)}.`);
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }
}
