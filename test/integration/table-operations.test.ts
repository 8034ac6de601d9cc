import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { engineFor } from '../helpers/engine.ts';
import { catalogSnapshot } from '../helpers/cli.ts';
import { InputError } from '../../src/errors.ts';

/**
 * create_table, drop_table and rename_table through every phase: what the old
 * and the new application see at the gate, the catalog after contract, and the
 * exact original catalog after a rollback at the gate.
 */

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
  await db.query(`CREATE TABLE customers (id bigserial PRIMARY KEY, name text NOT NULL)`);
  await db.query(`INSERT INTO customers (name) SELECT 'c' || g FROM generate_series(1, 50) g`);
  await db.query(`CREATE TABLE legacy_audit (id bigserial PRIMARY KEY, line text)`);
  await db.query(`INSERT INTO legacy_audit (line) SELECT 'l' || g FROM generate_series(1, 20) g`);
  await db.query(`CREATE TABLE notes (id bigserial PRIMARY KEY, body text)`);
  await db.query(`INSERT INTO notes (body) SELECT 'b' || g FROM generate_series(1, 20) g`);
  await db.query(`CREATE VIEW customer_names AS SELECT name FROM customers`);
});

const CREATE_ORDERS = {
  name: 'create_orders',
  operations: [
    {
      create_table: {
        table: 'orders',
        comment: 'one row per order',
        primary_key: ['id'],
        columns: [
          { name: 'id', type: 'bigint' },
          { name: 'customer_id', type: 'bigint', nullable: false, references: { table: 'customers', column: 'id' } },
          { name: 'total', type: 'numeric(12,2)', nullable: false, default: '0', check: 'total >= 0', comment: 'in euros' },
          { name: 'ref', type: 'text', unique: true },
        ],
      },
    },
  ],
};

async function constraints(table: string) {
  const { rows } = await db.query(`SELECT contype, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = $1::regclass ORDER BY contype, conname`, [table]);
  return rows;
}

async function gate(engine: ReturnType<typeof engineFor>, doc: unknown) {
  const run = await engine.open(doc);
  expect(await engine.executor.drive(run, { stopAtGate: true })).toBe('awaiting_approval');
  return run;
}

async function contract(engine: ReturnType<typeof engineFor>, runId: string) {
  await engine.store.setDesired(runId, { approved: true }, 'approve');
  expect(await engine.executor.drive(await engine.store.getRun(runId), { stopAtGate: true })).toBe('completed');
}

async function rollBack(engine: ReturnType<typeof engineFor>, runId: string) {
  await engine.store.setDesired(runId, { abort: true }, 'abort');
  expect(await engine.executor.drive(await engine.store.getRun(runId), { stopAtGate: true })).toBe('rolled_back');
}

describe('table operations', () => {
  it('create_table: rolled back at the gate leaves exactly the original; run again, the new version writes it and contract keeps it', async () => {
    const engine = engineFor(db.pool);
    await engine.store.migrate();
    const before = await catalogSnapshot(db.pool);
    const first = await gate(engine, CREATE_ORDERS);
    expect((await db.query(`SELECT to_regclass('public.orders') IS NOT NULL AS made`)).rows[0].made).toBe(true);
    await rollBack(engine, first.id);
    expect(await catalogSnapshot(db.pool)).toEqual(before);

    const run = await gate(engine, CREATE_ORDERS);
    // The new application writes through its version schema; the foreign key and the check hold at once.
    await db.query(`INSERT INTO create_orders.orders (id, customer_id, total, ref) VALUES (1, 7, 12.5, 'A-1')`);
    await expect(db.query(`INSERT INTO create_orders.orders (id, customer_id, total) VALUES (2, 999, 1)`)).rejects.toThrow(/foreign key/);
    await expect(db.query(`INSERT INTO create_orders.orders (id, customer_id, total) VALUES (3, 7, -1)`)).rejects.toThrow(/check constraint/);
    await contract(engine, run.id);

    expect(await constraints('public.orders')).toEqual([
      { contype: 'c', def: 'CHECK ((total >= (0)::numeric))' },
      { contype: 'f', def: 'FOREIGN KEY (customer_id) REFERENCES customers(id)' },
      { contype: 'p', def: 'PRIMARY KEY (id)' },
      { contype: 'u', def: 'UNIQUE (ref)' },
    ]);
    const { rows: comments } = await db.query(
      `SELECT obj_description('public.orders'::regclass, 'pg_class') AS tab, col_description('public.orders'::regclass, 3) AS total`,
    );
    expect(comments[0]).toEqual({ tab: 'one row per order', total: 'in euros' });
    expect((await db.query(`SELECT id::int, total::text FROM orders`)).rows).toEqual([{ id: 1, total: '12.50' }]);
    expect((await db.query(`SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'create_orders'`)).rows[0].n).toBe(0);
  });

  it('rename_table: the new version sees the new name at once and writes through it; the old name holds until contract', async () => {
    const engine = engineFor(db.pool);
    const run = await gate(engine, { name: 'rename_notes', operations: [{ rename_table: { table: 'notes', to: 'memos' } }] });
    await db.query(`INSERT INTO rename_notes.memos (body) VALUES ('through the new name')`);
    expect((await db.query(`SELECT count(*)::int AS n FROM public.notes`)).rows[0].n).toBe(21);
    await contract(engine, run.id);
    expect((await db.query(`SELECT to_regclass('public.notes') IS NULL AS gone, to_regclass('public.memos') IS NOT NULL AS there`)).rows[0]).toEqual({ gone: true, there: true });
    expect((await db.query(`SELECT count(*)::int AS n FROM memos`)).rows[0].n).toBe(21);
  });

  it('drop_table: kept for the old application until contract, then gone with its rows', async () => {
    const engine = engineFor(db.pool);
    const before = await catalogSnapshot(db.pool);
    const doc = { name: 'drop_legacy_audit', operations: [{ drop_table: { table: 'legacy_audit' } }] };
    const first = await gate(engine, doc);
    expect((await db.query(`SELECT count(*)::int AS n FROM legacy_audit`)).rows[0].n).toBe(20);
    // The new version cannot see it, even where its search_path falls through to public.
    const newApp = await db.pool.connect();
    try {
      await newApp.query(`SET search_path = drop_legacy_audit, public`);
      await expect(newApp.query(`SELECT count(*) FROM legacy_audit`)).rejects.toMatchObject({ code: '42P01', message: expect.stringContaining('dropped') });
      await expect(newApp.query(`INSERT INTO legacy_audit DEFAULT VALUES`)).rejects.toThrow();
    } finally {
      newApp.release();
    }
    await rollBack(engine, first.id);
    expect(await catalogSnapshot(db.pool)).toEqual(before);

    const run = await gate(engine, doc);
    await contract(engine, run.id);
    expect((await db.query(`SELECT to_regclass('public.legacy_audit') IS NULL AS gone`)).rows[0].gone).toBe(true);
  });

  it('refuses, before any DDL, a table that exists, a missing reference, a table others depend on, and a later operation on a dropped table', async () => {
    const engine = engineFor(db.pool);
    const before = await catalogSnapshot(db.pool);
    const refused = async (doc: unknown) => engine.open(doc).then(() => null, (err: unknown) => err);
    const cases: Array<[unknown, string]> = [
      [
        { name: 'again', operations: [{ create_table: { table: 'customers', primary_key: ['id'], columns: [{ name: 'id', type: 'int' }] } }] },
        'operations[0].create_table.table: public.customers already exists',
      ],
      [
        { name: 'badref', operations: [{ create_table: { table: 'x1', primary_key: ['id'], columns: [{ name: 'id', type: 'int' }, { name: 'c', type: 'bigint', references: { table: 'customers', column: 'name' } }] } }] },
        'operations[0].create_table.columns[1].references: public.customers.name is not unique on its own (no primary key or unique index on it alone)',
      ],
      [
        { name: 'badkey', operations: [{ create_table: { table: 'x2', primary_key: ['nope'], columns: [{ name: 'id', type: 'int' }] } }] },
        'operations[0].create_table.primary_key[0]: column "nope" is not among the columns',
      ],
      [
        { name: 'badtype', operations: [{ create_table: { table: 'x3', primary_key: ['id'], columns: [{ name: 'id', type: 'intt' }] } }] },
        'operations[0].create_table.columns[0].type: type "intt" does not exist in the database (is its extension installed?)',
      ],
      [
        { name: 'dropused', operations: [{ drop_table: { table: 'customers' } }] },
        'operations[0].drop_table.table: public.customers is used by constraint orders_customer_id_fkey on orders, view customer_names; drop them first',
      ],
      [
        { name: 'dropthenuse', operations: [{ drop_table: { table: 'memos' } }, { add_column: { table: 'memos', name: 'x', type: 'int' } }] },
        'operations[1].add_column.table: table public.memos is dropped by operations[0]',
      ],
      [
        { name: 'renameclash', operations: [{ rename_table: { table: 'memos', to: 'customers' } }] },
        'operations[0].rename_table.to: "customers" already exists in schema public',
      ],
    ];
    for (const [doc, message] of cases) {
      const err = await refused(doc);
      expect(err, message).toBeInstanceOf(InputError);
      expect((err as Error).message).toBe(message);
    }
    expect(await catalogSnapshot(db.pool)).toEqual(before);
  });
});
