import type { AlterColumnSpec, ColumnPath } from './alter-column.ts';
import { columnConstraints } from './alter-column-constraints.ts';
import { shadowPhases, validateShadow, type ShadowChange } from './shadow-columns.ts';

/** The alter_column as a change of one column through its shadow, with the constraints it adds on the shadow. */
function asShadowChange(spec: AlterColumnSpec): ShadowChange {
  const { column, type, up, down, nullable, default: def, comment } = spec;
  return {
    kind: 'alter_column',
    columns: [{ column, type, up: up!, down: down!, nullable, default: def, comment, fields: { column: 'column', type: 'type', up: 'up', down: 'down', default: 'default' } }],
    constraints: columnConstraints(spec),
  };
}

/**
 * The change through a shadow column (a new type, or values transformed by
 * `up`/`down`, or NOT NULL or a constraint made safe by `up`): see
 * shadow-columns.ts.
 */
export const shadowPath: ColumnPath = {
  validate: (spec, ctx, probe) => validateShadow(asShadowChange(spec), ctx, probe),
  expand: (spec, ctx, found) => shadowPhases.expand(asShadowChange(spec), ctx, found),
  dualWrite: (spec, ctx, found) => shadowPhases.dualWrite(asShadowChange(spec), ctx, found),
  backfill: (spec) => shadowPhases.backfill(asShadowChange(spec)),
  verify: (spec, ctx, found) => shadowPhases.verify(asShadowChange(spec), ctx, found),
  contract: (spec, ctx, found) => shadowPhases.contract(asShadowChange(spec), ctx, found),
  rollback: (spec, ctx) => shadowPhases.rollback(asShadowChange(spec), ctx),
};
