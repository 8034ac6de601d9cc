import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { describe as show, runCli, waitFor, statusJson } from '../helpers/cli.ts';
import { backfillHold } from '../helpers/hold.ts';
import { temporalHarness, testSettings } from './harness.ts';
import { TemporalExecutor } from '../../src/executors/temporal/temporal-executor.ts';
import { silentLog } from '../helpers/engine.ts';
import { atFileEnd } from '../helpers/cleanup.ts';
import { numberedTable, vToBigint } from '../helpers/lifecycle.ts';

/**
 * A Temporal run whose workflow the server no longer has (a server that lost
 * its data, a workflow deleted by hand) is shown as stalled, not running; resume
 * starts a new workflow from the store's checkpoints, and the orphaned activity
 * of the old one commits nothing twice.
 */

const ROWS = 3000;
const BATCH = 100;

let db: TestDatabase;
let t: Awaited<ReturnType<typeof temporalHarness>>;
beforeAll(async () => {
  db = await freshDatabase();
  await numberedTable(db, 'orders', ROWS);
  await numberedTable(db, 'refunds', ROWS);
  t = await temporalHarness(db);
});

describe('who drives a Temporal run', () => {
  it('a workflow gone from the server leaves its run stalled; resume finishes it, each batch once', async () => {
    const hold = await backfillHold(db, 'public.orders', ROWS / 4);
    const run = await t.open({
      name: 'orders_bigint',
      settings: { batchSize: BATCH, minBatchSize: BATCH, maxBatchSize: BATCH, throttleQuery: hold.query },
      operations: [vToBigint('orders')],
    });
    await t.executor.drive(run);
    await hold.held(run.id);
    expect(await statusJson(db.url, run.id)).toMatchObject({ executor: 'temporal', state: 'running', driver: 'active', stalled: null });

    // As a server restarted without its data would: the workflow is gone, its worker's activity lives on.
    const handle = await t.executor.handle(run);
    // While its workflow runs, the executor cannot tell alone whether a worker drives it: the heartbeat decides.
    expect(await t.executor.probe(run)).toBe('unknown');
    await handle.client.workflowService.deleteWorkflowExecution({ namespace: t.settings.namespace, workflowExecution: { workflowId: handle.workflowId } });
    // Gone from the server: stalled at once, though the orphaned activity may still be beating.
    await waitFor('the server to forget the workflow', async () => (await t.executor.probe(run)) === 'gone');
    const stalled = await waitFor('status to see the workflow gone', async () => {
      const s = await statusJson(db.url, run.id);
      return s.state === 'stalled' && s;
    });
    expect(stalled).toMatchObject({ status: 'running', driver: 'none', motion: 'stalled' });
    expect(stalled.stalled.message).toMatch(new RegExp(`^stalled: nothing drives this run \\(since .+\\); bellows resume ${run.id}$`));
    expect(stalled.tasks[0]).toMatchObject({ rowsPerSec: 0, etaSeconds: null });

    // A tune with no workflow to signal: one sentence, and the log's JSON stays out of the terminal.
    const tuned = await runCli(['tune', run.id, '--batch-size', String(BATCH)], { db: db.url });
    expect(tuned.code, show(tuned)).toBe(0);
    expect(tuned.stdout.trim().split('\n')).toEqual([`run ${run.id} tuned: batchSize=${BATCH}`]);
    expect(tuned.stderr).toBe('');

    await hold.release();
    const resumed = await runCli(['resume', run.id], { db: db.url });
    expect(resumed.code, show(resumed)).toBe(0);
    expect(resumed.stdout).toContain(`run ${run.id} resumed on temporal`);
    await waitFor('the run to reach its gate', async () => (await t.store.getRun(run.id)).status === 'awaiting_approval', 60_000);

    const filled = await db.query(`SELECT count(*)::int AS n FROM orders WHERE _bellows_new_v = v::bigint`);
    expect(filled.rows[0].n).toBe(ROWS);
    // A batch committed twice would count its rows twice.
    expect(await t.rowsDone(run.id)).toBe(ROWS);
  });

  it('a workflow no worker serves is stalled, and its run rolls back from here', async () => {
    const run = await t.open({
      name: 'refunds_bigint',
      operations: [vToBigint('refunds')],
    });
    // Submitted to a task queue no worker polls: the workflow exists, nothing runs its steps.
    const unserved = new TemporalExecutor({ db: db.pool, store: t.store, log: silentLog }, testSettings({ taskQueue: 'bellows-test-no-worker' }));
    atFileEnd(async () => {
      await (await unserved.handle(run)).terminate('test over').catch(() => {});
      await unserved.close();
    });
    await unserved.drive(run);
    expect(await unserved.probe(run)).toBe('unknown');

    const stalled = await statusJson(db.url, run.id);
    expect(stalled).toMatchObject({ status: 'running', state: 'stalled', driver: 'none' });
    expect(stalled.stalled.message).toContain(`bellows resume ${run.id}`);

    const rollback = await runCli(['rollback', run.id], { db: db.url });
    expect(rollback.code, show(rollback)).toBe(0);
    expect(rollback.stdout).toContain(`run ${run.id}: nothing drives it now; rolling it back from here`);
    expect((await t.store.getRun(run.id)).status).toBe('rolled_back');
  });
});
