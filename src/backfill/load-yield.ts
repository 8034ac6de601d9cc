import type pg from 'pg';
import type { Settings } from '../playbook/schema.ts';

/** Longest pause after one batch, whatever the load: the backfill must keep moving. */
const MAX_PAUSE_MS = 5_000;

/**
 * A session idle in its transaction for longer than this is someone's open psql
 * or a stuck client, not load: it no longer counts.
 */
export const IDLE_IN_TRANSACTION_COUNTS_MS = 1_000;

/**
 * The backfill shares the database with the application. After each batch it
 * counts the application's sessions at work right now and rests for
 * `loadYield` × that many batch-times: on an idle database it runs flat out,
 * on a busy one it takes a small share of the server, so the application's
 * throughput and latency barely move. A session at work is one running a
 * statement, or one between two statements of its transaction: with short
 * OLTP transactions most of a transaction's time is spent between statements
 * (pgbench -N: 35% of samples `active`, 53% `idle in transaction`), so
 * counting `active` alone saw about a third of the load. bellows' own
 * sessions (application_name 'bellows') do not count.
 */
export async function loadPauseMs(db: pg.Pool, batchMs: number, settings: Settings, idleInTransactionMs = IDLE_IN_TRANSACTION_COUNTS_MS): Promise<number> {
  if (!(settings.loadYield > 0)) return 0;
  const { rows } = await db.query<{ busy: number }>(
    `SELECT count(*)::int AS busy FROM pg_stat_activity
      WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
        AND datname = current_database() AND application_name NOT LIKE 'bellows%'
        AND (state = 'active' OR (state = 'idle in transaction' AND state_change > clock_timestamp() - make_interval(secs => $1::float8 / 1000)))`,
    [idleInTransactionMs],
  );
  return Math.min(MAX_PAUSE_MS, batchMs * settings.loadYield * rows[0].busy);
}
