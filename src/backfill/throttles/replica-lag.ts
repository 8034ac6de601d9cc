import pg from 'pg';
import { redactUrl } from '../../db/redact.ts';
import { connectableUrl } from '../../db/url-password.ts';
import { ThrottleStop, type Throttle } from './throttle.ts';
import { formatBytes } from './wal-rate.ts';

/** Where a process that did not start the run finds a replica password the state store does not keep. */
export const REPLICA_PASSWORD_ENV = 'BELLOWS_REPLICA_PASSWORD';

interface Lag {
  source: string;
  seconds: number | null;
  bytes: number | null;
}

/**
 * Replicas must keep up, or failover loses data and read replicas serve stale
 * rows. Lag is read from each `replicaUrls` entry (replay position against the
 * primary's current WAL position, and time since the last replayed commit while
 * replay is behind), or, without any, from pg_stat_replication on the primary.
 */
export const replicaLagThrottle: Throttle = {
  name: 'replica lag',
  enabled: (s) => s.maxReplicaLagMs !== undefined || s.maxReplicaLagBytes !== undefined,
  probe: ({ db }) => {
    const replicas = new Map<string, pg.Pool>();
    const replica = (url: string) => {
      let pool = replicas.get(url);
      if (!pool) {
        const connectionString = connectableUrl(url, REPLICA_PASSWORD_ENV);
        if (!connectionString) {
          throw new ThrottleStop(
            `replica ${redactUrl(url)} needs its password, which bellows does not store`,
            (run) => `set ${REPLICA_PASSWORD_ENV} for the process that drives the run, then bellows resume ${run}`,
          );
        }
        pool = new pg.Pool({ connectionString, max: 1, application_name: 'bellows-lag-probe' });
        pool.on('error', () => {});
        replicas.set(url, pool);
      }
      return pool;
    };

    async function fromPrimary(): Promise<Lag[]> {
      const { rows } = await db.query<{ name: string; seconds: number | null; bytes: number | null }>(
        `SELECT coalesce(application_name, client_addr::text, pid::text) AS name,
                extract(epoch FROM replay_lag)::float8 AS seconds,
                pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::float8 AS bytes
           FROM pg_stat_replication`,
      );
      return rows.map((r) => ({ source: `replica ${r.name}`, seconds: r.seconds, bytes: r.bytes }));
    }

    async function fromReplica(url: string): Promise<Lag> {
      const primary = await db.query<{ lsn: string }>(`SELECT pg_current_wal_lsn()::text AS lsn`);
      const { rows } = await replica(url).query<{ seconds: number | null; bytes: number | null }>(
        `SELECT CASE WHEN pg_last_wal_receive_lsn() IS DISTINCT FROM pg_last_wal_replay_lsn()
                     THEN extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 ELSE 0 END AS seconds,
                pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn())::float8 AS bytes`,
        [primary.rows[0].lsn],
      );
      return { source: redactUrl(url), seconds: rows[0].seconds, bytes: rows[0].bytes };
    }

    return {
      async check(settings) {
        const lags = settings.replicaUrls?.length ? await Promise.all(settings.replicaUrls.map(fromReplica)) : await fromPrimary();
        for (const lag of lags) {
          if (settings.maxReplicaLagMs !== undefined && lag.seconds !== null && lag.seconds * 1000 > settings.maxReplicaLagMs) {
            return `${lag.source} lags ${lag.seconds.toFixed(1)}s > ${(settings.maxReplicaLagMs / 1000).toFixed(1)}s`;
          }
          if (settings.maxReplicaLagBytes !== undefined && lag.bytes !== null && lag.bytes > settings.maxReplicaLagBytes) {
            return `${lag.source} lags ${formatBytes(lag.bytes)} > ${formatBytes(settings.maxReplicaLagBytes)}`;
          }
        }
        return null;
      },
      async close() {
        await Promise.all([...replicas.values()].map((p) => p.end().catch(() => {})));
      },
    };
  },
};
