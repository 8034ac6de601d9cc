import type { SchemaSnapshot } from '../snapshot/format.ts';
import type { StateStore } from './store.ts';
import { FINISHED_STATUSES } from './types.ts';

/** A run that was between expand and contract when a snapshot was taken. */
export interface InFlightRun {
  runId: string;
  playbookName: string;
}

export interface StoredSnapshot {
  playbookName: string;
  runId: string;
  takenAt: Date;
  inFlight: InFlightRun[];
  snapshot: SchemaSnapshot;
}

/** Kept once per playbook: a second call (a resumed step) finds it there and keeps the first. */
export async function keepSnapshot(store: StateStore, entry: Omit<StoredSnapshot, 'takenAt'>): Promise<void> {
  await store.pool.query(
    `INSERT INTO ${store.schema}.snapshots (playbook_name, run_id, in_flight, snapshot) VALUES ($1, $2, $3, $4)
     ON CONFLICT (playbook_name) DO NOTHING`,
    [entry.playbookName, entry.runId, JSON.stringify(entry.inFlight), JSON.stringify(entry.snapshot)],
  );
}

export async function snapshotOf(store: StateStore, playbookName: string): Promise<StoredSnapshot | null> {
  const { rows } = await store.pool.query<StoredSnapshot>(
    `SELECT playbook_name AS "playbookName", run_id::text AS "runId", taken_at AS "takenAt", in_flight AS "inFlight", snapshot
       FROM ${store.schema}.snapshots WHERE playbook_name = $1`,
    [playbookName],
  );
  return rows[0] ?? null;
}

/** Whether the database has bellows' state at all, found without creating it. */
export async function hasState(store: StateStore): Promise<boolean> {
  const { rows } = await store.pool.query<{ found: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS found`, [`${store.schema}.history`]);
  return rows[0].found;
}

/** Runs between expand and contract, and the version schemas they made (named after their playbook, engine/compile.ts). */
export async function runsInFlight(store: StateStore): Promise<Array<InFlightRun & { versionSchema: string }>> {
  const { rows } = await store.pool.query(
    `SELECT id::text AS "runId", playbook_name AS "playbookName", plan->>'versionSchema' AS "versionSchema"
       FROM ${store.schema}.runs WHERE status <> ALL($1) ORDER BY id`,
    [FINISHED_STATUSES],
  );
  return rows;
}
