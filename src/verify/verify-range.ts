import type pg from 'pg';
import type { CompiledTable } from '../engine/compile.ts';
import { RunFailedError } from '../errors.ts';
import type { BatchWork } from '../backfill/walker.ts';
import { keyset } from '../backfill/keyset.ts';
import { anyMismatch, mismatchReport } from './checks.ts';

const EXAMPLES = 5;

export interface Mismatch {
  key: string;
  columns: Record<string, { actual: string | null; expected: string | null; wrong: boolean }>;
}

export class VerifyMismatchError extends RunFailedError {
  override readonly name: string = 'VerifyMismatchError';
  constructor(
    readonly table: string,
    readonly mismatches: Mismatch[],
  ) {
    const examples = mismatches
      .map((m) => {
        const cols = Object.entries(m.columns)
          .filter(([, v]) => v.wrong)
          .map(([c, v]) => `${c}=${JSON.stringify(v.actual)} expected ${JSON.stringify(v.expected)}`);
        return `key ${m.key}: ${cols.join(', ')}`;
      })
      .join('; ');
    super(`verify failed on ${table}: ${examples}`);
  }
}

/**
 * One verify chunk: counts the rows between the two keys and, if any is wrong,
 * fetches a few examples and stops the run, naming each key with both values.
 */
export function verifyWork(table: CompiledTable): BatchWork {
  const ks = keyset(table.ref, table.key!);
  const wrong = anyMismatch(table);
  return async (client: pg.ClientBase, where: string, params: unknown[]) => {
    const { rows } = await client.query<{ n: number; bad: number }>(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE ${wrong})::int AS bad FROM ${ks.table} WHERE ${where}`,
      params,
    );
    if (rows[0].bad > 0) {
      const examples = await client.query<{ m: Mismatch }>(
        `SELECT ${mismatchReport(table)} AS m FROM ${ks.table} WHERE ${where} AND (${wrong}) ORDER BY ${ks.orderBy} LIMIT ${EXAMPLES}`,
        params,
      );
      throw new VerifyMismatchError(table.name, examples.rows.map((r) => r.m));
    }
    return rows[0].n;
  };
}
