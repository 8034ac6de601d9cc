import { actingStore, type OperatorContext } from './context.ts';
import { wakeExecutor, whoDrives } from './intent.ts';
import { moveRun } from './move.ts';
import type { ActionResult } from './outcome.ts';
import { findUnfinished } from './unfinished.ts';

export interface ResumeOptions {
  /** Move the run to this executor first, and continue it there. */
  executor?: string;
  /** Verify re-applies `up` to wrong rows instead of only reporting them. */
  repair?: boolean;
  /** When the caller drives the run: return at the gate rather than wait there for approval. */
  stopAtGate: boolean;
}

/**
 * Lifts a pause, or continues a run whose process stopped, from its last
 * checkpoint: a live driver continues within one batch, a remote executor is
 * woken, and a local run nobody drives is driven by the caller.
 */
export async function resumeRun(ctx: OperatorContext, ref: string, options: ResumeOptions): Promise<ActionResult> {
  let run = await findUnfinished(ctx, ref, 'resume');
  const said: string[] = [];
  if (options.executor && options.executor !== run.executor) {
    const from = run.executor;
    run = await moveRun(ctx, run, options.executor);
    said.push(`run ${run.id} moved from executor ${from} to ${run.executor}`);
  }
  const store = actingStore(ctx);
  if (run.desired.paused) run = await store.setDesired(run.id, { paused: false }, 'resume');
  if (options.repair) run = await store.setDesired(run.id, { tuning: { repair: true } }, 'tune');
  const result = (message: string, driveHere?: ActionResult['driveHere']): ActionResult => ({ message: [...said, message].join('\n'), run, driveHere });
  switch (await whoDrives(ctx, run)) {
    case 'here':
      return result(`resuming run ${run.id} from its last checkpoint (phase ${run.phase})`, { stopAtGate: options.stopAtGate });
    case 'its process':
      return result(`run ${run.id} resumed; its driving process continues within one batch`);
    case 'its executor':
      await wakeExecutor(ctx, run, 'resume');
      return result(`run ${run.id} resumed on ${run.executor}`);
  }
}
