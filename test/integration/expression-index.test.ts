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

  it('on a column an earlier operation replaces or renames, the index is on the new column and outlives contract', async () => {
    await db.query(`CREATE TABLE members (id bigserial PRIMARY KEY, handle text NOT NULL, nick text)`);
    await db.query(`INSERT INTO members (handle, nick) SELECT 'H' || g, 'N' || g FROM generate_series(1, 300) g`);
    const run = await engineFor(db.pool).runToEnd({
      name: 'members_reshaped',
      operations: [
        { alter_column: { table: 'members', column: 'handle', type: 'varchar(40)', up: 'lower(handle)', down: 'handle' } },
        { create_index: { table: 'members', name: 'members_handle_upper', expressions: ['upper(handle)'] } },
        { rename_column: { table: 'members', from: 'nick', to: 'nickname' } },
        { create_index: { table: 'members', name: 'members_nickname_lower', expressions: ['lower(nickname)'] } },
      ],
    });
    expect(run.status).toBe('completed');
    const { rows } = await db.query(
      `SELECT c.relname AS name, i.indisvalid AS valid, pg_get_indexdef(i.indexrelid) AS def FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE i.indrelid = 'public.members'::regclass AND NOT i.indisprimary ORDER BY 1`,
    );
    expect(rows).toEqual([
      { name: 'members_handle_upper', valid: true, def: 'CREATE INDEX members_handle_upper ON public.members USING btree (upper((handle)::text))' },
      { name: 'members_nickname_lower', valid: true, def: 'CREATE INDEX members_nickname_lower ON public.members USING btree (lower(nickname))' },
    ]);
    const columns = await db.query(`SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = 'public.members'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`);
    expect(columns.rows).toEqual([
      { attname: 'id', type: 'bigint' },
      { attname: 'nickname', type: 'text' },
      { attname: 'handle', type: 'character varying(40)' },
    ]);
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
