import { z } from 'zod';
import { identifier, tableName } from '../playbook/spec-parts.ts';
import { ident, qualified } from '../db/sql.ts';
import { InputError } from '../errors.ts';
import { defineOperation } from './operation.ts';
import { where } from './validation.ts';

const SUMMARY = 'the new name in the new version schema at once, the physical rename at contract';

const spec = z.strictObject({ table: tableName, to: identifier.describe('The new name, in the same schema') });

/**
 * The new application sees the table under its new name at once, through a
 * view in its version schema (simple views are writable); the old one keeps the
 * old name until contract renames the table itself.
 */
export const renameTable = defineOperation({
  spec,
  summary: SUMMARY,
  touches: (spec) => ({ table: spec.table }),

  async validate(spec, ctx, probe) {
    if (ctx.table.created) throw new InputError(`${where(ctx, 'rename_table', 'to')}: the table is created by this same playbook; create it under its new name`);
    if (await probe.relationExists(ctx.table.ref.schema, spec.to)) {
      throw new InputError(`${where(ctx, 'rename_table', 'to')}: "${spec.to}" already exists in schema ${ctx.table.ref.schema}`);
    }
    ctx.table.versionName = spec.to;
  },

  contract(spec, ctx) {
    return [
      {
        id: `contract:${ctx.index}:rename_table`,
        sql: `ALTER TABLE ${qualified(ctx.table.ref)} RENAME TO ${ident(spec.to)}`,
        lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
        note: `${ctx.table.ref.name} becomes ${spec.to}`,
      },
    ];
  },
});
