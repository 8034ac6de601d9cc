import { Context, ApplicationFailure } from '@temporalio/activity';
import type pg from 'pg';
import type { Logger } from 'pino';
import { isBellowsError } from '../../errors.ts';
import { redactText } from '../../db/redact.ts';
import { createSteps, rangeStepId, type RangeRef } from '../../engine/steps.ts';
import type { StateStore } from '../../state/store.ts';
import { DriverBeats } from '../../state/driver-beat.ts';
import { walkerId } from '../../backfill/walker-id.ts';
import { effectiveSettings, type DesiredState, type KeyValue, type Phase, type RangeRecord, type RunStatus } from '../../state/types.ts';

export interface ActivityDeps {
  db: pg.Pool;
  store: StateStore;
  log: Logger;
}

/** What the workflow needs from the state store to decide its next step: the store, not history, is the truth. */
export interface RunSnapshot {
  phase: Phase;
  status: RunStatus;
  desired: DesiredState;
  autoContract: boolean;
  parallelism: number;
  /** The executor the run belongs to; another one means the run was moved and this workflow must stop driving it. */
  executor: string;
}

/**
 * A range attempt finishes, stops for the operator, or yields its slot: after its
 * time slice, or when the operator changed the parallelism the round started with.
 */
export type RangeOutcome = 'done' | 'paused' | 'aborted' | 'yielded';

export interface RangeAttempt {
  sliceMs: number;
  /** The parallelism this round was scheduled with; a different one in the store ends the round. */
  parallelism: number;
}

/** The heartbeat payload: a copy of the checkpoint, so a retry can say where the last attempt got to. */
export interface RangeHeartbeat {
  lastKey: KeyValue | null;
  rowsDone: number;
  batches: number;
}

/** Keeps a silent but alive attempt (throttled, rate limited) from being declared lost; also how often tuning is re-read. */
const KEEPALIVE_MS = 1000;

/**
 * Bad input and refused steps (a verify mismatch, a contract refused) fail the
 * same way on every attempt, so they are non-retryable: the workflow stops at
 * once and waits for an operator. Everything else (a lost connection, a lock
 * timeout beyond its own retries) is retried by Temporal with backoff.
 */
async function classified<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    const message = redactText(err instanceof Error ? err.message : String(err));
    if (isBellowsError(err)) throw ApplicationFailure.nonRetryable(message, err.name);
    throw ApplicationFailure.retryable(message, err instanceof Error ? err.name : 'Error');
  }
}

/**
 * The engine's steps as Temporal activities. Dependencies are injected, so a
 * worker process and a test build them the same way, and every executor runs
 * exactly the same step code: nothing is written twice.
 */
export function createActivities(deps: ActivityDeps) {
  const { store, log } = deps;
  const steps = createSteps(deps);
  // While any activity of a run works here, the run's heartbeat says this worker drives it.
  const beats = new DriverBeats(store, `temporal worker ${walkerId()}`, { releaseWhenIdle: false, log });
  async function driving<T>(runId: string, work: () => Promise<T>): Promise<T> {
    const letGo = await beats.hold(runId);
    try {
      return await classified(work);
    } finally {
      await letGo();
    }
  }

  async function walk(runId: string, ref: RangeRef, { sliceMs, parallelism }: RangeAttempt): Promise<RangeOutcome> {
    const ctx = Context.current();
    const { attempt, heartbeatDetails } = ctx.info;
    const checkpoint = await store.getRange(runId, ref.task, ref.table, ref.rangeNo);
    let beat: RangeHeartbeat = { lastKey: checkpoint.lastKey, rowsDone: checkpoint.rowsDone, batches: checkpoint.batches };
    if (attempt > 1) {
      // The store's checkpoint is what the walker continues from; the heartbeat is recorded beside it so an
      // operator can see that the retry picked up where the lost attempt stopped.
      const last = (heartbeatDetails ?? null) as RangeHeartbeat | null;
      await store.appendEvent(runId, 'range_retry', {
        step: rangeStepId(ref),
        attempt,
        heartbeat: last,
        checkpoint: { lastKey: checkpoint.lastKey, rowsDone: checkpoint.rowsDone },
      });
      log.info({ step: rangeStepId(ref), attempt, heartbeat: last }, 'range attempt continues from its checkpoint');
    }
    let yieldNow = false;
    const slice = setTimeout(() => (yieldNow = true), sliceMs);
    ctx.heartbeat(beat);
    const keepalive = setInterval(() => {
      ctx.heartbeat(beat);
      store
        .readDesired(runId)
        .then((desired) => {
          const wanted = desired.tuning?.parallelism;
          if (wanted !== undefined && wanted !== parallelism) yieldNow = true;
        })
        .catch(() => {});
    }, KEEPALIVE_MS);
    try {
      const walking = createSteps({
        ...deps,
        signal: ctx.cancellationSignal,
        onBatch: (r: RangeRecord) => {
          beat = { lastKey: r.lastKey, rowsDone: r.rowsDone, batches: beat.batches + 1 };
          ctx.heartbeat(beat);
        },
      });
      const outcome = await driving(runId, () =>
        walking.walkRange(runId, ref, () => yieldNow),
      );
      if (outcome !== 'stopped') return outcome;
      // Cancelled (worker shutdown, lost heartbeat, workflow gone): fail this attempt so Temporal retries it
      // elsewhere, from the checkpoint the last batch committed.
      throw ctx.cancellationSignal.reason ?? new Error('range attempt cancelled');
    } finally {
      clearTimeout(slice);
      clearInterval(keepalive);
    }
  }

  return {
    async inspect(runId: string): Promise<RunSnapshot> {
      return driving(runId, async () => {
        const run = await store.getRun(runId);
        const settings = effectiveSettings(run);
        return { phase: run.phase, status: run.status, desired: run.desired, autoContract: settings.autoContract, parallelism: settings.parallelism, executor: run.executor };
      });
    },
    /** Only the driver writes status; the workflow is the driver of a Temporal run. */
    markStatus: (runId: string, status: 'running' | 'paused' | 'awaiting_approval' | 'failed', error: string | null = null) =>
      driving(runId, () => steps.markStatus(runId, status, error)),
    expand: (runId: string) => driving(runId, () => steps.expand(runId)),
    dualWrite: (runId: string) => driving(runId, () => steps.dualWrite(runId)),
    prepareBackfill: (runId: string) => driving(runId, () => steps.prepareBackfill(runId)),
    finishBackfill: (runId: string) => driving(runId, () => steps.finishBackfill(runId)),
    prepareVerify: (runId: string) => driving(runId, () => steps.prepareVerify(runId)),
    rebalance: (runId: string, task: RangeRef['task']) => driving(runId, () => steps.rebalance(runId, task)),
    finishVerify: (runId: string) => driving(runId, () => steps.finishVerify(runId)),
    contract: (runId: string) => driving(runId, () => steps.contract(runId)),
    rollback: (runId: string) => driving(runId, () => steps.rollback(runId)),
    walkRange: walk,
  };
}

export type Activities = ReturnType<typeof createActivities>;
