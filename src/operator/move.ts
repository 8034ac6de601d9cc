import { createExecutor } from '../executors/index.ts';
import type { RunRecord } from '../state/types.ts';
import { sleep } from '../util/sleep.ts';
import { actingStore, executorDeps, type OperatorContext } from './context.ts';
import { requireExecutorReady } from './drive.ts';

/** Up to 10 s for the old driver to let go. */
const LET_GO_POLLS = 40;

/**
 * Moves an unfinished run to another executor: the new one must be able to take
 * it, the old one lets go (a workflow is terminated; a live local process is
 * refused), and the store records the new owner. Walkers the old executor may
 * have left running stop at their next batch, when the new driver claims their
 * ranges (fenced ownership), so no batch is ever committed twice.
 */
export async function moveRun(ctx: OperatorContext, run: RunRecord, to: string): Promise<RunRecord> {
  await requireExecutorReady(ctx, to);
  const from = await createExecutor(run.executor, executorDeps(ctx));
  try {
    await from.release(run);
    const moved = await actingStore(ctx).setExecutor(run.id, to);
    // A driver of the old executor still at work (a BullMQ driver job) sees the move at its next
    // decision and lets go of the run; the new one must not find it still held.
    for (let i = 0; i < LET_GO_POLLS && (await from.probe(moved)) === 'driven'; i++) await sleep(250);
    return moved;
  } finally {
    await from.close();
  }
}
