import { ident, qualified, type TableRef } from '../db/sql.ts';
import type { KeyColumn } from '../catalog/introspect.ts';
import type { KeyValue } from '../state/types.ts';

/**
 * SQL fragments for walking a table in key order, for any key: one column or
 * several (compared as a row value, `(a, b) > ($1, $2)`, which a btree index
 * answers directly). Key values travel as text and are cast back to the
 * column's type, so one representation serves ints, uuids, text and timestamps.
 */
export interface Keyset {
  table: string;
  columns: string;
  orderBy: string;
  /** Descending on every key column (a bare DESC would apply to the last one only). */
  orderByDesc: string;
  selectText: string;
  width: number;
  /** `(cols) > ($i::t, …)` for the range's exclusive lower bound, or `true` without one. */
  after(key: KeyValue | null, params: unknown[]): string;
  /** `(cols) <= ($i::t, …)` for an inclusive upper bound. */
  atMost(key: KeyValue, params: unknown[]): string;
  /** A key value as a typed row of parameters, `($i::t, …)`. */
  bind(key: KeyValue, params: unknown[]): string;
}

export function keyset(table: TableRef, key: KeyColumn[]): Keyset {
  const cols = key.map((k) => ident(k.name));
  const row = `(${cols.join(', ')})`;
  const bind = (value: KeyValue, params: unknown[]) => {
    const placeholders = value.map((v, i) => {
      params.push(v);
      return `$${params.length}::${key[i].type}`;
    });
    return `(${placeholders.join(', ')})`;
  };
  return {
    table: qualified(table),
    columns: row,
    orderBy: cols.join(', '),
    orderByDesc: cols.map((c) => `${c} DESC`).join(', '),
    selectText: cols.map((c, i) => `${c}::text AS k${i}`).join(', '),
    width: key.length,
    after: (value, params) => (value ? `${row} > ${bind(value, params)}` : 'true'),
    atMost: (value, params) => `${row} <= ${bind(value, params)}`,
    bind,
  };
}

export function rowToKey(row: Record<string, unknown>, width: number): KeyValue {
  return Array.from({ length: width }, (_, i) => String(row[`k${i}`]));
}

export function formatKey(key: KeyValue | null): string {
  if (!key) return '(start)';
  return key.length === 1 ? key[0] : `(${key.join(', ')})`;
}
