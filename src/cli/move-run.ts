import { createExecutor } from '../executors/index.ts';
import type { RunRecord } from '../state/types.ts';
import { executorDeps, type CliContext } from './context.ts';
import { requireExecutorReady } from './drive.ts';
import { print } from './output.ts';

/**
 * Moves an unfinished run to another executor: the new one must be able to take
 * it, the old one lets go (a workflow is terminated; a live local process is
 * refused), and the store records the new owner. Walkers the old executor may
 * have left running stop at their next batch, when the new driver claims their
 * ranges (fenced ownership), so no batch is ever committed twice.
 */
export async function moveRun(ctx: CliContext, run: RunRecord, to: string): Promise<RunRecord> {
  await requireExecutorReady(ctx, to);
  const from = await createExecutor(run.executor, executorDeps(ctx));
  try {
    await from.release(run);
  } finally {
    await from.close();
  }
  const moved = await ctx.store.setExecutor(run.id, to);
  print(`run ${run.id} moved from executor ${run.executor} to ${to}`);
  return moved;
}
