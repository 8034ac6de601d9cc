import type { Playbook, Settings } from '../playbook/schema.ts';
import type { CompiledPlan } from '../engine/compile.ts';

export const PHASES = ['expand', 'dual_write', 'backfill', 'verify', 'gate', 'contract', 'done'] as const;
export type Phase = (typeof PHASES)[number] | 'rollback';

export const RUN_STATUSES = ['running', 'paused', 'awaiting_approval', 'failed', 'rolling_back', 'completed', 'rolled_back'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** Runs in these states are finished with their tables; any other state holds them. */
export const FINISHED_STATUSES: readonly RunStatus[] = ['completed', 'rolled_back'];

/** Live-tunable settings: `bellows tune` writes these, every batch reads them. */
export type Tuning = Partial<Pick<Settings, 'batchTimeMs' | 'batchSize' | 'minBatchSize' | 'maxBatchSize' | 'maxRowsPerSec' | 'parallelism' | 'throttleQuery' | 'maxReplicaLagMs' | 'maxReplicaLagBytes' | 'maxWalBytesPerSec' | 'maxLockWaiters' | 'repair' | 'replicaUrls' | 'loadYield'>>;

/** What operators asked for. Drivers converge on it; they never write it. */
export interface DesiredState {
  paused?: boolean;
  approved?: boolean;
  abort?: boolean;
  tuning?: Tuning;
}

export interface RunRecord {
  id: string;
  playbookName: string;
  checksum: string;
  playbook: Playbook;
  plan: CompiledPlan;
  tables: string[];
  executor: string;
  phase: Phase;
  status: RunStatus;
  desired: DesiredState;
  settings: Settings;
  doneActions: string[];
  backfillStartedAt: Date | null;
  backfillDoneAt: Date | null;
  verifyStartedAt: Date | null;
  verifiedAt: Date | null;
  error: string | null;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
  /** Who drives the run now (a process or worker), null once it let go or before any did. */
  driver: string | null;
  /** The driver's last heartbeat (state/liveness.ts). */
  driverSeenAt: Date | null;
  /** How long ago that was, by the database's clock. */
  driverAgeMs: number | null;
}

export type KeyValue = string[];

export interface RangeRecord {
  runId: string;
  task: 'backfill' | 'verify';
  table: string;
  rangeNo: number;
  /** Exclusive lower bound; null = from the first key. */
  lowerKey: KeyValue | null;
  /** Inclusive upper bound, fixed when the range is made. */
  upperKey: KeyValue | null;
  /** Last key done: the checkpoint. */
  lastKey: KeyValue | null;
  rowsDone: number;
  rowsEstimate: number;
  batches: number;
  batchSize: number | null;
  /** Rows committed per second over the last few seconds (state/store.ts windowRate): what operators see. */
  windowRowsPerSec: number | null;
  throttle: string | null;
  done: boolean;
  error: string | null;
  updatedAt: Date;
}

export function effectiveSettings(run: Pick<RunRecord, 'settings' | 'desired'>): Settings {
  return { ...run.settings, ...(run.desired.tuning ?? {}) } as Settings;
}
