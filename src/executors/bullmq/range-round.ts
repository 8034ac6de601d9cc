import { RunFailedError } from '../../errors.ts';
import type { Steps } from '../../engine/steps.ts';
import type { StateStore } from '../../state/store.ts';
import { effectiveSettings } from '../../state/types.ts';
import type { Wakeup } from '../../util/wakeup.ts';
import type { RangeRound } from '../drive-loop.ts';
import { BULLMQ, rangeJobId, type RunQueues } from './queues.ts';

/** The driver looks again this often, or sooner: as soon as any range job of its database ends. */
const POLL_MS = 500;

/**
 * The driver's side of a round of ranges: it keeps `parallelism` range jobs of
 * the run queued or running, on whichever workers take them, until no range is
 * left (then the phase decision runs the task's `then` steps) or the operator
 * pauses or aborts (then it waits for the jobs in flight to stop at their batch
 * and lets the decision say what comes next). Raising parallelism above the
 * ranges left splits the largest; lowering it makes the range jobs started
 * under the higher value hand their ranges back, and fewer are enqueued.
 * Every poll also re-enqueues what a Redis that came back empty lost.
 */
export function bullmqRangeRound(deps: { store: StateStore; steps: Steps; queues: RunQueues; signal: AbortSignal; rangeEnded: Wakeup }): RangeRound {
  const { store, steps, queues, signal, rangeEnded } = deps;
  return async (runId, task) => {
    const prepared = await steps.prepareTask(runId, task);
    if (prepared.length === 0) return 'done';
    for (;;) {
      if (signal.aborted) return 'stopped';
      const run = await store.getRun(runId);
      if (run.status === 'failed') throw new RunFailedError(run.error ?? `run ${runId} failed in a range`, runId);
      // Moved to another executor: let go at once. Its new driver fences out the range jobs still walking.
      if (run.executor !== BULLMQ) return 'again';
      const open = (await store.getRanges(runId, task)).filter((r) => !r.done).map((r) => ({ task, table: r.table, rangeNo: r.rangeNo }));
      const queued = await queues.rangesQueued(runId, open);
      const stopping = run.desired.paused || run.desired.abort;
      if (stopping || open.length === 0) {
        if (queued.size === 0) return 'again';
      } else {
        const parallelism = effectiveSettings(run).parallelism;
        if (open.length < parallelism) open.push(...(await steps.rebalance(runId, task)));
        const idle = open.filter((ref) => !queued.has(rangeJobId(runId, ref)));
        for (const ref of idle.slice(0, Math.max(0, parallelism - queued.size))) await queues.enqueueRange({ runId, ref, parallelism });
      }
      await rangeEnded.wait(POLL_MS, signal);
    }
  };
}
