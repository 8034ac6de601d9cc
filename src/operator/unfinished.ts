import { ConflictError } from '../errors.ts';
import type { RunRecord } from '../state/types.ts';
import type { OperatorContext } from './context.ts';

/** A finished run has nothing left to steer: every action but status, events and plan refuses it. */
export function requireUnfinished(run: RunRecord, action: string): void {
  if (run.status === 'completed' || run.status === 'rolled_back') {
    throw new ConflictError(`run ${run.id} is already ${run.status.replace('_', ' ')}; nothing to ${action}`);
  }
}

/** The run an action names (an id, or a playbook's name for its latest run), refused if it is finished. */
export async function findUnfinished(ctx: OperatorContext, ref: string, action: string): Promise<RunRecord> {
  const run = await ctx.store.findRun(ref);
  requireUnfinished(run, action);
  return run;
}
