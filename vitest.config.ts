import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Tests spawn the CLI and hash real files; two cores, so keep the pool small.
    maxWorkers: 2,
    reporters: ['default', './test/helpers/closing-line-reporter.ts'],
  },
});
