import { z } from 'zod';
import { identifier, tableName } from '../playbook/spec-parts.ts';
import { ident, qualified } from '../db/sql.ts';
import { InputError } from '../errors.ts';
import { defineOperation } from './operation.ts';
import { hasOwnIndex, requireConstraint, where } from './validation.ts';

const SUMMARY = 'kept for the old application until contract, dropped there';

const spec = z.strictObject({
  table: tableName,
  name: identifier.describe('The constraint to drop'),
});

/**
 * The old application may rely on the constraint (a unique one for ON CONFLICT,
 * a check for its data's shape), so it stays until contract. Dropping it there
 * is a catalog change; a unique constraint takes its index along.
 */
export const dropConstraint = defineOperation({
  spec,
  summary: SUMMARY,
  touches: (spec) => ({ table: spec.table }),

  async validate(spec, ctx) {
    const at = where(ctx, 'drop_constraint', 'name');
    const constraint = requireConstraint(ctx, 'drop_constraint', 'name', spec.name);
    if (constraint.type === 'p') {
      throw new InputError(`${at}: "${spec.name}" is the primary key; bellows walks tables by their key and does not drop one`);
    }
    if (constraint.inherited) throw new InputError(`${at}: "${spec.name}" is inherited from a parent table; drop it there`);
    // Without CASCADE, DROP CONSTRAINT would fail at the very end; with it, it would take another table's foreign key.
    if (constraint.neededBy) throw new InputError(`${at}: "${spec.name}" is needed by ${constraint.neededBy}; drop that first`);
    ctx.table.constraints.delete(spec.name);
    if (hasOwnIndex(constraint)) ctx.table.indexes.delete(spec.name);
  },

  contract(spec, ctx) {
    return [
      {
        id: `contract:${ctx.index}:drop_constraint`,
        sql: `ALTER TABLE ${qualified(ctx.table.ref)} DROP CONSTRAINT ${ident(spec.name)}`,
        lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
        note: `drop ${spec.name}; no scan`,
      },
    ];
  },
});
