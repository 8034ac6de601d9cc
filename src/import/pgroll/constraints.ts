import type { PgrollColumnReference, PgrollTableReference } from './format.ts';
import { field, refuse } from './refusal.ts';

/**
 * Whether pgroll's `up`/`down` keep every value of the column as it is: none, or
 * the column itself (pgroll's own default). Where they do, a constraint goes on
 * the column in place; where they do not, through bellows' shadow columns that
 * `up` repairs; drop_constraint never rewrites rows.
 */
export function keepsValues(expression: string | undefined, column: string): boolean {
  const text = expression?.trim() ?? '';
  return text === '' || text === column || text === `"${column.replaceAll('"', '""')}"`;
}

/** The column itself as an expression: what pgroll's `up`/`down` default to. */
export function columnItself(column: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(column) ? column : `"${column.replaceAll('"', '""')}"`;
}

/** drop_constraint's `up`/`down` are written over a column the operation does not name: any lone column keeps values. */
export function isLoneColumn(expression: string | undefined): boolean {
  const text = expression?.trim() ?? '';
  return text === '' || /^[A-Za-z_][A-Za-z0-9_$]*$/.test(text) || /^"([^"]|"")+"$/.test(text);
}

/** Both directions of a per-column map (create_constraint, drop_multicolumn_constraint) keep values. */
export function requireValuesKept(up: Record<string, string> | undefined, down: Record<string, string> | undefined, what: string): void {
  for (const [direction, map] of [['up', up], ['down', down]] as const) {
    for (const [column, expression] of Object.entries(map ?? {})) {
      if (!keepsValues(expression, column)) {
        refuse(`${direction}.${column}`, `pgroll rewrites the column's values here; bellows' ${what} does not rewrite rows`);
      }
    }
  }
}

/**
 * The name PostgreSQL gives a column constraint that has none (`orders_total_check`):
 * bellows' create_table leaves constraint names to PostgreSQL, so a pgroll name
 * converts exactly only when it is this one.
 */
export function defaultConstraintName(table: string, column: string, suffix: 'check' | 'fkey' | 'key'): string | null {
  const name = `${table}_${column}_${suffix}`;
  // Longer names PostgreSQL shortens by its own rules: not guessed here.
  return Buffer.byteLength(name) <= 63 ? name : null;
}

/** ON DELETE in bellows' spelling; undefined for PostgreSQL's default. */
export function onDelete(action: string | undefined): 'restrict' | 'cascade' | 'set null' | 'set default' | undefined {
  if (!action || action === 'NO ACTION') return undefined;
  return action.toLowerCase() as 'restrict' | 'cascade' | 'set null' | 'set default';
}

/** What bellows' foreign keys cannot say: ON UPDATE, MATCH FULL/PARTIAL, deferral, SET NULL on some columns only. */
export function refuseForeignKeyExtras(reference: PgrollColumnReference | PgrollTableReference, at: string): void {
  const unsupported: Array<[string, boolean]> = [
    ['on_update', reference.on_update !== undefined && reference.on_update !== 'NO ACTION'],
    ['match_type', reference.match_type !== undefined && reference.match_type !== 'SIMPLE'],
    ['deferrable', 'deferrable' in reference && reference.deferrable === true],
    ['initially_deferred', 'initially_deferred' in reference && reference.initially_deferred === true],
    ['on_delete_set_columns', 'on_delete_set_columns' in reference && (reference.on_delete_set_columns?.length ?? 0) > 0],
  ];
  const found = unsupported.find(([, present]) => present);
  if (found) refuse(field(at, found[0]), `pgroll's "${found[0]}" is not supported by bellows' foreign keys yet`);
}
