import type pg from 'pg';
import { isAdvisoryLockHeld } from '../db/advisory.ts';
import type { StateStore } from './store.ts';
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
  /** Whether a process is driving the run right now (local executor: holds the run's lock). */
  driver: 'active' | 'none' | 'remote';
  paused: boolean;
  approved: boolean;
  settings: ReturnType<typeof effectiveSettings>;
  error: string | null;
  createdAt: Date;
  updatedAt: Date;
  tasks: TaskProgress[];
}

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
    const rowsPerSec = active.reduce((n, r) => n + (r.rowsPerSec ?? 0), 0);
    const done = rs.every((r) => r.done);
    return {
      task: rs[0].task,
      table: rs[0].table,
      rowsDone,
      rowsTotal,
      percent: done ? 100 : rowsTotal > 0 ? Math.min(99.9, (100 * rowsDone) / rowsTotal) : 0,
      rowsPerSec: done ? 0 : rowsPerSec,
      etaSeconds: done ? 0 : eta(rowsTotal - rowsDone, rowsPerSec),
      throttle: active.map((r) => r.throttle).find((t) => t) ?? null,
      done,
      ranges: rs.map((r) => ({
        range: r.rangeNo,
        from: formatKey(r.lowerKey),
        to: formatKey(r.upperKey),
        checkpoint: formatKey(r.lastKey),
        rowsDone: r.rowsDone,
        rowsTotal: rangeTotal(r),
        rowsPerSec: r.done ? 0 : r.rowsPerSec,
        etaSeconds: r.done ? 0 : eta(rangeTotal(r) - r.rowsDone, r.rowsPerSec),
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

export async function runProgress(pool: pg.Pool, store: StateStore, run: RunRecord, lockName: string): Promise<RunProgress> {
  const ranges = [...(await store.getRanges(run.id, 'backfill')), ...(await store.getRanges(run.id, 'verify'))];
  const driverActive = await isAdvisoryLockHeld(pool, lockName);
  return {
    id: run.id,
    playbook: run.playbookName,
    executor: run.executor,
    phase: run.phase,
    status: run.status,
    driver: driverActive ? 'active' : run.executor === 'local' ? 'none' : 'remote',
    paused: Boolean(run.desired.paused),
    approved: Boolean(run.desired.approved),
    settings: publicSettings(run),
    error: run.error,
    createdAt: run.createdAt,
    updatedAt: run.updatedAt,
    tasks: summarizeTasks(ranges),
  };
}
