import type pg from 'pg';
import { EnvironmentError } from '../errors.ts';
import { ident } from '../db/sql.ts';
import { advisoryXactLock } from '../db/advisory.ts';
import { STATE_MIGRATIONS } from './migrations/index.ts';

export const DEFAULT_STATE_SCHEMA = 'bellows';

/**
 * Brings the control schema up to the version this code knows. Safe to call from
 * many processes at once: an advisory lock serializes them and the loser finds
 * the work done. A database migrated by a newer bellows is refused, because this
 * code would misread tables it does not know.
 */
export async function migrateState(pool: pg.Pool, schemaName = DEFAULT_STATE_SCHEMA): Promise<number> {
  const schema = ident(schemaName);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await advisoryXactLock(client, `migrate:${schemaName}`);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${schema}.schema_version (
         version    int PRIMARY KEY,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const { rows } = await client.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${schema}.schema_version`);
    const current = rows[0].v ?? 0;
    if (current > STATE_MIGRATIONS.length) {
      throw new EnvironmentError(
        `the ${schemaName} schema is at version ${current}, newer than this bellows knows (${STATE_MIGRATIONS.length}); upgrade bellows`,
      );
    }
    for (let version = current + 1; version <= STATE_MIGRATIONS.length; version++) {
      await client.query(STATE_MIGRATIONS[version - 1](schema));
      await client.query(`INSERT INTO ${schema}.schema_version (version) VALUES ($1)`, [version]);
    }
    await client.query('COMMIT');
    return STATE_MIGRATIONS.length;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
