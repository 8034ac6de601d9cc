import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { createSampleTable } from '../../src/demo/sample.ts';
import {
  catalogSnapshot,
  describe as show,
  playbookPath,
  runCli,
  spawnCli,
  startedRunId,
  stderrLines,
  tableDigest,
  waitFor,
  type CliProcess,
} from '../helpers/cli.ts';
import { backfillHold, type BackfillHold } from '../helpers/hold.ts';

/**
 * `bellows rollback` at any point before contract: the original schema (every
 * catalog object) and the original data (a digest of every row) come back
 * exactly, whether the driving process does it, or the command itself after
 * the driver was killed or stopped.
 */

const ROWS = 30_000;
let db: TestDatabase;
let hold: BackfillHold;
let original: { catalog: Awaited<ReturnType<typeof catalogSnapshot>>; data: Awaited<ReturnType<typeof tableDigest>> };

/** The catalog outside bellows' own state schema: what the user's application sees. */
async function userCatalog() {
  const snap = await catalogSnapshot(db.pool);
  return Object.fromEntries(
    Object.entries(snap).map(([k, rows]) => [k, rows.filter((r) => !JSON.stringify(r).match(/"(bellows|bellows\.\w+)"/))]),
  );
}

beforeAll(async () => {
  db = await freshDatabase();
  await createSampleTable(db.pool, ROWS);
  // the state schema exists before the snapshot, as on any database bellows has been used on
  expect((await runCli(['history'], { db: db.url })).code).toBe(0);
  // and so does the test's hold (its own schema), which the runs below must leave as it is
  hold = await backfillHold(db, 'public.users');
  original = { catalog: await userCatalog(), data: await tableDigest(db.pool, 'users') };
});

async function expectOriginal(runId: string) {
  expect(await userCatalog()).toEqual(original.catalog);
  expect(await tableDigest(db.pool, 'users')).toEqual(original.data);
  const run = (await db.query(`SELECT phase, status FROM bellows.runs WHERE id = $1`, [runId])).rows[0];
  expect(run.status).toBe('rolled_back');
  expect((await db.query(`SELECT count(*)::int AS n FROM bellows.history`)).rows[0].n).toBe(0);
}

async function rowsDone(runId: string): Promise<number> {
  const { rows } = await db.query(`SELECT coalesce(sum(rows_done), 0)::int AS n FROM bellows.ranges WHERE run_id = $1 AND task = 'backfill'`, [runId]);
  return rows[0].n;
}

async function bellowsSessions(): Promise<number> {
  const { rows } = await db.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'bellows'`);
  return rows[0].n;
}

/**
 * A throttled start of 0001 (email → citext), returned once its backfill is partway. The rate cap
 * keeps it moving while the test acts; the hold at a quarter of the rows keeps it mid-backfill,
 * however slow the machine, until the test releases it.
 */
async function startMidBackfill(parallelism = 1): Promise<{ driver: CliProcess; runId: string }> {
  await hold.holdAt(ROWS / 4);
  const driver = spawnCli(
    [
      'start', playbookPath('0001_users_email_citext.yaml'), '--no-progress', '--parallelism', String(parallelism), '--batch-size', '200', '--max-batch-size', '200',
      '--max-rows-per-sec', '4000', '--throttle-query', hold.query,
    ],
    { db: db.url },
  );
  const runId = await startedRunId(driver);
  await waitFor('the backfill to be partway', async () => (await rowsDone(runId)) >= 1000);
  return { driver, runId };
}

describe('rollback from the CLI', () => {
  it('while another process drives the backfill: that driver rolls back, the command waits for it', async () => {
    const { driver, runId } = await startMidBackfill(2);
    const rolledBack = await runCli(['rollback', runId], { db: db.url });
    expect(rolledBack.code, show(rolledBack)).toBe(0);
    expect(rolledBack.stdout).toContain(`rollback requested for run ${runId}; waiting for its driver`);
    expect(rolledBack.stdout).toContain(`run ${runId} rolled back: every object the run created is removed, the original schema is back`);
    const driven = await driver.exited;
    expect(driven.code, show(driven)).toBe(0);
    expect(driven.stdout).toContain(`run ${runId} rolled back`);
    await expectOriginal(runId);
  });

  it('after kill -9 of the driver: the command rolls back itself', async () => {
    const { driver, runId } = await startMidBackfill();
    driver.kill('SIGKILL');
    await driver.exited;
    await waitFor('the killed session to end', async () => (await bellowsSessions()) === 0, 30_000);
    expect(await rowsDone(runId)).toBeLessThan(ROWS);
    const rolledBack = await runCli(['rollback', runId], { db: db.url });
    expect(rolledBack.code, show(rolledBack)).toBe(0);
    expect(rolledBack.stdout).not.toContain('waiting for its driver');
    expect(rolledBack.stdout).toContain(`run ${runId} rolled back: every object the run created is removed, the original schema is back`);
    await expectOriginal(runId);
  });

  it('after SIGTERM: the driver stops at a checkpoint, exits 1 offering resume, and rollback restores', async () => {
    const { driver, runId } = await startMidBackfill();
    driver.kill('SIGTERM');
    const stopped = await driver.exited;
    // Not a success: the run is not at the gate, so `start … && deploy` must not go on.
    expect(stopped.code, show(stopped)).toBe(1);
    expect(stderrLines(stopped)).toEqual([`bellows: run ${runId} stopped at a checkpoint; continue with: bellows resume ${runId}`]);
    // A clean stop: the checkpoint counts exactly the rows whose new column the backfill has filled.
    const filled = (await db.query(`SELECT count(*)::int AS n FROM users WHERE _bellows_new_email IS NOT NULL`)).rows[0].n;
    expect(await rowsDone(runId)).toBe(filled);
    expect(filled).toBeLessThan(ROWS);
    const rolledBack = await runCli(['rollback', runId], { db: db.url });
    expect(rolledBack.code, show(rolledBack)).toBe(0);
    await expectOriginal(runId);
  });

  it('the server ends every bellows session mid-backfill: one line, exit 1; resume finishes, rollback restores', async () => {
    const { driver, runId } = await startMidBackfill();
    // What a failover, a restart or an administrator's pg_terminate_backend does to the driver.
    await db.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'bellows'`);
    const ended = await driver.exited;
    expect(ended.code, show(ended)).toBe(1);
    expect(stderrLines(ended), show(ended)).toHaveLength(1);
    // Which session notices first decides the wording; either way one line that points to resume.
    expect(ended.stderr).toMatch(/^bellows: (run \d+: this process lost the run's lock|lost the database connection|run \d+ failed).*bellows resume/);
    expect(ended.stderr).not.toMatch(/^\s+at /m);
    await waitFor('the ended sessions to go', async () => (await bellowsSessions()) === 0, 30_000);
    await hold.release();
    expect((await runCli(['tune', runId, '--max-rows-per-sec', '0', '--max-batch-size', '20000'], { db: db.url })).code).toBe(0);
    const resumed = await runCli(['resume', runId, '--no-progress'], { db: db.url });
    expect(resumed.code, show(resumed)).toBe(0);
    expect(resumed.stdout).toContain(`bellows approve ${runId}`);
    expect(await rowsDone(runId)).toBe(ROWS);
    const rolledBack = await runCli(['rollback', runId], { db: db.url });
    expect(rolledBack.code, show(rolledBack)).toBe(0);
    await expectOriginal(runId);
  });

  it('at the gate, after verify passed: rollback still restores everything', async () => {
    const started = await runCli(['start', playbookPath('0001_users_email_citext.yaml'), '--no-progress'], { db: db.url });
    expect(started.code, show(started)).toBe(0);
    const runId = /run (\d+) started/.exec(started.stdout)![1];
    expect((await db.query(`SELECT status FROM bellows.runs WHERE id = $1`, [runId])).rows[0].status).toBe('awaiting_approval');
    const rolledBack = await runCli(['rollback', runId], { db: db.url });
    expect(rolledBack.code, show(rolledBack)).toBe(0);
    await expectOriginal(runId);
    // and a finished run cannot be rolled back again, or approved
    const [again, approve] = await Promise.all([runCli(['rollback', runId], { db: db.url }), runCli(['approve', runId], { db: db.url })]);
    expect(again.code, show(again)).toBe(1);
    expect(stderrLines(again)).toEqual([`bellows: run ${runId} is already rolled back; nothing to roll back`]);
    expect(approve.code, show(approve)).toBe(1);
  });
});
