/**
 * In-memory labelled image data sets and the ways to cut them: choose classes, take k examples
 * per class, hold out a validation split. Browser-safe. All randomness comes from a seeded
 * {@link Rng}, so the same seed always gives the same selection.
 */
import { FfitError, check } from '../errors.js';
import { describe } from '../validate.js';
import type { Rng } from '../rng.js';
import type { IdxImages, IdxLabels } from './idx.js';

/** Labelled images, one row of `features = rows × cols` values per example. */
export interface Dataset {
  /** `count × features` pixel values, row-major (bytes 0 … 255, or floats). */
  images: Uint8Array | Float32Array;
  /** `count` labels in 0 … C−1, where C = `classes.length`. */
  labels: Int32Array;
  /** Number of examples. */
  count: number;
  /** Values per example, `rows × cols`. */
  features: number;
  rows: number;
  cols: number;
  /** `classes[j]` is the original class (e.g. the digit) of label j. */
  classes: number[];
}

/**
 * Builds a data set from parsed IDX images and labels. Labels are kept as they are, with the
 * identity mapping `classes = [0, 1, …, maxLabel]` (so a class may have no examples; use
 * {@link selectClasses} to drop or reorder classes). `images` is the pixel array itself (no copy).
 *
 * @throws FfitError `E_DATA` if the counts differ or there are no examples;
 *   `E_SHAPE` if `images` / `labels` are not what parseImages / parseLabels return, or
 *   `pixels.length` ≠ count × rows × cols.
 */
export function fromIdx(images: IdxImages, labels: IdxLabels, name = 'data set'): Dataset {
  const dims = (x: unknown, keys: string[]): boolean => typeof x === 'object' && x !== null && keys.every((k) => Number.isSafeInteger((x as Record<string, unknown>)[k]) && ((x as Record<string, number>)[k]!) >= 0);
  check(dims(images, ['count', 'rows', 'cols']) && (images as IdxImages).pixels instanceof Uint8Array,
    `${name}: images must be what parseImages returns ({ count, rows, cols, pixels: Uint8Array }); got ${describe(images)}.`, 'E_SHAPE');
  check(dims(labels, ['count']) && (labels as IdxLabels).labels instanceof Uint8Array,
    `${name}: labels must be what parseLabels returns ({ count, labels: Uint8Array }); got ${describe(labels)}.`, 'E_SHAPE');
  check(
    images.count === labels.count,
    `${name}: the image file has ${images.count} images but the label file has ${labels.count} ` +
      'labels; use the label file that belongs to these images (e.g. train-images with train-labels).',
    'E_DATA',
  );
  check(
    images.count > 0,
    `${name} has no examples (0 images); use a data set with at least one example.`,
    'E_DATA',
  );
  const features = images.rows * images.cols;
  check(
    images.pixels.length === images.count * features && labels.labels.length === labels.count,
    `${name}: ${images.count} images of ${images.rows}×${images.cols} need ${images.count * features} ` +
      `pixels and ${labels.count} labels, got ${images.pixels.length} pixels and ` +
      `${labels.labels.length} labels; pass the arrays returned by parseImages and parseLabels.`,
    'E_SHAPE',
  );
  const out = Int32Array.from(labels.labels);
  let max = 0;
  for (const y of out) if (y > max) max = y;
  return {
    images: images.pixels,
    labels: out,
    count: images.count,
    features,
    rows: images.rows,
    cols: images.cols,
    classes: Array.from({ length: max + 1 }, (_, j) => j),
  };
}

/**
 * Checks that `ds` is a {@link Dataset}: `count` examples of `features` values (`images`), `count`
 * labels and a `classes` list. `fn` names the caller in the message.
 *
 * @throws FfitError `E_SHAPE` otherwise.
 */
export function checkDataset(ds: unknown, fn: string): asserts ds is Dataset {
  const d = ds as Partial<Dataset> | null;
  const ok = typeof d === 'object' && d !== null && Number.isSafeInteger(d.count) && Number.isSafeInteger(d.features) &&
    (d.images instanceof Uint8Array || d.images instanceof Float32Array) && d.images.length === d.count! * d.features! &&
    ArrayBuffer.isView(d.labels) && (d.labels as Int32Array).length === d.count && Array.isArray(d.classes);
  check(ok, `${fn}: the data set must be a Dataset { images, labels, count, features, rows, cols, classes } ` +
    `(from fromIdx or loadMnist), images count × features values and count labels; got ${describe(ds)}.`, 'E_SHAPE');
}

/** `rng` must be a seeded {@link Rng} (anything with its `shuffle`). */
function checkRng(rng: unknown, fn: string): asserts rng is Rng {
  check(typeof rng === 'object' && rng !== null && typeof (rng as Rng).shuffle === 'function',
    `${fn}: pass a seeded Rng as the last argument (new Rng(seed)); got ${describe(rng)}.`);
}

/**
 * Checks a list of classes to classify: an array of at least 2 distinct integers.
 *
 * @throws FfitError `E_OPTION` naming the problem.
 */
export function checkClasses(classes: unknown): asserts classes is number[] {
  check(Array.isArray(classes), `classes must be an array of class numbers such as [0, 1, 2, 3]; got ${describe(classes)}.`);
  check(
    classes.length >= 2,
    `need at least 2 classes to classify, got ${classes.length} ([${classes.join(', ')}]); ` +
      'list two or more, e.g. --classes 0,1.',
  );
  for (const c of classes) {
    check(Number.isInteger(c), `class ${describe(c)} is not an integer; classes are whole numbers such as 0,1,2,3.`);
  }
  const dup = classes.find((c, i) => classes.indexOf(c) !== i);
  check(dup === undefined, `class ${dup} is listed twice in [${classes.join(', ')}]; list each class once.`);
}

/** Appends `items` to `to` (no spread: classes may be too large for the argument list). */
function append(to: number[], items: ArrayLike<number>): void {
  for (let k = 0; k < items.length; k++) to.push(items[k]!);
}

/**
 * Indices of the examples of each label: `result[j]` lists, in increasing order, the examples
 * whose label is j (j = 0 … C−1; empty for a class without examples).
 *
 * @throws FfitError `E_LABEL` on a label outside 0 … C−1.
 */
export function indicesOf(ds: Dataset): Int32Array[] {
  checkDataset(ds, 'indicesOf');
  const C = ds.classes.length;
  const counts = new Int32Array(C);
  ds.labels.forEach((y, i) => {
    if (!(y >= 0 && y < C)) {
      throw new FfitError(
        'E_LABEL',
        `label ${y} of example ${i} is outside 0 … ${C - 1} (the data set has ${C} classes); ` +
          'labels must index into classes.',
      );
    }
    counts[y]!++;
  });
  const out = Array.from(counts, (n) => new Int32Array(n));
  const fill = new Int32Array(ds.classes.length);
  ds.labels.forEach((y, i) => {
    out[y]![fill[y]!++] = i;
  });
  return out;
}

/**
 * The examples at `indices` (integers in 0 … count−1, repeats allowed), in that order, copied
 * into new arrays. Classes are unchanged.
 *
 * @throws FfitError `E_OPTION` on an index that is not an integer in range.
 */
export function subset(ds: Dataset, indices: ArrayLike<number>): Dataset {
  checkDataset(ds, 'subset');
  check(Array.isArray(indices) || (ArrayBuffer.isView(indices) && !(indices instanceof DataView)),
    `subset: indices must be an array of example indices; got ${describe(indices)}.`);
  const n = indices.length;
  const f = ds.features;
  const images = ds.images instanceof Float32Array ? new Float32Array(n * f) : new Uint8Array(n * f);
  const labels = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    const i = indices[k]!;
    if (!(Number.isInteger(i) && i >= 0 && i < ds.count)) {
      throw new FfitError(
        'E_OPTION',
        `subset: index ${i} (position ${k}) is not an example of this data set; indices must be ` +
          `integers in 0 … ${ds.count - 1}.`,
      );
    }
    images.set(ds.images.subarray(i * f, (i + 1) * f), k * f);
    labels[k] = ds.labels[i]!;
  }
  return { ...ds, images, labels, count: n, classes: [...ds.classes] };
}

/**
 * Keeps the examples whose original class (`ds.classes[label]`) is one of `classes`, in their
 * original order, and relabels them to the position in `classes`: `[3, 1]` maps class 3 → label 0
 * and class 1 → label 1; the result's `classes` is a copy of `classes`.
 *
 * `name` names `ds` in messages (e.g. "the test data in ./mnist").
 *
 * @throws FfitError `E_OPTION` not an array, fewer than 2 classes, a non-integer or a repeated class;
 *   `E_SHAPE` `ds` is not a Dataset;
 *   `E_DATA` a class with no examples in `ds` (the message names `ds` and lists the classes present);
 *   `E_LABEL` if `ds` has a label outside 0 … C−1.
 */
export function selectClasses(ds: Dataset, classes: readonly number[], name = 'the data'): Dataset {
  checkDataset(ds, 'selectClasses');
  checkClasses(classes);
  const byLabel = indicesOf(ds);
  const present = ds.classes.filter((_, j) => byLabel[j]!.length > 0);
  const newLabel = new Map<number, number>();
  classes.forEach((c, k) => {
    const j = ds.classes.indexOf(c);
    if (j < 0 || byLabel[j]!.length === 0) {
      throw new FfitError(
        'E_DATA',
        `class ${c} has no examples in ${name}, which has classes ${present.join(', ')}: ` +
          'choose classes from those.',
      );
    }
    newLabel.set(j, k);
  });

  const keep: number[] = [];
  ds.labels.forEach((y, i) => {
    if (newLabel.has(y)) keep.push(i);
  });
  const out = subset(ds, keep);
  out.labels = out.labels.map((y) => newLabel.get(y)!);
  out.classes = [...classes];
  return out;
}

/**
 * Few-shot sample: `shots` examples of every class (C × shots in all), chosen by a seeded
 * shuffle of each class, returned in a seeded random order so that classes are interleaved.
 * Classes and labels are unchanged.
 *
 * @throws FfitError `E_OPTION` if `shots` is not an integer ≥ 1 or `rng` is not an Rng;
 *   `E_SHAPE` if `ds` is not a Dataset;
 *   `E_DATA` if a class has fewer than `shots` examples (the message names it and its count);
 *   `E_LABEL` if `ds` has a label outside 0 … C−1.
 */
export function sampleShots(ds: Dataset, shots: number, rng: Rng): Dataset {
  checkDataset(ds, 'sampleShots');
  checkRng(rng, 'sampleShots');
  check(
    Number.isInteger(shots) && shots >= 1,
    `shots must be an integer ≥ 1 (examples per class), got ${describe(shots)}; e.g. --shots 10.`,
  );
  const picked: number[] = [];
  indicesOf(ds).forEach((idx, j) => {
    check(
      idx.length >= shots,
      `class ${ds.classes[j]} has only ${idx.length} examples, fewer than the ${shots} shots ` +
        `asked for; use --shots ≤ ${idx.length}` +
        (idx.length === 0 ? ' or leave the class out (--classes).' : '.'),
      'E_DATA',
    );
    append(picked, rng.shuffle(idx).subarray(0, shots));
  });
  return subset(ds, rng.shuffle(picked));
}

/**
 * Stratified, seeded split into training and validation examples. Each class hands
 * `round(n × fraction)` of its n examples to validation, but at least 1 when n ≥ 2 and always
 * keeping at least 1 for training. Both parts keep the original order of `ds`.
 * With `fraction = 0`, returns `{ train: ds, validation: null }`.
 *
 * @throws FfitError `E_OPTION` if `fraction` is not in [0, 1) or `rng` is not an Rng;
 *   `E_SHAPE` if `ds` is not a Dataset;
 *   `E_DATA` if `fraction` > 0 but no class has 2 examples to split;
 *   `E_LABEL` if `ds` has a label outside 0 … C−1.
 */
export function splitValidation(
  ds: Dataset,
  fraction: number,
  rng: Rng,
): { train: Dataset; validation: Dataset | null } {
  checkDataset(ds, 'splitValidation');
  checkRng(rng, 'splitValidation');
  check(
    Number.isFinite(fraction) && fraction >= 0 && fraction < 1,
    `validation fraction must be in [0, 1), got ${describe(fraction)}; e.g. 0.1 holds out 10% (0 for none).`,
  );
  if (fraction === 0) return { train: ds, validation: null };
  const train: number[] = [];
  const validation: number[] = [];
  for (const idx of indicesOf(ds)) {
    const n = idx.length;
    const v = n < 2 ? 0 : Math.min(n - 1, Math.max(1, Math.round(n * fraction)));
    rng.shuffle(idx);
    append(validation, idx.subarray(0, v));
    append(train, idx.subarray(v));
  }
  check(
    validation.length > 0,
    'cannot hold out validation examples: every class has fewer than 2 examples; ' +
      'use more shots or a validation fraction of 0.',
    'E_DATA',
  );
  const byIndex = (a: number, b: number): number => a - b;
  return { train: subset(ds, train.sort(byIndex)), validation: subset(ds, validation.sort(byIndex)) };
}
