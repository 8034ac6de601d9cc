import type { DriveOutcome } from '../executors/executor.ts';
import type { RunRecord } from '../state/types.ts';
import { RunFailedError } from '../errors.ts';
import { driveHere, outcomeMessage, type DriveRequest } from '../operator/index.ts';
import type { CliContext } from './context.ts';
import { print } from './output.ts';
import { SETTLED, watchRun } from './watch-loop.ts';
import { sleep } from '../util/sleep.ts';

/**
 * Drives a run from this terminal with a live progress display. Ctrl-C stops
 * it at the next batch boundary, checkpointed; `bellows resume` continues.
 */
export async function driveWithProgress(ctx: CliContext, run: RunRecord, options: DriveRequest & { progress: boolean }): Promise<DriveOutcome> {
  const interrupt = new AbortController();
  const onSignal = () => interrupt.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const stopView = new AbortController();
  const view = options.progress ? watchRun(ctx, run.id, { stop: stopView.signal, drivenHere: true }).catch(() => null) : null;
  let outcome: DriveOutcome;
  try {
    outcome = await driveHere(ctx, run, options, interrupt.signal);
  } finally {
    stopView.abort();
    await view;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (outcome === 'stopped') {
    // Interrupted (Ctrl-C, SIGTERM): the run is not where this command promised to
    // take it, so a script running `bellows start … && deploy` must not go on.
    throw new RunFailedError(outcomeMessage(run.id, outcome), run.id);
  }
  print(outcomeMessage(run.id, outcome));
  return outcome;
}

/**
 * Follows a run its workers drive until it ends or waits at the gate (`start
 * --wait`): the exit status says how it ended, as if it had run here.
 */
export async function followToEnd(ctx: CliContext, runId: string, progress: boolean): Promise<void> {
  const final = progress ? await watchRun(ctx, runId, {}) : await settled(ctx, runId);
  if (final.status === 'failed') throw new RunFailedError(`run ${runId} failed: ${final.error}; fix the cause, then bellows resume ${runId} (or bellows rollback ${runId})`, runId);
  print(outcomeMessage(runId, final.status === 'completed' ? 'completed' : final.status === 'rolled_back' ? 'rolled_back' : 'awaiting_approval'));
}

async function settled(ctx: CliContext, runId: string): Promise<{ status: string; error: string | null }> {
  for (;;) {
    const run = await ctx.store.getRun(runId);
    if (SETTLED.includes(run.status)) return run;
    await sleep(500);
  }
}
