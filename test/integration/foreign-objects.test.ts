import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { engineFor } from '../helpers/engine.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
});

describe('objects someone else creates between start and expand', () => {
  it('a column of the same name stops the run, and rollback leaves that column and its data alone', async () => {
    await db.query(`CREATE TABLE accounts (id int PRIMARY KEY, name text)`);
    await db.query(`INSERT INTO accounts SELECT g, 'a' || g FROM generate_series(1, 50) g`);
    const engine = engineFor(db.pool);
    const run = await engine.open({
      name: 'accounts_plan',
      operations: [{ add_column: { table: 'accounts', name: 'plan', type: 'text', default: "'free'" } }],
    });
    // Another deploy adds the same column after bellows checked the schema, before it expands.
    await db.query(`ALTER TABLE accounts ADD COLUMN plan text`);
    await db.query(`UPDATE accounts SET plan = 'theirs'`);

    await expect(engine.executor.drive(run, { stopAtGate: true })).rejects.toThrow(
      /expand failed and was rolled back.*column "plan" of relation "accounts" already exists/,
    );
    expect((await engine.store.getRun(run.id)).status).toBe('rolled_back');
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM accounts WHERE plan = 'theirs'`);
    expect(rows[0].n).toBe(50);
  });
});
