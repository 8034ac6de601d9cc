import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { engineFor } from '../helpers/engine.ts';
import { catalogSnapshot } from '../helpers/cli.ts';
import { InputError } from '../../src/errors.ts';
import { describePlan } from '../../src/engine/plan-text.ts';

/**
 * The sql operation: raw statements in expand (undone by their rollback) or at
 * contract, in a transaction or, flagged, outside one; the declared lock in the plan.
 */

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
  await db.query(`CREATE TABLE events (id bigserial PRIMARY KEY, kind text NOT NULL)`);
  await db.query(`INSERT INTO events (kind) SELECT 'k' || (g % 7) FROM generate_series(1, 300) g`);
});

const EXPAND_SQL = {
  name: 'events_sql',
  operations: [
    {
      sql: {
        up: `CREATE FUNCTION public.event_label(k text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT upper(k) $$`,
        rollback: `DROP FUNCTION IF EXISTS public.event_label(text)`,
        lock: 'none',
      },
    },
    {
      sql: {
        up: `CREATE INDEX CONCURRENTLY IF NOT EXISTS events_kind_idx ON public.events (kind)`,
        rollback: `DROP INDEX CONCURRENTLY IF EXISTS public.events_kind_idx`,
        lock: 'share_update_exclusive',
        in_transaction: false,
      },
    },
    { sql: { up: `COMMENT ON TABLE public.events IS 'kept by the events service'`, lock: 'share_update_exclusive', phase: 'contract' } },
  ],
};

describe('the sql operation', () => {
  it('runs in expand and contract, outside a transaction where flagged; a rollback at the gate undoes it exactly', async () => {
    const engine = engineFor(db.pool);
    await engine.store.migrate();
    const before = await catalogSnapshot(db.pool);

    const first = await engine.open(EXPAND_SQL);
    const plan = describePlan(first.plan);
    expect(plan.find((p) => p.phase === 'expand')!.statements.map((s) => s.lock)).toEqual(['none', 'SHARE UPDATE EXCLUSIVE (as the playbook declares)']);
    expect(plan.find((p) => p.phase.startsWith('contract (one'))!.statements.map((s) => s.sql)).toContain(`COMMENT ON TABLE public.events IS 'kept by the events service'`);
    expect(await engine.executor.drive(first, { stopAtGate: true })).toBe('awaiting_approval');
    expect((await db.query(`SELECT public.event_label('a') AS l`)).rows[0].l).toBe('A');
    expect((await db.query(`SELECT indisvalid FROM pg_index WHERE indexrelid = 'public.events_kind_idx'::regclass`)).rows[0].indisvalid).toBe(true);
    await engine.store.setDesired(first.id, { abort: true }, 'abort');
    expect(await engine.executor.drive(await engine.store.getRun(first.id), { stopAtGate: true })).toBe('rolled_back');
    expect(await catalogSnapshot(db.pool)).toEqual(before);

    const run = await engine.runToEnd(EXPAND_SQL);
    expect(run.status).toBe('completed');
    expect((await db.query(`SELECT obj_description('public.events'::regclass, 'pg_class') AS c, to_regprocedure('public.event_label(text)') IS NOT NULL AS f`)).rows[0]).toEqual({
      c: 'kept by the events service',
      f: true,
    });
  });

  it('refuses expand SQL without its rollback, and a rollback for contract SQL, before any DDL', async () => {
    const engine = engineFor(db.pool);
    const before = await catalogSnapshot(db.pool);
    const refused = (doc: unknown) => engine.open(doc).then(() => null, (err: unknown) => err);
    const noRollback = await refused({ name: 'norb', operations: [{ sql: { up: 'CREATE TABLE public.t1 (id int)', lock: 'none' } }] });
    expect(noRollback).toBeInstanceOf(InputError);
    expect((noRollback as Error).message).toBe(
      'operations[0].sql.rollback: Required when the SQL runs in expand: a rollback before contract must be able to undo it (or give phase: contract)',
    );
    const finalRollback = await refused({ name: 'finalrb', operations: [{ sql: { up: 'DROP TABLE public.events', rollback: 'SELECT 1', lock: 'access_exclusive', phase: 'contract' } }] });
    expect((finalRollback as Error).message).toBe('operations[0].sql.rollback: contract is final and never rolled back; leave rollback out, or run the SQL in expand');
    const badLock = await refused({ name: 'badlock', operations: [{ sql: { up: 'SELECT 1', rollback: 'SELECT 1', lock: 'huge' } }] });
    expect((badLock as Error).message).toMatch(/^playbook: operations\[0\]\.sql\.lock: Invalid option/);
    expect(await catalogSnapshot(db.pool)).toEqual(before);
  });
});
