import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { engineFor } from '../helpers/engine.ts';
import { catalogSnapshot } from '../helpers/cli.ts';
import { SMALL_BATCHES, applications, stepsFor } from '../helpers/lifecycle.ts';

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
  await db.query(`CREATE TABLE players (id bigserial PRIMARY KEY, nick text NOT NULL, score int, level int NOT NULL DEFAULT 1, retired boolean)`);
  await db.query(`INSERT INTO players (nick, score, level, retired) SELECT 'p' || g, g, g % 7, false FROM generate_series(1, 600) g`);
  await db.query('ANALYZE players');
  await db.query(`CREATE TABLE ledger (id bigserial PRIMARY KEY, note text, score int)`);
  await db.query(`INSERT INTO ledger (note, score) SELECT 'l' || g, CASE WHEN g % 10 = 0 THEN -g ELSE g END FROM generate_series(1, 500) g`);
  await db.query(`CREATE INDEX ledger_score_idx ON ledger (score)`);
  await db.query('ANALYZE ledger');
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
});

/**
 * rename_column keeps the physical name until contract: a later operation of
 * the same playbook written with the new name must put its constraint or index
 * on the physical column, and contract leaves it on the renamed one.
 */
const RENAMED = {
  name: 'players_points',
  settings: SMALL_BATCHES,
  operations: [
    { rename_column: { table: 'players', from: 'score', to: 'points' } },
    { create_constraint: { table: 'players', name: 'players_points_check', type: 'check', columns: ['points', 'nick'], check: `points >= 0 AND 'points' <> nick` } },
    { create_constraint: { table: 'players', name: 'players_points_key', type: 'unique', columns: ['points', 'nick'] } },
    { create_index: { table: 'players', name: 'players_points_idx', columns: ['points'], where: 'points > 100' } },
    // The shadow path of alter_column on the renamed column: its triggers and contract follow the rename too.
    { alter_column: { table: 'players', column: 'level', type: 'bigint', up: 'level::bigint', down: 'level::int' } },
    { rename_column: { table: 'players', from: 'level', to: 'tier' } },
    { create_constraint: { table: 'players', name: 'players_tier_check', type: 'check', columns: ['tier'], check: 'tier BETWEEN 0 AND 6' } },
    // alter_column in place (its check too), and drop_column, on a renamed column.
    { alter_column: { table: 'players', column: 'points', comment: 'the score', check: { name: 'players_points_small', expression: 'points < 100000' } } },
    { rename_column: { table: 'players', from: 'retired', to: 'gone' } },
    { drop_column: { table: 'players', column: 'gone', down: 'false' } },
    // Reference rows written with the new name, into the physical column.
    { seed_data: { table: 'players', key: ['id'], rows: [{ id: 1, nick: 'first', points: 5 }] } },
  ],
};

/** A table's columns, constraints and indexes, as the catalog gives them. */
async function catalogOf(table: 'players' | 'ledger') {
  const q = async (sql: string) => (await db.query(sql)).rows;
  return {
    columns: await q(`SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = '${table}'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`),
    constraints: await q(`SELECT conname, pg_get_constraintdef(oid) AS def, convalidated FROM pg_constraint WHERE conrelid = '${table}'::regclass ORDER BY conname`),
    indexes: await q(`SELECT indexname, indexdef FROM pg_indexes WHERE tablename = '${table}' ORDER BY indexname`),
  };
}

describe('a column renamed earlier in the same playbook', () => {
  it('refuses a check the existing rows violate, read under the physical name', async () => {
    await db.query(`UPDATE players SET score = -5 WHERE id = 17`);
    const refused = await engineFor(db.pool).open(RENAMED).then(() => null, (err: Error) => err.message);
    await db.query(`UPDATE players SET score = 17 WHERE id = 17`);
    expect(refused).toBe('operations[1].create_constraint.check: 1 row of public.players violates it, e.g. id 17; correct them before adding the constraint, or give up and down to repair them');
  });

  it('refuses a check PostgreSQL would not take as a table\'s, before any DDL', async () => {
    const engine = engineFor(db.pool);
    await engine.store.migrate();
    const before = await catalogSnapshot(db.pool);
    const refused = await engine
      .open({
        name: 'players_subquery',
        operations: [
          { rename_column: { table: 'players', from: 'score', to: 'points' } },
          { create_constraint: { table: 'players', name: 'players_points_check', type: 'check', columns: ['points'], check: 'points > (SELECT -1)' } },
        ],
      })
      .then(() => null, (err: Error) => err.message);
    expect(refused).toBe('operations[1].create_constraint.check: invalid condition "points > (SELECT -1)": cannot use subquery in check constraint');
    expect(await catalogSnapshot(db.pool)).toEqual(before);
  });

  it.each(['expand', 'dual_write', 'gate'] as const)('rolled back after %s: exactly the original catalog and rows', async (stop) => {
    const engine = engineFor(db.pool);
    await engine.store.migrate();
    const before = await catalogSnapshot(db.pool);
    const rows = (await db.query(`SELECT * FROM players ORDER BY id`)).rows;
    const run = await engine.open({ ...RENAMED, name: `players_points_${stop}` });
    const steps = stepsFor(engine.store, db.pool);
    if (stop === 'gate') {
      expect(await engine.executor.drive(run, { stopAtGate: true })).toBe('awaiting_approval');
    } else {
      await steps.expand(run.id);
      if (stop === 'dual_write') await steps.dualWrite(run.id);
    }
    // From expand on, the constraints and the index are on the physical column, under its old name; verify validates them.
    const catalog = await catalogOf('players');
    const valid = stop === 'gate';
    expect(catalog.constraints).toContainEqual({ conname: 'players_points_check', def: `CHECK (((score >= 0) AND ('points'::text <> nick)))${valid ? '' : ' NOT VALID'}`, convalidated: valid });
    expect(catalog.constraints).toContainEqual({ conname: 'players_tier_check', def: `CHECK (((_bellows_new_level >= 0) AND (_bellows_new_level <= 6)))${valid ? '' : ' NOT VALID'}`, convalidated: valid });
    expect(catalog.constraints).toContainEqual({ conname: 'players_points_small', def: `CHECK ((score < 100000))${valid ? '' : ' NOT VALID'}`, convalidated: valid });
    expect(catalog.indexes).toContainEqual({ indexname: 'players_points_idx', indexdef: 'CREATE INDEX players_points_idx ON public.players USING btree (score) WHERE (score > 100)' });
    expect(catalog.indexes).toContainEqual({ indexname: 'players_points_key', indexdef: 'CREATE UNIQUE INDEX players_points_key ON public.players USING btree (score, nick)' });
    await expect(db.query(`INSERT INTO players (nick, score, retired) VALUES ('neg', -1, false)`)).rejects.toThrow(/players_points_check/);
    expect((await db.query(`SELECT col_description('players'::regclass, 3) AS comment`)).rows).toEqual([{ comment: 'the score' }]);
    expect((await db.query(`SELECT nick, score FROM players WHERE id = 1`)).rows).toEqual([{ nick: 'first', score: 5 }]);
    await engine.store.setDesired(run.id, { abort: true }, 'abort');
    expect(await engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true })).toBe('rolled_back');
    expect(await catalogSnapshot(db.pool)).toEqual(before);
    expect((await db.query(`SELECT * FROM players ORDER BY id`)).rows).toEqual(rows);
  });

  it('runs to the end: each constraint and the index on the renamed column, under its new name, validated', async () => {
    const engine = engineFor(db.pool);
    const run = await engine.open(RENAMED);
    expect(await engine.executor.drive(run, { stopAtGate: true })).toBe('awaiting_approval');
    // The new application writes the new names through its version schema; the old one the old names.
    const { oldApp, newApp, close } = await applications(db, RENAMED.name);
    await newApp.query(`INSERT INTO players (nick, points, tier) VALUES ('new', 1000, 3)`);
    await oldApp.query(`INSERT INTO players (nick, score, level, retired) VALUES ('old', 1001, 4, true)`);
    await expect(newApp.query(`INSERT INTO players (nick, points, tier) VALUES ('bad', -1, 3)`)).rejects.toThrow(/players_points_check/);
    await expect(newApp.query(`INSERT INTO players (nick, points, tier) VALUES ('new', 1000, 5)`)).rejects.toThrow(/players_points_key/);
    await expect(oldApp.query(`INSERT INTO players (nick, score, level, retired) VALUES ('bad', 5, 9, false)`)).rejects.toThrow(/players_tier_check/);
    // The new application's insert gets the dropped column's `down`.
    expect((await oldApp.query(`SELECT nick, retired FROM players WHERE id > 600 ORDER BY id`)).rows).toEqual([{ nick: 'new', retired: false }, { nick: 'old', retired: true }]);
    await close();
    await engine.store.setDesired(run.id, { approved: true }, 'approve');
    expect(await engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true })).toBe('completed');

    expect(await catalogOf('players')).toEqual({
      columns: [
        { attname: 'id', type: 'bigint' },
        { attname: 'nick', type: 'text' },
        { attname: 'points', type: 'integer' },
        { attname: 'tier', type: 'bigint' },
      ],
      constraints: [
        { conname: 'players_pkey', def: 'PRIMARY KEY (id)', convalidated: true },
        { conname: 'players_points_check', def: `CHECK (((points >= 0) AND ('points'::text <> nick)))`, convalidated: true },
        { conname: 'players_points_key', def: 'UNIQUE (points, nick)', convalidated: true },
        { conname: 'players_points_small', def: 'CHECK ((points < 100000))', convalidated: true },
        { conname: 'players_tier_check', def: 'CHECK (((tier >= 0) AND (tier <= 6)))', convalidated: true },
      ],
      indexes: [
        { indexname: 'players_pkey', indexdef: 'CREATE UNIQUE INDEX players_pkey ON public.players USING btree (id)' },
        { indexname: 'players_points_idx', indexdef: 'CREATE INDEX players_points_idx ON public.players USING btree (points) WHERE (points > 100)' },
        { indexname: 'players_points_key', indexdef: 'CREATE UNIQUE INDEX players_points_key ON public.players USING btree (points, nick)' },
      ],
    });
    expect((await db.query(`SELECT col_description('players'::regclass, 3) AS comment`)).rows).toEqual([{ comment: 'the score' }]);
    expect((await db.query(`SELECT nick, points FROM players WHERE id = 1`)).rows).toEqual([{ nick: 'first', points: 5 }]);
    const { rows } = await db.query(`SELECT count(*)::int AS n, sum(points)::int AS points, sum(tier)::int AS tiers FROM players`);
    expect(rows).toEqual([{ n: 602, points: (600 * 601) / 2 + 2001 + 4, tiers: Array.from({ length: 600 }, (_, i) => (i + 1) % 7).reduce((a, b) => a + b, 0) + 7 }]);
    await expect(db.query(`INSERT INTO players (nick, points, tier) VALUES ('bad', 5, 9)`)).rejects.toThrow(/players_tier_check/);
  });
});

/**
 * A constraint whose violating rows `up` repairs, on a column renamed earlier
 * in the playbook: the shadow column replaces the physical (old-named) column,
 * `up` reads the old application's row (old names), `down` the new one's.
 */
const REPAIRED = {
  name: 'ledger_points',
  settings: SMALL_BATCHES,
  operations: [
    { rename_column: { table: 'ledger', from: 'score', to: 'points' } },
    {
      create_constraint: {
        table: 'ledger',
        name: 'ledger_points_nonneg',
        type: 'check',
        columns: ['points'],
        check: 'points >= 0',
        up: { points: 'greatest(score, 0)' },
        down: { points: 'points' },
      },
    },
  ],
};

describe('create_constraint with up/down on a column renamed earlier in the same playbook', () => {
  it('refuses an up that leaves rows violating the check, naming up, before any DDL', async () => {
    const engine = engineFor(db.pool);
    await engine.store.migrate();
    const before = await catalogSnapshot(db.pool);
    const [rename, constrain] = REPAIRED.operations;
    const refused = await engine
      .open({ ...REPAIRED, operations: [rename, { create_constraint: { ...constrain.create_constraint!, up: { points: 'score' } } }] })
      .then(() => null, (err: Error) => err.message);
    expect(refused).toBe('operations[1].create_constraint.up: 50 rows of public.ledger violate it once up has run, e.g. id 10; up must give every row a value that satisfies it');
    expect(await catalogSnapshot(db.pool)).toEqual(before);
  });

  it('rolled back at the gate: exactly the original catalog and rows', async () => {
    const engine = engineFor(db.pool);
    await engine.store.migrate();
    const before = await catalogSnapshot(db.pool);
    const rows = (await db.query(`SELECT * FROM ledger ORDER BY id`)).rows;
    const run = await engine.open({ ...REPAIRED, name: 'ledger_points_back' });
    expect(await engine.executor.drive(run, { stopAtGate: true })).toBe('awaiting_approval');
    // The check is on the shadow of the physical column, proven at verify; the index on it is copied there.
    const catalog = await catalogOf('ledger');
    expect(catalog.constraints).toContainEqual({ conname: 'ledger_points_nonneg', def: 'CHECK ((_bellows_new_points >= 0))', convalidated: true });
    expect(catalog.indexes).toContainEqual({
      indexname: '_bellows_ix_1_ledger_score_idx',
      indexdef: 'CREATE INDEX _bellows_ix_1_ledger_score_idx ON public.ledger USING btree (_bellows_new_points)',
    });
    await engine.store.setDesired(run.id, { abort: true }, 'abort');
    expect(await engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true })).toBe('rolled_back');
    expect(await catalogSnapshot(db.pool)).toEqual(before);
    expect((await db.query(`SELECT * FROM ledger ORDER BY id`)).rows).toEqual(rows);
  });

  it('runs to the end: rows repaired, both applications\' writes translated, the check and the index on the renamed column', async () => {
    const engine = engineFor(db.pool);
    const run = await engine.open(REPAIRED);
    expect(await engine.executor.drive(run, { stopAtGate: true })).toBe('awaiting_approval');
    const { oldApp, newApp, close } = await applications(db, REPAIRED.name);
    // The old application's violating write is repaired by up on its way across; the new application's is refused.
    await oldApp.query(`INSERT INTO ledger (id, note, score) VALUES (1001, 'old', -3)`);
    await newApp.query(`INSERT INTO ledger (id, note, points) VALUES (1002, 'new', 7)`);
    await expect(newApp.query(`INSERT INTO ledger (id, note, points) VALUES (1003, 'bad', -1)`)).rejects.toThrow(/ledger_points_nonneg/);
    expect((await newApp.query(`SELECT id, points FROM ledger WHERE id > 1000 ORDER BY id`)).rows).toEqual([{ id: '1001', points: 0 }, { id: '1002', points: 7 }]);
    expect((await oldApp.query(`SELECT id, score FROM ledger WHERE id > 1000 ORDER BY id`)).rows).toEqual([{ id: '1001', score: -3 }, { id: '1002', score: 7 }]);
    await close();
    await engine.store.setDesired(run.id, { approved: true }, 'approve');
    expect(await engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true })).toBe('completed');

    expect(await catalogOf('ledger')).toEqual({
      columns: [
        { attname: 'id', type: 'bigint' },
        { attname: 'note', type: 'text' },
        { attname: 'points', type: 'integer' },
      ],
      constraints: [
        { conname: 'ledger_pkey', def: 'PRIMARY KEY (id)', convalidated: true },
        { conname: 'ledger_points_nonneg', def: 'CHECK ((points >= 0))', convalidated: true },
      ],
      indexes: [
        { indexname: 'ledger_pkey', indexdef: 'CREATE UNIQUE INDEX ledger_pkey ON public.ledger USING btree (id)' },
        { indexname: 'ledger_score_idx', indexdef: 'CREATE INDEX ledger_score_idx ON public.ledger USING btree (points)' },
      ],
    });
    const { rows } = await db.query(`SELECT count(*)::int AS n, count(*) FILTER (WHERE points = 0)::int AS zero, sum(points)::int AS total FROM ledger`);
    const kept = Array.from({ length: 500 }, (_, i) => i + 1).filter((g) => g % 10 !== 0);
    expect(rows).toEqual([{ n: 502, zero: 51, total: kept.reduce((a, b) => a + b, 0) + 7 }]);
  });
});
