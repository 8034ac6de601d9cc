import { ident, parseTableRef, qualified, tableKey, type TableRef } from '../db/sql.ts';
import { InputError } from '../errors.ts';
import type { OpContext, Probe } from './operation.ts';
import { where } from './validation.ts';
import { physicalColumn } from './physical-names.ts';
import type { NewConstraint } from './new-constraint.ts';

/** Enough to show the size of the problem without reading the whole table twice. */
const LIMIT = 1000;

/** The rows a new constraint would refuse, as a condition over its table aliased `t`, and how to say what is wrong with them. */
interface Violation {
  condition: string;
  what: (many: boolean) => string;
}

/**
 * `values` are the constrained columns' values as expressions over the row of
 * `t` (the columns themselves, or what `up` makes of them); the condition reads
 * them as a one-row relation `n` named like the columns, so that a check means
 * the same as it will on the table.
 */
function violation(c: NewConstraint, values: string[], table: TableRef): Violation {
  const cols = c.columns.map(ident);
  const n = `(SELECT ${values.map((v, i) => `${v} AS ${cols[i]}`).join(', ')}) AS n`;
  const own = cols.map((col) => `n.${col}`);
  // NULLs are distinct to a unique constraint, and a foreign key with any column NULL (MATCH SIMPLE) references nothing.
  const allSet = own.map((col) => `${col} IS NOT NULL`).join(' AND ');
  switch (c.type) {
    case 'check':
      // A CHECK passes when its expression is NULL: only a false one violates it.
      return { condition: `EXISTS (SELECT FROM ${n} WHERE NOT (${c.check}))`, what: (many) => `${many ? 'violate' : 'violates'} it` };
    case 'unique': {
      const u = cols.map((_, i) => `u.v${i}`);
      const duplicated =
        `SELECT ${u.join(', ')} FROM (SELECT ${values.join(', ')} FROM ${qualified(table)}) AS u(${u.map((_, i) => `v${i}`).join(', ')})` +
        ` WHERE ${u.map((v) => `${v} IS NOT NULL`).join(' AND ')} GROUP BY ${u.join(', ')} HAVING count(*) > 1`;
      return {
        condition: `EXISTS (SELECT FROM ${n} WHERE ${allSet} AND (${own.join(', ')}) IN (${duplicated}))`,
        what: (many) => `${many ? 'share their' : 'shares its'} (${c.columns.join(', ')}) with another row`,
      };
    }
    case 'foreign_key': {
      const target = parseTableRef(c.references!.table);
      const match = c.references!.columns.map((col, i) => `r.${ident(col)} = ${own[i]}`).join(' AND ');
      return {
        condition: `EXISTS (SELECT FROM ${n} WHERE ${allSet} AND NOT EXISTS (SELECT FROM ${qualified(target)} AS r WHERE ${match}))`,
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
 * refused for nothing. With `ups` (each column's `up`, cast to its new type),
 * the rows are judged as `up` leaves them: a backfill that wrote a violating
 * value would fail half-way. The scan reads only, and stops at LIMIT rows.
 * `field` is the one the message names: the constraint's, or `up`.
 */
export async function refuseViolatingRows(c: NewConstraint, ctx: OpContext, probe: Probe, kind: string, field: string, ups?: string[]): Promise<void> {
  // Until contract a column renamed earlier in the playbook keeps its old name; one the playbook
  // adds (or fills anew) has no values yet: verify proves it once the backfill has filled it.
  const physical = c.columns.map((name) => physicalColumn(ctx, name));
  if (physical.some((name) => !ctx.table.original.columns.some((col) => col.name === name))) return;
  const { condition, what } = violation(c, ups ?? physical.map(ident), ctx.table.ref);
  const key = ctx.table.original.key?.columns.map((col) => col.name) ?? ['ctid'];
  const found = await probe.rowsWhere(ctx.table.ref, condition, key, LIMIT + 1);
  const at = where(ctx, kind, field);
  if ('error' in found) throw new InputError(`${at}: cannot check the existing rows against it: ${found.error}`);
  if (found.keys.length === 0) return;
  const count = found.keys.length > LIMIT ? `more than ${LIMIT} rows` : `${found.keys.length} row${found.keys.length > 1 ? 's' : ''}`;
  const fix = ups ? 'up must give every row a value that satisfies it' : 'correct them before adding the constraint, or give up and down to repair them';
  throw new InputError(`${at}: ${count} of ${tableKey(ctx.table.ref)} ${what(found.keys.length > 1)}${ups ? ` once up has run` : ''}, e.g. ${shownKey(key, found.keys[0])}; ${fix}`);
}
