import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { engineFor } from '../helpers/engine.ts';
import { SMALL_BATCHES, applications, stepsFor, tableState } from '../helpers/lifecycle.ts';

/**
 * Between dual-write and contract, an old application (base table, old shape)
 * and a new one (search_path = version schema, new shape through the views)
 * write at the same time. Each must see the other's writes in its own shape,
 * verify must pass, and contract must keep the right values.
 */

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
});

async function start(doc: { name: string; operations: unknown[] }) {
  const engine = engineFor(db.pool);
  const steps = stepsFor(engine.store, db.pool);
  const run = await engine.open({ settings: SMALL_BATCHES, ...doc });
  await steps.expand(run.id);
  await steps.dualWrite(run.id);
  const apps = await applications(db, doc.name);
  const backfill = async () => {
    for (const ref of await steps.prepareBackfill(run.id)) expect(await steps.walkRange(run.id, ref)).toBe('done');
    await steps.finishBackfill(run.id);
  };
  const verifyAndContract = async () => {
    for (const ref of await steps.prepareVerify(run.id)) expect(await steps.walkRange(run.id, ref)).toBe('done');
    await steps.finishVerify(run.id);
    await steps.contract(run.id);
    expect((await engine.store.getRun(run.id)).status).toBe('completed');
  };
  const complete = async () => {
    await backfill();
    await verifyAndContract();
  };
  return { engine, steps, run, ...apps, backfill, verifyAndContract, complete };
}

describe('alter_column text → citext (up lower(email), down email::text)', () => {
  beforeAll(async () => {
    await db.query(`CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL, note text)`);
    await db.query(`CREATE UNIQUE INDEX users_email_key ON users (email)`);
    await db.query(`INSERT INTO users (email, note) SELECT 'User' || g || '@Example.COM', 'n' || g FROM generate_series(1, 600) g`);
  });

  it('keeps both representations right for writes from either application, through verify and contract', async () => {
    const { oldApp, newApp, backfill, verifyAndContract } = await start({
      name: 'dw_email_citext',
      operations: [{ alter_column: { table: 'users', column: 'email', type: 'citext', up: 'lower(email)', down: 'email::text' } }],
    });
    const shadow = async (id: number) =>
      (await db.query(`SELECT email, _bellows_new_email::text AS new FROM users WHERE id = $1`, [id])).rows[0];

    // old application: base table, old column
    const oldInsert = (await oldApp.query(`INSERT INTO users (email, note) VALUES ('Old.App@Example.COM', 'old') RETURNING id`)).rows[0].id;
    expect(await shadow(oldInsert)).toEqual({ email: 'Old.App@Example.COM', new: 'old.app@example.com' });
    await oldApp.query(`UPDATE users SET email = 'Changed.By.Old@X.COM' WHERE id = 1`);
    expect(await shadow(1)).toEqual({ email: 'Changed.By.Old@X.COM', new: 'changed.by.old@x.com' });
    await oldApp.query(`UPDATE users SET note = 'touched' WHERE id = 5`);
    expect(await shadow(5)).toEqual({ email: 'User5@Example.COM', new: 'user5@example.com' });

    // new application, before the backfill: the view, where email is the citext column
    const newInsert = (await newApp.query(`INSERT INTO users (email, note) VALUES ('new.app@example.com', 'new') RETURNING id`)).rows[0].id;
    expect(await shadow(newInsert)).toEqual({ email: 'new.app@example.com', new: 'new.app@example.com' });
    // an update that does not touch email, on a row the backfill has not reached: the
    // old column stays as the old application wrote it and the new one becomes up(old)
    await newApp.query(`UPDATE users SET note = 'new touched' WHERE id = 3`);
    expect(await shadow(3)).toEqual({ email: 'User3@Example.COM', new: 'user3@example.com' });

    // The new version's reads are only complete once every existing row is backfilled.
    await backfill();
    await newApp.query(`UPDATE users SET email = 'second@example.com' WHERE id = 2`);
    expect(await shadow(2)).toEqual({ email: 'second@example.com', new: 'second@example.com' });
    await oldApp.query(`UPDATE users SET email = 'After.Backfill@X.COM' WHERE id = 4`);
    expect(await shadow(4)).toEqual({ email: 'After.Backfill@X.COM', new: 'after.backfill@x.com' });
    // a session on the default search_path that writes through the version's view by name:
    // its write is the new shape's, not lost to up over the old column
    await oldApp.query(`UPDATE "dw_email_citext".users SET email = 'qualified@example.com' WHERE id = 6`);
    expect(await shadow(6)).toEqual({ email: 'qualified@example.com', new: 'qualified@example.com' });

    // each application reads its own shape
    const seenByNew = await newApp.query(`SELECT email, pg_typeof(email)::text AS type FROM users WHERE id = 1`);
    expect(seenByNew.rows[0]).toEqual({ email: 'changed.by.old@x.com', type: 'citext' });
    const viaCitext = await newApp.query(`SELECT id FROM users WHERE email = 'USER7@EXAMPLE.COM'`);
    expect(viaCitext.rows.map((r) => Number(r.id))).toEqual([7]);
    const seenByOld = await oldApp.query(`SELECT email, pg_typeof(email)::text AS type FROM users WHERE id = $1`, [newInsert]);
    expect(seenByOld.rows[0]).toEqual({ email: 'new.app@example.com', type: 'text' });
    // the copied unique index guards the new column too
    await expect(newApp.query(`INSERT INTO users (email) VALUES ('SECOND@example.com')`)).rejects.toThrow(/duplicate key/);

    await verifyAndContract();
    const { rows } = await db.query(`SELECT id, email::text AS email, note FROM users WHERE id IN (1, 2, 3, 4, 5, 6, $1, $2) ORDER BY id`, [oldInsert, newInsert]);
    expect(rows).toEqual([
      { id: '1', email: 'changed.by.old@x.com', note: 'n1' },
      { id: '2', email: 'second@example.com', note: 'n2' },
      { id: '3', email: 'user3@example.com', note: 'new touched' },
      { id: '4', email: 'after.backfill@x.com', note: 'n4' },
      { id: '5', email: 'user5@example.com', note: 'touched' },
      { id: '6', email: 'qualified@example.com', note: 'n6' },
      { id: String(oldInsert), email: 'old.app@example.com', note: 'old' },
      { id: String(newInsert), email: 'new.app@example.com', note: 'new' },
    ]);
    const count = await db.query(`SELECT count(*)::int AS n, count(*) FILTER (WHERE email::text <> lower(email::text))::int AS bad FROM users`);
    expect(count.rows[0]).toEqual({ n: 602, bad: 0 });
  });
});

describe('alter_column int → bigint', () => {
  beforeAll(async () => {
    await db.query(`CREATE TABLE stock (id int PRIMARY KEY, qty int NOT NULL)`);
    await db.query(`INSERT INTO stock SELECT g, g FROM generate_series(1, 300) g`);
  });

  it('old writes reach the bigint column and new writes reach the int column', async () => {
    const { oldApp, newApp, backfill, verifyAndContract } = await start({
      name: 'dw_qty_bigint',
      operations: [{ alter_column: { table: 'stock', column: 'qty', type: 'bigint', up: 'qty::bigint', down: 'qty::int' } }],
    });
    await oldApp.query(`INSERT INTO stock VALUES (1001, 7)`);
    await oldApp.query(`UPDATE stock SET qty = 70 WHERE id = 10`);
    await newApp.query(`INSERT INTO stock VALUES (1002, 8)`);
    await backfill();
    await newApp.query(`UPDATE stock SET qty = qty + 1 WHERE id = 20`);
    const both = await db.query(`SELECT id, qty, _bellows_new_qty::text AS new FROM stock WHERE id IN (10, 20, 1001, 1002) ORDER BY id`);
    expect(both.rows).toEqual([
      { id: 10, qty: 70, new: '70' },
      { id: 20, qty: 21, new: '21' },
      { id: 1001, qty: 7, new: '7' },
      { id: 1002, qty: 8, new: '8' },
    ]);
    await verifyAndContract();
    const after = await db.query(`SELECT id, qty::text AS qty, pg_typeof(qty)::text AS type FROM stock WHERE id IN (10, 20, 1001, 1002) ORDER BY id`);
    expect(after.rows).toEqual([
      { id: 10, qty: '70', type: 'bigint' },
      { id: 20, qty: '21', type: 'bigint' },
      { id: 1001, qty: '7', type: 'bigint' },
      { id: 1002, qty: '8', type: 'bigint' },
    ]);
  });
});

describe('rename_column', () => {
  beforeAll(async () => {
    await db.query(`CREATE TABLE people (id bigserial PRIMARY KEY, name text NOT NULL)`);
    await db.query(`INSERT INTO people (name) SELECT 'p' || g FROM generate_series(1, 200) g`);
  });

  it('the new application writes through the new name, the old one through the old name', async () => {
    const { oldApp, newApp, complete } = await start({
      name: 'dw_rename',
      operations: [{ rename_column: { table: 'people', from: 'name', to: 'full_name' } }],
    });
    const fromNew = (await newApp.query(`INSERT INTO people (full_name) VALUES ('Ada Lovelace') RETURNING id`)).rows[0].id;
    await newApp.query(`UPDATE people SET full_name = 'Grace Hopper' WHERE id = 1`);
    const fromOld = (await oldApp.query(`INSERT INTO people (name) VALUES ('Alan Turing') RETURNING id`)).rows[0].id;
    expect((await oldApp.query(`SELECT name FROM people WHERE id = ANY($1) ORDER BY id`, [[1, fromNew]])).rows).toEqual([
      { name: 'Grace Hopper' },
      { name: 'Ada Lovelace' },
    ]);
    expect((await newApp.query(`SELECT full_name FROM people WHERE id = $1`, [fromOld])).rows).toEqual([{ full_name: 'Alan Turing' }]);
    await expect(newApp.query(`SELECT name FROM people LIMIT 1`)).rejects.toThrow(/column "name" does not exist/);
    await complete();
    const after = await db.query(`SELECT id, full_name FROM people WHERE id = ANY($1) ORDER BY id`, [[1, fromNew, fromOld]]);
    expect(after.rows.map((r) => r.full_name)).toEqual(['Grace Hopper', 'Ada Lovelace', 'Alan Turing']);
  });
});

describe('drop_column with down', () => {
  beforeAll(async () => {
    await db.query(`CREATE TABLE items (id bigserial PRIMARY KEY, name text NOT NULL, legacy_code text NOT NULL)`);
    await db.query(`INSERT INTO items (name, legacy_code) SELECT 'i' || g, 'L' || g FROM generate_series(1, 200) g`);
  });

  it('rows the new application inserts without the column get down; the old application keeps its column', async () => {
    const { oldApp, newApp, complete } = await start({
      name: 'dw_drop',
      operations: [{ drop_column: { table: 'items', column: 'legacy_code', down: `'L-' || name` } }],
    });
    const fromNew = (await newApp.query(`INSERT INTO items (name) VALUES ('widget') RETURNING id`)).rows[0].id;
    await expect(newApp.query(`SELECT legacy_code FROM items LIMIT 1`)).rejects.toThrow(/column "legacy_code" does not exist/);
    await newApp.query(`UPDATE items SET name = 'renamed' WHERE id = 1`);
    const fromOld = (await oldApp.query(`INSERT INTO items (name, legacy_code) VALUES ('gadget', 'OLD-1') RETURNING id`)).rows[0].id;
    const rows = await oldApp.query(`SELECT id, name, legacy_code FROM items WHERE id = ANY($1) ORDER BY id`, [[1, fromNew, fromOld]]);
    expect(rows.rows.map((r) => [r.name, r.legacy_code])).toEqual([
      ['renamed', 'L1'],
      ['widget', 'L-widget'],
      ['gadget', 'OLD-1'],
    ]);
    await complete();
    const after = await db.query(`SELECT name FROM items WHERE id = ANY($1) ORDER BY id`, [[1, fromNew, fromOld]]);
    expect(after.rows.map((r) => r.name)).toEqual(['renamed', 'widget', 'gadget']);
    expect((await tableState(db.pool, 'public.items')).schema.columns.map((c) => c.name)).toEqual(['id', 'name']);
  });
});

describe('add_column NOT NULL with a default', () => {
  beforeAll(async () => {
    await db.query(`CREATE TABLE accounts (id bigserial PRIMARY KEY, name text)`);
    await db.query(`INSERT INTO accounts (name) SELECT 'a' || g FROM generate_series(1, 500) g`);
  });

  it('values the new application writes on existing rows survive the backfill', async () => {
    const { oldApp, newApp, complete } = await start({
      name: 'dw_add_plan',
      operations: [{ add_column: { table: 'accounts', name: 'plan', type: 'text', nullable: false, default: `'free'` } }],
    });
    // before the backfill reaches them, the new application upgrades two existing accounts
    await newApp.query(`UPDATE accounts SET plan = 'pro' WHERE id IN (10, 400)`);
    const fromNew = (await newApp.query(`INSERT INTO accounts (name, plan) VALUES ('n', 'team') RETURNING id`)).rows[0].id;
    const fromNewDefault = (await newApp.query(`INSERT INTO accounts (name) VALUES ('d') RETURNING id`)).rows[0].id;
    const fromOld = (await oldApp.query(`INSERT INTO accounts (name) VALUES ('o') RETURNING id`)).rows[0].id;
    await expect(newApp.query(`UPDATE accounts SET plan = NULL WHERE id = 11`)).rejects.toThrow(/_bellows_nn_0_plan/);
    await complete();
    const { rows } = await db.query(`SELECT id, plan FROM accounts WHERE id = ANY($1) ORDER BY id`, [[1, 10, 400, fromNew, fromNewDefault, fromOld]]);
    expect(rows.map((r) => r.plan)).toEqual(['free', 'pro', 'pro', 'team', 'free', 'free']);
    const nulls = await db.query(`SELECT count(*)::int AS n FROM accounts WHERE plan IS NULL`);
    expect(nulls.rows[0].n).toBe(0);
  });
});

describe('add_column computed by up', () => {
  beforeAll(async () => {
    await db.query(`CREATE TABLE names (id bigserial PRIMARY KEY, first_name text NOT NULL, last_name text NOT NULL)`);
    await db.query(`INSERT INTO names (first_name, last_name) SELECT 'f' || g, 'l' || g FROM generate_series(1, 300) g`);
  });

  it('old-application writes recompute the new column', async () => {
    const { oldApp, newApp, complete } = await start({
      name: 'dw_add_full_name',
      operations: [{ add_column: { table: 'names', name: 'full_name', type: 'text', up: `first_name || ' ' || last_name` } }],
    });
    const fromOld = (await oldApp.query(`INSERT INTO names (first_name, last_name) VALUES ('Ada', 'Lovelace') RETURNING id`)).rows[0].id;
    await oldApp.query(`UPDATE names SET last_name = 'Byron' WHERE id = 3`);
    const seen = await newApp.query(`SELECT id, full_name FROM names WHERE id = ANY($1) ORDER BY id`, [[3, fromOld]]);
    expect(seen.rows.map((r) => r.full_name)).toEqual(['f3 Byron', 'Ada Lovelace']);
    // through the version's view by name from the old search_path: the value written stands
    await oldApp.query(`UPDATE "dw_add_full_name".names SET full_name = 'Lady Ada' WHERE id = $1`, [fromOld]);
    expect((await newApp.query(`SELECT full_name FROM names WHERE id = $1`, [fromOld])).rows[0].full_name).toBe('Lady Ada');
    await complete();
    const { rows } = await db.query(`SELECT id, full_name FROM names WHERE full_name IS DISTINCT FROM first_name || ' ' || last_name`);
    expect(rows).toEqual([{ id: String(fromOld), full_name: 'Lady Ada' }]);
  });

  it('an up holding the text of a dollar-quote tag is quoted whole: the trigger and the backfill both carry it', async () => {
    // The trigger body holds up and down; a fixed $bellows$ tag would end the body inside them.
    const { oldApp, newApp, complete } = await start({
      name: 'dw_dollar_tag',
      operations: [{ add_column: { table: 'names', name: 'tagged', type: 'text', up: `first_name || '$bellows$'` } }],
    });
    const fromOld = (await oldApp.query(`INSERT INTO names (first_name, last_name) VALUES ('old', 'app') RETURNING id`)).rows[0].id;
    expect((await newApp.query(`SELECT tagged FROM names WHERE id = $1`, [fromOld])).rows[0].tagged).toBe('old$bellows$');
    await complete();
    const { rows } = await db.query(`SELECT count(*)::int AS n, count(*) FILTER (WHERE tagged = first_name || '$bellows$')::int AS tagged FROM names`);
    expect(rows[0].tagged).toBe(rows[0].n);
  });
});

describe('rollback after both applications wrote', () => {
  beforeAll(async () => {
    await db.query(`CREATE TABLE contacts (id bigserial PRIMARY KEY, email text NOT NULL)`);
    await db.query(`INSERT INTO contacts (email) SELECT 'C' || g || '@X.COM' FROM generate_series(1, 300) g`);
  });

  it('keeps every row in the old shape, with the new application’s writes translated by down', async () => {
    const original = await tableState(db.pool, 'public.contacts');
    const { engine, steps, run, oldApp, newApp } = await start({
      name: 'dw_rollback',
      operations: [{ alter_column: { table: 'contacts', column: 'email', type: 'citext', up: 'lower(email)', down: 'email::text' } }],
    });
    await newApp.query(`INSERT INTO contacts (email) VALUES ('new@x.com')`);
    await newApp.query(`UPDATE contacts SET email = 'upd@x.com' WHERE id = 1`);
    await oldApp.query(`INSERT INTO contacts (email) VALUES ('Old@X.COM')`);
    await steps.rollback(run.id);
    expect((await engine.store.getRun(run.id)).status).toBe('rolled_back');
    const after = await tableState(db.pool, 'public.contacts');
    expect(after.schema).toEqual(original.schema);
    expect(after.functions).toEqual(original.functions);
    expect(after.schemas).toEqual(original.schemas);
    expect(after.rows).toHaveLength(original.rows.length + 2);
    const { rows } = await db.query(`SELECT email FROM contacts WHERE id = 1 OR id > 300 ORDER BY id`);
    expect(rows.map((r) => r.email)).toEqual(['upd@x.com', 'new@x.com', 'Old@X.COM']);
  });
});

describe('the trigger and the backfill', () => {
  beforeAll(async () => {
    await db.query(`CREATE TABLE ledger (id int PRIMARY KEY, balance int NOT NULL)`);
    await db.query(`INSERT INTO ledger SELECT g, g FROM generate_series(1, 500) g`);
  });

  it("the backfill's own UPDATE never calls the trigger function; the application's writes call it for every row", async () => {
    const { run } = await start({
      name: 'dw_when_clause',
      operations: [{ alter_column: { table: 'ledger', column: 'balance', type: 'bigint', up: 'balance::bigint', down: 'balance::int' } }],
    });
    const fn = await db.query<{ oid: number }>(
      `SELECT p.oid FROM pg_proc p JOIN pg_trigger t ON t.tgfoid = p.oid WHERE t.tgrelid = 'ledger'::regclass AND NOT t.tgisinternal`,
    );
    expect(fn.rows, `run ${run.id} installed one trigger`).toHaveLength(1);
    // The backfill's statement sets the new column itself, in a transaction it marks.
    const callsDuring = async (marked: boolean, update: string) => {
      const client = await db.pool.connect();
      try {
        await client.query('BEGIN');
        await client.query(`SET LOCAL track_functions = 'pl'`);
        if (marked) await client.query(`SELECT set_config('bellows.backfill', 'on', true)`);
        await client.query(update);
        const { rows } = await client.query<{ n: string | null }>(`SELECT pg_stat_get_xact_function_calls($1) AS n`, [fn.rows[0].oid]);
        return Number(rows[0].n ?? 0);
      } finally {
        await client.query('ROLLBACK');
        client.release();
      }
    };
    expect(await callsDuring(true, `UPDATE ledger SET _bellows_new_balance = balance::bigint WHERE id <= 100`)).toBe(0);
    expect(await callsDuring(false, `UPDATE ledger SET balance = balance WHERE id <= 100`)).toBe(100);
  });
});
