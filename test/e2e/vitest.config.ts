// `npm run test:e2e`: the demo and the packed package in headless Chromium (Debian's `chromium`,
// driven by playwright-core). `ffit` resolves to the Node bundle here, so demo/src/run.ts runs the
// same training in Node as the page does with the browser bundle.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  resolve: { alias: [{ find: /^ffit$/, replacement: fileURLToPath(new URL('../../dist/index.js', import.meta.url)) }] },
  test: {
    include: ['test/e2e/**/*.e2e.ts'],
    fileParallelism: false, // one browser at a time on a 2-core machine
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
