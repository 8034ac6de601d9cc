import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { describe as show, runCli, waitFor, statusJson } from '../helpers/cli.ts';
import { backfillHold } from '../helpers/hold.ts';
import { temporalHarness } from './harness.ts';
import { privateTemporal, type PrivateTemporal } from './dev-server.ts';
import { numberedTable, vToBigint } from '../helpers/lifecycle.ts';

/**
 * The issue's own report: the Temporal server is killed mid-backfill and comes
 * back empty. The run must say it is stalled (not "running" forever), `resume`
 * must finish it on the new server, and the activity orphaned by the old one
 * must not commit a batch of a range the new workflow walks.
 */

const ROWS = 3000;
const BATCH = 100;

let db: TestDatabase;
let server: PrivateTemporal;
let t: Awaited<ReturnType<typeof temporalHarness>>;
beforeAll(async () => {
  db = await freshDatabase();
  await numberedTable(db, 'payments', ROWS);
  server = await privateTemporal();
  t = await temporalHarness(db, { settings: { address: server.address } });
});

describe('the Temporal server lost mid-backfill', () => {
  it('shows the run stalled; resume finishes it on the new server, each batch once', async () => {
    const hold = await backfillHold(db, 'public.payments', ROWS / 4);
    const run = await t.open({
      name: 'payments_bigint',
      settings: { batchSize: BATCH, minBatchSize: BATCH, maxBatchSize: BATCH, throttleQuery: hold.query },
      operations: [vToBigint('payments')],
    });
    await t.executor.drive(run);
    await hold.held(run.id);
    expect(await statusJson(db.url, run.id)).toMatchObject({ state: 'running', driver: 'active' });

    await server.restartEmpty();
    const stalled = await waitFor('status to see the run stalled', async () => {
      const s = await statusJson(db.url, run.id);
      return s.state === 'stalled' && s;
    });
    expect(stalled.stalled.message).toMatch(new RegExp(`^stalled: nothing drives this run \\(since .+\\); bellows resume ${run.id}$`));
    expect(stalled.tasks[0]).toMatchObject({ rowsPerSec: 0, etaSeconds: null });

    // The orphaned activity may go on once released; the new workflow's walker takes its range over.
    await hold.release();
    const resumed = await runCli(['resume', run.id], { db: db.url });
    expect(resumed.code, show(resumed)).toBe(0);
    await waitFor('the run to reach its gate', async () => (await t.store.getRun(run.id)).status === 'awaiting_approval', 90_000);

    const filled = await db.query(`SELECT count(*)::int AS n FROM payments WHERE _bellows_new_v = v::bigint`);
    expect(filled.rows[0].n).toBe(ROWS);
    // A batch committed twice would count its rows twice.
    expect(await t.rowsDone(run.id)).toBe(ROWS);
  });
});
