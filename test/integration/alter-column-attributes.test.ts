import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { engineFor } from '../helpers/engine.ts';
import { catalogSnapshot } from '../helpers/cli.ts';
import { SMALL_BATCHES } from '../helpers/lifecycle.ts';

/**
 * alter_column's attributes: nullable, default and comment in place (what the
 * old application could notice waits for contract), NOT NULL through the shadow
 * column with `up` (no old-application write fails), and a type change that keeps
 * the column's default and comment.
 */

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
  await db.query(`CREATE TABLE people (id bigserial PRIMARY KEY, nick text NOT NULL DEFAULT 'x', note text, score int DEFAULT 0)`);
  await db.query(`COMMENT ON COLUMN people.score IS 'points'`);
  await db.query(`INSERT INTO people (nick, note) SELECT 'n' || g, CASE WHEN g % 3 = 0 THEN NULL ELSE 'note ' || g END FROM generate_series(1, 600) g`);
  await db.query('ANALYZE people');
});

async function column(name: string) {
  const { rows } = await db.query(
    `SELECT format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null, pg_get_expr(d.adbin, d.adrelid) AS def, col_description(a.attrelid, a.attnum) AS comment
       FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = 'public.people'::regclass AND a.attname = $1 AND NOT a.attisdropped`,
    [name],
  );
  return rows[0];
}

async function toGate(engine: ReturnType<typeof engineFor>, doc: unknown) {
  const run = await engine.open(doc);
  expect(await engine.executor.drive(run, { stopAtGate: true })).toBe('awaiting_approval');
  return run;
}

async function finish(engine: ReturnType<typeof engineFor>, runId: string, how: 'approved' | 'abort') {
  await engine.store.setDesired(runId, how === 'approved' ? { approved: true } : { abort: true }, how === 'approved' ? 'approve' : 'abort');
  return engine.executor.drive(await engine.store.getRun(runId), { stopAtGate: true });
}

describe('alter_column attributes', () => {
  it('in place: the comment at once; NULLs allowed and the new default at contract; a rollback puts everything back', async () => {
    const engine = engineFor(db.pool);
    await engine.store.migrate();
    const doc = { name: 'people_nick', operations: [{ alter_column: { table: 'people', column: 'nick', nullable: true, default: `'anon'`, comment: 'shown to others' } }] };
    const before = await catalogSnapshot(db.pool);
    const nickBefore = await column('nick');
    const first = await toGate(engine, doc);
    expect(await column('nick')).toEqual({ ...nickBefore, comment: 'shown to others' });
    expect(await finish(engine, first.id, 'abort')).toBe('rolled_back');
    expect(await catalogSnapshot(db.pool)).toEqual(before);
    expect(await column('nick')).toEqual(nickBefore);

    const run = await toGate(engine, doc);
    // The old application still gets NOT NULL and its old default until contract.
    await expect(db.query(`INSERT INTO people (nick) VALUES (NULL)`)).rejects.toThrow(/null value/);
    expect(await finish(engine, run.id, 'approved')).toBe('completed');
    expect(await column('nick')).toEqual({ type: 'text', not_null: false, def: "'anon'::text", comment: 'shown to others' });
  });

  it('NOT NULL through the shadow column: up fills the NULLs, old-application NULL writes still succeed, contract enforces it', async () => {
    const engine = engineFor(db.pool);
    const run = await engine.open({
      name: 'people_note_not_null',
      settings: SMALL_BATCHES,
      operations: [{ alter_column: { table: 'people', column: 'note', nullable: false, up: `coalesce(note, '')`, down: 'note' } }],
    });
    expect(await engine.executor.drive(run, { stopAtGate: true })).toBe('awaiting_approval');
    // An old-application write of a NULL is not refused; its new form gets a value.
    await db.query(`INSERT INTO people (nick, note) VALUES ('late', NULL)`);
    expect(await finish(engine, run.id, 'approved')).toBe('completed');
    expect(await column('note')).toMatchObject({ type: 'text', not_null: true });
    const { rows } = await db.query(`SELECT count(*)::int AS n, count(*) FILTER (WHERE note = '')::int AS filled FROM people`);
    expect(rows[0]).toEqual({ n: 601, filled: 201 });
  });

  it('a new type keeps the default (cast) and the comment of the column it replaces', async () => {
    const engine = engineFor(db.pool);
    const run = await engine.runToEnd({
      name: 'people_score_bigint',
      settings: SMALL_BATCHES,
      operations: [{ alter_column: { table: 'people', column: 'score', type: 'bigint', up: 'score::bigint', down: 'score::int' } }],
    });
    expect(run.status).toBe('completed');
    expect(await column('score')).toEqual({ type: 'bigint', not_null: false, def: '(0)::bigint', comment: 'points' });
  });
});
