import { defineConfig } from 'vitest/config';

// .ci/run first runs test/canary alone, through this same config and its global
// setups, and stops if that deliberately failing test lets vitest exit 0.
const canary = process.env.BELLOWS_CANARY === '1';

export default defineConfig({
  test: {
    globalSetup: ['test/helpers/global-setup.ts', 'test/temporal/global-setup.ts'],
    setupFiles: ['test/helpers/file-end.ts'],
    include: canary ? ['test/canary/*.canary.ts'] : ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores: more forks than that only time-slice the same PostgreSQL.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
