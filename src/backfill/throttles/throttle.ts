import type pg from 'pg';
import type { CompiledTable } from '../../engine/compile.ts';
import type { Settings } from '../../playbook/schema.ts';

export interface ThrottleContext {
  db: pg.Pool;
  table: CompiledTable;
}

/**
 * One reason to wait. A probe answers null (go on) or a short human reason
 * ("replica lag 12s > 5s"), shown in `watch` and written to the event log.
 * Probes are made once per range walk, so a throttle that measures a rate
 * (WAL bytes per second) can keep its last sample. Adding a throttle is adding
 * a file and a line in throttles/index.ts.
 */
export interface Throttle {
  name: string;
  /** Whether these settings turn the throttle on; read before every batch, so `tune` can switch it. */
  enabled(settings: Settings): boolean;
  /**
   * Checks the operator's settings for this throttle at `plan`, `start` and `tune`,
   * before anything runs: what is wrong with them, or null. Given only the
   * settings being changed, so a `tune` of something else is never refused.
   */
  preflight?(db: pg.Pool, settings: Partial<Settings>): Promise<string | null>;
  probe(ctx: ThrottleContext): ThrottleProbe;
}

export interface ThrottleProbe {
  /** Throws ThrottleStop when it can never answer as configured; any other error means "wait". */
  check(settings: Settings): Promise<string | null>;
  close?(): Promise<void>;
}

/**
 * A throttle that cannot answer until the operator changes something (its query
 * fails, a password is missing). Waiting would last forever, so the run stops
 * instead, with this problem and what to do about it.
 */
export class ThrottleStop extends Error {
  constructor(
    readonly problem: string,
    /** What the operator does next, for this run. */
    readonly remedy: (runId: string) => string,
  ) {
    super(problem);
  }
}
