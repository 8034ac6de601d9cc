import type { StateStore } from './store.ts';
import { expectsDriver, liveness, stalledMessage, type DriverProbe } from './liveness.ts';
import type { RangeRecord, RunRecord } from './types.ts';
import { effectiveSettings } from './types.ts';
import { formatKey } from '../backfill/keyset.ts';
import { redactUrl } from '../db/redact.ts';

export interface RangeProgress {
  range: number;
  from: string;
  to: string;
  checkpoint: string;
  rowsDone: number;
  rowsTotal: number;
  rowsPerSec: number | null;
  etaSeconds: number | null;
  batchSize: number | null;
  throttle: string | null;
  done: boolean;
  error: string | null;
}

export interface TaskProgress {
  task: RangeRecord['task'];
  table: string;
  rowsDone: number;
  rowsTotal: number;
  percent: number;
  rowsPerSec: number;
  etaSeconds: number | null;
  throttle: string | null;
  done: boolean;
  ranges: RangeProgress[];
}

export interface RunProgress {
  id: string;
  playbook: string;
  executor: string;
  phase: string;
  status: string;
  /**
   * What an operator reads first: the status, except that a run nobody drives is
   * 'stalled' and a run asked to pause that has not yet is 'pausing'.
   */
  state: string;
  /** Whether something drives the run right now (a process, a worker), whatever the executor. */
  driver: 'active' | 'none';
  /** Who drives it, or drove it last, as it named itself. */
  driverName: string | null;
  /** Set when the run should be moving and nothing drives it: since when, and the sentence to show. */
  stalled: { since: Date; message: string } | null;
  /** Whether the figures below move: only a driven, running, unpaused run has a rate and an ETA in seconds. */
  motion: Motion;
  paused: boolean;
  approved: boolean;
  /** Set while a driven run's statement retries for a lock. */
  lockWait: LockWait | null;
  settings: ReturnType<typeof effectiveSettings>;
  error: string | null;
  createdAt: Date;
  updatedAt: Date;
  tasks: TaskProgress[];
}

/**
 * A statement of the run (expand, contract, rollback DDL) retrying for a lock
 * that another session holds: the run does not move until it gets the lock, or
 * fails once its retries are spent. Each retry waits at most lockTimeoutMs, so
 * the sessions that queue behind it wait no longer than that.
 */
export interface LockWait {
  action: string;
  retry: number;
  retries: number;
  lockTimeoutMs: number;
  /** When the latest retry began. */
  at: Date;
}

/** Why a run's ETA is not a figure: 'paused', 'stalled', or nothing moves at all ('idle': finished, waiting, failed). */
export type Motion = 'moving' | 'paused' | 'stalled' | 'idle';

/**
 * Row totals start from the planner's estimate and are refined by progress: a
 * range that has done more rows than estimated, or has finished, is counted as
 * what it has done, so the total converges on the truth as ranges complete.
 */
function rangeTotal(r: RangeRecord): number {
  return r.done ? r.rowsDone : Math.max(r.rowsEstimate, r.rowsDone);
}

function eta(remaining: number, rate: number | null): number | null {
  if (remaining <= 0) return 0;
  return rate && rate > 0 ? remaining / rate : null;
}

/** A run that does not move has no rate and no ETA in seconds; the last batch's figures are history, not progress. */
function stopped(task: TaskProgress): TaskProgress {
  return {
    ...task,
    rowsPerSec: 0,
    etaSeconds: task.done ? 0 : null,
    ranges: task.ranges.map((r) => ({ ...r, rowsPerSec: 0, etaSeconds: r.done ? 0 : null })),
  };
}

/** A range's rows/s: the committed rows of its moving window; a finished range has none. */
function rangeRate(r: RangeRecord): number {
  return r.done ? 0 : (r.windowRowsPerSec ?? 0);
}

/**
 * A table is done when its slowest remaining work is: the longest ETA of its
 * moving ranges, and never less than all its remaining rows at the table's
 * rate (ranges still waiting for a slot have no rate of their own yet).
 */
function tableEta(rs: RangeRecord[], remaining: number, rate: number): number | null {
  if (remaining <= 0) return 0;
  if (!(rate > 0)) return null;
  const slowest = Math.max(0, ...rs.filter((r) => !r.done && rangeRate(r) > 0).map((r) => (rangeTotal(r) - r.rowsDone) / rangeRate(r)));
  return Math.max(remaining / rate, slowest);
}

export function summarizeTasks(ranges: RangeRecord[]): TaskProgress[] {
  const groups = new Map<string, RangeRecord[]>();
  for (const r of ranges) {
    const key = `${r.task}\u0000${r.table}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((rs) => {
    const rowsDone = rs.reduce((n, r) => n + r.rowsDone, 0);
    const rowsTotal = rs.reduce((n, r) => n + rangeTotal(r), 0);
    const active = rs.filter((r) => !r.done);
    const rowsPerSec = active.reduce((n, r) => n + rangeRate(r), 0);
    const done = rs.every((r) => r.done);
    return {
      task: rs[0].task,
      table: rs[0].table,
      rowsDone,
      rowsTotal,
      percent: done ? 100 : rowsTotal > 0 ? Math.min(99.9, (100 * rowsDone) / rowsTotal) : 0,
      rowsPerSec: done ? 0 : rowsPerSec,
      etaSeconds: done ? 0 : tableEta(rs, rowsTotal - rowsDone, rowsPerSec),
      throttle: active.map((r) => r.throttle).find((t) => t) ?? null,
      done,
      ranges: rs.map((r) => ({
        range: r.rangeNo,
        from: formatKey(r.lowerKey),
        to: formatKey(r.upperKey),
        checkpoint: formatKey(r.lastKey),
        rowsDone: r.rowsDone,
        rowsTotal: rangeTotal(r),
        rowsPerSec: rangeRate(r),
        etaSeconds: r.done ? 0 : eta(rangeTotal(r) - r.rowsDone, rangeRate(r)),
        batchSize: r.batchSize,
        throttle: r.throttle,
        done: r.done,
        error: r.error,
      })),
    };
  });
}

/** Settings as shown to people: replica URLs without their passwords. */
function publicSettings(run: RunRecord) {
  const settings = effectiveSettings(run);
  return settings.replicaUrls ? { ...settings, replicaUrls: settings.replicaUrls.map(redactUrl) } : settings;
}

function motionOf(run: RunRecord, driven: boolean): Motion {
  if (run.status === 'paused' || (run.status === 'running' && run.desired.paused)) return 'paused';
  if (!expectsDriver(run)) return 'idle';
  if (!driven) return 'stalled';
  // A rollback walks no ranges: the backfill's last figures are not its progress.
  return run.status === 'running' ? 'moving' : 'idle';
}

function stateOf(run: RunRecord, motion: Motion, driven: boolean): string {
  if (motion === 'stalled') return 'stalled';
  // Asked to pause: a driver gets there within a batch; a run nothing drives is there already.
  if (run.status === 'running' && run.desired.paused) return driven ? 'pausing' : 'paused';
  return run.status;
}

/** The run's statement waiting for a lock, if the last thing it did was to retry one (engine/run-actions.ts notes each retry as an event). */
async function lockWaitOf(store: StateStore, run: RunRecord, driven: boolean): Promise<LockWait | null> {
  if (!driven || !expectsDriver(run)) return null;
  const last = await store.lastEvent(run.id);
  if (last?.kind !== 'ddl_retry') return null;
  const settings = effectiveSettings(run);
  return {
    action: String(last.detail.action),
    retry: Number(last.detail.attempt),
    retries: settings.retries,
    lockTimeoutMs: settings.lockTimeoutMs,
    at: last.at,
  };
}

/** `probe`: what the run's executor says of its driver (executors/driver-probes.ts); the heartbeat in the store does the rest. */
export async function runProgress(store: StateStore, run: RunRecord, probe: DriverProbe): Promise<RunProgress> {
  const ranges = [...(await store.getRanges(run.id, 'backfill')), ...(await store.getRanges(run.id, 'verify'))];
  const live = liveness(run, probe);
  const motion = motionOf(run, live.driven);
  const tasks = summarizeTasks(ranges);
  return {
    id: run.id,
    playbook: run.playbookName,
    executor: run.executor,
    phase: run.phase,
    status: run.status,
    state: stateOf(run, motion, live.driven),
    driver: live.driven ? 'active' : 'none',
    driverName: live.by,
    stalled: motion === 'stalled' ? { since: live.since!, message: stalledMessage(run.id, live.since!) } : null,
    motion,
    paused: Boolean(run.desired.paused),
    approved: Boolean(run.desired.approved),
    lockWait: await lockWaitOf(store, run, live.driven),
    settings: publicSettings(run),
    error: run.error,
    createdAt: run.createdAt,
    updatedAt: run.updatedAt,
    tasks: motion === 'moving' ? tasks : tasks.map(stopped),
  };
}
