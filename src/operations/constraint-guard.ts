import { ident, literal, parseTableRef, qualified } from '../db/sql.ts';
import type { OpContext } from './operation.ts';
import type { PlacedConstraint } from './new-constraint.ts';
import type { Guard } from './trigger.ts';

/**
 * How a dual-write trigger tells that `up` left a write's values violating a
 * new constraint on shadow columns, before PostgreSQL would refuse the write
 * for it: the constraint's own test, on the row as the trigger leaves it.
 */
export function constraintGuard(c: PlacedConstraint, ctx: OpContext): Guard {
  const values = c.columns.map((shadow) => `NEW.${ident(shadow)}`);
  const allSet = values.map((v) => `${v} IS NOT NULL`).join(' AND ');
  const guard = (test: string, reads?: string[]): Guard => ({ name: c.name, columns: c.columns, test, reads });
  switch (c.type) {
    case 'check': {
      // The check is written over the shadows' names: read them as variables of those names.
      const columns = ctx.columnsAfter ?? ctx.table.columns;
      const declare = c.columns.map((shadow) => `${ident(shadow)} ${columns.find((m) => m.physical === shadow)!.type} := NEW.${ident(shadow)};`);
      return guard(`DECLARE ${declare.join(' ')} BEGIN _bellows_violates := NOT coalesce((${c.check}), true); END;`, [c.check!]);
    }
    case 'foreign_key': {
      const match = c.references!.columns.map((col, i) => `r.${ident(col)} = ${values[i]}`).join(' AND ');
      return guard(`_bellows_violates := ${allSet} AND NOT EXISTS (SELECT FROM ${qualified(parseTableRef(c.references!.table))} AS r WHERE ${match});`);
    }
    case 'unique': {
      // Another row (by the table's key) holding the values, found through the unique index on the
      // shadows, of the table the trigger fires on: plan rehearses the trigger on a copy of it.
      const key = ctx.table.original.key?.columns.map((k) => k.name) ?? [];
      const same = c.columns.map((shadow, i) => `o.${ident(shadow)} = $${i + 1}`);
      const other = key.length ? [`(${key.map((k) => `o.${ident(k)}`).join(', ')}) IS DISTINCT FROM (${key.map((_, i) => `$${c.columns.length + i + 1}`).join(', ')})`] : [];
      // format() reads % in the rest of the text too: a quoted name may hold one.
      const query = `SELECT EXISTS (SELECT FROM %s AS o WHERE ${[...same, ...other].join(' AND ').replaceAll('%', '%%')})`;
      const using = [...values, ...key.map((k) => `NEW.${ident(k)}`)].join(', ');
      return guard(`_bellows_violates := false; IF ${allSet} THEN EXECUTE format(${literal(query)}, TG_RELID::regclass) INTO _bellows_violates USING ${using}; END IF;`);
    }
  }
}
