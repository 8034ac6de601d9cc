import type pg from 'pg';
import { InputError } from '../../errors.ts';
import type { Settings } from '../../playbook/schema.ts';
import { ThrottleStop, type Throttle, type ThrottleContext, type ThrottleProbe } from './throttle.ts';
import { customQueryThrottle } from './custom-query.ts';
import { lockWaitersThrottle } from './lock-waiters.ts';
import { replicaLagThrottle } from './replica-lag.ts';
import { walRateThrottle } from './wal-rate.ts';

export const THROTTLES: readonly Throttle[] = [replicaLagThrottle, walRateThrottle, lockWaitersThrottle, customQueryThrottle];

/** A throttle holding the backfill: its name (few values, a metric's label) and its reason (the sentence people read). */
export interface ThrottleHold {
  name: string;
  reason: string;
}

/** The throttles of one range walk: asks each enabled one, in order, whether to wait. */
export function throttleGate(ctx: ThrottleContext) {
  const probes = new Map<Throttle, ThrottleProbe>();
  return {
    async hold(settings: Settings): Promise<ThrottleHold | null> {
      for (const throttle of THROTTLES) {
        if (!throttle.enabled(settings)) continue;
        let probe = probes.get(throttle);
        if (!probe) probes.set(throttle, (probe = throttle.probe(ctx)));
        try {
          const reason = await probe.check(settings);
          if (reason) return { name: throttle.name, reason };
        } catch (err) {
          if (err instanceof ThrottleStop) throw err;
          // A throttle that cannot answer now means "wait": failing open would defeat its purpose.
          return { name: throttle.name, reason: `${throttle.name} check failed: ${(err as Error).message}` };
        }
      }
      return null;
    },
    async close() {
      await Promise.all([...probes.values()].map((p) => p.close?.()));
    },
  };
}

/**
 * Refuses, before anything runs, throttle settings that could only fail once the
 * backfill asks them (see each throttle's preflight). `settings` holds the
 * settings being set: a playbook's, a start's overrides, or a tune's changes.
 */
export async function checkThrottleSettings(db: pg.Pool, settings: Partial<Settings>): Promise<void> {
  for (const throttle of THROTTLES) {
    const problem = await throttle.preflight?.(db, settings);
    if (problem) throw new InputError(problem);
  }
}

export { ThrottleStop } from './throttle.ts';
export type { Throttle, ThrottleContext, ThrottleProbe } from './throttle.ts';
