import type { RunProgress, TaskProgress } from '../../state/progress.ts';
import { formatDuration, formatNumber } from '../output.ts';

const BAR_WIDTH = 28;

function bar(percent: number): string {
  const filled = Math.round((percent / 100) * BAR_WIDTH);
  return '[' + '#'.repeat(filled) + '-'.repeat(BAR_WIDTH - filled) + ']';
}

function state(p: RunProgress): string {
  return p.stalled?.message ?? p.state.replace('_', ' ');
}

/** A run that does not move shows why instead of a figure that would be stale. */
function eta(p: RunProgress, seconds: number | null): string {
  if (seconds === null && (p.motion === 'paused' || p.motion === 'stalled')) return p.motion;
  return formatDuration(seconds);
}

function taskLine(p: RunProgress, t: TaskProgress): string {
  const throttle = t.throttle ? `  throttled: ${t.throttle}` : '';
  const batch = t.ranges.find((r) => !r.done)?.batchSize;
  return (
    `  ${t.task.padEnd(8)} ${t.table}  ${bar(t.percent)} ${t.percent.toFixed(1).padStart(5)}%  ` +
    `${formatNumber(t.rowsDone)}/${formatNumber(t.rowsTotal)} rows  ${formatNumber(t.rowsPerSec)} rows/s  ` +
    `ETA ${eta(p, t.etaSeconds)}${batch ? `  batch ${formatNumber(batch)}` : ''}${throttle}`
  );
}

/** The lines `watch` redraws and `status` prints: phase, state, and one bar per backfill or verify. */
export function renderProgress(p: RunProgress, detail = false): string[] {
  const lines = [`run ${p.id} ${p.playbook}  phase ${p.phase}  ${state(p)}  (executor ${p.executor})`];
  if (p.lockWait) {
    const w = p.lockWait;
    lines.push(
      `  waiting for a lock: ${w.action}, retry ${w.retry} of ${w.retries}, each waiting up to ${formatNumber(w.lockTimeoutMs)} ms; ` +
        'what holds it and what to do: deploy/runbooks/stuck-lock.md',
    );
  }
  for (const t of p.tasks) {
    lines.push(taskLine(p, t));
    if (detail && t.ranges.length > 1) {
      for (const r of t.ranges) {
        const pct = r.done ? 100 : r.rowsTotal > 0 ? Math.min(99.9, (100 * r.rowsDone) / r.rowsTotal) : 0;
        lines.push(
          `      range ${r.range} ${bar(pct)} ${formatNumber(r.rowsDone)}/${formatNumber(r.rowsTotal)}  ` +
            `${formatNumber(r.rowsPerSec ?? 0)} rows/s  ETA ${eta(p, r.etaSeconds)}  batch ${r.batchSize ?? '--'}` +
            `${r.throttle ? `  throttled: ${r.throttle}` : ''}${r.error ? `  error: ${r.error}` : ''}`,
        );
      }
    }
  }
  if (p.status === 'awaiting_approval') lines.push(`  verify passed; contract waits for: bellows approve ${p.id}`);
  if (p.error) lines.push(`  error: ${p.error}`);
  return lines;
}
