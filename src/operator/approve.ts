import { ConflictError } from '../errors.ts';
import type { OperatorContext } from './context.ts';
import { sendIntent, whoDrives } from './intent.ts';
import type { ActionResult } from './outcome.ts';
import { findUnfinished } from './unfinished.ts';

/**
 * Lets a verified run contract. Refused before the gate: approving early would
 * let contract follow a verify nobody has seen pass. A local run nobody drives
 * (it stopped at the gate) is then contracted by the caller.
 */
export async function approveRun(ctx: OperatorContext, ref: string): Promise<ActionResult> {
  const run = await findUnfinished(ctx, ref, 'approve');
  if (run.phase !== 'gate') {
    throw new ConflictError(`run ${run.id} is in phase ${run.phase}; approve is accepted once verify has passed and the run waits at the gate`);
  }
  const approved = await sendIntent(ctx, run, 'approve', { approved: true });
  if ((await whoDrives(ctx, run)) === 'here') {
    return { message: `run ${run.id} approved; nothing drives it now, so it contracts from here`, run: approved, driveHere: { stopAtGate: true } };
  }
  return { message: `run ${run.id} approved; its driver contracts it now`, run: approved };
}
