import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { atFileEnd } from './cleanup.ts';
import { waitFor } from './poll.ts';

export interface TestDatabase {
  url: string;
  pool: pg.Pool;
  query<T extends pg.QueryResultRow = pg.QueryResultRow>(text: string, params?: unknown[]): Promise<pg.QueryResult<T>>;
}

/** A fresh database for this test file, dropped when the file is done. */
export async function freshDatabase(): Promise<TestDatabase> {
  const admin = inject('adminDatabaseUrl');
  const name = `${inject('testDatabasePrefix')}${randomBytes(5).toString('hex')}`;
  const root = new pg.Client({ connectionString: admin });
  await root.connect();
  await root.query(`CREATE DATABASE ${name}`);
  await root.end();
  atFileEnd(() => dropDatabase(admin, name));
  const u = new URL(admin);
  u.pathname = `/${name}`;
  const url = u.toString();
  const pool = new pg.Pool({ connectionString: url, max: 20 });
  pool.on('error', () => {});
  await pool.query('CREATE EXTENSION IF NOT EXISTS citext');
  atFileEnd(() => pool.end());
  return { url, pool, query: (text, params) => pool.query(text, params as unknown[]) };
}

/**
 * Drops one test database, whoever is still connected to it. A pool's end()
 * resolves before its server sessions have gone, and a session that FORCE then
 * terminates answers its closing client with an error nobody listens to (vitest
 * fails the run on it): so sessions get a moment to leave on their own first.
 */
export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await waitFor(`the sessions of ${name} to close`, async () => {
      const { rows } = await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1`, [name]);
      return rows[0].n === 0;
    }, 2_000, 20).catch(() => {});
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await c.end();
  }
}
