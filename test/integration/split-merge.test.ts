import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { engineFor } from '../helpers/engine.ts';
import { catalogSnapshot, playbookPath, tableDigest } from '../helpers/cli.ts';
import { applications, backfillAndVerify, stepsFor } from '../helpers/lifecycle.ts';
import { createSampleTable } from '../../src/demo/sample.ts';
import { loadPlaybook } from '../../src/playbook/load.ts';
import { InputError } from '../../src/errors.ts';

/**
 * split_column and merge_columns, through the examples 0025 (users.name into
 * first_name and last_name) and 0026 (back into name), on the demo table:
 * rollback at the gate and from expand gives back the exact catalog and rows;
 * a run with both applications writing ends with every row translated.
 */

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
  await createSampleTable(db.pool, 300);
});

async function columnsOfUsers(): Promise<string[]> {
  const { rows } = await db.query(
    `SELECT attname || ' ' || format_type(atttypid, atttypmod) || CASE WHEN attnotnull THEN ' not null' ELSE '' END AS c
       FROM pg_attribute WHERE attrelid = 'public.users'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
  );
  return rows.map((r) => r.c as string);
}

/** Objects bellows could leave behind: its trigger functions in public, triggers on users. */
async function leftovers(): Promise<string[]> {
  const { rows } = await db.query(
    `SELECT 'function ' || proname AS o FROM pg_proc WHERE pronamespace = 'public'::regnamespace AND proname LIKE '\\_bellows%'
     UNION ALL SELECT 'trigger ' || tgname FROM pg_trigger WHERE tgrelid = 'public.users'::regclass AND NOT tgisinternal`,
  );
  return rows.map((r) => r.o as string);
}

async function rowsOf(columns: string, ids: number[]) {
  const { rows } = await db.query(`SELECT id::int, ${columns} FROM users WHERE id = ANY($1) ORDER BY id`, [ids]);
  return rows;
}

describe('the example playbooks on the demo users table', () => {
  it('0025 rolls back from expand and at the gate to exactly the catalog and rows it started from', async () => {
    const engine = engineFor(db.pool);
    await engine.store.migrate();
    const steps = stepsFor(engine.store, db.pool);
    const doc = await loadPlaybook(playbookPath('0025_users_split_name.yaml'));
    const before = await catalogSnapshot(db.pool);
    const digest = await tableDigest(db.pool, 'users');

    const first = await engine.open(doc);
    await steps.expand(first.id);
    expect(await columnsOfUsers()).toEqual(['id bigint not null', 'email text not null', 'name text', 'created_at timestamp with time zone not null', 'first_name text', 'last_name text']);
    await steps.rollback(first.id);
    expect(await catalogSnapshot(db.pool)).toEqual(before);
    expect(await tableDigest(db.pool, 'users')).toEqual(digest);

    const run = await engine.open(doc);
    expect(await engine.executor.drive(run, { stopAtGate: true })).toBe('awaiting_approval');
    expect(await rowsOf('name, first_name, last_name', [17])).toEqual([{ id: 17, name: 'User 17', first_name: 'User', last_name: '17' }]);
    await engine.store.setDesired(run.id, { abort: true }, 'abort');
    expect(await engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true })).toBe('rolled_back');
    expect(await catalogSnapshot(db.pool)).toEqual(before);
    expect(await tableDigest(db.pool, 'users')).toEqual(digest);
  });

  it('0025 splits name with both applications writing during the run; 0026 rolls back at the gate exactly, then merges it back', async () => {
    const engine = engineFor(db.pool);
    const steps = stepsFor(engine.store, db.pool);

    const split = await engine.open(await loadPlaybook(playbookPath('0025_users_split_name.yaml')));
    await steps.expand(split.id);
    await steps.dualWrite(split.id);
    const v25 = await applications(db, '0025_users_split_name');
    // Rows 2 and 3 are not backfilled yet: writes to them must translate all the same.
    await v25.oldApp.query(`INSERT INTO users (id, email, name) VALUES (1001, 'ada@x.com', 'Ada Lovelace')`);
    await v25.oldApp.query(`UPDATE users SET name = 'Grace Hopper' WHERE id = 2`);
    await v25.newApp.query(`INSERT INTO users (id, email, first_name, last_name) VALUES (1002, 'alan@x.com', 'Alan', 'Turing')`);
    await v25.newApp.query(`UPDATE users SET last_name = 'Byron' WHERE id = 3`);
    await v25.newApp.query(`UPDATE users SET email = 'u4@x.com' WHERE id = 4`);
    await v25.newApp.query(`INSERT INTO users (id, email, first_name) VALUES (1003, 'cher@x.com', 'Cher')`);
    await backfillAndVerify(steps, split.id);
    await v25.oldApp.query(`UPDATE users SET name = 'Edsger Wybe Dijkstra' WHERE id = 5`);
    await steps.contract(split.id);
    await v25.close();

    expect(await columnsOfUsers()).toEqual(['id bigint not null', 'email text not null', 'created_at timestamp with time zone not null', 'first_name text', 'last_name text']);
    expect(await leftovers()).toEqual([]);
    expect(await rowsOf('first_name, last_name', [1, 2, 3, 4, 5, 300, 1001, 1002, 1003])).toEqual([
      { id: 1, first_name: 'User', last_name: '1' },
      { id: 2, first_name: 'Grace', last_name: 'Hopper' },
      { id: 3, first_name: 'User', last_name: 'Byron' },
      { id: 4, first_name: 'User', last_name: '4' },
      { id: 5, first_name: 'Edsger', last_name: 'Wybe Dijkstra' },
      { id: 300, first_name: 'User', last_name: '300' },
      { id: 1001, first_name: 'Ada', last_name: 'Lovelace' },
      { id: 1002, first_name: 'Alan', last_name: 'Turing' },
      { id: 1003, first_name: 'Cher', last_name: null },
    ]);
    const { rows: untranslated } = await db.query(`SELECT count(*)::int AS n FROM users WHERE first_name IS NULL OR (last_name IS NULL AND id <> 1003)`);
    expect(untranslated[0].n).toBe(0);

    const merged = await loadPlaybook(playbookPath('0026_users_merge_name.yaml'));
    const before = await catalogSnapshot(db.pool);
    const digest = await tableDigest(db.pool, 'users');
    const aborted = await engine.open(merged);
    expect(await engine.executor.drive(aborted, { stopAtGate: true })).toBe('awaiting_approval');
    expect(await rowsOf('name', [1002])).toEqual([{ id: 1002, name: 'Alan Turing' }]);
    await engine.store.setDesired(aborted.id, { abort: true }, 'abort');
    expect(await engine.executor.drive(await engine.store.getRun(aborted.id), { stopAtGate: true })).toBe('rolled_back');
    expect(await catalogSnapshot(db.pool)).toEqual(before);
    expect(await tableDigest(db.pool, 'users')).toEqual(digest);

    const merge = await engine.open(merged);
    await steps.expand(merge.id);
    await steps.dualWrite(merge.id);
    const v26 = await applications(db, '0026_users_merge_name');
    await v26.oldApp.query(`UPDATE users SET last_name = 'Lamarr' WHERE id = 6`);
    await v26.newApp.query(`INSERT INTO users (id, email, name) VALUES (1004, 'bob@x.com', 'Barbara Liskov')`);
    await v26.newApp.query(`UPDATE users SET name = 'Hedy' WHERE id = 7`);
    await backfillAndVerify(steps, merge.id);
    await steps.contract(merge.id);
    await v26.close();

    expect(await columnsOfUsers()).toEqual(['id bigint not null', 'email text not null', 'created_at timestamp with time zone not null', 'name text']);
    expect(await leftovers()).toEqual([]);
    expect(await rowsOf('name', [1, 2, 5, 6, 7, 1003, 1004])).toEqual([
      { id: 1, name: 'User 1' },
      { id: 2, name: 'Grace Hopper' },
      { id: 5, name: 'Edsger Wybe Dijkstra' },
      { id: 6, name: 'User Lamarr' },
      { id: 7, name: 'Hedy' },
      { id: 1003, name: 'Cher' },
      { id: 1004, name: 'Barbara Liskov' },
    ]);
    const { rows: demo } = await db.query(`SELECT count(*)::int AS n FROM users WHERE id <= 300 AND id NOT IN (2, 3, 5, 6, 7) AND name IS DISTINCT FROM 'User ' || id`);
    expect(demo[0].n).toBe(0);
  });
});

describe('merge_columns into a NOT NULL column with a default, its index rebuilt on it', () => {
  const MERGE = {
    name: 'contacts_merge',
    operations: [
      {
        merge_columns: {
          table: 'contacts',
          columns: ['first', 'last'],
          into: { name: 'full_name', type: 'text', up: `first || ' ' || last`, nullable: false, default: `'(unknown)'` },
          down: { first: `split_part(full_name, ' ', 1)`, last: `nullif(split_part(full_name, ' ', 2), '')` },
        },
      },
    ],
  };
  const shape = async () =>
    (
      await db.query(
        `SELECT a.attname, a.attnotnull, pg_get_expr(d.adbin, d.adrelid) AS def FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
          WHERE a.attrelid = 'public.contacts'::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
      )
    ).rows;
  const indexes = async () => (await db.query(`SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'contacts' ORDER BY 1`)).rows;
  const constraints = async () => (await db.query(`SELECT conname, pg_get_constraintdef(oid) AS def, convalidated FROM pg_constraint WHERE conrelid = 'public.contacts'::regclass ORDER BY 1`)).rows;

  beforeAll(async () => {
    await db.query(`CREATE TABLE contacts (id int PRIMARY KEY, tenant int NOT NULL, first text, last text)`);
    await db.query(`INSERT INTO contacts SELECT g, g % 3, 'F' || g, CASE WHEN g % 50 = 0 THEN NULL ELSE 'L' || g END FROM generate_series(1, 200) g`);
    await db.query(`CREATE INDEX contacts_tenant_last ON contacts (tenant, last)`);
  });

  it('rolls back from expand and from the gate to exactly the catalog and rows it started from', async () => {
    const engine = engineFor(db.pool);
    const steps = stepsFor(engine.store, db.pool);
    const before = await catalogSnapshot(db.pool);
    const digest = await tableDigest(db.pool, 'contacts');

    const first = await engine.open(MERGE);
    await steps.expand(first.id);
    expect(await indexes()).toEqual([
      { indexname: '_bellows_ix_0_contacts_tenant_last', indexdef: 'CREATE INDEX _bellows_ix_0_contacts_tenant_last ON public.contacts USING btree (tenant, full_name)' },
      { indexname: 'contacts_pkey', indexdef: 'CREATE UNIQUE INDEX contacts_pkey ON public.contacts USING btree (id)' },
      { indexname: 'contacts_tenant_last', indexdef: 'CREATE INDEX contacts_tenant_last ON public.contacts USING btree (tenant, last)' },
    ]);
    await steps.rollback(first.id);
    expect(await catalogSnapshot(db.pool)).toEqual(before);
    expect(await tableDigest(db.pool, 'contacts')).toEqual(digest);

    const second = await engine.open(MERGE);
    expect(await engine.executor.drive(second, { stopAtGate: true })).toBe('awaiting_approval');
    // At the gate the NOT NULL is a validated CHECK, and the default is set.
    expect(await constraints()).toEqual([
      { conname: '_bellows_nn_0_full_name', def: 'CHECK ((full_name IS NOT NULL))', convalidated: true },
      { conname: 'contacts_pkey', def: 'PRIMARY KEY (id)', convalidated: true },
    ]);
    await engine.store.setDesired(second.id, { abort: true }, 'abort');
    expect(await engine.executor.drive(await engine.store.getRun(second.id), { stopAtGate: true })).toBe('rolled_back');
    expect(await catalogSnapshot(db.pool)).toEqual(before);
    expect(await tableDigest(db.pool, 'contacts')).toEqual(digest);
  });

  it('runs with both applications writing: NOT NULL without a scan under lock, the default, the index on the new column', async () => {
    const engine = engineFor(db.pool);
    const steps = stepsFor(engine.store, db.pool);
    const run = await engine.open(MERGE);
    await steps.expand(run.id);
    await steps.dualWrite(run.id);
    const apps = await applications(db, 'contacts_merge');
    await apps.oldApp.query(`INSERT INTO contacts (id, tenant, first) VALUES (1001, 1, 'Ada')`);
    await apps.newApp.query(`INSERT INTO contacts (id, tenant, full_name) VALUES (1002, 2, 'Alan Turing')`);
    await apps.newApp.query(`INSERT INTO contacts (id, tenant) VALUES (1003, 0)`);
    await backfillAndVerify(steps, run.id);
    await steps.contract(run.id);
    await apps.close();

    expect(await shape()).toEqual([
      { attname: 'id', attnotnull: true, def: null },
      { attname: 'tenant', attnotnull: true, def: null },
      { attname: 'full_name', attnotnull: true, def: `'(unknown)'::text` },
    ]);
    expect(await constraints()).toEqual([{ conname: 'contacts_pkey', def: 'PRIMARY KEY (id)', convalidated: true }]);
    expect(await indexes()).toEqual([
      { indexname: 'contacts_pkey', indexdef: 'CREATE UNIQUE INDEX contacts_pkey ON public.contacts USING btree (id)' },
      { indexname: 'contacts_tenant_last', indexdef: 'CREATE INDEX contacts_tenant_last ON public.contacts USING btree (tenant, full_name)' },
    ]);
    const { rows } = await db.query(`SELECT id, full_name FROM contacts WHERE id IN (1, 50, 1001, 1002, 1003) ORDER BY id`);
    expect(rows).toEqual([
      { id: 1, full_name: 'F1 L1' },
      { id: 50, full_name: '(unknown)' },
      { id: 1001, full_name: '(unknown)' },
      { id: 1002, full_name: 'Alan Turing' },
      { id: 1003, full_name: '(unknown)' },
    ]);
    await expect(db.query(`INSERT INTO contacts (id, tenant, full_name) VALUES (2000, 0, NULL)`)).rejects.toThrow(/null value in column "full_name"/);
  });
});

describe('split_column into a NOT NULL column with a default and a nullable one', () => {
  const SPLIT = {
    name: 'codes_split',
    operations: [
      {
        split_column: {
          table: 'codes',
          column: 'code',
          into: [
            { name: 'prefix', type: 'text', up: `nullif(split_part(code, '-', 1), '')`, nullable: false, default: `'XX'` },
            { name: 'num', type: 'int', up: `nullif(split_part(code, '-', 2), '')::int` },
          ],
          down: `prefix || coalesce('-' || num, '')`,
        },
      },
    ],
  };

  it('rolls back from expand exactly, then runs: prefix NOT NULL with its default, num nullable, code gone', async () => {
    await db.query(`CREATE TABLE codes (id int PRIMARY KEY, code text)`);
    await db.query(`INSERT INTO codes VALUES (1, 'AB-12'), (2, 'CD'), (3, NULL), (4, '-7')`);
    const engine = engineFor(db.pool);
    const steps = stepsFor(engine.store, db.pool);
    const before = await catalogSnapshot(db.pool);
    const digest = await tableDigest(db.pool, 'codes');
    const first = await engine.open(SPLIT);
    await steps.expand(first.id);
    await steps.rollback(first.id);
    expect(await catalogSnapshot(db.pool)).toEqual(before);
    expect(await tableDigest(db.pool, 'codes')).toEqual(digest);

    const run = await engine.open(SPLIT);
    await steps.expand(run.id);
    await steps.dualWrite(run.id);
    const apps = await applications(db, 'codes_split');
    await apps.newApp.query(`INSERT INTO codes (id, num) VALUES (5, 9)`);
    await apps.oldApp.query(`INSERT INTO codes (id, code) VALUES (6, 'EF-3')`);
    await backfillAndVerify(steps, run.id);
    await steps.contract(run.id);
    await apps.close();
    const { rows: shape } = await db.query(
      `SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull, pg_get_expr(d.adbin, d.adrelid) AS def
         FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attrelid = 'public.codes'::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    );
    expect(shape).toEqual([
      { attname: 'id', type: 'integer', attnotnull: true, def: null },
      { attname: 'prefix', type: 'text', attnotnull: true, def: `'XX'::text` },
      { attname: 'num', type: 'integer', attnotnull: false, def: null },
    ]);
    expect((await db.query(`SELECT conname FROM pg_constraint WHERE conrelid = 'public.codes'::regclass ORDER BY 1`)).rows).toEqual([{ conname: 'codes_pkey' }]);
    expect((await db.query(`SELECT id, prefix, num FROM codes ORDER BY id`)).rows).toEqual([
      { id: 1, prefix: 'AB', num: 12 },
      { id: 2, prefix: 'CD', num: null },
      { id: 3, prefix: 'XX', num: null },
      { id: 4, prefix: 'XX', num: 7 },
      { id: 5, prefix: 'XX', num: 9 },
      { id: 6, prefix: 'EF', num: 3 },
    ]);
  });
});

describe('bad split_column and merge_columns', () => {
  beforeAll(async () => {
    await db.query(`CREATE TABLE people (id int PRIMARY KEY, full_name text, nick text, a text, b text CHECK (b <> ''))`);
    await db.query(`CREATE INDEX people_nick ON people (nick)`);
    await db.query(`CREATE UNIQUE INDEX people_nick_key ON people (nick)`);
  });

  it('are refused before any DDL with one line naming the field', async () => {
    const engine = engineFor(db.pool);
    const before = await catalogSnapshot(db.pool);
    const into = [
      { name: 'given', type: 'text', up: `split_part(full_name, ' ', 1)` },
      { name: 'family', type: 'text', up: `split_part(full_name, ' ', 2)` },
    ];
    const split = (s: object) => ({ name: 'bad_split', operations: [{ split_column: { table: 'people', column: 'full_name', into, down: `given || ' ' || family`, ...s } }] });
    const merge = (s: object) => ({
      name: 'bad_merge',
      operations: [{ merge_columns: { table: 'people', columns: ['a', 'full_name'], into: { name: 'ab', type: 'text', up: `a || full_name` }, down: { a: 'ab', full_name: 'ab' }, ...s } }],
    });
    const cases: Array<[unknown, string]> = [
      [split({ column: 'id' }), 'operations[0].split_column.column: "id" is part of the primary key that the backfill walks; changing it is not supported'],
      [split({ column: 'nope' }), 'operations[0].split_column.column: column "nope" does not exist in public.people'],
      [split({ into: [into[0], { ...into[1], name: 'nick' }] }), 'operations[0].split_column.into[1].name: column "nick" already exists in public.people'],
      [split({ into: [into[0], { ...into[1], name: 'given' }] }), 'operations[0].split_column.into[1].name: "given" is given twice'],
      [split({ into: [into[0], { ...into[1], type: 'txet' }] }), 'operations[0].split_column.into[1].type: type "txet" does not exist in the database (is its extension installed?)'],
      [split({ into: [into[0], { ...into[1], up: 'nosuch + 1' }] }), 'operations[0].split_column.into[1].up: invalid expression "nosuch + 1": column "nosuch" does not exist'],
      [split({ down: `full_name || 'x'` }), 'operations[0].split_column.down: invalid expression "full_name || \'x\'": column "full_name" does not exist'],
      [
        split({ column: 'nick' }),
        'operations[0].split_column.column: index people_nick is on "nick", which splits into "given", "family": which of them it should cover is ambiguous; drop it first (drop_index) and create_index on the new columns after contract',
      ],
      [
        merge({ columns: ['a', 'nick'], down: { a: 'ab', nick: 'ab' } }),
        'operations[0].merge_columns.columns[1]: index people_nick_key is on "nick", and a unique index would mean something else on "ab"; drop it first (drop_index) and create_index on the new columns after contract',
      ],
      [split({ into: [into[0], { ...into[1], default: 'nosuch' }] }), 'operations[0].split_column.into[1].default: invalid expression "nosuch": column "nosuch" does not exist'],
      [merge({ columns: ['a', 'b'], down: { a: 'ab', b: 'ab' } }), 'operations[0].merge_columns.columns[1]: "b" is used by constraint people_b_check on table people; contract would lose it with the old column. Drop it first and recreate it after contract'],
      [merge({ down: { a: 'ab' } }), 'playbook: operations[0].merge_columns.down: give a down for "full_name", the value the old application reads'],
      [merge({ down: { a: 'ab', full_name: 'ab', zz: 'ab' } }), 'playbook: operations[0].merge_columns.down.zz: "zz" is not one of columns'],
      [merge({ down: { a: 'ab', full_name: 'a' } }), 'operations[0].merge_columns.down.full_name: invalid expression "a": column "a" does not exist'],
      [merge({ into: { name: 'nick', type: 'text', up: 'a' } }), 'operations[0].merge_columns.into.name: column "nick" already exists in public.people'],
    ];
    for (const [doc, message] of cases) {
      const err = await engine.open(doc).then(() => null, (e: unknown) => e);
      expect(err, message).toBeInstanceOf(InputError);
      expect((err as Error).message, message).toBe(message);
    }
    expect(await catalogSnapshot(db.pool)).toEqual(before);
  });
});
