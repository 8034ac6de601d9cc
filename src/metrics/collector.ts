import { Registry } from 'prom-client';
import { RUN_STATUSES } from '../state/types.ts';
import { THROTTLES } from '../backfill/throttles/index.ts';
import { RATE_CAP_THROTTLE } from '../backfill/rate-limit.ts';
import { defineMetrics, type Metrics } from './definitions.ts';
import { readTarget, type MetricsTarget, type TargetReading } from './read-target.ts';
import { withTimeout } from '../util/with-timeout.ts';

export type { MetricsTarget } from './read-target.ts';

export interface MetricsOptions {
  /** A target that has not answered in this long counts as down, so one hung database cannot stall the scrape. */
  timeoutMs?: number;
  /** Told why a target is down (the error is the driver's: redact it before showing it). */
  onTargetError?: (target: string, err: unknown) => void;
}

export interface MetricsCollector {
  /** The Content-Type of what render() returns. */
  readonly contentType: string;
  /** Reads every target's state store now and returns the metrics in Prometheus' text format. Never rejects for a target that is down. */
  render(): Promise<string>;
}

/** Every throttle a range can be held by, so each run shows all of them, 0 when not holding. */
const THROTTLE_NAMES = [...THROTTLES.map((t) => t.name), RATE_CAP_THROTTLE];

/**
 * The `/metrics` of `bellows serve`: each scrape reads the targets' state
 * stores, which the workers write wherever they run, and exposes what they
 * hold. Each scrape builds a registry of its own (never prom-client's global
 * one): nothing is left over from the last scrape (a run no longer shown, a
 * target that went down), two scrapes at once cannot mix, and two servers in
 * one process do not collide. Counters are the store's running totals.
 */
export function createMetrics(targets: readonly MetricsTarget[], options: MetricsOptions = {}): MetricsCollector {
  const timeoutMs = options.timeoutMs ?? 5_000;
  return {
    contentType: Registry.PROMETHEUS_CONTENT_TYPE,
    async render() {
      const readings = await Promise.all(
        targets.map((target) =>
          withTimeout(readTarget(target), timeoutMs, `target ${target.name} did not answer within ${timeoutMs} ms`).catch((err: unknown) => {
            options.onTargetError?.(target.name, err);
            return null;
          }),
        ),
      );
      const registry = new Registry();
      const metrics = defineMetrics(registry);
      targets.forEach((target, i) => record(metrics, target.name, readings[i]));
      return registry.metrics();
    },
  };
}

function record(m: Metrics, target: string, reading: TargetReading | null): void {
  m.targetUp.set({ target }, reading ? 1 : 0);
  if (!reading) return;
  for (const status of RUN_STATUSES) m.runs.set({ target, status }, reading.statuses[status] ?? 0);
  for (const { progress, figures } of reading.runs) {
    const run = { target, run: progress.id, playbook: progress.playbook };
    m.runPhase.set({ ...run, phase: progress.phase }, 1);
    m.rowsPerSecond.set(run, progress.tasks.reduce((n, t) => n + t.rowsPerSec, 0));
    for (const task of progress.tasks) {
      const table = { ...run, task: task.task, table: task.table };
      m.rowsDone.set(table, task.rowsDone);
      m.rowsTotal.set(table, task.rowsTotal);
      for (const range of task.ranges) m.rangeRowsDone.set({ ...table, range: String(range.range) }, range.rowsDone);
    }
    // A throttle noted on a range that no longer moves (paused, stalled, finished) holds nothing now.
    const moving = progress.motion === 'moving';
    const reasons = new Set([...THROTTLE_NAMES, ...Object.keys(figures.throttled)]);
    for (const reason of reasons) m.throttledRanges.set({ ...run, reason }, moving ? (figures.throttled[reason] ?? 0) : 0);
    m.lockTimeoutRetries.inc(run, figures.lockTimeoutRetries);
    m.errors.inc(run, figures.errors);
    m.batchDuration.set(run, { buckets: figures.batchBuckets, sum: figures.batchSeconds });
  }
}
