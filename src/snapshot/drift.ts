import { InputError } from '../errors.ts';
import type { StateStore } from '../state/store.ts';
import { hasState, runsInFlight, snapshotOf, type InFlightRun } from '../state/snapshots.ts';
import { compareSnapshots, type Difference } from './compare.ts';
import { SNAPSHOT_FORMAT } from './format.ts';
import { liveSnapshot } from './live.ts';

export interface DriftReport {
  /** The last applied playbook, whose snapshot the live schema is compared with. */
  since: { playbook: string; runId: string; appliedAt: Date; snapshotTakenAt: Date };
  /** Runs that were between expand and contract when that snapshot was taken: their objects are in it. */
  inFlightAtSnapshot: InFlightRun[];
  /** From the snapshot (before) to the live schema (after). */
  differences: Difference[];
}

/**
 * The live schema against the snapshot its last applied playbook left. Bad
 * input (exit 2) when there is nothing to compare with: no state, no playbook
 * applied, or none whose snapshot was kept. Refused while a run is in flight:
 * its expand would read as drift.
 */
export async function measureDrift(store: StateStore): Promise<DriftReport> {
  if (!(await hasState(store))) throw new InputError('drift: no snapshot yet: bellows has not applied a playbook to this database');
  await store.migrate();
  const running = await runsInFlight(store);
  if (running.length) {
    const r = running[0];
    throw new InputError(`drift: run ${r.runId} (${r.playbookName}) is between expand and contract, so its changes would read as drift; measure drift once it completes or rolls back`);
  }
  const last = (await store.history('applied')).at(-1);
  if (!last) throw new InputError('drift: no snapshot yet: no playbook has been applied to this database');
  const stored = await snapshotOf(store, last.playbookName);
  if (!stored) {
    const why = last.runId === null ? 'it was imported from another tool' : 'it was applied before bellows kept snapshots, or taking it failed (see bellows events)';
    throw new InputError(`drift: no snapshot of playbook ${last.playbookName}, the last applied: ${why}`);
  }
  if (stored.snapshot.format !== SNAPSHOT_FORMAT) {
    throw new InputError(`drift: the snapshot of playbook ${last.playbookName} has format ${stored.snapshot.format}; this bellows reads format ${SNAPSHOT_FORMAT}`);
  }
  const { snapshot } = await liveSnapshot(store);
  return {
    since: { playbook: last.playbookName, runId: stored.runId, appliedAt: last.appliedAt, snapshotTakenAt: stored.takenAt },
    inFlightAtSnapshot: stored.inFlight,
    differences: compareSnapshots(stored.snapshot, snapshot),
  };
}
