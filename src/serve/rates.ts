import type { RunProgress } from '../state/progress.ts';

export interface RateSample {
  at: Date;
  rowsPerSec: number;
}

/** The chart covers the last ten minutes, at one sample a second. */
const WINDOW_MS = 10 * 60_000;
const CAPACITY = WINDOW_MS / 1000;

/** A fixed ring of the latest samples: memory stays the same however long a run moves. */
class SampleRing {
  private readonly samples: RateSample[] = [];
  private next = 0;

  push(sample: RateSample): void {
    if (this.samples.length < CAPACITY) this.samples.push(sample);
    else this.samples[this.next] = sample;
    this.next = (this.next + 1) % CAPACITY;
  }

  /** Oldest first, only those inside the window. */
  since(from: number): RateSample[] {
    const ordered = this.samples.length < CAPACITY ? this.samples : [...this.samples.slice(this.next), ...this.samples.slice(0, this.next)];
    return ordered.filter((s) => s.at.getTime() >= from);
  }

  newest(): RateSample | undefined {
    const n = this.samples.length;
    return n ? this.samples[(this.next + n - 1) % n] : undefined;
  }
}

/**
 * The rate of each run in motion as the server saw it, sampled once a second:
 * the state store keeps only the last few seconds (RATE_WINDOW_S), a chart
 * wants minutes. A run's rate is what `status` shows: the sum over its tasks.
 */
export class RateHistory {
  private readonly rings = new Map<string, SampleRing>();

  record(target: string, runs: RunProgress[], at = new Date()): void {
    for (const run of runs) {
      if (run.motion !== 'moving') continue;
      const key = keyOf(target, run.id);
      let ring = this.rings.get(key);
      if (!ring) this.rings.set(key, (ring = new SampleRing()));
      ring.push({ at, rowsPerSec: run.tasks.reduce((n, t) => n + t.rowsPerSec, 0) });
    }
    this.forgetStale(at.getTime());
  }

  samples(target: string, runId: string, now = Date.now()): RateSample[] {
    return this.rings.get(keyOf(target, runId))?.since(now - WINDOW_MS) ?? [];
  }

  /** A run that has not moved for the whole window has nothing left to chart. */
  private forgetStale(now: number): void {
    for (const [key, ring] of this.rings) {
      const newest = ring.newest();
      if (!newest || newest.at.getTime() < now - WINDOW_MS) this.rings.delete(key);
    }
  }
}

function keyOf(target: string, runId: string): string {
  return `${target}\u0000${runId}`;
}
