import type { Logger } from 'pino';
import type { StateStore } from './store.ts';
import { BEAT_MS } from './liveness.ts';

/**
 * Keeps the heartbeat of the runs this process drives: one beat per run however
 * many of its steps run here at once (a Temporal worker walks several ranges of
 * a run), for as long as any of them holds it.
 */
export class DriverBeats {
  private readonly runs = new Map<string, { holders: number; timer: NodeJS.Timeout }>();
  private readonly beating = new Set<string>();

  constructor(
    private readonly store: StateStore,
    /** How this driver names itself to operators. */
    readonly driver: string,
    private readonly options: {
      /**
       * Clear the driver when the last holder lets go: right for a process that
       * drives the run from start to stop (its run is undriven once it stops), wrong
       * for activities, which come and go while their workflow still drives the run.
       */
      releaseWhenIdle: boolean;
      log?: Logger;
    },
  ) {}

  /** Beats for `runId` now and every BEAT_MS until the returned function is called. */
  async hold(runId: string): Promise<() => Promise<void>> {
    const held = this.runs.get(runId);
    if (held) held.holders++;
    else {
      await this.beat(runId);
      const timer = setInterval(() => void this.beat(runId), BEAT_MS);
      timer.unref();
      this.runs.set(runId, { holders: 1, timer });
    }
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      const run = this.runs.get(runId)!;
      if (--run.holders > 0) return;
      clearInterval(run.timer);
      this.runs.delete(runId);
      if (this.options.releaseWhenIdle) await this.store.releaseDriver(runId, this.driver).catch(() => {});
    };
  }

  private async beat(runId: string): Promise<void> {
    // One beat at a time: a beat waiting on the run's row (a contract holds it for its
    // transaction) must not be joined by one every interval, each holding a connection.
    if (this.beating.has(runId)) return;
    this.beating.add(runId);
    try {
      await this.store.beatDriver(runId, this.driver);
    } catch (err) {
      // A missed beat is not an error: the run is only shown stalled after several.
      this.options.log?.warn({ run: runId, err: String(err) }, 'driver heartbeat not written');
    } finally {
      this.beating.delete(runId);
    }
  }
}
