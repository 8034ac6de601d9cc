import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { engineFor } from '../helpers/engine.ts';
import { atFileEnd } from '../helpers/cleanup.ts';
import { runCli, describe as show } from '../helpers/cli.ts';

/**
 * The version schema between dual-write and contract: each application version
 * sees its own shape, a write through either is seen through the other, and
 * row-level security and privileges hold through the new version's views
 * (security_invoker), for a role that is not the tables' owner.
 */

const ROLE = `bellows_test_reader_${randomBytes(4).toString('hex')}`;
let db: TestDatabase;

beforeAll(async () => {
  db = await freshDatabase();
  await db.query(`CREATE TABLE docs (id bigserial PRIMARY KEY, owner text NOT NULL, title text)`);
  await db.query(`INSERT INTO docs (owner, title) SELECT CASE WHEN g % 2 = 0 THEN 'ann' ELSE 'bob' END, 't' || g FROM generate_series(1, 10) g`);
  await db.query(`CREATE ROLE ${ROLE}`);
  atFileEnd(async () => {
    await db.query(`DROP OWNED BY ${ROLE}`).catch(() => {});
    await db.query(`DROP ROLE IF EXISTS ${ROLE}`);
  });
  await db.query(`ALTER TABLE docs ENABLE ROW LEVEL SECURITY`);
  await db.query(`CREATE POLICY ann_only ON docs FOR ALL TO ${ROLE} USING (owner = 'ann') WITH CHECK (owner = 'ann')`);
  await db.query(`GRANT SELECT, INSERT, UPDATE ON docs TO ${ROLE}`);
  await db.query(`GRANT USAGE ON SEQUENCE docs_id_seq TO ${ROLE}`);
});

async function asRole<T>(work: (q: (sql: string) => Promise<unknown[]>) => Promise<T>): Promise<T> {
  const client = await db.pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SET LOCAL ROLE ${ROLE}`);
    const result = await work(async (sql) => (await client.query(sql)).rows);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  } finally {
    client.release();
  }
}

describe('the version schema', () => {
  it('shows each version its shape, shares writes both ways, keeps RLS and privileges, and schema-path names it', async () => {
    const engine = engineFor(db.pool);
    const run = await engine.open({ name: 'docs_heading', operations: [{ rename_column: { table: 'docs', from: 'title', to: 'heading' } }] });
    expect(await engine.executor.drive(run, { stopAtGate: true })).toBe('awaiting_approval');

    const path = await runCli(['schema-path', 'docs_heading'], { db: db.url });
    expect(path.code, show(path)).toBe(0);
    expect(path.stdout.trim()).toBe('"docs_heading", "public"');

    // Old shape in public, new shape in the version schema; a write through either shows in both.
    await db.query(`INSERT INTO docs (owner, title) VALUES ('ann', 'old app')`);
    await db.query(`SET search_path = docs_heading, public; INSERT INTO docs (owner, heading) VALUES ('ann', 'new app'); RESET search_path`);
    const both = await db.query(`SELECT d.title, v.heading FROM public.docs d JOIN docs_heading.docs v USING (id) WHERE d.title IN ('old app', 'new app') ORDER BY id`);
    expect(both.rows).toEqual([
      { title: 'old app', heading: 'old app' },
      { title: 'new app', heading: 'new app' },
    ]);

    // The role sees only ann's rows through the view too, and cannot write bob's.
    const seen = await asRole((q) => q(`SELECT count(*)::int AS n, bool_and(owner = 'ann') AS all_ann FROM docs_heading.docs`));
    expect(seen).toEqual([{ n: 7, all_ann: true }]);
    await expect(asRole((q) => q(`INSERT INTO docs_heading.docs (owner, heading) VALUES ('bob', 'sneaky')`))).rejects.toThrow(/row-level security/);
    // A privilege it lacks on the table, it lacks through the view.
    await expect(asRole((q) => q(`DELETE FROM docs_heading.docs WHERE id = 2`))).rejects.toThrow(/permission denied/);

    await engine.store.setDesired(run.id, { approved: true }, 'approve');
    expect(await engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true })).toBe('completed');
    const after = await runCli(['schema-path', run.id], { db: db.url });
    expect(after.stdout.trim()).toBe('"public"');
  });
});
