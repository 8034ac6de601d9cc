import { WaitingError, type Job } from 'bullmq';
import type pg from 'pg';
import type { Logger } from 'pino';
import { createSteps } from '../../engine/steps.ts';
import type { StateStore } from '../../state/store.ts';
import type { Wakeup } from '../../util/wakeup.ts';
import { DriverBeats } from '../../state/driver-beat.ts';
import { walkerId } from '../../backfill/walker-id.ts';
import { driveLoop } from '../drive-loop.ts';
import { lockRun } from '../run-lock.ts';
import { BULLMQ, type DriverJob, type RunQueues } from './queues.ts';
import { bullmqRangeRound } from './range-round.ts';

export interface JobDeps {
  db: pg.Pool;
  store: StateStore;
  log: Logger;
  queues: RunQueues;
  /** Aborts when the worker shuts down: jobs stop at a batch boundary and go back to the queue. */
  shutdown: AbortSignal;
  /** Rung when any range job of this database ends, so its driver looks at once. */
  rangeEnded: Wakeup;
}

/**
 * A driver job drives one run with the phase decision, as the local executor
 * does, except that its ranges run as range jobs on the whole fleet. It holds
 * the run's lock in the database while it drives, so a duplicate job (a stalled
 * one redelivered, one re-enqueued after Redis lost its queue) finds the run
 * driven and ends at once. A failed step fails the job; the run is `failed` in
 * the store with its error until `bellows resume` enqueues it again.
 */
export function driverProcessor(deps: JobDeps, beats: DriverBeats) {
  const { db, store, log } = deps;
  return async (job: Job<DriverJob>, token?: string): Promise<string> => {
    const { runId } = job.data;
    const lock = await lockRun(db, runId);
    if (!lock) return 'driven by another job';
    const signal = AbortSignal.any([lock.lost, deps.shutdown]);
    const letGo = await beats.hold(runId);
    try {
      const steps = createSteps({ db, store, log, signal });
      const walkRanges = bullmqRangeRound({ store, steps, queues: deps.queues, signal, rangeEnded: deps.rangeEnded });
      const outcome = await driveLoop({ store, steps, log, self: BULLMQ, signal, stopAtGate: false, walkRanges }, runId);
      if (outcome !== 'stopped') return outcome;
      // Shutting down, or the lock's session died: the job goes back to the queue for the next driver.
      await job.moveToWait(token);
      throw new WaitingError();
    } finally {
      await letGo();
      await lock.release();
    }
  };
}

export function driverBeats(store: StateStore, log: Logger): DriverBeats {
  return new DriverBeats(store, `bullmq worker ${walkerId()}`, { releaseWhenIdle: true, log });
}
