/**
 * The one place where the experiments cut MNIST into training, validation and test examples, so
 * that every method sees the same examples: a split is a list of indices into the class-selected
 * training pool, and the data handed to every method is materialised from those indices.
 *
 * The cuts reuse `splitValidation` and `sampleShots` of `src/data/dataset.ts` (seeded, stratified).
 * They are run on an *index data set* (one feature per example holding its own index, same labels)
 * so that the chosen indices come back out: both functions look only at labels and the generator.
 */
import { check } from '../errors.js';
import { sampleShots, splitValidation, subset, type Dataset } from '../data/dataset.js';
import { Rng } from '../rng.js';

/** Shots per class: a whole number ≥ 1, or `'all'` for every training example of the pool. */
export type Shots = number | 'all';

/** The examples of one (seed, shots) cell, as indices and as data. */
export interface Split {
  seed: number;
  shots: Shots;
  /** Indices into the pool of the training examples, in training order (classes interleaved). */
  trainIndices: Int32Array;
  /** Indices into the pool of the validation examples, increasing. */
  validationIndices: Int32Array;
  /** `trainIndices.length` examples, `C × shots` (or the whole pool minus validation). */
  train: Dataset;
  /** Held out of the pool before the shots are drawn; used only to choose hyperparameters. */
  validation: Dataset;
}

/** An index data set: `images[i] = i` (Float32, exact below 2^24), labels of `ds`. */
function indexSet(ds: Dataset): Dataset {
  check(ds.count < 1 << 24, `the pool has ${ds.count} examples; splits support fewer than 2^24.`, 'E_DATA');
  const images = new Float32Array(ds.count);
  for (let i = 0; i < ds.count; i++) images[i] = i;
  return { ...ds, images, features: 1, rows: 1, cols: 1 };
}

const toIndices = (ds: Dataset): Int32Array => Int32Array.from(ds.images as Float32Array);

/**
 * Splits `pool` for one seed: a stratified validation fraction is held out first (so validation
 * examples never depend on the shot count), then `shots` examples per class are drawn from the
 * rest (`'all'` keeps the rest, in the pool's order). Same `(seed, shots, validation)`, same indices.
 *
 * @param pool labelled training pool (labels 0 … C−1), e.g. MNIST training digits 0–3.
 * @param validation fraction of every class held out, in (0, 1).
 * @throws FfitError `E_OPTION` bad fraction or shots; `E_DATA` a class with fewer examples than `shots`.
 */
export function makeSplit(pool: Dataset, seed: number, shots: Shots, validation: number): Split {
  check(validation > 0 && validation < 1, `the validation fraction must be in (0, 1); got ${validation}.`);
  const rng = new Rng(seed);
  const cut = splitValidation(indexSet(pool), validation, rng);
  const rest = shots === 'all' ? cut.train : sampleShots(cut.train, shots, rng);
  const trainIndices = toIndices(rest), validationIndices = toIndices(cut.validation!);
  return {
    seed,
    shots,
    trainIndices,
    validationIndices,
    train: subset(pool, trainIndices),
    validation: subset(pool, validationIndices),
  };
}

/**
 * The examples of `ds` whose label is in `labels`, labels unchanged (the lattice keeps all C
 * targets: a task on digits {0, 1} is a 4-class model that only sees labels 0 and 1).
 */
export function keepLabels(ds: Dataset, labels: readonly number[]): Dataset {
  const keep: number[] = [];
  ds.labels.forEach((y, i) => {
    if (labels.includes(y)) keep.push(i);
  });
  return subset(ds, keep);
}

/**
 * A fixed, class-balanced subset of `ds`: `perClass` examples of every class chosen with
 * `Rng(seed)`, in a seeded interleaved order. Used for the fast test curves of `dynamics`.
 */
export function balancedSubset(ds: Dataset, perClass: number, seed: number): Dataset {
  return sampleShots(ds, perClass, new Rng(seed));
}

/** Parses `1,2,5,all` into shot counts. @throws FfitError `E_OPTION` on anything else. */
export function parseShots(list: string): Shots[] {
  return list.split(',').map((s) => {
    const t = s.trim();
    if (t === 'all') return 'all';
    const n = /^\d+$/.test(t) ? Number(t) : NaN;
    check(Number.isSafeInteger(n) && n >= 1, `shot count "${t}" must be a whole number ≥ 1 or "all", e.g. --shots 1,10,100,all.`);
    return n;
  });
}
