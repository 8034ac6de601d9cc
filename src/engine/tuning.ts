import type pg from 'pg';
import { checkThrottleSettings } from '../backfill/throttles/index.ts';
import { parseSettings } from '../playbook/load.ts';
import { effectiveSettings, type RunRecord, type Tuning } from '../state/types.ts';

/**
 * A live change to a run's settings (`tune`, or flags on a `start` that attaches)
 * passes the same checks as a playbook's settings before it reaches the store:
 * the schema's bounds over the settings it results in, and each changed
 * throttle's preflight (a throttle query that would fail is refused now, not
 * found out by the backfill).
 */
export async function checkTuning(db: pg.Pool, run: RunRecord, tuning: Tuning): Promise<void> {
  // Nothing changes, nothing to refuse: a plain `start` that attaches must not trip over old settings.
  if (Object.keys(tuning).length === 0) return;
  parseSettings({ ...effectiveSettings(run), ...tuning });
  await checkThrottleSettings(db, tuning);
}
