import { beforeAll, describe, expect, it } from 'vitest';
import { createSampleTable } from '../../src/demo/sample.ts';
import { openReadOnlyTarget } from '../../src/dry-run/target.ts';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { describe as show, playbookPath, runCli, scratchDir, stderrLines } from '../helpers/cli.ts';
import { databaseExists, scratchDatabaseOf, targetSnapshot as snapshotOf } from './target-state.ts';

/**
 * `bellows dry-run` on the e2e test's target (the demo's users table, then each
 * example playbook the e2e test runs, in its order): every dry run passes, and
 * the target is exactly as it was, schema and rows, with no database left over.
 * Between dry runs the playbook is applied for real, so the next one meets the
 * schema it was written for, as in test/e2e/playbooks.test.ts.
 */

const ROWS = 3000;
/** The playbooks test/e2e/playbooks.test.ts applies, in its order. */
const E2E_PLAYBOOKS = [
  '0001_users_email_citext', '0002_users_add_plan', '0003_users_rename_name', '0004_users_created_at_index', '0005_users_drop_created_at_index',
  '0006_orders_create', '0007_orders_rename', '0008_purchases_drop', '0009_email_domain_function', '0027_users_signed_up_at', '0028_calendar_days',
];

let db: TestDatabase;
const targetSnapshot = () => snapshotOf(db);

/** The scratch database a dry run said it made is gone. */
async function expectCopyDropped(stdout: string): Promise<void> {
  const copy = scratchDatabaseOf(stdout);
  expect(copy, stdout).toBeDefined();
  expect(await databaseExists(copy!), copy).toBe(false);
}

beforeAll(async () => {
  db = await freshDatabase();
  await createSampleTable(db.pool, ROWS);
});

/** Applies a playbook for real, as the e2e test does: start to the gate, then approve. */
async function apply(name: string): Promise<void> {
  const started = await runCli(['start', playbookPath(`${name}.yaml`), '--no-progress'], { db: db.url });
  expect(started.code, show(started)).toBe(0);
  const id = /run (\d+) started/.exec(started.stdout)![1];
  const approved = await runCli(['approve', id], { db: db.url });
  expect(approved.code, show(approved)).toBe(0);
}

describe('bellows dry-run', () => {
  it('with the embedded default: 0001 passes both passes, reports each phase, and the target is untouched', async () => {
    const before = await targetSnapshot();
    const result = await runCli(['dry-run', playbookPath('0001_users_email_citext.yaml'), '--json'], { db: db.url, timeoutMs: 180_000 });
    expect(result.code, show(result)).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.ok).toBe(true);
    expect(report.copy).toContain('embedded PostgreSQL');
    expect(report.tables).toEqual([{ table: 'public.users', targetRows: ROWS, copiedRows: ROWS }]);
    expect(report.passes.map((p: { name: string; ok: boolean }) => [p.name, p.ok])).toEqual([['rollback', true], ['contract', true]]);
    const phases = (i: number) => report.passes[i].phases.map((p: { phase: string }) => p.phase);
    expect(phases(0)).toEqual(['expand', 'dual_write', 'backfill', 'verify', 'rollback']);
    expect(phases(1)).toEqual(['expand', 'dual_write', 'backfill', 'verify', 'contract']);
    const backfill = report.passes[1].phases.find((p: { phase: string }) => p.phase === 'backfill');
    expect(backfill.rows).toBe(ROWS);
    expect(backfill.estimatedSeconds).toBeCloseTo(backfill.seconds, 6); // the whole table was copied: nothing to scale
    expect(await targetSnapshot()).toEqual(before);
  });

  it('a sample is a sample: --sample-rows 500 copies 500 rows, and the backfill time is scaled to the target’s 3,000', async () => {
    const result = await runCli(['dry-run', playbookPath('0002_users_add_plan.yaml'), '--scratch-database', '--sample-rows', '500', '--json'], { db: db.url });
    expect(result.code, show(result)).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.tables).toEqual([{ table: 'public.users', targetRows: ROWS, copiedRows: 500 }]);
    const backfill = report.passes[0].phases.find((p: { phase: string }) => p.phase === 'backfill');
    expect(backfill.rows).toBe(500);
    expect(backfill.estimatedSeconds).toBeCloseTo(backfill.seconds * 6, 6);
  });

  it('with --scratch-database: every example playbook the e2e test runs passes, and leaves the target untouched', async () => {
    for (const name of E2E_PLAYBOOKS) {
      const before = await targetSnapshot();
      const result = await runCli(['dry-run', playbookPath(`${name}.yaml`), '--scratch-database'], { db: db.url });
      expect(result.code, `${name}\n${show(result)}`).toBe(0);
      expect(result.stdout).toContain(`dry run of ${name} passed`);
      expect(result.stdout).toMatch(/start → gate → rollback: ok/);
      expect(result.stdout).toMatch(/start → gate → approve → contract: ok/);
      expect(await targetSnapshot(), name).toEqual(before);
      await expectCopyDropped(result.stdout);
      await apply(name);
    }
  }, 900_000);

  it('an up that divides by zero on some rows: the failing phase is named, exit 1, the target untouched', async () => {
    const files = scratchDir();
    const playbook = files.write(
      'divide.yaml',
      ['name: dryrun_divide_by_zero', 'operations:', '  - alter_column:', '      table: users', '      column: email', `      up: "email || (100 / (id % 1000))::text"`, '      down: email', ''].join('\n'),
    );
    const before = await targetSnapshot();
    const result = await runCli(['dry-run', playbook, '--scratch-database'], { db: db.url });
    expect(result.code, show(result)).toBe(1);
    expect(result.stdout).toMatch(/start → gate → rollback: FAILED in backfill: .*division by zero/);
    expect(result.stdout).not.toContain('contract: ok');
    expect(stderrLines(result)).toHaveLength(1);
    expect(result.stderr).toMatch(/^bellows: dry run of dryrun_divide_by_zero failed in .*backfill.*division by zero/);
    expect(await targetSnapshot()).toEqual(before);
    await expectCopyDropped(result.stdout);
  });

  it('reads the target through sessions that refuse every write, even one sent by mistake', async () => {
    const target = await openReadOnlyTarget(db.url);
    try {
      await expect(target.query(`CREATE TABLE dryrun_mistake (id int)`)).rejects.toThrow(/read-only transaction/);
      // `id` is there whichever example playbooks the tests before this one applied.
      await expect(target.query(`UPDATE users SET id = id WHERE id = 1`)).rejects.toThrow(/read-only transaction/);
    } finally {
      await target.end();
    }
  });

  it('bad input exits 2 with one line, and leaves no scratch database', async () => {
    const files = scratchDir();
    const missing = files.write('missing.yaml', ['name: dryrun_missing', 'operations:', '  - add_column:', '      table: nowhere', '      name: x', '      type: int', ''].join('\n'));
    const [badTable, badFlag] = await Promise.all([
      runCli(['dry-run', missing, '--scratch-database'], { db: db.url }),
      runCli(['dry-run', playbookPath('0002_users_add_plan.yaml'), '--sample-rows', '0'], { db: db.url }),
    ]);
    expect(badTable.code, show(badTable)).toBe(2);
    expect(stderrLines(badTable)).toEqual(['bellows: operations[0].add_column.table: table public.nowhere does not exist']);
    expect(badFlag.code, show(badFlag)).toBe(2);
    expect(stderrLines(badFlag)).toEqual(['bellows: --sample-rows: expected a whole number of at least 1, got "0"']);
    await expectCopyDropped(badTable.stdout);
  });
});
