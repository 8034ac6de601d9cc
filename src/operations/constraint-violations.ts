import { ident, parseTableRef, qualified, tableKey } from '../db/sql.ts';
import { InputError } from '../errors.ts';
import type { OpContext, Probe } from './operation.ts';
import { where } from './validation.ts';
import type { CreateConstraintSpec } from './create-constraint.ts';

/** Enough to show the size of the problem without reading the whole table twice. */
const LIMIT = 1000;

/** The rows a new constraint would refuse, as a condition over its table aliased `t`, and how to say what is wrong with them. */
interface Violation {
  field: string;
  condition: string;
  what: (many: boolean) => string;
}

function violation(spec: CreateConstraintSpec, ctx: OpContext): Violation {
  const cols = spec.columns.map(ident);
  const own = cols.map((c) => `t.${c}`);
  switch (spec.type) {
    case 'check':
      // A CHECK passes when its expression is NULL: only a false one violates it.
      return { field: 'check', condition: `NOT (${spec.check})`, what: (many) => `${many ? 'violate' : 'violates'} it` };
    case 'unique': {
      // NULLs are distinct to a unique constraint: only rows with every column set can clash.
      const notNull = cols.map((c) => `${c} IS NOT NULL`).join(' AND ');
      const duplicated = `SELECT ${cols.join(', ')} FROM ${qualified(ctx.table.ref)} WHERE ${notNull} GROUP BY ${cols.join(', ')} HAVING count(*) > 1`;
      return {
        field: 'columns',
        condition: `(${own.join(', ')}) IN (${duplicated})`,
        what: (many) => `${many ? 'share their' : 'shares its'} (${spec.columns.join(', ')}) with another row`,
      };
    }
    case 'foreign_key': {
      const target = parseTableRef(spec.references!.table);
      // MATCH SIMPLE, PostgreSQL's default: a row with any column NULL references nothing and passes.
      const set = own.map((c) => `${c} IS NOT NULL`).join(' AND ');
      const match = spec.references!.columns.map((c, i) => `r.${ident(c)} = ${own[i]}`).join(' AND ');
      return {
        field: 'references',
        condition: `${set} AND NOT EXISTS (SELECT FROM ${qualified(target)} AS r WHERE ${match})`,
        what: (many) => `${many ? 'reference' : 'references'} no row of ${tableKey(target)}`,
      };
    }
  }
}

/** `id 17`, or `a 1, b x` for a key of several columns. */
function shownKey(columns: string[], values: string[]): string {
  return columns.map((c, i) => `${c} ${values[i]}`).join(', ');
}

/**
 * Refuses a constraint that existing rows violate, before any DDL: VALIDATE
 * would fail only at verify, after the old application's writes had been
 * refused for nothing. The scan reads only, and stops at LIMIT rows.
 */
export async function refuseViolatingRows(spec: CreateConstraintSpec, ctx: OpContext, probe: Probe): Promise<void> {
  // A column the playbook adds has no values yet: verify proves it once the backfill has filled it.
  if (spec.columns.some((name) => !ctx.table.original.columns.some((c) => c.name === name))) return;
  const { field, condition, what } = violation(spec, ctx);
  const key = ctx.table.original.key?.columns.map((c) => c.name) ?? ['ctid'];
  const found = await probe.rowsWhere(ctx.table.ref, condition, key, LIMIT + 1);
  const at = where(ctx, 'create_constraint', field);
  if ('error' in found) throw new InputError(`${at}: cannot check the existing rows against it: ${found.error}`);
  if (found.keys.length === 0) return;
  const count = found.keys.length > LIMIT ? `more than ${LIMIT} rows` : `${found.keys.length} row${found.keys.length > 1 ? 's' : ''}`;
  throw new InputError(
    `${at}: ${count} of ${tableKey(ctx.table.ref)} ${what(found.keys.length > 1)}, e.g. ${shownKey(key, found.keys[0])}; correct them before adding the constraint`,
  );
}
