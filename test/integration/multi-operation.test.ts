import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { engineFor } from '../helpers/engine.ts';
import { SMALL_BATCHES, applications, backfillAndVerify, stepsFor, tableState } from '../helpers/lifecycle.ts';

/**
 * One playbook with several operations on one table (each with its own
 * trigger, all behind one view) and one on a second table: rollback restores
 * both, both applications write through the migration, contract lands the
 * whole new shape at once. Then the same with identifiers that need quoting.
 */

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
});

describe('several operations in one playbook', () => {
  const name = 'mo_orders_reshape';
  const doc = {
    name,
    settings: SMALL_BATCHES,
    operations: [
      { alter_column: { table: 'orders', column: 'email', type: 'citext', up: 'lower(email)', down: 'email::text' } },
      { rename_column: { table: 'orders', from: 'name', to: 'full_name' } },
      { add_column: { table: 'orders', name: 'plan', type: 'text', nullable: false, default: `'free'` } },
      { drop_column: { table: 'orders', column: 'legacy', down: `'from-new-app'` } },
      { create_index: { table: 'orders', name: 'orders_email_idx', columns: ['email'] } },
      { alter_column: { table: 'orders', column: 'qty', type: 'bigint', up: 'qty::bigint', down: 'qty::int' } },
      { add_column: { table: 'notes', name: 'pinned', type: 'boolean', nullable: false, default: 'false' } },
    ],
  };

  beforeAll(async () => {
    await db.query(`CREATE TABLE orders (id bigserial PRIMARY KEY, email text NOT NULL, name text, qty int NOT NULL DEFAULT 1, legacy text NOT NULL)`);
    await db.query(`INSERT INTO orders (email, name, qty, legacy) SELECT 'O' || g || '@X.COM', 'n' || g, g, 'l' || g FROM generate_series(1, 700) g`);
    await db.query(`CREATE TABLE notes (id int PRIMARY KEY, body text)`);
    await db.query(`INSERT INTO notes SELECT g, 'b' || g FROM generate_series(1, 250) g`);
    await db.query('ANALYZE');
  });

  it('rolls back to exactly the original, then runs with both applications writing, and contracts', async () => {
    const engine = engineFor(db.pool);
    const steps = stepsFor(engine.store, db.pool);
    const orders = await tableState(db.pool, 'public.orders');
    const notes = await tableState(db.pool, 'public.notes');

    const first = await engine.open(doc);
    await steps.expand(first.id);
    await steps.dualWrite(first.id);
    expect((await tableState(db.pool, 'public.orders')).schema.triggers).toHaveLength(4);
    await steps.rollback(first.id);
    expect(await tableState(db.pool, 'public.orders')).toEqual(orders);
    expect(await tableState(db.pool, 'public.notes')).toEqual(notes);

    const run = await engine.open(doc);
    await steps.expand(run.id);
    await steps.dualWrite(run.id);
    const { oldApp, newApp } = await applications(db, name);
    const view = await newApp.query(`SELECT * FROM orders WHERE false`);
    expect(view.fields.map((f) => f.name)).toEqual(['id', 'email', 'full_name', 'qty', 'plan']);

    const fromOld = (await oldApp.query(`INSERT INTO orders (email, name, qty, legacy) VALUES ('Old@X.COM', 'old', 5, 'kept') RETURNING id`)).rows[0].id;
    const fromNew = (await newApp.query(`INSERT INTO orders (email, full_name, qty, plan) VALUES ('new@x.com', 'new', 6, 'pro') RETURNING id`)).rows[0].id;
    await newApp.query(`INSERT INTO notes (id, body, pinned) VALUES (1000, 'new note', true)`);
    await oldApp.query(`INSERT INTO notes (id, body) VALUES (1001, 'old note')`);
    const base = await db.query(
      `SELECT id, email, _bellows_new_email::text AS new_email, name, qty, _bellows_new_qty AS new_qty, legacy, plan FROM orders WHERE id = ANY($1) ORDER BY id`,
      [[fromOld, fromNew]],
    );
    expect(base.rows).toEqual([
      { id: String(fromOld), email: 'Old@X.COM', new_email: 'old@x.com', name: 'old', qty: 5, new_qty: '5', legacy: 'kept', plan: 'free' },
      { id: String(fromNew), email: 'new@x.com', new_email: 'new@x.com', name: 'new', qty: 6, new_qty: '6', legacy: 'from-new-app', plan: 'pro' },
    ]);

    await backfillAndVerify(steps, run.id);
    await newApp.query(`UPDATE orders SET qty = qty * 10, full_name = 'renamed' WHERE id = 7`);
    expect((await oldApp.query(`SELECT name, qty FROM orders WHERE id = 7`)).rows[0]).toEqual({ name: 'renamed', qty: 70 });
    // a new verify, after the last writes: contract waits for it, and it passes
    const again = await steps.prepareVerify(run.id);
    await expect(steps.contract(run.id)).rejects.toThrow(/contract refused: verify has not passed since the backfill/);
    for (const ref of again) expect(await steps.walkRange(run.id, ref)).toBe('done');
    await steps.finishVerify(run.id);
    await steps.contract(run.id);
    expect((await engine.store.getRun(run.id)).status).toBe('completed');

    const after = await tableState(db.pool, 'public.orders');
    expect(after.schema.columns.map((c) => [c.name, c.type, c.not_null])).toEqual([
      ['id', 'bigint', true],
      ['full_name', 'text', false],
      ['email', 'citext', true],
      ['plan', 'text', true],
      ['qty', 'bigint', true],
    ]);
    expect(after.schema.indexes.map((i) => i.indexdef)).toContain('CREATE INDEX orders_email_idx ON public.orders USING btree (email)');
    expect(after.schema.triggers).toEqual([]);
    expect(after.functions).toEqual(orders.functions);
    expect(after.schemas).toEqual(['public']);
    const rows = await db.query(`SELECT id, email::text AS email, full_name, qty::int AS qty, plan FROM orders WHERE id IN (1, 7, $1, $2) ORDER BY id`, [fromOld, fromNew]);
    expect(rows.rows).toEqual([
      { id: '1', email: 'o1@x.com', full_name: 'n1', qty: 1, plan: 'free' },
      { id: '7', email: 'o7@x.com', full_name: 'renamed', qty: 70, plan: 'free' },
      { id: String(fromOld), email: 'old@x.com', full_name: 'old', qty: 5, plan: 'free' },
      { id: String(fromNew), email: 'new@x.com', full_name: 'new', qty: 6, plan: 'pro' },
    ]);
    const pinned = await db.query(`SELECT id, pinned FROM notes WHERE id IN (1, 1000, 1001) ORDER BY id`);
    expect(pinned.rows).toEqual([
      { id: 1, pinned: false },
      { id: 1000, pinned: true },
      { id: 1001, pinned: false },
    ]);
  });
});

describe('identifiers that need quoting', () => {
  const name = 'mo_quoted';
  const table = `"My Schema"."Order Items"`;
  const doc = {
    name,
    settings: SMALL_BATCHES,
    operations: [
      { alter_column: { table: 'My Schema.Order Items', column: 'E-Mail', type: 'citext', up: 'lower("E-Mail")', down: '"E-Mail"::text' } },
      { rename_column: { table: 'My Schema.Order Items', from: 'select', to: 'Where Clause' } },
      { add_column: { table: 'My Schema.Order Items', name: "it's", type: 'int', up: 'length("select")' } },
      { create_index: { table: 'My Schema.Order Items', name: 'Order Items "E-Mail" idx', columns: ['E-Mail'], unique: true } },
    ],
  };

  beforeAll(async () => {
    await db.query(`CREATE SCHEMA "My Schema"`);
    await db.query(`CREATE TABLE ${table} ("Key" int PRIMARY KEY, "E-Mail" text NOT NULL, "select" text)`);
    await db.query(`INSERT INTO ${table} SELECT g, 'Q' || g || '@X.COM', 's' || g FROM generate_series(1, 300) g`);
  });

  it('rolls back exactly and completes, with both applications writing', async () => {
    const engine = engineFor(db.pool);
    const steps = stepsFor(engine.store, db.pool);
    const original = await tableState(db.pool, table, '"Key"');
    const first = await engine.open(doc);
    await steps.expand(first.id);
    await steps.dualWrite(first.id);
    await steps.rollback(first.id);
    expect(await tableState(db.pool, table, '"Key"')).toEqual(original);

    const run = await engine.open(doc);
    await steps.expand(run.id);
    await steps.dualWrite(run.id);
    const { oldApp, newApp } = await applications(db, name);
    await oldApp.query(`INSERT INTO ${table} VALUES (1001, 'Old@X.COM', 'abc')`);
    await newApp.query(`INSERT INTO "Order Items" ("Key", "E-Mail", "Where Clause", "it's") VALUES (1002, 'new@x.com', 'wxyz', 4)`);
    await backfillAndVerify(steps, run.id);
    await steps.contract(run.id);

    const after = await tableState(db.pool, table, '"Key"');
    expect(after.schema.columns.map((c) => c.name)).toEqual(['Key', 'Where Clause', 'E-Mail', "it's"]);
    const indexes = await db.query(`SELECT indexdef FROM pg_indexes WHERE schemaname = 'My Schema' AND tablename = 'Order Items'`);
    expect(indexes.rows.map((i) => i.indexdef)).toContain(
      'CREATE UNIQUE INDEX "Order Items ""E-Mail"" idx" ON "My Schema"."Order Items" USING btree ("E-Mail")',
    );
    const rows = await db.query(`SELECT "Key", "E-Mail"::text AS e, "Where Clause" AS w, "it's" AS n FROM ${table} WHERE "Key" IN (1, 1001, 1002) ORDER BY 1`);
    expect(rows.rows).toEqual([
      { Key: 1, e: 'q1@x.com', w: 's1', n: 2 },
      { Key: 1001, e: 'old@x.com', w: 'abc', n: 3 },
      { Key: 1002, e: 'new@x.com', w: 'wxyz', n: 4 },
    ]);
  });
});

describe('alter_column then rename_column of the same column', () => {
  beforeAll(async () => {
    await db.query(`CREATE TABLE contacts (id int PRIMARY KEY, email text NOT NULL)`);
    await db.query(`INSERT INTO contacts SELECT g, 'C' || g || '@X.COM' FROM generate_series(1, 300) g`);
  });

  it('the alter’s down keeps its own names: new-application writes through the renamed column reach the old one', async () => {
    const engine = engineFor(db.pool);
    const steps = stepsFor(engine.store, db.pool);
    const name = 'mo_alter_rename';
    const run = await engine.open({
      name,
      settings: SMALL_BATCHES,
      operations: [
        { alter_column: { table: 'contacts', column: 'email', type: 'citext', up: 'lower(email)', down: 'email::text' } },
        { rename_column: { table: 'contacts', from: 'email', to: 'contact' } },
      ],
    });
    await steps.expand(run.id);
    await steps.dualWrite(run.id);
    const { oldApp, newApp } = await applications(db, name);
    await newApp.query(`INSERT INTO contacts (id, contact) VALUES (1001, 'new@x.com')`);
    await oldApp.query(`INSERT INTO contacts (id, email) VALUES (1002, 'Old@X.COM')`);
    const base = await db.query(`SELECT id, email, _bellows_new_email::text AS new FROM contacts WHERE id > 1000 ORDER BY id`);
    expect(base.rows).toEqual([
      { id: 1001, email: 'new@x.com', new: 'new@x.com' },
      { id: 1002, email: 'Old@X.COM', new: 'old@x.com' },
    ]);
    await backfillAndVerify(steps, run.id);
    await newApp.query(`UPDATE contacts SET contact = 'changed@x.com' WHERE id = 1`);
    expect((await oldApp.query(`SELECT email FROM contacts WHERE id = 1`)).rows[0].email).toBe('changed@x.com');
    await backfillAndVerify(steps, run.id); // verify again after the last write
    await steps.contract(run.id);
    const after = await tableState(db.pool, 'public.contacts');
    expect(after.schema.columns.map((c) => [c.name, c.type])).toEqual([
      ['id', 'integer'],
      ['contact', 'citext'],
    ]);
    const rows = await db.query(`SELECT id, contact::text AS contact FROM contacts WHERE id IN (1, 2, 1001, 1002) ORDER BY id`);
    expect(rows.rows.map((r) => r.contact)).toEqual(['changed@x.com', 'c2@x.com', 'new@x.com', 'old@x.com']);
  });
});

describe('names at PostgreSQL’s 63-byte limit', () => {
  it('shadow column, check and index copies get shortened names; rollback and contract find them', async () => {
    const col = 'c'.repeat(63);
    const tbl = 't'.repeat(63);
    await db.query(`CREATE TABLE ${tbl} (id int PRIMARY KEY, ${col} text NOT NULL)`);
    await db.query(`CREATE UNIQUE INDEX ${'i'.repeat(63)} ON ${tbl} (${col})`);
    await db.query(`INSERT INTO ${tbl} SELECT g, 'E' || g FROM generate_series(1, 250) g`);
    const engine = engineFor(db.pool);
    const doc = { name: 'l'.repeat(50), settings: SMALL_BATCHES, operations: [{ alter_column: { table: tbl, column: col, type: 'citext', up: `lower(${col})`, down: `${col}::text` } }] };
    const original = await tableState(db.pool, `public.${tbl}`);
    const run = await engine.open(doc);
    expect(await engine.executor.drive(run, { stopAtGate: true })).toBe('awaiting_approval');
    await engine.store.setDesired(run.id, { abort: true }, 'rollback');
    expect(await engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true })).toBe('rolled_back');
    expect(await tableState(db.pool, `public.${tbl}`)).toEqual(original);
    expect((await engine.runToEnd(doc)).status).toBe('completed');
    const after = await tableState(db.pool, `public.${tbl}`);
    expect(after.schema.columns.map((c) => [c.name, c.type, c.not_null])).toEqual([
      ['id', 'integer', true],
      [col, 'citext', true],
    ]);
    expect(after.schema.indexes.map((i) => i.indexdef)).toContain(`CREATE UNIQUE INDEX ${'i'.repeat(63)} ON public.${tbl} USING btree (${col})`);
    expect(after.schema.constraints.map((c) => c.conname)).toEqual([`${'t'.repeat(58)}_pkey`]);
  });
});
