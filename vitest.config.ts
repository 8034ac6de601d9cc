import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['test/helpers/global-setup.ts', 'test/temporal/global-setup.ts'],
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores: more forks than that only time-slice the same PostgreSQL.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
