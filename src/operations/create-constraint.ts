import { z } from 'zod';
import { identifier, tableName, sqlExpression } from '../playbook/spec-parts.ts';
import { ident, parseTableRef, qualified, tableKey, type TableRef } from '../db/sql.ts';
import type { PlannedAction } from '../engine/action.ts';
import { InputError } from '../errors.ts';
import { defineOperation, type OpContext, type Probe } from './operation.ts';
import type { ModelColumn } from './model.ts';
import { refuseViolatingRows } from './constraint-violations.ts';
import { physicalColumn, physicalCondition, resolveCondition } from './physical-names.ts';
import { requireColumn, requireExpression, requireFreeConstraintName, where } from './validation.ts';

const SUMMARY = '`check` or `foreign_key` NOT VALID at once and validated at verify; `unique` built concurrently, attached at contract';

const ON_DELETE = ['no action', 'restrict', 'cascade', 'set null', 'set default'] as const;

const spec = z
  .strictObject({
    table: tableName,
    name: identifier.describe('Name of the new constraint (and of its index, for unique)'),
    type: z.enum(['check', 'unique', 'foreign_key']),
    columns: z.array(identifier).min(1).describe('The columns constrained; a check may use only these'),
    check: sqlExpression.optional().describe('For a check: what every row must satisfy (NULL passes, as in PostgreSQL)'),
    references: z
      .strictObject({ table: tableName, columns: z.array(identifier).min(1) })
      .optional()
      .describe('For a foreign key: the table referenced and its primary key or unique columns'),
    on_delete: z.enum(ON_DELETE).optional().describe('For a foreign key: what deleting a referenced row does (default no action)'),
  })
  .superRefine((s, issues) => {
    const only = (field: 'check' | 'references' | 'on_delete', type: string) =>
      issues.addIssue({ code: 'custom', path: [field], message: `only for type ${type}` });
    if (s.type === 'check' && s.check === undefined) issues.addIssue({ code: 'custom', path: ['check'], message: 'Required for type check' });
    if (s.type !== 'check' && s.check !== undefined) only('check', 'check');
    if (s.type === 'foreign_key' && s.references === undefined) issues.addIssue({ code: 'custom', path: ['references'], message: 'Required for type foreign_key' });
    if (s.type !== 'foreign_key' && s.references !== undefined) only('references', 'foreign_key');
    if (s.type !== 'foreign_key' && s.on_delete !== undefined) only('on_delete', 'foreign_key');
    if (s.references && s.references.columns.length !== s.columns.length) {
      issues.addIssue({ code: 'custom', path: ['references', 'columns'], message: `must name as many columns as columns (${s.columns.length})` });
    }
  });

export type CreateConstraintSpec = z.infer<typeof spec>;

/**
 * The constraint goes on the physical column that holds the new version's
 * column from expand on (operations/physical-names.ts): the old one under its
 * old name until contract renames it, a column an earlier operation adds, the
 * shadow column an alter_column fills. Verify proves it once the backfill is done.
 */
function requireConstrainableColumn(ctx: OpContext, index: number, name: string): ModelColumn {
  return requireColumn(ctx, 'create_constraint', `columns[${index}]`, name);
}

/** The spec as the physical table names its columns until contract: what expand's statements and the check of the existing rows use. */
function physicalSpec(spec: CreateConstraintSpec, ctx: OpContext): CreateConstraintSpec {
  return {
    ...spec,
    columns: spec.columns.map((name) => physicalColumn(ctx, name)),
    check: spec.check === undefined ? undefined : physicalCondition(ctx, spec.check),
  };
}

async function catalogKeys(probe: Probe, ref: TableRef) {
  const info = await probe.table(ref);
  return info && { columns: info.columns, keys: info.indexes.filter((i) => i.unique && i.valid && i.plain).map((i) => i.columns) };
}

/** PostgreSQL's own rule: a foreign key needs a valid unique index over exactly the referenced columns, with no predicate or expression. */
async function requireReferencedKey(spec: CreateConstraintSpec, ctx: OpContext, probe: Probe): Promise<void> {
  const at = (field: string) => where(ctx, 'create_constraint', `references.${field}`);
  const ref = parseTableRef(spec.references!.table);
  // A table this playbook creates is known only to the playbook's model; any other, to the catalog.
  const created = ctx.models.get(tableKey(ref));
  const target = created?.created ? { columns: created.columns, keys: created.uniqueKeys } : await catalogKeys(probe, ref);
  if (!target) throw new InputError(`${at('table')}: table ${tableKey(ref)} does not exist`);
  spec.references!.columns.forEach((name, i) => {
    if (!target.columns.some((c) => c.name === name)) throw new InputError(`${at(`columns[${i}]`)}: column "${name}" does not exist in ${tableKey(ref)}`);
  });
  const wanted = [...spec.references!.columns].sort().join(',');
  if (!target.keys.some((key) => [...key].sort().join(',') === wanted)) {
    throw new InputError(`${at('columns')}: no primary key or unique index of ${tableKey(ref)} is exactly (${spec.references!.columns.join(', ')}); a foreign key needs one`);
  }
}

function addNotValid(written: CreateConstraintSpec, ctx: OpContext): PlannedAction {
  const spec = physicalSpec(written, ctx);
  const columns = spec.columns.map(ident).join(', ');
  const foreignKey = spec.type === 'foreign_key';
  const body = foreignKey
    ? `FOREIGN KEY (${columns}) REFERENCES ${qualified(parseTableRef(spec.references!.table))} (${spec.references!.columns.map(ident).join(', ')})` +
      (spec.on_delete ? ` ON DELETE ${spec.on_delete.toUpperCase()}` : '')
    : `CHECK (${spec.check})`;
  return {
    id: `expand:${ctx.index}:add_constraint`,
    // NOT VALID: no scan of the existing rows under this lock; verify proves them later.
    sql: `ALTER TABLE ${qualified(ctx.table.ref)} ADD CONSTRAINT ${ident(spec.name)} ${body} NOT VALID`,
    lock: foreignKey ? 'SHARE ROW EXCLUSIVE (brief: catalog only)' : 'ACCESS EXCLUSIVE (brief: catalog only)',
    // A foreign key locks the referenced table as well, in the same mode: the plan says so.
    note:
      `writes are checked against ${spec.name} from now on; existing rows at verify` +
      (foreignKey ? `; ${tableKey(parseTableRef(spec.references!.table))} is locked briefly too` : ''),
  };
}

function buildUniqueIndex(spec: CreateConstraintSpec, ctx: OpContext): PlannedAction {
  return {
    id: `expand:${ctx.index}:create_unique_index`,
    sql: `CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS ${ident(spec.name)} ON ${qualified(ctx.table.ref)} (${physicalSpec(spec, ctx).columns.map(ident).join(', ')})`,
    lock: 'SHARE UPDATE EXCLUSIVE (reads and writes continue)',
    note: `build the index of ${spec.name} without blocking writes; it refuses duplicates from now on`,
    concurrent: true,
    replacesInvalidIndex: { schema: ctx.table.ref.schema, name: spec.name },
  };
}

/**
 * A check or a foreign key is added NOT VALID at expand (new writes are checked
 * from then on) and validated at verify, which scans under SHARE UPDATE
 * EXCLUSIVE while reads and writes go on. A unique constraint needs its index:
 * built concurrently at expand, it becomes the constraint at contract, which
 * takes only a catalog change. Existing rows that would violate it are refused
 * at validate, before any DDL.
 */
export const createConstraint = defineOperation({
  spec,
  summary: SUMMARY,
  touches: (spec) => ({ table: spec.table }),

  async validate(spec, ctx, probe) {
    const columns = spec.columns.map((name, i) => requireConstrainableColumn(ctx, i, name));
    await requireFreeConstraintName(ctx, 'create_constraint', 'name', spec.name, probe, spec.type === 'unique');
    if (spec.check) {
      await requireExpression(ctx, 'create_constraint', 'check', probe, spec.check, columns, 'boolean');
      await resolveCondition(ctx, probe, where(ctx, 'create_constraint', 'check'), spec.check);
    }
    if (spec.references) await requireReferencedKey(spec, ctx, probe);
    await refuseViolatingRows(physicalSpec(spec, ctx), ctx, probe);
    const type = ({ check: 'c', unique: 'u', foreign_key: 'f' } as const)[spec.type];
    ctx.table.constraints.set(spec.name, { name: spec.name, type, inherited: false, neededBy: null });
    if (spec.type === 'unique') ctx.table.indexes.add(spec.name);
  },

  expand(spec, ctx) {
    return [spec.type === 'unique' ? buildUniqueIndex(spec, ctx) : addNotValid(spec, ctx)];
  },

  verify(spec, ctx) {
    if (spec.type === 'unique') return { checks: [], actions: [] };
    const validate: PlannedAction = {
      id: `verify:${ctx.index}:validate_constraint`,
      sql: `ALTER TABLE ${qualified(ctx.table.ref)} VALIDATE CONSTRAINT ${ident(spec.name)}`,
      lock: 'SHARE UPDATE EXCLUSIVE (reads and writes continue)',
      note: `prove every existing row satisfies ${spec.name}, without blocking writes`,
    };
    return { checks: [], actions: [validate] };
  },

  contract(spec, ctx) {
    if (spec.type !== 'unique') return [];
    return [
      {
        id: `contract:${ctx.index}:unique_using_index`,
        sql: `ALTER TABLE ${qualified(ctx.table.ref)} ADD CONSTRAINT ${ident(spec.name)} UNIQUE USING INDEX ${ident(spec.name)}`,
        lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
        note: `the valid index becomes the constraint ${spec.name}; no scan`,
      },
    ];
  },

  rollback(spec, ctx) {
    if (spec.type === 'unique') {
      return [
        {
          id: `rollback:${ctx.index}:drop_unique_index`,
          sql: `DROP INDEX CONCURRENTLY IF EXISTS ${ident(ctx.table.ref.schema)}.${ident(spec.name)}`,
          lock: 'SHARE UPDATE EXCLUSIVE (reads and writes continue)',
          note: `remove the index built for ${spec.name}`,
          concurrent: true,
          undoes: buildUniqueIndex(spec, ctx),
          // A build that failed is not recorded as done, yet leaves an INVALID index: the engine drops that one anyway.
          replacesInvalidIndex: { schema: ctx.table.ref.schema, name: spec.name },
        },
      ];
    }
    return [
      {
        id: `rollback:${ctx.index}:drop_constraint`,
        sql: `ALTER TABLE ${qualified(ctx.table.ref)} DROP CONSTRAINT IF EXISTS ${ident(spec.name)}`,
        lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
        note: `remove ${spec.name}`,
        undoes: addNotValid(spec, ctx),
      },
    ];
  },
});
