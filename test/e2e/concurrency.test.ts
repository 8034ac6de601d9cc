import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { createSampleTable } from '../../src/demo/sample.ts';
import { describe as show, playbookPath, runCli, scratchDir, spawnCli, startedRunId, stderrLines } from '../helpers/cli.ts';
import { backfillHold } from '../helpers/hold.ts';

/**
 * Several operators at once: one table is migrated by one run at a time, one run
 * is driven by one process at a time, and runs on different tables go side by side.
 */

const ROWS = 15_000;
let db: TestDatabase;

beforeAll(async () => {
  db = await freshDatabase();
  await createSampleTable(db.pool, ROWS);
  await db.query(`CREATE TABLE orders (id bigserial PRIMARY KEY, note text, amount integer NOT NULL)`);
  await db.query(`INSERT INTO orders (note, amount) SELECT 'order ' || g, g % 100 FROM generate_series(1, $1::int) g`, [ROWS]);
  await db.query(`ANALYZE orders`);
});

async function runRow(runId: string) {
  return (await db.query<{ phase: string; status: string }>(`SELECT phase, status FROM bellows.runs WHERE id = $1`, [runId])).rows[0];
}

describe('concurrency rules', () => {
  it('two tables migrate side by side; the same table or the same run is refused with a clear message', async () => {
    const orders = scratchDir().write(
      '0100_orders_add_status.yaml',
      `name: 0100_orders_add_status\noperations:\n  - add_column:\n      table: orders\n      name: status\n      type: text\n      nullable: false\n      default: "'new'"\n`,
    );
    // Each backfill is held partway until the refusals below are done: a run that reached its gate
    // meanwhile would be no longer driven, and approve would no longer be early.
    const usersHold = await backfillHold(db, 'public.users', 400);
    const ordersHold = await backfillHold(db, 'public.orders', 400);
    const batches = ['--no-progress', '--batch-size', '200', '--max-batch-size', '200'];
    const users = spawnCli(['start', playbookPath('0001_users_email_citext.yaml'), ...batches, '--throttle-query', usersHold.query], { db: db.url });
    const ordersDriver = spawnCli(['start', orders, ...batches, '--throttle-query', ordersHold.query], { db: db.url });
    const [usersRun, ordersRun] = await Promise.all([startedRunId(users), startedRunId(ordersDriver)]);
    // Both backfills are under way at the same moment, each in its own process.
    await Promise.all([usersHold.held(usersRun), ordersHold.held(ordersRun)]);

    const [sameTable, sameRun, resumeLive, approveEarly] = await Promise.all([
      runCli(['start', playbookPath('0003_users_rename_name.yaml'), '--no-progress'], { db: db.url }),
      runCli(['start', playbookPath('0001_users_email_citext.yaml'), '--no-progress'], { db: db.url }),
      runCli(['resume', usersRun], { db: db.url }),
      runCli(['approve', usersRun], { db: db.url }),
    ]);
    expect(sameTable.code, show(sameTable)).toBe(1);
    expect(stderrLines(sameTable)).toEqual([
      `bellows: table public.users is already being migrated by run ${usersRun} (0001_users_email_citext); finish or roll it back first`,
    ]);
    expect(sameRun.code, show(sameRun)).toBe(1);
    expect(sameRun.stdout).toContain(`attached to unfinished run ${usersRun}`);
    expect(stderrLines(sameRun)).toEqual([
      `bellows: run ${usersRun} is being driven by another process; steer it with pause, resume, approve or rollback`,
    ]);
    expect(resumeLive.code, show(resumeLive)).toBe(0);
    expect(resumeLive.stdout).toContain(`run ${usersRun} resumed; its driving process continues`);
    expect(approveEarly.code, show(approveEarly)).toBe(1);
    expect(stderrLines(approveEarly)).toEqual([
      `bellows: run ${usersRun} is in phase backfill; approve is accepted once verify has passed and the run waits at the gate`,
    ]);
    // The refusals left both runs as they were: still running, still driven, no new run.
    expect(await runRow(usersRun)).toEqual({ phase: 'backfill', status: 'running' });
    expect((await db.query(`SELECT count(*)::int AS n FROM bellows.runs`)).rows[0].n).toBe(2);
    expect((await db.query(`SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'full_name'`)).rows[0].n).toBe(0);

    // Let both go on: each driver takes its run to the gate.
    await Promise.all([usersHold.release(), ordersHold.release()]);
    const [u, o] = await Promise.all([users.exited, ordersDriver.exited]);
    expect(u.code, show(u)).toBe(0);
    expect(o.code, show(o)).toBe(0);
    expect(u.stdout).toContain(`bellows approve ${usersRun}`);
    expect(o.stdout).toContain(`bellows approve ${ordersRun}`);
    const approvals = await Promise.all([runCli(['approve', usersRun], { db: db.url }), runCli(['approve', ordersRun], { db: db.url })]);
    for (const a of approvals) expect(a.code, show(a)).toBe(0);
    expect(await runRow(usersRun)).toEqual({ phase: 'done', status: 'completed' });
    expect(await runRow(ordersRun)).toEqual({ phase: 'done', status: 'completed' });
    const data = await db.query(
      `SELECT (SELECT count(*) FILTER (WHERE email::text = lower('User' || id || '@Example.COM')) FROM users)::int AS users_ok,
              (SELECT count(*) FILTER (WHERE status = 'new') FROM orders)::int AS orders_ok`,
    );
    expect(data.rows[0]).toEqual({ users_ok: ROWS, orders_ok: ROWS });

    // With the table free again, two playbooks on it started at the same moment: exactly one wins.
    const race = await Promise.all(
      ['0002_users_add_plan.yaml', '0003_users_rename_name.yaml'].map((p) => runCli(['start', playbookPath(p), '--no-progress'], { db: db.url })),
    );
    expect(race.map((r) => r.code).sort(), race.map(show).join('\n')).toEqual([0, 1]);
    const loser = race.find((r) => r.code === 1)!;
    expect(stderrLines(loser)).toHaveLength(1);
    expect(loser.stderr).toMatch(/^bellows: table public\.users is already being migrated by run \d+ \(000[23]_users_/);
    expect((await db.query(`SELECT count(*)::int AS n FROM bellows.runs WHERE status <> 'completed'`)).rows[0].n).toBe(1);
  });
});
