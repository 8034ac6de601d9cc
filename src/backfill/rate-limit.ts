import { sleep } from '../util/sleep.ts';

/**
 * Caps rows per second for one range. A run's cap is shared evenly by its
 * ranges, so the cap holds whichever process or worker runs each range.
 */
export class RateLimiter {
  private nextAt = 0;

  async take(rows: number, rowsPerSec: number, signal?: AbortSignal): Promise<void> {
    if (!(rowsPerSec > 0)) return;
    const now = Date.now();
    const wait = this.nextAt - now;
    if (wait > 0) await sleep(wait, signal);
    this.nextAt = Math.max(now, this.nextAt) + (rows / rowsPerSec) * 1000;
  }
}
