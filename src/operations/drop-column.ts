import { z } from 'zod';
import { identifier, tableName, sqlExpression } from '../playbook/spec-parts.ts';
import { ident, qualified } from '../db/sql.ts';
import { InputError } from '../errors.ts';
import { defineOperation } from './operation.ts';
import { dropDualWrite, dualWriteTrigger } from './trigger.ts';
import { physicalColumn } from './physical-names.ts';
import { columnDependents, newColumns, refuseKeyColumn, requireColumn, requireExpression, where } from './validation.ts';

const SUMMARY = 'hidden from the new version at once, dropped at contract; optional `down` for rows the new application inserts';

const spec = z.strictObject({
  table: tableName,
  column: identifier,
  down: sqlExpression
    .optional()
    .describe('Value for the dropped column when the new application inserts rows, until contract'),
});

/**
 * The column disappears from the new version at once and from the table at
 * contract. Until then the old application still reads and writes it; rows the
 * new application inserts get `down` (or the column's default).
 */
export const dropColumn = defineOperation({
  spec,
  summary: SUMMARY,
  touches: (spec) => ({ table: spec.table }),

  async validate(spec, ctx, probe) {
    const column = requireColumn(ctx, 'drop_column', 'column', spec.column);
    refuseKeyColumn(ctx, 'drop_column', spec.column);
    // Indexes and constraints of the column go with it; anything else would make contract fail at the very end.
    const blocking = (await columnDependents(ctx, probe, spec.column)).filter((d) => !d.auto);
    if (blocking.length) {
      throw new InputError(
        `${where(ctx, 'drop_column', 'column')}: "${spec.column}" is used by ${blocking.map((d) => d.what).join(', ')}; drop ${blocking.length > 1 ? 'them' : 'it'} first`,
      );
    }
    const position = ctx.table.columns.indexOf(column);
    ctx.table.columns.splice(position, 1);
    if (spec.down) {
      await requireExpression(ctx, 'drop_column', 'down', probe, spec.down, newColumns(ctx), column.type);
    } else if (column.notNull && column.default === null) {
      throw new InputError(
        `${where(ctx, 'drop_column', 'down')}: Required, because "${spec.column}" is NOT NULL without a default and the new application will insert rows without it`,
      );
    }
  },


  dualWrite(spec, ctx) {
    if (!spec.down) return [];
    const column = ident(physicalColumn(ctx, spec.column));
    return dualWriteTrigger(ctx, {
      fromNewApp: { statements: `IF TG_OP = 'INSERT' AND NEW.${column} IS NULL THEN NEW.${column} := ${spec.down}; END IF;`, reads: [spec.down] },
    });
  },


  contract(spec, ctx) {
    return [
      ...(spec.down ? dropDualWrite(ctx, 'contract') : []),
      {
        id: `contract:${ctx.index}:drop_column`,
        sql: `ALTER TABLE ${qualified(ctx.table.ref)} DROP COLUMN ${ident(spec.column)}`,
        lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
        note: `drop ${spec.column}; no rewrite`,
      },
    ];
  },

  rollback(spec, ctx) {
    return spec.down ? dropDualWrite(ctx, 'rollback') : [];
  },
});
