/**
 * Images as token sequences, so that a `causal` lattice reads an image the way a GPT reads text
 * (DESIGN.md §1, `causal`): the pixels are reordered token by token, and the lattice is told the
 * sequence length S; with `sequence: S`, source site i sits at position ⌊i·S/N_0⌋, i.e. the i-th
 * group of N_0/S pixels is token ⌊i·S/N_0⌋. Browser-safe.
 */
import { check } from '../errors.js';
import { checkDataset, type Dataset } from './dataset.js';
import { describe } from '../validate.js';

/** Most pixels per image a tokenizer orders (2^26: far beyond any image a lattice takes). */
const MAX_PIXELS = 2 ** 26;

/** How an image becomes tokens: each pixel row is a token, or each `patch × patch` square. */
export type TokenMode = 'rows' | 'patches';

/** The pixel order and sequence length of a tokenisation. */
export interface Tokenizer {
  mode: TokenMode;
  /** Sequence length S (tokens per image). */
  sequence: number;
  /** Pixels per token. */
  width: number;
  /** `order[i]` is the row-major pixel index that becomes source site i (length rows × cols). */
  order: Int32Array;
}

/** The patch sizes that divide both sides of a rows × cols image, for messages. */
function divisors(rows: number, cols: number): number[] {
  const out: number[] = [];
  for (let p = 1; p <= Math.min(rows, cols); p++) if (rows % p === 0 && cols % p === 0) out.push(p);
  return out;
}

/**
 * The tokenisation of `rows × cols` images: `rows` gives S = rows tokens of `cols` pixels (the
 * identity order); `patches` gives S = (rows/patch)·(cols/patch) tokens of patch² pixels, patches
 * in raster order, pixels raster order within a patch. Throws `E_OPTION` when `patch` does not
 * divide the image.
 */
export function tokenizer(mode: TokenMode, rows: number, cols: number, patch = 7): Tokenizer {
  check(mode === 'rows' || mode === 'patches', `tokens must be "rows" or "patches"; got ${JSON.stringify(mode)}.`);
  check(Number.isInteger(rows) && Number.isInteger(cols) && rows >= 1 && cols >= 1 && rows * cols <= MAX_PIXELS,
    `tokenizer: rows and cols must be whole numbers ≥ 1 with rows × cols ≤ ${MAX_PIXELS} pixels (the image size, e.g. 28 and 28); got ${String(rows)} × ${String(cols)}.`);
  if (mode === 'rows') return { mode, sequence: rows, width: cols, order: Int32Array.from({ length: rows * cols }, (_, i) => i) };
  check(Number.isInteger(patch) && patch >= 1 && rows % patch === 0 && cols % patch === 0,
    `patch must be a whole number dividing the ${rows}×${cols} image (here: ${divisors(rows, cols).join(', ')}); got ${describe(patch)}.`);
  const order = new Int32Array(rows * cols);
  const across = cols / patch;
  let i = 0;
  for (let t = 0; t < (rows / patch) * across; t++) {
    const r0 = Math.floor(t / across) * patch, c0 = (t % across) * patch;
    for (let r = 0; r < patch; r++) for (let c = 0; c < patch; c++) order[i++] = (r0 + r) * cols + c0 + c;
  }
  return { mode, sequence: (rows / patch) * across, width: patch * patch, order };
}

/** A copy of `ds` whose pixels are in token order (`images[b·N + i] = old[b·N + order[i]]`). */
export function toTokens(ds: Dataset, tok: Tokenizer): Dataset {
  checkDataset(ds, 'toTokens');
  const n = ds.features;
  check(typeof tok === 'object' && tok !== null && tok.order instanceof Int32Array && tok.order.every((i) => i >= 0 && i < n),
    `toTokens: pass a tokenizer from tokenizer(mode, rows, cols) whose order lists pixel indices 0 … ${n - 1}; got ${tok === null || typeof tok !== 'object' ? String(tok) : 'another object'}.`);
  check(tok.order.length === n, `The tokenizer covers ${tok.order.length} pixels; the images have ${n}.`, 'E_SHAPE');
  const out = new (ds.images.constructor as Uint8ArrayConstructor)(ds.images.length);
  for (let b = 0; b < ds.count; b++) for (let i = 0; i < n; i++) out[b * n + i] = ds.images[b * n + tok.order[i]!]!;
  return { ...ds, images: out };
}
