import { qualified } from '../../db/sql.ts';
import type { Throttle } from './throttle.ts';
import { isSeedRows } from '../../operations/operation.ts';

/**
 * Sessions queued on a lock of the table are application traffic waiting on
 * someone; a batch that takes more row locks would only lengthen that queue.
 */
export const lockWaitersThrottle: Throttle = {
  name: 'lock waiters',
  enabled: (s) => s.maxLockWaiters !== undefined,
  probe: ({ db, table }) => ({
    async check(settings) {
      // A seed walks its staged lines, but takes its row locks on the table it fills.
      const changed = table.backfill.find(isSeedRows)?.seed.into ?? table.ref;
      const { rows } = await db.query<{ n: number }>(
        `SELECT count(DISTINCT w.pid)::int AS n
           FROM pg_locks w
          WHERE NOT w.granted AND w.pid <> pg_backend_pid()
            AND (w.relation = $1::regclass
                 OR (w.locktype = 'transactionid' AND EXISTS (
                       SELECT 1 FROM pg_locks t WHERE t.pid = w.pid AND t.relation = $1::regclass)))`,
        [qualified(changed)],
      );
      const limit = settings.maxLockWaiters ?? 0;
      return rows[0].n > limit ? `${rows[0].n} sessions waiting on locks of ${table.name} (limit ${limit})` : null;
    },
  }),
};
