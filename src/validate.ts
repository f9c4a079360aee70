/**
 * Checks of user data against a lattice: image arrays, labels, labelled sets and source rows.
 * Each throws an {@link FfitError} whose message names the problem, the offending index and value,
 * and the fix. Browser-safe. Used by `InterferenceNetwork` and the CLI.
 */
import { FfitError, check } from './errors.js';

/** Largest finite Float32 (the kernels store sources as Float32). */
export const F32_MAX = 3.4028234663852886e38;
/** Smallest normal Float32: a source total below it has no finite Float32 reciprocal. */
export const F32_MIN_NORMAL = 1.1754943508222875e-38;

const isBigIntArray = (x: unknown): boolean =>
  (typeof BigInt64Array !== 'undefined' && x instanceof BigInt64Array) ||
  (typeof BigUint64Array !== 'undefined' && x instanceof BigUint64Array);

/**
 * Number of images in `images`, a flat `count × n0` array (typed array of numbers or plain array).
 *
 * @throws FfitError `E_SHAPE` when `images` is not such an array, or its length is not a multiple of `n0`.
 */
export function imageCount(images: unknown, n0: number): number {
  const arrayLike = Array.isArray(images) || (ArrayBuffer.isView(images) && !(images instanceof DataView) && !isBigIntArray(images));
  check(arrayLike,
    `images must be a flat typed array (Uint8Array, Float32Array, …) or an array of numbers, count × ${n0} values; ` +
    `got ${describe(images)}.`, 'E_SHAPE');
  const length = (images as ArrayLike<number>).length;
  check(length % n0 === 0,
    `images holds ${length} values, not a multiple of the ${n0} source sites of this lattice: each image must have ` +
    `${n0} values (layers[0] = pixels per image); pass whole images, or create the lattice with layers[0] equal to your image size.`,
    'E_SHAPE');
  return length / n0;
}

/**
 * Checks that `labels` holds `count` integers in `0 … classes − 1` (one per image).
 * `n0` (values per image) only improves the message when the counts differ.
 *
 * @throws FfitError `E_SHAPE` wrong type or count; `E_LABEL` a label out of range or not an integer.
 */
export function checkLabels(labels: unknown, count: number, classes: number, n0: number): void {
  const arrayLike = Array.isArray(labels) || (ArrayBuffer.isView(labels) && !(labels instanceof DataView) && !isBigIntArray(labels));
  check(arrayLike, `labels must be an Int32Array, Uint8Array or array of integers, one per image; got ${describe(labels)}.`, 'E_SHAPE');
  const n = (labels as ArrayLike<unknown>).length;
  if (n !== count) {
    const hint = n > 0 && n !== count && (count * n0) % n === 0
      ? ` If your images have ${(count * n0) / n} values each, they do not fit this lattice: create it with layers[0] = ${(count * n0) / n}.`
      : '';
    throw new FfitError('E_SHAPE',
      `labels must hold one class per image: the images are ${count} × ${n0} values (${count} images), but there are ${n} labels.${hint}`);
  }
  for (let i = 0; i < count; i++) {
    const y = (labels as ArrayLike<unknown>)[i];
    if (!(typeof y === 'number' && Number.isInteger(y) && y >= 0 && y < classes)) {
      throw new FfitError('E_LABEL',
        `Label ${i} is ${describe(y)}; labels must be integers from 0 to ${classes - 1} (one per target site). ` +
        'Remap your classes to 0 … C−1 (selectClasses does) or add target sites.');
    }
  }
}

/**
 * Checks the members of a labelled set (as {@link readLabelledSet} read them) before training or
 * evaluation: when it declares `features` (values per image, with `rows × cols`), they must equal
 * the lattice's `n0` source sites. Returns the number of images.
 *
 * @throws FfitError `E_SHAPE` (wrong image size, counts differ), `E_LABEL`.
 */
export function checkLabelledSet(set: LabelledMembers, n0: number, classes: number, what: string): number {
  const { images, labels, features, rows, cols } = set;
  if (typeof features === 'number' && features !== n0) {
    const size = typeof rows === 'number' && typeof cols === 'number' ? ` (${rows}×${cols})` : '';
    throw new FfitError('E_SHAPE',
      `The ${what} has images of ${features} values${size}, but this lattice has ${n0} source sites: ` +
      `create the lattice with layers[0] = ${features}, or resize the images to ${n0} values.`);
  }
  const count = imageCount(images, n0);
  checkLabels(labels, count, classes, n0);
  return count;
}

/** The members of a labelled set that ffit reads, read once. */
export interface LabelledMembers {
  images: unknown;
  labels: unknown;
  features?: unknown;
  rows?: unknown;
  cols?: unknown;
}

/**
 * Reads `images`, `labels` (and a Dataset's `features`, `rows`, `cols`) of `set` once, so that a
 * getter cannot throw later or hand the kernels a different array than was checked. `what` names
 * the set in messages. Throws `E_SHAPE` when `set` is not an object with `images` and `labels`,
 * `E_OPTION` when one of them cannot be read.
 */
export function readLabelledSet(set: unknown, what: string): LabelledMembers {
  check(typeof set === 'object' && set !== null && 'images' in set && 'labels' in set,
    `${what} must be an object { images, labels } (e.g. a Dataset); got ${describe(set)}.`, 'E_SHAPE');
  const out: LabelledMembers = { images: undefined, labels: undefined };
  for (const key of ['images', 'labels', 'features', 'rows', 'cols'] as const) out[key] = readMember(set, key, `The ${what}'s "${key}"`, 'pass plain arrays');
  return out;
}

/**
 * Why `row` (one image) cannot be a source of DESIGN.md §3 (a⁰ = x / Σx, computed in Float32), or
 * `null` if it can: every value a finite number in [0, 3.4e38] and a total in
 * [1.2e-38, 3.4e38]. The message names the first offending value and the fix.
 */
export function sourceProblem(row: ArrayLike<unknown>): string | null {
  let total = 0;
  for (let i = 0; i < row.length; i++) {
    const v = row[i];
    if (typeof v !== 'number') return `value ${i} is ${describe(v)}, not a number; pass numeric intensities`;
    if (Number.isNaN(v)) return `value ${i} is NaN; replace missing values (e.g. by 0)`;
    if (v < 0) return `value ${i} is ${v}, negative; intensities must be ≥ 0: shift or clip them`;
    if (v > F32_MAX) return `value ${i} is ${v}, beyond the Float32 range (3.4e38); scale the image down`;
    total += v;
  }
  if (total === 0) return 'it is blank (every value is 0), so it has no intensity to normalise; remove blank images from the data';
  if (total < F32_MIN_NORMAL) return `its total intensity ${total} is below the smallest normal Float32 (1.2e-38); scale the image up (e.g. to 0 … 255)`;
  if (total > F32_MAX) return `its total intensity ${total} overflows Float32 (3.4e38); scale the image down (e.g. to 0 … 1)`;
  return null;
}

/**
 * The `E_INPUT` error for image `index` (an index into the caller's array) that a backend refused
 * as a source; `row` is that image's values, used to name the problem.
 */
export function sourceError(index: number, row: ArrayLike<unknown>): FfitError {
  const problem = sourceProblem(row) ?? 'its total intensity overflows Float32 arithmetic; scale the image down (e.g. to 0 … 1)';
  return new FfitError('E_INPUT',
    `Image ${index} cannot be a source: ${problem}. (Each image is normalised to unit total intensity, DESIGN.md §3.)`);
}

/**
 * Checks every image of a data set (`count × features` values) as a source, so that a bad image
 * is reported with its index in the file before training starts.
 *
 * @throws FfitError `E_INPUT` naming `name`, the image index and the problem.
 */
export function checkSources(images: ArrayLike<number>, features: number, name: string): void {
  const count = Math.floor(images.length / features);
  const isBytes = images instanceof Uint8Array || images instanceof Uint8ClampedArray;
  for (let b = 0; b < count; b++) {
    let bad = false;
    if (isBytes) {
      // bytes are finite and ≥ 0: only a blank image can be refused; scan from the centre, where
      // digits have ink, so that a typical image is accepted after a few pixels
      bad = !hasInk(images as Uint8Array, b * features, features);
    } else {
      bad = sourceProblem(sliceOf(images, b * features, features)) !== null;
    }
    if (bad) {
      const problem = sourceProblem(sliceOf(images, b * features, features))!;
      throw new FfitError('E_INPUT', `Image ${b} of ${name} cannot be a source: ${problem}. (Each image is normalised to unit total intensity, DESIGN.md §3.)`);
    }
  }
}

function hasInk(bytes: Uint8Array, start: number, n: number): boolean {
  const mid = start + (n >> 1), end = start + n;
  for (let i = mid; i < end; i++) if (bytes[i] !== 0) return true;
  for (let i = start; i < mid; i++) if (bytes[i] !== 0) return true;
  return false;
}

function sliceOf(a: ArrayLike<number>, start: number, n: number): ArrayLike<number> {
  const sub = (a as Float32Array).subarray;
  return typeof sub === 'function' ? (a as Float32Array).subarray(start, start + n) : Array.prototype.slice.call(a, start, start + n);
}

/**
 * `x[key]`, where a getter or a Proxy that throws becomes `E_OPTION` "`at` cannot be read (its
 * message); `fix`." instead of its own error: every value ffit takes from a caller's object is read
 * through here, once.
 */
export function readMember(x: unknown, key: PropertyKey, at: string, fix: string): unknown {
  try {
    return (x as Record<PropertyKey, unknown>)[key];
  } catch (err) {
    throw new FfitError('E_OPTION', `${at} cannot be read (${(err as Error)?.message ?? String(err)}); ${fix}.`);
  }
}

/** `Object.keys(x)`, where a Proxy that throws is an `E_OPTION` naming `what` instead of its own error. */
function ownKeys(x: object, what: string): string[] {
  try {
    return Object.keys(x);
  } catch (err) {
    throw new FfitError('E_OPTION', `${what} cannot be listed (${(err as Error)?.message ?? String(err)}); pass a plain object.`);
  }
}

/**
 * A plain copy of an options object's own members, each read once (a getter that throws, or one
 * that would answer differently later, cannot reach the kernels). `what` names the object in
 * messages, e.g. "fit options"; `memberName` names one member (default `what: "key"`). With
 * `known`, a member not in it is refused, listing the known ones.
 *
 * @throws FfitError `E_OPTION` for a value that is not an object, an unknown member, or a member
 *   that cannot be read.
 */
export function plainOptions(
  x: unknown, what: string, known: readonly string[] | null, example: string,
  memberName = (key: string): string => `${what}: "${key}"`,
): Record<string, unknown> {
  check(typeof x === 'object' && x !== null && !Array.isArray(x), `${what} must be an object such as ${example}; got ${describe(x)}.`, 'E_OPTION');
  const out = Object.create(null) as Record<string, unknown>; // no prototype: "__proto__" stays a member, refused as unknown
  for (const key of ownKeys(x, what)) {
    if (known !== null) check(known.includes(key), `Unknown member "${key}" in ${what}; known: ${known.join(', ')}.`, 'E_OPTION');
    out[key] = readMember(x, key, memberName(key), 'pass plain values');
  }
  return out;
}

/**
 * Checks that `x` is JSON that reads back as itself: null, booleans, finite numbers, strings,
 * arrays and plain objects of those, no cycle, at most 64 levels deep. `path` names it in
 * messages (e.g. "meta"). Throws `E_OPTION` naming the first member that JSON would change or
 * drop (NaN and ±Infinity become null, a Map becomes {}, a function vanishes); an object member
 * that is `undefined` is allowed (it is left out, as if absent).
 */
export function checkJsonValue(x: unknown, path: string, seen: Set<object> = new Set()): void {
  if (x === null || typeof x === 'string' || typeof x === 'boolean') return;
  if (typeof x === 'number') {
    check(Number.isFinite(x), `${path} is ${x}, which JSON cannot hold (it would be saved as null); store a finite number or a string.`);
    return;
  }
  const plain = typeof x === 'object' && (Array.isArray(x) || [Object.prototype, null].includes(Object.getPrototypeOf(x)));
  check(plain, `${path} is ${describe(x)}, which JSON would not save as it is; store null, a boolean, a finite number, a string, or arrays and plain objects of those.`);
  check(!seen.has(x as object) && seen.size < 64, `${path} refers back to itself or nests more than 64 levels; store a tree of plain values.`);
  seen.add(x as object);
  if (Array.isArray(x)) {
    for (let i = 0; i < x.length; i++) checkJsonValue(readMember(x, i, `${path}[${i}]`, 'store plain values'), `${path}[${i}]`, seen);
  } else {
    for (const key of ownKeys(x as object, path)) {
      const v = readMember(x, key, `${path}.${key}`, 'store plain values');
      if (v !== undefined) checkJsonValue(v, `${path}.${key}`, seen); // an undefined member is left out, as when absent
    }
  }
  seen.delete(x as object);
}

/** `text` with control characters (escape sequences from a file or a path) shown as `\xNN`, so that
 *  a message on the terminal cannot drive it (set its title, clear it). */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** A short description of a value for messages (never its whole content). */
export function describe(x: unknown): string {
  if (x === null) return 'null';
  if (x === undefined) return 'undefined';
  if (typeof x === 'string') return JSON.stringify(x.length > 20 ? x.slice(0, 20) + '…' : x);
  if (typeof x === 'bigint') return `${x}n (a BigInt)`;
  if (typeof x === 'number' || typeof x === 'boolean') return String(x);
  if (Array.isArray(x)) return `an array of ${x.length}`;
  if (ArrayBuffer.isView(x)) return `a ${x.constructor.name}`;
  if (typeof x === 'function') return 'a function';
  const name = (x as object).constructor?.name ?? 'object';
  return `${/^[aeiou]/i.test(name) ? 'an' : 'a'} ${name}`;
}

/**
 * A command-line number: surrounding whitespace is ignored (as around the items of a list), the
 * rest must be a decimal number such as `7`, `-0.5` or `1e-3` (no hex, octal or binary, no
 * `Infinity` unless `infinity` is set, case-insensitive). Returns null for anything else.
 */
export function parseDecimal(text: string, infinity = false): number | null {
  const t = text.trim();
  if (infinity && /^[+]?infinity$/i.test(t)) return Infinity;
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(t)) return null;
  return Number(t);
}
