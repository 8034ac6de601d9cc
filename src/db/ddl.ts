import type pg from 'pg';
import { DDL_RETRY_CODES, isRetryable } from './sqlstate.ts';
import { sleep } from '../util/sleep.ts';

export interface LockPolicy {
  /** How long one DDL statement may queue for its lock before giving up (ms). */
  lockTimeoutMs: number;
  /** Further attempts after the first, each after a longer, jittered pause. */
  retries: number;
}

/**
 * Exponential backoff with full jitter: a statement that lost the race for a lock
 * must not queue again at the same instant as every other waiter.
 */
export function backoffMs(attempt: number, baseMs = 100, capMs = 10_000): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** attempt);
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

/**
 * Runs `work` in a transaction whose statements may wait at most
 * `lockTimeoutMs` for a lock. While a DDL statement waits for ACCESS EXCLUSIVE,
 * every later query on the table queues behind it; a short timeout bounds that
 * stall, and the retry turns a busy moment into a short delay instead of an outage.
 */
export async function withLockRetry<T>(
  client: pg.ClientBase,
  policy: LockPolicy,
  work: (client: pg.ClientBase) => Promise<T>,
  /** Told of each retry before its pause, and awaited, so what it records is there before the next attempt. */
  onRetry?: (attempt: number, err: unknown) => void | Promise<void>,
  transactional = true,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      if (transactional) {
        await client.query('BEGIN');
        await client.query(`SELECT set_config('lock_timeout', $1, true)`, [`${policy.lockTimeoutMs}ms`]);
      } else {
        await client.query(`SELECT set_config('lock_timeout', $1, false)`, [`${policy.lockTimeoutMs}ms`]);
      }
      const result = await work(client);
      if (transactional) await client.query('COMMIT');
      return result;
    } catch (err) {
      if (transactional) await client.query('ROLLBACK').catch(() => {});
      if (attempt >= policy.retries || !isRetryable(err, DDL_RETRY_CODES)) throw err;
      await onRetry?.(attempt + 1, err);
      await sleep(backoffMs(attempt));
    } finally {
      if (!transactional) await client.query(`RESET lock_timeout`).catch(() => {});
    }
  }
}
