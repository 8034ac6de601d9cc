import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { engineFor } from '../helpers/engine.ts';
import { stepsFor, numberedTable, vToBigint } from '../helpers/lifecycle.ts';
import { backfillHold, type BackfillHold } from '../helpers/hold.ts';
import { waitFor } from '../helpers/poll.ts';
import { describe as describeResult, scratchDir, spawnCli, startedRunId } from '../helpers/cli.ts';

/**
 * One range, one walker: a walker that another has taken the range from (an
 * orphaned Temporal activity, a driver that lost its server) stops at its next
 * batch without committing it, and no batch is ever committed twice.
 */

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
});

const ROWS = 3000;
const BATCH = 100;

async function table(name: string): Promise<BackfillHold> {
  await numberedTable(db, name, ROWS);
  // Held at a third of the rows: the first walker is mid-range for sure when the second claims it.
  return backfillHold(db, `public.${name}`, 1000);
}

function playbook(name: string, hold: BackfillHold) {
  return {
    name: `${name}_bigint`,
    settings: { batchSize: BATCH, minBatchSize: BATCH, maxBatchSize: BATCH, loadYield: 0, throttleQuery: hold.query },
    operations: [vToBigint(name)],
  };
}

const leaseToken = async (runId: string) =>
  Number((await db.query(`SELECT lease_token FROM bellows.ranges WHERE run_id = $1 AND task = 'backfill'`, [runId])).rows[0].lease_token);

/** Every row filled, and the range's books: exactly the table's rows (a batch committed twice would count its rows twice). */
async function expectEachBatchOnce(name: string, runId: string) {
  const filled = await db.query(`SELECT count(*)::int AS n FROM ${name} WHERE _bellows_new_v = v::bigint`);
  expect(filled.rows[0].n).toBe(ROWS);
  const range = await db.query(`SELECT rows_done::int AS rows, done FROM bellows.ranges WHERE run_id = $1 AND task = 'backfill'`, [runId]);
  expect(range.rows).toEqual([{ rows: ROWS, done: true }]);
  const fenced = await db.query(`SELECT count(*)::int AS n FROM bellows.events WHERE run_id = $1 AND kind = 'range_fenced'`, [runId]);
  expect(fenced.rows[0].n).toBe(1);
}

describe('two walkers on one range', () => {
  it('in one process: the later claim wins, the first walker stops without committing', async () => {
    const hold = await table('fenced_local');
    const engine = engineFor(db.pool);
    const run = await engine.open(playbook('fenced_local', hold));
    const steps = stepsFor(engine.store, db.pool);
    await steps.expand(run.id);
    await steps.dualWrite(run.id);
    const [ref] = await steps.prepareBackfill(run.id);

    const first = steps.walkRange(run.id, ref);
    await hold.held(run.id);
    const second = steps.walkRange(run.id, ref);
    await waitFor('the second walker to claim the range', async () => (await leaseToken(run.id)) === 2);
    await hold.release();

    expect(await first).toBe('stopped');
    expect(await second).toBe('done');
    await expectEachBatchOnce('fenced_local', run.id);
  });

  it('in two processes: a driver whose range is claimed elsewhere stops at its next batch', async () => {
    const hold = await table('fenced_remote');
    const file = scratchDir().write('fenced_remote.json', JSON.stringify(playbook('fenced_remote', hold)));
    const driver = spawnCli(['start', file, '--no-progress'], { db: db.url });
    const runId = await startedRunId(driver);
    await hold.held(runId);

    // This process takes the range over, as a retried activity or a resumed driver would.
    const engine = engineFor(db.pool);
    const steps = stepsFor(engine.store, db.pool);
    const [ref] = await steps.prepareBackfill(runId);
    const taking = steps.walkRange(runId, ref);
    await waitFor('this process to claim the range', async () => (await leaseToken(runId)) === 2);
    await hold.release();

    const result = await driver.exited;
    expect(result.code, describeResult(result)).toBe(1);
    expect(result.stderr).toContain(`run ${runId} stopped at a checkpoint`);
    expect(await taking).toBe('done');
    await expectEachBatchOnce('fenced_remote', runId);
  });
});
