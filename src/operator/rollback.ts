import { EnvironmentError, RunFailedError } from '../errors.ts';
import { printableLine } from '../util/printable.ts';
import { sleep } from '../util/sleep.ts';
import { actingStore, type OperatorContext } from './context.ts';
import { ROLLBACK_HERE } from './drive.ts';
import { isDriven, wakeExecutor } from './intent.ts';
import type { ActionResult } from './outcome.ts';
import { findUnfinished } from './unfinished.ts';

const WAIT_MS = 10 * 60_000;

/**
 * Aborts a run: its driver rolls it back, and the original schema and data come
 * back. A run nothing would see the request for (a stopped process, a workflow
 * without worker or server) is rolled back by the caller.
 */
export async function rollbackRun(ctx: OperatorContext, ref: string): Promise<ActionResult> {
  const run = await findUnfinished(ctx, ref, 'roll back');
  const aborted = await actingStore(ctx).setDesired(run.id, { abort: true, paused: false }, 'abort');
  if (!(await isDriven(ctx, run))) {
    return { message: `run ${run.id}: nothing drives it now; rolling it back from here`, run: aborted, driveHere: ROLLBACK_HERE };
  }
  try {
    await wakeExecutor(ctx, aborted, 'abort');
  } catch (err) {
    // The state store is the truth and every rollback step is idempotent: an executor that
    // cannot be reached must not keep a run (and its tables) from being rolled back.
    if (!(err instanceof EnvironmentError)) throw err;
    const message = printableLine(`run ${run.id}: its executor ${run.executor} cannot be reached (${err.message}); rolling it back from here`);
    return { message, run: aborted, driveHere: ROLLBACK_HERE };
  }
  return { message: `rollback requested for run ${run.id}; waiting for its driver to roll it back`, run: aborted };
}

/** Waits for a run's own driver to finish the rollback it was asked for; throws if the rollback fails or takes too long. */
export async function awaitRollback(ctx: OperatorContext, runId: string, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const current = await ctx.store.getRun(runId);
    if (current.status === 'rolled_back') return;
    // A run that failed before the request stays `failed` until its driver starts the rollback;
    // only a failure in the rollback itself is the rollback failing.
    if (current.status === 'failed' && current.phase === 'rollback') throw new RunFailedError(`run ${runId}: rollback failed: ${current.error}`, runId);
    await sleep(250);
  }
  throw new RunFailedError(`run ${runId}: rollback requested but not done after ${timeoutMs / 60000} minutes; see bellows status ${runId}`, runId);
}
