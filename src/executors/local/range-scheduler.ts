import type { WalkOutcome } from '../../backfill/walker.ts';
import type { RangeRef } from '../../engine/steps.ts';
import { rangeStepId } from '../../engine/steps.ts';
import { sleep } from '../../util/sleep.ts';

export interface SchedulerHooks {
  /** The parallelism the operator wants now (re-read while ranges run). */
  parallelism(): Promise<number>;
  /** Called when more workers are wanted than there are ranges: returns ranges split off. */
  rebalance(): Promise<RangeRef[]>;
  walk(ref: RangeRef, shouldYield: () => boolean): Promise<WalkOutcome>;
}

const RECHECK_MS = 500;

/**
 * Runs ranges with a parallelism that may change while they run. Lowering it
 * asks the surplus walkers to give their slot back at their next batch (their
 * range goes back to the queue, checkpointed); raising it starts queued ranges,
 * or splits running ones when none are queued.
 */
export async function scheduleRanges(refs: RangeRef[], hooks: SchedulerHooks): Promise<WalkOutcome[]> {
  const queue = [...refs];
  const running = new Map<string, Promise<void>>();
  const outcomes: WalkOutcome[] = [];
  let limit = await hooks.parallelism();
  let surplus = 0;
  // Walkers that took a yield token but have not returned yet: still in `running`, already leaving.
  let leaving = 0;
  let failure: unknown = null;
  let stopping = false;

  const shouldYield = () => {
    if (surplus <= 0) return false;
    surplus--;
    leaving++;
    return true;
  };

  const start = (ref: RangeRef) => {
    const id = rangeStepId(ref);
    running.set(
      id,
      hooks
        .walk(ref, shouldYield)
        .then((outcome) => {
          if (outcome === 'yielded') {
            leaving--;
            queue.push(ref);
          } else outcomes.push(outcome);
          if (outcome === 'paused' || outcome === 'aborted' || outcome === 'stopped') stopping = true;
        })
        .catch((err) => {
          failure ??= err;
          stopping = true;
        })
        .finally(() => running.delete(id)),
    );
  };

  for (;;) {
    while (!stopping && queue.length > 0 && running.size < limit) start(queue.shift()!);
    if (running.size === 0) break;
    await Promise.race([...running.values(), sleep(RECHECK_MS)]);
    if (stopping) continue;
    limit = await hooks.parallelism();
    surplus = Math.max(0, running.size - leaving - limit);
    if (queue.length === 0 && running.size < limit) queue.push(...(await hooks.rebalance()));
  }
  if (failure !== null) throw failure;
  return outcomes;
}
