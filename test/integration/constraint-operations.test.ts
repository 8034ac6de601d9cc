import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { engineFor } from '../helpers/engine.ts';
import { SMALL_BATCHES, backfillAll, stepsFor } from '../helpers/lifecycle.ts';
import { catalogSnapshot, describe as show, runCli, scratchDir, stderrLines, tableDigest } from '../helpers/cli.ts';
import { createSampleTable } from '../../src/demo/sample.ts';
import { RunFailedError } from '../../src/errors.ts';

/**
 * The constraint operations through every phase: rolled back from expand, verify
 * and the gate, the whole catalog is exactly as before; run to the end, the
 * constraint is as pg_constraint should show it. Writes by an application are
 * checked from expand on, and a dropped constraint holds until contract.
 */

interface Constraint {
  contype: string;
  convalidated: boolean;
  def: string;
}

async function constraintOf(db: TestDatabase, table: string, name: string): Promise<Constraint | undefined> {
  const { rows } = await db.query<Constraint>(
    `SELECT contype::text, convalidated, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = $1::regclass AND conname = $2`,
    [table, name],
  );
  return rows[0];
}

async function indexValid(db: TestDatabase, name: string): Promise<boolean | undefined> {
  const { rows } = await db.query(`SELECT indisvalid AS v FROM pg_index WHERE indexrelid = to_regclass($1)`, [`public.${name}`]);
  return rows[0]?.v;
}

interface Case {
  name: string;
  table: string;
  setup: string[];
  operation: Record<string, unknown>;
  /** After expand, before verify. */
  afterExpand: (db: TestDatabase) => Promise<void>;
  /** At the gate: verified, nothing destructive done; an application's writes meet the constraint as the old application expects. */
  atGate: (db: TestDatabase) => Promise<void>;
  afterContract: (db: TestDatabase) => Promise<void>;
}

const ROWS = 'generate_series(1, 300) g';

const cases: Case[] = [
  {
    name: 'create_constraint check',
    table: 'chk',
    setup: [`CREATE TABLE chk (id bigserial PRIMARY KEY, qty int)`, `INSERT INTO chk (qty) SELECT CASE WHEN g % 7 = 0 THEN NULL ELSE g % 10 END FROM ${ROWS}`],
    operation: { create_constraint: { table: 'chk', name: 'chk_qty_nonneg', type: 'check', columns: ['qty'], check: 'qty >= 0' } },
    async afterExpand(db) {
      expect(await constraintOf(db, 'chk', 'chk_qty_nonneg')).toEqual({ contype: 'c', convalidated: false, def: 'CHECK ((qty >= 0)) NOT VALID' });
      // From expand on, a write that breaks it is refused, whichever application makes it.
      await expect(db.query(`INSERT INTO chk (qty) VALUES (-1)`)).rejects.toThrow(/violates check constraint "chk_qty_nonneg"/);
    },
    async atGate(db) {
      expect(await constraintOf(db, 'chk', 'chk_qty_nonneg')).toEqual({ contype: 'c', convalidated: true, def: 'CHECK ((qty >= 0))' });
    },
    async afterContract(db) {
      expect(await constraintOf(db, 'chk', 'chk_qty_nonneg')).toEqual({ contype: 'c', convalidated: true, def: 'CHECK ((qty >= 0))' });
      await expect(db.query(`UPDATE chk SET qty = -5 WHERE id = 1`)).rejects.toThrow(/chk_qty_nonneg/);
    },
  },
  {
    name: 'create_constraint foreign_key with on_delete',
    table: 'fkc',
    setup: [
      `CREATE TABLE fkp (id bigserial PRIMARY KEY)`,
      `INSERT INTO fkp SELECT g FROM generate_series(1, 50) g`,
      `CREATE TABLE fkc (id bigserial PRIMARY KEY, parent_id bigint)`,
      `INSERT INTO fkc (parent_id) SELECT CASE WHEN g % 5 = 0 THEN NULL ELSE g % 50 + 1 END FROM ${ROWS}`,
    ],
    operation: {
      create_constraint: { table: 'fkc', name: 'fkc_parent_fkey', type: 'foreign_key', columns: ['parent_id'], references: { table: 'fkp', columns: ['id'] }, on_delete: 'cascade' },
    },
    async afterExpand(db) {
      expect(await constraintOf(db, 'fkc', 'fkc_parent_fkey')).toEqual({
        contype: 'f',
        convalidated: false,
        def: 'FOREIGN KEY (parent_id) REFERENCES fkp(id) ON DELETE CASCADE NOT VALID',
      });
      await expect(db.query(`INSERT INTO fkc (parent_id) VALUES (999)`)).rejects.toThrow(/violates foreign key constraint "fkc_parent_fkey"/);
    },
    async atGate(db) {
      expect(await constraintOf(db, 'fkc', 'fkc_parent_fkey')).toMatchObject({ convalidated: true });
    },
    async afterContract(db) {
      expect(await constraintOf(db, 'fkc', 'fkc_parent_fkey')).toEqual({ contype: 'f', convalidated: true, def: 'FOREIGN KEY (parent_id) REFERENCES fkp(id) ON DELETE CASCADE' });
      await db.query(`DELETE FROM fkp WHERE id = 2`);
      expect((await db.query(`SELECT count(*)::int AS n FROM fkc WHERE parent_id = 2`)).rows[0].n).toBe(0);
    },
  },
  {
    name: 'create_constraint unique',
    table: 'unq',
    setup: [`CREATE TABLE unq (id bigserial PRIMARY KEY, code text)`, `INSERT INTO unq (code) SELECT CASE WHEN g % 9 = 0 THEN NULL ELSE 'c' || g END FROM ${ROWS}`],
    operation: { create_constraint: { table: 'unq', name: 'unq_code_key', type: 'unique', columns: ['code'] } },
    async afterExpand(db) {
      // Only the index until contract; it refuses duplicates already (NULLs stay distinct).
      expect(await indexValid(db, 'unq_code_key')).toBe(true);
      expect(await constraintOf(db, 'unq', 'unq_code_key')).toBeUndefined();
      await expect(db.query(`INSERT INTO unq (code) VALUES ('c1')`)).rejects.toThrow(/duplicate key value violates unique constraint "unq_code_key"/);
    },
    async atGate(db) {
      expect(await constraintOf(db, 'unq', 'unq_code_key')).toBeUndefined();
      await db.query(`INSERT INTO unq (code) VALUES (NULL), (NULL)`);
    },
    async afterContract(db) {
      expect(await constraintOf(db, 'unq', 'unq_code_key')).toEqual({ contype: 'u', convalidated: true, def: 'UNIQUE (code)' });
      await db.query(`INSERT INTO unq (code) VALUES ('new') ON CONFLICT ON CONSTRAINT unq_code_key DO NOTHING`);
    },
  },
  {
    name: 'alter_column check and comment, in place',
    table: 'acp_chk',
    setup: [`CREATE TABLE acp_chk (id bigserial PRIMARY KEY, qty int)`, `INSERT INTO acp_chk (qty) SELECT CASE WHEN g % 7 = 0 THEN NULL ELSE g % 10 END FROM ${ROWS}`],
    operation: { alter_column: { table: 'acp_chk', column: 'qty', check: { name: 'acp_chk_qty_nonneg', expression: 'qty >= 0' }, comment: 'never negative' } },
    async afterExpand(db) {
      expect(await constraintOf(db, 'acp_chk', 'acp_chk_qty_nonneg')).toEqual({ contype: 'c', convalidated: false, def: 'CHECK ((qty >= 0)) NOT VALID' });
      await expect(db.query(`INSERT INTO acp_chk (qty) VALUES (-1)`)).rejects.toThrow(/violates check constraint "acp_chk_qty_nonneg"/);
    },
    async atGate(db) {
      expect(await constraintOf(db, 'acp_chk', 'acp_chk_qty_nonneg')).toEqual({ contype: 'c', convalidated: true, def: 'CHECK ((qty >= 0))' });
    },
    async afterContract(db) {
      expect(await constraintOf(db, 'acp_chk', 'acp_chk_qty_nonneg')).toEqual({ contype: 'c', convalidated: true, def: 'CHECK ((qty >= 0))' });
      const { rows } = await db.query(`SELECT col_description('acp_chk'::regclass, 2) AS comment, count(*)::int AS n FROM acp_chk`);
      expect(rows).toEqual([{ comment: 'never negative', n: 300 }]);
    },
  },
  {
    name: 'alter_column unique and nullable, in place',
    table: 'acp_unq',
    setup: [`CREATE TABLE acp_unq (id bigserial PRIMARY KEY, code text NOT NULL)`, `INSERT INTO acp_unq (code) SELECT 'c' || g FROM ${ROWS}`],
    operation: { alter_column: { table: 'acp_unq', column: 'code', unique: { name: 'acp_unq_code_key' }, nullable: true } },
    async afterExpand(db) {
      expect(await indexValid(db, 'acp_unq_code_key')).toBe(true);
      expect(await constraintOf(db, 'acp_unq', 'acp_unq_code_key')).toBeUndefined();
      await expect(db.query(`INSERT INTO acp_unq (code) VALUES ('c1')`)).rejects.toThrow(/duplicate key value violates unique constraint "acp_unq_code_key"/);
    },
    async atGate(db) {
      // NOT NULL holds for the old application until contract.
      await expect(db.query(`INSERT INTO acp_unq (code) VALUES (NULL)`)).rejects.toThrow(/null value/);
    },
    async afterContract(db) {
      expect(await constraintOf(db, 'acp_unq', 'acp_unq_code_key')).toEqual({ contype: 'u', convalidated: true, def: 'UNIQUE (code)' });
      await db.query(`INSERT INTO acp_unq (code) VALUES (NULL), (NULL)`);
    },
  },
  {
    name: 'alter_column references and default, in place',
    table: 'acp_fk',
    setup: [
      `CREATE TABLE acp_parent (id bigint PRIMARY KEY)`,
      `INSERT INTO acp_parent SELECT g FROM generate_series(1, 50) g`,
      `CREATE TABLE acp_fk (id bigserial PRIMARY KEY, parent_id bigint)`,       `INSERT INTO acp_fk (parent_id) SELECT CASE WHEN g % 4 = 0 THEN NULL ELSE g % 50 + 1 END FROM ${ROWS}`,
    ],
    operation: { alter_column: { table: 'acp_fk', column: 'parent_id', references: { name: 'acp_fk_parent_fkey', table: 'acp_parent', column: 'id', on_delete: 'set null' }, default: '1' } },
    async afterExpand(db) {
      expect(await constraintOf(db, 'acp_fk', 'acp_fk_parent_fkey')).toEqual({ contype: 'f', convalidated: false, def: 'FOREIGN KEY (parent_id) REFERENCES acp_parent(id) ON DELETE SET NULL NOT VALID' });
      await expect(db.query(`INSERT INTO acp_fk (parent_id) VALUES (999)`)).rejects.toThrow(/violates foreign key constraint "acp_fk_parent_fkey"/);
    },
    async atGate(db) {
      expect(await constraintOf(db, 'acp_fk', 'acp_fk_parent_fkey')).toMatchObject({ convalidated: true });
      // The old application keeps its default until contract.
      expect((await db.query(`INSERT INTO acp_fk DEFAULT VALUES RETURNING parent_id`)).rows).toEqual([{ parent_id: null }]);
    },
    async afterContract(db) {
      expect(await constraintOf(db, 'acp_fk', 'acp_fk_parent_fkey')).toEqual({ contype: 'f', convalidated: true, def: 'FOREIGN KEY (parent_id) REFERENCES acp_parent(id) ON DELETE SET NULL' });
      expect((await db.query(`INSERT INTO acp_fk DEFAULT VALUES RETURNING parent_id`)).rows).toEqual([{ parent_id: '1' }]);
    },
  },
  {
    name: 'drop_constraint check',
    table: 'drc',
    setup: [`CREATE TABLE drc (id bigserial PRIMARY KEY, qty int CONSTRAINT drc_qty_check CHECK (qty > 0))`, `INSERT INTO drc (qty) SELECT g FROM ${ROWS}`],
    operation: { drop_constraint: { table: 'drc', name: 'drc_qty_check' } },
    async afterExpand(db) {
      await expect(db.query(`INSERT INTO drc (qty) VALUES (0)`)).rejects.toThrow(/drc_qty_check/);
    },
    async atGate(db) {
      // The old application relies on it until contract.
      expect(await constraintOf(db, 'drc', 'drc_qty_check')).toEqual({ contype: 'c', convalidated: true, def: 'CHECK ((qty > 0))' });
      await expect(db.query(`INSERT INTO drc (qty) VALUES (0)`)).rejects.toThrow(/drc_qty_check/);
    },
    async afterContract(db) {
      expect(await constraintOf(db, 'drc', 'drc_qty_check')).toBeUndefined();
      await db.query(`INSERT INTO drc (qty) VALUES (0)`);
    },
  },
  {
    name: 'drop_constraint unique, with its index',
    table: 'dru',
    setup: [`CREATE TABLE dru (id bigserial PRIMARY KEY, code text CONSTRAINT dru_code_key UNIQUE)`, `INSERT INTO dru (code) SELECT 'c' || g FROM ${ROWS}`],
    operation: { drop_constraint: { table: 'dru', name: 'dru_code_key' } },
    async afterExpand(db) {
      expect(await indexValid(db, 'dru_code_key')).toBe(true);
    },
    async atGate(db) {
      expect(await constraintOf(db, 'dru', 'dru_code_key')).toMatchObject({ contype: 'u' });
    },
    async afterContract(db) {
      expect(await constraintOf(db, 'dru', 'dru_code_key')).toBeUndefined();
      expect(await indexValid(db, 'dru_code_key')).toBeUndefined();
      await db.query(`INSERT INTO dru (code) VALUES ('c1')`);
    },
  },
  {
    name: 'rename_constraint unique, with its index',
    table: 'rnu',
    setup: [`CREATE TABLE rnu (id bigserial PRIMARY KEY, code text CONSTRAINT rnu_code_key UNIQUE)`, `INSERT INTO rnu (code) SELECT 'c' || g FROM ${ROWS}`],
    operation: { rename_constraint: { table: 'rnu', from: 'rnu_code_key', to: 'rnu_code_uniq' } },
    async afterExpand(db) {
      expect(await constraintOf(db, 'rnu', 'rnu_code_key')).toMatchObject({ contype: 'u' });
    },
    async atGate(db) {
      // The old application may name it (ON CONFLICT ON CONSTRAINT): the old name holds until contract.
      await db.query(`INSERT INTO rnu (code) VALUES ('c1') ON CONFLICT ON CONSTRAINT rnu_code_key DO NOTHING`);
      expect(await constraintOf(db, 'rnu', 'rnu_code_uniq')).toBeUndefined();
    },
    async afterContract(db) {
      expect(await constraintOf(db, 'rnu', 'rnu_code_key')).toBeUndefined();
      expect(await constraintOf(db, 'rnu', 'rnu_code_uniq')).toEqual({ contype: 'u', convalidated: true, def: 'UNIQUE (code)' });
      expect(await indexValid(db, 'rnu_code_uniq')).toBe(true);
    },
  },
];

type Stop = 'expand' | 'verify' | 'gate';
const STOPS: Stop[] = ['expand', 'verify', 'gate'];

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
  for (const c of cases) for (const sql of c.setup) await db.query(sql);
  await createSampleTable(db.pool, 500);
  await db.query('ANALYZE');
});

describe.each(cases.map((c, i) => ({ ...c, i })))('$name', (c) => {
  const doc = (attempt: string) => ({ name: `con_${c.i}_${attempt}`, settings: SMALL_BATCHES, operations: [c.operation] });

  it.each(STOPS)('rolled back from %s: the catalog and the rows are exactly as before', async (stop) => {
    const engine = engineFor(db.pool);
    const steps = stepsFor(engine.store, db.pool);
    const run = await engine.open(doc(`rb_${stop}`));
    const before = { catalog: await catalogSnapshot(db.pool), rows: await tableDigest(db.pool, c.table) };
    await steps.expand(run.id);
    if (stop === 'expand') await c.afterExpand(db);
    if (stop === 'verify') {
      await steps.dualWrite(run.id);
      await backfillAll(steps, run.id);
      await steps.prepareVerify(run.id);
      expect((await engine.store.getRun(run.id)).phase).toBe('verify');
    }
    if (stop === 'gate') expect(await engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true })).toBe('awaiting_approval');
    await steps.rollback(run.id);
    expect((await engine.store.getRun(run.id)).status).toBe('rolled_back');
    expect({ catalog: await catalogSnapshot(db.pool), rows: await tableDigest(db.pool, c.table) }).toEqual(before);
  });

  it('runs to the end: checked from expand on, verified at the gate, final at contract', async () => {
    const engine = engineFor(db.pool);
    const steps = stepsFor(engine.store, db.pool);
    const run = await engine.open(doc('run'));
    await steps.expand(run.id);
    await c.afterExpand(db);
    expect(await engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true })).toBe('awaiting_approval');
    await c.atGate(db);
    await engine.store.setDesired(run.id, { approved: true }, 'approve');
    expect(await engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true })).toBe('completed');
    await c.afterContract(db);
  });
});

describe('create_constraint unique whose build fails on duplicates written after the plan was made', () => {
  it('rolls itself back, its INVALID index included', async () => {
    await db.query(`CREATE TABLE unqdup (id bigserial PRIMARY KEY, code text)`);
    await db.query(`INSERT INTO unqdup (code) SELECT 'c' || g FROM ${ROWS}`);
    const engine = engineFor(db.pool);
    const run = await engine.open({ name: 'con_unqdup', operations: [{ create_constraint: { table: 'unqdup', name: 'unqdup_code_key', type: 'unique', columns: ['code'] } }] });
    const before = await catalogSnapshot(db.pool);
    await db.query(`INSERT INTO unqdup (code) VALUES ('c1')`);
    const err = await engine.executor.drive(run, { stopAtGate: true }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(RunFailedError);
    expect((err as Error).message).toMatch(/expand failed and was rolled back.*could not create unique index "unqdup_code_key"/);
    expect(await catalogSnapshot(db.pool)).toEqual(before);
  });
});

describe('a refused constraint operation through the CLI', () => {
  it('drop_constraint of a primary key: exit 2, one line naming the field, nothing changed', async () => {
    const file = scratchDir().write('bad.yaml', 'name: con_drop_pkey\noperations:\n  - drop_constraint: { table: chk, name: chk_pkey }\n');
    const before = await catalogSnapshot(db.pool);
    const result = await runCli(['start', file, '--no-progress'], { db: db.url });
    expect(result.code, show(result)).toBe(2);
    expect(stderrLines(result)).toEqual(['bellows: operations[0].drop_constraint.name: "chk_pkey" is the primary key; bellows walks tables by their key and does not drop one']);
    expect(await catalogSnapshot(db.pool)).toEqual(before);
  });
});
