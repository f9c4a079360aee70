import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // CLI and bundle tests spawn processes and load MNIST; on a shared 2-core machine they may take
    // far longer than vitest's 5 s default, and no test here may depend on timing
    testTimeout: 120_000,
  },
});
