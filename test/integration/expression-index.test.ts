import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { engineFor } from '../helpers/engine.ts';
import { InputError } from '../../src/errors.ts';

/** create_index on expressions: built concurrently like any other; a bad expression is refused before any DDL. */

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
  await db.query(`CREATE TABLE accounts (id bigserial PRIMARY KEY, email text NOT NULL, handle text)`);
  await db.query(`INSERT INTO accounts (email, handle) SELECT 'A' || g || '@X.com', 'h' || g FROM generate_series(1, 500) g`);
});

describe('create_index on expressions', () => {
  it('builds a unique index on lower(email), valid, and it refuses a second spelling of the same address', async () => {
    const engine = engineFor(db.pool);
    const run = await engine.runToEnd({
      name: 'accounts_email_ci',
      operations: [{ create_index: { table: 'accounts', name: 'accounts_email_lower_key', expressions: ['lower(email)'], unique: true } }],
    });
    expect(run.status).toBe('completed');
    const { rows } = await db.query(
      `SELECT i.indisvalid AS valid, pg_get_indexdef(i.indexrelid) AS def FROM pg_index i WHERE i.indexrelid = 'public.accounts_email_lower_key'::regclass`,
    );
    expect(rows[0]).toEqual({ valid: true, def: 'CREATE UNIQUE INDEX accounts_email_lower_key ON public.accounts USING btree (lower(email))' });
    await expect(db.query(`INSERT INTO accounts (email) VALUES ('a1@x.COM')`)).rejects.toThrow(/duplicate key/);
  });

  it('refuses a bad expression, and columns with expressions, before any DDL', async () => {
    const engine = engineFor(db.pool);
    const refused = (doc: unknown) => engine.open(doc).then(() => null, (err: unknown) => err as Error);
    const bad = await refused({ name: 'bad_expr', operations: [{ create_index: { table: 'accounts', name: 'x1', expressions: ['lower(emial)'] } }] });
    expect(bad).toBeInstanceOf(InputError);
    expect(bad!.message).toMatch(/^operations\[0\]\.create_index\.expressions\[0\]: invalid expression "lower\(emial\)": column "emial" does not exist/);
    const both = await refused({ name: 'both', operations: [{ create_index: { table: 'accounts', name: 'x2', columns: ['email'], expressions: ['lower(email)'] } }] });
    expect(both!.message).toBe('playbook: operations[0].create_index.columns: give columns or expressions, one of the two');
    expect((await db.query(`SELECT count(*)::int AS n FROM pg_indexes WHERE indexname IN ('x1', 'x2')`)).rows[0].n).toBe(0);
  });
});
