import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { engineFor } from '../helpers/engine.ts';
import { SMALL_BATCHES, stepsFor, stoppingExecutor, tableState, numberedTable, vToBigint } from '../helpers/lifecycle.ts';
import { RunFailedError } from '../../src/errors.ts';

/**
 * alter_column rolled back from every phase before contract: the table, its
 * indexes, constraints, triggers, functions and rows are exactly the original,
 * and the same playbook then runs to the end.
 */

type Stop = 'after expand' | 'after dual_write' | 'mid-backfill' | 'mid-verify' | 'at the gate' | 'after a failed verify';
const STOPS: Stop[] = ['after expand', 'after dual_write', 'mid-backfill', 'mid-verify', 'at the gate', 'after a failed verify'];

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
  for (const [i] of STOPS.entries()) {
    await db.query(`CREATE TABLE rb${i} (id bigserial PRIMARY KEY, email text NOT NULL DEFAULT 'nobody@example.com', note text)`);
    await db.query(`CREATE UNIQUE INDEX rb${i}_email_key ON rb${i} (email)`);
    await db.query(`INSERT INTO rb${i} (email, note) SELECT 'User' || g || '@Example.COM', 'n' || g FROM generate_series(1, 1200) g`);
  }
  await db.query('ANALYZE');
});

function playbook(i: number) {
  return {
    name: `rb_${i}_email_citext`,
    settings: SMALL_BATCHES,
    operations: [{ alter_column: { table: `rb${i}`, column: 'email', type: 'citext', up: 'lower(email)', down: 'email::text' } }],
  };
}

describe('a rollback interrupted half way', () => {
  it('is finished by the next drive and leaves exactly the original', async () => {
    await db.query(`CREATE TABLE rbhalf (id bigserial PRIMARY KEY, email text NOT NULL DEFAULT 'x@example.com')`);
    await db.query(`CREATE UNIQUE INDEX rbhalf_email_key ON rbhalf (email)`);
    await db.query(`INSERT INTO rbhalf (email) SELECT 'H' || g || '@X.COM' FROM generate_series(1, 400) g`);
    const engine = engineFor(db.pool);
    const original = await tableState(db.pool, 'public.rbhalf');
    const run = await engine.open({
      name: 'rb_half',
      settings: SMALL_BATCHES,
      operations: [
        { alter_column: { table: 'rbhalf', column: 'email', type: 'citext', up: 'lower(email)', down: 'email::text' } },
        { add_column: { table: 'rbhalf', name: 'plan', type: 'text', nullable: false, default: `'free'` } },
      ],
    });
    expect(await engine.executor.drive(run, { stopAtGate: true })).toBe('awaiting_approval');

    // the process died after the first half of the rollback's statements
    await engine.store.setPhase(run.id, 'rollback', 'rolling_back');
    const actions = run.plan.rollback;
    expect(actions.length).toBeGreaterThan(4);
    for (const action of actions.slice(0, Math.ceil(actions.length / 2))) await db.query(action.sql);
    expect(await tableState(db.pool, 'public.rbhalf')).not.toEqual(original);

    expect(await engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true })).toBe('rolled_back');
    expect(await engine.store.getRun(run.id)).toMatchObject({ status: 'rolled_back' });
    expect(await tableState(db.pool, 'public.rbhalf')).toEqual(original);
  });
});

describe('a failed expand (unique index over duplicates)', () => {
  async function failOnDuplicates(table: string) {
    await db.query(`CREATE TABLE ${table} (id bigserial PRIMARY KEY, code text)`);
    await db.query(`INSERT INTO ${table} (code) SELECT 'c' || (g % 150) FROM generate_series(1, 300) g`);
    const engine = engineFor(db.pool);
    const original = await tableState(db.pool, `public.${table}`);
    const doc = {
      name: `rb_${table}`,
      settings: SMALL_BATCHES,
      operations: [{ create_index: { table, name: `${table}_code_key`, columns: ['code'], unique: true } }],
    };
    const run = await engine.open(doc);
    const err = await engine.executor.drive(run, { stopAtGate: true }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RunFailedError);
    expect((err as Error).message).toMatch(/expand failed and was rolled back.*could not create unique index "\w+_code_key"/);
    return { engine, run, original, doc };
  }

  it('a failed expand rolls itself back, INVALID index included', async () => {
    const { engine, run, original } = await failOnDuplicates('rbdup1');
    expect(await engine.store.getRun(run.id)).toMatchObject({ phase: 'rollback', status: 'rolled_back' });
    const { rows } = await db.query(`SELECT to_regclass('public.rbdup1_code_key') AS idx`);
    expect(rows).toEqual([{ idx: null }]);
    expect(await tableState(db.pool, 'public.rbdup1')).toEqual(original);
  });

  it('the playbook runs again once the data is fixed', async () => {
    const { engine, doc } = await failOnDuplicates('rbdup2');
    await db.query(`UPDATE rbdup2 SET code = code || '-' || id`);
    const again = await engine.open(doc);
    expect(await engine.executor.drive(again, { stopAtGate: true })).toBe('awaiting_approval');
    const { rows } = await db.query(`SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = to_regclass('public.rbdup2_code_key')`);
    expect(rows).toEqual([{ valid: true }]);
  });
});

describe.each(STOPS.map((stop, i) => ({ stop, i })))('alter_column rolled back $stop', ({ stop, i }) => {
  it('leaves the original schema and data, and the playbook can run again to the end', async () => {
    const engine = engineFor(db.pool);
    const steps = stepsFor(engine.store, db.pool);
    const table = `public.rb${i}`;
    const original = await tableState(db.pool, table);
    const doc = playbook(i);
    const run = await engine.open(doc);

    switch (stop) {
      case 'after expand':
        await steps.expand(run.id);
        expect((await tableState(db.pool, table)).schema.indexes).toHaveLength(3);
        break;
      case 'after dual_write':
        await steps.expand(run.id);
        await steps.dualWrite(run.id);
        expect((await tableState(db.pool, table)).schema.triggers).toHaveLength(1);
        break;
      case 'mid-backfill': {
        expect(await stoppingExecutor(db.pool, 'backfill', 2).drive(run, { stopAtGate: true })).toBe('stopped');
        const [range] = await engine.store.getRanges(run.id, 'backfill');
        expect(range.done).toBe(false);
        expect(range.rowsDone).toBeGreaterThan(0);
        expect(range.rowsDone).toBeLessThan(1200);
        const { rows } = await db.query(`SELECT count(*)::int AS n FROM ${table} WHERE _bellows_new_email IS NOT NULL`);
        expect(rows[0].n).toBe(range.rowsDone);
        break;
      }
      case 'mid-verify': {
        // backfill to its end, then stop inside verify
        expect(await stoppingExecutor(db.pool, 'verify', 1).drive(run, { stopAtGate: true })).toBe('stopped');
        const current = await engine.store.getRun(run.id);
        expect(current.phase).toBe('verify');
        expect(current.verifiedAt).toBeNull();
        const [range] = await engine.store.getRanges(run.id, 'verify');
        expect(range).toMatchObject({ done: false });
        break;
      }
      case 'at the gate':
        expect(await engine.executor.drive(run, { stopAtGate: true })).toBe('awaiting_approval');
        break;
      case 'after a failed verify': {
        await steps.expand(run.id);
        await steps.dualWrite(run.id);
        for (const ref of await steps.prepareBackfill(run.id)) await steps.walkRange(run.id, ref);
        await steps.finishBackfill(run.id);
        const bad = await db.pool.connect();
        try {
          await bad.query('BEGIN');
          await bad.query(`SET LOCAL bellows.backfill = 'on'`);
          await bad.query(`UPDATE ${table} SET _bellows_new_email = 'wrong@example.com' WHERE id = 42`);
          await bad.query('COMMIT');
        } finally {
          bad.release();
        }
        await expect(engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true })).rejects.toThrow(RunFailedError);
        expect(await engine.store.getRun(run.id)).toMatchObject({ phase: 'verify', status: 'failed' });
        break;
      }
    }

    await engine.store.setDesired(run.id, { abort: true }, 'rollback');
    expect(await engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true })).toBe('rolled_back');
    expect(await engine.store.getRun(run.id)).toMatchObject({ phase: 'rollback', status: 'rolled_back' });
    expect(await tableState(db.pool, table)).toEqual(original);
    // a second rollback is a no-op, not an error
    await steps.rollback(run.id);
    expect(await tableState(db.pool, table)).toEqual(original);

    const again = await engine.runToEnd(doc);
    expect(again).toMatchObject({ status: 'completed', phase: 'done' });
    const { rows } = await db.query(`SELECT count(*)::int AS n, count(*) FILTER (WHERE email::text <> lower(email::text))::int AS upper FROM ${table}`);
    expect(rows[0]).toEqual({ n: 1200, upper: 0 });
  });
});

describe('a failed dual-write', () => {
  it('rolls itself back like a failed expand: shadow column gone, nothing left that touches writes', async () => {
    await numberedTable(db, 'rbdw', 200);
    const engine = engineFor(db.pool);
    const original = await tableState(db.pool, 'public.rbdw');
    const run = await engine.open({
      name: 'rb_dual_write',
      settings: SMALL_BATCHES,
      operations: [vToBigint('rbdw')],
    });
    // Someone takes the version schema's name after start checked it: dual-write's CREATE SCHEMA fails.
    await db.query(`CREATE SCHEMA rb_dual_write`);
    const err = await engine.executor.drive(run, { stopAtGate: true }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RunFailedError);
    expect((err as Error).message).toMatch(/dual_write failed and was rolled back, nothing is left changed: .*schema "rb_dual_write" already exists/);
    expect(await engine.store.getRun(run.id)).toMatchObject({ status: 'rolled_back' });
    // The schema someone else made stays: rollback removes only what the run created.
    await db.query(`DROP SCHEMA rb_dual_write`);
    expect(await tableState(db.pool, 'public.rbdw')).toEqual(original);
  });
});
