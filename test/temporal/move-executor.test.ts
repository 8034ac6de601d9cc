import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { describe as show, runCli, scratchDir, spawnCli, stderrLines, waitFor, statusJson } from '../helpers/cli.ts';
import { backfillHold } from '../helpers/hold.ts';
import { temporalHarness } from './harness.ts';
import { numberedTable, vToBigint } from '../helpers/lifecycle.ts';

/**
 * An operator moves an unfinished run between executors with `resume --executor`:
 * the old driver is let go of (a workflow terminated; a live process must be
 * stopped first), the new one continues from the checkpoints, and `start` never
 * quietly drives a run elsewhere than where it runs.
 */

const ROWS = 4000;
const BATCH = 100;

let db: TestDatabase;
let t: Awaited<ReturnType<typeof temporalHarness>>;
beforeAll(async () => {
  db = await freshDatabase();
  await numberedTable(db, 'invoices', ROWS);
  t = await temporalHarness(db);
});

describe('moving a run between executors', () => {
  it('resume --executor local takes a Temporal run over, and --executor temporal hands it back', async () => {
    const hold = await backfillHold(db, 'public.invoices', ROWS / 4);
    const document = {
      name: 'invoices_bigint',
      settings: { batchSize: BATCH, minBatchSize: BATCH, maxBatchSize: BATCH, throttleQuery: hold.query },
      operations: [vToBigint('invoices')],
    };
    const file = scratchDir().write('invoices.json', JSON.stringify(document));
    const run = await t.open(document);
    await t.executor.drive(run);
    await hold.held(run.id);

    // start names another executor: refused in one line, nothing changes.
    const refused = await runCli(['start', file, '--executor', 'local', '--no-progress'], { db: db.url });
    expect(refused.code, show(refused)).toBe(2);
    expect(stderrLines(refused)).toEqual([
      `bellows: run ${run.id} of invoices_bigint runs on executor temporal, not local; continue it there with --executor temporal, or move it: bellows resume ${run.id} --executor local`,
    ]);
    expect((await t.store.getRun(run.id)).executor).toBe('temporal');

    // Moved to this machine: the workflow is terminated and a local process drives the run.
    const local = spawnCli(['resume', run.id, '--executor', 'local', '--no-progress'], { db: db.url });
    await waitFor('the local process to drive the run', async () => {
      const s = await statusJson(db.url, run.id);
      return s.executor === 'local' && s.driver === 'active';
    });
    expect(local.stdout()).toContain(`run ${run.id} moved from executor temporal to local`);
    const handle = await t.executor.handle(run);
    expect((await handle.describe()).status.name).toBe('TERMINATED');

    // A live local driver is not ours to stop: the move back waits for the operator to stop it.
    const busy = await runCli(['resume', run.id, '--executor', 'temporal'], { db: db.url });
    expect(busy.code, show(busy)).toBe(1);
    expect(stderrLines(busy)).toHaveLength(1);
    expect(busy.stderr).toContain('stop it (Ctrl-C) before moving the run');
    local.kill('SIGINT');
    expect((await local.exited).code).toBe(1);

    await hold.release();
    const back = await runCli(['resume', run.id, '--executor', 'temporal'], { db: db.url });
    expect(back.code, show(back)).toBe(0);
    expect(back.stdout).toContain(`run ${run.id} moved from executor local to temporal`);
    expect(back.stdout).toContain(`run ${run.id} resumed on temporal`);
    await waitFor('the run to reach its gate on Temporal', async () => (await t.store.getRun(run.id)).status === 'awaiting_approval', 60_000);

    const filled = await db.query(`SELECT count(*)::int AS n FROM invoices WHERE _bellows_new_v = v::bigint`);
    expect(filled.rows[0].n).toBe(ROWS);
    expect(await t.rowsDone(run.id)).toBe(ROWS);
    const moves = await db.query(`SELECT detail FROM bellows.events WHERE run_id = $1 AND kind = 'executor_moved' ORDER BY id`, [run.id]);
    expect(moves.rows.map((r) => r.detail)).toEqual([{ from: 'temporal', to: 'local' }, { from: 'local', to: 'temporal' }]);
  });
});
