import { redactText } from '../db/redact.ts';
import type { Logger } from '../log.ts';
import { driveHere, outcomeMessage, type DriveRequest } from '../operator/index.ts';
import { StateStore } from '../state/store.ts';
import { effectiveSettings, type RunRecord } from '../state/types.ts';
import type { Target } from './targets.ts';

/** Connections a drive needs besides one per range walked at once: its lock, its heartbeat, its steps (as `start` sizes it). */
const DRIVE_CONNECTIONS = 6;

/**
 * Runs the server carries on itself: a local run an operator resumed or
 * approved from the dashboard while no process drove it, or a rollback nothing
 * else would see. The server is long-lived, so it drives them in the background
 * and answers at once, as a terminal would drive them in the foreground. On
 * shutdown each stops at its next checkpoint, for `bellows resume` to continue.
 */
export class BackgroundDrives {
  private readonly stopping = new AbortController();
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly say: (line: string) => void,
    private readonly log: Logger,
  ) {}

  start(target: Target, run: RunRecord, request: DriveRequest): void {
    if (this.stopping.signal.aborted) return;
    const pool = target.drivePool(DRIVE_CONNECTIONS + effectiveSettings(run).parallelism);
    // The drive's own events (phases, ranges) are the server's doing, in the server's name.
    const ctx = { pool, store: new StateStore(pool, target.store.schemaName), log: this.log, actor: target.store.actor };
    const where = `target ${target.name}: `;
    this.say(`${where}driving run ${run.id} here (phase ${run.phase})`);
    const drive = driveHere(ctx, run, request, this.stopping.signal)
      .then(
        (outcome) => this.say(where + outcomeMessage(run.id, outcome)),
        (err) => this.say(`${where}run ${run.id}: ${redactText(err instanceof Error ? err.message : String(err))}`),
      )
      .finally(async () => {
        await pool.end().catch(() => {});
        this.running.delete(drive);
      });
    this.running.add(drive);
  }

  /** Stops every drive at its next checkpoint and waits until each has let go of its run. */
  async close(): Promise<void> {
    this.stopping.abort();
    await Promise.all(this.running);
  }
}

