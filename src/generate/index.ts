import { InputError } from '../errors.ts';
import type { StateStore } from '../state/store.ts';
import { liveSnapshot } from '../snapshot/live.ts';
import type { SchemaSnapshot } from '../snapshot/format.ts';
import { desiredSnapshot, type DesiredSource } from './desired.ts';
import { generateOperations, type GeneratedChanges } from './operations.ts';
import { applyRenames, parseRenames } from './renames.ts';

/** The live schema, refused while a run is in flight: its expand objects would read as part of it. */
export async function currentSnapshot(store: StateStore, command: string): Promise<SchemaSnapshot> {
  const { snapshot, inFlight } = await liveSnapshot(store);
  if (inFlight.length) {
    const r = inFlight[0];
    throw new InputError(`${command}: run ${r.runId} (${r.playbookName}) is between expand and contract, so its changes would read as part of the schema; try again once it completes or rolls back`);
  }
  return snapshot;
}

/** From the live schema to the desired one: the operations, or null when they are the same already. */
export async function generateChanges(store: StateStore, source: DesiredSource, renameFlags: string[]): Promise<GeneratedChanges | null> {
  const live = await currentSnapshot(store, 'generate');
  const desired = await desiredSnapshot(source);
  const renames = parseRenames(renameFlags, live);
  const changes = generateOperations(applyRenames(live, renames), desired, renames);
  return changes.operations.length ? changes : null;
}
