import { qualified } from '../../db/sql.ts';
import type { Throttle } from './throttle.ts';

/**
 * Sessions queued on a lock of the table are application traffic waiting on
 * someone; a batch that holds row locks would only lengthen that queue.
 */
export const lockWaitersThrottle: Throttle = {
  name: 'lock waiters',
  enabled: (s) => s.maxLockWaiters !== undefined,
  async check({ db, table, settings }) {
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_locks l
        WHERE NOT l.granted AND l.relation = $1::regclass AND l.pid <> pg_backend_pid()`,
      [qualified(table.ref)],
    );
    const limit = settings.maxLockWaiters ?? 0;
    return rows[0].n > limit ? `${rows[0].n} sessions waiting on locks of ${table.name} (limit ${limit})` : null;
  },
};
