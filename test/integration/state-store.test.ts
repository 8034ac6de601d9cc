import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { engineFor } from '../helpers/engine.ts';
import { migrateState } from '../../src/state/migrate.ts';
import { STATE_MIGRATIONS } from '../../src/state/migrations/index.ts';
import { StateStore } from '../../src/state/store.ts';
import { ConflictError, EnvironmentError } from '../../src/errors.ts';
import { ident } from '../../src/db/sql.ts';

/** The control schema, migrated the way it is used: again and again, and by many processes at once. */

let db: TestDatabase;
let wide: pg.Pool;
beforeAll(async () => {
  db = await freshDatabase();
  // One connection per concurrent migrator, plus room for the test's own queries.
  wide = new pg.Pool({ connectionString: db.url, max: 25 });
});
afterAll(async () => {
  await wide.end();
});

async function versions(schema: string): Promise<number[]> {
  const { rows } = await db.query(`SELECT version FROM ${ident(schema)}.schema_version ORDER BY version`);
  return rows.map((r) => r.version as number);
}

/** The shape of the control schema: what a migration changes and a snapshot in git pins down. */
async function stateShape(schema: string) {
  const { rows } = await db.query(
    `SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY c.relname, a.attnum`,
    [schema],
  );
  const indexes = await db.query(`SELECT indexname, indexdef AS def FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname`, [schema]);
  // The schema's own name, quoted or not, is not part of the shape.
  for (const row of indexes.rows) row.def = String(row.def).split(` ON ${ident(schema)}.`).join(' ON SCHEMA.').split(` ON ${schema}.`).join(' ON SCHEMA.');
  const triggers = await db.query(
    `SELECT c.relname AS table, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND NOT t.tgisinternal ORDER BY 1, 2`,
    [schema],
  );
  return { columns: rows, indexes: indexes.rows, triggers: triggers.rows };
}

const latest = STATE_MIGRATIONS.length;
const all = Array.from({ length: latest }, (_, i) => i + 1);

describe('migrateState', () => {
  it('three times in a row: the first migrates, the others find the work done', async () => {
    for (let i = 0; i < 3; i++) expect(await migrateState(db.pool, 'st_seq')).toBe(latest);
    expect(await versions('st_seq')).toEqual(all);
  });

  it('twenty at once on an empty database end at one consistent version', async () => {
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => migrateState(wide, 'st_conc')));
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(results.map((r) => (r as PromiseFulfilledResult<number>).value)).toEqual(Array(20).fill(latest));
    expect(await versions('st_conc')).toEqual(all);
    expect(await stateShape('st_conc')).toEqual(await stateShape('st_seq'));
  });

  it('gives the schema the shape pinned in git', async () => {
    expect(await stateShape('st_seq')).toMatchSnapshot();
  });

  it('works under a schema name that needs quoting', async () => {
    expect(await migrateState(db.pool, 'Bellows State')).toBe(latest);
    const store = new StateStore(db.pool, 'Bellows State');
    await store.appendEvent(null, 'hello', { ok: true });
    expect(await versions('Bellows State')).toEqual(all);
  });

  it('refuses a database whose state schema is newer than this code', async () => {
    await migrateState(db.pool, 'st_newer');
    await db.query(`INSERT INTO st_newer.schema_version (version) VALUES ($1)`, [latest + 1]);
    const before = await stateShape('st_newer');
    const err = await migrateState(db.pool, 'st_newer').then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(EnvironmentError);
    expect((err as Error).message).toBe(
      `the st_newer schema is at version ${latest + 1}, newer than this bellows knows (${latest}); upgrade bellows`,
    );
    expect(await stateShape('st_newer')).toEqual(before);
    // and so does every command that opens a run
    const store = new StateStore(db.pool, 'st_newer');
    await expect(store.migrate()).rejects.toThrow(EnvironmentError);
  });
});

describe('events', () => {
  it('are append-only: an UPDATE raises and the event is unchanged', async () => {
    await migrateState(db.pool, 'st_events');
    const store = new StateStore(db.pool, 'st_events');
    await store.appendEvent(null, 'first', { n: 1 });
    await expect(db.query(`UPDATE st_events.events SET kind = 'rewritten'`)).rejects.toThrow(/append-only/);
    const { rows } = await db.query(`SELECT kind, detail FROM st_events.events`);
    expect(rows).toEqual([{ kind: 'first', detail: { n: 1 } }]);
  });
});

describe('createRun', () => {
  it('lets exactly one of several concurrent starts on one table win', async () => {
    await db.query(`CREATE TABLE contested (id bigserial PRIMARY KEY, v text)`);
    await db.query(`INSERT INTO contested (v) SELECT 'v' || g FROM generate_series(1, 100) g`);
    const engine = engineFor(wide);
    await engine.store.migrate();
    const attempts = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => engine.open({ name: `contest_${i}`, operations: [{ add_column: { table: 'contested', name: `c${i}`, type: 'int' } }] })),
    );
    const won = attempts.filter((a) => a.status === 'fulfilled');
    const lost = attempts.filter((a): a is PromiseRejectedResult => a.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(7);
    for (const l of lost) {
      expect(l.reason).toBeInstanceOf(ConflictError);
      expect((l.reason as Error).message).toMatch(/^table public\.contested is already being migrated by run \d+ \(contest_\d\)/);
    }
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM bellows.runs WHERE 'public.contested' = ANY(tables)`);
    expect(rows[0].n).toBe(1);
  });
});
