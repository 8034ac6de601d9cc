import type { Action } from './action.ts';
import type { CompiledPlan, CompiledTable } from './compile.ts';
import { keyset } from '../backfill/keyset.ts';
import { backfillStatements } from '../backfill/backfill-work.ts';
import { verifyCount } from '../verify/checks.ts';

export interface PlanSection {
  phase: string;
  statements: Array<{ sql: string; lock: string; note: string }>;
}

function fromActions(phase: string, actions: Action[]): PlanSection {
  return { phase, statements: actions.map((a) => ({ sql: a.sql, lock: a.lock, note: a.note })) };
}

/** The per-batch statements of a table: what `plan` shows for the backfill and verify phases. */
function batchStatements(table: CompiledTable) {
  const ks = keyset(table.ref, table.key!);
  const between = (upper: string) => {
    const params: unknown[] = [];
    return ks.between(['<checkpoint>'], [upper], params);
  };
  const find = ks.keyAt(between('<range end>'), '<batch size - 1>');
  return { find, where: between('<batch end>'), ks };
}

/** Every statement of every phase, with its lock, in order: what a reviewer reads in a pull request. */
export function describePlan(plan: CompiledPlan): PlanSection[] {
  const backfill: PlanSection = { phase: 'backfill', statements: [] };
  const verify: PlanSection = { phase: 'verify', statements: [] };
  for (const table of plan.tables) {
    if (!table.key) continue;
    const { find, where, ks } = batchStatements(table);
    if (table.backfill.length) {
      backfill.statements.push(
        { sql: find, lock: 'ACCESS SHARE (reads only)', note: `per batch: the batch's last key, by index-only scan of ${table.keyIndex}` },
        ...backfillStatements(table, where).map((sql) => ({ sql, lock: 'ROW EXCLUSIVE (rows of one batch)', note: 'per batch, committed with its checkpoint' })),
      );
    }
    if (table.verify.length) {
      verify.statements.push({
        sql: verifyCount(table, ks, where),
        lock: 'ACCESS SHARE (reads only)',
        note: 'per chunk: every row must match',
      });
    }
  }
  verify.statements.push(...fromActions('verify', plan.verify).statements);
  return [
    fromActions('expand', plan.expand),
    fromActions('dual-write', plan.dualWrite),
    backfill,
    verify,
    // Statements that cannot run in a transaction block follow contract's one transaction.
    fromActions('contract (one transaction, after approval)', plan.contract.filter((a) => !a.concurrent)),
    ...(plan.contract.some((a) => a.concurrent) ? [fromActions('contract, after its transaction (each safe to repeat)', plan.contract.filter((a) => a.concurrent))] : []),
    fromActions('rollback (any time before contract completes)', plan.rollback),
  ];
}
