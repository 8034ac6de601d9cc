import type { DriveOutcome } from '../executors/executor.ts';
import { createExecutor } from '../executors/index.ts';
import type { RunRecord } from '../state/types.ts';
import { RunFailedError } from '../errors.ts';
import { executorDeps, type CliContext } from './context.ts';
import { print } from './output.ts';
import { SETTLED, watchRun } from './watch-loop.ts';
import { sleep } from '../util/sleep.ts';

/**
 * Drives a run from this terminal with a live progress display. Ctrl-C stops
 * it at the next batch boundary, checkpointed; `bellows resume` continues.
 */
export async function driveWithProgress(
  ctx: CliContext,
  run: RunRecord,
  /** `executor`: drive with this one rather than the run's own (a rollback taken over from an unreachable one). */
  options: { stopAtGate: boolean; progress: boolean; executor?: string },
): Promise<DriveOutcome> {
  const interrupt = new AbortController();
  const onSignal = () => interrupt.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const executor = await createExecutor(options.executor ?? run.executor, executorDeps(ctx, interrupt.signal));
  const stopView = new AbortController();
  const view = options.progress ? watchRun(ctx, run.id, { stop: stopView.signal, drivenHere: true }).catch(() => null) : null;
  let outcome: DriveOutcome;
  try {
    outcome = await executor.drive(run, { stopAtGate: options.stopAtGate });
  } finally {
    stopView.abort();
    await view;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await executor.close();
  }
  if (outcome === 'stopped') {
    // Interrupted (Ctrl-C, SIGTERM): the run is not where this command promised to
    // take it, so a script running `bellows start … && deploy` must not go on.
    throw new RunFailedError(`run ${run.id} stopped at a checkpoint; continue with: bellows resume ${run.id}`, run.id);
  }
  reportOutcome(run.id, outcome);
  return outcome;
}

/**
 * Follows a run its workers drive until it ends or waits at the gate (`start
 * --wait`): the exit status says how it ended, as if it had run here.
 */
export async function followToEnd(ctx: CliContext, runId: string, progress: boolean): Promise<void> {
  const final = progress ? await watchRun(ctx, runId, {}) : await settled(ctx, runId);
  if (final.status === 'failed') throw new RunFailedError(`run ${runId} failed: ${final.error}; fix the cause, then bellows resume ${runId} (or bellows rollback ${runId})`, runId);
  reportOutcome(runId, final.status === 'completed' ? 'completed' : final.status === 'rolled_back' ? 'rolled_back' : 'awaiting_approval');
}

async function settled(ctx: CliContext, runId: string): Promise<{ status: string; error: string | null }> {
  for (;;) {
    const run = await ctx.store.getRun(runId);
    if (SETTLED.includes(run.status)) return run;
    await sleep(500);
  }
}

/**
 * Rolls a run back in this process, whatever its executor. Every rollback step
 * is idempotent and reads only the state store, so this is safe even if the
 * run's own executor is unreachable or still holds a copy of the run: the store
 * says what the run made, and the first to remove it wins.
 */
export async function rollBackHere(ctx: CliContext, run: RunRecord): Promise<void> {
  const aborted = run.desired.abort ? run : await ctx.store.setDesired(run.id, { abort: true, paused: false }, 'abort');
  await driveWithProgress(ctx, aborted, { stopAtGate: true, progress: false, executor: 'local' });
}

/** Throws unless `name` can take a run now: asked before a run is created, so nothing is left behind when it cannot. */
export async function requireExecutorReady(ctx: CliContext, name: string): Promise<void> {
  const executor = await createExecutor(name, executorDeps(ctx));
  try {
    await executor.ready();
  } finally {
    await executor.close();
  }
}

/**
 * What a rollback can truthfully promise: it removes what the run created and
 * nothing else, and bellows never writes the original columns itself (only the
 * applications do, through the triggers), so their data is the applications'.
 */
export function rolledBack(runId: string): string {
  return `run ${runId} rolled back: every object the run created is removed, the original schema is back; the original columns were written only by the applications and keep their data`;
}

export function reportOutcome(runId: string, outcome: DriveOutcome): void {
  switch (outcome) {
    case 'completed':
      print(`run ${runId} completed: contract done, the new schema is in place`);
      break;
    case 'awaiting_approval':
      print(`run ${runId}: verify passed; contract waits for approval: bellows approve ${runId}`);
      break;
    case 'rolled_back':
      print(rolledBack(runId));
      break;
    case 'stopped':
      print(`run ${runId} stopped at a checkpoint; continue with: bellows resume ${runId}`);
      break;
    case 'submitted':
      print(`run ${runId} submitted; follow it with: bellows watch ${runId}`);
      break;
    case 'moved':
      print(`run ${runId} moved to another executor, which drives it now; this process let go of it`);
      break;
  }
}

export function requireUnfinished(run: RunRecord, action: string): void {
  if (run.status === 'completed' || run.status === 'rolled_back') {
    throw new RunFailedError(`run ${run.id} is already ${run.status.replace('_', ' ')}; nothing to ${action}`, run.id);
  }
}
