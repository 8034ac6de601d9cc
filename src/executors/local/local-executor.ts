import type pg from 'pg';
import type { Logger } from 'pino';
import { isAdvisoryLockHeld, tryAdvisoryLock } from '../../db/advisory.ts';
import { ConflictError, RunFailedError, isBellowsError } from '../../errors.ts';
import type { StateStore } from '../../state/store.ts';
import { effectiveSettings, type RangeRecord, type RunRecord } from '../../state/types.ts';
import { createSteps, type RangeRef, type Steps } from '../../engine/steps.ts';
import { sleep } from '../../util/sleep.ts';
import { redactText } from '../../db/redact.ts';
import type { DriveOutcome, Executor } from '../executor.ts';
import { scheduleRanges } from './range-scheduler.ts';
import { DriverBeats } from '../../state/driver-beat.ts';
import type { DriverProbe } from '../../state/liveness.ts';
import { walkerId } from '../../backfill/walker-id.ts';

const POLL_MS = 250;

export function runLockName(runId: string): string {
  return `run:${runId}`;
}

/**
 * The default executor: drives a run in this process, needing nothing but
 * PostgreSQL. It holds the run's advisory lock while it drives, so a second
 * process cannot drive the same run; if this process dies, the lock goes with
 * its session and `bellows resume` carries on from the last checkpoint.
 */
export class LocalExecutor implements Executor {
  readonly name = 'local';

  constructor(
    private readonly deps: { db: pg.Pool; store: StateStore; log: Logger; signal?: AbortSignal; onBatch?: (r: RangeRecord) => void },
  ) {
  }

  async drive(start: RunRecord, options: { stopAtGate: boolean }): Promise<DriveOutcome> {
    const { store } = this.deps;
    const lock = await tryAdvisoryLock(this.deps.db, runLockName(start.id));
    if (!lock) {
      throw new ConflictError(`run ${start.id} is being driven by another process; steer it with pause, resume, approve or rollback`);
    }
    // The walkers stop at their next batch when the operator interrupts or the lock's session dies.
    const signal = AbortSignal.any([lock.lost, ...(this.deps.signal ? [this.deps.signal] : [])]);
    const steps = createSteps({ ...this.deps, signal });
    const letGo = await new DriverBeats(store, `local ${walkerId()}`, { releaseWhenIdle: true, log: this.deps.log }).hold(start.id);
    try {
      let run = await store.getRun(start.id);
      if (run.status === 'failed' || run.status === 'paused') await store.setStatus(run.id, 'running');
      for (;;) {
        run = await store.getRun(start.id);
        if (run.status === 'rolled_back') return 'rolled_back';
        if (run.phase === 'done') return 'completed';
        if (run.desired.abort || run.phase === 'rollback') {
          await steps.rollback(run.id);
          return 'rolled_back';
        }
        // Moved to another executor (bellows resume --executor): no longer this driver's to advance.
        if (run.executor !== this.name) return 'moved';
        const outcome = await this.advance({ steps, signal }, run, options);
        if (outcome === 'stopped' && lock.lost.aborted) throw lockLost(start.id);
        if (outcome) return outcome;
      }
    } catch (err) {
      const message = redactText(err instanceof Error ? err.message : String(err));
      await store.setStatus(start.id, 'failed', message).catch(() => {});
      if (lock.lost.aborted) throw lockLost(start.id);
      const phase = (await store.getRun(start.id).catch(() => null))?.phase;
      if (phase === 'expand' || phase === 'dual_write') await this.rollBackFailedExpand(steps, start.id, phase, message);
      if (isBellowsError(err)) throw err;
      throw new RunFailedError(`run ${start.id} failed: ${message}; fix the cause, then bellows resume ${start.id} (or bellows rollback ${start.id})`, start.id);
    } finally {
      await letGo();
      await lock.release();
    }
  }

  /**
   * A failed expand or dual-write is undone at once: its DDL is all additive and
   * nothing has been backfilled, so there is nothing to keep and no reason to
   * leave half a schema change behind for an operator.
   */
  private async rollBackFailedExpand(steps: Steps, runId: string, phase: string, reason: string): Promise<never> {
    try {
      await steps.rollback(runId);
    } catch (rollbackError) {
      const detail = redactText(rollbackError instanceof Error ? rollbackError.message : String(rollbackError));
      await this.deps.store.setStatus(runId, 'failed', `${reason}; rolling back the ${phase} failed too: ${detail}`).catch(() => {});
      throw new RunFailedError(`run ${runId}: ${phase} failed (${reason}), and so did its rollback (${detail}); bellows rollback ${runId} retries it`, runId);
    }
    throw new RunFailedError(`run ${runId}: ${phase} failed and was rolled back, nothing is left changed: ${reason}`, runId);
  }

  /** One phase forward; returns an outcome when driving should stop. */
  private async advance({ steps, signal }: Driving, run: RunRecord, options: { stopAtGate: boolean }): Promise<DriveOutcome | null> {
    switch (run.phase) {
      case 'expand':
        await steps.expand(run.id);
        await steps.dualWrite(run.id);
        return null;
      case 'dual_write':
        await steps.dualWrite(run.id);
        await steps.prepareBackfill(run.id);
        return null;
      case 'backfill': {
        const outcome = await this.runRanges({ steps, signal }, run.id, 'backfill', () => steps.prepareBackfill(run.id));
        if (outcome !== 'done') return outcome;
        await steps.finishBackfill(run.id);
        await steps.prepareVerify(run.id);
        return null;
      }
      case 'verify': {
        const outcome = await this.runRanges({ steps, signal }, run.id, 'verify', () => steps.prepareVerify(run.id));
        if (outcome !== 'done') return outcome;
        await steps.finishVerify(run.id);
        return null;
      }
      case 'gate': {
        if (run.desired.approved || effectiveSettings(run).autoContract) {
          await steps.contract(run.id);
          return null;
        }
        if (options.stopAtGate) return 'awaiting_approval';
        if (run.status !== 'awaiting_approval') await this.deps.store.setStatus(run.id, 'awaiting_approval');
        await sleep(POLL_MS, signal);
        return signal.aborted ? 'stopped' : null;
      }
      case 'contract':
        await steps.contract(run.id);
        return null;
      default:
        return null;
    }
  }

  /**
   * Runs a task's ranges, `parallelism` at a time (tunable while they run). A
   * paused range returns at its next batch boundary; once all have, this waits
   * (holding no connection) until the operator resumes, then carries on from
   * the checkpoints.
   */
  private async runRanges(
    { steps, signal }: Driving,
    runId: string,
    task: 'backfill' | 'verify',
    prepare: () => Promise<RangeRef[]>,
  ): Promise<'done' | 'stopped' | null> {
    const { store } = this.deps;
    const walk = task === 'backfill' ? steps.backfillRange : steps.verifyRange;
    for (;;) {
      const refs = await prepare();
      if (refs.length === 0) return 'done';
      const outcomes = await scheduleRanges(refs, {
        parallelism: async () => effectiveSettings(await store.getRun(runId)).parallelism,
        rebalance: () => steps.rebalance(runId, task),
        walk: (ref, shouldYield) => walk(runId, ref, shouldYield),
      });
      if (outcomes.includes('aborted')) return null; // the drive loop sees desired.abort and rolls back
      if (outcomes.includes('stopped')) return 'stopped';
      if (outcomes.includes('paused')) {
        const after = await this.waitWhilePaused(runId, signal);
        if (after === 'stopped') return 'stopped';
        if (after === 'abort') return null;
      }
    }
  }

  private async waitWhilePaused(runId: string, signal: AbortSignal): Promise<'resumed' | 'abort' | 'stopped'> {
    const { store } = this.deps;
    await store.setStatus(runId, 'paused');
    for (;;) {
      const desired = await store.readDesired(runId);
      if (desired.abort) return 'abort';
      if (!desired.paused) {
        await store.setStatus(runId, 'running');
        return 'resumed';
      }
      if (signal.aborted) return 'stopped';
      await sleep(POLL_MS, signal);
    }
  }

  /** The run's lock is held exactly while a process drives the run, and goes with a dead process's session. */
  async probe(run: RunRecord): Promise<DriverProbe> {
    const held = await isAdvisoryLockHeld(this.deps.db, runLockName(run.id)).catch(() => null);
    return held === null ? 'unknown' : held ? 'driven' : 'gone';
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

/** What one drive works with: the steps, and the signal that stops them (operator or lost lock). */
interface Driving {
  steps: Steps;
  signal: AbortSignal;
}

function lockLost(runId: string): ConflictError {
  return new ConflictError(
    `run ${runId}: this process lost the run's lock (its database session ended), so it stopped at a checkpoint rather than race another driver; continue with: bellows resume ${runId}`,
  );
}
