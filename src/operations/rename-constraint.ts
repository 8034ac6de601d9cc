import { z } from 'zod';
import { identifier, tableName } from '../playbook/spec-parts.ts';
import { ident, qualified } from '../db/sql.ts';
import { InputError } from '../errors.ts';
import { defineOperation } from './operation.ts';
import { hasOwnIndex, requireConstraint, requireFreeConstraintName, where } from './validation.ts';

const SUMMARY = 'renamed at contract (with its index, for a unique constraint)';

const spec = z.strictObject({
  table: tableName,
  from: identifier,
  to: identifier,
});

/**
 * The old application may name the constraint (ON CONFLICT ON CONSTRAINT, error
 * handling that matches its name), so the name changes only at contract.
 */
export const renameConstraint = defineOperation({
  spec,
  summary: SUMMARY,
  touches: (spec) => ({ table: spec.table }),

  async validate(spec, ctx, probe) {
    const constraint = requireConstraint(ctx, 'rename_constraint', 'from', spec.from);
    if (constraint.inherited) {
      throw new InputError(`${where(ctx, 'rename_constraint', 'from')}: "${spec.from}" is inherited from a parent table; rename it there`);
    }
    const withIndex = hasOwnIndex(constraint);
    await requireFreeConstraintName(ctx, 'rename_constraint', 'to', spec.to, probe, withIndex);
    ctx.table.constraints.delete(spec.from);
    ctx.table.constraints.set(spec.to, { ...constraint, name: spec.to });
    if (withIndex) {
      ctx.table.indexes.delete(spec.from);
      ctx.table.indexes.add(spec.to);
    }
  },

  contract(spec, ctx) {
    return [
      {
        id: `contract:${ctx.index}:rename_constraint`,
        sql: `ALTER TABLE ${qualified(ctx.table.ref)} RENAME CONSTRAINT ${ident(spec.from)} TO ${ident(spec.to)}`,
        lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
        note: `${spec.from} becomes ${spec.to}`,
      },
    ];
  },
});
