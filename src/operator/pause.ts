import type { OperatorContext } from './context.ts';
import { sendIntent } from './intent.ts';
import type { ActionResult } from './outcome.ts';
import { findUnfinished } from './unfinished.ts';

/** Asks a run to pause: its backfill or verify stops within one batch, whatever the executor. */
export async function pauseRun(ctx: OperatorContext, ref: string): Promise<ActionResult> {
  const run = await findUnfinished(ctx, ref, 'pause');
  const paused = await sendIntent(ctx, run, 'pause', { paused: true });
  return { message: `pause requested for run ${run.id}; it stops within one batch (bellows resume ${run.id} to continue)`, run: paused };
}
