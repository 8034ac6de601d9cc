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
  probe(ctx: ThrottleContext): ThrottleProbe;
}

export interface ThrottleProbe {
  check(settings: Settings): Promise<string | null>;
  close?(): Promise<void>;
}
