import { writeFileSync } from 'node:fs';
import { Worker } from '@temporalio/worker';
import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { engineFor, schemaSnapshot } from '../helpers/engine.ts';
import { waitFor } from '../helpers/poll.ts';
import { backfillHold } from '../helpers/hold.ts';
import { sendIntent } from '../../src/operator/intent.ts';
import { statusQuery } from '../../workflows/definitions.ts';
import { temporalHarness, workflowBundlePath } from './harness.ts';

const ROWS = 3000;
const playbook = {
  name: '0001_email_citext',
  settings: { batchSize: 200, minBatchSize: 200, maxBatchSize: 200, parallelism: 2 },
  operations: [{ alter_column: { table: 'users', column: 'email', type: 'citext', up: 'lower(email)', down: 'email::text' } }],
};

async function seed(db: TestDatabase) {
  await db.query(`CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL, name text)`);
  await db.query(`CREATE UNIQUE INDEX users_email_key ON users (email)`);
  await db.query(`INSERT INTO users (email, name) SELECT 'User' || g || '@Example.com', 'n' || g FROM generate_series(1, ${ROWS}) g`);
}

let local: TestDatabase;
let remote: TestDatabase;
beforeAll(async () => {
  [local, remote] = await Promise.all([freshDatabase(), freshDatabase()]);
  await Promise.all([seed(local), seed(remote)]);
});

describe('a playbook on the Temporal executor', () => {
  it('runs every phase, refuses an early approve, contracts on approve, and ends as the local executor does', async () => {
    const t = await temporalHarness(remote);
    // Held in its backfill (test/helpers/hold.ts) until the early approve has been refused.
    const hold = await backfillHold(remote, 'public.users', ROWS / 2);
    const held = { ...playbook, settings: { ...playbook.settings, throttleQuery: hold.query } };
    const run = await t.open(held);
    expect(await t.executor.drive(run)).toBe('submitted');
    const handle = await t.executor.handle(run);
    const firstExecution = (await handle.describe()).runId;

    // Starting the same playbook again attaches to the same run and the same workflow.
    const again = await t.open(held);
    expect(again.id).toBe(run.id);
    expect(await t.executor.drive(again)).toBe('submitted');
    expect((await handle.describe()).runId).toBe(firstExecution);

    await hold.held(run.id);
    await expect(t.executor.notify(run, 'approve')).rejects.toThrow(/refused.*phase backfill; approve is accepted once verify has passed/);
    expect((await handle.query(statusQuery)).approved).toBe(false);
    await hold.release();

    await waitFor('the gate', async () => (await t.store.getRun(run.id)).status === 'awaiting_approval', 60_000);
    // Waiting at the gate is a condition on the update, not an activity: the status query says so.
    const atGate = await waitFor('the workflow to wait at the gate', async () => {
      const status = await handle.query(statusQuery);
      return /approval/.test(status.step) && status;
    });
    expect(atGate).toMatchObject({ phase: 'gate', approved: false, halted: null, rangesInFlight: [] });
    // The same call the CLI's `approve` makes: desired state in the store, then the validated update.
    await sendIntent(t.ctx, await t.store.getRun(run.id), 'approve', { approved: true });
    expect(await handle.result()).toBe('completed');

    const done = await t.store.getRun(run.id);
    expect(done).toMatchObject({ phase: 'done', status: 'completed' });
    expect(await t.rowsDone(run.id)).toBe(ROWS);
    expect(await t.rowsDone(run.id, 'verify')).toBe(ROWS);

    const reference = await engineFor(local.pool).runToEnd(playbook);
    expect(reference.status).toBe('completed');
    expect(await schemaSnapshot(remote.pool, 'public.users')).toEqual(await schemaSnapshot(local.pool, 'public.users'));
    const rows = `SELECT id, email::text AS email, name FROM users ORDER BY id`;
    expect((await remote.query(rows)).rows).toEqual((await local.query(rows)).rows);
    expect((await remote.query(`SELECT count(*)::int AS n FROM users WHERE email::text <> lower(email::text)`)).rows[0].n).toBe(0);

    // The recorded history replays against the workflow code as it is now.
    const history = await handle.fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: { codePath: await workflowBundlePath() } }, history);
    if (process.env.BELLOWS_RECORD_HISTORY) {
      writeFileSync(new URL('./fixtures/migration-run.history.json', import.meta.url), JSON.stringify(history));
    }
  });
});
