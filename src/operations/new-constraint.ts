import { z } from 'zod';
import { ident, parseTableRef, qualified, tableKey, type TableRef } from '../db/sql.ts';
import type { PlannedAction } from '../engine/action.ts';
import { InputError } from '../errors.ts';
import { printableLine } from '../util/printable.ts';
import type { OpContext, Probe } from './operation.ts';
import { findColumn } from './model.ts';
import { requireExpression, requireFreeConstraintName, where } from './validation.ts';
import { refuseViolatingRows } from './constraint-violations.ts';

/**
 * A CHECK, UNIQUE or FOREIGN KEY constraint that an operation adds
 * (create_constraint, alter_column): its checks against the model, and its
 * statements in each phase. A check or a foreign key is added NOT VALID at
 * expand (writes are checked from then on) and validated at verify, which scans
 * under SHARE UPDATE EXCLUSIVE while reads and writes go on. A unique
 * constraint needs its index: built concurrently at expand, it becomes the
 * constraint at contract, which takes only a catalog change.
 */

export const ON_DELETE = ['no action', 'restrict', 'cascade', 'set null', 'set default'] as const;
export const onDeleteField = z.enum(ON_DELETE).optional().describe('For a foreign key: what deleting a referenced row does (default no action)');

export interface NewConstraint {
  name: string;
  type: 'check' | 'unique' | 'foreign_key';
  /** The columns it constrains, by their names in the new version. */
  columns: string[];
  /** For a check: over `columns` only. */
  check?: string;
  references?: { table: string; columns: string[] };
  onDelete?: (typeof ON_DELETE)[number];
}

/** The playbook paths of its fields, for messages: `name`, `check.expression`, `references.column` … */
export interface ConstraintFields {
  kind: string;
  name: string;
  check: string;
  /** The referenced table's field, and the one of its `i`th column. */
  referencedTable: string;
  referencedColumn: (i: number) => string;
  referencedColumns: string;
  /** The field an error about the rows that violate it names. */
  violated: string;
}

/** A constraint as a playbook gives it, with the paths of its fields. */
export interface GivenConstraint {
  constraint: NewConstraint;
  fields: ConstraintFields;
}

/** A constraint where the run puts it: on the physical columns, with its check written over them. */
export type PlacedConstraint = NewConstraint;

async function catalogKeys(probe: Probe, ref: TableRef) {
  const info = await probe.table(ref);
  return info && { columns: info.columns, keys: info.indexes.filter((i) => i.unique && i.valid && i.plain).map((i) => i.columns) };
}

/** PostgreSQL's own rule: a foreign key needs a valid unique index over exactly the referenced columns, with no predicate or expression. */
async function requireReferencedKey(c: NewConstraint, fields: ConstraintFields, ctx: OpContext, probe: Probe): Promise<void> {
  const at = (field: string) => where(ctx, fields.kind, field);
  const ref = parseTableRef(c.references!.table);
  // A table this playbook creates is known only to the playbook's model; any other, to the catalog.
  const created = ctx.models.get(tableKey(ref));
  const target = created?.created ? { columns: created.columns, keys: created.uniqueKeys } : await catalogKeys(probe, ref);
  if (!target) throw new InputError(`${at(fields.referencedTable)}: table ${tableKey(ref)} does not exist`);
  c.references!.columns.forEach((name, i) => {
    if (!target.columns.some((col) => col.name === name)) throw new InputError(`${at(fields.referencedColumn(i))}: column "${name}" does not exist in ${tableKey(ref)}`);
  });
  const wanted = [...c.references!.columns].sort().join(',');
  if (!target.keys.some((key) => [...key].sort().join(',') === wanted)) {
    throw new InputError(`${at(fields.referencedColumns)}: no primary key or unique index of ${tableKey(ref)} is exactly (${c.references!.columns.join(', ')}); a foreign key needs one`);
  }
}

/**
 * Checks the constraint against the model (its columns are there, with the
 * types they will have) and the live database, then records it in the model.
 */
export async function validateNewConstraint(c: NewConstraint, fields: ConstraintFields, ctx: OpContext, probe: Probe): Promise<void> {
  await requireFreeConstraintName(ctx, fields.kind, fields.name, c.name, probe, c.type === 'unique');
  if (c.check !== undefined) {
    const columns = c.columns.map((name) => findColumn(ctx.table, name)!);
    await requireExpression(ctx, fields.kind, fields.check, probe, c.check, columns, 'boolean');
  }
  if (c.references) await requireReferencedKey(c, fields, ctx, probe);
  const type = ({ check: 'c', unique: 'u', foreign_key: 'f' } as const)[c.type];
  ctx.table.constraints.set(c.name, { name: c.name, type, inherited: false, neededBy: null });
  if (c.type === 'unique') ctx.table.indexes.add(c.name);
}

/**
 * The constraint on the physical columns that hold its columns during the run
 * (the model's, as validate left them: the old name of a column renamed earlier
 * in the playbook, a shadow column): a check is rewritten over them by
 * PostgreSQL itself, only where a column is held by another. Contract runs
 * after the renames, and PostgreSQL keeps the constraint on its columns.
 */
export async function placeConstraint(c: NewConstraint, fields: ConstraintFields, ctx: OpContext, probe: Probe): Promise<PlacedConstraint> {
  const columns = c.columns.map((name) => findColumn(ctx.table, name)!);
  const physical = columns.map((col) => col.physical);
  if (c.check === undefined || columns.every((col) => col.physical === col.name)) return { ...c, columns: physical };
  const placed = await probe.physicalCondition(c.check, columns);
  if ('error' in placed) throw new InputError(printableLine(`${where(ctx, fields.kind, fields.check)}: ${placed.error}`));
  return { ...c, columns: physical, check: placed.condition };
}

/**
 * A constraint on columns whose values stay as they are: existing rows that
 * violate it are refused here, before any DDL (VALIDATE would fail only at
 * verify, after the old application's writes had been refused for nothing).
 */
export async function validateInPlace({ constraint, fields }: GivenConstraint, ctx: OpContext, probe: Probe): Promise<PlacedConstraint> {
  await validateNewConstraint(constraint, fields, ctx, probe);
  await refuseViolatingRows(constraint, ctx, probe, fields.kind, fields.violated);
  return placeConstraint(constraint, fields, ctx, probe);
}

function addNotValid(c: PlacedConstraint, ctx: OpContext): PlannedAction {
  const columns = c.columns.map(ident).join(', ');
  const foreignKey = c.type === 'foreign_key';
  const body = foreignKey
    ? `FOREIGN KEY (${columns}) REFERENCES ${qualified(parseTableRef(c.references!.table))} (${c.references!.columns.map(ident).join(', ')})` +
      (c.onDelete ? ` ON DELETE ${c.onDelete.toUpperCase()}` : '')
    : `CHECK (${c.check})`;
  return {
    id: `expand:${ctx.index}:add_constraint:${c.name}`,
    // NOT VALID: no scan of the existing rows under this lock; verify proves them later.
    sql: `ALTER TABLE ${qualified(ctx.table.ref)} ADD CONSTRAINT ${ident(c.name)} ${body} NOT VALID`,
    lock: foreignKey ? 'SHARE ROW EXCLUSIVE (brief: catalog only)' : 'ACCESS EXCLUSIVE (brief: catalog only)',
    // A foreign key locks the referenced table as well, in the same mode: the plan says so.
    note:
      `writes are checked against ${c.name} from now on; existing rows at verify` +
      (foreignKey ? `; ${tableKey(parseTableRef(c.references!.table))} is locked briefly too` : ''),
  };
}

function buildUniqueIndex(c: PlacedConstraint, ctx: OpContext): PlannedAction {
  return {
    id: `expand:${ctx.index}:create_unique_index:${c.name}`,
    sql: `CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS ${ident(c.name)} ON ${qualified(ctx.table.ref)} (${c.columns.map(ident).join(', ')})`,
    lock: 'SHARE UPDATE EXCLUSIVE (reads and writes continue)',
    note: `build the index of ${c.name} without blocking writes; it refuses duplicates from now on`,
    concurrent: true,
    replacesInvalidIndex: { schema: ctx.table.ref.schema, name: c.name },
  };
}

/** The constraint's statements, phase by phase. */
export const constraintPhases = {
  expand(c: PlacedConstraint, ctx: OpContext): PlannedAction[] {
    return [c.type === 'unique' ? buildUniqueIndex(c, ctx) : addNotValid(c, ctx)];
  },

  verify(c: PlacedConstraint, ctx: OpContext): PlannedAction[] {
    if (c.type === 'unique') return [];
    return [
      {
        id: `verify:${ctx.index}:validate_constraint:${c.name}`,
        sql: `ALTER TABLE ${qualified(ctx.table.ref)} VALIDATE CONSTRAINT ${ident(c.name)}`,
        lock: 'SHARE UPDATE EXCLUSIVE (reads and writes continue)',
        note: `prove every existing row satisfies ${c.name}, without blocking writes`,
      },
    ];
  },

  /** After any column rename of the same contract: the index follows its columns. */
  contract(c: PlacedConstraint, ctx: OpContext): PlannedAction[] {
    if (c.type !== 'unique') return [];
    return [
      {
        id: `contract:${ctx.index}:unique_using_index:${c.name}`,
        sql: `ALTER TABLE ${qualified(ctx.table.ref)} ADD CONSTRAINT ${ident(c.name)} UNIQUE USING INDEX ${ident(c.name)}`,
        lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
        note: `the valid index becomes the constraint ${c.name}; no scan`,
      },
    ];
  },

  rollback(c: PlacedConstraint, ctx: OpContext): PlannedAction[] {
    if (c.type === 'unique') {
      return [
        {
          id: `rollback:${ctx.index}:drop_unique_index:${c.name}`,
          sql: `DROP INDEX CONCURRENTLY IF EXISTS ${ident(ctx.table.ref.schema)}.${ident(c.name)}`,
          lock: 'SHARE UPDATE EXCLUSIVE (reads and writes continue)',
          note: `remove the index built for ${c.name}`,
          concurrent: true,
          undoes: buildUniqueIndex(c, ctx),
          // A build that failed is not recorded as done, yet leaves an INVALID index: the engine drops that one anyway.
          replacesInvalidIndex: { schema: ctx.table.ref.schema, name: c.name },
        },
      ];
    }
    return [
      {
        id: `rollback:${ctx.index}:drop_constraint:${c.name}`,
        sql: `ALTER TABLE ${qualified(ctx.table.ref)} DROP CONSTRAINT IF EXISTS ${ident(c.name)}`,
        lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
        note: `remove ${c.name}`,
        undoes: addNotValid(c, ctx),
      },
    ];
  },
};
