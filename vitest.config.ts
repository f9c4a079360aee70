import { defineConfig } from 'vitest/config';

// Several tests start the CLI on the real MNIST files: give them room on a loaded 2-core machine.
// (Timeouts guard against hangs; no test asserts a duration.)
export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
