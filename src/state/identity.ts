import { createHash } from 'node:crypto';
import type pg from 'pg';

/**
 * A short, stable name for "this state store in this database on this server".
 * Run ids are only unique within one state store, and one Temporal namespace
 * or one Redis may serve many databases, so workflow ids, task queues and BullMQ
 * queues carry this too.
 * The cluster's system identifier survives restarts and failover to a physical
 * replica; reading it needs pg_monitor, so without it the server's address stands in.
 */
export async function databaseIdentity(db: pg.Pool, stateSchema: string): Promise<string> {
  let server: string;
  try {
    const { rows } = await db.query<{ id: string }>(`SELECT system_identifier::text AS id FROM pg_control_system()`);
    server = rows[0].id;
  } catch {
    const { rows } = await db.query<{ id: string }>(`SELECT coalesce(host(inet_server_addr()), 'local') || ':' || current_setting('port') AS id`);
    server = rows[0].id;
  }
  const { rows } = await db.query<{ name: string }>(`SELECT current_database() AS name`);
  return createHash('sha256').update(`${server}/${rows[0].name}/${stateSchema}`).digest('hex').slice(0, 12);
}
