import type pg from 'pg';
import { openRun } from '../engine/start.ts';
import { RunFailedError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { driveHere, rollBackHere, type OperatorContext } from '../operator/index.ts';
import type { Playbook } from '../playbook/schema.ts';
import { StateStore } from '../state/store.ts';
import type { Phase } from '../state/types.ts';
import { failedPhase, phaseTimes, type PhaseTime } from './phase-times.ts';

export interface PassResult {
  name: 'rollback' | 'contract';
  ok: boolean;
  phases: PhaseTime[];
  failure?: { phase: Phase; message: string };
}

/**
 * The two passes of a dry run, on the copy, through the real engine and the
 * local executor, as an operator would take them: start → gate → rollback,
 * then on the rolled-back copy start → gate → approve → contract. The second
 * pass also proves the rollback left a schema the playbook starts on again.
 */
export async function runPasses(copy: pg.Pool, playbook: Playbook, directory: string, log: Logger, signal: AbortSignal): Promise<PassResult[]> {
  const store = new StateStore(copy);
  const ctx: OperatorContext = { pool: copy, store, log, actor: store.actor };
  const first = await pass(ctx, 'rollback', playbook, directory, signal);
  if (!first.ok) return [first];
  return [first, await pass(ctx, 'contract', playbook, directory, signal)];
}

async function pass(ctx: OperatorContext, name: PassResult['name'], playbook: Playbook, directory: string, signal: AbortSignal): Promise<PassResult> {
  // autoContract off: the first pass must stop at the gate whatever the playbook says.
  const { run } = await openRun(ctx.pool, ctx.store, { playbook, executor: 'local', overrides: { autoContract: false }, directory });
  try {
    expectOutcome(await driveHere(ctx, run, { stopAtGate: true }, signal), 'awaiting_approval');
    // The gate's figures, before a rollback or contract moves on from them.
    const toGate = await phaseTimes(ctx.store, run.id, new Date());
    if (name === 'rollback') {
      const reached = await ctx.store.getRun(run.id);
      expectOutcome(await rollBackHere(ctx, reached, signal), 'rolled_back');
    } else {
      const approved = await ctx.store.setDesired(run.id, { approved: true }, 'approve', { via: 'dry-run' });
      expectOutcome(await driveHere(ctx, approved, { stopAtGate: true }, signal), 'completed');
    }
    const all = await phaseTimes(ctx.store, run.id, (await ctx.store.getRun(run.id)).finishedAt ?? new Date());
    // Rows come from the ranges as they were at the gate: a rollback may clear them.
    return { name, ok: true, phases: all.map((p) => ({ ...p, rows: toGate.find((g) => g.phase === p.phase)?.rows ?? p.rows })) };
  } catch (err) {
    if (signal.aborted || !(err instanceof RunFailedError)) throw err;
    const failed = await ctx.store.getRun(run.id);
    const phases = await phaseTimes(ctx.store, run.id, new Date());
    return { name, ok: false, phases, failure: { phase: await failedPhase(ctx.store, run.id), message: failed.error ?? err.message } };
  }
}

function expectOutcome(outcome: string, expected: string): void {
  if (outcome === 'stopped') throw new RunFailedError('dry run interrupted');
  if (outcome !== expected) throw new RunFailedError(`the run ended ${outcome}, not ${expected}`);
}
