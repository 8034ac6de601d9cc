import type pg from 'pg';
import type { CompiledTable } from '../../engine/compile.ts';
import type { Settings } from '../../playbook/schema.ts';

export interface ThrottleContext {
  db: pg.Pool;
  table: CompiledTable;
  settings: Settings;
}

/**
 * One reason to wait. `check` answers null (go on) or a short human reason
 * ("replica lag 12s > 5s"), shown in `watch` and written to the event log.
 * Adding a throttle is adding a file and a line in throttles/index.ts.
 */
export interface Throttle {
  name: string;
  /** Whether the settings turn this throttle on at all. */
  enabled(settings: Settings): boolean;
  check(ctx: ThrottleContext): Promise<string | null>;
}
