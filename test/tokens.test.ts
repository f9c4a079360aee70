// Images as token sequences (README "Topologies"): the pixel orders of --tokens rows | patches.
import { describe, expect, it } from 'vitest';
import { toTokens, tokenizer } from '../src/data/tokens.js';
import type { Dataset } from '../src/data/dataset.js';

describe('tokenizer', () => {
  it('rows: 28 tokens of 28 pixels in the original order', () => {
    const t = tokenizer('rows', 28, 28);
    expect(t.sequence).toBe(28);
    expect(t.width).toBe(28);
    expect(Array.from(t.order)).toEqual(Array.from({ length: 784 }, (_, i) => i));
  });

  it('patches: a permutation, patch by patch in raster order', () => {
    const t = tokenizer('patches', 4, 6, 2);
    expect(t.sequence).toBe(6);
    expect(t.width).toBe(4);
    // token 0 = rows 0–1 × cols 0–1, token 1 = rows 0–1 × cols 2–3, …, token 3 = rows 2–3 × cols 0–1
    expect(Array.from(t.order.subarray(0, 8))).toEqual([0, 1, 6, 7, 2, 3, 8, 9]);
    expect(Array.from(t.order.subarray(12, 16))).toEqual([12, 13, 18, 19]);
    expect([...t.order].sort((a, b) => a - b)).toEqual(Array.from({ length: 24 }, (_, i) => i));
    expect(() => tokenizer('patches', 28, 28, 5)).toThrow(/patch must be a whole number/);
  });

  it('toTokens reorders every image and keeps the labels', () => {
    const ds: Dataset = { images: Uint8Array.from({ length: 48 }, (_, i) => i), labels: Int32Array.from([0, 1]), count: 2, features: 24, rows: 4, cols: 6, classes: [0, 1] };
    const t = tokenizer('patches', 4, 6, 2);
    const out = toTokens(ds, t);
    expect(out.images).toBeInstanceOf(Uint8Array);
    expect(out.images[24 + 2]).toBe(24 + 6);
    expect(Array.from(out.labels)).toEqual([0, 1]);
  });
});
