import { z } from 'zod';

/**
 * pgroll's migration format, as its operation structs declare it (pkg/migrations
 * in xataio/pgroll), written down here for reading only. Objects are strict
 * because pgroll's own decoder refuses unknown fields: a field we did not know
 * about would otherwise be dropped without a word.
 */

const name = z.string().min(1);
const expression = z.string();

const checkConstraint = z.strictObject({ name, constraint: z.string().min(1), no_inherit: z.boolean().optional() });

const foreignKeyAction = z.enum(['NO ACTION', 'RESTRICT', 'CASCADE', 'SET NULL', 'SET DEFAULT']);
const matchType = z.enum(['SIMPLE', 'FULL', 'PARTIAL']);

/** A column's own foreign key (in create_table, add_column and alter_column). */
const columnReference = z.strictObject({
  name,
  table: name,
  column: name,
  on_delete: foreignKeyAction.optional(),
  on_update: foreignKeyAction.optional(),
  match_type: matchType.optional(),
  deferrable: z.boolean().optional(),
  initially_deferred: z.boolean().optional(),
});

/** A table-level foreign key (create_constraint, create_table's constraints). */
const tableReference = z.strictObject({
  table: name,
  columns: z.array(name).min(1),
  on_delete: foreignKeyAction.optional(),
  on_update: foreignKeyAction.optional(),
  on_delete_set_columns: z.array(name).optional(),
  match_type: matchType.optional(),
});

const column = z.strictObject({
  name,
  type: z.string().min(1),
  nullable: z.boolean().optional(),
  pk: z.boolean().optional(),
  unique: z.boolean().optional(),
  default: z.string().optional(),
  comment: z.string().optional(),
  check: checkConstraint.optional(),
  references: columnReference.optional(),
  generated: z.record(z.string(), z.unknown()).optional(),
});

const indexParameters = z.strictObject({
  include_columns: z.array(name).optional(),
  storage_parameters: z.string().optional(),
  tablespace: z.string().optional(),
});

const tableConstraint = z.strictObject({
  name,
  type: z.enum(['check', 'unique', 'primary_key', 'foreign_key', 'exclude']),
  columns: z.array(name).optional(),
  check: z.string().optional(),
  references: tableReference.optional(),
  deferrable: z.boolean().optional(),
  initially_deferred: z.boolean().optional(),
  no_inherit: z.boolean().optional(),
  nulls_not_distinct: z.boolean().optional(),
  index_parameters: indexParameters.optional(),
  exclude: z.record(z.string(), z.unknown()).optional(),
});

/** An index element's settings beyond the column itself. */
const indexFieldSettings = z.strictObject({
  collate: z.string().optional(),
  nulls: z.enum(['FIRST', 'LAST']).optional(),
  opclass: z.strictObject({ name: z.string().optional(), params: z.array(z.string()).optional() }).optional(),
  sort: z.enum(['ASC', 'DESC']).optional(),
});
const indexField = indexFieldSettings.extend({ column: name });

/** Per-column expressions of create_constraint and drop_multicolumn_constraint. */
const perColumn = z.record(z.string(), expression);

/** One schema per pgroll operation kind, by the key a migration writes. */
export const PGROLL_OPERATIONS = {
  create_table: z.strictObject({
    name,
    columns: z.array(column).min(1),
    comment: z.string().optional(),
    constraints: z.array(tableConstraint).optional(),
  }),
  rename_table: z.strictObject({ from: name, to: name }),
  drop_table: z.strictObject({ name }),
  add_column: z.strictObject({ table: name, column, up: expression.optional() }),
  drop_column: z.strictObject({ table: name, column: name, down: expression.optional() }),
  rename_column: z.strictObject({ table: name, from: name, to: name }),
  alter_column: z.strictObject({
    table: name,
    column: name,
    // Before pgroll 0.8 a rename was an alter_column with `name`; rename_column replaced it.
    name: name.optional(),
    type: z.string().min(1).optional(),
    nullable: z.boolean().optional(),
    // null is meaningful here: it drops the default, or the comment.
    default: z.string().nullable().optional(),
    comment: z.string().nullable().optional(),
    check: checkConstraint.optional(),
    unique: z.strictObject({ name }).optional(),
    references: columnReference.optional(),
    up: expression.optional(),
    down: expression.optional(),
  }),
  create_index: z.strictObject({
    name,
    table: name,
    // Three spellings over pgroll's versions: names, then a map of settings, now a list of elements.
    columns: z.union([z.array(name).min(1), z.array(indexField).min(1), z.record(z.string(), indexFieldSettings)]),
    method: z.enum(['btree', 'hash', 'gist', 'spgist', 'gin', 'brin']).optional(),
    predicate: z.string().optional(),
    storage_parameters: z.string().optional(),
    unique: z.boolean().optional(),
  }),
  drop_index: z.strictObject({ name }),
  create_constraint: z.strictObject({
    table: name,
    name,
    type: z.enum(['check', 'unique', 'primary_key', 'foreign_key']),
    columns: z.array(name).min(1),
    check: z.string().optional(),
    references: tableReference.optional(),
    no_inherit: z.boolean().optional(),
    index_parameters: indexParameters.optional(),
    up: perColumn.optional(),
    down: perColumn.optional(),
  }),
  drop_constraint: z.strictObject({ table: name, name, up: expression.optional(), down: expression.optional() }),
  drop_multicolumn_constraint: z.strictObject({ table: name, name, up: perColumn.optional(), down: perColumn.optional() }),
  rename_constraint: z.strictObject({ table: name, from: name, to: name }),
  set_replica_identity: z.strictObject({ table: name, identity: z.strictObject({ type: z.string(), index: z.string().optional() }) }),
  sql: z.strictObject({ up: z.string().min(1), down: z.string().optional(), onComplete: z.boolean().optional() }),
};

export type PgrollKind = keyof typeof PGROLL_OPERATIONS;
export const PGROLL_KINDS = Object.keys(PGROLL_OPERATIONS) as PgrollKind[];
export type PgrollSpec<K extends PgrollKind> = z.infer<(typeof PGROLL_OPERATIONS)[K]>;
export type PgrollColumn = z.infer<typeof column>;
export type PgrollColumnReference = z.infer<typeof columnReference>;
export type PgrollTableReference = z.infer<typeof tableReference>;

/** A migration file's body: the operations stay raw until each is read by its own schema. */
export const pgrollMigration = z.strictObject({
  name: z.string().min(1).optional(),
  version_schema: z.string().min(1).optional(),
  operations: z.array(z.unknown()).min(1),
});
