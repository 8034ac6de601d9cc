import { ident, qualified } from '../db/sql.ts';
import type { PlannedAction } from '../engine/action.ts';
import type { OpContext } from './operation.ts';
import { names } from './names.ts';

/**
 * NOT NULL without a long exclusive lock. `SET NOT NULL` alone scans the whole
 * table under ACCESS EXCLUSIVE. Instead: a CHECK added NOT VALID (instant),
 * validated under SHARE UPDATE EXCLUSIVE (writes go on), after which PostgreSQL
 * 12+ accepts `SET NOT NULL` without scanning.
 *
 * Where the value comes from a translation (`up`) that may fail for a row, the
 * CHECK comes only at verify: a row whose translation failed has no value, and
 * before verify the CHECK would turn that noted failure into a failed write.
 */
export function notNullViaCheck(ctx: OpContext, column: string) {
  const table = qualified(ctx.table.ref);
  const check = ident(names.notNullCheck(ctx, column));
  return {
    /** Added in the phase given: see the callers for why. */
    add: (phase: 'dual_write' | 'verify'): PlannedAction => ({
      id: `${phase}:${ctx.index}:not_null_check:${column}`,
      sql: `ALTER TABLE ${table} ADD CONSTRAINT ${check} CHECK (${ident(column)} IS NOT NULL) NOT VALID`,
      lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
      note: `new writes must give ${column} a value; existing rows are checked later`,
    }),
    validate: {
      id: `verify:${ctx.index}:validate_not_null:${column}`,
      sql: `ALTER TABLE ${table} VALIDATE CONSTRAINT ${check}`,
      lock: 'SHARE UPDATE EXCLUSIVE (reads and writes continue)',
      note: `prove every row has ${column}, without blocking writes`,
    } satisfies PlannedAction,
    /** `finalName` is the column's name once contract has renamed it. */
    enforce: (finalName: string): PlannedAction[] => [
      {
        id: `contract:${ctx.index}:set_not_null:${column}`,
        sql: `ALTER TABLE ${table} ALTER COLUMN ${ident(finalName)} SET NOT NULL`,
        lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
        note: 'no table scan: the validated CHECK already proves it',
      },
      {
        id: `contract:${ctx.index}:drop_not_null_check:${column}`,
        sql: `ALTER TABLE ${table} DROP CONSTRAINT IF EXISTS ${check}`,
        lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
        note: 'the column constraint replaces the CHECK',
      },
    ],
    drop: {
      id: `rollback:${ctx.index}:drop_not_null_check:${column}`,
      sql: `ALTER TABLE ${table} DROP CONSTRAINT IF EXISTS ${check}`,
      lock: 'ACCESS EXCLUSIVE (brief: catalog only)',
      note: 'remove the CHECK added for NOT NULL',
    } satisfies PlannedAction,
  };
}
