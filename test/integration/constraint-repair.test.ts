import { beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { engineFor } from '../helpers/engine.ts';
import { SMALL_BATCHES, applications, backfillAll, stepsFor, stoppingExecutor } from '../helpers/lifecycle.ts';
import { catalogSnapshot, describe as show, runCli, scratchDir, stderrLines } from '../helpers/cli.ts';

/**
 * A constraint the existing rows violate, added with `up`/`down` that repair
 * them (alter_column's check, unique and references; create_constraint's over
 * several columns): the constrained columns get shadow columns that carry the
 * constraint from expand on. During dual-write an old-application write of a
 * violating value is repaired by `up` in the shadow, and the new application,
 * which writes the shadows through its version schema, cannot write one. Run
 * to the end, the catalog shows the constraint on the columns under their own
 * names and every row holds what `up` made of it; rolled back from any phase,
 * the catalog and the rows are exactly as the old application left them.
 */

type Row = Array<string | null>;

interface Apps {
  oldApp: pg.Client;
  newApp: pg.Client;
  /** The row as the table holds it, old columns and shadows: what each side was given. */
  physical(id: string, columns: string[]): Promise<Row>;
}

interface Case {
  name: string;
  table: string;
  setup: string[];
  operation: Record<string, unknown>;
  /** The table's columns as the old application has them; the first is the key. */
  columns: string[];
  /** For each of `columns`, its value after contract as an expression over the row before the run: what `up` makes of it. */
  repaired: string[];
  /** The old application writes during dual-write, before the backfill; returns the rows it wrote, as contract must leave them. */
  oldWrites(apps: Apps): Promise<Row[]>;
  /** The new application writes, from `newAppFrom` on; returns the rows it wrote, as contract must leave them. */
  newWrites(apps: Apps): Promise<Row[]>;
  /**
   * When the new application may write: a check or a foreign key holds for each
   * row on its own from dual-write on; a unique key holds the new version's values
   * only once the backfill has written every row's (as the new version's reads do).
   */
  newAppFrom: 'dual-write' | 'backfill';
  /** At the gate: the constraint, on the shadow columns, proven. */
  atGate: (db: TestDatabase) => Promise<void>;
  /** After contract, as the catalog shows the table. */
  final: { columns: Column[]; constraints: Constraint[]; indexes: Index[] };
}

interface Column {
  name: string;
  type: string;
  notnull: boolean;
  def: string | null;
  comment: string | null;
}

interface Constraint {
  name: string;
  type: string;
  validated: boolean;
  def: string;
}

interface Index {
  name: string;
  unique: boolean;
  valid: boolean;
  def: string;
}

async function columnsOf(db: TestDatabase, table: string): Promise<Column[]> {
  const { rows } = await db.query<Column>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS notnull, pg_get_expr(d.adbin, d.adrelid) AS def,
            col_description(a.attrelid, a.attnum) AS comment
       FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [table],
  );
  return rows;
}

async function constraintsOf(db: TestDatabase, table: string): Promise<Constraint[]> {
  const { rows } = await db.query<Constraint>(
    `SELECT conname AS name, contype::text AS type, convalidated AS validated, pg_get_constraintdef(oid) AS def
       FROM pg_constraint WHERE conrelid = $1::regclass ORDER BY conname`,
    [table],
  );
  return rows;
}

async function indexesOf(db: TestDatabase, table: string): Promise<Index[]> {
  const { rows } = await db.query<Index>(
    `SELECT c.relname AS name, i.indisunique AS unique, i.indisvalid AS valid, pg_get_indexdef(i.indexrelid) AS def
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = $1::regclass ORDER BY 1`,
    [table],
  );
  return rows;
}

/** The rows in key order (every table here is keyed by id), each value as text: `expressions` over the table as it is. */
async function rowsOf(db: TestDatabase, table: string, expressions: string[]): Promise<Row[]> {
  const { rows } = await db.query<{ r: Row }>(`SELECT ARRAY[${expressions.map((e) => `(${e})::text`).join(', ')}] AS r FROM ${table} ORDER BY id`);
  return rows.map((r) => r.r);
}

/** The repaired rows with the applications' rows in their place (or added), in key order. */
function merged(repaired: Row[], written: Row[]): Row[] {
  const byKey = new Map(repaired.map((r) => [r[0], r]));
  for (const row of written) byKey.set(row[0], row);
  return [...byKey.values()].sort((a, b) => Number(a[0]) - Number(b[0]));
}

const ROWS = 'generate_series(1, 300) g';
const inserted = async (client: pg.Client, sql: string) => String((await client.query(sql)).rows[0].id);

const cases: Case[] = [
  {
    name: 'alter_column check: up lifts negative quantities to 0',
    table: 'ac_chk',
    setup: [`CREATE TABLE ac_chk (id bigserial PRIMARY KEY, qty int NOT NULL, note text)`, `INSERT INTO ac_chk (qty, note) SELECT g % 10 - 3, 'n' || g FROM ${ROWS}`],
    operation: { alter_column: { table: 'ac_chk', column: 'qty', check: { name: 'ac_chk_qty_nonneg', expression: 'qty >= 0' }, up: 'greatest(qty, 0)', down: 'qty' } },
    columns: ['id', 'qty', 'note'],
    repaired: ['id', 'greatest(qty, 0)', 'note'],
    async oldWrites({ oldApp, physical }) {
      const cols = ['qty', '_bellows_new_qty'];
      // The old application writes violating values: they stay in its column, and up repairs them in the shadow.
      const old = await inserted(oldApp, `INSERT INTO ac_chk (qty, note) VALUES (-7, 'old') RETURNING id`);
      expect(await physical(old, cols)).toEqual(['-7', '0']);
      await oldApp.query(`UPDATE ac_chk SET qty = -9 WHERE id = 1`);
      expect(await physical('1', cols)).toEqual(['-9', '0']);
      return [
        ['1', '0', 'n1'],
        [old, '0', 'old'],
      ];
    },
    newAppFrom: 'dual-write',
    async newWrites({ newApp, physical }) {
      const cols = ['qty', '_bellows_new_qty'];
      // The new application sees the repaired values under the column's own name, and cannot write a violating one.
      expect((await newApp.query(`SELECT qty FROM ac_chk WHERE id = 1`)).rows).toEqual([{ qty: 0 }]);
      await expect(newApp.query(`INSERT INTO ac_chk (qty, note) VALUES (-1, 'bad')`)).rejects.toThrow(/violates check constraint "ac_chk_qty_nonneg"/);
      await expect(newApp.query(`UPDATE ac_chk SET qty = -2 WHERE id = 2`)).rejects.toThrow(/violates check constraint "ac_chk_qty_nonneg"/);
      const fresh = await inserted(newApp, `INSERT INTO ac_chk (qty, note) VALUES (5, 'new') RETURNING id`);
      expect(await physical(fresh, cols)).toEqual(['5', '5']);
      return [[fresh, '5', 'new']];
    },
    async atGate(db) {
      expect((await constraintsOf(db, 'ac_chk')).find((c) => c.name === 'ac_chk_qty_nonneg')).toEqual({
        name: 'ac_chk_qty_nonneg',
        type: 'c',
        validated: true,
        def: 'CHECK ((_bellows_new_qty >= 0))',
      });
    },
    final: {
      columns: [
        { name: 'id', type: 'bigint', notnull: true, def: "nextval('ac_chk_id_seq'::regclass)", comment: null },
        { name: 'note', type: 'text', notnull: false, def: null, comment: null },
        { name: 'qty', type: 'integer', notnull: true, def: null, comment: null },
      ],
      constraints: [
        { name: 'ac_chk_pkey', type: 'p', validated: true, def: 'PRIMARY KEY (id)' },
        { name: 'ac_chk_qty_nonneg', type: 'c', validated: true, def: 'CHECK ((qty >= 0))' },
      ],
      indexes: [{ name: 'ac_chk_pkey', unique: true, valid: true, def: 'CREATE UNIQUE INDEX ac_chk_pkey ON public.ac_chk USING btree (id)' }],
    },
  },
  {
    name: 'alter_column unique: up tells duplicates apart by their id',
    table: 'ac_unq',
    setup: [
      `CREATE TABLE ac_unq (id bigserial PRIMARY KEY, code text)`,
      `INSERT INTO ac_unq (code) SELECT CASE WHEN g % 7 = 0 THEN NULL WHEN g % 50 = 0 THEN 'dup' ELSE 'c' || g END FROM ${ROWS}`,
      `CREATE INDEX ac_unq_code_idx ON ac_unq (code)`,
    ],
    operation: {
      alter_column: { table: 'ac_unq', column: 'code', unique: { name: 'ac_unq_code_key' }, up: `CASE WHEN code = 'dup' THEN code || '-' || id ELSE code END`, down: 'code' },
    },
    columns: ['id', 'code'],
    repaired: ['id', `CASE WHEN code = 'dup' THEN code || '-' || id ELSE code END`],
    async oldWrites({ oldApp, physical }) {
      const cols = ['code', '_bellows_new_code'];
      const old = await inserted(oldApp, `INSERT INTO ac_unq (code) VALUES ('dup') RETURNING id`);
      expect(await physical(old, cols)).toEqual(['dup', `dup-${old}`]);
      await oldApp.query(`UPDATE ac_unq SET code = 'dup' WHERE id = 1`);
      expect(await physical('1', cols)).toEqual(['dup', 'dup-1']);
      return [['1', 'dup-1'], [old, `dup-${old}`]];
    },
    newAppFrom: 'backfill',
    async newWrites({ newApp, physical }) {
      const cols = ['code', '_bellows_new_code'];
      await expect(newApp.query(`INSERT INTO ac_unq (code) VALUES ('c3')`)).rejects.toThrow(/duplicate key value violates unique constraint "ac_unq_code_key"/);
      await expect(newApp.query(`UPDATE ac_unq SET code = 'c3' WHERE id = 2`)).rejects.toThrow(/duplicate key value violates unique constraint "ac_unq_code_key"/);
      // NULLs stay distinct, as in the column the constraint ends on.
      const nulls = [await inserted(newApp, `INSERT INTO ac_unq (code) VALUES (NULL) RETURNING id`), await inserted(newApp, `INSERT INTO ac_unq (code) VALUES (NULL) RETURNING id`)];
      const fresh = await inserted(newApp, `INSERT INTO ac_unq (code) VALUES ('fresh') RETURNING id`);
      expect(await physical(fresh, cols)).toEqual(['fresh', 'fresh']);
      return [[nulls[0], null], [nulls[1], null], [fresh, 'fresh']];
    },
    async atGate(db) {
      expect((await indexesOf(db, 'ac_unq')).find((i) => i.name === 'ac_unq_code_key')).toEqual({
        name: 'ac_unq_code_key',
        unique: true,
        valid: true,
        def: 'CREATE UNIQUE INDEX ac_unq_code_key ON public.ac_unq USING btree (_bellows_new_code)',
      });
    },
    final: {
      columns: [
        { name: 'id', type: 'bigint', notnull: true, def: "nextval('ac_unq_id_seq'::regclass)", comment: null },
        { name: 'code', type: 'text', notnull: false, def: null, comment: null },
      ],
      constraints: [
        { name: 'ac_unq_code_key', type: 'u', validated: true, def: 'UNIQUE (code)' },
        { name: 'ac_unq_pkey', type: 'p', validated: true, def: 'PRIMARY KEY (id)' },
      ],
      indexes: [
        // The plain index on the old column is rebuilt on the new one and keeps its name.
        { name: 'ac_unq_code_idx', unique: false, valid: true, def: 'CREATE INDEX ac_unq_code_idx ON public.ac_unq USING btree (code)' },
        { name: 'ac_unq_code_key', unique: true, valid: true, def: 'CREATE UNIQUE INDEX ac_unq_code_key ON public.ac_unq USING btree (code)' },
        { name: 'ac_unq_pkey', unique: true, valid: true, def: 'CREATE UNIQUE INDEX ac_unq_pkey ON public.ac_unq USING btree (id)' },
      ],
    },
  },
  {
    name: 'alter_column references: up clears references to missing parents',
    table: 'ac_fk',
    setup: [
      `CREATE TABLE ac_parent (id bigint PRIMARY KEY)`,
      `INSERT INTO ac_parent SELECT g FROM generate_series(1, 50) g`,
      `CREATE TABLE ac_fk (id bigserial PRIMARY KEY, parent_id bigint)`,
      `INSERT INTO ac_fk (parent_id) SELECT CASE WHEN g % 9 = 0 THEN NULL ELSE g % 60 + 1 END FROM ${ROWS}`,
    ],
    operation: {
      alter_column: {
        table: 'ac_fk',
        column: 'parent_id',
        references: { name: 'ac_fk_parent_fkey', table: 'ac_parent', column: 'id', on_delete: 'set null' },
        up: 'CASE WHEN EXISTS (SELECT FROM ac_parent p WHERE p.id = parent_id) THEN parent_id END',
        down: 'parent_id',
      },
    },
    columns: ['id', 'parent_id'],
    repaired: ['id', 'CASE WHEN parent_id <= 50 THEN parent_id END'],
    async oldWrites({ oldApp, physical }) {
      const cols = ['parent_id', '_bellows_new_parent_id'];
      const old = await inserted(oldApp, `INSERT INTO ac_fk (parent_id) VALUES (999) RETURNING id`);
      expect(await physical(old, cols)).toEqual(['999', null]);
      await oldApp.query(`UPDATE ac_fk SET parent_id = 7 WHERE id = 1`);
      expect(await physical('1', cols)).toEqual(['7', '7']);
      return [['1', '7'], [old, null]];
    },
    newAppFrom: 'dual-write',
    async newWrites({ newApp, physical }) {
      const cols = ['parent_id', '_bellows_new_parent_id'];
      await expect(newApp.query(`INSERT INTO ac_fk (parent_id) VALUES (999)`)).rejects.toThrow(/violates foreign key constraint "ac_fk_parent_fkey"/);
      const fresh = await inserted(newApp, `INSERT INTO ac_fk (parent_id) VALUES (3) RETURNING id`);
      expect(await physical(fresh, cols)).toEqual(['3', '3']);
      return [[fresh, '3']];
    },
    async atGate(db) {
      expect((await constraintsOf(db, 'ac_fk')).find((c) => c.name === 'ac_fk_parent_fkey')).toEqual({
        name: 'ac_fk_parent_fkey',
        type: 'f',
        validated: true,
        def: 'FOREIGN KEY (_bellows_new_parent_id) REFERENCES ac_parent(id) ON DELETE SET NULL',
      });
    },
    final: {
      columns: [
        { name: 'id', type: 'bigint', notnull: true, def: "nextval('ac_fk_id_seq'::regclass)", comment: null },
        { name: 'parent_id', type: 'bigint', notnull: false, def: null, comment: null },
      ],
      constraints: [
        { name: 'ac_fk_parent_fkey', type: 'f', validated: true, def: 'FOREIGN KEY (parent_id) REFERENCES ac_parent(id) ON DELETE SET NULL' },
        { name: 'ac_fk_pkey', type: 'p', validated: true, def: 'PRIMARY KEY (id)' },
      ],
      indexes: [{ name: 'ac_fk_pkey', unique: true, valid: true, def: 'CREATE UNIQUE INDEX ac_fk_pkey ON public.ac_fk USING btree (id)' }],
    },
  },
  {
    name: 'create_constraint check over two columns: up orders each pair',
    table: 'cc_chk',
    setup: [
      `CREATE TABLE cc_chk (id bigserial PRIMARY KEY, lo int, hi int DEFAULT 10, note text)`,
      `COMMENT ON COLUMN cc_chk.hi IS 'upper bound'`,
      `INSERT INTO cc_chk (lo, hi, note) SELECT g % 10, g % 7, 'n' || g FROM ${ROWS}`,
    ],
    operation: {
      create_constraint: {
        table: 'cc_chk',
        name: 'cc_chk_range',
        type: 'check',
        columns: ['lo', 'hi'],
        check: 'lo <= hi',
        up: { lo: 'least(lo, hi)', hi: 'greatest(lo, hi)' },
        down: { lo: 'lo', hi: 'hi' },
      },
    },
    columns: ['id', 'lo', 'hi', 'note'],
    repaired: ['id', 'least(lo, hi)', 'greatest(lo, hi)', 'note'],
    async oldWrites({ oldApp, physical }) {
      const cols = ['lo', 'hi', '_bellows_new_lo', '_bellows_new_hi'];
      const old = await inserted(oldApp, `INSERT INTO cc_chk (lo, hi, note) VALUES (9, 2, 'old') RETURNING id`);
      expect(await physical(old, cols)).toEqual(['9', '2', '2', '9']);
      await oldApp.query(`UPDATE cc_chk SET lo = 5, hi = 1 WHERE id = 1`);
      expect(await physical('1', cols)).toEqual(['5', '1', '1', '5']);
      return [
        ['1', '1', '5', 'n1'],
        [old, '2', '9', 'old'],
      ];
    },
    newAppFrom: 'dual-write',
    async newWrites({ newApp, physical }) {
      const cols = ['lo', 'hi', '_bellows_new_lo', '_bellows_new_hi'];
      await expect(newApp.query(`INSERT INTO cc_chk (lo, hi, note) VALUES (8, 3, 'bad')`)).rejects.toThrow(/violates check constraint "cc_chk_range"/);
      // Row 6 (lo 6, hi 6) is not backfilled yet: setting hi alone takes lo from up, and the check holds the pair.
      await newApp.query(`UPDATE cc_chk SET hi = 100 WHERE id = 6`);
      expect(await physical('6', cols)).toEqual(['6', '100', '6', '100']);
      await expect(newApp.query(`UPDATE cc_chk SET hi = 0 WHERE id = 6`)).rejects.toThrow(/violates check constraint "cc_chk_range"/);
      // The shadow keeps the column's default.
      const fresh = await inserted(newApp, `INSERT INTO cc_chk (lo, note) VALUES (1, 'new') RETURNING id`);
      expect(await physical(fresh, cols)).toEqual(['1', '10', '1', '10']);
      return [
        ['6', '6', '100', 'n6'],
        [fresh, '1', '10', 'new'],
      ];
    },
    async atGate(db) {
      expect((await constraintsOf(db, 'cc_chk')).find((c) => c.name === 'cc_chk_range')).toEqual({
        name: 'cc_chk_range',
        type: 'c',
        validated: true,
        def: 'CHECK ((_bellows_new_lo <= _bellows_new_hi))',
      });
    },
    final: {
      columns: [
        { name: 'id', type: 'bigint', notnull: true, def: "nextval('cc_chk_id_seq'::regclass)", comment: null },
        { name: 'note', type: 'text', notnull: false, def: null, comment: null },
        { name: 'lo', type: 'integer', notnull: false, def: null, comment: null },
        { name: 'hi', type: 'integer', notnull: false, def: '10', comment: 'upper bound' },
      ],
      constraints: [
        { name: 'cc_chk_pkey', type: 'p', validated: true, def: 'PRIMARY KEY (id)' },
        { name: 'cc_chk_range', type: 'c', validated: true, def: 'CHECK ((lo <= hi))' },
      ],
      indexes: [{ name: 'cc_chk_pkey', unique: true, valid: true, def: 'CREATE UNIQUE INDEX cc_chk_pkey ON public.cc_chk USING btree (id)' }],
    },
  },
  {
    name: 'create_constraint unique over two NOT NULL columns: up tells duplicates apart',
    table: 'cc_unq',
    setup: [
      `CREATE TABLE cc_unq (id bigserial PRIMARY KEY, shop int NOT NULL, code text NOT NULL)`,
      `INSERT INTO cc_unq (shop, code) SELECT g % 3, CASE WHEN g % 40 = 0 THEN 'dup' ELSE 'c' || g END FROM ${ROWS}`,
    ],
    operation: {
      create_constraint: {
        table: 'cc_unq',
        name: 'cc_unq_shop_code',
        type: 'unique',
        columns: ['shop', 'code'],
        up: { shop: 'shop', code: `CASE WHEN code = 'dup' THEN code || '-' || id ELSE code END` },
        down: { shop: 'shop', code: 'code' },
      },
    },
    columns: ['id', 'shop', 'code'],
    repaired: ['id', 'shop', `CASE WHEN code = 'dup' THEN code || '-' || id ELSE code END`],
    async oldWrites({ oldApp, physical }) {
      const cols = ['shop', 'code', '_bellows_new_shop', '_bellows_new_code'];
      const old = await inserted(oldApp, `INSERT INTO cc_unq (shop, code) VALUES (1, 'dup') RETURNING id`);
      expect(await physical(old, cols)).toEqual(['1', 'dup', '1', `dup-${old}`]);
      return [[old, '1', `dup-${old}`]];
    },
    newAppFrom: 'backfill',
    async newWrites({ newApp, physical }) {
      const cols = ['shop', 'code', '_bellows_new_shop', '_bellows_new_code'];
      await expect(newApp.query(`INSERT INTO cc_unq (shop, code) VALUES (1, 'c1')`)).rejects.toThrow(/duplicate key value violates unique constraint "cc_unq_shop_code"/);
      const fresh = await inserted(newApp, `INSERT INTO cc_unq (shop, code) VALUES (2, 'c1') RETURNING id`);
      expect(await physical(fresh, cols)).toEqual(['2', 'c1', '2', 'c1']);
      return [[fresh, '2', 'c1']];
    },
    async atGate(db) {
      expect((await indexesOf(db, 'cc_unq')).find((i) => i.name === 'cc_unq_shop_code')).toEqual({
        name: 'cc_unq_shop_code',
        unique: true,
        valid: true,
        def: 'CREATE UNIQUE INDEX cc_unq_shop_code ON public.cc_unq USING btree (_bellows_new_shop, _bellows_new_code)',
      });
    },
    final: {
      columns: [
        { name: 'id', type: 'bigint', notnull: true, def: "nextval('cc_unq_id_seq'::regclass)", comment: null },
        { name: 'shop', type: 'integer', notnull: true, def: null, comment: null },
        { name: 'code', type: 'text', notnull: true, def: null, comment: null },
      ],
      constraints: [
        { name: 'cc_unq_pkey', type: 'p', validated: true, def: 'PRIMARY KEY (id)' },
        { name: 'cc_unq_shop_code', type: 'u', validated: true, def: 'UNIQUE (shop, code)' },
      ],
      indexes: [
        { name: 'cc_unq_pkey', unique: true, valid: true, def: 'CREATE UNIQUE INDEX cc_unq_pkey ON public.cc_unq USING btree (id)' },
        { name: 'cc_unq_shop_code', unique: true, valid: true, def: 'CREATE UNIQUE INDEX cc_unq_shop_code ON public.cc_unq USING btree (shop, code)' },
      ],
    },
  },
  {
    name: 'create_constraint foreign key over two columns: up clears order numbers that match no order',
    table: 'cc_line',
    setup: [
      `CREATE TABLE cc_order (shop int, no int, PRIMARY KEY (shop, no))`,
      `INSERT INTO cc_order SELECT s, n FROM generate_series(1, 2) s, generate_series(1, 20) n`,
      `CREATE TABLE cc_line (id bigserial PRIMARY KEY, shop int, order_no int)`,
      `INSERT INTO cc_line (shop, order_no) SELECT g % 3, g % 25 + 1 FROM ${ROWS}`,
    ],
    operation: {
      create_constraint: {
        table: 'cc_line',
        name: 'cc_line_order_fk',
        type: 'foreign_key',
        columns: ['shop', 'order_no'],
        references: { table: 'cc_order', columns: ['shop', 'no'] },
        on_delete: 'cascade',
        up: { shop: 'shop', order_no: 'CASE WHEN shop IN (1, 2) AND order_no <= 20 THEN order_no END' },
        down: { shop: 'shop', order_no: 'order_no' },
      },
    },
    columns: ['id', 'shop', 'order_no'],
    repaired: ['id', 'shop', 'CASE WHEN shop IN (1, 2) AND order_no <= 20 THEN order_no END'],
    async oldWrites({ oldApp, physical }) {
      const cols = ['shop', 'order_no', '_bellows_new_shop', '_bellows_new_order_no'];
      const old = await inserted(oldApp, `INSERT INTO cc_line (shop, order_no) VALUES (0, 5) RETURNING id`);
      expect(await physical(old, cols)).toEqual(['0', '5', '0', null]);
      return [[old, '0', null]];
    },
    newAppFrom: 'dual-write',
    async newWrites({ newApp, physical }) {
      const cols = ['shop', 'order_no', '_bellows_new_shop', '_bellows_new_order_no'];
      await expect(newApp.query(`INSERT INTO cc_line (shop, order_no) VALUES (1, 99)`)).rejects.toThrow(/violates foreign key constraint "cc_line_order_fk"/);
      const fresh = await inserted(newApp, `INSERT INTO cc_line (shop, order_no) VALUES (2, 7) RETURNING id`);
      expect(await physical(fresh, cols)).toEqual(['2', '7', '2', '7']);
      return [[fresh, '2', '7']];
    },
    async atGate(db) {
      expect((await constraintsOf(db, 'cc_line')).find((c) => c.name === 'cc_line_order_fk')).toEqual({
        name: 'cc_line_order_fk',
        type: 'f',
        validated: true,
        def: 'FOREIGN KEY (_bellows_new_shop, _bellows_new_order_no) REFERENCES cc_order(shop, no) ON DELETE CASCADE',
      });
    },
    final: {
      columns: [
        { name: 'id', type: 'bigint', notnull: true, def: "nextval('cc_line_id_seq'::regclass)", comment: null },
        { name: 'shop', type: 'integer', notnull: false, def: null, comment: null },
        { name: 'order_no', type: 'integer', notnull: false, def: null, comment: null },
      ],
      constraints: [
        { name: 'cc_line_order_fk', type: 'f', validated: true, def: 'FOREIGN KEY (shop, order_no) REFERENCES cc_order(shop, no) ON DELETE CASCADE' },
        { name: 'cc_line_pkey', type: 'p', validated: true, def: 'PRIMARY KEY (id)' },
      ],
      indexes: [{ name: 'cc_line_pkey', unique: true, valid: true, def: 'CREATE UNIQUE INDEX cc_line_pkey ON public.cc_line USING btree (id)' }],
    },
  },
];

type Stop = 'expand' | 'dual-write' | 'mid-backfill' | 'mid-verify' | 'gate';
const STOPS: Stop[] = ['expand', 'dual-write', 'mid-backfill', 'mid-verify', 'gate'];

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
  for (const c of cases) for (const sql of c.setup) await db.query(sql);
  await db.query('ANALYZE');
});

describe.each(cases.map((c, i) => ({ ...c, i })))('$name', (c) => {
  const doc = (attempt: string) => ({ name: `rep_${c.i}_${attempt}`, settings: SMALL_BATCHES, operations: [c.operation] });
  const physical = (id: string, columns: string[]) => db.query(`SELECT ARRAY[${columns.map((col) => `${col}::text`).join(', ')}] AS r FROM ${c.table} WHERE id = $1`, [id]).then((r) => r.rows[0].r as Row);

  it.each(STOPS)('rolled back from %s: the catalog exactly as before, the rows as the old application left them', async (stop) => {
    const engine = engineFor(db.pool);
    const steps = stepsFor(engine.store, db.pool);
    const run = await engine.open(doc(`rb_${stop.replace('-', '_')}`));
    const before = await catalogSnapshot(db.pool);
    switch (stop) {
      case 'expand':
        await steps.expand(run.id);
        break;
      case 'dual-write': {
        await steps.expand(run.id);
        await steps.dualWrite(run.id);
        // The applications' writes stay, in the old application's form: the old column is never repaired.
        const { oldApp, newApp, close } = await applications(db, `rep_${c.i}_rb_dual_write`);
        await c.oldWrites({ oldApp, newApp, physical });
        if (c.newAppFrom === 'dual-write') await c.newWrites({ oldApp, newApp, physical });
        await close();
        break;
      }
      case 'mid-backfill':
        expect(await stoppingExecutor(db.pool, 'backfill', 1).drive(run, { stopAtGate: true })).toBe('stopped');
        expect((await engine.store.getRun(run.id)).phase).toBe('backfill');
        break;
      case 'mid-verify':
        expect(await stoppingExecutor(db.pool, 'verify', 1).drive(run, { stopAtGate: true })).toBe('stopped');
        expect((await engine.store.getRun(run.id)).phase).toBe('verify');
        break;
      case 'gate':
        expect(await engine.executor.drive(run, { stopAtGate: true })).toBe('awaiting_approval');
        break;
    }
    const asOldAppSees = await rowsOf(db, c.table, c.columns);
    await engine.store.setDesired(run.id, { abort: true }, 'rollback');
    expect(await engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true })).toBe('rolled_back');
    expect(await catalogSnapshot(db.pool)).toEqual(before);
    expect(await rowsOf(db, c.table, c.columns)).toEqual(asOldAppSees);
  });

  it('runs to the end: old writes repaired, new violating writes refused, the constraint on the columns, every row as up makes it', async () => {
    const engine = engineFor(db.pool);
    const steps = stepsFor(engine.store, db.pool);
    const repaired = await rowsOf(db, c.table, c.repaired);
    const name = `rep_${c.i}_run`;
    const run = await engine.open(doc('run'));
    await steps.expand(run.id);
    await steps.dualWrite(run.id);
    const apps = await applications(db, name);
    const written = await c.oldWrites({ ...apps, physical });
    if (c.newAppFrom === 'dual-write') written.push(...(await c.newWrites({ ...apps, physical })));
    await backfillAll(steps, run.id);
    if (c.newAppFrom === 'backfill') written.push(...(await c.newWrites({ ...apps, physical })));
    await apps.close();
    for (const ref of await steps.prepareVerify(run.id)) expect(await steps.walkRange(run.id, ref)).toBe('done');
    await steps.finishVerify(run.id);
    await c.atGate(db);
    await steps.contract(run.id);
    expect((await engine.store.getRun(run.id)).status).toBe('completed');

    expect(await columnsOf(db, c.table)).toEqual(c.final.columns);
    expect(await constraintsOf(db, c.table)).toEqual(c.final.constraints);
    expect(await indexesOf(db, c.table)).toEqual(c.final.indexes);
    expect(await rowsOf(db, c.table, c.columns)).toEqual(merged(repaired, written));
  });
});

describe('a constraint the rows violate, refused before any DDL through the CLI', () => {
  beforeAll(async () => {
    await engineFor(db.pool).store.migrate();
    for (const sql of [
      `CREATE TABLE bad_chk (id bigserial PRIMARY KEY, qty int)`,
      `INSERT INTO bad_chk (qty) SELECT g % 10 - 3 FROM generate_series(1, 100) g`,
      `CREATE TABLE bad_unq (id bigserial PRIMARY KEY, code text)`,
      `INSERT INTO bad_unq (code) SELECT 'c' || (g % 40) FROM generate_series(1, 100) g`,
      `CREATE TABLE bad_parent (id bigint PRIMARY KEY)`,
      `INSERT INTO bad_parent SELECT g FROM generate_series(1, 10) g`,
      `CREATE TABLE bad_fk (id bigserial PRIMARY KEY, parent_id bigint)`,
      `INSERT INTO bad_fk (parent_id) SELECT g % 12 + 1 FROM generate_series(1, 100) g`,
      `CREATE TABLE pair_parent (a int, b int, PRIMARY KEY (a, b))`,
      `INSERT INTO pair_parent SELECT a, b FROM generate_series(0, 4) a, generate_series(0, 1) b`,
      `CREATE TABLE bad_pair (id bigserial PRIMARY KEY, a int, b int)`,
      `INSERT INTO bad_pair (a, b) SELECT g % 5, g % 3 FROM generate_series(1, 100) g`,
    ]) {
      await db.query(sql);
    }
  });

  const cases: Array<{ what: string; operation: Record<string, unknown>; line: string }> = [
    {
      what: 'alter_column check without up',
      operation: { alter_column: { table: 'bad_chk', column: 'qty', check: { name: 'bad_chk_qty', expression: 'qty >= 0' } } },
      line: 'operations[0].alter_column.check: 30 rows of public.bad_chk violate it, e.g. id 1; correct them before adding the constraint, or give up and down to repair them',
    },
    {
      what: 'alter_column unique without up',
      operation: { alter_column: { table: 'bad_unq', column: 'code', unique: { name: 'bad_unq_code_key' } } },
      line: 'operations[0].alter_column.unique: 100 rows of public.bad_unq share their (code) with another row, e.g. id 1; correct them before adding the constraint, or give up and down to repair them',
    },
    {
      what: 'alter_column references without up',
      operation: { alter_column: { table: 'bad_fk', column: 'parent_id', references: { name: 'bad_fk_parent', table: 'bad_parent', column: 'id' } } },
      line: 'operations[0].alter_column.references: 16 rows of public.bad_fk reference no row of public.bad_parent, e.g. id 10; correct them before adding the constraint, or give up and down to repair them',
    },
    {
      what: 'create_constraint unique over two columns without up',
      operation: { create_constraint: { table: 'bad_pair', name: 'bad_pair_key', type: 'unique', columns: ['a', 'b'] } },
      line: 'operations[0].create_constraint.columns: 100 rows of public.bad_pair share their (a, b) with another row, e.g. id 1; correct them before adding the constraint, or give up and down to repair them',
    },
    {
      what: 'alter_column check with an up that leaves rows violating it',
      operation: { alter_column: { table: 'bad_chk', column: 'qty', check: { name: 'bad_chk_qty', expression: 'qty >= 0' }, up: 'qty + 1', down: 'qty - 1' } },
      line: 'operations[0].alter_column.up: 20 rows of public.bad_chk violate it once up has run, e.g. id 1; up must give every row a value that satisfies it',
    },
    {
      what: 'create_constraint foreign key over two columns with an up that repairs nothing',
      operation: {
        create_constraint: {
          table: 'bad_pair',
          name: 'bad_pair_fk',
          type: 'foreign_key',
          columns: ['a', 'b'],
          references: { table: 'pair_parent', columns: ['a', 'b'] },
          up: { a: 'a', b: 'b' },
          down: { a: 'a', b: 'b' },
        },
      },
      line: 'operations[0].create_constraint.up: 33 rows of public.bad_pair reference no row of public.pair_parent once up has run, e.g. id 2; up must give every row a value that satisfies it',
    },
  ];

  it('exits 2 with one line naming the operation and the field, and changes nothing', async () => {
    const files = scratchDir();
    const before = await catalogSnapshot(db.pool);
    const results = await Promise.all(
      cases.map((c, i) => runCli(['start', files.write(`bad_${i}.yaml`, JSON.stringify({ name: `bad_${i}`, operations: [c.operation] })), '--no-progress'], { db: db.url })),
    );
    for (const [i, result] of results.entries()) {
      expect(result.code, `${cases[i].what}\n${show(result)}`).toBe(2);
      expect(stderrLines(result), cases[i].what).toEqual([`bellows: ${cases[i].line}`]);
    }
    expect(await catalogSnapshot(db.pool)).toEqual(before);
    expect((await db.query(`SELECT count(*)::int AS n FROM bellows.runs WHERE playbook_name LIKE 'bad\\_%'`)).rows[0].n).toBe(0);
  });
});

describe('an old-application write that up leaves violating the constraint', () => {
  const guarded = [
    {
      what: 'check',
      table: 'g_chk',
      setup: [`CREATE TABLE g_chk (id bigserial PRIMARY KEY, qty int)`, `INSERT INTO g_chk (qty) SELECT g % 10 - 3 FROM generate_series(1, 200) g`],
      operation: { alter_column: { table: 'g_chk', column: 'qty', check: { name: 'g_chk_qty', expression: 'qty >= 0' }, up: 'CASE WHEN qty > -100 THEN greatest(qty, 0) ELSE qty END', down: 'qty' } },
      write: `INSERT INTO g_chk (qty) VALUES (-500) RETURNING id`,
      shadow: '_bellows_new_qty',
      constraint: 'g_chk_qty',
    },
    {
      what: 'unique',
      table: 'g_unq',
      setup: [`CREATE TABLE g_unq (id bigserial PRIMARY KEY, code text)`, `INSERT INTO g_unq (code) SELECT 'c' || g FROM generate_series(1, 200) g`],
      operation: { alter_column: { table: 'g_unq', column: 'code', unique: { name: 'g_unq_code' }, up: 'upper(code)', down: 'lower(code)' } },
      write: `INSERT INTO g_unq (code) VALUES ('C7') RETURNING id`,
      shadow: '_bellows_new_code',
      constraint: 'g_unq_code',
    },
    {
      what: 'foreign key',
      table: 'g_fk',
      setup: [
        `CREATE TABLE g_parent (id int PRIMARY KEY)`,
        `INSERT INTO g_parent SELECT g FROM generate_series(1, 10) g`,
        `CREATE TABLE g_fk (id bigserial PRIMARY KEY, parent_id int)`,
        `INSERT INTO g_fk (parent_id) SELECT g % 12 + 1 FROM generate_series(1, 200) g`,
      ],
      operation: {
        create_constraint: {
          table: 'g_fk',
          name: 'g_fk_parent',
          type: 'foreign_key',
          columns: ['parent_id'],
          references: { table: 'g_parent', columns: ['id'] },
          up: { parent_id: 'CASE WHEN parent_id > 10 AND parent_id < 100 THEN NULL ELSE parent_id END' },
          down: { parent_id: 'parent_id' },
        },
      },
      write: `INSERT INTO g_fk (parent_id) VALUES (500) RETURNING id`,
      shadow: '_bellows_new_parent_id',
      constraint: 'g_fk_parent',
    },
  ];

  beforeAll(async () => {
    for (const g of guarded) for (const sql of g.setup) await db.query(sql);
  });

  it.each(guarded)('$what: the write goes through with its shadow NULL, the row is noted, verify refuses; a rollback leaves the write as made', async (g) => {
    const engine = engineFor(db.pool);
    const steps = stepsFor(engine.store, db.pool);
    const name = `guard_${g.table}`;
    const run = await engine.open({ name, settings: SMALL_BATCHES, operations: [g.operation] });
    const before = await catalogSnapshot(db.pool);
    await steps.expand(run.id);
    await steps.dualWrite(run.id);
    // After the backfill, which would otherwise write up's violating value into the shadow itself, and stop there.
    await backfillAll(steps, run.id);
    const { oldApp, close } = await applications(db, name);
    const id = await inserted(oldApp, g.write);
    await close();
    expect((await db.query(`SELECT ${g.shadow} AS shadow FROM ${g.table} WHERE id = $1`, [id])).rows).toEqual([{ shadow: null }]);
    const { rows: noted } = await db.query(`SELECT row_key, message FROM bellows.dual_write_failures WHERE playbook_name = $1`, [name]);
    expect(noted).toEqual([{ row_key: { id: Number(id) }, message: `up gives a value that violates ${g.constraint}; written as NULL` }]);

    const failed = await engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true }).then(() => null, (e: Error) => e);
    expect(failed?.message).toBe(
      `run ${run.id}: verify refused: the dual-write trigger could not translate 1 application write(s), first public.${g.table} {"id":${id}} ` +
        `(operations[0]: up gives a value that violates ${g.constraint}; written as NULL); correct those rows, then bellows resume ${run.id} --repair, or roll back`,
    );
    expect(await engine.store.getRun(run.id)).toMatchObject({ status: 'failed' });

    const column = g.shadow.replace('_bellows_new_', '');
    const asOldAppSees = await rowsOf(db, g.table, ['id', column]);
    await engine.store.setDesired(run.id, { abort: true }, 'rollback');
    expect(await engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true })).toBe('rolled_back');
    expect(await catalogSnapshot(db.pool)).toEqual(before);
    expect(await rowsOf(db, g.table, ['id', column])).toEqual(asOldAppSees);
  });
});

describe('a unique key on a shadow column before the backfill has reached every row', () => {
  it('a new-application duplicate of a row not yet reached stops the backfill at that row; a rollback leaves both rows as written', async () => {
    await db.query(`CREATE TABLE early_unq (id bigserial PRIMARY KEY, code text)`);
    await db.query(`INSERT INTO early_unq (code) SELECT 'c' || g FROM generate_series(1, 300) g`);
    const engine = engineFor(db.pool);
    const steps = stepsFor(engine.store, db.pool);
    const name = 'early_unq_code';
    const run = await engine.open({
      name,
      settings: SMALL_BATCHES,
      operations: [{ alter_column: { table: 'early_unq', column: 'code', unique: { name: 'early_unq_code_key' }, up: 'code', down: 'code' } }],
    });
    const before = await catalogSnapshot(db.pool);
    await steps.expand(run.id);
    await steps.dualWrite(run.id);
    const { newApp, close } = await applications(db, name);
    const id = await inserted(newApp, `INSERT INTO early_unq (code) VALUES ('c250') RETURNING id`);
    await close();
    const failed = await engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true }).then(() => null, (e: Error) => e);
    expect(failed?.message).toMatch(
      new RegExp(`^run ${run.id} failed: backfill of public.early_unq stopped: duplicate key value violates unique constraint "early_unq_code_key" \\(Key \\(_bellows_new_code\\)=\\(c250\\) already exists\\.\\);`),
    );
    const asOldAppSees = await rowsOf(db, 'early_unq', ['id', 'code']);
    await engine.store.setDesired(run.id, { abort: true }, 'rollback');
    expect(await engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true })).toBe('rolled_back');
    expect(await catalogSnapshot(db.pool)).toEqual(before);
    expect(await rowsOf(db, 'early_unq', ['id', 'code'])).toEqual(asOldAppSees);
    expect((await db.query(`SELECT id::text FROM early_unq WHERE code = 'c250' ORDER BY id`)).rows).toEqual([{ id: '250' }, { id }]);
  });
});
