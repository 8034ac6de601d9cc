import { redactText } from '../db/redact.ts';
import { checkTuning } from '../engine/tuning.ts';
import { InputError } from '../errors.ts';
import type { Tuning } from '../state/types.ts';
import type { OperatorContext } from './context.ts';
import { sendIntent } from './intent.ts';
import type { ActionResult } from './outcome.ts';
import { findUnfinished } from './unfinished.ts';

/** A tune that changes nothing is a mistake worth saying, before anything is read or written. */
export function requireSomeTuning(tuning: Tuning): void {
  if (Object.keys(tuning).length === 0) throw new InputError('tune: give at least one setting, e.g. --max-rows-per-sec 5000');
}

/**
 * Changes a run's settings live; takes effect within one batch. The change
 * passes the playbook schema's bounds and each throttle's preflight first
 * (engine/tuning.ts), so a tune never stores what a playbook could not say.
 */
export async function tuneRun(ctx: OperatorContext, ref: string, tuning: Tuning): Promise<ActionResult> {
  requireSomeTuning(tuning);
  const run = await findUnfinished(ctx, ref, 'tune');
  await checkTuning(ctx.pool, run, tuning);
  const tuned = await sendIntent(ctx, run, 'tune', { tuning });
  const changes = Object.entries(tuning).map(([k, v]) => `${k}=${v}`).join(', ');
  return { message: `run ${run.id} tuned: ${redactText(changes)}`, run: tuned };
}
