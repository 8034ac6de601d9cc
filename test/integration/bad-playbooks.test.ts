import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { engineFor } from '../helpers/engine.ts';
import { SMALL_BATCHES, bellowsRunCount, stepsFor, tableState, vToBigint } from '../helpers/lifecycle.ts';
import { ConflictError, InputError } from '../../src/errors.ts';

/**
 * Bad playbooks at the engine level: each is refused with a typed error whose
 * message names the path of the field at fault, before any DDL runs and before
 * any run is recorded.
 */

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
  await db.query(`CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL, name text, nick text NOT NULL DEFAULT 'x')`);
  await db.query(`CREATE INDEX users_name_idx ON users (name)`);
  await db.query(`INSERT INTO users (email, name) SELECT 'u' || g || '@x.com', 'n' || g FROM generate_series(1, 200) g`);
  await db.query(`CREATE TABLE nokey (a int, b text)`);
  await db.query(`INSERT INTO nokey SELECT g, 'b' || g FROM generate_series(1, 50) g`);
  await db.query(`CREATE TABLE orders (id bigserial PRIMARY KEY, total int NOT NULL)`);
  await db.query(`CREATE INDEX orders_total_idx ON orders (total)`);
  await db.query(`INSERT INTO orders (total) SELECT g FROM generate_series(1, 200) g`);
  // Columns with things built on them that contract's DROP COLUMN would take along or trip on.
  await db.query(`CREATE TABLE guarded (
    id bigserial PRIMARY KEY,
    g_check text CHECK (g_check <> ''),
    g_fk bigint REFERENCES orders (id),
    g_expr text,
    g_part text,
    g_view text,
    g_seq serial,
    g_gen_src text,
    g_gen text GENERATED ALWAYS AS (upper(g_gen_src)) STORED,
    g_ok text CONSTRAINT guarded_g_ok_key UNIQUE,
    g_refd text UNIQUE
  )`);
  await db.query(`CREATE INDEX guarded_lower_expr ON guarded (lower(g_expr))`);
  await db.query(`CREATE UNIQUE INDEX guarded_live_part ON guarded (g_part) WHERE g_part <> ''`);
  await db.query(`CREATE INDEX guarded_ok_id ON guarded (g_ok, id)`);
  await db.query(`CREATE VIEW guarded_v AS SELECT id, g_view FROM guarded`);
  await db.query(`CREATE TABLE guarded_ref (id int PRIMARY KEY, g_refd text REFERENCES guarded (g_refd))`);
  await db.query(`INSERT INTO guarded (g_check, g_fk, g_expr, g_part, g_view, g_gen_src, g_ok) SELECT 'c' || g, g, 'E' || g, 'p' || g, 'v' || g, 's' || g, 'ok' || g FROM generate_series(1, 100) g`);
});

/** What "no DDL ran" means: every table, function, schema and row as before, and no new run. */
async function everything() {
  return {
    users: await tableState(db.pool, 'public.users'),
    guarded: await tableState(db.pool, 'public.guarded'),
    nokey: await tableState(db.pool, 'public.nokey', 'a'),
    guardedRef: await tableState(db.pool, 'public.guarded_ref'),
    orders: await tableState(db.pool, 'public.orders'),
    runs: await bellowsRunCount(db.pool),
  };
}

async function refusal(doc: unknown): Promise<unknown> {
  const engine = engineFor(db.pool);
  return engine.open(doc).then(
    () => null,
    (err: unknown) => err,
  );
}

const op = (operation: Record<string, unknown>, name = 'bad') => ({ name, settings: SMALL_BATCHES, operations: [operation] });
const alter = (spec: Record<string, unknown>) => op({ alter_column: { table: 'users', column: 'email', type: 'citext', up: 'lower(email)', down: 'email::text', ...spec } });

const alterTotal = (spec: Record<string, unknown>) => op({ alter_column: { table: 'orders', column: 'total', ...spec } });

const constrain = (spec: Record<string, unknown>) =>
  op({ create_constraint: { table: 'orders', name: 'orders_total_check', type: 'check', columns: ['total'], check: 'total > 0', ...spec } });

interface BadCase {
  name: string;
  doc: unknown;
  message: string | RegExp;
}

const cases: BadCase[] = [
  { name: 'missing field', doc: op({ add_column: { table: 'users', name: 'a' } }), message: 'playbook: operations[0].add_column.type: Required' },
  { name: 'half a translation', doc: op({ alter_column: { table: 'users', column: 'email', down: 'email' } }), message: 'playbook: operations[0].alter_column.up: give up and down together: each translates one way' },
  {
    name: 'NOT NULL without up',
    doc: op({ alter_column: { table: 'users', column: 'name', nullable: false } }),
    message: 'operations[0].alter_column.nullable: NOT NULL needs up and down: up gives the NULLs (and the old application\'s NULL writes) a value, where NOT NULL alone would fail those writes',
  },
  { name: 'a default that is not of the column type', doc: op({ alter_column: { table: 'users', column: 'id', default: `'abc'` } }), message: /^operations\[0\]\.alter_column\.default: invalid expression "'abc'": invalid input syntax for type bigint/ },
  { name: 'missing name', doc: { operations: [{ rename_column: { table: 'users', from: 'name', to: 'n' } }] }, message: 'playbook: name: Required' },
  { name: 'unknown operation', doc: op({ frobnicate: { table: 'users' } }), message: /^playbook: operations\[0\]: Unrecognized key: "frobnicate"/ },
  { name: 'unknown field', doc: op({ add_column: { table: 'users', name: 'a', type: 'int', nulable: true } }), message: /^playbook: operations\[0\]\.add_column: Unrecognized key: "nulable"/ },
  {
    name: 'two operations in one entry',
    doc: op({ rename_column: { table: 'users', from: 'name', to: 'n' }, drop_column: { table: 'users', column: 'name' } }),
    message: /^playbook: operations\[0\]: each operation has exactly one key, its kind, e\.g\. alter_column or create_index \(the README lists all \d+\)$/,
  },
  {
    name: 'wrong type',
    doc: op({ add_column: { table: 'users', name: 'a', type: 'int', nullable: 'yes' } }),
    message: 'playbook: operations[0].add_column.nullable: Invalid input: expected boolean, received string',
  },
  { name: 'wrong setting type', doc: { ...alter({}), settings: { batchSize: 'big' } }, message: /^playbook: settings\.batchSize: Invalid input: expected number/ },
  { name: 'bad playbook name', doc: { ...alter({}), name: 'Drop Table' }, message: /^playbook: name: lowercase letters/ },
  { name: 'table that does not exist', doc: alter({ table: 'nope' }), message: 'operations[0].alter_column.table: table public.nope does not exist' },
  { name: 'schema that does not exist', doc: alter({ table: 'nope.users' }), message: 'operations[0].alter_column.table: table nope.users does not exist' },
  { name: 'column that does not exist', doc: alter({ column: 'mail' }), message: 'operations[0].alter_column.column: column "mail" does not exist in public.users' },
  { name: 'type that does not exist', doc: alter({ type: 'emailaddress' }), message: /^operations\[0\]\.alter_column\.type: type "emailaddress" does not exist/ },
  { name: 'type that does not parse', doc: alter({ type: 'int; DROP TABLE users' }), message: /^operations\[0\]\.alter_column\.type: type "int; DROP TABLE users" does not exist/ },
  { name: 'invalid up SQL', doc: alter({ up: 'lower(emial)' }), message: /^operations\[0\]\.alter_column\.up: invalid expression "lower\(emial\)": column "emial" does not exist/ },
  { name: 'up that does not cast to the new type', doc: alter({ type: 'int', up: `now()`, down: 'email::text' }), message: /^operations\[0\]\.alter_column\.up: invalid expression "now\(\)"/ },
  {
    name: 'up that smuggles a second statement',
    doc: alter({ up: `lower(email)) FROM users; DROP TABLE users; SELECT (1` }),
    message: /^operations\[0\]\.alter_column\.up: invalid expression/,
  },
  { name: 'invalid down SQL', doc: alter({ down: 'email::textt' }), message: /^operations\[0\]\.alter_column\.down: invalid expression "email::textt": type "textt" does not exist/ },
  {
    name: 'invalid default',
    doc: op({ add_column: { table: 'users', name: 'plan', type: 'int', default: `'free'` } }),
    message: /^operations\[0\]\.add_column\.default: invalid expression "'free'"/,
  },
  {
    name: 'NOT NULL add without default or up',
    doc: op({ add_column: { table: 'users', name: 'plan', type: 'text', nullable: false } }),
    message: 'playbook: operations[0].add_column.nullable: a NOT NULL column needs a default or an up expression',
  },
  { name: 'drop_index of an index that does not exist', doc: op({ drop_index: { table: 'users', name: 'users_nope_idx' } }), message: 'operations[0].drop_index.name: no index "users_nope_idx" on public.users' },
  {
    name: 'drop_index of a primary key',
    doc: op({ drop_index: { table: 'users', name: 'users_pkey' } }),
    message: 'operations[0].drop_index.name: "users_pkey" is needed by constraint users_pkey on users; drop the constraint instead, or first',
  },
  {
    name: 'drop_index of a unique index a foreign key of another table needs',
    doc: op({ drop_index: { table: 'guarded', name: 'guarded_g_refd_key' } }),
    message: /^operations\[0\]\.drop_index\.name: "guarded_g_refd_key" is needed by constraint guarded_g_refd_key on guarded/,
  },
  { name: 'add of a column that exists', doc: op({ add_column: { table: 'users', name: 'email', type: 'text' } }), message: 'operations[0].add_column.name: column "email" already exists in public.users' },
  {
    name: 'drop_column of a NOT NULL column without default or down',
    doc: op({ drop_column: { table: 'users', column: 'email' } }),
    message: /^operations\[0\]\.drop_column\.down: Required, because "email" is NOT NULL without a default/,
  },
  { name: 'rename to a name that exists', doc: op({ rename_column: { table: 'users', from: 'name', to: 'email' } }), message: 'operations[0].rename_column.to: column "email" already exists in public.users' },
  { name: 'rename of the key column', doc: op({ rename_column: { table: 'users', from: 'id', to: 'user_id' } }), message: /^operations\[0\]\.rename_column\.from: "id" is part of the primary key/ },
  { name: 'alter of the key column', doc: alter({ column: 'id', type: 'text', up: 'id::text', down: 'id::bigint' }), message: /^operations\[0\]\.alter_column\.column: "id" is part of the primary key/ },
  { name: 'create_index on a column that does not exist', doc: op({ create_index: { table: 'users', name: 'ix', columns: ['email', 'nope'] } }), message: 'operations[0].create_index.columns[1]: column "nope" does not exist in public.users' },
  { name: 'create_index with a name taken on the table', doc: op({ create_index: { table: 'users', name: 'users_name_idx', columns: ['email'] } }), message: /^operations\[0\]\.create_index\.name: .*"users_name_idx" already exists/ },
  {
    name: 'create_index with the name of another table’s index',
    doc: op({ create_index: { table: 'users', name: 'orders_total_idx', columns: ['email'] } }),
    message: /^operations\[0\]\.create_index\.name: .*"orders_total_idx" already exists/,
  },
  { name: 'create_index with the name of a table', doc: op({ create_index: { table: 'users', name: 'orders', columns: ['email'] } }), message: /^operations\[0\]\.create_index\.name: .*"orders" already exists/ },
  { name: 'invalid partial index predicate', doc: op({ create_index: { table: 'users', name: 'ix', columns: ['email'], where: 'active' } }), message: /^operations\[0\]\.create_index\.where: invalid expression "active"/ },
  {
    name: 'a later operation at fault',
    doc: { name: 'bad', operations: [{ add_column: { table: 'users', name: 'plan', type: 'text' } }, { add_column: { table: 'users', name: 'plan', type: 'int' } }] },
    message: 'operations[1].add_column.name: column "plan" already exists in public.users',
  },
  {
    name: 'an operation on a column an earlier one dropped',
    doc: { name: 'bad', operations: [{ drop_column: { table: 'users', column: 'name' } }, { rename_column: { table: 'users', from: 'name', to: 'n' } }] },
    message: 'operations[1].rename_column.from: column "name" does not exist in public.users',
  },
  {
    name: 'a backfilling operation on a table without a key',
    doc: op({ alter_column: { table: 'nokey', column: 'b', up: 'upper(b)', down: 'b' } }),
    message: /^operations\[0\]\.alter_column\.table: table public\.nokey has no primary key and no unique index over NOT NULL columns/,
  },
  {
    name: 'an add_column with up on a table without a key',
    doc: op({ add_column: { table: 'nokey', name: 'c', type: 'int', up: 'a * 2' } }),
    message: /^operations\[0\]\.add_column\.table: table public\.nokey has no primary key/,
  },
  ...(
    [
      ['g_check', 'constraint guarded_g_check_check on table guarded'],
      ['g_fk', 'constraint guarded_g_fk_fkey on table guarded'],
      ['g_expr', 'index guarded_lower_expr'],
      ['g_part', 'index guarded_live_part'],
      ['g_view', 'rule _RETURN on view guarded_v'],
      ['g_seq', 'sequence guarded_g_seq_seq'],
      ['g_gen_src', 'default value for column g_gen of table guarded'],
      ['g_refd', 'constraint guarded_ref_g_refd_fkey on table guarded_ref'],
    ] as const
  ).map(([column, what]) => ({
    name: `alter_column of a column with ${what.split(' ')[0] === 'rule' ? 'a view' : what.split(' on ')[0].split(' of ')[0]} built on it (${column})`,
    doc: op({ alter_column: { table: 'guarded', column, up: column, down: column } }),
    message: `operations[0].alter_column.column: "${column}" is used by ${what}; contract would lose it with the old column. Drop it first and recreate it after contract`,
  })),
  {
    name: 'drop_column of a column a view reads',
    doc: op({ drop_column: { table: 'guarded', column: 'g_view' } }),
    message: 'operations[0].drop_column.column: "g_view" is used by rule _RETURN on view guarded_v; drop it first',
  },
  {
    name: 'drop_column of a column another table’s foreign key references',
    doc: op({ drop_column: { table: 'guarded', column: 'g_refd' } }),
    message: 'operations[0].drop_column.column: "g_refd" is used by constraint guarded_ref_g_refd_fkey on table guarded_ref; drop it first',
  },
  { name: 'the state schema', doc: op({ add_column: { table: 'bellows.runs', name: 'x', type: 'int' } }), message: /^operations\[0\]\.add_column\.table: bellows does not migrate its own state schema/ },
  { name: 'create_constraint on a column that does not exist', doc: constrain({ columns: ['nope'] }), message: 'operations[0].create_constraint.columns[0]: column "nope" does not exist in public.orders' },
  { name: 'create_constraint check without its expression', doc: constrain({ check: undefined }), message: 'playbook: operations[0].create_constraint.check: Required for type check' },
  {
    name: 'create_constraint check over a column it does not list',
    doc: constrain({ check: 'total > 0 AND id > 0' }),
    message: /^operations\[0\]\.create_constraint\.check: invalid expression "total > 0 AND id > 0": column "id" does not exist/,
  },
  {
    name: 'create_constraint check that existing rows violate',
    doc: constrain({ check: 'total > 150' }),
    message: 'operations[0].create_constraint.check: 150 rows of public.orders violate it, e.g. id 1; correct them before adding the constraint, or give up and down to repair them',
  },
  {
    name: 'create_constraint unique over duplicates',
    doc: op({ create_constraint: { table: 'users', name: 'users_nick_key', type: 'unique', columns: ['nick'] } }),
    message: 'operations[0].create_constraint.columns: 200 rows of public.users share their (nick) with another row, e.g. id 1; correct them before adding the constraint, or give up and down to repair them',
  },
  {
    name: 'create_constraint foreign key that existing rows break',
    doc: constrain({ type: 'foreign_key', check: undefined, references: { table: 'guarded', columns: ['id'] } }),
    message: 'operations[0].create_constraint.references: 100 rows of public.orders reference no row of public.guarded, e.g. id 101; correct them before adding the constraint, or give up and down to repair them',
  },
  {
    name: 'create_constraint foreign key to columns without a unique key',
    doc: constrain({ type: 'foreign_key', check: undefined, references: { table: 'users', columns: ['name'] } }),
    message: 'operations[0].create_constraint.references.columns: no primary key or unique index of public.users is exactly (name); a foreign key needs one',
  },
  {
    name: 'create_constraint foreign key to a table that does not exist',
    doc: constrain({ type: 'foreign_key', check: undefined, references: { table: 'nope', columns: ['id'] } }),
    message: 'operations[0].create_constraint.references.table: table public.nope does not exist',
  },
  { name: 'create_constraint with a name taken on the table', doc: constrain({ name: 'orders_pkey' }), message: 'operations[0].create_constraint.name: constraint "orders_pkey" already exists on public.orders' },
  {
    name: 'create_constraint unique named like a table',
    doc: constrain({ name: 'users', type: 'unique', check: undefined }),
    message: /^operations\[0\]\.create_constraint\.name: "users" already exists in schema public/,
  },
  {
    name: 'alter_column check over another column',
    doc: alterTotal({ check: { name: 'orders_total_check', expression: 'total > id' } }),
    message: /^operations\[0\]\.alter_column\.check\.expression: invalid expression "total > id": column "id" does not exist/,
  },
  {
    name: 'alter_column check under a name taken on the table',
    doc: alterTotal({ check: { name: 'orders_pkey', expression: 'total > 0' } }),
    message: 'operations[0].alter_column.check.name: constraint "orders_pkey" already exists on public.orders',
  },
  {
    name: 'alter_column unique named like a table',
    doc: alterTotal({ unique: { name: 'users' } }),
    message: /^operations\[0\]\.alter_column\.unique\.name: "users" already exists in schema public/,
  },
  {
    name: 'alter_column references a table that does not exist',
    doc: alterTotal({ references: { name: 'orders_total_fkey', table: 'nope', column: 'id' } }),
    message: 'operations[0].alter_column.references.table: table public.nope does not exist',
  },
  {
    name: 'alter_column references a column without a unique key',
    doc: alterTotal({ references: { name: 'orders_total_fkey', table: 'users', column: 'name' } }),
    message: 'operations[0].alter_column.references.column: no primary key or unique index of public.users is exactly (name); a foreign key needs one',
  },
  {
    name: 'alter_column references a column that does not exist',
    doc: alterTotal({ references: { name: 'orders_total_fkey', table: 'users', column: 'nope' } }),
    message: 'operations[0].alter_column.references.column: column "nope" does not exist in public.users',
  },
  {
    name: 'alter_column unique with an up that leaves duplicates',
    doc: alterTotal({ unique: { name: 'orders_total_key' }, up: 'total / 2', down: 'total * 2' }),
    message: 'operations[0].alter_column.up: 198 rows of public.orders share their (total) with another row once up has run, e.g. id 2; up must give every row a value that satisfies it',
  },
  {
    name: 'create_constraint up without a column it constrains',
    doc: constrain({ up: {}, down: { total: 'total' } }),
    message: 'playbook: operations[0].create_constraint.up.total: Required: each of columns needs one',
  },
  {
    name: 'create_constraint up for a column it does not constrain',
    doc: constrain({ up: { total: 'total', id: 'id' }, down: { total: 'total' } }),
    message: 'playbook: operations[0].create_constraint.up.id: not one of columns',
  },
  {
    name: 'create_constraint up without down',
    doc: constrain({ up: { total: 'total' } }),
    message: 'playbook: operations[0].create_constraint.down: give up and down together: each translates one way',
  },
  {
    name: 'create_constraint with up whose down does not give the old type',
    doc: constrain({ up: { total: 'greatest(total, 1)' }, down: { total: `'x'` } }),
    message: /^operations\[0\]\.create_constraint\.down\.total: invalid expression "'x'": invalid input syntax for type integer/,
  },
  { name: 'drop_constraint of a constraint that does not exist', doc: op({ drop_constraint: { table: 'users', name: 'users_nope' } }), message: 'operations[0].drop_constraint.name: no constraint "users_nope" on public.users' },
  {
    name: 'drop_constraint of a primary key',
    doc: op({ drop_constraint: { table: 'users', name: 'users_pkey' } }),
    message: 'operations[0].drop_constraint.name: "users_pkey" is the primary key; bellows walks tables by their key and does not drop one',
  },
  {
    name: 'drop_constraint of a unique constraint a foreign key of another table needs',
    doc: op({ drop_constraint: { table: 'guarded', name: 'guarded_g_refd_key' } }),
    message: 'operations[0].drop_constraint.name: "guarded_g_refd_key" is needed by constraint guarded_ref_g_refd_fkey on guarded_ref; drop that first',
  },
  {
    name: 'rename_constraint to a name taken on the table',
    doc: op({ rename_constraint: { table: 'guarded', from: 'guarded_g_check_check', to: 'guarded_g_ok_key' } }),
    message: 'operations[0].rename_constraint.to: constraint "guarded_g_ok_key" already exists on public.guarded',
  },
  {
    name: 'rename_constraint of a unique constraint to the name of another relation',
    doc: op({ rename_constraint: { table: 'guarded', from: 'guarded_g_ok_key', to: 'orders_total_idx' } }),
    message: /^operations\[0\]\.rename_constraint\.to: "orders_total_idx" already exists in schema public/,
  },
  { name: 'rename_constraint of a constraint that does not exist', doc: op({ rename_constraint: { table: 'users', from: 'nope', to: 'x' } }), message: 'operations[0].rename_constraint.from: no constraint "nope" on public.users' },
];

describe.each(cases)('refuses $name', ({ doc, message }) => {
  it('with an InputError naming the field, and runs nothing', async () => {
    const before = await everything();
    const err = await refusal(doc);
    expect(err).toBeInstanceOf(InputError);
    if (typeof message === 'string') expect((err as Error).message).toBe(message);
    else expect((err as Error).message).toMatch(message);
    expect(await everything()).toEqual(before);
  });
});

describe('accepted on a table without a key', () => {
  it('operations that need no backfill (rename, nullable add, index) run to the end', async () => {
    const engine = engineFor(db.pool);
    const run = await engine.runToEnd({
      name: 'nokey_ok',
      operations: [
        { rename_column: { table: 'nokey', from: 'b', to: 'label' } },
        { add_column: { table: 'nokey', name: 'note', type: 'text' } },
        { create_index: { table: 'nokey', name: 'nokey_a_idx', columns: ['a'] } },
      ],
    });
    expect(run.status).toBe('completed');
    const state = await tableState(db.pool, 'public.nokey', 'a');
    expect(state.schema.columns.map((c) => c.name)).toEqual(['a', 'label', 'note']);
    expect(state.rows).toHaveLength(50);
  });
});

describe('accepted with dependents contract keeps', () => {
  it('alter_column of a column with a unique constraint and a plain index keeps both working', async () => {
    const engine = engineFor(db.pool);
    const run = await engine.runToEnd(op({ alter_column: { table: 'guarded', column: 'g_ok', type: 'citext', up: 'g_ok', down: 'g_ok::text' } }, 'guarded_ok'));
    expect(run.status).toBe('completed');
    const indexes = (await tableState(db.pool, 'public.guarded')).schema.indexes.map((i) => i.indexdef);
    expect(indexes).toContain('CREATE UNIQUE INDEX guarded_g_ok_key ON public.guarded USING btree (g_ok)');
    expect(indexes).toContain('CREATE INDEX guarded_ok_id ON public.guarded USING btree (g_ok, id)');
    await expect(db.query(`INSERT INTO guarded (g_ok) VALUES ('OK1')`)).rejects.toThrow(/duplicate key value violates unique constraint "guarded_g_ok_key"/);
  });

  it('drop_column of a column with a CHECK and an expression index', async () => {
    const engine = engineFor(db.pool);
    const run = await engine.runToEnd(op({ drop_column: { table: 'guarded', column: 'g_expr' } }, 'guarded_drop'));
    expect(run.status).toBe('completed');
    const state = await tableState(db.pool, 'public.guarded');
    expect(state.schema.columns.map((c) => c.name)).not.toContain('g_expr');
    expect(state.schema.indexes.map((i) => i.indexdef).join('\n')).not.toContain('guarded_lower_expr');
  });
});

describe('refusals that depend on other runs', () => {
  it('an applied playbook: the same again is a ConflictError, a changed one an InputError; nothing runs', async () => {
    const engine = engineFor(db.pool);
    const doc = op({ add_column: { table: 'orders', name: 'note', type: 'text' } }, 'applied_once');
    expect((await engine.runToEnd(doc)).status).toBe('completed');
    const before = await everything();

    const again = await refusal(doc);
    expect(again).toBeInstanceOf(ConflictError);
    expect((again as Error).message).toMatch(/^playbook applied_once is already applied \(run \d+\)$/);

    const changed = await refusal(op({ add_column: { table: 'orders', name: 'note', type: 'varchar(20)' } }, 'applied_once'));
    expect(changed).toBeInstanceOf(InputError);
    expect((changed as Error).message).toMatch(/^playbook applied_once was applied \(run \d+\) with a different checksum/);
    expect(await everything()).toEqual(before);
  });

  it('a second run on a table already under migration is a ConflictError; nothing runs', async () => {
    const engine = engineFor(db.pool);
    const steps = stepsFor(engine.store, db.pool);
    const first = await engine.open(op({ alter_column: { table: 'orders', column: 'total', type: 'bigint', up: 'total::bigint', down: 'total::int' } }, 'orders_first'));
    await steps.expand(first.id);
    await steps.dualWrite(first.id);
    const before = await everything();

    for (const second of [
      op({ create_index: { table: 'orders', name: 'orders_id_total', columns: ['id', 'total'] } }, 'orders_second'),
      // the same column again: refused for the other run, not for the other run's shadow column or view
      op({ alter_column: { table: 'orders', column: 'total', type: 'numeric', up: 'total::numeric', down: 'total::int' } }, 'orders_third'),
    ]) {
      const err = await refusal(second);
      expect(err).toBeInstanceOf(ConflictError);
      expect((err as Error).message).toBe(`table public.orders is already being migrated by run ${first.id} (orders_first); finish or roll it back first`);
    }
    expect(await everything()).toEqual(before);

    // opening the first playbook again attaches to its run; changing it while it runs is refused
    expect((await engine.open(op({ alter_column: { table: 'orders', column: 'total', type: 'bigint', up: 'total::bigint', down: 'total::int' } }, 'orders_first'))).id).toBe(first.id);
    const changed = await refusal(op({ alter_column: { table: 'orders', column: 'total', type: 'numeric', up: 'total::numeric', down: 'total::int' } }, 'orders_first'));
    expect(changed).toBeInstanceOf(InputError);
    expect((changed as Error).message).toMatch(/^playbook orders_first changed since run \d+ started/);
    expect(await everything()).toEqual(before);

    await steps.rollback(first.id);
  });

  it('a playbook whose name is taken by an existing schema', async () => {
    await db.query(`CREATE SCHEMA taken_name`);
    const before = await everything();
    const err = await refusal(op({ add_column: { table: 'users', name: 'z', type: 'int' } }, 'taken_name'));
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/^schema "taken_name" already exists/);
    expect(await everything()).toEqual(before);
  });

  it('runs on different tables are active at the same time and both complete', async () => {
    await db.query(`CREATE TABLE a_side (id int PRIMARY KEY, v text NOT NULL)`);
    await db.query(`CREATE TABLE b_side (id int PRIMARY KEY, v int NOT NULL)`);
    await db.query(`INSERT INTO a_side SELECT g, 'V' || g FROM generate_series(1, 300) g`);
    await db.query(`INSERT INTO b_side SELECT g, g FROM generate_series(1, 300) g`);
    const engine = engineFor(db.pool);
    const a = await engine.open(op({ alter_column: { table: 'a_side', column: 'v', up: 'lower(v)', down: 'v' } }, 'side_a'));
    const b = await engine.open(op(vToBigint('b_side'), 'side_b'));
    const [outA, outB] = await Promise.all([
      engine.executor.drive(a, { stopAtGate: true }),
      engine.executor.drive(b, { stopAtGate: true }),
    ]);
    expect([outA, outB]).toEqual(['awaiting_approval', 'awaiting_approval']);
    const active = (await engine.store.listRuns()).filter((r) => r.status === 'awaiting_approval').map((r) => r.playbookName);
    expect(active.sort()).toEqual(['side_a', 'side_b']);
    for (const run of [a, b]) {
      await engine.store.setDesired(run.id, { approved: true }, 'approve');
      expect(await engine.executor.drive(run, { stopAtGate: true })).toBe('completed');
    }
    expect((await db.query(`SELECT count(*)::int AS n FROM a_side WHERE v <> lower(v)`)).rows[0].n).toBe(0);
    expect((await db.query(`SELECT pg_typeof(v)::text AS t FROM b_side LIMIT 1`)).rows[0].t).toBe('bigint');
  });
});
