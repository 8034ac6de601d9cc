import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.ts';
import { engineFor } from '../helpers/engine.ts';
import { SMALL_BATCHES, applications, stepsFor, tableState } from '../helpers/lifecycle.ts';
import { catalogSnapshot } from '../helpers/cli.ts';
import { InputError, RunFailedError } from '../../src/errors.ts';
import { compilePlan } from '../../src/engine/compile.ts';
import { parsePlaybook } from '../../src/playbook/load.ts';

/**
 * The application never pays for a translation bellows cannot make: a dual-write
 * trigger whose `up` or `down` raises lets the write through and notes the row;
 * verify and contract refuse until the row is put right or the run rolled back.
 * And plan refuses, before any DDL, the triggers that would raise on the table's rows.
 */

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
});

const toInteger = (table: string, name: string) => ({
  name,
  settings: SMALL_BATCHES,
  operations: [{ alter_column: { table, column: 'code', type: 'integer', up: 'code::integer', down: 'code::text' } }],
});

async function failure(drive: Promise<unknown>): Promise<Error> {
  return drive.then(
    () => {
      throw new Error('expected the run to stop');
    },
    (err: Error) => err,
  );
}

describe('a write the trigger cannot translate', () => {
  beforeAll(async () => {
    await db.query(`CREATE TABLE codes (id int PRIMARY KEY, code text NOT NULL, note text)`);
    await db.query(`INSERT INTO codes SELECT g, g::text, 'n' FROM generate_series(1, 400) g`);
  });

  it('succeeds for the application, is noted, and holds verify and contract until the row is right', async () => {
    const engine = engineFor(db.pool);
    const run = await engine.open(toInteger('codes', 'untranslated_codes'));
    const { oldApp } = await applications(db, 'untranslated_codes');
    // Expand and dual-write only, step by step; the executor takes over from there.
    const steps = stepsFor(engine.store, db.pool);
    await steps.expand(run.id);
    await steps.dualWrite(run.id);

    // `up` cannot turn these into integers; the application's writes still succeed.
    await oldApp.query(`UPDATE codes SET code = 'twelve' WHERE id = 12`);
    await oldApp.query(`INSERT INTO codes VALUES (1000, 'x-1000', 'new')`);
    const { rows } = await db.query(`SELECT id, code FROM codes WHERE id IN (12, 1000) ORDER BY id`);
    expect(rows).toEqual([{ id: 12, code: 'twelve' }, { id: 1000, code: 'x-1000' }]);
    expect(await engine.store.dualWriteFailures('untranslated_codes')).toMatchObject({
      rows: 2,
      first: { table: 'public.codes', key: { id: 12 }, opIndex: 0, message: expect.stringContaining('invalid input syntax for type integer') },
    });

    // The backfill itself meets row 12 and stops; the application still writes.
    const stopped = await failure(engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true }));
    expect(stopped).toBeInstanceOf(RunFailedError);
    expect(stopped.message).toMatch(/invalid input syntax for type integer: "twelve"/);
    await oldApp.query(`UPDATE codes SET note = 'still writable' WHERE id = 12`);
    await oldApp.query(`INSERT INTO codes VALUES (1001, 'y', 'new')`);

    // The application puts its rows right; verify still refuses while the notes stand, without --repair.
    await oldApp.query(`UPDATE codes SET code = id::text WHERE id IN (12, 1000, 1001)`);
    const refused = await failure(engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true }));
    expect(refused.message).toMatch(/verify refused: the dual-write trigger could not translate 3 application write\(s\), first public\.codes \{"id": ?12\}/);
    expect(refused.message).toMatch(/bellows resume \d+ --repair/);

    // With --repair, verify proves every row and forgives the notes written before it began.
    await engine.store.setDesired(run.id, { tuning: { repair: true } }, 'tune');
    expect(await engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true })).toBe('awaiting_approval');
    expect((await engine.store.dualWriteFailures('untranslated_codes')).rows).toBe(0);

    // A write noted after verify: contract refuses, and nothing is contracted.
    await oldApp.query(`UPDATE codes SET code = 'late' WHERE id = 5`);
    await engine.store.setDesired(run.id, { approved: true }, 'approve');
    const contract = await failure(engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true }));
    expect(contract.message).toMatch(/contract refused: the dual-write trigger could not translate 1 application write\(s\), first public\.codes \{"id": ?5\}/);
    const type = await db.query(`SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = 'codes'::regclass AND attname = 'code'`);
    expect(type.rows[0].t).toBe('text');

    // Rolled back: the table as it was, the notes gone.
    await engine.store.setDesired(run.id, { abort: true }, 'rollback');
    expect(await engine.executor.drive(await engine.store.getRun(run.id), { stopAtGate: true })).toBe('rolled_back');
    expect((await engine.store.dualWriteFailures('untranslated_codes')).rows).toBe(0);
    const shadow = await db.query(`SELECT count(*)::int AS n FROM pg_attribute WHERE attrelid = 'codes'::regclass AND attname LIKE '_bellows%' AND NOT attisdropped`);
    expect(shadow.rows[0].n).toBe(0);
  });
});

describe('plan refuses, before any DDL, a trigger that start would fail on', () => {
  beforeAll(async () => {
    await db.query(`CREATE TABLE labels (id int PRIMARY KEY, label text NOT NULL)`);
    await db.query(`INSERT INTO labels SELECT g, CASE WHEN g = 7 THEN 'seven' ELSE g::text END FROM generate_series(1, 100) g`);
  });

  const CASES: Array<{ what: string; up: string; message: RegExp }> = [
    { what: 'an up that raises on a row of the table', up: 'label::integer', message: /^operations\[0\]\.alter_column\.up: its dual-write trigger fails on a row of the table: invalid input syntax for type integer: "seven"$/ },
    { what: 'an up that closes a parenthesis it never opened and comments out the rest', up: `'x')::text --`, message: /^operations\[0\]\.alter_column(\.up)?: / },
    { what: 'an up that ends the function body early', up: `$bellows$ || label`, message: /^operations\[0\]\.alter_column(\.up)?: / },
  ];

  for (const c of CASES) {
    it(`${c.what}: one line naming the operation, nothing changed`, async () => {
      const before = await catalogSnapshot(db.pool);
      const rows = await tableState(db.pool, 'public.labels');
      const playbook = parsePlaybook({ name: 'plan_refusal', operations: [{ alter_column: { table: 'labels', column: 'label', type: 'integer', up: c.up, down: 'label::text' } }] });
      const err = await compilePlan(db.pool, playbook).then(() => null, (e: unknown) => e as Error);
      expect(err).toBeInstanceOf(InputError);
      expect(err!.message).toMatch(c.message);
      expect(err!.message.split('\n')).toHaveLength(1);
      expect(err!.message.length).toBeLessThanOrEqual(300);
      expect(await catalogSnapshot(db.pool)).toEqual(before);
      expect(await tableState(db.pool, 'public.labels')).toEqual(rows);
    });
  }

  it('a playbook named like a system schema, or aimed at a system table', async () => {
    const named = parsePlaybook({ name: 'pg_evil', operations: [{ add_column: { table: 'labels', name: 'x', type: 'int' } }] });
    await expect(compilePlan(db.pool, named)).rejects.toThrow(/^name: .*reserved for PostgreSQL/);
    const aimed = parsePlaybook({ name: 'aim_catalog', operations: [{ add_column: { table: 'pg_catalog.pg_class', name: 'x', type: 'int' } }] });
    await expect(compilePlan(db.pool, aimed)).rejects.toThrow(/^operations\[0\]\.add_column\.table: pg_catalog is PostgreSQL's own schema/);
  });

  it('more columns than PostgreSQL allows, dropped slots included', async () => {
    await db.query(`CREATE TABLE wide (id int PRIMARY KEY)`);
    // 1,590 slots, of which 1,589 are dropped: they still count until a rewrite.
    for (let i = 0; i < 1589; i += 200) {
      const n = Math.min(200, 1589 - i);
      const cols = Array.from({ length: n }, (_, k) => `c${i + k}`);
      await db.query(`ALTER TABLE wide ${cols.map((c) => `ADD COLUMN ${c} int`).join(', ')}`);
      await db.query(`ALTER TABLE wide ${cols.map((c) => `DROP COLUMN ${c}`).join(', ')}`);
    }
    const operations = Array.from({ length: 11 }, (_, i) => ({ add_column: { table: 'wide', name: `n${i}`, type: 'int' } }));
    const before = await catalogSnapshot(db.pool);
    await expect(compilePlan(db.pool, parsePlaybook({ name: 'too_wide', operations }))).rejects.toThrow(
      /^table public\.wide: this playbook adds 11 columns to the 1590 it holds .*limit of 1600$/,
    );
    expect(await catalogSnapshot(db.pool)).toEqual(before);
    await expect(compilePlan(db.pool, parsePlaybook({ name: 'fits', operations: operations.slice(0, 10) }))).resolves.toBeTruthy();
  });
});
