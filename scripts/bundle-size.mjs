// Prints the size of the browser bundles and of the built demo, raw and gzipped (level 9), for the README.
import { readFileSync, readdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const files = [
  'dist/browser/ffit.js',
  'dist/browser/ffit.min.js',
  ...readdirSync('demo/dist/assets').map((f) => `demo/dist/assets/${f}`),
];
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
for (const f of files) {
  const bytes = readFileSync(f);
  console.log(`${f.padEnd(44)} ${kib(bytes.length).padStart(10)}   gzip ${kib(gzipSync(bytes, { level: 9 }).length).padStart(10)}`);
}
