import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { engineFor } from '../helpers/engine.ts';
import { stepsFor } from '../helpers/lifecycle.ts';
import { catalogSnapshot, playbookPath } from '../helpers/cli.ts';
import { createSampleTable } from '../../src/demo/sample.ts';
import { loadPlaybook } from '../../src/playbook/load.ts';
import { InputError } from '../../src/errors.ts';

/**
 * seed_data through every phase: the final rows exactly as the playbook gives
 * them from expand on; a rollback removes the rows it added and puts back the
 * old values of those it changed; a repeat writes nothing.
 */

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
  await createSampleTable(db.pool, 20);
  await db.query(`CREATE TABLE countries (code text PRIMARY KEY, name text NOT NULL, population bigint, eu boolean, joined date)`);
  await db.query(`INSERT INTO countries VALUES ('fr', 'France', 67000000, true, '1957-03-25'), ('ch', 'Switzerland', 8700000, false, NULL), ('no', 'Norway', 5500000, false, NULL)`);
  await db.query(`CREATE TABLE prices (id bigserial PRIMARY KEY, plan text NOT NULL, currency text NOT NULL, cents int NOT NULL, UNIQUE (currency, plan))`);
  await db.query(`INSERT INTO prices (plan, currency, cents) VALUES ('team', 'EUR', 1100), ('team', 'USD', 1200)`);
});

async function rows(table: string, orderBy: string): Promise<unknown[]> {
  return (await db.query(`SELECT * FROM ${table} ORDER BY ${orderBy}`)).rows;
}

interface Case {
  name: string;
  table: string;
  orderBy: string;
  operation: Record<string, unknown>;
  /** The table's rows after expand, at the gate and after contract. */
  after: unknown[];
}

const cases: Case[] = [
  {
    name: 'by a primary key: one row changed, one new, one already equal',
    table: 'countries',
    orderBy: 'code',
    operation: {
      seed_data: {
        table: 'countries',
        key: ['code'],
        rows: [
          { code: 'fr', name: 'France', population: 68000000, eu: true, joined: '1957-03-25' },
          { code: 'de', name: "Germany's", population: '84000000', eu: true, joined: '1957-03-25' },
          { code: 'ch', name: 'Switzerland', population: 8700000, eu: false, joined: null },
        ],
      },
    },
    after: [
      { code: 'ch', name: 'Switzerland', population: '8700000', eu: false, joined: null },
      { code: 'de', name: "Germany's", population: '84000000', eu: true, joined: new Date('1957-03-25T00:00:00') },
      { code: 'fr', name: 'France', population: '68000000', eu: true, joined: new Date('1957-03-25T00:00:00') },
      { code: 'no', name: 'Norway', population: '5500000', eu: false, joined: null },
    ],
  },
  {
    name: 'by a unique index over two columns, given in another order',
    table: 'prices',
    orderBy: 'plan, currency',
    operation: {
      seed_data: {
        table: 'prices',
        key: ['plan', 'currency'],
        rows: [
          { plan: 'team', currency: 'EUR', cents: 1000 },
          { plan: 'business', currency: 'EUR', cents: 4900 },
        ],
      },
    },
    after: [
      { id: '3', plan: 'business', currency: 'EUR', cents: 4900 },
      { id: '1', plan: 'team', currency: 'EUR', cents: 1000 },
      { id: '2', plan: 'team', currency: 'USD', cents: 1200 },
    ],
  },
];

describe.each(cases.map((c, i) => ({ ...c, i })))('seed_data $name', (c) => {
  const doc = (attempt: string) => ({ name: `seed_${c.i}_${attempt}`, operations: [c.operation] });
  const state = async () => ({ rows: await rows(c.table, c.orderBy), catalog: await catalogSnapshot(db.pool) });
  const idsLess = (list: unknown[]) => list.map((r) => ({ ...(r as object), id: undefined }));

  it.each(['expand', 'gate'] as const)('rolled back from %s: the rows and the catalog are exactly as before', async (stop) => {
    const engine = engineFor(db.pool);
    const run = await engine.open(doc(`rb_${stop}`));
    const before = await state();
    if (stop === 'expand') await stepsFor(engine.store, db.pool).expand(run.id);
    else expect(await engine.executor.drive(run, { stopAtGate: true })).toBe('awaiting_approval');
    // A serial key is not given back by a rollback: compare the rest.
    expect(idsLess(await rows(c.table, c.orderBy))).toEqual(idsLess(c.after));
    await engine.store.setDesired(run.id, { abort: true }, 'abort');
    expect(await engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true })).toBe('rolled_back');
    expect(await state()).toEqual(before);
  });

  it('runs to the end with the rows exact; run again, it writes nothing', async () => {
    const engine = engineFor(db.pool);
    expect((await engine.runToEnd(doc('run'))).status).toBe('completed');
    const final = await rows(c.table, c.orderBy);
    expect(idsLess(final)).toEqual(idsLess(c.after));
    const versions = (await db.query(`SELECT xmin::text FROM ${c.table} ORDER BY ${c.orderBy}`)).rows;
    expect((await engine.runToEnd(doc('again'))).status).toBe('completed');
    expect(await rows(c.table, c.orderBy)).toEqual(final);
    expect((await db.query(`SELECT xmin::text FROM ${c.table} ORDER BY ${c.orderBy}`)).rows).toEqual(versions);
  });
});

describe('bad seed_data operations', () => {
  const refused = async (seed: Record<string, unknown>, schemaError = false) => {
    const before = await catalogSnapshot(db.pool);
    const err = await engineFor(db.pool).open({ name: 'seed_bad', operations: [{ seed_data: { table: 'countries', key: ['code'], ...seed } }] }).then(() => null, (e: unknown) => e);
    expect(await catalogSnapshot(db.pool)).toEqual(before);
    if (!schemaError) expect(err).toBeInstanceOf(InputError);
    return (err as Error).message;
  };
  const row = (extra: Record<string, unknown> = {}) => ({ code: 'it', name: 'Italy', ...extra });

  it('refuses each before any DDL, with one line naming the field', async () => {
    expect(await refused({ key: ['name'], rows: [row()] })).toBe(
      'operations[0].seed_data.key: public.countries has no primary key or unique index on exactly (name); an upsert finds a row by one',
    );
    expect(await refused({ key: ['code', 'code'], rows: [row()] })).toBe('operations[0].seed_data.key: a column is listed twice');
    expect(await refused({ rows: [{ name: 'Italy' }] })).toBe('operations[0].seed_data.key[0]: the rows do not give key column "code"');
    expect(await refused({ rows: [row({ capital: 'Rome' })] })).toBe('operations[0].seed_data.rows[0].capital: column "capital" does not exist in public.countries');
    expect(await refused({ rows: [row(), { code: 'es' }] })).toBe(
      'operations[0].seed_data.rows[1]: gives (code) but rows[0] gives (code, name); every row gives the same columns',
    );
    expect(await refused({ rows: [row(), row({ code: null })] })).toBe(
      'operations[0].seed_data.rows[1].code: a key column cannot be null (NULLs never conflict: the row would be added again on every run)',
    );
    expect(await refused({ rows: [row(), row({ name: 'Italia' })] })).toBe('operations[0].seed_data.rows[1]: the same key as rows[0]');
    expect(await refused({ rows: [row(), row({ code: 'es', name: null })] })).toBe('operations[0].seed_data.rows[1].name: column "name" is NOT NULL');
    expect(await refused({ rows: [row({ population: 1 }), row({ code: 'es', population: 'many' })] })).toBe(
      `operations[0].seed_data.rows[1].population: invalid input syntax for type bigint: "many"`,
    );
    expect(await refused({ rows: [row({ eu: 1.5 })] })).toBe(`operations[0].seed_data.rows[0].eu: invalid input syntax for type boolean: "1.5"`);
    expect(await refused({ table: 'nope', rows: [row()] })).toBe('operations[0].seed_data.table: table public.nope does not exist');
  });

  it('refuses more rows than a plan keeps, by the playbook schema', async () => {
    const many = Array.from({ length: 10_001 }, (_, i) => ({ code: `c${i}`, name: `n${i}` }));
    expect(await refused({ rows: many }, true)).toBe(
      'playbook: operations[0].seed_data.rows: at most 10,000 rows in one operation: the plan keeps the rows they replace to restore them on rollback',
    );
  });
});

describe('the example playbook on the demo shape', () => {
  it('0020 creates plans and seeds it; rolled back at the gate, nothing is left', async () => {
    const playbook = await loadPlaybook(playbookPath('0020_plans_seed.yaml'));
    const engine = engineFor(db.pool);
    const before = await catalogSnapshot(db.pool);
    const first = await engine.open({ ...playbook, name: '0020_plans_seed_rb' });
    expect(await engine.executor.drive(first, { stopAtGate: true })).toBe('awaiting_approval');
    expect((await rows('plans', 'code')).length).toBe(3);
    await engine.store.setDesired(first.id, { abort: true }, 'abort');
    expect(await engine.executor.drive(await engine.store.getRun(first.id), { stopAtGate: true })).toBe('rolled_back');
    expect(await catalogSnapshot(db.pool)).toEqual(before);

    expect((await engine.runToEnd(playbook)).status).toBe('completed');
    expect(await rows('plans', 'code')).toEqual([
      { code: 'business', title: 'Business', monthly_cents: 4900 },
      { code: 'free', title: 'Free', monthly_cents: 0 },
      { code: 'team', title: 'Team', monthly_cents: 1200 },
    ]);
  });
});
