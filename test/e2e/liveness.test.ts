import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { describe as show, runCli, scratchDir, spawnCli, startedRunId, waitFor, statusJson } from '../helpers/cli.ts';
import { backfillHold } from '../helpers/hold.ts';
import { numberedTable, vToBigint } from '../helpers/lifecycle.ts';

/**
 * A run says whether anything drives it: one that nobody drives is 'stalled',
 * with the command that continues it, and no run that does not move shows a
 * rate or an ETA in seconds (the last batch's figures are history).
 */

const ROWS = 4000;
const BATCH = 100;

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
  await numberedTable(db, 'accounts', ROWS);
});

async function statusText(...args: string[]) {
  const result = await runCli(['status', ...args], { db: db.url });
  expect(result.code, show(result)).toBe(0);
  return result.stdout;
}

describe('who drives a local run', () => {
  it('a run stopped with Ctrl-C is stalled, not running; paused and rolled-back runs show no rate', async () => {
    const hold = await backfillHold(db, 'public.accounts', ROWS / 4);
    const file = scratchDir().write(
      'accounts.json',
      JSON.stringify({
        name: 'accounts_bigint',
        settings: { batchSize: BATCH, minBatchSize: BATCH, maxBatchSize: BATCH, throttleQuery: hold.query },
        operations: [vToBigint('accounts')],
      }),
    );
    const driver = spawnCli(['start', file, '--no-progress'], { db: db.url });
    const runId = await startedRunId(driver);
    await hold.held(runId);
    expect(await statusJson(db.url, runId)).toMatchObject({ status: 'running', state: 'running', driver: 'active', stalled: null, motion: 'moving' });

    driver.kill('SIGINT');
    const interrupted = await driver.exited;
    expect(interrupted.code, show(interrupted)).toBe(1);

    const stalled = await statusJson(db.url, runId);
    expect(stalled).toMatchObject({ status: 'running', state: 'stalled', driver: 'none', motion: 'stalled' });
    expect(stalled.stalled.message).toMatch(new RegExp(`^stalled: nothing drives this run \\(since .+\\); bellows resume ${runId}$`));
    expect(stalled.tasks[0]).toMatchObject({ task: 'backfill', rowsPerSec: 0, etaSeconds: null, done: false });
    expect(stalled.tasks[0].rowsDone).toBeGreaterThan(0);
    const detail = await statusText(runId);
    expect(detail).toContain(stalled.stalled.message);
    expect(detail).toContain(' 0 rows/s  ETA stalled');
    const listed = (await statusText()).split('\n').find((l) => l.startsWith(`${runId} `));
    expect(listed).toContain(stalled.stalled.message);
    expect(listed).not.toContain('running');

    // Paused while nothing drives it: paused at once, and no longer a run that should be moving.
    const pausedUndriven = await runCli(['pause', runId], { db: db.url });
    expect(pausedUndriven.code, show(pausedUndriven)).toBe(0);
    expect(await statusJson(db.url, runId)).toMatchObject({ status: 'running', state: 'paused', stalled: null, motion: 'paused' });

    // Driven again, then paused: the driver waits, and the run shows no rate while it does.
    const resumed = spawnCli(['resume', runId, '--no-progress'], { db: db.url });
    await waitFor('the resumed run to be driven', async () => (await statusJson(db.url, runId)).driver === 'active');
    const paused = await runCli(['pause', runId], { db: db.url });
    expect(paused.code, show(paused)).toBe(0);
    await waitFor('the run to pause', async () => (await statusJson(db.url, runId)).status === 'paused');
    const atPause = await statusJson(db.url, runId);
    expect(atPause).toMatchObject({ state: 'paused', driver: 'active', stalled: null, motion: 'paused' });
    expect(atPause.tasks[0]).toMatchObject({ rowsPerSec: 0, etaSeconds: null });
    expect(await statusText(runId)).toContain(' 0 rows/s  ETA paused');

    // Rolled back by its driver: history, not progress.
    const rollback = await runCli(['rollback', runId], { db: db.url });
    expect(rollback.code, show(rollback)).toBe(0);
    expect((await resumed.exited).code).toBe(0);
    const rolledBack = await statusJson(db.url, runId);
    expect(rolledBack).toMatchObject({ status: 'rolled_back', stalled: null, motion: 'idle' });
    expect(rolledBack.tasks.length).toBeGreaterThan(0);
    for (const task of rolledBack.tasks) expect(task).toMatchObject({ rowsPerSec: 0, etaSeconds: null });
  });
});
