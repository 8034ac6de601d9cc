import type { RunRecord } from './types.ts';

/** A driver beats every BEAT_MS; one not seen for DRIVER_TIMEOUT_MS is taken for gone (several missed beats, not one slow query). */
export const BEAT_MS = 2_000;
export const DRIVER_TIMEOUT_MS = 15_000;

/**
 * What a run's executor can tell about its driver: 'driven' for sure (a local
 * driver holds the run's lock), 'gone' for sure (no lock; no workflow on the
 * server), or 'unknown' (a workflow exists, or the executor cannot be asked):
 * then the heartbeat in the state store decides.
 */
export type DriverProbe = 'driven' | 'gone' | 'unknown';

export interface Liveness {
  driven: boolean;
  /** The driver, or the last one, as it named itself. */
  by: string | null;
  /** When the run was last seen driven; null while it is. */
  since: Date | null;
}

/** Runs in these states should be moving; paused or waiting runs wait for an operator, not a driver. */
export function expectsDriver(run: Pick<RunRecord, 'status'>): boolean {
  return run.status === 'running' || run.status === 'rolling_back';
}

export function liveness(run: Pick<RunRecord, 'driver' | 'driverSeenAt' | 'driverAgeMs' | 'createdAt'>, probe: DriverProbe): Liveness {
  const beating = run.driver !== null && run.driverAgeMs !== null && run.driverAgeMs < DRIVER_TIMEOUT_MS;
  const driven = probe === 'driven' || (probe === 'unknown' && beating);
  return { driven, by: run.driver, since: driven ? null : (run.driverSeenAt ?? run.createdAt) };
}

/** The one sentence every view uses for a run nobody drives. */
export function stalledMessage(runId: string, since: Date): string {
  return `stalled: nothing drives this run (since ${since.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}); bellows resume ${runId}`;
}
