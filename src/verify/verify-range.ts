import type pg from 'pg';
import type { CompiledTable } from '../engine/compile.ts';
import { RunFailedError } from '../errors.ts';
import type { BatchWork } from '../backfill/walker.ts';
import { keyset } from '../backfill/keyset.ts';
import { anyMismatch, mismatchReport, repairStatement, verifyCount } from './checks.ts';

const EXAMPLES = 5;
const REPAIR_ROUNDS = 3;

export interface Mismatch {
  key: string;
  columns: Record<string, { actual?: string | null; expected?: string | null; problem?: true; wrong: boolean }>;
}

export class VerifyMismatchError extends RunFailedError {
  override readonly name: string = 'VerifyMismatchError';
  constructor(
    readonly table: string,
    readonly mismatches: Mismatch[],
    repaired: boolean,
  ) {
    const examples = mismatches
      .map((m) => {
        const cols = Object.entries(m.columns)
          .filter(([, v]) => v.wrong)
          .map(([c, v]) => (v.problem ? c : `${c}=${JSON.stringify(v.actual)} expected ${JSON.stringify(v.expected)}`));
        return `key ${m.key}: ${cols.join(', ')}`;
      })
      .join('; ');
    // A row another table disagrees with (a history, a seed) is not one `up` can repair.
    const repairable = mismatches.some((m) => Object.values(m.columns).some((v) => v.wrong && !v.problem));
    const hint = !repairable ? '' : repaired ? ` (still wrong after ${REPAIR_ROUNDS} repair rounds)` : ' (resume with --repair to re-apply up to these rows)';
    super(`verify failed on ${table}${hint}: ${examples}`);
  }
}

/**
 * One verify chunk: counts the rows between the two keys and checks each one.
 * A wrong row stops the run, naming its key with both values; with `repair`, the
 * chunk first re-applies `up` to the wrong rows and checks again, a few rounds.
 */
export function verifyWork(table: CompiledTable, onRepair?: (rows: number) => Promise<void>): BatchWork {
  const ks = keyset(table.ref, table.key!);
  const wrong = anyMismatch(table);
  const count = (client: pg.ClientBase, where: string, params: unknown[]) => client.query<{ n: number; bad: number }>(verifyCount(table, ks, where), params);
  return async (client, where, params, settings) => {
    let { rows } = await count(client, where, params);
    const repair = repairStatement(table, where);
    for (let round = 0; settings.repair && repair && rows[0].bad > 0 && round < REPAIR_ROUNDS; round++) {
      const fixed = await client.query(repair, params);
      await onRepair?.(fixed.rowCount ?? 0);
      ({ rows } = await count(client, where, params));
    }
    if (rows[0].bad > 0) {
      const examples = await client.query<{ m: Mismatch }>(
        `SELECT ${mismatchReport(table)} AS m FROM ${ks.from} WHERE ${where} AND (${wrong}) ORDER BY ${ks.orderBy} LIMIT ${EXAMPLES}`,
        params,
      );
      throw new VerifyMismatchError(table.name, examples.rows.map((r) => r.m), settings.repair);
    }
    return rows[0].n;
  };
}
