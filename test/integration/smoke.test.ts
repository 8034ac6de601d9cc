import { describe, expect, it, beforeAll } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { engineFor, schemaSnapshot } from '../helpers/engine.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
  await db.query(`CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL, name text)`);
  await db.query(`CREATE UNIQUE INDEX users_email_key ON users (email)`);
  await db.query(`INSERT INTO users (email, name) SELECT 'User' || g || '@Example.com', 'n' || g FROM generate_series(1, 5000) g`);
});

describe('alter_column email to citext', () => {
  it('runs every phase and ends with the new type and the same data', async () => {
    const engine = engineFor(db.pool);
    const before = await db.query(`SELECT id, lower(email) AS email FROM users ORDER BY id`);
    const run = await engine.runToEnd({
      name: '0001_email_citext',
      settings: { batchSize: 700 },
      operations: [{ alter_column: { table: 'users', column: 'email', type: 'citext', up: 'lower(email)', down: 'email::text' } }],
    });
    expect(run.status).toBe('completed');
    const snap = await schemaSnapshot(db.pool, 'public.users');
    expect(snap.columns.find((c) => c.name === 'email')).toMatchObject({ type: 'citext', not_null: true });
    expect(snap.triggers).toEqual([]);
    expect(snap.indexes.map((i) => i.indexdef).join('\n')).toContain('users_email_key ON public.users USING btree (email)');
    const after = await db.query(`SELECT id, email::text AS email FROM users ORDER BY id`);
    expect(after.rows).toEqual(before.rows);
  });
});
