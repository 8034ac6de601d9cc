import { createExecutor } from '../executors/index.ts';
import type { Intent } from '../executors/executor.ts';
import { DriverProbes } from '../executors/driver-probes.ts';
import type { DesiredState, RunRecord } from '../state/types.ts';
import { liveness } from '../state/liveness.ts';
import { actingStore, executorDeps, type OperatorContext } from './context.ts';

/**
 * Operator intent, the same for every executor: written to the state store in
 * the actor's name (every step reads it between batches), then the executor is woken.
 */
export async function sendIntent(
  ctx: OperatorContext,
  run: RunRecord,
  intent: Intent,
  desired: DesiredState,
  detail: Record<string, unknown> = {},
): Promise<RunRecord> {
  const updated = await actingStore(ctx).setDesired(run.id, desired, intent, detail);
  await wakeExecutor(ctx, updated, intent);
  return updated;
}

/** Wakes the run's executor (a Temporal signal; nothing for the local one, which polls). */
export async function wakeExecutor(ctx: OperatorContext, run: RunRecord, intent: Intent): Promise<void> {
  const executor = await createExecutor(run.executor, executorDeps(ctx));
  try {
    await executor.notify(run, intent);
  } finally {
    await executor.close();
  }
}

/**
 * Who carries a steered run on: 'here' for a run whose executor drives in the
 * caller's own process (local) when no process drives it now (it was killed,
 * or stopped at the gate), so the caller that changed its intent drives it
 * itself; 'its process' when such a process is alive; 'its executor' for an
 * executor with drivers of its own (Temporal workers, BullMQ workers).
 */
export async function whoDrives(ctx: OperatorContext, run: RunRecord): Promise<'here' | 'its process' | 'its executor'> {
  const executor = await createExecutor(run.executor, executorDeps(ctx));
  try {
    if (!executor.drivesInProcess) return 'its executor';
    return (await executor.probe(run)) === 'gone' ? 'here' : 'its process';
  } finally {
    await executor.close();
  }
}

/** Whether anything drives the run now, whatever its executor: its executor's word, else its heartbeat. */
export async function isDriven(ctx: OperatorContext, run: RunRecord): Promise<boolean> {
  const probes = new DriverProbes(executorDeps(ctx));
  try {
    return liveness(run, await probes.probe(run)).driven;
  } finally {
    await probes.close();
  }
}
