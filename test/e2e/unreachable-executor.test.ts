import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { catalogSnapshot, describe as show, runCli, scratchDir, stderrLines } from '../helpers/cli.ts';
import { engineFor } from '../helpers/engine.ts';
import { stepsFor, numberedTable, vToBigint } from '../helpers/lifecycle.ts';
import { parsePlaybook } from '../../src/playbook/load.ts';
import { openRun } from '../../src/engine/start.ts';

/**
 * An executor that cannot be reached never strands a run: a start it cannot
 * take leaves the table free, and a run it was driving can still be rolled back
 * from the state store.
 */

const ROWS = 2000;
/** Nothing listens on port 1: every Temporal call fails at once. */
const TEMPORAL_DOWN = { TEMPORAL_ADDRESS: '127.0.0.1:1' };

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
  await numberedTable(db, 'items', ROWS);
  // The state schema first, so the catalog snapshots below see only what a run changes.
  await engineFor(db.pool).store.migrate();
});

function playbook(name: string) {
  return { name, operations: [vToBigint('items')] };
}

const unfinishedRuns = async () =>
  (await db.query(`SELECT count(*)::int AS n FROM bellows.runs WHERE status NOT IN ('completed', 'rolled_back')`)).rows[0].n;

describe('an unreachable executor', () => {
  it('refuses a start in one line and leaves no run that holds the table', async () => {
    const file = scratchDir().write('0001_items.json', JSON.stringify(playbook('0001_items')));
    const before = await catalogSnapshot(db.pool);
    const refused = await runCli(['start', file, '--executor', 'temporal', '--no-progress'], { db: db.url, env: TEMPORAL_DOWN });
    expect(refused.code, show(refused)).toBe(1);
    expect(stderrLines(refused)).toHaveLength(1);
    expect(refused.stderr).toContain('cannot reach Temporal at 127.0.0.1:1');
    expect(refused.stdout).not.toContain('started');
    expect(await catalogSnapshot(db.pool)).toEqual(before);
    expect(await unfinishedRuns()).toBe(0);

    // The table is free: the same playbook runs to its gate with the local executor.
    const local = await runCli(['start', file, '--no-progress'], { db: db.url });
    expect(local.code, show(local)).toBe(0);
    const rolledBack = await runCli(['rollback', '0001_items'], { db: db.url });
    expect(rolledBack.code, show(rolledBack)).toBe(0);
  });

  it('rolls back a Temporal run from the state store while Temporal is down', async () => {
    const before = await catalogSnapshot(db.pool);
    // A Temporal run mid-backfill, its workflow's steps run here: what a worker would have left.
    const engine = engineFor(db.pool);
    const { run } = await openRun(db.pool, engine.store, { playbook: parsePlaybook(playbook('0002_items')), executor: 'temporal' });
    const steps = stepsFor(engine.store, db.pool);
    await steps.expand(run.id);
    await steps.dualWrite(run.id);
    await steps.prepareBackfill(run.id);
    expect(await catalogSnapshot(db.pool)).not.toEqual(before);

    const rollback = await runCli(['rollback', run.id], { db: db.url, env: TEMPORAL_DOWN });
    expect(rollback.code, show(rollback)).toBe(0);
    expect(rollback.stdout).toContain('rolling it back from here');
    expect(rollback.stdout).toContain(`run ${run.id} rolled back`);
    expect((await engine.store.getRun(run.id)).status).toBe('rolled_back');
    expect(await catalogSnapshot(db.pool)).toEqual(before);
    expect(await unfinishedRuns()).toBe(0);
  });
});
