import type pg from 'pg';
import { REHEARSAL_TIMEOUTS } from './rehearse.ts';

/**
 * The live catalog as the playbook's earlier schema operations would leave it,
 * without changing it: every look happens in a transaction that is always
 * rolled back, on a dedicated connection, after replaying the DDL that earlier
 * operations rehearsed. So a function may return the enum a create_enum before
 * it makes, and nothing of either exists until expand.
 */
export interface SchemaRehearsal {
  /** Runs `read` where the earlier rehearsed DDL has run; everything is rolled back afterwards. */
  within<T>(read: (client: pg.ClientBase) => Promise<T>): Promise<T>;
  /** Null if PostgreSQL accepts `ddl` (later looks then see what it makes), else PostgreSQL's complaint. */
  attempt(ddl: string): Promise<string | null>;
}

/**
 * One statement only: the extended protocol refuses a second, so text a playbook
 * puts inside a statement (a function's body, its arguments) cannot end it and
 * smuggle another in, neither here nor, having passed here, in expand.
 */
export function oneStatement(client: pg.ClientBase, text: string) {
  return client.query({ text, queryMode: 'extended' } as pg.QueryConfig);
}

export function schemaRehearsal(db: pg.Pool): SchemaRehearsal {
  const rehearsed: string[] = [];
  async function within<T>(read: (client: pg.ClientBase) => Promise<T>): Promise<T> {
    const client = await db.connect();
    try {
      await client.query('BEGIN');
      await client.query(REHEARSAL_TIMEOUTS);
      for (const ddl of rehearsed) await oneStatement(client, ddl);
      return await read(client);
    } finally {
      await client.query('ROLLBACK').catch(() => {});
      client.release();
    }
  }
  return {
    within,
    async attempt(ddl) {
      try {
        await within((client) => oneStatement(client, ddl));
      } catch (err) {
        return (err as Error).message;
      }
      rehearsed.push(ddl);
      return null;
    },
  };
}
