import { beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { InputError } from '../../src/errors.ts';
import { convertMigration, convertMigrations, ImportState, type PgrollSource } from '../../src/import/pgroll/convert.ts';
import { PGROLL_KINDS } from '../../src/import/pgroll/format.ts';
import { loadSqlParser } from '../../src/import/pgroll/sql-statements.ts';
import { parsePlaybookText, playbookChecksum } from '../../src/playbook/load.ts';

/**
 * pgroll migrations written for this test, one or more for every operation kind
 * pgroll has (pkg/migrations/op_common.go), each with the exact bellows operation
 * it becomes or the exact line that refuses it.
 */

/** pgroll's operation kinds, as its OpName constants list them. */
const PGROLL_OPERATION_KINDS = [
  'create_table', 'rename_table', 'rename_column', 'drop_table', 'add_column', 'drop_column', 'alter_column', 'create_index',
  'drop_index', 'rename_constraint', 'drop_constraint', 'set_replica_identity', 'drop_multicolumn_constraint', 'sql', 'create_constraint',
];

// The sql converter reads its SQL with PostgreSQL's parser (WebAssembly), loaded once.
beforeAll(loadSqlParser);

function source(operations: unknown[], extra: Record<string, unknown> = {}, file = 'm.json'): PgrollSource {
  return { source: file, defaultName: file.replace(/\.\w+$/, ''), document: { ...extra, operations } };
}

function converted(op: unknown, schema?: string) {
  return convertMigration(source([op]), new ImportState(schema)).playbook.operations;
}

/** The operation as the playbook file says it, before bellows' defaults fill it in. */
function written(op: unknown, schema?: string): unknown {
  const c = convertMigration(source([op]), new ImportState(schema));
  return (YAML.parse(c.text) as { operations: unknown[] }).operations[0];
}

function refusal(op: unknown, schema?: string): string {
  try {
    converted(op, schema);
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return (err as Error).message;
  }
  throw new Error('expected a refusal');
}

/** `schema`: the import's --schema, public when left out. */
type Case = { kind: string; what: string; pgroll: Record<string, unknown>; schema?: string; becomes?: unknown; refused?: string };
const at = (i: string) => `import: m.json: operations[0].${i}`;

const CASES: Case[] = [
  {
    kind: 'create_table',
    what: 'a key, NOT NULL by default, a check and a foreign key under PostgreSQL’s own names, a comment',
    pgroll: {
      create_table: {
        name: 'orders',
        comment: 'what people buy',
        columns: [
          { name: 'id', type: 'bigserial', pk: true },
          { name: 'user_id', type: 'bigint', references: { name: 'orders_user_id_fkey', table: 'users', column: 'id' } },
          { name: 'total', type: 'numeric', default: '0', check: { name: 'orders_total_check', constraint: 'total >= 0' } },
          { name: 'code', type: 'text', unique: true, nullable: true, comment: 'shown to the buyer' },
        ],
      },
    },
    becomes: {
      create_table: {
        table: 'orders',
        columns: [
          { name: 'id', type: 'bigserial', nullable: false },
          { name: 'user_id', type: 'bigint', nullable: false, references: { table: 'users', column: 'id' } },
          { name: 'total', type: 'numeric', nullable: false, default: '0', check: 'total >= 0' },
          { name: 'code', type: 'text', unique: true, comment: 'shown to the buyer' },
        ],
        primary_key: ['id'],
        comment: 'what people buy',
      },
    },
  },
  {
    kind: 'create_table',
    what: 'the key from a primary_key constraint named as PostgreSQL names it',
    pgroll: { create_table: { name: 'tags', columns: [{ name: 'tag', type: 'text' }], constraints: [{ name: 'tags_pkey', type: 'primary_key', columns: ['tag'] }] } },
    becomes: { create_table: { table: 'tags', columns: [{ name: 'tag', type: 'text', nullable: false }], primary_key: ['tag'] } },
  },
  {
    kind: 'create_table',
    what: 'no primary key',
    pgroll: { create_table: { name: 'logs', columns: [{ name: 'line', type: 'text' }] } },
    refused: `${at('create_table')}: the table has no primary key; bellows walks every table by its key`,
  },
  {
    kind: 'create_table',
    what: 'a check under a name of its own',
    pgroll: { create_table: { name: 'orders', columns: [{ name: 'id', type: 'int', pk: true, check: { name: 'positive_id', constraint: 'id > 0' } }] } },
    refused: `${at('create_table.columns[0].check.name')}: "positive_id" is not the name PostgreSQL gives this constraint ("orders_id_check"), and bellows' create_table cannot name it`,
  },
  {
    kind: 'create_table',
    what: 'a generated column',
    pgroll: { create_table: { name: 'orders', columns: [{ name: 'id', type: 'int', pk: true }, { name: 'twice', type: 'int', generated: { expression: 'id * 2' } }] } },
    refused: `${at('create_table.columns[1].generated')}: pgroll's generated columns are not supported by bellows yet`,
  },
  {
    kind: 'create_table',
    what: 'a foreign key with ON UPDATE',
    pgroll: {
      create_table: {
        name: 'orders',
        columns: [{ name: 'id', type: 'int', pk: true, references: { name: 'orders_id_fkey', table: 'users', column: 'id', on_update: 'CASCADE' } }],
      },
    },
    refused: `${at('create_table.columns[0].references.on_update')}: pgroll's "on_update" is not supported by bellows' foreign keys yet`,
  },
  {
    kind: 'create_table',
    what: 'a table-level unique constraint',
    pgroll: { create_table: { name: 'orders', columns: [{ name: 'id', type: 'int', pk: true }], constraints: [{ name: 'u', type: 'unique', columns: ['id'] }] } },
    refused: `${at('create_table.constraints[0]')}: pgroll's table-level unique constraints are not supported by bellows' create_table yet`,
  },
  { kind: 'rename_table', what: 'as is', pgroll: { rename_table: { from: 'orders', to: 'purchases' } }, becomes: { rename_table: { table: 'orders', to: 'purchases' } } },
  { kind: 'drop_table', what: 'as is', pgroll: { drop_table: { name: 'orders' } }, becomes: { drop_table: { table: 'orders' } } },
  {
    kind: 'add_column',
    what: 'NOT NULL (pgroll’s default) with a default and an up',
    pgroll: { add_column: { table: 'users', column: { name: 'plan', type: 'text', default: "'free'" }, up: "'free'" } },
    becomes: { add_column: { table: 'users', name: 'plan', type: 'text', nullable: false, default: "'free'", up: "'free'" } },
  },
  {
    kind: 'add_column',
    what: 'nullable',
    pgroll: { add_column: { table: 'users', column: { name: 'bio', type: 'text', nullable: true } } },
    becomes: { add_column: { table: 'users', name: 'bio', type: 'text' } },
  },
  {
    kind: 'add_column',
    what: 'with a unique constraint',
    pgroll: { add_column: { table: 'users', column: { name: 'handle', type: 'text', nullable: true, unique: true } } },
    refused: `${at('add_column.column.unique')}: pgroll's "unique" on a new column is not supported by bellows' add_column yet`,
  },
  {
    kind: 'add_column',
    what: 'NOT NULL with neither default nor up: bellows’ own loader refuses the result',
    pgroll: { add_column: { table: 'users', column: { name: 'plan', type: 'text' } } },
    refused: `import: m.json: bellows refuses the converted playbook: operations[0].add_column.nullable: a NOT NULL column needs a default or an up expression`,
  },
  {
    kind: 'drop_column',
    what: 'with its down',
    pgroll: { drop_column: { table: 'users', column: 'name', down: "'unknown'" } },
    becomes: { drop_column: { table: 'users', column: 'name', down: "'unknown'" } },
  },
  { kind: 'rename_column', what: 'as is', pgroll: { rename_column: { table: 'users', from: 'name', to: 'full_name' } }, becomes: { rename_column: { table: 'users', from: 'name', to: 'full_name' } } },
  {
    kind: 'alter_column',
    what: 'a new type with up and down',
    pgroll: { alter_column: { table: 'users', column: 'email', type: 'citext', up: 'lower(email)', down: 'email::text' } },
    becomes: { alter_column: { table: 'users', column: 'email', type: 'citext', up: 'lower(email)', down: 'email::text' } },
  },
  {
    kind: 'alter_column',
    what: 'only a new name (pgroll before rename_column)',
    pgroll: { alter_column: { table: 'users', column: 'name', name: 'full_name' } },
    becomes: { rename_column: { table: 'users', from: 'name', to: 'full_name' } },
  },
  {
    kind: 'alter_column',
    what: 'a unique constraint, values kept: in place',
    pgroll: { alter_column: { table: 'users', column: 'email', unique: { name: 'users_email_unique' }, up: 'email', down: 'email' } },
    becomes: { alter_column: { table: 'users', column: 'email', unique: { name: 'users_email_unique' } } },
  },
  {
    kind: 'alter_column',
    what: 'a check constraint, values kept: in place',
    pgroll: { alter_column: { table: 'users', column: 'email', check: { name: 'email_has_at', constraint: "email LIKE '%@%'" } } },
    becomes: { alter_column: { table: 'users', column: 'email', check: { name: 'email_has_at', expression: "email LIKE '%@%'" } } },
  },
  {
    kind: 'alter_column',
    what: 'a foreign key with ON DELETE CASCADE',
    pgroll: {
      alter_column: { table: 'orders', column: 'user_id', references: { name: 'orders_user_fk', table: 'users', column: 'id', on_delete: 'CASCADE' }, up: 'user_id', down: 'user_id' },
    },
    becomes: { alter_column: { table: 'orders', column: 'user_id', references: { name: 'orders_user_fk', table: 'users', column: 'id', on_delete: 'cascade' } } },
  },
  {
    kind: 'alter_column',
    what: 'a check whose up repairs the rows',
    pgroll: { alter_column: { table: 'users', column: 'name', check: { name: 'name_long', constraint: 'length(name) > 3' }, up: "CASE WHEN length(name) <= 3 THEN 'anon' ELSE name END", down: 'name' } },
    becomes: { alter_column: { table: 'users', column: 'name', check: { name: 'name_long', expression: 'length(name) > 3' }, up: "CASE WHEN length(name) <= 3 THEN 'anon' ELSE name END", down: 'name' } },
  },
  {
    kind: 'alter_column',
    what: 'a unique key whose up repairs the rows, with a new type and no down (the column itself)',
    pgroll: { alter_column: { table: 'users', column: 'Code', type: 'citext', unique: { name: 'users_code_key' }, up: `"Code" || '-' || id` } },
    becomes: { alter_column: { table: 'users', column: 'Code', type: 'citext', unique: { name: 'users_code_key' }, up: `"Code" || '-' || id`, down: '"Code"' } },
  },
  {
    kind: 'alter_column',
    what: 'a foreign key whose up repairs the rows, with NOT NULL and a comment',
    pgroll: {
      alter_column: {
        table: 'orders',
        column: 'user_id',
        nullable: false,
        comment: 'the buyer',
        references: { name: 'orders_user_fk', table: 'users', column: 'id', on_delete: 'RESTRICT' },
        up: 'coalesce(user_id, 1)',
        down: 'user_id',
      },
    },
    becomes: {
      alter_column: {
        table: 'orders',
        column: 'user_id',
        nullable: false,
        comment: 'the buyer',
        references: { name: 'orders_user_fk', table: 'users', column: 'id', on_delete: 'restrict' },
        up: 'coalesce(user_id, 1)',
        down: 'user_id',
      },
    },
  },
  {
    kind: 'alter_column',
    what: 'a check with NO INHERIT',
    pgroll: { alter_column: { table: 'users', column: 'name', check: { name: 'name_long', constraint: 'length(name) > 3', no_inherit: true } } },
    refused: `${at('alter_column.check.no_inherit')}: NO INHERIT is not supported by bellows yet`,
  },
  {
    kind: 'alter_column',
    what: 'NOT NULL with an up',
    pgroll: { alter_column: { table: 'users', column: 'name', nullable: false, up: "coalesce(name, 'anon')", down: 'name' } },
    becomes: { alter_column: { table: 'users', column: 'name', nullable: false, up: "coalesce(name, 'anon')", down: 'name' } },
  },
  {
    kind: 'alter_column',
    what: 'dropping NOT NULL',
    pgroll: { alter_column: { table: 'users', column: 'email', nullable: true } },
    becomes: { alter_column: { table: 'users', column: 'email', nullable: true } },
  },
  {
    kind: 'alter_column',
    what: 'a new default (null drops it)',
    pgroll: { alter_column: { table: 'users', column: 'name', default: null } },
    becomes: { alter_column: { table: 'users', column: 'name', default: null } },
  },
  {
    kind: 'alter_column',
    what: 'a comment',
    pgroll: { alter_column: { table: 'users', column: 'name', comment: 'display name' } },
    becomes: { alter_column: { table: 'users', column: 'name', comment: 'display name' } },
  },
  {
    kind: 'alter_column',
    what: 'a type and a comment at once',
    pgroll: { alter_column: { table: 'users', column: 'name', type: 'varchar(100)', comment: 'x', up: 'name', down: 'name' } },
    becomes: { alter_column: { table: 'users', column: 'name', type: 'varchar(100)', comment: 'x', up: 'name', down: 'name' } },
  },
  {
    kind: 'alter_column',
    what: 'a rename bundled with a type',
    pgroll: { alter_column: { table: 'users', column: 'name', name: 'full_name', type: 'varchar(100)', up: 'name', down: 'name' } },
    refused: `${at('alter_column')}: pgroll's "name", "type" at once are not supported by bellows: a rename is an operation of its own`,
  },
  {
    kind: 'alter_column',
    what: 'a type without down: pgroll’s down is the column itself',
    pgroll: { alter_column: { table: 'users', column: 'name', type: 'varchar(100)', up: 'name' } },
    becomes: { alter_column: { table: 'users', column: 'name', type: 'varchar(100)', up: 'name', down: 'name' } },
  },
  {
    kind: 'create_index',
    what: 'unique, partial, hash, elements as pgroll writes them now',
    pgroll: { create_index: { name: 'users_name_idx', table: 'users', columns: [{ column: 'name' }], method: 'hash', predicate: 'name IS NOT NULL' } },
    becomes: { create_index: { table: 'users', name: 'users_name_idx', columns: ['name'], method: 'hash', where: 'name IS NOT NULL' } },
  },
  {
    kind: 'create_index',
    what: 'columns as older pgroll wrote them: names, then a map',
    pgroll: { create_index: { name: 'users_pair_idx', table: 'users', columns: { email: {}, name: {} }, unique: true } },
    becomes: { create_index: { table: 'users', name: 'users_pair_idx', columns: ['email', 'name'], unique: true } },
  },
  {
    kind: 'create_index',
    what: 'an operator class',
    pgroll: { create_index: { name: 'i', table: 'users', columns: [{ column: 'name', opclass: { name: 'text_pattern_ops' } }] } },
    refused: `${at('create_index.columns[0].opclass')}: pgroll's index element "opclass" is not supported by bellows' create_index yet`,
  },
  {
    kind: 'create_index',
    what: 'storage parameters',
    pgroll: { create_index: { name: 'i', table: 'users', columns: ['name'], storage_parameters: 'fillfactor = 70' } },
    refused: `${at('create_index.storage_parameters')}: pgroll's "storage_parameters" is not supported by bellows' create_index yet`,
  },
  {
    kind: 'drop_index',
    what: 'an index no earlier migration created: no table to name',
    pgroll: { drop_index: { name: 'users_name_idx' } },
    refused: `${at('drop_index.name')}: pgroll's drop_index names no table, and no earlier migration of this import creates index "users_name_idx"; bellows' drop_index needs the table`,
  },
  {
    kind: 'create_constraint',
    what: 'a check, values kept',
    pgroll: { create_constraint: { table: 'users', name: 'email_lower', type: 'check', columns: ['email'], check: 'email = lower(email)', up: { email: 'email' }, down: { email: 'email' } } },
    becomes: { create_constraint: { table: 'users', name: 'email_lower', type: 'check', columns: ['email'], check: 'email = lower(email)' } },
  },
  {
    kind: 'create_constraint',
    what: 'a composite foreign key with ON DELETE SET NULL',
    pgroll: {
      create_constraint: {
        table: 'lines',
        name: 'lines_order_fk',
        type: 'foreign_key',
        columns: ['order_id', 'shop'],
        references: { table: 'orders', columns: ['id', 'shop'], on_delete: 'SET NULL' },
        up: {},
        down: {},
      },
    },
    becomes: {
      create_constraint: { table: 'lines', name: 'lines_order_fk', type: 'foreign_key', columns: ['order_id', 'shop'], references: { table: 'orders', columns: ['id', 'shop'] }, on_delete: 'set null' },
    },
  },
  {
    kind: 'create_constraint',
    what: 'unique over two columns, with an up that repairs one: the other keeps its values',
    pgroll: { create_constraint: { table: 'users', name: 'u', type: 'unique', columns: ['name', 'email'], up: { name: "name || '-' || id" } } },
    becomes: { create_constraint: { table: 'users', name: 'u', type: 'unique', columns: ['name', 'email'], up: { name: "name || '-' || id", email: 'email' }, down: { name: 'name', email: 'email' } } },
  },
  {
    kind: 'create_constraint',
    what: 'an up for a column it does not constrain',
    pgroll: { create_constraint: { table: 'users', name: 'u', type: 'unique', columns: ['name'], up: { email: 'lower(email)' } } },
    refused: `${at('create_constraint.up.email')}: "email" is not one of the constraint's columns`,
  },
  {
    kind: 'create_constraint',
    what: 'a primary key',
    pgroll: { create_constraint: { table: 'logs', name: 'logs_pkey', type: 'primary_key', columns: ['id'] } },
    refused: `${at('create_constraint.type')}: bellows does not add a primary key to an existing table`,
  },
  {
    kind: 'drop_constraint',
    what: 'values kept',
    pgroll: { drop_constraint: { table: 'users', name: 'email_lower', up: 'email', down: 'email' } },
    becomes: { drop_constraint: { table: 'users', name: 'email_lower' } },
  },
  {
    kind: 'drop_constraint',
    what: 'a down that rewrites values',
    pgroll: { drop_constraint: { table: 'users', name: 'email_lower', down: 'lower(email)' } },
    refused: `${at('drop_constraint.down')}: pgroll rewrites the column's values here; bellows' drop_constraint does not rewrite rows`,
  },
  {
    kind: 'drop_multicolumn_constraint',
    what: 'values kept',
    pgroll: { drop_multicolumn_constraint: { table: 'lines', name: 'lines_order_fk', up: { order_id: 'order_id' }, down: { order_id: '"order_id"', shop: 'shop' } } },
    becomes: { drop_constraint: { table: 'lines', name: 'lines_order_fk' } },
  },
  {
    kind: 'rename_constraint',
    what: 'as is',
    pgroll: { rename_constraint: { table: 'users', from: 'email_lower', to: 'users_email_lower' } },
    becomes: { rename_constraint: { table: 'users', from: 'email_lower', to: 'users_email_lower' } },
  },
  {
    kind: 'set_replica_identity',
    what: 'no bellows equivalent',
    pgroll: { set_replica_identity: { table: 'users', identity: { type: 'full' } } },
    refused: `${at('set_replica_identity')}: bellows has no operation for a replica identity yet`,
  },
  {
    kind: 'sql',
    what: 'at start with its down: expand with a rollback',
    pgroll: { sql: { up: 'CREATE TABLE audit (id int)', down: 'DROP TABLE audit' } },
    becomes: { sql: { up: 'CREATE TABLE audit (id int)', rollback: 'DROP TABLE audit', lock: 'access_exclusive' } },
  },
  {
    kind: 'sql',
    what: 'onComplete: contract',
    pgroll: { sql: { up: 'DROP TABLE audit', onComplete: true } },
    becomes: { sql: { up: 'DROP TABLE audit', lock: 'access_exclusive', phase: 'contract' } },
  },
  {
    kind: 'sql',
    what: 'at start without down',
    pgroll: { sql: { up: 'CREATE TABLE audit (id int)' } },
    refused: `${at('sql.down')}: required: pgroll's sql runs at start, and bellows must be able to roll SQL run before contract back (or give "onComplete: true")`,
  },
  {
    kind: 'sql',
    what: 'CREATE INDEX CONCURRENTLY: outside a transaction block, under the lock it takes',
    pgroll: { sql: { up: 'CREATE INDEX CONCURRENTLY IF NOT EXISTS users_name_idx ON users (name)', down: 'DROP INDEX IF EXISTS users_name_idx' } },
    becomes: {
      sql: { up: 'CREATE INDEX CONCURRENTLY IF NOT EXISTS users_name_idx ON users (name)', rollback: 'DROP INDEX IF EXISTS users_name_idx', lock: 'share_update_exclusive', in_transaction: false },
    },
  },
  {
    kind: 'sql',
    what: 'DROP INDEX CONCURRENTLY in the down only: both outside a transaction block',
    pgroll: { sql: { up: 'CREATE INDEX IF NOT EXISTS users_name_idx ON users (name)', down: 'DROP INDEX CONCURRENTLY IF EXISTS users_name_idx' } },
    becomes: {
      sql: { up: 'CREATE INDEX IF NOT EXISTS users_name_idx ON users (name)', rollback: 'DROP INDEX CONCURRENTLY IF EXISTS users_name_idx', lock: 'access_exclusive', in_transaction: false },
    },
  },
  {
    kind: 'sql',
    what: 'REFRESH MATERIALIZED VIEW CONCURRENTLY at onComplete',
    pgroll: { sql: { up: 'REFRESH MATERIALIZED VIEW CONCURRENTLY user_counts', onComplete: true } },
    becomes: { sql: { up: 'REFRESH MATERIALIZED VIEW CONCURRENTLY user_counts', lock: 'exclusive', phase: 'contract', in_transaction: false } },
  },
  {
    kind: 'sql',
    what: 'CONCURRENTLY only in a string, a comment and a name: inside a transaction as any SQL',
    pgroll: { sql: { up: `-- not CREATE INDEX CONCURRENTLY\nINSERT INTO notes (body) VALUES ('CREATE INDEX CONCURRENTLY'); CREATE TABLE "concurrently" (id int)`, down: 'DROP TABLE "concurrently"' } },
    becomes: {
      sql: { up: `-- not CREATE INDEX CONCURRENTLY\nINSERT INTO notes (body) VALUES ('CREATE INDEX CONCURRENTLY'); CREATE TABLE "concurrently" (id int)`, rollback: 'DROP TABLE "concurrently"', lock: 'access_exclusive' },
    },
  },
  {
    kind: 'sql',
    what: 'CREATE INDEX CONCURRENTLY among other statements',
    pgroll: { sql: { up: 'CREATE INDEX CONCURRENTLY a_idx ON a (x); CREATE INDEX CONCURRENTLY b_idx ON b (x)', down: 'DROP INDEX a_idx, b_idx' } },
    refused: `${at('sql.up')}: a IndexStmt with CONCURRENTLY cannot run in a transaction block, and 2 statements in one query run in one; give it an sql operation of its own`,
  },
  {
    kind: 'sql',
    what: 'SQL the parser refuses',
    pgroll: { sql: { up: 'CREAT INDEX CONCURRENTLY a_idx ON a (x)', down: 'DROP INDEX a_idx' } },
    refused: `${at('sql.up')}: PostgreSQL's parser refuses it: syntax error at or near "CREAT"`,
  },
  {
    kind: 'create_table',
    what: 'under --schema shop: the table and the one its foreign key references qualified',
    schema: 'shop',
    pgroll: { create_table: { name: 'orders', columns: [{ name: 'id', type: 'bigserial', pk: true }, { name: 'user_id', type: 'bigint', references: { name: 'orders_user_id_fkey', table: 'users', column: 'id' } }] } },
    becomes: {
      create_table: {
        table: 'shop.orders',
        columns: [
          { name: 'id', type: 'bigserial', nullable: false },
          { name: 'user_id', type: 'bigint', nullable: false, references: { table: 'shop.users', column: 'id' } },
        ],
        primary_key: ['id'],
      },
    },
  },
  {
    kind: 'create_constraint',
    what: 'a foreign key under --schema shop',
    schema: 'shop',
    pgroll: { create_constraint: { table: 'orders', name: 'orders_user_fk', type: 'foreign_key', columns: ['user_id'], references: { table: 'users', columns: ['id'] } } },
    becomes: { create_constraint: { table: 'shop.orders', name: 'orders_user_fk', type: 'foreign_key', columns: ['user_id'], references: { table: 'shop.users', columns: ['id'] } } },
  },
  {
    kind: 'rename_table',
    what: 'under --schema shop: the table qualified, its new name not',
    schema: 'shop',
    pgroll: { rename_table: { from: 'orders', to: 'purchases' } },
    becomes: { rename_table: { table: 'shop.orders', to: 'purchases' } },
  },
  {
    kind: 'sql',
    what: 'under --schema shop, naming its tables in full: in that schema',
    schema: 'shop',
    pgroll: { sql: { up: 'CREATE TABLE shop.audit (id int)', down: 'DROP TABLE shop.audit' } },
    becomes: { sql: { up: 'CREATE TABLE shop.audit (id int)', rollback: 'DROP TABLE shop.audit', lock: 'access_exclusive', schema: 'shop' } },
  },
  {
    kind: 'sql',
    what: 'under --schema shop, naming a table without its schema',
    schema: 'shop',
    pgroll: { sql: { up: 'WITH recent AS (SELECT 1) INSERT INTO shop.audit SELECT * FROM recent', down: 'DROP TABLE audit' } },
    refused: `${at('sql.down')}: names "audit" without its schema; pgroll runs it with schema shop first on the search_path, bellows runs it as written: write shop.audit`,
  },
];

describe('every pgroll operation kind is covered', () => {
  it('the converter knows exactly pgroll’s kinds, and this test has cases for each', () => {
    expect([...PGROLL_KINDS].sort()).toEqual([...PGROLL_OPERATION_KINDS].sort());
    expect([...new Set(CASES.map((c) => c.kind))].sort()).toEqual([...PGROLL_OPERATION_KINDS].sort());
  });
});

describe('conversions', () => {
  for (const c of CASES.filter((c) => c.becomes)) {
    it(`${c.kind}: ${c.what}`, () => {
      expect(written(c.pgroll, c.schema)).toEqual(c.becomes);
    });
  }
  it('drop_index takes its table from the create_index of an earlier migration, renames included', async () => {
    const [, , dropped] = await convertMigrations([
      source([{ create_index: { name: 'orders_total_idx', table: 'orders', columns: ['total'] } }], {}, '01_index.json'),
      source([{ rename_table: { from: 'orders', to: 'purchases' } }], {}, '02_rename.yaml'),
      source([{ drop_index: { name: 'orders_total_idx' } }], {}, '03_drop.yml'),
    ]);
    expect(dropped.playbook.operations).toEqual([{ drop_index: { table: 'purchases', name: 'orders_total_idx' } }]);
  });
});

describe('refusals: one line naming the file, the operation and why', () => {
  for (const c of CASES.filter((c) => c.refused)) {
    it(`${c.kind}: ${c.what}`, () => {
      expect(refusal(c.pgroll, c.schema)).toBe(c.refused);
    });
  }
});

describe('the migration around the operations', () => {
  it('is named from its file, lowercased, and loads as a bellows playbook with the same checksum', () => {
    const c = convertMigration(source([{ drop_table: { name: 'orders' } }], {}, '07_Drop_Orders.yaml'), new ImportState());
    expect(c.playbook.name).toBe('07_drop_orders');
    const loaded = parsePlaybookText(c.text, '07_drop_orders.yaml');
    expect(loaded).toEqual(c.playbook);
    expect(playbookChecksum(loaded)).toBe(c.checksum);
    expect(c.text).toBe('name: 07_drop_orders\ndescription: Imported from pgroll migration 07_Drop_Orders.\noperations:\n  - drop_table:\n      table: orders\n');
  });

  it('takes `name` from inside the file over the file name', () => {
    expect(convertMigration(source([{ drop_table: { name: 'a' } }], { name: 'ABC_1' }), new ImportState()).playbook.name).toBe('abc_1');
  });

  const refusals: Array<[string, PgrollSource, string]> = [
    ['a name bellows cannot take', source([{ drop_table: { name: 'a' } }], {}, 'add-rating.json'), 'import: add-rating.json: name "add-rating" cannot become a bellows playbook name (lowercase letters, digits and _, at most 50)'],
    ['a version schema of its own', source([{ drop_table: { name: 'a' } }], { version_schema: 'v2' }), 'import: m.json: version_schema: bellows names the version schema after the playbook ("m"); "v2" cannot be kept'],
    ['an unknown operation', source([{ drop_view: { name: 'a' } }]), 'import: m.json: operations[0]: "drop_view" is not a pgroll operation'],
    ['two kinds in one operation', source([{ drop_table: { name: 'a' }, rename_table: { from: 'b', to: 'c' } }]), 'import: m.json: operations[0]: an operation is a mapping with exactly one key, its kind'],
    ['a field pgroll does not have', source([{ drop_table: { name: 'a', cascade: true } }]), 'import: m.json: operations[0].drop_table: Unrecognized key: "cascade"'],
    ['no operations', source([]), 'import: m.json: operations: Too small: expected array to have >=1 items'],
  ];
  for (const [what, s, message] of refusals) {
    it(`refuses ${what}`, () => {
      expect(() => convertMigration(s, new ImportState())).toThrow(new InputError(message));
    });
  }
});
