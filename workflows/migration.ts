import {
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities, RangeOutcome, RunSnapshot } from '../src/executors/temporal/activities.ts';
import type { RangeRef } from '../src/engine/steps.ts';
import type { RunStatus, Tuning } from '../src/state/types.ts';
import { afterFailure, decide, type Decision, type StepName } from '../src/engine/decide.ts';
import {
  abortSignal,
  approveUpdate,
  pauseSignal,
  resumeSignal,
  statusQuery,
  tuneSignal,
  type MigrationInput,
  type MigrationOutcome,
  type MigrationStatus,
} from './definitions.ts';
import { pooled } from './pooled.ts';

const DEFAULT_HEARTBEAT_TIMEOUT_MS = 30_000;
const DEFAULT_SLICE_MS = 60 * 60_000;
const DEFAULT_HISTORY_LIMIT = 5_000;
/** While it waits on an operator, the workflow re-reads the store this often (doubling up to the cap): the store is the truth. */
const RECHECK_FIRST_MS = 2_000;
const RECHECK_MAX_MS = 5 * 60_000;

/**
 * Drives one run through its phases, in the order the local executor does:
 * expand, dual-write, backfill (ranges in parallel), verify, the gate, contract.
 *
 * Failure policy: a failed expand or dual-write is rolled back at once (DESIGN: nothing
 * half-applied stays behind). A failure in any later step leaves the run
 * `failed` and the workflow waiting: days of backfill are not thrown away for
 * a database that was down for an hour. The operator then resumes (the step is
 * retried from its checkpoint) or rolls back (abort).
 *
 * Every wait (pause, gate, failure) is a `condition` with a timeout and no
 * activity in flight, so a waiting run holds no worker slot; when the timeout
 * fires the main loop re-reads the store and checks the history bound, which is
 * where `continueAsNew` happens.
 */
export async function migrationRun(input: MigrationInput): Promise<MigrationOutcome> {
  const { runId } = input;
  const sliceMs = input.sliceMs ?? DEFAULT_SLICE_MS;
  const historyLimit = input.historyLimit ?? DEFAULT_HISTORY_LIMIT;

  const steps = proxyActivities<Activities>({
    startToCloseTimeout: '1 hour',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
  });
  const ranges = proxyActivities<Activities>({
    // A slice ends well before this; it only bounds an attempt whose heartbeats keep coming but never finishes.
    startToCloseTimeout: sliceMs + 30 * 60_000,
    heartbeatTimeout: input.heartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS,
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 20 },
  });

  const carried = input.carried;
  const state: MigrationStatus = {
    runId,
    phase: 'unknown',
    step: 'starting',
    paused: false,
    aborting: carried?.aborting ?? false,
    approved: carried?.approved ?? false,
    halted: carried?.halted ?? null,
    rangesInFlight: [],
    tuning: {},
    generation: carried?.generation ?? 0,
  };
  let parallelism = 1;
  /** Bumped by every operator signal, so a store snapshot read before the signal cannot overwrite it. */
  let intents = 0;
  let idleWaits = 0;

  setHandler(pauseSignal, () => {
    intents++;
    state.paused = true;
  });
  setHandler(resumeSignal, () => {
    intents++;
    state.paused = false;
    state.halted = null;
  });
  setHandler(tuneSignal, (tuning: Tuning) => {
    intents++;
    state.tuning = { ...state.tuning, ...tuning };
    if (tuning.parallelism) parallelism = tuning.parallelism;
  });
  setHandler(abortSignal, () => {
    intents++;
    state.aborting = true;
    state.paused = false;
  });
  setHandler(
    approveUpdate,
    () => {
      intents++;
      state.approved = true;
      return { runId, approved: true as const };
    },
    {
      validator: () => {
        if (state.aborting) throw new Error(`run ${runId} is being rolled back; there is nothing to approve`);
        if (state.phase !== 'gate') {
          throw new Error(`run ${runId} is in phase ${state.phase}; approve is accepted once verify has passed and the run waits at the gate`);
        }
      },
    },
  );
  setHandler(statusQuery, () => ({ ...state, rangesInFlight: [...state.rangesInFlight] }));

  async function inspect(): Promise<RunSnapshot> {
    const before = intents;
    state.step = 'inspect';
    const snap = await steps.inspect(runId);
    state.phase = snap.phase;
    parallelism = snap.parallelism;
    if (intents === before) {
      state.paused = Boolean(snap.desired.paused);
      state.approved = state.approved || Boolean(snap.desired.approved);
    }
    if (snap.desired.abort) state.aborting = true;
    return snap;
  }

  /** Waits for `ready` or the recheck timeout; either way the caller goes back to the store. */
  async function waitFor(what: string, ready: () => boolean): Promise<void> {
    state.step = `waiting for ${what}`;
    const ms = Math.min(RECHECK_FIRST_MS * 2 ** idleWaits, RECHECK_MAX_MS);
    if (await condition(ready, ms)) idleWaits = 0;
    else idleWaits++;
  }

  async function call<T>(name: string, work: () => Promise<T>): Promise<T> {
    state.step = name;
    return work();
  }

  /** One round over the task's unfinished ranges; 'again' means the main loop should look at the store and decide. */
  async function runRanges(task: 'backfill' | 'verify'): Promise<'done' | 'again'> {
    const refs: RangeRef[] = await call(`prepare ${task}`, () => (task === 'backfill' ? steps.prepareBackfill(runId) : steps.prepareVerify(runId)));
    if (refs.length === 0) return 'done';
    // The round runs with the parallelism it starts with; a tune to another value makes the ranges yield,
    // and the next round starts with the new value (splitting ranges when it asks for more than there are).
    const limit = parallelism;
    if (refs.length < limit) refs.push(...(await call('rebalance', () => steps.rebalance(runId, task))));
    state.step = `${task} ranges`;
    const outcomes = await pooled(refs, () => limit, async (ref): Promise<RangeOutcome> => {
      const id = `${ref.task}:${ref.table}:${ref.rangeNo}`;
      state.rangesInFlight.push(id);
      try {
        return await ranges.walkRange(runId, ref, { sliceMs, parallelism: limit });
      } finally {
        state.rangesInFlight.splice(state.rangesInFlight.indexOf(id), 1);
      }
    });
    if (outcomes.includes('aborted')) state.aborting = true;
    return 'again';
  }

  /** Runs the named steps as activities, in order. */
  async function runSteps(names: StepName[]): Promise<void> {
    for (const name of names) {
      if (name === 'rollback') state.aborting = true;
      await call(name, async () => {
        await steps[name](runId);
      });
      // finishVerify leaves the run at the gate; say so before the next store read, so an approve
      // that arrives in between is not refused.
      if (name === 'finishVerify') state.phase = 'gate';
    }
  }

  /** Carries out one phase decision (engine/decide.ts, the one every executor follows); `status` is the run's as last seen or written. */
  async function carryOut(decision: Decision, status: RunStatus): Promise<void> {
    switch (decision.next) {
      case 'finish':
        return;
      case 'steps':
        await runSteps(decision.steps);
        return;
      case 'ranges':
        if (status !== decision.status) await call('markStatus', () => steps.markStatus(runId, decision.status));
        if ((await runRanges(decision.task)) === 'done') await runSteps(decision.then);
        return;
      case 'wait':
        if (status !== decision.status) await call('markStatus', () => steps.markStatus(runId, decision.status));
        if (decision.until === 'approval') {
          await waitFor('approval', () => state.approved || state.aborting);
          return;
        }
        await waitFor('resume', () => !state.paused || state.aborting);
        if (!state.paused && !state.aborting) await call('markStatus', () => steps.markStatus(runId, 'running'));
        return;
    }
  }

  let first = carried === undefined;
  for (;;) {
    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength > historyLimit) {
      state.step = 'continuing as new';
      await condition(allHandlersFinished);
      return continueAsNew<typeof migrationRun>({
        ...input,
        carried: { aborting: state.aborting, approved: state.approved, halted: state.halted, generation: state.generation + 1 },
      });
    }

    const snap = await inspect();
    // The workflow's own view of intent: a signal may be newer than the store it just read.
    const decision = decide(
      {
        phase: snap.phase,
        status: snap.status,
        desired: { paused: state.paused, approved: state.approved, abort: state.aborting },
        autoContract: snap.autoContract,
        // Histories recorded before snapshots named the executor have none: those runs were never moved.
        executor: snap.executor || 'temporal',
      },
      'temporal',
    );
    if (decision.next === 'finish') return decision.outcome;
    let status = snap.status;
    if (first && status === 'failed' && !state.halted) {
      // Starting (or restarting) a failed run is the operator's resume, as it is for the local executor.
      await call('markStatus', () => steps.markStatus(runId, 'running'));
      status = 'running';
    }
    first = false;

    if (state.halted) {
      // A failed rollback is only retried on resume; any other failure also gives way to an abort.
      const rollbackFailed = state.halted.startsWith('rollback:');
      const released = () => state.halted === null || (state.aborting && !rollbackFailed);
      if (!released()) {
        await waitFor('operator (resume or rollback)', released);
        continue;
      }
      state.halted = null;
      if (!state.aborting) {
        await call('markStatus', () => steps.markStatus(runId, 'running'));
        status = 'running';
      }
    }

    try {
      await carryOut(decision, status);
    } catch (err) {
      const message = failureMessage(err);
      log.warn('step failed', { runId, step: state.step, error: message });
      await call('markStatus', () => steps.markStatus(runId, 'failed', `${state.step}: ${message}`));
      if (afterFailure(snap.phase) === 'rollback' && !state.aborting) {
        state.aborting = true;
      } else {
        state.halted = `${state.step}: ${message}`;
      }
    }
  }
}

/** The innermost cause: an activity failure wraps the application failure that says what went wrong. */
function failureMessage(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && (e as { cause?: unknown }).cause instanceof Error) e = (e as { cause?: unknown }).cause;
  return e instanceof Error ? e.message : String(e);
}
