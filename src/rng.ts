import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';

/**
 * Seeded pseudo-random numbers (xoroshiro128+ from `pure-rand`): the same seed gives the same
 * sequence on every machine and engine, so seeded runs are repeatable bit for bit.
 */
export class Rng {
  private readonly gen: RandomGenerator;

  /** `seed`: any integer (|seed| < 2^31). */
  constructor(seed: number) {
    this.gen = xoroshiro128plus(seed | 0);
  }

  /** Uniform in [0, 1), 53 random bits. */
  float(): number {
    return uniformFloat64(this.gen);
  }

  /** Uniform integer in [0, n), n ≥ 1. */
  int(n: number): number {
    return uniformInt(this.gen, 0, n - 1);
  }

  /** Fisher–Yates shuffle in place; returns `items`. */
  shuffle<T extends { length: number; [i: number]: unknown }>(items: T): T {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = items[i];
      items[i] = items[j];
      items[j] = t;
    }
    return items;
  }

  /** `0 … n−1` in a seeded random order. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }
}
