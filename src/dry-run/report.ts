import type { CopiedTable } from './build-copy.ts';
import type { DryRunResult } from './index.ts';
import type { PhaseTime } from './phase-times.ts';

export interface PhaseReport {
  phase: string;
  seconds: number;
  rows: number;
  /**
   * The phase's time on the target's table sizes: phases that walk rows
   * (backfill, verify) scale with the rows; null for the others, whose time
   * goes to DDL and lock waits and does not follow the table's size.
   */
  estimatedSeconds: number | null;
}

export function phaseReport(phase: PhaseTime, tables: CopiedTable[]): PhaseReport {
  const walked = Object.entries(phase.rows);
  const rows = walked.reduce((n, [, r]) => n + r, 0);
  if (walked.length === 0) return { phase: phase.phase, seconds: phase.seconds, rows, estimatedSeconds: null };
  const sizes = walked.map(([table]) => tables.find((t) => t.table === table));
  const copied = sizes.reduce((n, t) => n + (t?.copiedRows ?? 0), 0);
  const real = sizes.reduce((n, t) => n + (t?.targetRows ?? 0), 0);
  return { phase: phase.phase, seconds: phase.seconds, rows, estimatedSeconds: copied > 0 ? (phase.seconds * real) / copied : phase.seconds };
}

/** The report as `--json` prints it. */
export function reportJson(result: DryRunResult) {
  return {
    ok: result.passes.length === 2 && result.passes.every((p) => p.ok),
    copy: result.copy,
    tables: result.summary.tables,
    orphansRemoved: result.summary.orphansRemoved,
    passes: result.passes.map((p) => ({ name: p.name, ok: p.ok, failure: p.failure ?? null, phases: p.phases.map((ph) => phaseReport(ph, result.summary.tables)) })),
  };
}
