import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { engineFor } from '../helpers/engine.ts';
import { catalogSnapshot } from '../helpers/cli.ts';
import { SMALL_BATCHES, applications, stepsFor, stoppingExecutor } from '../helpers/lifecycle.ts';
import { InputError } from '../../src/errors.ts';

/**
 * A type created earlier in the same playbook, used by the table operations
 * after it: PostgreSQL checks them (their types, defaults, up and down) where
 * the playbook's earlier DDL has been rehearsed, and expand creates the type
 * before the columns that use it; a rollback from any phase drops them all.
 */

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
  await db.query(`CREATE TABLE accounts (id bigserial PRIMARY KEY, plan text NOT NULL, note text)`);
  await db.query(`INSERT INTO accounts (plan, note) SELECT CASE WHEN g % 3 = 0 THEN 'pro' ELSE 'free' END, 'n' || g FROM generate_series(1, 600) g`);
  await db.query('ANALYZE accounts');
});

const PLANS = {
  name: 'accounts_plan_kind',
  settings: SMALL_BATCHES,
  operations: [
    { create_enum: { name: 'plan_kind', values: ['free', 'pro', 'team'] } },
    { alter_column: { table: 'accounts', column: 'plan', type: 'plan_kind', up: 'plan::plan_kind', down: 'plan::text' } },
    { add_column: { table: 'accounts', name: 'tier', type: 'public.plan_kind', nullable: false, default: `'free'` } },
    {
      create_table: {
        table: 'invoices',
        primary_key: ['id'],
        columns: [
          { name: 'id', type: 'bigint' },
          { name: 'kind', type: 'plan_kind', nullable: false, default: `'team'::plan_kind`, check: `kind <> 'free'` },
        ],
      },
    },
  ],
};

const accounts = async () => (await db.query(`SELECT row_to_json(a)::text AS r FROM accounts a ORDER BY id`)).rows.map((r) => r.r as string);

describe('a type created earlier in the playbook', () => {
  it.each(['expand', 'dual_write', 'mid-backfill', 'gate'] as const)('rolled back after %s: exactly the original catalog and rows', async (stop) => {
    const engine = engineFor(db.pool);
    await engine.store.migrate();
    const before = { catalog: await catalogSnapshot(db.pool), rows: await accounts() };
    const run = await engine.open({ ...PLANS, name: `plan_kind_${stop.replace('-', '_')}` });
    const steps = stepsFor(engine.store, db.pool);
    if (stop === 'expand' || stop === 'dual_write') {
      await steps.expand(run.id);
      if (stop === 'dual_write') await steps.dualWrite(run.id);
    } else if (stop === 'mid-backfill') {
      expect(await stoppingExecutor(db.pool, 'backfill', 2).drive(run, { stopAtGate: true })).toBe('stopped');
    } else {
      expect(await engine.executor.drive(run, { stopAtGate: true })).toBe('awaiting_approval');
    }
    const { rows } = await db.query(`SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = 'accounts'::regclass AND attname = 'tier'`);
    expect(rows).toEqual([{ type: 'plan_kind' }]);
    await engine.store.setDesired(run.id, { abort: true }, 'abort');
    expect(await engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true })).toBe('rolled_back');
    expect(await catalogSnapshot(db.pool)).toEqual(before.catalog);
    expect(await accounts()).toEqual(before.rows);
    expect((await db.query(`SELECT to_regtype('plan_kind') AS t`)).rows).toEqual([{ t: null }]);
  });

  it('runs to the end: the columns and the new table of the new type, the values translated, both applications writing', async () => {
    const engine = engineFor(db.pool);
    const run = await engine.open(PLANS);
    expect(await engine.executor.drive(run, { stopAtGate: true })).toBe('awaiting_approval');
    const { oldApp, newApp, close } = await applications(db, PLANS.name);
    await oldApp.query(`INSERT INTO accounts (plan, note) VALUES ('team', 'old app')`);
    await newApp.query(`INSERT INTO accounts (plan, tier, note) VALUES ('pro', 'team', 'new app')`);
    await newApp.query(`INSERT INTO invoices (id) VALUES (1)`);
    await expect(newApp.query(`INSERT INTO accounts (plan, note) VALUES ('gold', 'x')`)).rejects.toThrow(/invalid input value for enum plan_kind: "gold"/);
    await close();
    await engine.store.setDesired(run.id, { approved: true }, 'approve');
    expect(await engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true })).toBe('completed');

    const columns = await db.query(
      `SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null, pg_get_expr(d.adbin, d.adrelid) AS default
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE c.relname IN ('accounts', 'invoices') AND a.attnum > 0 AND NOT a.attisdropped ORDER BY c.relname, a.attnum`,
    );
    expect(columns.rows).toEqual([
      { table: 'accounts', column: 'id', type: 'bigint', not_null: true, default: `nextval('accounts_id_seq'::regclass)` },
      { table: 'accounts', column: 'note', type: 'text', not_null: false, default: null },
      { table: 'accounts', column: 'plan', type: 'plan_kind', not_null: true, default: null },
      { table: 'accounts', column: 'tier', type: 'plan_kind', not_null: true, default: `'free'::plan_kind` },
      { table: 'invoices', column: 'id', type: 'bigint', not_null: true, default: null },
      { table: 'invoices', column: 'kind', type: 'plan_kind', not_null: true, default: `'team'::plan_kind` },
    ]);
    const { rows } = await db.query(`SELECT plan::text, tier::text, count(*)::int AS n FROM accounts GROUP BY 1, 2 ORDER BY 1, 2`);
    expect(rows).toEqual([
      { plan: 'free', tier: 'free', n: 400 },
      { plan: 'pro', tier: 'free', n: 200 },
      { plan: 'pro', tier: 'team', n: 1 },
      { plan: 'team', tier: 'free', n: 1 },
    ]);
    expect((await db.query(`SELECT id, kind::text FROM invoices`)).rows).toEqual([{ id: '1', kind: 'team' }]);
    const labels = await db.query(`SELECT array_agg(enumlabel::text ORDER BY enumsortorder) AS labels FROM pg_enum WHERE enumtypid = 'plan_kind'::regtype`);
    expect(labels.rows).toEqual([{ labels: ['free', 'pro', 'team'] }]);
  });

  it('still refuses a type that neither the database nor the playbook has, and a value the type does not have', async () => {
    const refused = async (operation: Record<string, unknown>) => {
      const err = await engineFor(db.pool)
        .open({ name: 'kinds_bad', operations: [{ create_enum: { name: 'colour', values: ['red', 'blue'] } }, operation] })
        .then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(InputError);
      return (err as Error).message;
    };
    expect(await refused({ add_column: { table: 'accounts', name: 'shade', type: 'color' } })).toBe(
      'operations[1].add_column.type: type "color" does not exist in the database (is its extension installed?)',
    );
    expect(await refused({ add_column: { table: 'accounts', name: 'shade', type: 'colour', default: `'green'` } })).toMatch(
      /^operations\[1\]\.add_column\.default: invalid expression "'green'": invalid input value for enum colour: "green"/,
    );
    expect((await db.query(`SELECT to_regtype('colour') AS t`)).rows).toEqual([{ t: null }]);
  });
});
