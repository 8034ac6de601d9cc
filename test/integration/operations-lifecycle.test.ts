import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { engineFor, schemaSnapshot } from '../helpers/engine.ts';
import { SMALL_BATCHES, stepsFor, tableState } from '../helpers/lifecycle.ts';

/**
 * Every operation through start → check → rollback → check → start → complete →
 * check (pgroll's op_common_test). Each case has its own table, so the cases
 * share one database and run one after another.
 */

interface Case {
  name: string;
  /** Creates and fills `public.<table>`. */
  setup: string[];
  table: string;
  operation: Record<string, unknown>;
  /** After expand and dual-write: the objects the new version needs. */
  afterStart: (db: TestDatabase, playbook: string, atGate: boolean) => Promise<void>;
  /** The final shape of the table. */
  afterComplete: (db: TestDatabase) => Promise<void>;
  /** Rows the original table implies (`before`, run on the original) must equal the final rows (`after`). */
  data: { before: string; after: string };
}

const ROWS = 'generate_series(1, 450) g';

async function columns(db: TestDatabase, schema: string, table: string): Promise<string[]> {
  const { rows } = await db.query(
    `SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`,
    [schema, table],
  );
  return rows.map((r) => r.column_name as string);
}

async function column(db: TestDatabase, table: string, name: string) {
  return (await schemaSnapshot(db.pool, `public.${table}`)).columns.find((c) => c.name === name);
}

async function triggers(db: TestDatabase, table: string): Promise<string[]> {
  return (await schemaSnapshot(db.pool, `public.${table}`)).triggers.map((t) => t.tgname as string);
}

async function constraints(db: TestDatabase, table: string): Promise<Array<{ conname: string; def: string }>> {
  return (await schemaSnapshot(db.pool, `public.${table}`)).constraints as Array<{ conname: string; def: string }>;
}

async function indexDefs(db: TestDatabase, table: string): Promise<string[]> {
  return (await schemaSnapshot(db.pool, `public.${table}`)).indexes.map((i) => i.indexdef as string);
}

async function indexValid(db: TestDatabase, name: string): Promise<boolean | undefined> {
  const { rows } = await db.query(`SELECT indisvalid AS v FROM pg_index WHERE indexrelid = to_regclass($1)`, [`public.${name}`]);
  return rows[0]?.v;
}

const cases: Case[] = [
  {
    name: 'add_column nullable',
    table: 'acn',
    setup: [`CREATE TABLE acn (id bigserial PRIMARY KEY, name text)`, `INSERT INTO acn (name) SELECT 'n' || g FROM ${ROWS}`],
    operation: { add_column: { table: 'acn', name: 'nickname', type: 'text' } },
    async afterStart(db, playbook) {
      expect(await column(db, 'acn', 'nickname')).toMatchObject({ type: 'text', not_null: false });
      expect(await columns(db, playbook, 'acn')).toEqual(['id', 'name', 'nickname']);
      expect(await triggers(db, 'acn')).toEqual([]);
    },
    async afterComplete(db) {
      expect(await column(db, 'acn', 'nickname')).toMatchObject({ type: 'text', not_null: false, default: null });
    },
    data: { before: `SELECT id, name, NULL::text AS nickname FROM acn ORDER BY id`, after: `SELECT id, name, nickname FROM acn ORDER BY id` },
  },
  {
    name: 'add_column NOT NULL with default',
    table: 'acd',
    setup: [`CREATE TABLE acd (id bigserial PRIMARY KEY, name text)`, `INSERT INTO acd (name) SELECT 'n' || g FROM ${ROWS}`],
    operation: { add_column: { table: 'acd', name: 'plan', type: 'text', nullable: false, default: `'free'` } },
    async afterStart(db, playbook, atGate) {
      // NOT NULL only at contract; meanwhile a check guards new writes, NOT VALID until verify validated it.
      expect(await column(db, 'acd', 'plan')).toMatchObject({ type: 'text', not_null: false, default: `'free'::text` });
      expect(await constraints(db, 'acd')).toContainEqual({
        conname: '_bellows_nn_0_plan',
        def: `CHECK ((plan IS NOT NULL))${atGate ? '' : ' NOT VALID'}`,
      });
      expect(await triggers(db, 'acd')).toHaveLength(1);
      expect(await columns(db, playbook, 'acd')).toEqual(['id', 'name', 'plan']);
    },
    async afterComplete(db) {
      expect(await column(db, 'acd', 'plan')).toMatchObject({ type: 'text', not_null: true, default: `'free'::text` });
      expect((await constraints(db, 'acd')).map((c) => c.conname)).toEqual(['acd_pkey']);
      expect(await triggers(db, 'acd')).toEqual([]);
    },
    data: { before: `SELECT id, name, 'free' AS plan FROM acd ORDER BY id`, after: `SELECT id, name, plan FROM acd ORDER BY id` },
  },
  {
    name: 'add_column computed by up from existing columns',
    table: 'acu',
    setup: [
      `CREATE TABLE acu (id int PRIMARY KEY, first_name text NOT NULL, last_name text)`,
      `INSERT INTO acu SELECT g, 'f' || g, CASE WHEN g % 7 = 0 THEN NULL ELSE 'l' || g END FROM ${ROWS}`,
    ],
    operation: { add_column: { table: 'acu', name: 'full_name', type: 'text', up: `first_name || coalesce(' ' || last_name, '')` } },
    async afterStart(db, playbook) {
      expect(await column(db, 'acu', 'full_name')).toMatchObject({ type: 'text' });
      expect(await triggers(db, 'acu')).toHaveLength(1);
      expect(await columns(db, playbook, 'acu')).toEqual(['id', 'first_name', 'last_name', 'full_name']);
    },
    async afterComplete(db) {
      expect(await column(db, 'acu', 'full_name')).toMatchObject({ type: 'text', not_null: false });
      expect(await triggers(db, 'acu')).toEqual([]);
    },
    data: {
      before: `SELECT id, first_name || coalesce(' ' || last_name, '') AS full_name FROM acu ORDER BY id`,
      after: `SELECT id, full_name FROM acu ORDER BY id`,
    },
  },
  {
    name: 'alter_column text to citext with lower()',
    table: 'alc',
    setup: [
      `CREATE TABLE alc (id bigserial PRIMARY KEY, email text NOT NULL, note text)`,
      `CREATE UNIQUE INDEX alc_email_key ON alc (email)`,
      `INSERT INTO alc (email, note) SELECT 'User' || g || '@Example.COM', 'x' FROM ${ROWS}`,
    ],
    operation: { alter_column: { table: 'alc', column: 'email', type: 'citext', up: 'lower(email)', down: 'email::text' } },
    async afterStart(db, playbook) {
      expect(await column(db, 'alc', '_bellows_new_email')).toMatchObject({ type: 'citext', not_null: false });
      expect(await column(db, 'alc', 'email')).toMatchObject({ type: 'text', not_null: true });
      expect(await triggers(db, 'alc')).toHaveLength(1);
      expect(await indexValid(db, '_bellows_ix_0_alc_email_key')).toBe(true);
      expect(await columns(db, playbook, 'alc')).toEqual(['id', 'email', 'note']);
      const { rows } = await db.query(
        `SELECT data_type, udt_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'alc' AND column_name = 'email'`,
        [playbook],
      );
      expect(rows[0].udt_name).toBe('citext');
    },
    async afterComplete(db) {
      expect(await columns(db, 'public', 'alc')).toEqual(['id', 'note', 'email']);
      expect(await column(db, 'alc', 'email')).toMatchObject({ type: 'citext', not_null: true });
      expect(await indexDefs(db, 'alc')).toContain('CREATE UNIQUE INDEX alc_email_key ON public.alc USING btree (email)');
      expect((await constraints(db, 'alc')).map((c) => c.conname)).toEqual(['alc_pkey']);
      expect(await triggers(db, 'alc')).toEqual([]);
    },
    data: { before: `SELECT id, lower(email) AS email, note FROM alc ORDER BY id`, after: `SELECT id, email::text AS email, note FROM alc ORDER BY id` },
  },
  {
    name: 'alter_column int to bigint',
    table: 'alb',
    setup: [
      `CREATE TABLE alb (id bigserial PRIMARY KEY, qty int NOT NULL DEFAULT 0)`,
      `CREATE INDEX alb_qty_idx ON alb (qty)`,
      `INSERT INTO alb (qty) SELECT g * 1000 FROM ${ROWS}`,
    ],
    operation: { alter_column: { table: 'alb', column: 'qty', type: 'bigint', up: 'qty::bigint', down: 'qty::int' } },
    async afterStart(db) {
      expect(await column(db, 'alb', '_bellows_new_qty')).toMatchObject({ type: 'bigint' });
      expect(await indexValid(db, '_bellows_ix_0_alb_qty_idx')).toBe(true);
    },
    async afterComplete(db) {
      const qty = await column(db, 'alb', 'qty');
      expect(qty).toMatchObject({ type: 'bigint', not_null: true });
      expect(qty!.default).toMatch(/^\(?0\)?::bigint$|^'0'::bigint$/);
      expect(await indexDefs(db, 'alb')).toContain('CREATE INDEX alb_qty_idx ON public.alb USING btree (qty)');
      // The default survives: a row inserted without qty gets 0.
      const { rows } = await db.query(`INSERT INTO alb DEFAULT VALUES RETURNING qty::text`);
      expect(rows[0].qty).toBe('0');
      await db.query(`DELETE FROM alb WHERE id = (SELECT max(id) FROM alb)`);
    },
    data: { before: `SELECT id, qty::text AS qty FROM alb ORDER BY id`, after: `SELECT id, qty::text AS qty FROM alb ORDER BY id` },
  },
  {
    name: 'alter_column value transform without type change',
    table: 'alv',
    setup: [`CREATE TABLE alv (id bigserial PRIMARY KEY, code text)`, `INSERT INTO alv (code) SELECT CASE WHEN g % 5 = 0 THEN NULL ELSE ' c' || g || ' ' END FROM ${ROWS}`],
    operation: { alter_column: { table: 'alv', column: 'code', up: 'btrim(code)', down: 'code' } },
    async afterStart(db) {
      expect(await column(db, 'alv', '_bellows_new_code')).toMatchObject({ type: 'text' });
      expect(await triggers(db, 'alv')).toHaveLength(1);
    },
    async afterComplete(db) {
      expect(await column(db, 'alv', 'code')).toMatchObject({ type: 'text', not_null: false });
      expect(await triggers(db, 'alv')).toEqual([]);
    },
    data: { before: `SELECT id, btrim(code) AS code FROM alv ORDER BY id`, after: `SELECT id, code FROM alv ORDER BY id` },
  },
  {
    name: 'rename_column',
    table: 'ren',
    setup: [`CREATE TABLE ren (id bigserial PRIMARY KEY, name text NOT NULL, age int)`, `INSERT INTO ren (name, age) SELECT 'n' || g, g FROM ${ROWS}`],
    operation: { rename_column: { table: 'ren', from: 'name', to: 'full_name' } },
    async afterStart(db, playbook) {
      expect(await columns(db, 'public', 'ren')).toEqual(['id', 'name', 'age']);
      expect(await columns(db, playbook, 'ren')).toEqual(['id', 'full_name', 'age']);
    },
    async afterComplete(db) {
      expect(await columns(db, 'public', 'ren')).toEqual(['id', 'full_name', 'age']);
      expect(await column(db, 'ren', 'full_name')).toMatchObject({ type: 'text', not_null: true });
    },
    data: { before: `SELECT id, name AS v, age FROM ren ORDER BY id`, after: `SELECT id, full_name AS v, age FROM ren ORDER BY id` },
  },
  {
    name: 'drop_column without down',
    table: 'dro',
    setup: [`CREATE TABLE dro (id bigserial PRIMARY KEY, name text, legacy text)`, `INSERT INTO dro (name, legacy) SELECT 'n' || g, 'l' || g FROM ${ROWS}`],
    operation: { drop_column: { table: 'dro', column: 'legacy' } },
    async afterStart(db, playbook) {
      expect(await columns(db, 'public', 'dro')).toEqual(['id', 'name', 'legacy']);
      expect(await columns(db, playbook, 'dro')).toEqual(['id', 'name']);
      expect(await triggers(db, 'dro')).toEqual([]);
    },
    async afterComplete(db) {
      expect(await columns(db, 'public', 'dro')).toEqual(['id', 'name']);
    },
    data: { before: `SELECT id, name FROM dro ORDER BY id`, after: `SELECT id, name FROM dro ORDER BY id` },
  },
  {
    name: 'drop_column NOT NULL with down',
    table: 'drd',
    setup: [`CREATE TABLE drd (id bigserial PRIMARY KEY, name text, legacy text NOT NULL)`, `INSERT INTO drd (name, legacy) SELECT 'n' || g, 'l' || g FROM ${ROWS}`],
    operation: { drop_column: { table: 'drd', column: 'legacy', down: `'legacy-of-' || name` } },
    async afterStart(db, playbook) {
      expect(await columns(db, playbook, 'drd')).toEqual(['id', 'name']);
      expect(await triggers(db, 'drd')).toHaveLength(1);
    },
    async afterComplete(db) {
      expect(await columns(db, 'public', 'drd')).toEqual(['id', 'name']);
      expect(await triggers(db, 'drd')).toEqual([]);
    },
    data: { before: `SELECT id, name FROM drd ORDER BY id`, after: `SELECT id, name FROM drd ORDER BY id` },
  },
  {
    name: 'create_index plain',
    table: 'cip',
    setup: [`CREATE TABLE cip (id bigserial PRIMARY KEY, score int)`, `INSERT INTO cip (score) SELECT g % 50 FROM ${ROWS}`],
    operation: { create_index: { table: 'cip', name: 'cip_score_idx', columns: ['score'] } },
    async afterStart(db) {
      expect(await indexValid(db, 'cip_score_idx')).toBe(true);
    },
    async afterComplete(db) {
      expect(await indexDefs(db, 'cip')).toContain('CREATE INDEX cip_score_idx ON public.cip USING btree (score)');
      expect(await indexValid(db, 'cip_score_idx')).toBe(true);
    },
    data: { before: `SELECT id, score FROM cip ORDER BY id`, after: `SELECT id, score FROM cip ORDER BY id` },
  },
  {
    name: 'create_index unique',
    table: 'ciu',
    setup: [`CREATE TABLE ciu (id bigserial PRIMARY KEY, email text)`, `INSERT INTO ciu (email) SELECT 'e' || g FROM ${ROWS}`],
    operation: { create_index: { table: 'ciu', name: 'ciu_email_key', columns: ['email'], unique: true } },
    async afterStart(db) {
      expect(await indexValid(db, 'ciu_email_key')).toBe(true);
    },
    async afterComplete(db) {
      expect(await indexDefs(db, 'ciu')).toContain('CREATE UNIQUE INDEX ciu_email_key ON public.ciu USING btree (email)');
      await expect(db.query(`INSERT INTO ciu (email) VALUES ('e1')`)).rejects.toThrow(/duplicate key value violates unique constraint "ciu_email_key"/);
    },
    data: { before: `SELECT id, email FROM ciu ORDER BY id`, after: `SELECT id, email FROM ciu ORDER BY id` },
  },
  {
    name: 'create_index unique partial',
    table: 'cix',
    setup: [
      `CREATE TABLE cix (id bigserial PRIMARY KEY, email text, active boolean NOT NULL)`,
      // Duplicates only among inactive rows: a partial unique index accepts them.
      `INSERT INTO cix (email, active) SELECT CASE WHEN g % 2 = 0 THEN 'e' || g ELSE 'old' END, g % 2 = 0 FROM ${ROWS}`,
    ],
    operation: { create_index: { table: 'cix', name: 'cix_active_email', columns: ['email'], unique: true, where: 'active' } },
    async afterStart(db) {
      expect(await indexValid(db, 'cix_active_email')).toBe(true);
    },
    async afterComplete(db) {
      expect(await indexDefs(db, 'cix')).toContain('CREATE UNIQUE INDEX cix_active_email ON public.cix USING btree (email) WHERE active');
      await db.query(`INSERT INTO cix (email, active) VALUES ('old', false)`);
      await expect(db.query(`INSERT INTO cix (email, active) VALUES ('e2', true)`)).rejects.toThrow(/cix_active_email/);
      await db.query(`DELETE FROM cix WHERE id = (SELECT max(id) FROM cix)`);
    },
    data: { before: `SELECT id, email, active FROM cix ORDER BY id`, after: `SELECT id, email, active FROM cix ORDER BY id` },
  },
];

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
  for (const c of cases) for (const sql of c.setup) await db.query(sql);
  await db.query('ANALYZE');
});

describe.each(cases.map((c, i) => ({ ...c, playbook: `lc_${i}_${c.table}` })))('$name', (c) => {
  it('start → check → rollback → exactly the original → start again → complete → final shape and data', async () => {
    const engine = engineFor(db.pool);
    const steps = stepsFor(engine.store, db.pool);
    const doc = { name: c.playbook, settings: SMALL_BATCHES, operations: [c.operation] };
    const original = await tableState(db.pool, `public.${c.table}`);
    const expected = (await db.query(c.data.before)).rows;

    // start: expand and dual-write
    const first = await engine.open(doc);
    await steps.expand(first.id);
    await steps.dualWrite(first.id);
    await c.afterStart(db, c.playbook, false);

    // rollback: the schema, the functions, the schemas and the rows are exactly as before
    await steps.rollback(first.id);
    expect((await engine.store.getRun(first.id)).status).toBe('rolled_back');
    expect(await tableState(db.pool, `public.${c.table}`)).toEqual(original);

    // the same playbook may start again after a rollback, as a new run
    const second = await engine.open(doc);
    expect(second.id).not.toBe(first.id);
    expect(await engine.executor.drive(second, { stopAtGate: true })).toBe('awaiting_approval');
    const atGate = await engine.store.getRun(second.id);
    expect(atGate).toMatchObject({ phase: 'gate', status: 'awaiting_approval' });
    expect(atGate.verifiedAt).not.toBeNull();
    // nothing destructive before approval
    await c.afterStart(db, c.playbook, true);

    await engine.store.setDesired(second.id, { approved: true }, 'approve');
    expect(await engine.executor.drive(atGate, { stopAtGate: true })).toBe('completed');
    expect(await engine.store.getRun(second.id)).toMatchObject({ phase: 'done', status: 'completed' });
    expect((await engine.store.history()).map((h) => h.playbookName)).toContain(c.playbook);

    await c.afterComplete(db);
    expect((await db.query(c.data.after)).rows).toEqual(expected);
    const final = await tableState(db.pool, `public.${c.table}`);
    expect(final.schemas).not.toContain(c.playbook);
    expect(final.functions).toEqual(original.functions);
  });
});
