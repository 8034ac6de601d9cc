import type { z } from 'zod';
import type { PlannedAction } from '../engine/action.ts';
import type { ModelTable } from './model.ts';
import type { TableInfo } from '../catalog/introspect.ts';
import type { OutputColumn, ViewInfo } from '../catalog/views.ts';
import type { TableRef } from '../db/sql.ts';
import type { PrivilegeLookup, PrivilegeObject } from '../catalog/privileges.ts';

/** Where an operation stands in its playbook, and the names the run gives to its objects. */
export interface SchemaContext {
  /** Position in the playbook: makes ids and object names unique. */
  index: number;
  playbook: string;
  /** The schema of views that shows the new version of every table the run touches. */
  versionSchema: string;
  /** bellows' own schema: where triggers note the rows they could not translate, and seeds stage their files. */
  stateSchema: string;
  /**
   * Relations (`schema.name`) a schema operation of this playbook creates,
   * replaces or drops, with that operation's index: the live catalog does not
   * show them yet, so a second operation on one is refused from here.
   */
  claimed: Map<string, number>;
  /** The directory of the playbook's file, where the files it names are found; null for a playbook given as a document. */
  directory: string | null;
}

/** The context of an operation on a table: the model of that table too. */
export interface OpContext extends SchemaContext {
  table: ModelTable;
  /** Every table the playbook touches so far, by `schema.table`: a table it creates exists only here. */
  models: ReadonlyMap<string, ModelTable>;
  /**
   * The new version's columns as this operation left them. `table` is the model
   * after the whole playbook; an operation's `down` is written against its own
   * position (a later rename_column must not change what its names mean).
   */
  columnsAfter?: ReadonlyArray<{ name: string; physical: string; type: string }>;
  /**
   * The new version's columns as the earlier operations left them, before this
   * one: what its names mean, and which physical column each stands for until
   * contract (operations/physical-names.ts).
   */
  columnsBefore: ReadonlyArray<{ name: string; physical: string; type: string }>;
  /** Conditions of this operation rewritten over the physical columns by its validate (operations/physical-names.ts). */
  physicalConditions: Map<string, string>;
}

/** What validation may ask the live database, without changing it. */
export interface Probe {
  typeExists(type: string): Promise<boolean>;
  /** Whether a table, index, view, sequence … of this name exists in the schema (they share one namespace). */
  relationExists(schema: string, name: string): Promise<boolean>;
  /** What would stop a DROP TABLE without CASCADE: views over the table, other tables' foreign keys to it, as PostgreSQL names them. */
  tableDependents(ref: { schema: string; name: string }): Promise<string[]>;
  /**
   * What depends on a column (its own default aside): what a DROP COLUMN of it would drop or be blocked by.
   * `historyWriter`: the trigger of a history the playbook adds before, counted as if it were there already.
   */
  columnDependents(table: { schema: string; name: string }, column: string, historyWriter?: string | null): Promise<ColumnDependent[]>;
  /**
   * Null if `expression` is valid over a row of the given columns (and castable to
   * `castTo`), otherwise PostgreSQL's complaint.
   */
  expressionError(expression: string, columns: ReadonlyArray<{ name: string; type: string }>, castTo?: string): Promise<string | null>;
  /**
   * A boolean condition (a CHECK's, an index's WHERE) over columns known by
   * `name`, as PostgreSQL writes it over the same columns named `physical`: the
   * old name of a column renamed earlier in the playbook, a shadow column.
   * `error` is its complaint when the condition cannot be a table's (a CHECK's).
   */
  physicalCondition(condition: string, columns: ReadonlyArray<{ name: string; physical: string; type: string }>): Promise<{ condition: string } | { error: string }>;
  /** The live shape of a table the operation does not change but relies on (a foreign key's target); null if none. */
  table(ref: TableRef): Promise<TableInfo | null>;
  /**
   * The keys (`key`'s values, as text) of at most `limit` rows of `table`, aliased `t`,
   * for which `condition` holds: the existing rows a new constraint would refuse.
   * Read-only, one statement; `error` is PostgreSQL's complaint about the condition.
   */
  rowsWhere(table: TableRef, condition: string, key: string[], limit: number): Promise<{ keys: string[][] } | { error: string }>;
  /** A view or materialized view as the catalog shows it; null if no view has that name. */
  view(ref: TableRef): Promise<ViewInfo | null>;
  /** The columns `query` would give a view, found by planning it, never running it; `error` is PostgreSQL's complaint. */
  queryColumns(query: string): Promise<{ columns: OutputColumn[] } | { error: string }>;

  // Schema objects, as the live catalog shows them after the DDL that earlier
  // operations of the playbook rehearsed (engine/schema-rehearsal.ts): nothing is created.
  schemaExists(schema: string): Promise<boolean>;
  /**
   * Runs one DDL statement in a transaction that is always rolled back: null if
   * PostgreSQL accepts it (the later questions then see what it makes), else its complaint.
   */
  rehearse(ddl: string): Promise<string | null>;
  /** What one CREATE FUNCTION into pg_temp makes, as PostgreSQL reads it, or its complaint; rolled back. */
  functionShape(create: string): Promise<FunctionShape | { error: string }>;
  /** The function (not a procedure or aggregate) of this signature, `schema.name(types)`; null if none. */
  existingFunction(signature: string): Promise<ExistingFunction | null>;
  /** What would stop a DROP FUNCTION without CASCADE, as pg_depend shows it: triggers, defaults, views, an extension. */
  functionDependents(signature: string): Promise<string[]>;
  /** The type of this name in the schema, with its labels in order if it is an enum; null if none. */
  namedType(schema: string, name: string): Promise<{ labels: string[] | null } | null>;
  roleExists(role: string): Promise<boolean>;
  /** The privileges `role` holds on an object, as a GRANT or REVOKE by this session would change them; `missing` if no such object. */
  privileges(object: PrivilegeObject, role: string): Promise<PrivilegeLookup>;
  /**
   * The rows of `table` whose `key` columns equal one of `keys` (values as text,
   * read as the columns' types), with `columns` as text (NULL as null), read-only:
   * what an upsert of those keys would replace.
   */
  rowsByKey(table: TableRef, key: ReadonlyArray<{ name: string; type: string }>, keys: string[][], columns: string[]): Promise<Array<Array<string | null>>>;
  /**
   * Reads rows (values as text by column, NULL as null) into a scratch table of
   * the columns' types, chunk by chunk, in a transaction that is always rolled
   * back: the first line whose value its column's type refuses, or whose `key`
   * an earlier line already gave; null if none.
   */
  seedRowsProblem(
    columns: ReadonlyArray<{ name: string; type: string }>,
    key: string[],
    chunks: AsyncIterable<Array<{ line: number; row: Record<string, string | null> }>>,
  ): Promise<{ line: number; column?: string; message: string } | null>;
}

export interface FunctionShape {
  /** Its argument types as PostgreSQL lists them (`text, integer`): what identifies it. */
  argTypes: string;
  /** Its result type, as PostgreSQL writes it. */
  result: string;
}

export interface ExistingFunction {
  /** pg_get_functiondef: the CREATE OR REPLACE statement that makes it again, exactly. */
  definition: string;
  result: string;
}

export interface ColumnDependent {
  /** As PostgreSQL names it: `index users_lower_email`, `constraint users_email_check on table users`. */
  what: string;
  /** DROP COLUMN drops it silently; otherwise (views, other tables' foreign keys, triggers …) DROP COLUMN fails. */
  auto: boolean;
  /** A valid plain index that is not the key (or the unique constraint of one): alter_column rebuilds it on the new column. */
  rebuilt: boolean;
  /**
   * The table's history writer (add_history): its trigger names every column it
   * mirrors, by name, and PostgreSQL records no such dependency, so a column
   * dropped or renamed under it would make every later write to the table fail.
   */
  history: boolean;
}

/** One column the backfill fills: `SET column = expression` over the old columns. */
export interface ColumnFill {
  column: string;
  expression: string;
}

/**
 * Rows the backfill copies into another table, batch by batch:
 * `INSERT INTO into (columns) SELECT select FROM table WHERE <batch> FOR SHARE
 * ON CONFLICT onConflict DO NOTHING`. The conflict target makes a redone batch
 * insert nothing twice; FOR SHARE makes an application write to a row of the
 * batch wait for it, so its trigger sees the copy.
 */
export interface RowCopy {
  copy: {
    /** The target table, quoted and qualified. */
    into: string;
    /** Its columns, quoted. */
    columns: string[];
    /** One expression per column over the walked table's row. */
    select: string[];
    /** The conflict target, e.g. `(id, valid_to)`. */
    onConflict: string;
  };
}

/**
 * Rows a seed_data operation upserts from its file. `start` stages them in the
 * state store (engine/stage-seeds.ts), one row of `staging` per line of the
 * file, and the backfill walks that table by line, not the table it fills:
 * each batch keeps the rows it replaces beside their lines, in its own
 * transaction, for a rollback to put back (backfill/seed-rows.ts).
 */
export interface SeedRows {
  seed: {
    /** The table seeded. */
    into: TableRef;
    /** In the state schema, made at start. */
    staging: TableRef;
    /** The file, as resolved at plan time, and its SHA-256 then: staging refuses a file that changed since. */
    file: string;
    digest: string;
    /** Rows in the file. */
    rows: number;
    /** Each column the file gives, with the physical column it fills until contract. */
    columns: Array<{ name: string; physical: string }>;
    /** The physical key columns, a primary key or unique index of `into`. */
    key: string[];
  };
}

/** What the backfill does to each batch of a table's rows. */
export type BackfillTarget = ColumnFill | RowCopy | SeedRows;

export function isRowCopy(target: BackfillTarget): target is RowCopy {
  return 'copy' in target;
}

export function isSeedRows(target: BackfillTarget): target is SeedRows {
  return 'seed' in target;
}

export function isColumnFill(target: BackfillTarget): target is ColumnFill {
  return 'column' in target;
}

/**
 * A row is correct when `column IS NOT DISTINCT FROM expression` (or, without one, is not NULL);
 * or, with `wrongWhen`, unless that condition holds.
 */
export interface VerifyCheck {
  column: string;
  expression?: string;
  notNull?: boolean;
  /** What `--repair` writes into a wrong row; defaults to `expression`. */
  repairWith?: string;
  /**
   * Instead of a column's value: a condition over the walked row, aliased `t`, under
   * which it is wrong (another table's rows disagree with it). `column` then says
   * what is wrong, in the message; `--repair` cannot fix it.
   */
  wrongWhen?: string;
}

/**
 * What a table operation changes, so that the engine can find it in the
 * catalog, lock out other runs and walk it: one table, which exists, or which
 * the operation `creates`.
 */
export type Touch = { table: string; creates?: boolean };

/**
 * The phases of an operation; one it has nothing to do in is left out. `C` is
 * what it is told of its place; `F` is what its `validate` found in the live
 * database and every phase is given (the privileges a role already had, the
 * rows as they were): the plan is fixed at start, so what rollback must restore
 * is read then and stored with it.
 */
interface Phases<S extends z.ZodType, C, F> {
  spec: S;
  /** One line for the README's table of operations. */
  summary: string;
  /**
   * Checks the operation against the model and the live database, then updates
   * the model to the schema after it. Throws InputError; runs no DDL.
   * Returns what the phases need to know of the live database, if anything.
   */
  validate(spec: z.infer<S>, ctx: C, probe: Probe): Promise<F>;
  /** Additive DDL: the old application keeps working throughout. */
  expand?(spec: z.infer<S>, ctx: C, found: F): PlannedAction[];
  /** Triggers that keep old and new representations equal while both are written. */
  dualWrite?(spec: z.infer<S>, ctx: C, found: F): PlannedAction[];
  /** Destructive DDL, behind the gate: one short transaction, then any statement that cannot run in one. */
  contract?(spec: z.infer<S>, ctx: C, found: F): PlannedAction[];
  /** Undoes expand and dual-write; every statement is safe to repeat. */
  rollback?(spec: z.infer<S>, ctx: C, found: F): PlannedAction[];
}

/**
 * One change to one table: its spec (the playbook's fields, as zod), its checks
 * and its statements in each phase, and the rows the backfill and verify walk.
 * Adding an operation is adding its file and one line in operations/index.ts;
 * the playbook schema, the JSON Schema and the README's table follow.
 */
export interface Operation<S extends z.ZodType = z.ZodType, F = unknown> extends Phases<S, OpContext, F> {
  touches(spec: z.infer<S>): Touch;
  /**
   * The files it reads, as the playbook names them (relative to its directory):
   * their contents are part of the playbook's checksum, as its text is.
   */
  files?(spec: z.infer<S>): string[];
  backfill?(spec: z.infer<S>, ctx: OpContext, found: F): BackfillTarget[];
  verify?(spec: z.infer<S>, ctx: OpContext, found: F): { checks: VerifyCheck[]; actions: PlannedAction[] };
}

/**
 * One change to objects of a schema that are not one table's (views,
 * functions, types, privileges, raw SQL): no table model, no rows to walk.
 */
export interface SchemaOperation<S extends z.ZodType = z.ZodType, F = unknown> extends Phases<S, SchemaContext, F> {
  /**
   * Its schema, and what no other run may change meanwhile: a view by its
   * relation name (`schema.name`, the namespace it shares with tables), a
   * function or a type by `function schema.name` / `type schema.name`.
   */
  touches(spec: z.infer<S>): { schema: string; claims?: string[] };
  verify?(spec: z.infer<S>, ctx: SchemaContext, found: F): { checks: []; actions: PlannedAction[] };
}

/** Declares an operation on a table, typing its phases by its spec and by what its validate found. */
export function defineOperation<S extends z.ZodType, F = void>(operation: Operation<S, F>): Operation<S, F> {
  return operation;
}

/** Declares an operation on schema objects, typing its phases by its spec and by what its validate found. */
export function defineSchemaOperation<S extends z.ZodType, F = void>(operation: SchemaOperation<S, F>): SchemaOperation<S, F> {
  return operation;
}

export function isTableOperation(operation: Operation | SchemaOperation, spec: unknown): operation is Operation {
  return 'table' in operation.touches(spec as never);
}
