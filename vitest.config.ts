import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Tests spawn the CLI and hash real files; two cores, so keep the pool small.
    maxWorkers: 2,
    // The docker project's teardown stops its registries and, when it started it, dockerd.
    teardownTimeout: 60_000,
    reporters: ['default', './test/helpers/closing-line-reporter.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/docker/**'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        // Against a real Docker Engine and real registries, which test/infra/setup.ts prepares
        // (installing Debian's docker.io and docker-registry when missing). Runs after the unit
        // project, one file at a time: the files share the engine.
        extends: true,
        test: {
          name: 'docker',
          include: ['test/docker/**/*.test.ts'],
          globalSetup: ['test/infra/setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 300_000,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
