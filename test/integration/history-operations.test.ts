import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { engineFor } from '../helpers/engine.ts';
import { waitFor } from '../helpers/poll.ts';
import { expandAndBackfill, SMALL_BATCHES, stepsFor, stoppingExecutor } from '../helpers/lifecycle.ts';
import { catalogSnapshot, describe as show, playbookPath, runCli, scratchDir, stderrLines } from '../helpers/cli.ts';
import { backfillWork } from '../../src/backfill/backfill-work.ts';
import { createSampleTable } from '../../src/demo/sample.ts';
import { loadPlaybook } from '../../src/playbook/load.ts';

/**
 * add_history and drop_history through the engine, with an application writing
 * the table while the backfill is half done and at the gate: the history holds
 * exactly the versions those writes made, as_of(ts) gives the table as it was,
 * a resumed backfill adds no second version, and a rollback leaves the catalog
 * exactly as it was.
 */

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
});

const ROWS = 600;

async function keyedTable(name: string): Promise<void> {
  await db.query(`CREATE TABLE ${name} (id bigserial PRIMARY KEY, email text NOT NULL, name text)`);
  await db.query(`INSERT INTO ${name} (email, name) SELECT 'u' || g || '@example.com', CASE WHEN g % 5 = 0 THEN NULL ELSE 'n' || g END FROM generate_series(1, ${ROWS}) g`);
  await db.query(`ANALYZE ${name}`);
}

const rowsOf = async (sql: string, params: unknown[] = []) => (await db.query(sql, params)).rows;
const now = async (): Promise<string> => (await rowsOf(`SELECT clock_timestamp()::text AS t`))[0].t;
const ROW = `id::int, email, name`;

/** A write no trigger sees (the replication role skips them): what a history cannot know of. */
async function quietly(sql: string): Promise<void> {
  const quiet = await db.pool.connect();
  try {
    await quiet.query(`SET session_replication_role = replica`);
    await quiet.query(sql);
  } finally {
    await quiet.query(`RESET session_replication_role`);
    quiet.release();
  }
}

/** Each key's versions, oldest first, as [id, email, name, from, to] with the times as '-infinity', 'infinity' or 'at'. */
async function versionsOf(history: string, id: number) {
  const rows = await rowsOf(
    `SELECT ${ROW}, CASE WHEN valid_from = '-infinity' THEN '-infinity' ELSE 'at' END AS "from", CASE WHEN valid_to = 'infinity' THEN 'infinity' ELSE 'at' END AS "to"
       FROM ${history} WHERE id = $1 ORDER BY valid_to`,
    [id],
  );
  return rows.map((r) => [r.id, r.email, r.name, r.from, r.to]);
}

describe('add_history', () => {
  it('runs to the end with writes mid-backfill and at the gate; as_of gives the table as it was', async () => {
    await keyedTable('hist');
    const original = await rowsOf(`SELECT ${ROW} FROM hist ORDER BY id`);
    const engine = engineFor(db.pool);
    const run = await engine.open({ name: 'hist_add', settings: SMALL_BATCHES, operations: [{ add_history: { table: 'hist' } }] });

    // Stopped after two batches: ids up to about 200 have their versions, the rest not yet.
    expect(await stoppingExecutor(db.pool, 'backfill', 2).drive(run, { stopAtGate: true })).toBe('stopped');
    const [range] = await engine.store.getRanges(run.id, 'backfill');
    expect(range.done).toBe(false);
    expect((await rowsOf(`SELECT count(*)::int AS n FROM hist_history`))[0].n).toBe(range.rowsDone);
    expect(range.rowsDone).toBeLessThan(500);

    const beforeWrites = await now();
    await db.query(`UPDATE hist SET name = 'first' WHERE id = 1`); // backfilled already
    await db.query(`UPDATE hist SET name = 'late' WHERE id = 500`); // not yet: its old version is kept since -infinity
    await db.query(`DELETE FROM hist WHERE id IN (2, 550)`);
    await db.query(`INSERT INTO hist (id, email, name) VALUES (1001, 'new@example.com', 'new')`);
    const afterWrites = await now();

    // Resumed: the backfill goes on from its checkpoint and verify finds every row's version.
    expect(await engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true })).toBe('awaiting_approval');
    await db.query(`UPDATE hist SET email = 'again@example.com' WHERE id = 3`);
    await db.query(`UPDATE hist SET email = 'twice@example.com' WHERE id = 3`);
    await engine.store.setDesired(run.id, { approved: true }, 'approve');
    expect(await engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true })).toBe('completed');

    expect(await versionsOf('hist_history', 1)).toEqual([
      [1, 'u1@example.com', 'n1', '-infinity', 'at'],
      [1, 'u1@example.com', 'first', 'at', 'infinity'],
    ]);
    expect(await versionsOf('hist_history', 500)).toEqual([
      [500, 'u500@example.com', null, '-infinity', 'at'],
      [500, 'u500@example.com', 'late', 'at', 'infinity'],
    ]);
    expect(await versionsOf('hist_history', 2)).toEqual([[2, 'u2@example.com', 'n2', '-infinity', 'at']]);
    expect(await versionsOf('hist_history', 550)).toEqual([[550, 'u550@example.com', null, '-infinity', 'at']]);
    expect(await versionsOf('hist_history', 1001)).toEqual([[1001, 'new@example.com', 'new', 'at', 'infinity']]);
    expect(await versionsOf('hist_history', 3)).toEqual([
      [3, 'u3@example.com', 'n3', '-infinity', 'at'],
      [3, 'again@example.com', 'n3', 'at', 'at'],
      [3, 'twice@example.com', 'n3', 'at', 'infinity'],
    ]);
    // One version per untouched row, three more for the updates, one for the insert: no batch added one twice.
    expect((await rowsOf(`SELECT count(*)::int AS n FROM hist_history`))[0].n).toBe(ROWS + 5);

    expect(await rowsOf(`SELECT ${ROW} FROM hist_as_of($1) ORDER BY id`, [beforeWrites])).toEqual(original);
    const between = await rowsOf(`SELECT ${ROW} FROM hist_as_of($1) ORDER BY id`, [afterWrites]);
    expect(between).toEqual([
      ...original.filter((r) => r.id !== 2 && r.id !== 550).map((r) => (r.id === 1 ? { ...r, name: 'first' } : r.id === 500 ? { ...r, name: 'late' } : r)),
      { id: 1001, email: 'new@example.com', name: 'new' },
    ]);
    expect(await rowsOf(`SELECT ${ROW} FROM hist_as_of(clock_timestamp()) ORDER BY id`)).toEqual(await rowsOf(`SELECT ${ROW} FROM hist ORDER BY id`));

    // A batch done again (a crash before its checkpoint) inserts nothing.
    const table = (await engine.store.getRun(run.id)).plan.tables.find((t) => t.name === 'public.hist')!;
    const client = await db.pool.connect();
    try {
      expect(await backfillWork(table)(client, 'true', [], SMALL_BATCHES as never)).toBe(0);
    } finally {
      client.release();
    }
    expect((await rowsOf(`SELECT count(*)::int AS n FROM hist_history`))[0].n).toBe(ROWS + 5);
  });

  it('an application transaction holding a row the backfill reaches: the batch waits, the row gets one open version', async () => {
    await keyedTable('hist_race');
    const engine = engineFor(db.pool);
    const run = await engine.open({ name: 'hist_race', settings: SMALL_BATCHES, operations: [{ add_history: { table: 'hist_race' } }] });
    expect(await stoppingExecutor(db.pool, 'backfill', 1).drive(run, { stopAtGate: true })).toBe('stopped');
    const app = await db.pool.connect();
    try {
      await app.query('BEGIN');
      await app.query(`UPDATE hist_race SET name = 'racing' WHERE id = 400`);
      const appPid = (await app.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
      const driving = engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true });
      // The race for sure: a batch has reached the row and waits on the application's lock.
      await waitFor('a backfill batch to wait on the row', async () =>
        (await db.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1 = ANY (pg_blocking_pids(pid))`, [appPid])).rows[0].n > 0);
      await app.query('COMMIT');
      expect(await driving).toBe('awaiting_approval');
    } finally {
      app.release();
    }
    expect(await versionsOf('hist_race_history', 400)).toEqual([
      [400, 'u400@example.com', null, '-infinity', 'at'],
      [400, 'u400@example.com', 'racing', 'at', 'infinity'],
    ]);
    expect((await rowsOf(`SELECT count(*)::int AS n FROM hist_race_history`))[0].n).toBe(ROWS + 1);
  });

  it('verify stops the run when a row has no open version equal to it; rollback then leaves the catalog as before', async () => {
    await keyedTable('hist_bad');
    const before = await catalogSnapshot(db.pool);
    const engine = engineFor(db.pool);
    const run = await engine.open({ name: 'hist_bad', settings: SMALL_BATCHES, operations: [{ add_history: { table: 'hist_bad' } }] });
    expect(await stoppingExecutor(db.pool, 'backfill', 2).drive(run, { stopAtGate: true })).toBe('stopped');
    // A write the trigger never sees: row 7 now differs from its version.
    await quietly(`UPDATE hist_bad SET name = 'unseen' WHERE id = 7`);
    const failed = await engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true }).then(() => null, (e: Error) => e.message);
    expect(failed).toBe('verify failed on public.hist_bad: key 7: history of hist_bad: a row has no open version equal to it');
    expect(await engine.store.getRun(run.id)).toMatchObject({ phase: 'verify', status: 'failed' });
    await engine.store.setDesired(run.id, { abort: true }, 'rollback');
    expect(await engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true })).toBe('rolled_back');
    expect(await catalogSnapshot(db.pool)).toEqual(before);
  });

  it('verify stops the run when an open version has no row, naming its key', async () => {
    await keyedTable('hist_stray');
    const engine = engineFor(db.pool);
    const steps = stepsFor(engine.store, db.pool);
    const run = await engine.open({ name: 'hist_stray', settings: SMALL_BATCHES, operations: [{ add_history: { table: 'hist_stray' } }] });
    await expandAndBackfill(steps, run.id);
    // A delete the trigger never sees: row 9's version stays open.
    await quietly(`DELETE FROM hist_stray WHERE id = 9`);
    for (const ref of await steps.prepareVerify(run.id)) expect(await steps.walkRange(run.id, ref)).toBe('done');
    await expect(steps.finishVerify(run.id)).rejects.toThrow('history of hist_stray: an open version has no row; key (9)');
  });

  it('rolled back at the gate and from mid-backfill leaves the catalog exactly as before', async () => {
    await keyedTable('hist_rb');
    for (const stop of ['gate', 'mid-backfill'] as const) {
      const before = await catalogSnapshot(db.pool);
      const engine = engineFor(db.pool);
      const run = await engine.open({ name: `hist_rb_${stop.replace('-', '_')}`, settings: SMALL_BATCHES, operations: [{ add_history: { table: 'hist_rb' } }] });
      if (stop === 'gate') expect(await engine.executor.drive(run, { stopAtGate: true })).toBe('awaiting_approval');
      else expect(await stoppingExecutor(db.pool, 'backfill', 1).drive(run, { stopAtGate: true })).toBe('stopped');
      await db.query(`UPDATE hist_rb SET name = 'written' WHERE id = 10`);
      await engine.store.setDesired(run.id, { abort: true }, 'abort');
      expect(await engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true })).toBe('rolled_back');
      expect(await catalogSnapshot(db.pool)).toEqual(before);
    }
  });

  it('refuses a table without a key, an existing history table and an existing as-of function, before any DDL', async () => {
    await db.query(`CREATE TABLE nokey (a int, b text)`);
    await keyedTable('taken');
    await db.query(`CREATE TABLE taken_history (x int)`);
    await keyedTable('asof');
    await db.query(`CREATE FUNCTION asof_as_of(ts timestamptz) RETURNS int LANGUAGE sql AS 'SELECT 1'`);
    await keyedTable('period');
    await db.query(`ALTER TABLE period ADD COLUMN valid_to timestamptz`);
    const before = await catalogSnapshot(db.pool);
    const engine = engineFor(db.pool);
    const refused = (name: string, operation: Record<string, unknown>) => engine.open({ name, operations: [operation] }).then(() => 'accepted', (e: Error) => e.message);
    expect(await refused('h_nokey', { add_history: { table: 'nokey' } })).toBe(
      'operations[0].add_history.table: table public.nokey has no primary key or unique index over NOT NULL columns; its history keeps versions by key',
    );
    expect(await refused('h_taken', { add_history: { table: 'taken' } })).toBe('operations[0].add_history.history_table: public.taken_history already exists');
    expect(await refused('h_asof', { add_history: { table: 'asof' } })).toBe('operations[0].add_history.as_of_function: function public.asof_as_of(timestamptz) already exists');
    expect(await refused('h_period', { add_history: { table: 'period' } })).toBe(
      'operations[0].add_history.table: table public.period has a column "valid_to", which the history uses for its period',
    );
    expect(await refused('h_none', { drop_history: { table: 'asof' } })).toBe(
      'operations[0].drop_history.history_table: table public.asof has no history: public.asof_history does not exist',
    );
    expect(await catalogSnapshot(db.pool)).toEqual(before);
  });
});

describe('a history added earlier in the same playbook', () => {
  it('refuses a later drop_column, rename_column or alter_column of its table as if the history were there, before any DDL', async () => {
    await keyedTable('hist_same');
    const engine = engineFor(db.pool);
    await engine.store.migrate();
    const before = await catalogSnapshot(db.pool);
    const addHistory = { add_history: { table: 'hist_same' } };
    const why = `is used by trigger hist_same_history_write on hist_same (the history it writes names the table's columns: drop_history first, add_history again after)`;

    const file = scratchDir().write('same.yaml', `name: h_same_drop\noperations:\n  - ${JSON.stringify(addHistory)}\n  - drop_column: { table: hist_same, column: name }\n`);
    const result = await runCli(['start', file, '--no-progress'], { db: db.url });
    expect(result.code, show(result)).toBe(2);
    expect(stderrLines(result)).toEqual([`bellows: operations[1].drop_column.column: "name" ${why}; drop it first`]);

    const refused = (name: string, operation: Record<string, unknown>) => engine.open({ name, operations: [addHistory, operation] }).then(() => 'accepted', (e: Error) => e.message);
    expect(await refused('h_same_rename', { rename_column: { table: 'hist_same', from: 'name', to: 'full_name' } })).toBe(`operations[1].rename_column.from: "name" ${why}`);
    expect(await refused('h_same_alter', { alter_column: { table: 'hist_same', column: 'name', type: 'varchar(200)', up: 'name', down: 'name' } })).toBe(
      `operations[1].alter_column.column: "name" ${why}; contract would lose it with the old column. Drop it first and recreate it after contract`,
    );
    expect(await catalogSnapshot(db.pool)).toEqual(before);
  });
});

describe('the example playbooks on the demo table', () => {
  it('0023 keeps the versions of users, 0024 drops them at contract', async () => {
    await createSampleTable(db.pool, 300);
    const engine = engineFor(db.pool);
    const run = await engine.runToEnd(await loadPlaybook(playbookPath('0023_users_history.yaml')));
    expect(run.status).toBe('completed');
    await db.query(`UPDATE users SET name = 'renamed' WHERE id = 7`);
    expect(await rowsOf(`SELECT count(*)::int AS n FROM users_history`)).toEqual([{ n: 301 }]);
    expect(await rowsOf(`SELECT id::int, name FROM users_as_of(clock_timestamp()) WHERE id = 7`)).toEqual([{ id: 7, name: 'renamed' }]);

    // While the history is kept, a column it names may not be dropped or renamed under it: every later
    // write would fail in its trigger. Refused before any DDL, naming the field and what to do.
    const beforeRefusals = await catalogSnapshot(db.pool);
    const refused = (name: string, operation: Record<string, unknown>) => engine.open({ name, operations: [operation] }).then(() => 'accepted', (e: Error) => e.message);
    const why = `is used by trigger users_history_write on users (the history it writes names the table's columns: drop_history first, add_history again after)`;
    expect(await refused('h_drop', { drop_column: { table: 'users', column: 'name' } })).toBe(`operations[0].drop_column.column: "name" ${why}; drop it first`);
    expect(await refused('h_rename', { rename_column: { table: 'users', from: 'name', to: 'full_name' } })).toBe(`operations[0].rename_column.from: "name" ${why}`);
    expect(await catalogSnapshot(db.pool)).toEqual(beforeRefusals);

    expect((await engine.runToEnd(await loadPlaybook(playbookPath('0024_users_drop_history.yaml')))).status).toBe('completed');
    expect(await rowsOf(`SELECT to_regclass('users_history') AS t, to_regprocedure('users_as_of(timestamptz)') AS f, to_regprocedure('users_history_write()') AS w`)).toEqual([
      { t: null, f: null, w: null },
    ]);
    expect(await rowsOf(`SELECT tgname FROM pg_trigger WHERE tgrelid = 'users'::regclass AND NOT tgisinternal`)).toEqual([]);
    await db.query(`UPDATE users SET name = 'after' WHERE id = 7`);
  });
});
