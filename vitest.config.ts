import { defineConfig } from 'vitest/config';

// Several tests start the CLI on the real MNIST files: give them room on a loaded 2-core machine.
// (Timeouts guard against hangs; no test asserts a duration.) The browser tests are
// test/e2e/*.e2e.ts with their own config (`npm run test:e2e`).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
