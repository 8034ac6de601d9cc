import { defineConfig } from 'vitest/config';

// .ci/run first runs test/canary alone, through this same config and its global
// setups, and stops if that deliberately failing test lets vitest exit 0.
const canary = process.env.BELLOWS_CANARY === '1';

export default defineConfig({
  test: {
    globalSetup: ['test/helpers/global-setup.ts', 'test/temporal/global-setup.ts'],
    setupFiles: ['test/helpers/file-end.ts'],
    include: canary ? ['test/canary/*.canary.ts'] : ['test/**/*.test.ts'],
    // A hang detector, not a speed test: the slowest fault tests take about two
    // minutes on a machine loaded by other work, so the limit leaves room for that.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    // expect.poll's own default is 1 s: too short for a click in Chromium to reach the server and
    // come back into the page on a loaded machine. Also a hang detector, not a speed test.
    expect: { poll: { timeout: 10_000 } },
    // Two cores: more forks than that only time-slice the same PostgreSQL.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
