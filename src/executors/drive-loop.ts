import type { Logger } from 'pino';
import { RunFailedError, isBellowsError } from '../errors.ts';
import { redactText } from '../db/redact.ts';
import { afterFailure, decide, type StepName } from '../engine/decide.ts';
import type { Steps } from '../engine/steps.ts';
import type { StateStore } from '../state/store.ts';
import { effectiveSettings, type RunRecord } from '../state/types.ts';
import { sleep } from '../util/sleep.ts';
import type { DriveOutcome } from './executor.ts';

const POLL_MS = 250;

/** How an executor walks a task's ranges: one round, after which the loop decides again. */
export type RangeRound = (runId: string, task: 'backfill' | 'verify') => Promise<'done' | 'again' | 'stopped'>;

export interface DriveLoop {
  store: StateStore;
  steps: Steps;
  log: Logger;
  /** The executor's name: a run that belongs to another one is no longer this loop's to drive. */
  self: string;
  /** Stops the loop at the next step or batch boundary (an interrupt, a lost lock, a worker shutting down). */
  signal: AbortSignal;
  /** Return 'awaiting_approval' at the gate instead of waiting there. */
  stopAtGate: boolean;
  walkRanges: RangeRound;
}

export function runView(run: RunRecord) {
  return { phase: run.phase, status: run.status, desired: run.desired, autoContract: effectiveSettings(run).autoContract, executor: run.executor };
}

/**
 * Carries out the phase decision (engine/decide.ts) in this process until the
 * run ends, waits at the gate (with `stopAtGate`), is moved, or is stopped. The
 * local executor and the BullMQ driver job both drive with it; they differ only
 * in how they walk ranges. A failed step is met as `afterFailure` says: a failed
 * expand or dual-write is rolled back here and then; a later one leaves the run
 * failed for `bellows resume` and throws.
 */
export async function driveLoop(loop: DriveLoop, runId: string): Promise<DriveOutcome> {
  const { store, steps, signal } = loop;
  // Driving a failed run again is how the operator resumes it, whatever the executor.
  if ((await store.getRun(runId)).status === 'failed') await steps.markStatus(runId, 'running');
  try {
    for (;;) {
      if (signal.aborted) return 'stopped';
      const run = await store.getRun(runId);
      const decision = decide(runView(run), loop.self);
      switch (decision.next) {
        case 'finish':
          return decision.outcome;
        case 'steps':
          await runSteps(steps, runId, decision.steps);
          break;
        case 'ranges': {
          // The run was just read: write only a change (these statuses never carry an error).
          if (run.status !== decision.status) await steps.markStatus(runId, decision.status);
          const round = await loop.walkRanges(runId, decision.task);
          if (round === 'stopped') return 'stopped';
          if (round === 'done') await runSteps(steps, runId, decision.then);
          break;
        }
        case 'wait':
          if (decision.until === 'approval' && loop.stopAtGate) return 'awaiting_approval';
          if (run.status !== decision.status) await steps.markStatus(runId, decision.status);
          await sleep(POLL_MS, signal);
          break;
      }
    }
  } catch (err) {
    const message = redactText(err instanceof Error ? err.message : String(err));
    await steps.markStatus(runId, 'failed', message).catch(() => {});
    if (signal.aborted) return 'stopped';
    const phase = (await store.getRun(runId).catch(() => null))?.phase;
    if (phase && afterFailure(phase) === 'rollback') await rollBackFailedExpand(loop, runId, phase, message);
    if (isBellowsError(err)) throw err;
    throw new RunFailedError(`run ${runId} failed: ${message}; fix the cause, then bellows resume ${runId} (or bellows rollback ${runId})`, runId);
  }
}

async function runSteps(steps: Steps, runId: string, names: StepName[]): Promise<void> {
  for (const name of names) await steps[name](runId);
}

/** Nothing is backfilled before the backfill phase, so a failed expand leaves nothing worth keeping half-done. */
async function rollBackFailedExpand({ steps }: DriveLoop, runId: string, phase: string, reason: string): Promise<never> {
  try {
    await steps.rollback(runId);
  } catch (rollbackError) {
    const detail = redactText(rollbackError instanceof Error ? rollbackError.message : String(rollbackError));
    await steps.markStatus(runId, 'failed', `${reason}; rolling back the ${phase} failed too: ${detail}`).catch(() => {});
    throw new RunFailedError(`run ${runId}: ${phase} failed (${reason}), and so did its rollback (${detail}); bellows rollback ${runId} retries it`, runId);
  }
  throw new RunFailedError(`run ${runId}: ${phase} failed and was rolled back, nothing is left changed: ${reason}`, runId);
}
