import { z } from 'zod';
import { identifier, sqlExpression, sqlType, tableName } from '../playbook/spec-parts.ts';
import { ident, literal, parseTableRef, qualified } from '../db/sql.ts';
import { InputError } from '../errors.ts';
import type { PlannedAction } from '../engine/action.ts';
import { defineOperation, type OpContext, type Probe } from './operation.ts';
import { requireExpression, requireType, where } from './validation.ts';

const SUMMARY = 'a new table with its columns, primary key, inline constraints and comments; the old application never sees it';

const column = z.strictObject({
  name: identifier,
  type: sqlType,
  nullable: z.boolean().default(true),
  default: sqlExpression.optional().describe('Default for new rows'),
  unique: z.boolean().default(false),
  check: sqlExpression.optional().describe('A CHECK over this row, e.g. price >= 0'),
  references: z.strictObject({ table: tableName, column: identifier }).optional().describe('A foreign key to an existing table'),
  comment: z.string().optional(),
});

const spec = z.strictObject({
  table: tableName,
  columns: z.array(column).min(1),
  primary_key: z.array(identifier).min(1).describe('The key columns: bellows walks every table by its key'),
  comment: z.string().optional(),
});

type CreateTableSpec = z.infer<typeof spec>;
type ColumnSpec = z.infer<typeof column>;

function columnDefinition(c: ColumnSpec): string {
  const parts = [ident(c.name), c.type];
  if (!c.nullable) parts.push('NOT NULL');
  if (c.default) parts.push(`DEFAULT ${c.default}`);
  if (c.unique) parts.push('UNIQUE');
  if (c.check) parts.push(`CHECK (${c.check})`);
  if (c.references) parts.push(`REFERENCES ${qualified(parseTableRef(c.references.table))} (${ident(c.references.column)})`);
  return parts.join(' ');
}

function createTheTable(spec: CreateTableSpec, ctx: OpContext): PlannedAction {
  const definitions = [...spec.columns.map(columnDefinition), `PRIMARY KEY (${spec.primary_key.map(ident).join(', ')})`];
  const referenced = spec.columns.some((c) => c.references);
  return {
    id: `expand:${ctx.index}:create_table`,
    sql: `CREATE TABLE ${qualified(ctx.table.ref)} (${definitions.join(', ')})`,
    // A foreign key adds its triggers to the referenced table, briefly; the new table is nobody's yet.
    lock: referenced ? 'SHARE ROW EXCLUSIVE (brief: catalog only)' : 'none',
    note: `new table ${ctx.table.ref.name}; the new application sees it through its version schema`,
  };
}

/** A foreign key must point at a column that exists and is unique on its own (a primary key or a unique index). */
async function requireReferenceable(ctx: OpContext, probe: Probe, field: string, target: { table: string; column: string }): Promise<void> {
  const ref = parseTableRef(target.table);
  const info = await probe.table(ref);
  if (!info) throw new InputError(`${where(ctx, 'create_table', field)}: table ${ref.schema}.${ref.name} does not exist`);
  if (!info.columns.some((c) => c.name === target.column)) {
    throw new InputError(`${where(ctx, 'create_table', field)}: column "${target.column}" does not exist in ${ref.schema}.${ref.name}`);
  }
  if (!info.indexes.some((i) => i.valid && i.unique && i.plain && i.columns.length === 1 && i.columns[0] === target.column)) {
    throw new InputError(`${where(ctx, 'create_table', field)}: ${ref.schema}.${ref.name}.${target.column} is not unique on its own (no primary key or unique index on it alone)`);
  }
}

/**
 * A new table is additive: it is created in expand, the new application sees
 * it through its version schema (and may write it at once), the old one never
 * uses it, and rollback drops it. Contract has nothing to do.
 */
export const createTable = defineOperation({
  spec,
  summary: SUMMARY,
  touches: (spec) => ({ table: spec.table, creates: true }),

  async validate(spec, ctx, probe) {
    const seen = new Set<string>();
    for (const [i, c] of spec.columns.entries()) {
      if (seen.has(c.name)) throw new InputError(`${where(ctx, 'create_table', `columns[${i}].name`)}: column "${c.name}" is listed twice`);
      seen.add(c.name);
      await requireType(ctx, 'create_table', probe, c.type, `columns[${i}].type`);
      if (c.default) await requireExpression(ctx, 'create_table', `columns[${i}].default`, probe, c.default, [], c.type);
      if (c.references) await requireReferenceable(ctx, probe, `columns[${i}].references`, c.references);
    }
    const row = spec.columns.map((c) => ({ name: c.name, type: c.type }));
    for (const [i, c] of spec.columns.entries()) {
      if (c.check) await requireExpression(ctx, 'create_table', `columns[${i}].check`, probe, c.check, row, 'boolean');
    }
    for (const [i, key] of spec.primary_key.entries()) {
      if (!seen.has(key)) throw new InputError(`${where(ctx, 'create_table', `primary_key[${i}]`)}: column "${key}" is not among the columns`);
    }
    const keyed = new Set(spec.primary_key);
    ctx.table.columns.push(
      ...spec.columns.map((c) => ({ name: c.name, physical: c.name, type: c.type, notNull: !c.nullable || keyed.has(c.name), default: c.default ?? null })),
    );
    ctx.table.uniqueKeys.push(spec.primary_key, ...spec.columns.filter((c) => c.unique).map((c) => [c.name]));
    // Its shape in the schema rehearsal, so a later view or SQL function of the playbook can
    // read it; columns and types only: a foreign key would lock the table it points at.
    const refused = await probe.rehearse(`CREATE TABLE ${qualified(ctx.table.ref)} (${spec.columns.map((c) => `${ident(c.name)} ${c.type}`).join(', ')})`);
    if (refused) throw new InputError(`${where(ctx, 'create_table', 'table')}: ${refused}`);
  },

  expand(spec, ctx) {
    const table = qualified(ctx.table.ref);
    const comments: PlannedAction[] = [
      ...(spec.comment ? [{ target: `TABLE ${table}`, text: spec.comment, what: 'table', name: 'the table' }] : []),
      ...spec.columns.filter((c) => c.comment).map((c) => ({ target: `COLUMN ${table}.${ident(c.name)}`, text: c.comment!, what: `column:${c.name}`, name: c.name })),
    ].map(({ target, text, what, name }) => ({
      id: `expand:${ctx.index}:comment:${what}`,
      sql: `COMMENT ON ${target} IS ${literal(text)}`,
      lock: 'none',
      note: `describe ${name}`,
    }));
    return [createTheTable(spec, ctx), ...comments];
  },

  rollback(spec, ctx) {
    return [
      {
        id: `rollback:${ctx.index}:drop_table`,
        sql: `DROP TABLE IF EXISTS ${qualified(ctx.table.ref)}`,
        lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
        note: `remove the new table ${ctx.table.ref.name} and the rows written to it`,
        undoes: createTheTable(spec, ctx),
      },
    ];
  },
});
