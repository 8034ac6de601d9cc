import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { engineFor } from '../helpers/engine.ts';
import { catalogSnapshot } from '../helpers/cli.ts';
import { SMALL_BATCHES } from '../helpers/lifecycle.ts';

/**
 * Operations that build on each other in one playbook, in order: a table is
 * created and seeded, an existing table gets a column that the backfill fills
 * and a foreign key to the new table, proven at verify after the backfill.
 */

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
  await db.query(`CREATE TABLE members (id bigserial PRIMARY KEY, name text NOT NULL, score int)`);
  await db.query(`INSERT INTO members (name, score) SELECT 'm' || g, g FROM generate_series(1, 900) g`);
  await db.query('ANALYZE members');
});

const TEAMS = {
  name: 'members_teams',
  settings: SMALL_BATCHES,
  operations: [
    { create_table: { table: 'teams', primary_key: ['id'], columns: [{ name: 'id', type: 'bigint' }, { name: 'name', type: 'text', nullable: false }] } },
    { seed_data: { table: 'teams', key: ['id'], rows: [{ id: 1, name: 'odd' }, { id: 2, name: 'even' }] } },
    { add_column: { table: 'members', name: 'team_id', type: 'bigint', nullable: false, up: '2 - id % 2' } },
    {
      create_constraint: {
        table: 'members',
        name: 'members_team_fk',
        type: 'foreign_key',
        columns: ['team_id'],
        references: { table: 'teams', columns: ['id'] },
      },
    },
  ],
};

describe('operations combined in one playbook', () => {
  it('creates a table, seeds it, backfills a key column into another and adds the foreign key; a rollback at the gate undoes all of it', async () => {
    const engine = engineFor(db.pool);
    await engine.store.migrate();
    const before = await catalogSnapshot(db.pool);
    const first = await engine.open(TEAMS);
    expect(await engine.executor.drive(first, { stopAtGate: true })).toBe('awaiting_approval');
    // The old application's insert gets its team from up, and the foreign key holds from expand on.
    await db.query(`INSERT INTO members (name) VALUES ('late')`);
    await engine.store.setDesired(first.id, { abort: true }, 'abort');
    expect(await engine.executor.drive(await engine.store.getRun(first.id), { stopAtGate: true })).toBe('rolled_back');
    expect(await catalogSnapshot(db.pool)).toEqual(before);

    const run = await engine.runToEnd(TEAMS);
    expect(run.status).toBe('completed');
    const { rows: fk } = await db.query(`SELECT convalidated, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conname = 'members_team_fk'`);
    expect(fk).toEqual([{ convalidated: true, def: 'FOREIGN KEY (team_id) REFERENCES teams(id)' }]);
    const { rows } = await db.query(`SELECT t.name, count(*)::int AS n FROM members m JOIN teams t ON t.id = m.team_id GROUP BY t.name ORDER BY t.name`);
    expect(rows).toEqual([
      { name: 'even', n: 450 },
      { name: 'odd', n: 451 },
    ]);
    await expect(db.query(`INSERT INTO members (name, team_id) VALUES ('x', 9)`)).rejects.toThrow(/foreign key/);
  });

  it('refuses a check on a column renamed earlier in the playbook, naming the way out', async () => {
    const engine = engineFor(db.pool);
    const refused = await engine
      .open({
        name: 'rename_then_check',
        operations: [
          { rename_column: { table: 'members', from: 'score', to: 'points' } },
          { create_constraint: { table: 'members', name: 'members_points_check', type: 'check', columns: ['points'], check: 'points >= 0' } },
        ],
      })
      .then(() => null, (err: Error) => err.message);
    expect(refused).toBe('operations[1].create_constraint.columns[0]: "points" is changed by an earlier operation of this playbook; constrain it in a playbook that follows this one');
  });
});
