import pg from 'pg';
import { EnvironmentError, InputError } from '../errors.ts';
import { redactText, redactUrl } from './redact.ts';

// bigint and numeric arrive as strings by default; keep them exact, never as lossy JS numbers.
export type Pool = pg.Pool;
export type Client = pg.PoolClient;

/** `options`: server settings for every session, as libpq's `options` (`-c name=value`). */
export function createPool(databaseUrl: string, max = 10, options?: string): pg.Pool {
  try {
    new URL(databaseUrl);
  } catch {
    throw new InputError(`database URL is not a valid URL: ${redactUrl(databaseUrl)}`);
  }
  const pool = new pg.Pool({ connectionString: databaseUrl, max, application_name: 'bellows', options });
  // An idle client that loses its connection must not crash the process.
  pool.on('error', () => {});
  return pool;
}

/** Opens the pool and proves the database answers, turning driver errors into one clear line. */
export async function connect(databaseUrl: string, max = 10, options?: string): Promise<pg.Pool> {
  const pool = createPool(databaseUrl, max, options);
  try {
    await pool.query('SELECT 1');
  } catch (err) {
    await pool.end().catch(() => {});
    const reason = redactText(err instanceof Error ? err.message : String(err));
    throw new EnvironmentError(`cannot connect to ${redactUrl(databaseUrl)}: ${reason}`);
  }
  return pool;
}

export async function withClient<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    return await work(client);
  } finally {
    client.release();
  }
}

export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return withClient(pool, async (client) => {
    await client.query('BEGIN');
    try {
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    }
  });
}
