import { createExecutor } from '../executors/index.ts';
import type { Intent } from '../executors/executor.ts';
import type { DesiredState, RunRecord } from '../state/types.ts';
import { executorDeps, type CliContext } from './context.ts';

/**
 * Operator intent, the same for every executor: written to the state store
 * (which every step reads between batches), then the executor is woken.
 */
export async function sendIntent(
  ctx: CliContext,
  run: RunRecord,
  intent: Intent,
  desired: DesiredState,
  detail: Record<string, unknown> = {},
): Promise<RunRecord> {
  const updated = await ctx.store.setDesired(run.id, desired, intent, detail);
  const executor = await createExecutor(run.executor, executorDeps(ctx));
  try {
    await executor.notify(updated, intent);
  } finally {
    await executor.close();
  }
  return updated;
}
