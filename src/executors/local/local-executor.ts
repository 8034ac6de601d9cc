import type pg from 'pg';
import type { Logger } from 'pino';
import { ConflictError } from '../../errors.ts';
import type { StateStore } from '../../state/store.ts';
import { effectiveSettings, type RangeRecord, type RunRecord } from '../../state/types.ts';
import { createSteps, type Steps } from '../../engine/steps.ts';
import type { DriveOutcome, Executor } from '../executor.ts';
import { scheduleRanges } from './range-scheduler.ts';
import { DriverBeats } from '../../state/driver-beat.ts';
import type { DriverProbe } from '../../state/liveness.ts';
import { walkerId } from '../../backfill/walker-id.ts';
import { driveLoop, type RangeRound } from '../drive-loop.ts';
import { lockRun, probeRunLock } from '../run-lock.ts';

/**
 * The default executor: drives a run in this process, needing nothing but
 * PostgreSQL. It holds the run's advisory lock while it drives, so a second
 * process cannot drive the same run; if this process dies, the lock goes with
 * its session and `bellows resume` carries on from the last checkpoint.
 */
export class LocalExecutor implements Executor {
  readonly name = 'local';
  readonly drivesInProcess = true;

  constructor(
    private readonly deps: { db: pg.Pool; store: StateStore; log: Logger; signal?: AbortSignal; onBatch?: (r: RangeRecord) => void },
  ) {
  }

  async drive(start: RunRecord, options: { stopAtGate: boolean }): Promise<DriveOutcome> {
    const { store, log } = this.deps;
    const lock = await lockRun(this.deps.db, start.id);
    if (!lock) {
      throw new ConflictError(`run ${start.id} is being driven by another process; steer it with pause, resume, approve or rollback`);
    }
    // The walkers stop at their next batch when the operator interrupts or the lock's session dies.
    const signal = AbortSignal.any([lock.lost, ...(this.deps.signal ? [this.deps.signal] : [])]);
    const steps = createSteps({ ...this.deps, signal });
    const letGo = await new DriverBeats(store, `local ${walkerId()}`, { releaseWhenIdle: true, log }).hold(start.id);
    try {
      const outcome = await driveLoop({ store, steps, log, self: this.name, signal, stopAtGate: options.stopAtGate, walkRanges: this.rangeRound(steps) }, start.id);
      if (outcome === 'stopped' && lock.lost.aborted) throw lockLost(start.id);
      return outcome;
    } catch (err) {
      if (lock.lost.aborted) throw lockLost(start.id);
      throw err;
    } finally {
      await letGo();
      await lock.release();
    }
  }

  /**
   * One round over a task's ranges in this process, `parallelism` at a time
   * (tunable while they run). A paused range returns at its next batch boundary;
   * the loop then waits, holding no connection, and starts a new round on resume.
   */
  private rangeRound(steps: Steps): RangeRound {
    const { store } = this.deps;
    return async (runId, task) => {
      const refs = await steps.prepareTask(runId, task);
      if (refs.length === 0) return 'done';
      const outcomes = await scheduleRanges(refs, {
        parallelism: async () => effectiveSettings(await store.getRun(runId)).parallelism,
        rebalance: () => steps.rebalance(runId, task),
        walk: (ref, shouldYield) => steps.walkRange(runId, ref, shouldYield),
      });
      return outcomes.includes('stopped') && !outcomes.includes('aborted') ? 'stopped' : 'again';
    };
  }

  /** The run's lock is held exactly while a process drives the run, and goes with a dead process's session. */
  probe(run: RunRecord): Promise<DriverProbe> {
    return probeRunLock(this.deps.db, run.id);
  }

  async release(run: RunRecord): Promise<void> {
    if ((await this.probe(run)) === 'driven') {
      throw new ConflictError(`run ${run.id} is being driven by a process (${run.driver ?? 'local'}); stop it (Ctrl-C) before moving the run to another executor`);
    }
  }

  async ready(): Promise<void> {
    // This process and its database are all it needs, and the command already reached the database.
  }

  async notify(): Promise<void> {
    // The driver polls the state store between batches; nothing to wake.
  }

  async close(): Promise<void> {}
}

function lockLost(runId: string): ConflictError {
  return new ConflictError(
    `run ${runId}: this process lost the run's lock (its database session ended), so it stopped at a checkpoint rather than race another driver; continue with: bellows resume ${runId}`,
  );
}
