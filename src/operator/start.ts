import { openRun } from '../engine/start.ts';
import { EnvironmentError } from '../errors.ts';
import type { Playbook, Settings } from '../playbook/schema.ts';
import type { RunRecord } from '../state/types.ts';
import { actingStore, type OperatorContext } from './context.ts';
import { requireExecutorReady, rollBackHere } from './drive.ts';
import type { ActionResult } from './outcome.ts';

export interface StartOptions {
  playbook: Playbook;
  /** Unset: the unfinished run's own executor, or local for a new run. */
  executor?: string;
  /** Settings that override the playbook's for this run (on a run it attaches to, a live tune). */
  overrides?: Partial<Settings>;
  stopAtGate: boolean;
  /** The playbook file's directory: files it names (a seed's rows) are read from there. */
  directory?: string;
}

/**
 * Starts a playbook, or attaches to its unfinished run. The run is always
 * driven from the caller next: the local executor drives it there, a remote
 * one takes it (its drive submits and returns).
 */
export async function startRun(ctx: OperatorContext, options: StartOptions): Promise<ActionResult & { attached: boolean; driveHere: NonNullable<ActionResult['driveHere']> }> {
  const { run, attached } = await openRun(ctx.pool, actingStore(ctx), {
    playbook: options.playbook,
    executor: options.executor,
    overrides: options.overrides,
    ready: (executor) => requireExecutorReady(ctx, executor),
    directory: options.directory,
  });
  const message = attached ? `attached to unfinished run ${run.id} of ${run.playbookName} (phase ${run.phase})` : `run ${run.id} started: ${run.playbookName}`;
  return { message, run, attached, driveHere: { stopAtGate: options.stopAtGate } };
}

/**
 * The executor was ready a moment ago and is not now: a run it never took must
 * not hold its tables. Rolls the new run back here and returns the error to throw.
 */
export async function abandonUntaken(ctx: OperatorContext, run: RunRecord, err: EnvironmentError): Promise<EnvironmentError> {
  await rollBackHere(ctx, run);
  return new EnvironmentError(`run ${run.id} was not started (${err.message}); it is rolled back and its tables are free`);
}
