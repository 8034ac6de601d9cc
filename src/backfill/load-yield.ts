import type pg from 'pg';
import type { Settings } from '../playbook/schema.ts';

/** Longest pause after one batch, whatever the load: the backfill must keep moving. */
const MAX_PAUSE_MS = 5_000;

/**
 * The backfill shares the database with the application. After each batch it
 * counts the application's sessions that are running a statement right now and
 * rests for `loadYield` × that many batch-times: on an idle database it runs
 * flat out, on a busy one it takes a small share of the server, so the
 * application's throughput and latency barely move. bellows' own sessions
 * (application_name 'bellows') do not count.
 */
export async function loadPauseMs(db: pg.Pool, batchMs: number, settings: Settings): Promise<number> {
  if (!(settings.loadYield > 0)) return 0;
  const { rows } = await db.query<{ busy: number }>(
    `SELECT count(*)::int AS busy FROM pg_stat_activity
      WHERE state = 'active' AND backend_type = 'client backend' AND pid <> pg_backend_pid()
        AND datname = current_database() AND application_name NOT LIKE 'bellows%'`,
  );
  return Math.min(MAX_PAUSE_MS, batchMs * settings.loadYield * rows[0].busy);
}
