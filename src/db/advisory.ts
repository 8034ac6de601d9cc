import type pg from 'pg';

/**
 * Session-level advisory locks, keyed by text so that every lock bellows takes
 * is named. A driver holds its run's lock on a dedicated connection for as long
 * as it drives; if the process dies, PostgreSQL releases the lock with the session.
 */
const NAMESPACE = 'bellows';

export interface HeldLock {
  release(): Promise<void>;
  /**
   * Aborts when the lock's session ends under us (terminated, server restart,
   * network): the lock is gone with it, and another process may take the run.
   */
  lost: AbortSignal;
}

export async function tryAdvisoryLock(pool: pg.Pool, name: string): Promise<HeldLock | null> {
  const client = await pool.connect();
  try {
    const { rows } = await client.query<{ ok: boolean }>(
      `SELECT pg_try_advisory_lock(hashtext($1), hashtext($2)) AS ok`,
      [NAMESPACE, name],
    );
    if (!rows[0].ok) {
      client.release();
      return null;
    }
  } catch (err) {
    client.release(true);
    throw err;
  }
  let released = false;
  const lost = new AbortController();
  const onLost = () => lost.abort();
  client.on('error', onLost);
  client.on('end', onLost);
  return {
    lost: lost.signal,
    async release() {
      if (released) return;
      released = true;
      client.off('error', onLost);
      client.off('end', onLost);
      try {
        await client.query(`SELECT pg_advisory_unlock(hashtext($1), hashtext($2))`, [NAMESPACE, name]);
        client.release();
      } catch {
        client.release(true);
      }
    },
  };
}

/**
 * Whether some session holds the named lock right now (for "is anyone driving this run?").
 * pg_locks shows the whole server, and advisory locks are per database: without the
 * database filter, run 1 of another database on the same server looks driven.
 */
export async function isAdvisoryLockHeld(pool: pg.Pool, name: string): Promise<boolean> {
  const { rows } = await pool.query<{ held: boolean }>(
    `SELECT EXISTS (
       SELECT 1 FROM pg_locks
        WHERE locktype = 'advisory' AND granted
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND classid = hashtext($1)::oid AND objid = hashtext($2)::oid AND objsubid = 2
     ) AS held`,
    [NAMESPACE, name],
  );
  return rows[0].held;
}

/** Transaction-scoped variant: serializes short critical sections such as "claim a table for a run". */
export async function advisoryXactLock(client: pg.ClientBase, name: string): Promise<void> {
  await client.query(`SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))`, [NAMESPACE, name]);
}
