import { DelayedError, UnrecoverableError, WaitingError, type Job } from 'bullmq';
import type pg from 'pg';
import { tryAdvisoryLock, type HeldLock } from '../../db/advisory.ts';
import { redactText } from '../../db/redact.ts';
import { isBellowsError } from '../../errors.ts';
import { createSteps } from '../../engine/steps.ts';
import { FINISHED_STATUSES } from '../../state/types.ts';
import type { JobDeps } from './driver-job.ts';
import { BULLMQ, RANGE_ATTEMPTS, type RangeJob } from './queues.ts';

/** How often a running range job re-reads the operator's parallelism; also its wait between tries for a slot. */
const RECHECK_MS = 1_000;

/**
 * A range job walks one range from its checkpoint, on any worker. At most
 * `maxPerDatabase` range jobs run on one target database at once, fleet-wide:
 * each holds one of that many advisory locks in the database while it walks,
 * and a job that finds them all taken waits in the queue (delayed) rather than
 * holding a worker's slot. It ends at the range's end, at a pause or abort
 * (at the batch boundary), or hands the range back when the operator lowers
 * the parallelism it was scheduled under; the driver then decides what follows.
 */
export function rangeProcessor(deps: JobDeps & { maxPerDatabase: number }) {
  const { db, store, log } = deps;
  return async (job: Job<RangeJob>, token?: string): Promise<string> => {
    const { runId, ref, parallelism } = job.data;
    const run = await store.getRun(runId);
    if (FINISHED_STATUSES.includes(run.status) || run.status === 'failed' || run.executor !== BULLMQ || run.desired.paused || run.desired.abort) {
      return 'not started: the run is not running';
    }
    const slot = await takeSlot(db, deps.maxPerDatabase);
    if (!slot) {
      await job.moveToDelayed(Date.now() + RECHECK_MS, token);
      throw new DelayedError();
    }
    const signal = AbortSignal.any([slot.lost, deps.shutdown]);
    let handBack = false;
    const recheck = setInterval(() => {
      store
        .getRun(runId)
        .then((now) => {
          const wanted = now.desired.tuning?.parallelism;
          // Fewer walkers wanted, or the run moved to another executor: give the range back at the batch boundary.
          if ((wanted !== undefined && wanted < parallelism) || now.executor !== BULLMQ) handBack = true;
        })
        .catch(() => {});
    }, RECHECK_MS);
    try {
      const steps = createSteps({ db, store, log, signal });
      const outcome = await steps.walkRange(runId, ref, () => handBack);
      if (outcome !== 'stopped') return outcome;
      // The worker is shutting down (or lost its slot's session): the range goes back to the queue, checkpointed.
      await job.moveToWait(token);
      throw new WaitingError();
    } catch (err) {
      if (err instanceof WaitingError) throw err;
      const message = redactText(err instanceof Error ? err.message : String(err));
      const last = isBellowsError(err) || job.attemptsMade + 1 >= RANGE_ATTEMPTS;
      log.warn({ run: runId, range: job.id, attempt: job.attemptsMade + 1, err: message }, last ? 'range failed; the run stops for the operator' : 'range attempt failed; retrying from its checkpoint');
      if (!last) throw err;
      // The run stops for the operator; its driver sees `failed` and ends, and `bellows resume` starts it again.
      await createSteps({ db, store, log }).markStatus(runId, 'failed', `${ref.task} ${ref.table} range ${ref.rangeNo}: ${message}`);
      throw new UnrecoverableError(message);
    } finally {
      clearInterval(recheck);
      await slot.release();
    }
  };
}

async function takeSlot(db: pg.Pool, slots: number): Promise<HeldLock | null> {
  for (let i = 0; i < slots; i++) {
    const lock = await tryAdvisoryLock(db, `bullmq-range-slot:${i}`);
    if (lock) return lock;
  }
  return null;
}
