import type { Throttle } from './throttle.ts';

/**
 * Caps the WAL the database writes per second (all of it, not only ours: that
 * is what replicas, backups and CDC consumers must keep up with). The rate is
 * measured between two readings of pg_current_wal_lsn().
 */
export const walRateThrottle: Throttle = {
  name: 'WAL rate',
  enabled: (s) => (s.maxWalBytesPerSec ?? 0) > 0,
  probe: ({ db }) => {
    let last: { lsn: string; at: number } | null = null;
    let rate = 0;
    return {
      async check(settings) {
        const { rows } = await db.query<{ lsn: string }>(`SELECT pg_current_wal_lsn()::text AS lsn`);
        const now = Date.now();
        if (last && now - last.at >= 200) {
          const { rows: diff } = await db.query<{ bytes: number }>(`SELECT pg_wal_lsn_diff($1, $2)::float8 AS bytes`, [rows[0].lsn, last.lsn]);
          rate = (diff[0].bytes * 1000) / (now - last.at);
          last = { lsn: rows[0].lsn, at: now };
        } else if (!last) {
          last = { lsn: rows[0].lsn, at: now };
        }
        const limit = settings.maxWalBytesPerSec!;
        return rate > limit ? `WAL ${formatBytes(rate)}/s > ${formatBytes(limit)}/s` : null;
      },
    };
  },
};

export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}
