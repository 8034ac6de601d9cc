import type { StateStore } from '../state/store.ts';
import { hasState, keepSnapshot, runsInFlight, type InFlightRun } from '../state/snapshots.ts';
import { takeSnapshot } from './take.ts';
import type { SchemaSnapshot } from './format.ts';

/**
 * The user's schema as it is now: without bellows' state schema, nor the
 * version schemas of runs in flight (those go at contract or rollback). The
 * runs in flight are named, since their expand objects (new columns, tables,
 * indexes) are in the picture under their final names.
 */
export async function liveSnapshot(store: StateStore): Promise<{ snapshot: SchemaSnapshot; inFlight: InFlightRun[] }> {
  const running = (await hasState(store)) ? await runsInFlight(store) : [];
  const snapshot = await takeSnapshot(store.pool, { excludeSchemas: [store.schemaName, ...running.map((r) => r.versionSchema)] });
  return { snapshot, inFlight: running.map(({ runId, playbookName }) => ({ runId, playbookName })) };
}

/**
 * Keeps the schema as the playbook just applied left it. Taken after contract
 * committed, not inside its transaction: reading the whole catalog there would
 * hold contract's ACCESS EXCLUSIVE locks for longer. A failure here does not
 * undo or fail the applied playbook: it is an event, and `drift` says the
 * snapshot is missing.
 */
export async function keepAppliedSnapshot(store: StateStore, run: { id: string; playbookName: string }): Promise<void> {
  try {
    const { snapshot, inFlight } = await liveSnapshot(store);
    await keepSnapshot(store, { playbookName: run.playbookName, runId: run.id, inFlight, snapshot });
  } catch (err) {
    await store.appendEvent(run.id, 'snapshot_failed', { message: (err as Error).message }).catch(() => {});
  }
}
