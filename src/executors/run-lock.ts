import type pg from 'pg';
import { isAdvisoryLockHeld, tryAdvisoryLock, type HeldLock } from '../db/advisory.ts';
import type { DriverProbe } from '../state/liveness.ts';

/**
 * The advisory lock a driving process holds on its run, in the run's own
 * database (the local executor's process, a BullMQ driver job): one driver per
 * run whatever the queue says, and it goes with a dead process's session.
 */
function runLockName(runId: string): string {
  return `run:${runId}`;
}

export function lockRun(db: pg.Pool, runId: string): Promise<HeldLock | null> {
  return tryAdvisoryLock(db, runLockName(runId));
}

/** 'driven' while a process holds the run's lock, 'gone' when none does; 'unknown' if the database cannot say. */
export async function probeRunLock(db: pg.Pool, runId: string): Promise<DriverProbe> {
  const held = await isAdvisoryLockHeld(db, runLockName(runId)).catch(() => null);
  return held === null ? 'unknown' : held ? 'driven' : 'gone';
}
