import type { DriveOutcome } from '../executors/executor.ts';
import { createExecutor } from '../executors/index.ts';
import type { RunRecord } from '../state/types.ts';
import { actingStore, executorDeps, type OperatorContext } from './context.ts';

/**
 * How a run is to be carried on in the caller's process, when an action finds
 * that nothing else will: the CLI drives it in its terminal with a progress
 * display, the server in the background while it answers at once.
 */
export interface DriveRequest {
  /** Return at the contract gate rather than wait there for approval. */
  stopAtGate: boolean;
  /** Drive with this executor rather than the run's own (a rollback taken over from an unreachable one). */
  executor?: string;
}

/**
 * Every rollback step is idempotent and reads only the state store, so a
 * rollback can run here whatever the run's executor, even if that executor is
 * unreachable or still holds a copy of the run: the store says what the run
 * made, and the first to remove it wins.
 */
export const ROLLBACK_HERE: DriveRequest = { stopAtGate: true, executor: 'local' };

/** Drives a run in this process until it settles, waits at the gate (`stopAtGate`), or `signal` stops it at a checkpoint. */
export async function driveHere(ctx: OperatorContext, run: RunRecord, request: DriveRequest, signal?: AbortSignal): Promise<DriveOutcome> {
  const executor = await createExecutor(request.executor ?? run.executor, executorDeps(ctx, signal));
  try {
    return await executor.drive(run, { stopAtGate: request.stopAtGate });
  } finally {
    await executor.close();
  }
}

/** Rolls a run back in this process (ROLLBACK_HERE), asking for the abort first if nobody has. */
export async function rollBackHere(ctx: OperatorContext, run: RunRecord, signal?: AbortSignal): Promise<DriveOutcome> {
  const aborted = run.desired.abort ? run : await actingStore(ctx).setDesired(run.id, { abort: true, paused: false }, 'abort');
  return driveHere(ctx, aborted, ROLLBACK_HERE, signal);
}

/** Throws unless `name` can take a run now: asked before a run is created, so nothing is left behind when it cannot. */
export async function requireExecutorReady(ctx: OperatorContext, name: string): Promise<void> {
  const executor = await createExecutor(name, executorDeps(ctx));
  try {
    await executor.ready();
  } finally {
    await executor.close();
  }
}
